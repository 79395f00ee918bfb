"""Large universes (1,000 assets): estimators stay positive definite, the engine stays fast.

References: PyPortfolioOpt's pairwise ``exp_cov`` (the vectorised one must equal it) and
Ledoit-Wolf (the fallback when there are no more returns than assets).
"""

from __future__ import annotations

import numpy as np
import pytest
from pypfopt import risk_models

from core import estimators
from core.frontier import efficient_frontier
from core.optimization import Objective, optimize
from core.synthetic import factor_model_prices


@pytest.fixture(scope="module")
def wide():
    """1,000 assets, 500 observations: fewer returns than assets."""
    return factor_model_prices(1000, 500, seed=1)


def test_exp_cov_equals_pypfopt_pairwise():
    prices = factor_model_prices(25, 300, seed=3)
    ours = estimators.covariance(prices, "exp_cov", span=60)
    theirs = risk_models.exp_cov(prices, span=60)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("method", ["sample", "exp_cov", "semicovariance"])
def test_singular_estimators_fall_back_to_shrinkage(wide, method):
    note = estimators.covariance_fallback(wide, method)
    assert note and "500 returns for 1,000 assets" in note and "Ledoit-Wolf" in note
    cov = estimators.covariance(wide, method)
    np.linalg.cholesky(cov.to_numpy())  # positive definite
    lw = estimators.covariance(wide, "ledoit_wolf")
    np.testing.assert_allclose(cov.to_numpy(), lw.to_numpy())


def test_no_fallback_with_enough_returns():
    prices = factor_model_prices(20, 100, seed=2)
    assert estimators.covariance_fallback(prices, "sample") is None
    assert estimators.covariance_fallback(factor_model_prices(200, 100), "ledoit_wolf") is None


def test_thousand_asset_allocation_and_frontier(wide):
    mu = estimators.expected_returns(wide)
    cov = estimators.covariance(wide, "ledoit_wolf")
    result = optimize(mu, cov, Objective("max_sharpe"))
    w = result.weights
    assert w.sum() == pytest.approx(1.0, abs=1e-9)
    assert (w >= -1e-12).all()
    held = int((w > 1e-9).sum())
    assert 1 < held < 200  # long-only optima are sparse
    # one multiplier per binding floor (the assets not held), plus none for the budget's sign
    floors = [k for k in result.shadow_prices.index if k.endswith("at least 0.0%")]
    assert 0.9 * (1000 - held) <= len(floors) <= 1000 - held
    frontier = efficient_frontier(mu, cov, n_points=20)
    assert len(frontier.to_frame()) == 20
    assert frontier.tangency.sharpe_ratio == pytest.approx(result.sharpe_ratio, rel=1e-6)
