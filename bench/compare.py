"""Benchmark: eight designs walked forward over 30 years, monthly, on the 20-asset sample.

Ours: ``core.comparison.compare_designs`` (one task per design on the in-process executor,
windows' estimates shared by designs with the same estimators, the critical-line engine per
date), with a progress bar, then the metrics and the pairwise Sharpe tests. Designs: equal
weight, market cap, max Sharpe, min volatility, max Sharpe with weights <= 20 %, max utility
(delta 3), min volatility on the sample covariance, Black-Litterman (one view on MSFT,
Idzorek confidence 60 %, delta 2.5) then max Sharpe. Lookback 756 days, 10 bps.

Baseline, in the same process, the same designs with PyPortfolioOpt per date (estimates shared
by the designs that use the same ones, as ours): ``mean_historical_return``,
``CovarianceShrinkage.ledoit_wolf`` / ``sample_cov``, ``BlackLittermanModel`` and
``EfficientFrontier(..., solver="CLARABEL")``, then the same simulation. PyPortfolioOpt costs
about 25 ms a solve, so the baseline solves every ``STEP``-th date and its time is scaled by
``STEP``; the weights on those dates are compared with ours.

Usage: ``python bench/compare.py`` (``--dask``: also on a two-worker LocalCluster).
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

from pypfopt import BlackLittermanModel, EfficientFrontier, expected_returns, risk_models  # noqa

from core import black_litterman as bl  # noqa: E402
from core.backtest import rebalance_positions  # noqa: E402
from core.comparison import Design, compare_designs  # noqa: E402
from core.constraints import Constraints  # noqa: E402
from core.market_data import load_sample  # noqa: E402
from core.optimization import Objective  # noqa: E402

LOOKBACK, RF, BPS, STEP = 756, 0.02, 10.0, 4


def bar(done: int, total: int) -> None:
    filled = int(30 * done / total)
    print(f"\r  [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} tasks", end="", flush=True)
    if done == total:
        print()


def designs(caps: pd.Series, tickers: list[str]) -> list[Design]:
    views = bl.parse_views([{"kind": "absolute", "assets": "MSFT", "return": 0.15,
                             "confidence": 0.6}], tickers)  # fmt: skip
    sharpe = Objective("max_sharpe", risk_free_rate=RF)
    return [
        Design("Equal weight", "equal_weight"),
        Design("Market cap", "market_cap", market_caps=caps),
        Design("Max Sharpe", objective=sharpe),
        Design("Min volatility", objective=Objective("min_volatility", risk_free_rate=RF)),
        Design("Max Sharpe, 20% cap", objective=sharpe,
               constraints=Constraints(weight_bounds=(0.0, 0.2))),
        Design("Max utility", objective=Objective("max_utility", risk_aversion=3.0,
                                                  risk_free_rate=RF)),
        Design("Min vol, sample cov", objective=Objective("min_volatility", risk_free_rate=RF),
               cov_method="sample"),
        Design("Black-Litterman", "black_litterman", objective=sharpe, market_caps=caps,
               views=views, delta=2.5),
    ]  # fmt: skip


def baseline(prices: pd.DataFrame, caps: pd.Series, positions: np.ndarray) -> dict:
    """PyPortfolioOpt weights of the six optimised designs on every STEP-th date."""
    out: dict[str, dict[int, np.ndarray]] = {}
    tickers = list(prices.columns)

    def solve(name, mu, cov, how, bounds=(0, 1)):
        ef = EfficientFrontier(mu, cov, weight_bounds=bounds, solver="CLARABEL")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            how(ef)
        out.setdefault(name, {})[t] = np.array([ef.clean_weights(rounding=None)[k]
                                                for k in tickers])  # fmt: skip

    for t in positions[::STEP]:
        t = int(t)
        window = prices.iloc[t - LOOKBACK : t + 1]
        mu = expected_returns.mean_historical_return(window, compounding=False)
        lw = risk_models.CovarianceShrinkage(window).ledoit_wolf()
        sample = risk_models.sample_cov(window)
        solve("Max Sharpe", mu, lw, lambda ef: ef.max_sharpe(risk_free_rate=RF))
        solve("Min volatility", mu, lw, lambda ef: ef.min_volatility())
        solve("Max Sharpe, 20% cap", mu, lw, lambda ef: ef.max_sharpe(risk_free_rate=RF),
              (0, 0.2))  # fmt: skip
        solve("Max utility", mu, lw, lambda ef: ef.max_quadratic_utility(risk_aversion=3.0))
        solve("Min vol, sample cov", mu, sample, lambda ef: ef.min_volatility())
        now = caps * prices.iloc[t] / prices.iloc[-1]
        model = BlackLittermanModel(lw, pi="market", market_caps=now, risk_aversion=2.5,
                                    absolute_views={"MSFT": 0.15}, omega="idzorek",
                                    view_confidences=[0.6], risk_free_rate=RF)  # fmt: skip
        solve("Black-Litterman", model.bl_returns(), lw,
              lambda ef: ef.max_sharpe(risk_free_rate=RF))  # fmt: skip
    return out


def main() -> None:
    data = load_sample()
    prices, caps = data.prices, data.market_caps.reindex(data.prices.columns)
    chosen = designs(caps, list(prices.columns))
    positions = rebalance_positions(prices.index, "monthly", LOOKBACK)
    print(f"sample: {prices.shape[1]} assets, {len(chosen)} designs, {len(positions)} monthly "
          f"rebalances from {prices.index[LOOKBACK].date()} to {prices.index[-1].date()}, "
          f"lookback {LOOKBACK} days, {BPS:.0f} bps")  # fmt: skip
    timings, cpu = [], []
    for run in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        result = compare_designs(prices, chosen, lookback=LOOKBACK, cost_bps=BPS,
                                 benchmark=data.benchmark, risk_free_rate=RF,
                                 progress=bar if run == 0 else None)  # fmt: skip
        timings.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    best = min(timings)
    print(f"Ballast compare_designs (best of 2): {best:.2f} s  "
          f"(runs: {', '.join(f'{t:.2f}' for t in timings)}); target < 20 s; CPU time of "
          f"this process {min(cpu):.2f} s (wall time above it is other load)")  # fmt: skip

    t0 = time.perf_counter()
    theirs = baseline(prices, caps, positions)
    t_base = (time.perf_counter() - t0) * STEP
    print(f"baseline PyPortfolioOpt per date, six optimised designs: {t_base:.1f} s (every "
          f"{STEP}th date measured, scaled; simulation and metrics not counted)")  # fmt: skip
    print(f"speed-up: {t_base / best:.1f}x")
    for name, by_date in theirs.items():
        w = result.results[name].weights
        diff = max(np.abs(w.loc[prices.index[t]].to_numpy() - v).max()
                   for t, v in by_date.items())  # fmt: skip
        print(f"  {name:<22} max |weight difference| vs PyPortfolioOpt {diff:.1e}")
    pd.set_option("display.width", 160)
    shown = result.metrics[["annualized_return", "volatility", "sharpe_ratio", "max_drawdown",
                            "cvar", "turnover"]]  # fmt: skip
    print(shown.round(3).to_string())
    print(result.tests[["sharpe_difference", "p_hac", "p_jobson_korkie"]].round(3).to_string())

    if "--dask" in sys.argv:
        from distributed import LocalCluster

        from core.executor import get_executor

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
            executor = get_executor(cluster.scheduler_address)
            t0 = time.perf_counter()
            dask = compare_designs(prices, chosen, lookback=LOOKBACK, cost_bps=BPS,
                                   benchmark=data.benchmark, risk_free_rate=RF,
                                   executor=executor, progress=bar)  # fmt: skip
            t_dask = time.perf_counter() - t0
            same = dask.equity.equals(result.equity)
            print(f"two-worker LocalCluster: {t_dask:.2f} s; identical to in-process: {same}")


if __name__ == "__main__":
    main()
