"""Mixed-integer optimiser against exhaustive enumeration of supports, on the sample.

Every reference solves the continuous problem on each support (or each set of issuers allowed
above the UCITS threshold) with Ballast's exact continuous engines, and keeps the best; the
mixed-integer solve (SCIP) must match it within 1e-8.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd
import pytest

from core import compliance
from core.constraints import Constraints
from core.exceptions import InfeasibleConstraintsError, OptimizationError
from core.execution import whole_share_orders
from core.optimization import Objective, optimize

pytest.importorskip("pyscipopt")

# A generous time limit: on a loaded machine the default 5 s could stop a solve before its proof.
MIP = functools.partial(Constraints, time_limit=120.0)


@pytest.fixture(scope="module")
def small(sample_estimates):
    mu, cov = sample_estimates
    names = list(mu.index[:8])
    return mu[names], cov.loc[names, names]


def _best_over_supports(mu, cov, kind, size, lower=0.0):
    best = None
    names = list(mu.index)
    for k in range(1, size + 1):
        for support in itertools.combinations(names, k):
            s = list(support)
            bounds = {t: (lower, 1.0) for t in s}
            try:
                r = optimize(mu[s], cov.loc[s, s], kind, Constraints(asset_bounds=bounds))
            except InfeasibleConstraintsError:
                continue
            score = r.sharpe_ratio if kind == "max_sharpe" else -r.volatility
            if best is None or score > best[0]:
                best = (score, r)
    return best


@pytest.mark.parametrize("kind", ["max_sharpe", "min_volatility"])
def test_cardinality_equals_enumeration(small, kind):
    mu, cov = small
    score, _ = _best_over_supports(mu, cov, kind, 3)
    r = optimize(mu, cov, kind, MIP(max_holdings=3))
    assert (r.weights > compliance.HELD).sum() <= 3
    got = r.sharpe_ratio if kind == "max_sharpe" else -r.volatility
    assert got == pytest.approx(score, abs=1e-8)
    assert r.mip_gap <= 1e-6 and r.mip_status.startswith("optimal")


def test_minimum_position_equals_enumeration(small):
    mu, cov = small
    m = 0.15
    score, _ = _best_over_supports(mu, cov, "max_sharpe", 6, lower=m)
    r = optimize(mu, cov, "max_sharpe", MIP(min_position=m))
    held = r.weights[r.weights > compliance.HELD]
    assert (held >= m - 1e-9).all()
    assert r.sharpe_ratio == pytest.approx(score, abs=1e-8)


def test_ucits_max_sharpe_equals_enumeration(small):
    """UCITS at 8 assets needs cash (4 x 10 % + 4 x 5 % = 60 %): allow up to 45 %."""
    mu, cov = small
    names = list(mu.index)
    cash = (0.0, 0.45)
    best = -np.inf
    for k in range(0, 5):  # at most four issuers above 5 % (each above 5 %, all within 40 %)
        for big in itertools.combinations(names, k):
            bounds = {t: (0.0, 0.10 if t in big else 0.05) for t in names}
            sectors = {t: "big" for t in big}
            cons = Constraints(asset_bounds=bounds, sectors=sectors,
                               sector_bounds={"big": (0.0, 0.40)} if big else {},
                               cash_bounds=cash)  # fmt: skip
            try:
                best = max(best, optimize(mu, cov, "max_sharpe", cons).sharpe_ratio)
            except InfeasibleConstraintsError:
                continue
    r = optimize(mu, cov, "max_sharpe", MIP(rules=("ucits",), cash_bounds=cash))
    assert compliance.check(r.weights, ["ucits"])["status"].tolist() == ["pass"]
    assert r.sharpe_ratio == pytest.approx(best, abs=1e-8)


def test_ucits_on_the_whole_sample_holds_exactly(sample_estimates):
    mu, cov = sample_estimates
    r = optimize(mu, cov, "max_sharpe", MIP(rules=("ucits",)))
    w = r.weights
    assert w.max() <= 0.10 + 1e-9
    assert w[w > 0.05 + 1e-9].sum() <= 0.40 + 1e-9
    assert w.sum() == pytest.approx(1.0, abs=1e-9)
    assert r.mip_gap <= 1e-6
    plain = optimize(mu, cov, "max_sharpe")
    assert r.sharpe_ratio <= plain.sharpe_ratio + 1e-9


@pytest.mark.parametrize("kind", ["max_sharpe", "min_volatility"])
def test_whole_shares_beat_rounding_afterwards(sample_estimates, sample_window, kind):
    mu, cov = sample_estimates
    prices = sample_window.prices.iloc[-1]
    capital = 20_000.0
    r = optimize(mu, cov, kind, MIP(whole_shares=(capital, prices)))
    spent = float((r.shares * prices).sum())
    assert spent <= capital + 1e-6
    assert (r.shares >= 0).all() and r.shares.dtype.kind == "i"
    cont = optimize(mu, cov, kind)
    rounded = whole_share_orders(cont.weights, prices, capital).orders["achieved_weight"]
    vol = float(np.sqrt(rounded @ cov.to_numpy() @ rounded))
    if kind == "max_sharpe":
        assert r.sharpe_ratio >= float(rounded @ mu) / vol - 1e-9
    else:
        assert r.volatility <= vol + 1e-9


def test_other_objectives_and_a_time_limit(sample_estimates):
    mu, cov = sample_estimates
    cons = MIP(max_holdings=6, min_position=0.05)
    r = optimize(mu, cov, Objective("target_return", target_return=0.25), cons)
    assert r.expected_return >= 0.25 - 1e-9 and (r.weights > 0).sum() <= 6
    u = optimize(mu, cov, Objective("max_utility", risk_aversion=3.0), cons)
    assert (u.weights[u.weights > 0] >= 0.05 - 1e-9).all()
    with pytest.raises(InfeasibleConstraintsError, match="target return"):
        optimize(mu, cov, Objective("target_return", target_return=0.9), cons)


def test_a_time_limit_returns_the_best_portfolio_found_and_its_gap():
    rng = np.random.default_rng(3)
    n = 80
    beta = rng.normal(1.0, 0.3, n)
    cov = np.outer(beta, beta) * 0.16**2 + np.diag(rng.uniform(0.15, 0.4, n) ** 2)
    names = [f"S{i}" for i in range(n)]
    mu = pd.Series(0.02 + 0.05 * beta + rng.normal(0, 0.03, n), index=names)
    cov = pd.DataFrame(cov, index=names, columns=names)
    try:
        r = optimize(mu, cov, "max_sharpe", Constraints(max_holdings=8, weight_bounds=(0, 0.25),
                                                        time_limit=2.0))  # fmt: skip
    except OptimizationError as exc:  # a loaded machine: not even a first portfolio in 2 s
        assert "time limit of 2 s" in str(exc)
        return
    assert r.mip_gap >= 0 and (r.mip_status.startswith(("time limit", "optimal")))
    assert (r.weights > 1e-6).sum() <= 8 and r.weights.sum() == pytest.approx(1.0, abs=1e-9)
    assert r.weights.max() <= 0.25 + 1e-9
