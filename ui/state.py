"""The portfolio setup in Streamlit's session state: its keys, defaults and derived values.

Every page calls :func:`init` first. Setup values live under the plain keys of
:data:`DEFAULTS`; widgets use their own keys (``w_<name>``, see ``ui.widgets.synced``) and
write back here, so the setup survives moving between pages (Streamlit deletes the state of
widgets that are not rendered).

Two kinds of keys:

- setup keys (:data:`DEFAULTS`): what the user chose. Their values are JSON-friendly (str,
  int, float, bool, None, datetime.date, lists, and dicts with string keys; tuples become
  lists), because a saved setup is exactly these keys. Each feature adds its keys here, with a
  prefix: ``bl_`` Black-Litterman, ``frontier_``, ``risk_``, ``rebalance_``/``holdings``, ``book_``.
- result keys (:data:`RESULTS`): what was computed (loaded prices, the allocation, the
  posterior). Never saved; recomputed from the setup. Kept until replaced, so an error on a
  rerun leaves the last good result on screen.
"""

from __future__ import annotations

import copy
import datetime as dt
import gc
from typing import Any

import pandas as pd
import streamlit as st

import core.compliance  # noqa: F401  (registers the compliance_* setup keys' rules)
from core.constraints import Constraints
from core.market_data import PriceData
from core.optimization import Objective
from core.pipeline import AUTO, Pipeline
from core.setup import Setup
from ui import cache

#: Setup keys and their defaults (JSON-friendly values; see the module docstring).
DEFAULTS: dict[str, Any] = {
    "data_source": {"kind": "sample"},  # how price_data was loaded, enough to load it again
    "universe": None,  # list of tickers; None: every ticker of the data
    "start": None,  # datetime.date; None: five years before the data's end
    "end": None,  # datetime.date; None: the data's end
    "returns_method": "mean_historical",
    "cov_method": "ledoit_wolf",
    "risk_free_rate": 0.02,
    "expected_returns_source": "historical",  # or "black_litterman"
    "objective_kind": "max_sharpe",
    "target_return": 0.15,  # annualised decimal
    "target_volatility": 0.20,  # annualised decimal
    "risk_aversion": 3.0,  # delta
    "long_only": True,
    "min_weight": 0.0,  # decimal, every asset
    "max_weight": 1.0,  # decimal, every asset
    "max_volatility": None,  # annualised decimal or None
    "asset_bounds": {},  # ticker -> (min, max) decimals
    "sector_bounds": {},  # sector -> (min, max) decimals
    "capital": 100_000.0,  # money to invest / portfolio value, in the data's currency
    # Black-Litterman (ui/black_litterman.py): views are dicts with kind, assets, versus,
    # return and view_volatility (annual decimals), basket, confidence (0-1).
    "bl_views": [],
    "bl_prior": "market_caps",  # or "equal"
    "bl_market_caps": {},  # ticker -> cap (bn), where the user overrode the data's
    "bl_delta": None,  # None: implied by the benchmark
    "bl_tau": 0.05,
    "bl_omega": "idzorek",  # "idzorek", "proportional" or "variance"
    # Rebalance (ui/rebalance.py): current holdings and cash, benchmark, backtest, trades, stops.
    "holdings": {},  # ticker -> shares held now (float; negative = short)
    "cash": 100_000.0,  # cash held now, in the data's currency
    "rebalance_benchmark": "__data__",  # "__data__" (the data's), "__upload__", "__yahoo__"
    # or a loaded ticker
    "rebalance_yahoo_benchmark": "^GSPC",  # Yahoo symbol when rebalance_benchmark is "__yahoo__"
    # {"filename", "csv"}: the benchmark series uploaded when rebalance_benchmark is "__upload__"
    "rebalance_benchmark_upload": None,
    "rebalance_schedule": "monthly",  # core.backtest.SCHEDULES
    "rebalance_lookback_years": 3.0,  # trailing estimation window, years of 252 days
    "rebalance_backtest_start": None,  # datetime.date; None: first date with a full lookback
    "rebalance_cost_bps": 10.0,  # transaction costs, basis points of traded value
    "rebalance_drift_band": 0.05,  # decimal band of the threshold schedule
    "rebalance_min_trade": 0.0,  # smallest trade, in money
    "rebalance_no_trade_band": 0.0,  # decimal weight band without trades
    "rebalance_stop_method": "volatility",  # core.execution.STOP_METHODS
    "rebalance_stop_k": 2.0,  # k of the volatility stop
    "rebalance_take_k": 1.0,  # k of the take-profit
    "rebalance_confidence": 0.95,  # VaR/CVaR confidence
    "rebalance_horizon": 10,  # trading days
    # The book (ui/book.py): optimise from the current holdings (issue 11). Costs default to
    # rebalance_cost_bps; weights, turnover and tracking error are decimals.
    "book_start_from": "cash",  # or "holdings": the holdings and cash above are w0
    "book_max_turnover": None,  # one-way turnover sum|w - w0| / 2 at most this; None: no budget
    "book_locked": [],  # tickers whose weight stays w0
    "book_no_buy": [],  # tickers whose weight may not rise
    "book_no_sell": [],  # tickers whose weight may not fall
    "book_cost_overrides": {},  # ticker -> transaction costs in bps (else rebalance_cost_bps)
    "book_horizon_years": 1.0,  # holding horizon over which costs are amortised, years
    "book_cash_bounds": [0.0, 0.0],  # (min, max) cash weight of the proposal
    "book_max_gross": None,  # gross exposure sum|w| at most this (1.6 = 130/30); None: no cap
    "book_max_long": None,  # total long weight at most this; None: no cap
    "book_max_short": None,  # total short weight (a positive decimal) at most this; None
    "book_max_tracking_error": None,  # annualised decimal cap against the benchmark; None
    # Risk (ui/risk.py): VaR/CVaR settings, backtest, stress scenarios, correlation stress.
    "risk_confidences": [0.95, 0.99],  # decimals in (0, 1)
    "risk_horizon": 1,  # trading days
    "risk_mc_scenarios": 100_000,  # Monte Carlo scenarios per distribution (1,000-1,000,000)
    "risk_mc_dof": None,  # Student-t degrees of freedom; None: fitted by maximum likelihood
    "risk_mc_seed": 42,
    "risk_contrib_method": "historical",  # or "parametric"
    "risk_contrib_confidence": 0.95,
    "risk_backtest_method": "historical",  # core.risk.BACKTEST_METHODS
    "risk_backtest_window": 250,  # trading days
    "risk_backtest_confidence": 0.99,
    "risk_backtest_full_history": True,  # False: only the date window
    "risk_custom_windows": {},  # name -> [start, end] ISO dates
    "risk_asset_shocks": {},  # ticker -> decimal return
    "risk_sector_shocks": {},  # sector -> decimal return
    "risk_crisis": "2008-09 global financial crisis",  # a core.stress scenario name
    "risk_corr_push": 0.5,  # lambda in [0, 1]
    "risk_corr_window": 63,  # trading days of the rolling correlation
    # Efficient frontier (ui/frontier.py).
    "frontier_n_points": 50,  # points on the frontier
    "frontier_n_random": 5_000,  # random feasible portfolios in the cloud (0: none)
    "frontier_pick_by": "volatility",  # or "return": the slider's axis
    "frontier_pick": None,  # annualised decimal target on that axis; None: the tangency
    "frontier_show_unconstrained": False,  # overlay the frontier with only sum(w) = 1
    "frontier_compare": "none",  # second estimator: "none", "historical", "black_litterman",
    # or "cov:<method>" (another covariance estimator)
    "frontier_transition_x": "volatility",  # or "expected_return"
    "frontier_show_cvar": False,  # the mean-CVaR frontier beside the mean-variance one
    # Tail-risk, risk-budgeting and hierarchical objectives (ui/tail.py).
    "tail_cvar_confidence": 0.95,  # CVaR / CDaR confidence
    "tail_max_cvar": None,  # CVaR limit, decimal loss a trading day; None: no limit
    "tail_scenarios": "historical",  # or "normal", "student_t" (Monte Carlo)
    "tail_mc_scenarios": 5_000,  # Monte Carlo scenarios for the scenario objectives
    "tail_mc_seed": 42,
    "tail_budget_by": "equal",  # risk parity budgets: "equal", "asset" or "sector"
    "tail_asset_budgets": {},  # ticker -> decimal share of the volatility
    "tail_sector_budgets": {},  # sector -> decimal share of the volatility
    # Resampled frontier (ui/resampling.py): Michaud's, beside the mean-variance one.
    "frontier_resampled": False,  # draw it
    "frontier_resamples": 200,  # resampled frontiers averaged
    "frontier_resample_seed": 42,
    "frontier_resample_method": "bootstrap",  # core.resampling.RESAMPLING_METHODS
    # Compare (ui/compare.py): designs walked forward together; the objective's targets, the
    # constraints and the Black-Litterman inputs come from the setup above.
    "compare_designs": [
        {"name": "Equal weight", "kind": "equal_weight"},
        {"name": "Max Sharpe", "kind": "optimized", "objective": "max_sharpe"},
        {"name": "Min volatility", "kind": "optimized", "objective": "min_volatility"},
        {"name": "Market cap", "kind": "market_cap"},
    ],
    "compare_baseline": "Equal weight",  # a design's name
    "compare_schedule": "monthly",  # core.comparison.COMPARISON_SCHEDULES
    "compare_lookback_years": 3.0,  # trailing estimation window, years of 252 days
    "compare_start": None,  # datetime.date; None: first date with a full lookback
    "compare_cost_bps": 10.0,  # basis points of traded value
    "compare_test": "hac",  # core.comparison.SHARPE_TESTS
    "compare_confidence": 0.95,  # of the Sharpe intervals; tests at 1 - this
    # Compliance (ui/compliance.py): rule set, holdings count and size, whole shares, liquidity.
    "compliance_rule_set": "none",  # "none", "ucits" or "us_diversified_fund"
    "compliance_threshold": 0.05,  # decimal: positions above it count toward the aggregate
    "compliance_cap": 0.10,  # UCITS: decimal maximum per issuer
    "compliance_aggregate": 0.40,  # UCITS: decimal maximum of the positions above the threshold
    "compliance_us_share": 0.75,  # US 1940 Act: decimal share in cash and positions <= threshold
    "compliance_issuers": {},  # ticker -> issuer (share classes); default: the ticker
    "compliance_max_cash": 0.0,  # decimal cash the proposal from cash may keep (rules need it)
    "compliance_max_holdings": None,  # whole number or None
    "compliance_min_position": None,  # decimal or None
    "compliance_whole_shares": False,  # whole shares for the capital inside the optimisation
    "compliance_time_limit": 5.0,  # seconds per mixed-integer solve
    "compliance_liquidity": False,  # limit positions to days x participation x ADV x price
    "compliance_liquidity_days": 5.0,  # trading days to liquidate a position
    "compliance_participation": 0.2,  # decimal share of the average daily volume
    "compliance_adv": {},  # ticker -> average daily volume, shares a day (typed or uploaded)
    "compliance_adv_sources": {},  # ticker -> "upload" (read from a file) or "typed"
    "compliance_adv_window": 20,  # trading days of the ADV from the data's volume (Yahoo)
}



#: Result keys and their initial values (never saved; see the module docstring).
RESULTS: dict[str, Any] = {
    "price_data": None,  # core.market_data.PriceData; None: the bundled sample is loaded
    "allocation": None,  # core.optimization.OptimizationResult
    "mip_progress": None,  # core.mixed_integer.Progress, the last of the last solve's reports
    "bl_posterior_returns": None,  # Series, set by the Black-Litterman page
    "bl_result": None,  # ui.black_litterman.BLOutcome, the last good one
    "rebalance_backtest": None,  # (settings key, core.backtest.BacktestResult), last run
    "rebalance_uploaded_benchmark": None,  # Series uploaded as benchmark
    "risk_last": None,  # ui.risk.RiskInputs of the last good run of the Risk page
    "frontier_last": None,  # ui.frontier.FrontierView, the last good one
    "book_last": None,  # ui.book.BookRun: what the allocation was optimised from
    "frontier_resampled_last": None,  # (inputs key, core.resampling.ResampledFrontier)
    "compare_last": None,  # (inputs key, core.comparison.Comparison), last run
}


#: Full page runs of the process after which the objects alive are frozen (:func:`freeze_early`).
FREEZE_AT_RUNS = (2, 10, 50)
_full_runs = [0]


def freeze_early() -> bool:
    """Take the objects alive now out of the garbage collector's sight, at a few early runs.

    The server holds a few hundred thousand long-lived objects (the modules of pandas, scipy,
    cvxpy, plotly and their caches). Python's collector walks all of them in every full
    collection, which comes every dozen runs or so and holds the interpreter about 0.1 s
    (200,000 objects on a 2-core machine; more when it is loaded) in the middle of someone's
    slider move; ``gc.freeze`` moves them to a generation it never walks. Done after a full
    collection on the 2nd, 10th and 50th page run of the process (the later ones catch what
    pages imported on first use). The frozen objects are still freed by reference counting;
    only a reference cycle alive at one of those three moments that later becomes garbage is
    never reclaimed, a bounded amount.

    Returns
    -------
    bool
        True if this call froze.

    References
    ----------
    Python documentation, ``gc.freeze``; Instagram Engineering (2017), "Dismissing Python
    Garbage Collection at Instagram".
    """
    _full_runs[0] += 1  # sessions' threads may race here: at worst one freeze more or less
    if _full_runs[0] not in FREEZE_AT_RUNS:
        return False
    gc.collect()
    gc.freeze()
    return True


def init() -> None:
    """Ask for sign-in where configured, then put every missing setup key in session state.

    On a server with sign-in (``ui.auth``) a visitor who is not signed in gets the sign-in
    screen and the page stops here; a signed-in user is named in the sidebar. Early runs of
    the process also freeze the long-lived objects (:func:`freeze_early`).
    """
    from ui import auth, navigation

    freeze_early()
    auth.require_sign_in()
    navigation.sidebar()  # the page list first, then who is signed in
    auth.account_sidebar()
    fill()


def fill() -> None:
    """Put every missing setup key in session state with its default (no sign-in, no sidebar).

    What :func:`init` does after sign-in; for code that changes the setup within a run
    (``ui.report.apply_setup``), where the page's sidebar is drawn already.
    """
    for key, value in {**DEFAULTS, **RESULTS}.items():
        if key not in st.session_state:
            st.session_state[key] = copy.deepcopy(value)
    st.session_state.pop("_stale_result", None)  # ui.widgets.STALE: set again if still stale
    if st.session_state["price_data"] is None:
        st.session_state["price_data"] = cache.sample_data()
    data: PriceData = st.session_state["price_data"]
    if st.session_state["universe"] is None:
        st.session_state["universe"] = data.tickers
    elif len(set(st.session_state["universe"])) != len(st.session_state["universe"]):
        # A loaded setup may repeat a ticker; every table keyed by ticker needs each once.
        st.session_state["universe"] = list(dict.fromkeys(st.session_state["universe"]))
    if st.session_state["end"] is None:
        st.session_state["end"] = data.as_of.date()
    if st.session_state["start"] is None:
        first = data.prices.index[0].date()
        st.session_state["start"] = max(first, st.session_state["end"] - dt.timedelta(days=5 * 365))
    from ui import persistence  # persistence imports this module

    persistence.restore()  # a new session: the work from before a reload, if its URL says so
    persistence.ensure_in_url()
    persistence.autosave()  # what the previous run changed


def set_price_data(data: PriceData) -> None:
    """Replace the loaded data; reset the universe, window and results that depended on it."""
    st.session_state["price_data"] = data
    st.session_state["universe"] = data.tickers
    st.session_state["end"] = data.as_of.date()
    first = data.prices.index[0].date()
    st.session_state["start"] = max(first, st.session_state["end"] - dt.timedelta(days=5 * 365))
    # Every result was computed from the old data; an uploaded benchmark is the user's input.
    for key, value in RESULTS.items():
        if key not in ("price_data", "rebalance_uploaded_benchmark"):
            st.session_state[key] = copy.deepcopy(value)
    clear_widget_state()


def clear_widget_state() -> None:
    """Forget widget values so that widgets re-read the setup (after loading a setup)."""
    for key in [k for k in st.session_state if str(k).startswith(("w_", "wbase_"))]:
        del st.session_state[key]


def setup() -> Setup:
    """The setup in use as a :class:`core.setup.Setup` (every key of :data:`DEFAULTS`).

    Keys of :data:`DEFAULTS` without a typed field (added by features) are its ``extras``.
    Values are taken as the widgets left them (checked where they are used, as before).
    """
    ss = st.session_state
    return Setup.from_mapping({key: ss.get(key, value) for key, value in DEFAULTS.items()},
                              validate=False)  # fmt: skip


def price_data() -> PriceData:
    """All loaded data (every ticker, every date)."""
    return st.session_state["price_data"]


def window_data() -> PriceData:
    """The loaded data restricted to the universe and the date window.

    Raises
    ------
    core.exceptions.DataError
        If the window or universe is unusable (the message says why).
    """
    return price_data().subset(
        st.session_state["universe"],
        pd.Timestamp(st.session_state["start"]),
        pd.Timestamp(st.session_state["end"]),
    )


def pipeline(**more: Any) -> Pipeline:
    """The setup in use and its data as a :class:`core.pipeline.Pipeline` (cached steps).

    It holds what the session computed already: the Black-Litterman posterior the user chose,
    an uploaded benchmark, and the allocation with what it was optimised from (when there is
    one; else the pipeline optimises). ``more``: further :class:`Pipeline` arguments
    (``backtest``).
    """
    ss = st.session_state
    alloc = ss.get("allocation")
    upload = ss.get("rebalance_benchmark_upload")
    if (ss.get("rebalance_uploaded_benchmark") is None and upload
            and ss.get("rebalance_benchmark") == "__upload__"):  # fmt: skip
        # restored from a reload or a saved setup: parsed once per session, kept as a result
        # (a file that does not parse is reported where the benchmark is used)
        from core.exceptions import BallastError
        from core.performance import benchmark_from_csv

        name = str(upload.get("filename") or "Uploaded benchmark").rsplit(".")[0]
        try:
            ss["rebalance_uploaded_benchmark"] = benchmark_from_csv(
                str(upload["csv"]).encode(), name=name)
        except BallastError:
            pass
    kwargs: dict[str, Any] = {
        "compute": cache.compute(),
        "posterior": ss.get("bl_posterior_returns"),
        "uploaded_benchmark": ss.get("rebalance_uploaded_benchmark"),
        "allocation": AUTO if alloc is None else (alloc, ss.get("book_last")),
        "active_frontier": bool(ss.get("w_frontier_active")),
    }
    return Pipeline(setup(), price_data(), **{**kwargs, **more})


def historical_estimates() -> tuple[pd.Series, pd.DataFrame]:
    """Annualised expected returns and covariance from the chosen estimators on the window."""
    return pipeline().historical_estimates


def estimates() -> tuple[pd.Series, pd.DataFrame]:
    """Expected returns and covariance the optimiser uses.

    The Black-Litterman posterior replaces the historical expected returns when the user has
    chosen it and it covers the current universe.
    """
    return pipeline().estimates


def objective(**more: Any) -> Objective:
    """The user's objective, built from the setup keys.

    ``more``: further :class:`core.optimization.Objective` fields (costs, benchmark weights),
    as ``ui.book`` adds them.

    Raises
    ------
    core.exceptions.OptimizationError
        If a target the objective needs is missing or invalid.
    """
    return pipeline().objective(**more)


def constraints() -> Constraints:
    """The user's constraints, with the sectors of the loaded data filled in.

    Raises
    ------
    core.exceptions.OptimizationError
        Bounds that are not pairs of numbers (named).
    """
    return pipeline().constraints
