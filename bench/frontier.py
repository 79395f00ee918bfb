"""Efficient frontier: PyPortfolioOpt's loop against Ballast's critical-line engine.

Baseline (DESIGN.md §4): one ``EfficientFrontier`` + ``efficient_return`` per point, solver
Clarabel (OSQP loses points from about 100 assets). Ours: ``core.optimization.efficient_frontier``.
Both run in this process on the same inputs and the same target returns (ours, equally spaced
from the minimum-variance to the maximum-return portfolio), long-only, weights in [0, 1].
"lost" counts the targets where PyPortfolioOpt raised (solver failure); they are left out of
the volatility comparison.

- n = 20: the bundled sample (2018-2022, mean historical returns, Ledoit-Wolf covariance);
- n = 100, 500: synthetic, a five-factor covariance (market beta ~ 1, four sector/style factors,
  idiosyncratic volatility 15-45 %) and CAPM-like expected returns with noise.

At 500 assets the baseline solves only every fifth target (20 of 100) and its time is scaled by
5; the volatility comparison uses those 20 points.

Dense cases (ours only, 100 points, best of 5): the sample covariance of 2,520 daily returns of
500 near-independent assets (a weak common factor), whose minimum-variance portfolio holds
every asset, long-only in [0, 1] and long-short in [-5 %, 10 %]. These two and the 500-asset
long-short synthetic frontier have a target of 150 ms each (hundreds of breakpoints: the
engine updates the free block's inverse by rank one per breakpoint). Times are wall clock,
best of the repeats; the load average is printed because other processes inflate them.
Run: ``python bench/frontier.py``.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypfopt import EfficientFrontier  # noqa: E402

from core.constraints import Constraints  # noqa: E402
from core.estimators import covariance, expected_returns  # noqa: E402
from core.frontier import random_portfolios  # noqa: E402
from core.market_data import load_sample  # noqa: E402
from core.optimization import efficient_frontier  # noqa: E402

TARGET = 0.150  # seconds for 100 points of each 500-asset long-short or dense frontier


def synthetic(n: int, seed: int = 0) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    k = 5
    beta = np.column_stack([rng.normal(1.0, 0.25, n), rng.normal(0.0, 0.5, (n, k - 1))])
    factor_vol = np.array([0.16, 0.08, 0.06, 0.05, 0.04])
    idio = rng.uniform(0.15, 0.45, n)
    cov = beta @ np.diag(factor_vol**2) @ beta.T + np.diag(idio**2)
    mu = 0.02 + beta @ np.array([0.05, 0.01, -0.005, 0.01, 0.0]) + rng.normal(0, 0.03, n)
    tickers = [f"S{i:03d}" for i in range(n)]
    return pd.Series(mu, index=tickers), pd.DataFrame(cov, index=tickers, columns=tickers)


def dense_sample(n: int = 500, days: int = 2520, seed: int = 0) -> tuple[pd.Series, pd.DataFrame]:
    """Annualised mean and sample covariance of simulated near-independent daily returns."""
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.01, 0.025, n)
    market = rng.normal(0.0, 0.002, (days, 1))
    returns = 0.0004 + market + rng.normal(size=(days, n)) * vol
    tickers = [f"D{i:03d}" for i in range(n)]
    frame = pd.DataFrame(returns, columns=tickers)
    return frame.mean() * 252, frame.cov() * 252


def baseline(mu: pd.Series, cov: pd.DataFrame, targets: np.ndarray) -> tuple[np.ndarray, list]:
    vols = np.full(len(targets), np.nan)
    lost = []
    for i, r in enumerate(targets):
        try:
            ef = EfficientFrontier(mu, cov, weight_bounds=(0, 1), solver="CLARABEL")
            ef.efficient_return(r)
            vols[i] = ef.portfolio_performance()[1]
        except Exception:  # noqa: BLE001 - count the points the baseline loses
            lost.append(i)
    return vols, lost


def ours(mu, cov, n_points, constraints=None, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f = efficient_frontier(mu, cov, constraints, n_points=n_points, risk_free_rate=0.02)
        times.append(time.perf_counter() - t0)
    return f, float(np.min(times))  # best of `repeat`, as timeit does


def main() -> None:
    warnings.filterwarnings("ignore")
    sample = load_sample().subset(start="2018-01-01")
    cases = [
        ("sample", *(lambda p: (expected_returns(p), covariance(p)))(sample.prices), 50, 1),
        ("synthetic", *synthetic(100), 50, 1),
        ("synthetic", *synthetic(500), 100, 5),
    ]
    # warm up imports and solvers once
    efficient_frontier(*synthetic(10), n_points=5)
    baseline(*synthetic(10), np.array([0.08]))
    print(f"{'n':>4} {'data':>9} {'points':>6} {'baseline s':>11} {'ours s':>8} {'ratio':>8} "
          f"{'max |dvol|':>11} {'lost':>4} {'corners':>7}")  # fmt: skip
    for name, mu, cov, n_points, every in cases:
        f, t_ours = ours(mu, cov, n_points)
        targets = f.returns[::every]
        t0 = time.perf_counter()
        vols, lost = baseline(mu, cov, targets)
        t_base = (time.perf_counter() - t0) * every
        diff = np.nanmax(np.abs(vols - f.volatilities[::every]))
        print(f"{len(mu):>4} {name:>9} {n_points:>6} {t_base:>11.3f} {t_ours:>8.4f} "
              f"{t_base / t_ours:>7.0f}x {diff:>11.2e} {len(lost):>4} {len(f.corner_portfolios):>7}"
              + ("  (baseline: every 5th point, time x5)" if every > 1 else "")
              + (f"  lost points: {[int(i * every) for i in lost]} of 0..{n_points - 1}"
                 if lost else ""))  # fmt: skip
    print("\nOurs only, other constraints (best of 5 runs):")
    for n in (100, 500):
        mu, cov = synthetic(n)
        for label, cons in [
            ("long-only, max 5 %", Constraints(weight_bounds=(0, 0.05))),
            ("long-short [-5 %, 10 %]", Constraints(long_only=False, weight_bounds=(-0.05, 0.1))),
        ]:
            f, t = ours(mu, cov, 100, cons)
            goal = f"  (target {TARGET:.3f} s)" if n == 500 and "short" in label else ""
            print(f"  n={n:>3} {label:<24} 100 points {t:.3f} s, "
                  f"{len(f.corner_portfolios)} corner portfolios{goal}")  # fmt: skip
    print("\nDense sample covariance, 500 near-independent assets, 2,520 days (best of 5):")
    mu, cov = dense_sample()
    for label, cons in [
        ("long-only [0, 100 %]", None),
        ("long-short [-5 %, 10 %]", Constraints(long_only=False, weight_bounds=(-0.05, 0.1))),
    ]:
        f, t = ours(mu, cov, 100, cons, repeat=5)
        free = int((np.abs(f.min_variance.weights) > 1e-12).sum())
        print(f"  {label:<24} 100 points {t:.3f} s, {len(f.corner_portfolios)} corner "
              f"portfolios, {free} held at minimum variance (target {TARGET:.3f} s)")  # fmt: skip
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    tickers = sample.tickers
    cons = Constraints(
        weight_bounds=(0, 0.3),
        sectors=dict(sample.sectors),
        sector_bounds={"Information Technology": (0.0, 0.25), "Energy": (0.05, 0.3)},
    )
    times = []
    for seed in range(5):
        t0 = time.perf_counter()
        random_portfolios(tickers, cons, 10_000, seed=seed)
        times.append(time.perf_counter() - t0)
    print(f"\nRandom portfolios: 10,000 at 20 assets with bounds and sector limits in "
          f"{np.median(times):.3f} s (median of 5)")  # fmt: skip


if __name__ == "__main__":
    main()
