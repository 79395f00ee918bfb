"""The mixed-integer time limit covers the whole call: SCIP gets what is left of the deadline
once its model is built (and the polishing after it is set aside), and a call that runs out of
time returns its best feasible portfolio rather than an error."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from core import mixed_integer as mi
from core.constraints import Constraints
from core.optimization import Objective, optimize

pytest.importorskip("pyscipopt")


def _factor_model(n: int = 100, seed: int = 1) -> tuple[pd.Series, pd.DataFrame]:
    """Five-factor synthetic universe (as the benchmarks use)."""
    rng = np.random.default_rng(seed)
    beta = np.column_stack([rng.normal(1.0, 0.25, n), rng.normal(0.0, 0.5, (n, 4))])
    cov = beta @ np.diag([0.16, 0.08, 0.06, 0.05, 0.04]) ** 2 @ beta.T
    cov += np.diag(rng.uniform(0.15, 0.45, n) ** 2)
    mu = 0.02 + beta @ np.array([0.05, 0.01, -0.005, 0.01, 0.0]) + rng.normal(0, 0.03, n)
    names = [f"S{i:03d}" for i in range(n)]
    return pd.Series(mu, index=names), pd.DataFrame(cov, index=names, columns=names)


def _knapsack(n: int = 30):
    rng = np.random.default_rng(0)
    z = cp.Variable(n, boolean=True)
    x = cp.Variable(n)
    target = rng.uniform(0, 1, n)
    return cp.Problem(cp.Minimize(cp.norm(x - target)), [x <= z, x >= 0, cp.sum(z) <= n // 3])


def test_scip_gets_what_is_left_of_the_deadline_once_its_model_is_built():
    clock = mi._Clock(60.0)
    clock.end -= 59.0  # one second left
    r = mi._solve(_knapsack(), "SCIP", clock)
    assert r["scip_status"] in ("optimal", "gaplimit", "timelimit")
    # set once cvxpy had compiled the problem and built SCIP's model: less than the second
    assert 1.0 - r["time"] <= r["limit"] < 1.0
    clock = mi._Clock(60.0)
    clock.end -= 59.0
    clock.polish = 0.4  # a polishing solve measured at 0.4 s: 1.25 x 0.4 + 0.02 set aside
    r = mi._solve(_knapsack(), "SCIP", clock, polish=True)
    assert r["limit"] <= 1.0 - 0.52


def test_a_call_out_of_time_returns_its_best_feasible_portfolio():
    mu, cov = _factor_model()
    cons = Constraints(weight_bounds=(0.0, 0.25), max_holdings=10, time_limit=0.1)
    res = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.02), cons)
    held = res.weights[res.weights > 1e-6]
    assert 1 <= len(held) <= 10 and (held <= 0.25 + 1e-9).all()
    assert res.mip_status.startswith("time limit") and res.mip_gap > 1e-6


def test_progress_reports_come_from_scip_while_it_searches(sample_estimates):
    mu, cov = sample_estimates
    reports = []
    cons = Constraints(max_holdings=5, time_limit=120.0)
    with mi.reporting(reports.append):
        res = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.02), cons)
    assert reports and reports[-1].final and not any(r.final for r in reports[:-1])
    last = reports[-1]
    # SCIP's own figures: 1 / primal bound, 1 / dual bound (the objective is 1 / S)
    assert last.sharpe == pytest.approx(res.sharpe_ratio, rel=1e-5)
    assert last.sharpe_bound >= last.sharpe * (1 - 1e-9) and last.gap <= 1e-6
    assert all(r.limit == 120.0 and 0 <= r.elapsed <= 120.0 for r in reports)
    found = [r for r in reports if r.sharpe is not None]
    assert all(b.sharpe >= a.sharpe - 1e-12 for a, b in zip(found, found[1:], strict=False))
    # outside the block nothing is reported
    optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.02), cons)
    assert reports[-1] is last


def test_a_failing_progress_display_does_not_stop_the_solve(sample_estimates):
    mu, cov = sample_estimates

    def broken(_):
        raise RuntimeError("display gone")

    with mi.reporting(broken):
        res = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.02),
                       Constraints(max_holdings=3, time_limit=120.0))  # fmt: skip
    assert (res.weights > 1e-6).sum() <= 3 and res.mip_gap <= 1e-6
