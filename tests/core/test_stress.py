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
    # bought at the close of the start day (day 1), buy and hold to the close of the end day
    np.testing.assert_allclose(path, [1.0, 0.5 * 0.9 + 0.4, 0.5 * 120 / 110 + 0.45])
    assert path.index[0] == idx[1]
    table, skipped = stress.historical_stress(prices, w, {}, custom={"mine": (idx[1], idx[3])})
    row = table.iloc[0]
    end = 0.5 * 120 / 110 + 0.45
    assert row["portfolio_return"] == pytest.approx(end - 1)
    # losses are positive: the worst day's loss and the maximum drawdown
    assert row["worst_day_loss"] == pytest.approx(1 - 0.85)
    assert row["max_drawdown"] == pytest.approx(1 - 0.85)
    assert row["trading_days"] == 2 and skipped == []
    assert str(row["start"]) == str(idx[1].date()) and str(row["end"]) == str(idx[3].date())


def test_weights_not_adding_up_to_one_leave_cash():
    idx = pd.bdate_range("2020-01-01", periods=3)
    prices = pd.DataFrame({"A": [100.0, 80.0, 70.0]}, index=idx)
    half = pd.Series({"A": 0.5})
    path = stress.scenario_path(prices, half, idx[0], idx[2])
    np.testing.assert_allclose(path, [1.0, 0.9, 0.85])  # half in cash at a zero return
    table, _ = stress.historical_stress(prices, half, {}, custom={"fall": (idx[0], idx[2])})
    assert table.loc[0, "portfolio_return"] == pytest.approx(-0.15)  # not -65 %
    assert table.loc[0, "max_drawdown"] == pytest.approx(0.15)
    levered = stress.scenario_path(prices, pd.Series({"A": 1.5}), idx[0], idx[2])
    np.testing.assert_allclose(levered, [1.0, 0.7, 0.55])  # 0.5 borrowed


def _episode_ends(index: pd.Series, start: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The peak (highest close so far) and the lowest close until the index regains the peak."""
    peak = pd.Timestamp(start)
    after = index.loc[peak:]
    regained = after[after > after.iloc[0]]
    episode = after.loc[: regained.index[0]] if len(regained) else after
    return peak, episode.idxmin()


def test_builtin_windows_run_peak_close_to_trough_close_of_the_sp500(sample, equal):
    from skfolio.datasets import load_sp500_index

    index = load_sp500_index().iloc[:, 0]
    for name, (start, end) in stress.HISTORICAL_SCENARIOS.items():
        s, e = pd.Timestamp(start), pd.Timestamp(end)
        assert s in index.index and e in index.index, name  # both are trading days
        # start: the highest close before the fall (the highest close up to that day)
        assert index.loc[:s].max() == index.loc[s], name
        # end: the lowest close of the episode (until the index regains its peak)
        assert _episode_ends(index, start)[1] == e, name
        window = index.loc[s:e]
        assert window.idxmax() == s and window.idxmin() == e, name
    table, skipped = stress.historical_stress(sample.prices, equal, benchmark=sample.benchmark)
    assert skipped == []
    # over each window the S&P 500's return is its peak-to-trough drawdown
    np.testing.assert_allclose(table["benchmark_return"], -table["benchmark_max_drawdown"])
    rows = table.set_index("scenario")
    expected = {"2008-09 global financial crisis": 676.53 / 1565.15 - 1,
                "2020 COVID crash": 2237.40 / 3386.15 - 1,
                "2022 rate shock": 3577.03 / 4796.56 - 1,
                "1997 Asian crisis": 876.99 / 983.12 - 1,
                "1998 LTCM / Russian default": 957.28 / 1186.75 - 1}  # fmt: skip
    for name, value in expected.items():
        assert rows.loc[name, "benchmark_return"] == pytest.approx(value, abs=1e-4), name
    assert (rows["benchmark_worst_day_loss"] > 0).all()
    assert rows.loc["2020 COVID crash", "benchmark_worst_day_loss"] == pytest.approx(
        1 - 2386.13 / 2711.02, abs=1e-4
    )  # 16 March 2020, -12.0 %


def test_builtin_scenarios_on_sample(sample, equal):
    table, skipped = stress.historical_stress(sample.prices, equal, benchmark=sample.benchmark)
    assert skipped == []  # the sample covers 1990-2022
    gfc = table.set_index("scenario").loc["2008-09 global financial crisis"]
    assert -0.6 < gfc["portfolio_return"] < -0.3
    assert gfc["max_drawdown"] >= -gfc["portfolio_return"] - 1e-12
    assert gfc["benchmark_return"] < -0.5  # S&P 500 peak to trough: about -57 %
    covid = table.set_index("scenario").loc["2020 COVID crash"]
    assert str(covid["worst_day_date"]) == "2020-03-16"
    assert (table["worst_day_loss"] > 0).all() and (table["max_drawdown"] > 0).all()
    assert (table["max_drawdown"] >= table["worst_day_loss"] - 1e-12).all()


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


def test_null_shocks_are_no_shocks(sample, equal):
    table = stress.hypothetical_shock(
        equal, {"AAPL": None, "MSFT": float("nan")}, {"Energy": None, "Utilities": np.nan},
        sample.sectors,
    )  # fmt: skip
    assert table["pnl"].sum() == 0 and (table["source"] == "none").all()
    with pytest.raises(RiskInputError, match="must be a number"):
        stress.hypothetical_shock(equal, {}, {"Energy": "x"}, sample.sectors)


def test_rolling_correlation_leaves_out_an_asset_halted_for_a_whole_window(sample):
    prices = sample.prices.copy()
    # a trading halt: BAC's price stays at its last close for 100 days (2017-2018); over the
    # whole history the cumulative sums leave its flat windows a rounding variance of ~5e-16
    prices.iloc[7000:7100, prices.columns.get_loc("BAC")] = prices["BAC"].iloc[6999]
    r = returns_from_prices(prices).dropna()
    fast = stress.rolling_average_correlation(r, 63)
    block = r.loc[: prices.index[7080]].iloc[-63:]
    assert (block["BAC"] == 0).all()  # a window inside the halt
    iu = np.triu_indices(19, 1)
    others = block.drop(columns="BAC").corr().to_numpy()[iu].mean()
    assert fast.loc[block.index[-1]] == pytest.approx(others, abs=1e-10)
    inside = fast.loc[prices.index[7062] : prices.index[7099]]
    halted = [r.loc[:t].iloc[-63:].drop(columns="BAC").corr().to_numpy()[iu].mean()
              for t in inside.index]  # fmt: skip
    np.testing.assert_allclose(inside, halted, atol=1e-10)
    # outside the halt every pair counts (pandas as the reference)
    last = r.iloc[-63:].corr().to_numpy()[np.triu_indices(20, 1)].mean()
    assert fast.iloc[-1] == pytest.approx(last, abs=1e-10)


def test_correlation_stress_of_a_single_asset_is_explained(sample_window):
    r = returns_from_prices(sample_window.prices[["AAPL"]])
    with pytest.raises(RiskInputError, match="single asset has no correlation"):
        stress.correlation_stress(r, pd.Series({"AAPL": 1.0}))


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
