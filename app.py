"""Ballast: interactive portfolio balancing. Home page: the workflow and the portfolio at a glance.

Run with ``streamlit run app.py``.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Ballast", page_icon=":material/balance:", layout="wide")

from core.risk import TABLE_METHODS  # noqa: E402
from ui import state  # noqa: E402  (set_page_config must come first)
from ui.allocation import diversification_metric  # noqa: E402
from ui.widgets import data_caption, percent  # noqa: E402

state.init()
st.title("Ballast")
st.markdown(
    "Interactive portfolio balancing: load a universe, estimate expected returns and "
    "covariance, set an objective and constraints, express views, check the risk, and leave "
    "with an allocation you can trade and a report you can file."
)
data_caption()

st.subheader("Workflow")
methods = ", ".join(label.replace("Monte Carlo, multivariate", "Monte Carlo")
                    for label in TABLE_METHODS.values())
st.markdown(
    f"""
1. **Data**: choose the universe and the date window (bundled S&P 500 sample, Yahoo Finance, or
   your own CSV/Excel), and check the data's quality.
2. **Allocation**: choose the estimators, objective and constraints; get the optimal weights
   and whole-share orders for your capital.
3. **Black-Litterman**: express views with a confidence per view; use the posterior returns.
4. **Efficient Frontier**: see the trade-off between risk and return and pick a portfolio on it.
5. **Risk**: VaR and CVaR by {len(TABLE_METHODS)} methods ({methods}), backtests, stress
   tests and correlation shifts.
6. **Rebalance**: benchmark tracking, walk-forward backtests and the trade plan.
7. **Report**: download the results and save the setup.
"""
)

result = st.session_state.get("allocation")
st.subheader("Current allocation")
if result is None:
    st.info("No allocation yet: open the **Allocation** page to compute one.")
    st.page_link("pages/2_Allocation.py", label="Go to Allocation", icon=":material/pie_chart:")
else:
    c = st.columns(4)
    c[0].metric("Expected return (annualised)", percent(result.expected_return))
    c[1].metric("Volatility (annualised)", percent(result.volatility))
    c[2].metric("Sharpe ratio", f"{result.sharpe_ratio:.2f}")
    diversification_metric(c[3], result.weights, result.effective_number_of_assets)
    top = result.weights[result.weights.abs() > 1e-4].sort_values(ascending=False)
    st.dataframe(
        top.rename("Weight").to_frame().style.format("{:.2%}"),
        width="content",
    )
