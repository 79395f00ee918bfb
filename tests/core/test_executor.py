"""The executor: in-process and on a real two-worker Dask ``LocalCluster`` give the same results.

The Dask tests start real clusters (worker processes, TCP): one ``LocalCluster`` shared by the
module for the comparisons, and one in a child process that the kill test ends with SIGKILL
(scheduler and workers at once), as a cluster that goes away does.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import executor as ex
from core.exceptions import BallastError
from core.market_data import load_sample
from tests.core.executor_tasks import cluster_process, failing, seeded_draw, slow

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]

@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.Series]:
    data = load_sample()
    window = slice("2015-01-01", "2022-12-31")
    return data.prices.loc[window], data.benchmark.loc[window]


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    # Worker processes are spawned, and spawning re-runs ``__main__``'s file in the child.
    # After an AppTest, ``__main__`` is the last Streamlit script run in this process (a
    # temporary file that does not run on its own), so start the workers from a blank one.
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        local = LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        )
    finally:
        sys.modules["__main__"] = main
    with local:
        yield local


@pytest.fixture()
def dask_executor(cluster):
    executor = ex.DaskExecutor(cluster.scheduler_address)
    yield executor
    executor.close()


def test_in_process_order_shared_progress():
    seen = []
    out = ex.InProcessExecutor().map(pow, [3, 1, 2], shared={"exp": 2},
                                     progress=lambda d, n: seen.append((d, n)))  # fmt: skip
    assert out == [9, 1, 4]
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_in_process_cancel():
    with pytest.raises(ex.JobCancelledError, match="cancelled"):
        ex.InProcessExecutor().map(pow, [1, 2], shared={"exp": 2}, cancel=lambda: True)


def test_get_executor_reads_the_variable(monkeypatch):
    monkeypatch.delenv(ex.DASK_ADDRESS_VARIABLE, raising=False)
    assert isinstance(ex.get_executor(), ex.InProcessExecutor)
    monkeypatch.setenv(ex.DASK_ADDRESS_VARIABLE, "tcp://127.0.0.1:8786")
    chosen = ex.get_executor()
    assert isinstance(chosen, ex.DaskExecutor)
    assert chosen.address == "tcp://127.0.0.1:8786"
    monkeypatch.setenv(ex.DASK_ADDRESS_VARIABLE, "  ")
    assert isinstance(ex.get_executor(), ex.InProcessExecutor)


def test_design_comparison_identical_on_the_cluster(sample, dask_executor):
    from core.comparison import Design, compare_designs
    from core.constraints import Constraints
    from core.optimization import Objective

    prices, benchmark = sample
    designs = [
        Design("Equal", "equal_weight"),
        Design("Max Sharpe", objective=Objective("max_sharpe")),
        Design("Min vol 30%", objective=Objective("min_volatility"),
               constraints=Constraints(weight_bounds=(0.0, 0.3))),
        Design("BL prior", "black_litterman", objective=Objective("max_sharpe"), delta=2.5),
    ]  # fmt: skip
    kwargs = {"schedule": "quarterly", "lookback": 504, "benchmark": benchmark}
    local = compare_designs(prices, designs, executor=ex.InProcessExecutor(), **kwargs)
    remote = compare_designs(prices, designs, executor=dask_executor, **kwargs)
    pd.testing.assert_frame_equal(local.equity, remote.equity, check_exact=True)
    pd.testing.assert_frame_equal(local.metrics, remote.metrics, check_exact=True)
    pd.testing.assert_frame_equal(local.tests, remote.tests, check_exact=True)


def test_seeded_chunks_identical_on_the_cluster(dask_executor):
    scale = np.linspace(0.01, 0.03, 50)
    local = ex.InProcessExecutor().map(seeded_draw, range(6), shared={"scale": scale})
    remote = dask_executor.map(seeded_draw, range(6), shared={"scale": scale})
    for a, b in zip(local, remote, strict=True):
        np.testing.assert_array_equal(a, b)


def test_task_errors_reach_the_caller(dask_executor):
    with pytest.raises(BallastError, match="Item 2 is not allowed"):
        dask_executor.map(failing, range(4))
    assert dask_executor.map(failing, []) == []


def test_cancel_stops_the_job_on_the_cluster(dask_executor):
    started = time.monotonic()
    flag = threading.Event()
    threading.Timer(0.5, flag.set).start()
    with pytest.raises(ex.JobCancelledError):
        dask_executor.map(slow, range(40), shared={"delay": 0.5}, cancel=flag.is_set)
    assert time.monotonic() - started < 5
    # the cluster is free again: a new job runs at once
    assert dask_executor.map(slow, [1, 2], shared={"delay": 0.0}) == [1, 2]


def test_unreachable_address_fails_fast_with_a_message():
    started = time.monotonic()
    executor = ex.DaskExecutor("tcp://127.0.0.1:9", connect_timeout=1.0)
    with pytest.raises(ex.ClusterUnavailableError) as info:
        executor.map(slow, [1], shared={"delay": 0.0})
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "tcp://127.0.0.1:9 cannot be reached" in message
    assert ex.DASK_ADDRESS_VARIABLE in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(ex.ClusterUnavailableError, match="cannot be reached"):
        ex.DaskExecutor("not an address", connect_timeout=1.0).map(slow, [1])


def test_killing_the_cluster_mid_job_gives_a_clear_error(tmp_path):
    with cluster_process(tmp_path) as (address, kill):
        executor = ex.DaskExecutor(address, connect_timeout=3.0)
        done = []
        killed = []

        def kill_after_first(d: int, n: int) -> None:
            done.append(d)
            if not killed:
                kill()
                killed.append(time.monotonic())

        with pytest.raises(ex.ClusterUnavailableError) as info:
            executor.map(slow, range(20), shared={"delay": 0.3}, progress=kill_after_first)
        assert time.monotonic() - killed[0] < 10
        assert "went away while the job ran" in str(info.value)
        assert info.value.__cause__ is None
        assert done and done[-1] < 20
        # the next job fails quickly with a message too
        with pytest.raises(ex.ClusterUnavailableError):
            executor.map(slow, [1], shared={"delay": 0.0})
        executor.close()


def test_a_failed_connection_leaves_no_client_to_the_garbage_collector():
    """A ``Client`` finalised by the collector takes the lock all clients share (distributed's
    LoopRunner); collected inside the next client's start-up, which holds it, it hung that
    start-up or failed it with a bare AssertionError. The failed one is collected at once."""
    from distributed import Client

    def clients() -> int:
        return sum(isinstance(o, Client) for o in gc.get_objects())

    gc.collect()
    before = clients()
    gc.disable()  # only the executor's own collection may finalise it
    try:
        with pytest.raises(ex.ClusterUnavailableError, match="cannot be reached"):
            ex.DaskExecutor("tcp://127.0.0.1:9", connect_timeout=0.5).map(slow, [1])
        assert clients() == before
    finally:
        gc.enable()


def test_resampled_frontier_identical_on_the_cluster(sample, dask_executor):
    from core.resampling import resampled_frontier

    prices, _ = sample
    returns = prices.loc["2019":].pct_change().dropna()
    kwargs = {"n_resamples": 24, "n_points": 10, "seed": 7, "block_size": 6}
    local = resampled_frontier(returns, executor=ex.InProcessExecutor(), **kwargs)
    seen = []
    remote = resampled_frontier(returns, executor=dask_executor,
                                progress=lambda d, n: seen.append((d, n)), **kwargs)  # fmt: skip
    pd.testing.assert_frame_equal(local.weights, remote.weights, check_exact=True)
    pd.testing.assert_frame_equal(local.weight_std, remote.weight_std, check_exact=True)
    np.testing.assert_array_equal(local.returns, remote.returns)
    np.testing.assert_array_equal(local.volatilities, remote.volatilities)
    assert seen[-1] == (24, 24)
