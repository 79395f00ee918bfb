"""Work survives a browser reload: the session's setup is kept server-side under a URL token.

A new Streamlit session (a first visit, a reload, a second tab) calls :func:`restore` from
``ui.state.init``:

- with ``?session=<token>`` of a stored working session, the setup is loaded from it
  (``ui.report.apply_setup``: data source, choices and tickers checked), then the session gets
  a new token and the old record is deleted, so that a link someone else sent cannot make this
  session write into a record they can read;
- otherwise a new token is made (a token the store does not know is never adopted) and put
  into the URL.

:func:`autosave` writes the setup whenever its fingerprint changed (``ui.state.init`` at the
start of each run, ``ui.widgets.synced`` after a widget wrote to it). Results are not stored:
each page recomputes its results from the setup; a backtest that had been run is run again
when the Rebalance page opens (:func:`rerun_pending`). Uploaded prices travel in the setup's
``data_source`` (``core.market_data.upload_descriptor``).

On a server with sign-in (``ui.auth``) the work follows the user instead of the address: a new
session restores the signed-in user's working setup (``core.store`` ``load_working``) and
:func:`autosave` keeps it there (``save_working``), so a reload, a second tab or another
browser finds it; no token is put into the address. In both modes a link to a saved setup
(``?setup=<id>``, ``ui.team.open_link``) is opened first, and then becomes the working setup.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import streamlit as st

from core import sessions
from core.exceptions import BallastError

#: URL query parameter holding the token.
PARAM = "session"
#: Results whose computation the user started by hand: run again after a restore.
RERUN_RESULTS = ("rebalance_backtest", "compare_last")

_TOKEN = "_session_token"
_SAVED = "_session_saved"  # fingerprint of the setup last written
_SOURCE = "_session_source"  # (data_source object, its digest): uploads can be megabytes
_RERUN = "_session_rerun"  # results to run again after a restore
_FAILED = "_session_save_failed"
_PURGED = "_session_purged"
_USER = "_session_user"  # the signed-in user whose working setup this session keeps
_RAN = "_results_run"  # extra key of the stored record: which RERUN_RESULTS existed


def store() -> sessions.SessionStore:
    """The working-sessions store in the user data folder (read on each call)."""
    return sessions.SessionStore()


def _defaults() -> dict[str, Any]:
    from ui import state

    return {**state.DEFAULTS, _RAN: []}


def restore() -> None:
    """On a session's first run: open a link, restore the working setup, or start a new one.

    Never raises: a setup that cannot be restored (data no longer loadable, damaged record) is
    reported with a warning and the session starts from the defaults.
    """
    ss = st.session_state
    if _TOKEN in ss or _USER in ss:
        return
    from ui import auth, team

    who = auth.user()
    if who is not None:
        ss[_USER] = who
        if PARAM in st.query_params:
            del st.query_params[PARAM]  # an address from before sign-in was configured
        if not team.open_link():
            team.restore_working(who)
        autosave()
        return
    _restore_token()
    team.open_link()


def _restore_token() -> None:
    ss = st.session_state
    token = st.query_params.get(PARAM)
    ss[_TOKEN] = sessions.new_token()
    st.query_params[PARAM] = ss[_TOKEN]
    if not sessions.valid_token(token):
        return
    the_store = store()
    try:
        saved = the_store.load(token, _defaults())
    except BallastError:
        return  # unknown or expired token: a fresh session
    from ui import report

    ran = saved.pop(_RAN, [])
    try:
        report.apply_setup(saved)
    except BallastError as exc:
        from ui.widgets import md_escape

        st.warning(md_escape(f"Your work from before the reload could not be restored: {exc}"),
                   icon=":material/history:")  # fmt: skip
        return
    ss[_RERUN] = [r for r in ran if r in RERUN_RESULTS]
    autosave()
    try:
        the_store.delete(token)
    except BallastError:
        pass  # it expires


def ensure_in_url() -> None:
    """Put the session's token back into the URL (a page change may drop query parameters)."""
    token = st.session_state.get(_TOKEN)
    if token and _USER not in st.session_state and st.query_params.get(PARAM) != token:
        st.query_params[PARAM] = token


def _fingerprint(setup: dict[str, Any]) -> str:
    ss = st.session_state
    source = setup["data_source"]
    memo = ss.get(_SOURCE)
    if memo is None or memo[0] is not source:
        text = json.dumps(source, sort_keys=True, default=str)
        memo = (source, hashlib.sha256(text.encode()).hexdigest())
        ss[_SOURCE] = memo
    rest = {k: v for k, v in setup.items() if k != "data_source"}
    text = json.dumps(rest, sort_keys=True, default=repr)
    return hashlib.sha256((memo[1] + text).encode()).hexdigest()


def autosave() -> None:
    """Write the session's setup if it changed since the last write (cheap when it did not).

    Never raises; when the store cannot be written the page says once that a reload would lose
    the work (without the server's paths).
    """
    from ui import state

    ss = st.session_state
    token, who = ss.get(_TOKEN), ss.get(_USER)
    if not token and not who:
        return
    setup = {k: ss.get(k, v) for k, v in state.DEFAULTS.items()}
    if not who:
        setup[_RAN] = [r for r in RERUN_RESULTS if ss.get(r) is not None] + [
            r for r in ss.get(_RERUN, []) if ss.get(r) is None
        ]
    fingerprint = _fingerprint(setup)
    if ss.get(_SAVED) == fingerprint:
        return
    try:
        if who:
            from ui import team

            team.save_working(who, setup)
        else:
            store().save(token, setup, _defaults())
    except BallastError:
        if not ss.get(_FAILED):
            ss[_FAILED] = True
            st.warning("Your work cannot be kept on the server right now: a reload of the page "
                       "would lose it. Save the setup on the Report page.",
                       icon=":material/cloud_off:")  # fmt: skip
        return
    ss[_SAVED] = fingerprint
    if not ss.get(_PURGED) and not who:  # once a session: forget sessions nobody came back to
        ss[_PURGED] = True
        try:
            store().purge()
        except BallastError:
            pass


def rerun_pending(result: str) -> bool:
    """Whether ``result`` (one of :data:`RERUN_RESULTS`) existed before a restore; once."""
    pending = st.session_state.get(_RERUN) or []
    if result not in pending:
        return False
    st.session_state[_RERUN] = [r for r in pending if r != result]
    return True

