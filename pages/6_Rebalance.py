"""Rebalance: benchmark tracking, walk-forward backtest, trade plan, stop-loss/take-profit."""

from __future__ import annotations

import streamlit as st

from core.charts import backtest as bcharts
from core.exceptions import BallastError
from core.execution import stop_levels_csv, trade_plan_csv
from core.performance import drawdowns
from ui import compliance as compliance_ui
from ui import persistence, state
from ui import rebalance as rb
from ui.report import page_downloads
from ui.widgets import csv_download, data_caption, md_escape, percent, show_error

st.set_page_config(page_title="Rebalance · Ballast", layout="wide")
state.init()
st.title("Rebalance")
data_caption()
with st.sidebar:
    st.header("Benchmark")
    rb.benchmark_inputs()
    st.header("Costs")
    rb.cost_input()

holdings, tracking, backtest, trades, stops = st.tabs(
    ["Holdings", "Benchmark", "Backtest", "Trade plan", "Stop levels"]
)
with holdings:
    rb.holdings_inputs()
    holdings_ok = rb.holdings_problems()

with tracking:
    try:
        table, growth, active, what = rb.tracking_figures()
        st.dataframe(rb.metrics_display(table), width="stretch", height=36 * len(table) + 40)
        st.caption("On the window at fixed weights (cash excluded); percentages where marked. "
                   "In sample: the target was optimised on this window (the Backtest tab is out "
                   "of sample). Definitions as empyrical; information ratio = annualised active "
                   "return / tracking error.")  # fmt: skip
        fig = bcharts.equity_curves(growth, "Growth of 1 against the benchmark",
                                    benchmark=growth.columns[-1])  # fmt: skip
        st.plotly_chart(fig, key="tracking_growth")
        st.caption(md_escape(f"Active weights against {what}."))
        cols = st.columns(len(active.columns) or 1)
        for col, name in zip(cols, active.columns, strict=False):
            col.plotly_chart(bcharts.active_weights_bar(active[name], f"Active weights: {name}"),
                             key=f"active_{name}")  # fmt: skip
    except BallastError as exc:
        show_error(exc, "Benchmark")

with backtest:
    rb.backtest_inputs()
    if st.button(
        "Run backtest", type="primary", key="w_run_backtest", icon=":material/play_arrow:"
    ) or persistence.rerun_pending("rebalance_backtest"):  # it had been run before a reload
        rb.run_backtest_now()
    result = rb.last_backtest()
    if result is not None:
        if rb.last_backtest(current_only=True) is None:
            st.info("The setup changed since this backtest: run it again to update.")
        s = result.settings
        st.caption(md_escape(f"{s['objective']}, {s['start']} to {s['end']}, lookback "
                             f"{s['lookback']} trading days, costs {s['cost_bps']:.1f} bps."))
        fig = bcharts.equity_curves(result.equity, benchmark=s["benchmark"])
        st.plotly_chart(fig, key="bt_equity")
        st.plotly_chart(bcharts.drawdown_curves(drawdowns(result.returns)), key="bt_dd")
        st.dataframe(rb.metrics_display(result.summary), width="stretch")
        st.subheader("Calendar-year returns (%)")
        st.dataframe((result.yearly * 100).round(2), width="stretch")
        for note in result.notes[:5]:
            st.warning(md_escape(note))
        csv_download("Download backtest (CSV)", result.equity.to_csv().encode(),
                     "ballast_backtest.csv", icon=None)  # fmt: skip

with trades:
    rb.trade_inputs()
    st.caption(rb.target_caption())
    if holdings_ok:
        try:
            plan = rb.current_trade_plan()
            c = st.columns(4)
            c[0].metric("Portfolio value", f"{plan.portfolio_value:,.2f}")
            c[1].metric("Turnover", percent(plan.turnover), help="Traded value / portfolio value")
            c[2].metric("Estimated costs", f"{plan.costs:,.2f}")
            c[3].metric("Cash after trades", f"{plan.cash_after:,.2f}")
            shown = plan.trades[(plan.trades["current_shares"] != 0)
                                | (plan.trades["final_shares"] != 0)]  # fmt: skip
            st.dataframe(shown, width="stretch", column_config=rb.trade_columns())
            compliance_ui.section(st.session_state["allocation"], plan)
            csv_download("Download trade plan (CSV)",
                         trade_plan_csv(plan, state.price_data().currency or ""),
                         "ballast_trade_plan.csv", icon=None)  # fmt: skip
        except BallastError as exc:
            show_error(exc, "Trade plan")

with stops:
    rb.stop_inputs()
    try:
        levels, limits = rb.current_stop_levels()
        if limits is not None:
            c = st.columns(3)
            c[0].metric("Portfolio loss limit", f"{limits['loss_limit']:,.2f}",
                        f"{limits['loss_limit_distance']:.2%}",
                        help="Value x (1 - CVaR) over the horizon")  # fmt: skip
            c[1].metric("Portfolio take-profit", f"{limits['take_profit']:,.2f}",
                        f"{limits['take_distance']:+.2%}")  # fmt: skip
            c[2].metric("CVaR over the horizon", percent(limits["cvar"]))
        st.dataframe(levels, width="stretch", column_config=rb.stop_columns())
        csv_download("Download stop levels (CSV)",
                     stop_levels_csv(levels, limits, state.price_data().currency or ""),
                     "ballast_stop_levels.csv", icon=None)  # fmt: skip
        ticker = st.selectbox("Chart the levels of", list(levels.index), key="w_stop_ticker")
        prices = state.window_data().prices[ticker]
        level = levels.loc[ticker]
        fig = bcharts.stop_chart(prices, level["stop_loss"], level["take_profit"])
        st.plotly_chart(fig, key="stop_chart")
    except BallastError as exc:
        show_error(exc, "Stop levels")

page_downloads(rb.report_section)
