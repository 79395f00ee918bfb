"""Tests of core.stress on hand examples and the bundled sample."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core import risk, stress
from core.estimators import returns_from_prices
from core.exceptions import RiskInputError


@pytest.fixture(scope="module")
def equal(sample):
    return pd.Series(1 / 20, index=sample.tickers)


def test_scenario_path_hand_example():
    idx = pd.bdate_range("2020-01-01", periods=4)
    prices = pd.DataFrame({"A": [100, 110, 99, 120], "B": [50, 50, 40, 45]}, index=idx, dtype=float)
    w = pd.Series({"A": 0.5, "B": 0.5})
    path = stress.scenario_path(prices, w, idx[1], idx[3])
    # bought at the close before the window (day 0), buy and hold
    np.testing.assert_allclose(path, [1.0, 0.5 * 1.1 + 0.5, 0.5 * 0.99 + 0.4, 0.5 * 1.2 + 0.45])
    table, skipped = stress.historical_stress(prices, w, {}, custom={"mine": (idx[1], idx[3])})
    row = table.iloc[0]
    assert row["portfolio_return"] == pytest.approx(0.05)
    assert row["loss"] == pytest.approx(-0.05)
    assert row["worst_day"] == pytest.approx(0.895 / 1.05 - 1)
    assert row["max_drawdown"] == pytest.approx(1 - 0.895 / 1.05)
    assert row["trading_days"] == 3 and skipped == []


def test_builtin_scenarios_on_sample(sample, equal):
    table, skipped = stress.historical_stress(sample.prices, equal, benchmark=sample.benchmark)
    assert skipped == []  # the sample covers 1990-2022
    gfc = table.set_index("scenario").loc["2008-09 global financial crisis"]
    assert 0.3 < gfc["loss"] < 0.6 and gfc["max_drawdown"] >= gfc["loss"] - 1e-12
    assert gfc["benchmark_return"] < -0.5  # S&P 500 peak to trough: about -57 %
    covid = table.set_index("scenario").loc["2020 COVID crash"]
    assert str(covid["worst_day_date"]) == "2020-03-16"
    assert (table["max_drawdown"] >= -table["worst_day"] - 1e-12).all()


def test_scenarios_outside_the_window_are_skipped_custom_raise(sample, equal):
    recent = sample.prices.loc["2015":]
    table, skipped = stress.historical_stress(recent, equal)
    assert "1997 Asian crisis" in skipped and "2020 COVID crash" in set(table["scenario"])
    with pytest.raises(RiskInputError, match="outside the loaded data"):
        black_monday = {"Black Monday": ("1987-10-14", "1987-10-20")}
        stress.historical_stress(recent, equal, {}, custom=black_monday)
    with pytest.raises(RiskInputError, match="before the start"):
        stress.historical_stress(recent, equal, {}, custom={"x": ("2020-03-01", "2020-02-01")})


def test_hypothetical_shock(sample, equal):
    table = stress.hypothetical_shock(
        equal, {"AAPL": -0.3}, {"Energy": -0.2, "Information Technology": -0.1}, sample.sectors,
        portfolio_value=1_000_000,
    )  # fmt: skip
    # AAPL -30 % (own shock beats its sector), AMD and MSFT -10 %, CVX RRC XOM -20 %
    expected = 0.05 * (-0.3 - 0.1 * 2 - 0.2 * 3)
    assert table["pnl"].sum() == pytest.approx(expected)
    assert table["pnl_money"].sum() == pytest.approx(expected * 1e6)
    assert table.loc["AAPL", "source"] == "asset" and table.loc["MSFT", "source"] == "sector"
    assert table.loc["KO", "shock"] == 0 and table.loc["KO", "source"] == "none"
    with pytest.raises(RiskInputError, match="not in the portfolio"):
        stress.hypothetical_shock(equal, {"TSLA": -0.5})
    with pytest.raises(RiskInputError, match="-100 %"):
        stress.hypothetical_shock(equal, {"AAPL": -1.5})


def test_rolling_average_correlation_matches_pandas(sample):
    r = returns_from_prices(sample.prices.iloc[:400, :6])
    fast = stress.rolling_average_correlation(r, 63)
    iu = np.triu_indices(6, 1)
    for t in (0, 100, len(fast) - 1):
        block = r.iloc[t : t + 63].corr().to_numpy()
        assert fast.iloc[t] == pytest.approx(block[iu].mean(), abs=1e-10)
    assert fast.index[0] == r.index[62]


def test_push_correlation_keeps_volatility_and_kills_diversification(sample_window, equal):
    r = returns_from_prices(sample_window.prices)
    table = stress.correlation_stress(r, equal, 0.99, 1, strengths=(0.0, 0.5, 1.0))
    base, full = table.iloc[0], table.iloc[-1]
    p = risk.portfolio_returns(r, equal)
    assert base["var"] == pytest.approx(risk.parametric_var_cvar(p, 0.99)[0], rel=1e-10)
    # at lambda = 1 the portfolio volatility is the weighted sum of volatilities
    undiversified = float(equal @ r.std(ddof=1)) * math.sqrt(252)
    assert full["volatility"] == pytest.approx(undiversified, rel=1e-10)
    assert full["diversification_ratio"] == pytest.approx(1.0)
    assert table["var"].is_monotonic_increasing and table["cvar"].is_monotonic_increasing
    pushed = stress.push_correlation(r.corr(), 0.3)
    assert np.linalg.eigvalsh(pushed.to_numpy()).min() > -1e-12
    np.testing.assert_allclose(np.diag(pushed), 1.0)


def test_crisis_correlation_raises_var(sample, sample_window, equal):
    r = returns_from_prices(sample_window.prices)
    crisis = returns_from_prices(sample.prices.loc["2008-09-01":"2009-03-09"])
    table = stress.correlation_stress(r, equal, 0.99, 1, (0.0,), crisis, "GFC")
    assert table.loc[1, "case"] == "GFC"
    assert table.loc[1, "average_correlation"] > table.loc[0, "average_correlation"]
    assert table.loc[1, "var"] > table.loc[0, "var"]
    with pytest.raises(RiskInputError, match="at least 20"):
        stress.correlation_stress(r, equal, 0.99, 1, (0.0,), crisis.iloc[:5], "tiny")
    with pytest.raises(RiskInputError, match="between 0 and 1"):
        stress.push_correlation(r.corr(), 1.5)
