"""Risk: VaR and CVaR by five methods, contributions, drawdowns, backtest, stress tests."""

from __future__ import annotations

import streamlit as st

from ui import risk as risk_ui
from ui import state
from ui.report import page_downloads
from ui.widgets import data_caption, last_good

st.set_page_config(page_title="Risk · Ballast", layout="wide")
state.init()
st.title("Risk")
data_caption()

with st.sidebar:
    st.header("Risk settings")
    risk_ui.settings_inputs()

inputs = last_good(
    "risk_last",
    risk_ui.prepare,
    note="Showing the last portfolio and settings that could be assessed.",
)

held = inputs.weights[inputs.weights.abs() > 1e-8]
st.caption(
    f"Current allocation: {len(held)} assets held; portfolio value {inputs.money(1.0)}. "
    "VaR and CVaR are losses, as a share of the portfolio value and in money."
)

TABS = {
    "VaR & CVaR": risk_ui.var_tab,
    "Contributions": risk_ui.contributions_tab,
    "Drawdowns": risk_ui.drawdowns_tab,
    "Backtest": risk_ui.backtest_tab,
    "Stress scenarios": risk_ui.stress_tab,
    "Correlation stress": risk_ui.correlation_tab,
}
# Only the open tab computes and draws (a tab switch reruns the page): the figures, not the
# math, bound the page's latency, and six tabs of them cost several times one.
tabs = st.tabs(list(TABS), key="risk_tab", on_change="rerun")
for tab, draw in zip(tabs, TABS.values(), strict=True):
    with tab:
        if tab.open:
            draw(inputs)

page_downloads(risk_ui.report_section)
