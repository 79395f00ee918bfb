"""Report-page pieces: collect the features' report sections, build downloads, manage setups.

Each feature's ui module (``ui.allocation``, ``ui.black_litterman``, ``ui.frontier``,
``ui.risk``, ``ui.rebalance``, ``ui.book``) may define
``report_section() -> ReportSection | None``; the report holds the sections of those that
exist. A section that raises a ``BallastError`` is listed with its message and left out; any
other exception is a bug: logged on the server with its traceback, and named to the user in
one line (never a traceback in the browser).

Saved setups are the setup keys of :data:`ui.state.DEFAULTS`, read at run time, stored by
:class:`core.store.SetupStore` (``$BALLAST_DATABASE_URL``, else a SQLite file in the user data
folder, ``$BALLAST_DATA_DIR``).
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import importlib.util
import logging
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core import pipeline, reproducibility, setups
from core.exceptions import BallastError, DataSourceUnavailableError, SetupError
from core.market_data import PriceData
from core.pipeline import SectionStatus
from core.reporting import ReportSection, ReportSummary, report_html, report_xlsx
from ui import cache, state
from ui.widgets import download_label, md_escape, show_error

_log = logging.getLogger(__name__)

#: Feature modules that may contribute a report section, in report order, with their labels.
SECTION_MODULES: dict[str, str] = {
    "ui.allocation": "Allocation",
    "ui.black_litterman": "Black-Litterman",
    "ui.frontier": "Efficient frontier",
    "ui.risk": "Risk",
    "ui.rebalance": "Rebalancing",
    "ui.book": "Rebalancing from the current book",
    "ui.compliance": "Compliance",
    "ui.compare": "Comparison of designs",
}


def collect_sections(strict: bool = False) -> list[SectionStatus]:
    """Ask every feature module for its report section.

    Parameters
    ----------
    strict : bool
        Re-raise exceptions that are not ``BallastError`` (tests); otherwise they are logged
        with their traceback and come back with status ``"bug"``.

    Returns
    -------
    list of SectionStatus
        One per module of :data:`SECTION_MODULES`, in order.
    """
    out = []
    for module, label in SECTION_MODULES.items():
        if importlib.util.find_spec(module) is None:
            out.append(SectionStatus(module, label, "not available"))
            continue
        try:
            func = getattr(importlib.import_module(module), "report_section", None)
            if func is None:
                out.append(SectionStatus(module, label, "not available"))
                continue
            section = func()
        except BallastError as exc:
            out.append(SectionStatus(module, label, "error", message=str(exc)))
            continue
        except Exception as exc:
            if strict:
                raise
            _log.exception("The %s report section failed", label)
            message = f"an internal error ({type(exc).__name__}) stopped it; it is logged"
            out.append(SectionStatus(module, label, "bug", message=message, error=exc))
            continue
        if section is None:
            out.append(SectionStatus(module, label, "no results"))
        else:
            out.append(SectionStatus(module, label, "ready", section=section))
    return out


def report_inputs() -> dict[str, Any]:
    """Every setup key as a labelled input of the report (``Pipeline.report_inputs``)."""
    return state.pipeline().report_inputs()


def report_summary(statuses: list[SectionStatus]) -> ReportSummary:
    """The summary of the report from the setup, the data and the allocation (core.pipeline)."""
    return state.pipeline().report_summary(statuses)


def report_files(statuses: list[SectionStatus]) -> dict[str, Callable[[], bytes]]:
    """The Report page's downloads: ``{"html": build, "xlsx": build}``, built on click.

    The summary (from the setup, ``core.pipeline``, as ``python -m ballast run`` builds it) and
    the ready sections are taken now, in the page's run; the returned functions only write the
    bytes, since a deferred download runs outside the page's run (no session state there).
    Columns named by a ticker hold weights (frontier points, corner portfolios) and are shown
    as percentages.
    """
    from core.reporting import report_html, report_xlsx

    sections = [s.section for s in statuses if s.section is not None]
    summary = report_summary(statuses)
    tickers = list(state.price_data().tickers)
    return {
        "html": lambda: report_html(summary, sections, percent_columns=tickers),
        "xlsx": lambda: report_xlsx(summary, sections, percent_columns=tickers),
    }


def section_downloads(section: ReportSection | None) -> None:
    """Excel and HTML downloads of one feature's section, for the page that shows it.

    The files are built only when a button is clicked (Streamlit's deferred download data), so
    the page's reruns do not pay for them.

    Parameters
    ----------
    section : ReportSection or None
        The page's ``report_section()``; nothing is shown when None.
    """
    if section is None:
        return
    summary = report_summary([SectionStatus("", section.title, "ready", section)])
    tickers = state.price_data().tickers
    stamp = state.price_data().as_of.date()
    c1, c2 = st.columns(2)
    xlsx_label, xlsx_name = download_label(f"{section.title} (Excel)",
                                           f"ballast_{section.key}_{stamp}.xlsx")  # fmt: skip
    html_label, html_name = download_label(f"{section.title} (HTML report)",
                                           f"ballast_{section.key}_{stamp}.html")  # fmt: skip
    c1.download_button(
        xlsx_label, data=lambda: report_xlsx(summary, [section], tickers),
        file_name=xlsx_name, icon=":material/table_view:",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"report_dl_xlsx_{section.key}",
    )  # fmt: skip
    c2.download_button(
        html_label, data=lambda: report_html(summary, [section], tickers),
        file_name=html_name, mime="text/html",
        icon=":material/description:", key=f"report_dl_html_{section.key}",
    )  # fmt: skip


def page_downloads(report_section: Callable[[], ReportSection | None]) -> None:
    """An expander with the Excel and HTML downloads of the page's report section.

    The section (tables and figures, a second copy of what the page draws) is built only while
    the expander is open: opening it reruns the page (or the fragment that holds it), so the
    page's other reruns, a slider move for one, do not pay for it.

    Parameters
    ----------
    report_section : callable
        The feature's ``report_section`` (it reuses the cached results).
    """
    owner = getattr(report_section, "__module__", "page").rsplit(".", 1)[-1]
    box = st.expander("Download these results (Excel workbook, HTML report)",
                      icon=":material/download:", key=f"page_downloads_{owner}",
                      on_change="rerun")  # fmt: skip
    with box:
        if not box.open:
            return
        try:
            section = report_section()
        except BallastError as exc:
            show_error(exc)
            return
        if section is None:
            st.caption("Nothing to download yet.")
        section_downloads(section)


# --- setups ---------------------------------------------------------------------------------


def store() -> setups.SetupStore:
    """The setups store (``$BALLAST_DATABASE_URL`` or ``$BALLAST_DATA_DIR``, read on each call)."""
    return setups.SetupStore()


def current_user() -> str | None:
    """Who saves and opens setups: the signed-in user, None in single-user local mode."""
    from ui import auth

    return auth.user()


#: Key figures kept with a saved setup and compared on reopening: name -> (label, unit scale).
KEY_FIGURES: dict[str, tuple[str, float]] = {
    "expected_return": ("Expected return (annualised, %)", 100.0),
    "volatility": ("Volatility (annualised, %)", 100.0),
    "sharpe_ratio": ("Sharpe ratio", 1.0),
}


def record_now() -> reproducibility.Record:
    """The reproducibility record of the current setup: versions, data, key figures.

    Key figures are those of the current allocation (decimal, annualised), none without one.
    """
    ss = st.session_state
    result = ss.get("allocation")
    figures = {} if result is None else {name: getattr(result, name, None) for name in KEY_FIGURES}
    data = ss.get("price_data")
    return reproducibility.capture(None if data is None else data.prices, ss.get("data_source"),
                                   figures)  # fmt: skip


def reproducibility_table(saved: reproducibility.Record,
                          now: reproducibility.Record) -> pd.DataFrame:  # fmt: skip
    """:func:`core.reproducibility.compare` for the page: labels, units, changes only for code.

    Returns
    -------
    DataFrame
        Columns ``What``, ``Saved``, ``Now``, ``Change`` (text); the data row, the key figures
        (in their units), then the versions that changed (or one row saying none did).
    """
    table = reproducibility.compare(saved, now)
    rows = []
    for row in table.itertuples(index=False):
        if row.kind == "key figure":
            label, scale = KEY_FIGURES.get(row.item, (row.item, 1.0))
            shown = [f"{v * scale:,.4f}" if v is not None and v == v else "not recorded"
                     for v in (row.saved, row.now, row.change)]  # fmt: skip
            rows.append([label, *shown])
        elif row.kind == "data" or row.changed:
            rows.append([row.item if row.kind == "data" else f"Version of {row.item}",
                         row.saved, row.now, row.change])  # fmt: skip
    if not table[(table["kind"] == "code") & table["changed"]].shape[0]:
        rows.append(["Code (Ballast and libraries)", "", "", "same versions"])
    return pd.DataFrame(rows, columns=["What", "Saved", "Now", "Change"])


def current_setup() -> dict[str, Any]:
    """The setup in use: every key of :data:`ui.state.DEFAULTS` from session state."""
    return {key: copy.deepcopy(st.session_state.get(key, value))
            for key, value in state.DEFAULTS.items()}  # fmt: skip


def load_data_source(descriptor: dict[str, Any]) -> PriceData:
    """Load the data a setup names (``core.market_data.load_source``).

    The plain bundled sample comes from the cache; Yahoo data falls back to the local cache
    when Yahoo cannot be reached.

    Raises
    ------
    BallastError
        If the source cannot be loaded (the message says why).
    """
    if not isinstance(descriptor, dict) or "kind" not in descriptor:
        raise SetupError(f"The setup's data source {descriptor!r} has no 'kind'.")
    if descriptor == {"kind": "sample"}:
        return cache.sample_data()
    from core import market_data

    with st.spinner("Loading the setup's prices..."):
        try:
            return market_data.load_source(descriptor)
        except DataSourceUnavailableError:
            return market_data.load_source(descriptor, offline=True)


def apply_setup(setup: dict[str, Any]) -> None:
    """Make a loaded setup the current one; everything recomputes from it.

    Reloads the data when the setup's data source differs from the loaded one, checks that the
    data holds every ticker the setup names, then sets the setup keys, forgets widget values
    and resets the results (``allocation`` None). Nothing changes when it raises.

    Raises
    ------
    BallastError
        If a value breaks its rule (``core.setups.validate``), the data cannot be loaded, lacks
        tickers of the setup (named) or does not cover the setup's dates.
    """
    setup = {**setup, **setups.validate(setup, state.DEFAULTS)}
    ss = st.session_state
    data = None
    if setup["data_source"] != ss["data_source"] or ss.get("price_data") is None:
        data = load_data_source(setup["data_source"])
    setups.check_tickers(setup, (data or state.price_data()).tickers, extra=view_tickers(setup))
    check_dates(setup, data or state.price_data())
    if data is not None:
        state.set_price_data(data)
    for key in state.DEFAULTS:
        ss[key] = copy.deepcopy(setup.get(key, state.DEFAULTS[key]))
    for key, value in state.RESULTS.items():
        if key != "price_data":
            ss[key] = copy.deepcopy(value)
    state.clear_widget_state()
    state.fill()  # universe, start or end saved as None: fill them from the data
    if ss["expected_returns_source"] == "black_litterman":
        _restore_posterior()


def check_dates(setup: dict[str, Any], data: PriceData) -> None:
    """Raise a SetupError naming every date of the setup outside the data's dates.

    The date inputs offer only the data's dates (a date outside them cannot be shown); see
    :func:`core.pipeline.check_dates`.
    """
    pipeline.check_dates(setup, data)


def view_tickers(setup: dict[str, Any]) -> list[str]:
    """Tickers named in the text of the setup's Black-Litterman views (``bl_views``)."""
    return pipeline.view_tickers(setup)


def _restore_posterior() -> None:
    """Recompute the Black-Litterman posterior the setup uses, as its page computes it.

    The posterior is a result (never saved); a setup that optimises on it needs it again to
    give the same numbers. When it cannot be computed, the allocation falls back to the
    historical estimator and the page says so.
    """
    try:
        from ui import black_litterman as bl_ui

        outcome = bl_ui.compute(bl_ui.prepare())
    except BallastError as exc:
        _flash_warning(
            f"The setup uses Black-Litterman returns, which could not be recomputed ({exc}); "
            "the allocation uses the historical estimator until you fix the views."
        )
        return
    st.session_state["bl_posterior_returns"] = outcome.result.returns.rename("expected_return")


#: What happens to the results when a setup is loaded (they are never saved with it).
_RECOMPUTED = ("Each page recomputes its results from it when you open it; a backtest must be "
               "run again on the Rebalance page.")  # fmt: skip


def _flash_warning(message: str) -> None:
    st.session_state["report_flash_warning"] = message


def _flash(kind: str, message: str) -> None:
    st.session_state["report_flash"] = (kind, message)


def show_flash() -> None:
    """Show (once) the message an action left before it reran the page."""
    warning = st.session_state.pop("report_flash_warning", None)
    if warning:
        st.warning(md_escape(warning), icon=":material/warning:")
    kind, message = st.session_state.pop("report_flash", (None, None))
    if kind == "success":
        st.success(md_escape(message), icon=":material/check_circle:")
    elif kind == "error":
        show_error(message)


@st.fragment
def setups_manager() -> None:
    """Save, list, load, rename, delete, export and import setups.

    A fragment: saving, renaming and deleting rerun only this part of the page (the report
    sections can take seconds); loading and importing rerun the whole page, since every
    result changes.
    """
    show_flash()
    the_store = store()
    st.caption("Setups are saved on the server for everyone who uses it; export one as JSON to "
               "keep your own copy.")  # fmt: skip
    with st.form("report_save_form", clear_on_submit=True, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("Save the current setup as", key="report_save_name",
                             placeholder="e.g. Max Sharpe, sectors capped at 30 %")  # fmt: skip
        if c2.form_submit_button("Save setup", icon=":material/save:"):
            try:
                stored = the_store.save(name, current_setup(), state.DEFAULTS,
                                        user=current_user(), overwrite=True,
                                        record=record_now()).name  # fmt: skip
                st.session_state["report_setup_choice"] = stored  # the list shows it chosen
                st.success(md_escape(f"Saved the setup as {stored!r}."),
                           icon=":material/check_circle:")  # fmt: skip
            except SetupError as exc:
                show_error(exc)
    try:
        infos = the_store.list(current_user())
    except SetupError as exc:
        show_error(exc)
        infos = []
    if infos:
        st.dataframe(
            pd.DataFrame({
                "Name": [i.name for i in infos],
                "Saved (UTC)": [i.saved_at.strftime("%Y-%m-%d %H:%M:%S") for i in infos],
                "Schema": [i.schema_version for i in infos],
            }),
            hide_index=True, width="stretch",
        )  # fmt: skip
        _saved_actions(the_store, [i.name for i in infos])
        _reproducibility(the_store)
    else:
        st.info("No saved setups yet.")
    st.download_button(
        "Download the current setup (JSON)",
        data=setups.export_json(current_setup(), state.DEFAULTS),
        file_name=f"ballast_setup_{dt.date.today()}.json",
        mime="application/json",
        icon=":material/download:",
        key="report_export_current",
    )
    _import_json()


_FILE_UNSAFE = re.compile(r"[^\w.-]+")


def _saved_actions(the_store: setups.SetupStore, names: list[str]) -> None:
    chosen = st.selectbox("Saved setup", names, key="report_setup_choice")
    c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
    if c1.button("Load", icon=":material/upload_file:", key="report_load"):
        try:
            apply_setup(the_store.load(chosen, state.DEFAULTS, current_setup(),
                                       user=current_user()))  # fmt: skip
        except BallastError as exc:
            show_error(exc, f"Could not load {chosen!r}")
        else:
            st.session_state[_LOADED] = (chosen, setups.export_json(current_setup(),
                                                                    state.DEFAULTS))  # fmt: skip
            _flash("success", f"Loaded the setup {chosen!r}. {_RECOMPUTED}")
            st.rerun(scope="app")
    c2.button("Delete", icon=":material/delete:", key="report_delete",
              on_click=_delete, args=(the_store, chosen))  # fmt: skip
    try:
        exported = setups.export_json(
            the_store.load(chosen, state.DEFAULTS, current_setup(), user=current_user()),
            state.DEFAULTS, chosen,
        )  # fmt: skip
        stem = _FILE_UNSAFE.sub("_", chosen)
        c3.download_button("Export (JSON)", data=exported, icon=":material/download:",
                           file_name=f"ballast_setup_{stem}.json", mime="application/json",
                           key="report_export_saved")  # fmt: skip
    except SetupError as exc:
        c3.warning(md_escape(exc), icon=":material/warning:")
    with st.form("report_rename_form", border=False):
        r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
        r1.text_input(md_escape(f"Rename {chosen!r} to"), key="report_rename_to")
        r2.form_submit_button("Rename", icon=":material/edit:", on_click=_rename,
                              args=(the_store, chosen))  # fmt: skip


_LOADED = "report_loaded_setup"  # (id or name, the setup as loaded, JSON) of the last Load


def _reproducibility(the_store: setups.SetupStore) -> None:
    """After a Load, while the setup is unchanged: what changed since it was saved."""
    loaded = st.session_state.get(_LOADED)
    if not loaded:
        return
    name, as_loaded = loaded
    if setups.export_json(current_setup(), state.DEFAULTS) != as_loaded:
        st.session_state.pop(_LOADED, None)  # changed since: the comparison no longer applies
        return
    try:
        saved = the_store.record(name, user=current_user())
        name = the_store.info(name, user=current_user()).name  # an id when opened by link
    except SetupError:
        return  # deleted or renamed meanwhile
    now = record_now()
    with st.expander(md_escape(f"Reproducibility of {name!r}"), expanded=True,
                     icon=":material/fact_check:"):  # fmt: skip
        st.markdown(md_escape(reproducibility.summary(reproducibility.compare(saved, now))))
        st.caption(f"Saved {saved.taken_at:%Y-%m-%d %H:%M} UTC; now recomputed from the "
                   "setup. Data: fingerprint of the prices and of their source (SHA-256).")
        st.dataframe(reproducibility_table(saved, now), hide_index=True, width="stretch")


# Rename and delete run as callbacks, before the rerun their click starts, so that the list
# shown after it is already up to date (a fragment rerun; the report is not rebuilt).
def _delete(the_store: setups.SetupStore, name: str) -> None:
    try:
        the_store.delete(name, user=current_user())
    except SetupError as exc:
        _flash("error", str(exc))
    else:
        _flash("success", f"Deleted the setup {name!r}.")


def _rename(the_store: setups.SetupStore, name: str) -> None:
    try:
        stored = the_store.rename(name, st.session_state.get("report_rename_to", ""),
                                  user=current_user())  # fmt: skip
    except SetupError as exc:
        _flash("error", str(exc))
    else:
        st.session_state["report_rename_to"] = ""
        st.session_state["report_setup_choice"] = stored
        _flash("success", f"Renamed {name!r} to {stored!r}.")


def _import_json() -> None:
    limit_mb = setups.MAX_SETUP_BYTES // (1024 * 1024)
    upload = st.file_uploader(
        f"Import a setup (JSON file exported by Ballast, at most {limit_mb} MB)", type=["json"],
        key="report_import", max_upload_size=limit_mb,
    )  # fmt: skip
    if upload is None:
        return
    done = st.session_state.get("report_imported")
    if done and done[0] == upload.file_id:
        if done[1]:  # the same file failed before: keep its error on screen
            show_error(done[1])
        return
    try:
        if upload.size > setups.MAX_SETUP_BYTES:  # before reading it
            raise SetupError(f"The file is {upload.size / 1e6:,.1f} MB; setups are at most "
                             f"{limit_mb} MB.")  # fmt: skip
        apply_setup(setups.import_json(upload.getvalue(), state.DEFAULTS, current_setup()))
    except BallastError as exc:
        message = f"Could not import {upload.name}: {exc}"
        st.session_state["report_imported"] = (upload.file_id, message)
        show_error(message)
        return
    st.session_state["report_imported"] = (upload.file_id, "")
    _flash("success", f"Imported the setup from {upload.name}. {_RECOMPUTED}")
    st.rerun(scope="app")
