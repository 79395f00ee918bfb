"""Report: download the results (CSV, Excel, HTML) and save, reopen, export and import setups."""

from __future__ import annotations

import streamlit as st

from core.exceptions import BallastError
from core.execution import whole_share_orders
from core.reporting import allocation_csv
from ui import auth, report, state, team
from ui.allocation import run_optimization
from ui.widgets import csv_download, data_caption, show_error

st.set_page_config(page_title="Report · Ballast", layout="wide")
state.init()
st.title("Report")
data_caption()

run_optimization()  # the report shows the allocation of the current setup
statuses = report.collect_sections()
sections = [s.section for s in statuses if s.section is not None]

st.subheader("Sections")
ICONS = {"ready": ":material/check_circle:", "no results": ":material/hourglass_empty:",
         "not available": ":material/block:", "error": ":material/error:",
         "bug": ":material/bug_report:"}  # fmt: skip
for s in statuses:
    line = f"{ICONS[s.status]} **{s.label}**: {s.status}"
    if s.section is not None:
        line += f" ({len(s.section.tables)} tables, {len(s.section.figures)} charts)"
    st.markdown(line)
    if s.status == "error":
        show_error(s.message, s.label)
    elif s.status == "bug":
        st.error(f"{s.label}: left out of the report, {s.message}.", icon=":material/bug_report:")
if any(s.status == "no results" for s in statuses):
    st.caption("Open a feature's page to compute its results; they then join the report.")

st.subheader("Downloads")
data = state.price_data()
result = st.session_state["allocation"]
stamp = data.as_of.date()
c1, c2, c3 = st.columns(3)
if result is not None:
    try:
        orders = whole_share_orders(result.weights, data.prices.iloc[-1],
                                    float(st.session_state["capital"]))  # fmt: skip
        csv_download("Allocation (CSV)", allocation_csv(orders, data.sectors),
                     f"ballast_allocation_{stamp}.csv", box=c1)  # fmt: skip
    except BallastError as exc:
        show_error(exc, "Allocation CSV")
if sections:
    # Built on click (deferred download data), not on every rerun. Columns named by a ticker
    # hold weights (frontier points, corner portfolios).
    files = report.report_files(statuses)
    xlsx, html = files["xlsx"], files["html"]
    c2.download_button(
        "Excel workbook (XLSX)", data=xlsx, file_name=f"ballast_report_{stamp}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/table_view:",
    )  # fmt: skip
    c3.download_button("HTML report", data=html, file_name=f"ballast_report_{stamp}.html",
                       mime="text/html", icon=":material/description:")  # fmt: skip
    st.caption(
        "The HTML report opens offline in any browser, with interactive charts; print it to PDF "
        "from the browser (each section starts on a new page). The workbook has a summary sheet "
        "and one sheet per table, numbers as numbers."
    )
else:
    st.info("Nothing to report yet: compute an allocation on the **Allocation** page.")

st.subheader("Saved setups")
st.markdown(
    "A setup is everything you chose: data source and universe, window, estimators, objective "
    "and constraints, views, holdings and risk settings. Loading one recomputes every result "
    "from it."
)
team.setups_manager() if auth.enabled() else report.setups_manager()
