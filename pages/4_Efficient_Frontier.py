"""Efficient Frontier: the whole frontier, a slider along it, what constraints and views cost."""

from __future__ import annotations

import streamlit as st

from core.charts.frontier import transition_map
from ui import frontier as ui_frontier
from ui import resampling, state
from ui import tail as ui_tail
from ui.report import page_downloads
from ui.widgets import csv_download, data_caption, last_good, md_escape, percent

st.set_page_config(page_title="Efficient Frontier · Ballast", layout="wide")
state.init()
st.title("Efficient frontier")
data_caption()
st.caption(
    "Estimators, objective and constraints come from the Allocation page; the frontier is exact "
    "(critical line algorithm), from the minimum-variance to the maximum-return portfolio."
)

with st.sidebar:
    st.header("Frontier")
    ui_frontier.sidebar_inputs()
    resampling.sidebar_inputs()

view = last_good(
    "frontier_last",
    ui_frontier.compute_view,
    "The frontier cannot be computed",
    "Showing the last frontier that could be computed.",
)
frontier = view.frontier
for note in view.notes:
    st.caption(md_escape(note))

single = len(frontier.returns) == 1
if single:
    st.warning(
        "The frontier is a single portfolio: with one asset, or when every asset has the same "
        "expected return, no trade-off between risk and return is left to choose from."
    )

cols = st.columns(4)
mv, tan = frontier.min_variance, frontier.tangency
cols[0].metric("Minimum-variance volatility", percent(mv.volatility),
               help=f"Expected return {percent(mv.expected_return)} (annualised)")  # fmt: skip
top = frontier.max_return
cols[1].metric("Highest expected return", percent(top.expected_return),
               help=f"Volatility {percent(top.volatility)} (annualised)")  # fmt: skip
if tan is not None:
    cols[2].metric("Tangency Sharpe ratio", f"{tan.sharpe_ratio:.2f}",
                   help=f"Return {percent(tan.expected_return)}, volatility "
                   f"{percent(tan.volatility)}; risk-free rate "
                   f"{percent(frontier.risk_free_rate)}")  # fmt: skip
else:
    cols[2].metric("Tangency Sharpe ratio", "n/a",
                   help="No portfolio on the frontier beats the risk-free rate.")  # fmt: skip
cols[3].metric("Corner portfolios", f"{len(frontier.corner_portfolios)}",
               help="Points where the set of assets at a bound or binding sector limits "
               "changes; the frontier is exact between them.")  # fmt: skip

ui_frontier.pick_fragment(view)
ui_tail.cvar_frontier_section()

if not single:
    st.plotly_chart(transition_map(frontier, st.session_state["frontier_transition_x"]),
                    key="transition_map")  # fmt: skip
resampling.section()
ui_frontier.active_section()
with st.expander("Frontier points (annualised decimals)"):
    table = frontier.to_frame()
    st.dataframe(table, width="stretch")
    csv_download(
        "Download the frontier (CSV)",
        table.to_csv(index_label="point").encode("utf-8"),
        "ballast_frontier.csv",
    )

page_downloads(ui_frontier.report_section)
