"""Walk-forward rebalancing backtests against buy-and-hold, equal weight and a benchmark.

Conventions
-----------
Prices are a ``DataFrame (n_observations, n_assets)`` of adjusted closes (daily). A decision at
the close of day ``t`` uses prices up to and including ``t`` only (the trailing ``lookback``
returns ending at ``t``) and trades at that close; the new weights earn the returns from
``t + 1`` on. Between rebalances the positions drift with prices (no implicit daily
rebalancing). Wealth starts at 1 on the first rebalance date ("growth of 1"); all figures are
after transaction costs.

Transaction costs are ``cost_bps / 10_000`` times the traded value (buys plus sells, in money),
paid at the rebalance. The post-trade value ``V'`` solves ``V' = V - c * sum_i |w_i V' - h_i|``
(``h`` the drifted positions in money, ``w`` the target weights), so that the cost is exactly
the rate times the value actually traded. Turnover at a rebalance is the traded value over the
portfolio's value before trading; the initial investment is not counted as turnover but its
cost is paid.

Estimation at each date uses Ballast's estimators (``core.estimators``); the sample,
Ledoit-Wolf, OAS, mean and exponentially weighted mean are computed here directly with numpy
and scikit-learn on the window's returns (the same numbers as ``core.estimators``, which goes
through PyPortfolioOpt's pandas wrappers and costs ~20 ms a call), the others by
``core.estimators`` itself. The optimisation at each date is ``core.optimization.optimize``'s
engine on arrays (:func:`core.optimization.optimal_weights`, the critical-line walk stopped at
the wanted point), with the constraints' matrix form computed once. The benchmark objectives
(minimum tracking error, maximum information ratio) estimate the window's assets and the
benchmark together and call :func:`core.optimization.optimize` (their tracking error
``sqrt((w - b)' Sigma (w - b))`` needs the benchmark in the covariance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import covariance as sk_covariance

from core import estimators
from core.constraints import Constraints
from core.exceptions import BacktestError, BallastError, EstimationError
from core.optimization import (
    BENCHMARK_OBJECTIVES,
    OBJECTIVES,
    Objective,
    optimal_weights,
    optimize,
)
from core.performance import levels_on, performance_table, yearly_returns

__all__ = [
    "SCHEDULES",
    "STRATEGY",
    "BUY_AND_HOLD",
    "EQUAL_WEIGHT",
    "BacktestResult",
    "first_position",
    "rebalance_positions",
    "window_estimates",
    "run_backtest",
]

#: Rebalancing schedules: name -> label for the user.
SCHEDULES: dict[str, str] = {
    "monthly": "Monthly (last trading day)",
    "quarterly": "Quarterly (last trading day)",
    "yearly": "Yearly (last trading day)",
    "threshold": "When a weight leaves its target +- band (checked daily)",
    "never": "Never (hold the initial allocation)",
}

STRATEGY = "Strategy"
BUY_AND_HOLD = "Buy and hold"
EQUAL_WEIGHT = "Equal weight"

_FAST_RETURNS = ("mean_historical", "ema_historical")
_FAST_COVARIANCE = ("sample", "ledoit_wolf", "oas", "exp_cov")


@dataclass(frozen=True)
class BacktestResult:
    """Outcome of :func:`run_backtest`.

    Attributes
    ----------
    equity : DataFrame (n_days, n_series)
        Growth of 1 after costs from the first rebalance date, columns :data:`STRATEGY`,
        :data:`BUY_AND_HOLD`, :data:`EQUAL_WEIGHT` and the benchmark's name when given.
    returns : DataFrame (n_days - 1, n_series)
        Daily decimal returns of the same series.
    weights : DataFrame (n_rebalances, n_assets)
        Target weights the strategy chose at each rebalance date (decimal).
    events : DataFrame
        One row per trade date and portfolio: ``portfolio``, ``date``, ``turnover`` (traded
        value / value before trading, decimal), ``traded_value`` and ``cost`` (in units of the
        initial wealth of 1).
    summary : DataFrame (n_metrics, n_series)
        ``core.performance.performance_table`` against the benchmark, plus rows
        ``turnover`` (annualised, decimal), ``costs`` (cost drag: each trade's cost over the
        portfolio's value before it, summed and divided by the years, decimal a year) and
        ``rebalances`` (count).
    yearly : DataFrame (n_years, n_series)
        Calendar-year decimal returns.
    notes : tuple of str
        Dates where the optimiser failed and the previous weights were kept, and similar.
    settings : dict
        The inputs (schedule, lookback, costs, band, estimators, objective, start, end).
    """

    equity: pd.DataFrame
    returns: pd.DataFrame
    weights: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    yearly: pd.DataFrame
    notes: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)


def rebalance_positions(index: pd.DatetimeIndex, schedule: str, first: int) -> np.ndarray:
    """Row positions of the scheduled rebalance dates from ``first`` on.

    Parameters
    ----------
    index : DatetimeIndex (n_observations,)
        Trading dates.
    schedule : str
        A key of :data:`SCHEDULES`. ``"threshold"`` and ``"never"`` have no calendar dates
        beyond ``first``.
    first : int
        Position of the first rebalance (the initial investment).

    Returns
    -------
    ndarray of int
        Sorted positions: ``first``, then the last trading day of each month, quarter or year
        after it (the data's last day excluded: a trade there would earn nothing).

    Raises
    ------
    BacktestError
        If the schedule is unknown.
    """
    if schedule not in SCHEDULES:
        raise BacktestError(f"Unknown schedule {schedule!r}; use one of {', '.join(SCHEDULES)}.")
    if schedule in ("threshold", "never"):
        return np.array([first])
    freq = {"monthly": "M", "quarterly": "Q", "yearly": "Y"}[schedule]
    periods = index.to_period(freq)
    ends = np.flatnonzero(periods[:-1] != periods[1:])
    return np.concatenate([[first], ends[ends > first]]).astype(int)


def _ema_weights(n: int, span: int) -> np.ndarray:
    # pandas' ewm(span=..., adjust=True) weights, oldest first.
    alpha = 2.0 / (span + 1.0)
    w = (1.0 - alpha) ** np.arange(n - 1, -1, -1)
    return w / w.sum()


def window_estimates(
    returns: np.ndarray,
    returns_method: str,
    cov_method: str,
    periods_per_year: int = 252,
    span: int = 500,
    cov_span: int = estimators.EXP_COV_SPAN,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Annualised expected returns and covariance of one window of returns, by numpy/sklearn.

    Parameters
    ----------
    returns : ndarray (n_periods, n_assets)
        Simple per-period decimal returns of the window (no missing values).
    returns_method : str
        ``"mean_historical"`` or ``"ema_historical"`` (else None is returned).
    cov_method : str
        ``"sample"``, ``"ledoit_wolf"``, ``"oas"`` or ``"exp_cov"`` (else None is returned;
        also for ``"exp_cov"`` with no more returns than assets, where ``core.estimators``
        uses Ledoit-Wolf instead and says why).
    periods_per_year : int
        252 for daily data.
    span : int
        Span of the exponential weights for ``"ema_historical"`` (as ``core.estimators``).
    cov_span : int
        Span of the exponential weights for ``"exp_cov"`` (as ``core.estimators.covariance``).

    Returns
    -------
    tuple of ndarray or None
        ``(mu (n_assets,), cov (n_assets, n_assets))``, equal to
        ``core.estimators.expected_returns`` / ``covariance`` on the window's prices; None when a
        method has no fast path here.

    References
    ----------
    Ledoit & Wolf (2004); Chen et al. (2010); scikit-learn ``covariance.ledoit_wolf``/``oas``,
    which PyPortfolioOpt's ``CovarianceShrinkage`` calls.
    """
    if returns_method not in _FAST_RETURNS or cov_method not in _FAST_COVARIANCE:
        return None
    if cov_method == "exp_cov" and returns.shape[0] <= returns.shape[1]:
        return None  # singular: the estimators' Ledoit-Wolf fallback, with its note
    if returns_method == "mean_historical":
        mu = returns.mean(axis=0) * periods_per_year
    else:
        mu = _ema_weights(len(returns), span) @ returns * periods_per_year
    if cov_method == "sample":
        cov = np.cov(returns, rowvar=False, ddof=1)
    elif cov_method == "ledoit_wolf":
        cov = sk_covariance.ledoit_wolf(returns)[0]
    elif cov_method == "oas":
        cov = sk_covariance.oas(returns)[0]
    else:  # annualised before PyPortfolioOpt's PSD repair, as core.estimators.covariance
        cov = estimators.exp_cov_of_returns(returns, cov_span, periods_per_year)
        return mu, (cov + cov.T) / 2
    cov = np.atleast_2d(cov) * periods_per_year
    return mu, (cov + cov.T) / 2


def _trade(value: float, holdings: np.ndarray, target: np.ndarray, rate: float):
    """Post-trade value and traded value of moving ``holdings`` (money) to ``target`` weights."""
    after = value
    for _ in range(100):
        new = value - rate * float(np.abs(target * after - holdings).sum())
        if abs(new - after) <= 1e-15 * max(1.0, abs(value)):
            after = new
            break
        after = new
    traded = float(np.abs(target * after - holdings).sum())
    return value - rate * traded, traded


def _simulate(
    prices: np.ndarray,
    first: int,
    decide: Callable[[int], np.ndarray | None],
    scheduled: np.ndarray,
    band: float | None,
    rate: float,
) -> tuple[np.ndarray, list[tuple[int, float, float, float]]]:
    """Wealth path and trade events of one portfolio (see the module docstring)."""
    n_obs, n_assets = prices.shape
    values = np.full(n_obs, np.nan)
    events: list[tuple[int, float, float, float]] = []
    holdings = np.zeros(n_assets)
    value, t, target = 1.0, first, None
    sched = list(scheduled[1:]) + [n_obs - 1]
    while True:
        chosen = decide(t)
        if chosen is not None:
            target = chosen
            before = value
            value, traded = _trade(value, holdings, target, rate)
            holdings = target * value
            events.append((t, traded / before if before > 0 else np.nan, traded, before - value))
        values[t] = value
        if value <= 0:
            raise BacktestError("A portfolio lost all its value in the backtest; check shorts.")
        while sched and sched[0] <= t:
            sched.pop(0)
        nxt = sched[0] if sched else n_obs - 1
        if band is not None and target is not None:
            # Daily drift check: the first day any weight leaves target +- band.
            stop = n_obs - 1
            start = t + 1
            while start <= stop:
                end = min(stop, start + 252)
                path = (prices[start : end + 1] / prices[t]) * holdings
                w = path / path.sum(axis=1, keepdims=True)
                out = np.flatnonzero(np.abs(w - target).max(axis=1) > band)
                if len(out):
                    nxt = start + int(out[0])
                    break
                start = end + 1
            else:
                nxt = stop
        if nxt <= t:
            break
        path_values = (prices[t + 1 : nxt + 1] / prices[t]) @ holdings
        values[t + 1 : nxt + 1] = path_values
        holdings = holdings * prices[nxt] / prices[t]
        value = float(path_values[-1])
        t = nxt
        if t >= n_obs - 1:
            break
    return values, events


def _joint_weights(t, lookback, prices, bench_prices, bench_name, objective, constraints,
                   returns_method, cov_method) -> np.ndarray:  # fmt: skip
    """Weights of a benchmark objective at ``t``: assets and benchmark estimated together."""
    wp = prices.iloc[t - lookback : t + 1]
    bp = bench_prices.iloc[t - lookback : t + 1]
    if bench_name not in wp.columns:
        wp = wp.assign(**{bench_name: bp.to_numpy()}).dropna()
    if len(wp) < 20:
        raise EstimationError(f"The benchmark {bench_name} has too few prices in the window.")
    mu = estimators.expected_returns(wp, returns_method, benchmark=bp.reindex(wp.index),
                                     risk_free_rate=objective.risk_free_rate)  # fmt: skip
    cov = estimators.covariance(wp, cov_method)
    weights = optimize(mu, cov, objective, constraints).weights
    return weights.reindex(prices.columns).fillna(0.0).to_numpy(dtype=float)


def run_backtest(
    prices: pd.DataFrame,
    objective: Objective | str = "max_sharpe",
    constraints: Constraints | None = None,
    *,
    schedule: str = "monthly",
    lookback: int = 756,
    cost_bps: float = 10.0,
    drift_band: float = 0.05,
    returns_method: str = "mean_historical",
    cov_method: str = "ledoit_wolf",
    benchmark: pd.Series | None = None,
    start: pd.Timestamp | str | None = None,
    periods_per_year: int = 252,
    progress: Callable[[float, str], None] | None = None,
) -> BacktestResult:
    """Walk-forward backtest of the optimised strategy, buy-and-hold, equal weight, benchmark.

    At each rebalance date the strategy estimates expected returns and covariance on the
    trailing ``lookback`` daily returns only, optimises with the objective and constraints,
    and trades to the new weights at that close. Buy-and-hold keeps the strategy's first
    portfolio; equal weight is rebalanced to ``1/n`` on the same schedule.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Daily adjusted closes, no missing values.
    objective : Objective or str
        The optimiser's objective (its risk-free rate is used for the Sharpe ratios too). The
        benchmark objectives need ``benchmark`` and ``benchmark_weights`` naming it (or tickers
        of ``prices``): ``{benchmark.name: 1.0}`` for the index itself.
    constraints : Constraints, optional
        The optimiser's constraints (default long-only, fully invested).
    schedule : str
        A key of :data:`SCHEDULES`.
    lookback : int
        Trailing window in trading days (756 = three years).
    cost_bps : float
        Transaction costs in basis points of traded value (10 = 0.10 %).
    drift_band : float
        Decimal band for ``"threshold"``: rebalance when any weight leaves target +- band.
    returns_method, cov_method : str
        Estimators, as in ``core.estimators``.
    benchmark : Series (n_observations,), optional
        Benchmark level; compared over the backtest's dates.
    start : Timestamp or str, optional
        First rebalance date (the first trading day on or after it); default: the first date
        with a full lookback window.
    periods_per_year : int
        252 for daily data.
    progress : callable, optional
        ``progress(fraction, message)``, called after each optimisation (for a progress bar).

    Returns
    -------
    BacktestResult

    Raises
    ------
    BacktestError
        Lookback longer than the data, no dates left after the lookback or ``start``, unknown
        schedule, negative costs or band, missing prices, a benchmark without overlap, or a
        benchmark objective without the benchmark's prices.

    References
    ----------
    Bailey, Borwein, Lopez de Prado & Zhu (2014), "Pseudo-mathematics and financial
    charlatanism" on out-of-sample testing; DeMiguel, Garlappi & Uppal (2009), "Optimal versus
    naive diversification" for the 1/n comparison.
    """
    if isinstance(objective, str):
        objective = Objective(kind=objective)
    constraints = constraints or Constraints()
    if prices.isna().any().any():
        bad = prices.columns[prices.isna().any()].tolist()
        raise BacktestError(f"Missing prices for {', '.join(map(str, bad))}; cannot backtest.")
    if cost_bps < 0 or drift_band <= 0:
        raise BacktestError("Costs must be >= 0 bps and the drift band positive.")
    n_obs, n_assets = prices.shape
    lookback = int(lookback)
    first = first_position(prices.index, lookback, start, periods_per_year, "backtest")
    bench = None
    if benchmark is not None:
        bench = levels_on(benchmark, prices.index).iloc[first:]
        if bench.notna().sum() < 2:
            raise BacktestError(
                f"The benchmark {benchmark.name or ''} has no overlap with the backtest's dates "
                f"({prices.index[first].date()} to {prices.index[-1].date()})."
            )

    tickers = list(prices.columns)
    joint = objective.kind in BENCHMARK_OBJECTIVES
    bench_name = None if benchmark is None else str(benchmark.name or "Benchmark")
    if joint:
        if benchmark is None:
            raise BacktestError(
                f"{OBJECTIVES[objective.kind]} is backtested against the benchmark's prices: "
                "choose a benchmark with prices over the backtest's dates."
            )
        named = {str(k) for k in dict(objective.benchmark_weights)}
        unknown = sorted(named - set(tickers) - {bench_name})
        if unknown:
            raise BacktestError(
                f"The benchmark weights name {', '.join(unknown)}, which are neither the "
                f"benchmark {bench_name} nor assets of the backtest."
            )
    px = prices.to_numpy(dtype=float)
    rets = np.vstack([np.full((1, n_assets), np.nan), px[1:] / px[:-1] - 1.0])
    bench_prices = None if benchmark is None else levels_on(benchmark, prices.index)
    positions = rebalance_positions(prices.index, schedule, first)
    band = drift_band if schedule == "threshold" else None
    rate = cost_bps / 10_000.0
    expected_calls = len(positions) if schedule != "threshold" else None
    try:
        lin = constraints.linear_form(tickers)
    except BallastError as exc:
        raise BacktestError(f"The constraints cannot be met: {exc}") from exc
    chosen: dict[int, np.ndarray] = {}
    notes: list[str] = []
    last_good: list[np.ndarray] = []

    def decide(t: int) -> np.ndarray | None:
        if t in chosen:
            return chosen[t]
        window = rets[t - lookback + 1 : t + 1]
        date = prices.index[t].date()
        try:
            if joint:
                w = _joint_weights(t, lookback, prices, bench_prices, bench_name, objective,
                                   constraints, returns_method, cov_method)  # fmt: skip
            else:
                fast = window_estimates(window, returns_method, cov_method, periods_per_year)
                if fast is None:
                    wp = prices.iloc[t - lookback : t + 1]
                    bp = None if bench_prices is None else bench_prices.iloc[t - lookback : t + 1]
                    mu_s = estimators.expected_returns(
                        wp, returns_method, benchmark=bp, risk_free_rate=objective.risk_free_rate
                    )
                    cov_df = estimators.covariance(wp, cov_method)
                    fast = (mu_s.to_numpy(), cov_df.to_numpy())
                if not np.isfinite(fast[0]).all():
                    raise EstimationError("Some expected returns are missing or infinite.")
                w = optimal_weights(*fast, objective, lin, constraints.max_volatility)
            last_good.append(w)
        except BallastError as exc:
            if last_good:
                notes.append(f"{date}: kept the previous weights ({exc})")
                w = None
            else:
                notes.append(f"{date}: started from equal weights ({exc})")
                w = np.full(n_assets, 1.0 / n_assets)
                last_good.append(w)
        chosen[t] = w
        if progress is not None:
            done = len(chosen)
            frac = done / expected_calls if expected_calls else (t - first) / (n_obs - first)
            progress(min(1.0, frac), f"Rebalance {done}: {date}")
        return w

    values = {}
    values[STRATEGY], strat_events = _simulate(px, first, decide, positions, band, rate)
    initial = chosen[first] if chosen[first] is not None else np.full(n_assets, 1.0 / n_assets)
    values[BUY_AND_HOLD], bh_events = _simulate(
        px, first, lambda t: initial if t == first else None, np.array([first]), None, rate
    )
    equal = np.full(n_assets, 1.0 / n_assets)
    values[EQUAL_WEIGHT], ew_events = _simulate(px, first, lambda t: equal, positions, band, rate)
    index = prices.index[first:]
    equity = pd.DataFrame({k: v[first:] for k, v in values.items()}, index=index)
    if bench is not None:
        name = str(benchmark.name or "Benchmark")
        equity[name] = (bench / bench.dropna().iloc[0]).to_numpy()
    returns = equity.pct_change(fill_method=None).iloc[1:]

    rows = []
    for label, evs in ((STRATEGY, strat_events), (BUY_AND_HOLD, bh_events),
                       (EQUAL_WEIGHT, ew_events)):  # fmt: skip
        for t, turnover, traded, cost in evs:
            rows.append((label, prices.index[t], t, turnover, traded, cost))
    events = pd.DataFrame(
        rows, columns=["portfolio", "date", "position", "turnover", "traded_value", "cost"]
    )
    kept = {t: w for t, w in chosen.items() if w is not None}
    weights = pd.DataFrame(
        [kept[t] for t in sorted(kept)], index=prices.index[sorted(kept)], columns=tickers
    )
    weights.index.name = "date"

    bench_returns = None if bench is None else returns[equity.columns[-1]]
    summary = performance_table(returns, bench_returns, objective.risk_free_rate, periods_per_year)
    years = len(returns) / periods_per_year
    extra = {}
    for col in equity.columns:
        evs = events[events["portfolio"] == col]
        if col not in values:
            extra[col] = dict.fromkeys(("turnover", "costs", "rebalances"), np.nan)
            continue
        later = evs.iloc[1:]  # the initial investment is not turnover
        # Cost drag: each cost over the value before the trade (post-trade value + cost).
        before = values[col][evs["position"].to_numpy()] + evs["cost"].to_numpy()
        extra[col] = {
            "turnover": later["turnover"].sum() / years,
            "costs": float((evs["cost"].to_numpy() / before).sum() / years),
            "rebalances": float(len(later)),
        }
    summary = pd.concat([summary, pd.DataFrame(extra)])
    settings = {
        "schedule": schedule,
        "lookback": lookback,
        "cost_bps": float(cost_bps),
        "drift_band": float(drift_band),
        "returns_method": returns_method,
        "cov_method": cov_method,
        "objective": OBJECTIVES.get(objective.kind, objective.kind),
        "risk_free_rate": objective.risk_free_rate,
        "start": index[0].date(),
        "end": index[-1].date(),
        "benchmark": None if bench is None else str(benchmark.name or "Benchmark"),
    }
    events = events.drop(columns="position")
    return BacktestResult(
        equity=equity,
        returns=returns,
        weights=weights,
        events=events,
        summary=summary,
        yearly=yearly_returns(returns),
        notes=tuple(notes),
        settings=settings,
    )


def first_position(
    index: pd.DatetimeIndex,
    lookback: int,
    start: object = None,
    periods_per_year: int = 252,
    what: str = "backtest",
) -> int:
    """Position of the first date a walk-forward can trade: after the lookback and the start.

    Parameters
    ----------
    index : DatetimeIndex (n_observations,)
        The price dates.
    lookback : int
        Estimation window in trading days (at least 20).
    start : date-like, optional
        First date the user wants traded.
    periods_per_year : int
        Trading days a year, to state the lookback in years.
    what : str
        The verb of the messages ("backtest", "compare").

    Returns
    -------
    int
        Position in ``index`` of the first rebalancing date.

    Raises
    ------
    BacktestError
        A lookback under 20 days or longer than the data, or no dates left after it and the
        start.
    """
    n_obs = len(index)
    if lookback < 20:
        raise BacktestError("Use a lookback of at least 20 trading days.")
    if lookback >= n_obs - 1:
        raise BacktestError(
            f"The lookback of {lookback} trading days (~{lookback / periods_per_year:.1f} years) "
            f"is longer than the data ({n_obs} observations from "
            f"{index[0].date()} to {index[-1].date()}): shorten it."
        )
    first = lookback
    if start is not None:
        first = max(first, int(index.searchsorted(pd.Timestamp(start))))
    if first >= n_obs - 2:
        raise BacktestError(
            f"No dates are left to {what} after the {lookback}-day lookback"
            + (f" and the start {pd.Timestamp(start).date()}" if start is not None else "")
            + ": choose an earlier start or a shorter lookback."
        )
    return first
