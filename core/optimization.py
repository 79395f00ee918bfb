"""Mean-variance optimisation (Markowitz 1952) under Ballast's constraints.

Conventions
-----------
Expected returns are an annualised decimal ``Series (n_assets,)``, the covariance an annualised
``DataFrame (n_assets, n_assets)``, both indexed by ticker. Weights are a ``Series (n_assets,)``
summing to 1. The risk-free rate is an annual decimal.

Method
------
Every objective here is a point of the efficient frontier, so one engine solves them all: the
critical-line walk of :mod:`core.frontier` (Markowitz 1956), stopped as soon as the wanted
point is passed. Minimum volatility is its start (risk tolerance ``t = 0``), the maximum
quadratic utility with risk aversion delta the point at ``t = 1 / delta``, a target return the
point with that return (the minimum-variance portfolio when the target is below its return),
a target volatility the point with that volatility, the maximum Sharpe ratio the tangency
(exact, in closed form on its segment); a maximum volatility ends the frontier at the cap. The
solution is an exact KKT point (no solver tolerance); a singular covariance gets a tiny ridge
for the walk (see :mod:`core.frontier`).

Before solving, the constraints are checked for conflicts so that the user reads which ones
conflict instead of a solver status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.constraints import Constraints, LinearConstraints
from core.exceptions import EstimationError, InfeasibleConstraintsError, OptimizationError

# The engine; Frontier and efficient_frontier are re-exported as part of the public API.
from core.frontier import Frontier, efficient_frontier, frontier_optimum

__all__ = [
    "OBJECTIVES",
    "Objective",
    "OptimizationResult",
    "optimize",
    "portfolio_performance",
    "effective_number_of_assets",
    "sector_exposure",
    "optimal_weights",
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


def _generic_infeasible(lin: LinearConstraints) -> str:
    extra = f" and {'; '.join(lin.labels)}" if lin.labels else ""
    return (
        "No fully invested portfolio satisfies the weight bounds"
        f"{extra} together; loosen one of them."
    )


def _volatility(w: np.ndarray, cov: np.ndarray) -> float:
    return float(np.sqrt(max(w @ cov @ w, 0.0)))


def optimal_weights(
    expected_returns: np.ndarray,
    cov: np.ndarray,
    objective: Objective,
    lin: LinearConstraints,
    max_volatility: float | None = None,
) -> np.ndarray:
    """Optimal weights as arrays: the engine behind :func:`optimize`, for repeated solves.

    For callers that solve the same constraints many times (a backtest's rebalance dates):
    ``lin`` is computed once, and no pandas objects are built.

    Parameters
    ----------
    expected_returns : ndarray (n_assets,)
        Annualised decimal expected returns (finite).
    cov : ndarray (n_assets, n_assets)
        Annualised covariance, positive semidefinite.
    objective : Objective
        The objective.
    lin : LinearConstraints
        ``Constraints.linear_form(tickers)``.
    max_volatility : float, optional
        Annualised decimal cap on the portfolio's volatility (``Constraints.max_volatility``).

    Returns
    -------
    ndarray (n_assets,)
        Decimal weights summing to 1, within the bounds.

    Raises
    ------
    InfeasibleConstraintsError, EstimationError, OptimizationError
        As :func:`optimize`.

    References
    ----------
    Markowitz (1952); Markowitz (1956) and Niedermayer & Niedermayer (2010) for the critical
    line; Merton (1972).
    """
    mu = np.asarray(expected_returns, dtype=float)
    cov = np.asarray(cov, dtype=float)
    rf = float(objective.risk_free_rate)
    kind = objective.kind
    limits: dict[str, float] = {}
    if max_volatility is not None:
        limits["maximum portfolio volatility"] = float(max_volatility)
    if kind == "target_volatility":
        limits["target volatility"] = float(objective.target_volatility)
    cap = None if max_volatility is None else float(max_volatility)
    if kind == "min_volatility":
        point, value = "risk_tolerance", 0.0
    elif kind == "max_utility":
        point, value = "risk_tolerance", 1.0 / float(objective.risk_aversion)
    elif kind == "target_return":
        # Walked without the cap: the cap is then checked at the target (a clearer message).
        point, value, cap = "return", float(objective.target_return), None
    elif kind == "target_volatility":
        point, value, cap = "volatility", min(limits.values()), None
    else:
        point, value = "tangency", rf
    found = frontier_optimum(mu, cov, lin, point, value, cap)

    min_vol = _volatility(found.min_variance, cov)
    for which, limit in limits.items():
        if limit < min_vol - 1e-9:
            raise InfeasibleConstraintsError(
                f"The {which} of {limit:.2%} is below the minimum-variance portfolio's "
                f"volatility of {min_vol:.2%} under these constraints: raise it to at least "
                f"{min_vol:.2%} or loosen the constraints."
            )
    values = found.weights
    if kind == "target_return":
        reached = float(values @ mu)
        if objective.target_return > reached + 1e-9:  # the walk went to the highest return
            raise InfeasibleConstraintsError(
                f"The target return of {objective.target_return:.2%} is above the highest "
                f"expected return the constraints allow, {reached:.2%}."
            )
        if max_volatility is not None and _volatility(values, cov) > max_volatility + 1e-9:
            raise InfeasibleConstraintsError(
                _generic_infeasible(lin)
                + f" The target return of {objective.target_return:.2%} cannot be reached "
                f"within the maximum volatility of {max_volatility:.2%}."
            )
    if values is None:  # max_sharpe: nothing walked beats the risk-free rate
        within = ""
        if not found.reached_max_return:  # stopped by the cap: how high could it go?
            within = f" within the maximum volatility of {max_volatility:.2%}"
            uncapped = frontier_optimum(mu, cov, lin, "tangency", rf)
            if uncapped.weights is None:
                found, within = uncapped, ""
        highest = float(found.end @ mu)
        raise InfeasibleConstraintsError(
            f"No portfolio within the constraints{within} is expected to beat the risk-free "
            f"rate of {rf:.2%} (the best reaches {highest:.2%}), so the Sharpe ratio has no "
            "maximum: lower the risk-free rate or choose another objective."
        )
    values = np.clip(values, lin.lower, lin.upper)
    values[np.abs(values) < 1e-10] = 0.0
    return values / values.sum()


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
        Unknown objective, or an objective whose optimum lies beyond an unbounded frontier
        (shorting with infinite weight bounds: set finite ones).

    Notes
    -----
    Each objective is one point of the efficient frontier, found by the critical-line walk of
    :func:`core.frontier.frontier_optimum`, stopped once that point is passed (see the module
    docstring): minimum volatility at risk tolerance ``t = 0``, maximum utility at
    ``t = 1 / delta``, a target return or volatility where the frontier reaches it, the maximum
    Sharpe ratio at the tangency, which is exact (the Sharpe ratio along a frontier segment has
    one stationary point in closed form). The optimum is an exact KKT point; the tests check it
    against cvxpy, PyPortfolioOpt and closed forms.

    References
    ----------
    Markowitz (1952), "Portfolio Selection", Journal of Finance 7(1); Markowitz (1956), "The
    optimization of a quadratic function subject to linear constraints", Naval Research
    Logistics Quarterly 3; Niedermayer & Niedermayer (2010), "Applying Markowitz's critical
    line algorithm"; Merton (1972), "An analytic derivation of the efficient portfolio
    frontier", JFQA 7(4).
    """
    if isinstance(objective, str):
        objective = Objective(kind=objective)
    constraints = constraints or Constraints()
    _validate(expected_returns, cov)
    tickers = list(expected_returns.index)
    lin = constraints.linear_form(tickers)
    values = optimal_weights(
        expected_returns.to_numpy(dtype=float),
        cov.to_numpy(dtype=float),
        objective,
        lin,
        constraints.max_volatility,
    )
    rf = float(objective.risk_free_rate)
    weights = pd.Series(values, index=tickers, name="weight")
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
