"""Tail-risk and risk-budgeting allocation: Ballast against PyPortfolioOpt and skfolio.

Same inputs, same process, best of ``REPEAT`` wall-clock runs:

- min CVaR (95 %), 20 assets x 2,520 daily scenarios (the bundled sample's last ten years),
  weights in [0, 25 %], sector limits (each GICS sector at most 30 %, Energy at most 10 %):
  ours ``optimize(..., Objective("min_cvar"), scenarios=returns)`` (HiGHS, scenario rows
  generated lazily); PyPortfolioOpt ``EfficientCVaR.min_cvar`` (cvxpy, default solver, and
  HiGHS); skfolio ``MeanRisk(risk_measure=CVAR)`` (cvxpy, Clarabel);
- a 20-point mean-CVaR frontier on the same inputs: ours ``mean_cvar_frontier`` (one HiGHS
  model, warm-started); PyPortfolioOpt ``EfficientCVaR.efficient_return`` per point (a new
  problem each); skfolio ``MeanRisk(efficient_frontier_size=20)``;
- min CDaR (95 %), same inputs without the sector limits: ours, ``EfficientCDaR.min_cdar``,
  skfolio ``MeanRisk(risk_measure=CDAR)``;
- equal risk contribution at 500 assets (sample covariance of 1,000 synthetic daily returns
  with one common factor): ours (Spinu's Newton) against skfolio ``RiskBudgeting`` (cvxpy,
  Clarabel), with the largest deviation of a relative risk contribution from 1/500.

"obj" columns give each method's objective value (CVaR / CDaR of its weights, measured the
same way), so a speed-up is not bought with a worse portfolio.
Run: ``python bench/tail_risk.py``.
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

from core.constraints import Constraints  # noqa: E402
from core.market_data import load_sample  # noqa: E402
from core.optimization import Objective, optimize  # noqa: E402
from core.risk_budgeting import relative_risk_contributions, risk_budgeting_weights  # noqa: E402
from core.scenario_optimization import (  # noqa: E402
    mean_cvar_frontier,
    scenario_cdar,
    scenario_cvar,
)

REPEAT = 3
warnings.filterwarnings("ignore")


def best(fn, repeat: int = REPEAT):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def row(name: str, ours: float, other: float, extra: str = "") -> None:
    print(f"  {name:<44} {other * 1000:9.1f} ms   ours/this {ours / other:6.3f}   {extra}")


def main() -> None:
    data = load_sample()
    R = data.prices.iloc[-2521:].pct_change().dropna()
    tickers = list(R.columns)
    mu = R.mean() * 252
    cov = R.cov() * 252
    sectors = dict(data.sectors)
    names = sorted(set(sectors.values()))
    sector_bounds = {s: (0.0, 0.3) for s in names}
    sector_bounds["Energy"] = (0.0, 0.1)
    cons = Constraints(weight_bounds=(0.0, 0.25), sectors=sectors, sector_bounds=sector_bounds)
    print(f"{len(R)} scenarios x {len(tickers)} assets, {R.index[0].date()} to "
          f"{R.index[-1].date()}; best of {REPEAT}\n")  # fmt: skip

    from pypfopt import EfficientCDaR, EfficientCVaR
    from skfolio import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    # skfolio's sector limits: groups and linear constraints.
    groups = [[sectors[t] for t in tickers]]
    lin = [f"{s} <= {hi}" for s, (_, hi) in sector_bounds.items()]

    # ---- min CVaR
    optimize(mu, cov, Objective("min_cvar"), cons, scenarios=R)  # warm imports
    t_ours, res = best(lambda: optimize(mu, cov, Objective("min_cvar"), cons, scenarios=R))
    ours_cvar = scenario_cvar(res.weights, R)
    print(f"min CVaR: ours {t_ours * 1000:.1f} ms, CVaR {ours_cvar:.8%}")

    def pypfopt_cvar(solver=None):
        ef = EfficientCVaR(mu, R, weight_bounds=(0, 0.25), **({"solver": solver} if solver else {}))
        ef.add_sector_constraints(sectors, {s: 0.0 for s in names},
                                  {s: hi for s, (_, hi) in sector_bounds.items()})
        return pd.Series(ef.min_cvar())

    for solver in (None, "HIGHS"):
        t, w = best(lambda s=solver: pypfopt_cvar(s))
        row(f"PyPortfolioOpt EfficientCVaR ({solver or 'default solver'})", t_ours, t,
            f"obj {scenario_cvar(w.reindex(tickers), R) - ours_cvar:+.2e}")

    def skfolio_cvar():
        m = MeanRisk(risk_measure=RiskMeasure.CVAR, max_weights=0.25, groups=groups,
                     objective_function=ObjectiveFunction.MINIMIZE_RISK, linear_constraints=lin)
        return m.fit(R).weights_

    t, w = best(skfolio_cvar)
    row("skfolio MeanRisk CVaR (Clarabel)", t_ours, t,
        f"obj {scenario_cvar(w, R.to_numpy()) - ours_cvar:+.2e}")

    # ---- 20-point mean-CVaR frontier
    t_ours, front = best(lambda: mean_cvar_frontier(mu, R, cons, n_points=20))
    print(f"\n20-point mean-CVaR frontier: ours {t_ours * 1000:.1f} ms")
    targets = front["expected_return"].to_numpy()

    def pypfopt_frontier():
        out = []
        for m in targets[:-1]:
            ef = EfficientCVaR(mu, R, weight_bounds=(0, 0.25))
            ef.add_sector_constraints(sectors, {s: 0.0 for s in names},
                                      {s: hi for s, (_, hi) in sector_bounds.items()})
            out.append(pd.Series(ef.efficient_return(float(m) - 1e-9)))
        return out

    t, ws = best(pypfopt_frontier, 1)
    gap = max(scenario_cvar(w.reindex(tickers), R) - c for w, c in
              zip(ws, front["cvar"].iloc[:-1], strict=True))  # fmt: skip
    row("PyPortfolioOpt efficient_return x 19 (1 run)", t_ours, t * 20 / 19,
        f"worst obj gap {gap:+.2e}")

    def skfolio_frontier():
        m = MeanRisk(risk_measure=RiskMeasure.CVAR, efficient_frontier_size=20, max_weights=0.25,
                     groups=groups, linear_constraints=lin)
        return m.fit(R).weights_

    t, _ = best(skfolio_frontier, 1)
    row("skfolio MeanRisk efficient_frontier_size=20", t_ours, t)

    # ---- min CDaR
    plain = Constraints(weight_bounds=(0.0, 0.25))
    t_ours, res = best(lambda: optimize(mu, cov, Objective("min_cdar"), plain, scenarios=R), 1)
    ours_cdar = scenario_cdar(res.weights, R)
    print(f"\nmin CDaR: ours {t_ours * 1000:.1f} ms, CDaR {ours_cdar:.8%}")
    t, w = best(lambda: pd.Series(EfficientCDaR(mu, R, weight_bounds=(0, 0.25)).min_cdar()), 1)
    row("PyPortfolioOpt EfficientCDaR (default solver)", t_ours, t,
        f"obj {scenario_cdar(w.reindex(tickers), R) - ours_cdar:+.2e}")
    t, w = best(lambda: MeanRisk(risk_measure=RiskMeasure.CDAR, max_weights=0.25,
                                 objective_function=ObjectiveFunction.MINIMIZE_RISK)
                .fit(R).weights_, 1)  # fmt: skip
    row("skfolio MeanRisk CDaR (Clarabel)", t_ours, t,
        f"obj {scenario_cdar(w, R.to_numpy()) - ours_cdar:+.2e}")

    # ---- ERC at 500 assets
    from skfolio.optimization import RiskBudgeting

    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 500)) * 0.015 + rng.standard_normal((1000, 1)) * 0.01
    S = np.cov(X, rowvar=False)
    b = np.full(500, 1 / 500)
    risk_budgeting_weights(S, b)
    t_ours, w = best(lambda: risk_budgeting_weights(S, b), 5)
    dev = np.abs(relative_risk_contributions(w, S) - b).max()
    print(f"\nERC, 500 assets: ours {t_ours * 1000:.1f} ms, max |RC_i - 1/n| {dev:.1e}")
    t, w = best(lambda: RiskBudgeting().fit(X).weights_, 1)
    dev = np.abs(relative_risk_contributions(w, S) - b).max()
    row("skfolio RiskBudgeting (Clarabel)", t_ours, t, f"max |RC_i - 1/n| {dev:.1e}")


if __name__ == "__main__":
    main()
