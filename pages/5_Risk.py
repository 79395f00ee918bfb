"""Risk: VaR and CVaR by four methods, contributions, drawdowns, backtest, stress tests."""

from __future__ import annotations

import streamlit as st

from core.exceptions import BallastError
from ui import risk as risk_ui
from ui import state
from ui.widgets import data_caption, show_error

st.set_page_config(page_title="Risk · Ballast", layout="wide")
state.init()
st.title("Risk")
data_caption()

with st.sidebar:
    st.header("Risk settings")
    risk_ui.settings_inputs()

try:
    inputs = risk_ui.prepare()
    st.session_state["risk_last"] = inputs
except BallastError as exc:
    show_error(exc)
    inputs = st.session_state.get("risk_last")
    if inputs is None:
        st.stop()
    st.info("Showing the last portfolio and settings that could be assessed.")

held = inputs.weights[inputs.weights.abs() > 1e-8]
st.caption(
    f"Current allocation: {len(held)} assets held; portfolio value {inputs.money(1.0)}. "
    "VaR and CVaR are losses, as a share of the portfolio value and in money."
)

tabs = st.tabs(
    [
        "VaR & CVaR",
        "Contributions",
        "Drawdowns",
        "Backtest",
        "Stress scenarios",
        "Correlation stress",
    ]
)
with tabs[0]:
    risk_ui.var_tab(inputs)
with tabs[1]:
    risk_ui.contributions_tab(inputs)
with tabs[2]:
    risk_ui.drawdowns_tab(inputs)
with tabs[3]:
    risk_ui.backtest_tab(inputs)
with tabs[4]:
    risk_ui.stress_tab(inputs)
with tabs[5]:
    risk_ui.correlation_tab(inputs)
