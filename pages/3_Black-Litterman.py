"""Black-Litterman: market-implied prior, views with a confidence slider each, the posterior."""

from __future__ import annotations

import streamlit as st

from ui import black_litterman as ui_bl
from ui import state
from ui.widgets import data_caption, md_escape, percent

st.set_page_config(page_title="Black-Litterman · Ballast", layout="wide")
state.init()
st.title("Black-Litterman")
data_caption()

with st.sidebar:
    st.header("Prior")
    ui_bl.sidebar_inputs()

st.markdown(
    "The prior is the return the market implies, Pi = delta Sigma w_mkt + r_f. Write your "
    'views below: **absolute** ("JPM returns 8 % a year") or **relative** ("MSFT '
    'outperforms AAPL by 2 % a year"); several tickers separated by commas make a basket. '
    "Then set how confident you are in each view with its slider."
)
if st.session_state["bl_prior"] == "market_caps":
    with st.expander("Market capitalisations of the prior"):
        ui_bl.market_caps_editor()

st.subheader("Views")
row_ids = ui_bl.views_editor()

inputs = ui_bl.show_errors_or(ui_bl.prepare)
if inputs is None:
    st.stop()
for warning in inputs.views.warnings:
    st.warning(md_escape(warning), icon=":material/warning:")
st.caption(
    f"delta = {inputs.delta:.2f} ({md_escape(inputs.delta_note)}) · tau = {inputs.tau:g} · "
    f"risk-free rate {percent(inputs.risk_free_rate)} a year · market portfolio: "
    f"{ui_bl.PRIORS[st.session_state['bl_prior']].lower()}"
)
if not len(inputs.views):
    st.info("No views yet: add a row to the table. Until then the posterior is the prior.")
    ui_bl.example_button()

ui_bl.results_fragment(inputs, row_ids)
