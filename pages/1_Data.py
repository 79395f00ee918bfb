"""Data: source, universe and window; data quality and the correlation of returns."""

from __future__ import annotations

import streamlit as st

from core import charts
from core.estimators import correlation_from_covariance
from core.exceptions import BallastError
from ui import state
from ui.widgets import data_caption, show_error

st.set_page_config(page_title="Data · Ballast", layout="wide")
state.init()
st.title("Data and universe")
data = state.price_data()

universe = st.multiselect("Universe", options=data.tickers, default=st.session_state["universe"])
c1, c2 = st.columns(2)
first, last = data.prices.index[0].date(), data.as_of.date()
start = c1.date_input("Start", value=st.session_state["start"], min_value=first, max_value=last)
end = c2.date_input("End", value=st.session_state["end"], min_value=first, max_value=last)
st.session_state.update(universe=universe, start=start, end=end)
data_caption()

try:
    window = state.window_data()
    _, cov = state.historical_estimates()
except BallastError as exc:
    show_error(exc)
    st.stop()
st.plotly_chart(charts.normalized_prices(window.prices, window.benchmark), key="prices")
st.plotly_chart(charts.correlation_heatmap(correlation_from_covariance(cov)), key="corr")
