"""core.pipeline: a setup in, every result out; checked against the core functions called
directly, closed forms, and the book checks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from core import estimators, pipeline
from core.constraints import Constraints
from core.exceptions import ExecutionError
from core.market_data import load_sample
from core.optimization import Objective, optimize
from core.pipeline import AUTO, Compute, Finding, Pipeline
from core.setup import Setup

UNIVERSE = ["AAPL", "MSFT", "JPM", "KO", "XOM"]
BASE = {"universe": UNIVERSE, "start": dt.date(2019, 1, 2), "end": dt.date(2022, 12, 28),
        "max_weight": 0.5, "risk_mc_scenarios": 2_000, "frontier_n_random": 0}


@pytest.fixture(scope="module")
def data():
    return load_sample()


def test_allocation_is_the_core_optimum_of_the_setup(data):
    p = Pipeline(BASE, data)  # a plain mapping of setup keys works too
    prices = data.prices.loc["2019-01-02":"2022-12-28", UNIVERSE]
    mu = estimators.expected_returns(prices, "mean_historical", benchmark=data.benchmark,
                                     risk_free_rate=0.02)
    cov = estimators.covariance(prices, "ledoit_wolf")
    direct = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.02),
                      Constraints(weight_bounds=(0.0, 0.5), sectors=dict(data.sectors)))
    got = p.allocation.weights.reindex(UNIVERSE)
    np.testing.assert_allclose(got.to_numpy(), direct.weights.reindex(UNIVERSE).to_numpy(),
                               atol=1e-8)
    assert p.allocation.sharpe_ratio == pytest.approx(direct.sharpe_ratio, rel=1e-9)
    assert p.book_run is not None and p.book_run.current_weights is None  # from cash


def test_defaults_from_the_data(data):
    p = Pipeline(Setup(), data)
    assert p.setup.universe == tuple(data.tickers)
    assert p.setup.window.end == data.as_of.date()
    assert p.setup.window.start == data.as_of.date() - dt.timedelta(days=5 * 365)


def test_black_litterman_view_held_with_full_confidence(data):
    # Idzorek at confidence 1: omega = 0, the posterior satisfies the view exactly (P mu = Q)
    view = {"kind": "absolute", "assets": "KO", "versus": None, "return": 0.12,
            "basket": None, "view_volatility": None, "confidence": 1.0}
    p = Pipeline({**BASE, "bl_views": [view], "expected_returns_source": "black_litterman"},
                 data)
    assert p.posterior["KO"] == pytest.approx(0.12, abs=1e-6)
    mu, _ = p.estimates
    assert mu["KO"] == pytest.approx(0.12, abs=1e-6)  # the optimiser uses the posterior
    assert not np.allclose(mu.to_numpy(), p.historical_estimates[0].to_numpy())
    # the session's own posterior, when given, is used as it is
    given = p.posterior * 0 + 0.05
    assert (Pipeline(p.setup, data, posterior=given).estimates[0] == 0.05).all()


def test_historical_var_is_the_empirical_quantile(data):
    p = Pipeline({**BASE, "risk_confidences": [0.95]}, data)
    table = p.risk_table
    hist = table[(table["method"] == "historical")].iloc[0]
    returns = data.prices.loc["2019-01-02":"2022-12-28", UNIVERSE].pct_change().dropna()
    portfolio = returns.to_numpy() @ p.allocation.weights.reindex(UNIVERSE).to_numpy()
    var = -np.quantile(portfolio, 0.05)
    assert hist["var"] == pytest.approx(var, rel=0.02)  # quantile conventions differ slightly
    assert hist["cvar"] >= hist["var"]
    assert hist["var_money"] == pytest.approx(hist["var"] * 100_000.0)


def test_compute_hooks_are_used(data):
    calls = []

    def covariance(prices, method):
        calls.append(method)
        return estimators.covariance(prices, method)

    p = Pipeline(BASE, data, compute=Compute(covariance=covariance))
    assert p.allocation is not None
    assert calls and set(calls) == {"ledoit_wolf"}  # the assets, and with the benchmark


def test_sections_and_registered_builders(data):
    p = Pipeline(BASE, data, allocation=AUTO)
    statuses = {s.module: s.status for s in p.sections(strict=True)}
    assert statuses["ui.allocation"] == "ready" and statuses["ui.risk"] == "ready"
    assert statuses["ui.black_litterman"] == "no results"  # no views
    assert statuses["ui.book"] == "no results"  # from cash
    try:
        pipeline.register_section("test.extra", "Extra", lambda q: (_ for _ in ()).throw(
            ExecutionError("needs holdings")))
        extra = Pipeline(BASE, data).sections()[-1]
        assert (extra.label, extra.status, extra.message) == ("Extra", "error", "needs holdings")
    finally:
        pipeline.SECTIONS.pop("test.extra", None)


def _book(data, setup: dict, scale: dict | None = None) -> dict:
    target = Pipeline(setup, data).allocation.weights
    price = data.prices.iloc[-1]
    shares = {t: float(np.floor(w * (scale or {}).get(t, 1.0) * 100_000 / price[t]))
              for t, w in target.items() if w > 1e-6}  # fmt: skip
    cash = 100_000 - sum(n * price[t] for t, n in shares.items())
    return {**setup, "holdings": shares, "cash": float(cash)}


def test_check_a_book_at_target_and_a_drifted_one(data):
    at_target = _book(data, BASE)
    ok = Pipeline(at_target, data).check(var_limit=0.5)
    assert not ok.action_needed and ok.findings == ()
    assert ok.book["drift"].abs().max() < 0.01
    assert ok.book.loc["CASH", "current_weight"] < 0.01
    # halve the largest position: drift beyond the band, named
    value = {t: n * data.prices.iloc[-1][t] for t, n in at_target["holdings"].items()}
    big = max(value, key=value.get)
    drifted = {**at_target, "holdings": {**at_target["holdings"],
                                         big: at_target["holdings"][big] // 2}}
    bad = Pipeline(drifted, data).check(var_limit=0.001)
    kinds = {(f.kind, f.name) for f in bad.findings}
    assert ("drift", big) in kinds  # the others drift up as the book shrinks
    assert ("VaR limit", "portfolio") in kinds
    drift = next(f for f in bad.findings if f.name == big)
    assert drift.value < -0.05 and drift.limit == 0.05 and big in drift.message


def test_check_limits_and_registered_checks(data):
    setup = _book(data, BASE)
    sector = data.sectors[next(iter(setup["holdings"]))]
    tight = {**setup, "sector_bounds": {sector: (0.0, 0.01)}, "max_volatility": 0.01,
             "tail_max_cvar": 0.001}
    found = Pipeline(tight, data).check()
    kinds = {f.kind for f in found.findings}
    assert {"sector bound", "volatility limit", "CVaR limit", "no target"} <= kinds
    assert "No target allocation" in next(f for f in found.findings if f.kind == "no target"
                                          ).message  # 1 % volatility is infeasible too
    try:
        pipeline.register_check("test rule", lambda p, w: [Finding(
            "rule", "portfolio", float(w.max()), 0.0, "Largest weight above 0 %.")])
        assert any(f.kind == "rule" for f in Pipeline(setup, data).check().findings)
    finally:
        pipeline.CHECKS.pop("test rule", None)
    with pytest.raises(ExecutionError, match="no holdings"):
        Pipeline(BASE, data).check()


def test_report_is_built_once_and_has_both_files(data):
    p = Pipeline(BASE, data)
    first = p.report()
    assert p.report() is first
    assert p.report_html().startswith(b"<!DOCTYPE html>")
    assert p.report_xlsx()[:2] == b"PK"
    summary = first[0]
    assert summary.inputs["Universe size (assets)"] == 5
    assert "Expected return (annualised)" in summary.key_figures
    assert isinstance(summary.inputs, dict) and "Objective" in " ".join(summary.inputs)
    assert isinstance(p.tracking_figures()[0], pd.DataFrame)


def test_tail_objective_runs_on_the_windows_scenarios(data):
    from core.scenario_optimization import scenario_cvar

    p = Pipeline({**BASE, "objective_kind": "min_cvar", "tail_cvar_confidence": 0.95}, data)
    result = p.allocation
    assert result.objective.kind == "min_cvar"
    assert p.scenarios is not None and list(p.scenarios.columns) == UNIVERSE
    # the minimum: no other portfolio of the window's scenarios has a lower CVaR (spot checks)
    best = scenario_cvar(result.weights.reindex(UNIVERSE), p.scenarios, 0.95)
    for w in np.eye(5) * 0.25 + 0.15:  # feasible: sum 1, at most 40 % each
        assert best <= scenario_cvar(pd.Series(w, index=UNIVERSE), p.scenarios, 0.95) + 1e-9
    section = pipeline.allocation_section(p)
    assert "Tail risk" in section.tables and "CVaR" in section.text + " ".join(
        section.tables["Tail risk"].columns)


def test_frontier_says_it_leaves_out_the_mixed_integer_limits(data):
    """With a holdings count or a rule set the frontier's notes say it cannot follow them."""
    plain = Pipeline(BASE, data).frontier_view()
    assert not any("mixed-integer" in n for n in plain.notes)
    limited = Pipeline({**BASE, "compliance_max_holdings": 3}, data).frontier_view()
    assert any("holdings count" in n and "may breach them" in n for n in limited.notes)


def test_backtest_notes_that_compliance_limits_are_not_applied(data):
    setup = {**BASE, "compliance_rule_set": "ucits", "rebalance_lookback_years": 1.0,
             "start": dt.date(2021, 1, 4)}  # fmt: skip
    notes: list[str] = []
    Pipeline(setup, data).run_backtest(notes=notes)
    assert any("compliance settings" in n and "not applied" in n for n in notes)


def test_report_text_quotes_user_names_literally(data):
    from core.market_data import with_sectors

    named = with_sectors(data, {t: "**Tech** _x_" for t in UNIVERSE})
    p = Pipeline({**BASE, "sector_bounds": {"**Tech** _x_": (0.0, 1.0)}}, named)
    html = p.report_html().decode()
    assert "sector **Tech** _x_: weight between" in html
    assert "<strong>Tech</strong>" not in html and "<em>x</em>" not in html
