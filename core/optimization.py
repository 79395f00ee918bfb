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

From the book held (holdings, costs, turnover budget, locks, no-buy / no-sell lists, exposure
limits, a tracking-error cap, cash bounds) and for the benchmark-relative objectives (minimum
tracking error, maximum information ratio) the problem is solved exactly as a convex conic
program by :mod:`core.rebalancing` (trades split into buys and sells; Clarabel). From-cash,
fully invested problems without these options keep the critical-line engine.

A maximum Sharpe ratio on a singular covariance is refused when a zero-volatility portfolio
within the constraints earns more than the risk-free rate (then the ratio is unbounded); a
linear program over the covariance's null space (HiGHS) finds such a portfolio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import rebalancing
from core.constraints import Constraints, LinearConstraints
from core.exceptions import EstimationError, InfeasibleConstraintsError, OptimizationError

# The engine; Frontier and efficient_frontier are re-exported as part of the public API.
from core.frontier import Frontier, efficient_frontier, frontier_optimum

# Tail-risk, risk-budgeting and hierarchical kinds (min_cvar, min_cdar, max_return,
# risk_parity, hrp, herc): optimize hands them to core.tail_allocation.
from core.tail_allocation import TAIL_OBJECTIVES

__all__ = [
    "OBJECTIVES",
    "BENCHMARK_OBJECTIVES",
    "TAIL_OBJECTIVES",
    "Objective",
    "OptimizationResult",
    "optimize",
    "portfolio_performance",
    "effective_number_of_assets",
    "exposures",
    "sector_exposure",
    "optimal_weights",
    "active_frontier",
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
    "min_tracking_error": "Minimum tracking error against the benchmark",
    "max_information_ratio": "Maximum information ratio against the benchmark",
}

#: Objectives measured against the benchmark (they need ``Objective.benchmark_weights``).
BENCHMARK_OBJECTIVES = ("min_tracking_error", "max_information_ratio")


@dataclass(frozen=True)
class Objective:
    """What the optimiser maximises or minimises.

    Parameters
    ----------
    kind : str
        The objective, a key of :data:`OBJECTIVES`: ``"max_sharpe"``, ``"min_volatility"``,
        ``"target_return"``, ``"target_volatility"``, ``"max_utility"``,
        ``"min_tracking_error"``, ``"max_information_ratio"``.
    target_return : float, optional
        Annualised decimal return for ``"target_return"`` (the portfolio earns at least this).
    target_volatility : float, optional
        Annualised decimal volatility for ``"target_volatility"`` (at most this).
    risk_aversion : float
        delta in ``w' mu - delta / 2 w' Sigma w`` for ``"max_utility"``; positive.
    risk_free_rate : float
        Annual decimal risk-free rate, for the Sharpe ratio (and the return of cash).
    transaction_costs : float or mapping of str to float
        Proportional trading cost, decimal per unit of weight traded (0.001 = 10 bps): one
        figure for every asset, or ticker -> cost (tickers left out cost 0). Objectives use the
        net return ``mu'w - sum c_i |w_i - w0_i| / H`` (``w0 = 0`` without holdings: from cash
        the whole purchase pays). Minimum volatility, a target return and minimum tracking
        error minimise the volatility (tracking error) plus the amortised costs.
    cost_horizon : float
        H, the years over which costs are amortised (positive; default 1).
    benchmark_weights : Series or mapping of str to float, optional
        Benchmark ``b`` for tracking error: ticker -> decimal weight. It may name assets outside
        the investable universe that the expected returns and covariance cover (the index
        itself, e.g. ``"SP500"``): see ``non_investable``. Needed by the benchmark objectives
        and by ``Constraints.max_tracking_error``.
    non_investable : iterable of str, optional
        Assets of the expected returns and covariance that the portfolio may not hold (weight
        0; left out of the result's weights). Default: when the benchmark is one asset at 100 %
        (an index series) that asset, otherwise none (the benchmark is a model portfolio).
    cvar_confidence : float
        Confidence of CVaR and CDaR (``"min_cvar"``, ``"min_cdar"``, ``Constraints.max_cvar``),
        in [0.5, 1); default 0.95.
    risk_budgets : Series or mapping, optional
        For ``"risk_parity"``: ticker -> or sector -> share of the volatility (decimals summing
        to 1); None is equal risk contribution. See :mod:`core.risk_budgeting`.

    Raises
    ------
    OptimizationError
        Unknown kind, a missing or invalid target, negative costs, a non-positive horizon, a
        benchmark objective without benchmark weights.
    """

    kind: str = "max_sharpe"
    target_return: float | None = None
    target_volatility: float | None = None
    risk_aversion: float = 1.0
    risk_free_rate: float = 0.0
    transaction_costs: float | Mapping[str, float] | pd.Series = 0.0
    cost_horizon: float = 1.0
    benchmark_weights: pd.Series | Mapping[str, float] | None = None
    non_investable: tuple[str, ...] | None = None
    cvar_confidence: float = 0.95
    risk_budgets: pd.Series | Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(float(self.cvar_confidence))
                and 0.5 <= float(self.cvar_confidence) < 1.0):  # fmt: skip
            raise OptimizationError(
                "The CVaR confidence must be between 50 % and 100 % (e.g. 0.95); got "
                f"{self.cvar_confidence!r}."
            )
        if self.kind not in OBJECTIVES and self.kind not in TAIL_OBJECTIVES:
            raise OptimizationError(
                f"Unknown objective {self.kind!r}; use one of "
                f"{', '.join([*OBJECTIVES, *TAIL_OBJECTIVES])}."
            )
        costs = self.transaction_costs
        values = (
            np.asarray(list(costs.values()) if isinstance(costs, Mapping) else costs, dtype=float)
            if not isinstance(costs, pd.Series)
            else costs.to_numpy(dtype=float)
        )
        if not np.isfinite(values).all() or (values < 0).any():
            raise OptimizationError(
                "Transaction costs must be non-negative decimals per unit traded "
                "(0.001 = 10 bps)."
            )
        if not (np.isfinite(self.cost_horizon) and self.cost_horizon > 0):
            raise OptimizationError("The cost horizon must be a positive number of years.")
        if self.kind in BENCHMARK_OBJECTIVES and self.benchmark_weights is None:
            raise OptimizationError(
                f"{OBJECTIVES[self.kind]} needs the benchmark's weights: choose a benchmark."
            )
        if self.benchmark_weights is not None:
            b = np.array(list(dict(self.benchmark_weights).values()), dtype=float)
            if len(b) == 0 or not np.isfinite(b).all():
                raise OptimizationError("The benchmark weights must be finite numbers.")
        if self.non_investable is not None:
            names = self.non_investable
            object.__setattr__(
                self, "non_investable", (names,) if isinstance(names, str) else tuple(names)
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
    turnover : float
        One-way turnover ``sum |w - w0| / 2`` from the holdings (decimal; from cash ``w0 = 0``).
    tracking_error : float or None
        Annualised decimal ``sqrt((w - b)' Sigma (w - b))``; None without benchmark weights.
    costs : float
        One-off trading cost ``sum c_i |w_i - w0_i|``, decimal of the book's value (not
        amortised).
    shadow_prices : Series
        Binding constraint name (``"turnover at most 10.0%"``, ``"AAPL at most 25.0%"``,
        ``"sector Energy at most 30.0%"``, ``"gross exposure at most 160%"``, ``"tracking error
        at most 3.0%"``, ...) -> objective gained per percentage point of relaxation, in the
        objective's units: Sharpe ratio (``max_sharpe``) or information ratio
        (``max_information_ratio``); decimal annualised return for ``max_utility`` (utility)
        and ``target_volatility``; decimal annualised volatility (tracking error) plus
        amortised costs saved for ``min_volatility``, ``target_return`` and
        ``min_tracking_error``. Positive; only binding constraints, largest first.
    current_weights : Series or None
        The holdings ``w0`` (investable tickers), None when the optimisation started from cash.
    number_of_trades : int
        Assets whose weight changes by more than 1e-6.
    cash_weight : float
        ``1 - sum(w)``, decimal (0 when fully invested).
    mip_gap : float or None
        Proven relative gap of a mixed-integer solve (:mod:`core.mixed_integer`; Sharpe ratio
        for ``max_sharpe``); None for the continuous engines, which are exact.
    mip_status : str
        ``"optimal (0.42 s)"`` or ``"time limit (5.00 s)"`` after a mixed-integer solve.
    shares : Series or None
        Whole shares per ticker when ``Constraints.whole_shares`` was set.
    """

    weights: pd.Series
    expected_return: float
    volatility: float
    sharpe_ratio: float
    risk_free_rate: float = 0.0
    objective: Objective = field(default_factory=Objective)
    effective_number_of_assets: float = float("nan")
    sector_weights: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    turnover: float = 0.0
    tracking_error: float | None = None
    costs: float = 0.0
    shadow_prices: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    current_weights: pd.Series | None = None
    number_of_trades: int = 0
    cash_weight: float = 0.0
    mip_gap: float | None = None
    mip_status: str = ""
    shares: pd.Series | None = None


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
    return _effective_number(weights.to_numpy())


def _effective_number(w: np.ndarray) -> float:
    s = float(w @ w)
    return 1.0 / s if s > 0 else float("nan")


def exposures(weights: pd.Series) -> dict[str, float]:
    """Long, short, gross and net exposure of a portfolio (decimals of capital).

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights.

    Returns
    -------
    dict of str to float
        ``long`` (sum of positive weights), ``short`` (sum of negative weights, <= 0),
        ``gross`` (``long - short``, the sum of absolute weights) and ``net`` (``long + short``).

    References
    ----------
    Grinold, R. C. & Kahn, R. N. (2000), *Active Portfolio Management*, 2nd ed., ch. 15
    (long-short portfolios: gross and net exposure).
    """
    w = weights.to_numpy(dtype=float)
    long, short = float(w[w > 0].sum()), float(w[w < 0].sum())
    return {"long": long, "short": short, "gross": long - short, "net": long + short}


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
        Decimal weight per sector, largest first (ties in the sectors' order by name).
    """
    # Sums in a dictionary, not pandas' groupby (several times slower, paid by every
    # optimisation of a slider move).
    names = sectors.name if isinstance(sectors, pd.Series) else None
    lookup = sectors.to_dict() if isinstance(sectors, pd.Series) else sectors
    totals: dict = {}
    for ticker, w in zip(weights.index, weights.to_numpy(dtype=float), strict=True):
        sector = lookup.get(ticker)
        if sector is None or pd.isna(sector):  # missing: None, NaN or pd.NA
            sector = "Unknown"
        totals[sector] = totals.get(sector, 0.0) + w
    keys = sorted(totals, key=lambda k: (-totals[k], k))  # largest first, ties by name
    return pd.Series([totals[k] for k in keys], index=pd.Index(keys, name=names),
                     name=weights.name, dtype=float)  # fmt: skip


def _validate(expected_returns: pd.Series, cov: pd.DataFrame) -> None:
    if len(expected_returns) == 0:
        raise OptimizationError("The universe is empty: choose at least one asset.")
    index = expected_returns.index
    if not (cov.index.equals(index) and cov.columns.equals(index)):
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
    if objective.kind in BENCHMARK_OBJECTIVES:
        raise OptimizationError(
            f"{OBJECTIVES[objective.kind]} is not available here: use optimize with the "
            "benchmark in the expected returns and covariance."
        )
    if objective.kind in TAIL_OBJECTIVES:
        raise OptimizationError(
            f"{TAIL_OBJECTIVES[objective.kind]} needs return scenarios, which this "
            "computation (a walk-forward backtest) does not take yet: choose a mean-variance "
            "objective for it."
        )
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
    if kind == "max_sharpe" and found.regularization > 0:
        _refuse_riskless_arbitrage(mu, cov, lin, rf)
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


def _refuse_riskless_arbitrage(
    mu: np.ndarray, cov: np.ndarray, lin: LinearConstraints, rf: float
) -> None:
    """Raise when a zero-volatility portfolio within ``lin`` earns more than ``rf``.

    On a singular covariance ``w = N a`` (``N`` a basis of the null space) has no risk; the
    largest excess return of such portfolios within the constraints is a linear program.
    """
    from scipy.optimize import linprog

    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    scale = max(float(np.mean(np.diag(cov))), 1e-300)
    null = vecs[:, vals < 1e-10 * scale]
    if null.shape[1] == 0:
        return
    n = len(mu)
    fin_up, fin_lo = np.isfinite(lin.upper), np.isfinite(lin.lower)
    A_ub = np.vstack([null[fin_up], -null[fin_lo], np.reshape(lin.G, (-1, n)) @ null])
    b_ub = np.concatenate([lin.upper[fin_up], -lin.lower[fin_lo], lin.h])
    res = linprog(
        -(null.T @ (mu - rf)),
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=(np.ones(n) @ null)[None, :],
        b_eq=[1.0],
        bounds=[(None, None)] * null.shape[1],
        method="highs",
    )
    if res.status == 3 or (res.status == 0 and -res.fun > 1e-9):
        raise InfeasibleConstraintsError(rebalancing.unbounded_sharpe_message(rf))


def optimize(
    expected_returns: pd.Series,
    cov: pd.DataFrame,
    objective: Objective | str = "max_sharpe",
    constraints: Constraints | None = None,
    scenarios: pd.DataFrame | None = None,
) -> OptimizationResult:
    """Optimal portfolio for an objective under constraints, from cash or from the book held.

    Parameters
    ----------
    expected_returns : Series (N,)
        Annualised decimal expected returns, indexed by ticker; may include benchmark-only
        assets (an index, see ``Objective.non_investable``).
    cov : DataFrame (N, N)
        Annualised covariance, same tickers and order (the joint estimate with the index).
    objective : Objective or str
        The objective, or just its kind with default parameters.
    constraints : Constraints, optional
        Defaults to long-only, fully invested, weights in [0, 1], from cash.
    scenarios : DataFrame (n_scenarios, n_assets), optional
        Per-period decimal returns by ticker (the window's, or Monte Carlo draws of
        :func:`core.scenario_optimization.simulate_scenarios`), for ``"min_cvar"``,
        ``"min_cdar"``, ``Constraints.max_cvar``, ``"hrp"`` and ``"herc"``. These objectives
        and ``"risk_parity"`` are solved by :func:`core.tail_allocation.optimize_tail`.

    Returns
    -------
    OptimizationResult
        Weights of the investable assets (benchmark-only assets are left out, at weight 0).
        ``expected_return`` is ``mu'w + r_f * cash``, gross of costs, and ``sharpe_ratio`` is
        gross too; ``costs`` holds the one-off cost. ``shadow_prices`` come from the conic
        engine's duals, or from cash without the holdings options from the KKT conditions at
        the critical-line optimum.

    Raises
    ------
    InfeasibleConstraintsError
        When no portfolio satisfies the constraints and the objective's targets; the message
        says which conflict (bounds, sector limits, a target return above the highest
        achievable, a target or maximum volatility below the minimum-variance portfolio's, no
        asset above the risk-free rate for the maximum Sharpe ratio, a riskless portfolio above
        it on a singular covariance, a turnover budget smaller than the locks force, a
        tracking-error cap below the minimum achievable, holdings of unknown tickers).
    EstimationError
        Mismatched or non-finite inputs, a covariance that is not positive semidefinite, a
        benchmark naming assets the estimates do not cover.
    OptimizationError
        Unknown objective, or an objective whose optimum lies beyond an unbounded frontier
        (shorting with infinite weight bounds: set finite ones).

    Notes
    -----
    From cash, fully invested, without costs, holdings options or a benchmark objective, each
    objective is one point of the efficient frontier, found by the critical-line walk of
    :func:`core.frontier.frontier_optimum`, stopped once that point is passed (see the module
    docstring): minimum volatility at risk tolerance ``t = 0``, maximum utility at
    ``t = 1 / delta``, a target return or volatility where the frontier reaches it, the maximum
    Sharpe ratio at the tangency, which is exact (the Sharpe ratio along a frontier segment has
    one stationary point in closed form). The optimum is an exact KKT point; the tests check it
    against cvxpy, PyPortfolioOpt and closed forms. Every other problem is the conic program of
    :func:`core.rebalancing.solve_book` (see that module for how costs enter each objective).

    References
    ----------
    Markowitz (1952), "Portfolio Selection", Journal of Finance 7(1); Markowitz (1956), "The
    optimization of a quadratic function subject to linear constraints", Naval Research
    Logistics Quarterly 3; Niedermayer & Niedermayer (2010), "Applying Markowitz's critical
    line algorithm"; Merton (1972), "An analytic derivation of the efficient portfolio
    frontier", JFQA 7(4); Cornuejols & Tutuncu (2007), "Optimization Methods in Finance",
    ch. 8; Grinold & Kahn (2000), "Active Portfolio Management".
    """
    if isinstance(objective, str):
        objective = Objective(kind=objective)
    constraints = constraints or Constraints()
    from core import (
        mixed_integer,  # holdings limits, rules, whole shares: a mixed-integer program
        tail_allocation,
    )

    if tail_allocation.handles(objective, constraints):
        if mixed_integer.applies(constraints):
            raise OptimizationError(
                "Position counts, minimum positions, rules and whole shares do not combine "
                "with the CVaR, CDaR, risk-parity and hierarchical objectives yet: remove them "
                "or choose a mean-variance objective."
            )
        return tail_allocation.optimize_tail(expected_returns, cov, objective, constraints,
                                             scenarios)  # fmt: skip
    if mixed_integer.applies(constraints):
        return mixed_integer.optimize(expected_returns, cov, objective, constraints)
    _validate(expected_returns, cov)
    every = expected_returns.index.tolist()  # tolist: iterating a str index is 10x slower
    excluded = _non_investable(objective, every)
    tickers = [t for t in every if t not in excluded] if excluded else every
    if not tickers:
        raise OptimizationError("Every asset is the benchmark's: nothing is left to invest in.")
    rf = float(objective.risk_free_rate)
    bench = None
    if objective.benchmark_weights is not None:
        raw = objective.benchmark_weights
        b = dict(zip(raw.index, raw.to_numpy(dtype=float), strict=True)) if isinstance(
            raw, pd.Series) else {k: float(v) for k, v in dict(raw).items()}  # fmt: skip
        covered = set(every)
        unknown = [str(t) for t, v in b.items() if t not in covered and v != 0]
        if unknown:
            raise EstimationError(
                f"The benchmark names {', '.join(unknown)}, which the expected returns and "
                "covariance do not cover: estimate them jointly with the benchmark."
            )
        bench = np.array([b.get(t, 0.0) for t in every], dtype=float)
    # The result's Series share one index (built from an Index, not a list: 5x faster).
    index = expected_returns.index[~expected_returns.index.isin(list(excluded))] if excluded \
        else expected_returns.index
    w0 = constraints.holdings(tickers, index=index)
    costs = _costs(objective.transaction_costs, tickers, index)
    book = (
        constraints.holds_book
        or objective.kind in BENCHMARK_OBJECTIVES
        or bool(costs.any())
    )
    mu_all = expected_returns.to_numpy(dtype=float)
    cov_all = cov.to_numpy(dtype=float)
    lin = constraints.linear_form(tickers)
    keep = np.array([t not in excluded for t in every]) if excluded else np.ones(len(every), bool)
    if book:
        problem = _book_problem(mu_all, cov_all, constraints, objective, lin, keep, w0, costs,
                                bench, every)  # fmt: skip
        target = (
            objective.target_return
            if objective.kind == "target_return"
            else objective.target_volatility
        )
        solution = rebalancing.solve_book(
            problem, objective.kind, target=target, delta=float(objective.risk_aversion)
        )
        full = solution.weights
        prices = _price_series(solution.shadow_prices)
    else:
        values = optimal_weights(
            mu_all[keep],
            cov_all[np.ix_(keep, keep)],
            objective,
            lin,
            constraints.max_volatility,
        )
        full = np.zeros(len(every))
        full[keep] = values
        prices = _critical_line_prices(
            values, mu_all[keep], cov_all[np.ix_(keep, keep)], objective, lin,
            constraints.max_volatility, tickers,
        )  # fmt: skip
    weights = pd.Series(full[keep], index=index, name="weight")
    cash = float(1.0 - full.sum())
    ret = float(full @ mu_all) + rf * cash
    vol = float(np.sqrt(max(full @ cov_all @ full, 0.0)))
    sharpe = (ret - rf) / vol if vol > 1e-12 else float("nan")
    te = None
    if bench is not None:
        active = full - bench
        te = float(np.sqrt(max(active @ cov_all @ active, 0.0)))
    trades = full[keep] - w0
    return OptimizationResult(
        weights=weights,
        expected_return=ret,
        volatility=vol,
        sharpe_ratio=sharpe,
        risk_free_rate=rf,
        objective=objective,
        effective_number_of_assets=_effective_number(full[keep]),
        sector_weights=sector_exposure(weights, constraints.sectors)
        if constraints.sectors
        else pd.Series(np.empty(0), copy=False),  # float64 on a RangeIndex, without inference
        turnover=float(np.abs(trades).sum() / 2),
        tracking_error=te,
        costs=float(costs @ np.abs(trades)),
        shadow_prices=prices,
        current_weights=(
            pd.Series(w0, index=index, name="current weight")
            if constraints.current_weights is not None
            else None
        ),
        number_of_trades=int((np.abs(trades) > 1e-6).sum()),
        cash_weight=cash if abs(cash) > 1e-12 else 0.0,
    )


def _critical_line_prices(w, mu, cov, objective, lin, max_volatility, tickers) -> pd.Series:
    """Shadow prices of a from-cash optimum: the KKT multipliers of its binding rows.

    At the optimum ``grad f(w*) = sum_j lambda_j grad g_j(w*)`` over the binding rows ``g_j(w)
    <= h_j`` and the budget; by the envelope theorem ``lambda_j = d f* / d h_j``. The system
    is solved by least squares (exact when the binding rows are independent). ``f`` is in the
    units of :attr:`OptimizationResult.shadow_prices`.
    """
    kind, rf = objective.kind, float(objective.risk_free_rate)
    sw = cov @ w
    vol = float(np.sqrt(max(w @ sw, 0.0)))
    if vol <= 1e-12:
        return pd.Series(dtype=float, name="shadow price")
    if kind == "max_sharpe":
        sharpe = (float(mu @ w) - rf) / vol
        grad = ((mu - rf) - sharpe * sw / vol) / vol
    elif kind in ("min_volatility", "target_return"):
        grad = -sw / vol
    elif kind == "max_utility":  # cash, were it allowed, earns the risk-free rate
        grad = mu - rf - float(objective.risk_aversion) * sw
    else:
        grad = mu - rf
    # The bound rows are unit vectors: eliminate them. The other rows' multipliers solve the
    # equations of the assets off their bounds (least squares, a few unknowns); each bound's
    # multiplier is then its asset's residual. Same solution as one least-squares solve of the
    # whole system when the binding rows are independent, at O(n k) instead of O(n^3) (a
    # dense n x n system took seconds at 1,000 assets).
    n = len(w)
    at_upper = w >= lin.upper - 1e-10
    at_lower = ~at_upper & (w <= lin.lower + 1e-10)
    rows, names = [np.ones(n)], ["budget"]
    for g, h, label in zip(lin.G, lin.h, lin.labels, strict=True):
        if g @ w >= h - 1e-10:
            rows.append(g)
            names.append(label)
    caps = [max_volatility] if max_volatility is not None else []
    if kind == "target_volatility":
        caps.append(float(objective.target_volatility))
    for cap in caps:
        if abs(vol - cap) <= 1e-8:
            rows.append(sw / vol)
            names.append(f"volatility at most {cap:.1%}")
            break
    if kind == "target_return" and abs(float(mu @ w) - objective.target_return) <= 1e-9:
        rows.append(-(mu - rf))
        names.append(f"target return at least {objective.target_return:.1%}")
    other = np.array(rows).T  # (n, k)
    bound = at_upper | at_lower
    lam_other = np.zeros(other.shape[1])
    if (~bound).any():
        lam_other = np.linalg.lstsq(other[~bound], grad[~bound], rcond=None)[0]
    residual = grad - other @ lam_other
    lam_bound = np.where(at_upper, residual, -residual)
    for i in np.flatnonzero(bound):
        t = tickers[i]
        names.append(f"{t} at most {lin.upper[i]:.1%}" if at_upper[i]
                     else f"{t} at least {lin.lower[i]:.1%}")  # fmt: skip
    lam = np.concatenate([lam_other, lam_bound[bound]])
    scale = 1e-9 * max(1.0, float(np.abs(grad).max()))
    out = {}
    for name, value in zip(names, lam / 100, strict=True):
        if name == "budget":
            if abs(value) > scale:
                out["cash at least 0.0%" if value > 0 else "cash at most 0.0%"] = abs(value)
        elif value > scale:
            out[name] = float(value)
    ranked = sorted(out.items(), key=lambda kv: -kv[1])
    return pd.Series([v for _, v in ranked], index=[k for k, _ in ranked], dtype=float,
                     name="shadow price")  # fmt: skip


def _non_investable(objective: Objective, tickers: list[str]) -> set[str]:
    if objective.non_investable is not None:
        return {t for t in objective.non_investable if t in set(tickers)}
    if objective.benchmark_weights is None:
        return set()
    b = {k: float(v) for k, v in dict(objective.benchmark_weights).items() if float(v) != 0}
    if len(b) == 1:
        (name, weight), = b.items()
        if abs(weight - 1.0) < 1e-12 and name in set(tickers):
            return {name}
    return set()


def _price_series(prices: dict[str, float]) -> pd.Series:
    """Shadow prices as a Series, largest first."""
    # Arrays in, no copies: pandas then skips its inference (a third of the construction).
    keys = sorted(prices, key=prices.__getitem__, reverse=True)
    return pd.Series(np.array([prices[k] for k in keys], dtype=float),
                     index=pd.Index(np.array(keys, dtype=object), dtype=object, copy=False),
                     name="shadow price", copy=False)  # fmt: skip


def _costs(costs, tickers: list[str], index: pd.Index | None = None) -> np.ndarray:
    if isinstance(costs, pd.Series):
        if index is not None and costs.index.equals(index):  # the common case: no reindex
            values = costs.to_numpy(dtype=float)
            return np.where(np.isnan(values), 0.0, values)
        return costs.reindex(tickers).fillna(0.0).to_numpy(dtype=float)
    if isinstance(costs, Mapping):
        per = {k: float(v) for k, v in dict(costs).items()}
        return np.array([per.get(t, 0.0) for t in tickers], dtype=float)
    return np.full(len(tickers), float(costs))


def _book_problem(mu, cov, constraints, objective, lin, keep, w0, costs, bench, every):
    """The arrays of :class:`core.rebalancing.BookProblem` over every asset (index included)."""
    n = len(every)

    every_kept = bool(keep.all())

    def spread(values, fill=0.0):
        if every_kept:  # the common case: one copy
            return np.array(values, dtype=values.dtype if hasattr(values, "dtype") else float)
        out = np.full(n, fill, dtype=values.dtype if hasattr(values, "dtype") else float)
        out[keep] = values
        return out

    tick = list(every) if every_kept else [t for t, k in zip(every, keep, strict=True) if k]

    def marked(names) -> np.ndarray:
        names = set(names)
        return np.array([t in names for t in tick] if names else np.zeros(len(tick)), dtype=bool)

    locked = marked(constraints.locked)
    no_buy = locked | marked(constraints.no_buy)
    no_sell = locked | marked(constraints.no_sell)
    G = np.zeros((len(lin.h), n))
    G[:, keep] = lin.G
    cash_lo, cash_hi = (float(x) for x in constraints.cash_bounds)
    return rebalancing.BookProblem(
        mu=mu,
        cov=(cov + cov.T) / 2,
        lower=spread(np.asarray(lin.lower, float)),
        upper=spread(np.asarray(lin.upper, float)),
        G=G,
        h=np.asarray(lin.h, float),
        labels=list(lin.labels),
        tickers=list(every),
        w0=spread(w0),
        costs=spread(costs),
        horizon=float(objective.cost_horizon),
        no_buy=spread(no_buy, True).astype(bool),
        no_sell=spread(no_sell, True).astype(bool),
        locked=spread(locked, False).astype(bool),
        investable=np.asarray(keep, dtype=bool),
        risk_free_rate=float(objective.risk_free_rate),
        invested=(1.0 - cash_hi, 1.0 - cash_lo),
        max_turnover=constraints.max_turnover,
        max_gross=constraints.max_gross_exposure,
        max_long=constraints.max_long,
        max_short=constraints.max_short,
        max_volatility=constraints.max_volatility,
        max_tracking_error=constraints.max_tracking_error,
        benchmark=bench,
    )


def active_frontier(
    expected_returns: pd.Series,
    cov: pd.DataFrame,
    benchmark_weights: pd.Series,
    constraints: Constraints | None = None,
    n_points: int = 30,
    risk_free_rate: float = 0.0,
    non_investable: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """The active frontier: the highest active return for each tracking error.

    From the minimum-tracking-error portfolio to the highest-return one, the tracking error
    ``sqrt((w - b)' Sigma (w - b))`` is capped at equally spaced levels and the expected return
    maximised under the constraints (Roll 1992), each point an exact conic program of
    :mod:`core.rebalancing` (holdings, costs and every limit of ``constraints`` apply; costs are
    not charged here, the frontier is gross of them).

    Parameters
    ----------
    expected_returns : Series (N,)
        Annualised decimal expected returns, the benchmark-only assets included.
    cov : DataFrame (N, N)
        Annualised joint covariance.
    benchmark_weights : Series
        Benchmark ``b``: ticker -> decimal weight.
    constraints : Constraints, optional
        As for :func:`optimize` (its ``max_tracking_error`` is ignored here).
    n_points : int
        Number of points (at least 2).
    risk_free_rate : float
        Annual decimal, the return of cash.
    non_investable : tuple of str, optional
        As ``Objective.non_investable``.

    Returns
    -------
    DataFrame (n_points, 3 + n_assets)
        ``tracking_error`` and ``active_return`` (annualised decimals, active return = the
        portfolio's expected return minus the benchmark's), ``information_ratio``, then the
        weights of the investable assets.

    Raises
    ------
    InfeasibleConstraintsError, EstimationError, OptimizationError
        As :func:`optimize`.

    References
    ----------
    Roll (1992), "A mean/variance analysis of tracking error", Journal of Portfolio
    Management 18(4); Grinold & Kahn (2000), ch. 5.
    """
    import dataclasses

    if n_points < 2:
        raise OptimizationError("Ask for at least two points on the active frontier.")
    constraints = dataclasses.replace(constraints or Constraints(), max_tracking_error=None)
    objective = Objective("min_tracking_error", risk_free_rate=risk_free_rate,
                          benchmark_weights=benchmark_weights, non_investable=non_investable)
    low = optimize(expected_returns, cov, objective, constraints)
    _validate(expected_returns, cov)
    every = list(expected_returns.index)
    excluded = _non_investable(objective, every)
    tickers = [t for t in every if t not in excluded]
    keep = np.array([t not in excluded for t in every])
    b = pd.Series(dict(benchmark_weights), dtype=float).reindex(every).fillna(0.0).to_numpy()
    problem = _book_problem(
        expected_returns.to_numpy(dtype=float), cov.to_numpy(dtype=float), constraints,
        objective, constraints.linear_form(tickers), keep, constraints.holdings(tickers),
        np.zeros(len(tickers)), b, every,
    )  # fmt: skip
    top = rebalancing.solve_book(problem, "max_return", shadow_prices=False).weights
    te_of = lambda w: float(np.sqrt(max((w - b) @ problem.cov @ (w - b), 0.0)))  # noqa: E731
    lo_te, hi_te = float(low.tracking_error), te_of(top)
    rows = []
    for level in np.linspace(lo_te, max(hi_te, lo_te), n_points):
        if level <= lo_te + 1e-12:
            w = np.zeros(len(every))
            w[keep] = low.weights.to_numpy()
        else:
            capped = dataclasses.replace(problem, max_tracking_error=float(level))
            w = rebalancing.solve_book(capped, "max_return", shadow_prices=False).weights
        rf = float(risk_free_rate)
        active = float((problem.mu - rf) @ (w - b))
        te = te_of(w)
        rows.append([te, active, active / te if te > 1e-12 else float("nan"), *w[keep]])
    return pd.DataFrame(
        rows, columns=["tracking_error", "active_return", "information_ratio", *tickers]
    )
