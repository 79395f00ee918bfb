"""The book: optimise from the current holdings, and show the book beside the proposal.

The holdings and cash are the setup keys ``holdings`` and ``cash`` (entered or uploaded with
:func:`ui.rebalance.holdings_inputs`, on the Allocation and Rebalance pages); the settings here
are the ``book_*`` keys of :data:`ui.state.DEFAULTS`. Conventions:

- ``w0``: the holdings at the latest prices as decimals of the book's value (holdings plus
  cash), :func:`core.execution.book_weights`; the cash weight is ``1 - sum(w0)``.
- Turnover is one-way, ``sum|w - w0| / 2`` (decimal; 0.10 = 10 % of the book traded each way).
- Transaction costs are decimals per unit of weight traded (10 bps = 0.001), charged once and
  amortised over the holding horizon ``H`` in years: the objectives use
  ``mu'w - sum c_i |w_i - w0_i| / H``.
- The benchmark is the Rebalance page's choice (``rebalance_benchmark``, by default the data's
  index). Where it is not an investable asset it joins the assets in one estimate of expected
  returns and covariance and is not investable (core leaves it out of the weights), so that
  ``TE^2 = (w - b)' Sigma (w - b)`` with ``b`` = 100 % in the index.

The last good run is kept in the result key ``book_last`` (a :class:`BookRun`) together with
the allocation it produced, so the page and the report show the book that result came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import pipeline
from core.exceptions import BallastError
from core.optimization import OptimizationResult
from core.pipeline import (  # noqa: F401  (the book's names, for the page and tests)
    _NOT_PCT,
    CURRENT,
    PROPOSAL,
    BookRun,
    objective_units,
    shadow_table,
    zero_floors,
)
from core.reporting import ReportSection
from ui import state
from ui.widgets import (
    _needs_seed,
    csv_download,
    md_escape,
    percent,
    show_error,
    synced,
    synced_editor,
)


def from_holdings() -> bool:
    """Whether the optimisation starts from the current holdings (else from cash)."""
    return st.session_state["book_start_from"] == "holdings"


# ---------------------------------------------------------------------------------- inputs
def start_input() -> None:
    """The "Start from: cash / current holdings" switch."""
    synced(st.radio, "book_start_from", "Start from", options=["cash", "holdings"],
           format_func={"cash": "cash", "holdings": "current holdings"}.get,
           horizontal=True, help="From current holdings the optimiser proposes the best "
           "portfolio reachable from the book, within the trade limits below.")  # fmt: skip


def _optional(name: str, check: str, label: str, default: float, **kwargs) -> None:
    """A checkbox turning an optional setup number on (with ``default``) or off (None)."""
    on = st.checkbox(check, value=st.session_state[name] is not None, key=f"w_on_{name}")
    if not on:
        st.session_state[name] = None
        st.session_state.pop(f"w_{name}", None)
        return
    if st.session_state[name] is None:
        st.session_state[name] = default
        st.session_state.pop(f"w_{name}", None)
    synced(st.number_input, name, label, **kwargs)


def _tickers(name: str, universe: list[str]) -> None:
    kept = [t for t in st.session_state[name] if t in universe]
    if kept != list(st.session_state[name]):
        st.session_state[name] = kept
        st.session_state.pop(f"w_{name}", None)


def _costs_frame(overrides: dict) -> pd.DataFrame:
    universe = list(st.session_state["universe"])
    return pd.DataFrame({"Ticker": universe,
                         "Costs (bps)": [overrides.get(t, np.nan) for t in universe]})  # fmt: skip


def _parse_costs(frame: pd.DataFrame) -> dict:
    costs = pd.to_numeric(frame["Costs (bps)"], errors="coerce")
    return {str(t): float(c) for t, c in zip(frame["Ticker"], costs, strict=True) if pd.notna(c)}


def book_inputs() -> None:
    """Holdings, trade limits, costs and horizon, in the main area (shown from holdings only)."""
    from ui import rebalance as rb

    ss = st.session_state
    # Open while there are no holdings when the page is first shown (not re-decided per rerun,
    # so typing the first row does not fold it away).
    opened = ss.setdefault("_book_holdings_open", not ss["holdings"])
    with st.expander("Current holdings (shares and cash)", expanded=opened):
        rb.holdings_inputs()
        rb.holdings_problems()
    universe = list(ss["universe"])
    with st.expander("Trade limits and costs", expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            _optional("book_max_turnover", "Limit turnover", "Turnover budget (%)", 0.10,
                      scale=100.0, min_value=0.0, max_value=100.0, step=1.0, format="%.1f",
                      help="One-way turnover sum|w - w0| / 2: the share of the book bought "
                      "(and sold) to reach the proposal.")  # fmt: skip
        with c2:
            synced(st.number_input, "rebalance_cost_bps", "Transaction costs (bps of traded "
                   "value)", min_value=0.0, max_value=500.0, step=5.0, format="%.1f",
                   help="Default for every asset; overrides below. The Rebalance page's "
                   "trade plan uses it too.")  # fmt: skip
        with c3:
            synced(st.number_input, "book_horizon_years", "Holding horizon (years)",
                   min_value=0.05, max_value=30.0, step=0.25, format="%.2f",
                   help="Costs are paid once and spread over this horizon: the objective "
                   "uses mu'w - sum c_i |w_i - w0_i| / H.")  # fmt: skip
        with c4:
            if _needs_seed("w_book_cash_bounds"):
                lo, hi = ss["book_cash_bounds"]
                ss["w_book_cash_bounds"] = (float(lo) * 100, float(hi) * 100)
            cash = st.slider("Cash weight of the proposal (%)", 0.0, 100.0, step=1.0,
                             key="w_book_cash_bounds",
                             help="Min and max; 0-0: fully invested.")  # fmt: skip
            ss["book_cash_bounds"] = [cash[0] / 100, cash[1] / 100]
        c1, c2, c3 = st.columns(3)
        for box, name, label, helptext in (
            (c1, "book_locked", "Locked (weight stays as held)", "No trade in these assets."),
            (c2, "book_no_buy", "No buying", "These weights may only fall."),
            (c3, "book_no_sell", "No selling", "These weights may only rise."),
        ):
            _tickers(name, universe)
            with box:
                synced(st.multiselect, name, label, options=universe, help=helptext)
        with st.popover("Per-asset transaction costs", icon=":material/tune:"):
            st.caption("Basis points of traded value; blank: the default above. The trade "
                       "plan charges them too.")
            synced_editor("book_cost_overrides", _costs_frame, _parse_costs,
                          disabled=["Ticker"], hide_index=True)  # fmt: skip


def exposure_inputs() -> None:
    """Gross exposure and side limits (long-short books) and the tracking-error cap."""
    ss = st.session_state
    if not ss["long_only"]:
        _optional("book_max_gross", "Cap gross exposure", "Gross exposure sum|w| at most (%)",
                  1.6, scale=100.0, min_value=100.0, max_value=1000.0, step=10.0,
                  format="%.0f", help="130/30 is 160 %.")  # fmt: skip
        side = dict(scale=100.0, min_value=0.0, max_value=1000.0, step=10.0, format="%.0f")
        _optional("book_max_long", "Cap the long side", "Total long weight at most (%)", 1.3,
                  **side)
        _optional("book_max_short", "Cap the short side", "Total short weight at most (%)", 0.3,
                  **side)
    _optional("book_max_tracking_error", "Cap the tracking error",
              "Tracking error at most (% a year)", 0.05, scale=100.0, min_value=0.0,
              max_value=100.0, step=0.5, format="%.2f",
              help="Against the benchmark chosen on the Rebalance page (the data's index by "
              "default), estimated together with the assets.")  # fmt: skip


# ---------------------------------------------------------------------------- optimisation
# The work is core.pipeline's (the same for the reports and the command line).
def benchmark_needed() -> bool:
    """Whether the objective or a limit is measured against the benchmark."""
    return state.pipeline().benchmark_needed


def joint_estimates() -> tuple[pd.Series, pd.DataFrame, str]:
    """Expected returns and covariance of the universe and the benchmark, estimated together.

    See :attr:`core.pipeline.Pipeline.joint_estimates`.

    Raises
    ------
    BallastError
        No benchmark, or one without prices on the window.
    """
    return state.pipeline().joint_estimates


def benchmark_terms() -> tuple[pd.Series, pd.DataFrame, dict, dict]:
    """What the benchmark adds to an optimisation (:meth:`core.pipeline.Pipeline.benchmark_terms`).

    Raises
    ------
    BallastError
        As :func:`joint_estimates`.
    """
    return state.pipeline().benchmark_terms()


def current_book() -> tuple[pd.Series, float, float]:
    """``w0`` on the universe, the cash weight and the book's value from the holdings and cash.

    Raises
    ------
    ExecutionError
        Holdings outside the universe (named), negative shares while long only, missing prices,
        or a book without value.
    """
    return state.pipeline().current_book()


def transaction_costs() -> float | dict[str, float]:
    """Costs per unit of weight traded (decimal): one default, or per ticker with overrides."""
    return state.pipeline().transaction_costs()


def optimize_setup() -> OptimizationResult:
    """Optimise with the setup: from cash or from the book, with every limit of the setup.

    Keeps what it used in ``book_last`` (:class:`BookRun`); see
    :meth:`core.pipeline.Pipeline.optimize`.

    Raises
    ------
    BallastError
        Conflicting limits (``InfeasibleConstraintsError``, naming them), bad holdings or
        estimates.
    """
    result, run = state.pipeline().optimize()
    st.session_state["book_last"] = run
    return result


# ------------------------------------------------------------------------- the book shown
def before_after(result: OptimizationResult, run: BookRun) -> pd.DataFrame:
    """Key figures of the book and the proposal (:meth:`core.pipeline.Pipeline.before_after`)."""
    return state.pipeline().before_after(result, run)


def display_table(figures: pd.DataFrame) -> pd.DataFrame:
    """The before/after figures as text, one row per figure (percentages where labelled)."""
    out = {}
    for col in figures.columns:
        values = figures[col]
        if col == "Number of trades":
            text = [f"{int(v):d}" for v in values]
        elif col in _NOT_PCT:
            text = ["" if pd.isna(v) else f"{v:.2f}" for v in values]
        else:
            text = ["" if pd.isna(v) else percent(float(v)) for v in values]
        label = col if col in _NOT_PCT or "%" in col else f"{col} (%)"
        out[label] = text
    return pd.DataFrame(out, index=figures.index).T


def sector_table(result: OptimizationResult, run: BookRun) -> pd.DataFrame:
    """Weight per sector of the current book and the proposal (decimals)."""
    return state.pipeline().sector_table(result, run)


def book_view(result: OptimizationResult) -> None:
    """The book beside the proposal: figures, chart, sectors, limit costs and the trade list."""
    from core import charts
    from core.charts.book import before_after_bars
    from core.execution import trade_plan_csv
    from ui import rebalance as rb

    run = st.session_state.get("book_last")
    if run is None:
        return
    st.subheader("The book: current and proposed")
    figures = before_after(result, run)
    left, right = st.columns([2, 3])
    left.table(display_table(figures))
    left.caption("Turnover is one-way, sum|w - w0| / 2; costs are paid once, in % of the "
                 "book's value; VaR/CVaR historical on the window; cash earns the risk-free rate."
                 + ("" if run.benchmark is None
                    else f" Tracking error against {md_escape(run.benchmark)}."))  # fmt: skip
    shown = [c for c in figures.columns if c not in _NOT_PCT and "Cash" not in c
             and "Gross" not in c]  # fmt: skip
    right.plotly_chart(before_after_bars(figures[shown]), key="book_bars")
    w0 = run.current_weights if run.current_weights is not None else result.weights * 0
    both = pd.DataFrame({CURRENT: w0, PROPOSAL: result.weights})
    both = both[(both.abs() > 1e-6).any(axis=1)].sort_values(PROPOSAL, ascending=False)
    left, right = st.columns([1, 1])
    left.plotly_chart(charts.weights_bar(both, "Weights: current book and proposal"),
                      key="book_weights")  # fmt: skip
    pct = {c: st.column_config.NumberColumn(c, format="percent")
           for c in ("Current book weight", "Proposal weight")}  # fmt: skip
    right.dataframe(sector_table(result, run), width="stretch", column_config=pct)
    st.subheader("What each binding limit costs")
    shadow = shadow_table(result)
    floors = zero_floors(shadow.index, list(result.weights.index))
    if shadow.empty:
        st.caption("No limit binds: relaxing one would not improve the objective.")
    else:
        if len(floors) < len(shadow):
            st.table(shadow.drop(floors).style.format("{:.4f}"))
        if len(floors):
            why = "long-only" if st.session_state["long_only"] else "their floor"
            with st.expander(f"{len(floors)} asset{'s' if len(floors) > 1 else ''} held at "
                             f"0 % ({why})"):  # fmt: skip
                st.table(shadow.loc[floors].style.format("{:.4f}"))
        st.caption("Objective gained if the limit were relaxed by one percentage point "
                   f"(objective in {objective_units(result.objective.kind)}); the report "
                   "lists every limit.")  # fmt: skip
    st.subheader("Trade list in whole shares")
    try:
        plan = rb.current_trade_plan()
    except BallastError as exc:
        show_error(exc, "Trade list")
        return
    st.caption(f"From the holdings to the proposal at the latest prices: traded value "
               f"{plan.traded_value:,.2f} ({percent(plan.traded_value / plan.portfolio_value)} "
               f"of the book, both ways), costs {plan.costs:,.2f}, cash after "
               f"{plan.cash_after:,.2f}. The Rebalance page's trade plan is the same.")  # fmt: skip
    trades = plan.trades[plan.trades["action"] != "Hold"]
    st.dataframe(trades, width="stretch", column_config=rb.trade_columns())
    csv_download("Download trade list (CSV)", trade_plan_csv(plan), "ballast_trade_list.csv")


# ---------------------------------------------------------------------------------- report
def report_section() -> ReportSection | None:
    """The book's report section (:func:`core.pipeline.book_section`).

    Returns
    -------
    core.reporting.ReportSection or None
        None unless the allocation was optimised from the current holdings.

    Raises
    ------
    core.exceptions.ExecutionError
        If the trade list cannot be sized (no valid price).
    """
    return pipeline.book_section(state.pipeline())
