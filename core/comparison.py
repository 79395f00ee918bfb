r"""Several portfolio designs walked forward together, and whether their Sharpe ratios differ.

Conventions
-----------
Prices are a ``DataFrame (n_observations, n_assets)`` of daily adjusted closes. Every design
is rebalanced on the same calendar dates (the last trading day of each month, quarter or year)
with the same trailing estimation window and the same proportional costs, by the walk-forward
machinery of :mod:`core.backtest` (a decision at the close of day ``t`` uses prices up to ``t``
only; positions drift between rebalances; costs are paid on the value traded). Wealth starts at
1 on the first rebalance date; every figure is after costs.

Figures per design: annualised return (compound, decimal), annualised volatility, Sharpe
ratio (annualised, against the annual risk-free rate) with a confidence interval, maximum
drawdown (a positive decimal loss), realised CVaR (historical, one day, positive decimal loss,
at ``cvar_confidence``), turnover (one-way, ``sum |w - w_drifted| / 2`` per rebalance, summed
and divided by the years: decimal a year; the initial investment is not counted) and costs
(cost drag, decimal a year, and the total paid in units of the initial wealth).

Designs
-------
- ``"optimized"``: any :class:`~core.optimization.Objective` with its estimators and
  :class:`~core.constraints.Constraints`, re-estimated and re-optimised at each date (the
  mean-variance objectives by the critical-line engine on arrays; every other objective
  :func:`core.optimization.optimize` accepts through that function, with the window's returns
  as ``scenarios`` when it takes them). Options of a held book (holdings, turnover budget,
  locks) are dropped: every design walks forward from cash.
- ``"black_litterman"``: at each date the market-implied prior on the window's covariance
  and the capitalisation weights of that date (as ``"market_cap"`` below), the user's views,
  the posterior expected returns, then the objective and constraints.
- ``"equal_weight"``: ``1 / n`` at each rebalance.
- ``"market_cap"``: capitalisation weights. The caps given are taken as of the data's last
  date with constant share counts, so at date ``t`` the weight of asset ``i`` is proportional
  to ``cap_i p_i(t) / p_i(T)``: a capitalisation-weighted index, which trades only at the
  start.

Sharpe-ratio difference test
----------------------------
For each design against the baseline, on daily excess returns over the common dates:
Ledoit & Wolf's (2008) HAC test (delta method on the first two moments of both return series,
Parzen kernel with Andrews' (1991) automatic bandwidth, small-sample factor ``T / (T - 4)``),
plain and prewhitened by a VAR(1) (Andrews & Monahan 1992), as in the authors' code; and the
Jobson & Korkie (1981) test with Memmel's (2003) correction (i.i.d. normal returns).

References
----------
Ledoit & Wolf (2008), "Robust performance hypothesis testing with the Sharpe ratio", Journal
of Empirical Finance 15(5); Jobson & Korkie (1981), "Performance hypothesis testing with the
Sharpe and Treynor measures", Journal of Finance 36(4); Memmel (2003), "Performance hypothesis
testing with the Sharpe ratio", Finance Letters 1; Mertens (2002) and Opdyke (2007), "Comparing
Sharpe ratios: so where are the p-values?", Journal of Asset Management 8(5), for the
confidence interval; Andrews (1991), Econometrica 59(3); DeMiguel, Garlappi & Uppal (2009),
"Optimal versus naive diversification", Review of Financial Studies 22(5).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from core import black_litterman as bl
from core import estimators
from core.backtest import (
    SCHEDULES,
    _joint_weights,
    _simulate,
    first_position,
    rebalance_positions,
    window_estimates,
)
from core.constraints import Constraints
from core.exceptions import BacktestError, BallastError, EstimationError, ViewError
from core.executor import Executor, get_executor
from core.optimization import (
    BENCHMARK_OBJECTIVES,
    OBJECTIVES,
    Objective,
    optimal_weights,
    optimize,
)
from core.performance import (
    annualized_return,
    annualized_volatility,
    levels_on,
    max_drawdown,
    sharpe_ratio,
)
from core.risk import historical_var_cvar

__all__ = [
    "DESIGN_KINDS",
    "COMPARISON_SCHEDULES",
    "SHARPE_TESTS",
    "MAX_DESIGNS",
    "FALLBACK_DELTA",
    "Design",
    "DesignResult",
    "Comparison",
    "SharpeTest",
    "compare_designs",
    "run_design",
    "estimate_windows",
    "sharpe_difference_hac",
    "sharpe_difference_jobson_korkie",
    "sharpe_confidence_interval",
    "SPEC_COLUMNS",
    "specs_frame",
    "specs_from_frame",
]

#: Kinds of design: name -> label for the user.
DESIGN_KINDS: dict[str, str] = {
    "optimized": "Optimised (objective, estimators, constraints)",
    "black_litterman": "Black-Litterman posterior, then the objective",
    "equal_weight": "Equal weight (1/n)",
    "market_cap": "Market-capitalisation weights",
}

#: Calendar schedules every design shares (a drift band would give each design its own dates).
COMPARISON_SCHEDULES: dict[str, str] = {
    k: v for k, v in SCHEDULES.items() if k in ("monthly", "quarterly", "yearly", "never")
}

#: Sharpe-ratio difference tests: name -> label for the user.
SHARPE_TESTS: dict[str, str] = {
    "hac": "Ledoit-Wolf (2008) HAC",
    "hac_prewhitened": "Ledoit-Wolf (2008) HAC, prewhitened",
    "jobson_korkie": "Jobson-Korkie with Memmel's (2003) correction",
}

#: Most designs compared at once.
MAX_DESIGNS = 10

#: Risk aversion of the Black-Litterman prior when the benchmark cannot imply one.
FALLBACK_DELTA = 2.5

_ENGINE_KINDS = ("max_sharpe", "min_volatility", "target_return", "target_volatility",
                 "max_utility")  # fmt: skip
_OMEGA_METHODS = ("idzorek", "proportional", "variance")


@dataclass(frozen=True)
class Design:
    """One way of building the portfolio, walked forward by :func:`compare_designs`.

    Parameters
    ----------
    name : str
        Unique label (a column of every table).
    kind : str
        A key of :data:`DESIGN_KINDS`.
    objective : Objective
        The optimiser's objective (``"optimized"`` and ``"black_litterman"``).
    constraints : Constraints, optional
        The optimiser's constraints; default long-only in [0, 1]. Held-book options are
        ignored (every design starts from cash).
    returns_method, cov_method : str
        Estimators, as in :mod:`core.estimators`, applied to each trailing window.
    market_caps : mapping or Series of str to float, optional
        Ticker -> capitalisation at the data's last date (any unit): the ``"market_cap"``
        weights and the Black-Litterman prior (equal weights when None).
    views : ViewSet, optional
        Black-Litterman views (:func:`core.black_litterman.parse_views`); none: the prior.
    omega : str
        ``"idzorek"`` (views' confidences), ``"proportional"`` (He & Litterman's
        ``diag(tau P Sigma P')``) or ``"variance"`` (the views' own volatilities).
    tau : float
        Black-Litterman tau, positive.
    delta : float, optional
        Risk aversion of the prior; None: implied by the benchmark on each window (else
        :data:`FALLBACK_DELTA`).

    Raises
    ------
    BacktestError
        An unknown kind or omega method, an empty name, or a non-positive tau or delta.
    """

    name: str
    kind: str = "optimized"
    objective: Objective = field(default_factory=Objective)
    constraints: Constraints | None = None
    returns_method: str = "mean_historical"
    cov_method: str = "ledoit_wolf"
    market_caps: Mapping[str, float] | pd.Series | None = None
    views: bl.ViewSet | None = None
    omega: str = "idzorek"
    tau: float = 0.05
    delta: float | None = None

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise BacktestError("Give every design a name.")
        if self.kind not in DESIGN_KINDS:
            raise BacktestError(
                f"Unknown design {self.kind!r} ({self.name}); use one of "
                f"{', '.join(DESIGN_KINDS)}."
            )
        if self.omega not in _OMEGA_METHODS:
            raise BacktestError(f"Unknown omega method {self.omega!r} ({self.name}).")
        if not (np.isfinite(self.tau) and self.tau > 0):
            raise BacktestError(f"tau must be positive ({self.name}).")
        if self.delta is not None and not (np.isfinite(self.delta) and self.delta > 0):
            raise BacktestError(f"The risk aversion delta must be positive ({self.name}).")

    @property
    def label(self) -> str:
        """A one-line description for tables."""
        if self.kind == "optimized":
            return (f"{OBJECTIVES.get(self.objective.kind, self.objective.kind)}; "
                    f"{self.returns_method} / {self.cov_method}")  # fmt: skip
        if self.kind == "black_litterman":
            n = 0 if self.views is None else len(self.views)
            return (f"Black-Litterman ({n} view{'s' * (n != 1)}), then "
                    f"{OBJECTIVES.get(self.objective.kind, self.objective.kind)}")  # fmt: skip
        return DESIGN_KINDS[self.kind]


@dataclass(frozen=True)
class SharpeTest:
    """A test of equal Sharpe ratios of two return series.

    Attributes
    ----------
    difference : float
        ``SR_1 - SR_2`` of the per-period returns (not annualised).
    standard_error : float
        Standard error of the difference (per period).
    statistic : float
        ``difference / standard_error`` (for Jobson-Korkie: Memmel's z of
        ``mu_1 sigma_2 - mu_2 sigma_1``).
    p_value : float
        Two-sided, from the standard normal.
    method : str
        A key of :data:`SHARPE_TESTS`.
    """

    difference: float
    standard_error: float
    statistic: float
    p_value: float
    method: str


@dataclass(frozen=True)
class DesignResult:
    """One design walked forward.

    Attributes
    ----------
    name : str
        The design's name.
    design : Design
        The design.
    equity : Series (n_days,)
        Growth of 1 after costs from the first rebalance date.
    returns : Series (n_days - 1,)
        Daily decimal returns.
    weights : DataFrame (n_rebalances, n_assets)
        Target weights at each rebalance date (decimal).
    events : DataFrame
        One row per trade: ``date``, ``turnover`` (one-way, decimal of the value before
        trading), ``traded_value`` and ``cost`` (units of the initial wealth of 1).
    metrics : dict of str to float
        ``annualized_return``, ``volatility``, ``sharpe_ratio``, ``sharpe_low``,
        ``sharpe_high`` (confidence interval), ``max_drawdown``, ``cvar``, ``turnover``
        (one-way, a year), ``costs`` (drag, a year), ``total_costs``, ``rebalances``.
    notes : tuple of str
        Dates where the optimiser failed and the previous weights were kept.
    """

    name: str
    design: Design
    equity: pd.Series
    returns: pd.Series
    weights: pd.DataFrame
    events: pd.DataFrame
    metrics: dict
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """Outcome of :func:`compare_designs`.

    Attributes
    ----------
    results : dict of str to DesignResult
        One result per design, in the order given.
    equity : DataFrame (n_days, n_designs)
        Growth of 1 of every design (columns: names).
    returns : DataFrame (n_days - 1, n_designs)
        Daily decimal returns.
    metrics : DataFrame (n_designs, n_metrics)
        :attr:`DesignResult.metrics` of every design, one row each.
    tests : DataFrame (n_designs - 1, ...)
        Every design against the baseline: ``sharpe_difference`` (annualised),
        ``standard_error`` (annualised, HAC), ``z``, ``p_value`` (the chosen test),
        ``p_hac``, ``p_hac_prewhitened``, ``p_jobson_korkie``, ``significant`` (p below
        ``1 - confidence``).
    baseline : str
        The baseline design's name.
    benchmark : Series or None
        Growth of 1 of the benchmark on the same dates.
    settings : dict
        The inputs shared by every design.
    """

    results: dict[str, DesignResult]
    equity: pd.DataFrame
    returns: pd.DataFrame
    metrics: pd.DataFrame
    tests: pd.DataFrame
    baseline: str
    benchmark: pd.Series | None = None
    settings: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Sharpe-ratio statistics
# ---------------------------------------------------------------------------------------------


def _pair(r1: Sequence[float], r2: Sequence[float]) -> np.ndarray:
    x = np.column_stack([np.asarray(r1, dtype=float), np.asarray(r2, dtype=float)])
    x = x[np.isfinite(x).all(axis=1)]
    if len(x) < 10:
        raise BacktestError(
            f"{len(x)} common returns are too few to test a Sharpe-ratio difference; "
            "use a longer backtest."
        )
    if not (x.std(axis=0) > 0).all():
        raise BacktestError("A return series without variation has no Sharpe ratio to test.")
    return x


def _parzen(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x <= 0.5, 1 - 6 * x**2 + 6 * x**3, np.where(x <= 1, 2 * (1 - x) ** 3, 0.0))


def _ar1(y: np.ndarray) -> tuple[float, float]:
    """OLS AR(1) with intercept of a demeaned series: (rho, residual variance)."""
    y = y - y.mean()
    X = np.column_stack([np.ones(len(y) - 1), y[:-1]])
    coef, *_ = np.linalg.lstsq(X, y[1:], rcond=None)
    resid = y[1:] - X @ coef
    return float(coef[1]), float(resid @ resid / len(resid))


def _psi(V: np.ndarray) -> np.ndarray:
    """HAC estimate of the long-run covariance of the rows of V: Parzen kernel, Andrews' rule."""
    T = len(V)
    num = den = 0.0
    for i in range(V.shape[1]):
        rho, sig2 = _ar1(V[:, i])
        num += 4 * rho**2 * sig2**2 / (1 - rho) ** 8
        den += sig2**2 / (1 - rho) ** 4
    bandwidth = min(2.6614 * (num / den * T) ** 0.2, T - 1)
    psi = V.T @ V / T
    j = 1
    while j < bandwidth:
        gamma = V[j:].T @ V[:-j] / T
        psi = psi + _parzen(np.array(j / bandwidth)) * (gamma + gamma.T)
        j += 1
    return psi * T / (T - 4)


def sharpe_difference_hac(
    r1: Sequence[float], r2: Sequence[float], prewhiten: bool = False
) -> SharpeTest:
    r"""Ledoit & Wolf's (2008) HAC test of equal Sharpe ratios.

    .. math:: \hat\Delta = \frac{\hat\mu_1}{\hat\sigma_1} - \frac{\hat\mu_2}{\hat\sigma_2},
        \quad s(\hat\Delta) = \sqrt{\nabla f' \hat\Psi \nabla f / T}

    with ``f`` the difference as a function of the means and uncentred second moments of both
    series and ``Psi`` their long-run covariance (Parzen kernel, Andrews' automatic bandwidth
    ``2.6614 (alpha T)^{1/5}``, times ``T / (T - 4)``).

    Parameters
    ----------
    r1, r2 : array-like (n_periods,)
        Per-period (excess) returns of the two portfolios on the same dates; rows where either
        is missing are dropped.
    prewhiten : bool
        Prewhiten the moment series by a VAR(1) whose singular values are capped at 0.97, then
        recolour (Andrews & Monahan 1992), as the authors' ``compute.se.Parzen.pw``.

    Returns
    -------
    SharpeTest
        Per-period Sharpe ratios (sample standard deviations, ``ddof=1``); annualise the
        difference and the standard error by ``sqrt(periods_per_year)``.

    Raises
    ------
    BacktestError
        Fewer than 10 common returns, or a series without variation.

    References
    ----------
    Ledoit & Wolf (2008), "Robust performance hypothesis testing with the Sharpe ratio",
    Journal of Empirical Finance 15(5), section 3.1; Andrews (1991), Econometrica 59(3);
    Andrews & Monahan (1992), Econometrica 60(4).
    """
    x = _pair(r1, r2)
    T = len(x)
    mu = x.mean(axis=0)
    gamma = (x**2).mean(axis=0)
    var = gamma - mu**2
    grad = np.array([gamma[0] / var[0] ** 1.5, -gamma[1] / var[1] ** 1.5,
                     -0.5 * mu[0] / var[0] ** 1.5, 0.5 * mu[1] / var[1] ** 1.5])  # fmt: skip
    V = np.column_stack([x - mu, x**2 - gamma])
    if prewhiten:
        lagged, now = V[:-1], V[1:]
        A, *_ = np.linalg.lstsq(lagged, now, rcond=None)
        A = A.T  # now_t = A lagged_t + e_t
        u, d, vt = np.linalg.svd(A)
        A = u @ np.diag(np.clip(d, -0.97, 0.97)) @ vt
        D = np.linalg.inv(np.eye(4) - A)
        psi = D @ _psi(now - lagged @ A.T) @ D.T
    else:
        psi = _psi(V)
    se = float(np.sqrt(grad @ psi @ grad / T))
    sd = x.std(axis=0, ddof=1)
    diff = float(mu[0] / sd[0] - mu[1] / sd[1])
    z = diff / se
    return SharpeTest(diff, se, z, float(2 * stats.norm.sf(abs(z))),
                      "hac_prewhitened" if prewhiten else "hac")  # fmt: skip


def sharpe_difference_jobson_korkie(r1: Sequence[float], r2: Sequence[float]) -> SharpeTest:
    r"""Jobson & Korkie's (1981) test of equal Sharpe ratios with Memmel's (2003) correction.

    .. math::

        z = \frac{\hat\sigma_2 \hat\mu_1 - \hat\sigma_1 \hat\mu_2}{\sqrt{\hat\theta}}, \quad
        \hat\theta = \tfrac1T \Big[2\sigma_1^2\sigma_2^2 - 2\sigma_1\sigma_2\sigma_{12}
        + \tfrac12\mu_1^2\sigma_2^2 + \tfrac12\mu_2^2\sigma_1^2
        - \tfrac{\mu_1\mu_2}{2\sigma_1\sigma_2}(\sigma_{12}^2 + \sigma_1^2\sigma_2^2)\Big]

    Parameters
    ----------
    r1, r2 : array-like (n_periods,)
        Per-period (excess) returns on the same dates (i.i.d. jointly normal assumed).

    Returns
    -------
    SharpeTest
        ``standard_error`` is that of the Sharpe-ratio difference implied by the test
        (``difference / z``).

    Raises
    ------
    BacktestError
        Fewer than 10 common returns, or a series without variation.

    References
    ----------
    Jobson & Korkie (1981), Journal of Finance 36(4); Memmel (2003), "Performance hypothesis
    testing with the Sharpe ratio", Finance Letters 1, 21-23.
    """
    x = _pair(r1, r2)
    T = len(x)
    m1, m2 = x.mean(axis=0)
    c = np.cov(x, rowvar=False, ddof=1)
    s1, s2, s12 = np.sqrt(c[0, 0]), np.sqrt(c[1, 1]), c[0, 1]
    theta = (2 * s1**2 * s2**2 - 2 * s1 * s2 * s12 + 0.5 * m1**2 * s2**2 + 0.5 * m2**2 * s1**2
             - m1 * m2 / (2 * s1 * s2) * (s12**2 + s1**2 * s2**2)) / T  # fmt: skip
    z = float((s2 * m1 - s1 * m2) / np.sqrt(theta))
    diff = float(m1 / s1 - m2 / s2)
    se = diff / z if z != 0 else float("nan")
    return SharpeTest(diff, se, z, float(2 * stats.norm.sf(abs(z))), "jobson_korkie")


def sharpe_confidence_interval(
    returns: Sequence[float],
    risk_free_rate: float = 0.0,
    confidence: float = 0.95,
    periods_per_year: int = 252,
) -> tuple[float, float]:
    r"""Confidence interval of the annualised Sharpe ratio, allowing for skew and fat tails.

    .. math:: \widehat{Var}(\widehat{SR}) = \frac{1}{T}\Big(1 + \tfrac12 \widehat{SR}^2
        - \gamma_3 \widehat{SR} + \tfrac{\gamma_4 - 3}{4} \widehat{SR}^2\Big)

    on per-period excess returns (``gamma_3`` skewness, ``gamma_4`` kurtosis), then scaled by
    ``sqrt(periods_per_year)``.

    Parameters
    ----------
    returns : array-like (n_periods,)
        Per-period decimal returns.
    risk_free_rate : float
        Annual decimal rate.
    confidence : float
        Two-sided level in (0, 1).
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    (float, float)
        Lower and upper annualised Sharpe ratio; NaN with fewer than 3 returns.

    References
    ----------
    Mertens (2002), "Comments on variance of the IID estimator in Lo (2002)"; Opdyke (2007),
    Journal of Asset Management 8(5); Lo (2002), Financial Analysts Journal 58(4).
    """
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)] - risk_free_rate / periods_per_year
    if len(r) < 3 or not r.std() > 0:
        return float("nan"), float("nan")
    sr = r.mean() / r.std(ddof=1)
    skew = float(stats.skew(r))
    kurt = float(stats.kurtosis(r, fisher=False))
    var = (1 + 0.5 * sr**2 - skew * sr + (kurt - 3) / 4 * sr**2) / len(r)
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(max(var, 0.0))
    scale = np.sqrt(periods_per_year)
    return float((sr - half) * scale), float((sr + half) * scale)


# ---------------------------------------------------------------------------------------------
# Walking designs forward
# ---------------------------------------------------------------------------------------------

_TAKES_SCENARIOS = "scenarios" in inspect.signature(optimize).parameters


def _from_cash(constraints: Constraints | None) -> Constraints:
    constraints = constraints or Constraints()
    return dataclasses.replace(constraints, current_weights=None, max_turnover=None, locked=(),
                               no_buy=(), no_sell=())  # fmt: skip


def _estimate_at(t, lookback, rets, prices, bench_prices, returns_method, cov_method, rf, ppy):
    window = rets[t - lookback + 1 : t + 1]
    fast = window_estimates(window, returns_method, cov_method, ppy)
    if fast is None:
        wp = prices.iloc[t - lookback : t + 1]
        bp = None if bench_prices is None else bench_prices.iloc[t - lookback : t + 1]
        mu = estimators.expected_returns(wp, returns_method, benchmark=bp, risk_free_rate=rf,
                                         periods_per_year=ppy)  # fmt: skip
        cov = estimators.covariance(wp, cov_method, periods_per_year=ppy)
        fast = (mu.to_numpy(dtype=float), cov.to_numpy(dtype=float))
    if not (np.isfinite(fast[0]).all() and np.isfinite(fast[1]).all()):
        raise EstimationError("Some expected returns or covariances are missing or infinite.")
    return fast


def estimate_windows(
    estimator: tuple[str, str, float],
    *,
    prices: pd.DataFrame,
    benchmark: pd.Series | None,
    positions: np.ndarray,
    lookback: int,
    periods_per_year: int,
    **_: object,
) -> dict[int, tuple[np.ndarray, np.ndarray] | str]:
    """Estimates of every rebalance date for one pair of estimators (an executor task).

    Designs that share estimators share these: each window is estimated once per job.

    Parameters
    ----------
    estimator : tuple
        ``(returns_method, cov_method, risk_free_rate)`` (the rate matters for CAPM only).
    prices : DataFrame (n_observations, n_assets)
        Daily adjusted closes.
    benchmark : Series (n_observations,) or None
        Benchmark levels on the same dates (CAPM).
    positions : ndarray of int
        Row positions of the rebalance dates.
    lookback : int
        Trailing window, trading days.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    dict of int to tuple or str
        Position -> ``(mu (n_assets,), cov (n_assets, n_assets))`` annualised, or the message
        of the estimation error at that date.
    """
    returns_method, cov_method, rf = estimator
    px = prices.to_numpy(dtype=float)
    rets = np.vstack([np.full((1, px.shape[1]), np.nan), px[1:] / px[:-1] - 1.0])
    out: dict[int, tuple[np.ndarray, np.ndarray] | str] = {}
    for t in positions:
        try:
            out[int(t)] = _estimate_at(int(t), lookback, rets, prices, benchmark, returns_method,
                                       cov_method, rf, periods_per_year)  # fmt: skip
        except BallastError as exc:
            out[int(t)] = str(exc)
    return out


def _estimator_key(design: Design) -> tuple[str, str, float] | None:
    if design.kind not in ("optimized", "black_litterman"):
        return None
    if design.kind == "optimized" and design.objective.kind in BENCHMARK_OBJECTIVES:
        return None
    rf = float(design.objective.risk_free_rate) if design.returns_method == "capm" else 0.0
    return (design.returns_method, design.cov_method, rf)


#: Constraints the critical-line engine takes as they are; any other field set (a CVaR limit,
#: holdings counts, compliance rules...) sends the problem to ``optimize``.
_ENGINE_FIELDS = {"long_only", "weight_bounds", "asset_bounds", "sectors", "sector_bounds",
                  "max_volatility", "time_limit", "issuers"}  # fmt: skip


def _engine_handles(constraints: Constraints) -> bool:
    default = Constraints()
    for f in dataclasses.fields(Constraints):
        if f.name in _ENGINE_FIELDS:
            continue
        value, base = getattr(constraints, f.name), getattr(default, f.name)
        if value is base:
            continue
        try:
            if bool(value == base):
                continue
        except (TypeError, ValueError):
            pass
        return False
    return True


def _solve(mu, cov, design, constraints, lin, tickers, window) -> np.ndarray:
    objective = design.objective
    costs = objective.transaction_costs
    no_costs = not (np.asarray(list(costs.values()) if isinstance(costs, Mapping) else costs,
                               dtype=float) > 0).any()  # fmt: skip
    if objective.kind in _ENGINE_KINDS and no_costs and _engine_handles(constraints):
        return optimal_weights(mu, cov, objective, lin, constraints.max_volatility)
    index = pd.Index(tickers)
    kwargs = {"scenarios": window()} if _TAKES_SCENARIOS else {}
    result = optimize(pd.Series(mu, index=index), pd.DataFrame(cov, index=index, columns=index),
                      objective, constraints, **kwargs)  # fmt: skip
    return result.weights.reindex(index).fillna(0.0).to_numpy(dtype=float)


def _bl_returns(mu_hist, cov, t, lookback, design, tickers, bench_prices, rf, ppy, px):
    """Posterior expected returns at ``t`` (the prior on the window's covariance).

    The market weights are the caps at ``t``: the caps given (at the data's last date) times
    ``p(t) / p(T)``, as the ``"market_cap"`` design holds them.
    """
    caps = None
    if design.market_caps is not None:
        caps = pd.Series(design.market_caps, dtype=float).reindex(tickers) * px[t] / px[-1]
    index = pd.Index(tickers)
    cov_df = pd.DataFrame(cov, index=index, columns=index)
    w_mkt = bl.market_weights(caps, tickers)
    delta = design.delta
    if delta is None:
        delta = FALLBACK_DELTA
        if bench_prices is not None:
            try:
                delta = bl.market_implied_risk_aversion(
                    bench_prices.iloc[t - lookback : t + 1], rf, ppy)
            except BallastError:
                delta = FALLBACK_DELTA
    prior = bl.market_implied_returns(cov_df, w_mkt, delta, rf)
    views = design.views
    if views is None or len(views) == 0:
        return prior.to_numpy(dtype=float)
    kwargs: dict = {}
    if design.omega == "idzorek":
        kwargs["confidences"] = views.confidences
    elif design.omega == "variance":
        vols = np.asarray(views.view_volatilities, dtype=float)
        if np.isnan(vols).any():
            raise ViewError(f"Give a standard deviation for every view ({design.name}).")
        kwargs["omega"] = vols**2
    post = bl.posterior(prior, cov_df, views.P.reindex(columns=tickers, fill_value=0.0),
                        views.Q, tau=design.tau, **kwargs)  # fmt: skip
    return post.returns.reindex(tickers).to_numpy(dtype=float)


def run_design(
    design: Design,
    *,
    prices: pd.DataFrame,
    benchmark: pd.Series | None,
    positions: np.ndarray,
    lookback: int,
    cost_rate: float,
    risk_free_rate: float,
    periods_per_year: int,
    estimates: Mapping[tuple, Mapping[int, object]] | None = None,
) -> tuple[np.ndarray, list, dict, list[str]]:
    """Walk one design forward (the executor's task; one task per design).

    Parameters
    ----------
    design : Design
        The design.
    prices : DataFrame (n_observations, n_assets)
        Daily adjusted closes, no missing values.
    benchmark : Series (n_observations,) or None
        Benchmark levels on the same dates.
    positions : ndarray of int
        Row positions of the rebalance dates (the first one is the initial investment).
    lookback : int
        Trailing estimation window, trading days.
    cost_rate : float
        Costs as a decimal of traded value (0.001 = 10 bps).
    risk_free_rate : float
        Annual decimal rate (CAPM estimator, Black-Litterman prior).
    periods_per_year : int
        252 for daily data.
    estimates : mapping, optional
        :func:`estimate_windows` results by ``(returns_method, cov_method, rate)``; windows
        not found there are estimated here.

    Returns
    -------
    tuple
        ``(values (n_observations,), events, weights by position, notes)``: the wealth path
        (NaN before the first rebalance), the trades ``(position, turnover, traded, cost)`` of
        :func:`core.backtest._simulate`, the chosen weights and the notes.

    Raises
    ------
    BacktestError
        A design that cannot run on these prices (no market caps, a benchmark objective
        without a benchmark).
    """
    tickers = list(prices.columns)
    n_assets = len(tickers)
    px = prices.to_numpy(dtype=float)
    rets = np.vstack([np.full((1, n_assets), np.nan), px[1:] / px[:-1] - 1.0])
    constraints = _from_cash(design.constraints)
    chosen: dict[int, np.ndarray | None] = {}
    notes: list[str] = []
    last_good: list[np.ndarray] = []
    caps_now = None
    if design.kind == "market_cap":
        caps = pd.Series(design.market_caps if design.market_caps is not None else {},
                         dtype=float).reindex(tickers)  # fmt: skip
        missing = [t for t in tickers if not (np.isfinite(caps[t]) and caps[t] > 0)]
        if missing:
            raise BacktestError(
                f"{design.name}: no positive market capitalisation for {', '.join(missing)}; "
                "enter them on the Black-Litterman page or choose another design."
            )
        caps_now = caps.to_numpy() / px[-1]
    joint = design.kind == "optimized" and design.objective.kind in BENCHMARK_OBJECTIVES
    if joint and benchmark is None:
        raise BacktestError(
            f"{design.name}: {OBJECTIVES[design.objective.kind]} needs a benchmark with prices "
            "over the backtest's dates."
        )
    lin = None
    if design.kind in ("optimized", "black_litterman"):
        try:
            lin = constraints.linear_form(tickers)
        except BallastError as exc:
            raise BacktestError(f"{design.name}: the constraints cannot be met: {exc}") from exc
    rf = float(design.objective.risk_free_rate) if lin is not None else risk_free_rate
    equal = np.full(n_assets, 1.0 / n_assets)

    def weights_at(t: int) -> np.ndarray:
        if design.kind == "equal_weight":
            return equal
        if design.kind == "market_cap":
            w = caps_now * px[t]
            return w / w.sum()
        if joint:
            return _joint_weights(t, lookback, prices, benchmark, str(benchmark.name or
                                  "Benchmark"), design.objective, constraints,
                                  design.returns_method, design.cov_method)  # fmt: skip
        known = None if estimates is None else estimates.get(_estimator_key(design), {}).get(t)
        if isinstance(known, str):
            raise EstimationError(known)
        if known is None:
            known = _estimate_at(t, lookback, rets, prices, benchmark, design.returns_method,
                                 design.cov_method, rf, periods_per_year)  # fmt: skip
        mu, cov = known
        if design.kind == "black_litterman":
            mu = _bl_returns(mu, cov, t, lookback, design, tickers, benchmark, rf,
                             periods_per_year, px)  # fmt: skip
        def window() -> pd.DataFrame:  # built only for objectives that read scenarios
            return pd.DataFrame(rets[t - lookback + 1 : t + 1], columns=tickers,
                                index=prices.index[t - lookback + 1 : t + 1])  # fmt: skip

        return _solve(mu, cov, design, constraints, lin, tickers, window)

    def decide(t: int) -> np.ndarray | None:
        if t in chosen:
            return chosen[t]
        try:
            w = weights_at(t)
            last_good.append(w)
        except BallastError as exc:
            date = prices.index[t].date()
            if last_good:
                notes.append(f"{date}: kept the previous weights ({exc})")
                w = None
            else:
                notes.append(f"{date}: started from equal weights ({exc})")
                w = equal
                last_good.append(w)
        chosen[t] = w
        return w

    values, events = _simulate(px, int(positions[0]), decide, positions, None, cost_rate)
    return values, events, {t: w for t, w in chosen.items() if w is not None}, notes


def _metrics(returns, events, values, years, rf, ppy, confidence, cvar_confidence) -> dict:
    lo, hi = sharpe_confidence_interval(returns, rf, confidence, ppy)
    try:
        cvar = historical_var_cvar(returns.to_numpy(), cvar_confidence)[1]
    except BallastError:
        cvar = float("nan")
    later = events[1:]
    before = np.array([values[t] + cost for t, _, _, cost in events])
    costs = np.array([cost for *_, cost in events])
    return {
        "annualized_return": annualized_return(returns, ppy),
        "volatility": annualized_volatility(returns, ppy),
        "sharpe_ratio": sharpe_ratio(returns, rf, ppy),
        "sharpe_low": lo,
        "sharpe_high": hi,
        "max_drawdown": max_drawdown(returns),
        "cvar": cvar,
        "turnover": float(sum(turn for _, turn, _, _ in later) / 2 / years),
        "costs": float((costs / before).sum() / years) if len(costs) else 0.0,
        "total_costs": float(costs.sum()),
        "rebalances": float(len(later)),
    }


def compare_designs(
    prices: pd.DataFrame,
    designs: Sequence[Design],
    *,
    baseline: str | int = 0,
    schedule: str = "monthly",
    lookback: int = 756,
    cost_bps: float = 10.0,
    start: pd.Timestamp | str | None = None,
    benchmark: pd.Series | None = None,
    risk_free_rate: float = 0.0,
    confidence: float = 0.95,
    cvar_confidence: float = 0.95,
    test: str = "hac",
    periods_per_year: int = 252,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    executor: Executor | None = None,
) -> Comparison:
    """Walk several designs forward on the same dates and costs, and test their Sharpe ratios.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Daily adjusted closes, no missing values.
    designs : sequence of Design
        One to :data:`MAX_DESIGNS` designs with distinct names.
    baseline : str or int
        The design every other is tested against: its name or position.
    schedule : str
        A key of :data:`COMPARISON_SCHEDULES`.
    lookback : int
        Trailing estimation window in trading days (756 = three years), at least 20.
    cost_bps : float
        Transaction costs in basis points of traded value, >= 0.
    start : Timestamp or str, optional
        First rebalance date; default the first date with a full lookback.
    benchmark : Series (n_observations,), optional
        Benchmark levels: CAPM estimates, the implied risk aversion of Black-Litterman designs,
        benchmark objectives, and its own growth of 1 for the chart.
    risk_free_rate : float
        Annual decimal rate of the Sharpe ratios and the tests (excess returns).
    confidence : float
        Level of the Sharpe ratios' intervals; a test is significant when its p-value is
        below ``1 - confidence``.
    cvar_confidence : float
        Confidence of the realised one-day CVaR.
    test : str
        The test behind ``p_value`` and ``significant``: a key of :data:`SHARPE_TESTS` (every
        test's p-value is in the table).
    periods_per_year : int
        252 for daily data.
    progress : callable, optional
        ``progress(done, total)`` in tasks: one per pair of estimators that several designs
        share, then one per design.
    cancel : callable, optional
        Polled between designs (``core.executor.JobCancelledError``).
    executor : Executor, optional
        Where the designs run (one task each); default :func:`core.executor.get_executor`.

    Returns
    -------
    Comparison

    Raises
    ------
    BacktestError
        No designs or more than :data:`MAX_DESIGNS`, duplicate names, an unknown baseline,
        schedule or test, missing prices, a lookback longer than the data, no dates left, a
        design that cannot run (the message names it).

    References
    ----------
    Ledoit & Wolf (2008); Jobson & Korkie (1981); Memmel (2003); DeMiguel, Garlappi & Uppal
    (2009).
    """
    designs = list(designs)
    if not designs:
        raise BacktestError("Choose at least one design to compare.")
    if len(designs) > MAX_DESIGNS:
        raise BacktestError(
            f"Compare at most {MAX_DESIGNS} designs at once ({len(designs)} given)."
        )
    names = [d.name for d in designs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BacktestError(f"Give every design its own name: {', '.join(dupes)} is repeated.")
    if isinstance(baseline, int | np.integer):
        if not 0 <= baseline < len(designs):
            raise BacktestError(f"The baseline must be one of the {len(designs)} designs.")
        base = names[int(baseline)]
    elif baseline in names:
        base = str(baseline)
    else:
        raise BacktestError(f"The baseline {baseline!r} is not one of the designs.")
    if schedule not in COMPARISON_SCHEDULES:
        raise BacktestError(
            f"Compare designs on a calendar schedule: one of {', '.join(COMPARISON_SCHEDULES)}."
        )
    if test not in SHARPE_TESTS:
        raise BacktestError(f"Unknown test {test!r}; use one of {', '.join(SHARPE_TESTS)}.")
    if not 0 < confidence < 1 or not 0 < cvar_confidence < 1:
        raise BacktestError("Confidence levels must lie strictly between 0 and 1.")
    if not (np.isfinite(cost_bps) and cost_bps >= 0):
        raise BacktestError("Costs must be a number of basis points, 0 or more.")
    if not isinstance(prices, pd.DataFrame) or prices.shape[1] == 0:
        raise BacktestError("No assets to compare: choose at least one asset.")
    if prices.isna().any().any():
        bad = prices.columns[prices.isna().any()].tolist()
        raise BacktestError(f"Missing prices for {', '.join(map(str, bad))}; cannot compare.")
    lookback = int(lookback)
    first = first_position(prices.index, lookback, start, periods_per_year, "compare")
    bench_levels = None
    if benchmark is not None:
        bench_levels = levels_on(benchmark, prices.index)
        if bench_levels.iloc[first:].notna().sum() < 2:
            bench_levels = None
    positions = rebalance_positions(prices.index, schedule, first)
    shared = {
        "prices": prices,
        "benchmark": bench_levels,
        "positions": positions,
        "lookback": lookback,
        "cost_rate": float(cost_bps) / 10_000.0,
        "risk_free_rate": float(risk_free_rate),
        "periods_per_year": int(periods_per_year),
    }
    executor = executor or get_executor()
    # Designs that share estimators share their windows' estimates: one task per pair first.
    keys = list(dict.fromkeys(k for k in map(_estimator_key, designs) if k is not None))
    shared_keys = [k for k in keys if sum(_estimator_key(d) == k for d in designs) > 1]
    total = len(shared_keys) + len(designs)

    def step(offset: int) -> Callable[[int, int], None]:
        return lambda done, _: progress(offset + done, total) if progress else None

    found = executor.map(estimate_windows, shared_keys, shared=shared, progress=step(0),
                         cancel=cancel)  # fmt: skip
    shared["estimates"] = dict(zip(shared_keys, found, strict=True))
    paths = executor.map(run_design, designs, shared=shared, progress=step(len(shared_keys)),
                         cancel=cancel)  # fmt: skip

    index = prices.index[first:]
    years = (len(index) - 1) / periods_per_year
    results: dict[str, DesignResult] = {}
    for design, (values, events, chosen, notes) in zip(designs, paths, strict=True):
        equity = pd.Series(values[first:], index=index, name=design.name)
        rets = equity.pct_change(fill_method=None).iloc[1:]
        ev = pd.DataFrame(
            [(prices.index[t], turn / 2, traded, cost) for t, turn, traded, cost in events],
            columns=["date", "turnover", "traded_value", "cost"],
        )
        dates = sorted(chosen)
        weights = pd.DataFrame([chosen[t] for t in dates], index=prices.index[dates],
                               columns=prices.columns)  # fmt: skip
        weights.index.name = "date"
        metrics = _metrics(rets, events, values, years, risk_free_rate, periods_per_year,
                           confidence, cvar_confidence)  # fmt: skip
        results[design.name] = DesignResult(design.name, design, equity, rets, weights, ev,
                                            metrics, tuple(notes))  # fmt: skip
    equity = pd.DataFrame({n: r.equity for n, r in results.items()})
    returns = pd.DataFrame({n: r.returns for n, r in results.items()})
    metrics = pd.DataFrame({n: r.metrics for n, r in results.items()}).T
    metrics.index.name = "design"
    tests = _test_table(returns, base, risk_free_rate, periods_per_year, confidence, test)
    bench_equity = None
    if bench_levels is not None:
        b = bench_levels.iloc[first:]
        bench_equity = (b / b.dropna().iloc[0]).rename(str(benchmark.name or "Benchmark"))
    settings = {
        "schedule": schedule,
        "lookback": lookback,
        "cost_bps": float(cost_bps),
        "risk_free_rate": float(risk_free_rate),
        "confidence": float(confidence),
        "cvar_confidence": float(cvar_confidence),
        "test": test,
        "start": index[0].date(),
        "end": index[-1].date(),
        "rebalances": int(len(positions)),
        "baseline": base,
    }
    return Comparison(results, equity, returns, metrics, tests, base, bench_equity, settings)


def _test_table(returns, base, rf, ppy, confidence, test) -> pd.DataFrame:
    excess = returns - rf / ppy
    scale = np.sqrt(ppy)
    rows = {}
    for name in returns.columns:
        if name == base:
            continue
        r1, r2 = excess[name].to_numpy(), excess[base].to_numpy()
        try:
            hac = sharpe_difference_hac(r1, r2)
            pw = sharpe_difference_hac(r1, r2, prewhiten=True)
            jk = sharpe_difference_jobson_korkie(r1, r2)
        except (BallastError, np.linalg.LinAlgError, FloatingPointError):
            rows[name] = dict.fromkeys(("sharpe_difference", "standard_error", "z", "p_value",
                                        "p_hac", "p_hac_prewhitened", "p_jobson_korkie"),
                                       float("nan")) | {"significant": False}  # fmt: skip
            continue
        chosen = {"hac": hac, "hac_prewhitened": pw, "jobson_korkie": jk}[test]
        rows[name] = {
            "sharpe_difference": hac.difference * scale,
            "standard_error": chosen.standard_error * scale,
            "z": chosen.statistic,
            "p_value": chosen.p_value,
            "p_hac": hac.p_value,
            "p_hac_prewhitened": pw.p_value,
            "p_jobson_korkie": jk.p_value,
            "significant": bool(chosen.p_value < 1 - confidence),
        }
    columns = ["sharpe_difference", "standard_error", "z", "p_value", "p_hac",
               "p_hac_prewhitened", "p_jobson_korkie", "significant"]  # fmt: skip
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.index.name = f"design vs {base}"
    return table


# ---------------------------------------------------------------------------------------------
# Designs as the setup holds them (``compare_designs``)
# ---------------------------------------------------------------------------------------------

#: Fields of a design in the setup (a row of the Compare page's table).
SPEC_COLUMNS = ["name", "kind", "objective", "returns_method", "cov_method", "constraints",
                "max_weight"]  # fmt: skip


def specs_frame(specs: Sequence[Mapping]) -> pd.DataFrame:
    """The setup's designs as a table, one row each, the maximum weight in percent.

    Parameters
    ----------
    specs : sequence of mapping
        The setup key ``compare_designs``: ``{"name", "kind", ...}`` per design, the maximum
        weight a decimal.

    Returns
    -------
    DataFrame (n_designs, 7)
        Columns :data:`SPEC_COLUMNS`; ``max_weight`` in percent (0.3 -> 30), NaN when none.
    """
    rows = [{c: spec.get(c) for c in SPEC_COLUMNS} for spec in specs]
    frame = pd.DataFrame(rows, columns=SPEC_COLUMNS)
    frame["max_weight"] = pd.to_numeric(frame["max_weight"], errors="coerce") * 100
    return frame


def specs_from_frame(frame: pd.DataFrame) -> list[dict]:
    """The designs of a table (:func:`specs_frame`), checked: blank rows dropped.

    Parameters
    ----------
    frame : DataFrame
        Columns :data:`SPEC_COLUMNS`, the maximum weight in percent.

    Returns
    -------
    list of dict
        ``{"name", "kind", ...}`` per design, the maximum weight a decimal.

    Raises
    ------
    BacktestError
        A row without a name or kind, a maximum weight outside 1 to 100 %, more than
        :data:`MAX_DESIGNS` designs or a repeated name (every problem named at once).
    """
    specs, problems = [], []
    for i, row in enumerate(frame.to_dict("records"), start=1):
        name = str(row.get("name") or "").strip()
        kind = row.get("kind")
        if not name and not kind:
            continue  # a blank row
        if not name:
            problems.append(f"row {i} has no name")
            continue
        if kind not in DESIGN_KINDS:
            problems.append(f"{name}: choose its kind")
            continue
        spec: dict = {"name": name, "kind": kind}
        for key in ("objective", "returns_method", "cov_method", "constraints"):
            value = row.get(key)
            if isinstance(value, str) and value:
                spec[key] = value
        cap = row.get("max_weight")
        if cap is not None and pd.notna(cap):
            if not 1.0 <= float(cap) <= 100.0:
                problems.append(f"{name}: the maximum weight must be 1 to 100 %")
                continue
            spec["max_weight"] = float(cap) / 100.0
        specs.append(spec)
    if len(specs) > MAX_DESIGNS:
        problems.append(f"at most {MAX_DESIGNS} designs can be compared ({len(specs)} given)")
    names = [s["name"] for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"give every design its own name ({', '.join(dupes)} is repeated)")
    if problems:
        raise BacktestError("Designs: " + "; ".join(problems) + ".")
    return specs
