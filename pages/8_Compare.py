"""Compare: up to ten designs walked forward together, side by side, with Sharpe-ratio tests."""

from __future__ import annotations

import streamlit as st

from ui import compare, persistence, state
from ui.report import page_downloads
from ui.widgets import data_caption

st.set_page_config(page_title="Compare · Ballast", layout="wide")
state.init()
st.title("Compare designs")
data_caption()
st.caption(
    "Up to ten designs (any objective, estimators and constraints, the Black-Litterman "
    "posterior, equal weight, market-cap weights) rebalanced on the same dates with the same "
    "costs, each decision made only from the prices before it. The objective's targets and "
    "the constraints come from the Allocation page, the views from the Black-Litterman page, "
    "the benchmark from the Rebalance page."
)

st.subheader("Designs")
specs = compare.designs_editor()
compare.settings_inputs(specs)

if st.button(
    "Run the comparison", type="primary", key="w_run_compare", icon=":material/play_arrow:"
) or persistence.rerun_pending("compare_last"):  # it had been run before a reload
    compare.start_run()  # in the background: progress and Cancel below, the page stays usable
compare.job_panel()

result = compare.last()
if result is not None:
    if compare.last(current_only=True) is None:
        st.info("The setup changed since this comparison: run it again to update.")
    compare.render(result)

page_downloads(compare.report_section)
