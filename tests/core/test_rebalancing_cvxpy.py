"""The book engine against an independent cvxpy formulation, on 500 random problems and the sample.

The reference is written differently from :mod:`core.rebalancing`: trades as ``cp.abs(w - w0)``
(no buy/sell split), exposure as ``cp.norm1`` / ``cp.pos`` / ``cp.neg``, locks as equalities,
the covariance factor from the eigen-decomposition (ours: Cholesky), the maximum Sharpe and
information ratios homogenised with the net excess return *at least* 1 (ours: equal to 1). It is
solved by Clarabel through cvxpy. Both sides must agree on feasibility, and on the objective
value to 1e-7 relative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.constraints import Constraints
from core.exceptions import InfeasibleConstraintsError
from core.optimization import Objective, optimize

KINDS = ["max_sharpe", "min_volatility", "target_return", "target_volatility", "max_utility",
         "min_tracking_error", "max_information_ratio"]  # fmt: skip
N_PROBLEMS, CHUNKS = 500, 10


def objective_value(kind, w, mu, cov, w0, costs, horizon, rf, bench, delta):
    """The objective in its units, from the definitions in the issue (independent code)."""
    cash = 1.0 - w.sum()
    net = mu @ w + rf * cash - costs @ np.abs(w - w0) / horizon
    vol = np.sqrt(max(w @ cov @ w, 0.0))
    amortised = costs @ np.abs(w - w0) / horizon
    if kind == "max_sharpe":
        return (net - rf) / vol
    if kind in ("min_volatility", "target_return"):
        return vol + amortised
    if kind == "target_volatility":
        return net
    if kind == "max_utility":
        return net - delta / 2 * vol**2
    active = w - bench
    te = np.sqrt(max(active @ cov @ active, 0.0))
    if kind == "min_tracking_error":
        return te + amortised
    return (net - (mu @ bench + rf * (1 - bench.sum()))) / te


def reference(kind, mu, cov, spec):
    """Objective value from cvxpy (Clarabel), or None when cvxpy finds the problem infeasible."""
    import cvxpy as cp

    n = len(mu)
    vals, vecs = np.linalg.eigh(cov)
    F = np.sqrt(np.maximum(vals, 0))[:, None] * vecs.T
    w0, c, H, rf = spec["w0"], spec["costs"], spec["horizon"], spec["rf"]
    bench = spec["bench"]
    homogeneous = kind in ("max_sharpe", "max_information_ratio")
    w = cp.Variable(n)
    k = cp.Variable(nonneg=True) if homogeneous else 1.0
    trade = cp.abs(w - k * w0)
    cons = [w >= spec["lower"] * k, w <= spec["upper"] * k,
            cp.sum(w) >= spec["invested"][0] * k, cp.sum(w) <= spec["invested"][1] * k]  # fmt: skip
    if spec["G"] is not None:
        cons.append(spec["G"] @ w <= spec["h"] * k)
    for i in spec["locked"]:
        cons.append(w[i] == k * w0[i])
    for i in spec["no_buy"]:
        cons.append(w[i] <= k * w0[i])
    for i in spec["no_sell"]:
        cons.append(w[i] >= k * w0[i])
    if spec["turnover"] is not None:
        cons.append(cp.sum(trade) / 2 <= spec["turnover"] * k)
    if spec["gross"] is not None:
        cons.append(cp.norm1(w) <= spec["gross"] * k)
    if spec["long"] is not None:
        cons.append(cp.sum(cp.pos(w)) <= spec["long"] * k)
    if spec["short"] is not None:
        cons.append(cp.sum(cp.neg(w)) <= spec["short"] * k)
    if spec["te"] is not None:
        cons.append(cp.norm(F @ (w - k * bench), 2) <= spec["te"] * k)
    if spec["vol"] is not None and kind != "target_volatility":
        cons.append(cp.norm(F @ w, 2) <= spec["vol"] * k)
    net = (mu - rf) @ w + rf * k - c @ trade / H
    amortised = c @ trade / H
    if kind == "max_sharpe":
        prob = cp.Problem(cp.Minimize(cp.sum_squares(F @ w)), cons + [net - rf * k >= 1])
    elif kind == "max_information_ratio":
        b_ret = (mu - rf) @ bench
        prob = cp.Problem(cp.Minimize(cp.sum_squares(F @ (w - k * bench))),
                          cons + [net - rf * k - b_ret * k >= 1])  # fmt: skip
    elif kind == "min_volatility":
        prob = cp.Problem(cp.Minimize(cp.norm(F @ w, 2) + amortised), cons)
    elif kind == "target_return":
        prob = cp.Problem(cp.Minimize(cp.norm(F @ w, 2) + amortised),
                          cons + [net >= spec["target_return"]])  # fmt: skip
    elif kind == "target_volatility":
        prob = cp.Problem(cp.Maximize(net), cons + [cp.norm(F @ w, 2) <= spec["target_vol"]])
    elif kind == "max_utility":
        prob = cp.Problem(cp.Maximize(net - spec["delta"] / 2 * cp.sum_squares(F @ w)), cons)
    else:
        prob = cp.Problem(cp.Minimize(cp.norm(F @ (w - bench), 2) + amortised), cons)
    tight = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
    for opts in (tight, {}):
        try:
            prob.solve(solver=cp.CLARABEL, **opts)
        except cp.error.SolverError:
            continue
        if prob.status in ("infeasible", "infeasible_inaccurate"):
            return None
        if prob.status == "optimal":
            break
    if prob.status not in ("optimal", "optimal_inaccurate"):
        return "failed"
    x = w.value / (k.value if homogeneous else 1.0)
    return objective_value(kind, x, mu, cov, w0, c, H, rf, bench, spec["delta"])


def random_problem(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8))
    kind = KINDS[seed % len(KINDS)]
    a = rng.normal(size=(n, n + 3))
    cov = a @ a.T / (n + 3) * 0.04 + np.diag(rng.uniform(0.004, 0.03, n))
    mu = rng.uniform(0.0, 0.18, n)
    long_short = rng.random() < 0.35
    lower = np.full(n, -0.3 if long_short else 0.0)
    upper = np.full(n, max(0.6, 1.6 / n))
    w0 = rng.dirichlet(np.ones(n))
    if long_short:
        w0 = w0 * 1.2 - 0.2 / n
    w0 = np.clip(w0, lower, upper)
    spec = {
        "w0": w0 if rng.random() < 0.8 else np.zeros(n),
        "costs": rng.uniform(0, 0.01, n) if rng.random() < 0.5 else np.full(n, 0.002),
        "horizon": float(rng.choice([0.5, 1.0, 2.0])),
        "rf": float(mu.min() - 0.01) if kind == "max_sharpe" else float(rng.uniform(0, 0.03)),
        "lower": lower, "upper": upper, "G": None, "h": None,
        "locked": [], "no_buy": [], "no_sell": [],
        "turnover": float(rng.uniform(0.05, 0.5)) if rng.random() < 0.6 else None,
        "gross": float(rng.uniform(1.1, 1.8)) if long_short and rng.random() < 0.7 else None,
        "long": float(rng.uniform(1.05, 1.5)) if long_short and rng.random() < 0.3 else None,
        "short": float(rng.uniform(0.05, 0.5)) if long_short and rng.random() < 0.3 else None,
        "te": None, "vol": None, "bench": np.full(n, 1.0 / n),
        "invested": (1.0, 1.0), "delta": float(rng.uniform(1, 8)),
        "target_return": float(rng.uniform(0.02, 0.14)),
        "target_vol": float(rng.uniform(0.08, 0.25)),
    }  # fmt: skip
    if not spec["w0"].any():
        spec["costs"] = spec["costs"] * 0.1
    if rng.random() < 0.3:
        spec["locked"] = [int(rng.integers(n))]
    if rng.random() < 0.2:
        spec["no_buy"] = [int(rng.integers(n))]
    if rng.random() < 0.2:
        spec["no_sell"] = [int(rng.integers(n))]
    if rng.random() < 0.3 or kind in ("min_tracking_error", "max_information_ratio"):
        spec["bench"] = rng.dirichlet(np.ones(n))
    if rng.random() < 0.3:
        spec["te"] = float(rng.uniform(0.01, 0.12))
    if rng.random() < 0.2:
        spec["vol"] = float(rng.uniform(0.1, 0.3))
    if rng.random() < 0.2:
        spec["invested"] = (float(rng.uniform(0.7, 1.0)), 1.0)
    if rng.random() < 0.25:
        sectors = np.arange(n) % 2
        spec["G"] = (sectors == 0).astype(float)[None, :]
        spec["h"] = np.array([0.55])
    return kind, mu, cov, spec


def ours(kind, mu, cov, spec):
    n = len(mu)
    tickers = [f"T{i}" for i in range(n)]
    name = dict(enumerate(tickers))
    cons = Constraints(
        long_only=bool(spec["lower"].min() >= 0),
        weight_bounds=(float(spec["lower"][0]), float(spec["upper"][0])),
        sectors={t: ("S0" if i % 2 == 0 else "S1") for i, t in enumerate(tickers)},
        sector_bounds={"S0": (-10.0, 0.55)} if spec["G"] is not None else {},
        current_weights=pd.Series(spec["w0"], index=tickers) if spec["w0"].any() else None,
        max_turnover=spec["turnover"],
        locked=[name[i] for i in spec["locked"]],
        no_buy=[name[i] for i in spec["no_buy"]],
        no_sell=[name[i] for i in spec["no_sell"]],
        max_gross_exposure=spec["gross"],
        max_long=spec["long"],
        max_short=spec["short"],
        max_tracking_error=spec["te"],
        max_volatility=spec["vol"],
        cash_bounds=(1.0 - spec["invested"][1], 1.0 - spec["invested"][0]),
    )
    objective = Objective(
        kind, target_return=spec["target_return"], target_volatility=spec["target_vol"],
        risk_aversion=spec["delta"], risk_free_rate=spec["rf"],
        transaction_costs=pd.Series(spec["costs"], index=tickers), cost_horizon=spec["horizon"],
        benchmark_weights=pd.Series(spec["bench"], index=tickers),
    )  # fmt: skip
    frame = pd.DataFrame(cov, index=tickers, columns=tickers)
    result = optimize(pd.Series(mu, index=tickers), frame, objective, cons)
    w = result.weights.to_numpy()
    # Our proposal satisfies the limits it was given.
    assert w @ np.ones(n) <= spec["invested"][1] + 1e-9
    assert w @ np.ones(n) >= spec["invested"][0] - 1e-9
    assert (w >= spec["lower"] - 1e-9).all() and (w <= spec["upper"] + 1e-9).all()
    if spec["turnover"] is not None:
        assert result.turnover <= spec["turnover"] + 1e-8
    for i in spec["locked"]:
        assert abs(w[i] - spec["w0"][i]) <= 1e-9
    if spec["te"] is not None:
        assert result.tracking_error <= spec["te"] + 1e-8
    if spec["gross"] is not None:
        assert np.abs(w).sum() <= spec["gross"] + 1e-8
    return objective_value(kind, w, mu, cov, spec["w0"], spec["costs"], spec["horizon"],
                           spec["rf"], spec["bench"], spec["delta"])  # fmt: skip


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_book_engine_matches_cvxpy_on_random_problems(chunk):
    """500 seeded problems (50 per chunk), every objective and every new limit at random."""
    failures_one_side, compared, worst = [], 0, 0.0
    per_chunk = N_PROBLEMS // CHUNKS
    for seed in range(chunk * per_chunk, (chunk + 1) * per_chunk):
        kind, mu, cov, spec = random_problem(seed)
        ref = reference(kind, mu, cov, spec)
        if ref == "failed":  # the reference itself could not solve it: nothing to compare
            continue
        try:
            got = ours(kind, mu, cov, spec)
        except InfeasibleConstraintsError:
            if ref is not None:
                failures_one_side.append((seed, kind, "ours infeasible", ref))
            continue
        if ref is None:
            failures_one_side.append((seed, kind, "cvxpy infeasible", got))
            continue
        compared += 1
        rel = abs(got - ref) / max(1.0, abs(ref))
        worst = max(worst, rel)
        assert rel < 1e-7, (seed, kind, got, ref)
        # Never worse than the reference beyond its own tolerance (ours is the optimum).
    assert not failures_one_side, failures_one_side
    assert compared >= per_chunk * 0.6


@pytest.mark.parametrize("kind", KINDS)
def test_book_engine_matches_cvxpy_on_the_sample(sample_estimates, kind):
    """Bundled sample, every objective with holdings, costs, budget, locks, gross and TE cap."""
    mu_s, cov_s = sample_estimates
    mu, cov = mu_s.to_numpy(), cov_s.to_numpy()
    n = len(mu)
    rng = np.random.default_rng(7)
    spec = {
        "w0": np.clip(rng.dirichlet(np.ones(n)) * 1.3 - 0.3 / n, -0.1, 0.3),
        "costs": rng.uniform(0.0005, 0.003, n), "horizon": 1.0,
        "rf": 0.02, "lower": np.full(n, -0.1), "upper": np.full(n, 0.3), "G": None, "h": None,
        "locked": [0, 5], "no_buy": [], "no_sell": [], "turnover": 0.3, "gross": 1.4,
        "long": None, "short": None, "te": 0.08, "vol": None,
        "bench": np.full(n, 1.0 / n), "invested": (1.0, 1.0), "delta": 3.0,
        "target_return": 0.12, "target_vol": 0.25,
    }  # fmt: skip
    spec["w0"] = spec["w0"] / spec["w0"].sum()
    ref = reference(kind, mu, cov, spec)
    assert ref not in (None, "failed")
    got = ours(kind, mu, cov, spec)
    assert abs(got - ref) / max(1.0, abs(ref)) < 1e-7


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [11, 12])
def test_book_engine_matches_cvxpy_on_larger_books(kind, seed):
    """80 assets: the engine's working set of assets (the others priced by KKT) is exact too."""
    rng = np.random.default_rng(seed)
    n, k = 80, 4
    beta = rng.normal(0, 1, (n, k))
    cov = beta @ np.diag([0.03, 0.01, 0.01, 0.005]) @ beta.T + np.diag(rng.uniform(0.02, 0.2, n))
    mu = 0.03 + beta @ np.array([0.03, 0.01, 0.0, -0.01]) + rng.normal(0, 0.03, n)
    long_short = seed == 12
    lower = np.full(n, -0.03 if long_short else 0.0)
    upper = np.full(n, 0.05)
    w0 = np.full(n, 1.0 / n)
    spec = {
        "w0": w0, "costs": rng.uniform(0.0005, 0.003, n), "horizon": 1.0,
        "rf": float(np.quantile(mu, 0.2)), "lower": lower, "upper": upper, "G": None, "h": None,
        "locked": [0, 1], "no_buy": [2], "no_sell": [3], "turnover": 0.15,
        "gross": 1.3 if long_short else None, "long": None,
        "short": 0.12 if long_short else None, "te": 0.05 if seed == 11 else None, "vol": None,
        "bench": rng.dirichlet(np.ones(n)), "invested": (1.0, 1.0), "delta": 4.0,
        "target_return": float(np.quantile(mu, 0.6)), "target_vol": 0.3,
    }  # fmt: skip
    ref = reference(kind, mu, cov, spec)
    try:
        got = ours(kind, mu, cov, spec)
    except InfeasibleConstraintsError:
        assert ref is None
        return
    assert ref not in (None, "failed")
    assert abs(got - ref) / max(1.0, abs(ref)) < 1e-7
