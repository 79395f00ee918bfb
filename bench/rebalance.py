"""Maximum Sharpe ratio from the book held: Ballast's conic engine against cvxpy.

Problem (both sides, same inputs, same process): synthetic five-factor universe (as in
``bench/frontier.py``), a long-only book ``w0`` (Dirichlet weights), proportional costs of
5-15 bps per asset amortised over one year, a one-way turnover budget of 15 %, weights in
[0, 10 %] (100 assets) or [0, 5 %] (500 assets), risk-free rate 2 %.

- ours: ``core.optimization.optimize`` with ``Constraints(current_weights=..., max_turnover=...)``
  and ``Objective("max_sharpe", transaction_costs=..., ...)``, end to end (pandas in and out,
  shadow prices included): the exact active-set engine of :mod:`core.book_active_set`;
- engine: the engine alone, numpy in and out: :func:`core.book_active_set.solve` on the
  :class:`core.rebalancing.BookProblem` of the same inputs (shadow prices included), without
  ``optimize``'s checks and pandas objects;
- conic: the same call with that engine switched off, so :mod:`core.rebalancing`'s Clarabel
  program (matrices built directly, a working set of assets) serves it, as it serves volatility
  and tracking-error caps and exposure limits;
- baseline: the same problem written in cvxpy with ``cp.abs`` (the Charnes-Cooper transform,
  net excess return at least 1), solved by Clarabel through cvxpy (build + solve each time).

Times are the best of 50 runs for ours and the engine, of 20 (100 assets) or 5 (500) for
cvxpy and the conic engine (as timeit does; best-of, since other work on a busy machine only
slows a run down); "ratio" is cvxpy's time over ours (end to end), "eng ratio" cvxpy's time
over the engine alone; "|dSR|" is the difference of the net Sharpe ratios (ours minus
cvxpy's: positive, ours is the better portfolio). Then the two dense 500-asset frontiers
(sample covariance of 2,520 days of 500 near-independent assets; long-only and long-short
[-5 %, 10 %]), timed as ``bench/frontier.py`` times them; last, the time of the process's first
solve (imports, and the engine's numba kernels loaded from their cache in ``core/__pycache__``,
or compiled when it is empty: that first call is outside every timing above). Run:
``python bench/rebalance.py``.
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

from frontier import TARGET, dense_sample, synthetic  # noqa: E402
from frontier import ours as frontier_time  # noqa: E402

from core.constraints import Constraints  # noqa: E402
from core.optimization import Objective, optimize  # noqa: E402

RF, BUDGET, HORIZON = 0.02, 0.15, 1.0


def inputs(n: int, seed: int = 1):
    mu, cov = synthetic(n, seed)
    rng = np.random.default_rng(seed)
    upper = 0.1 if n <= 100 else 0.05
    w0 = rng.dirichlet(np.full(n, 2.0))
    w0 = np.minimum(w0, upper)
    w0 = w0 / w0.sum()
    while w0.max() > upper + 1e-12:  # redistribute until within the bounds
        w0 = np.minimum(w0, upper)
        w0 = w0 + (1 - w0.sum()) * (upper - w0) / (upper - w0).sum()
    costs = pd.Series(rng.uniform(0.0005, 0.0015, n), index=mu.index)
    return mu, cov, pd.Series(w0, index=mu.index), costs, upper


def net_sharpe(w, mu, cov, w0, costs):
    ret = w @ mu - costs @ np.abs(w - w0) / HORIZON
    return (ret - RF) / np.sqrt(w @ cov @ w)


def ours(mu, cov, w0, costs, upper):
    cons = Constraints(weight_bounds=(0.0, upper), current_weights=w0, max_turnover=BUDGET)
    objective = Objective("max_sharpe", risk_free_rate=RF, transaction_costs=costs,
                          cost_horizon=HORIZON)  # fmt: skip
    return optimize(mu, cov, objective, cons).weights.to_numpy()


def book_problem(mu, cov, w0, costs, upper):
    """The arrays the engine solves (built once, outside the timing)."""
    from core.rebalancing import BookProblem

    n = len(mu)
    off = np.zeros(n, dtype=bool)
    return BookProblem(
        mu=mu.to_numpy(), cov=cov.to_numpy(), lower=np.zeros(n), upper=np.full(n, upper),
        G=np.zeros((0, n)), h=np.zeros(0), labels=[], tickers=list(mu.index),
        w0=w0.to_numpy(), costs=costs.to_numpy(), horizon=HORIZON, no_buy=off, no_sell=off,
        locked=off, investable=np.ones(n, dtype=bool), risk_free_rate=RF,
        max_turnover=BUDGET,
    )  # fmt: skip


def engine(problem):
    from core import book_active_set

    weights, _prices = book_active_set.solve(problem, "max_sharpe")
    return weights


def baseline(mu, cov, w0, costs, upper):
    import cvxpy as cp

    m, S, h, c = mu.to_numpy(), cov.to_numpy(), w0.to_numpy(), costs.to_numpy()
    n = len(m)
    y, kappa = cp.Variable(n), cp.Variable(nonneg=True)
    trade = cp.abs(y - kappa * h)
    cons = [
        cp.sum(y) == kappa, y >= 0, y <= upper * kappa,
        cp.sum(trade) / 2 <= BUDGET * kappa,
        (m - RF) @ y - c @ trade / HORIZON >= 1,
    ]  # fmt: skip
    prob = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(S))), cons)
    prob.solve(solver=cp.CLARABEL)
    return y.value / kappa.value


def best(fn, *args, repeat=5):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return out, float(np.min(times))


def conic(*args):
    from core import book_active_set

    saved = book_active_set.solve
    book_active_set.solve = lambda *a, **k: None
    try:
        return ours(*args)
    finally:
        book_active_set.solve = saved


def main() -> None:
    warnings.filterwarnings("ignore")
    first = time.perf_counter()
    ours(*inputs(10))  # warm up imports, solvers and the engine's compiled kernels
    first = time.perf_counter() - first
    conic(*inputs(10))
    baseline(*inputs(10))
    print(f"{'n':>4} {'cvxpy s':>9} {'conic s':>8} {'ours s':>8} {'engine s':>8} {'ratio':>7} "
          f"{'eng ratio':>9} {'|dSR|':>9} {'turnover':>8} {'trades':>6}")  # fmt: skip
    for n in (100, 500):
        args = inputs(n)
        problem = book_problem(*args)
        w, t_ours = best(ours, *args, repeat=50)
        w_eng, t_eng = best(engine, problem, repeat=50)
        assert np.abs(w_eng - w).max() < 1e-9  # the same portfolio
        slow = 20 if n <= 100 else 5
        _, t_conic = best(conic, *args, repeat=slow)
        w_ref, t_ref = best(baseline, *args, repeat=slow)
        mu, cov, w0, costs, _ = args
        m, S, h, c = mu.to_numpy(), cov.to_numpy(), w0.to_numpy(), costs.to_numpy()
        d = net_sharpe(w, m, S, h, c) - net_sharpe(w_ref, m, S, h, c)
        trades = np.abs(w - h)
        print(f"{n:>4} {t_ref:>9.4f} {t_conic:>8.4f} {t_ours:>8.4f} {t_eng:>8.4f} "
              f"{t_ref / t_ours:>6.1f}x {t_ref / t_eng:>8.1f}x {d:>9.1e} {trades.sum() / 2:>8.1%} "
              f"{int((trades > 1e-6).sum()):>6}")  # fmt: skip

    print("\nThe two dense 500-asset frontiers (as in bench/frontier.py; 100 points, best of 5):")
    mu, cov = dense_sample()
    cases = [("long-only [0, 100 %]", None),
             ("long-short [-5 %, 10 %]", Constraints(long_only=False, weight_bounds=(-0.05, 0.1)))]
    for label, cons in cases:
        f, t = frontier_time(mu, cov, 100, cons, repeat=5)
        print(f"  {label:<24} {t:.3f} s, {len(f.corner_portfolios)} corner portfolios "
              f"(target {TARGET:.3f} s)")  # fmt: skip
    print(f"\nFirst solve in this process (imports, numba kernels loaded from core/__pycache__ "
          f"or compiled when that cache is empty): {first:.2f} s")  # fmt: skip
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
