"""Rebalance-page pieces: benchmark, holdings, backtest, trade plan and stop levels.

The setup keys are ``holdings``, ``cash`` and ``rebalance_*`` (see :data:`ui.state.DEFAULTS`).
The last backtest is kept in the result key ``rebalance_backtest`` with the settings it was run
with, so that the page and :func:`report_section` reuse it while the setup is unchanged.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from core import performance as perf
from core import pipeline
from core.backtest import SCHEDULES, BacktestResult
from core.exceptions import BallastError, ExecutionError
from core.execution import (
    STOP_METHODS,
    TradePlan,
    check_holdings,
    holdings_from_frame,
)
from core.reporting import ReportSection
from ui import state
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
    """The chosen benchmark's level series (:attr:`core.pipeline.Pipeline.benchmark`).

    Raises
    ------
    BacktestError
        No benchmark in the data, or no uploaded series yet.
    core.exceptions.DataError
        A Yahoo symbol that is unknown, or Yahoo unreachable with nothing cached.
    """
    return state.pipeline().benchmark


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
    return state.pipeline().current_weights()


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

    See :meth:`core.pipeline.Pipeline.tracking_figures`.

    Raises
    ------
    BallastError
        A benchmark without overlap with the window, or unusable data.
    """
    target_weights()  # optimise (and say why not) when there is no allocation yet
    return state.pipeline().tracking_figures()


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
    bar = st.progress(0.0, text="Backtesting...")
    shown = [-1]

    def progress(fraction: float, message: str) -> None:
        # At most 100 updates: each one is a message to the browser.
        pct = int(fraction * 100)
        if pct > shown[0]:
            shown[0] = pct
            bar.progress(min(1.0, fraction), text=message)

    try:
        notes: list[str] = []
        result = state.pipeline().run_backtest(progress, notes)
        for note in notes:
            st.info(md_escape(note))
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
    """Trade plan from the holdings and cash to the target allocation (``core.pipeline``).

    Raises
    ------
    BallastError
        No target allocation, bad holdings or prices.
    """
    if target_weights() is None:
        raise ExecutionError("No target allocation: fix the setup on the Allocation page.")
    return state.pipeline().trade_plan


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
    target_weights()
    return state.pipeline().stop_levels()


# ---------------------------------------------------------------------------------- report
def report_section() -> ReportSection | None:
    """The rebalancing section of the report (:func:`core.pipeline.rebalance_section`).

    Benchmark metrics of the current and target portfolios, the last backtest (when one was
    run with the current setup; a report does not run one), the trade plan and the stop
    levels. None when there is nothing to report.
    """
    target_weights()
    return pipeline.rebalance_section(state.pipeline(backtest=last_backtest(current_only=True)))
