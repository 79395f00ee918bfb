"""Allocation: estimators, objective and constraints in; optimal weights and orders out."""

from __future__ import annotations

import streamlit as st

from core.estimators import COVARIANCE_ESTIMATORS, RETURN_ESTIMATORS
from ui import book, state, tail
from ui.allocation import (
    constraint_editors,
    constraint_inputs,
    objective_inputs,
    results_fragment,
    short_selectbox,
)
from ui.widgets import data_caption, synced

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

constraint_editors()
tail.budget_editor()
book.start_input()
if book.from_holdings():
    book.book_inputs()
results_fragment()
