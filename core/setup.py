"""The portfolio setup as one typed, frozen object: what the user chose, nothing computed.

Conventions
-----------
A :class:`Setup` holds every setting of a saved setup, grouped as the dashboard groups them:
the data source, the universe, the date window, the estimators, the objective, the
constraints, the Black-Litterman views, the holdings (and how to optimise from them), the risk
settings, the rebalancing and backtest settings, the frontier's settings, those of the
tail-risk objectives and of the design comparison. Each field of a group carries the *setup
key* it is saved under (``"risk_horizon"``, the keys of ``ui.state.DEFAULTS`` and of saved
JSON files), so that:

- :meth:`Setup.from_mapping` / :meth:`Setup.to_mapping` convert from and to today's flat
  mapping of setup keys (session state, saved setups, JSON files) without loss;
- a ``Setup`` reads as that mapping too (``setup["risk_horizon"]``; it is a
  :class:`~collections.abc.Mapping`);
- keys a feature adds later (a default in ``ui.state.DEFAULTS`` and a rule registered with
  :func:`core.setups.register`) that have no typed field yet are carried along in
  :attr:`Setup.extras`, validated by their rule, and written back unchanged.

Units are those of the setup keys: weights, returns and rates as decimals (0.05 = 5 %),
volatilities and returns annualised, horizons in trading days, money in the data's currency.
Values are validated by :func:`core.setups.validate` (the rules the Report page applies on
import), so a bad file gets the same message everywhere.

*Frozen* means the fields cannot be reassigned (``dataclasses.replace`` makes a changed copy);
:meth:`Setup.to_mapping` and item access return deep copies, so nothing outside can change a
``Setup`` through them. The values keep their JSON-friendly types (lists stay lists, tuples stay
tuples), because the saved file records which was which.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from core import setups
from core.exceptions import SetupError

__all__ = [
    "SCHEMA_VERSION",
    "DEFAULTS",
    "DataSource",
    "Window",
    "Estimators",
    "ObjectiveSettings",
    "ConstraintSettings",
    "ViewSettings",
    "HoldingSettings",
    "RiskSettings",
    "BacktestSettings",
    "FrontierSettings",
    "Setup",
    "known_defaults",
]

#: Schema version of a setup (the version of saved setups and JSON files, core.setups).
SCHEMA_VERSION = setups.SCHEMA_VERSION

#: Days of the default window: five years of calendar days before the data's end.
DEFAULT_WINDOW_DAYS = 5 * 365


def _key(key: str, default: Any) -> Any:
    """A group field saved under setup key ``key`` (mutable defaults copied per instance)."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"key": key})
    return field(default=default, metadata={"key": key})


@dataclass(frozen=True)
class DataSource:
    """Where the prices come from, enough to load them again (``core.market_data.load_source``).

    Attributes
    ----------
    kind : {"sample", "yahoo", "upload"}
        The bundled S&P 500 sample, Yahoo Finance tickers, or an uploaded file (embedded).
    options : mapping
        The rest of the descriptor: ``tickers``, ``start``, ``end``, ``benchmark``,
        ``alignment`` (Yahoo); ``filename``, ``csv``, ``benchmark`` (upload); ``sectors``.
    """

    kind: str = "sample"
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_descriptor(cls, descriptor: Mapping[str, Any]) -> DataSource:
        """The data source of a descriptor ``{"kind": ..., ...}`` (the ``data_source`` key)."""
        options = {k: copy.deepcopy(v) for k, v in descriptor.items() if k != "kind"}
        return cls(str(descriptor.get("kind", "sample")), options)

    def descriptor(self) -> dict[str, Any]:
        """The descriptor as saved under ``data_source`` (a copy)."""
        return {"kind": self.kind, **copy.deepcopy(dict(self.options))}


@dataclass(frozen=True)
class Window:
    """The estimation window: dates of the data used; None takes them from the data.

    Attributes
    ----------
    start : datetime.date or None
        First date; None: :data:`DEFAULT_WINDOW_DAYS` before the end (or the data's start).
    end : datetime.date or None
        Last date; None: the data's last date.
    """

    start: dt.date | None = _key("start", None)
    end: dt.date | None = _key("end", None)


@dataclass(frozen=True)
class Estimators:
    """Expected returns and covariance estimators (``core.estimators``), the risk-free rate.

    Attributes
    ----------
    returns_method : str
        A key of ``core.estimators.RETURN_ESTIMATORS``.
    cov_method : str
        A key of ``core.estimators.COVARIANCE_ESTIMATORS``.
    risk_free_rate : float
        Annual decimal.
    expected_returns_source : {"historical", "black_litterman"}
        Whether the Black-Litterman posterior replaces the estimator's expected returns.
    """

    returns_method: str = _key("returns_method", "mean_historical")
    cov_method: str = _key("cov_method", "ledoit_wolf")
    risk_free_rate: float = _key("risk_free_rate", 0.02)
    expected_returns_source: str = _key("expected_returns_source", "historical")


@dataclass(frozen=True)
class ObjectiveSettings:
    """The optimisation objective (``core.optimization.OBJECTIVES``) and its parameters.

    Attributes
    ----------
    kind : str
        A key of ``core.optimization.OBJECTIVES``.
    target_return, target_volatility : float
        Annualised decimals, for the target objectives.
    risk_aversion : float
        Delta of the quadratic utility.
    """

    kind: str = _key("objective_kind", "max_sharpe")
    target_return: float = _key("target_return", 0.15)
    target_volatility: float = _key("target_volatility", 0.20)
    risk_aversion: float = _key("risk_aversion", 3.0)


@dataclass(frozen=True)
class ConstraintSettings:
    """What a portfolio may be (``core.constraints.Constraints``), decimals of the portfolio.

    Attributes
    ----------
    long_only : bool
    min_weight, max_weight : float
        Bounds on every asset's weight.
    max_volatility : float or None
        Annualised cap; None: none.
    asset_bounds : mapping
        Ticker -> (min, max) weight.
    sector_bounds : mapping
        Sector -> (min, max) weight.
    """

    long_only: bool = _key("long_only", True)
    min_weight: float = _key("min_weight", 0.0)
    max_weight: float = _key("max_weight", 1.0)
    max_volatility: float | None = _key("max_volatility", None)
    asset_bounds: Mapping[str, Any] = _key("asset_bounds", {})
    sector_bounds: Mapping[str, Any] = _key("sector_bounds", {})


@dataclass(frozen=True)
class ViewSettings:
    """Black-Litterman prior and views (``core.black_litterman``).

    Attributes
    ----------
    views : list of dict
        One dict per view: ``kind, assets, versus, return, basket, view_volatility,
        confidence`` (annual decimals; confidence in [0, 1], Idzorek 2005).
    prior : {"market_caps", "equal"}
    market_caps : mapping
        Ticker -> market cap (bn) the user entered.
    delta : float or None
        Risk aversion; None: implied by the benchmark.
    tau : float
    omega : {"idzorek", "proportional", "variance"}
    """

    views: list[dict[str, Any]] = _key("bl_views", [])
    prior: str = _key("bl_prior", "market_caps")
    market_caps: Mapping[str, float] = _key("bl_market_caps", {})
    delta: float | None = _key("bl_delta", None)
    tau: float = _key("bl_tau", 0.05)
    omega: str = _key("bl_omega", "idzorek")


@dataclass(frozen=True)
class HoldingSettings:
    """The book held now, the capital, and how to optimise from the book (``ui.book``).

    Attributes
    ----------
    capital : float
        Money to invest when starting from cash (the data's currency).
    holdings : mapping
        Ticker -> shares held now (negative: short).
    cash : float
        Cash held now.
    start_from : {"cash", "holdings"}
    max_turnover : float or None
        One-way turnover ``sum|w - w0| / 2`` at most this (decimal).
    locked, no_buy, no_sell : list of str
        Tickers whose weight stays, may not rise, may not fall.
    cost_overrides : mapping
        Ticker -> transaction costs in bps of traded value.
    horizon_years : float
        Holding horizon over which costs are amortised.
    cash_bounds : list
        (min, max) cash weight of the proposal.
    max_gross, max_long, max_short : float or None
        Exposure caps (decimals; 1.6 gross = 130/30).
    max_tracking_error : float or None
        Annualised cap against the benchmark.
    """

    capital: float = _key("capital", 100_000.0)
    holdings: Mapping[str, float] = _key("holdings", {})
    cash: float = _key("cash", 100_000.0)
    start_from: str = _key("book_start_from", "cash")
    max_turnover: float | None = _key("book_max_turnover", None)
    locked: list[str] = _key("book_locked", [])
    no_buy: list[str] = _key("book_no_buy", [])
    no_sell: list[str] = _key("book_no_sell", [])
    cost_overrides: Mapping[str, float] = _key("book_cost_overrides", {})
    horizon_years: float = _key("book_horizon_years", 1.0)
    cash_bounds: list[float] = _key("book_cash_bounds", [0.0, 0.0])
    max_gross: float | None = _key("book_max_gross", None)
    max_long: float | None = _key("book_max_long", None)
    max_short: float | None = _key("book_max_short", None)
    max_tracking_error: float | None = _key("book_max_tracking_error", None)


@dataclass(frozen=True)
class RiskSettings:
    """VaR/CVaR, contributions, VaR backtest and stress settings (``core.risk``, ``core.stress``).

    Attributes
    ----------
    confidences : list of float
        VaR/CVaR confidence levels, decimals in (0, 1).
    horizon : int
        Trading days.
    mc_scenarios, mc_dof, mc_seed
        Monte Carlo scenarios per distribution, Student-t degrees of freedom (None: fitted),
        seed.
    contrib_method, contrib_confidence
        Risk contributions: ``"historical"`` or ``"parametric"``, confidence.
    backtest_method, backtest_window, backtest_confidence, backtest_full_history
        VaR backtest: method, rolling window (trading days), confidence, whole history or the
        date window.
    custom_windows : mapping
        Name -> [start, end] ISO dates of the user's stress windows.
    asset_shocks, sector_shocks : mapping
        Hypothetical decimal returns by ticker and by sector.
    crisis : str
        The crisis whose correlations the correlation stress uses.
    corr_push : float
        Lambda in [0, 1] toward correlation 1.
    corr_window : int
        Rolling correlation window, trading days.
    """

    confidences: list[float] = _key("risk_confidences", [0.95, 0.99])
    horizon: int = _key("risk_horizon", 1)
    mc_scenarios: int = _key("risk_mc_scenarios", 100_000)
    mc_dof: float | None = _key("risk_mc_dof", None)
    mc_seed: int = _key("risk_mc_seed", 42)
    contrib_method: str = _key("risk_contrib_method", "historical")
    contrib_confidence: float = _key("risk_contrib_confidence", 0.95)
    backtest_method: str = _key("risk_backtest_method", "historical")
    backtest_window: int = _key("risk_backtest_window", 250)
    backtest_confidence: float = _key("risk_backtest_confidence", 0.99)
    backtest_full_history: bool = _key("risk_backtest_full_history", True)
    custom_windows: Mapping[str, Any] = _key("risk_custom_windows", {})
    asset_shocks: Mapping[str, float] = _key("risk_asset_shocks", {})
    sector_shocks: Mapping[str, float] = _key("risk_sector_shocks", {})
    crisis: str = _key("risk_crisis", "2008-09 global financial crisis")
    corr_push: float = _key("risk_corr_push", 0.5)
    corr_window: int = _key("risk_corr_window", 63)


@dataclass(frozen=True)
class BacktestSettings:
    """Benchmark, walk-forward backtest, trade and stop settings.

    See ``core.backtest``, ``core.performance`` and ``core.execution``.

    Attributes
    ----------
    benchmark : str
        ``"__data__"`` (the data's index), ``"__upload__"``, ``"__yahoo__"`` or a loaded ticker.
    yahoo_benchmark : str
        Yahoo symbol when ``benchmark`` is ``"__yahoo__"``.
    benchmark_upload : mapping or None
        ``{"filename", "csv"}``: the uploaded benchmark series when ``benchmark`` is
        ``"__upload__"``.
    schedule : str
        A key of ``core.backtest.SCHEDULES``.
    lookback_years : float
        Trailing estimation window, years of 252 trading days.
    start : datetime.date or None
        Backtest start; None: the first date with a full lookback.
    cost_bps : float
        Transaction costs, bps of traded value.
    drift_band : float
        Decimal band of the threshold schedule (and of ``check``'s drift test).
    min_trade : float
        Smallest trade, money.
    no_trade_band : float
        Decimal weight band without trades.
    stop_method, stop_k, take_k, stop_confidence, stop_horizon
        Stop-loss and take-profit levels (``core.execution.STOP_METHODS``).
    """

    benchmark: str = _key("rebalance_benchmark", "__data__")
    yahoo_benchmark: str = _key("rebalance_yahoo_benchmark", "^GSPC")
    benchmark_upload: Mapping[str, Any] | None = _key("rebalance_benchmark_upload", None)
    schedule: str = _key("rebalance_schedule", "monthly")
    lookback_years: float = _key("rebalance_lookback_years", 3.0)
    start: dt.date | None = _key("rebalance_backtest_start", None)
    cost_bps: float = _key("rebalance_cost_bps", 10.0)
    drift_band: float = _key("rebalance_drift_band", 0.05)
    min_trade: float = _key("rebalance_min_trade", 0.0)
    no_trade_band: float = _key("rebalance_no_trade_band", 0.0)
    stop_method: str = _key("rebalance_stop_method", "volatility")
    stop_k: float = _key("rebalance_stop_k", 2.0)
    take_k: float = _key("rebalance_take_k", 1.0)
    stop_confidence: float = _key("rebalance_confidence", 0.95)
    stop_horizon: int = _key("rebalance_horizon", 10)


@dataclass(frozen=True)
class FrontierSettings:
    """Efficient frontier resolution, cloud, pick and overlays (``core.frontier``).

    Attributes
    ----------
    n_points : int
    n_random : int
        Random feasible portfolios (0: none).
    pick_by : {"volatility", "return"}
    pick : float or None
        Annualised decimal target on that axis; None: the tangency.
    show_unconstrained : bool
    compare : str
        ``"none"``, ``"historical"``, ``"black_litterman"`` or ``"cov:<method>"``.
    transition_x : {"volatility", "expected_return"}
    show_cvar : bool
        The mean-CVaR frontier beside the mean-variance one.
    resampled, resamples, resample_seed, resample_method
        Michaud's resampled frontier: shown, resamples averaged, seed, method.
    """

    n_points: int = _key("frontier_n_points", 50)
    n_random: int = _key("frontier_n_random", 5_000)
    pick_by: str = _key("frontier_pick_by", "volatility")
    pick: float | None = _key("frontier_pick", None)
    show_unconstrained: bool = _key("frontier_show_unconstrained", False)
    compare: str = _key("frontier_compare", "none")
    transition_x: str = _key("frontier_transition_x", "volatility")
    show_cvar: bool = _key("frontier_show_cvar", False)
    resampled: bool = _key("frontier_resampled", False)
    resamples: int = _key("frontier_resamples", 200)
    resample_seed: int = _key("frontier_resample_seed", 42)
    resample_method: str = _key("frontier_resample_method", "bootstrap")


@dataclass(frozen=True)
class CompareSettings:
    """Designs walked forward together (``core.comparison``).

    Attributes
    ----------
    designs : list of dict
        ``{"name", "kind", "objective", ...}`` per design.
    baseline : str
        A design's name.
    schedule : str
        A key of ``core.comparison.COMPARISON_SCHEDULES``.
    lookback_years : float
        Trailing estimation window, years of 252 trading days.
    start : datetime.date or None
        None: the first date with a full lookback.
    cost_bps : float
        Basis points of traded value.
    test : str
        A key of ``core.comparison.SHARPE_TESTS``.
    confidence : float
        Of the Sharpe intervals; tests at 1 - this.
    """

    designs: list[dict[str, Any]] = _key("compare_designs", [
        {"name": "Equal weight", "kind": "equal_weight"},
        {"name": "Max Sharpe", "kind": "optimized", "objective": "max_sharpe"},
        {"name": "Min volatility", "kind": "optimized", "objective": "min_volatility"},
        {"name": "Market cap", "kind": "market_cap"},
    ])  # fmt: skip
    baseline: str = _key("compare_baseline", "Equal weight")
    schedule: str = _key("compare_schedule", "monthly")
    lookback_years: float = _key("compare_lookback_years", 3.0)
    start: dt.date | None = _key("compare_start", None)
    cost_bps: float = _key("compare_cost_bps", 10.0)
    test: str = _key("compare_test", "hac")
    confidence: float = _key("compare_confidence", 0.95)


@dataclass(frozen=True)
class TailSettings:
    """Tail-risk, risk-budgeting and hierarchical objectives (``core.tail_allocation``).

    Attributes
    ----------
    cvar_confidence : float
        CVaR / CDaR confidence.
    max_cvar : float or None
        CVaR limit, decimal loss a trading day; None: no limit.
    scenarios : {"historical", "normal", "student_t"}
        The window's daily returns, or Monte Carlo draws.
    mc_scenarios, mc_seed : int
        Monte Carlo scenarios and seed.
    budget_by : {"equal", "asset", "sector"}
        Risk parity budgets.
    asset_budgets, sector_budgets : mapping
        Ticker (sector) -> decimal share of the volatility.
    """

    cvar_confidence: float = _key("tail_cvar_confidence", 0.95)
    max_cvar: float | None = _key("tail_max_cvar", None)
    scenarios: str = _key("tail_scenarios", "historical")
    mc_scenarios: int = _key("tail_mc_scenarios", 5_000)
    mc_seed: int = _key("tail_mc_seed", 42)
    budget_by: str = _key("tail_budget_by", "equal")
    asset_budgets: Mapping[str, float] = _key("tail_asset_budgets", {})
    sector_budgets: Mapping[str, float] = _key("tail_sector_budgets", {})


#: The groups of a Setup: attribute name -> group class (data source, universe apart).
_GROUPS: dict[str, type] = {
    "window": Window,
    "estimators": Estimators,
    "objective": ObjectiveSettings,
    "constraints": ConstraintSettings,
    "views": ViewSettings,
    "holdings": HoldingSettings,
    "risk": RiskSettings,
    "backtest": BacktestSettings,
    "frontier": FrontierSettings,
    "tail": TailSettings,
    "compare": CompareSettings,
}


def _group_keys() -> dict[str, tuple[str, str]]:
    """Setup key -> (group attribute, field name), for every typed key but the first two."""
    out = {}
    for group, cls in _GROUPS.items():
        for f in dataclasses.fields(cls):
            out[f.metadata["key"]] = (group, f.name)
    return out


_WHERE: dict[str, tuple[str, str]] = _group_keys()


#: The order of the setup keys (the dashboard's, ``ui.state.DEFAULTS``): reports list the
#: settings in it.
KEY_ORDER: tuple[str, ...] = (
    "data_source", "universe", "start", "end", "returns_method", "cov_method", "risk_free_rate",
    "expected_returns_source", "objective_kind", "target_return", "target_volatility",
    "risk_aversion", "long_only", "min_weight", "max_weight", "max_volatility", "asset_bounds",
    "sector_bounds", "capital", "bl_views", "bl_prior", "bl_market_caps", "bl_delta", "bl_tau",
    "bl_omega", "holdings", "cash", "rebalance_benchmark", "rebalance_yahoo_benchmark",
    "rebalance_benchmark_upload", "rebalance_schedule", "rebalance_lookback_years",
    "rebalance_backtest_start", "rebalance_cost_bps", "rebalance_drift_band",
    "rebalance_min_trade", "rebalance_no_trade_band", "rebalance_stop_method", "rebalance_stop_k",
    "rebalance_take_k", "rebalance_confidence", "rebalance_horizon", "book_start_from",
    "book_max_turnover", "book_locked", "book_no_buy", "book_no_sell", "book_cost_overrides",
    "book_horizon_years", "book_cash_bounds", "book_max_gross", "book_max_long", "book_max_short",
    "book_max_tracking_error", "risk_confidences", "risk_horizon", "risk_mc_scenarios",
    "risk_mc_dof", "risk_mc_seed", "risk_contrib_method", "risk_contrib_confidence",
    "risk_backtest_method", "risk_backtest_window", "risk_backtest_confidence",
    "risk_backtest_full_history", "risk_custom_windows", "risk_asset_shocks", "risk_sector_shocks",
    "risk_crisis", "risk_corr_push", "risk_corr_window", "frontier_n_points", "frontier_n_random",
    "frontier_pick_by", "frontier_pick", "frontier_show_unconstrained", "frontier_compare",
    "frontier_transition_x", "frontier_show_cvar", "tail_cvar_confidence", "tail_max_cvar",
    "tail_scenarios", "tail_mc_scenarios", "tail_mc_seed", "tail_budget_by", "tail_asset_budgets",
    "tail_sector_budgets", "frontier_resampled", "frontier_resamples", "frontier_resample_seed",
    "frontier_resample_method", "compare_designs", "compare_baseline", "compare_schedule",
    "compare_lookback_years", "compare_start", "compare_cost_bps", "compare_test",
    "compare_confidence",
)  # fmt: skip


def _defaults() -> dict[str, Any]:
    out: dict[str, Any] = {"data_source": {"kind": "sample"}, "universe": None}
    for key, (group, name) in _WHERE.items():
        instance = _GROUPS[group]()
        out[key] = getattr(instance, name)
    assert set(out) == set(KEY_ORDER), set(out) ^ set(KEY_ORDER)
    return {key: out[key] for key in KEY_ORDER}


#: Every typed setup key and its default (the same as ``ui.state.DEFAULTS`` for these keys).
DEFAULTS: dict[str, Any] = _defaults()


def feature_defaults() -> dict[str, Any]:
    """Defaults of setup keys that features keep in core with their rules (``compliance_*``).

    Importing them registers their rules (:func:`core.compliance.register_setup_keys`), so
    that a reader of a setup file without the dashboard (the command line) knows them too.
    """
    from core import compliance

    compliance.register_setup_keys()
    return copy.deepcopy(compliance.SETUP_DEFAULTS)


def known_defaults(extra_keys: Any = ()) -> dict[str, Any]:
    """The setup keys a setup may hold, with their defaults.

    Parameters
    ----------
    extra_keys : iterable of str
        Keys beyond the typed ones that should be accepted; those with a registered rule
        (:data:`core.setups.RULES`) always are. Their default is None (their rule checks the
        value where one is given).

    Returns
    -------
    dict
        :data:`DEFAULTS` plus ``{key: None}`` for the registered keys without a typed field.
    """
    out = copy.deepcopy(DEFAULTS)
    for key in [*setups.RULES, *extra_keys]:
        out.setdefault(key, None)
    return out


@dataclass(frozen=True)
class Setup(Mapping):
    """A whole portfolio setup: typed, frozen, versioned; also a mapping of setup keys.

    Attributes
    ----------
    data_source : DataSource
    universe : tuple of str or None
        Tickers of the universe, in order; None: every ticker of the data.
    window, estimators, objective, constraints, views, holdings, risk, backtest, frontier, tail,
    compare
        The groups (see their classes; each field names its setup key).
    extras : mapping
        Setup keys without a typed field (added by features through
        :func:`core.setups.register`), carried along unchanged.
    schema_version : int
        :data:`SCHEMA_VERSION`.

    Examples
    --------
    >>> s = Setup.from_mapping({"risk_horizon": 10})
    >>> s.risk.horizon, s["risk_horizon"], s.to_mapping()["objective_kind"]
    (10, 10, 'max_sharpe')
    """

    data_source: DataSource = field(default_factory=DataSource)
    universe: tuple[str, ...] | None = None
    window: Window = field(default_factory=Window)
    estimators: Estimators = field(default_factory=Estimators)
    objective: ObjectiveSettings = field(default_factory=ObjectiveSettings)
    constraints: ConstraintSettings = field(default_factory=ConstraintSettings)
    views: ViewSettings = field(default_factory=ViewSettings)
    holdings: HoldingSettings = field(default_factory=HoldingSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    frontier: FrontierSettings = field(default_factory=FrontierSettings)
    tail: TailSettings = field(default_factory=TailSettings)
    compare: CompareSettings = field(default_factory=CompareSettings)
    extras: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    # --- conversion ----------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, validate: bool = True) -> Setup:
        """A setup from a flat mapping of setup keys (session state, a saved setup).

        Parameters
        ----------
        values : mapping
            Setup keys and values; typed keys it lacks take their default (:data:`DEFAULTS`);
            other keys go to :attr:`extras`. Dates as ``datetime.date`` or ISO text.
        validate : bool
            Check every value with :func:`core.setups.validate` first (the rules of the
            Report page's import); pass False only for values validated already.

        Returns
        -------
        Setup

        Raises
        ------
        SetupError
            Naming every setting whose value cannot be used (the page's message).
        """
        values = dict(values)
        if validate:
            values = setups.validate(values, known_defaults(values))
        groups: dict[str, dict[str, Any]] = {g: {} for g in _GROUPS}
        extras: dict[str, Any] = {}
        for key, value in values.items():
            if key in ("data_source", "universe"):
                continue
            where = _WHERE.get(key)
            if where is None:
                extras[key] = copy.deepcopy(value)
            else:
                groups[where[0]][where[1]] = copy.deepcopy(value)
        source = values.get("data_source", DEFAULTS["data_source"])
        if not isinstance(source, Mapping):
            raise SetupError(f"The setup's data source {source!r} is not an object.")
        universe = values.get("universe")
        return cls(
            data_source=DataSource.from_descriptor(source),
            universe=None if universe is None else tuple(universe),
            **{g: _GROUPS[g](**kw) for g, kw in groups.items()},
            extras=extras,
        )

    def to_mapping(self) -> dict[str, Any]:
        """The flat mapping of setup keys (a deep copy): typed keys, then :attr:`extras`.

        ``Setup.from_mapping(s.to_mapping()) == s`` for every setup ``s``, and the values
        are those :func:`core.setups.to_jsonable` writes to a file.
        """
        out: dict[str, Any] = {key: self[key] for key in DEFAULTS}
        for key, value in self.extras.items():
            out.setdefault(key, copy.deepcopy(value))
        return out

    @classmethod
    def from_json(cls, content: bytes | str, tickers: Any = None) -> Setup:
        """A setup from a JSON file of today's format (or an older one; see ``core.setups``).

        Parameters
        ----------
        content : bytes or str
            The file (at most :data:`core.setups.MAX_SETUP_BYTES`).
        tickers : iterable of str, optional
            Tickers of the data it runs on: names outside them raise.

        Returns
        -------
        Setup
            Registered keys the file lacks are not in :attr:`extras`.

        Raises
        ------
        SetupError
            As :func:`core.setups.import_json`: the message the Report page shows.
        """
        try:
            payload = json.loads(content)
            present = payload.get("setup", payload) if isinstance(payload, dict) else {}
        except (ValueError, UnicodeDecodeError, RecursionError):
            present = {}  # import_json says what is wrong with the file
        present = present if isinstance(present, dict) else {}
        # Registered keys the file holds are known; those it lacks stay out (no default),
        # but for the features whose defaults core knows (FEATURE_DEFAULTS).
        defaults = {**DEFAULTS, **feature_defaults(),
                    **{k: None for k in present if k in setups.RULES and k not in DEFAULTS}}
        values = setups.import_json(content, defaults, None, tickers)
        return cls.from_mapping(values, validate=False)

    def to_json(self, name: str = "") -> bytes:
        """The setup as a JSON file (:func:`core.setups.export_json`).

        :meth:`from_json` and the Report page's import read it back.
        """
        values = self.to_mapping()
        return setups.export_json(values, values, name)

    def fingerprint(self) -> str:
        """A SHA-256 of the setup's JSON form: equal setups, equal fingerprints (cache keys)."""
        envelope = setups.to_jsonable(self.to_mapping(), self.to_mapping())
        text = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def __hash__(self) -> int:
        """Hash of :meth:`fingerprint` (the values themselves are lists and dicts)."""
        return hash(self.fingerprint())

    def replace(self, **keys: Any) -> Setup:
        """A copy with some setup keys changed (``s.replace(risk_horizon=10)``), validated.

        Raises
        ------
        SetupError
            If a new value breaks its rule.
        """
        return Setup.from_mapping({**self.to_mapping(), **keys})

    def resolve(self, tickers: list[str], first: dt.date, last: dt.date) -> Setup:
        """The setup with the data-dependent defaults filled in, as the dashboard fills them.

        Parameters
        ----------
        tickers : list of str
            The data's tickers (the universe when it is None).
        first, last : datetime.date
            The data's first and last dates (the window when it is None: the end is ``last``,
            the start :data:`DEFAULT_WINDOW_DAYS` before it, not before ``first``).

        Returns
        -------
        Setup
            Universe without repeated tickers; start and end set.
        """
        universe = list(tickers) if self.universe is None else list(dict.fromkeys(self.universe))
        end = self.window.end if self.window.end is not None else last
        start = self.window.start
        if start is None:
            start = max(first, end - dt.timedelta(days=DEFAULT_WINDOW_DAYS))
        return dataclasses.replace(
            self, universe=tuple(universe), window=Window(start=start, end=end)
        )

    # --- Mapping ---------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        """The value of a setup key (a copy), e.g. ``setup["risk_horizon"]``."""
        if key == "data_source":
            return self.data_source.descriptor()
        if key == "universe":
            return None if self.universe is None else list(self.universe)
        where = _WHERE.get(key)
        if where is not None:
            return copy.deepcopy(getattr(getattr(self, where[0]), where[1]))
        if key in self.extras:
            return copy.deepcopy(self.extras[key])
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        """The setup keys: typed ones in :data:`DEFAULTS` order, then the extras."""
        yield from DEFAULTS
        yield from (k for k in self.extras if k not in DEFAULTS)

    def __len__(self) -> int:
        """Number of setup keys."""
        return len(DEFAULTS) + len([k for k in self.extras if k not in DEFAULTS])

    def __eq__(self, other: object) -> bool:
        """Equal when every field is (a plain mapping compares by its keys and values)."""
        if isinstance(other, Setup):
            return self.to_mapping() == other.to_mapping()
        if isinstance(other, Mapping):
            return self.to_mapping() == dict(other)
        return NotImplemented
