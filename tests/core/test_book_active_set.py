"""The exact active-set engine for the book against cvxpy and against the conic engine.

Random books the active-set engine serves (linear limits: bounds, locks, no-buy and no-sell
lists, a sector row, cash bounds, a turnover budget, costs; maximum Sharpe ratio, maximum
information ratio, maximum utility). The reference is the independent cvxpy formulation of
``test_rebalancing_cvxpy.py``; the objective values agree to 1e-7 relative, the engine serves
nearly every problem itself (it declines only to hand a problem to the conic engine), and its
shadow prices agree with the conic engine's duals where the optimum is not degenerate.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core import book_active_set, rebalancing
from core.constraints import Constraints
from core.exceptions import InfeasibleConstraintsError, OptimizationError
from core.optimization import Objective, _book_problem
from tests.core.test_rebalancing_cvxpy import objective_value, reference

KINDS = ["max_sharpe", "max_information_ratio", "max_utility"]


def _problem(seed: int):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(3, 30))
    kind = KINDS[seed % 3]
    k = max(2, n // 4)
    beta = rng.normal(size=(n, k)) * 0.15
    cov = beta @ beta.T + np.diag(rng.uniform(0.01, 0.09, n))
    mu = rng.uniform(0.0, 0.15, n)
    long_short = rng.random() < 0.3
    lo = -0.2 if long_short else 0.0
    hi = max(0.3, 2.0 / n)
    invested = (float(rng.uniform(0.8, 1.0)), 1.0) if rng.random() < 0.2 else (1.0, 1.0)
    w0 = rng.dirichlet(np.ones(n)) * invested[1]
    if long_short:
        w0 = w0 * 1.3 - 0.3 / n
    for _ in range(50):  # within the bounds, fully invested
        w0 = np.clip(w0, lo, hi)
        w0 = w0 + (invested[1] - w0.sum()) / n
    w0 = np.clip(w0, lo, hi)
    w0[-1] += invested[1] - w0.sum()
    spec = {
        "w0": w0, "costs": rng.uniform(0, 0.01, n) * (rng.random() < 0.8),
        "horizon": float(rng.choice([0.5, 1.0, 2.0])),
        "rf": float(mu.min() - 0.005), "lower": np.full(n, lo), "upper": np.full(n, hi),
        "G": None, "h": None, "locked": [], "no_buy": [], "no_sell": [],
        "turnover": float(rng.uniform(0.02, 0.4)) if rng.random() < 0.7 else None,
        "gross": None, "long": None, "short": None, "te": None, "vol": None,
        "bench": rng.dirichlet(np.ones(n)), "invested": invested,
        "delta": float(rng.uniform(1, 8)), "target_return": 0.1, "target_vol": 0.2,
    }  # fmt: skip
    if rng.random() < 0.3:
        spec["locked"] = [int(rng.integers(n))]
    if rng.random() < 0.2:
        spec["no_buy"] = [int(rng.integers(n))]
    if rng.random() < 0.2:
        spec["no_sell"] = [int(rng.integers(n))]
    if rng.random() < 0.3:
        in_sector = (np.arange(n) % 2 == 0).astype(float)
        spec["G"] = in_sector[None, :]
        spec["h"] = np.array([max(float(in_sector @ w0), 0.3 + 0.2 * rng.random())])
    return kind, mu, cov, spec


def _book(kind, mu, cov, spec):
    n = len(mu)
    tickers = [f"T{i}" for i in range(n)]
    cons = Constraints(
        long_only=bool(spec["lower"].min() >= 0),
        weight_bounds=(float(spec["lower"][0]), float(spec["upper"][0])),
        sectors={t: ("S0" if i % 2 == 0 else "S1") for i, t in enumerate(tickers)},
        sector_bounds={"S0": (-10.0, float(spec["h"][0]))} if spec["G"] is not None else {},
        current_weights=pd.Series(spec["w0"], index=tickers), max_turnover=spec["turnover"],
        locked=[tickers[i] for i in spec["locked"]],
        no_buy=[tickers[i] for i in spec["no_buy"]],
        no_sell=[tickers[i] for i in spec["no_sell"]],
        cash_bounds=(1.0 - spec["invested"][1], 1.0 - spec["invested"][0]),
    )  # fmt: skip
    objective = Objective(kind, risk_aversion=spec["delta"], risk_free_rate=spec["rf"],
                          transaction_costs=pd.Series(spec["costs"], index=tickers),
                          cost_horizon=spec["horizon"],
                          benchmark_weights=pd.Series(spec["bench"], index=tickers))  # fmt: skip
    bench = spec["bench"] if kind == "max_information_ratio" else None
    return _book_problem(mu, (cov + cov.T) / 2, cons, objective, cons.linear_form(tickers),
                         np.ones(n, dtype=bool), cons.holdings(tickers), spec["costs"], bench,
                         tickers)  # fmt: skip


def _conic(problem, kind, delta):
    """The conic engine alone (the active-set engine switched off for one call)."""
    saved = book_active_set.solve
    book_active_set.solve = lambda *args, **kwargs: None
    try:
        return rebalancing.solve_book(problem, kind, delta=delta)
    finally:
        book_active_set.solve = saved


@pytest.mark.parametrize("chunk", range(3))
def test_active_set_engine_matches_cvxpy_and_the_conic_engine(chunk):
    served = compared = 0
    for seed in range(chunk * 50, (chunk + 1) * 50):
        kind, mu, cov, spec = _problem(seed)
        problem = _book(kind, mu, cov, spec)
        assert book_active_set.applies(problem, kind), seed
        fast = book_active_set.solve(problem, kind, delta=spec["delta"])
        ref = reference(kind, mu, cov, spec)
        if ref == "failed":
            continue
        if fast is None:
            continue
        served += 1
        w = fast[0]
        got = objective_value(kind, w, mu, cov, spec["w0"], spec["costs"], spec["horizon"],
                              spec["rf"], spec["bench"], spec["delta"])  # fmt: skip
        assert ref is not None, (seed, "cvxpy infeasible")
        assert abs(got - ref) / max(1.0, abs(ref)) < 1e-7, (seed, kind, got, ref)
        # Limits hold exactly (no interior-point slack).
        assert w.sum() <= spec["invested"][1] + 1e-12 and w.sum() >= spec["invested"][0] - 1e-12
        assert (w >= spec["lower"] - 1e-12).all() and (w <= spec["upper"] + 1e-12).all()
        if spec["turnover"] is not None:
            assert np.abs(w - spec["w0"]).sum() / 2 <= spec["turnover"] + 1e-12
        for i in spec["locked"]:
            assert w[i] == spec["w0"][i]
        try:
            conic = _conic(problem, kind, spec["delta"])
        except (InfeasibleConstraintsError, OptimizationError):
            continue  # the interior point stalls now and then (InsufficientProgress)
        compared += 1
        # Never worse than the interior point; prices agree where both are well defined.
        assert (got - conic.value) >= -1e-8 * max(1.0, abs(conic.value)), seed
    assert served >= 45, served
    assert compared >= 40, compared


def test_shadow_prices_agree_with_the_conic_engine(sample_estimates):
    """Turnover budget, sector cap and bounds binding: the KKT multipliers equal the duals."""
    mu_s, cov_s = sample_estimates
    tickers = list(mu_s.index)
    n = len(tickers)
    w0 = pd.Series(1 / n, index=tickers)
    sectors = {t: ("Tech" if i < 6 else "Other") for i, t in enumerate(tickers)}
    cons = Constraints(weight_bounds=(0, 0.12), current_weights=w0, max_turnover=0.15,
                       sectors=sectors, sector_bounds={"Tech": (0.0, 0.3)})  # fmt: skip
    for kind in ("max_sharpe", "max_utility"):
        objective = Objective(kind, risk_aversion=3.0, risk_free_rate=0.02,
                              transaction_costs=0.002)  # fmt: skip
        problem = _book_problem(mu_s.to_numpy(), cov_s.to_numpy(), cons, objective,
                                cons.linear_form(tickers), np.ones(n, dtype=bool),
                                cons.holdings(tickers), np.full(n, 0.002), None,
                                tickers)  # fmt: skip
        fast = book_active_set.solve(problem, kind, delta=3.0)
        assert fast is not None
        conic = _conic(problem, kind, 3.0)
        prices = pd.concat([pd.Series(fast[1]), pd.Series(conic.shadow_prices)], axis=1)
        prices = prices.fillna(0.0)
        assert "turnover at most 15.0%" in fast[1]
        assert (prices.iloc[:, 0] - prices.iloc[:, 1]).abs().max() < 1e-6, prices
        assert np.abs(fast[0] - conic.weights).max() < 1e-6


def test_declines_what_it_does_not_serve(sample_estimates):
    """Caps and exposure limits, and a book outside its limits, go to the conic engine."""
    mu_s, cov_s = sample_estimates
    tickers = list(mu_s.index)
    n = len(tickers)
    w0 = pd.Series(1 / n, index=tickers)
    cons = Constraints(current_weights=w0, max_turnover=0.1)
    objective = Objective("max_sharpe", risk_free_rate=0.02, transaction_costs=0.001)
    problem = _book_problem(mu_s.to_numpy(), cov_s.to_numpy(), cons, objective,
                            cons.linear_form(tickers), np.ones(n, dtype=bool),
                            cons.holdings(tickers), np.full(n, 0.001), None, tickers)  # fmt: skip
    assert book_active_set.applies(problem, "max_sharpe")
    assert not book_active_set.applies(problem, "min_volatility")
    for change in (dict(max_volatility=0.2), dict(max_gross=1.5),
                   dict(w0=problem.w0 * 0.9), dict(upper=np.full(n, 0.04))):  # fmt: skip
        assert not book_active_set.applies(dataclasses.replace(problem, **change), "max_sharpe")


def test_numba_is_loaded_only_when_the_engine_runs():
    """Importing the optimisers does not import numba (the dashboard's start stays fast)."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, core.optimization, core.rebalancing, core.book_active_set as b\n"
        "assert 'numba' not in sys.modules, 'numba imported at start'\n"
        "b.warm_up()\n"
        "assert 'numba' in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_one_compiled_signature_per_kernel(sample_estimates):
    """Read-only and non-contiguous inputs are copied once, so no kernel compiles twice."""
    from core import _book_kernels

    mu_s, cov_s = sample_estimates
    tickers = list(mu_s.index)
    n = len(tickers)
    cov = np.asfortranarray(cov_s.to_numpy())
    cov.flags.writeable = False
    cons = Constraints(current_weights=pd.Series(1 / n, index=tickers), max_turnover=0.1)
    objective = Objective("max_sharpe", risk_free_rate=0.02, transaction_costs=0.001)
    problem = _book_problem(mu_s.to_numpy(), cov, cons, objective, cons.linear_form(tickers),
                            np.ones(n, dtype=bool), cons.holdings(tickers), np.full(n, 0.001),
                            None, tickers)  # fmt: skip
    problem = dataclasses.replace(problem, cov=cov)
    book_active_set.warm_up()
    assert book_active_set.solve(problem, "max_sharpe") is not None
    for name in dir(_book_kernels):
        kernel = getattr(_book_kernels, name)
        if hasattr(kernel, "signatures"):
            assert len(kernel.signatures) <= 1, (name, kernel.signatures)
