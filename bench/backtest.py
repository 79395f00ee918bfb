"""Benchmark: 30-year monthly maximum-Sharpe walk-forward backtest of the 20-asset sample.

Runs ``core.backtest.run_backtest`` (numpy/sklearn estimates on each window, the optimiser's
critical-line engine stopped at the tangency per date) and, in the same process, two baselines
over the same rebalance dates and the same simulation:

1. PyPortfolioOpt per date: ``mean_historical_return`` + ``CovarianceShrinkage.ledoit_wolf`` +
   ``EfficientFrontier(..., solver="CLARABEL").max_sharpe`` on each trailing price window;
2. Ballast's own per-date path: ``core.estimators`` + ``core.optimization.optimize``.

Prints the times, the ratios, and how far the weights chosen by the three agree.
Usage: ``python bench/backtest.py``
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from pypfopt import EfficientFrontier, expected_returns, risk_models  # noqa: E402

from core import estimators  # noqa: E402
from core.backtest import _simulate, rebalance_positions, run_backtest  # noqa: E402
from core.constraints import Constraints  # noqa: E402
from core.market_data import load_sample  # noqa: E402
from core.optimization import Objective, optimize  # noqa: E402

LOOKBACK, RF, BPS = 756, 0.02, 10.0


def per_date(prices: pd.DataFrame, positions: np.ndarray, solve) -> dict[int, np.ndarray]:
    return {int(t): solve(prices.iloc[t - LOOKBACK : t + 1]) for t in positions}


def pypfopt_weights(window: pd.DataFrame) -> np.ndarray:
    mu = expected_returns.mean_historical_return(window, compounding=False)
    cov = risk_models.CovarianceShrinkage(window).ledoit_wolf()
    ef = EfficientFrontier(mu, cov, weight_bounds=(0, 1), solver="CLARABEL")
    ef.max_sharpe(risk_free_rate=RF)
    return np.array([ef.clean_weights(rounding=None)[t] for t in window.columns])


def ballast_weights(window: pd.DataFrame) -> np.ndarray:
    mu = estimators.expected_returns(window, "mean_historical")
    cov = estimators.covariance(window, "ledoit_wolf")
    return optimize(mu, cov, Objective("max_sharpe", risk_free_rate=RF)).weights.to_numpy()


def simulate(prices: pd.DataFrame, chosen: dict[int, np.ndarray], positions) -> float:
    values, _ = _simulate(
        prices.to_numpy(), int(positions[0]), chosen.get, positions, None, BPS / 1e4
    )
    return float(values[-1])


def main() -> None:
    data = load_sample()
    prices = data.prices
    objective = Objective("max_sharpe", risk_free_rate=RF)
    calls = []
    timings = []
    for _ in range(3):
        calls.clear()
        t0 = time.perf_counter()
        result = run_backtest(
            prices, objective, Constraints(), schedule="monthly", lookback=LOOKBACK,
            cost_bps=BPS, benchmark=data.benchmark, progress=lambda f, m: calls.append(f),
        )  # fmt: skip
        timings.append(time.perf_counter() - t0)
    ours = min(timings)
    positions = rebalance_positions(prices.index, "monthly", LOOKBACK)
    print(f"sample: {prices.shape[1]} assets, {result.settings['start']} to "
          f"{result.settings['end']}, {len(positions)} monthly rebalances, lookback {LOOKBACK} "
          f"days, max Sharpe, {BPS:.0f} bps")  # fmt: skip
    print(f"Ballast run_backtest (best of 3, progress callback called {len(calls)} times): "
          f"{ours:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in timings)})")  # fmt: skip

    t0 = time.perf_counter()
    ppo = per_date(prices, positions, pypfopt_weights)
    ppo_final = simulate(prices, ppo, positions)
    t_ppo = time.perf_counter() - t0
    print(f"baseline PyPortfolioOpt per date (EfficientFrontier + risk_models): {t_ppo:.2f} s")

    t0 = time.perf_counter()
    core_w = per_date(prices, positions, ballast_weights)
    simulate(prices, core_w, positions)
    t_core = time.perf_counter() - t0
    print(f"baseline core.estimators + core.optimization.optimize per date: {t_core:.2f} s")
    print(f"speed-up: {t_ppo / ours:.1f}x against PyPortfolioOpt, "
          f"{t_core / ours:.1f}x against the per-date core path")  # fmt: skip

    w = result.weights.to_numpy()
    diff_ppo = max(np.abs(w[i] - ppo[int(t)]).max() for i, t in enumerate(positions))
    diff_core = max(np.abs(w[i] - core_w[int(t)]).max() for i, t in enumerate(positions))
    print(f"max |weight difference| over all dates: {diff_ppo:.1e} vs PyPortfolioOpt, "
          f"{diff_core:.1e} vs optimize")  # fmt: skip
    final = result.equity["Strategy"].iloc[-1]
    print(f"final wealth of 1: Ballast {final:.4f}, PyPortfolioOpt weights {ppo_final:.4f}")


if __name__ == "__main__":
    main()
