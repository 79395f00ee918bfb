"""Expected returns and covariance estimators.

Conventions
-----------
Inputs are prices, ``DataFrame (n_observations, n_assets)``. Returns are simple per-period
decimal returns. Every estimate is annualised with ``periods_per_year`` (252 for daily data):
expected returns as ``Series (n_assets,)``, covariance as ``DataFrame (n_assets, n_assets)``, both
indexed by ticker. Mean-based expected returns are arithmetic (not compounded), so that they are
consistent with the covariance in mean-variance optimisation.

The estimators themselves are PyPortfolioOpt's (``pypfopt.expected_returns`` and
``pypfopt.risk_models``); this module fixes their options, validates inputs and turns their
failures into :class:`~core.exceptions.EstimationError`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pypfopt import expected_returns as pypfopt_returns
from pypfopt import risk_models
from sklearn import covariance as sk_covariance

from core.exceptions import EstimationError

__all__ = [
    "RETURN_ESTIMATORS",
    "COVARIANCE_ESTIMATORS",
    "returns_from_prices",
    "expected_returns",
    "covariance",
    "covariance_fallback",
    "correlation_from_covariance",
    "is_positive_semidefinite",
]

#: Expected-return estimators: method name -> label for the user.
RETURN_ESTIMATORS: dict[str, str] = {
    "mean_historical": "Mean historical return",
    "ema_historical": "Exponentially weighted mean return",
    "capm": "CAPM (beta to the benchmark)",
}

#: Covariance estimators: method name -> label for the user.
COVARIANCE_ESTIMATORS: dict[str, str] = {
    "ledoit_wolf": "Ledoit-Wolf shrinkage (constant variance target)",
    "sample": "Sample covariance",
    "oas": "Oracle approximating shrinkage (OAS)",
    "exp_cov": "Exponentially weighted covariance",
    "semicovariance": "Semicovariance (downside below 0)",
}


def returns_from_prices(prices: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Simple per-period returns from prices.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets) or Series (n_observations,)
        Adjusted closes.

    Returns
    -------
    DataFrame (n_observations - 1, n_assets) or Series
        ``p_t / p_{t-1} - 1`` as decimals; the first row (undefined) is dropped.
    """
    return prices.pct_change(fill_method=None).iloc[1:]


def _check_prices(prices: pd.DataFrame, minimum: int = 3) -> None:
    if not isinstance(prices, pd.DataFrame) or prices.shape[1] == 0:
        raise EstimationError("No assets to estimate: choose at least one asset.")
    if len(prices) < minimum:
        raise EstimationError(
            f"{len(prices)} price observations are too few to estimate from; widen the window."
        )
    if prices.isna().any().any():
        bad = prices.columns[prices.isna().any()].tolist()
        raise EstimationError(f"Missing prices for {', '.join(map(str, bad))} in the window.")


def expected_returns(
    prices: pd.DataFrame,
    method: str = "mean_historical",
    *,
    benchmark: pd.Series | None = None,
    risk_free_rate: float = 0.0,
    span: int = 500,
    periods_per_year: int = 252,
) -> pd.Series:
    r"""Annualised expected returns.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Adjusted closes.
    method : {"mean_historical", "ema_historical", "capm"}
        Arithmetic mean of returns; exponentially weighted mean (``span`` periods); or CAPM,
        :math:`r_f + \beta_i (E[r_m] - r_f)` with beta and market return from ``benchmark``.
    benchmark : Series (n_observations,), optional
        Benchmark prices on the same dates; required for ``"capm"``.
    risk_free_rate : float
        Annual decimal risk-free rate, used by ``"capm"``.
    span : int
        Span in periods of the exponential weights (``"ema_historical"``).
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    Series (n_assets,)
        Annualised decimal expected returns, indexed by ticker.

    Raises
    ------
    EstimationError
        Unknown method, too few observations, missing prices, or no benchmark for CAPM.

    References
    ----------
    PyPortfolioOpt ``expected_returns.mean_historical_return``, ``ema_historical_return`` and
    ``capm_return`` (Martin 2021, JOSS 6(61), 3066); Sharpe (1964) for the CAPM.
    """
    _check_prices(prices)
    if method == "mean_historical":
        mu = pypfopt_returns.mean_historical_return(
            prices, compounding=False, frequency=periods_per_year
        )
    elif method == "ema_historical":
        mu = pypfopt_returns.ema_historical_return(
            prices, compounding=False, span=span, frequency=periods_per_year
        )
    elif method == "capm":
        if benchmark is None:
            raise EstimationError("CAPM returns need a benchmark; load data with a benchmark.")
        market = benchmark.reindex(prices.index).ffill().to_frame("__market__")
        if market.isna().any().any():
            raise EstimationError("The benchmark does not cover the chosen window.")
        mu = pypfopt_returns.capm_return(
            prices,
            market_prices=market,
            risk_free_rate=risk_free_rate,
            compounding=False,
            frequency=periods_per_year,
        )
    else:
        raise EstimationError(
            f"Unknown expected-return method {method!r}; use one of {', '.join(RETURN_ESTIMATORS)}."
        )
    mu = pd.Series(np.asarray(mu, dtype=float), index=prices.columns, name="expected_return")
    if not np.isfinite(mu).all():
        raise EstimationError("Expected returns are not finite: check the prices for zeros.")
    return mu


#: Estimators whose estimate is singular when there are no more returns than assets.
SINGULAR_WHEN_SHORT = ("sample", "exp_cov", "semicovariance")


def covariance_fallback(prices: pd.DataFrame, method: str) -> str | None:
    """Why :func:`covariance` replaces ``method`` by Ledoit-Wolf on these prices, or None.

    The sample, exponentially weighted and semi-covariances of ``T`` returns have rank at most
    ``T - 1`` (``T`` for the semicovariance): with no more returns than assets they are singular,
    and portfolios of zero estimated risk appear. Ledoit-Wolf shrinkage toward a constant
    variance is positive definite for any ``T`` and is used instead.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Adjusted closes of the window.
    method : str
        The estimator asked for (a key of :data:`COVARIANCE_ESTIMATORS`).

    Returns
    -------
    str or None
        The message for the user when the estimator is replaced, else None.

    References
    ----------
    Ledoit & Wolf (2004), "A well-conditioned estimator for large-dimensional covariance
    matrices", Journal of Multivariate Analysis 88(2).
    """
    n_returns, n_assets = len(prices) - 1, prices.shape[1]
    if method not in SINGULAR_WHEN_SHORT or n_returns > n_assets:
        return None
    return (
        f"The {COVARIANCE_ESTIMATORS[method].lower()} of {n_returns:,} returns for "
        f"{n_assets:,} assets is singular (no more returns than assets), so Ledoit-Wolf "
        "shrinkage is used instead; widen the window or choose fewer assets to use the "
        f"{COVARIANCE_ESTIMATORS[method].lower()}."
    )


#: Default span (periods) of the exponentially weighted covariance (PyPortfolioOpt's default).
EXP_COV_SPAN = 180


def _exp_cov(prices: pd.DataFrame, span: int, periods_per_year: int) -> np.ndarray:
    """PyPortfolioOpt's ``exp_cov`` of ``prices`` (see :func:`exp_cov_of_returns`)."""
    x = returns_from_prices(prices).to_numpy(dtype=float)
    return exp_cov_of_returns(x, span, periods_per_year)


def exp_cov_of_returns(returns: np.ndarray, span: int = EXP_COV_SPAN,
                       periods_per_year: int = 252) -> np.ndarray:
    """PyPortfolioOpt's ``exp_cov`` in one matrix product (it loops over pairs: hours at 1,000).

    ``S_ij = sum_t a_t x_ti x_tj / sum_t a_t`` with ``x`` the returns less their mean and
    ``a_t = (1 - alpha)^(T - 1 - t)``, ``alpha = 2 / (span + 1)``: the last value of pandas'
    ``ewm(span=span).mean()`` of each pair's co-variation, as PyPortfolioOpt computes it, then
    its spectral repair when the estimate is not positive semidefinite.

    Parameters
    ----------
    returns : ndarray (n_periods, n_assets)
        Simple per-period decimal returns (no missing values).
    span : int
        Span of the exponential weights, periods.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    ndarray (n_assets, n_assets)
        Annualised exponentially weighted covariance.

    References
    ----------
    PyPortfolioOpt ``risk_models.exp_cov`` and ``fix_nonpositive_semidefinite`` (Martin 2021).
    """
    x = np.asarray(returns, dtype=float)
    x = x - x.mean(axis=0)
    alpha = 2.0 / (span + 1.0)
    a = (1.0 - alpha) ** np.arange(len(x) - 1, -1, -1, dtype=float)
    S = (x * (a / a.sum())[:, None]).T @ x * periods_per_year
    return np.asarray(risk_models.fix_nonpositive_semidefinite(S, "spectral"), dtype=float)


def covariance(
    prices: pd.DataFrame,
    method: str = "ledoit_wolf",
    *,
    span: int = EXP_COV_SPAN,
    periods_per_year: int = 252,
) -> pd.DataFrame:
    """Annualised covariance matrix of returns.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Adjusted closes.
    method : {"ledoit_wolf", "sample", "oas", "exp_cov", "semicovariance"}
        Ledoit-Wolf shrinkage toward constant variance; the sample covariance; oracle
        approximating shrinkage; exponentially weighted (``span`` periods); semicovariance of
        returns below zero.
    span : int
        Span in periods for ``"exp_cov"``.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    DataFrame (n_assets, n_assets)
        Annualised covariance of simple returns, symmetric positive semidefinite (repaired by
        PyPortfolioOpt's spectral fix when a sample estimate is not). With no more returns
        than assets the singular estimators are replaced by Ledoit-Wolf
        (:func:`covariance_fallback` says so).

    Raises
    ------
    EstimationError
        Unknown method, too few observations or missing prices.

    References
    ----------
    PyPortfolioOpt ``risk_models`` (Martin 2021); Ledoit & Wolf (2004), "Honey, I shrunk the
    sample covariance matrix"; Chen, Wiesel, Eldar & Hero (2010) for OAS; Estrada (2006) for
    the semicovariance.
    """
    _check_prices(prices)
    if method in COVARIANCE_ESTIMATORS and covariance_fallback(prices, method):
        method = "ledoit_wolf"
    if method == "sample":
        cov = risk_models.sample_cov(prices, frequency=periods_per_year)
    elif method in ("ledoit_wolf", "oas"):
        # scikit-learn's estimators, as PyPortfolioOpt's CovarianceShrinkage calls them, without
        # its unused pandas sample covariance and PSD check (the shrunk estimate is positive
        # definite by construction): 4x faster at 1,000 assets.
        x = returns_from_prices(prices).to_numpy(dtype=float)
        shrink = sk_covariance.ledoit_wolf if method == "ledoit_wolf" else sk_covariance.oas
        cov = shrink(x)[0] * periods_per_year
    elif method == "exp_cov":
        cov = _exp_cov(prices, span, periods_per_year)
    elif method == "semicovariance":
        cov = risk_models.semicovariance(prices, benchmark=0.0, frequency=periods_per_year)
    else:
        raise EstimationError(
            f"Unknown covariance method {method!r}; use one of {', '.join(COVARIANCE_ESTIMATORS)}."
        )
    cov = pd.DataFrame(np.asarray(cov, dtype=float), index=prices.columns, columns=prices.columns)
    cov = (cov + cov.T) / 2
    if not np.isfinite(cov.to_numpy()).all():
        raise EstimationError("The covariance is not finite: check the prices for zeros.")
    return cov


def correlation_from_covariance(cov: pd.DataFrame) -> pd.DataFrame:
    """Correlation matrix from a covariance matrix.

    Parameters
    ----------
    cov : DataFrame (n_assets, n_assets)
        Covariance, any scaling.

    Returns
    -------
    DataFrame (n_assets, n_assets)
        Correlations in [-1, 1]; assets with zero variance get NaN rows.
    """
    sd = np.sqrt(np.diag(cov.to_numpy()))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov.to_numpy() / np.outer(sd, sd)
    return pd.DataFrame(np.clip(corr, -1.0, 1.0), index=cov.index, columns=cov.columns)


def is_positive_semidefinite(cov: pd.DataFrame | np.ndarray, tol: float = 1e-10) -> bool:
    """Whether a symmetric matrix is positive semidefinite.

    Parameters
    ----------
    cov : DataFrame or ndarray (n, n)
        Symmetric matrix.
    tol : float
        Smallest eigenvalue allowed, relative to the largest one in absolute value.

    Returns
    -------
    bool
    """
    values = np.linalg.eigvalsh(np.asarray(cov, dtype=float))
    return bool(values.min() >= -tol * max(1.0, abs(values).max()))
