"""Synthetic universes from a factor model, for benchmarks and tests of large universes.

Conventions
-----------
Daily simple returns ``r_t = alpha + B f_t + e_t`` with ``k`` factors (a market factor and
smaller style factors), loadings ``B (n_assets, k)``, factor returns ``f_t ~ N(m, 1 %^2)``
and specific returns ``e_t ~ N(0, 1.5 %^2)``; prices start at 100 on business days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["factor_model_prices"]


def factor_model_prices(
    n_assets: int,
    n_observations: int = 756,
    *,
    n_factors: int = 5,
    seed: int = 0,
    start: str = "2015-01-01",
) -> pd.DataFrame:
    """Prices of a synthetic universe drawn from a linear factor model.

    Parameters
    ----------
    n_assets : int
        Number of assets (columns ``A0000``, ``A0001``, ...).
    n_observations : int
        Number of daily returns; the frame has one more row (the starting prices).
    n_factors : int
        Number of factors, at least 1 (the first is the market).
    seed : int
        Seed of :func:`numpy.random.default_rng`: the same seed gives the same prices.
    start : str
        First date (business days follow).

    Returns
    -------
    DataFrame (n_observations + 1, n_assets)
        Prices starting at 100, DatetimeIndex of business days.

    References
    ----------
    Fan, Fan & Lv (2008), "High dimensional covariance matrix estimation using a factor
    model", Journal of Econometrics 147(1).
    """
    rng = np.random.default_rng(seed)
    scale = np.r_[1.0, np.full(max(n_factors - 1, 0), 0.4)]
    loadings = rng.normal(1.0, 0.5, (n_assets, n_factors)) * scale
    factors = rng.normal(0.0003, 0.01, (n_observations, n_factors))
    specific = rng.normal(0.0, 0.015, (n_observations, n_assets))
    alpha = rng.normal(0.0002, 0.0002, n_assets)
    returns = alpha + factors @ loadings.T + specific
    growth = np.cumprod(np.vstack([np.ones(n_assets), 1.0 + returns]), axis=0)
    index = pd.bdate_range(start, periods=n_observations + 1, name="Date")
    width = max(4, len(str(n_assets - 1)))
    columns = [f"A{i:0{width}d}" for i in range(n_assets)]
    return pd.DataFrame(100.0 * growth, index=index, columns=columns)
