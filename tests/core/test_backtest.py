"""Walk-forward backtest: buy-and-hold identity, no look-ahead, exact costs, estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import estimators
from core.backtest import (
    BUY_AND_HOLD,
    EQUAL_WEIGHT,
    STRATEGY,
    rebalance_positions,
    run_backtest,
    window_estimates,
)
from core.exceptions import BacktestError
from core.optimization import Objective

TICKERS = ["AAPL", "JNJ", "KO", "XOM", "JPM", "WMT"]
OBJ = Objective("max_sharpe", risk_free_rate=0.0)


@pytest.fixture(scope="module")
def prices(sample):
    return sample.prices.loc["2014-01-01":"2019-12-31", TICKERS]


@pytest.fixture(scope="module")
def monthly(prices, sample):
    return run_backtest(prices, OBJ, schedule="monthly", lookback=252, cost_bps=0.0,
                        benchmark=sample.benchmark)  # fmt: skip


def test_no_rebalancing_zero_costs_is_buy_and_hold_by_hand(prices):
    res = run_backtest(prices, OBJ, schedule="never", lookback=252, cost_bps=0.0)
    w0 = res.weights.iloc[0]
    t0 = res.equity.index[0]
    rel = prices.loc[t0:] / prices.loc[t0]
    by_hand = rel @ w0
    np.testing.assert_allclose(res.equity[STRATEGY], by_hand, rtol=1e-12)
    np.testing.assert_allclose(res.equity[STRATEGY], res.equity[BUY_AND_HOLD], rtol=0, atol=0)
    assert len(res.weights) == 1


def test_no_look_ahead(prices):
    t = pd.Timestamp("2016-06-30")
    base = run_backtest(prices, OBJ, schedule="monthly", lookback=252, cost_bps=0.0)
    rng = np.random.default_rng(1)
    changed = prices.copy()
    after = changed.index > t
    changed.loc[after] = changed.loc[after] * rng.uniform(0.5, 1.5, size=changed.loc[after].shape)
    alt = run_backtest(changed, OBJ, schedule="monthly", lookback=252, cost_bps=0.0)
    before = base.weights.index <= t
    assert before.sum() > 10
    pd.testing.assert_frame_equal(base.weights[before], alt.weights[alt.weights.index <= t])
    # ... and the changed future does change later choices.
    assert not np.allclose(base.weights[~before].to_numpy(), alt.weights[alt.weights.index > t])


def test_costs_reduce_returns_by_traded_value_times_rate(prices, monthly):
    bps = 25.0
    costly = run_backtest(prices, OBJ, schedule="monthly", lookback=252, cost_bps=bps)
    pd.testing.assert_frame_equal(monthly.weights, costly.weights)
    ev = costly.events[costly.events["portfolio"] == STRATEGY].set_index("date")
    np.testing.assert_allclose(ev["cost"], ev["traded_value"] * bps / 10_000, rtol=1e-12)
    # Per day: r_zero - r_cost = cost_t / V_{t-1} on trade dates, 0 elsewhere.
    value = costly.equity[STRATEGY]
    diff = monthly.returns[STRATEGY] - costly.returns[STRATEGY]
    expected = ev["cost"].reindex(diff.index).fillna(0.0) / value.shift(1).reindex(diff.index)
    np.testing.assert_allclose(diff, expected, atol=1e-13)
    # The initial investment: 1 = V0 + c V0.
    assert value.iloc[0] == pytest.approx(1 / (1 + bps / 10_000), rel=1e-14)
    before = value.loc[ev.index] + ev["cost"]
    years = len(costly.returns) / 252
    assert costly.summary.loc["costs", STRATEGY] == pytest.approx(
        (ev["cost"] / before).sum() / years
    )
    assert costly.summary.loc["turnover", STRATEGY] > 0


def test_equal_weight_monthly_by_hand(prices, monthly):
    t0 = monthly.equity.index[0]
    month_end = monthly.events[monthly.events["portfolio"] == EQUAL_WEIGHT]["date"].iloc[1]
    rel = prices.loc[t0:month_end] / prices.loc[t0]
    np.testing.assert_allclose(monthly.equity.loc[:month_end, EQUAL_WEIGHT], rel.mean(axis=1),
                               rtol=1e-12)  # fmt: skip


def test_results_shapes_and_benchmark(monthly, sample):
    eq = monthly.equity
    assert list(eq.columns) == [STRATEGY, BUY_AND_HOLD, EQUAL_WEIGHT, "SP500"]
    assert (eq.iloc[0] == 1.0).all()
    np.testing.assert_allclose(monthly.weights.sum(axis=1), 1.0, atol=1e-9)
    ends = monthly.weights.index[1:]  # after the initial investment: last days of months
    assert (ends[1:].month != ends[:-1].month).all() and len(ends) >= 50
    assert monthly.yearly.index.min() == eq.index[0].year
    assert "information_ratio" in monthly.summary.index


def test_threshold_rebalances_only_when_a_weight_leaves_the_band(prices):
    res = run_backtest(prices, OBJ, schedule="threshold", drift_band=0.05, lookback=252,
                       cost_bps=0.0)  # fmt: skip
    ev = res.events[res.events["portfolio"] == EQUAL_WEIGHT]["date"].tolist()
    assert len(ev) >= 2
    # Between the first two trades every equal weight stays within 1/n +- 5 %.
    rel = prices.loc[ev[0] : ev[1]] / prices.loc[ev[0]]
    w = rel.div(rel.sum(axis=1), axis=0)
    dev = (w - 1 / len(TICKERS)).abs().max(axis=1)
    assert (dev.iloc[:-1] <= 0.05).all() and dev.iloc[-1] > 0.05


@pytest.mark.parametrize("mu_m", ["mean_historical", "ema_historical"])
@pytest.mark.parametrize("cov_m", ["sample", "ledoit_wolf", "oas", "exp_cov"])
def test_fast_estimates_equal_core_estimators(prices, mu_m, cov_m):
    window = prices.iloc[100:400]
    rets = estimators.returns_from_prices(window).to_numpy()
    mu, cov = window_estimates(rets, mu_m, cov_m)
    np.testing.assert_allclose(mu, estimators.expected_returns(window, mu_m), rtol=1e-10)
    np.testing.assert_allclose(cov, estimators.covariance(window, cov_m), rtol=1e-9, atol=1e-14)


def test_slow_estimator_path_runs(prices, sample):
    res = run_backtest(prices.iloc[:600], OBJ, schedule="quarterly", lookback=252,
                       returns_method="capm", cov_method="exp_cov",
                       benchmark=sample.benchmark)  # fmt: skip
    assert len(res.weights) >= 3


def test_bad_inputs(prices, sample):
    with pytest.raises(BacktestError, match="longer than the data"):
        run_backtest(prices, OBJ, lookback=len(prices))
    with pytest.raises(BacktestError, match="no overlap"):
        run_backtest(prices, OBJ, lookback=252, benchmark=sample.benchmark.loc[:"2010-01-01"])
    with pytest.raises(BacktestError, match="Unknown schedule"):
        run_backtest(prices, OBJ, lookback=252, schedule="weekly")
    with pytest.raises(BacktestError, match="No dates are left"):
        run_backtest(prices, OBJ, lookback=252, start="2030-01-01")


def test_rebalance_positions_are_period_ends():
    idx = pd.bdate_range("2020-01-01", "2020-12-31")
    pos = rebalance_positions(idx, "quarterly", 0)
    assert [idx[p].strftime("%m-%d") for p in pos] == ["01-01", "03-31", "06-30", "09-30"]


def test_benchmark_objectives_backtest_against_the_index(prices, sample):
    # Minimum tracking error: at each date the assets and the index are estimated together on
    # the window and (w - b)' Sigma (w - b) is minimised; checked against cvxpy (Clarabel).
    import cvxpy as cp

    name = str(sample.benchmark.name)
    obj = Objective("min_tracking_error", benchmark_weights={name: 1.0})
    res = run_backtest(prices, obj, schedule="quarterly", lookback=252, cost_bps=0.0,
                       benchmark=sample.benchmark)  # fmt: skip
    assert not res.notes, res.notes
    assert list(res.weights.columns) == TICKERS
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, atol=1e-9)
    t = prices.index.get_loc(res.weights.index[1])
    window = prices.iloc[t - 252 : t + 1].assign(**{name: sample.benchmark.reindex(
        prices.index).iloc[t - 252 : t + 1].to_numpy()})  # fmt: skip
    cov = estimators.covariance(window, "ledoit_wolf").to_numpy()
    w = cp.Variable(len(TICKERS))
    active = cp.hstack([w, -np.ones(1)])
    cp.Problem(cp.Minimize(cp.quad_form(active, cp.psd_wrap(cov))),
               [cp.sum(w) == 1, w >= 0]).solve(solver="CLARABEL")  # fmt: skip
    a = np.append(res.weights.iloc[1].to_numpy(), -1.0)
    assert a @ cov @ a <= float(active.value @ cov @ active.value) * (1 + 1e-6)
    ir = Objective("max_information_ratio", benchmark_weights={name: 1.0})
    assert not run_backtest(prices, ir, schedule="quarterly", lookback=252,
                            benchmark=sample.benchmark).notes  # fmt: skip
    with pytest.raises(BacktestError, match="benchmark"):
        run_backtest(prices, obj, schedule="quarterly", lookback=252)
