"""Rebalance-page pieces: benchmark, holdings, backtest, trade plan and stop levels.

The setup keys are ``holdings``, ``cash`` and ``rebalance_*`` (see :data:`ui.state.DEFAULTS`).
The last backtest is kept in the result key ``rebalance_backtest`` with the settings it was run
with, so that the page and :func:`report_section` reuse it while the setup is unchanged.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import streamlit as st

from core import performance as perf
from core.backtest import SCHEDULES, BacktestResult, run_backtest
from core.charts import backtest as bcharts
from core.exceptions import BacktestError, BallastError, ExecutionError
from core.execution import (
    STOP_METHODS,
    TradePlan,
    check_holdings,
    holdings_from_frame,
    portfolio_limits,
    stop_levels,
    trade_plan,
)
from core.optimization import BENCHMARK_OBJECTIVES, OBJECTIVES
from core.reporting import ReportSection
from ui import cache, state
from ui.widgets import blank_missing, md_escape, percent, show_error, synced, synced_editor
from ui.widgets import number_column as _num
from ui.widgets import percent_column as _pct

DATA, UPLOAD, YAHOO = "__data__", "__upload__", "__yahoo__"


# ------------------------------------------------------------------------------ benchmark
def benchmark_inputs() -> None:
    """Benchmark: the data's benchmark, a loaded ticker, a Yahoo symbol, or an uploaded series."""
    data = state.price_data()
    options = ([DATA] if data.benchmark is not None else []) + [UPLOAD, YAHOO] + data.tickers
    if st.session_state["rebalance_benchmark"] not in options:
        st.session_state["rebalance_benchmark"] = options[0]
        st.session_state.pop("w_rebalance_benchmark", None)
    bname = str(data.benchmark.name) if data.benchmark is not None else ""
    synced(
        st.selectbox, "rebalance_benchmark", "Benchmark", options=options,
        format_func=lambda o: {DATA: f"{bname} (the data's benchmark)",
                               UPLOAD: "Upload a CSV series...",
                               YAHOO: "A Yahoo Finance symbol..."}.get(o, o),
    )  # fmt: skip
    if st.session_state["rebalance_benchmark"] == YAHOO:
        synced(st.text_input, "rebalance_yahoo_benchmark", "Yahoo symbol (e.g. ^GSPC, SPY)",
               help="Loaded once over the data's dates, then from the on-disk cache.")  # fmt: skip
    if st.session_state["rebalance_benchmark"] == UPLOAD:
        file = st.file_uploader("Benchmark CSV (date, level)", type=["csv"], key="w_bench_file")
        if file is not None:
            try:
                series = perf.benchmark_from_csv(file.getvalue(), name=file.name.rsplit(".")[0])
                st.session_state["rebalance_uploaded_benchmark"] = series
                # The validated series travels in the setup, so a reload or a saved setup
                # brings it back (ui.persistence).
                st.session_state["rebalance_benchmark_upload"] = {
                    "filename": file.name,
                    "csv": series.to_csv(index_label="Date", date_format="%Y-%m-%d"),
                }
            except BallastError as exc:
                show_error(exc, "Benchmark file")


def cost_input() -> None:
    """Transaction costs in basis points, shared by the backtest and the trade plan."""
    synced(st.number_input, "rebalance_cost_bps", "Transaction costs (bps of traded value)",
           min_value=0.0, max_value=500.0, step=5.0, format="%.1f")  # fmt: skip


def benchmark_series() -> pd.Series:
    """The chosen benchmark's level series.

    Raises
    ------
    BacktestError
        No benchmark in the data, or no uploaded series yet.
    core.exceptions.DataError
        A Yahoo symbol that is unknown, or Yahoo unreachable with nothing cached.
    """
    choice = st.session_state["rebalance_benchmark"]
    data = state.price_data()
    if choice == YAHOO:
        symbol = str(st.session_state["rebalance_yahoo_benchmark"]).strip().upper()
        if not symbol:
            raise BacktestError("Type a Yahoo Finance symbol for the benchmark, e.g. ^GSPC.")
        first, last = data.prices.index[0].date(), data.as_of.date()
        return cache.yahoo_series(symbol, first, last)
    if choice == DATA:
        if data.benchmark is None:
            raise BacktestError("The loaded data has no benchmark: choose a ticker or upload one.")
        return data.benchmark
    if choice == UPLOAD:
        series = st.session_state.get("rebalance_uploaded_benchmark")
        upload = st.session_state.get("rebalance_benchmark_upload")
        if series is None and upload:  # restored from a reload or a saved setup
            name = str(upload.get("filename") or "Uploaded benchmark").rsplit(".")[0]
            series = perf.benchmark_from_csv(str(upload["csv"]).encode(), name=name)
            st.session_state["rebalance_uploaded_benchmark"] = series
        if series is None:
            raise BacktestError("Upload a benchmark CSV (date, level) or choose another benchmark.")
        return series
    return data.prices[choice].rename(choice)


# ------------------------------------------------------------------------------- holdings
def _holdings_frame(holdings: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {"Ticker": list(holdings), "Shares": [float(v) for v in holdings.values()]},
    ).astype({"Ticker": str, "Shares": float})


def _parse_holdings(frame: pd.DataFrame) -> dict:
    out: dict[str, float] = {}
    for _, row in frame.iterrows():
        ticker = str(row["Ticker"] or "").strip().upper()
        if ticker and ticker not in ("NONE", "NAN") and pd.notna(row["Shares"]):
            out[ticker] = float(row["Shares"])
    return out


def _set_holdings(holdings: dict, cash: float | None) -> None:
    st.session_state["holdings"] = holdings
    if cash is not None:
        st.session_state["cash"] = float(cash)
    for key in ("w_holdings", "wbase_holdings", "w_cash"):
        st.session_state.pop(key, None)


def holdings_inputs() -> None:
    """Holdings as shares (editor), or uploaded as CSV of shares or weights; and the cash."""
    data = state.price_data()
    last = data.prices.iloc[-1]
    c1, c2 = st.columns([2, 1])
    with c2:
        file = st.file_uploader(
            "Upload holdings (CSV: ticker and shares or weight; optional CASH row)",
            type=["csv"], key="w_holdings_file",
        )  # fmt: skip
        if file is not None and st.session_state.get("rebalance_holdings_file") != file.file_id:
            try:
                frame = pd.read_csv(io.BytesIO(file.getvalue()))
                value = float(st.session_state["capital"])
                holdings, cash = holdings_from_frame(frame, last, value)
                _set_holdings(holdings, cash)
                st.session_state["rebalance_holdings_file"] = file.file_id
                st.success(md_escape(f"Read {len(holdings)} positions from {file.name}."))
            except (BallastError, ValueError, UnicodeDecodeError) as exc:
                show_error(ExecutionError(str(exc)), "Holdings file")
        with st.expander("Enter as weights"):
            capital = st.session_state["capital"]
            st.caption(
                f"Weights of a portfolio worth {capital:,.2f} (the capital on the Allocation "
                "page), turned into whole shares."
            )
            empty = pd.DataFrame(
                {"Ticker": pd.Series(dtype=str), "Weight (%)": pd.Series(dtype=float)}
            )
            weights = st.data_editor(
                empty, num_rows="dynamic", key="w_holdings_weights", hide_index=True
            )
            if st.button("Use these weights", key="w_apply_weights"):
                try:
                    frame = weights.rename(columns={"Ticker": "ticker", "Weight (%)": "weight"})
                    frame["weight"] = frame["weight"] / 100
                    holdings, cash = holdings_from_frame(
                        frame, last, float(st.session_state["capital"])
                    )
                    _set_holdings(holdings, cash)
                except BallastError as exc:
                    show_error(exc, "Weights")
    with c1:
        synced_editor(
            "holdings", _holdings_frame, _parse_holdings, num_rows="dynamic", hide_index=True,
            column_config={
                "Ticker": st.column_config.TextColumn("Ticker", required=True),
                "Shares": st.column_config.NumberColumn("Shares", format="%.2f"),
            }, width="stretch",
        )  # fmt: skip
        currency = f" ({data.currency})" if data.currency else ""
        synced(st.number_input, "cash", f"Cash{currency}", step=1_000.0, format="%.2f")
        h = pd.Series(st.session_state["holdings"], dtype=float)
        px = last.reindex(h.index)
        invested = float((h * px).sum(skipna=True))
        st.caption(
            f"Holdings worth {invested:,.2f} at the prices of {data.as_of.date()}, plus cash "
            f"{st.session_state['cash']:,.2f}: {invested + st.session_state['cash']:,.2f}"
            f"{currency}."
        )


def holdings_problems() -> bool:
    """Show problems with the holdings and the fixes on offer; True when they are usable."""
    ss = st.session_state
    data = state.price_data()
    try:
        unknown = check_holdings(ss["holdings"], ss["universe"], ss["long_only"])
    except ExecutionError as exc:
        show_error(exc, "Holdings")
        return False
    if not unknown:
        return True
    loadable = [t for t in unknown if t in data.tickers]
    st.warning(
        md_escape(f"Holdings outside the universe: {', '.join(unknown)}. "
                  + ("Add them to the universe or drop them." if loadable else
                     "They are not in the loaded data (load them on the Data page) or drop them.")),
        icon=":material/warning:",
    )  # fmt: skip
    c1, c2 = st.columns(2)
    if loadable and c1.button(md_escape(f"Add {', '.join(loadable)} to the universe"),
                                 key="w_add_unknown"):
        ss["universe"] = list(ss["universe"]) + loadable
        ss["allocation"] = None
        st.session_state.pop("w_universe", None)
        st.rerun()
    if c2.button(md_escape(f"Drop {', '.join(unknown)}"), key="w_drop_unknown"):
        _set_holdings({t: v for t, v in ss["holdings"].items() if t not in unknown}, None)
        st.rerun()
    return False


def current_weights() -> tuple[pd.Series, float]:
    """Weights of the current holdings at the latest prices (cash excluded) and their value.

    Raises
    ------
    ExecutionError
        No holdings with a positive value.
    """
    data = state.price_data()
    h = pd.Series(st.session_state["holdings"], dtype=float)
    h = h[h != 0]
    if h.empty:
        raise ExecutionError("No holdings entered yet: enter shares or upload a CSV.")
    values = h * data.prices.iloc[-1].reindex(h.index)
    invested = float(values.sum())
    if not invested > 0:
        raise ExecutionError("The holdings have no positive value at the latest prices.")
    universe = st.session_state["universe"]
    return (values / invested).reindex(universe).fillna(0.0), invested


def target_weights() -> pd.Series | None:
    """The target allocation's weights, optimising from the setup when there is none."""
    if st.session_state["allocation"] is None:
        from ui.allocation import run_optimization

        run_optimization()
    result = st.session_state["allocation"]
    return None if result is None else result.weights


# ------------------------------------------------------------------------ benchmark metrics
def tracking_figures() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """Metrics, growth paths and active weights of the current and target portfolios.

    Returns
    -------
    tuple
        Metrics table (metric x portfolio), growth of 1 (dates x portfolio), active weights
        (asset x portfolio; sector rows prefixed ``"sector: "``), and what the benchmark
        weights are.

    Raises
    ------
    BallastError
        A benchmark without overlap with the window, or unusable data.
    """
    window = state.window_data()
    bench = benchmark_series()
    bench_r = perf.levels_on(bench, window.prices.index).pct_change(fill_method=None).iloc[1:]
    portfolios: dict[str, pd.Series] = {}
    try:
        portfolios["Current holdings"] = current_weights()[0]
    except ExecutionError:
        pass
    target = target_weights()
    if target is not None:
        portfolios["Target allocation"] = target
    returns = pd.DataFrame(
        {k: perf.fixed_weight_returns(window.prices, w) for k, w in portfolios.items()}
    )
    returns[str(bench.name or "Benchmark")] = bench_r
    rf = float(st.session_state["risk_free_rate"])
    perf.align(returns.iloc[:, 0], bench_r)  # raises when there is no overlap
    table = perf.performance_table(returns, bench_r, rf)
    growth = (1 + returns.fillna(0.0)).cumprod()
    name = str(bench.name) if bench.name in window.tickers else None
    ref, what = perf.benchmark_weights(window.tickers, name, window.market_caps)
    active = {}
    for k, w in portfolios.items():
        by_asset, by_sector = perf.active_weights(w, ref, window.sectors)
        active[k] = pd.concat([by_asset, by_sector.rename(lambda s: f"sector: {s}")])
    return table, growth, pd.DataFrame(active), what


def metrics_display(table: pd.DataFrame) -> pd.io.formats.style.Styler:
    """Metrics with labels and units for display (percent metrics x 100, three decimals).

    A metric that is not defined (the benchmark's information ratio against itself) is blank.
    """
    shown = table.copy()
    for key in perf.PERCENT_METRICS:
        if key in shown.index:
            shown.loc[key] = shown.loc[key] * 100
    labels = {**perf.METRIC_LABELS, "turnover": "Turnover (a year, % of value)",
              "costs": "Costs paid (% of initial wealth)", "rebalances": "Rebalances"}  # fmt: skip
    for key in ("turnover", "costs"):
        if key in shown.index:
            shown.loc[key] = shown.loc[key] * 100
    return blank_missing(shown.rename(index=labels), "{:.3f}")


# -------------------------------------------------------------------------------- backtest
def backtest_inputs() -> None:
    """Schedule, lookback, costs, drift band and start date of the backtest."""
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        synced(st.selectbox, "rebalance_schedule", "Rebalance", options=list(SCHEDULES),
               format_func=SCHEDULES.get)  # fmt: skip
    with c2:
        synced(st.number_input, "rebalance_lookback_years", "Lookback (years)",
               min_value=0.25, max_value=30.0, step=0.5, format="%.2f")  # fmt: skip
    with c3:
        data = state.price_data()
        lo, hi = data.prices.index[0].date(), data.prices.index[-1].date()
        start = st.session_state["rebalance_backtest_start"]
        if start is None or not lo <= pd.Timestamp(start).date() <= hi:
            # New data or a saved setup from other data: start from the first possible date.
            st.session_state["rebalance_backtest_start"] = lo
            st.session_state.pop("w_rebalance_backtest_start", None)
        synced(st.date_input, "rebalance_backtest_start", "Start (or first possible date)",
               min_value=lo, max_value=hi)  # fmt: skip
    with c4:
        if st.session_state["rebalance_schedule"] == "threshold":
            synced(st.number_input, "rebalance_drift_band", "Drift band (% points)",
                   scale=100.0, min_value=0.5, max_value=50.0, step=0.5, format="%.1f")  # fmt: skip


def _backtest_key() -> tuple:
    ss = st.session_state
    keys = ("universe", "end", "returns_method", "cov_method", "objective_kind", "target_return",
            "target_volatility", "risk_aversion", "risk_free_rate", "long_only", "min_weight",
            "max_weight", "max_volatility", "rebalance_schedule", "rebalance_lookback_years",
            "rebalance_cost_bps", "rebalance_drift_band", "rebalance_backtest_start",
            "rebalance_benchmark", "rebalance_yahoo_benchmark")  # fmt: skip
    return tuple(str(ss[k]) for k in keys) + (
        str(sorted(ss["asset_bounds"].items())), str(sorted(ss["sector_bounds"].items())),
    )  # fmt: skip


def run_backtest_now() -> BacktestResult | None:
    """Run the walk-forward backtest from the setup with a progress bar; keep it in state."""
    ss = st.session_state
    data = state.price_data()
    prices = data.prices.loc[: pd.Timestamp(ss["end"]), list(ss["universe"])]
    bar = st.progress(0.0, text="Backtesting...")
    shown = [-1]

    def progress(fraction: float, message: str) -> None:
        # At most 100 updates: each one is a message to the browser.
        pct = int(fraction * 100)
        if pct > shown[0]:
            shown[0] = pct
            bar.progress(min(1.0, fraction), text=message)

    try:
        more: dict = {}
        try:
            bench = benchmark_series()
        except BacktestError as exc:
            if ss["objective_kind"] in BENCHMARK_OBJECTIVES:  # measured against it: no backtest
                raise BacktestError(f"{OBJECTIVES[ss['objective_kind']]} needs the benchmark's "
                                    f"prices, and there are none: {exc}") from exc  # fmt: skip
            st.info(md_escape(f"Backtest without a benchmark: {exc}"))
            bench = None
        if ss["objective_kind"] in BENCHMARK_OBJECTIVES:  # 100 % in the benchmark, as ui.book
            more["benchmark_weights"] = pd.Series({str(bench.name or "Benchmark"): 1.0})
        start = ss["rebalance_backtest_start"]
        result = run_backtest(
            prices, state.objective(**more), state.constraints(),
            schedule=ss["rebalance_schedule"],
            lookback=int(round(ss["rebalance_lookback_years"] * 252)),
            cost_bps=ss["rebalance_cost_bps"], drift_band=ss["rebalance_drift_band"],
            returns_method=ss["returns_method"], cov_method=ss["cov_method"],
            benchmark=bench, start=None if start is None else pd.Timestamp(start),
            progress=progress,
        )  # fmt: skip
    except BallastError as exc:
        bar.empty()
        show_error(exc, "Backtest")
        return None
    bar.empty()
    ss["rebalance_backtest"] = (_backtest_key(), result)
    return result


def last_backtest(current_only: bool = False) -> BacktestResult | None:
    """The last backtest (None if none, or if ``current_only`` and the setup changed since)."""
    stored = st.session_state.get("rebalance_backtest")
    if stored is None:
        return None
    key, result = stored
    if current_only and key != _backtest_key():
        return None
    return result


# ------------------------------------------------------------------------------ trade plan
def trade_columns(currency: str | None = None) -> dict:
    """Column labels and formats of the trade-plan table: money with thousands separators.

    Parameters
    ----------
    currency : str, optional
        Currency code shown in the money headers; by default the loaded data's (none: "money").
    """
    if currency is None:
        currency = state.price_data().currency or ""
    cur = currency or "money"

    def money(label: str):
        return _num(f"{label} ({cur})", "%,.2f")

    return {
        "price": money("Price"), "current_shares": _num("Shares held", "%,.2f"),
        "current_value": money("Value held"), "current_weight": _pct("Weight now"),
        "target_weight": _pct("Target weight"), "target_shares": _num("Target shares", "%,d"),
        "trade_shares": _num("Trade (shares)", "%+,.0f"), "trade_value": money("Trade value"),
        "cost": money("Cost"), "final_shares": _num("Shares after", "%,.2f"),
        "final_value": money("Value after"), "final_weight": _pct("Weight after"),
        "action": "Action", "note": "Note",
    }  # fmt: skip


def stop_columns() -> dict:
    """Column labels and formats of the stop-levels table."""
    return {
        "price": _num("Price"), "expected_return_h": _pct("Expected return (horizon)"),
        "volatility_h": _pct("Volatility (horizon)"), "stop_loss": _num("Stop-loss"),
        "stop_distance": _pct("Stop distance"), "take_profit": _num("Take-profit"),
        "take_distance": _pct("Take-profit distance"),
    }  # fmt: skip


def trade_inputs() -> None:
    """Costs, minimum trade size and no-trade band of the trade plan."""
    c1, c2, c3 = st.columns(3)
    with c1:
        st.metric("Costs (bps of traded value)", f"{st.session_state['rebalance_cost_bps']:.1f}",
                  help="Set in the sidebar; used by the backtest too")  # fmt: skip
    with c2:
        synced(st.number_input, "rebalance_min_trade", "Minimum trade (money)",
               min_value=0.0, step=100.0, format="%.2f")  # fmt: skip
    with c3:
        synced(st.number_input, "rebalance_no_trade_band", "No-trade band (% points)",
               scale=100.0, min_value=0.0, max_value=20.0, step=0.25, format="%.2f")  # fmt: skip


def target_caption() -> str:
    """Which allocation the trade plan moves to: the proposal from the book, or from cash."""
    ss = st.session_state
    result = ss.get("allocation")
    if ss["book_start_from"] == "holdings" and ss.get("book_last") is not None:
        turnover = getattr(result, "turnover", None)
        return ("Target: the Allocation page's proposal from these holdings"
                + ("" if turnover is None else f" (one-way turnover {percent(turnover)})")
                + ", within its trade limits and costs.")  # fmt: skip
    return ("Target: the Allocation page's optimum from cash, which ignores what is held; "
            "choose Start from: current holdings there to trade only where it pays.")  # fmt: skip


def current_trade_plan() -> TradePlan:
    """Trade plan from the holdings and cash to the target allocation.

    Raises
    ------
    BallastError
        No target allocation, bad holdings or prices.
    """
    ss = st.session_state
    target = target_weights()
    if target is None:
        raise ExecutionError("No target allocation: fix the setup on the Allocation page.")
    return trade_plan(
        ss["holdings"], float(ss["cash"]), target, state.price_data().prices.iloc[-1],
        cost_bps=ss["rebalance_cost_bps"], min_trade_value=ss["rebalance_min_trade"],
        no_trade_band=ss["rebalance_no_trade_band"],
        cost_overrides={t: c for t, c in ss["book_cost_overrides"].items()
                        if t in ss["universe"]},  # the optimiser's per-asset costs
    )  # fmt: skip


# ----------------------------------------------------------------------------- stop levels
def stop_inputs() -> None:
    """Stop method, multiples, confidence and horizon."""
    c1, c2, c3, c4, c5 = st.columns(5)
    with c1:
        synced(st.selectbox, "rebalance_stop_method", "Stop-loss from", options=list(STOP_METHODS),
               format_func=STOP_METHODS.get)  # fmt: skip
    with c2:
        synced(st.number_input, "rebalance_horizon", "Horizon (trading days)",
               min_value=1, max_value=252, step=1)  # fmt: skip
    with c3:
        if st.session_state["rebalance_stop_method"] == "volatility":
            synced(st.number_input, "rebalance_stop_k", "Stop k (sigmas)",
                   min_value=0.0, max_value=10.0, step=0.25, format="%.2f")  # fmt: skip
        else:
            synced(st.selectbox, "rebalance_confidence", "Confidence",
                   options=[0.9, 0.95, 0.975, 0.99], format_func=lambda c: f"{c:.1%}")  # fmt: skip
    with c4:
        synced(st.number_input, "rebalance_take_k", "Take-profit k (sigmas)",
               min_value=0.0, max_value=10.0, step=0.25, format="%.2f")  # fmt: skip
    with c5:
        st.caption("Take-profit: price x (1 + mu h / 252 + k sigma sqrt(h / 252)); portfolio "
                   "loss limit: value x (1 - CVaR).")  # fmt: skip


def current_stop_levels() -> tuple[pd.DataFrame, pd.Series | None]:
    """Per-asset levels for the target's assets (and holdings), and the portfolio's limits.

    Raises
    ------
    BallastError
        Bad estimates, confidence, or too short a history.
    """
    ss = st.session_state
    window = state.window_data()
    mu, cov = state.estimates()
    vol = pd.Series(np.sqrt(np.diag(cov.to_numpy())), index=cov.index)
    target = target_weights()
    held = [t for t, v in ss["holdings"].items() if v and t in window.tickers]
    chosen = list(dict.fromkeys(
        ([] if target is None else list(target[target.abs() > 1e-4].index)) + held
    )) or window.tickers  # fmt: skip
    horizon = int(ss["rebalance_horizon"])
    levels = stop_levels(
        window.prices[chosen], mu, vol, method=ss["rebalance_stop_method"],
        k_stop=ss["rebalance_stop_k"], k_take=ss["rebalance_take_k"],
        confidence=ss["rebalance_confidence"], horizon=horizon,
    )  # fmt: skip
    limits = None
    if target is not None:
        r = perf.fixed_weight_returns(window.prices, target)
        result = ss["allocation"]
        try:
            value = current_trade_plan().portfolio_value
        except BallastError:
            value = float(ss["capital"])
        limits = portfolio_limits(
            r, value, result.expected_return, result.volatility,
            confidence=ss["rebalance_confidence"], horizon=horizon, k_take=ss["rebalance_take_k"],
        )  # fmt: skip
    return levels, limits


# ---------------------------------------------------------------------------------- report
def report_section() -> ReportSection | None:
    """The rebalancing section of the report, from the current setup.

    Benchmark metrics of the current and target portfolios, the last backtest (when one was
    run with the current setup; a report does not run one), the trade plan and the stop
    levels. None when there is nothing to report.
    """
    tables: dict[str, pd.DataFrame] = {}
    figures = []
    lines = []
    try:
        table, growth, active, what = tracking_figures()
        tables["Benchmark metrics"] = table.rename(index=perf.METRIC_LABELS)
        tables["Active weights"] = active
        figures.append(
            bcharts.equity_curves(
                growth, "Growth of 1 against the benchmark", benchmark=growth.columns[-1]
            )
        )
        lines.append(
            f"Benchmark: {growth.columns[-1]}; active weights against {what}. Metrics on the "
            f"window {st.session_state['start']} to {st.session_state['end']} at fixed weights, "
            "empyrical definitions (CAGR, Sharpe, Sortino, max drawdown, beta, Jensen's alpha, "
            "capture ratios); tracking error and information ratio after Grinold & Kahn (2000)."
        )
    except BallastError as exc:
        lines.append(f"Benchmark metrics not available: {exc}")
    result = last_backtest(current_only=True)
    if result is not None:
        s = result.settings
        tables["Backtest summary"] = result.summary.rename(index=perf.METRIC_LABELS)
        tables["Backtest yearly returns"] = result.yearly
        figures.append(bcharts.equity_curves(result.equity, benchmark=s["benchmark"]))
        lines.append(
            f"Walk-forward backtest {s['start']} to {s['end']}: {s['objective']}, rebalanced "
            f"{s['schedule']}, {s['lookback']}-day lookback, costs {s['cost_bps']:.1f} bps of "
            "traded value; estimates use only data up to each rebalance date."
        )
    try:
        plan = current_trade_plan()
        tables["Trade plan"] = plan.trades[plan.trades["action"] != "Hold"]
        lines.append(
            f"Trade plan: turnover {percent(plan.turnover)}, estimated costs "
            f"{plan.costs:,.2f}, cash after trades {plan.cash_after:,.2f}."
        )
    except BallastError as exc:
        lines.append(f"Trade plan not available: {exc}")
    try:
        levels, limits = current_stop_levels()
        tables["Stop levels"] = levels
        if limits is not None:
            tables["Portfolio loss limit"] = limits.to_frame("value")
        lines.append(
            f"Stops: {STOP_METHODS[st.session_state['rebalance_stop_method']]}, horizon "
            f"{st.session_state['rebalance_horizon']} trading days."
        )
    except BallastError as exc:
        lines.append(f"Stop levels not available: {exc}")
    if not tables:
        return None
    return ReportSection(
        key="rebalance", title="Rebalancing", text="\n\n".join(lines), tables=tables,
        figures=figures,
    )  # fmt: skip
