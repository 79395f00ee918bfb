"""Saved setups on a team server: own and shared setups, sharing, links, the working setup.

Own and shared setups, read-only sharing, links, and the working setup that follows the
signed-in user. Every read and write goes through :func:`store` (``core.store``) with
``user=ui.auth.user()``: the store checks ownership and sharing itself, so this module only
decides what to offer (an owner can share and delete; a reader can open, export and save a
copy of their own). Errors of the store (``BallastError``, access denied among them) are shown
with their message; nothing shows a server path or another user's private setup.

Links: ``?setup=<id>`` opens a saved setup in a new session (:func:`open_link`, called by
``ui.persistence.restore``), for the signed-in user as for the local single user; the parameter
is then taken out of the address, so that a reload keeps the working setup instead of opening
the link again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from core import setups
from core.exceptions import BallastError, SetupError
from ui import auth, state
from ui.widgets import md_escape, show_error

#: What a setup's readers hold to share it with everyone who can sign in to this server.
TEAM = "*"
#: Setup ids in links: what the store makes (letters, digits, ``-`` and ``_``), bounded.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Colleagues per share (a setup shared wider should go to the team).
MAX_READERS = 100
_EMAIL = re.compile(r"^[^@\s,;]{1,64}@[^@\s,;]{1,255}$")


def store() -> Any:
    """The saved-setups store of this server (``core.store.open_store``).

    ``$BALLAST_DATABASE_URL``, else the SQLite file in the user data folder, read at each call
    (the store keeps one connection pool per database and process).
    """
    from core.store import open_store

    return open_store()


def team_token() -> str:
    """The readers entry that shares a setup with the whole team (``core.store.TEAM``)."""
    from core import store as core_store

    return getattr(core_store, "TEAM", TEAM)


def link(setup_id: str) -> str:
    """The address that opens ``setup_id`` (absolute when the browser's address is known)."""
    base = ""
    try:
        url = st.context.url
    except AttributeError:
        url = None
    if url:
        base = url.split("?", 1)[0].split("#", 1)[0]
        base = re.sub(r"/[^/]*$", "/", base) if base.count("/") > 2 else base.rstrip("/") + "/"
    return f"{base}?{auth.SETUP_PARAM}={setup_id}"


def _when(info: Any) -> str:
    stamp = getattr(info, "updated_at", None) or getattr(info, "saved_at", None)
    return stamp.strftime("%Y-%m-%d %H:%M") if isinstance(stamp, dt.datetime) else ""


def _readers(info: Any) -> list[str]:
    return [str(r) for r in (getattr(info, "readers", None) or ())]


def _is_mine(info: Any, who: str | None) -> bool:
    return bool(getattr(info, "mine", who is None or getattr(info, "owner", None) == who))


def access_label(info: Any, who: str | None) -> str:
    """How a listed setup is held by ``who``: private, shared (with whom) or read-only."""
    if not _is_mine(info, who):
        return f"read-only, shared by {info.owner}"
    readers = _readers(info)
    if not readers:
        return "yours, private"
    team = team_token()
    named = [r for r in readers if r != team]
    parts = (["the team"] if team in readers else []) + named
    return "yours, shared read-only with " + ", ".join(parts)


def parse_readers(text: str, team: bool) -> list[str]:
    """Readers from a comma- or space-separated list of e-mail addresses and the team box.

    Raises
    ------
    SetupError
        Naming the entries that are not e-mail addresses, or when there are too many.
    """
    entries = [e.strip().lower() for e in re.split(r"[,;\s]+", text or "") if e.strip()]
    bad = [e for e in entries if not _EMAIL.match(e)]
    if bad:
        raise SetupError("Not e-mail addresses: " + ", ".join(repr(b) for b in bad[:5])
                         + ". Share with colleagues by the e-mail they sign in with.")  # fmt: skip
    entries = list(dict.fromkeys(entries))
    if len(entries) > MAX_READERS:
        raise SetupError(f"Share with at most {MAX_READERS} colleagues by name; share with the "
                         "team instead.")  # fmt: skip
    return ([team_token()] if team else []) + entries


# --- links and the working setup ------------------------------------------------------------


def open_link() -> bool:
    """Open the saved setup a ``?setup=<id>`` link names, on a session's first run.

    Returns
    -------
    bool
        Whether a setup was opened (it is then the working setup). A link that cannot be
        opened (unknown id, not shared with the user, data not loadable) leaves a warning and
        the session as it was.
    """
    setup_id = st.query_params.get(auth.SETUP_PARAM)
    if not setup_id:
        return False
    del st.query_params[auth.SETUP_PARAM]
    if not _ID.match(setup_id):
        st.warning("The link does not name a saved setup.", icon=":material/link_off:")
        return False
    who = auth.user()
    from ui import report

    try:
        setup = store().load(setup_id, state.DEFAULTS, report.current_setup(), user=who)
        name = next((i.name for i in store().list(who) if getattr(i, "id", None) == setup_id),
                    "")  # fmt: skip
        report.apply_setup(setup)
    except BallastError as exc:
        st.warning(md_escape(f"The linked setup could not be opened: {exc}"),
                   icon=":material/link_off:")  # fmt: skip
        return False
    st.success(md_escape(f"Opened the setup {name!r} from the link."
                         if name else "Opened the setup from the link."),
               icon=":material/link:")  # fmt: skip
    return True


def restore_working(who: str) -> None:
    """Make ``who``'s working setup (``core.store`` ``load_working``) the session's setup.

    Never raises: a working setup that cannot be applied is reported with a warning, and the
    session starts from the defaults.
    """
    try:
        from ui import report

        saved = store().load_working(who, state.DEFAULTS, report.current_setup())
    except BallastError as exc:
        st.warning(md_escape(f"Your working setup could not be read: {exc}"),
                   icon=":material/history:")  # fmt: skip
        return
    if not saved:
        return
    try:
        report.apply_setup(saved)
    except BallastError as exc:
        st.warning(md_escape(f"Your working setup could not be restored: {exc}"),
                   icon=":material/history:")  # fmt: skip


def save_working(who: str, setup: dict[str, Any]) -> None:
    """Keep ``setup`` as ``who``'s working setup (``core.store`` ``save_working``).

    Raises
    ------
    BallastError
        If the store cannot be written.
    """
    store().save_working(who, setup, state.DEFAULTS)


# --- the Report page's saved setups, signed in -----------------------------------------------


@st.fragment
def setups_manager() -> None:
    """Save, list, open, share, delete, export and import the signed-in user's setups.

    Lists the user's own setups and those shared with them (the store decides); offers sharing
    and deleting on their own only; a shared setup opens read-only (saving it makes a copy of
    their own).
    """
    from ui import report

    report.show_flash()
    who = auth.user()
    st.caption("You see your own setups and those colleagues shared with you. A setup you "
               "save is private until you share it; shared setups are read-only for the "
               "others.")  # fmt: skip
    with st.form("team_save_form", clear_on_submit=True, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("Save the current setup as", key="team_save_name",
                             placeholder="e.g. Max Sharpe, sectors capped at 30 %")  # fmt: skip
        if c2.form_submit_button("Save setup", icon=":material/save:"):
            try:
                info = store().save(name, report.current_setup(), state.DEFAULTS, user=who,
                                    overwrite=True, record=_record())  # fmt: skip
                st.session_state["team_setup_choice"] = info.id
                st.success(md_escape(f"Saved the setup as {info.name!r} (private)."),
                           icon=":material/check_circle:")  # fmt: skip
            except BallastError as exc:
                show_error(exc)
    try:
        infos = list(store().list(who))
    except BallastError as exc:
        show_error(exc)
        infos = []
    if infos:
        st.dataframe(
            pd.DataFrame({
                "Name": [i.name for i in infos],
                "Owner": ["you" if _is_mine(i, who) else i.owner for i in infos],
                "Access": [access_label(i, who) for i in infos],
                "Saved (UTC)": [_when(i) for i in infos],
            }),
            hide_index=True, width="stretch", key="team_setups_table",
        )  # fmt: skip
        _actions(infos, who)
    else:
        st.info("No saved setups yet, of yours or shared with you.")
    st.download_button(
        "Download the current setup (JSON)",
        data=setups.export_json(report.current_setup(), state.DEFAULTS),
        file_name=f"ballast_setup_{dt.date.today()}.json",
        mime="application/json", icon=":material/download:", key="team_export_current",
    )  # fmt: skip
    report._import_json()


def _actions(infos: Sequence[Any], who: str | None) -> None:
    from ui import report

    by_id = {i.id: i for i in infos}
    if st.session_state.get("team_setup_choice") not in by_id:
        st.session_state["team_setup_choice"] = infos[0].id
    chosen_id = st.selectbox(
        "Saved setup", list(by_id), key="team_setup_choice",
        format_func=lambda i: by_id[i].name + ("" if _is_mine(by_id[i], who)
                                               else f" (shared by {by_id[i].owner})"),
    )  # fmt: skip
    info = by_id[chosen_id]
    mine = _is_mine(info, who)
    c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
    if c1.button("Load", icon=":material/upload_file:", key="team_load"):
        try:
            report.apply_setup(store().load(info.id, state.DEFAULTS, report.current_setup(),
                                            user=who))  # fmt: skip
        except BallastError as exc:
            show_error(exc, f"Could not load {info.name!r}")
        else:
            _remember_loaded(info.id)
            note = "" if mine else " It is shared read-only: save it to keep a copy of your own."
            report._flash("success", f"Loaded the setup {info.name!r}.{note} {report._RECOMPUTED}")
            st.rerun(scope="app")
    if mine:
        c2.button("Delete", icon=":material/delete:", key="team_delete",
                  on_click=_delete, args=(info.id, info.name))  # fmt: skip
    else:
        c2.caption(md_escape(f"Read-only: shared with you by {info.owner}."))
    try:
        exported = setups.export_json(
            store().load(info.id, state.DEFAULTS, report.current_setup(), user=who),
            state.DEFAULTS, info.name,
        )  # fmt: skip
        stem = re.sub(r"[^\w.-]+", "_", info.name)
        c3.download_button("Export (JSON)", data=exported, icon=":material/download:",
                           file_name=f"ballast_setup_{stem}.json", mime="application/json",
                           key="team_export_saved")  # fmt: skip
    except BallastError as exc:
        c3.warning(md_escape(exc), icon=":material/warning:")
    st.text_input("Link to this setup (for you and those it is shared with)", link(info.id),
                  key=f"team_link_{info.id}", disabled=True)  # fmt: skip
    if mine:
        _share_form(info)
    shown = getattr(report, "_reproducibility", None)
    if shown is not None:  # what changed since the loaded setup was saved
        shown(store())


def _record() -> Any:
    """The reproducibility record the Report page keeps with a saved setup, if it has one."""
    from ui import report

    make = getattr(report, "record_now", None)
    return None if make is None else make()


def _remember_loaded(setup_id: str) -> None:
    """Let the Report page compare a loaded setup with its saved record (by id)."""
    from ui import report

    key = getattr(report, "_LOADED", None)
    if key is not None:
        st.session_state[key] = (setup_id, setups.export_json(report.current_setup(),
                                                              state.DEFAULTS))  # fmt: skip


def _share_form(info: Any) -> None:
    readers = _readers(info)
    team = team_token()
    with st.form(f"team_share_form_{info.id}", border=True):
        st.markdown(md_escape(f"Share {info.name!r} read-only"))
        st.text_input("With colleagues (the e-mails they sign in with, comma separated)",
                      ", ".join(r for r in readers if r != team),
                      key=f"team_share_with_{info.id}")  # fmt: skip
        st.checkbox("With the whole team (everyone who signs in here)",
                    value=team in readers, key=f"team_share_team_{info.id}")  # fmt: skip
        st.form_submit_button("Update sharing", icon=":material/share:",
                              on_click=_share, args=(info.id, info.name))  # fmt: skip


# Sharing and deleting run as callbacks, before the rerun their click starts, so that the list
# shown after it is already up to date.
def _share(setup_id: str, name: str) -> None:
    from ui import report

    ss = st.session_state
    try:
        readers = parse_readers(ss.get(f"team_share_with_{setup_id}", ""),
                                bool(ss.get(f"team_share_team_{setup_id}")))  # fmt: skip
        store().share(setup_id, user=auth.user(), readers=readers)
    except BallastError as exc:
        report._flash("error", f"Could not share {name!r}: {exc}")
        return
    report._flash("success", f"{name!r}: " + (
        "private again." if not readers else
        "shared read-only with " + _names(readers) + "."))  # fmt: skip


def _names(readers: Iterable[str]) -> str:
    team = team_token()
    return ", ".join("the team" if r == team else r for r in readers)


def _delete(setup_id: str, name: str) -> None:
    from ui import report

    try:
        store().delete(setup_id, user=auth.user())
    except BallastError as exc:
        report._flash("error", str(exc))
    else:
        report._flash("success", f"Deleted the setup {name!r}.")
