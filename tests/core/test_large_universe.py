"""Large universes (1,000 assets): estimators stay positive definite, the engine stays fast.

References: PyPortfolioOpt's pairwise ``exp_cov`` (the vectorised one must equal it) and
Ledoit-Wolf (the fallback when there are no more returns than assets).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def test_weights_chart_shows_top_holdings_and_aggregates_the_rest():
    from core.charts import correlation_heatmap, weights_bar

    w = pd.Series(np.r_[np.linspace(0.05, 0.01, 40), np.full(960, 0.2 / 960)],
                  index=[f"A{i:04d}" for i in range(1000)])  # fmt: skip
    w = w / w.sum()
    fig = weights_bar(w, top=40)
    bar = fig.data[0]
    assert len(bar.x) == 41 and bar.x[-1] == "Other (960 assets)"
    assert float(np.sum(bar.y)) == pytest.approx(1.0)
    assert list(bar.x[:3]) == ["A0000", "A0001", "A0002"]
    small = weights_bar(w.iloc[:20] / w.iloc[:20].sum())
    assert len(small.data[0].x) == 20
    corr = pd.DataFrame(np.eye(1000), index=w.index, columns=w.index)
    heat = correlation_heatmap(corr)
    assert np.asarray(heat.data[0].z).shape == (100, 100)
    assert "first 100 of 1,000 assets" in heat.layout.title.text


@pytest.mark.parametrize("method", ["ledoit_wolf", "oas"])
def test_shrinkage_equals_pypfopt(method):
    prices = factor_model_prices(30, 200, seed=4)
    shrunk = risk_models.CovarianceShrinkage(prices)
    theirs = shrunk.ledoit_wolf() if method == "ledoit_wolf" else shrunk.oracle_approximating()
    ours = estimators.covariance(prices, method)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-12, atol=1e-15)
