"""Mean-variance optimisation (Markowitz 1952) under Ballast's constraints.

Conventions
-----------
Expected returns are an annualised decimal ``Series (n_assets,)``, the covariance an annualised
``DataFrame (n_assets, n_assets)``, both indexed by ticker. Weights are a ``Series (n_assets,)``
summing to 1. The risk-free rate is an annual decimal. Every problem is a convex program built
with cvxpy and solved by Clarabel (an interior-point conic solver); the covariance enters as
``||F w||^2`` with ``F' F = Sigma`` from an eigendecomposition, so a singular (positive
semidefinite) covariance is accepted.

Before solving, the constraints are checked for conflicts so that the user reads which ones
conflict instead of a solver status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd

from core.constraints import Constraints, LinearConstraints
from core.exceptions import EstimationError, InfeasibleConstraintsError, OptimizationError

__all__ = [
    "OBJECTIVES",
    "Objective",
    "OptimizationResult",
    "optimize",
    "portfolio_performance",
    "effective_number_of_assets",
    "sector_exposure",
    "covariance_factor",
    "Frontier",
    "efficient_frontier",
]

#: Objective kinds: name -> label for the user.
OBJECTIVES: dict[str, str] = {
    "max_sharpe": "Maximum Sharpe ratio (tangency portfolio)",
    "min_volatility": "Minimum volatility",
    "target_return": "Minimum volatility for a target return",
    "target_volatility": "Maximum return for a target volatility",
    "max_utility": "Maximum quadratic utility (risk aversion)",
}

_SOLVER_OPTIONS = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}


@dataclass(frozen=True)
class Objective:
    """What the optimiser maximises or minimises.

    Parameters
    ----------
    kind : {"max_sharpe", "min_volatility", "target_return", "target_volatility", "max_utility"}
        The objective (see :data:`OBJECTIVES`).
    target_return : float, optional
        Annualised decimal return for ``"target_return"`` (the portfolio earns at least this).
    target_volatility : float, optional
        Annualised decimal volatility for ``"target_volatility"`` (at most this).
    risk_aversion : float
        delta in ``w' mu - delta / 2 w' Sigma w`` for ``"max_utility"``; positive.
    risk_free_rate : float
        Annual decimal risk-free rate, for the Sharpe ratio.
    """

    kind: str = "max_sharpe"
    target_return: float | None = None
    target_volatility: float | None = None
    risk_aversion: float = 1.0
    risk_free_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in OBJECTIVES:
            raise OptimizationError(
                f"Unknown objective {self.kind!r}; use one of {', '.join(OBJECTIVES)}."
            )
        if self.kind == "target_return" and self.target_return is None:
            raise OptimizationError("Give a target return for this objective.")
        if self.kind == "target_volatility" and (
            self.target_volatility is None or self.target_volatility <= 0
        ):
            raise OptimizationError("Give a positive target volatility for this objective.")
        if self.kind == "max_utility" and not self.risk_aversion > 0:
            raise OptimizationError("The risk aversion (delta) must be positive.")


@dataclass(frozen=True)
class OptimizationResult:
    """An optimal portfolio and its key figures.

    Attributes
    ----------
    weights : Series (n_assets,)
        Decimal weights indexed by ticker, summing to 1.
    expected_return : float
        Annualised decimal expected return ``w' mu``.
    volatility : float
        Annualised decimal volatility ``sqrt(w' Sigma w)``.
    sharpe_ratio : float
        ``(expected_return - risk_free_rate) / volatility``.
    risk_free_rate : float
        Annual decimal rate used for the Sharpe ratio.
    objective : Objective
        The objective solved.
    effective_number_of_assets : float
        ``1 / sum(w_i^2)``, the inverse Herfindahl index of the weights.
    sector_weights : Series
        Total weight per sector (empty when sectors are unknown).
    """

    weights: pd.Series
    expected_return: float
    volatility: float
    sharpe_ratio: float
    risk_free_rate: float = 0.0
    objective: Objective = field(default_factory=Objective)
    effective_number_of_assets: float = float("nan")
    sector_weights: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))


def covariance_factor(cov: np.ndarray) -> np.ndarray:
    """A factor ``F`` with ``F' F = Sigma`` for a positive semidefinite covariance.

    Parameters
    ----------
    cov : ndarray (n_assets, n_assets)
        Symmetric covariance.

    Returns
    -------
    ndarray (k, n_assets)
        Rows ``sqrt(lambda_j) v_j'`` for the eigenpairs with ``lambda_j > 0``.

    Raises
    ------
    EstimationError
        If the matrix is not finite or has a clearly negative eigenvalue.
    """
    cov = np.asarray(cov, dtype=float)
    if not np.isfinite(cov).all():
        raise EstimationError("The covariance matrix has missing or infinite entries.")
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    scale = max(1.0, float(np.abs(values).max()))
    if values.min() < -1e-8 * scale:
        raise EstimationError(
            "The covariance matrix is not positive semidefinite; choose a shrinkage estimator."
        )
    keep = values > 1e-14 * scale
    return np.sqrt(values[keep])[:, None] * vectors[:, keep].T


def portfolio_performance(
    weights: pd.Series, expected_returns: pd.Series, cov: pd.DataFrame, risk_free_rate: float = 0.0
) -> tuple[float, float, float]:
    """Expected return, volatility and Sharpe ratio of a portfolio.

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights.
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance.
    risk_free_rate : float
        Annual decimal rate.

    Returns
    -------
    tuple of float
        (annualised return, annualised volatility, Sharpe ratio); the Sharpe ratio is NaN for a
        zero-volatility portfolio.
    """
    w = weights.reindex(expected_returns.index).fillna(0.0).to_numpy()
    ret = float(w @ expected_returns.to_numpy())
    vol = float(np.sqrt(max(w @ cov.to_numpy() @ w, 0.0)))
    sharpe = (ret - risk_free_rate) / vol if vol > 1e-12 else float("nan")
    return ret, vol, sharpe


def effective_number_of_assets(weights: pd.Series) -> float:
    """Inverse Herfindahl index ``1 / sum(w_i^2)`` of the weights.

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights.

    Returns
    -------
    float
        Between 1 (one asset) and n_assets (equal weights) for a long-only portfolio.
    """
    s = float((weights.to_numpy() ** 2).sum())
    return 1.0 / s if s > 0 else float("nan")


def sector_exposure(weights: pd.Series, sectors: pd.Series | dict) -> pd.Series:
    """Total weight per sector.

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights indexed by ticker.
    sectors : Series or dict
        Ticker -> sector; tickers without one count as ``"Unknown"``.

    Returns
    -------
    Series
        Decimal weight per sector, largest first.
    """
    labels = pd.Series(sectors).reindex(weights.index).fillna("Unknown")
    return weights.groupby(labels).sum().sort_values(ascending=False)


def _validate(expected_returns: pd.Series, cov: pd.DataFrame) -> None:
    if len(expected_returns) == 0:
        raise OptimizationError("The universe is empty: choose at least one asset.")
    if list(cov.index) != list(expected_returns.index) or list(cov.columns) != list(
        expected_returns.index
    ):
        raise EstimationError("Expected returns and covariance do not cover the same assets.")
    if not np.isfinite(expected_returns.to_numpy()).all():
        raise EstimationError("Some expected returns are missing or infinite.")


def _base_constraints(w: cp.Variable, lin: LinearConstraints, scale: cp.Expression | float = 1.0):
    cons = [cp.sum(w) == scale, w >= lin.lower * scale, w <= lin.upper * scale]
    if len(lin.h):
        cons.append(lin.G @ w <= lin.h * scale)
    return cons


def _solve(problem: cp.Problem) -> None:
    try:
        problem.solve(solver=cp.CLARABEL, **_SOLVER_OPTIONS)
    except cp.error.SolverError:
        try:
            problem.solve(solver=cp.CLARABEL)
        except cp.error.SolverError as exc:  # pragma: no cover - numerical failure
            raise OptimizationError(
                f"The solver failed ({exc}); try a shrinkage covariance."
            ) from exc


def _extreme_return(mu: np.ndarray, lin: LinearConstraints, sense: str) -> float:
    """Highest (or lowest) expected return any portfolio within the constraints reaches."""
    w = cp.Variable(len(mu))
    obj = cp.Maximize(mu @ w) if sense == "max" else cp.Minimize(mu @ w)
    problem = cp.Problem(obj, _base_constraints(w, lin))
    _solve(problem)
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise InfeasibleConstraintsError(_generic_infeasible(lin))
    return float(mu @ w.value)


def _min_volatility(F: np.ndarray, lin: LinearConstraints) -> tuple[np.ndarray, float]:
    w = cp.Variable(F.shape[1])
    problem = cp.Problem(cp.Minimize(cp.sum_squares(F @ w)), _base_constraints(w, lin))
    _solve(problem)
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise InfeasibleConstraintsError(_generic_infeasible(lin))
    return w.value, float(np.sqrt(max(problem.value, 0.0)))


def _generic_infeasible(lin: LinearConstraints) -> str:
    extra = f" and {'; '.join(lin.labels)}" if lin.labels else ""
    return (
        "No fully invested portfolio satisfies the weight bounds"
        f"{extra} together; loosen one of them."
    )


def optimize(
    expected_returns: pd.Series,
    cov: pd.DataFrame,
    objective: Objective | str = "max_sharpe",
    constraints: Constraints | None = None,
) -> OptimizationResult:
    """Optimal portfolio for an objective under constraints.

    Parameters
    ----------
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns, indexed by ticker.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance, same tickers and order.
    objective : Objective or str
        The objective, or just its kind with default parameters.
    constraints : Constraints, optional
        Defaults to long-only, fully invested, weights in [0, 1].

    Returns
    -------
    OptimizationResult

    Raises
    ------
    InfeasibleConstraintsError
        When no portfolio satisfies the constraints and the objective's targets; the message
        says which conflict (bounds, sector limits, a target return above the highest
        achievable, a target or maximum volatility below the minimum-variance portfolio's, no
        asset above the risk-free rate for the maximum Sharpe ratio).
    EstimationError
        Mismatched or non-finite inputs, or a covariance that is not positive semidefinite.
    OptimizationError
        Unknown objective or a solver failure.

    Notes
    -----
    The maximum Sharpe ratio is solved exactly as a convex program by the change of variables
    ``y = kappa w`` (Cornuejols & Tutuncu 2007, section 8.2): minimise ``y' Sigma y`` subject
    to ``(mu - r_f)' y = 1``, ``sum(y) = kappa``, bounds and sector limits scaled by
    ``kappa >= 0``, and, with a maximum volatility, ``||F y|| <= sigma_max kappa``.

    References
    ----------
    Markowitz (1952), "Portfolio Selection", Journal of Finance 7(1); Cornuejols & Tutuncu
    (2007), "Optimization Methods in Finance"; cvxpy (Diamond & Boyd 2016) with Clarabel.
    """
    if isinstance(objective, str):
        objective = Objective(kind=objective)
    constraints = constraints or Constraints()
    _validate(expected_returns, cov)
    tickers = list(expected_returns.index)
    lin = constraints.linear_form(tickers)
    mu = expected_returns.to_numpy(dtype=float)
    F = covariance_factor(cov.to_numpy())
    rf = float(objective.risk_free_rate)
    max_vol = constraints.max_volatility

    # Conflicts between targets and what the constraints allow, named before solving.
    limits: dict[str, float] = {}
    if max_vol is not None:
        limits["maximum portfolio volatility"] = float(max_vol)
    if objective.kind == "target_volatility":
        limits["target volatility"] = float(objective.target_volatility)
    if limits:
        _, min_vol = _min_volatility(F, lin)
        for which, limit in limits.items():
            if limit < min_vol - 1e-9:
                raise InfeasibleConstraintsError(
                    f"The {which} of {limit:.2%} is below the minimum-variance portfolio's "
                    f"volatility of {min_vol:.2%} under these constraints: raise it to at least "
                    f"{min_vol:.2%} or loosen the constraints."
                )
    if objective.kind == "target_return":
        highest = _extreme_return(mu, lin, "max")
        if objective.target_return > highest + 1e-9:
            raise InfeasibleConstraintsError(
                f"The target return of {objective.target_return:.2%} is above the highest "
                f"expected return the constraints allow, {highest:.2%}."
            )
    if objective.kind == "max_sharpe":
        highest = _extreme_return(mu, lin, "max")
        if highest <= rf + 1e-12:
            raise InfeasibleConstraintsError(
                f"No portfolio within the constraints is expected to beat the risk-free rate "
                f"of {rf:.2%} (the best reaches {highest:.2%}), so the Sharpe ratio has no "
                "maximum: lower the risk-free rate or choose another objective."
            )

    n = len(tickers)
    w = cp.Variable(n)
    cons = _base_constraints(w, lin)
    if max_vol is not None and objective.kind != "max_sharpe":
        cons.append(cp.norm(F @ w, 2) <= max_vol)
    if objective.kind == "min_volatility":
        problem = cp.Problem(cp.Minimize(cp.sum_squares(F @ w)), cons)
    elif objective.kind == "target_return":
        cons.append(mu @ w >= objective.target_return)
        problem = cp.Problem(cp.Minimize(cp.sum_squares(F @ w)), cons)
    elif objective.kind == "target_volatility":
        cons.append(cp.norm(F @ w, 2) <= objective.target_volatility)
        problem = cp.Problem(cp.Maximize(mu @ w), cons)
    elif objective.kind == "max_utility":
        delta = objective.risk_aversion
        problem = cp.Problem(cp.Maximize(mu @ w - delta / 2 * cp.sum_squares(F @ w)), cons)
    else:  # max_sharpe, homogenised
        y = cp.Variable(n)
        kappa = cp.Variable(nonneg=True)
        cons = _base_constraints(y, lin, scale=kappa) + [(mu - rf) @ y == 1]
        if max_vol is not None:
            cons.append(cp.norm(F @ y, 2) <= max_vol * kappa)
        problem = cp.Problem(cp.Minimize(cp.sum_squares(F @ y)), cons)
    _solve(problem)
    if problem.status in ("infeasible", "infeasible_inaccurate"):
        raise InfeasibleConstraintsError(
            _generic_infeasible(lin) + _target_hint(objective, max_vol)
        )
    if problem.status in ("unbounded", "unbounded_inaccurate"):
        raise OptimizationError(
            "The problem is unbounded: with shorting allowed, set finite weight bounds."
        )
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise OptimizationError(f"The solver stopped with status {problem.status!r}.")

    if objective.kind == "max_sharpe":
        values = y.value / kappa.value
    else:
        values = w.value
    values = np.clip(values, lin.lower, lin.upper)
    values[np.abs(values) < 1e-10] = 0.0
    weights = pd.Series(values / values.sum(), index=tickers, name="weight")
    ret, vol, sharpe = portfolio_performance(weights, expected_returns, cov, rf)
    sectors = pd.Series(dict(constraints.sectors)) if constraints.sectors else pd.Series(dtype=str)
    return OptimizationResult(
        weights=weights,
        expected_return=ret,
        volatility=vol,
        sharpe_ratio=sharpe,
        risk_free_rate=rf,
        objective=objective,
        effective_number_of_assets=effective_number_of_assets(weights),
        sector_weights=sector_exposure(weights, sectors)
        if len(sectors)
        else pd.Series(dtype=float),
    )


def _target_hint(objective: Objective, max_vol: float | None) -> str:
    if objective.kind == "target_return" and max_vol is not None:
        return (
            f" The target return of {objective.target_return:.2%} cannot be reached within the "
            f"maximum volatility of {max_vol:.2%}."
        )
    return ""


# The efficient frontier lives in its own module; re-exported here as part of the public API.
from core.frontier import Frontier, efficient_frontier  # noqa: E402
