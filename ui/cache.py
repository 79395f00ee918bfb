"""Streamlit caches around pure ``core`` functions: the one place where caching happens.

``st.cache_data`` hashes its arguments and returns a copy of the cached value, so callers may
not mutate shared state through it. ``max_entries`` bounds memory. DataFrames and Series are
keyed by :func:`core.market_data.fingerprint` of their whole content (``_KEYS``): Streamlit's
own hash samples 10,000 rows of a table with 50,000 rows or more, so two uploads that differ
elsewhere would get each other's results.

What every new session computes alike (the default setup's optimisation, its figures, the
Black-Litterman outcome) is built once per server process by :func:`shared`, keyed by a digest
of its inputs' whole content (:func:`content_key`), and handed to every session as the same
object: a new session's first page then costs look-ups, not solves and plotly validation.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from core import estimators, market_data

if TYPE_CHECKING:
    from core.executor import Executor
    from ui.jobs import JobBoard

T = TypeVar("T")

#: Full-content keys for tables (every cached function that takes one uses them).
_KEYS = {pd.DataFrame: market_data.fingerprint, pd.Series: market_data.fingerprint}


@st.cache_data(max_entries=1, show_spinner="Loading the bundled S&P 500 sample...")
def sample_data() -> market_data.PriceData:
    """The bundled sample, loaded once per server process (see ``core.market_data``)."""
    return market_data.load_sample()


def expected_returns(
    prices: pd.DataFrame,
    method: str,
    benchmark: pd.Series | None,
    risk_free_rate: float,
) -> pd.Series:
    """Cached :func:`core.estimators.expected_returns`.

    Remembered in the session for the same ``prices`` and ``benchmark`` objects (a pipeline's
    window, :func:`identity_memo`), else looked up by content (``st.cache_data``): a slider
    move does not hash the window's prices again.
    """
    return identity_memo(
        "expected_returns", (prices, benchmark), (method, float(risk_free_rate)),
        lambda: _expected_returns(prices, method, benchmark, risk_free_rate),
    )  # fmt: skip


def covariance(prices: pd.DataFrame, method: str) -> pd.DataFrame:
    """Cached :func:`core.estimators.covariance`; says so when it falls back to Ledoit-Wolf.

    Remembered as :func:`expected_returns` is. The note is shown on every call, a hit too.
    """
    note = estimators.covariance_fallback(prices, method)
    if note:
        st.warning(note, icon=":material/info:")
    return identity_memo("covariance", (prices,), method, lambda: _covariance(prices, method))


@st.cache_data(max_entries=32, show_spinner="Estimating expected returns...", hash_funcs=_KEYS)
def _expected_returns(prices, method, benchmark, risk_free_rate):
    return estimators.expected_returns(
        prices, method, benchmark=benchmark, risk_free_rate=risk_free_rate
    )


@st.cache_data(max_entries=32, show_spinner="Estimating the covariance...", hash_funcs=_KEYS)
def _covariance(prices, method):
    return estimators.covariance(prices, method)


# Risk page (ui/risk.py).
@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=_KEYS)
def risk_table(
    asset_returns: pd.DataFrame,
    weights: pd.Series,
    confidences: tuple[float, ...],
    horizon: int,
    n_scenarios: int,
    dof: float | None,
    seed: int | None,
) -> pd.DataFrame:
    """Cached :func:`core.risk.risk_table` (money columns are added by the caller).

    No progress callback: an element updated from inside a cached function cannot be replayed
    (CacheReplayClosureError); ``ui.risk`` runs large simulations uncached, with a progress bar.
    """
    from core import risk

    return risk.risk_table(
        asset_returns, weights, list(confidences), horizon,
        n_scenarios=n_scenarios, dof=dof, seed=seed,
    )  # fmt: skip


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=_KEYS)
def var_backtest(returns: pd.Series, window: int, confidence: float, method: str):
    """Cached :func:`core.risk.var_backtest`."""
    from core import risk

    return risk.var_backtest(returns, window, confidence, method)


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=_KEYS)
def historical_stress(
    prices: pd.DataFrame,
    weights: pd.Series,
    custom: tuple[tuple[str, str, str], ...],
    benchmark: pd.Series | None,
):
    """Cached :func:`core.stress.historical_stress`; ``custom`` as (name, start, end) tuples."""
    from core import stress

    return stress.historical_stress(
        prices, weights, benchmark=benchmark, custom={n: (s, e) for n, s, e in custom}
    )


@st.cache_data(max_entries=8, show_spinner="Computing rolling correlations...", hash_funcs=_KEYS)
def rolling_average_correlation(returns: pd.DataFrame, window: int) -> pd.Series:
    """Cached :func:`core.stress.rolling_average_correlation`."""
    from core import stress

    return stress.rolling_average_correlation(returns, window)


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=_KEYS)
def efficient_frontier(expected_returns, cov, constraints, n_points, risk_free_rate, max_return):
    """Cached :func:`core.frontier.efficient_frontier`."""
    from core import frontier

    return frontier.efficient_frontier(
        expected_returns, cov, constraints, n_points, risk_free_rate, max_return
    )


@st.cache_data(max_entries=8, show_spinner="Tracing the active frontier...", hash_funcs=_KEYS)
def active_frontier(expected_returns, cov, benchmark_weights, constraints, n_points,
                    risk_free_rate):  # fmt: skip
    """Cached :func:`core.optimization.active_frontier`."""
    from core import optimization

    return optimization.active_frontier(expected_returns, cov, benchmark_weights, constraints,
                                        n_points, risk_free_rate)  # fmt: skip


@st.cache_data(max_entries=8, show_spinner="Drawing random portfolios...", hash_funcs=_KEYS)
def random_portfolios(tickers: tuple[str, ...], constraints, n_portfolios: int, seed: int):
    """Cached :func:`core.frontier.random_portfolios`."""
    from core import frontier

    return frontier.random_portfolios(list(tickers), constraints, n_portfolios, seed)


@st.cache_data(max_entries=8, show_spinner="Loading the benchmark from Yahoo Finance...")
def yahoo_series(symbol: str, start, end) -> pd.Series:
    """One Yahoo symbol's adjusted closes (``core.market_data.load_yahoo``, disk-cached too)."""
    data = market_data.load_yahoo([symbol], start, end, benchmark=None, fetch_info=False)
    return data.prices[symbol].rename(symbol)


@st.cache_resource(show_spinner=False)
def _executor_for(address: str) -> Executor:
    from core.executor import get_executor

    return get_executor(address)


def executor() -> Executor:
    """The executor of heavy jobs for this server process (``core.executor.get_executor``).

    One per value of ``BALLAST_DASK_ADDRESS``, kept in ``st.cache_resource``: a Dask executor
    holds one ``distributed.Client`` for every session (it reconnects on its next job if the
    cluster went away and came back).
    """
    import os

    from core.executor import DASK_ADDRESS_VARIABLE

    return _executor_for(os.environ.get(DASK_ADDRESS_VARIABLE, "").strip())


@st.cache_resource(show_spinner=False)
def job_board() -> JobBoard:
    """The jobs running in this server process (``ui.jobs.JobBoard``), shared by sessions."""
    from ui.jobs import JobBoard

    return JobBoard()


@st.cache_data(max_entries=4, show_spinner="Drawing Monte Carlo scenarios...", hash_funcs=_KEYS)
def simulated_scenarios(returns: pd.DataFrame, n_scenarios: int, distribution: str, seed: int):
    """``core.scenario_optimization.simulate_scenarios``, cached."""
    from core.scenario_optimization import simulate_scenarios

    return simulate_scenarios(returns, n_scenarios, distribution, seed=seed)


@st.cache_data(max_entries=8, show_spinner="Tracing the mean-CVaR frontier...", hash_funcs=_KEYS)
def mean_cvar_frontier(expected_returns, scenarios, constraints, n_points: int,
                       confidence: float):  # fmt: skip
    """``core.scenario_optimization.mean_cvar_frontier``, cached."""
    from core.scenario_optimization import mean_cvar_frontier as frontier

    return frontier(expected_returns, scenarios, constraints, n_points, confidence)


def optimize(expected_returns, cov, objective, constraints, scenarios=None):
    """:func:`core.optimization.optimize`, shared by sessions (:func:`shared`) for equal inputs.

    A new session on the default setup gets the portfolio the first one computed. Mixed-integer
    problems are solved each time: SCIP's search reports its progress to the page that runs
    it, and a search stopped at its time limit may end elsewhere on another run.
    """
    from core import mixed_integer
    from core.optimization import optimize as solve

    def build():
        return solve(expected_returns, cov, objective, constraints, scenarios=scenarios)

    if mixed_integer.applies(constraints):
        return build()
    key = content_key(expected_returns, cov, objective, constraints, scenarios)
    return shared("optimize", key, build, max_entries=64)


def compute():
    """The cached functions as the pipeline's :class:`core.pipeline.Compute`."""
    from core.pipeline import Compute

    return Compute(
        expected_returns=expected_returns, covariance=covariance, risk_table=risk_table,
        var_backtest=var_backtest, historical_stress=historical_stress,
        efficient_frontier=efficient_frontier, random_portfolios=random_portfolios,
        active_frontier=active_frontier, yahoo_series=yahoo_series,
        simulated_scenarios=simulated_scenarios, mean_cvar_frontier=mean_cvar_frontier,
        optimize=optimize, memo=identity_memo,
    )  # fmt: skip


def session_memo(name: str, owner: object, key: Hashable, build: Callable[[], T],
                 max_entries: int = 32) -> T:
    """``build()``, remembered in this session for ``key`` while ``owner`` stays the same object.

    For the work a slider move repeats (a posterior, a figure): a move back to a value already
    shown costs a dictionary look-up, and an unchanged figure is the same object, not a new
    one. Unlike ``st.cache_data`` nothing is hashed or copied, so the value must not be
    mutated by its users; it lives in session state (not shared between sessions) and is
    forgotten when ``owner`` changes (e.g. the inputs of a fragment, rebuilt by a full rerun).
    An exception from ``build`` is raised and nothing is remembered.

    Parameters
    ----------
    name : str
        Which memo (one per use), a session-state key.
    owner : object
        The inputs ``key`` is relative to, compared by identity; ``None`` for none.
    key : hashable
        What distinguishes two calls under one owner (slider values, a weights vector's bytes).
    build : callable
        Computes the value.
    max_entries : int
        Oldest entries go first beyond this many.

    Returns
    -------
    object
        The value for ``key``.
    """
    slot = f"_memo_{name}"
    memo = st.session_state.get(slot)
    if memo is None or memo[0] is not owner:
        memo = (owner, OrderedDict())
        st.session_state[slot] = memo
    entries = memo[1]
    if key in entries:
        entries.move_to_end(key)
        return entries[key]
    value = build()
    entries[key] = value
    while len(entries) > max_entries:
        entries.popitem(last=False)
    return value


def identity_memo(name: str, owners: tuple, key: Hashable, build: Callable[[], T],
                  max_entries: int = 8) -> T:
    """``build()``, remembered in this session for ``key`` while ``owners`` are the same objects.

    For what a rerun rebuilds from the same inputs (a pipeline's window of the same data, the
    estimates from that window): the next run gets the very same object, so the caches after
    it can recognise it by identity instead of hashing its content again (a 20-asset window of
    the sample is about 115,000 prices, hashed four times a slider move before this). The
    owners are held by the memo, so their identities cannot be reused by other objects while
    remembered. Nothing is copied: users must not mutate the value. An exception from
    ``build`` is raised and nothing is remembered.

    Parameters
    ----------
    name : str
        Which memo (one per use), a session-state key.
    owners : tuple
        The objects the value is built from, compared by identity (``None`` entries allowed).
    key : hashable
        The other inputs (methods, dates, rates).
    build : callable
        Computes the value.
    max_entries : int
        Oldest entries go first beyond this many.

    Returns
    -------
    object
        The value.
    """
    slot = f"_memo_{name}"
    entries = st.session_state.get(slot)
    if entries is None:
        entries = OrderedDict()
        st.session_state[slot] = entries
    k = (tuple(id(o) for o in owners), key)
    hit = entries.get(k)
    if hit is not None and all(a is b for a, b in zip(hit[0], owners, strict=True)):
        entries.move_to_end(k)
        return hit[1]
    value = build()
    entries[k] = (owners, value)
    while len(entries) > max_entries:
        entries.popitem(last=False)
    return value


class _Unkeyable(TypeError):
    """A value :func:`content_key` cannot digest by content (the caller builds it unshared)."""


def _feed(h: Any, obj: Any, depth: int = 0) -> None:
    if depth > 20:
        raise _Unkeyable("nested too deeply")
    kind = type(obj)
    h.update(f"<{kind.__module__}.{kind.__qualname__}>".encode())
    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        h.update(repr(obj).encode())
    elif isinstance(obj, pd.DataFrame | pd.Series):
        h.update(market_data.fingerprint(obj).encode())
    elif isinstance(obj, pd.Index):
        h.update(market_data.fingerprint(obj.to_series(index=range(len(obj)))).encode())
    elif isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise _Unkeyable("an object array")
        h.update(f"{obj.dtype.str}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).view(np.uint8).tobytes())
    elif isinstance(obj, np.generic):
        h.update(repr(obj.item()).encode())
    elif isinstance(obj, list | tuple):
        h.update(f"{len(obj)}".encode())
        for item in obj:
            _feed(h, item, depth + 1)
    elif isinstance(obj, set | frozenset):
        for item in sorted(obj, key=repr):
            _feed(h, item, depth + 1)
    elif isinstance(obj, dict):
        h.update(f"{len(obj)}".encode())
        for k, v in sorted(obj.items(), key=lambda kv: repr(kv[0])):
            _feed(h, k, depth + 1)
            _feed(h, v, depth + 1)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            h.update(f.name.encode())
            _feed(h, getattr(obj, f.name), depth + 1)
    elif isinstance(obj, enum.Enum):
        h.update(repr(obj).encode())
    elif isinstance(obj, pd.Timestamp | np.datetime64) or hasattr(obj, "isoformat"):
        h.update(str(obj).encode())
    else:
        raise _Unkeyable(f"no content digest for {kind.__qualname__}")


def content_key(*parts: Any) -> str | None:
    """A digest of ``parts``' whole content, or None when a part cannot be digested.

    Tables by :func:`core.market_data.fingerprint` (every cell, index and dtype), arrays by
    their bytes, dataclasses field by field, containers item by item, scalars by ``repr``;
    the type of every value is part of the digest (``1`` and ``1.0`` differ). Anything else
    (a function, an arbitrary object) gives None: the caller must not share its result.

    Parameters
    ----------
    *parts : object
        The inputs a result is a pure function of.

    Returns
    -------
    str or None
        32 hexadecimal digits (BLAKE2b, 16 bytes).
    """
    h = hashlib.blake2b(digest_size=16)
    try:
        _feed(h, parts)
    except _Unkeyable:
        return None
    return h.hexdigest()


class _SharedStore:
    """Values shared by every session of the process, per name, oldest dropped first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, OrderedDict] = {}


@st.cache_resource(show_spinner=False)
def _shared_store() -> _SharedStore:
    return _SharedStore()


def shared(name: str, key: str | None, build: Callable[[], T], max_entries: int = 32) -> T:
    """``build()``, computed once per server process for ``key`` and shared by every session.

    For pure, immutable results that new sessions would otherwise each recompute (the default
    setup's optimisation and figures): the value is handed out as the same object, neither
    hashed nor copied on a hit, so its users must not mutate it. ``key`` comes from
    :func:`content_key` of everything the value depends on; with ``key=None`` (inputs that
    cannot be digested) it is built and not remembered. Two sessions missing the same key at
    once may both build it (the last one is kept). An exception from ``build`` is raised and
    nothing is remembered.

    Parameters
    ----------
    name : str
        Which store (one per use).
    key : str or None
        The inputs' content digest.
    build : callable
        Computes the value.
    max_entries : int
        Oldest entries go first beyond this many, per ``name``.

    Returns
    -------
    object
        The value for ``key``.
    """
    if key is None:
        return build()
    store = _shared_store()
    with store.lock:
        entries = store.entries.setdefault(name, OrderedDict())
        if key in entries:
            entries.move_to_end(key)
            return entries[key]
    value = build()
    with store.lock:
        entries[key] = value
        while len(entries) > max_entries:
            entries.popitem(last=False)
    return value
