"""Risk budgeting (equal risk contribution, budgets per asset or sector), HRP and HERC.

Conventions
-----------
- The risk measure of risk budgeting is the volatility ``sigma(w) = sqrt(w' Sigma w)``; the
  risk contribution of asset ``i`` is ``RC_i = w_i (Sigma w)_i / sigma(w)`` and the relative
  contribution ``RC_i / sigma(w)`` (they sum to 1). A budget ``b`` (decimals summing to 1) asks
  for ``RC_i / sigma(w) = b_i``. Weights are long-only and fully invested.
- Budgets per sector are split equally among the sector's assets, so that each sector's
  relative contribution equals its budget (one portfolio among those that do; the equal split
  is the risk-parity choice inside the sector).
- Scale: any positive multiple of ``Sigma`` gives the same weights (annualised or daily).

References
----------
T. Roncalli, *Introduction to Risk Parity and Budgeting*, Chapman & Hall/CRC, 2013, ch. 2.
F. Spinu, "An algorithm for computing risk parity weights", SSRN 2297383, 2013.
M. Lopez de Prado, "Building diversified portfolios that outperform out of sample", Journal of
Portfolio Management 42(4), 2016 (HRP). T. Raffinot, "The hierarchical equal risk contribution
portfolio", SSRN 3237540, 2018 (HERC). skfolio ``RiskBudgeting``,
``HierarchicalRiskParity``, ``HierarchicalEqualRiskContribution`` (BSD-3-Clause).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg

from core.exceptions import OptimizationError

__all__ = [
    "budgets_by_asset",
    "risk_budgeting_weights",
    "relative_risk_contributions",
    "HierarchicalResult",
    "hierarchical_weights",
]


def budgets_by_asset(
    budgets: pd.Series | Mapping[str, float] | None,
    tickers: list[str],
    sectors: Mapping[str, str] | None = None,
) -> np.ndarray:
    """Risk budgets per asset from budgets per ticker or per sector.

    Parameters
    ----------
    budgets : Series or mapping, optional
        Ticker -> budget, or sector -> budget (decimals summing to 1). None or empty: equal
        risk contribution ``1 / n``.
    tickers : list of str
        The universe, in weight order.
    sectors : mapping of str to str, optional
        Ticker -> sector, for budgets per sector.

    Returns
    -------
    ndarray (n_assets,)
        Positive budgets summing to 1.

    Raises
    ------
    OptimizationError
        Budgets that do not sum to 1 (within 1e-6), that are not positive, that name
        unknown tickers or sectors, that mix the two, or that leave some assets or sectors
        without a budget.
    """
    n = len(tickers)
    if budgets is None or len(budgets) == 0:
        return np.full(n, 1.0 / n)
    raw = dict(zip(budgets.index, budgets.to_numpy(dtype=float), strict=True)) if isinstance(
        budgets, pd.Series) else {k: float(v) for k, v in dict(budgets).items()}  # fmt: skip
    values = np.array(list(raw.values()), dtype=float)
    if not np.isfinite(values).all() or (values <= 0).any():
        bad = [str(k) for k, v in raw.items() if not (math.isfinite(v) and v > 0)]
        raise OptimizationError(
            f"Risk budgets must be positive decimals; fix {', '.join(bad)} (or drop the asset "
            "from the universe)."
        )
    total = float(values.sum())
    if abs(total - 1.0) > 1e-6:
        raise OptimizationError(
            f"The risk budgets add up to {total:.2%}; they must add up to 100 %."
        )
    sector_of = {t: (sectors or {}).get(t, "Unknown") for t in tickers}
    names = set(raw)
    if names <= set(tickers):
        missing = [t for t in tickers if t not in raw]
        if missing:
            raise OptimizationError(
                f"No risk budget for {', '.join(missing)}: give every asset a budget, or "
                "budget by sector."
            )
        return np.array([raw[t] for t in tickers], dtype=float)
    known_sectors = set(sector_of.values())
    if names <= known_sectors:
        missing = sorted(known_sectors - names)
        if missing:
            raise OptimizationError(
                f"No risk budget for the sector(s) {', '.join(missing)}: give every sector of "
                "the universe a budget."
            )
        size = pd.Series(sector_of).value_counts()
        return np.array([raw[sector_of[t]] / size[sector_of[t]] for t in tickers], dtype=float)
    unknown = sorted(str(k) for k in names - set(tickers) - known_sectors)
    if unknown:
        raise OptimizationError(
            f"The risk budgets name {', '.join(unknown)}, neither a ticker of the universe nor "
            "one of its sectors."
        )
    raise OptimizationError(
        "The risk budgets mix tickers and sectors: budget either every asset or every sector."
    )


def risk_budgeting_weights(
    cov: np.ndarray, budgets: np.ndarray, tol: float = 1e-12, max_iter: int = 100
) -> np.ndarray:
    r"""Long-only weights whose relative volatility contributions equal the budgets.

    Spinu's convex formulation: minimise

    .. math:: f(y) = \tfrac12 y' \Sigma y - \sum_i b_i \ln y_i, \quad y > 0,

    whose optimum satisfies ``y_i (Sigma y)_i = b_i``; ``w = y / sum(y)``. Newton's method with
    Spinu's damping (step ``1 / (1 + lambda)`` while the Newton decrement ``lambda`` exceeds
    0.25, which keeps ``y > 0``), then full steps: quadratic convergence, a Cholesky solve per
    step (about 15 at 500 assets).

    Parameters
    ----------
    cov : ndarray (n_assets, n_assets)
        Covariance, positive definite on the positive orthant (any scale).
    budgets : ndarray (n_assets,)
        Positive, summing to 1.
    tol : float
        Stop when ``max_i |y_i (Sigma y)_i - b_i| <= tol``.
    max_iter : int
        Newton steps allowed.

    Returns
    -------
    ndarray (n_assets,)
        Positive weights summing to 1.

    Raises
    ------
    OptimizationError
        A covariance with a zero or non-finite variance, or no convergence.

    References
    ----------
    Spinu (2013), section 3; Roncalli (2013), section 2.2.
    """
    S = np.asarray(cov, dtype=float)
    S = (S + S.T) / 2
    b = np.asarray(budgets, dtype=float)
    diag = np.diag(S)
    if not (np.isfinite(S).all() and (diag > 0).all()):
        raise OptimizationError(
            "Risk parity needs a positive variance for every asset: drop assets with constant "
            "prices from the universe."
        )
    scale = float(diag.mean())
    S = S / scale  # well-scaled Newton systems; the weights do not depend on the scale
    y = b / math.sqrt(float(b @ S @ b))
    for _ in range(max_iter):
        Sy = S @ y
        if np.abs(y * Sy - b).max() <= tol:
            return y / y.sum()
        grad = Sy - b / y
        hess = S + np.diag(b / (y * y))
        try:
            step = scipy.linalg.cho_solve(scipy.linalg.cho_factor(hess, check_finite=False),
                                          grad, check_finite=False)  # fmt: skip
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        decrement = math.sqrt(max(float(grad @ step), 0.0))
        y = y - (step / (1.0 + decrement) if decrement > 0.25 else step)
        if (y <= 0).any() or not np.isfinite(y).all():
            raise OptimizationError("The risk-parity iteration left the positive orthant.")
    raise OptimizationError(
        "The risk-parity weights did not converge: the covariance may be singular; use a "
        "shrinkage estimator."
    )


def relative_risk_contributions(weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Each asset's share of the portfolio's volatility, ``w_i (Sigma w)_i / (w' Sigma w)``.

    Parameters
    ----------
    weights : ndarray (n_assets,)
        Decimal weights.
    cov : ndarray (n_assets, n_assets)
        Covariance (any scale).

    Returns
    -------
    ndarray (n_assets,)
        Decimals summing to 1 (Euler allocation of the volatility).

    References
    ----------
    Roncalli (2013), section 2.1; Tasche (2000), "Risk contributions and performance
    measurement".
    """
    w = np.asarray(weights, dtype=float)
    sw = np.asarray(cov, dtype=float) @ w
    return w * sw / float(w @ sw)


@dataclass(frozen=True)
class HierarchicalResult:
    """Weights of a hierarchical allocation and the clustering behind them.

    Attributes
    ----------
    weights : ndarray (n_assets,)
        Decimal weights summing to 1.
    linkage : ndarray (n_assets - 1, 4)
        SciPy linkage matrix of the clustering (for the dendrogram).
    labels : list of str
        Tickers in the order of the linkage's leaves' indices.
    n_clusters : int or None
        The number of clusters HERC cut the tree at (None for HRP).
    """

    weights: np.ndarray
    linkage: np.ndarray
    labels: list[str]
    n_clusters: int | None = None


def _fixed_covariance_estimator(cov: np.ndarray):
    """An skfolio covariance estimator that returns ``cov`` (Ballast's estimate) when fitted."""
    from skfolio.moments.covariance._base import BaseCovariance

    class FixedCovariance(BaseCovariance):
        def __init__(self, covariance=None):
            super().__init__(nearest=False)
            self.covariance = covariance

        def fit(self, X, y=None, **fit_params):
            X = np.asarray(X)
            self.n_features_in_ = X.shape[1]
            self.location_ = X.mean(axis=0)
            self.covariance_ = np.asarray(self.covariance, dtype=float)
            return self

    return FixedCovariance(cov)


def hierarchical_weights(
    returns: pd.DataFrame,
    cov: pd.DataFrame | None = None,
    method: str = "hrp",
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> HierarchicalResult:
    """Hierarchical risk parity (HRP) or hierarchical equal risk contribution (HERC).

    skfolio's estimators with their defaults (variance as the risk measure, Pearson distance,
    Ward linkage; HERC cuts the tree at the optimal number of clusters of its two-order
    difference gap statistic), on Ballast's covariance estimate: the covariance of the prior
    (and so the correlation distance) is ``cov`` when given, the sample covariance of
    ``returns`` otherwise.

    Parameters
    ----------
    returns : DataFrame (n_observations, n_assets)
        Per-period decimal returns of the window.
    cov : DataFrame (n_assets, n_assets), optional
        Covariance (any scale: the weights depend only on its shape).
    method : {"hrp", "herc"}
    lower, upper : ndarray (n_assets,), optional
        Weight bounds (skfolio's ``min_weights`` / ``max_weights``; default 0 and 1).

    Returns
    -------
    HierarchicalResult

    Raises
    ------
    OptimizationError
        Unknown method, fewer than two assets, bounds skfolio cannot meet.

    References
    ----------
    Lopez de Prado (2016); Raffinot (2018); ``skfolio.optimization.HierarchicalRiskParity``
    and ``HierarchicalEqualRiskContribution``.
    """
    from skfolio.optimization import (
        HierarchicalEqualRiskContribution,
        HierarchicalRiskParity,
    )
    from skfolio.prior import EmpiricalPrior

    if method not in ("hrp", "herc"):
        raise OptimizationError(f"Unknown hierarchical method {method!r}: 'hrp' or 'herc'.")
    if returns.shape[1] < 2:
        raise OptimizationError("A hierarchical allocation needs at least two assets.")
    kwargs = {}
    if cov is not None:
        matrix = cov.loc[returns.columns, returns.columns].to_numpy(dtype=float)
        kwargs["prior_estimator"] = EmpiricalPrior(
            covariance_estimator=_fixed_covariance_estimator(matrix)
        )
    if lower is not None:
        kwargs["min_weights"] = np.asarray(lower, dtype=float)
    if upper is not None:
        kwargs["max_weights"] = np.asarray(upper, dtype=float)
    cls = HierarchicalRiskParity if method == "hrp" else HierarchicalEqualRiskContribution
    model = cls(**kwargs)
    try:
        model.fit(returns.to_numpy(dtype=float))
    except (ValueError, RuntimeError) as exc:  # skfolio's own checks (bounds it cannot meet)
        raise OptimizationError(f"The {method.upper()} allocation failed: {exc}") from exc
    clustering = (
        model.seriation_estimator_.hierarchical_clustering_estimator_
        if method == "hrp"
        else model.hierarchical_clustering_estimator_
    )
    n_clusters = getattr(clustering, "n_clusters_", None) if method == "herc" else None
    return HierarchicalResult(
        weights=np.asarray(model.weights_, dtype=float),
        linkage=np.asarray(clustering.linkage_matrix_, dtype=float),
        labels=[str(t) for t in returns.columns],
        n_clusters=int(n_clusters) if n_clusters is not None else None,
    )
