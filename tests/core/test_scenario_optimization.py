"""Scenario objectives: min CVaR, min CDaR, a CVaR limit, the mean-CVaR frontier.

References: an independent cvxpy formulation solved by Clarabel, and skfolio's ``MeanRisk`` on
the bundled sample (same scenarios, same convention).
"""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from core.constraints import Constraints
from core.exceptions import BallastError, InfeasibleConstraintsError, OptimizationError
from core.optimization import Objective, optimize
from core.scenario_optimization import (
    mean_cvar_frontier,
    scenario_cdar,
    scenario_cvar,
    simulate_scenarios,
)


@pytest.fixture(scope="module")
def window(sample):
    """Daily returns of the sample's last 1,000 days, their annualised moments, sectors."""
    returns = sample.prices.iloc[-1001:].pct_change().dropna()
    return returns, returns.mean() * 252, returns.cov() * 252, dict(sample.sectors)


def _cvxpy_cvar(X, beta, lower=0.0, upper=1.0, G=None, h=None, extra=()):
    w, a = cp.Variable(X.shape[1]), cp.Variable()
    risk = a + cp.sum(cp.pos(-X @ w - a)) / (len(X) * (1 - beta))
    cons = [cp.sum(w) == 1, w >= lower, w <= upper, *extra(w)] if extra else [
        cp.sum(w) == 1, w >= lower, w <= upper]  # fmt: skip
    if G is not None and len(h):
        cons.append(G @ w <= h)
    return w, risk, cons


def test_min_cvar_matches_cvxpy_and_skfolio(window):
    from skfolio import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    R, mu, cov, _ = window
    cons = Constraints(weight_bounds=(0.0, 0.25))
    res = optimize(mu, cov, Objective("min_cvar"), cons, scenarios=R)
    ours = scenario_cvar(res.weights, R, 0.95)
    w, risk, c = _cvxpy_cvar(R.to_numpy(), 0.95, upper=0.25)
    ref = cp.Problem(cp.Minimize(risk), c)
    ref.solve(solver="CLARABEL")
    assert ours == pytest.approx(ref.value, abs=1e-6)
    model = MeanRisk(risk_measure=RiskMeasure.CVAR, max_weights=0.25, cvar_beta=0.95,
                     objective_function=ObjectiveFunction.MINIMIZE_RISK)  # fmt: skip
    model.fit(R.to_numpy())
    assert ours == pytest.approx(scenario_cvar(model.weights_, R.to_numpy(), 0.95), abs=1e-6)
    assert ours <= scenario_cvar(model.weights_, R.to_numpy(), 0.95) + 1e-12
    assert res.weights.sum() == pytest.approx(1.0, abs=1e-9)
    assert res.weights.max() <= 0.25 + 1e-9


def test_min_cvar_with_sector_limits_matches_cvxpy(window):
    R, mu, cov, sectors = window
    cons = Constraints(weight_bounds=(0.0, 0.3), sectors=sectors,
                       sector_bounds={"Consumer Staples": (0.0, 0.2), "Energy": (0.1, 0.3)})
    lin = cons.linear_form(list(R.columns))
    res = optimize(mu, cov, Objective("min_cvar", cvar_confidence=0.9), cons, scenarios=R)
    w, risk, c = _cvxpy_cvar(R.to_numpy(), 0.9, upper=0.3, G=lin.G, h=lin.h)
    ref = cp.Problem(cp.Minimize(risk), c)
    ref.solve(solver="CLARABEL")
    assert scenario_cvar(res.weights, R, 0.9) == pytest.approx(ref.value, abs=1e-6)
    assert res.sector_weights["Consumer Staples"] <= 0.2 + 1e-9
    assert res.sector_weights["Energy"] >= 0.1 - 1e-9


def test_min_cdar_matches_cvxpy_and_skfolio(window):
    from skfolio import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    R, mu, cov, _ = window
    R = R.iloc[-500:]
    res = optimize(mu, cov, Objective("min_cdar"), Constraints(), scenarios=R)
    ours = scenario_cdar(res.weights, R, 0.95)
    X = R.to_numpy()
    T, n = X.shape
    w, a = cp.Variable(n), cp.Variable()
    peak = cp.Variable(T)
    y = np.cumsum(X, axis=0) @ w
    dd = peak - y
    cons = [cp.sum(w) == 1, w >= 0, peak >= y, peak >= 0, peak[1:] >= peak[:-1]]
    ref = cp.Problem(cp.Minimize(a + cp.sum(cp.pos(dd - a)) / (T * 0.05)), cons)
    ref.solve(solver="CLARABEL")
    assert ours == pytest.approx(ref.value, abs=1e-6)
    model = MeanRisk(risk_measure=RiskMeasure.CDAR, cdar_beta=0.95,
                     objective_function=ObjectiveFunction.MINIMIZE_RISK)  # fmt: skip
    model.fit(X)
    assert ours == pytest.approx(scenario_cdar(model.weights_, X, 0.95), abs=1e-6)


def test_max_return_under_cvar_limit(window):
    R, mu, cov, _ = window
    low = optimize(mu, cov, Objective("min_cvar"), Constraints(), scenarios=R)
    limit = scenario_cvar(low.weights, R) * 1.15
    res = optimize(mu, cov, Objective("max_return"), Constraints(max_cvar=limit), scenarios=R)
    assert scenario_cvar(res.weights, R) <= limit + 1e-9
    w, risk, c = _cvxpy_cvar(R.to_numpy(), 0.95)
    ref = cp.Problem(cp.Maximize(mu.to_numpy() @ w), [*c, risk <= limit])
    ref.solve(solver="CLARABEL")
    assert res.expected_return == pytest.approx(ref.value, abs=1e-6)


def test_max_sharpe_and_min_volatility_under_cvar_limit(window):
    R, mu, cov, _ = window
    free = optimize(mu, cov, Objective("max_sharpe"), Constraints())
    limit = 0.9 * scenario_cvar(free.weights, R)
    res = optimize(mu, cov, Objective("max_sharpe"), Constraints(max_cvar=limit), scenarios=R)
    assert scenario_cvar(res.weights, R) <= limit + 1e-8
    # independent: Charnes-Cooper in cvxpy, y = kappa w
    X, S, m = R.to_numpy(), cov.to_numpy(), mu.to_numpy()
    y, k, a, u = cp.Variable(len(m)), cp.Variable(nonneg=True), cp.Variable(), cp.Variable(len(X))
    cons = [m @ y == 1, cp.sum(y) == k, y >= 0, u >= 0, u >= -X @ y - a,
            a + cp.sum(u) / (len(X) * 0.05) <= limit * k]  # fmt: skip
    cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(S))), cons).solve(solver="CLARABEL")
    wref = y.value / k.value
    sharpe_ref = m @ wref / np.sqrt(wref @ S @ wref)
    assert res.sharpe_ratio == pytest.approx(sharpe_ref, abs=1e-6)
    assert res.sharpe_ratio <= free.sharpe_ratio + 1e-9
    minvol = optimize(mu, cov, Objective("min_volatility"), Constraints(max_cvar=0.03),
                      scenarios=R)  # fmt: skip
    plain = optimize(mu, cov, Objective("min_volatility"), Constraints())
    assert minvol.volatility == pytest.approx(plain.volatility, abs=1e-6)  # limit not binding


def test_cvar_limit_below_minimum_names_the_minimum(window):
    R, mu, cov, _ = window
    low = scenario_cvar(optimize(mu, cov, Objective("min_cvar"), Constraints(),
                                 scenarios=R).weights, R)  # fmt: skip
    with pytest.raises(InfeasibleConstraintsError, match=f"minimum CVaR of {low:.2%}"):
        optimize(mu, cov, Objective("max_return"), Constraints(max_cvar=low / 2), scenarios=R)
    with pytest.raises(InfeasibleConstraintsError, match="minimum CVaR"):
        optimize(mu, cov, Objective("max_sharpe"), Constraints(max_cvar=low / 2), scenarios=R)


def test_too_few_or_missing_scenarios(window):
    R, mu, cov, _ = window
    with pytest.raises(OptimizationError, match="too few"):
        optimize(mu, cov, Objective("min_cvar"), Constraints(), scenarios=R.iloc[:50])
    with pytest.raises(OptimizationError, match="needs return scenarios"):
        optimize(mu, cov, Objective("min_cvar"), Constraints())
    with pytest.raises(OptimizationError, match="no returns for"):
        optimize(mu, cov, Objective("min_cvar"), Constraints(), scenarios=R.iloc[:, :5])
    with pytest.raises(BallastError, match="confidence"):
        Objective("min_cvar", cvar_confidence=1.2)


def test_turnover_and_costs_with_holdings(window):
    R, mu, cov, _ = window
    w0 = pd.Series(1 / len(mu), index=mu.index)
    cons = Constraints(current_weights=w0, max_turnover=0.1)
    res = optimize(mu, cov, Objective("min_cvar", transaction_costs=0.002), cons, scenarios=R)
    assert res.turnover <= 0.1 + 1e-9
    X = R.to_numpy()
    w, risk, c = _cvxpy_cvar(X, 0.95)
    trade = cp.sum(cp.abs(w - w0.to_numpy()))
    ref = cp.Problem(cp.Minimize(risk + 0.002 * trade / 252), [*c, trade / 2 <= 0.1])
    ref.solve(solver="CLARABEL")
    ours = scenario_cvar(res.weights, R) + 0.002 * 2 * res.turnover / 252
    assert ours == pytest.approx(ref.value, abs=1e-6)
    locked = optimize(mu, cov, Objective("min_cvar"), dataclasses.replace(
        cons, locked=("AAPL",)), scenarios=R)  # fmt: skip
    assert locked.weights["AAPL"] == pytest.approx(w0["AAPL"], abs=1e-9)


def test_mean_cvar_frontier(window):
    R, mu, cov, _ = window
    cons = Constraints(weight_bounds=(0.0, 0.3))
    front = mean_cvar_frontier(mu, R, cons, n_points=8)
    assert len(front) == 8
    assert np.all(np.diff(front["expected_return"]) > 0)
    assert np.all(np.diff(front["cvar"]) >= -1e-10)
    low = optimize(mu, cov, Objective("min_cvar"), cons, scenarios=R)
    assert front["cvar"].iloc[0] == pytest.approx(scenario_cvar(low.weights, R), abs=1e-9)
    top = optimize(mu, cov, Objective("max_return"), cons)
    assert front["expected_return"].iloc[-1] == pytest.approx(top.expected_return, abs=1e-8)
    # a middle point against cvxpy
    target = float(front["expected_return"].iloc[4])
    w, risk, c = _cvxpy_cvar(R.to_numpy(), 0.95, upper=0.3)
    ref = cp.Problem(cp.Minimize(risk), [*c, mu.to_numpy() @ w >= target])
    ref.solve(solver="CLARABEL")
    assert front["cvar"].iloc[4] == pytest.approx(ref.value, abs=1e-6)


def test_simulated_scenarios_are_seeded_and_fit_the_moments(window):
    R, mu, cov, _ = window
    a = simulate_scenarios(R, 20_000, "student_t", seed=3)
    b = simulate_scenarios(R, 20_000, "student_t", seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(R.columns)
    sample_cov = R.cov().to_numpy()
    normal = simulate_scenarios(R, 20_000, "normal", seed=3)
    assert np.abs(normal.cov().to_numpy() - sample_cov).max() < 0.05 * np.abs(sample_cov).max()
    assert simulate_scenarios(R, 5_000, "student_t", dof=5.0, seed=4).kurt().mean() > 2
    res = optimize(mu, cov, Objective("min_cvar"), Constraints(),
                   scenarios=simulate_scenarios(R, 2_000, "normal", seed=1))  # fmt: skip
    assert res.weights.sum() == pytest.approx(1.0)


def test_lazy_cdar_rows_give_the_full_program_optimum(window):
    """Drawdown rows generated as needed reach the running-peak form's optimum (all rows)."""
    from core.scenario_optimization import solve_scenario_problem

    R, mu, _, sectors = window
    cons = Constraints(weight_bounds=(0.0, 0.2), sectors=sectors,
                       sector_bounds={"Energy": (0.05, 0.1)})
    lin = cons.linear_form(list(R.columns))
    lazy = solve_scenario_problem("min_cdar", mu.to_numpy(), R.to_numpy(), lin, cons)
    full = solve_scenario_problem("min_cdar", mu.to_numpy(), R.to_numpy(), lin, cons,
                                  max_cvar=1.0)  # a limit that never binds: every row
    assert lazy.objective_value == pytest.approx(full.objective_value, abs=1e-10)
    assert lazy.cdar == pytest.approx(lazy.objective_value, abs=1e-12)
