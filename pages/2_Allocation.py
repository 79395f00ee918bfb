"""Allocation: estimators, objective and constraints in; optimal weights and orders out."""

from __future__ import annotations

import streamlit as st

from core import charts
from core.estimators import COVARIANCE_ESTIMATORS, RETURN_ESTIMATORS
from core.exceptions import BallastError
from core.execution import whole_share_orders
from core.reporting import allocation_csv
from ui import book, state
from ui.allocation import (
    capital_input,
    constraint_inputs,
    diversification_metric,
    objective_inputs,
    report_section,
    run_optimization,
    short_selectbox,
)
from ui.report import page_downloads
from ui.widgets import (
    csv_download,
    data_caption,
    number_column,
    percent,
    percent_column,
    show_error,
    synced,
)

st.set_page_config(page_title="Allocation · Ballast", layout="wide")
state.init()
st.title("Allocation")
data_caption()

with st.sidebar:
    st.header("Estimators")
    short_selectbox("returns_method", "Expected returns", RETURN_ESTIMATORS)
    short_selectbox("cov_method", "Covariance", COVARIANCE_ESTIMATORS)
    if st.session_state.get("bl_posterior_returns") is not None:
        synced(st.radio, "expected_returns_source", "Use expected returns from",
               options=["historical", "black_litterman"],
               format_func={"historical": "the estimator above",
                            "black_litterman": "the Black-Litterman posterior"}.get)  # fmt: skip
    st.header("Objective")
    objective_inputs()
    st.header("Constraints")
    constraint_inputs()
    book.exposure_inputs()

book.start_input()
if book.from_holdings():
    book.book_inputs()
run_optimization()
result = st.session_state["allocation"]
if result is None:
    st.stop()

cols = st.columns(4)
cols[0].metric("Expected return (annualised)", percent(result.expected_return))
cols[1].metric("Volatility (annualised)", percent(result.volatility))
cols[2].metric(
    "Sharpe ratio",
    f"{result.sharpe_ratio:.2f}",
    help=f"Excess return over {percent(result.risk_free_rate)} per unit of volatility",
)
diversification_metric(cols[3], result.weights, result.effective_number_of_assets)

left, right = st.columns([3, 2])
left.plotly_chart(charts.weights_bar(result.weights.sort_values(ascending=False)), key="weights")
if len(result.sector_weights):
    right.plotly_chart(charts.sector_pie(result.sector_weights), key="sectors")
if book.from_holdings():
    book.book_view(result)
    page_downloads(book.report_section)
    st.stop()

st.subheader("Orders in whole shares")
capital = capital_input()
data = state.price_data()
try:
    orders = whole_share_orders(result.weights, data.prices.iloc[-1], capital)
except BallastError as exc:
    show_error(exc)
    st.stop()
table = orders.orders.join(data.sectors.rename("sector")).rename_axis("Ticker")
money = f" ({data.currency})" if data.currency else ""
st.caption(f"Latest prices of {data.as_of.date()}"
           + (f", in {data.currency}" if data.currency else "")
           + f". Leftover cash: {orders.leftover_cash:,.2f}.")  # fmt: skip
st.dataframe(
    table[table["shares"] != 0][["sector", "target_weight", "achieved_weight", "shares",
                                 "price", "value"]],
    column_config={
        "sector": st.column_config.TextColumn("Sector"),
        "target_weight": percent_column("Target weight"),
        "achieved_weight": percent_column("Achieved weight"),
        "shares": number_column("Shares", "%d"),
        "price": number_column("Latest price" + money),
        "value": number_column("Value" + money, "%,.2f"),
    },
    width="stretch",
)  # fmt: skip
csv_download(
    "Download allocation (CSV)",
    allocation_csv(orders, data.sectors),
    f"ballast_allocation_{data.as_of.date()}.csv",
)
page_downloads(report_section)
