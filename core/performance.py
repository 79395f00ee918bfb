"""Performance against a benchmark: return, risk and tracking measures, active weights.

Conventions
-----------
Returns are simple per-period decimal returns (0.01 = 1 %), a ``Series (n_periods,)`` on a
``DatetimeIndex`` (or a ``DataFrame (n_periods, n_strategies)`` for the tables); the benchmark's
returns are aligned on the common dates, periods where either is missing are dropped.
``periods_per_year`` is 252 for daily data. The risk-free rate is an annual decimal; it enters
per period as ``risk_free_rate / periods_per_year``. The drawdown *curve* is negative decimals
(-0.35 = 35 % below the previous peak, drawn below zero); the **maximum drawdown is a loss and,
as every loss in Ballast, a positive decimal** (0.35 = a 35 % fall from the peak; DESIGN.md §3),
the same figure as ``core.risk.drawdowns(...).max_drawdown``: ``empyrical.max_drawdown`` with
the sign turned.

The definitions follow empyrical (Quantopian's ``empyrical.stats``, also used by pyfolio), so
that figures can be compared with that widely used library:

- annualised return: compound annual growth rate, ``prod(1 + r) ** (ppy / n) - 1``
  (``empyrical.annual_return``);
- annualised volatility: ``std(r, ddof=1) * sqrt(ppy)`` (``empyrical.annual_volatility``);
- Sharpe ratio: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(ppy)`` (``empyrical.sharpe_ratio``);
- Sortino ratio: ``mean(r - rf) * ppy / (sqrt(mean(min(r - rf, 0) ** 2)) * sqrt(ppy))``
  (``empyrical.sortino_ratio`` with ``required_return = rf``);
- maximum drawdown: ``-min(W_t / max_{s <= t} W_s - 1)`` of the wealth ``W``, a positive loss
  (``-empyrical.max_drawdown``);
- beta: ``cov(r - rf, b - rf) / var(b - rf)`` and Jensen's alpha
  ``(1 + mean(r - rf - beta (b - rf))) ** ppy - 1`` (``empyrical.alpha_beta``; Jensen 1968);
- up (down) capture: annualised return of the portfolio over the periods where the benchmark
  rose (fell), divided by the benchmark's over the same periods (``empyrical.up_capture``,
  ``down_capture``);
- tracking error: ``std(r - b, ddof=1) * sqrt(ppy)`` and information ratio: annualised mean
  active return over tracking error, ``mean(r - b) * ppy / TE`` (Grinold & Kahn 2000, ch. 5).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from core.exceptions import BacktestError

__all__ = [
    "METRIC_LABELS",
    "align",
    "annualized_return",
    "annualized_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "drawdowns",
    "max_drawdown",
    "tracking_error",
    "information_ratio",
    "beta",
    "jensen_alpha",
    "up_capture",
    "down_capture",
    "performance_summary",
    "performance_table",
    "yearly_returns",
    "fixed_weight_returns",
    "benchmark_weights",
    "active_weights",
    "ex_ante_tracking_error",
    "benchmark_from_csv",
    "levels_on",
]

#: Metric keys of :func:`performance_summary` -> labels with units for the user.
METRIC_LABELS: dict[str, str] = {
    "annual_return": "Annualised return (CAGR, %)",
    "annual_volatility": "Annualised volatility (%)",
    "sharpe_ratio": "Sharpe ratio",
    "sortino_ratio": "Sortino ratio",
    "max_drawdown": "Maximum drawdown (loss, %)",
    "tracking_error": "Tracking error (annualised, %)",
    "information_ratio": "Information ratio",
    "beta": "Beta to the benchmark",
    "alpha": "Jensen's alpha (annualised, %)",
    "up_capture": "Up capture (ratio)",
    "down_capture": "Down capture (ratio)",
}

#: Metrics shown as percentages (decimals in the data).
PERCENT_METRICS = ("annual_return", "annual_volatility", "max_drawdown", "tracking_error", "alpha")


def _clean(returns: pd.Series) -> pd.Series:
    """Returns as floats without missing periods."""
    return pd.Series(returns, dtype=float).dropna()


def _excess(returns: pd.Series, risk_free_rate: float, periods_per_year: int) -> pd.Series:
    """Per-period returns above the risk-free rate, ``risk_free_rate / periods_per_year``."""
    return _clean(returns) - risk_free_rate / periods_per_year


def _aligned_excess(
    returns: pd.Series, benchmark: pd.Series, risk_free_rate: float, periods_per_year: int
) -> tuple[pd.Series, pd.Series]:
    """Portfolio and benchmark excess returns on their common dates (see :func:`align`)."""
    r, b = align(returns, benchmark)
    rf = risk_free_rate / periods_per_year
    return r - rf, b - rf


def align(returns: pd.Series, benchmark: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Portfolio and benchmark returns on their common dates, missing values dropped.

    Parameters
    ----------
    returns, benchmark : Series (n_periods,)
        Decimal per-period returns.

    Returns
    -------
    tuple of Series
        Both on the same index.

    Raises
    ------
    BacktestError
        If fewer than two periods are common to both (e.g. a benchmark with no overlap).
    """
    both = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1, join="inner").dropna()
    if len(both) < 2:
        raise BacktestError(
            "The benchmark has no overlap with the portfolio's dates (fewer than two common "
            "periods): choose another benchmark or a window the benchmark covers."
        )
    return both["r"], both["b"]


def levels_on(levels: pd.Series, index: pd.DatetimeIndex) -> pd.Series:
    """A level series (benchmark, price) on other dates: last known level, within its range.

    Parameters
    ----------
    levels : Series
        Levels on their own dates (e.g. an uploaded benchmark with another calendar).
    index : DatetimeIndex
        Dates wanted.

    Returns
    -------
    Series
        On ``index``: the last level on or before each date, NaN before the first level and
        after the last one (no made-up flat returns outside the series).
    """
    s = levels.dropna().sort_index()
    s = s[~s.index.duplicated(keep="last")]
    if s.empty:
        return pd.Series(np.nan, index=index, name=levels.name)
    out = s.reindex(index.union(s.index)).ffill().reindex(index)
    out[(index < s.index[0]) | (index > s.index[-1])] = np.nan
    return out.rename(levels.name)


def annualized_return(returns: pd.Series, periods_per_year: int = 252) -> float:
    """Compound annual growth rate of a return series.

    Parameters
    ----------
    returns : Series (n_periods,)
        Decimal per-period returns.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        Annualised decimal return ``prod(1 + r) ** (periods_per_year / n) - 1``; NaN if empty.

    References
    ----------
    empyrical ``annual_return``.
    """
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return float("nan")
    growth = float(np.prod(1.0 + r))
    if growth <= 0:
        return -1.0
    return growth ** (periods_per_year / len(r)) - 1.0


def annualized_volatility(returns: pd.Series, periods_per_year: int = 252) -> float:
    """Annualised standard deviation of returns, ``std(r, ddof=1) * sqrt(periods_per_year)``.

    Parameters
    ----------
    returns : Series (n_periods,)
        Decimal per-period returns.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        Annualised decimal volatility.

    References
    ----------
    empyrical ``annual_volatility``.
    """
    r = _clean(returns)
    return float(r.std(ddof=1) * np.sqrt(periods_per_year)) if len(r) > 1 else float("nan")


def sharpe_ratio(
    returns: pd.Series, risk_free_rate: float = 0.0, periods_per_year: int = 252
) -> float:
    r"""Annualised Sharpe ratio of per-period returns.

    .. math:: SR = \frac{\overline{r - r_f}}{s(r - r_f)} \sqrt{P}

    Parameters
    ----------
    returns : Series (n_periods,)
        Decimal per-period returns.
    risk_free_rate : float
        Annual decimal rate (``risk_free_rate / periods_per_year`` per period).
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        NaN when the excess returns have no variation.

    References
    ----------
    Sharpe (1966, 1994); empyrical ``sharpe_ratio``.
    """
    excess = _excess(returns, risk_free_rate, periods_per_year)
    sd = excess.std(ddof=1)
    if len(excess) < 2 or not sd > 0:
        return float("nan")
    return float(excess.mean() / sd * np.sqrt(periods_per_year))


def sortino_ratio(
    returns: pd.Series, risk_free_rate: float = 0.0, periods_per_year: int = 252
) -> float:
    r"""Annualised Sortino ratio: mean excess return over downside deviation.

    .. math:: \mathrm{Sortino} = \frac{P \, \overline{r - r_f}}
        {\sqrt{P} \sqrt{\overline{\min(r - r_f, 0)^2}}}

    Parameters
    ----------
    returns : Series (n_periods,)
        Decimal per-period returns.
    risk_free_rate : float
        Annual decimal required return (per period: ``/ periods_per_year``).
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        NaN when no period falls below the required return.

    References
    ----------
    Sortino & Price (1994); empyrical ``sortino_ratio`` and ``downside_risk``.
    """
    excess = _excess(returns, risk_free_rate, periods_per_year)
    downside = np.sqrt(np.mean(np.minimum(excess.to_numpy(), 0.0) ** 2)) * np.sqrt(periods_per_year)
    if len(excess) == 0 or not downside > 0:
        return float("nan")
    return float(excess.mean() * periods_per_year / downside)


def drawdowns(returns: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """Drawdown from the running peak of wealth, per period.

    Parameters
    ----------
    returns : Series (n_periods,) or DataFrame (n_periods, n_strategies)
        Decimal per-period returns.

    Returns
    -------
    Series or DataFrame
        ``W_t / max_{s <= t} W_s - 1`` with ``W`` the wealth starting at 1 before the first
        period (so a first-period loss is a drawdown); values <= 0.
    """
    wealth = (1.0 + returns.fillna(0.0)).cumprod()
    peak = np.maximum(wealth.cummax(), 1.0)
    return wealth / peak - 1.0


def max_drawdown(returns: pd.Series) -> float:
    """Largest fall from a peak of wealth, a positive decimal loss (``-empyrical.max_drawdown``).

    Parameters
    ----------
    returns : Series (n_periods,)
        Decimal per-period returns.

    Returns
    -------
    float
        ``-min_t (W_t / max_{s <= t} W_s - 1)``, in [0, 1]: 0.35 = a 35 % fall from the peak
        (losses are positive, DESIGN.md §3; the curve of :func:`drawdowns` is negative).
    """
    r = _clean(returns)
    return float(-drawdowns(r).min()) if len(r) else float("nan")


def tracking_error(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = 252) -> float:
    r"""Annualised tracking error: standard deviation of active returns.

    .. math:: TE = s(r - b) \sqrt{P}

    Parameters
    ----------
    returns, benchmark : Series (n_periods,)
        Decimal per-period returns of the portfolio and the benchmark (aligned on common dates).
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        Annualised decimal tracking error.

    Raises
    ------
    BacktestError
        If the two series share fewer than two dates.

    References
    ----------
    Grinold & Kahn (2000), "Active Portfolio Management", 2nd ed., ch. 5.
    """
    r, b = align(returns, benchmark)
    return float((r - b).std(ddof=1) * np.sqrt(periods_per_year))


def information_ratio(
    returns: pd.Series, benchmark: pd.Series, periods_per_year: int = 252
) -> float:
    r"""Information ratio: annualised mean active return over the tracking error.

    .. math:: IR = \frac{P \, \overline{r - b}}{s(r - b) \sqrt{P}}

    Parameters
    ----------
    returns, benchmark : Series (n_periods,)
        Decimal per-period returns.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        NaN when the tracking error is zero.

    Raises
    ------
    BacktestError
        If the two series share fewer than two dates.

    References
    ----------
    Grinold & Kahn (2000), ch. 5; equals ``empyrical.excess_sharpe`` times ``sqrt(P)``.
    """
    r, b = align(returns, benchmark)
    active = r - b
    sd = active.std(ddof=1)
    return float(active.mean() / sd * np.sqrt(periods_per_year)) if sd > 0 else float("nan")


def beta(
    returns: pd.Series,
    benchmark: pd.Series,
    risk_free_rate: float = 0.0,
    periods_per_year: int = 252,
) -> float:
    """Beta of the portfolio's excess returns on the benchmark's (empyrical ``beta``).

    Parameters
    ----------
    returns, benchmark : Series (n_periods,)
        Decimal per-period returns.
    risk_free_rate : float
        Annual decimal rate.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        ``cov(r - rf, b - rf) / var(b - rf)``; NaN if the benchmark does not vary.

    Raises
    ------
    BacktestError
        If the two series share fewer than two dates.
    """
    excess, bench_excess = _aligned_excess(returns, benchmark, risk_free_rate, periods_per_year)
    x, y = bench_excess.to_numpy(), excess.to_numpy()
    xc = x - x.mean()
    var = float(np.mean(xc**2))
    return float(np.mean(xc * y) / var) if var > 1e-30 else float("nan")


def jensen_alpha(
    returns: pd.Series,
    benchmark: pd.Series,
    risk_free_rate: float = 0.0,
    periods_per_year: int = 252,
) -> float:
    r"""Jensen's alpha, annualised by compounding (empyrical ``alpha``).

    .. math:: \alpha = (1 + \overline{(r - r_f) - \beta (b - r_f)})^{P} - 1

    Parameters
    ----------
    returns, benchmark : Series (n_periods,)
        Decimal per-period returns.
    risk_free_rate : float
        Annual decimal rate.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        Annualised decimal alpha.

    Raises
    ------
    BacktestError
        If the two series share fewer than two dates.

    References
    ----------
    Jensen (1968), "The performance of mutual funds in the period 1945-1964", Journal of
    Finance 23(2); empyrical ``alpha_beta``.
    """
    excess, bench_excess = _aligned_excess(returns, benchmark, risk_free_rate, periods_per_year)
    bt = beta(returns, benchmark, risk_free_rate, periods_per_year)
    per_period = float(np.mean(excess - bt * bench_excess))
    return (1.0 + per_period) ** periods_per_year - 1.0


def _capture(returns: pd.Series, benchmark: pd.Series, up: bool, periods_per_year: int) -> float:
    r, b = align(returns, benchmark)
    mask = (b > 0) if up else (b < 0)
    if not mask.any():
        return float("nan")
    bench = annualized_return(b[mask], periods_per_year)
    if bench == 0:
        return float("nan")
    return annualized_return(r[mask], periods_per_year) / bench


def up_capture(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = 252) -> float:
    """Up-market capture ratio (empyrical ``up_capture``).

    Parameters
    ----------
    returns, benchmark : Series (n_periods,)
        Decimal per-period returns.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        Annualised return of the portfolio over the periods where the benchmark rose, divided
        by the benchmark's annualised return over those periods (1 = moves with it).
    """
    return _capture(returns, benchmark, True, periods_per_year)


def down_capture(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = 252) -> float:
    """Down-market capture ratio (empyrical ``down_capture``); below 1 means it fell less.

    Parameters
    ----------
    returns, benchmark : Series (n_periods,)
        Decimal per-period returns.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    float
        As :func:`up_capture` over the periods where the benchmark fell.
    """
    return _capture(returns, benchmark, False, periods_per_year)


def performance_summary(
    returns: pd.Series,
    benchmark: pd.Series | None = None,
    risk_free_rate: float = 0.0,
    periods_per_year: int = 252,
) -> pd.Series:
    """Every metric of this module for one return series.

    Parameters
    ----------
    returns : Series (n_periods,)
        Decimal per-period returns.
    benchmark : Series (n_periods,), optional
        Benchmark returns; the relative metrics are NaN without it. The absolute metrics are
        computed on the common dates when it is given.
    risk_free_rate : float
        Annual decimal rate.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    Series
        Indexed by the keys of :data:`METRIC_LABELS`; decimals (ratios for the ratios).

    Raises
    ------
    BacktestError
        If the benchmark shares fewer than two dates with the returns.
    """
    r = _clean(returns)
    out = dict.fromkeys(METRIC_LABELS, float("nan"))
    if benchmark is not None:
        r, b = align(r, benchmark)
        out.update(
            tracking_error=tracking_error(r, b, periods_per_year),
            information_ratio=information_ratio(r, b, periods_per_year),
            beta=beta(r, b, risk_free_rate, periods_per_year),
            alpha=jensen_alpha(r, b, risk_free_rate, periods_per_year),
            up_capture=up_capture(r, b, periods_per_year),
            down_capture=down_capture(r, b, periods_per_year),
        )
    out.update(
        annual_return=annualized_return(r, periods_per_year),
        annual_volatility=annualized_volatility(r, periods_per_year),
        sharpe_ratio=sharpe_ratio(r, risk_free_rate, periods_per_year),
        sortino_ratio=sortino_ratio(r, risk_free_rate, periods_per_year),
        max_drawdown=max_drawdown(r),
    )
    return pd.Series(out, name=getattr(returns, "name", None))


def performance_table(
    returns: pd.DataFrame,
    benchmark: pd.Series | None = None,
    risk_free_rate: float = 0.0,
    periods_per_year: int = 252,
) -> pd.DataFrame:
    """:func:`performance_summary` of several return series side by side.

    Parameters
    ----------
    returns : DataFrame (n_periods, n_strategies)
        Decimal per-period returns, one column per strategy.
    benchmark : Series (n_periods,), optional
        Benchmark returns.
    risk_free_rate : float
        Annual decimal rate.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    DataFrame (n_metrics, n_strategies)
        Rows keyed as :data:`METRIC_LABELS`.
    """
    return pd.DataFrame(
        {
            col: performance_summary(returns[col], benchmark, risk_free_rate, periods_per_year)
            for col in returns.columns
        }
    )


def yearly_returns(returns: pd.Series | pd.DataFrame) -> pd.DataFrame:
    """Compounded return per calendar year.

    Parameters
    ----------
    returns : Series or DataFrame (n_periods, n_strategies)
        Decimal per-period returns on a DatetimeIndex.

    Returns
    -------
    DataFrame (n_years, n_strategies)
        Decimal return of each calendar year (partial first and last years included), indexed
        by year.
    """
    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    out = (1.0 + frame.fillna(0.0)).groupby(frame.index.year).prod() - 1.0
    out.index.name = "year"
    return out


def fixed_weight_returns(prices: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """Returns of a portfolio held at constant weights (rebalanced every period).

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Adjusted closes.
    weights : Series (n_assets,)
        Decimal weights indexed by ticker (missing tickers count as zero).

    Returns
    -------
    Series (n_observations - 1,)
        ``R w`` per period, decimal. This is the return the estimators and the optimiser
        assume; a buy-and-hold portfolio drifts away from it.
    """
    rets = prices.pct_change(fill_method=None).iloc[1:]
    w = weights.reindex(rets.columns).fillna(0.0)
    return (rets @ w).rename("portfolio")


def benchmark_weights(
    tickers: list[str],
    benchmark_ticker: str | None = None,
    market_caps: pd.Series | None = None,
) -> tuple[pd.Series, str]:
    """Weights standing in for the benchmark's, for active weights.

    An index's constituent weights are rarely loaded. When the benchmark is one of the
    universe's tickers its weight is 1; otherwise the universe's market-capitalisation weights
    (the CAPM market portfolio restricted to the universe) stand in for the index, or equal
    weights when market caps are unknown.

    Parameters
    ----------
    tickers : list of str
        The universe.
    benchmark_ticker : str, optional
        The benchmark when it is a ticker of the universe.
    market_caps : Series, optional
        Market capitalisation per ticker (any unit).

    Returns
    -------
    tuple of (Series (n_assets,), str)
        Decimal weights summing to 1, and a phrase saying what they are.
    """
    if benchmark_ticker is not None and benchmark_ticker in tickers:
        w = pd.Series(0.0, index=tickers)
        w[benchmark_ticker] = 1.0
        return w, f"100 % in {benchmark_ticker}"
    caps = None if market_caps is None else pd.Series(market_caps).reindex(tickers)
    if caps is not None and caps.notna().all() and (caps > 0).all():
        return caps / caps.sum(), "market-capitalisation weights of the universe (proxy)"
    return pd.Series(1.0 / len(tickers), index=tickers), "equal weights of the universe (proxy)"


def active_weights(
    weights: pd.Series, reference: pd.Series, sectors: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """Active weights (portfolio minus benchmark) by asset and by sector.

    Parameters
    ----------
    weights : Series (n_assets,)
        Portfolio decimal weights.
    reference : Series (n_assets,)
        Benchmark decimal weights (e.g. from :func:`benchmark_weights`).
    sectors : Series, optional
        Ticker -> sector; unknown tickers count as ``"Unknown"``.

    Returns
    -------
    tuple of Series
        Active weight per asset and per sector, decimals summing to 0 for fully invested
        portfolios.
    """
    index = weights.index.union(reference.index, sort=False)
    active = weights.reindex(index).fillna(0.0) - reference.reindex(index).fillna(0.0)
    labels = (pd.Series(sectors) if sectors is not None else pd.Series(dtype=str)).reindex(index)
    by_sector = active.groupby(labels.fillna("Unknown")).sum()
    return active.rename("active_weight"), by_sector.rename("active_weight")


def ex_ante_tracking_error(active: pd.Series, cov: pd.DataFrame) -> float:
    r"""Ex-ante (predicted) tracking error of active weights, ``sqrt(a' Sigma a)``.

    Parameters
    ----------
    active : Series (n_assets,)
        Active decimal weights.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance.

    Returns
    -------
    float
        Annualised decimal tracking error predicted by the covariance.

    References
    ----------
    Grinold & Kahn (2000), ch. 5.
    """
    a = active.reindex(cov.index).fillna(0.0).to_numpy()
    return float(np.sqrt(max(a @ cov.to_numpy() @ a, 0.0)))


def benchmark_from_csv(data: bytes, name: str = "Uploaded benchmark") -> pd.Series:
    """A benchmark level series from CSV bytes: a date column then a level (or price) column.

    Parameters
    ----------
    data : bytes
        CSV with a header row; the first column holds dates, the last numeric column levels.
    name : str
        Name given to the series.

    Returns
    -------
    Series (n_observations,)
        Positive levels on a sorted, unique DatetimeIndex.

    Raises
    ------
    DataError
        Unreadable file, no dates, no numeric column, non-positive levels, fewer than 2 rows.
    """
    from core.exceptions import DataError

    try:
        frame = pd.read_csv(io.BytesIO(data))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"The benchmark file cannot be read as CSV ({exc}).") from exc
    if frame.shape[1] < 2:
        raise DataError("The benchmark CSV needs a date column and a level column.")
    dates = pd.to_datetime(frame.iloc[:, 0], errors="coerce")
    numeric = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce")
    cols = [c for c in numeric.columns if numeric[c].notna().any()]
    if dates.isna().all() or not cols:
        raise DataError("The benchmark CSV needs dates in its first column and numbers after.")
    series = pd.Series(numeric[cols[-1]].to_numpy(), index=dates, name=name)
    series = series[series.index.notna()].dropna().sort_index()
    series = series[~series.index.duplicated(keep="last")]
    if len(series) < 2 or (series <= 0).any():
        raise DataError("The benchmark needs at least two positive levels.")
    series.index = pd.DatetimeIndex(series.index).tz_localize(None).as_unit("ns")
    return series
