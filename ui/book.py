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

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core.exceptions import BallastError, ExecutionError
from core.optimization import (
    BENCHMARK_OBJECTIVES,
    OptimizationResult,
    portfolio_performance,
    sector_exposure,
)
from core.reporting import ReportSection
from ui import cache, state
from ui.widgets import _needs_seed, csv_download, percent, show_error, synced, synced_editor

CURRENT, PROPOSAL = "Current book", "Proposal"


@dataclass(frozen=True)
class BookRun:
    """What one optimisation from the setup used, kept beside its result.

    Attributes
    ----------
    expected_returns : Series (n,)
        Annualised decimal expected returns, assets and (when used) the benchmark index.
    cov : DataFrame (n, n)
        Annualised covariance on the same index.
    benchmark : str or None
        Name of the benchmark (an asset or the index) in ``benchmark_cov``; None without one.
    benchmark_cov : DataFrame or None
        Annualised covariance of the universe and the benchmark, estimated together, for the
        tracking error (``cov`` itself when the optimisation used the benchmark).
    investable : list of str
        The universe (the index is not investable).
    current_weights : Series or None
        ``w0`` on the universe, decimals of the book's value; None when starting from cash.
    cash_weight : float
        Cash as a decimal of the book's value (0 from cash).
    book_value : float
        Holdings plus cash, in the data's currency (the capital from cash).
    """

    expected_returns: pd.Series
    cov: pd.DataFrame
    benchmark: str | None
    benchmark_cov: pd.DataFrame | None
    investable: list[str]
    current_weights: pd.Series | None
    cash_weight: float
    book_value: float


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
def benchmark_needed() -> bool:
    """Whether the objective or a limit is measured against the benchmark."""
    ss = st.session_state
    return ss["objective_kind"] in BENCHMARK_OBJECTIVES or ss["book_max_tracking_error"] is not None


def joint_estimates() -> tuple[pd.Series, pd.DataFrame, str]:
    """Expected returns and covariance of the universe and the benchmark, estimated together.

    The chosen estimators run on the window's prices with the benchmark's levels as one more
    column (unless the benchmark is a ticker of the universe). Black-Litterman posterior
    returns, when in use, replace the assets' expected returns.

    Returns
    -------
    tuple of (Series, DataFrame, str)
        Expected returns and covariance (annualised decimals), and the benchmark's name.

    Raises
    ------
    BallastError
        No benchmark, or one without prices on the window.
    """
    from core import performance as perf
    from ui import rebalance as rb

    window = state.window_data()
    bench = rb.benchmark_series()
    name = str(bench.name or "Benchmark")
    mu_assets, cov_assets = state.estimates()
    if name in window.tickers:
        return mu_assets, cov_assets, name
    levels = perf.levels_on(bench, window.prices.index)
    if levels.notna().sum() < 60:
        ss = st.session_state
        raise ExecutionError(f"The benchmark {name} has too few prices on the window "
                             f"{ss['start']} to {ss['end']}.")  # fmt: skip
    prices = window.prices.assign(**{name: levels}).dropna()
    ss = st.session_state
    mu = cache.expected_returns(prices, ss["returns_method"], window.benchmark,
                                float(ss["risk_free_rate"]))  # fmt: skip
    cov = cache.covariance(prices, ss["cov_method"])
    if ss["expected_returns_source"] == "black_litterman":
        mu.loc[mu_assets.index] = mu_assets  # the posterior (state.estimates chose it)
    return mu, cov, name


def benchmark_terms() -> tuple[pd.Series, pd.DataFrame, dict, dict]:
    """What the benchmark adds to an optimisation, as :func:`optimize_setup` uses it.

    Returns
    -------
    tuple of (Series, DataFrame, dict, dict)
        The joint expected returns and covariance (:func:`joint_estimates`), the
        :class:`core.optimization.Objective` fields (``benchmark_weights``: 100 % in the
        benchmark) and the :class:`core.constraints.Constraints` fields (``max_tracking_error``
        of the setup, None without a cap).

    Raises
    ------
    BallastError
        As :func:`joint_estimates`.
    """
    mu, cov, bench = joint_estimates()
    return (mu, cov, {"benchmark_weights": pd.Series({bench: 1.0})},
            {"max_tracking_error": st.session_state["book_max_tracking_error"]})  # fmt: skip


def current_book() -> tuple[pd.Series, float, float]:
    """``w0`` on the universe, the cash weight and the book's value from the holdings and cash.

    Raises
    ------
    ExecutionError
        Holdings outside the universe (named), negative shares while long only, missing prices,
        or a book without value.
    """
    from core.execution import book_weights, check_holdings

    ss = st.session_state
    unknown = check_holdings(ss["holdings"], ss["universe"], ss["long_only"])
    if unknown:
        raise ExecutionError(
            f"The holdings {', '.join(unknown)} are not in the universe, so the optimiser has "
            "no estimates for them: add them to the universe (Data page, or the button under "
            "the holdings) or drop them."
        )
    w0, cash_w, value = book_weights(ss["holdings"], float(ss["cash"]),
                                     state.price_data().prices.iloc[-1])  # fmt: skip
    return w0.reindex(ss["universe"]).fillna(0.0), cash_w, value


def transaction_costs() -> float | dict[str, float]:
    """Costs per unit of weight traded (decimal): one default, or per ticker with overrides."""
    ss = st.session_state
    default = float(ss["rebalance_cost_bps"]) / 10_000
    overrides = {t: c for t, c in ss["book_cost_overrides"].items() if t in ss["universe"]}
    if not overrides:
        return default
    return {t: float(overrides.get(t, default * 10_000)) / 10_000 for t in ss["universe"]}


def optimize_setup() -> OptimizationResult:
    """Optimise with the setup: from cash or from the book, with every limit of the setup.

    Keeps what it used in ``book_last`` (:class:`BookRun`); weights come back on the universe
    (the benchmark index, not investable, is dropped).

    Raises
    ------
    BallastError
        Conflicting limits (``InfeasibleConstraintsError``, naming them), bad holdings or
        estimates.
    """
    from core.optimization import optimize

    ss = st.session_state
    universe = list(ss["universe"])
    constraints = state.constraints()
    more_c: dict = {}
    more_o: dict = {}
    if not ss["long_only"]:
        more_c.update(max_gross_exposure=ss["book_max_gross"], max_long=ss["book_max_long"],
                      max_short=ss["book_max_short"])  # fmt: skip
    bench = None
    if benchmark_needed():
        mu, cov, terms_o, terms_c = benchmark_terms()
        more_o.update(terms_o)
        more_c.update(terms_c)
        bench = str(terms_o["benchmark_weights"].index[0])
    else:
        mu, cov = state.estimates()
    w0, cash_w, value = None, 0.0, float(ss["capital"])
    if from_holdings():
        w0, cash_w, value = current_book()
        lo, hi = ss["book_cash_bounds"]
        more_c.update(current_weights=dict(w0), max_turnover=ss["book_max_turnover"],
                      locked=tuple(ss["book_locked"]), no_buy=tuple(ss["book_no_buy"]),
                      no_sell=tuple(ss["book_no_sell"]),
                      cash_bounds=(float(lo), float(hi)))  # fmt: skip
        more_o.update(transaction_costs=transaction_costs(),
                      cost_horizon=float(ss["book_horizon_years"]))  # fmt: skip
    from ui import tail  # CVaR confidence and limit, risk budgets, scenarios

    more_o.update(tail.objective_terms())
    more_c.update(tail.constraint_terms())
    objective = state.objective(**more_o)
    constraints = dataclasses.replace(
        constraints, **{k: v for k, v in more_c.items() if v is not None}
    )
    result = optimize(mu, cov, objective, constraints, scenarios=tail.scenarios())
    if bench is not None and bench not in universe and bench in result.weights.index:
        # core leaves a one-asset benchmark (the index) out of the weights; in case it did not
        weights = result.weights.drop(bench, errors="ignore")
        result = dataclasses.replace(
            result, weights=weights,
            sector_weights=sector_exposure(weights, state.price_data().sectors),
        )  # fmt: skip
    bench_cov = cov if bench is not None else None
    if bench is None:  # still show the tracking error where the benchmark can be had
        try:
            _, bench_cov, bench = joint_estimates()
        except BallastError:
            bench_cov, bench = None, None
    ss["book_last"] = BookRun(mu, cov, bench, bench_cov, universe, w0, cash_w, value)
    return result


# ------------------------------------------------------------------------- the book shown
def _tracking_error(w: pd.Series, run: BookRun) -> float:
    if run.benchmark is None or run.benchmark_cov is None:
        return float("nan")
    active = w.reindex(run.benchmark_cov.index).fillna(0.0)
    active[run.benchmark] -= 1.0
    a = active.to_numpy()
    return float(np.sqrt(max(a @ run.benchmark_cov.to_numpy() @ a, 0.0)))


def _attr(result: OptimizationResult, name: str, default: float) -> float:
    value = getattr(result, name, None)
    return default if value is None else float(value)


def before_after(result: OptimizationResult, run: BookRun) -> pd.DataFrame:
    """Key figures of the current book and the proposal (decimals, names with units).

    Returns
    -------
    DataFrame (2, n_figures)
        Rows ``"Current book"`` and ``"Proposal"``; expected return, volatility and tracking
        error annualised; VaR/CVaR historical on the window at the Risk page's first
        confidence and horizon; turnover one-way; costs a decimal of the book's value. Cash is
        riskless and earns the risk-free rate.
    """
    from core.risk import historical_var_cvar, portfolio_returns

    ss = st.session_state
    rf = float(ss["risk_free_rate"])
    conf, horizon = float(ss["risk_confidences"][0]), int(ss["risk_horizon"])
    returns = state.window_data().prices.pct_change(fill_method=None).iloc[1:].fillna(0.0)
    tag = f"{conf:.0%} ({horizon} day{'s' if horizon > 1 else ''})".replace("%", " %")
    w0 = run.current_weights
    if w0 is None:
        w0 = pd.Series(0.0, index=result.weights.index)
    rows = {}
    for name, w, trades in ((CURRENT, w0, False), (PROPOSAL, result.weights, True)):
        ret, vol, _ = portfolio_performance(w, run.expected_returns.reindex(w.index),
                                            run.cov.reindex(index=w.index, columns=w.index),
                                            rf)  # fmt: skip
        cash = 1.0 - float(w.sum())
        ret += cash * rf  # cash is riskless and earns the risk-free rate
        sharpe = (ret - rf) / vol if vol > 1e-12 else float("nan")
        try:
            var, cvar = historical_var_cvar(portfolio_returns(returns, w), conf, horizon)
        except BallastError:
            var = cvar = float("nan")
        rows[name] = {
            "Expected return (annualised)": ret,
            "Volatility (annualised)": vol,
            "Sharpe ratio": sharpe,
            "Tracking error (annualised)": _tracking_error(w, run),
            f"VaR {tag}": var,
            f"CVaR {tag}": cvar,
            "Cash weight": cash,
            "Gross exposure": float(w.abs().sum()),
            "Turnover (one-way)": _attr(result, "turnover", 0.0) if trades else 0.0,
            "Trading costs (% of the book)": _attr(result, "costs", 0.0) if trades else 0.0,
            "Number of trades": int(_attr(result, "number_of_trades", 0)) if trades else 0,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


_NOT_PCT = ("Sharpe ratio", "Number of trades")


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
    sectors = state.price_data().sectors
    w0 = run.current_weights if run.current_weights is not None else result.weights * 0
    frame = pd.DataFrame({"Current book weight": sector_exposure(w0, sectors),
                          "Proposal weight": sector_exposure(result.weights, sectors)})  # fmt: skip
    frame.index.name = "Sector"
    return frame.fillna(0.0).sort_values("Proposal weight", ascending=False)


def zero_floors(limits: pd.Index, tickers: list[str]) -> pd.Index:
    """The limits among ``limits`` that are an asset's floor at 0 % (``"GE at least 0.0%"``).

    A long-only optimum leaves most assets at 0: each such floor binds, and listing them all
    would hide the limits a user sets. They are folded into one line on the page.
    """
    floors = {f"{t} at least 0.0%" for t in tickers}
    return pd.Index([name for name in limits if name in floors], name=limits.name)


def shadow_table(result: OptimizationResult) -> pd.DataFrame:
    """What each binding limit costs: objective gained per percentage point of relaxation.

    Returns
    -------
    DataFrame (n_binding, 1)
        Index ``Limit`` (readable names); the limits a user sets first, largest gain first,
        then the assets' floors at 0 % (:func:`zero_floors`), largest first.
    """
    prices = getattr(result, "shadow_prices", None)
    column = "Objective gained per percentage point of relaxation"
    if prices is None or len(prices) == 0:
        return pd.DataFrame({column: []}, index=pd.Index([], name="Limit"))
    prices = pd.Series(prices, dtype=float)
    prices = prices[prices.abs() > 1e-12].sort_values(ascending=False)
    floors = zero_floors(prices.index, list(result.weights.index))
    prices = pd.concat([prices.drop(floors), prices.loc[floors]])
    frame = prices.rename(column).to_frame()
    frame.index.name = "Limit"
    return frame


def objective_units(kind: str) -> str:
    """In what the objective is measured, for the shadow-price table."""
    return {
        "max_sharpe": "Sharpe ratio",
        "min_volatility": "volatility, annualised decimal (a gain is a fall)",
        "target_return": "volatility, annualised decimal (a gain is a fall)",
        "target_volatility": "expected return net of amortised costs, annualised decimal",
        "max_utility": "utility mu'w - delta/2 w'Sigma w, annualised decimal",
        "min_tracking_error": "tracking error, annualised decimal (a gain is a fall)",
        "max_information_ratio": "information ratio",
    }.get(kind, kind)


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
                    else f" Tracking error against {run.benchmark}."))  # fmt: skip
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
    """The book's report section: before/after figures, sectors, limit costs, trades.

    Returns
    -------
    core.reporting.ReportSection or None
        None unless the allocation was optimised from the current holdings. Tables
        ``Before and after`` (rows current book and proposal; decimals shown as %),
        ``Sector weights``, ``Cost of each limit`` (objective gained per percentage point of
        relaxation) and ``Trade list`` (whole shares); figure: the before/after bars.

    Raises
    ------
    core.exceptions.ExecutionError
        If the trade list cannot be sized (no valid price).
    """
    from core.charts.book import before_after_bars
    from ui import rebalance as rb

    ss = st.session_state
    result, run = ss.get("allocation"), ss.get("book_last")
    if result is None or run is None or run.current_weights is None:
        return None
    figures = before_after(result, run)
    figures.index.name = "Portfolio"
    shadow = shadow_table(result)
    tables = {"Before and after": figures, "Sector weights": sector_table(result, run),
              "Cost of each limit": shadow}  # fmt: skip
    plan = rb.current_trade_plan()
    tables["Trade list"] = plan.trades[plan.trades["action"] != "Hold"]
    limits = [f"turnover (one-way, sum abs(w - w0) / 2) at most "
              f"{ss['book_max_turnover']:.2%}" if ss["book_max_turnover"] is not None
              else "no turnover budget"]  # fmt: skip
    for key, what in (("book_locked", "locked"), ("book_no_buy", "no buying"),
                      ("book_no_sell", "no selling")):  # fmt: skip
        if ss[key]:
            limits.append(f"{what}: {', '.join(ss[key])}")
    if ss["book_max_tracking_error"] is not None:
        limits.append(f"tracking error at most {ss['book_max_tracking_error']:.2%} a year")
    if not ss["long_only"]:
        for key, what in (("book_max_gross", "gross exposure"), ("book_max_long", "long side"),
                          ("book_max_short", "short side")):  # fmt: skip
            if ss[key] is not None:
                limits.append(f"{what} at most {ss[key]:.0%}")
    lo, hi = ss["book_cash_bounds"]
    limits.append(f"cash weight between {lo:.0%} and {hi:.0%}")
    overrides = "; ".join(f"{t} {c:.1f} bps" for t, c in ss["book_cost_overrides"].items()
                          if t in ss["universe"])  # fmt: skip
    text = "\n".join([
        f"**Start:** the current book, worth {run.book_value:,.2f}"
        f"{' ' + state.price_data().currency if state.price_data().currency else ''} "
        f"({run.cash_weight:.2%} cash), at the latest prices.",
        "",
        "- Limits: " + "; ".join(limits) + ".",
        f"- Transaction costs: {ss['rebalance_cost_bps']:.1f} bps of traded value"
        + (f", per-asset overrides {overrides}" if overrides else "")
        + f", amortised over {ss['book_horizon_years']:.2f} years: the objective uses "
        "mu'w - sum c_i abs(w_i - w0_i) / H.",
        "- " + (f"Tracking error against {run.benchmark}, estimated jointly with the assets: "
                "sqrt((w - b)' Sigma (w - b)) (Grinold & Kahn 2000)"
                + ("; the optimisation used it." if benchmark_needed() else ".")
                if run.benchmark else "No benchmark: no tracking error."),
        "- Cost of each limit: the Lagrange multiplier of every binding constraint, as the "
        f"objective ({objective_units(result.objective.kind)}) gained per percentage point of "
        "relaxation.",
        "",
        "Weights, returns, risk, turnover and costs are decimals of the book's value "
        "(shown as %).",
    ])  # fmt: skip
    shown = [c for c in figures.columns if c not in _NOT_PCT and "Cash" not in c
             and "Gross" not in c]  # fmt: skip
    return ReportSection(key="book", title="Rebalancing from the current book", text=text,
                         tables=tables, figures=[before_after_bars(figures[shown])])  # fmt: skip
