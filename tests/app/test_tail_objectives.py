"""AppTest of the tail-risk, risk-budgeting and hierarchical objectives on the Allocation page."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pytest

from core.scenario_optimization import scenario_cvar
from tests.app.conftest import open_page

PAGE = "pages/2_Allocation.py"


def _run(**setup):
    at = open_page(PAGE, **setup)
    assert not at.exception
    return at


def _returns(at):
    from core.market_data import load_sample

    ss = at.session_state
    prices = load_sample().subset(ss["universe"], ss["start"], ss["end"]).prices
    return prices.pct_change().dropna()


@pytest.mark.parametrize("kind", ["min_cvar", "min_cdar", "hrp", "herc", "risk_parity"])
def test_each_new_objective_gives_an_allocation(kind):
    at = _run()
    at.selectbox(key="w_objective_kind").select(kind).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["allocation"]
    assert result.objective.kind == kind
    assert abs(result.weights.sum() - 1) < 1e-9
    labels = [m.label for m in at.metric]
    assert any(label.startswith("CVaR") for label in labels)
    if kind == "risk_parity":
        assert any("Risk contributions" in m.value for m in at.markdown)
    if kind in ("hrp", "herc"):
        assert any(json.loads(c.proto.spec)["layout"]["title"]["text"].startswith(kind.upper())
                   for c in at.get("plotly_chart"))


def test_max_return_under_cvar_limit_and_a_limit_below_the_minimum():
    at = _run(objective_kind="max_return", tail_max_cvar=0.03)
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["allocation"]
    assert scenario_cvar(result.weights, _returns(at)) <= 0.03 + 1e-9
    at.number_input(key="w_tail_max_cvar").set_value(0.05).run()  # 0.05 % a day
    assert not at.exception
    assert any("below the minimum CVaR" in e.value for e in at.error)
    assert at.session_state["allocation"] is not None  # the last good one stays


def test_max_sharpe_under_a_cvar_limit_on_student_t_scenarios():
    at = _run(tail_max_cvar=0.03, tail_scenarios="student_t", tail_mc_scenarios=2_000)
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["allocation"]
    assert result.objective.kind == "max_sharpe"
    assert any("Monte Carlo" in m.label for m in at.metric)


def test_too_few_scenarios_is_an_error():
    at = _run(objective_kind="min_cvar", start=datetime.date(2022, 10, 1))
    assert any("too few" in e.value for e in at.error)


def test_budgets_per_sector_and_bad_budgets():
    at = _run(objective_kind="risk_parity", tail_budget_by="sector")
    assert not at.error, [e.value for e in at.error]
    sectors = sorted(at.session_state["allocation"].sector_weights.index)
    good = {s: 1.0 / len(sectors) for s in sectors}
    at = _run(objective_kind="risk_parity", tail_budget_by="sector", tail_sector_budgets=good)
    assert not at.error
    at = _run(objective_kind="risk_parity", tail_budget_by="sector",
              tail_sector_budgets={s: 0.5 / len(sectors) for s in sectors})
    assert any("add up to 50.00%" in e.value for e in at.error)
    at = _run(objective_kind="risk_parity", tail_budget_by="asset",
              tail_asset_budgets={"NOPE": 1.0})
    assert any("NOPE" in w.value and "dropped" in w.value for w in at.warning)
    at = _run(objective_kind="risk_parity", tail_budget_by="sector",
              tail_sector_budgets={"Nowhere": 1.0})
    assert any("Nowhere" in w.value for w in at.warning)
    at = _run(objective_kind="risk_parity", tail_budget_by="asset",
              tail_asset_budgets={"AAPL": 1.0})  # the others keep the equal default: 195 %
    assert any("add up to" in e.value for e in at.error)


def test_asset_budgets_reach_their_contributions():
    at = _run(objective_kind="risk_parity", tail_budget_by="asset")
    tickers = list(at.session_state["universe"])
    raw = np.linspace(1, 2, len(tickers))
    budgets = dict(zip(tickers, raw / raw.sum(), strict=True))
    at = _run(objective_kind="risk_parity", tail_budget_by="asset", tail_asset_budgets=budgets)
    assert not at.error
    from core.estimators import covariance
    from core.market_data import load_sample
    from core.risk_budgeting import relative_risk_contributions

    result = at.session_state["allocation"]
    ss = at.session_state
    prices = load_sample().subset(ss["universe"], ss["start"], ss["end"]).prices
    cov = covariance(prices, ss["cov_method"])
    rc = relative_risk_contributions(result.weights.to_numpy(), cov.to_numpy())
    assert np.abs(rc - raw / raw.sum()).max() < 1e-8


def test_new_setup_keys_are_saved():
    from core import setups
    from ui.state import DEFAULTS

    for key in ("tail_max_cvar", "tail_cvar_confidence", "tail_scenarios", "tail_budget_by",
                "tail_asset_budgets", "tail_sector_budgets", "frontier_show_cvar"):
        assert key in DEFAULTS and key in setups.RULES
    clean = setups.validate({**DEFAULTS, "objective_kind": "herc", "tail_max_cvar": 0.02,
                             "tail_sector_budgets": {"Energy": 1.0}, "universe": ["AAPL", "KO"]},
                            DEFAULTS)  # fmt: skip
    assert clean["objective_kind"] == "herc" and clean["tail_max_cvar"] == 0.02


def test_frontier_page_shows_the_mean_cvar_frontier():
    at = open_page("pages/4_Efficient_Frontier.py")
    assert not at.exception
    assert not any(c.proto.spec and "Mean-CVaR" in c.proto.spec for c in at.get("plotly_chart"))
    at.toggle(key="w_frontier_show_cvar").set_value(True).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    cvar = [s for s in specs if s["layout"]["title"]["text"] == "Mean-CVaR efficient frontier"]
    assert len(cvar) == 1
    view = at.session_state["frontier_last"]
    assert len(view.frontier.returns) == 50
    assert cvar[0]["data"][0]["name"] == "Mean-CVaR frontier"
    assert any(d["name"] == "Current allocation" for d in cvar[0]["data"])


def test_report_sections_carry_the_tail_results():
    from tests.app.conftest import report_section_app

    at = report_section_app("ui.frontier")
    at.session_state["frontier_show_cvar"] = True
    at.run()
    assert not at.exception
    section = at.session_state["section"]
    assert "Mean-CVaR frontier points" in section.tables
    assert section.tables["Mean-CVaR frontier points"]["cvar"].is_monotonic_increasing


def test_allocation_report_has_a_tail_risk_table():
    from core.constraints import Constraints
    from core.optimization import Objective, optimize
    from tests.app.conftest import report_section_app

    at = open_page(PAGE, objective_kind="min_cvar")
    result = at.session_state["allocation"]
    assert result.objective.kind == "min_cvar"
    app = report_section_app("ui.allocation")
    returns = _returns(at)
    mu = returns.mean() * 252
    app.session_state["objective_kind"] = "min_cvar"
    app.session_state["allocation"] = optimize(mu, returns.cov() * 252, Objective("min_cvar"),
                                               Constraints(), scenarios=returns)  # fmt: skip
    app.run()
    assert not app.exception
    table = app.session_state["section"].tables["Tail risk"]
    assert table["CVaR (daily, historical)"].iloc[0] == pytest.approx(
        scenario_cvar(app.session_state["allocation"].weights, returns))
