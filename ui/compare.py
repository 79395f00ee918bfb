"""Compare-page pieces: the designs editor, the shared settings, the run, the results.

The designs live in the setup key ``compare_designs`` (a list of small dicts: name, kind,
objective, estimators, constraints, maximum weight) and the shared settings in ``compare_*``
(see :data:`ui.state.DEFAULTS`). The objective's targets (target return, target volatility,
risk aversion, risk-free rate), the Allocation page's constraints and the Black-Litterman
inputs (views, tau, omega, prior, market caps) and the tail-risk settings (CVaR confidence and
limit, risk budgets) come from the rest of the setup; scenario objectives use each window's
daily returns as their scenarios. The last run is
kept in the result key ``compare_last`` with the inputs it was run from.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from core import pipeline
from core.charts.comparison import comparison_drawdowns, comparison_equity, sharpe_intervals
from core.comparison import (
    COMPARISON_SCHEDULES,
    DESIGN_KINDS,
    SHARPE_TESTS,
    Comparison,
    Design,
    compare_designs,
    specs_frame,
    specs_from_frame,
)
from core.estimators import COVARIANCE_ESTIMATORS, RETURN_ESTIMATORS
from core.exceptions import BallastError
from core.optimization import OBJECTIVES
from core.performance import drawdowns
from core.reporting import ReportSection
from ui import state
from ui.widgets import (
    blank_missing,
    csv_download,
    md_escape,
    show_error,
    synced,
    synced_editor,
)

CONSTRAINT_CHOICES = {"setup": "The Allocation page's", "long_only": "Long-only, 0 to 100 %"}

#: Metric columns of the results table: key -> (label, shown as a percentage).
METRICS: dict[str, tuple[str, bool]] = {
    "annualized_return": ("Annualised return (%)", True),
    "volatility": ("Volatility (annualised, %)", True),
    "sharpe_ratio": ("Sharpe ratio (annualised)", False),
    "sharpe_low": ("Sharpe ratio, CI low", False),
    "sharpe_high": ("Sharpe ratio, CI high", False),
    "max_drawdown": ("Maximum drawdown (%, loss)", True),
    "cvar": ("Realised CVaR, 1 day (%, loss)", True),
    "turnover": ("Turnover (one-way, % a year)", True),
    "costs": ("Costs (% a year)", True),
    "total_costs": ("Costs paid (% of initial wealth)", True),
    "rebalances": ("Rebalances", False),
}

TESTS: dict[str, tuple[str, bool]] = {
    "sharpe_difference": ("Sharpe difference (annualised)", False),
    "standard_error": ("Standard error (annualised)", False),
    "z": ("z", False),
    "p_value": ("p-value (chosen test)", False),
    "p_hac": ("p, Ledoit-Wolf HAC", False),
    "p_hac_prewhitened": ("p, Ledoit-Wolf HAC prewhitened", False),
    "p_jobson_korkie": ("p, Jobson-Korkie-Memmel", False),
    "significant": ("Significant", False),
}


# ------------------------------------------------------------------------------ the designs
_to_frame = specs_frame  # the setup's rows <-> the editor's table (core.comparison)
_from_frame = specs_from_frame


def designs_editor() -> list[dict]:
    """The table of designs (up to ten rows), written to ``compare_designs``."""
    config = {
        "name": st.column_config.TextColumn("Name", required=True, max_chars=60),
        "kind": st.column_config.SelectboxColumn("Design", options=list(DESIGN_KINDS),
                                                 required=True),  # fmt: skip
        "objective": st.column_config.SelectboxColumn(
            "Objective", options=list(OBJECTIVES),
            help="Optimised and Black-Litterman designs; targets from the Allocation page."),
        "returns_method": st.column_config.SelectboxColumn(
            "Expected returns", options=list(RETURN_ESTIMATORS),
            help="Empty: the Allocation page's estimator."),
        "cov_method": st.column_config.SelectboxColumn(
            "Covariance", options=list(COVARIANCE_ESTIMATORS),
            help="Empty: the Allocation page's estimator."),
        "constraints": st.column_config.SelectboxColumn(
            "Constraints", options=list(CONSTRAINT_CHOICES),
            help="setup: the Allocation page's bounds and sector limits (the default); "
            "long_only: weights from 0 to 100 %."),
        "max_weight": st.column_config.NumberColumn(
            "Max weight (%)", min_value=1.0, max_value=100.0, step=1.0, format="%.0f",
            help="Optional cap on every asset's weight."),
    }  # fmt: skip
    st.caption(md_escape(
        "Kinds: " + "; ".join(f"{k} = {v}" for k, v in DESIGN_KINDS.items())
        + ". Black-Litterman designs use the views of the Black-Litterman page; market-cap "
        "designs its market capitalisations."
    ))  # fmt: skip
    return synced_editor("compare_designs", _to_frame, _from_frame, column_config=config,
                         num_rows="dynamic", width="stretch", hide_index=True)  # fmt: skip


def settings_inputs(specs: list[dict]) -> None:
    """Schedule, lookback, costs, start, test, confidence and the baseline."""
    ss = st.session_state
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        synced(st.selectbox, "compare_schedule", "Rebalance", options=list(COMPARISON_SCHEDULES),
               format_func=COMPARISON_SCHEDULES.get)  # fmt: skip
        synced(st.number_input, "compare_cost_bps", "Transaction costs (bps of traded value)",
               min_value=0.0, max_value=500.0, step=5.0, format="%.1f")  # fmt: skip
    with c2:
        synced(st.number_input, "compare_lookback_years", "Lookback (years)", min_value=0.25,
               max_value=30.0, step=0.5, format="%.2f")  # fmt: skip
        data = state.price_data()
        lo, hi = data.prices.index[0].date(), data.prices.index[-1].date()
        start = ss["compare_start"]
        if start is None or not lo <= pd.Timestamp(start).date() <= hi:
            ss["compare_start"] = lo
            ss.pop("w_compare_start", None)
        synced(st.date_input, "compare_start", "Start (or first possible date)", min_value=lo,
               max_value=hi)  # fmt: skip
    with c3:
        synced(st.selectbox, "compare_test", "Sharpe-ratio test", options=list(SHARPE_TESTS),
               format_func=SHARPE_TESTS.get)  # fmt: skip
        synced(st.selectbox, "compare_confidence", "Confidence", options=[0.9, 0.95, 0.99],
               format_func=lambda c: f"{c:.0%}")  # fmt: skip
    with c4:
        names = [s["name"] for s in specs] or ["(no designs)"]
        if ss["compare_baseline"] not in names:
            ss["compare_baseline"] = names[0]
            ss.pop("w_compare_baseline", None)
        synced(st.selectbox, "compare_baseline", "Baseline (tested against)", options=names)


def build_designs(specs: list[dict], benchmark: pd.Series | None) -> list[Design]:
    """Core designs from the setup's rows and the rest of the setup.

    See :meth:`core.pipeline.Pipeline.comparison_designs` (the command line uses it too).

    Raises
    ------
    BallastError
        No designs, a bad objective target, bad views or market caps (naming the design).
    """
    return state.pipeline().comparison_designs(specs, benchmark)


# ------------------------------------------------------------------------------ the run
def _inputs_key() -> tuple:
    ss = st.session_state
    keys = ("universe", "end", "returns_method", "cov_method", "objective_kind", "target_return",
            "target_volatility", "risk_aversion", "risk_free_rate", "long_only", "min_weight",
            "max_weight", "max_volatility", "compare_designs", "compare_baseline",
            "compare_schedule", "compare_lookback_years", "compare_start", "compare_cost_bps",
            "compare_test", "compare_confidence", "bl_views", "bl_prior", "bl_market_caps",
            "bl_delta", "bl_tau", "bl_omega", "rebalance_benchmark", "tail_cvar_confidence",
            "tail_max_cvar", "tail_budget_by", "tail_asset_budgets",
            "tail_sector_budgets")  # fmt: skip
    return tuple(str(ss[k]) for k in keys) + (
        str(sorted(ss["asset_bounds"].items())), str(sorted(ss["sector_bounds"].items())),
    )  # fmt: skip


def _comparison_job(key: tuple, prices: pd.DataFrame, designs: list[Design], **kwargs):
    """The background job: ``(inputs key, compare_designs(...))`` (see ``ui.jobs``)."""
    return key, compare_designs(prices, designs, **kwargs)


def _inputs() -> tuple[pd.DataFrame, list[Design], dict]:
    """Prices, designs and settings of the setup (:meth:`Pipeline.comparison_inputs`)."""
    notes: list[str] = []
    found = state.pipeline().comparison_inputs(notes)
    for note in notes:
        st.info(md_escape(note))
    return found


def start_run() -> bool:
    """Start the comparison of the setup as a background job (``ui.jobs``, name "compare").

    The designs are checked here first, so a bad design is named at once with ``st.error``;
    the walk forward then runs in the background with a progress bar and a Cancel button, and
    the page stays usable. Returns whether the job started.
    """
    from ui import jobs

    try:
        prices, designs, kwargs = _inputs()
    except BallastError as exc:
        show_error(exc, "Comparison")
        return False
    jobs.start("compare", _comparison_job, _inputs_key(), prices, designs, **kwargs,
               label=f"Comparing {len(designs)} designs (tasks done)")  # fmt: skip
    return True


def job_panel() -> None:
    """The running comparison's progress and Cancel; its result into ``compare_last``."""
    from ui import jobs

    stored = jobs.panel("compare", refresh=0.5)
    if stored is not None and st.session_state.get("compare_last") is not stored:
        st.session_state["compare_last"] = stored


def run_now() -> Comparison | None:
    """Run the comparison of the setup here and now (no background job), with a progress bar.

    Returns
    -------
    Comparison or None
        None after an error (shown with ``st.error``); the result is kept in ``compare_last``.
    """
    ss = st.session_state
    bar = st.progress(0.0, text="Comparing designs...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Comparing designs: {done} of {total} tasks done")

    try:
        prices, designs, kwargs = _inputs()
        result = compare_designs(prices, designs, progress=progress, **kwargs)
    except BallastError as exc:
        bar.empty()
        show_error(exc, "Comparison")
        return None
    bar.empty()
    ss["compare_last"] = (_inputs_key(), result)
    return result


def last(current_only: bool = False) -> Comparison | None:
    """The last comparison (None if none, or if ``current_only`` and the setup changed)."""
    stored = st.session_state.get("compare_last")
    if stored is None:
        return None
    key, result = stored
    if current_only and key != _inputs_key():
        return None
    return result


# ------------------------------------------------------------------------------ the results
def _shown(table: pd.DataFrame, columns: dict[str, tuple[str, bool]]) -> pd.DataFrame:
    out = table[[c for c in columns if c in table.columns]].copy()
    for key, (_, pct) in columns.items():
        if pct and key in out.columns:
            out[key] = out[key].astype(float) * 100
    return out.rename(columns={k: v[0] for k, v in columns.items()})


def metrics_table(result: Comparison) -> pd.DataFrame:
    """The metrics table as shown: one row per design, labelled columns, percentages."""
    table = _shown(result.metrics, METRICS)
    table.insert(0, "Design", [result.results[n].design.label for n in result.metrics.index])
    return table


def tests_table(result: Comparison) -> pd.DataFrame:
    """The test table as shown: one row per design against the baseline."""
    table = _shown(result.tests, TESTS)
    table["Significant"] = result.tests["significant"].map({True: "yes", False: "no"})
    return table


def workbook(result: Comparison) -> bytes:
    """The comparison as an Excel workbook: metrics, tests, equity curves, weights (decimals)."""
    buffer = io.BytesIO()
    # design names are the user's: text cells stay text (no formulas, no links)
    options = {"strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False}  # fmt: skip
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as xl:
        result.metrics.to_excel(xl, sheet_name="Metrics")
        result.tests.to_excel(xl, sheet_name="Sharpe tests")
        result.equity.to_excel(xl, sheet_name="Equity (growth of 1)")
        for i, res in enumerate(result.results.values(), start=1):
            res.weights.to_excel(xl, sheet_name=f"Weights {i}"[:31])
        pd.Series({n: r.design.label for n, r in result.results.items()},
                  name="design").to_excel(xl, sheet_name="Designs")  # fmt: skip
    return buffer.getvalue()


def render(result: Comparison) -> None:
    """Equity curves, drawdowns, the metrics and tests tables, Sharpe intervals, downloads."""
    s = result.settings
    st.caption(md_escape(
        f"{len(result.results)} designs, {s['start']} to {s['end']}, {s['rebalances']} "
        f"rebalances ({s['schedule']}), lookback {s['lookback']} trading days, costs "
        f"{s['cost_bps']:.1f} bps, risk-free rate {s['risk_free_rate']:.2%} a year. Every "
        "figure after costs, out of sample (each decision sees only the prices before it)."
    ))  # fmt: skip
    st.plotly_chart(comparison_equity(result.equity, result.benchmark), key="compare_equity")
    st.subheader("Side by side")
    st.dataframe(blank_missing(metrics_table(result), "{:.2f}"), width="stretch")
    st.caption(f"Sharpe ratio intervals at {s['confidence']:.0%} (Mertens 2002, allowing for "
               "skew and fat tails); CVaR at 95 % of daily returns; turnover one-way, "
               "sum |w - w_before| / 2 per rebalance.")  # fmt: skip
    st.subheader(md_escape(f"Sharpe ratio against the baseline, {result.baseline}"))
    if len(result.tests):
        st.dataframe(blank_missing(tests_table(result), "{:.3f}"), width="stretch")
        st.caption(md_escape(
            f"Chosen test: {SHARPE_TESTS[s['test']]}; significant when p < "
            f"{1 - s['confidence']:.2f}. Ledoit & Wolf (2008) is robust to fat tails and "
            "autocorrelation; Jobson-Korkie-Memmel (2003) assumes i.i.d. normal returns."
        ))  # fmt: skip
    else:
        st.caption("Add a second design to test it against the baseline.")
    st.plotly_chart(sharpe_intervals(result.metrics, s["confidence"]), key="compare_sharpe")
    st.plotly_chart(comparison_drawdowns(drawdowns(result.returns)), key="compare_dd")
    for name, res in result.results.items():
        for note in res.notes[:3]:
            st.warning(md_escape(f"{name}: {note}"))
    c1, c2, c3, c4 = st.columns(4)
    csv_download("Metrics (CSV)", result.metrics.reset_index(), "ballast_compare_metrics.csv",
                 key="compare_dl_metrics", box=c1)  # fmt: skip
    csv_download("Sharpe tests (CSV)", result.tests.reset_index(), "ballast_compare_tests.csv",
                 key="compare_dl_tests", box=c2)  # fmt: skip
    csv_download("Equity curves (CSV)", result.equity.reset_index(),
                 "ballast_compare_equity.csv", key="compare_dl_equity", box=c3)  # fmt: skip
    c4.download_button("Everything (Excel)", lambda: workbook(result),
                       "ballast_compare.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key="compare_dl_xlsx", icon=":material/table_view:")  # fmt: skip


def report_section() -> ReportSection | None:
    """The last comparison of this setup for the reports (:func:`core.pipeline.comparison_section`).

    None when none was run for the current setup.
    """
    result = last(current_only=True)
    if result is None:
        return None
    return pipeline.comparison_section(state.pipeline(comparison=result))
