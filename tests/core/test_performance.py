"""Benchmark metrics against hand-computed values (empyrical definitions)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core import performance as perf
from core import risk
from core.exceptions import BacktestError


def _s(values, start="2020-01-01"):
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values)), dtype=float)


R = _s([0.01, -0.02, 0.03, 0.005])
B = _s([0.005, -0.01, 0.02, 0.0])


def test_tracking_error_and_information_ratio_by_hand():
    # active = [0.005, -0.01, 0.01, 0.005], mean 0.0025; squared deviations
    # 6.25e-6 + 1.5625e-4 + 5.625e-5 + 6.25e-6 = 2.25e-4; / 3 = 7.5e-5 (ddof 1).
    te = math.sqrt(7.5e-5 * 252)  # 0.137477...
    assert perf.tracking_error(R, B) == pytest.approx(te, rel=1e-12)
    assert perf.tracking_error(R, B) == pytest.approx(0.1374772708, rel=1e-9)
    # IR = 0.0025 * 252 / TE = 0.63 / 0.137477 = 4.5825757
    assert perf.information_ratio(R, B) == pytest.approx(0.63 / te, rel=1e-12)
    assert perf.information_ratio(R, B) == pytest.approx(4.582575695, rel=1e-9)


def test_sharpe_and_sortino_by_hand():
    # mean 0.02, sd sqrt((1e-4 + 1e-4) / 1) = 0.0141421; one period a year.
    assert perf.sharpe_ratio(_s([0.01, 0.03]), 0.0, 1) == pytest.approx(math.sqrt(2), rel=1e-12)
    # mean 0.005; downside sqrt((1e-4 + 4e-4) / 4) = 0.0111803
    r = _s([0.02, -0.01, 0.03, -0.02])
    assert perf.sortino_ratio(r, 0.0, 1) == pytest.approx(0.005 / math.sqrt(1.25e-4), rel=1e-12)
    # The risk-free rate enters per period: 0.04 a year over 4 periods = 0.01 per period.
    assert perf.sharpe_ratio(_s([0.02, 0.04]), 0.04, 4) == pytest.approx(
        0.02 / math.sqrt(2e-4) * 2, rel=1e-12
    )


def test_max_drawdown_and_cagr_by_hand():
    r = _s([0.1, -0.5, 0.2])  # wealth 1.1, 0.55, 0.66: worst 0.55 / 1.1 - 1
    # a loss, positive (DESIGN.md §3), and the Risk page's figure for the same returns
    assert perf.max_drawdown(r) == pytest.approx(0.5)
    assert perf.max_drawdown(r) == pytest.approx(risk.drawdowns(r).max_drawdown)
    assert perf.METRIC_LABELS["max_drawdown"] == "Maximum drawdown (loss, %)"
    assert perf.annualized_return(r, 3) == pytest.approx(1.1 * 0.5 * 1.2 - 1)
    assert perf.annualized_return(_s([0.21]), 1) == pytest.approx(0.21)
    assert perf.annualized_return(_s([0.1, 0.1]), 1) == pytest.approx(0.1)  # (1.21)^(1/2) - 1


def test_beta_alpha_by_hand():
    b = _s([0.01, -0.02, 0.015, 0.003, -0.007])
    r = 2 * b + 0.001
    assert perf.beta(r, b) == pytest.approx(2.0, rel=1e-12)
    assert perf.jensen_alpha(r, b) == pytest.approx(1.001**252 - 1, rel=1e-9)
    # With a risk-free rate, excess returns: r - rf = 2 (b - rf) + 0.001 + rf.
    rf = 0.0252  # 1e-4 per day
    assert perf.jensen_alpha(r, b, rf) == pytest.approx(1.0011**252 - 1, rel=1e-9)


def test_capture_ratios_by_hand():
    b = _s([0.01, -0.01, 0.02])
    r = _s([0.02, -0.005, 0.03])
    # Up periods 1 and 3, two periods with ppy = 2: exponent 1.
    assert perf.up_capture(r, b, 2) == pytest.approx((1.02 * 1.03 - 1) / (1.01 * 1.02 - 1))
    # Down period 2, one period with ppy = 2: exponent 2.
    assert perf.down_capture(r, b, 2) == pytest.approx((0.995**2 - 1) / (0.99**2 - 1))


def test_summary_of_benchmark_against_itself():
    rng = np.random.default_rng(0)
    b = _s(rng.normal(0.0004, 0.01, 500))
    s = perf.performance_summary(b, b, 0.02)
    assert s["tracking_error"] == 0
    assert s["beta"] == pytest.approx(1.0)
    assert s["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert s["up_capture"] == pytest.approx(1.0) and s["down_capture"] == pytest.approx(1.0)
    assert set(s.index) == set(perf.METRIC_LABELS)


def test_no_overlap_raises():
    with pytest.raises(BacktestError, match="no overlap"):
        perf.tracking_error(R, _s([0.01, 0.02, 0.0], start="2021-06-01"))


def test_active_weights_and_benchmark_weights():
    w = pd.Series({"A": 0.5, "B": 0.5, "C": 0.0})
    ref, what = perf.benchmark_weights(
        ["A", "B", "C"], market_caps=pd.Series([1, 1, 2], list("ABC"))
    )
    assert "market" in what
    by_asset, by_sector = perf.active_weights(w, ref, pd.Series({"A": "X", "B": "Y", "C": "Y"}))
    assert by_asset.to_dict() == pytest.approx({"A": 0.25, "B": 0.25, "C": -0.5})
    assert by_sector.to_dict() == pytest.approx({"X": 0.25, "Y": -0.25})
    ref2, _ = perf.benchmark_weights(["A", "B"], benchmark_ticker="B")
    assert ref2.to_dict() == {"A": 0.0, "B": 1.0}
    cov = pd.DataFrame(np.diag([0.04, 0.09, 0.01]), index=list("ABC"), columns=list("ABC"))
    assert perf.ex_ante_tracking_error(by_asset, cov) == pytest.approx(
        math.sqrt(0.0625 * 0.04 + 0.0625 * 0.09 + 0.25 * 0.01)
    )


def test_yearly_returns_compound_within_year():
    r = pd.Series(
        [0.1, 0.1, -0.5], index=pd.to_datetime(["2020-06-01", "2020-12-31", "2021-01-04"])
    )
    y = perf.yearly_returns(r)
    assert y.loc[2020].iloc[0] == pytest.approx(0.21)
    assert y.loc[2021].iloc[0] == pytest.approx(-0.5)


def test_levels_on_other_calendar_and_csv():
    levels = pd.Series([100.0, 110.0], index=pd.to_datetime(["2020-01-01", "2020-01-06"]))
    idx = pd.bdate_range("2019-12-31", "2020-01-08")
    out = perf.levels_on(levels, idx)
    assert np.isnan(out.iloc[0]) and np.isnan(out.iloc[-1])  # outside the series
    assert out.loc["2020-01-03"] == 100.0 and out.loc["2020-01-06"] == 110.0
    csv = b"Date,Close\n2020-01-02,3000\n2020-01-03,3010.5\n"
    s = perf.benchmark_from_csv(csv, "IDX")
    assert s.name == "IDX" and list(s) == [3000.0, 3010.5]
    from core.exceptions import DataError

    with pytest.raises(DataError):
        perf.benchmark_from_csv(b"Date,Close\n2020-01-02,-1\n2020-01-03,2\n")
