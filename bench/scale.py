"""Benchmark: large universes (1,000 and 5,000 assets) and a batch of jobs on a Dask cluster.

1. For synthetic factor-model universes (``core.synthetic.factor_model_prices``, 756 daily
   returns: at 5,000 assets fewer returns than assets, so the sample covariance would be
   singular): the estimates (mean, Ledoit-Wolf), the allocation (``optimize``, maximum Sharpe
   ratio, long-only) and a 50-point frontier (``efficient_frontier``), with their times against
   the targets (1,000 assets: allocation < 1 s, frontier < 2 s; 5,000: each < 30 s) and the
   memory peak of each step (``tracemalloc``, numpy's buffers included) and of the process
   (``resource`` maxrss).
2. A 16-design walk-forward (``core.backtest.run_backtest`` per design: objectives x
   covariance estimators x lookbacks on the bundled sample, monthly) in-process and on a
   two-worker ``LocalCluster`` (processes, one thread each) through ``core.executor``: wall
   times, the speed-up (expect >= 1.6x on two free cores) and whether the results are identical.

Usage: ``python bench/scale.py [--sizes 1000,5000] [--no-cluster] [--designs 16]``
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from core import estimators  # noqa: E402
from core.backtest import run_backtest  # noqa: E402
from core.executor import DaskExecutor, InProcessExecutor  # noqa: E402
from core.frontier import efficient_frontier  # noqa: E402
from core.market_data import load_sample  # noqa: E402
from core.optimization import Objective, optimize  # noqa: E402
from core.synthetic import factor_model_prices  # noqa: E402

TARGETS = {1000: {"allocation": 1.0, "frontier": 2.0}, 5000: {"allocation": 30.0, "frontier": 30.0}}


def measured(fn):
    """``(result, seconds, tracemalloc peak in MB)`` of ``fn()``.

    Timed on a first call without tracing (tracemalloc slows numpy's allocations by ~50 %),
    the memory peak on a second, traced call.
    """
    started = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, seconds, peak


def universe(n: int) -> None:
    prices = factor_model_prices(n, 756, seed=0)
    print(f"\n{n:,} assets x {len(prices) - 1} returns (synthetic factor model)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mu, t_mu, m_mu = measured(lambda: estimators.expected_returns(prices))
        cov, t_cov, m_cov = measured(lambda: estimators.covariance(prices, "ledoit_wolf"))
    alloc, t_alloc, m_alloc = measured(lambda: optimize(mu, cov, Objective("max_sharpe")))
    front, t_front, m_front = measured(lambda: efficient_frontier(mu, cov, n_points=50))
    held = int((alloc.weights > 1e-6).sum())
    target = TARGETS.get(n, {})
    rows = [
        ("expected returns (mean)", t_mu, m_mu, None),
        ("covariance (Ledoit-Wolf)", t_cov, m_cov, None),
        (f"allocation (max Sharpe, {held} held)", t_alloc, m_alloc, target.get("allocation")),
        ("frontier (50 points)", t_front, m_front, target.get("frontier")),
    ]
    for label, seconds, peak, goal in rows:
        versus = f"target {goal:.0f} s, {seconds / goal:5.2f}x of it" if goal else ""
        print(f"  {label:38s} {seconds:7.2f} s  peak {peak:7.0f} MB  {versus}")
    assert len(front.to_frame()) == 50
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  process peak resident memory so far: {rss:,.0f} MB; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip


def walk_forward(design: dict, prices: pd.DataFrame, benchmark: pd.Series) -> pd.DataFrame:
    """One design's monthly walk-forward: its equity curves (one task of the batch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_backtest(
            prices, design["objective"], schedule="monthly", lookback=design["lookback"],
            cov_method=design["cov"], benchmark=benchmark, cost_bps=10.0,
        ).equity  # fmt: skip


def designs(n: int) -> list[dict]:
    grid = [
        {"objective": o, "cov": c, "lookback": lb}
        for lb in (504, 756)
        for o in ("max_sharpe", "min_volatility")
        for c in ("ledoit_wolf", "sample", "oas", "exp_cov")
    ]
    return grid[:n]


def cluster_batch(n_designs: int) -> None:
    from distributed import LocalCluster

    data = load_sample()
    window = slice("2005-01-01", None)
    shared = {"prices": data.prices.loc[window], "benchmark": data.benchmark.loc[window]}
    batch = designs(n_designs)
    print(f"\n{len(batch)}-design walk-forward (monthly, sample from 2005, 20 assets)")
    started = time.perf_counter()
    local = InProcessExecutor().map(walk_forward, batch, shared=shared)
    t_local = time.perf_counter() - started
    print(f"  in-process                       {t_local:7.2f} s  (baseline)")
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:  # fmt: skip
        with DaskExecutor(cluster.scheduler_address) as executor:
            executor.map(walk_forward, batch[:2], shared=shared)  # workers import, warm up
            started = time.perf_counter()
            remote = executor.map(walk_forward, batch, shared=shared)
            t_remote = time.perf_counter() - started
    same = all(a.equals(b) for a, b in zip(local, remote, strict=True))
    print(f"  two-worker LocalCluster          {t_remote:7.2f} s  "
          f"speed-up {t_local / t_remote:4.2f}x (expect >= 1.6x on two free cores); "
          f"results identical: {same}")  # fmt: skip
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--designs", type=int, default=16)
    parser.add_argument("--no-cluster", action="store_true")
    args = parser.parse_args()
    for n in [int(s) for s in args.sizes.split(",") if s]:
        universe(n)
    if not args.no_cluster:
        cluster_batch(args.designs)


if __name__ == "__main__":
    main()
