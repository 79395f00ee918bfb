"""AppTest of the home page (app.py), with and without an allocation."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.optimization import optimize
from tests.app.conftest import ROOT, open_page


def test_home_without_allocation_points_to_the_allocation_page():
    at = open_page("app.py")
    assert not at.exception and not at.error
    assert any("No allocation yet" in i.value for i in at.info)
    assert any("S&P 500 sample" in c.value for c in at.caption)


def test_home_with_an_allocation_shows_its_figures(sample_estimates):
    mu, cov = sample_estimates
    result = optimize(mu, cov, "max_sharpe")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["allocation"] = result
    at.run()
    assert not at.exception and not at.error
    labels = {m.label: m.value for m in at.metric}
    assert "Sharpe ratio" in labels and labels["Sharpe ratio"] == f"{result.sharpe_ratio:.2f}"
    shown = at.dataframe[0].value
    assert abs(shown.iloc[:, 0].sum() - 1) < 1e-3


def test_home_long_short_shows_gross_and_net_exposure(sample_estimates):
    from core.constraints import Constraints

    mu, cov = sample_estimates
    result = optimize(mu, cov, "max_sharpe",
                      Constraints(long_only=False, weight_bounds=(-0.3, 0.5)))  # fmt: skip
    assert (result.weights < -1e-4).any()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["allocation"] = result
    at.run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert "Effective number of assets" not in labels
    gross = result.weights.abs().sum()
    assert labels["Gross / net exposure"] == f"{gross * 100:.1f} % / 100.0 %"


def test_home_names_as_many_risk_methods_as_the_risk_page_shows():
    from core.risk import TABLE_METHODS

    at = open_page("app.py")
    text = "\n".join(m.value for m in at.markdown)
    assert "four methods" not in text
    assert f"by {len(TABLE_METHODS)} methods" in text and len(TABLE_METHODS) == 5
