"""Value at risk, conditional value at risk, risk decomposition, drawdowns and VaR backtests.

Conventions
-----------
- Returns are simple per-period decimal returns (daily data: one period = one trading day).
  Losses are ``L = -R``.
- **VaR and CVaR are positive losses** as decimal fractions of portfolio value (0.021 = a loss of
  2.1 % of the portfolio), for a stated ``confidence`` in (0.5, 1) and a ``horizon`` of ``h``
  trading days (DESIGN.md §3). Money figures are ``fraction x portfolio value``. A negative VaR
  means the quantile is a gain.
- **Empirical quantile convention** (historical method, backtests, tail scenarios): VaR is the
  lower ``confidence``-quantile of the empirical loss distribution,
  ``VaR = inf{l : F_n(l) >= confidence}``, i.e. the ``ceil(n * confidence)``-th smallest of the
  ``n`` losses. With 100 observations and 95 % confidence it is the sixth largest loss. CVaR
  (expected shortfall) is the Acerbi-Tasche / Rockafellar-Uryasev estimate
  ``CVaR = VaR + sum((L_i - VaR)^+) / (n (1 - confidence))``: when ``n (1 - confidence)`` is an
  integer ``k`` it is the mean of the ``k`` largest losses. This is skfolio's convention
  (``skfolio.measures.value_at_risk`` / ``cvar``), against which the tests check.
- **Horizon**: the historical scenarios of a portfolio at ``h > 1`` days are the overlapping
  ``h``-day **buy-and-hold** returns of the current weights, ``sum_i w_i (prod(1 + r_{i,t..t+h-1})
  - 1)`` (``n - h + 1`` of them, not independent; :func:`historical_scenarios`): the current
  book bought on each day and held ``h`` days. One construction serves the VaR table
  (:func:`risk_table`) and the contributions (:func:`risk_contributions`), so their historical
  figures agree; the scenarios are linear in the weights, which the Euler allocation needs. A
  portfolio given only as a return series (:func:`historical_var_cvar`) compounds its own
  returns, ``prod(1 + R_{t..t+h-1}) - 1``; at ``h = 1`` both are the daily returns. Parametric and
  Cornish-Fisher scale i.i.d. daily moments: mean ``h mu``, volatility ``sqrt(h) sigma``,
  skewness ``S / sqrt(h)``, excess kurtosis ``K / h``. Monte Carlo sums ``h`` daily draws.

References
----------
- P. Jorion, *Value at Risk*, 3rd ed., McGraw-Hill, 2007.
- C. Acerbi and D. Tasche, "On the coherence of expected shortfall", J. Banking & Finance 26, 2002.
- R. T. Rockafellar and S. Uryasev, "Conditional value-at-risk for general loss distributions",
  J. Banking & Finance 26, 2002.
- A. McNeil, R. Frey and P. Embrechts, *Quantitative Risk Management*, Princeton, 2015.
- P. Kupiec, "Techniques for verifying the accuracy of risk measurement models", J. Derivatives
  3, 1995.  P. Christoffersen, "Evaluating interval forecasts", Int. Econ. Review 39, 1998.
- Basel Committee, "Supervisory framework for the use of backtesting in conjunction with the
  internal models approach to market risk capital requirements", 1996.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import gammaln, xlogy

from core.exceptions import RiskInputError

__all__ = [
    "METHODS",
    "MIN_OBSERVATIONS",
    "value_at_risk",
    "conditional_value_at_risk",
    "historical_var_cvar",
    "parametric_var_cvar",
    "cornish_fisher_var_cvar",
    "cornish_fisher_is_monotonic",
    "CornishFisherWarning",
    "MonteCarloResult",
    "monte_carlo_var_cvar",
    "horizon_returns",
    "historical_scenarios",
    "portfolio_returns",
    "fit_student_t_dof",
    "TABLE_METHODS",
    "risk_table",
    "RiskContributions",
    "risk_contributions",
    "DrawdownReport",
    "drawdowns",
    "BACKTEST_METHODS",
    "rolling_var",
    "kupiec_test",
    "ChristoffersenResult",
    "christoffersen_test",
    "traffic_light",
    "VaRBacktest",
    "var_backtest",
]

#: VaR/CVaR methods: name -> label for the user.
METHODS: dict[str, str] = {
    "historical": "Historical",
    "parametric": "Parametric normal",
    "cornish_fisher": "Cornish-Fisher",
    "monte_carlo": "Monte Carlo",
}

#: Fewest return observations a VaR estimate accepts.
MIN_OBSERVATIONS = 20

#: Largest number of Monte Carlo scenarios accepted.
MAX_SCENARIOS = 1_000_000

_CHUNK = 250_000  # draws per Monte Carlo chunk: bounds memory, paces the progress callback


class CornishFisherWarning(UserWarning):
    """The Cornish-Fisher expansion is not monotonic for the sample's skewness and kurtosis."""


# --------------------------------------------------------------------------------- validation
def _check_confidence(confidence: float) -> float:
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise RiskInputError(
            f"Confidence must be a number in (0, 1), got {confidence!r}."
        ) from None
    if not 0.0 < c < 1.0 or math.isnan(c):
        raise RiskInputError(
            f"Confidence must lie strictly between 0 and 1 (e.g. 0.95 or 0.99), got {c:g}."
        )
    return c


def _check_horizon(horizon: int) -> int:
    try:
        h = int(horizon)
    except (TypeError, ValueError):
        raise RiskInputError(
            f"The horizon must be a whole number of days, got {horizon!r}."
        ) from None
    if h != horizon or h < 1:
        raise RiskInputError(
            f"The horizon must be a whole number of trading days, at least 1; got {horizon!r}."
        )
    return h


def _as_returns(returns: pd.Series | np.ndarray, minimum: int = MIN_OBSERVATIONS) -> np.ndarray:
    if returns is None:
        raise RiskInputError("No portfolio returns were given.")
    x = np.asarray(returns, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if not np.all(np.isfinite(x)):
        raise RiskInputError("The returns contain infinite values; check the prices.")
    if x.size < minimum:
        raise RiskInputError(
            f"{x.size} return observations are too few for a VaR estimate; at least {minimum} "
            "are needed. Widen the date window."
        )
    return x


# ---------------------------------------------------------------------------------- returns
def portfolio_returns(asset_returns: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """Per-period returns of a portfolio held at constant weights (rebalanced each period).

    Parameters
    ----------
    asset_returns : DataFrame (n_observations, n_assets)
        Simple per-period decimal returns, tickers as columns.
    weights : Series (n_assets,)
        Decimal weights indexed by ticker; tickers missing from ``asset_returns`` raise.

    Returns
    -------
    Series (n_observations,)
        ``R_t = w' r_t``, named ``"portfolio"``.

    Raises
    ------
    RiskInputError
        If a weighted ticker has no returns.
    """
    w = _align_weights(asset_returns, weights)
    return pd.Series(asset_returns.to_numpy() @ w, index=asset_returns.index, name="portfolio")


def _align_weights(asset_returns: pd.DataFrame, weights: pd.Series) -> np.ndarray:
    weights = pd.Series(weights, dtype=float)
    missing = [t for t in weights.index if t not in asset_returns.columns and weights[t] != 0]
    if missing:
        raise RiskInputError(f"No returns for {', '.join(map(str, missing))} in the data.")
    return weights.reindex(asset_returns.columns).fillna(0.0).to_numpy()


def horizon_returns(returns: pd.Series | np.ndarray, horizon: int) -> np.ndarray:
    """Overlapping ``h``-day compounded returns.

    Parameters
    ----------
    returns : Series or ndarray (n_observations,)
        Simple daily decimal returns.
    horizon : int
        ``h`` >= 1 trading days.

    Returns
    -------
    ndarray (n_observations - h + 1,)
        ``prod(1 + r_t ... r_{t+h-1}) - 1`` for every start ``t``; the windows overlap, so the
        values are not independent.
    """
    x = np.asarray(returns, dtype=float)
    h = _check_horizon(horizon)
    if h == 1:
        return x.copy()
    log_growth = np.concatenate([[0.0], np.cumsum(np.log1p(x))])
    return np.expm1(log_growth[h:] - log_growth[:-h])


def _buy_and_hold(x: np.ndarray, h: int) -> np.ndarray:
    """Overlapping ``h``-day buy-and-hold returns per asset, ``(n - h + 1, n_assets)``."""
    if h == 1:
        return x
    log_growth = np.vstack([np.zeros(x.shape[1]), np.cumsum(np.log1p(x), axis=0)])
    return np.expm1(log_growth[h:] - log_growth[:-h])


def historical_scenarios(
    asset_returns: pd.DataFrame, weights: pd.Series, horizon: int = 1
) -> pd.Series:
    r"""Historical ``h``-day scenarios of the current weights: buy on each day, hold ``h`` days.

    .. math:: R_{p,t} = \sum_i w_i \left(\prod_{k=0}^{h-1} (1 + r_{i,t+k}) - 1\right)

    The portfolio return of every overlapping ``h``-day window of the history; the loss
    scenarios of the historical VaR and CVaR of :func:`risk_table` and of the historical
    decomposition of :func:`risk_contributions` (linear in ``w``). At ``h = 1`` they are the
    daily portfolio returns ``w' r_t``.

    Parameters
    ----------
    asset_returns : DataFrame (n_observations, n_assets)
        Simple daily decimal asset returns (rows with NaN dropped).
    weights : Series (n_assets,)
        Decimal weights by ticker.
    horizon : int
        ``h`` >= 1 trading days.

    Returns
    -------
    Series (n_observations - h + 1,)
        Decimal ``h``-day portfolio returns, indexed by the last day of each window.

    Raises
    ------
    RiskInputError
        Bad horizon, or a weighted ticker without returns.
    """
    h = _check_horizon(horizon)
    data = asset_returns.dropna()
    w = _align_weights(data, weights)
    scen = _buy_and_hold(data.to_numpy(), h) @ w
    return pd.Series(scen, index=data.index[h - 1 :], name="portfolio")


# ------------------------------------------------------------------------------- historical
def _empirical_var_cvar(losses: np.ndarray, confidence: float) -> tuple[float, float]:
    n = losses.size
    # ceil with a tolerance: n * 0.95 is 94.99999999999999 or 95.00000000000001 in floating point
    j = min(max(int(math.ceil(n * confidence - 1e-9)), 1), n)
    var = float(np.partition(losses, j - 1)[j - 1])
    cvar = var + float(np.maximum(losses - var, 0.0).sum()) / (n * (1.0 - confidence))
    return var, cvar


def historical_var_cvar(
    returns: pd.Series | np.ndarray, confidence: float = 0.95, horizon: int = 1
) -> tuple[float, float]:
    """Historical (empirical) VaR and CVaR.

    Parameters
    ----------
    returns : Series or ndarray (n_observations,)
        Simple daily decimal returns of the portfolio.
    confidence : float
        In (0, 1), e.g. 0.95.
    horizon : int
        Trading days ``h``; ``h > 1`` uses overlapping ``h``-day compounded returns.

    Returns
    -------
    (float, float)
        VaR and CVaR as positive decimal losses (see the module's quantile convention).

    Raises
    ------
    RiskInputError
        Bad confidence or horizon, or fewer than :data:`MIN_OBSERVATIONS` h-day returns.
    """
    c, h = _check_confidence(confidence), _check_horizon(horizon)
    x = _as_returns(returns)
    if x.size - h + 1 < MIN_OBSERVATIONS:
        raise RiskInputError(
            f"A {h}-day horizon leaves {max(x.size - h + 1, 0)} overlapping returns from "
            f"{x.size} observations; at least {MIN_OBSERVATIONS} are needed. Shorten the "
            "horizon or widen the window."
        )
    return _empirical_var_cvar(-horizon_returns(x, h), c)


# ------------------------------------------------------------------------------- parametric
def parametric_var_cvar(
    returns: pd.Series | np.ndarray | None = None,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    mean: float | None = None,
    volatility: float | None = None,
) -> tuple[float, float]:
    r"""Parametric (normal, variance-covariance) VaR and CVaR.

    .. math:: \mathrm{VaR} = z_c \sigma \sqrt{h} - h \mu, \quad
              \mathrm{CVaR} = \sigma \sqrt{h}\, \varphi(z_c) / (1 - c) - h \mu

    with ``z_c = Phi^{-1}(c)``.

    Parameters
    ----------
    returns : Series or ndarray (n_observations,), optional
        Simple daily decimal returns; their sample mean and standard deviation (ddof=1) are used
        unless ``mean`` and ``volatility`` are given.
    confidence : float
        In (0, 1).
    horizon : int
        Trading days ``h``.
    mean, volatility : float, optional
        Daily decimal mean and volatility, instead of estimating them from ``returns``.

    Returns
    -------
    (float, float)
        VaR and CVaR as positive decimal losses.

    Raises
    ------
    RiskInputError
        Bad confidence or horizon, too few observations, or neither returns nor moments given.
    """
    c, h = _check_confidence(confidence), _check_horizon(horizon)
    mu, sigma = _moments(returns, mean, volatility)
    z = stats.norm.ppf(c)
    var = z * sigma * math.sqrt(h) - h * mu
    cvar = sigma * math.sqrt(h) * stats.norm.pdf(z) / (1.0 - c) - h * mu
    return float(var), float(cvar)


def _moments(returns, mean, volatility) -> tuple[float, float]:
    if mean is not None and volatility is not None:
        if not volatility >= 0:
            raise RiskInputError(f"The volatility must be non-negative, got {volatility:g}.")
        return float(mean), float(volatility)
    x = _as_returns(returns)
    return float(x.mean()), float(x.std(ddof=1))


# --------------------------------------------------------------------------- Cornish-Fisher
def _cf_coefficients(skew: float, kurt: float) -> tuple[float, float, float, float]:
    """Coefficients of ``z_cf = a0 + a1 z + a2 z^2 + a3 z^3`` (Cornish-Fisher, 4th order)."""
    a0 = -skew / 6.0
    a1 = 1.0 - kurt / 8.0 + 5.0 * skew**2 / 36.0
    a2 = skew / 6.0
    a3 = kurt / 24.0 - skew**2 / 18.0
    return a0, a1, a2, a3


def cornish_fisher_is_monotonic(skew: float, excess_kurtosis: float) -> bool:
    """Whether the Cornish-Fisher quantile map ``z -> z_cf`` is increasing on the whole line.

    The expansion is a cubic in ``z``; it is a valid quantile function only if its derivative
    ``a1 + 2 a2 z + 3 a3 z^2`` stays positive, i.e. ``a3 > 0`` and ``a2^2 < 3 a1 a3``
    (Maillard 2012, "A user's guide to the Cornish Fisher expansion").

    Parameters
    ----------
    skew : float
        Skewness.
    excess_kurtosis : float
        Excess kurtosis (0 for the normal).

    Returns
    -------
    bool
    """
    _, a1, a2, a3 = _cf_coefficients(skew, excess_kurtosis)
    if abs(a3) < 1e-15:
        return abs(a2) < 1e-15 and a1 > 0
    return a3 > 0 and a2**2 < 3.0 * a1 * a3


def cornish_fisher_var_cvar(
    returns: pd.Series | np.ndarray | None = None,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    mean: float | None = None,
    volatility: float | None = None,
    skew: float | None = None,
    excess_kurtosis: float | None = None,
    warn: bool = True,
) -> tuple[float, float]:
    """Cornish-Fisher (modified) VaR and the expected shortfall of the same quantile function.

    The return quantile is ``mu + sigma z_cf`` with

    .. math:: z_{cf} = z + (z^2 - 1) S / 6 + (z^3 - 3 z) K / 24 - (2 z^3 - 5 z) S^2 / 36,

    ``z = Phi^{-1}(1 - c)``, ``S`` the skewness and ``K`` the excess kurtosis. CVaR is the tail
    average of that quantile function, in closed form from the truncated moments of the normal
    (``E[Z^k; Z < z]``), so it is exact for the distribution the expansion describes. With
    ``S = K = 0`` both equal the parametric normal figures.

    Parameters
    ----------
    returns : Series or ndarray (n_observations,), optional
        Simple daily decimal returns; sample moments (bias-corrected skewness and kurtosis) are
        used unless all four moments are given.
    confidence : float
        In (0, 1).
    horizon : int
        Trading days ``h``: i.i.d. scaling ``h mu``, ``sqrt(h) sigma``, ``S/sqrt(h)``, ``K/h``.
    mean, volatility, skew, excess_kurtosis : float, optional
        Daily moments, instead of estimating them from ``returns``.
    warn : bool
        Emit :class:`CornishFisherWarning` when the expansion is not monotonic, in which case
        the figures are unreliable (fat-tailed data; see DESIGN.md §4).

    Returns
    -------
    (float, float)
        VaR and CVaR as positive decimal losses.

    Raises
    ------
    RiskInputError
        Bad confidence or horizon, too few observations.

    References
    ----------
    Zangari, "A VaR methodology for portfolios that include options", RiskMetrics Monitor, 1996;
    Boudt, Peterson and Croux, "Estimation and decomposition of downside risk for portfolios
    with non-normal returns", J. Risk 11, 2008; Maillard, "A user's guide to the Cornish Fisher
    expansion", SSRN 1997178, 2012.
    """
    c, h = _check_confidence(confidence), _check_horizon(horizon)
    if None in (mean, volatility, skew, excess_kurtosis):
        x = _as_returns(returns)
        mean, volatility = float(x.mean()), float(x.std(ddof=1))
        skew = float(stats.skew(x, bias=False))
        excess_kurtosis = float(stats.kurtosis(x, fisher=True, bias=False))
    mu, sigma = h * mean, math.sqrt(h) * volatility
    s, k = skew / math.sqrt(h), excess_kurtosis / h
    if warn and not cornish_fisher_is_monotonic(s, k):
        warnings.warn(
            f"The Cornish-Fisher expansion is not monotonic at skewness {s:.2f} and excess "
            f"kurtosis {k:.2f}: its VaR and CVaR are unreliable for such fat tails.",
            CornishFisherWarning,
            stacklevel=2,
        )
    a0, a1, a2, a3 = _cf_coefficients(s, k)
    z = stats.norm.ppf(1.0 - c)
    z_cf = a0 + a1 * z + a2 * z**2 + a3 * z**3
    var = -(mu + sigma * z_cf)
    # E[Z^k 1{Z<z}] for k = 0..3
    phi, cdf = stats.norm.pdf(z), 1.0 - c
    m0, m1, m2, m3 = cdf, -phi, cdf - z * phi, -(z**2 + 2.0) * phi
    tail_mean_zcf = (a0 * m0 + a1 * m1 + a2 * m2 + a3 * m3) / cdf
    cvar = -(mu + sigma * tail_mean_zcf)
    return float(var), float(cvar)


# ------------------------------------------------------------------------------ Monte Carlo
@dataclass(frozen=True)
class MonteCarloResult:
    """Monte Carlo VaR and CVaR with their standard errors.

    Attributes
    ----------
    var, cvar : float
        Positive decimal losses at ``confidence`` over ``horizon`` days.
    var_se, cvar_se : float
        Standard errors of the two estimates (decimal).
    confidence : float
    horizon : int
    n_scenarios : int
    distribution : str
        ``"normal"`` or ``"student_t"``.
    dof : float or None
        Degrees of freedom of the Student-t (fitted or chosen); None for the normal.
    mean, volatility : float
        Daily decimal mean and volatility of the portfolio in the model.
    seed : int or None
    """

    var: float
    cvar: float
    var_se: float
    cvar_se: float
    confidence: float
    horizon: int
    n_scenarios: int
    distribution: str
    dof: float | None
    mean: float
    volatility: float
    seed: int | None = None


def fit_student_t_dof(returns: pd.Series | np.ndarray) -> float:
    r"""Degrees of freedom of a Student-t fitted by maximum likelihood (location, scale, dof).

    The same estimate as ``scipy.stats.t.fit`` (the tests check it), about a hundred times
    faster: ``t.fit`` runs a Nelder-Mead search through scipy's generic ``logpdf`` (about 80 ms
    on five years of daily returns, most of the Risk page's VaR table); here the
    negative log-likelihood

    .. math:: -\ell = -n\left[\ln\Gamma\left(\tfrac{\nu+1}{2}\right)
              - \ln\Gamma\left(\tfrac{\nu}{2}\right) - \tfrac12 \ln(\nu\pi) - \ln s\right]
              + \tfrac{\nu+1}{2} \sum_t \ln\left(1 + \tfrac{(z_t - m)^2}{\nu s^2}\right)

    of the standardised returns ``z`` is minimised by L-BFGS-B over ``(ln(nu - 2), m, ln s)``
    from the method-of-moments start ``nu = 4 + 6 / K`` (``K`` the excess kurtosis).

    Parameters
    ----------
    returns : Series or ndarray (n_observations,)
        Daily decimal returns.

    Returns
    -------
    float
        Degrees of freedom, clipped to [2.5, 200] so that the variance exists.

    References
    ----------
    K. L. Lange, R. J. A. Little and J. M. G. Taylor, "Robust statistical modeling using the t
    distribution", J. American Statistical Association 84, 1989.
    """
    x = _as_returns(returns)
    scale = x.std(ddof=1) or 1.0
    z = (x - x.mean()) / scale
    n = z.size
    kurt = float(np.mean(z**4) / np.mean(z**2) ** 2 - 3.0)
    nu0 = min(4.0 + 6.0 / kurt, 150.0) if kurt > 0.04 else 150.0

    def nll(theta: np.ndarray) -> float:
        nu, m, s = 2.0 + math.exp(theta[0]), theta[1], math.exp(theta[2])
        u = (z - m) / s
        const = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * math.log(nu * math.pi) - theta[2]
        return float(-n * const + (nu + 1) / 2 * np.log1p(u * u / nu).sum())

    start = np.array([math.log(nu0 - 2.0), 0.0, 0.5 * math.log((nu0 - 2.0) / nu0)])
    fit = optimize.minimize(nll, start, method="L-BFGS-B", bounds=[(-12.0, 8.0), (-5.0, 5.0),
                                                                   (-8.0, 3.0)])  # fmt: skip
    return float(np.clip(2.0 + math.exp(fit.x[0]), 2.5, 200.0))


def monte_carlo_var_cvar(
    returns: pd.Series | np.ndarray | None = None,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    asset_returns: pd.DataFrame | None = None,
    weights: pd.Series | None = None,
    distribution: str = "normal",
    dof: float | None = None,
    n_scenarios: int = 100_000,
    seed: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> MonteCarloResult:
    """Monte Carlo VaR and CVaR under a multivariate normal or Student-t model.

    The model is fitted to the asset returns: mean vector ``mu`` and covariance ``Sigma`` (sample,
    daily), and for the Student-t a dispersion ``Sigma (nu - 2) / nu`` so that the covariance is
    ``Sigma``. For a linear portfolio the return ``w' X`` of a multivariate normal or Student-t
    vector ``X`` is itself normal or Student-t (same ``nu``) with mean ``w' mu`` and variance
    ``w' Sigma w``: the simulation draws that one-dimensional law, which is exact and costs
    milliseconds for 1,000,000 scenarios (DESIGN.md §4). Horizons ``h > 1`` draw ``h`` daily
    portfolio returns per scenario and add them (for the normal, one draw with mean ``h w' mu``
    and variance ``h w' Sigma w``, the same law). Draws run in chunks of 250,000.

    Parameters
    ----------
    returns : Series or ndarray (n_observations,), optional
        Daily decimal portfolio returns; used when ``asset_returns``/``weights`` are omitted
        (the portfolio is then modelled directly) and to fit ``nu``.
    confidence : float
        In (0, 1).
    horizon : int
        Trading days ``h``.
    asset_returns : DataFrame (n_observations, n_assets), optional
        Daily decimal asset returns (keyword only).
    weights : Series (n_assets,), optional
        Decimal weights by ticker (keyword only); required with ``asset_returns``.
    distribution : {"normal", "student_t"}
        The joint law of the asset returns.
    dof : float, optional
        Student-t degrees of freedom (> 2); fitted by maximum likelihood on the portfolio
        returns when None.
    n_scenarios : int
        1,000 to 1,000,000.
    seed : int, optional
        Seed of ``numpy.random.default_rng``; same seed, same figures.
    progress : callable, optional
        Called with the fraction done (0..1) after each chunk.

    Returns
    -------
    MonteCarloResult
        VaR and CVaR (empirical estimates on the simulated losses, module convention) and their
        asymptotic standard errors: ``sqrt(c (1 - c) / N) / f(VaR)`` for VaR, with ``f`` the
        model density when it is known in closed form (normal; Student-t at ``h = 1``) and
        estimated from 20 batches otherwise; ``sqrt((Var(L | L >= VaR) + c (CVaR - VaR)^2) /
        (N (1 - c)))`` for CVaR.

    Raises
    ------
    RiskInputError
        Bad confidence, horizon, scenario count, distribution or dof; too few observations.

    References
    ----------
    Glasserman, *Monte Carlo Methods in Financial Engineering*, Springer, 2003, §9.1;
    Manistre and Hancock, "Variance of the CTE estimator", North American Actuarial J. 9, 2005.
    """
    c, h = _check_confidence(confidence), _check_horizon(horizon)
    model = _mc_model(returns, asset_returns, weights, distribution, dof)
    losses = _mc_losses(model, h, n_scenarios, seed, progress)
    var, cvar, var_se, cvar_se = _mc_estimate(losses, c, h, model)
    return MonteCarloResult(
        var=var, cvar=cvar, var_se=var_se, cvar_se=cvar_se, confidence=c, horizon=h,
        n_scenarios=losses.size, distribution=distribution, dof=model[2], mean=model[0],
        volatility=model[1], seed=seed,
    )  # fmt: skip


def _mc_model(returns, asset_returns, weights, distribution, dof):
    """(daily mean, daily volatility, dof or None) of the portfolio under the model."""
    if distribution not in ("normal", "student_t"):
        raise RiskInputError(
            f"Unknown distribution {distribution!r}: choose 'normal' or 'student_t'."
        )
    if asset_returns is not None:
        if weights is None:
            raise RiskInputError("Monte Carlo from asset returns needs the weights too.")
        data = asset_returns.dropna()
        if len(data) < MIN_OBSERVATIONS:
            raise RiskInputError(
                f"{len(data)} asset return observations are too few for a Monte Carlo model; "
                f"at least {MIN_OBSERVATIONS} are needed. Widen the date window."
            )
        w = _align_weights(data, weights)
        x = data.to_numpy()
        mu = float(x.mean(axis=0) @ w)
        cov = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))  # a 0-d array for one asset
        sigma = float(math.sqrt(max(w @ cov @ w, 0.0)))
        port = x @ w
    else:
        port = _as_returns(returns)
        mu, sigma = float(port.mean()), float(port.std(ddof=1))
    nu = None
    if distribution == "student_t":
        nu = fit_student_t_dof(port) if dof is None else float(dof)
        if not nu > 2:
            raise RiskInputError(
                f"Student-t degrees of freedom must exceed 2 (finite variance); got {nu:g}."
            )
    return mu, sigma, nu


def _mc_losses(model, h, n_scenarios, seed, progress) -> np.ndarray:
    mu, sigma, nu = model
    try:
        n = int(n_scenarios)
    except (TypeError, ValueError):
        n = -1
    if not 1_000 <= n <= MAX_SCENARIOS:
        raise RiskInputError(
            f"The number of Monte Carlo scenarios must be between 1,000 and {MAX_SCENARIOS:,}; "
            f"got {n_scenarios}."
        )
    rng = np.random.default_rng(seed)
    losses = np.empty(n)
    # a Student-t with nu dof has variance nu / (nu - 2): rescale to the sample volatility
    t_scale = math.sqrt((nu - 2.0) / nu) if nu is not None else 1.0
    done = 0
    while done < n:
        m = min(_CHUNK, n - done)
        if nu is None:
            draw = rng.standard_normal(m) * (sigma * math.sqrt(h)) + h * mu
        elif h == 1:
            draw = rng.standard_t(nu, m) * (sigma * t_scale) + mu
        else:
            draw = rng.standard_t(nu, (m, h)).sum(axis=1) * (sigma * t_scale) + h * mu
        np.negative(draw, out=losses[done : done + m])
        done += m
        if progress is not None:
            progress(done / n)
    return losses


def _mc_estimate(losses, c, h, model) -> tuple[float, float, float, float]:
    mu, sigma, nu = model
    n = losses.size
    var, cvar = _empirical_var_cvar(losses, c)
    if sigma <= 0:
        return var, cvar, 0.0, 0.0
    if nu is None:
        dens = stats.norm.pdf(var, loc=-h * mu, scale=sigma * math.sqrt(h))
    elif h == 1:
        dens = stats.t.pdf(var, nu, loc=-mu, scale=sigma * math.sqrt((nu - 2.0) / nu))
    else:
        dens = None  # the sum of h Student-t draws has no closed-form density
    if dens is None:
        batches = np.array_split(losses, 20)
        estimates = [_empirical_var_cvar(b, c)[0] for b in batches]
        var_se = float(np.std(estimates, ddof=1) / math.sqrt(len(batches)))
    else:
        var_se = float(math.sqrt(c * (1 - c) / n) / dens) if dens > 0 else 0.0
    tail = losses[losses >= var]
    tail_var = float(tail.var()) if tail.size > 1 else 0.0
    cvar_se = float(math.sqrt(max(tail_var + c * (cvar - var) ** 2, 0.0) / (n * (1 - c))))
    return var, cvar, var_se, cvar_se


# ------------------------------------------------------------------------------ public API
def _dispatch(portfolio_returns, confidence, method, horizon, kwargs) -> tuple[float, float]:
    if method == "historical":
        _no_kwargs(method, kwargs)
        return historical_var_cvar(portfolio_returns, confidence, horizon)
    if method == "parametric":
        return parametric_var_cvar(portfolio_returns, confidence, horizon, **kwargs)
    if method == "cornish_fisher":
        return cornish_fisher_var_cvar(portfolio_returns, confidence, horizon, **kwargs)
    if method == "monte_carlo":
        r = monte_carlo_var_cvar(portfolio_returns, confidence, horizon, **kwargs)
        return r.var, r.cvar
    raise RiskInputError(
        f"Unknown VaR method {method!r}: choose one of {', '.join(map(repr, METHODS))}."
    )


def _no_kwargs(method: str, kwargs: dict) -> None:
    if kwargs:
        raise RiskInputError(
            f"The {method} method takes no options; got {', '.join(sorted(kwargs))}."
        )


def value_at_risk(
    portfolio_returns: pd.Series | np.ndarray | None,
    confidence: float = 0.95,
    method: str = "historical",
    horizon: int = 1,
    **kwargs,
) -> float:
    """Value at risk of a portfolio: the loss not exceeded with probability ``confidence``.

    Parameters
    ----------
    portfolio_returns : Series or ndarray (n_observations,)
        Simple daily decimal portfolio returns (NaN dropped). For ``method="monte_carlo"``
        with ``asset_returns`` and ``weights`` it is ignored (pass None): the model is fitted
        to the asset returns.
    confidence : float
        In (0, 1), e.g. 0.95 or 0.99.
    method : {"historical", "parametric", "cornish_fisher", "monte_carlo"}
        - ``historical``: empirical quantile (module convention); ``h > 1`` uses overlapping
          ``h``-day compounded returns.
        - ``parametric``: normal, ``z sigma sqrt(h) - h mu``. Keywords ``mean``, ``volatility``
          (daily) replace the sample moments.
        - ``cornish_fisher``: skewness/kurtosis-adjusted normal quantile; warns
          (:class:`CornishFisherWarning`) when the expansion is not monotonic. Keywords
          ``mean``, ``volatility``, ``skew``, ``excess_kurtosis``, ``warn``.
        - ``monte_carlo``: keywords ``asset_returns`` (DataFrame (n_observations, n_assets) of
          daily decimal returns) and ``weights`` (Series by ticker) give the multivariate model;
          without them the portfolio returns are modelled directly. ``distribution``
          (``"normal"`` or ``"student_t"``), ``dof`` (None: fitted), ``n_scenarios`` (1,000 to
          1,000,000; default 100,000), ``seed``, ``progress``. See
          :func:`monte_carlo_var_cvar`, which also returns the standard errors.
    horizon : int
        Horizon ``h`` in trading days, >= 1.
    **kwargs
        Method options as listed above.

    Returns
    -------
    float
        VaR as a positive decimal fraction of portfolio value (0.02 = 2 %); multiply by the
        portfolio value for money.

    Raises
    ------
    RiskInputError
        Confidence outside (0, 1), horizon < 1, fewer than :data:`MIN_OBSERVATIONS`
        observations, an unknown method or option.

    Examples
    --------
    >>> value_at_risk(returns, 0.99, "parametric", horizon=10)  # doctest: +SKIP
    """
    return _dispatch(portfolio_returns, confidence, method, horizon, kwargs)[0]


def conditional_value_at_risk(
    portfolio_returns: pd.Series | np.ndarray | None,
    confidence: float = 0.95,
    method: str = "historical",
    horizon: int = 1,
    **kwargs,
) -> float:
    """Conditional value at risk (expected shortfall): the mean loss beyond the VaR.

    Same parameters, methods and keywords as :func:`value_at_risk`; always ``>= VaR`` for the
    same inputs (and the same Monte Carlo seed).

    Parameters
    ----------
    portfolio_returns : Series or ndarray (n_observations,)
        Simple daily decimal portfolio returns; may be None for Monte Carlo with
        ``asset_returns`` and ``weights``.
    confidence : float
        In (0, 1).
    method : {"historical", "parametric", "cornish_fisher", "monte_carlo"}
        See :func:`value_at_risk`.
    horizon : int
        Trading days, >= 1.
    **kwargs
        Method options, see :func:`value_at_risk`.

    Returns
    -------
    float
        CVaR as a positive decimal fraction of portfolio value.

    Raises
    ------
    RiskInputError
        As :func:`value_at_risk`.
    """
    return _dispatch(portfolio_returns, confidence, method, horizon, kwargs)[1]


# ------------------------------------------------------------------------- all methods at once
#: Rows of :func:`risk_table`: key -> label (Monte Carlo split by distribution).
TABLE_METHODS: dict[str, str] = {
    "historical": "Historical",
    "parametric": "Parametric normal",
    "cornish_fisher": "Cornish-Fisher",
    "mc_normal": "Monte Carlo, multivariate normal",
    "mc_student_t": "Monte Carlo, multivariate Student-t",
}


def risk_table(
    asset_returns: pd.DataFrame,
    weights: pd.Series,
    confidences: list[float] | tuple[float, ...] = (0.95, 0.99),
    horizon: int = 1,
    *,
    n_scenarios: int = 100_000,
    dof: float | None = None,
    seed: int | None = 0,
    portfolio_value: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """VaR and CVaR of a portfolio by every method, at several confidence levels.

    Parameters
    ----------
    asset_returns : DataFrame (n_observations, n_assets)
        Daily decimal asset returns.
    weights : Series (n_assets,)
        Decimal weights by ticker.
    confidences : sequence of float
        Confidence levels in (0, 1).
    horizon : int
        Trading days ``h``.
    n_scenarios : int
        Monte Carlo scenarios per distribution (one simulation serves every confidence).
    dof : float, optional
        Student-t degrees of freedom; fitted when None.
    seed : int, optional
        Monte Carlo seed.
    portfolio_value : float, optional
        Adds the money columns ``var_money`` and ``cvar_money``.
    progress : callable, optional
        Called with the fraction done (0..1).

    Returns
    -------
    DataFrame
        One row per (method, confidence): ``method`` (key of :data:`TABLE_METHODS`), ``label``,
        ``confidence``, ``horizon_days``, ``var``, ``cvar`` (positive decimal losses),
        ``var_se``, ``cvar_se`` (Monte Carlo standard errors, NaN otherwise), ``dof``,
        ``note`` (e.g. a non-monotonic Cornish-Fisher expansion) and the money columns.

    Raises
    ------
    RiskInputError
        As :func:`value_at_risk`; also for an empty list of confidences.
    """
    if len(confidences) == 0:
        raise RiskInputError("Choose at least one confidence level.")
    levels = [_check_confidence(c) for c in confidences]
    h = _check_horizon(horizon)
    port = portfolio_returns(asset_returns.dropna(), weights)
    x = _as_returns(port)
    mean, vol = float(x.mean()), float(x.std(ddof=1))
    skew = float(stats.skew(x, bias=False))
    kurt = float(stats.kurtosis(x, fisher=True, bias=False))
    cf_ok = cornish_fisher_is_monotonic(skew / math.sqrt(h), kurt / h)
    rows = []
    scenarios = historical_scenarios(asset_returns, weights, h).to_numpy()
    if scenarios.size < MIN_OBSERVATIONS:
        raise RiskInputError(
            f"A {h}-day horizon leaves {scenarios.size} overlapping returns from {x.size} "
            f"observations; at least {MIN_OBSERVATIONS} are needed. Shorten the horizon or "
            "widen the window."
        )
    for c in levels:
        v, cv = _empirical_var_cvar(-scenarios, c)
        rows.append(("historical", c, v, cv, np.nan, np.nan, None, ""))
        v, cv = parametric_var_cvar(None, c, h, mean=mean, volatility=vol)
        rows.append(("parametric", c, v, cv, np.nan, np.nan, None, ""))
        v, cv = cornish_fisher_var_cvar(
            None, c, h, mean=mean, volatility=vol, skew=skew, excess_kurtosis=kurt, warn=False
        )
        note = "" if cf_ok else "expansion not monotonic: unreliable"
        rows.append(("cornish_fisher", c, v, cv, np.nan, np.nan, None, note))
    for i, (key, dist) in enumerate((("mc_normal", "normal"), ("mc_student_t", "student_t"))):

        def step(f: float, i: int = i) -> None:
            if progress is not None:
                progress((i + f) / 2)

        model = _mc_model(None, asset_returns, weights, dist, dof)
        losses = _mc_losses(model, h, n_scenarios, seed, step)
        for c in levels:
            v, cv, vse, cse = _mc_estimate(losses, c, h, model)
            rows.append((key, c, v, cv, vse, cse, model[2], ""))
    table = pd.DataFrame(
        rows, columns=["method", "confidence", "var", "cvar", "var_se", "cvar_se", "dof", "note"]
    )
    table.insert(1, "label", table["method"].map(TABLE_METHODS))
    table.insert(3, "horizon_days", h)
    rank = table["method"].map({k: i for i, k in enumerate(TABLE_METHODS)})
    table = table.iloc[np.lexsort((rank.to_numpy(), table["confidence"].to_numpy()))]
    table = table.reset_index(drop=True)
    if portfolio_value is not None:
        table["var_money"] = table["var"] * portfolio_value
        table["cvar_money"] = table["cvar"] * portfolio_value
    return table


# ------------------------------------------------------------------------ risk decomposition
@dataclass(frozen=True)
class RiskContributions:
    """Euler risk decomposition of volatility, VaR and CVaR by asset and by sector.

    Attributes
    ----------
    assets : DataFrame (n_assets, ...)
        Index ticker; columns ``sector``, ``weight``, then for ``m`` in ``volatility``, ``var``,
        ``cvar``: ``m_marginal`` (d risk / d weight), ``m_component`` (weight x marginal; the
        components add up to the total) and ``m_share`` (component / total).
    sectors : DataFrame (n_sectors, ...)
        Index sector; ``weight``, ``m_component``, ``m_share`` and ``m_marginal``
        (component / sector weight: the sector's average marginal risk).
    volatility : float
        Annualised decimal volatility (252 days) of the portfolio.
    var, cvar : float
        Totals at ``confidence`` over ``horizon`` days, positive decimal losses.
    method : str
        ``"historical"`` or ``"parametric"``.
    confidence : float
    horizon : int
    """

    assets: pd.DataFrame
    sectors: pd.DataFrame
    volatility: float
    var: float
    cvar: float
    method: str
    confidence: float
    horizon: int


def risk_contributions(
    asset_returns: pd.DataFrame,
    weights: pd.Series,
    confidence: float = 0.95,
    horizon: int = 1,
    method: str = "historical",
    sectors: pd.Series | dict | None = None,
    periods_per_year: int = 252,
) -> RiskContributions:
    """Component and marginal contributions to volatility, VaR and CVaR (Euler allocation).

    Every measure here is homogeneous of degree one in the weights, so
    ``risk = sum_i w_i d risk / d w_i`` (Euler) and the components add up to the total.

    - Volatility (annualised): ``marginal_i = (Sigma w)_i / sigma_p``.
    - ``parametric`` (normal): ``VaR_i = w_i (z (Sigma w)_i / sigma_p - mu_i)`` and
      ``CVaR_i = w_i (phi(z) / (1 - c) (Sigma w)_i / sigma_p - mu_i)``, moments scaled to ``h``.
    - ``historical``: scenarios are the overlapping ``h``-day buy-and-hold returns
      ``R_h w`` of :func:`historical_scenarios` (linear in ``w``), the same as the historical
      row of :func:`risk_table`, so the totals equal its VaR and CVaR. CVaR's marginal is the
      loss of the asset averaged over the tail scenarios with the estimator's own weights
      (each loss above VaR with weight 1, the VaR scenario with the fractional weight), which
      adds up to the CVaR exactly. VaR's marginal
      is the asset's loss averaged over the ``2b + 1`` scenarios nearest the VaR
      (``b = max(1, round(0.005 n))``), rescaled so that the components add up to the VaR.

    Parameters
    ----------
    asset_returns : DataFrame (n_observations, n_assets)
        Daily decimal asset returns.
    weights : Series (n_assets,)
        Decimal weights by ticker.
    confidence : float
        In (0, 1).
    horizon : int
        Trading days ``h``.
    method : {"historical", "parametric"}
        How VaR and CVaR are decomposed.
    sectors : Series or dict, optional
        Ticker -> sector; ``"Unknown"`` where missing.
    periods_per_year : int
        For the annualised volatility.

    Returns
    -------
    RiskContributions

    Raises
    ------
    RiskInputError
        Bad confidence, horizon or method; too few observations.

    References
    ----------
    D. Tasche, "Risk contributions and performance measurement", 1999; E. Epperlein and
    A. Smillie, "Cracking VaR with kernels", Risk, 2006; Hallerbach, "Decomposing portfolio
    value-at-risk: a general analysis", J. Risk 5, 2003.
    """
    c, h = _check_confidence(confidence), _check_horizon(horizon)
    if method not in ("historical", "parametric"):
        raise RiskInputError(
            f"Unknown decomposition method {method!r}: choose 'historical' or 'parametric'."
        )
    data = asset_returns.dropna()
    w = _align_weights(data, weights)
    x = data.to_numpy()
    if len(x) - h + 1 < MIN_OBSERVATIONS:
        raise RiskInputError(
            f"{len(x)} observations are too few for a {h}-day decomposition; at least "
            f"{MIN_OBSERVATIONS + h - 1} are needed. Widen the window."
        )
    cov = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))  # a 0-d array for one asset
    mu = x.mean(axis=0)
    sigma_p = float(math.sqrt(max(w @ cov @ w, 0.0)))
    cov_w = cov @ w
    vol_marginal = cov_w / sigma_p * math.sqrt(periods_per_year) if sigma_p > 0 else 0 * cov_w
    if method == "parametric":
        z = stats.norm.ppf(c)
        beta = cov_w / sigma_p if sigma_p > 0 else 0 * cov_w
        var_marginal = z * math.sqrt(h) * beta - h * mu
        cvar_marginal = stats.norm.pdf(z) / (1 - c) * math.sqrt(h) * beta - h * mu
    else:
        asset_loss = -_buy_and_hold(x, h)  # the scenarios of historical_scenarios
        loss = asset_loss @ w
        n = loss.size
        order = np.argsort(loss, kind="stable")
        j = min(max(int(math.ceil(n * c - 1e-9)), 1), n)
        var = float(loss[order[j - 1]])
        tail_weight = np.where(loss > var, 1.0, 0.0)
        tail_weight[order[j - 1]] += n * (1 - c) - tail_weight.sum()
        cvar_marginal = tail_weight @ asset_loss / (n * (1 - c))
        b = max(1, round(0.005 * n))
        near = order[max(0, j - 1 - b) : min(n, j + b)]
        var_marginal = asset_loss[near].mean(axis=0)
        total = float(var_marginal @ w)
        if abs(total) > 1e-14:
            var_marginal = var_marginal * (var / total)
    assets = pd.DataFrame(index=data.columns)
    labels = pd.Series(sectors if sectors is not None else {}, dtype=object)
    assets["sector"] = labels.reindex(data.columns).fillna("Unknown").astype(str).to_numpy()
    assets["weight"] = w
    for name, marginal in (("volatility", vol_marginal), ("var", var_marginal),
                           ("cvar", cvar_marginal)):  # fmt: skip
        assets[f"{name}_marginal"] = marginal
        assets[f"{name}_component"] = w * marginal
    totals = {m: float(assets[f"{m}_component"].sum()) for m in ("volatility", "var", "cvar")}
    for m, total in totals.items():
        assets[f"{m}_share"] = assets[f"{m}_component"] / total if total else np.nan
    assets.index.name = "ticker"
    grouped = assets.groupby("sector")[["weight"] + [f"{m}_component" for m in totals]].sum()
    for m, total in totals.items():
        grouped[f"{m}_share"] = grouped[f"{m}_component"] / total if total else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            grouped[f"{m}_marginal"] = np.where(
                grouped["weight"].abs() > 1e-12, grouped[f"{m}_component"] / grouped["weight"],
                np.nan,
            )  # fmt: skip
    return RiskContributions(
        assets=assets, sectors=grouped, volatility=totals["volatility"], var=totals["var"],
        cvar=totals["cvar"], method=method, confidence=c, horizon=h,
    )  # fmt: skip


# --------------------------------------------------------------------------------- drawdowns
@dataclass(frozen=True)
class DrawdownReport:
    """Drawdowns of a portfolio's wealth path.

    Attributes
    ----------
    wealth : Series (n_observations,)
        Value of 1 invested, compounding the returns.
    curve : Series (n_observations,)
        Drawdown below the running peak, as a negative decimal (-0.2 = 20 % below the peak).
    max_drawdown : float
        Largest drawdown, a positive decimal loss.
    cdar : float
        Conditional drawdown at risk at ``confidence``: mean of the worst ``1 - confidence``
        share of the drawdowns (module's empirical CVaR convention), positive decimal.
    confidence : float
    peak, trough : Timestamp
        Start (last peak) and bottom of the maximum drawdown.
    recovery : Timestamp or None
        First date the wealth regains the peak after the trough; None if it has not.
    days_to_recovery : int or None
        Trading days from trough to recovery; None if not recovered.
    days_peak_to_trough : int
        Trading days from the peak to the trough.
    """

    wealth: pd.Series
    curve: pd.Series
    max_drawdown: float
    cdar: float
    confidence: float
    peak: pd.Timestamp
    trough: pd.Timestamp
    recovery: pd.Timestamp | None
    days_to_recovery: int | None
    days_peak_to_trough: int


def drawdowns(returns: pd.Series, confidence: float = 0.95) -> DrawdownReport:
    """Drawdown curve, maximum drawdown, CDaR and time to recovery.

    Parameters
    ----------
    returns : Series (n_observations,)
        Simple daily decimal portfolio returns on a DatetimeIndex.
    confidence : float
        For the CDaR, in (0, 1).

    Returns
    -------
    DrawdownReport

    Raises
    ------
    RiskInputError
        Bad confidence or fewer than two returns.

    References
    ----------
    A. Chekhlov, S. Uryasev and M. Zabarankin, "Drawdown measure in portfolio optimization",
    Int. J. Theoretical and Applied Finance 8, 2005 (CDaR).
    """
    c = _check_confidence(confidence)
    r = pd.Series(returns, dtype=float).dropna()
    if len(r) < 2:
        raise RiskInputError("At least two returns are needed for drawdowns.")
    wealth = (1.0 + r).cumprod()
    # the initial value 1 counts as a peak: a loss on day one is a drawdown
    peak_level = np.maximum.accumulate(np.maximum(wealth.to_numpy(), 1.0))
    curve = pd.Series(wealth.to_numpy() / peak_level - 1.0, index=r.index, name="drawdown")
    i_trough = int(np.argmin(curve.to_numpy()))
    mdd = float(-curve.iloc[i_trough])
    before = wealth.to_numpy()[: i_trough + 1]
    i_peak = int(np.argmax(before)) if before.max() >= 1.0 else -1
    peak_date = r.index[i_peak] if i_peak >= 0 else r.index[0]
    after = np.flatnonzero(curve.to_numpy()[i_trough:] >= -1e-12)
    recovery = r.index[i_trough + after[0]] if mdd > 0 and after.size else None
    days_rec = int(after[0]) if recovery is not None else None
    _, cdar = _empirical_var_cvar(-curve.to_numpy(), c)
    return DrawdownReport(
        wealth=wealth.rename("wealth"), curve=curve, max_drawdown=mdd, cdar=float(cdar),
        confidence=c, peak=peak_date, trough=r.index[i_trough], recovery=recovery,
        days_to_recovery=days_rec, days_peak_to_trough=int(i_trough - max(i_peak, 0)),
    )  # fmt: skip


# ------------------------------------------------------------------------------ backtesting
#: Methods available to the rolling backtest.
BACKTEST_METHODS: dict[str, str] = {
    "historical": "Historical",
    "parametric": "Parametric normal",
    "cornish_fisher": "Cornish-Fisher",
}


def rolling_var(
    returns: pd.Series,
    window: int = 250,
    confidence: float = 0.99,
    method: str = "historical",
) -> pd.Series:
    """One-day VaR forecasts from a rolling window, vectorised.

    The forecast for day ``t`` uses the ``window`` returns ``t - window .. t - 1`` only (no
    look-ahead). Historical: the module's empirical quantile (the ``ceil(window c)``-th smallest
    loss) from pandas' rolling quantile; parametric and Cornish-Fisher: rolling moments from
    pandas (bias-corrected skewness and excess kurtosis, as scipy's ``bias=False``).

    Parameters
    ----------
    returns : Series (n_observations,)
        Simple daily decimal returns on a DatetimeIndex.
    window : int
        Estimation window in trading days, >= :data:`MIN_OBSERVATIONS`.
    confidence : float
        In (0, 1).
    method : {"historical", "parametric", "cornish_fisher"}

    Returns
    -------
    Series (n_observations - window,)
        VaR forecasts (positive decimal losses) indexed by the day they apply to.

    Raises
    ------
    RiskInputError
        Bad confidence, window or method; fewer than ``window + 1`` observations.
    """
    c = _check_confidence(confidence)
    r = pd.Series(returns, dtype=float).dropna()
    window = int(window)
    if window < MIN_OBSERVATIONS:
        raise RiskInputError(
            f"The backtest window must be at least {MIN_OBSERVATIONS} days; got {window}."
        )
    if len(r) < window + MIN_OBSERVATIONS:
        raise RiskInputError(
            f"{len(r)} observations are too few for a {window}-day backtest window: at least "
            f"{window + MIN_OBSERVATIONS} are needed (the window plus {MIN_OBSERVATIONS} days "
            "to test). Shorten the window or widen the date range."
        )
    if method not in BACKTEST_METHODS:
        raise RiskInputError(
            f"Unknown backtest method {method!r}: choose one of "
            f"{', '.join(map(repr, BACKTEST_METHODS))}."
        )
    if method == "historical":
        # pandas' rolling quantile (a skiplist in C) with "lower" interpolation at a level
        # between order statistics j - 1 and j picks exactly the j-th smallest loss
        j = min(max(int(math.ceil(window * c - 1e-9)), 1), window)
        level = min((j - 0.5) / (window - 1), 1.0)
        losses = (-r).rolling(window).quantile(level, interpolation="lower")
        out = losses.to_numpy()[window - 1 : -1]
    else:
        roll = r.rolling(window)
        mean = roll.mean().to_numpy()[window - 1 : -1]
        std = roll.std(ddof=1).to_numpy()[window - 1 : -1]
        if method == "parametric":
            out = stats.norm.ppf(c) * std - mean
        else:
            s = roll.skew().to_numpy()[window - 1 : -1]
            k = roll.kurt().to_numpy()[window - 1 : -1]
            a0, a1, a2, a3 = _cf_coefficients(s, k)
            z = stats.norm.ppf(1 - c)
            out = -(mean + std * (a0 + a1 * z + a2 * z**2 + a3 * z**3))
    return pd.Series(out, index=r.index[window:], name="var")


def _exceptions_array(exceptions) -> np.ndarray:
    e = np.asarray(exceptions)
    if e.ndim != 1 or e.size == 0:
        raise RiskInputError("The exceptions must be a non-empty one-dimensional sequence.")
    return e.astype(bool)


def kupiec_test(exceptions, confidence: float) -> tuple[float, float]:
    r"""Kupiec's proportion-of-failures (POF) likelihood-ratio test of unconditional coverage.

    .. math:: LR_{POF} = -2 \ln\frac{(1 - p)^{n - x} p^x}{(1 - x/n)^{n - x} (x/n)^x}
              \sim \chi^2_1, \quad p = 1 - c

    Parameters
    ----------
    exceptions : array-like of bool (n_days,)
        True on days whose loss exceeded the VaR.
    confidence : float
        VaR confidence ``c`` in (0, 1).

    Returns
    -------
    (float, float)
        The LR statistic and its p-value (chi-square, 1 degree of freedom). A small p-value
        rejects the model's coverage.

    Raises
    ------
    RiskInputError
        Bad confidence or empty exceptions.

    References
    ----------
    P. Kupiec, "Techniques for verifying the accuracy of risk measurement models",
    J. Derivatives 3(2), 1995; Jorion, *Value at Risk*, 3rd ed., ch. 6.
    """
    c = _check_confidence(confidence)
    e = _exceptions_array(exceptions)
    n, x = e.size, int(e.sum())
    p, phat = 1.0 - c, x / n
    lr = -2.0 * (xlogy(n - x, 1 - p) + xlogy(x, p)) + 2.0 * (
        xlogy(n - x, 1 - phat) + xlogy(x, phat)
    )
    lr = max(float(lr), 0.0)
    return lr, float(stats.chi2.sf(lr, 1))


@dataclass(frozen=True)
class ChristoffersenResult:
    """Christoffersen's independence and conditional-coverage tests.

    Attributes
    ----------
    independence, independence_p : float
        LR statistic (chi-square, 1 dof) and p-value of the independence test.
    conditional_coverage, conditional_coverage_p : float
        ``LR_POF + LR_ind`` (chi-square, 2 dof) and its p-value.
    n00, n01, n10, n11 : int
        Transition counts (``nij``: state ``i`` followed by state ``j``; 1 = exception).
    """

    independence: float
    independence_p: float
    conditional_coverage: float
    conditional_coverage_p: float
    n00: int
    n01: int
    n10: int
    n11: int


def christoffersen_test(exceptions, confidence: float) -> ChristoffersenResult:
    r"""Christoffersen's (1998) Markov independence and conditional-coverage tests.

    .. math:: LR_{ind} = -2 \ln\frac{(1-\pi)^{n_{00}+n_{10}} \pi^{n_{01}+n_{11}}}
              {(1-\pi_{01})^{n_{00}} \pi_{01}^{n_{01}} (1-\pi_{11})^{n_{10}} \pi_{11}^{n_{11}}}

    with ``pi01 = n01 / (n00 + n01)``, ``pi11 = n11 / (n10 + n11)``,
    ``pi = (n01 + n11) / (n00 + n01 + n10 + n11)``; ``LR_cc = LR_POF + LR_ind``. ``0 log 0 = 0``.

    Parameters
    ----------
    exceptions : array-like of bool (n_days,)
        True on exception days, in time order.
    confidence : float
        VaR confidence in (0, 1).

    Returns
    -------
    ChristoffersenResult

    Raises
    ------
    RiskInputError
        Bad confidence or fewer than two days.

    References
    ----------
    P. Christoffersen, "Evaluating interval forecasts", International Economic Review 39(4),
    1998, 841-862.
    """
    c = _check_confidence(confidence)
    e = _exceptions_array(exceptions).astype(int)
    if e.size < 2:
        raise RiskInputError("The independence test needs at least two days.")
    prev, curr = e[:-1], e[1:]
    n00 = int(np.sum((prev == 0) & (curr == 0)))
    n01 = int(np.sum((prev == 0) & (curr == 1)))
    n10 = int(np.sum((prev == 1) & (curr == 0)))
    n11 = int(np.sum((prev == 1) & (curr == 1)))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    log_null = xlogy(n00 + n10, 1 - pi) + xlogy(n01 + n11, pi)
    log_alt = xlogy(n00, 1 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1 - pi11) + xlogy(n11, pi11)
    lr_ind = max(float(-2.0 * (log_null - log_alt)), 0.0)
    lr_pof, _ = kupiec_test(e, c)
    lr_cc = lr_pof + lr_ind
    return ChristoffersenResult(
        independence=lr_ind, independence_p=float(stats.chi2.sf(lr_ind, 1)),
        conditional_coverage=lr_cc, conditional_coverage_p=float(stats.chi2.sf(lr_cc, 2)),
        n00=n00, n01=n01, n10=n10, n11=n11,
    )  # fmt: skip


def traffic_light(n_exceptions: int, n_days: int = 250, confidence: float = 0.99) -> str:
    """Basel traffic-light zone for a number of VaR exceptions.

    Zones by the binomial cumulative probability ``P(X <= x)`` with ``X ~ Bin(n_days, 1 - c)``:
    green below 95 %, red from 99.99 %, yellow between. At 99 % over 250 days: green 0-4,
    yellow 5-9, red 10 or more exceptions (Basel Committee 1996, Table 2).

    Parameters
    ----------
    n_exceptions : int
        Exceptions observed.
    n_days : int
        Days observed (250 in the Basel framework).
    confidence : float
        VaR confidence.

    Returns
    -------
    str
        ``"green"``, ``"yellow"`` or ``"red"``.
    """
    c = _check_confidence(confidence)
    cum = stats.binom.cdf(int(n_exceptions), int(n_days), 1 - c)
    if cum >= 0.9999 - 1e-12:
        return "red"
    return "green" if cum < 0.95 else "yellow"


@dataclass(frozen=True)
class VaRBacktest:
    """A rolling one-day VaR backtest and its coverage tests.

    Attributes
    ----------
    returns : Series (n_days,)
        Realised daily returns over the test period.
    var : Series (n_days,)
        VaR forecasts (positive decimal losses) for the same days.
    exceptions : Series of bool (n_days,)
        ``-return > VaR``.
    method : str
    window : int
    confidence : float
    n_days, n_exceptions : int
    expected_exceptions : float
        ``n_days (1 - confidence)``.
    kupiec, kupiec_p : float
        Kupiec POF statistic and p-value.
    christoffersen : ChristoffersenResult
    zone : str
        Basel traffic light over the last ``zone_days`` (at most 250) days.
    zone_exceptions, zone_days : int
    """

    returns: pd.Series
    var: pd.Series
    exceptions: pd.Series
    method: str
    window: int
    confidence: float
    n_days: int
    n_exceptions: int
    expected_exceptions: float
    kupiec: float
    kupiec_p: float
    christoffersen: ChristoffersenResult
    zone: str
    zone_exceptions: int
    zone_days: int

    def summary(self) -> pd.DataFrame:
        """The test statistics as a two-column table (``statistic``, ``value``)."""
        ch = self.christoffersen
        rows = [
            ("Method", BACKTEST_METHODS.get(self.method, self.method)),
            ("Estimation window (days)", self.window),
            ("Confidence", self.confidence),
            ("Days tested", self.n_days),
            ("Exceptions", self.n_exceptions),
            ("Expected exceptions", round(self.expected_exceptions, 2)),
            ("Kupiec POF LR", self.kupiec),
            ("Kupiec p-value", self.kupiec_p),
            ("Christoffersen independence LR", ch.independence),
            ("Christoffersen independence p-value", ch.independence_p),
            ("Conditional coverage LR", ch.conditional_coverage),
            ("Conditional coverage p-value", ch.conditional_coverage_p),
            (f"Exceptions in the last {self.zone_days} days", self.zone_exceptions),
            ("Basel traffic light", self.zone),
        ]
        return pd.DataFrame(rows, columns=["statistic", "value"]).astype({"value": object})


def var_backtest(
    returns: pd.Series,
    window: int = 250,
    confidence: float = 0.99,
    method: str = "historical",
) -> VaRBacktest:
    """Backtest rolling one-day VaR forecasts: exceptions, Kupiec, Christoffersen, Basel zone.

    Parameters
    ----------
    returns : Series (n_observations,)
        Simple daily decimal portfolio returns on a DatetimeIndex.
    window : int
        Rolling estimation window in trading days.
    confidence : float
        VaR confidence in (0, 1).
    method : {"historical", "parametric", "cornish_fisher"}

    Returns
    -------
    VaRBacktest

    Raises
    ------
    RiskInputError
        As :func:`rolling_var`.
    """
    var = rolling_var(returns, window, confidence, method)
    realised = pd.Series(returns, dtype=float).dropna().loc[var.index]
    exc = (-realised > var).rename("exception")
    e = exc.to_numpy()
    lr, p = kupiec_test(e, confidence)
    last = e[-250:]
    return VaRBacktest(
        returns=realised.rename("return"), var=var, exceptions=exc, method=method,
        window=int(window), confidence=float(confidence), n_days=int(e.size),
        n_exceptions=int(e.sum()), expected_exceptions=float(e.size * (1 - confidence)),
        kupiec=lr, kupiec_p=p, christoffersen=christoffersen_test(e, confidence),
        zone=traffic_light(int(last.sum()), last.size, confidence),
        zone_exceptions=int(last.sum()), zone_days=int(last.size),
    )  # fmt: skip
