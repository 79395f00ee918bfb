"""Estimators against closed forms and scikit-learn on the real sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import OAS, LedoitWolf

from core.estimators import (
    COVARIANCE_ESTIMATORS,
    correlation_from_covariance,
    covariance,
    expected_returns,
    is_positive_semidefinite,
    returns_from_prices,
)
from core.exceptions import EstimationError


@pytest.fixture(scope="module")
def prices(sample_window):
    return sample_window.prices


def test_mean_historical_is_arithmetic_mean_times_252(prices):
    r = prices.pct_change().dropna()
    np.testing.assert_allclose(expected_returns(prices).to_numpy(), r.mean().to_numpy() * 252)


def test_sample_covariance_is_numpy_cov_times_252(prices):
    r = prices.pct_change().dropna()
    np.testing.assert_allclose(covariance(prices, "sample").to_numpy(), np.cov(r.T) * 252)


def test_shrinkage_matches_scikit_learn(prices):
    r = prices.pct_change().dropna().to_numpy()
    lw = LedoitWolf().fit(r).covariance_ * 252
    oas = OAS().fit(r).covariance_ * 252
    np.testing.assert_allclose(covariance(prices, "ledoit_wolf").to_numpy(), lw, rtol=1e-6)
    np.testing.assert_allclose(covariance(prices, "oas").to_numpy(), oas, rtol=1e-6)


def test_capm_returns_by_hand(sample_window):
    prices, bench = sample_window.prices, sample_window.benchmark
    r = prices.pct_change().dropna()
    m = bench.pct_change().dropna()
    rf = 0.01
    beta = r.apply(lambda col: np.cov(col, m)[0, 1] / m.var())
    expected = rf + beta * (m.mean() * 252 - rf)
    got = expected_returns(prices, "capm", benchmark=bench, risk_free_rate=rf)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("method", list(COVARIANCE_ESTIMATORS))
def test_every_covariance_is_symmetric_psd(prices, method):
    cov = covariance(prices, method)
    assert list(cov.index) == list(prices.columns)
    np.testing.assert_allclose(cov.to_numpy(), cov.to_numpy().T)
    assert is_positive_semidefinite(cov)
    corr = correlation_from_covariance(cov)
    np.testing.assert_allclose(np.diag(corr), 1.0)


def test_ema_returns_weight_recent_data(prices):
    ema = expected_returns(prices, "ema_historical", span=20)
    mean = expected_returns(prices)
    assert ema.index.equals(mean.index) and not np.allclose(ema, mean)


def test_bad_inputs_raise_estimation_error(prices):
    with pytest.raises(EstimationError, match="too few"):
        covariance(prices.iloc[:2])
    with pytest.raises(EstimationError, match="Unknown"):
        expected_returns(prices, "magic")
    with pytest.raises(EstimationError, match="benchmark"):
        expected_returns(prices, "capm")
    gappy = prices.copy()
    gappy.iloc[5, 0] = np.nan
    with pytest.raises(EstimationError, match="Missing prices for AAPL"):
        covariance(gappy)


def test_returns_from_prices_drops_first_row():
    p = pd.Series([100.0, 110.0, 99.0])
    np.testing.assert_allclose(returns_from_prices(p).to_numpy(), [0.1, -0.1])
