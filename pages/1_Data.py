"""Data: source, universe and window; data quality and the correlation of returns."""

from __future__ import annotations

import streamlit as st

from core import charts
from core.charts.data import return_volatility_scatter
from core.estimators import correlation_from_covariance
from core.exceptions import BallastError
from ui import data as data_ui
from ui import state
from ui.widgets import data_caption, show_error

st.set_page_config(page_title="Data · Ballast", layout="wide")
state.init()
st.title("Data and universe")

with st.container(border=True):
    st.subheader("Source")
    data_ui.source_chooser()

data_ui.notes()
st.subheader("Universe and window")
data_ui.universe_and_window()
data_caption()
data_ui.sector_editor()

try:
    window = state.window_data()
    _, cov = state.historical_estimates()
except BallastError as exc:
    show_error(exc)
    st.stop()

data_ui.window_warnings(window)
st.subheader("Data quality")
quality = data_ui.quality_table(window)
data_ui.show_quality(quality)

# One line per asset stops being readable (and costs megabytes of figure) long before 1,000.
lines = window.prices.iloc[:, : data_ui.CHART_ASSETS]
if lines.shape[1] < window.prices.shape[1]:
    st.caption(f"The chart shows the first {lines.shape[1]} of {window.prices.shape[1]} assets.")
st.plotly_chart(charts.normalized_prices(lines, window.benchmark), key="prices")
c1, c2 = st.columns(2)
with c1:
    st.plotly_chart(
        return_volatility_scatter(
            quality.rename(
                columns={
                    "Mean return (annualised, %)": "annualised_return",
                    "Volatility (annualised, %)": "annualised_volatility",
                }
            ),
            window.sectors,
        ),
        key="risk_return",
    )
with c2:
    corr = correlation_from_covariance(cov).iloc[: data_ui.HEATMAP_ASSETS, : data_ui.HEATMAP_ASSETS]
    if len(corr) < len(cov):
        st.caption(f"Correlations of the first {len(corr)} of {len(cov)} assets.")
    st.plotly_chart(charts.correlation_heatmap(corr), key="corr")
