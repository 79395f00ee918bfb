"""Stress tests: historical crisis windows, hypothetical shocks and correlation stress.

Conventions
-----------
- Prices are ``DataFrame (n_observations, n_assets)`` of adjusted closes; returns are simple
  daily decimal returns; weights are a ``Series`` of decimals indexed by ticker.
- A historical scenario replays a date window on the *current* weights, **peak close to trough
  close**: the portfolio is bought at the close of the window's first day (for a built-in window
  the peak close of the US market) and held to the close of its last day (the trough close), buy
  and hold, no rebalancing. Weights that do not add up to 1 leave the rest in cash at a zero
  return (a negative rest is borrowed cash): ``V_t = (1 - sum_i w_i) + sum_i w_i P_{i,t} /
  P_{i,0}``, so ``V_0 = 1`` and a half-invested book loses half of what a fully invested one
  does.
- Signs (DESIGN.md §3): returns are signed (a gain is positive); **losses are positive
  numbers**: the worst day's loss (``-min`` daily return) and the maximum drawdown (the largest
  fall from a running peak of ``V``) are decimals >= 0 (0 when the path never falls).
- A hypothetical shock is an instantaneous return per asset (or per sector) applied to the
  current weights: ``P&L = sum_i w_i s_i`` as a decimal of portfolio value.
- Correlation stress keeps every asset's volatility and replaces the correlation matrix: by a
  crisis window's correlations, or by ``(1 - lambda) C + lambda 11'`` (pushed toward 1; a convex
  combination of correlation matrices, so still positive semidefinite). VaR and CVaR are then
  the parametric normal figures of ``core.risk`` with the stressed covariance.

References
----------
- Basel Committee, "Principles for sound stress testing practices and supervision", 2009.
- R. Rebonato and P. Jäckel, "The most general methodology to create a valid correlation matrix
  for risk management and option pricing purposes", J. Risk 2, 2000 (valid stressed matrices).
- Y. Choueifaty and Y. Coignard, "Toward maximum diversification", J. Portfolio Management 35,
  2008 (diversification ratio).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from core.exceptions import RiskInputError
from core.risk import _align_weights, _check_confidence, _check_horizon, parametric_var_cvar

__all__ = [
    "HISTORICAL_SCENARIOS",
    "historical_stress",
    "scenario_path",
    "hypothetical_shock",
    "average_pairwise_correlation",
    "rolling_average_correlation",
    "push_correlation",
    "correlation_stress",
]

#: Built-in crisis windows: name -> (peak day, trough day) of the S&P 500's closes, the highest
#: close before the fall and the lowest close of the episode (checked against the sample's index
#: in tests/core/test_stress.py), so the index's return over each window is its peak-to-trough
#: drawdown.
HISTORICAL_SCENARIOS: dict[str, tuple[str, str]] = {
    "1997 Asian crisis": ("1997-10-07", "1997-10-27"),
    "1998 LTCM / Russian default": ("1998-07-17", "1998-08-31"),
    "2000-02 dot-com crash": ("2000-03-24", "2002-10-09"),
    "2008-09 global financial crisis": ("2007-10-09", "2009-03-09"),
    "2020 COVID crash": ("2020-02-19", "2020-03-23"),
    "2022 rate shock": ("2022-01-03", "2022-10-12"),
}

_MIN_SCENARIO_DAYS = 2


def _window_prices(
    prices: pd.DataFrame, start: str | pd.Timestamp, end: str | pd.Timestamp, name: str
) -> pd.DataFrame:
    """Closes from the first trading day on or after ``start`` to the last on or before ``end``.

    Raises
    ------
    RiskInputError
        The end precedes the start, the data miss the window, or it holds one day only.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise RiskInputError(f"Scenario '{name}': the end {end.date()} is before the start "
                             f"{start.date()}.")  # fmt: skip
    first, last = prices.index[0], prices.index[-1]
    if start < first or end > last:
        raise RiskInputError(
            f"Scenario '{name}' ({start.date()} to {end.date()}) is outside the loaded data "
            f"({first.date()} to {last.date()}): load data that covers it or change the dates."
        )
    i0 = prices.index.searchsorted(start)  # the start day's close: the buy (peak) close
    i1 = prices.index.searchsorted(end, side="right")
    window = prices.iloc[i0:i1]
    if len(window) < _MIN_SCENARIO_DAYS:
        raise RiskInputError(
            f"Scenario '{name}' ({start.date()} to {end.date()}) holds fewer than two trading "
            "days in the loaded data: it needs a first and a last close."
        )
    return window


def scenario_path(
    prices: pd.DataFrame, weights: pd.Series, start: str | pd.Timestamp, end: str | pd.Timestamp,
    name: str = "custom",
) -> pd.Series:  # fmt: skip
    r"""Buy-and-hold value of 1 invested at the close of ``start``, through the close of ``end``.

    .. math:: V_t = (1 - \sum_i w_i) + \sum_i w_i P_{i,t} / P_{i,0}

    The part of the book the weights leave uninvested is cash at a zero return.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Adjusted closes (full history).
    weights : Series (n_assets,)
        Decimal weights by ticker; their sum need not be 1 (the rest is cash).
    start, end : str or Timestamp
        The scenario's first day (its close is the buy price: the peak close for a built-in
        window) and last day (the trough close); non-trading days move to the next / previous
        trading day.
    name : str
        For error messages.

    Returns
    -------
    Series (n_days + 1,)
        ``V_t``, starting at 1.0 on the start day's close.

    Raises
    ------
    RiskInputError
        The window is outside the data, or a weighted asset has no price in it.
    """
    window = _window_prices(prices, start, end, name)
    w = _align_weights(window, weights)
    held = window.columns[w != 0]
    missing = [t for t in held if window[t].isna().any()]
    if missing:
        raise RiskInputError(
            f"Scenario '{name}': no prices for {', '.join(map(str, missing))} throughout the "
            "window, so the portfolio cannot be replayed."
        )
    rel = window[held] / window[held].iloc[0]
    cash = 1.0 - float(w.sum())
    return (rel @ w[w != 0] + cash).rename(name)


def _path_figures(path: pd.Series) -> tuple[float, float, pd.Timestamp, float]:
    """Return, worst day's loss, its date and maximum drawdown of a value path (losses >= 0)."""
    daily = path.pct_change().iloc[1:]
    drawdown = float(-(path / path.cummax() - 1.0).min())
    return float(path.iloc[-1] / path.iloc[0] - 1.0), float(-daily.min()), daily.idxmin(), drawdown


def historical_stress(
    prices: pd.DataFrame,
    weights: pd.Series,
    scenarios: dict[str, tuple[str, str]] | None = None,
    benchmark: pd.Series | None = None,
    custom: dict[str, tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Replay crisis windows on the current weights, peak close to trough close.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Adjusted closes over the full loaded history (crises may precede the user's window).
    weights : Series (n_assets,)
        Decimal weights by ticker; the rest of the book (``1 - sum w``) is cash.
    scenarios : dict of str to (start, end), optional
        Built-in windows (default :data:`HISTORICAL_SCENARIOS`); those the data do not cover
        are skipped and listed.
    benchmark : Series (n_observations,), optional
        Benchmark level on the same dates, replayed over the same windows.
    custom : dict of str to (start, end), optional
        The user's windows, same convention (bought at the start day's close); unlike built-in
        ones, a custom window outside the data raises.

    Returns
    -------
    (DataFrame, list of str)
        One row per scenario: ``scenario``, ``start``, ``end``, ``trading_days`` (daily returns
        in the window), ``portfolio_return`` (signed decimal, a gain is positive),
        ``worst_day_loss`` (loss on the worst day, positive decimal), ``worst_day_date``,
        ``max_drawdown`` (maximum drawdown, a positive decimal loss), and the benchmark's
        ``benchmark_return``, ``benchmark_worst_day_loss`` and ``benchmark_max_drawdown``
        (NaN without a benchmark or where it has gaps); and the names of the built-in scenarios
        the data do not cover.

    Raises
    ------
    RiskInputError
        A custom window outside the data or malformed.
    """
    scenarios = HISTORICAL_SCENARIOS if scenarios is None else scenarios
    rows, skipped = [], []
    items = [(n, s, e, False) for n, (s, e) in scenarios.items()]
    items += [(n, s, e, True) for n, (s, e) in (custom or {}).items()]
    for name, start, end, must in items:
        try:
            path = scenario_path(prices, weights, start, end, name)
        except RiskInputError:
            if must:
                raise
            skipped.append(name)
            continue
        ret, worst, worst_date, mdd = _path_figures(path)
        bench = (np.nan, np.nan, None, np.nan)
        if benchmark is not None:
            b = benchmark.reindex(path.index)
            if b.notna().all():
                bench = _path_figures(b)
        rows.append(
            {
                "scenario": name,
                "start": path.index[0].date(),
                "end": path.index[-1].date(),
                "trading_days": len(path) - 1,
                "portfolio_return": ret,
                "worst_day_loss": worst,
                "worst_day_date": worst_date.date(),
                "max_drawdown": mdd,
                "benchmark_return": bench[0],
                "benchmark_worst_day_loss": bench[1],
                "benchmark_max_drawdown": bench[3],
            }
        )
    columns = ["scenario", "start", "end", "trading_days", "portfolio_return", "worst_day_loss",
               "worst_day_date", "max_drawdown", "benchmark_return", "benchmark_worst_day_loss",
               "benchmark_max_drawdown"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns), skipped


def _given_shocks(shocks: dict | None) -> dict[str, float]:
    """The shocks typed, as floats; an empty entry (None or NaN) is no shock."""
    out = {}
    for key, value in (shocks or {}).items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            raise RiskInputError(
                f"The shock on {key} must be a number (a return in %), got {value!r}."
            ) from None
        if math.isnan(out[str(key)]):
            del out[str(key)]
    return out


def hypothetical_shock(
    weights: pd.Series,
    asset_shocks: dict[str, float] | None = None,
    sector_shocks: dict[str, float] | None = None,
    sectors: pd.Series | dict | None = None,
    portfolio_value: float | None = None,
) -> pd.DataFrame:
    """Instantaneous P&L of the portfolio under shocks typed by the user.

    An asset's own shock overrides its sector's shock; assets without either are unchanged. An
    empty shock (None or NaN, a cleared cell of the editor) is no shock.

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights by ticker.
    asset_shocks : dict of str to float, optional
        Ticker -> decimal return (-0.3 = falls 30 %).
    sector_shocks : dict of str to float, optional
        Sector -> decimal return.
    sectors : Series or dict, optional
        Ticker -> sector.
    portfolio_value : float, optional
        Adds ``pnl_money``.

    Returns
    -------
    DataFrame
        Index ticker; ``sector``, ``weight``, ``shock`` (decimal), ``source`` (``asset``,
        ``sector`` or ``none``), ``pnl`` (``w_i s_i``, decimal of portfolio value) and
        ``pnl_money``; the total is ``pnl.sum()``.

    Raises
    ------
    RiskInputError
        A shock on an unknown ticker or sector, one that is not a number, or a return below
        -100 %.
    """
    w = pd.Series(weights, dtype=float)
    labels = pd.Series(sectors if sectors is not None else {}, dtype=object)
    labels = labels.reindex(w.index).fillna("Unknown").astype(str)
    asset_shocks = _given_shocks(asset_shocks)
    sector_shocks = _given_shocks(sector_shocks)
    unknown = [t for t in asset_shocks if t not in w.index]
    if unknown:
        raise RiskInputError(f"Shocks on assets not in the portfolio: {', '.join(unknown)}.")
    unknown = [s for s in sector_shocks if s not in set(labels)]
    if unknown:
        raise RiskInputError(f"Shocks on unknown sectors: {', '.join(unknown)}.")
    for key, value in {**asset_shocks, **sector_shocks}.items():
        if not math.isfinite(value) or value < -1.0:
            raise RiskInputError(f"The shock on {key} must be a return of at least -100 %.")
    shock = labels.map(lambda s: sector_shocks.get(s, np.nan)).astype(float)
    source = np.where(shock.notna(), "sector", "none").astype(object)
    for t, v in asset_shocks.items():
        shock[t] = float(v)
        source[w.index.get_loc(t)] = "asset"
    shock = shock.fillna(0.0)
    table = pd.DataFrame(
        {"sector": labels, "weight": w, "shock": shock, "source": source, "pnl": w * shock}
    )
    table.index.name = "ticker"
    if portfolio_value is not None:
        table["pnl_money"] = table["pnl"] * portfolio_value
    return table


def average_pairwise_correlation(corr: pd.DataFrame | np.ndarray) -> float:
    """Mean of the off-diagonal entries of a correlation matrix.

    Parameters
    ----------
    corr : DataFrame or ndarray (n_assets, n_assets)

    Returns
    -------
    float
        NaN for fewer than two assets.
    """
    c = np.asarray(corr, dtype=float)
    n = c.shape[0]
    if n < 2:
        return float("nan")
    return float((c.sum() - np.trace(c)) / (n * (n - 1)))


def rolling_average_correlation(returns: pd.DataFrame, window: int = 63) -> pd.Series:
    """Average pairwise correlation of the assets over a rolling window, vectorised.

    Rolling sums of ``x``, ``x^2`` and the cross products ``x_i x_j`` come from cumulative sums
    of the demeaned returns, so the cost is ``O(T n^2)`` with no Python loop over dates or pairs.

    Parameters
    ----------
    returns : DataFrame (n_observations, n_assets)
        Daily decimal returns (rows with NaN are dropped).
    window : int
        Trading days per window, >= 10.

    Returns
    -------
    Series (n_observations - window + 1,)
        Average pairwise correlation, indexed by the window's last day. Pairs with an asset
        whose price is constant over the window (all its returns in the window exactly 0, a
        trading halt) are left out of that window's average; NaN where no pair is left.

    Raises
    ------
    RiskInputError
        Fewer than two assets, a window below 10 days or longer than the data.
    """
    r = returns.dropna()
    if r.shape[1] < 2:
        raise RiskInputError("Correlations need at least two assets.")
    window = int(window)
    if window < 10 or window > len(r):
        raise RiskInputError(
            f"The correlation window must be between 10 and {len(r)} days; got {window}."
        )
    x = r.to_numpy() - r.to_numpy().mean(axis=0)
    n = x.shape[1]

    def rolling_sum(a: np.ndarray) -> np.ndarray:
        c = np.cumsum(a, axis=0)
        out = c[window - 1 :].copy()
        out[1:] -= c[:-window]
        return out

    iu, ju = np.triu_indices(n, 1)
    s = rolling_sum(x)
    var = rolling_sum(x * x) - s * s / window
    cross = rolling_sum(x[:, iu] * x[:, ju]) - s[:, iu] * s[:, ju] / window
    # An asset whose price is constant over a window (a trading halt) has no correlation there.
    # Told from its returns, all exactly 0 in the window: the variance from the cumulative sums
    # keeps a rounding residue (~5e-16) that no relative cut-off separates from a quiet asset.
    moving = rolling_sum((r.to_numpy() != 0).astype(float))  # counts: exact in floating point
    flat = (moving == 0) | (var <= 0)
    sd = np.sqrt(np.where(flat, np.nan, var))
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a window where every pair is flat
        pairs = cross / (sd[:, iu] * sd[:, ju])
        avg = np.nanmean(pairs, axis=1) if flat.any() else pairs.mean(axis=1)
    return pd.Series(avg, index=r.index[window - 1 :], name="average_correlation")


def push_correlation(corr: pd.DataFrame, strength: float) -> pd.DataFrame:
    """Correlations pushed toward 1: ``(1 - lambda) C + lambda 11'``.

    Parameters
    ----------
    corr : DataFrame (n_assets, n_assets)
        A correlation matrix.
    strength : float
        ``lambda`` in [0, 1]; 0 leaves ``C``, 1 makes every correlation 1.

    Returns
    -------
    DataFrame (n_assets, n_assets)
        Still a valid (positive semidefinite) correlation matrix.

    Raises
    ------
    RiskInputError
        ``strength`` outside [0, 1].
    """
    lam = float(strength)
    if not 0.0 <= lam <= 1.0:
        raise RiskInputError(f"The correlation push must be between 0 and 1; got {lam:g}.")
    return corr * (1.0 - lam) + lam


def _correlation(x: np.ndarray, labels: pd.Index) -> pd.DataFrame:
    """Sample correlation with constant columns given zero correlation (not NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.nan_to_num(np.corrcoef(x, rowvar=False), nan=0.0)
    np.fill_diagonal(corr, 1.0)
    return pd.DataFrame(corr, index=labels, columns=labels)


def _portfolio_figures(w, vols, corr, mu, c, h):
    cov = corr * np.outer(vols, vols)
    sigma = float(math.sqrt(max(w @ cov @ w, 0.0)))
    var, cvar = parametric_var_cvar(None, c, h, mean=float(mu @ w), volatility=sigma)
    undiversified = float(np.abs(w) @ vols)
    return sigma, var, cvar, undiversified


def correlation_stress(
    returns: pd.DataFrame,
    weights: pd.Series,
    confidence: float = 0.99,
    horizon: int = 1,
    strengths: list[float] | tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
    crisis_returns: pd.DataFrame | None = None,
    crisis_name: str = "crisis window",
    periods_per_year: int = 252,
) -> pd.DataFrame:
    """Parametric VaR and CVaR when correlations rise, volatilities kept.

    Parameters
    ----------
    returns : DataFrame (n_observations, n_assets)
        Daily decimal returns of the risk window: the base volatilities, means and correlations.
    weights : Series (n_assets,)
        Decimal weights by ticker.
    confidence : float
        In (0, 1).
    horizon : int
        Trading days.
    strengths : sequence of float
        Values of ``lambda`` in [0, 1] for :func:`push_correlation`.
    crisis_returns : DataFrame, optional
        Daily returns of a crisis window; its correlation matrix replaces the base one (with
        the base volatilities and means).
    crisis_name : str
        Label of the crisis row.
    periods_per_year : int
        For the annualised volatility.

    Returns
    -------
    DataFrame
        One row per case (``base``, the crisis, ``pushed lambda=...``): ``case``, ``strength``,
        ``average_correlation``, ``volatility`` (annualised decimal), ``var``, ``cvar``
        (positive decimal losses at the horizon), ``diversification_ratio``
        (``sum |w_i| sigma_i / sigma_p``, 1 = no diversification) and ``diversification_benefit``
        (``1 - sigma_p / sum |w_i| sigma_i``).

    Raises
    ------
    RiskInputError
        Fewer than two assets (a single asset has no correlation to stress); bad confidence,
        horizon or strength; a crisis window with too few days or assets missing.
    """
    c, h = _check_confidence(confidence), _check_horizon(horizon)
    r = returns.dropna()
    if len(r) < 20:
        raise RiskInputError(
            f"{len(r)} observations are too few for correlations; widen the window."
        )
    if r.shape[1] < 2:
        raise RiskInputError(
            "Correlation stress needs at least two assets: a single asset has no correlation "
            "to stress (its VaR is on the VaR & CVaR tab)."
        )
    w = _align_weights(r, weights)
    x = r.to_numpy()
    mu, vols = x.mean(axis=0), x.std(axis=0, ddof=1)
    base = _correlation(x, r.columns)
    cases: list[tuple[str, float, pd.DataFrame]] = [("base", 0.0, base)]
    if crisis_returns is not None:
        cr = crisis_returns.reindex(columns=r.columns).dropna()
        if len(cr) < 20:
            raise RiskInputError(
                f"The crisis window '{crisis_name}' holds {len(cr)} complete days of returns; "
                "at least 20 are needed for its correlations."
            )
        crisis = _correlation(cr.to_numpy(), r.columns)
        cases.append((crisis_name, np.nan, crisis))
    for lam in strengths:
        cases.append(
            (f"pushed toward 1, lambda = {lam:.2f}", float(lam), push_correlation(base, lam))
        )
    rows = []
    for name, lam, corr in cases:
        sigma, var, cvar, undiv = _portfolio_figures(w, vols, corr.to_numpy(), mu, c, h)
        rows.append(
            {
                "case": name,
                "strength": lam,
                "average_correlation": average_pairwise_correlation(corr),
                "volatility": sigma * math.sqrt(periods_per_year),
                "var": var,
                "cvar": cvar,
                "diversification_ratio": undiv / sigma if sigma > 0 else np.nan,
                "diversification_benefit": 1.0 - sigma / undiv if undiv > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)
