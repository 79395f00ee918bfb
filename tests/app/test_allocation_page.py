"""AppTest of the Allocation page on the bundled data."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_page


def run_page(path: str = "pages/2_Allocation.py") -> AppTest:
    return open_page(path)


def test_allocation_renders_weights_and_orders():
    at = run_page()
    assert not at.exception
    result = at.session_state["allocation"]
    assert abs(result.weights.sum() - 1) < 1e-9
    assert any("Sharpe" in m.label for m in at.metric)
    assert len(at.dataframe) >= 1


def test_changing_objective_changes_weights():
    at = run_page()
    before = at.session_state["allocation"].weights
    at.selectbox(key="w_objective_kind").select("min_volatility").run()
    assert not at.exception
    after = at.session_state["allocation"].weights
    assert (before - after).abs().max() > 0.01


def test_target_volatility_below_minimum_shows_error_and_keeps_result():
    at = run_page()
    good = at.session_state["allocation"]
    at.selectbox(key="w_objective_kind").select("target_volatility").run()
    at.number_input(key="w_target_volatility").set_value(1.0).run()
    assert not at.exception
    assert any("minimum-variance" in e.value for e in at.error)
    assert at.session_state["allocation"] is not None
    assert at.session_state["allocation"].objective.kind == "target_volatility" or good


def test_max_weight_too_low_names_the_conflict():
    at = run_page()
    at.number_input(key="w_max_weight").set_value(3.0).run()
    assert not at.exception
    assert any("less than 100" in e.value for e in at.error)
