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

from core.exceptions import EstimationError, ViewError

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


def tickers_of(text: object) -> list[str]:
    """Tickers named in one side of a view, as the views table holds it.

    Parameters
    ----------
    text : str or None
        E.g. ``"MSFT, AAPL"``; tickers are separated by commas, semicolons, ``+``, ``&`` or
        spaces, and upper-cased. None or NaN gives an empty list.

    Returns
    -------
    list of str
    """
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
        assets = tickers_of(row.get("assets"))
        versus = tickers_of(row.get("versus"))
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
