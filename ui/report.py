"""Report-page pieces: collect the features' report sections, build downloads, manage setups.

Each feature's ui module (``ui.allocation``, ``ui.black_litterman``, ``ui.frontier``,
``ui.risk``, ``ui.rebalance``, ``ui.book``) may define
``report_section() -> ReportSection | None``; the report holds the sections of those that
exist. A section that raises a ``BallastError`` is listed with its message and left out; any
other exception is a bug and is shown as such.

Saved setups are the setup keys of :data:`ui.state.DEFAULTS`, read at run time, stored by
:class:`core.setups.SetupStore` in the user data folder (``$BALLAST_DATA_DIR``).
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from core import setups
from core.black_litterman import tickers_of
from core.estimators import COVARIANCE_ESTIMATORS, RETURN_ESTIMATORS
from core.exceptions import BallastError, DataSourceUnavailableError, SetupError
from core.market_data import PriceData
from core.optimization import OBJECTIVES
from core.reporting import ReportSection, ReportSummary, report_html, report_xlsx
from ui import cache, state

#: Feature modules that may contribute a report section, in report order, with their labels.
SECTION_MODULES: dict[str, str] = {
    "ui.allocation": "Allocation",
    "ui.black_litterman": "Black-Litterman",
    "ui.frontier": "Efficient frontier",
    "ui.risk": "Risk",
    "ui.rebalance": "Rebalancing",
    "ui.book": "Rebalancing from the current book",
}


@dataclass(frozen=True)
class SectionStatus:
    """What became of one feature's report section.

    Attributes
    ----------
    module : str
        The ui module asked.
    label : str
        The feature's name for the user.
    status : str
        ``"ready"``, ``"no results"`` (the feature has nothing to report yet),
        ``"not available"`` (the feature does not exist in this version), ``"error"`` (it
        raised a BallastError: ``message``) or ``"bug"`` (any other exception: ``error``).
    section : ReportSection or None
    message : str
    error : Exception or None
    """

    module: str
    label: str
    status: str
    section: ReportSection | None = None
    message: str = ""
    error: Exception | None = None


def collect_sections(strict: bool = False) -> list[SectionStatus]:
    """Ask every feature module for its report section.

    Parameters
    ----------
    strict : bool
        Re-raise exceptions that are not ``BallastError`` (tests); otherwise they come back
        with status ``"bug"`` and the page shows them with ``st.exception``.

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
            out.append(SectionStatus(module, label, "bug", message=repr(exc), error=exc))
            continue
        if section is None:
            out.append(SectionStatus(module, label, "no results"))
        else:
            out.append(SectionStatus(module, label, "ready", section=section))
    return out


def _objective_inputs(ss: Any) -> dict[str, Any]:
    kind = ss["objective_kind"]
    out: dict[str, Any] = {"Objective": OBJECTIVES.get(kind, kind)}
    if kind == "target_return":
        out["Target return (annualised)"] = ss["target_return"]
    elif kind == "target_volatility":
        out["Target volatility (annualised)"] = ss["target_volatility"]
    elif kind == "max_utility":
        out["Risk aversion (delta)"] = ss["risk_aversion"]
    return out


def _describe_source(descriptor: Any) -> str:
    """The data source descriptor as one line; embedded files are named, not copied."""
    if not isinstance(descriptor, dict):
        return str(descriptor)
    short = {
        k: (f"<{len(v):,} characters>" if isinstance(v, str) and len(v) > 200 else v)
        for k, v in descriptor.items()
    }
    text = json.dumps(short, default=str)
    return text if len(text) <= 2000 else text[:2000] + "..."


def report_inputs() -> dict[str, Any]:
    """Every setup key as a labelled input of the report (units in the labels)."""
    ss = st.session_state
    inputs: dict[str, Any] = {
        "Data source (setup)": _describe_source(ss["data_source"]),
        "Universe size (assets)": len(ss["universe"]),
        "Universe": list(ss["universe"]),
        "Window start": ss["start"],
        "Window end": ss["end"],
        "Expected returns estimator": RETURN_ESTIMATORS.get(ss["returns_method"]),
        "Covariance estimator": COVARIANCE_ESTIMATORS.get(ss["cov_method"]),
        "Expected returns used": "Black-Litterman posterior"
        if ss["expected_returns_source"] == "black_litterman"
        else "the estimator above",
        "Risk-free rate (annual)": ss["risk_free_rate"],
        **_objective_inputs(ss),
        "Long only": ss["long_only"],
        "Min weight per asset": ss["min_weight"],
        "Max weight per asset": ss["max_weight"],
        "Max volatility (annualised)": ss["max_volatility"],
        "Per-asset bounds (min, max weight)": dict(ss["asset_bounds"]),
        "Sector bounds (min, max weight)": dict(ss["sector_bounds"]),
        "Capital": ss["capital"],
    }
    shown = {
        "data_source", "universe", "start", "end", "returns_method", "cov_method",
        "expected_returns_source", "risk_free_rate", "objective_kind", "target_return",
        "target_volatility", "risk_aversion", "long_only", "min_weight", "max_weight",
        "max_volatility", "asset_bounds", "sector_bounds", "capital",
    }  # fmt: skip
    # Settings other features add appear under their key, so the report names every input.
    for key in state.DEFAULTS:
        if key not in shown:
            inputs[key] = ss.get(key)
    return inputs


def report_summary(statuses: list[SectionStatus]) -> ReportSummary:
    """The summary of the report from the setup, the data and the allocation."""
    data = state.price_data()
    try:
        as_of = state.window_data().as_of.date()
    except BallastError:
        as_of = data.as_of.date()
    source = data.description or data.source
    if data.currency:
        source += f", prices in {data.currency}"
    figures: dict[str, float] = {}
    result = st.session_state.get("allocation")
    if result is not None:
        figures = {
            "Expected return (annualised)": result.expected_return,
            "Volatility (annualised)": result.volatility,
            "Sharpe ratio": result.sharpe_ratio,
            "Effective number of assets": result.effective_number_of_assets,
        }
    notes = tuple(
        f"{s.label}: not included, {s.message}" for s in statuses if s.status in ("error", "bug")
    )
    return ReportSummary(
        title="Ballast portfolio report",
        data_source=source,
        as_of=as_of,
        inputs=report_inputs(),
        key_figures=figures,
        notes=notes,
    )


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
    c1.download_button(
        f"{section.title} (Excel)", data=lambda: report_xlsx(summary, [section], tickers),
        file_name=f"ballast_{section.key}_{stamp}.xlsx", icon=":material/table_view:",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"report_dl_xlsx_{section.key}",
    )  # fmt: skip
    c2.download_button(
        f"{section.title} (HTML report)", data=lambda: report_html(summary, [section], tickers),
        file_name=f"ballast_{section.key}_{stamp}.html", mime="text/html",
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
            st.error(str(exc), icon=":material/error:")
            return
        if section is None:
            st.caption("Nothing to download yet.")
        section_downloads(section)


# --- setups ---------------------------------------------------------------------------------


def store() -> setups.SetupStore:
    """The setups store in the user data folder (``$BALLAST_DATA_DIR``, read on each call)."""
    return setups.SetupStore()


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
        If the data cannot be loaded or lacks tickers of the setup (named).
    """
    check_choices(setup)
    ss = st.session_state
    data = None
    if setup["data_source"] != ss["data_source"] or ss.get("price_data") is None:
        data = load_data_source(setup["data_source"])
    setups.check_tickers(setup, (data or state.price_data()).tickers, extra=view_tickers(setup))
    if data is not None:
        state.set_price_data(data)
    for key in state.DEFAULTS:
        ss[key] = copy.deepcopy(setup.get(key, state.DEFAULTS[key]))
    for key, value in state.RESULTS.items():
        if key != "price_data":
            ss[key] = copy.deepcopy(value)
    state.clear_widget_state()
    state.init()  # universe, start or end saved as None: fill them from the data
    if ss["expected_returns_source"] == "black_litterman":
        _restore_posterior()


#: Setup keys whose value is one of a fixed set of choices.
CHOICES: dict[str, Any] = {
    "returns_method": RETURN_ESTIMATORS,
    "cov_method": COVARIANCE_ESTIMATORS,
    "objective_kind": OBJECTIVES,
    "expected_returns_source": ("historical", "black_litterman"),
}


def check_choices(setup: dict[str, Any]) -> None:
    """Raise a SetupError naming every setting whose value is not one of its choices."""
    bad = [
        f"{key} ({setup[key]!r}; choose one of {', '.join(options)})"
        for key, options in CHOICES.items()
        if key in setup and setup[key] not in options
    ]
    if bad:
        raise SetupError(f"Settings with a value Ballast does not know: {'; '.join(bad)}.")


def view_tickers(setup: dict[str, Any]) -> list[str]:
    """Tickers named in the text of the setup's Black-Litterman views (``bl_views``)."""
    out: list[str] = []
    for view in setup.get("bl_views") or []:
        if isinstance(view, dict):
            for side in ("assets", "versus"):
                out += tickers_of(view.get(side))
    return out


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


def _flash_warning(message: str) -> None:
    st.session_state["report_flash_warning"] = message


def _flash(kind: str, message: str) -> None:
    st.session_state["report_flash"] = (kind, message)


def show_flash() -> None:
    """Show (once) the message an action left before it reran the page."""
    warning = st.session_state.pop("report_flash_warning", None)
    if warning:
        st.warning(warning, icon=":material/warning:")
    kind, message = st.session_state.pop("report_flash", (None, None))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "error":
        st.error(message, icon=":material/error:")


@st.fragment
def setups_manager() -> None:
    """Save, list, load, rename, delete, export and import setups.

    A fragment: saving, renaming and deleting rerun only this part of the page (the report
    sections can take seconds); loading and importing rerun the whole page, since every
    result changes.
    """
    show_flash()
    the_store = store()
    st.caption(f"Stored in `{the_store.path}`.")
    with st.form("report_save_form", clear_on_submit=True, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("Save the current setup as", key="report_save_name",
                             placeholder="e.g. Max Sharpe, sectors capped at 30 %")  # fmt: skip
        if c2.form_submit_button("Save setup", icon=":material/save:"):
            try:
                stored = the_store.save(name, current_setup(), state.DEFAULTS)
                st.session_state["report_setup_choice"] = stored  # the list shows it chosen
                st.success(f"Saved the setup as {stored!r}.", icon=":material/check_circle:")
            except SetupError as exc:
                st.error(str(exc), icon=":material/error:")
    try:
        infos = the_store.list()
    except SetupError as exc:
        st.error(str(exc), icon=":material/error:")
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
            apply_setup(the_store.load(chosen, state.DEFAULTS, current_setup()))
        except BallastError as exc:
            st.error(f"Could not load {chosen!r}: {exc}", icon=":material/error:")
        else:
            _flash("success", f"Loaded the setup {chosen!r}; results recomputed from it.")
            st.rerun(scope="app")
    c2.button("Delete", icon=":material/delete:", key="report_delete",
              on_click=_delete, args=(the_store, chosen))  # fmt: skip
    try:
        exported = setups.export_json(
            the_store.load(chosen, state.DEFAULTS, current_setup()), state.DEFAULTS, chosen
        )
        stem = _FILE_UNSAFE.sub("_", chosen)
        c3.download_button("Export (JSON)", data=exported, icon=":material/download:",
                           file_name=f"ballast_setup_{stem}.json", mime="application/json",
                           key="report_export_saved")  # fmt: skip
    except SetupError as exc:
        c3.warning(str(exc), icon=":material/warning:")
    with st.form("report_rename_form", border=False):
        r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
        r1.text_input(f"Rename {chosen!r} to", key="report_rename_to")
        r2.form_submit_button("Rename", icon=":material/edit:", on_click=_rename,
                              args=(the_store, chosen))  # fmt: skip


# Rename and delete run as callbacks, before the rerun their click starts, so that the list
# shown after it is already up to date (a fragment rerun; the report is not rebuilt).
def _delete(the_store: setups.SetupStore, name: str) -> None:
    try:
        the_store.delete(name)
    except SetupError as exc:
        _flash("error", str(exc))
    else:
        _flash("success", f"Deleted the setup {name!r}.")


def _rename(the_store: setups.SetupStore, name: str) -> None:
    try:
        stored = the_store.rename(name, st.session_state.get("report_rename_to", ""))
    except SetupError as exc:
        _flash("error", str(exc))
    else:
        st.session_state["report_rename_to"] = ""
        st.session_state["report_setup_choice"] = stored
        _flash("success", f"Renamed {name!r} to {stored!r}.")


def _import_json() -> None:
    upload = st.file_uploader(
        "Import a setup (JSON file exported by Ballast)", type=["json"], key="report_import"
    )
    if upload is None:
        return
    done = st.session_state.get("report_imported")
    if done and done[0] == upload.file_id:
        if done[1]:  # the same file failed before: keep its error on screen
            st.error(done[1], icon=":material/error:")
        return
    try:
        apply_setup(setups.import_json(upload.getvalue(), state.DEFAULTS, current_setup()))
    except BallastError as exc:
        message = f"Could not import {upload.name}: {exc}"
        st.session_state["report_imported"] = (upload.file_id, message)
        st.error(message, icon=":material/error:")
        return
    st.session_state["report_imported"] = (upload.file_id, "")
    _flash("success", f"Imported the setup from {upload.name}; results recomputed from it.")
    st.rerun(scope="app")
