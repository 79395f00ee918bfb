"""Comparison of designs: Sharpe tests against the published example, walk-forward identities."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import black_litterman as bl
from core.backtest import EQUAL_WEIGHT, STRATEGY, run_backtest, window_estimates
from core.comparison import (
    MAX_DESIGNS,
    Design,
    compare_designs,
    sharpe_confidence_interval,
    sharpe_difference_hac,
    sharpe_difference_jobson_korkie,
)
from core.constraints import Constraints
from core.exceptions import BacktestError
from core.optimization import Objective, optimal_weights

HEDGE = Path(__file__).resolve().parents[1] / "data" / "ledoit_wolf_2008_hedge.csv"
TICKERS = ["AAPL", "JNJ", "KO", "XOM", "JPM", "WMT"]
OBJ = Objective("max_sharpe", risk_free_rate=0.01)


@pytest.fixture(scope="module")
def hedge():
    return pd.read_csv(HEDGE, comment="#")


def test_ledoit_wolf_hac_reproduces_the_authors_example(hedge):
    """Ledoit & Wolf (2008), hedge-fund example; figures printed by the authors' R code
    (``hac.inference(ret.hedge)``): SR 1.014228 and 1.460547, difference -0.4463183, standard
    errors 0.3176271 (HAC) and 0.3872694 (prewhitened), p-values 0.160 and 0.249."""
    plain = sharpe_difference_hac(hedge.fund1, hedge.fund2)
    pw = sharpe_difference_hac(hedge.fund1, hedge.fund2, prewhiten=True)
    assert plain.difference == pytest.approx(-0.4463183, abs=1e-7)
    assert plain.standard_error == pytest.approx(0.3176271, abs=1e-7)
    assert pw.standard_error == pytest.approx(0.3872694, abs=1e-7)
    assert round(plain.p_value, 3) == 0.160 and round(pw.p_value, 3) == 0.249
    assert plain.p_value == pytest.approx(0.1599724, abs=1e-7)


def test_jobson_korkie_memmel_by_hand():
    """Memmel's (2003) statistic from sums written out term by term."""
    r1 = [0.02, -0.01, 0.03, 0.015, -0.005, 0.01, 0.025, -0.02, 0.005, 0.012, 0.018, -0.007]
    r2 = [0.01, 0.004, 0.012, -0.003, 0.006, 0.009, 0.002, -0.004, 0.011, 0.003, 0.007, 0.001]
    T = len(r1)
    m1, m2 = sum(r1) / T, sum(r2) / T
    v1 = sum((a - m1) ** 2 for a in r1) / (T - 1)
    v2 = sum((b - m2) ** 2 for b in r2) / (T - 1)
    c12 = sum((a - m1) * (b - m2) for a, b in zip(r1, r2, strict=True)) / (T - 1)
    s1, s2 = math.sqrt(v1), math.sqrt(v2)
    theta = (2 * v1 * v2 - 2 * s1 * s2 * c12 + 0.5 * m1**2 * v2 + 0.5 * m2**2 * v1
             - m1 * m2 / (2 * s1 * s2) * (c12**2 + v1 * v2)) / T  # fmt: skip
    z = (s2 * m1 - s1 * m2) / math.sqrt(theta)
    p = math.erfc(abs(z) / math.sqrt(2))
    test = sharpe_difference_jobson_korkie(r1, r2)
    assert test.statistic == pytest.approx(z, rel=1e-12)
    assert test.p_value == pytest.approx(p, rel=1e-10)
    assert test.difference == pytest.approx(m1 / s1 - m2 / s2, rel=1e-12)


def test_tests_agree_on_iid_normal_returns():
    """Under i.i.d. normality the HAC and Jobson-Korkie-Memmel standard errors coincide."""
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.6], [0.6, 1.5]]) * 1e-4
    x = rng.multivariate_normal([5e-4, 3e-4], cov, size=20_000)
    hac = sharpe_difference_hac(x[:, 0], x[:, 1])
    jk = sharpe_difference_jobson_korkie(x[:, 0], x[:, 1])
    assert hac.standard_error == pytest.approx(jk.standard_error, rel=0.05)
    assert hac.difference == pytest.approx(jk.difference, rel=1e-12)


def test_sharpe_interval_normal_case_is_lo():
    rng = np.random.default_rng(1)
    r = rng.normal(4e-4, 1e-2, size=5_000)
    lo, hi = sharpe_confidence_interval(r, 0.0, 0.95, 252)
    sr = r.mean() / r.std(ddof=1)
    half = 1.959964 * math.sqrt((1 + sr**2 / 2) / len(r)) * math.sqrt(252)
    assert (lo + hi) / 2 == pytest.approx(sr * math.sqrt(252), rel=1e-12)
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.02)  # skew and kurtosis near 0 and 3


@pytest.fixture(scope="module")
def prices(sample):
    return sample.prices.loc["2014-01-01":"2019-12-31", TICKERS]


@pytest.fixture(scope="module")
def caps(sample):
    return sample.market_caps.reindex(TICKERS)


@pytest.fixture(scope="module")
def comparison(prices, caps, sample):
    designs = [
        Design("Equal", "equal_weight"),
        Design("Max Sharpe", objective=OBJ),
        Design("Min vol 30%", objective=Objective("min_volatility"),
               constraints=Constraints(weight_bounds=(0.0, 0.3))),
        Design("Caps", "market_cap", market_caps=caps),
        Design("BL prior", "black_litterman", objective=OBJ, market_caps=caps, delta=2.5),
    ]  # fmt: skip
    seen = []
    out = compare_designs(prices, designs, lookback=252, cost_bps=10.0, risk_free_rate=0.01,
                          benchmark=sample.benchmark,
                          progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    return out, seen


def test_designs_equal_the_single_backtest(comparison, prices):
    out, seen = comparison
    bt = run_backtest(prices, OBJ, schedule="monthly", lookback=252, cost_bps=10.0)
    np.testing.assert_allclose(out.equity["Max Sharpe"], bt.equity[STRATEGY], rtol=1e-12)
    np.testing.assert_allclose(out.equity["Equal"], bt.equity[EQUAL_WEIGHT], rtol=1e-12)
    # One-way turnover: half the backtest's traded value over value, per year.
    later = bt.events[bt.events["portfolio"] == STRATEGY].iloc[1:]
    years = (len(bt.equity) - 1) / 252
    assert out.metrics.loc["Max Sharpe", "turnover"] == pytest.approx(
        later["turnover"].sum() / 2 / years, rel=1e-12)
    assert out.metrics.loc["Max Sharpe", "costs"] == pytest.approx(
        bt.summary.loc["costs", STRATEGY], rel=1e-9)
    assert seen[-1] == (seen[-1][1], seen[-1][1]) and len(seen) == seen[-1][1]


def test_metrics_by_hand(comparison):
    out, _ = comparison
    eq = out.equity["Min vol 30%"]
    years = (len(eq) - 1) / 252
    m = out.metrics.loc["Min vol 30%"]
    growth = eq.iloc[-1] / eq.iloc[0]  # from the first close, after the initial costs
    assert m["annualized_return"] == pytest.approx(growth ** (1 / years) - 1, rel=1e-10)
    assert m["max_drawdown"] == pytest.approx(float((1 - eq / eq.cummax()).max()), rel=1e-10)
    assert m["max_drawdown"] > 0 and m["cvar"] > 0
    assert m["sharpe_low"] < m["sharpe_ratio"] < m["sharpe_high"]
    assert (out.results["Min vol 30%"].weights.to_numpy() <= 0.3 + 1e-9).all()


def test_market_cap_is_a_cap_weighted_index(comparison, prices, caps):
    out, _ = comparison
    res = out.results["Caps"]
    assert res.metrics["turnover"] < 1e-12  # the weights drift with prices: no trades
    t = res.weights.index[5]
    w = caps * prices.loc[t] / prices.iloc[-1]
    np.testing.assert_allclose(res.weights.loc[t], w / w.sum(), rtol=1e-12)


def test_black_litterman_prior_design_by_hand(comparison, prices, caps):
    out, _ = comparison
    res = out.results["BL prior"]
    px = prices.to_numpy()
    rets = px[1:] / px[:-1] - 1
    first = res.weights.index[0]
    t = prices.index.get_loc(first)
    _, cov = window_estimates(rets[t - 252 : t], "mean_historical", "ledoit_wolf")
    cov_df = pd.DataFrame(cov, index=TICKERS, columns=TICKERS)
    caps_then = caps * prices.loc[first] / prices.iloc[-1]  # the caps at that date
    prior = bl.market_implied_returns(cov_df, bl.market_weights(caps_then, TICKERS), 2.5, 0.01)
    lin = Constraints().linear_form(TICKERS)
    w = optimal_weights(prior.to_numpy(), cov, OBJ, lin)
    np.testing.assert_allclose(res.weights.iloc[0], w, atol=1e-12)


def test_test_table(comparison):
    out, _ = comparison
    tests = out.tests
    assert out.baseline == "Equal" and "Equal" not in tests.index
    assert list(tests.index) == ["Max Sharpe", "Min vol 30%", "Caps", "BL prior"]
    assert tests[["p_value", "p_hac", "p_hac_prewhitened", "p_jobson_korkie"]].apply(
        lambda c: c.between(0, 1)).all().all()
    diff = out.metrics["sharpe_ratio"] - out.metrics.loc["Equal", "sharpe_ratio"]
    np.testing.assert_allclose(tests["sharpe_difference"], diff[tests.index], rtol=1e-9)
    assert out.benchmark is not None and out.benchmark.iloc[0] == pytest.approx(1.0)


def test_bad_inputs(prices, caps):
    ew = Design("Equal", "equal_weight")
    with pytest.raises(BacktestError, match="at most"):
        compare_designs(prices, [Design(f"d{i}", "equal_weight") for i in range(MAX_DESIGNS + 1)])
    with pytest.raises(BacktestError, match="own name"):
        compare_designs(prices, [ew, ew], lookback=252)
    with pytest.raises(BacktestError, match="baseline"):
        compare_designs(prices, [ew], baseline="nope", lookback=252)
    with pytest.raises(BacktestError, match="calendar"):
        compare_designs(prices, [ew], schedule="threshold", lookback=252)
    with pytest.raises(BacktestError, match="Caps: no positive market capitalisation for AAPL"):
        partial = Design("Caps", "market_cap", market_caps=caps.drop("AAPL"))
        compare_designs(prices, [ew, partial], lookback=252)
    with pytest.raises(BacktestError, match="longer than the data"):
        compare_designs(prices, [ew], lookback=10_000)
    with pytest.raises(BacktestError, match="Unknown design"):
        Design("x", "momentum")
    bench = Objective("min_tracking_error", benchmark_weights={"SP500": 1.0})
    with pytest.raises(BacktestError, match="needs a benchmark"):
        compare_designs(prices, [ew, Design("TE", objective=bench)], lookback=252)


def test_any_objective_optimize_accepts_is_a_design(prices):
    """Scenario objectives get each window's daily returns as their scenarios."""
    from core.backtest import window_estimates as fast
    from core.optimization import optimize

    designs = [Design("Equal", "equal_weight"), Design("Min CVaR", objective=Objective("min_cvar")),
               Design("HRP", objective=Objective("hrp"))]  # fmt: skip
    out = compare_designs(prices, designs, lookback=252, schedule="yearly")
    px = prices.to_numpy()
    for name in ("Min CVaR", "HRP"):
        res = out.results[name]
        assert not res.notes
        t = prices.index.get_loc(res.weights.index[0])
        rets = px[t - 251 : t + 1] / px[t - 252 : t] - 1
        mu, cov = fast(rets, "mean_historical", "ledoit_wolf")
        window = pd.DataFrame(rets, columns=TICKERS, index=prices.index[t - 251 : t + 1])
        expected = optimize(pd.Series(mu, index=TICKERS),
                            pd.DataFrame(cov, index=TICKERS, columns=TICKERS),
                            designs[1 if name == "Min CVaR" else 2].objective, Constraints(),
                            scenarios=window).weights  # fmt: skip
        np.testing.assert_allclose(res.weights.iloc[0], expected.to_numpy(), atol=1e-9)
