"""One pipeline: a setup in, every result out, and the report built from those results.

Conventions
-----------
A :class:`Pipeline` is a :class:`core.setup.Setup` and the :class:`core.market_data.PriceData`
it runs on. Its results are computed on first use and kept (``functools.cached_property``):
estimates, the allocation (from cash or from the book), Black-Litterman, the efficient
frontier, VaR/CVaR and contributions, stress tests, the VaR backtest, benchmark tracking, the
walk-forward backtest (:meth:`Pipeline.run_backtest`, on demand: it is the slow one), the trade
plan and stop levels, and one :class:`core.reporting.ReportSection` per feature. Every result
is a function of the setup and the data only: the same setup gives the same numbers in the
dashboard, in the reports and in ``python -m ballast``.

The dashboard builds its pipeline from session state (``ui.state.pipeline``) and passes
:class:`Compute` with its cached wrappers (``ui.cache``) and the results it holds already (the
Black-Litterman posterior the user chose, an uploaded benchmark, the last backtest), so that
pages and reports share this code; the command line passes nothing and everything is computed.

Units: weights, returns and losses are decimals (0.01 = 1 %), annualised with 252 trading days
where it says so; VaR and CVaR are positive losses as fractions of the portfolio value; money
in the data's currency. Errors a user can fix raise :class:`core.exceptions.BallastError`.

A feature adds its report section with :func:`register_section` (a function of the pipeline
returning a section or None); :meth:`Pipeline.sections` asks every registered builder in order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core import black_litterman as bl
from core import compliance, estimators, mixed_integer, risk, setups, stress
from core import performance as perf
from core.constraints import Constraints
from core.estimators import COVARIANCE_ESTIMATORS, RETURN_ESTIMATORS, returns_from_prices
from core.exceptions import (
    BacktestError,
    BallastError,
    EstimationError,
    ExecutionError,
    OptimizationError,
    RiskInputError,
)
from core.market_data import PriceData
from core.optimization import (
    BENCHMARK_OBJECTIVES,
    OBJECTIVES,
    Objective,
    OptimizationResult,
    exposures,
    optimize,
    portfolio_performance,
    sector_exposure,
)
from core.reporting import ReportSection, ReportSummary, md_literal
from core.setup import Setup

__all__ = [
    "AUTO",
    "Compute",
    "Pipeline",
    "BookRun",
    "BLInputs",
    "BLOutcome",
    "FrontierView",
    "RiskInputs",
    "SectionStatus",
    "SECTIONS",
    "register_section",
    "bl_compute",
    "diversification_figures",
    "percent",
    "Finding",
    "CheckResult",
    "CHECKS",
    "register_check",
    "load_data",
    "check_against_data",
]

_log = logging.getLogger(__name__)

#: Take this result from the setup (the default of :class:`Pipeline`'s optional results).
AUTO: Any = type("Auto", (), {"__repr__": lambda self: "AUTO"})()

DATA, UPLOAD, YAHOO = "__data__", "__upload__", "__yahoo__"
#: He & Litterman's (1999) delta, used when the benchmark cannot give one.
FALLBACK_DELTA = 2.5
CURRENT, PROPOSAL = "Current book", "Proposal"
#: Random portfolios in the report's frontier chart (the page draws the setup's count).
REPORT_RANDOM = 2_000
#: Where the scenarios of the tail objectives come from: setup value -> label.
SCENARIO_SOURCES: dict[str, str] = {
    "historical": "Daily returns of the window",
    "normal": "Monte Carlo, normal",
    "student_t": "Monte Carlo, Student-t",
}
#: Objectives that measure tail risk on scenarios.
SCENARIO_KINDS = ("min_cvar", "min_cdar", "max_return")
#: Mean-variance objectives that a CVaR limit may join.
LIMITABLE = ("max_sharpe", "min_volatility", "target_return", "target_volatility", "max_utility",
             "min_cdar", "max_return")  # fmt: skip


def all_objectives() -> dict[str, str]:
    """Every objective: the mean-variance ones, then the tail-risk and hierarchical ones."""
    from core.tail_allocation import TAIL_OBJECTIVES

    return {**OBJECTIVES, **TAIL_OBJECTIVES}


def percent(x: float, digits: int = 2) -> str:
    """Format a decimal as a percentage, e.g. ``0.1234 -> '12.34 %'``.

    Parameters
    ----------
    x : float
        Decimal (0.01 = 1 %).
    digits : int
        Decimals shown after the point.

    Returns
    -------
    str
        E.g. ``"12.34 %"``.
    """
    return f"{x * 100:.{digits}f} %"


def diversification_figures(weights: pd.Series, effective_number: float) -> dict[str, float]:
    """Key figures of diversification for reports.

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights.
    effective_number : float
        ``1 / sum(w_i^2)`` of the weights.

    Returns
    -------
    dict of str to float
        ``{"Effective number of assets": n}`` for a long-only portfolio; with any negative
        weight, gross and net exposure (decimals of capital) instead.
    """
    e = exposures(weights)
    if e["short"] < -1e-6:
        return {"Gross exposure (long + |short|)": e["gross"],
                "Net exposure (long - |short|)": e["net"]}  # fmt: skip
    return {"Effective number of assets": effective_number}


def _yahoo_series(symbol: str, start: dt.date, end: dt.date) -> pd.Series:
    from core import market_data

    data = market_data.load_yahoo([symbol], start, end, benchmark=None, fetch_info=False)
    return data.prices[symbol].rename(symbol)


def _historical_stress(prices, weights, custom, benchmark):
    return stress.historical_stress(prices, weights, benchmark=benchmark,
                                    custom={n: (s, e) for n, s, e in custom})  # fmt: skip


def _risk_table(returns, weights, confidences, horizon, n_scenarios, dof, seed):
    return risk.risk_table(returns, weights, list(confidences), horizon,
                           n_scenarios=n_scenarios, dof=dof, seed=seed)  # fmt: skip


def _frontier(mu, cov, constraints, n_points, rf, max_return):
    from core import frontier

    return frontier.efficient_frontier(mu, cov, constraints, n_points, rf, max_return)


def _random(tickers, constraints, n, seed):
    from core import frontier

    return frontier.random_portfolios(list(tickers), constraints, n, seed)


def _active(mu, cov, b, constraints, n_points, rf):
    from core import optimization

    return optimization.active_frontier(mu, cov, b, constraints, n_points, rf)


def _simulated(returns, n_scenarios, distribution, seed):
    from core.scenario_optimization import simulate_scenarios

    return simulate_scenarios(returns, n_scenarios, distribution, seed=seed)


def _cvar_frontier(mu, scenarios, constraints, n_points, confidence):
    from core.scenario_optimization import mean_cvar_frontier

    return mean_cvar_frontier(mu, scenarios, constraints, n_points, confidence)


def _expected_returns(prices, method, benchmark, rf):
    return estimators.expected_returns(prices, method, benchmark=benchmark, risk_free_rate=rf)


def _no_memo(name, owners, key, build):
    return build()


@dataclass(frozen=True)
class Compute:
    """The core functions the pipeline calls for its heavy steps (the dashboard caches them).

    Each attribute has the signature of the ``ui.cache`` wrapper of the same name; by default
    the uncached core function.

    Attributes
    ----------
    expected_returns : callable
        ``(prices, method, benchmark, risk_free_rate) -> Series``.
    covariance : callable
        ``(prices, method) -> DataFrame``.
    risk_table, var_backtest, historical_stress, efficient_frontier, random_portfolios,
    active_frontier, yahoo_series, simulated_scenarios, mean_cvar_frontier : callable
        As :mod:`core.risk`, :mod:`core.stress`, :mod:`core.frontier`,
        :func:`core.optimization.active_frontier`, :func:`core.market_data.load_yahoo`,
        :mod:`core.scenario_optimization`.
    optimize : callable
        ``(expected_returns, cov, objective, constraints, scenarios=None) -> OptimizationResult``,
        as :func:`core.optimization.optimize` (the setup's allocation).
    memo : callable
        ``(name, owners, key, build) -> value``: ``build()``, or what it returned before for
        ``key`` while the objects in the tuple ``owners`` are the same (compared by identity).
        The pipeline builds its window and the joint table of the universe and the benchmark
        through it, so that a session's next pipeline on the same data gets the same tables
        and the estimators' caches can recognise them without hashing them again. By default
        nothing is remembered.
    """

    expected_returns: Callable = _expected_returns
    covariance: Callable = estimators.covariance
    risk_table: Callable = _risk_table
    var_backtest: Callable = risk.var_backtest
    historical_stress: Callable = _historical_stress
    efficient_frontier: Callable = _frontier
    random_portfolios: Callable = _random
    active_frontier: Callable = _active
    yahoo_series: Callable = _yahoo_series
    simulated_scenarios: Callable = _simulated
    mean_cvar_frontier: Callable = _cvar_frontier
    optimize: Callable = optimize
    memo: Callable = _no_memo


# --- result types -------------------------------------------------------------------------
@dataclass(frozen=True)
class BookRun:
    """What one optimisation from the setup used, kept beside its result.

    Attributes
    ----------
    expected_returns : Series (n,)
        Annualised decimal expected returns, assets and (when used) the benchmark index.
    cov : DataFrame (n, n)
        Annualised covariance on the same index.
    benchmark : str or None
        Name of the benchmark (an asset or the index) in ``benchmark_cov``; None without one.
    benchmark_cov : DataFrame or None
        Annualised covariance of the universe and the benchmark, estimated together, for the
        tracking error (``cov`` itself when the optimisation used the benchmark).
    investable : list of str
        The universe (the index is not investable).
    current_weights : Series or None
        ``w0`` on the universe, decimals of the book's value; None when starting from cash.
    cash_weight : float
        Cash as a decimal of the book's value (0 from cash).
    book_value : float
        Holdings plus cash, in the data's currency (the capital from cash).
    """

    expected_returns: pd.Series
    cov: pd.DataFrame
    benchmark: str | None
    benchmark_cov: pd.DataFrame | None
    investable: list[str]
    current_weights: pd.Series | None
    cash_weight: float
    book_value: float


@dataclass(frozen=True)
class BLInputs:
    """Everything a Black-Litterman confidence-slider move needs, fixed while sliders move.

    Attributes
    ----------
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance of the universe (the user's estimator), the prior's Sigma.
    market_weights : Series (n_assets,)
        Decimal weights of the prior's market portfolio.
    delta : float
        Risk aversion.
    delta_note : str
        Where delta comes from, for the user.
    tau : float
        Uncertainty scale of the prior mean.
    risk_free_rate : float
        Annual decimal.
    prior : Series (n_assets,)
        Market-implied returns, annualised decimal.
    views : core.black_litterman.ViewSet
        The parsed views (confidences from the setup).
    omega_method : str
        ``"idzorek"``, ``"proportional"`` or ``"variance"``.
    objective : Objective or None
        The Allocation page's objective (with the benchmark's weights for the benchmark
        objectives); None when it cannot be built (``objective_error`` says why).
    constraints : Constraints
        The Allocation page's constraints (with its tracking-error cap).
    benchmark_returns : Series or None
        Expected returns (annualised decimals) of the benchmark-only assets (the index), which
        the optimisation appends to the posterior; None without a benchmark.
    benchmark_cov : DataFrame or None
        Covariance of the assets and the benchmark estimated together, used by the
        optimisation instead of ``cov`` when the objective or a limit needs the benchmark.
    objective_error : str
        Why there is no objective ("" when there is one).
    scenarios : DataFrame or None
        Return scenarios of the tail objectives (as the Allocation page's), None without.
    """

    cov: pd.DataFrame
    market_weights: pd.Series
    delta: float
    delta_note: str
    tau: float
    risk_free_rate: float
    prior: pd.Series
    views: bl.ViewSet
    omega_method: str
    objective: Objective | None
    constraints: Constraints
    benchmark_returns: pd.Series | None = None
    benchmark_cov: pd.DataFrame | None = None
    objective_error: str = ""
    scenarios: pd.DataFrame | None = None


@dataclass(frozen=True)
class BLOutcome:
    """Posterior, both portfolios, the posterior table and the figures.

    Attributes
    ----------
    inputs : BLInputs
    confidences : ndarray (n_views,)
        Confidences used (decimal).
    result : core.black_litterman.BlackLittermanResult
    bl_weights : Series (n_assets,)
        Unconstrained Black-Litterman weights, ``(delta Sigma_post)^-1 (mu_post - r_f)``.
    optimised : OptimizationResult or None
        The portfolio under the setup's objective and constraints, on the posterior returns
        and the prior covariance; None when it failed.
    optimisation_error : str
        Why the optimisation failed ("" when it did not).
    table : DataFrame (n_assets, 7)
        Per asset: market weight, prior and posterior return, tilt, posterior volatility,
        unconstrained BL and optimised weights (decimals).
    figures : dict of str to Figure
        ``"returns"``, ``"weights"``, ``"changes"``, and the three as one figure,
        ``"panels"`` (:func:`core.charts.black_litterman.panels`, what the page draws).
    """

    inputs: BLInputs
    confidences: np.ndarray
    result: bl.BlackLittermanResult
    bl_weights: pd.Series
    optimised: OptimizationResult | None
    optimisation_error: str
    table: pd.DataFrame
    figures: dict[str, go.Figure] = field(default_factory=dict)


@dataclass(frozen=True)
class FrontierView:
    """The efficient frontier and everything drawn around it.

    Attributes
    ----------
    frontier : core.frontier.Frontier
        The frontier under the setup's estimates and constraints.
    assets : DataFrame
        Per asset (index: ticker) ``expected_return`` and ``volatility``, annualised decimals.
    cloud : DataFrame or None
        Random feasible portfolios: ``expected_return``, ``volatility``, ``sharpe_ratio``.
    overlays : dict of str to Frontier
        Unconstrained and second-estimator frontiers, by legend name.
    points : dict of str to (float, float)
        Current allocation and holdings as (volatility, expected return).
    notes : list of str
        Things the user should know (overlays that could not be drawn, ignored holdings).
    """

    frontier: Any
    assets: pd.DataFrame
    cloud: pd.DataFrame | None = None
    overlays: dict[str, Any] = field(default_factory=dict)
    points: dict[str, tuple[float, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RiskInputs:
    """Everything the risk figures need, read from the setup and the allocation.

    Attributes
    ----------
    weights : Series (n_assets,)
        Decimal weights of the allocation, by ticker of the universe.
    returns : DataFrame (n_obs, n_assets)
        Daily decimal asset returns over the date window.
    portfolio : Series (n_obs,)
        Daily portfolio returns over the window (constant weights).
    full_prices : DataFrame
        Adjusted closes of the universe over the whole loaded history.
    benchmark : Series or None
        Benchmark level over the whole history.
    sectors : Series
        Ticker -> sector.
    capital : float
        Portfolio value for money figures.
    currency : str
        Currency label (may be empty).
    confidences : tuple of float
    horizon : int
        Trading days.
    """

    weights: pd.Series
    returns: pd.DataFrame
    portfolio: pd.Series
    full_prices: pd.DataFrame
    benchmark: pd.Series | None
    sectors: pd.Series
    capital: float
    currency: str
    confidences: tuple[float, ...]
    horizon: int

    @cached_property
    def full_returns(self) -> pd.DataFrame:
        """Daily asset returns over the whole loaded history (complete rows only)."""
        return returns_from_prices(self.full_prices).dropna()

    @cached_property
    def full_portfolio(self) -> pd.Series:
        """Daily portfolio returns over the whole history at the current weights."""
        return risk.portfolio_returns(self.full_returns, self.weights)

    def money(self, fraction: float) -> str:
        """A decimal fraction of the portfolio as money, e.g. ``'2,345 USD'``."""
        return f"{fraction * self.capital:,.0f} {self.currency}".strip()


@dataclass(frozen=True)
class SectionStatus:
    """What became of one feature's report section.

    Attributes
    ----------
    module : str
        The feature's key (the dashboard: its ui module).
    label : str
        The feature's name for the user.
    status : str
        ``"ready"``, ``"no results"``, ``"not available"``, ``"error"`` (a BallastError:
        ``message``) or ``"bug"`` (any other exception: ``error``; ``message`` names only its
        type, the traceback goes to the log).
    section : ReportSection or None
    message : str
    error : Exception or None
    """

    module: str
    label: str
    status: str
    section: ReportSection | None = None
    message: str = ""
    error: Exception | None = None


# --- pure helpers -----------------------------------------------------------------------
def bl_compute(inputs: BLInputs, confidences: np.ndarray | None = None) -> BLOutcome:
    """Posterior, the unconstrained BL and the optimised portfolios, the table and figures.

    Parameters
    ----------
    inputs : BLInputs
    confidences : ndarray (n_views,), optional
        Slider values (decimal); the setup's confidences when omitted.

    Returns
    -------
    BLOutcome

    Raises
    ------
    BallastError
        From the posterior (bad views or omega). A failed optimisation does not raise: it is
        reported in ``optimisation_error``.

    References
    ----------
    He, G. & Litterman, R. (1999), "The Intuition Behind Black-Litterman Model Portfolios";
    Idzorek, T. (2005), "A step-by-step guide to the Black-Litterman model".
    """
    from core.charts import black_litterman as bl_charts

    views = inputs.views
    conf = views.confidences if confidences is None else np.asarray(confidences, dtype=float)
    kwargs: dict = {}
    if len(views) and inputs.omega_method == "idzorek":
        kwargs["confidences"] = conf
    elif len(views) and inputs.omega_method == "variance":
        vols = views.view_volatilities
        if np.isnan(vols).any():
            missing = ", ".join(str(views.P.index[i]) for i in np.flatnonzero(np.isnan(vols)))
            raise bl.ViewError(f"Give a view standard deviation for {missing}.")
        kwargs["omega"] = vols**2
    result = bl.posterior(inputs.prior, inputs.cov, views.P, views.Q, tau=inputs.tau, **kwargs)
    weights = bl.unconstrained_weights(
        result.returns, result.cov, inputs.delta, inputs.risk_free_rate
    )
    mu, cov = result.returns, inputs.cov
    if inputs.benchmark_cov is not None:  # as the Allocation page: the joint estimate
        mu, cov = pd.concat([result.returns, inputs.benchmark_returns]), inputs.benchmark_cov
    optimised, error = None, inputs.objective_error
    if inputs.objective is not None:
        try:
            # The critical-line engine stops at the wanted point: a move costs milliseconds.
            optimised = optimize(mu, cov, inputs.objective, inputs.constraints,
                                 scenarios=inputs.scenarios)  # fmt: skip
        except BallastError as exc:
            error = str(exc)
    if optimised is not None and set(optimised.weights.index) != set(result.returns.index):
        optimised = dataclasses.replace(
            optimised, weights=optimised.weights.reindex(result.returns.index).fillna(0.0))
    market = inputs.market_weights
    table = pd.DataFrame(
        {
            "Market weight": market,
            "Prior return (annualised)": result.prior_returns,
            "Posterior return (annualised)": result.returns,
            "Tilt (annualised)": result.tilt,
            "Posterior volatility (annualised)": np.sqrt(np.diag(result.cov)),
            "BL weight (unconstrained)": weights,
            "Optimised weight": optimised.weights if optimised else np.nan,
        }
    )
    portfolios = pd.DataFrame({"Market": market, "Black-Litterman (unconstrained)": weights})
    changes = pd.DataFrame({"Black-Litterman (unconstrained)": weights - market})
    if optimised is not None:
        portfolios["Optimised (your objective and constraints)"] = optimised.weights
        changes["Optimised"] = optimised.weights - market
    figures = {
        "returns": bl_charts.prior_posterior_returns(
            result.prior_returns, result.returns, views.P, views.Q, views.labels
        ),
        "weights": bl_charts.bl_weights(portfolios),
        "changes": bl_charts.weight_changes(changes),
    }
    # The page draws the three as one figure (one redraw a slider move, not three).
    figures["panels"] = bl_charts.panels(figures["returns"], figures["weights"],
                                         figures["changes"])  # fmt: skip
    return BLOutcome(inputs, conf, result, weights, optimised, error, table, figures)


def _number_pairs(bounds: Any, what: str) -> dict[str, tuple[float, float]]:
    """``{name: (min, max)}`` of finite decimals from a setup's bounds, or a named error.

    Raises
    ------
    core.exceptions.OptimizationError
        Naming every entry that is not a pair of finite numbers (a setup may hold ``"x"``).
    """
    import math

    if not isinstance(bounds, Mapping):
        raise OptimizationError(f"{what}: expected a table of minimum and maximum weights.")
    out, bad = {}, []
    for name, pair in bounds.items():
        try:
            lo, hi = (float(v) for v in pair)
            if isinstance(pair, str) or not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError
        except (TypeError, ValueError):
            bad.append(f"{name} ({pair!r})")
            continue
        out[str(name)] = (lo, hi)
    if bad:
        raise OptimizationError(
            f"{what} that are not a minimum and a maximum weight (numbers): {', '.join(bad)}. "
            "Correct them in the Constraints of the Allocation page."
        )
    return out


_UNBOUNDED = Constraints(long_only=False, weight_bounds=(-np.inf, np.inf))

_RETURN_REFERENCES = {
    "mean_historical": "annualised arithmetic mean of daily returns (252 a year)",
    "ema_historical": "exponentially weighted mean of daily returns, annualised (PyPortfolioOpt "
    "`ema_historical_return`)",
    "capm": "CAPM: risk-free rate plus beta to the benchmark times its excess return "
    "(Sharpe 1964, *Journal of Finance* 19(3); PyPortfolioOpt `capm_return`)",
}
_COVARIANCE_REFERENCES = {
    "ledoit_wolf": "Ledoit-Wolf shrinkage towards a constant-variance target (Ledoit & Wolf "
    "2004, *Journal of Multivariate Analysis* 88(2))",
    "sample": "sample covariance of daily returns, annualised",
    "oas": "oracle approximating shrinkage (Chen, Wiesel, Eldar & Hero 2010, *IEEE Transactions "
    "on Signal Processing* 58(10))",
    "exp_cov": "exponentially weighted covariance (RiskMetrics, J.P. Morgan 1996; PyPortfolioOpt "
    "`exp_cov`)",
    "semicovariance": "semicovariance of returns below 0 (Estrada 2006; PyPortfolioOpt "
    "`semicovariance`)",
}
PRIORS: dict[str, str] = {
    "market_caps": "Market-cap weights",
    "equal": "Equal weights (caps unknown)",
}
OMEGA_METHODS: dict[str, str] = {
    "idzorek": "Idzorek: from each view's confidence (sliders)",
    "proportional": "Proportional to the prior, diag(tau P Sigma P') (He & Litterman)",
    "variance": "Your view standard deviations (table column)",
}
_NOT_PCT = ("Sharpe ratio", "Number of trades")


def _tracking_error(w: pd.Series, run: BookRun) -> float:
    if run.benchmark is None or run.benchmark_cov is None:
        return float("nan")
    active = w.reindex(run.benchmark_cov.index).fillna(0.0)
    active[run.benchmark] -= 1.0
    a = active.to_numpy()
    return float(np.sqrt(max(a @ run.benchmark_cov.to_numpy() @ a, 0.0)))


def _attr(result: OptimizationResult, name: str, default: float) -> float:
    value = getattr(result, name, None)
    return default if value is None else float(value)


def zero_floors(limits: pd.Index, tickers: list[str]) -> pd.Index:
    """The limits among ``limits`` that are an asset's floor at 0 % (``"GE at least 0.0%"``).

    A long-only optimum leaves most assets at 0: each such floor binds, and listing them all
    would hide the limits a user sets. They are folded into one line on the page.

    Parameters
    ----------
    limits : Index
        Names of binding limits (``OptimizationResult.shadow_prices`` index).
    tickers : list of str
        The universe.

    Returns
    -------
    Index
        The names among ``limits`` that are 0 % floors, in their order.
    """
    floors = {f"{t} at least 0.0%" for t in tickers}
    return pd.Index([name for name in limits if name in floors], name=limits.name)


def shadow_table(result: OptimizationResult) -> pd.DataFrame:
    """What each binding limit costs: objective gained per percentage point of relaxation.

    Returns
    -------
    DataFrame (n_binding, 1)
        Index ``Limit`` (readable names); the limits a user sets first, largest gain first,
        then the assets' floors at 0 % (:func:`zero_floors`), largest first.
    """
    prices = getattr(result, "shadow_prices", None)
    column = "Objective gained per percentage point of relaxation"
    if prices is None or len(prices) == 0:
        return pd.DataFrame({column: []}, index=pd.Index([], name="Limit"))
    prices = pd.Series(prices, dtype=float)
    prices = prices[prices.abs() > 1e-12].sort_values(ascending=False)
    floors = zero_floors(prices.index, list(result.weights.index))
    prices = pd.concat([prices.drop(floors), prices.loc[floors]])
    frame = prices.rename(column).to_frame()
    frame.index.name = "Limit"
    return frame


def objective_units(kind: str) -> str:
    """In what the objective is measured, for the shadow-price table."""
    return {
        "max_sharpe": "Sharpe ratio",
        "min_volatility": "volatility, annualised decimal (a gain is a fall)",
        "target_return": "volatility, annualised decimal (a gain is a fall)",
        "target_volatility": "expected return net of amortised costs, annualised decimal",
        "max_utility": "utility mu'w - delta/2 w'Sigma w, annualised decimal",
        "min_tracking_error": "tracking error, annualised decimal (a gain is a fall)",
        "max_information_ratio": "information ratio",
    }.get(kind, kind)


def describe_source(descriptor: Any) -> str:
    """The data source descriptor in words; embedded files are named, not copied."""
    if not isinstance(descriptor, dict):
        return str(descriptor)[:200]
    kind = descriptor.get("kind")
    if kind == "sample":
        text = "The bundled S&P 500 sample"
    elif kind == "yahoo":
        tickers = descriptor.get("tickers") or []
        text = (f"Yahoo Finance: {len(tickers):,} tickers, {descriptor.get('start')} to "
                f"{descriptor.get('end')}")  # fmt: skip
        if descriptor.get("benchmark"):
            text += f", benchmark {descriptor['benchmark']}"
    elif kind == "upload":
        text = f"Uploaded file {descriptor.get('filename') or '(unnamed)'}"
        if descriptor.get("benchmark"):
            text += f", benchmark column {descriptor['benchmark']}"
    else:
        text = f"Data source {kind}"
    sectors = descriptor.get("sectors") or {}
    if sectors:
        text += f"; sectors set by you for {len(sectors):,} tickers"
    return text


# --- the pipeline ---------------------------------------------------------------------------
class Pipeline:
    """A setup and its data; every result computed on first use and kept.

    Parameters
    ----------
    setup : Setup
        The setup (a mapping of setup keys also works); universe and window left None are
        filled from the data as the dashboard fills them (:meth:`core.setup.Setup.resolve`).
    data : PriceData
        Every loaded ticker and date (the setup picks its universe and window).
    compute : Compute, optional
        The functions for the heavy steps (the dashboard passes cached ones).
    posterior : Series, None or AUTO
        Black-Litterman posterior expected returns to use when the setup says so; AUTO (the
        default) computes it from the setup's views, as loading a setup does.
    uploaded_benchmark : Series, optional
        Benchmark levels uploaded on the Rebalance page (``rebalance_benchmark`` ``__upload__``).
    allocation : OptimizationResult, BookRun pair, or AUTO
        An allocation computed already from this setup, with its :class:`BookRun`.
    backtest : BacktestResult or None
        The walk-forward backtest of this setup, when one was run (see :meth:`run_backtest`).
    resampled : ResampledFrontier or None
        The resampled frontier of this setup, when one was computed
        (:meth:`run_resampled_frontier`); the frontier's report section then includes it.
    comparison : Comparison or None
        The comparison of the setup's designs, when one was run (:meth:`run_comparison`).
    active_frontier : bool
        Add the active frontier to the frontier's report section (a toggle on its page).

    Notes
    -----
    Results are cached per instance: make a new one when the setup or the data change.
    """

    def __init__(
        self,
        setup: Setup | Mapping[str, Any],
        data: PriceData,
        *,
        compute: Compute | None = None,
        posterior: Any = AUTO,
        uploaded_benchmark: pd.Series | None = None,
        allocation: Any = AUTO,
        backtest: Any = None,
        resampled: Any = None,
        comparison: Any = None,
        active_frontier: bool = False,
    ) -> None:
        if not isinstance(setup, Setup):
            setup = Setup.from_mapping(setup)
        first, last = data.prices.index[0].date(), data.as_of.date()
        self.setup: Setup = setup.resolve(data.tickers, first, last)
        self.data = data
        self.compute = compute or Compute()
        self._posterior = posterior
        self.uploaded_benchmark = uploaded_benchmark
        self._allocation = allocation
        self.backtest = backtest
        self.resampled = resampled
        self.comparison = comparison
        self.show_active_frontier = active_frontier

    @property
    def ss(self) -> Setup:
        """The setup as a mapping of setup keys (``self.ss["risk_horizon"]``)."""
        return self.setup

    # --- data and estimates ----------------------------------------------------------------
    @cached_property
    def universe(self) -> list[str]:
        """Tickers of the universe, in order."""
        return list(self.setup.universe or ())

    @cached_property
    def window(self) -> PriceData:
        """The data restricted to the universe and the date window.

        Raises
        ------
        core.exceptions.DataError
            If the window or universe is unusable (the message says why).
        """
        w, data, universe = self.setup.window, self.data, self.universe
        return self.compute.memo(
            "window", (data,), (tuple(universe), w.start, w.end),
            lambda: data.subset(universe, pd.Timestamp(w.start), pd.Timestamp(w.end)),
        )  # fmt: skip

    @cached_property
    def historical_estimates(self) -> tuple[pd.Series, pd.DataFrame]:
        """Annualised expected returns and covariance from the chosen estimators on the window."""
        data, ss = self.window, self.ss
        mu = self.compute.expected_returns(data.prices, ss["returns_method"], data.benchmark,
                                           float(ss["risk_free_rate"]))  # fmt: skip
        cov = self.compute.covariance(data.prices, ss["cov_method"])
        return mu, cov

    @cached_property
    def posterior(self) -> pd.Series | None:
        """The Black-Litterman posterior returns (annualised decimals), or None.

        AUTO: computed from the views (None without valid views), as loading a setup does.
        """
        if self._posterior is not AUTO:
            return self._posterior
        if self.ss["expected_returns_source"] != "black_litterman" and not self.ss["bl_views"]:
            return None
        try:
            outcome = bl_compute(self.bl_inputs)
        except BallastError:
            return None
        if not len(outcome.inputs.views):
            return None
        return outcome.result.returns.rename("expected_return")

    @cached_property
    def estimates(self) -> tuple[pd.Series, pd.DataFrame]:
        """Expected returns and covariance the optimiser uses.

        The Black-Litterman posterior replaces the historical expected returns when the setup
        chooses it and it covers the universe.
        """
        mu, cov = self.historical_estimates
        posterior = self.posterior
        if (
            self.ss["expected_returns_source"] == "black_litterman"
            and posterior is not None
            and set(posterior.index) == set(mu.index)
        ):
            mu = posterior.reindex(mu.index).rename("expected_return")
        return mu, cov

    def objective(self, **more: Any) -> Objective:
        """The setup's objective; ``more``: further :class:`Objective` fields (costs, benchmark).

        Raises
        ------
        core.exceptions.OptimizationError
            If a target the objective needs is missing or invalid.
        """
        ss = self.ss
        return Objective(kind=ss["objective_kind"], target_return=ss["target_return"],
                         target_volatility=ss["target_volatility"],
                         risk_aversion=ss["risk_aversion"],
                         risk_free_rate=ss["risk_free_rate"], **more)  # fmt: skip

    @cached_property
    def constraints(self) -> Constraints:
        """The setup's constraints, with the sectors of the loaded data filled in.

        Raises
        ------
        core.exceptions.OptimizationError
            Bounds that are not pairs of numbers (named).
        """
        ss = self.ss
        universe = set(self.universe)
        asset_bounds = _number_pairs(ss["asset_bounds"], "Per-asset bounds")
        return Constraints(
            long_only=ss["long_only"],
            weight_bounds=_number_pairs({"every asset": (ss["min_weight"], ss["max_weight"])},
                                        "Weight bounds")["every asset"],  # fmt: skip
            asset_bounds={t: b for t, b in asset_bounds.items() if t in universe},
            sectors=dict(self.data.sectors),
            sector_bounds=_number_pairs(ss["sector_bounds"], "Sector bounds"),
            max_volatility=ss["max_volatility"],
        )

    # --- benchmark ---------------------------------------------------------------------------
    @cached_property
    def benchmark(self) -> pd.Series:
        """The chosen benchmark's level series.

        Raises
        ------
        BacktestError
            No benchmark in the data, or no uploaded series.
        core.exceptions.DataError
            A Yahoo symbol that is unknown, or Yahoo unreachable with nothing cached.
        """
        choice = self.ss["rebalance_benchmark"]
        data = self.data
        if choice == YAHOO:
            symbol = str(self.ss["rebalance_yahoo_benchmark"]).strip().upper()
            if not symbol:
                raise BacktestError("Type a Yahoo Finance symbol for the benchmark, e.g. ^GSPC.")
            first, last = data.prices.index[0].date(), data.as_of.date()
            return self.compute.yahoo_series(symbol, first, last)
        if choice == DATA:
            if data.benchmark is None:
                raise BacktestError(
                    "The loaded data has no benchmark: choose a ticker or upload one.")
            return data.benchmark
        if choice == UPLOAD:
            series = self.uploaded_benchmark
            upload = self.ss.get("rebalance_benchmark_upload")
            if series is None and upload:  # the file travels in the setup
                name = str(upload.get("filename") or "Uploaded benchmark").rsplit(".")[0]
                series = perf.benchmark_from_csv(str(upload["csv"]).encode(), name=name)
            if series is None:
                raise BacktestError(
                    "Upload a benchmark CSV (date, level) or choose another benchmark.")
            return series
        if choice not in data.tickers:
            raise BacktestError(f"The benchmark {choice} is not in the loaded data.")
        return data.prices[choice].rename(choice)

    @property
    def benchmark_needed(self) -> bool:
        """Whether the objective or a limit is measured against the benchmark."""
        ss = self.ss
        return (ss["objective_kind"] in BENCHMARK_OBJECTIVES
                or ss["book_max_tracking_error"] is not None)  # fmt: skip

    def _joint(self, mu_assets: pd.Series, cov_assets: pd.DataFrame):
        window = self.window
        bench = self.benchmark
        name = str(bench.name or "Benchmark")
        if name in window.tickers:
            return mu_assets, cov_assets, name
        ss = self.ss

        def joint() -> pd.DataFrame:
            levels = perf.levels_on(bench, window.prices.index)
            if levels.notna().sum() < 60:
                raise ExecutionError(f"The benchmark {name} has too few prices on the window "
                                     f"{ss['start']} to {ss['end']}.")  # fmt: skip
            return window.prices.assign(**{name: levels}).dropna()

        prices = self.compute.memo("joint_prices", (window.prices, bench),
                                   (name, ss["start"], ss["end"]), joint)  # fmt: skip
        mu = self.compute.expected_returns(prices, ss["returns_method"], window.benchmark,
                                           float(ss["risk_free_rate"]))  # fmt: skip
        cov = self.compute.covariance(prices, ss["cov_method"])
        if ss["expected_returns_source"] == "black_litterman":
            mu = mu.copy()
            mu.loc[mu_assets.index] = mu_assets  # the posterior (estimates chose it)
        return mu, cov, name

    @cached_property
    def joint_estimates(self) -> tuple[pd.Series, pd.DataFrame, str]:
        """Expected returns and covariance of the universe and the benchmark, together.

        Raises
        ------
        BallastError
            No benchmark, or one without prices on the window.
        """
        return self._joint(*self.estimates)

    def benchmark_terms(self) -> tuple[pd.Series, pd.DataFrame, dict, dict]:
        """Joint estimates, and the Objective / Constraints fields the benchmark adds.

        Raises
        ------
        BallastError
            As :attr:`joint_estimates`.
        """
        mu, cov, bench = self.joint_estimates
        return (mu, cov, {"benchmark_weights": pd.Series({bench: 1.0})},
                {"max_tracking_error": self.ss["book_max_tracking_error"]})  # fmt: skip

    # --- the book and the allocation -------------------------------------------------------
    @property
    def from_holdings(self) -> bool:
        """Whether the allocation is optimised from the holdings (``book_start_from``)."""
        return self.ss["book_start_from"] == "holdings"

    def current_book(self) -> tuple[pd.Series, float, float]:
        """``w0`` on the universe, the cash weight and the book's value.

        Raises
        ------
        ExecutionError
            Holdings outside the universe (named), negative shares while long only, missing
            prices, or a book without value.
        """
        from core.execution import book_weights, check_holdings

        ss = self.ss
        unknown = check_holdings(ss["holdings"], self.universe, ss["long_only"])
        if unknown:
            raise ExecutionError(
                f"The holdings {', '.join(unknown)} are not in the universe, so the optimiser "
                "has no estimates for them: add them to the universe (Data page, or the button "
                "under the holdings) or drop them."
            )
        w0, cash_w, value = book_weights(ss["holdings"], float(ss["cash"]),
                                         self.data.prices.iloc[-1])  # fmt: skip
        return w0.reindex(self.universe).fillna(0.0), cash_w, value

    def transaction_costs(self) -> float | dict[str, float]:
        """Costs per unit of weight traded (decimal): one default, or per ticker."""
        ss = self.ss
        default = float(ss["rebalance_cost_bps"]) / 10_000
        overrides = {t: c for t, c in ss["book_cost_overrides"].items() if t in self.universe}
        if not overrides:
            return default
        return {t: float(overrides.get(t, default * 10_000)) / 10_000 for t in self.universe}

    def optimize(self) -> tuple[OptimizationResult, BookRun]:
        """Optimise with the setup: from cash or from the book, with every limit of the setup.

        Returns
        -------
        tuple of (OptimizationResult, BookRun)
            Weights on the universe (the benchmark index, not investable, is dropped) and what
            the optimisation used.

        Raises
        ------
        BallastError
            Conflicting limits (``InfeasibleConstraintsError``, naming them), bad holdings or
            estimates.
        """
        ss = self.ss
        universe = list(self.universe)
        constraints = self.constraints
        more_c: dict = {}
        more_o: dict = {}
        if not ss["long_only"]:
            more_c.update(max_gross_exposure=ss["book_max_gross"], max_long=ss["book_max_long"],
                          max_short=ss["book_max_short"])  # fmt: skip
        bench = None
        if self.benchmark_needed:
            mu, cov, terms_o, terms_c = self.benchmark_terms()
            more_o.update(terms_o)
            more_c.update(terms_c)
            bench = str(terms_o["benchmark_weights"].index[0])
        else:
            mu, cov = self.estimates
        w0, cash_w, value = None, 0.0, float(ss["capital"])
        if self.from_holdings:
            w0, cash_w, value = self.current_book()
            lo, hi = ss["book_cash_bounds"]
            more_c.update(current_weights=dict(w0), max_turnover=ss["book_max_turnover"],
                          locked=tuple(ss["book_locked"]), no_buy=tuple(ss["book_no_buy"]),
                          no_sell=tuple(ss["book_no_sell"]),
                          cash_bounds=(float(lo), float(hi)))  # fmt: skip
            more_o.update(transaction_costs=self.transaction_costs(),
                          cost_horizon=float(ss["book_horizon_years"]))  # fmt: skip
        # Regulatory rules, holdings count and size, whole shares, liquidity (mixed-integer).
        more_c.update(compliance.setup_terms(ss, self.data.prices.iloc[-1], value,
                                             self.from_holdings, self.data.volume))  # fmt: skip
        more_o.update(self.tail_objective_terms())  # CVaR confidence, risk budgets
        more_c.update(self.tail_constraint_terms())  # the CVaR limit
        objective = self.objective(**more_o)
        constraints = dataclasses.replace(
            constraints, **{k: v for k, v in more_c.items() if v is not None}
        )
        result = self.compute.optimize(mu, cov, objective, constraints, scenarios=self.scenarios)
        if bench is not None and bench not in universe and bench in result.weights.index:
            # core leaves a one-asset benchmark (the index) out of the weights; in case it did not
            weights = result.weights.drop(bench, errors="ignore")
            result = dataclasses.replace(
                result, weights=weights,
                sector_weights=sector_exposure(weights, self.data.sectors),
            )  # fmt: skip
        bench_cov = cov if bench is not None else None
        if bench is None:  # still show the tracking error where the benchmark can be had
            try:
                _, bench_cov, bench = self.joint_estimates
            except BallastError:
                bench_cov, bench = None, None
        return result, BookRun(mu, cov, bench, bench_cov, universe, w0, cash_w, value)

    @cached_property
    def _optimised(self) -> tuple[OptimizationResult, BookRun | None]:
        if self._allocation is not AUTO:
            return self._allocation
        return self.optimize()

    @property
    def allocation(self) -> OptimizationResult:
        """The setup's allocation (:meth:`optimize`, or the one passed in).

        Raises
        ------
        BallastError
            As :meth:`optimize`.
        """
        return self._optimised[0]

    @property
    def book_run(self) -> BookRun | None:
        """What the allocation was optimised from (None when the caller did not say)."""
        return self._optimised[1]

    def allocation_or_none(self) -> OptimizationResult | None:
        """The allocation, or None when the setup gives none (the error is the page's)."""
        try:
            return self.allocation
        except BallastError:
            return None

    # --- tail-risk objectives --------------------------------------------------------------
    @property
    def uses_scenarios(self) -> bool:
        """Whether the setup's objective needs return scenarios."""
        kind = self.ss["objective_kind"]
        return kind in SCENARIO_KINDS or kind in ("hrp", "herc") or (
            kind in LIMITABLE and self.ss["tail_max_cvar"] is not None)  # fmt: skip

    def tail_objective_terms(self) -> dict[str, Any]:
        """Objective fields from the setup (CVaR confidence, risk budgets) for ``Objective``."""
        ss = self.ss
        more: dict[str, Any] = {"cvar_confidence": float(ss["tail_cvar_confidence"])}
        if ss["objective_kind"] == "risk_parity" and ss["tail_budget_by"] != "equal":
            key = "tail_asset_budgets" if ss["tail_budget_by"] == "asset" else \
                "tail_sector_budgets"  # fmt: skip
            budgets = dict(ss[key])
            if not budgets:
                universe = self.universe
                names = universe if ss["tail_budget_by"] == "asset" else sorted(
                    self.data.sectors.reindex(universe).fillna("Unknown").unique())
                budgets = {n: 1.0 / len(names) for n in names}  # the editor's starting values
            more["risk_budgets"] = pd.Series(budgets, dtype=float)
        return more

    def tail_constraint_terms(self) -> dict[str, Any]:
        """Constraint fields from the setup (the CVaR limit) for ``Constraints``."""
        ss = self.ss
        if ss["objective_kind"] in LIMITABLE and ss["tail_max_cvar"] is not None:
            return {"max_cvar": float(ss["tail_max_cvar"])}
        return {}

    @cached_property
    def window_returns(self) -> pd.DataFrame:
        """Daily decimal returns of the universe over the window (the historical scenarios)."""
        return self.window.prices.pct_change().dropna(how="any")

    def _simulated(self) -> pd.DataFrame:
        ss = self.ss
        if ss["tail_scenarios"] == "historical":
            return self.window_returns
        return self.compute.simulated_scenarios(self.window_returns, int(ss["tail_mc_scenarios"]),
                                                ss["tail_scenarios"],
                                                int(ss["tail_mc_seed"]))  # fmt: skip

    @cached_property
    def scenarios(self) -> pd.DataFrame | None:
        """The scenarios the setup's objective needs (daily decimal returns), or None.

        Raises
        ------
        BallastError
            A window too short, a bad Monte Carlo setting.
        """
        if not self.uses_scenarios:
            return None
        if self.ss["objective_kind"] in ("hrp", "herc"):
            return self.window_returns
        return self._simulated()

    def tail_report_table(self, result: OptimizationResult) -> pd.DataFrame | None:
        """Tail figures of the allocation for the report (None for mean-variance objectives)."""
        from core.scenario_optimization import scenario_cdar, scenario_cvar
        from core.tail_allocation import TAIL_OBJECTIVES

        ss = self.ss
        if result.objective.kind not in TAIL_OBJECTIVES and ss["tail_max_cvar"] is None:
            return None
        returns = self.window_returns
        w = result.weights.reindex(returns.columns).fillna(0.0)
        c = float(result.objective.cvar_confidence)
        row = {
            "Objective": all_objectives().get(result.objective.kind, result.objective.kind),
            "Confidence": c,
            "CVaR (daily, historical)": scenario_cvar(w, returns, c),
            "CDaR (historical)": scenario_cdar(w, returns, c),
            "CVaR limit (daily)": ss["tail_max_cvar"],
            "Scenarios": SCENARIO_SOURCES.get(ss["tail_scenarios"]),
        }
        return pd.DataFrame([row])

    def cvar_frontier_view(self) -> tuple[pd.DataFrame, tuple[float, float] | None, str]:
        """The mean-CVaR frontier of the setup, the allocation's (CVaR, return) and a note.

        The scenarios and confidence are those of the tail objectives; the constraints the
        setup's without the volatility cap (not linear), with the number of points of the
        mean-variance frontier (at most 60).

        Raises
        ------
        BallastError
            Constraints that admit no portfolio, too few scenarios.
        """
        from core.scenario_optimization import scenario_cvar

        ss = self.ss
        mu, _ = self.estimates
        cons = self.constraints
        note = ""
        if cons.max_volatility is not None:
            cons = dataclasses.replace(cons, max_volatility=None)
            note = "The volatility cap is left out of the mean-CVaR frontier (it is not linear)."
        sims = self._simulated()
        c = float(ss["tail_cvar_confidence"])
        frontier = self.compute.mean_cvar_frontier(mu, sims[list(mu.index)], cons,
                                                   int(min(ss["frontier_n_points"], 60)), c)
        marker = None
        result = self.allocation_or_none()
        if result is not None and set(result.weights.index) <= set(sims.columns):
            w = result.weights.reindex(sims.columns).fillna(0.0)
            marker = (scenario_cvar(w, sims, c), float(w.reindex(mu.index).fillna(0.0) @ mu))
        return frontier, marker, note

    # --- Black-Litterman -------------------------------------------------------------------
    @cached_property
    def market_caps(self) -> pd.Series:
        """Market caps (bn) of the universe: the data's, overridden by the setup's."""
        tickers = self.universe
        data_caps = self.data.market_caps
        base = pd.Series(np.nan, index=tickers) if data_caps is None else \
            data_caps.reindex(tickers)  # fmt: skip
        caps = pd.to_numeric(base, errors="coerce").astype(float).copy()
        overrides = self.ss["bl_market_caps"]
        for t, v in (overrides if isinstance(overrides, dict) else {}).items():
            # A cap that is not a positive number (a hand-edited or damaged setup) is ignored:
            # the data's own cap stands.
            cap = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
            if t in caps.index and np.isfinite(cap) and cap >= 0:
                caps[t] = float(cap)
        return caps

    @cached_property
    def bl_inputs(self) -> BLInputs:
        """The slider-independent Black-Litterman inputs from the setup.

        Raises
        ------
        BallastError
            Bad data window, missing market caps, bad views (the message says which).
        """
        ss = self.ss
        data = self.window
        cov = self.compute.covariance(data.prices, ss["cov_method"])
        tickers = list(cov.columns)
        rf = float(ss["risk_free_rate"])
        caps = self.market_caps
        w_mkt = bl.market_weights(caps if ss["bl_prior"] == "market_caps" else None, tickers)
        if ss["bl_delta"] is not None:
            delta, note = float(ss["bl_delta"]), "set by hand"
        else:
            try:
                delta = bl.market_implied_risk_aversion(data.benchmark, rf)
                note = f"implied by {data.benchmark.name or 'the benchmark'} over the window"
            except EstimationError as exc:
                delta, note = FALLBACK_DELTA, f"He & Litterman's {FALLBACK_DELTA} ({exc})"
        prior = bl.market_implied_returns(cov, w_mkt, delta, rf)
        views = bl.parse_views(
            ss["bl_views"], tickers, known_tickers=self.data.tickers,
            market_caps=caps.dropna() if caps.notna().any() else None,
        )  # fmt: skip
        objective, constraints, scenarios = None, self.constraints, None
        more, error, bench_mu, bench_cov = {}, "", None, None
        try:
            if self.benchmark_needed:
                # The assets' entries are the posterior's; only the benchmark's are kept here.
                mu_j, bench_cov, name = self._joint(*self.historical_estimates)
                more = {"benchmark_weights": pd.Series({name: 1.0})}
                bench_mu = mu_j.drop(tickers, errors="ignore")
                cap = ss["book_max_tracking_error"]
                if cap is not None:
                    constraints = dataclasses.replace(constraints, max_tracking_error=cap)
            # the tail objectives' CVaR confidence and limit, risk budgets and scenarios
            more = {**more, **self.tail_objective_terms()}
            constraints = dataclasses.replace(constraints, **self.tail_constraint_terms())
            objective = self.objective(**more)
            scenarios = self.scenarios
        except BallastError as exc:
            error = str(exc)
        return BLInputs(cov=cov, market_weights=w_mkt, delta=delta, delta_note=note,
                        tau=float(ss["bl_tau"]), risk_free_rate=rf, prior=prior, views=views,
                        omega_method=ss["bl_omega"], objective=objective,
                        constraints=constraints, benchmark_returns=bench_mu,
                        benchmark_cov=bench_cov, objective_error=error,
                        scenarios=scenarios)  # fmt: skip

    @cached_property
    def bl_outcome(self) -> BLOutcome:
        """Black-Litterman at the setup's confidences (:func:`bl_compute`).

        Raises
        ------
        BallastError
            As :attr:`bl_inputs` and :func:`bl_compute`.
        """
        return bl_compute(self.bl_inputs)

    # --- frontier --------------------------------------------------------------------------
    def _second_estimates(self, choice: str, mu: pd.Series, cov: pd.DataFrame):
        if choice == "historical":
            return self.historical_estimates[0], cov, "Frontier, historical expected returns"
        if choice == "black_litterman":
            post = self.posterior
            if post is None or set(post.index) != set(mu.index):
                raise BallastError("The Black-Litterman posterior does not cover this universe.")
            return post.reindex(mu.index), cov, "Frontier, Black-Litterman posterior"
        method = choice.removeprefix("cov:")
        cov2 = self.compute.covariance(self.window.prices, method).loc[mu.index, mu.index]
        return mu, cov2, f"Frontier, {COVARIANCE_ESTIMATORS.get(method, method)}"

    def _compliance_limits_set(self) -> bool:
        """Whether the setup's compliance settings limit the allocation (rules, holdings, ...)."""
        try:
            terms = compliance.setup_terms(self.ss, self.data.prices.iloc[-1],
                                           float(self.ss["capital"]), self.from_holdings,
                                           self.data.volume)  # fmt: skip
        except BallastError:
            return True  # limits set, if not valid ones
        return mixed_integer.applies(dataclasses.replace(self.constraints, **{
            k: v for k, v in terms.items() if k in ("rules", "max_holdings", "min_position",
                                                    "whole_shares") and v is not None}))

    def _holdings_weights(self, tickers: list[str], notes: list[str]) -> pd.Series | None:
        holdings = self.ss["holdings"] or {}
        if not holdings:
            return None
        prices = self.data.prices.iloc[-1]
        shares = pd.Series({str(t): float(s) for t, s in holdings.items()})
        outside = [t for t in shares.index if t not in tickers and shares[t] != 0]
        if outside:
            notes.append(
                f"Holdings outside the universe are left out of the map: {', '.join(outside)}."
            )
        values = shares.reindex(tickers).fillna(0.0) * prices.reindex(tickers).fillna(0.0)
        if values.sum() <= 0:
            return None
        return values / values.sum()

    def frontier_view(self, n_random: int | None = None) -> FrontierView:
        """The frontier and everything around it.

        Parameters
        ----------
        n_random : int, optional
            Number of random portfolios; defaults to the setup's ``frontier_n_random``.

        Returns
        -------
        FrontierView

        Raises
        ------
        core.exceptions.BallastError
            When the frontier itself cannot be computed (infeasible constraints, bad data).
        """
        from core.frontier import portfolio_statistics

        ss, c = self.ss, self.compute
        mu, cov = self.estimates
        cons = self.constraints
        rf = float(ss["risk_free_rate"])
        frontier = c.efficient_frontier(mu, cov, cons, int(ss["frontier_n_points"]), rf, None)
        tickers = list(mu.index)
        notes: list[str] = []
        if self._compliance_limits_set():
            notes.append(
                "The frontier is drawn with the weight bounds, sector limits and the other linear "
                "constraints only: the rule sets, holdings count, minimum position, whole shares "
                "and liquidity limits of the compliance settings are left out (most are "
                "mixed-integer limits the frontier's exact walk cannot follow), so its portfolios "
                "may breach them. The allocation meets them (Allocation page)."
            )
        assets = pd.DataFrame({"expected_return": mu, "volatility": np.sqrt(np.diag(cov))})
        cloud = None
        n_random = int(ss["frontier_n_random"] if n_random is None else n_random)
        if n_random > 0 and len(tickers) > 1:
            try:
                W = c.random_portfolios(tuple(tickers), cons, n_random, 0)
                r, v, s = portfolio_statistics(W, mu, cov, rf)
                cloud = pd.DataFrame({"expected_return": r, "volatility": v, "sharpe_ratio": s})
            except BallastError as exc:
                notes.append(f"Random portfolios: {exc}")
        overlays: dict[str, Any] = {}
        top = max(frontier.max_return.expected_return, float(mu.max()))
        if ss["frontier_show_unconstrained"] and len(tickers) > 1:
            try:
                overlays["Unconstrained frontier (sum of weights = 1 only)"] = \
                    c.efficient_frontier(mu, cov, _UNBOUNDED, 60, rf, top)  # fmt: skip
            except BallastError as exc:
                notes.append(f"Unconstrained frontier: {exc}")
        if ss["frontier_compare"] != "none":
            try:
                mu2, cov2, label = self._second_estimates(ss["frontier_compare"], mu, cov)
                overlays[label] = c.efficient_frontier(mu2, cov2, cons, 60, rf, None)
            except BallastError as exc:
                notes.append(f"Second estimator: {exc}")
        points: dict[str, tuple[float, float]] = {}
        alloc = self.allocation_or_none()
        if alloc is not None and set(alloc.weights.index) == set(tickers):
            r, v, _ = portfolio_statistics(alloc.weights.reindex(tickers).to_numpy()[None, :],
                                           mu, cov)  # fmt: skip
            points["Current allocation"] = (float(v[0]), float(r[0]))
        held = self._holdings_weights(tickers, notes)
        if held is not None:
            r, v, _ = portfolio_statistics(held.to_numpy()[None, :], mu, cov)
            points["Current holdings"] = (float(v[0]), float(r[0]))
        return FrontierView(frontier, assets, cloud, overlays, points, notes)

    def active_view(self, n_points: int = 30):
        """The active frontier against the benchmark, with the allocation marked.

        Returns
        -------
        tuple of (DataFrame, str, dict)
            :func:`core.optimization.active_frontier` points (annualised decimals), the
            benchmark's name, and the allocation as (tracking error, active return).

        Raises
        ------
        core.exceptions.BallastError
            No benchmark with prices on the window, or infeasible constraints.
        """
        mu, cov, terms, _ = self.benchmark_terms()
        b = terms["benchmark_weights"]
        points = self.compute.active_frontier(mu, cov, b, self.constraints, n_points,
                                              float(self.ss["risk_free_rate"]))  # fmt: skip
        marks: dict[str, tuple[float, float]] = {}
        alloc = self.allocation_or_none()
        if alloc is not None and set(alloc.weights.index) <= set(mu.index):
            active = alloc.weights.reindex(mu.index).fillna(0.0) - b.reindex(mu.index).fillna(0.0)
            te = float(np.sqrt(max(active @ cov.to_numpy() @ active, 0.0)))
            marks["Current allocation"] = (te, float(active @ mu))
        return points, str(b.index[0]), marks

    # --- risk ------------------------------------------------------------------------------
    @cached_property
    def risk_inputs(self) -> RiskInputs:
        """The allocation and the data the risk figures use.

        Raises
        ------
        core.exceptions.BallastError
            No allocation, an unusable window, or no confidence level.
        """
        ss = self.ss
        universe = self.universe
        try:
            result = self.allocation
        except BallastError:
            result = None
        if result is None:
            raise RiskInputError(
                "No allocation to assess: the optimiser found none for the current setup. Open "
                "the Allocation page to fix the objective or constraints."
            )
        data = self.window
        full = self.data.subset(tickers=universe)
        weights = result.weights.reindex(universe).fillna(0.0)
        returns = returns_from_prices(data.prices).dropna()
        confidences = tuple(sorted(float(c) for c in ss["risk_confidences"]))
        if not confidences:
            raise RiskInputError("Choose at least one confidence level in the sidebar.")
        return RiskInputs(weights=weights, returns=returns,
                          portfolio=risk.portfolio_returns(returns, weights),
                          full_prices=full.prices, benchmark=full.benchmark,
                          sectors=full.sectors, capital=float(ss["capital"]),
                          currency=data.currency or "", confidences=confidences,
                          horizon=int(ss["risk_horizon"]))  # fmt: skip

    def risk_args(self, inputs: RiskInputs) -> tuple:
        """Arguments of :func:`core.risk.risk_table` for the setup (as ``Compute.risk_table``)."""
        ss = self.ss
        dof = ss["risk_mc_dof"]
        return (inputs.returns, inputs.weights, inputs.confidences, inputs.horizon,
                int(ss["risk_mc_scenarios"]), None if dof is None else float(dof),
                int(ss["risk_mc_seed"]))  # fmt: skip

    @cached_property
    def risk_table(self) -> pd.DataFrame:
        """VaR/CVaR by every method at every confidence, with ``var_money``, ``cvar_money``.

        Raises
        ------
        core.exceptions.BallastError
            As :attr:`risk_inputs` and :func:`core.risk.risk_table`.
        """
        inputs = self.risk_inputs
        table = self.compute.risk_table(*self.risk_args(inputs)).copy()
        table["var_money"] = table["var"] * inputs.capital
        table["cvar_money"] = table["cvar"] * inputs.capital
        return table

    def stress(self, inputs: RiskInputs) -> tuple[pd.DataFrame, list[str]]:
        """Historical scenarios on the full history, with the setup's windows.

        Raises
        ------
        core.exceptions.RiskInputError
            A custom window outside the data.
        """
        custom = tuple((n, s, e) for n, (s, e) in self.ss["risk_custom_windows"].items())
        return self.compute.historical_stress(inputs.full_prices, inputs.weights, custom,
                                              inputs.benchmark)  # fmt: skip

    def correlation_stress(self, inputs: RiskInputs, confidence: float) -> pd.DataFrame:
        """Correlation-stress table (the crisis window's and pushed correlations).

        Raises
        ------
        core.exceptions.RiskInputError
            The crisis window is not in the data or too short.
        """
        ss = self.ss
        name = ss["risk_crisis"]
        windows = {**stress.HISTORICAL_SCENARIOS, **ss["risk_custom_windows"]}
        crisis = None
        if name in windows:
            s, e = windows[name]
            prices = inputs.full_prices.loc[s:e]
            if prices.empty:
                raise RiskInputError(
                    f"The crisis window '{name}' ({s} to {e}) is not in the loaded data; choose "
                    "another window."
                )
            if len(prices) < 21:
                raise RiskInputError(
                    f"The crisis window '{name}' ({s} to {e}) holds {len(prices) - 1} daily "
                    "returns; its correlations need at least 20: choose a longer window."
                )
            crisis = returns_from_prices(prices)
        lam = float(ss["risk_corr_push"])
        strengths = sorted({0.0, 0.25, 0.5, 0.75, 1.0, lam})
        return stress.correlation_stress(
            inputs.returns, inputs.weights, confidence, inputs.horizon, strengths, crisis, name
        )

    def var_backtest(self, inputs: RiskInputs) -> risk.VaRBacktest:
        """The rolling one-day VaR backtest of the setup.

        Raises
        ------
        core.exceptions.RiskInputError
            Window too long for the data, bad method or confidence.
        """
        ss = self.ss
        series = inputs.full_portfolio if ss["risk_backtest_full_history"] else inputs.portfolio
        return self.compute.var_backtest(series, int(ss["risk_backtest_window"]),
                                         float(ss["risk_backtest_confidence"]),
                                         ss["risk_backtest_method"])  # fmt: skip

    # --- rebalancing -----------------------------------------------------------------------
    def current_weights(self) -> tuple[pd.Series, float]:
        """Weights of the holdings at the latest prices (cash excluded) and their value.

        Raises
        ------
        ExecutionError
            No holdings with a positive value.
        """
        h = pd.Series(self.ss["holdings"], dtype=float)
        h = h[h != 0]
        if h.empty:
            raise ExecutionError("No holdings entered yet: enter shares or upload a CSV.")
        values = h * self.data.prices.iloc[-1].reindex(h.index)
        invested = float(values.sum())
        if not invested > 0:
            raise ExecutionError("The holdings have no positive value at the latest prices.")
        return (values / invested).reindex(self.universe).fillna(0.0), invested

    def target_weights(self) -> pd.Series | None:
        """The allocation's weights, or None when the setup gives none."""
        result = self.allocation_or_none()
        return None if result is None else result.weights

    def tracking_figures(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
        """Metrics, growth paths and active weights of the holdings and the target.

        Returns
        -------
        tuple
            Metrics table (metric x portfolio), growth of 1 (dates x portfolio), active
            weights (asset x portfolio; sector rows prefixed ``"sector: "``), and what the
            benchmark weights are.

        Raises
        ------
        BallastError
            A benchmark without overlap with the window, or unusable data.
        """
        window = self.window
        bench = self.benchmark
        bench_r = perf.levels_on(bench, window.prices.index).pct_change(fill_method=None).iloc[1:]
        portfolios: dict[str, pd.Series] = {}
        try:
            portfolios["Current holdings"] = self.current_weights()[0]
        except ExecutionError:
            pass
        target = self.target_weights()
        if target is not None:
            portfolios["Target allocation"] = target
        returns = pd.DataFrame(
            {k: perf.fixed_weight_returns(window.prices, w) for k, w in portfolios.items()}
        )
        returns[str(bench.name or "Benchmark")] = bench_r
        rf = float(self.ss["risk_free_rate"])
        perf.align(returns.iloc[:, 0], bench_r)  # raises when there is no overlap
        table = perf.performance_table(returns, bench_r, rf)
        growth = (1 + returns.fillna(0.0)).cumprod()
        name = str(bench.name) if bench.name in window.tickers else None
        ref, what = perf.benchmark_weights(window.tickers, name, window.market_caps)
        active = {}
        for k, w in portfolios.items():
            by_asset, by_sector = perf.active_weights(w, ref, window.sectors)
            active[k] = pd.concat([by_asset, by_sector.rename(lambda s: f"sector: {s}")])
        return table, growth, pd.DataFrame(active), what

    def run_backtest(self, progress: Callable[[float, str], None] | None = None,
                     notes: list[str] | None = None):  # fmt: skip
        """The walk-forward backtest of the setup (``core.backtest.run_backtest``).

        Parameters
        ----------
        progress : callable, optional
            ``(fraction, message)`` as the backtest advances.
        notes : list, optional
            Receives a note when the backtest runs without a benchmark, and when the setup's
            compliance limits are set (they are not applied at each rebalancing).

        Returns
        -------
        core.backtest.BacktestResult

        Raises
        ------
        BallastError
            Too little data for the lookback, a benchmark objective without a benchmark.
        """
        from core.backtest import run_backtest

        ss = self.ss
        prices = self.data.prices.loc[: pd.Timestamp(ss["end"]), list(self.universe)]
        more: dict = {}
        try:
            bench = self.benchmark
        except BacktestError as exc:
            if ss["objective_kind"] in BENCHMARK_OBJECTIVES:
                raise BacktestError(f"{OBJECTIVES[ss['objective_kind']]} needs the benchmark's "
                                    f"prices, and there are none: {exc}") from exc  # fmt: skip
            if notes is not None:
                notes.append(f"Backtest without a benchmark: {exc}")
            bench = None
        if ss["objective_kind"] in BENCHMARK_OBJECTIVES:  # 100 % in the benchmark
            more["benchmark_weights"] = pd.Series({str(bench.name or "Benchmark"): 1.0})
        if notes is not None and self._compliance_limits_set():
            notes.append(
                "The backtest rebalances with the weight bounds, sector limits and volatility cap "
                "only: the compliance settings (rule sets, holdings count, minimum position, "
                "whole shares, liquidity) are not applied at each rebalancing."
            )
        start = ss["rebalance_backtest_start"]
        return run_backtest(
            prices, self.objective(**more), self.constraints,
            schedule=ss["rebalance_schedule"],
            lookback=int(round(ss["rebalance_lookback_years"] * 252)),
            cost_bps=ss["rebalance_cost_bps"], drift_band=ss["rebalance_drift_band"],
            returns_method=ss["returns_method"], cov_method=ss["cov_method"],
            benchmark=bench, start=None if start is None else pd.Timestamp(start),
            progress=progress,
        )  # fmt: skip

    # --- heavy jobs: the resampled frontier and the comparison of designs ------------------
    def run_resampled_frontier(self, progress: Callable[[int, int], None] | None = None,
                               cancel: Callable[[], bool] | None = None,
                               executor: Any = None):  # fmt: skip
        """Michaud's resampled frontier of the setup (``core.resampling.resampled_frontier``).

        The window's daily returns, the setup's estimators and constraints, its resample
        count, seed, method and frontier points, as the Efficient Frontier page computes it
        (Black-Litterman views are not resampled).

        Parameters
        ----------
        progress : callable, optional
            ``progress(done, total)`` in resamples.
        cancel : callable, optional
            Polled between tasks; True stops the job (``JobCancelledError``).
        executor : core.executor.Executor, optional
            Where the resamples run; default :func:`core.executor.get_executor` (a Dask
            cluster when ``BALLAST_DASK_ADDRESS`` is set).

        Returns
        -------
        core.resampling.ResampledFrontier

        Raises
        ------
        BallastError
            Bad window, estimators or constraints; a cluster that cannot be reached.
        """
        from core.resampling import resampled_frontier

        ss = self.ss
        data = self.window
        bench = None
        if ss["returns_method"] == "capm" and data.benchmark is not None:
            bench = returns_from_prices(data.benchmark)
        return resampled_frontier(
            returns_from_prices(data.prices), self.constraints,
            n_resamples=int(ss["frontier_resamples"]), n_points=int(ss["frontier_n_points"]),
            seed=int(ss["frontier_resample_seed"]), method=ss["frontier_resample_method"],
            returns_method=ss["returns_method"], cov_method=ss["cov_method"], benchmark=bench,
            risk_free_rate=float(ss["risk_free_rate"]), progress=progress, cancel=cancel,
            executor=executor,
        )  # fmt: skip

    def comparison_designs(self, specs: list[dict] | None = None,
                           benchmark: pd.Series | None = None) -> list:  # fmt: skip
        """The setup's designs (``compare_designs``) as :class:`core.comparison.Design`.

        The objective's targets, the constraints, the Black-Litterman inputs (views, tau,
        omega, prior, market caps) and the tail-risk settings (CVaR confidence and limit, risk
        budgets) come from the rest of the setup.

        Parameters
        ----------
        specs : list of dict, optional
            Checked designs (:func:`core.comparison.specs_from_frame`); default the setup's.
        benchmark : Series, optional
            Benchmark levels (benchmark objectives need one).

        Returns
        -------
        list of core.comparison.Design

        Raises
        ------
        BallastError
            No designs, a bad objective target, bad views or market caps (naming the design).
        """
        from core.comparison import Design, specs_frame, specs_from_frame

        ss = self.ss
        if specs is None:
            specs = specs_from_frame(specs_frame(ss["compare_designs"]))
        if not specs:
            raise BacktestError("Add at least one design to the table.")
        tickers = list(self.universe)
        out = []
        views = None
        for spec in specs:
            name, kind = spec["name"], spec["kind"]
            more: dict = {}
            objective = Objective()
            if kind in ("optimized", "black_litterman"):
                chosen = spec.get("objective") or ss["objective_kind"]
                if chosen in BENCHMARK_OBJECTIVES:
                    if benchmark is None:
                        raise BacktestError(f"{name}: {OBJECTIVES[chosen]} needs a benchmark; "
                                            "choose one on the Rebalance page.")  # fmt: skip
                    more["benchmark_weights"] = pd.Series(
                        {str(benchmark.name or "Benchmark"): 1.0})
                more["cvar_confidence"] = float(ss["tail_cvar_confidence"])
                budgets = ss["tail_asset_budgets"] if ss["tail_budget_by"] == "asset" else (
                    ss["tail_sector_budgets"] if ss["tail_budget_by"] == "sector" else {})
                if chosen == "risk_parity" and budgets:
                    more["risk_budgets"] = pd.Series(dict(budgets), dtype=float)
                try:
                    objective = Objective(kind=chosen, target_return=ss["target_return"],
                                          target_volatility=ss["target_volatility"],
                                          risk_aversion=ss["risk_aversion"],
                                          risk_free_rate=ss["risk_free_rate"],
                                          **more)  # fmt: skip
                except BallastError as exc:
                    raise BacktestError(f"{name}: {exc}") from exc
            kw: dict = {}
            caps = self.market_caps
            if kind in ("market_cap", "black_litterman"):
                use_caps = kind == "market_cap" or ss["bl_prior"] == "market_caps"
                kw["market_caps"] = caps.dropna() if use_caps else None
            if kind == "black_litterman":
                if views is None:
                    try:
                        views = bl.parse_views(ss["bl_views"], tickers,
                                               known_tickers=self.data.tickers,
                                               market_caps=caps.dropna() if caps.notna().any()
                                               else None)  # fmt: skip
                    except BallastError as exc:
                        raise BacktestError(f"{name}: {exc}") from exc
                kw.update(views=views, omega=ss["bl_omega"], tau=float(ss["bl_tau"]),
                          delta=ss["bl_delta"])  # fmt: skip
            cons = self._design_constraints(spec)
            if kind in ("optimized", "black_litterman") and ss["tail_max_cvar"] is not None and (
                    objective.kind in LIMITABLE and spec.get("constraints", "setup") == "setup"):
                cons = dataclasses.replace(cons, max_cvar=float(ss["tail_max_cvar"]))
            out.append(Design(
                name, kind, objective, cons,
                returns_method=spec.get("returns_method") or ss["returns_method"],
                cov_method=spec.get("cov_method") or ss["cov_method"], **kw,
            ))  # fmt: skip
        return out

    def _design_constraints(self, spec: dict) -> Constraints:
        base = self.constraints if spec.get("constraints", "setup") == "setup" else Constraints()
        cap = spec.get("max_weight")
        if cap is None:
            return base
        lo, hi = base.weight_bounds
        bounds = {t: (b[0], min(b[1], cap)) for t, b in dict(base.asset_bounds).items()}
        return dataclasses.replace(base, weight_bounds=(lo, min(hi, cap)), asset_bounds=bounds)

    def comparison_inputs(self, notes: list[str] | None = None) -> tuple[pd.DataFrame, list,
                                                                          dict]:  # fmt: skip
        """The prices, designs and settings of the setup's comparison of designs.

        Parameters
        ----------
        notes : list, optional
            Receives a note when the comparison runs without a benchmark.

        Returns
        -------
        tuple
            ``(prices, designs, kwargs)``: the universe's prices up to the window's end, the
            :meth:`comparison_designs`, and the keyword arguments of
            :func:`core.comparison.compare_designs` (baseline, schedule, lookback, costs,
            start, benchmark, risk-free rate, confidence, test).

        Raises
        ------
        BallastError
            As :meth:`comparison_designs`.
        """
        from core.comparison import specs_frame, specs_from_frame

        ss = self.ss
        specs = specs_from_frame(specs_frame(ss["compare_designs"]))
        prices = self.data.prices.loc[: pd.Timestamp(ss["end"]), list(self.universe)]
        try:
            bench = self.benchmark
        except BallastError as exc:
            if notes is not None:
                notes.append(f"Compared without a benchmark: {exc}")
            bench = None
        designs = self.comparison_designs(specs, bench)
        names = [d.name for d in designs]
        start = ss["compare_start"]
        kwargs = dict(
            baseline=ss["compare_baseline"] if ss["compare_baseline"] in names else 0,
            schedule=ss["compare_schedule"],
            lookback=int(round(float(ss["compare_lookback_years"]) * 252)),
            cost_bps=float(ss["compare_cost_bps"]),
            start=None if start is None else pd.Timestamp(start), benchmark=bench,
            risk_free_rate=float(ss["risk_free_rate"]),
            confidence=float(ss["compare_confidence"]), test=ss["compare_test"],
        )  # fmt: skip
        return prices, designs, kwargs

    def run_comparison(self, progress: Callable[[int, int], None] | None = None,
                       notes: list[str] | None = None, cancel: Callable[[], bool] | None = None,
                       executor: Any = None):  # fmt: skip
        """The setup's designs walked forward together (``core.comparison.compare_designs``).

        Parameters
        ----------
        progress : callable, optional
            ``progress(done, total)`` in tasks (shared estimates, then one per design).
        notes : list, optional
            Receives a note when the comparison runs without a benchmark.
        cancel : callable, optional
            Polled between designs; True stops the job (``JobCancelledError``).
        executor : core.executor.Executor, optional
            Where the designs run; default :func:`core.executor.get_executor` (a Dask
            cluster when ``BALLAST_DASK_ADDRESS`` is set).

        Returns
        -------
        core.comparison.Comparison

        Raises
        ------
        BallastError
            Bad designs or settings (named), too little data for the lookback, a cluster that
            cannot be reached.
        """
        from core.comparison import compare_designs

        prices, designs, kwargs = self.comparison_inputs(notes)
        return compare_designs(prices, designs, progress=progress, cancel=cancel,
                               executor=executor, **kwargs)  # fmt: skip

    @cached_property
    def trade_plan(self):
        """Trade plan from the holdings and cash to the allocation (``core.execution``).

        Raises
        ------
        BallastError
            No target allocation, bad holdings or prices.
        """
        from core.execution import trade_plan

        ss = self.ss
        target = self.target_weights()
        if target is None:
            raise ExecutionError("No target allocation: fix the setup on the Allocation page.")
        return trade_plan(
            ss["holdings"], float(ss["cash"]), target, self.data.prices.iloc[-1],
            cost_bps=ss["rebalance_cost_bps"], min_trade_value=ss["rebalance_min_trade"],
            no_trade_band=ss["rebalance_no_trade_band"],
            cost_overrides={t: c for t, c in ss["book_cost_overrides"].items()
                            if t in self.universe},  # the optimiser's per-asset costs
        )  # fmt: skip

    def stop_levels(self) -> tuple[pd.DataFrame, pd.Series | None]:
        """Per-asset stop and take-profit levels, and the portfolio's loss limits.

        Raises
        ------
        BallastError
            Bad estimates, confidence, or too short a history.
        """
        from core.execution import portfolio_limits, stop_levels

        ss = self.ss
        window = self.window
        mu, cov = self.estimates
        vol = pd.Series(np.sqrt(np.diag(cov.to_numpy())), index=cov.index)
        target = self.target_weights()
        held = [t for t, v in ss["holdings"].items() if v and t in window.tickers]
        chosen = list(dict.fromkeys(
            ([] if target is None else list(target[target.abs() > 1e-4].index)) + held
        )) or window.tickers  # fmt: skip
        horizon = int(ss["rebalance_horizon"])
        levels = stop_levels(
            window.prices[chosen], mu, vol, method=ss["rebalance_stop_method"],
            k_stop=ss["rebalance_stop_k"], k_take=ss["rebalance_take_k"],
            confidence=ss["rebalance_confidence"], horizon=horizon,
        )  # fmt: skip
        limits = None
        if target is not None:
            r = perf.fixed_weight_returns(window.prices, target)
            result = self.allocation
            try:
                value = self.trade_plan.portfolio_value
            except BallastError:
                value = float(ss["capital"])
            limits = portfolio_limits(
                r, value, result.expected_return, result.volatility,
                confidence=ss["rebalance_confidence"], horizon=horizon,
                k_take=ss["rebalance_take_k"],
            )  # fmt: skip
        return levels, limits

    # --- the book shown ------------------------------------------------------------------
    def before_after(self, result: OptimizationResult, run: BookRun) -> pd.DataFrame:
        """Key figures of the current book and the proposal (decimals, names with units).

        Returns
        -------
        DataFrame (2, n_figures)
            Rows ``"Current book"`` and ``"Proposal"``; expected return, volatility and
            tracking error annualised; VaR/CVaR historical on the window at the first
            confidence and horizon of the risk settings; turnover one-way; costs a decimal of
            the book's value. Cash is riskless and earns the risk-free rate.
        """
        from core.risk import historical_var_cvar, portfolio_returns

        ss = self.ss
        rf = float(ss["risk_free_rate"])
        conf, horizon = float(ss["risk_confidences"][0]), int(ss["risk_horizon"])
        returns = self.window.prices.pct_change(fill_method=None).iloc[1:].fillna(0.0)
        tag = f"{conf:.0%} ({horizon} day{'s' if horizon > 1 else ''})".replace("%", " %")
        w0 = run.current_weights
        if w0 is None:
            w0 = pd.Series(0.0, index=result.weights.index)
        rows = {}
        for name, w, trades in ((CURRENT, w0, False), (PROPOSAL, result.weights, True)):
            ret, vol, _ = portfolio_performance(w, run.expected_returns.reindex(w.index),
                                                run.cov.reindex(index=w.index, columns=w.index),
                                                rf)  # fmt: skip
            cash = 1.0 - float(w.sum())
            ret += cash * rf  # cash is riskless and earns the risk-free rate
            sharpe = (ret - rf) / vol if vol > 1e-12 else float("nan")
            try:
                var, cvar = historical_var_cvar(portfolio_returns(returns, w), conf, horizon)
            except BallastError:
                var = cvar = float("nan")
            rows[name] = {
                "Expected return (annualised)": ret,
                "Volatility (annualised)": vol,
                "Sharpe ratio": sharpe,
                "Tracking error (annualised)": _tracking_error(w, run),
                f"VaR {tag}": var,
                f"CVaR {tag}": cvar,
                "Cash weight": cash,
                "Gross exposure": float(w.abs().sum()),
                "Turnover (one-way)": _attr(result, "turnover", 0.0) if trades else 0.0,
                "Trading costs (% of the book)": _attr(result, "costs", 0.0) if trades else 0.0,
                "Number of trades": int(_attr(result, "number_of_trades", 0)) if trades else 0,
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def sector_table(self, result: OptimizationResult, run: BookRun) -> pd.DataFrame:
        """Weight per sector of the current book and the proposal (decimals)."""
        sectors = self.data.sectors
        w0 = run.current_weights if run.current_weights is not None else result.weights * 0
        frame = pd.DataFrame({"Current book weight": sector_exposure(w0, sectors),
                              "Proposal weight": sector_exposure(result.weights, sectors)})
        frame.index.name = "Sector"
        return frame.fillna(0.0).sort_values("Proposal weight", ascending=False)

    # --- is action needed? -----------------------------------------------------------
    def check(self, var_limit: float | None = None) -> CheckResult:
        """Compare the book held now with its targets and limits.

        The book is the setup's holdings and cash at the latest prices (``w0``, decimals of the
        book's value); the target is the setup's allocation. Findings:

        - drift: ``|w0_i - w_i|`` above the setup's drift band (``rebalance_drift_band``);
        - weight bounds (every asset, per asset) and sector bounds of the setup;
        - short positions in a long-only setup;
        - volatility above ``max_volatility`` and tracking error above
          ``book_max_tracking_error`` (annualised, on the setup's estimates);
        - historical VaR above ``var_limit`` at the first confidence and horizon of the risk
          settings, on the window's returns; daily historical CVaR above the setup's CVaR
          limit (``tail_max_cvar`` at ``tail_cvar_confidence``);
        - every registered check (:data:`CHECKS`).

        Parameters
        ----------
        var_limit : float, optional
            Largest acceptable VaR, a decimal of the book's value (0.03 = 3 %).

        Returns
        -------
        CheckResult

        Raises
        ------
        core.exceptions.BallastError
            No holdings, or holdings the data lacks.
        """
        from core.execution import book_weights

        ss = self.ss
        holdings = {t: float(v) for t, v in (ss["holdings"] or {}).items() if v}
        if not holdings:
            raise ExecutionError(
                "The setup holds no holdings, so there is no book to check: enter the shares held "
                "(Allocation or Rebalance page) and save the setup again."
            )
        missing = [t for t in holdings if t not in self.data.tickers]
        if missing:
            raise ExecutionError(f"The data has no prices for the holdings {', '.join(missing)}.")
        w0, cash_w, value = book_weights(holdings, float(ss["cash"]), self.data.prices.iloc[-1])
        findings: list[Finding] = []
        notes: list[str] = []
        try:
            target = self.allocation.weights
        except BallastError as exc:  # the limits of the book can still be checked
            target = pd.Series(np.nan, index=w0.index)
            findings.append(Finding("no target", "portfolio", float("nan"), float("nan"),
                                    f"No target allocation for this setup: {exc}"))  # fmt: skip
        tickers = list(dict.fromkeys([*target.index, *w0.index]))
        current = w0.reindex(tickers).fillna(0.0)
        goal = target.reindex(tickers)
        goal = goal if goal.isna().all() else goal.fillna(0.0)
        book = pd.DataFrame({"current_weight": current, "target_weight": goal})
        book.loc["CASH"] = [cash_w, 1.0 - float(goal.sum(min_count=1))]
        book["drift"] = book["current_weight"] - book["target_weight"]
        book.index.name = "ticker"
        band = float(ss["rebalance_drift_band"])
        for t, d in book["drift"].dropna().items():
            if abs(d) > band + 1e-12:
                findings.append(Finding(
                    "drift", str(t), float(d), band,
                    f"{t}: weight {percent(book.at[t, 'current_weight'])} against the target "
                    f"{percent(book.at[t, 'target_weight'])}, a drift of {percent(d)} beyond the "
                    f"band of {percent(band)}."))  # fmt: skip
        lo, hi = float(ss["min_weight"]), float(ss["max_weight"])
        bounds = dict(ss["asset_bounds"])
        for t, w in current.items():
            a, b = bounds.get(t, (lo, hi))
            if w < float(a) - 1e-9 or w > float(b) + 1e-9:
                limit = float(a) if w < float(a) else float(b)
                findings.append(Finding(
                    "weight bound", str(t), float(w), limit,
                    f"{t}: weight {percent(w)} outside its bounds {percent(float(a))} to "
                    f"{percent(float(b))}."))  # fmt: skip
            if ss["long_only"] and w < -1e-12:
                findings.append(Finding("short position", str(t), float(w), 0.0,
                                        f"{t}: short ({percent(w)}) in a long-only setup."))
        sectors = self.data.sectors
        exposure = sector_exposure(current, sectors) if len(sectors) else pd.Series(dtype=float)
        for sector, (a, b) in dict(ss["sector_bounds"]).items():
            w = float(exposure.get(sector, 0.0))
            if w < float(a) - 1e-9 or w > float(b) + 1e-9:
                findings.append(Finding(
                    "sector bound", str(sector), w, float(b) if w > float(b) else float(a),
                    f"Sector {sector}: weight {percent(w)} outside its bounds {percent(float(a))} "
                    f"to {percent(float(b))}."))  # fmt: skip
        invested = current[current.index.isin(self.universe)]
        try:
            mu, cov = self.estimates
            w = invested.reindex(cov.index).fillna(0.0).to_numpy()
            vol = float(np.sqrt(max(w @ cov.to_numpy() @ w, 0.0)))
            cap = ss["max_volatility"]
            if cap is not None and vol > float(cap) + 1e-9:
                findings.append(Finding(
                    "volatility limit", "portfolio", vol, float(cap),
                    f"Volatility {percent(vol)} a year (annualised) above the limit of "
                    f"{percent(float(cap))}."))  # fmt: skip
        except BallastError as exc:
            notes.append(f"Volatility not checked: {exc}")
        te_cap = ss["book_max_tracking_error"]
        if te_cap is not None:
            try:
                _, cov_j, bench = self.joint_estimates
                active = invested.reindex(cov_j.index).fillna(0.0)
                active[bench] -= 1.0
                a = active.to_numpy()
                te = float(np.sqrt(max(a @ cov_j.to_numpy() @ a, 0.0)))
                if te > float(te_cap) + 1e-9:
                    findings.append(Finding(
                        "tracking error limit", "portfolio", te, float(te_cap),
                        f"Tracking error {percent(te)} a year (annualised) against {bench} above "
                        f"the limit of {percent(float(te_cap))}."))  # fmt: skip
            except BallastError as exc:
                notes.append(f"Tracking error not checked: {exc}")
        if var_limit is not None:
            conf, horizon = float(ss["risk_confidences"][0]), int(ss["risk_horizon"])
            try:
                returns = self.window.prices.pct_change(fill_method=None).iloc[1:].fillna(0.0)
                var, _ = risk.historical_var_cvar(
                    risk.portfolio_returns(returns, invested.reindex(returns.columns).fillna(0.0)),
                    conf, horizon)  # fmt: skip
                if var > float(var_limit) + 1e-12:
                    findings.append(Finding(
                        "VaR limit", "portfolio", float(var), float(var_limit),
                        f"Historical VaR {conf:.1%}, {horizon} trading day(s): {percent(var)} of "
                        f"the book ({var * value:,.0f}) above the limit of "
                        f"{percent(float(var_limit))}."
                    ))  # fmt: skip
            except BallastError as exc:
                notes.append(f"VaR not checked: {exc}")
        cvar_cap = ss["tail_max_cvar"]
        if cvar_cap is not None:
            from core.scenario_optimization import scenario_cvar

            conf = float(ss["tail_cvar_confidence"])
            try:
                returns = self.window_returns
                cvar = float(scenario_cvar(invested.reindex(returns.columns).fillna(0.0),
                                           returns, conf))  # fmt: skip
                if cvar > float(cvar_cap) + 1e-12:
                    findings.append(Finding(
                        "CVaR limit", "portfolio", cvar, float(cvar_cap),
                        f"Historical CVaR {conf:.1%} (daily): {percent(cvar)} of the book above "
                        f"the setup's limit of {percent(float(cvar_cap))}."))  # fmt: skip
            except BallastError as exc:
                notes.append(f"CVaR not checked: {exc}")
        for name, extra in CHECKS.items():
            try:
                findings += extra(self, current)
            except BallastError as exc:
                notes.append(f"{name} not checked: {exc}")
        return CheckResult(tuple(findings), book, float(value), self.data.as_of.date(),
                           tuple(notes))  # fmt: skip

    # --- report sections -----------------------------------------------------------------
    def sections(self, strict: bool = False) -> list[SectionStatus]:
        """Every registered report section (:data:`SECTIONS`), in order, with its status.

        Parameters
        ----------
        strict : bool
            Re-raise exceptions that are not ``BallastError`` (tests); otherwise they are
            logged with their traceback and come back with status ``"bug"``.

        Returns
        -------
        list of SectionStatus
        """
        return [section_status(key, label, lambda b=builder: b(self), strict)
                for key, (label, builder) in SECTIONS.items()]  # fmt: skip

    def report_inputs(self) -> dict[str, Any]:
        """Every setup key as a labelled input of the report (units in the labels)."""
        ss = self.ss
        inputs: dict[str, Any] = {
            setups.label("data_source"): describe_source(ss["data_source"]),
            "Universe size (assets)": len(self.universe),
        }
        for key in ss:
            if key == "data_source":
                continue
            value = ss[key]
            if key == "objective_kind":
                kind = ss["objective_kind"]
                inputs[setups.label("objective_kind")] = OBJECTIVES.get(kind, kind)
                used = {"target_return": "target_return",
                        "target_volatility": "target_volatility",
                        "max_utility": "risk_aversion"}.get(kind)  # fmt: skip
                if used:
                    inputs[setups.label(used)] = ss[used]
                continue
            if key in ("target_return", "target_volatility", "risk_aversion"):
                continue  # with the objective that uses it
            inputs[setups.label(key)] = setups.display(key, value)
        return inputs

    def report_summary(self, statuses: list[SectionStatus]) -> ReportSummary:
        """The summary of the report from the setup, the data and the allocation."""
        data = self.data
        try:
            as_of = self.window.as_of.date()
        except BallastError:
            as_of = data.as_of.date()
        source = data.description or data.source
        if data.currency:
            source += f", prices in {data.currency}"
        figures: dict[str, float] = {}
        result = self.allocation_or_none()
        if result is not None:
            figures = {
                "Expected return (annualised)": result.expected_return,
                "Volatility (annualised)": result.volatility,
                "Sharpe ratio": result.sharpe_ratio,
                **diversification_figures(result.weights, result.effective_number_of_assets),
            }
        notes = tuple(f"{s.label}: not included, {s.message}" for s in statuses
                      if s.status in ("error", "bug"))  # fmt: skip
        return ReportSummary(title="Ballast portfolio report", data_source=source, as_of=as_of,
                             inputs=self.report_inputs(), key_figures=figures,
                             notes=notes)  # fmt: skip

    def report(self, strict: bool = False) -> tuple[ReportSummary, list[ReportSection],
                                                    list[SectionStatus]]:  # fmt: skip
        """The report: its summary, the sections that are ready, and every section's status.

        Built once per pipeline (the HTML and the workbook share it).
        """
        cached = self.__dict__.get("_report")
        if cached is None or cached[0] != strict:
            statuses = self.sections(strict)
            sections = [s.section for s in statuses if s.section is not None]
            cached = (strict, (self.report_summary(statuses), sections, statuses))
            self.__dict__["_report"] = cached
        return cached[1]

    def report_html(self, strict: bool = False) -> bytes:
        """The HTML report (:func:`core.reporting.report_html`), as the Report page builds it."""
        from core.reporting import report_html

        summary, sections, _ = self.report(strict)
        return report_html(summary, sections, percent_columns=self.data.tickers)

    def report_xlsx(self, strict: bool = False) -> bytes:
        """The Excel report (:func:`core.reporting.report_xlsx`), as the Report page builds it."""
        from core.reporting import report_xlsx

        summary, sections, _ = self.report(strict)
        return report_xlsx(summary, sections, percent_columns=self.data.tickers)


def section_status(key: str, label: str, build: Callable[[], ReportSection | None],
                   strict: bool = False) -> SectionStatus:  # fmt: skip
    """Run one section builder and say what became of it (see :class:`SectionStatus`).

    Parameters
    ----------
    key, label : str
        The section's key and its name for the user.
    build : callable
        Returns the section, or None when it has nothing to show yet.
    strict : bool
        Re-raise an unexpected exception (tests) instead of logging it.

    Returns
    -------
    SectionStatus
        ``"error"`` with the message of a BallastError, ``"bug"`` for an unexpected exception
        (logged), ``"no results"`` when ``build`` returned None, else ``"ready"`` with the
        section.
    """
    try:
        section = build()
    except BallastError as exc:
        return SectionStatus(key, label, "error", message=str(exc))
    except Exception as exc:
        if strict:
            raise
        _log.exception("The %s report section failed", label)
        message = f"an internal error ({type(exc).__name__}) stopped it; it is logged"
        return SectionStatus(key, label, "bug", message=message, error=exc)
    if section is None:
        return SectionStatus(key, label, "no results")
    return SectionStatus(key, label, "ready", section=section)


# --- section builders ---------------------------------------------------------------------
def _constraint_lines(ss: Mapping[str, Any]) -> list[str]:
    pct = "{:.2%}".format
    lines = [
        "long only (no short positions)" if ss["long_only"] else "short positions allowed",
        f"weight per asset between {pct(ss['min_weight'])} and {pct(ss['max_weight'])}",
    ]
    for kind, bounds in (("asset", ss["asset_bounds"]), ("sector", ss["sector_bounds"])):
        for name, (lo, hi) in bounds.items():
            lines.append(f"{kind} {md_literal(name)}: weight between {pct(lo)} and {pct(hi)}")
    if ss["max_volatility"] is not None:
        lines.append(f"volatility at most {pct(ss['max_volatility'])} a year")
    return lines


def allocation_section(p: Pipeline) -> ReportSection | None:
    """The allocation's report section: weights, orders, key figures, methods and charts.

    Returns
    -------
    ReportSection or None
        None while there is no allocation. Tables ``Weights``, ``Orders`` (whole shares at the
        latest prices for the setup's capital, cash last), ``Key figures`` and
        ``Sector weights``; figures: the weights bar and sector donut of ``core.charts``.

    Raises
    ------
    core.exceptions.ExecutionError
        If the orders cannot be sized (no valid price, non-positive capital).
    """
    from core import charts
    from core.execution import whole_share_orders
    from core.reporting import allocation_frame

    result = p.allocation_or_none()
    if result is None:
        return None
    ss = p.ss
    data = p.data
    capital = float(ss["capital"])
    orders = whole_share_orders(result.weights, data.prices.iloc[-1], capital)
    sectors = data.sectors.reindex(result.weights.index).fillna("Unknown")
    weights = pd.DataFrame({"sector": sectors, "weight": result.weights})
    weights.index.name = "ticker"
    weights = weights.sort_values("weight", ascending=False)
    order_table = allocation_frame(orders, data.sectors)
    cash = {"ticker": "CASH", "sector": "Cash", "value": orders.leftover_cash,
            "achieved_weight": orders.leftover_cash / capital}  # fmt: skip
    order_table = pd.concat([order_table, pd.DataFrame([cash])], ignore_index=True)
    order_table["shares"] = order_table["shares"].astype("Int64")  # whole shares, none for cash
    key = pd.DataFrame([{
        "Expected return (annualised)": result.expected_return,
        "Volatility (annualised)": result.volatility,
        "Sharpe ratio": result.sharpe_ratio,
        "Risk-free rate (annual)": result.risk_free_rate,
        **diversification_figures(result.weights, result.effective_number_of_assets),
        "Capital": capital,
        "Invested value": capital - orders.leftover_cash,
        "Leftover cash": orders.leftover_cash,
    }])  # fmt: skip
    sector_table = result.sector_weights.rename("weight").to_frame()
    sector_table.index.name = "sector"
    mu_source = (
        "the Black-Litterman posterior (see that section)"
        if ss["expected_returns_source"] == "black_litterman"
        else _RETURN_REFERENCES.get(ss["returns_method"], ss["returns_method"])
    )
    objective = all_objectives().get(result.objective.kind, result.objective.kind)
    tail_table = p.tail_report_table(result)
    text = "\n".join([
        f"**Objective:** {objective}. **Data window:** {ss['start']} to {ss['end']}, "
        f"{len(result.weights)} assets; orders at the latest prices of {data.as_of.date()} "
        f"for a capital of {capital:,.2f}{' ' + data.currency if data.currency else ''}.",
        "",
        f"- Expected returns ({RETURN_ESTIMATORS.get(ss['returns_method'])}): {mu_source}.",
        f"- Covariance ({COVARIANCE_ESTIMATORS.get(ss['cov_method'])}): "
        f"{_COVARIANCE_REFERENCES.get(ss['cov_method'], ss['cov_method'])}.",
        "- Constraints: fully invested; " + "; ".join(_constraint_lines(ss)) + ".",
        "- Mean-variance optimisation (Markowitz 1952, *Journal of Finance* 7(1)); the maximum "
        "Sharpe ratio portfolio solved exactly by the Cornuejols & Tutuncu (2007) change of "
        "variables; convex programs in cvxpy (Diamond & Boyd 2016) with the Clarabel solver.",
        "- Whole-share orders by a greedy largest-remainder rule (PyPortfolioOpt "
        "`DiscreteAllocation.greedy_portfolio`, Martin 2021).",
        "",
        "Weights and returns are decimals (shown as %); money in "
        + (data.currency or "the currency of the prices") + ".",
    ])  # fmt: skip
    figures = [charts.weights_bar(result.weights[result.weights.abs() > 1e-6]
                                  .sort_values(ascending=False))]  # fmt: skip
    if len(result.sector_weights):
        figures.append(charts.sector_pie(result.sector_weights))
    return ReportSection(key="allocation", title="Allocation", text=text,
                         tables={"Weights": weights, "Orders": order_table, "Key figures": key,
                                 "Sector weights": sector_table,
                                 **({"Tail risk": tail_table} if tail_table is not None
                                    else {})},
                         figures=figures)  # fmt: skip


def _markdown_views(outcome: BLOutcome) -> pd.DataFrame:
    views, result = outcome.inputs.views, outcome.result
    omega = np.diag(result.omega) if len(views) else np.zeros(0)
    return pd.DataFrame(
        {
            "View": list(views.P.index),
            "Description": list(views.labels),
            "Q (annualised)": views.Q.to_numpy(),
            "Confidence": outcome.confidences
            if outcome.inputs.omega_method == "idzorek"
            else np.nan,
            "Omega (annualised variance)": omega,
            "Prior P Pi (annualised)": views.P.to_numpy() @ result.prior_returns.to_numpy(),
            "Posterior P mu (annualised)": views.P.to_numpy() @ result.returns.to_numpy(),
        }
    )


def bl_section_from_outcome(outcome: BLOutcome, prior_kind: str) -> ReportSection | None:
    """The Black-Litterman report section of an outcome (None without views).

    Parameters
    ----------
    outcome : BLOutcome
    prior_kind : {"market_caps", "equal"}
        The setup's ``bl_prior``.
    """
    inputs = outcome.inputs
    if not len(inputs.views):
        return None
    prior = PRIORS[prior_kind].lower()
    text = (
        f"Prior: market-implied returns Pi = delta Sigma w_mkt + r_f from {prior}, with delta = "
        f"{inputs.delta:.2f} ({inputs.delta_note}), tau = {inputs.tau:g} and a risk-free rate of "
        f"{percent(inputs.risk_free_rate)} a year. Omega: {OMEGA_METHODS[inputs.omega_method]}"
        " (Idzorek 2005 in the closed form of Walters 2014, as in PyPortfolioOpt). "
        "The Black-Litterman weights are the unconstrained portfolio (delta Sigma_post)^-1 "
        "(mu_post - r_f), not normalised, as He & Litterman (1999) report it; the optimised "
        "portfolio uses the posterior returns under the Allocation page's objective and "
        "constraints.\n\n"
        + "\n".join(
            f"- {md_literal(n)}: {md_literal(lab)}"
            for n, lab in zip(inputs.views.P.index, inputs.views.labels, strict=True)
        )
    )
    if outcome.optimisation_error:
        text += f"\n\nOptimised portfolio unavailable: {md_literal(outcome.optimisation_error)}"
    return ReportSection(
        key="black_litterman", title="Black-Litterman", text=text,
        tables={"BL posterior": outcome.table.rename_axis("Asset").reset_index(),
                "BL views": _markdown_views(outcome)},
        figures=[go.Figure(outcome.figures[name]).update_layout(template="plotly_white")
                 for name in ("returns", "weights", "changes")],
    )  # fmt: skip


def black_litterman_section(p: Pipeline) -> ReportSection | None:
    """The Black-Litterman section: prior, views, posterior, both portfolios (None: no views)."""
    try:
        outcome = p.bl_outcome
    except BallastError:
        return None
    return bl_section_from_outcome(outcome, p.ss["bl_prior"])


def frontier_section(p: Pipeline, view: FrontierView | None = None) -> ReportSection | None:
    """The frontier for the report: its points table and figures (None: cannot be computed).

    Parameters
    ----------
    p : Pipeline
    view : FrontierView, optional
        A view computed already (with :data:`REPORT_RANDOM` random portfolios).
    """
    from core.charts.frontier import frontier_figure, transition_map

    try:
        view = view or p.frontier_view(n_random=REPORT_RANDOM)
    except BallastError:
        return None
    f = view.frontier
    ss = p.ss
    text = (
        f"Efficient frontier of {len(f.tickers)} assets, {len(f.returns)} points equally spaced "
        f"in expected return from the minimum-variance portfolio "
        f"({f.min_variance.expected_return:.2%} return, {f.min_variance.volatility:.2%} "
        f"volatility, annualised) to the maximum-return portfolio "
        f"({f.max_return.expected_return:.2%}, {f.max_return.volatility:.2%}). "
        f"Expected returns: {RETURN_ESTIMATORS.get(ss['returns_method'], ss['returns_method'])}"
        + (" (Black-Litterman posterior)" if ss["expected_returns_source"] == "black_litterman"
           else "")
        + f"; covariance: {COVARIANCE_ESTIMATORS.get(ss['cov_method'], ss['cov_method'])}; "
        f"risk-free rate {f.risk_free_rate:.2%} a year.\n\n"
    )  # fmt: skip
    if f.tangency is not None:
        text += (
            f"Tangency portfolio (maximum Sharpe ratio, exact): return "
            f"{f.tangency.expected_return:.2%}, volatility {f.tangency.volatility:.2%}, Sharpe "
            f"ratio {f.tangency.sharpe_ratio:.2f}.\n\n"
        )
    text += (
        "Method: the critical line algorithm (Markowitz 1956; Niedermayer & Niedermayer 2010), "
        "which traces the exact piecewise-linear frontier under the weight bounds and sector "
        "limits; checked against PyPortfolioOpt's efficient_return solved by Clarabel."
    )
    tables = {"Frontier points": f.to_frame(), "Corner portfolios": f.corner_portfolios}
    figures = [
        frontier_figure(f, view.assets, view.cloud, view.points, view.overlays),
        transition_map(f, ss["frontier_transition_x"]),
    ]
    if p.show_active_frontier:  # toggled on the page: in its downloads too
        from core.charts.frontier import active_frontier_figure

        try:
            points, name, marks = p.active_view()
        except BallastError as exc:
            text += f"\n\nActive frontier: {md_literal(exc)}"
        else:
            tables["Active frontier points"] = points
            figures.append(active_frontier_figure(points, name, marks))
            text += (f"\n\nActive frontier against {md_literal(name)} (Roll 1992): the highest "
                     "expected return for each tracking error, from the minimum-tracking-error "
                     "portfolio; active return and tracking error annualised "
                     "decimals.")  # fmt: skip
    if ss["frontier_show_cvar"]:  # shown on the page: in the report too
        from core.charts.tail import mean_cvar_frontier_figure

        try:
            cvar_frontier, marker, _ = p.cvar_frontier_view()
        except BallastError as exc:
            text += f"\n\nMean-CVaR frontier: {md_literal(exc)}"
        else:
            c = float(ss["tail_cvar_confidence"])
            tables["Mean-CVaR frontier points"] = cvar_frontier
            figures.append(mean_cvar_frontier_figure(cvar_frontier, marker, confidence=c))
            text += (f"\n\nMean-CVaR frontier (Rockafellar & Uryasev 2000): the least CVaR at "
                     f"{c:.1%} (daily loss, decimal) for each expected return (annualised), each "
                     "point an exact linear program solved by HiGHS.")  # fmt: skip
    if p.resampled is not None:  # computed (the page's toggle, or the command line)
        from core.charts.comparison import resampled_frontier_figure
        from core.resampling import RESAMPLING_METHODS

        r = p.resampled
        text += (
            f"\n\nResampled frontier (Michaud & Michaud 1998): {r.n_resamples} resamples "
            f"({RESAMPLING_METHODS[r.method].lower()}), seed {r.seed}; the weights of "
            "rank k of every resampled frontier averaged, evaluated under the original estimates."
        )
        tables["Resampled frontier"] = r.to_frame()
        figures.append(resampled_frontier_figure(r))
    return ReportSection("frontier", "Efficient frontier", text, tables, figures)


def comparison_section(p: Pipeline) -> ReportSection | None:
    """The comparison of designs for the reports (None when none was run for the setup).

    Parameters
    ----------
    p : Pipeline
        Its :attr:`Pipeline.comparison` (:meth:`Pipeline.run_comparison`).

    Returns
    -------
    ReportSection or None
        The designs, their metrics, the Sharpe-ratio tests against the baseline and the
        growth of 1 of each, with the equity and Sharpe-interval charts.
    """
    from core.charts.comparison import comparison_equity, sharpe_intervals
    from core.comparison import SHARPE_TESTS

    result = p.comparison
    if result is None:
        return None
    s = result.settings
    text = (
        f"{len(result.results)} designs walked forward together from {s['start']} to "
        f"{s['end']}: {s['rebalances']} {s['schedule']} rebalances on the same dates, a "
        f"trailing window of {s['lookback']} trading days, costs of {s['cost_bps']:.1f} bps of "
        "traded value. Figures after costs; returns and volatilities annualised decimals, "
        "drawdown and CVaR positive losses. Sharpe ratios against the baseline "
        f"{md_literal(result.baseline)}: {SHARPE_TESTS[s['test']]} (Ledoit & Wolf 2008; "
        "Jobson & Korkie 1981 with Memmel's 2003 correction), intervals after Mertens (2002)."
    )
    designs = pd.DataFrame({"design": [r.design.label for r in result.results.values()]},
                           index=list(result.results))  # fmt: skip
    tables = {"Designs": designs, "Metrics": result.metrics, "Sharpe tests": result.tests,
              "Equity (growth of 1)": result.equity}  # fmt: skip
    figures = [comparison_equity(result.equity, result.benchmark),
               sharpe_intervals(result.metrics, s["confidence"])]  # fmt: skip
    return ReportSection("compare", "Comparison of designs", text, tables, figures)


def risk_section(p: Pipeline, table: pd.DataFrame | None = None,
                 inputs: RiskInputs | None = None) -> ReportSection | None:  # fmt: skip
    """The risk section: VaR/CVaR, contributions, stress, VaR backtest, key figures.

    Parameters
    ----------
    p : Pipeline
    table : DataFrame, optional
        The VaR/CVaR table computed already (:attr:`Pipeline.risk_table`).
    inputs : RiskInputs, optional
        The inputs it was computed from (:attr:`Pipeline.risk_inputs`).

    Returns
    -------
    ReportSection or None
        Tables ``VaR and CVaR``, ``Contributions (assets)``, ``Contributions (sectors)``,
        ``Stress scenarios``, ``Correlation stress``, ``Backtest``, ``Key figures`` (losses as
        decimals and money), ``Settings``; figures: the return distribution, contributions,
        stress bars and the backtest chart. None while no allocation can be computed or the
        window is unusable.
    """
    from core.charts import risk as risk_charts

    try:
        inputs = p.risk_inputs if inputs is None else inputs
        table = p.risk_table if table is None else table
    except BallastError:
        return None
    ss = p.ss
    c, h = max(inputs.confidences), inputs.horizon
    tables: dict[str, pd.DataFrame] = {"VaR and CVaR": table}
    figures = []
    part = table[table["confidence"] == c]
    lines = {r["label"]: (r["var"], r["cvar"]) for _, r in part.iterrows()}
    figures.append(risk_charts.return_distribution(
        risk.historical_scenarios(inputs.returns, inputs.weights, h).to_numpy(), lines, h, c))
    settings = [
        ("Portfolio value", f"{inputs.capital:,.2f} {inputs.currency}".strip()),
        ("Horizon (trading days)", str(h)),
        ("Window", f"{inputs.returns.index[0].date()} to {inputs.returns.index[-1].date()}"),
    ]
    losses: list[tuple[str, float]] = []
    for _, r in table[table["method"] == "historical"].iterrows():
        losses += [
            (f"Historical VaR {r['confidence']:.1%}, {h} d", r["var"]),
            (f"Historical CVaR {r['confidence']:.1%}, {h} d", r["cvar"]),
        ]
    notes = []
    try:
        rc = risk.risk_contributions(inputs.returns, inputs.weights,
                                     ss["risk_contrib_confidence"], h,
                                     ss["risk_contrib_method"], inputs.sectors)  # fmt: skip
        tables["Contributions (assets)"] = rc.assets.reset_index()
        tables["Contributions (sectors)"] = rc.sectors.reset_index()
        figures.append(risk_charts.contributions_bar(rc.sectors, "Share of risk by sector"))
        dd = risk.drawdowns(inputs.portfolio, c)
        losses += [("Maximum drawdown (loss)", dd.max_drawdown), (f"CDaR {c:.1%}", dd.cdar)]
        settings.append(("Days to recovery", str(dd.days_to_recovery or "not recovered")))
    except BallastError as exc:
        notes.append(f"Contributions/drawdowns not computed: {md_literal(exc)}")
    try:
        stress_table, skipped = p.stress(inputs)
        tables["Stress scenarios"] = stress_table
        if len(stress_table):
            figures.append(risk_charts.stress_bar(stress_table))
        if skipped:
            notes.append(f"Scenarios not covered by the data: {', '.join(skipped)}.")
        tables["Correlation stress"] = p.correlation_stress(inputs, c)
    except BallastError as exc:
        notes.append(f"Stress tests not computed: {md_literal(exc)}")
    try:
        bt = p.var_backtest(inputs)
        tables["Backtest"] = bt.summary().astype({"value": str})
        figures.append(risk_charts.backtest_chart(bt.returns, bt.var, bt.exceptions,
                                                  bt.confidence))  # fmt: skip
        settings += [
            ("Backtest exceptions", f"{bt.n_exceptions} of {bt.n_days} days"),
            ("Basel zone (last 250 days)", bt.zone),
        ]
    except BallastError as exc:
        notes.append(f"Backtest not computed: {md_literal(exc)}")
    key = pd.DataFrame(losses, columns=["figure", "loss (decimal)"])
    key["loss (money)"] = key["loss (decimal)"] * inputs.capital
    tables["Key figures"] = key
    tables["Settings"] = pd.DataFrame(settings, columns=["setting", "value"])
    text = (
        f"VaR and CVaR (expected shortfall) of the current allocation as positive losses, "
        f"fractions of the portfolio value {inputs.money(1.0)}, over {h} trading day(s), at "
        f"{', '.join(f'{x:.1%}' for x in inputs.confidences)} confidence, from daily returns "
        f"{inputs.returns.index[0].date()} to {inputs.returns.index[-1].date()}. Methods: "
        "historical (empirical quantile; for h > 1 the overlapping h-day buy-and-hold returns "
        "of the current weights, as in the contributions), "
        "parametric normal, Cornish-Fisher (Zangari 1996; tail average of its quantile "
        "function), Monte Carlo from fitted multivariate normal and Student-t models "
        f"({int(ss['risk_mc_scenarios']):,} scenarios, seed {ss['risk_mc_seed']}). "
        "Contributions: Euler allocation (Tasche 1999). Backtest: Kupiec (1995) POF, "
        "Christoffersen (1998) independence and conditional coverage, Basel (1996) traffic "
        "light. Stress: crisis windows replayed buy-and-hold on the full history, from the "
        "S&P 500's peak close to its trough close (uninvested weight held as cash), beside the "
        "benchmark over the same days; returns signed, losses (worst day, maximum drawdown) "
        "positive; correlation stress keeps volatilities and pushes correlations toward 1."
        + ("\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "")
    )
    # Built without a template for the page's speed (core.charts.risk): the report sets one, so
    # that the files look the same whatever plotly's default is (Streamlit changes it).
    figures = [go.Figure(f).update_layout(template="plotly_white") for f in figures]
    return ReportSection(key="risk", title="Risk", text=text, tables=tables, figures=figures)


def rebalance_section(p: Pipeline) -> ReportSection | None:
    """The rebalancing section: benchmark metrics, the backtest (when run), trades, stops.

    The walk-forward backtest is in it when the pipeline holds one (:attr:`Pipeline.backtest`;
    a report does not run one). None when there is nothing to report.
    """
    from core.charts import backtest as bcharts
    from core.execution import STOP_METHODS

    tables: dict[str, pd.DataFrame] = {}
    figures = []
    lines = []
    ss = p.ss
    try:
        table, growth, active, what = p.tracking_figures()
        tables["Benchmark metrics"] = table.rename(index=perf.METRIC_LABELS)
        tables["Active weights"] = active
        figures.append(bcharts.equity_curves(growth, "Growth of 1 against the benchmark",
                                             benchmark=growth.columns[-1]))  # fmt: skip
        lines.append(
            f"Benchmark: {md_literal(growth.columns[-1])}; active weights against "
            f"{md_literal(what)}. Metrics on the window {ss['start']} to {ss['end']} at fixed "
            "weights, "
            "empyrical definitions (CAGR, Sharpe, Sortino, max drawdown, beta, Jensen's alpha, "
            "capture ratios); tracking error and information ratio after Grinold & Kahn (2000)."
        )
    except BallastError as exc:
        lines.append(f"Benchmark metrics not available: {md_literal(exc)}")
    result = p.backtest
    if result is not None:
        s = result.settings
        tables["Backtest summary"] = result.summary.rename(index=perf.METRIC_LABELS)
        tables["Backtest yearly returns"] = result.yearly
        figures.append(bcharts.equity_curves(result.equity, benchmark=s["benchmark"]))
        lines.append(
            f"Walk-forward backtest {s['start']} to {s['end']}: {s['objective']}, rebalanced "
            f"{s['schedule']}, {s['lookback']}-day lookback, costs {s['cost_bps']:.1f} bps of "
            "traded value; estimates use only data up to each rebalance date."
        )
    try:
        plan = p.trade_plan
        tables["Trade plan"] = plan.trades[plan.trades["action"] != "Hold"]
        lines.append(f"Trade plan: turnover {percent(plan.turnover)}, estimated costs "
                     f"{plan.costs:,.2f}, cash after trades {plan.cash_after:,.2f}.")  # fmt: skip
    except BallastError as exc:
        lines.append(f"Trade plan not available: {md_literal(exc)}")
    try:
        levels, limits = p.stop_levels()
        tables["Stop levels"] = levels
        if limits is not None:
            tables["Portfolio loss limit"] = limits.to_frame("value")
        lines.append(f"Stops: {STOP_METHODS[ss['rebalance_stop_method']]}, horizon "
                     f"{ss['rebalance_horizon']} trading days.")  # fmt: skip
    except BallastError as exc:
        lines.append(f"Stop levels not available: {md_literal(exc)}")
    if not tables:
        return None
    return ReportSection(key="rebalance", title="Rebalancing", text="\n\n".join(lines),
                         tables=tables, figures=figures)  # fmt: skip


def book_section(p: Pipeline) -> ReportSection | None:
    """The book's section: before/after figures, sectors, limit costs, trades.

    Returns
    -------
    ReportSection or None
        None unless the allocation was optimised from the current holdings. Tables
        ``Before and after`` (rows current book and proposal; decimals shown as %),
        ``Sector weights``, ``Cost of each limit`` (objective gained per percentage point of
        relaxation) and ``Trade list`` (whole shares); figure: the before/after bars.

    Raises
    ------
    core.exceptions.ExecutionError
        If the trade list cannot be sized (no valid price).
    """
    from core.charts.book import before_after_bars

    ss = p.ss
    result = p.allocation_or_none()
    run = p.book_run if result is not None else None
    if result is None or run is None or run.current_weights is None:
        return None
    figures = p.before_after(result, run)
    figures.index.name = "Portfolio"
    shadow = shadow_table(result)
    tables = {"Before and after": figures, "Sector weights": p.sector_table(result, run),
              "Cost of each limit": shadow}  # fmt: skip
    plan = p.trade_plan
    tables["Trade list"] = plan.trades[plan.trades["action"] != "Hold"]
    limits = [f"turnover (one-way, sum abs(w - w0) / 2) at most "
              f"{ss['book_max_turnover']:.2%}" if ss["book_max_turnover"] is not None
              else "no turnover budget"]  # fmt: skip
    for key, what in (("book_locked", "locked"), ("book_no_buy", "no buying"),
                      ("book_no_sell", "no selling")):  # fmt: skip
        if ss[key]:
            limits.append(f"{what}: {', '.join(ss[key])}")
    if ss["book_max_tracking_error"] is not None:
        limits.append(f"tracking error at most {ss['book_max_tracking_error']:.2%} a year")
    if not ss["long_only"]:
        for key, what in (("book_max_gross", "gross exposure"), ("book_max_long", "long side"),
                          ("book_max_short", "short side")):  # fmt: skip
            if ss[key] is not None:
                limits.append(f"{what} at most {ss[key]:.0%}")
    lo, hi = ss["book_cash_bounds"]
    limits.append(f"cash weight between {lo:.0%} and {hi:.0%}")
    overrides = "; ".join(f"{md_literal(t)} {c:.1f} bps"
                          for t, c in ss["book_cost_overrides"].items()
                          if t in p.universe)  # fmt: skip
    currency = p.data.currency
    text = "\n".join([
        f"**Start:** the current book, worth {run.book_value:,.2f}"
        f"{' ' + currency if currency else ''} "
        f"({run.cash_weight:.2%} cash), at the latest prices.",
        "",
        "- Limits: " + "; ".join(limits) + ".",
        f"- Transaction costs: {ss['rebalance_cost_bps']:.1f} bps of traded value"
        + (f", per-asset overrides {overrides}" if overrides else "")
        + f", amortised over {ss['book_horizon_years']:.2f} years: the objective uses "
        "mu'w - sum c_i abs(w_i - w0_i) / H.",
        "- " + (f"Tracking error against {md_literal(run.benchmark)}, estimated jointly with "
                "the assets: sqrt((w - b)' Sigma (w - b)) (Grinold & Kahn 2000)"
                + ("; the optimisation used it." if p.benchmark_needed else ".")
                if run.benchmark else "No benchmark: no tracking error."),
        "- Cost of each limit: the Lagrange multiplier of every binding constraint, as the "
        f"objective ({objective_units(result.objective.kind)}) gained per percentage point of "
        "relaxation.",
        "",
        "Weights, returns, risk, turnover and costs are decimals of the book's value "
        "(shown as %).",
    ])  # fmt: skip
    shown = [c for c in figures.columns if c not in _NOT_PCT and "Cash" not in c
             and "Gross" not in c]  # fmt: skip
    return ReportSection(key="book", title="Rebalancing from the current book", text=text,
                         tables=tables, figures=[before_after_bars(figures[shown])])  # fmt: skip


#: Report sections in report order: key -> (label, builder). The keys are the dashboard's
#: feature modules (``ui.report.SECTION_MODULES``), whose ``report_section`` calls the builder.
SECTIONS: dict[str, tuple[str, Callable[[Pipeline], ReportSection | None]]] = {
    "ui.allocation": ("Allocation", allocation_section),
    "ui.black_litterman": ("Black-Litterman", black_litterman_section),
    "ui.frontier": ("Efficient frontier", frontier_section),
    "ui.risk": ("Risk", risk_section),
    "ui.rebalance": ("Rebalancing", rebalance_section),
    "ui.book": ("Rebalancing from the current book", book_section),
    "ui.compliance": ("Compliance", compliance.report_section),
    "ui.compare": ("Comparison of designs", comparison_section),
}


def register_section(key: str, label: str,
                     builder: Callable[[Pipeline], ReportSection | None]) -> None:  # fmt: skip
    """Add (or replace) a report section; it joins the reports of the CLI and the dashboard.

    Parameters
    ----------
    key : str
        The feature's key (its ui module, e.g. ``"ui.compliance"``); new keys come last.
    label : str
        The feature's name for the user.
    builder : callable
        ``Pipeline -> ReportSection | None``; raises BallastError with a message for the user.
    """
    SECTIONS[key] = (label, builder)


# --- loading a setup's data -----------------------------------------------------------------
def view_tickers(setup: Mapping[str, Any]) -> list[str]:
    """Tickers named in the text of the setup's Black-Litterman views (``bl_views``)."""
    out: list[str] = []
    for view in setup.get("bl_views") or []:
        if isinstance(view, dict):
            for side in ("assets", "versus"):
                out += bl.tickers_of(view.get(side))
    return out


def check_dates(setup: Mapping[str, Any], data: PriceData) -> None:
    """Raise a SetupError naming every date of the setup outside the data's dates.

    Parameters
    ----------
    setup : mapping
        Setup keys (``start``, ``end``, ``rebalance_backtest_start``).
    data : PriceData
        The loaded prices.

    Raises
    ------
    core.exceptions.SetupError
        Naming ``start``, ``end`` or ``rebalance_backtest_start`` with the data's dates.
    """
    from core.exceptions import SetupError

    first, last = data.prices.index[0].date(), data.prices.index[-1].date()
    bad = [
        f"{key} ({setup[key]} is outside the data's dates, {first} to {last})"
        for key in ("start", "end", "rebalance_backtest_start")
        if isinstance(setup.get(key), dt.date) and not first <= setup[key] <= last
    ]
    if bad:
        raise SetupError(f"Settings that cannot be used with the loaded data: {'; '.join(bad)}.")


def check_against_data(setup: Mapping[str, Any], data: PriceData) -> None:
    """Raise if the setup names tickers the data lacks or dates outside it (the page's checks).

    Parameters
    ----------
    setup : mapping
        Setup keys.
    data : PriceData
        The loaded prices.

    Raises
    ------
    core.exceptions.SetupError
        Naming every missing ticker, or every date outside the data.
    """
    values = dict(setup)
    setups.check_tickers(values, data.tickers, extra=view_tickers(values))
    check_dates(values, data)


def load_data(setup: Setup) -> PriceData:
    """Load the prices the setup's data source names (``core.market_data.load_source``).

    Yahoo data comes from Yahoo Finance, or from the local cache when Yahoo cannot be reached.

    Raises
    ------
    core.exceptions.DataSourceUnavailableError
        Yahoo unreachable and nothing cached (the message says so).
    core.exceptions.BallastError
        Any other reason the source cannot be loaded (the message says why).
    """
    from core import market_data
    from core.exceptions import DataSourceUnavailableError

    descriptor = setup.data_source.descriptor()
    try:
        return market_data.load_source(descriptor)
    except DataSourceUnavailableError as online:
        try:
            return market_data.load_source(descriptor, offline=True)
        except DataSourceUnavailableError as offline:
            raise DataSourceUnavailableError(
                f"Yahoo Finance cannot be reached ({online}) and the local cache cannot stand "
                f"in: {offline}"
            ) from None


# --- checks: is action needed? --------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One thing about the book that needs action (or a note that does not).

    Attributes
    ----------
    kind : str
        ``"drift"``, ``"weight bound"``, ``"sector bound"``, ``"volatility limit"``,
        ``"tracking error limit"``, ``"VaR limit"``, ``"CVaR limit"``, ``"short position"``,
        ``"no target"`` (the setup gives no allocation: no portfolio meets its limits), or a
        feature's kind.
    name : str
        What it concerns (a ticker, a sector, ``"portfolio"``).
    value : float
        The book's value of the measure (decimal).
    limit : float
        The limit or band it is compared with (decimal).
    message : str
        One line for the user, with units.
    """

    kind: str
    name: str
    value: float
    limit: float
    message: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :meth:`Pipeline.check`.

    Attributes
    ----------
    findings : tuple of Finding
        Breaches and drift beyond the band; empty when the book is within its targets.
    book : DataFrame
        Per ticker: ``current_weight``, ``target_weight``, ``drift`` (decimals of the book's
        value, holdings at the latest prices; the row ``CASH`` is cash; target and drift NaN
        when there is no target).
    book_value : float
        Holdings plus cash, in the data's currency.
    as_of : datetime.date
        Date of the latest prices.
    notes : tuple of str
        Checks that could not be made, and why.
    """

    findings: tuple[Finding, ...]
    book: pd.DataFrame
    book_value: float
    as_of: dt.date
    notes: tuple[str, ...] = ()

    @property
    def action_needed(self) -> bool:
        """Whether any finding calls for action."""
        return bool(self.findings)


#: Further checks of the book, by name: ``(pipeline, current weights) -> list of Finding``.
#: A feature (compliance rules) adds its own with :func:`register_check`.
CHECKS: dict[str, Callable[[Pipeline, pd.Series], list[Finding]]] = {}


def register_check(name: str, check: Callable[[Pipeline, pd.Series], list[Finding]]) -> None:
    """Add (or replace) a check that :meth:`Pipeline.check` runs on the current book.

    Parameters
    ----------
    name : str
        Name of the check (for messages when it cannot run).
    check : callable
        ``(pipeline, w0) -> list[Finding]`` with ``w0`` the book's weights by ticker
        (decimals of its value); raises BallastError when it cannot be made.
    """
    CHECKS[name] = check
