"""Rules inside the optimisation against the continuous optimum rounded afterwards.

Problems (same process, same inputs):

1. UCITS 5/10/40, maximum Sharpe ratio, the 20 stocks of the bundled sample (2018-2022, mean
   historical returns, Ledoit-Wolf, risk-free rate 2 %): ``core.optimization.optimize`` with
   ``Constraints(rules=("ucits",))`` (SCIP, solved to a proven gap of at most 1e-6), against
   PyPortfolioOpt's continuous ``max_sharpe`` (Clarabel) and that optimum forced into the rule
   afterwards the usual way: positions clipped to 10 %, then the five-percent-plus positions
   beyond the 40 % cut from the smallest up and the weight spread pro rata on the others.
2. At most 10 holdings of 100 synthetic assets (five-factor model, as ``bench/frontier.py``),
   maximum Sharpe ratio, weights in [0, 25 %]: Ballast with the default 5 s time limit (the best
   portfolio found and its proven gap), against PyPortfolioOpt's continuous optimum truncated to
   its 10 largest weights and renormalised (the common heuristic). The limit covers the whole
   call (model building, the preparatory solves and the polishing included): the wall time of
   ``optimize`` is printed against it, also for limits of 1 s and 2 s.

For each: time, Sharpe ratio, whether the rounded baseline breaks a rule (share of the rules'
checks that fail), and the tracking of the target: ``sqrt((w - w*)' Sigma (w - w*))``
against the continuous optimum ``w*`` (annualised). Run: ``python bench/compliance.py``.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from frontier import synthetic  # noqa: E402

from core import compliance  # noqa: E402
from core.constraints import Constraints  # noqa: E402
from core.estimators import covariance, expected_returns  # noqa: E402
from core.market_data import load_sample  # noqa: E402
from core.optimization import Objective, optimize  # noqa: E402

RF = 0.02


def pypfopt_max_sharpe(mu: pd.Series, cov: pd.DataFrame, upper: float = 1.0) -> pd.Series:
    from pypfopt import EfficientFrontier

    ef = EfficientFrontier(mu, cov, weight_bounds=(0, upper), solver="CLARABEL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ef.max_sharpe(risk_free_rate=RF)
    return pd.Series(ef.clean_weights(rounding=None), dtype=float).reindex(mu.index).fillna(0.0)


def force_ucits(w: pd.Series) -> pd.Series:
    """Clip to 10 %, cut the 5 %-plus positions beyond 40 % (smallest first), spread pro rata."""
    for _ in range(200):  # repeat until the spreading no longer breaks the rule
        w = w.clip(upper=0.10)
        big = w[w > 0.05].sort_values()
        excess = big.sum() - 0.40
        for t in big.index:
            if excess <= 0:
                break
            cut = min(w[t] - 0.05, excess)
            w[t] -= cut
            excess -= cut
        w = w / w.sum()
        if not len(compliance.check(w, ["ucits"]).query("status == 'breach'")):
            break
    return w


def sharpe(w: pd.Series, mu: pd.Series, cov: pd.DataFrame) -> float:
    x = w.reindex(mu.index).fillna(0.0).to_numpy()
    return float((x @ mu.to_numpy() - RF) / np.sqrt(x @ cov.to_numpy() @ x))


def tracking(w: pd.Series, target: pd.Series, cov: pd.DataFrame) -> float:
    d = (w - target).reindex(cov.index).fillna(0.0).to_numpy()
    return float(np.sqrt(max(d @ cov.to_numpy() @ d, 0.0)))


def breach_share(w: pd.Series, rules) -> float:
    table = compliance.check(w, rules)
    return float((table.groupby("rule")["status"].apply(lambda s: (s == "breach").any())).mean())


def best_of(runs: int, fn):
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    data = load_sample().subset(start="2018-01-01")
    mu, cov = expected_returns(data.prices), covariance(data.prices)
    obj = Objective("max_sharpe", risk_free_rate=RF)
    t_cont, cont = best_of(3, lambda: pypfopt_max_sharpe(mu, cov))
    t_mip, res = best_of(3, lambda: optimize(mu, cov, obj, Constraints(rules=("ucits",))))
    forced = force_ucits(cont.copy())
    rules = compliance.resolve_rules(("ucits",))
    print("1. UCITS 5/10/40, max Sharpe, 20 sample stocks")
    print(f"   Ballast (SCIP): {t_mip:.2f} s, {res.mip_status}, proven gap {res.mip_gap:.1e}, "
          f"Sharpe {res.sharpe_ratio:.4f}, breaches {breach_share(res.weights, rules):.0%}, "
          f"tracking of the continuous optimum {tracking(res.weights, cont, cov):.2%}")
    print(f"   PyPortfolioOpt continuous: {t_cont:.2f} s, Sharpe {sharpe(cont, mu, cov):.4f}, "
          f"breaches {breach_share(cont, rules):.0%} of the rule's checks")
    print(f"   continuous forced into the rule afterwards: Sharpe "
          f"{sharpe(forced, mu, cov):.4f}, breaches {breach_share(forced, rules):.0%}, "
          f"tracking {tracking(forced, cont, cov):.2%}; Ballast's Sharpe is "
          f"{res.sharpe_ratio - sharpe(forced, mu, cov):+.4f} higher")

    mu, cov = synthetic(100, 1)
    walls = {}
    for limit in (1.0, 2.0, 5.0):
        cons = Constraints(weight_bounds=(0.0, 0.25), max_holdings=10, time_limit=limit)
        t0 = time.perf_counter()
        res = optimize(mu, cov, obj, cons)
        walls[limit] = (time.perf_counter() - t0, res.mip_gap)
    t_mip = walls[5.0][0]
    t_cont, cont = best_of(3, lambda: pypfopt_max_sharpe(mu, cov, 0.25))
    top = cont.sort_values(ascending=False).iloc[:10]
    trunc = (top / top.sum()).reindex(mu.index).fillna(0.0).clip(upper=0.25)
    trunc = trunc / trunc.sum()
    rules = compliance.resolve_rules((), max_holdings=10)
    print("2. At most 10 of 100 synthetic assets, max Sharpe, weights at most 25 %")
    print(f"   Ballast (SCIP, 5 s limit): {t_mip:.2f} s, {res.mip_status}, proven gap "
          f"{res.mip_gap:.2e}, Sharpe {res.sharpe_ratio:.4f}, holdings "
          f"{int((res.weights > 1e-6).sum())}, tracking {tracking(res.weights, cont, cov):.2%}")
    for limit, (wall, gap) in walls.items():
        print(f"   time limit {limit:g} s: whole call {wall:.2f} s "
              f"({'within' if wall <= limit else 'OVER'} the limit by {abs(limit - wall):.2f} s), "
              f"proven gap {gap:.2e}")
    print(f"   PyPortfolioOpt continuous: {t_cont:.2f} s, Sharpe {sharpe(cont, mu, cov):.4f}, "
          f"{int((cont > 1e-6).sum())} holdings, breaches {breach_share(cont, rules):.0%}")
    print(f"   its 10 largest renormalised: Sharpe {sharpe(trunc, mu, cov):.4f}, tracking "
          f"{tracking(trunc, cont, cov):.2%}; Ballast's Sharpe is "
          f"{res.sharpe_ratio - sharpe(trunc, mu, cov):+.4f} higher")


if __name__ == "__main__":
    main()
