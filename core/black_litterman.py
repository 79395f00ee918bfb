"""Black-Litterman: market-implied prior, views, omega (Idzorek) and the posterior.

Conventions
-----------
Expected returns are annualised decimals (0.05 = 5 % a year) in a ``Series (n_assets,)``; the
covariance is annualised, ``DataFrame (n_assets, n_assets)``; both indexed by ticker. The
risk-free rate is an annual decimal. The prior is the market-implied return
``Pi = delta Sigma w_mkt + r_f`` (total returns, as PyPortfolioOpt's
``market_implied_prior_returns``); with ``r_f = 0`` it is the excess return He & Litterman (1999)
tabulate.

Views are ``P mu = Q + e`` with ``e ~ N(0, Omega)``: the pick matrix ``P`` is
``(n_views, n_assets)`` (a row sums to 1 for an absolute view, to 0 for a relative one), the view
vector ``Q`` holds annualised decimal returns (a relative view's ``Q`` is the outperformance).
A view's confidence is in [0, 1]: 0 gives the prior exactly, 1 makes the view hold exactly
(Idzorek 2005). ``tau`` defaults to 0.05 and ``Omega`` to ``diag(tau P Sigma P')`` (He &
Litterman 1999) unless confidences or view variances are given.

The Black-Litterman portfolio reported is the unconstrained one,
``w = (delta Sigma_post)^-1 (mu_post - r_f)``, as He & Litterman report it: neither normalised
nor computed with the prior covariance (unlike PyPortfolioOpt's ``bl_weights``).

References
----------
Black & Litterman (1992), "Global Portfolio Optimization", Financial Analysts Journal 48(5);
He & Litterman (1999), "The Intuition Behind Black-Litterman Model Portfolios", Goldman Sachs;
Idzorek (2005), "A Step-by-Step Guide to the Black-Litterman Model"; Walters (2014), "The
Black-Litterman Model in Detail", SSRN 1314585; PyPortfolioOpt's ``black_litterman`` module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.constraints import Constraints
from core.exceptions import EstimationError, ViewError
from core.optimization import (
    Objective,
    OptimizationResult,
    effective_number_of_assets,
    optimize,
    portfolio_performance,
    sector_exposure,
)

__all__ = [
    "VIEW_KINDS",
    "BASKET_WEIGHTINGS",
    "SANE_VIEW_RETURN",
    "BlackLittermanResult",
    "ViewSet",
    "market_weights",
    "market_implied_returns",
    "market_implied_risk_aversion",
    "parse_views",
    "check_views",
    "view_label",
    "default_omega",
    "idzorek_omega",
    "posterior",
    "unconstrained_weights",
    "reoptimize",
]

#: View kinds: name -> label for the user.
VIEW_KINDS: dict[str, str] = {
    "absolute": "Absolute (the assets return Q)",
    "relative": "Relative (the assets outperform the others by Q)",
}

#: Weightings inside a basket of several assets: name -> label.
BASKET_WEIGHTINGS: dict[str, str] = {
    "equal": "Equal weights",
    "market_cap": "Market-cap weights",
}

#: A view whose return is beyond this (annual decimal, either sign) draws a warning.
SANE_VIEW_RETURN = 0.5

_TICKER_SPLIT = re.compile(r"[,;+&\s]+")


@dataclass(frozen=True)
class BlackLittermanResult:
    """A Black-Litterman posterior and the inputs it came from.

    Attributes
    ----------
    returns : Series (n_assets,)
        Posterior expected returns, annualised decimal.
    cov : DataFrame (n_assets, n_assets)
        Posterior covariance of returns ``Sigma + M`` (annualised), with ``M`` the covariance
        of the posterior mean.
    omega : ndarray (n_views, n_views)
        Diagonal view uncertainty used; ``inf`` for a view with confidence 0 (ignored), 0 for
        one with confidence 1 (holds exactly).
    prior_returns : Series (n_assets,)
        The prior, annualised decimal.
    P : DataFrame (n_views, n_assets)
        Pick matrix, tickers as columns.
    Q : Series (n_views,)
        View returns, annualised decimal.
    tau : float
        Scale of the uncertainty of the prior mean.
    """

    returns: pd.Series
    cov: pd.DataFrame
    omega: np.ndarray
    prior_returns: pd.Series
    P: pd.DataFrame
    Q: pd.Series
    tau: float = 0.05

    @property
    def tilt(self) -> pd.Series:
        """Posterior minus prior expected returns (annualised decimal), per asset."""
        return (self.returns - self.prior_returns).rename("tilt")


@dataclass(frozen=True)
class ViewSet:
    """Views parsed from the user's rows, ready for :func:`posterior`.

    Attributes
    ----------
    P : DataFrame (n_views, n_assets)
        Pick matrix, tickers of the universe as columns, one row per view.
    Q : Series (n_views,)
        View returns (annualised decimal), indexed like ``P``.
    confidences : ndarray (n_views,)
        Confidence of each view in [0, 1].
    view_volatilities : ndarray (n_views,)
        User-given standard deviation of each view (annualised decimal); NaN where not given.
    labels : tuple of str
        One line per view for the user, e.g. ``"MSFT outperforms AAPL by 2.00 % a year"``.
    rows : tuple of int
        Position of each view among the rows given (blank rows are skipped).
    warnings : tuple of str
        Things worth a second look that do not stop the computation (extreme returns).
    """

    P: pd.DataFrame
    Q: pd.Series
    confidences: np.ndarray
    view_volatilities: np.ndarray
    labels: tuple[str, ...]
    rows: tuple[int, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.Q)


def market_weights(
    market_caps: Mapping[str, float] | pd.Series | None, tickers: Sequence[str]
) -> pd.Series:
    """Market-capitalisation weights of a universe; equal weights when no caps are given.

    Parameters
    ----------
    market_caps : Series or mapping, optional
        Ticker -> market capitalisation (any currency unit, e.g. USD billions). ``None`` gives
        equal weights.
    tickers : sequence of str
        The universe, in order.

    Returns
    -------
    Series (n_assets,)
        Decimal weights summing to 1, indexed by ``tickers``.

    Raises
    ------
    ViewError
        If a ticker has no cap, or a cap is not a positive finite number.
    """
    tickers = list(tickers)
    if not tickers:
        raise ViewError("The universe is empty: choose at least one asset.")
    if market_caps is None:
        return pd.Series(1.0 / len(tickers), index=tickers, name="market_weight")
    caps = pd.to_numeric(pd.Series(market_caps, dtype=object), errors="coerce").reindex(tickers)
    missing = [t for t in tickers if not np.isfinite(caps.get(t, np.nan))]
    if missing:
        raise ViewError(
            f"No market capitalisation for {', '.join(missing)}: enter one for each asset, or "
            "use the equal-weight prior."
        )
    bad = [t for t in tickers if caps[t] <= 0]
    if bad:
        raise ViewError(f"Market capitalisations must be positive; check {', '.join(bad)}.")
    return (caps / caps.sum()).astype(float).rename("market_weight")


def market_implied_returns(
    cov: pd.DataFrame,
    market_weights: pd.Series,
    delta: float,
    risk_free_rate: float = 0.0,
) -> pd.Series:
    r"""Equilibrium (market-implied) expected returns, the Black-Litterman prior.

    .. math:: \Pi = \delta \Sigma w_{mkt} + r_f

    Parameters
    ----------
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance, indexed by ticker.
    market_weights : Series (n_assets,)
        Market weights (decimal) indexed by ticker; normalised to sum to 1.
    delta : float
        Risk aversion (market price of risk), positive.
    risk_free_rate : float
        Annual decimal rate added to the implied excess returns.

    Returns
    -------
    Series (n_assets,)
        Annualised decimal expected returns, in the order of ``cov``.

    Raises
    ------
    ViewError
        If ``delta`` is not positive or weights are missing for some assets.

    References
    ----------
    He & Litterman (1999), eq. (1); PyPortfolioOpt ``market_implied_prior_returns``.
    """
    if not np.isfinite(delta) or delta <= 0:
        raise ViewError(f"The risk aversion delta must be positive (got {delta:.4g}).")
    w = pd.Series(market_weights, dtype=float).reindex(cov.columns)
    if w.isna().any():
        missing = ", ".join(map(str, w.index[w.isna()]))
        raise ViewError(f"No market weight for {missing}.")
    if abs(w.sum()) < 1e-12:
        raise ViewError("The market weights sum to zero.")
    w = w / w.sum()
    pi = float(delta) * cov.to_numpy(dtype=float) @ w.to_numpy() + float(risk_free_rate)
    return pd.Series(pi, index=cov.index, name="prior_return")


def market_implied_risk_aversion(
    benchmark_prices: pd.Series,
    risk_free_rate: float = 0.0,
    periods_per_year: int = 252,
) -> float:
    r"""Market-implied risk aversion from a benchmark's prices.

    .. math:: \delta = (E[r_m] - r_f) / \sigma_m^2

    with the benchmark's mean simple return and variance annualised by ``periods_per_year``.

    Parameters
    ----------
    benchmark_prices : Series (n_observations,)
        Benchmark levels (e.g. the S&P 500 index), one per period.
    risk_free_rate : float
        Annual decimal rate.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        delta, positive.

    Raises
    ------
    EstimationError
        If there are too few prices, or the benchmark did not beat the risk-free rate over the
        window (delta would not be positive): then enter delta by hand.

    References
    ----------
    Black & Litterman (1992); PyPortfolioOpt ``market_implied_risk_aversion``.
    """
    if benchmark_prices is None:
        raise EstimationError("No benchmark: enter the risk aversion delta by hand.")
    prices = pd.Series(benchmark_prices, dtype=float).dropna()
    returns = prices.pct_change().dropna()
    if len(returns) < 2:
        raise EstimationError("Too few benchmark prices to estimate delta; enter it by hand.")
    mean = float(returns.mean()) * periods_per_year
    var = float(returns.var()) * periods_per_year
    if not var > 0:
        raise EstimationError("The benchmark's variance is zero; enter delta by hand.")
    delta = (mean - risk_free_rate) / var
    if not delta > 0:
        raise EstimationError(
            f"Over this window the benchmark returned {mean:.2%} a year, not above the "
            f"risk-free rate of {risk_free_rate:.2%}, so the implied risk aversion is not "
            "positive: enter delta by hand (2 to 3 is usual) or widen the window."
        )
    return delta


def _tickers_of(text: object) -> list[str]:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    return [t for t in _TICKER_SPLIT.split(str(text).strip().upper()) if t]


def _basket(
    tickers: list[str], weighting: str, caps: pd.Series | None, where: str
) -> dict[str, float]:
    if weighting == "market_cap":
        if caps is None:
            raise ViewError(f"{where}: market-cap weights need market capitalisations.")
        values = pd.to_numeric(caps.reindex(tickers), errors="coerce")
        if values.isna().any() or (values <= 0).any():
            raise ViewError(f"{where}: no positive market capitalisation for some of the basket.")
        values = values / values.sum()
        return {t: float(values[t]) for t in tickers}
    return {t: 1.0 / len(tickers) for t in tickers}


def view_label(kind: str, assets: Sequence[str], versus: Sequence[str], value: float) -> str:
    """One line describing a view for the user.

    Parameters
    ----------
    kind : {"absolute", "relative"}
        The kind of view.
    assets, versus : sequence of str
        Tickers on the long side and (relative views) the short side.
    value : float
        Annualised decimal return or outperformance.

    Returns
    -------
    str
        e.g. ``"JPM returns 8.00 % a year"`` or ``"MSFT outperforms AAPL by 2.00 % a year"``.
    """
    left = " + ".join(assets) if len(assets) > 1 else assets[0]
    if kind == "absolute":
        verb = "return" if len(assets) > 1 else "returns"
        return f"{left} {verb} {value * 100:.2f} % a year"
    right = " + ".join(versus) if len(versus) > 1 else versus[0]
    verb = "outperform" if len(assets) > 1 else "outperforms"
    return f"{left} {verb} {right} by {value * 100:.2f} % a year"


def _row_get(row: Mapping[str, object], key: str, default: object = None) -> object:
    value = row.get(key, default)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return default
    return value


def parse_views(
    rows: Iterable[Mapping[str, object]],
    universe: Sequence[str],
    *,
    known_tickers: Sequence[str] | None = None,
    market_caps: pd.Series | Mapping[str, float] | None = None,
) -> ViewSet:
    """Turn the user's view rows into a pick matrix, view vector and confidences.

    Text is split on commas, ``+``, ``&``, ``;`` and spaces and compared with the tickers; it
    is never evaluated.

    Parameters
    ----------
    rows : iterable of mapping
        One mapping per view with keys ``"kind"`` (``"absolute"`` or ``"relative"``),
        ``"assets"`` (tickers, e.g. ``"MSFT"`` or ``"JPM, BAC"``), ``"versus"`` (tickers of
        the short side, relative views only), ``"return"`` (annualised decimal), ``"basket"``
        (``"equal"`` or ``"market_cap"`` weights within a basket), ``"confidence"`` (in [0, 1],
        default 0.5) and ``"view_volatility"`` (annualised decimal standard deviation of the
        view, optional). Rows without assets and return are skipped.
    universe : sequence of str
        Tickers of the universe: the columns of ``P``.
    known_tickers : sequence of str, optional
        Every ticker of the loaded data, to tell an unknown ticker from one outside the
        universe.
    market_caps : Series or mapping, optional
        Ticker -> market capitalisation, for market-cap weighted baskets.

    Returns
    -------
    ViewSet

    Raises
    ------
    ViewError
        Naming the view (1-based, as numbered on the page) and what is wrong: an unknown
        ticker, a ticker outside the universe, a missing return, a relative view without its
        other side or with an asset on both sides, a confidence outside 0-100 %, a duplicate or
        linearly dependent view.
    """
    universe = list(universe)
    known = set(known_tickers) if known_tickers is not None else set(universe)
    caps = None if market_caps is None else pd.Series(market_caps, dtype=object)
    picks, values, confs, vols, labels, kept, warnings = [], [], [], [], [], [], []
    for pos, row in enumerate(rows):
        assets = _tickers_of(row.get("assets"))
        versus = _tickers_of(row.get("versus"))
        value = _row_get(row, "return")
        if not assets and not versus and value is None:
            continue
        n = len(kept) + 1
        where = f"View {n}"
        kind = str(_row_get(row, "kind", "absolute"))
        if kind not in VIEW_KINDS:
            raise ViewError(f"{where}: the kind must be 'absolute' or 'relative', not {kind!r}.")
        if not assets:
            raise ViewError(f"{where}: name at least one asset.")
        if kind == "relative" and not versus:
            raise ViewError(f"{where}: a relative view needs the assets it outperforms.")
        if kind == "absolute" and versus:
            raise ViewError(
                f"{where}: an absolute view has no 'versus' side; make it relative or clear it."
            )
        for t in assets + versus:
            if t not in known:
                raise ViewError(f"{where}: unknown ticker {t!r}; it is not in the loaded data.")
            if t not in universe:
                raise ViewError(
                    f"{where}: {t} is outside the universe; add it on the Data page or drop it."
                )
        for side in (assets, versus):
            if len(set(side)) != len(side):
                raise ViewError(f"{where}: a ticker appears twice on the same side.")
        both = sorted(set(assets) & set(versus))
        if both:
            raise ViewError(f"{where}: {', '.join(both)} on both sides of the view.")
        if value is None:
            raise ViewError(f"{where}: give the expected return (% a year).")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ViewError(f"{where}: the return {value!r} is not a number.") from None
        if not np.isfinite(value):
            raise ViewError(f"{where}: the return must be a finite number.")
        if kind == "absolute" and value <= -1:
            raise ViewError(f"{where}: an asset cannot lose more than 100 % ({value:.2%}).")
        if abs(value) > SANE_VIEW_RETURN:
            warnings.append(
                f"{where} expects {value:.2%} a year, beyond ±{SANE_VIEW_RETURN:.0%}: check the "
                "unit (the table is in % a year)."
            )
        conf = _row_get(row, "confidence", 0.5)
        try:
            conf = float(conf)
        except (TypeError, ValueError):
            raise ViewError(f"{where}: the confidence {conf!r} is not a number.") from None
        if not 0.0 <= conf <= 1.0:
            raise ViewError(f"{where}: the confidence must be between 0 and 100 %.")
        vol = _row_get(row, "view_volatility")
        vol = np.nan if vol is None else float(vol)
        if np.isfinite(vol) and vol < 0:
            raise ViewError(f"{where}: the view's standard deviation cannot be negative.")
        weighting = str(_row_get(row, "basket", "equal"))
        if weighting not in BASKET_WEIGHTINGS:
            raise ViewError(f"{where}: basket weights are 'equal' or 'market_cap'.")
        pick = dict.fromkeys(universe, 0.0)
        for t, w in _basket(assets, weighting, caps, where).items():
            pick[t] += w
        if kind == "relative":
            for t, w in _basket(versus, weighting, caps, where).items():
                pick[t] -= w
        picks.append(pick)
        values.append(value)
        confs.append(conf)
        vols.append(vol)
        labels.append(view_label(kind, assets, versus, value))
        kept.append(pos)
    names = [f"View {i + 1}" for i in range(len(kept))]
    P = pd.DataFrame(picks, index=names, columns=universe, dtype=float)
    if P.empty:
        P = pd.DataFrame(np.zeros((0, len(universe))), columns=universe)
    check_views(P, labels)
    return ViewSet(
        P=P,
        Q=pd.Series(values, index=P.index, dtype=float, name="view_return"),
        confidences=np.asarray(confs, dtype=float),
        view_volatilities=np.asarray(vols, dtype=float),
        labels=tuple(labels),
        rows=tuple(kept),
        warnings=tuple(warnings),
    )


def check_views(P: pd.DataFrame | np.ndarray, labels: Sequence[str] | None = None) -> None:
    """Check that no view is empty, repeated, or a linear combination of other views.

    Parameters
    ----------
    P : DataFrame or ndarray (n_views, n_assets)
        Pick matrix.
    labels : sequence of str, optional
        Descriptions of the views, for the message.

    Raises
    ------
    ViewError
        Naming the views concerned, 1-based: ``"View 3 repeats view 1"`` or ``"View 3 is a
        combination of views 1 and 2"``.
    """
    M = np.asarray(P, dtype=float)
    k = M.shape[0]
    labels = list(labels) if labels is not None else [""] * k

    def name(i: int, first: bool = False) -> str:
        return f"{'V' if first else 'v'}iew {i + 1}" + (f" ({labels[i]})" if labels[i] else "")

    scale = max(1.0, float(np.abs(M).max(initial=0.0)))
    for i in range(k):
        if np.abs(M[i]).max(initial=0.0) < 1e-12:
            raise ViewError(f"{name(i, True)} picks no asset.")
        for j in range(i):
            if np.allclose(M[i], M[j], atol=1e-10) or np.allclose(M[i], -M[j], atol=1e-10):
                raise ViewError(
                    f"{name(i, True)} repeats {name(j)} on the same assets: merge them "
                    "into one view or delete one."
                )
        if i and np.linalg.matrix_rank(M[: i + 1], tol=1e-10 * scale) <= i:
            coef, *_ = np.linalg.lstsq(M[:i].T, M[i], rcond=None)
            used = [j for j in range(i) if abs(coef[j]) > 1e-8]
            others = " and ".join(", ".join(f"{j + 1}" for j in used).rsplit(", ", 1))
            raise ViewError(
                f"{name(i, True)} is a combination of view{'s' if len(used) > 1 else ''}"
                f" {others}, so the views are linearly dependent: delete one of them or change "
                "its assets."
            )


def default_omega(P: np.ndarray, cov: np.ndarray, tau: float) -> np.ndarray:
    r"""He & Litterman's view uncertainty, proportional to the prior's.

    .. math:: \Omega = \mathrm{diag}(\tau P \Sigma P')

    Parameters
    ----------
    P : ndarray (n_views, n_assets)
        Pick matrix.
    cov : ndarray (n_assets, n_assets)
        Annualised covariance.
    tau : float
        Scale of the prior's uncertainty.

    Returns
    -------
    ndarray (n_views, n_views)
        Diagonal omega.

    References
    ----------
    He & Litterman (1999), section 2.
    """
    P = np.asarray(P, dtype=float)
    return np.diag(tau * np.einsum("ij,jk,ik->i", P, np.asarray(cov, dtype=float), P))


def idzorek_omega(
    P: np.ndarray, cov: np.ndarray, confidences: Sequence[float], tau: float
) -> np.ndarray:
    r"""View uncertainty from per-view confidences (Idzorek's method, closed form).

    .. math:: \omega_k = \tau \, \frac{1 - c_k}{c_k} \, p_k \Sigma p_k'

    This is the closed form of Walters (2014), eq. (44) with (41), as PyPortfolioOpt's
    ``BlackLittermanModel.idzorek_method`` uses it, not Idzorek's (2005) numerical
    calibration. For a single view the posterior tilt is then exactly ``c`` times the tilt at
    100 % confidence; with several views it is close to Idzorek's target. Unlike
    PyPortfolioOpt (which puts 1e6 for a confidence of 0), the limits are exact: confidence 0
    gives ``omega = inf`` (the view is ignored), confidence 1 gives ``omega = 0``.

    Parameters
    ----------
    P : ndarray (n_views, n_assets)
        Pick matrix.
    cov : ndarray (n_assets, n_assets)
        Annualised covariance.
    confidences : sequence of float (n_views,)
        Confidence of each view in [0, 1].
    tau : float
        Scale of the prior's uncertainty.

    Returns
    -------
    ndarray (n_views, n_views)
        Diagonal omega, with ``inf`` and 0 at the limits.

    Raises
    ------
    ViewError
        If a confidence is outside [0, 1] or the count does not match the views.

    References
    ----------
    Idzorek (2005), "A Step-by-Step Guide to the Black-Litterman Model"; Walters (2014), "The
    Black-Litterman Model in Detail", section on Idzorek's method; PyPortfolioOpt.
    """
    c = np.asarray(confidences, dtype=float).ravel()
    base = np.diag(default_omega(P, cov, tau))
    if c.shape != base.shape:
        raise ViewError(f"Give one confidence per view ({len(base)}), not {len(c)}.")
    if not np.all((c >= 0) & (c <= 1)):
        raise ViewError("View confidences must be between 0 and 100 %.")
    with np.errstate(divide="ignore", over="ignore"):
        alpha = np.where(c > 0, (1 - c) / np.where(c > 0, c, 1.0), np.inf)
    return np.diag(np.where(np.isinf(alpha), np.inf, alpha * base))


def _pick_matrix(P: pd.DataFrame | np.ndarray, tickers: list[str]) -> np.ndarray:
    if isinstance(P, pd.DataFrame):
        extra = [c for c in P.columns if c not in tickers]
        if extra:
            raise ViewError(
                f"The views use {', '.join(map(str, extra))}, outside the covariance's assets."
            )
        return P.reindex(columns=tickers, fill_value=0.0).to_numpy(dtype=float)
    M = np.atleast_2d(np.asarray(P, dtype=float))
    if M.shape[1] != len(tickers):
        raise ViewError(f"P has {M.shape[1]} columns for {len(tickers)} assets.")
    return M


def posterior(
    prior_returns: pd.Series,
    cov: pd.DataFrame,
    P: pd.DataFrame | np.ndarray,
    Q: Sequence[float] | np.ndarray | pd.Series,
    *,
    tau: float = 0.05,
    confidences: Sequence[float] | np.ndarray | None = None,
    omega: np.ndarray | Sequence[float] | None = None,
) -> BlackLittermanResult:
    r"""Black-Litterman posterior expected returns and covariance.

    .. math::

        \mu_{post} = \Pi + \tau \Sigma P' (P \tau \Sigma P' + \Omega)^{-1} (Q - P \Pi),
        \quad \Sigma_{post} = \Sigma + \tau \Sigma - \tau \Sigma P'
        (P \tau \Sigma P' + \Omega)^{-1} P \tau \Sigma

    Views with infinite omega (confidence 0) are dropped, so the prior comes back exactly; a
    zero omega (confidence 1) is fine as long as the views are linearly independent.

    Parameters
    ----------
    prior_returns : Series (n_assets,)
        Prior expected returns Pi, annualised decimal, indexed like ``cov``.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance Sigma.
    P : DataFrame (n_views, n_assets) or ndarray
        Pick matrix: tickers as columns (missing ones count as 0), or an array in the column
        order of ``cov``.
    Q : array-like (n_views,)
        View returns, annualised decimal.
    tau : float
        Uncertainty of the prior mean relative to Sigma (0.05 by default).
    confidences : array-like (n_views,), optional
        Per-view confidence in [0, 1], turned into omega by :func:`idzorek_omega`.
    omega : ndarray (n_views, n_views) or array-like (n_views,), optional
        User-given view uncertainty (a diagonal may be given as a vector of variances,
        annualised). Without confidences or omega, :func:`default_omega`.

    Returns
    -------
    BlackLittermanResult

    Raises
    ------
    ViewError
        Mismatched shapes, both confidences and omega given, a negative omega, or linearly
        dependent views.
    EstimationError
        Prior and covariance not on the same assets, or non-finite inputs.

    References
    ----------
    He & Litterman (1999), eqs. (8)-(9); Walters (2014), section 3; PyPortfolioOpt
    ``BlackLittermanModel.bl_returns`` and ``bl_cov``.
    """
    tickers = list(cov.columns)
    if list(cov.index) != tickers or set(prior_returns.index) != set(tickers):
        raise EstimationError("Prior returns and covariance do not cover the same assets.")
    if not tau > 0:
        raise ViewError(f"tau must be positive (got {tau}).")
    pi = prior_returns.reindex(tickers).to_numpy(dtype=float)
    S = cov.to_numpy(dtype=float)
    if not (np.isfinite(pi).all() and np.isfinite(S).all()):
        raise EstimationError("The prior or the covariance has missing or infinite values.")
    M = _pick_matrix(P, tickers)
    q = np.asarray(Q, dtype=float).ravel()
    k = M.shape[0] if M.size else 0
    if q.shape != (k,):
        raise ViewError(f"Q has {q.size} values for {k} views.")
    if confidences is not None and omega is not None:
        raise ViewError("Give either view confidences or omega, not both.")
    if confidences is not None:
        Om = idzorek_omega(M, S, confidences, tau)
    elif omega is not None:
        Om = np.asarray(omega, dtype=float)
        Om = np.diag(Om) if Om.ndim == 1 else Om
        if Om.shape != (k, k):
            raise ViewError(f"omega must be {k} x {k} for {k} views.")
        if (np.diag(Om) < 0).any() or np.isnan(Om).any():
            raise ViewError("View variances (omega) cannot be negative or missing.")
    else:
        Om = default_omega(M, S, tau)
    labels_P = P.index if isinstance(P, pd.DataFrame) else [f"View {i + 1}" for i in range(k)]
    P_frame = pd.DataFrame(M, index=labels_P, columns=tickers)
    Q_series = pd.Series(q, index=P_frame.index, name="view_return")

    active = np.isfinite(np.diag(Om)) if k else np.zeros(0, dtype=bool)
    if not active.any():
        # No view carries information: the posterior mean is the prior, and the posterior
        # covariance is Sigma (1 + tau), the limit of Sigma + M as omega grows.
        post = pi.copy()
        post_cov = S * (1.0 + tau)
    else:
        Pa, qa, Oa = M[active], q[active], Om[np.ix_(active, active)]
        check_views(Pa)
        tSPt = tau * S @ Pa.T  # (n, k)
        A = Pa @ tSPt + Oa  # (k, k), symmetric positive definite for independent views
        try:
            L = np.linalg.cholesky((A + A.T) / 2)
        except np.linalg.LinAlgError:
            raise ViewError(
                "The views are degenerate (a view portfolio with zero variance): check them."
            ) from None
        X = np.linalg.solve(L, tSPt.T)  # L^-1 P tau Sigma, (k, n)
        post = pi + X.T @ np.linalg.solve(L, qa - Pa @ pi)
        post_cov = S * (1.0 + tau) - X.T @ X
        post_cov = (post_cov + post_cov.T) / 2
    return BlackLittermanResult(
        returns=pd.Series(post, index=tickers, name="posterior_return"),
        cov=pd.DataFrame(post_cov, index=tickers, columns=tickers),
        omega=Om,
        prior_returns=pd.Series(pi, index=tickers, name="prior_return"),
        P=P_frame,
        Q=Q_series,
        tau=float(tau),
    )


def unconstrained_weights(
    posterior_returns: pd.Series,
    posterior_cov: pd.DataFrame,
    delta: float,
    risk_free_rate: float = 0.0,
) -> pd.Series:
    r"""The unconstrained Black-Litterman portfolio, as He & Litterman (1999) report it.

    .. math:: w = (\delta \Sigma_{post})^{-1} (\mu_{post} - r_f)

    Not normalised: without views it is ``w_mkt / (1 + tau)``, and the weights need not sum
    to 1 (the rest is in the risk-free asset).

    Parameters
    ----------
    posterior_returns : Series (n_assets,)
        Posterior expected returns, annualised decimal.
    posterior_cov : DataFrame (n_assets, n_assets)
        Posterior covariance, annualised (``BlackLittermanResult.cov``).
    delta : float
        Risk aversion, positive.
    risk_free_rate : float
        Annual decimal rate subtracted from the returns (use the one added to the prior).

    Returns
    -------
    Series (n_assets,)
        Decimal weights indexed by ticker.

    Raises
    ------
    ViewError
        If delta is not positive.
    EstimationError
        If the posterior covariance is singular.

    References
    ----------
    He & Litterman (1999), eq. (10).
    """
    if not np.isfinite(delta) or delta <= 0:
        raise ViewError(f"The risk aversion delta must be positive (got {delta:.4g}).")
    tickers = list(posterior_cov.columns)
    excess = posterior_returns.reindex(tickers).to_numpy(dtype=float) - risk_free_rate
    try:
        w = np.linalg.solve(float(delta) * posterior_cov.to_numpy(dtype=float), excess)
    except np.linalg.LinAlgError:
        raise EstimationError(
            "The posterior covariance is singular; choose a shrinkage covariance estimator."
        ) from None
    return pd.Series(w, index=tickers, name="bl_weight")


class _QP:
    """Ballast's QPs with assets at a bound eliminated (see :func:`_solve_qp`)."""

    def __init__(self, M, c, lin, A_eq, b_eq, homogeneous):
        self.M, self.c, self.A_eq, self.b_eq, self.hom = M, c, A_eq, b_eq, homogeneous
        self.n = n = len(lin.lower)
        self.lo, self.hi = lin.lower, lin.upper
        self.has_lo = np.isfinite(self.lo)
        self.has_hi = np.isfinite(self.hi) & (self.hi != self.lo)
        self.lo0 = np.where(self.has_lo, self.lo, 0.0)
        self.hi0 = np.where(self.has_hi, self.hi, 0.0)
        if homogeneous:
            self.Ag = np.vstack([np.hstack([-lin.G, lin.h[:, None]]), np.append(np.zeros(n), 1.0)])
            self.bg = np.zeros(len(self.Ag))
        else:
            self.Ag, self.bg = -lin.G.reshape(-1, n), -lin.h

    def slacks(self, x):
        """Slack of every lower bound, upper bound and general row (inf where absent)."""
        n = self.n
        y, k = (x[:n], x[n]) if self.hom else (x, 1.0)
        return (
            np.where(self.has_lo, y - self.lo0 * k, np.inf),
            np.where(self.has_hi, self.hi0 * k - y, np.inf),
            self.Ag @ x - self.bg,
        )

    def solve(self, at_lo, at_hi, gen, x=None, step=False):
        """Solve the equality QP with the working set binding.

        Returns ``(x or step, bound multipliers on B, general multipliers, B)`` or None.
        With ``step``, the minimiser from ``x`` keeping the working set's values (primal
        active-set step); otherwise the minimiser with the working set at equality.
        """
        n, M = self.n, self.M
        bound = at_lo | at_hi
        F, B = np.flatnonzero(~bound), np.flatnonzero(bound)
        cB = np.where(at_lo, self.lo, self.hi)[B]
        A_w = np.vstack([self.A_eq, self.Ag[gen]]) if len(gen) else self.A_eq
        b_w = np.concatenate([self.b_eq, self.bg[gen]])
        if self.hom:
            Mk = M[:, B] @ cB
            Hr = np.empty((len(F) + 1, len(F) + 1))
            Hr[:-1, :-1] = M[np.ix_(F, F)]
            Hr[:-1, -1] = Hr[-1, :-1] = Mk[F]
            Hr[-1, -1] = cB @ Mk[B]
            Ar = np.hstack([A_w[:, F], (A_w[:, n] + A_w[:, B] @ cB)[:, None]])
            if step:
                g = M @ x[:n]
                cr, br = np.append(g[F], cB @ g[B]), np.zeros(len(b_w))
            else:
                cr, br = np.zeros(len(F) + 1), b_w
        else:
            Hr, Ar = M[np.ix_(F, F)], A_w[:, F]
            if step:
                g = M @ x + self.c
                cr, br = g[F], np.zeros(len(b_w))
            else:
                cr = self.c[F] + M[np.ix_(F, B)] @ cB
                br = b_w - A_w[:, B] @ cB
        r, m = len(cr), len(br)
        kkt = np.zeros((r + m, r + m))
        kkt[:r, :r] = Hr
        kkt[:r, r:] = -Ar.T
        kkt[r:, :r] = Ar
        try:
            sol = np.linalg.solve(kkt, np.concatenate([-cr, br]))
        except np.linalg.LinAlgError:
            return None
        if not np.isfinite(sol).all():
            return None
        out = np.zeros(n + 1 if self.hom else n)
        out[F] = sol[: len(F)]
        if self.hom:
            out[n] = sol[len(F)]
            out[B] = cB * out[n]
        elif not step:
            out[B] = cB
        lam = sol[r:]
        point = x if step else out
        g_full = M @ point[:n] + (0.0 if self.hom else self.c)
        if self.hom:
            g_full = np.append(g_full, 0.0)
        resid = g_full - A_w.T @ lam
        lam_b = np.where(at_lo, resid[:n], -resid[:n])[B]
        return out, lam_b, lam[len(self.b_eq) :], B


def _pdas(qp: _QP, x: np.ndarray, max_iter: int = 40) -> np.ndarray | None:
    """Primal-dual active-set iterations (Hintermueller, Ito & Kunisch 2002) from ``x``'s set.

    Each iteration solves one equality QP and moves every violated constraint into the set and
    every constraint with a negative multiplier out, so that a large change of the expected
    returns costs a few solves rather than one per change of the set. Returns the optimum, or
    None when the iterations do not settle (the caller falls back to the primal method).
    """
    s_lo, s_hi, s_g = qp.slacks(x)
    tol = 1e-10 * max(1.0, float(np.abs(x).max()))
    at_lo, at_hi = s_lo <= tol, (s_hi <= tol) & ~(s_lo <= tol)
    gen = np.flatnonzero(s_g <= tol)
    for _ in range(max_iter):
        res = qp.solve(at_lo, at_hi, gen)
        if res is None:
            return None
        x, lam_b, lam_g, B = res
        s_lo, s_hi, s_g = qp.slacks(x)
        tol = 1e-10 * max(1.0, float(np.abs(x).max()))
        lam_tol = 1e-10 * max(1.0, float(np.abs(lam_b).max(initial=0.0)))
        keep = np.zeros(qp.n, dtype=bool)
        keep[B] = lam_b > lam_tol
        new_lo = (at_lo & keep) | (~at_lo & ~at_hi & (s_lo < -tol))
        new_hi = (at_hi & keep) | (~at_lo & ~at_hi & (s_hi < -tol) & ~new_lo)
        gen_keep = [j for j, v in zip(gen, lam_g, strict=True) if v > lam_tol]
        gen_add = [j for j in np.flatnonzero(s_g < -tol) if j not in set(gen)]
        new_gen = np.array(sorted(gen_keep + gen_add), dtype=int)
        if (
            (new_lo == at_lo).all()
            and (new_hi == at_hi).all()
            and np.array_equal(new_gen, np.sort(gen))
        ):
            feasible = min(s_lo.min(), s_hi.min(), s_g.min(initial=np.inf)) >= -1e3 * tol
            dual = min(lam_b.min(initial=0.0), lam_g.min(initial=0.0)) >= -1e3 * lam_tol
            return x if feasible and dual else None
        at_lo, at_hi, gen = new_lo, new_hi, new_gen
    return None


def _primal_active_set(qp: _QP, x: np.ndarray, max_iter: int) -> np.ndarray | None:
    """Primal active-set method (Nocedal & Wright 2006, algorithm 16.3) from a feasible ``x``."""
    s_lo, s_hi, s_g = qp.slacks(x)
    tol = 1e-10 * max(1.0, float(np.abs(x).max()))
    if min(s_lo.min(), s_hi.min(), s_g.min(initial=np.inf)) < -1e3 * tol:
        return None
    if np.abs(qp.A_eq @ x - qp.b_eq).max() > 1e-8:
        return None
    at_lo, at_hi = s_lo <= tol, (s_hi <= tol) & ~(s_lo <= tol)
    gen = list(np.flatnonzero(s_g <= tol))
    n = qp.n
    for _ in range(max_iter):
        res = qp.solve(at_lo, at_hi, np.array(gen, dtype=int), x=x, step=True)
        if res is None:
            return None
        step, lam_b, lam_g, B = res
        if np.abs(step).max() <= 1e-12 * max(1.0, float(np.abs(x).max())):
            scale = max(1.0, float(np.abs(lam_b).max(initial=0.0)))
            worst_b, worst_g = lam_b.min(initial=np.inf), lam_g.min(initial=np.inf)
            if min(worst_b, worst_g) >= -1e-10 * scale:
                return x
            if worst_b <= worst_g:
                i = B[int(np.argmin(lam_b))]
                at_lo[i] = at_hi[i] = False
            else:
                gen.pop(int(np.argmin(lam_g)))
            continue
        bound = at_lo | at_hi
        py, pk = (step[:n], step[n]) if qp.hom else (step, 0.0)
        rate_lo = np.where(qp.has_lo & ~bound, py - qp.lo0 * pk, 0.0)
        rate_hi = np.where(qp.has_hi & ~bound, qp.hi0 * pk - py, 0.0)
        rate_g = qp.Ag @ step
        if gen:
            rate_g[gen] = 0.0
        s_lo, s_hi, s_g = qp.slacks(x)
        alpha, hit = 1.0, None
        for kind, rate, slack in (("lo", rate_lo, s_lo), ("hi", rate_hi, s_hi), ("g", rate_g, s_g)):
            idx = np.flatnonzero(rate < -1e-14)
            if len(idx):
                ratios = np.maximum(slack[idx], 0.0) / -rate[idx]
                j = int(np.argmin(ratios))
                if ratios[j] < alpha:
                    alpha, hit = float(ratios[j]), (kind, int(idx[j]))
        x = x + alpha * step
        if hit is not None:
            kind, i = hit
            if kind == "lo":
                at_lo[i] = True
            elif kind == "hi":
                at_hi[i] = True
            else:
                gen.append(i)
    return None


def _solve_qp(M, c, lin, A_eq, b_eq, x, homogeneous) -> np.ndarray | None:
    """Optimum of Ballast's QP from the previous optimum ``x``: PDAS, then the primal method.

    Plain: ``min 1/2 w'Mw + c'w`` over ``x = w`` with ``lower <= w <= upper``, ``G w <= h``
    and ``A_eq x = b_eq``. Homogeneous: ``min 1/2 y'My`` over ``x = (y, kappa)`` with
    ``lower kappa <= y <= upper kappa``, ``G y <= h kappa``, ``kappa >= 0``, ``A_eq x = b_eq``.
    Assets at a bound are eliminated, so each solve is a KKT system in the free assets only.
    """
    qp = _QP(M, c, lin, A_eq, b_eq, homogeneous)
    found = _pdas(qp, x)
    if found is None:
        found = _primal_active_set(qp, x, 4 * qp.n + 20)
    return found


def reoptimize(
    expected_returns: pd.Series,
    cov: pd.DataFrame,
    objective: Objective,
    constraints: Constraints | None = None,
    previous_weights: pd.Series | None = None,
) -> OptimizationResult:
    """:func:`core.optimization.optimize`, warm-started from the previous solution.

    Built for the confidence sliders: between two moves only the expected returns change, so
    the previous optimal portfolio is feasible and its set of binding constraints is nearly
    right. The maximum Sharpe ratio (homogenised as in ``optimize``), the maximum utility and
    the minimum volatility are quadratic programs solved exactly from there: primal-dual
    active-set iterations (Hintermueller, Ito & Kunisch 2002), one KKT solve in the free assets
    each, settle in a few steps; if they do not, a primal active-set method (Nocedal & Wright
    2006, algorithm 16.3) finishes from the previous solution if it is feasible. The result
    is a KKT point checked for primal and dual feasibility, hence the optimum. Everything else
    (target return or volatility, a volatility cap, a starting portfolio that does not beat
    the risk-free rate under the new returns, iterations that do not settle, infeasible
    constraints) goes to ``optimize``, which also writes the error messages.

    Parameters
    ----------
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance, same order.
    objective : Objective
        The objective.
    constraints : Constraints, optional
        Defaults to long-only in [0, 1].
    previous_weights : Series (n_assets,), optional
        A starting portfolio, ideally the optimum under the previous expected returns (any
        weights give the right answer; close ones give it fast). Equal weights when omitted.

    Returns
    -------
    OptimizationResult
        As ``optimize`` returns it (equal to it within solver tolerance).

    Raises
    ------
    BallastError
        As :func:`core.optimization.optimize`.

    References
    ----------
    Nocedal & Wright (2006), "Numerical Optimization", 2nd ed., section 16.5; Hintermueller,
    Ito & Kunisch (2002), "The primal-dual active set strategy as a semismooth Newton method",
    SIAM J. Optim. 13(3); Cornuejols & Tutuncu (2007), section 8.2 for the homogenised
    maximum Sharpe ratio.
    """
    constraints = constraints or Constraints()
    tickers = list(expected_returns.index)
    usable = (
        objective.kind in ("max_sharpe", "max_utility", "min_volatility")
        and constraints.max_volatility is None
        and list(cov.columns) == tickers
        and np.isfinite(expected_returns.to_numpy(dtype=float)).all()
    )
    if not usable:
        return optimize(expected_returns, cov, objective, constraints)
    if previous_weights is None or list(previous_weights.index) != tickers:
        # Equal weights: no bound binding to start with; the iterations add the binding ones.
        previous_weights = pd.Series(1.0 / len(tickers), index=tickers)
    lin = constraints.linear_form(tickers)
    mu = expected_returns.to_numpy(dtype=float)
    S = cov.to_numpy(dtype=float)
    w0 = previous_weights.to_numpy(dtype=float)
    rf = float(objective.risk_free_rate)
    n = len(tickers)
    x = None
    if objective.kind == "min_volatility":
        x = _solve_qp(S, np.zeros(n), lin, np.ones((1, n)), np.ones(1), w0, homogeneous=False)
    elif objective.kind == "max_utility":
        x = _solve_qp(objective.risk_aversion * S, -mu, lin, np.ones((1, n)), np.ones(1), w0,
                      homogeneous=False)  # fmt: skip
    else:
        excess = float((mu - rf) @ w0)
        if excess > 1e-12:
            A_eq = np.vstack([np.append(mu - rf, 0.0), np.append(np.ones(n), -1.0)])
            start = np.append(w0, 1.0) / excess
            y = _solve_qp(S, np.zeros(n), lin, A_eq, np.array([1.0, 0.0]), start,
                          homogeneous=True)  # fmt: skip
            if y is not None and y[-1] > 1e-12:
                x = y[:n] / y[-1]
    if x is None:
        return optimize(expected_returns, cov, objective, constraints)
    values = np.clip(x, lin.lower, lin.upper)
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
        sector_weights=(
            sector_exposure(weights, sectors) if len(sectors) else pd.Series(dtype=float)
        ),
    )
