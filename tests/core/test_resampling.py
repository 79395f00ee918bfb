"""Resampled frontier: identical for a seed, rank averaging by hand, constraints, bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import estimators
from core.constraints import Constraints
from core.exceptions import EstimationError, InfeasibleConstraintsError, OptimizationError
from core.executor import InProcessExecutor, JobCancelledError
from core.frontier import efficient_frontier, frontier_weights
from core.resampling import resample_blocks, resampled_frontier

TICKERS = ["AAPL", "JNJ", "KO", "XOM", "JPM", "WMT", "MSFT", "PG"]


@pytest.fixture(scope="module")
def returns(sample):
    prices = sample.prices.loc["2016-01-01":"2020-12-31", TICKERS]
    return estimators.returns_from_prices(prices)


def test_same_seed_gives_identical_frontier_whatever_the_blocks(returns):
    a = resampled_frontier(returns, n_resamples=24, n_points=15, seed=7)
    b = resampled_frontier(returns, n_resamples=24, n_points=15, seed=7, block_size=5)
    c = resampled_frontier(returns, n_resamples=24, n_points=15, seed=7, block_size=24)
    for other in (b, c):
        assert np.array_equal(a.weights.to_numpy(), other.weights.to_numpy())
        assert np.array_equal(a.returns, other.returns)
    d = resampled_frontier(returns, n_resamples=24, n_points=15, seed=8)
    assert not np.allclose(a.weights.to_numpy(), d.weights.to_numpy())


def test_rank_average_equals_frontiers_solved_one_by_one(returns):
    """Point k is the mean of point k of each resample's own frontier (by hand)."""
    n, k = 6, 10
    res = resampled_frontier(returns, n_resamples=n, n_points=k, seed=3, method="bootstrap")
    r = returns.to_numpy()
    children = np.random.SeedSequence(3).spawn(n)
    by_hand = []
    for seq in children:
        rows = np.random.default_rng(seq).integers(0, len(r), size=len(r))
        prices = pd.DataFrame(np.cumprod(np.vstack([np.ones(r.shape[1]), 1 + r[rows]]), axis=0),
                              columns=TICKERS)  # fmt: skip
        mu = estimators.expected_returns(prices, "mean_historical")
        cov = estimators.covariance(prices, "ledoit_wolf")
        by_hand.append(efficient_frontier(mu, cov, n_points=k).weights.to_numpy())
    np.testing.assert_allclose(res.weights.to_numpy(), np.mean(by_hand, axis=0), atol=1e-9)
    # Statistics are evaluated under the original estimates.
    w = res.weights.to_numpy()
    np.testing.assert_allclose(res.returns, w @ res.expected_returns.to_numpy(), rtol=1e-12)
    vol = np.sqrt(np.einsum("ij,jk,ik->i", w, res.cov.to_numpy(), w))
    np.testing.assert_allclose(res.volatilities, vol, rtol=1e-12)


def test_frontier_weights_match_efficient_frontier(sample_estimates):
    mu, cov = sample_estimates
    lin = Constraints(weight_bounds=(0.0, 0.3)).linear_form(list(mu.index))
    fast = frontier_weights(mu.to_numpy(), cov.to_numpy(), lin, 25)
    slow = efficient_frontier(mu, cov, Constraints(weight_bounds=(0.0, 0.3)), n_points=25)
    np.testing.assert_allclose(fast, slow.weights.to_numpy(), atol=1e-14)


def test_weights_respect_constraints_and_lie_inside_the_frontier(returns):
    sectors = {"AAPL": "Tech", "MSFT": "Tech", "JNJ": "Health", "KO": "Staples", "PG": "Staples",
               "WMT": "Staples", "XOM": "Energy", "JPM": "Financials"}  # fmt: skip
    cons = Constraints(weight_bounds=(0.02, 0.3), sectors=sectors,
                       sector_bounds={"Staples": (0.0, 0.4)})  # fmt: skip
    res = resampled_frontier(returns, cons, n_resamples=20, n_points=12, seed=1,
                             method="parametric")  # fmt: skip
    w = res.weights
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-9)
    assert (w.to_numpy() >= 0.02 - 1e-9).all() and (w.to_numpy() <= 0.3 + 1e-9).all()
    assert (w[["KO", "PG", "WMT"]].sum(axis=1) <= 0.4 + 1e-9).all()
    # Under the original estimates no portfolio beats the exact frontier: the resampled points
    # have at least its variance at their return.
    for ret, vol in zip(res.returns, res.volatilities, strict=True):
        assert vol >= res.frontier.portfolio_at_return(ret).volatility - 1e-9
    assert (res.weight_std.to_numpy() >= 0).all()
    assert res.to_frame().shape == (12, 3 + len(TICKERS))


def test_other_estimators_and_capm_with_benchmark(returns, sample):
    bench = sample.benchmark.pct_change().reindex(returns.index)
    res = resampled_frontier(returns, n_resamples=4, n_points=5, seed=2, returns_method="capm",
                             cov_method="semicovariance", benchmark=bench)  # fmt: skip
    assert np.isfinite(res.returns).all()
    with pytest.raises(EstimationError, match="benchmark"):
        resampled_frontier(returns, n_resamples=4, n_points=5, seed=2, returns_method="capm")


def test_progress_and_cancel(returns):
    seen = []
    resampled_frontier(returns, n_resamples=10, n_points=5, seed=1, block_size=4,
                       progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert seen == [(4, 10), (8, 10), (10, 10)]
    with pytest.raises(JobCancelledError):
        resampled_frontier(returns, n_resamples=10, n_points=5, seed=1, cancel=lambda: True,
                           executor=InProcessExecutor())  # fmt: skip


def test_task_is_reproducible_on_its_own(returns):
    seeds = np.random.SeedSequence(5).spawn(2)
    kw = dict(returns=returns.to_numpy(), benchmark=None, tickers=TICKERS, mu=None, cov=None,
              method="bootstrap", n_observations=200, n_points=4, constraints=Constraints(),
              returns_method="mean_historical", cov_method="sample", periods_per_year=252,
              risk_free_rate=0.0)  # fmt: skip
    one = resample_blocks(seeds, **kw)
    assert one.shape == (2, 4, len(TICKERS))
    assert np.array_equal(one[1], resample_blocks(seeds[1:], **kw)[0])


def test_bad_inputs(returns):
    with pytest.raises(OptimizationError, match="resamples"):
        resampled_frontier(returns, n_resamples=0)
    with pytest.raises(OptimizationError, match="two points"):
        resampled_frontier(returns, n_resamples=2, n_points=1)
    with pytest.raises(OptimizationError, match="method"):
        resampled_frontier(returns, n_resamples=2, method="jackknife")
    holed = returns.copy()
    holed.iloc[3, 1] = np.nan
    with pytest.raises(EstimationError, match="Missing"):
        resampled_frontier(holed, n_resamples=2)
    with pytest.raises(EstimationError, match="too few"):
        resampled_frontier(returns.iloc[:2], n_resamples=2)
    with pytest.raises(InfeasibleConstraintsError):
        resampled_frontier(returns, Constraints(weight_bounds=(0.0, 0.1)), n_resamples=2)
