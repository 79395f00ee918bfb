"""Optimisation from the book held: limits hold, cost limits, conflicts named, the singular case.

References nobody here wrote: cvxpy (Clarabel) on an independent formulation in
``test_rebalancing_cvxpy.py``; here the properties the issue states and closed cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.constraints import Constraints
from core.exceptions import BallastError, InfeasibleConstraintsError
from core.optimization import OBJECTIVES, Objective, optimize

KINDS = ["max_sharpe", "min_volatility", "target_return", "target_volatility", "max_utility"]


def _objective(kind, **kw):
    return Objective(kind, target_return=0.12, target_volatility=0.2, risk_aversion=3.0,
                     risk_free_rate=0.02, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def book(sample_estimates):
    mu, cov = sample_estimates
    w0 = pd.Series(1 / len(mu), index=mu.index)
    return mu, cov, w0


@pytest.mark.parametrize("kind", KINDS)
def test_turnover_budget_and_locks_hold(book, kind):
    mu, cov, w0 = book
    locked = list(mu.index[:3])
    cons = Constraints(current_weights=w0, max_turnover=0.1, locked=locked, weight_bounds=(0, 0.4))
    result = optimize(mu, cov, _objective(kind, transaction_costs=0.001), cons)
    assert result.turnover <= 0.1 + 1e-9
    assert np.abs(result.weights[locked] - w0[locked]).max() <= 1e-9
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-9)
    assert result.current_weights is not None
    trades = (result.weights - w0).abs()
    assert result.number_of_trades == int((trades > 1e-6).sum())
    assert result.costs == pytest.approx(0.001 * trades.sum(), rel=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_prohibitive_costs_keep_the_book(book, kind):
    mu, cov, w0 = book
    objective = _objective(kind, transaction_costs=10.0)
    if kind == "target_volatility":  # the book itself must be within the target
        book_vol = float(np.sqrt(w0 @ cov @ w0))
        objective = Objective(kind, target_volatility=book_vol + 0.02, transaction_costs=10.0)
    result = optimize(mu, cov, objective, Constraints(current_weights=w0))
    assert np.abs(result.weights - w0).max() < 1e-7
    assert result.number_of_trades == 0


@pytest.mark.parametrize("kind", KINDS)
def test_zero_costs_without_budget_give_the_from_cash_optimum(book, kind):
    """Through the conic engine (a gross limit that cannot bind forces it) and from cash."""
    mu, cov, w0 = book
    objective = _objective(kind)
    from_cash = optimize(mu, cov, objective)
    held = optimize(mu, cov, objective, Constraints(current_weights=w0, max_gross_exposure=5.0))
    assert np.abs(held.weights - from_cash.weights).max() < 1e-5
    assert held.turnover == pytest.approx((from_cash.weights - w0).abs().sum() / 2, abs=1e-5)


def test_holdings_with_unknown_tickers_are_named(book):
    mu, cov, w0 = book
    bad = pd.concat([w0 * 0.9, pd.Series({"NOPE": 0.05, "ZZZ": 0.05})])
    with pytest.raises(InfeasibleConstraintsError, match="NOPE, ZZZ"):
        optimize(mu, cov, "max_sharpe", Constraints(current_weights=bad))


def test_turnover_budget_smaller_than_the_locks_force(book):
    mu, cov, w0 = book
    # The book holds 5 % of each; a 2 % maximum on five assets forces selling 3 % of each.
    locked = list(mu.index[:5])
    cons = Constraints(current_weights=w0, max_turnover=0.05, locked=locked,
                       asset_bounds={t: (0.0, 0.02) for t in mu.index[5:10]})  # fmt: skip
    with pytest.raises(InfeasibleConstraintsError, match="turnover budget of 5.0%.*15.0%"):
        optimize(mu, cov, "min_volatility", cons)


def test_tracking_error_cap_below_the_minimum_is_named(book):
    mu, cov, w0 = book
    bench = pd.Series({"AAPL": 0.5, "XOM": 0.5})
    cons = Constraints(current_weights=w0, max_turnover=0.05, max_tracking_error=0.01)
    with pytest.raises(InfeasibleConstraintsError, match="tracking-error cap of 1.00%"):
        optimize(mu, cov, Objective("max_sharpe", benchmark_weights=bench), cons)


def test_benchmark_objectives_and_index_not_held(sample_window):
    """Index in the joint estimate: TE cap binds, the index is not held, min TE near zero."""
    from core.estimators import covariance, expected_returns

    prices = sample_window.prices
    index = (prices.pct_change().mean(axis=1).add(1).cumprod() * 100).rename("INDEX")
    joint = pd.concat([prices, index], axis=1).dropna()
    mu, cov = expected_returns(joint), covariance(joint, "sample")
    bench = pd.Series({"INDEX": 1.0})
    te = optimize(mu, cov, Objective("min_tracking_error", benchmark_weights=bench))
    assert "INDEX" not in te.weights.index
    assert te.tracking_error < 0.01  # an equal-weight index is nearly replicable
    capped = optimize(mu, cov, Objective("max_sharpe", benchmark_weights=bench),
                      Constraints(max_tracking_error=0.03))  # fmt: skip
    assert capped.tracking_error <= 0.03 + 1e-8
    assert "tracking error at most 3.0%" in capped.shadow_prices.index
    ir = optimize(mu, cov, Objective("max_information_ratio", benchmark_weights=bench),
                  Constraints(max_tracking_error=0.03))  # fmt: skip
    assert ir.tracking_error <= 0.03 + 1e-8
    assert set(OBJECTIVES) >= {"min_tracking_error", "max_information_ratio"}


def test_gross_and_side_exposure_limits(book):
    mu, cov, w0 = book
    cons = Constraints(long_only=False, weight_bounds=(-0.2, 0.3), max_gross_exposure=1.6,
                       max_short=0.25)  # fmt: skip
    result = optimize(mu, cov, _objective("max_sharpe"), cons)
    w = result.weights
    assert w.abs().sum() <= 1.6 + 1e-8
    assert -w[w < 0].sum() <= 0.25 + 1e-8


def test_cash_bounds(book):
    mu, cov, w0 = book
    result = optimize(mu, cov, "min_volatility", Constraints(cash_bounds=(0.0, 0.3)))
    assert result.cash_weight == pytest.approx(0.3, abs=1e-8)
    assert result.weights.sum() == pytest.approx(0.7, abs=1e-8)


def test_singular_covariance_riskless_portfolio_beats_the_risk_free_rate():
    """Issue inputs: [0.6445, 0.3555, 0] has zero variance and returns 8.26 % > 5 %."""
    tickers = ["A", "B", "C"]
    mu = pd.Series([0.10833222957500482, 0.03592223362056278, 0.044724177688973514],
                   index=tickers)  # fmt: skip
    cov = pd.DataFrame(
        [[0.018231649684789426, -0.033057844518127086, 0.022078591255295155],
         [-0.033057844518127086, 0.05994087770874624, -0.04003316482686451],
         [0.022078591255295155, -0.04003316482686451, 0.026737250893158863]],
        index=tickers, columns=tickers,
    )  # fmt: skip
    riskless = np.array([0.6445, 0.3555, 0.0])
    assert riskless @ cov.to_numpy() @ riskless < 1e-9 and riskless @ mu > 0.08
    with pytest.raises(InfeasibleConstraintsError, match="unbounded"):
        optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.05))
    with pytest.raises(InfeasibleConstraintsError, match="unbounded"):
        optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.05, transaction_costs=1e-6))


def test_bad_new_inputs_raise_ballast_errors(book):
    mu, cov, w0 = book
    with pytest.raises(BallastError):
        Constraints(max_turnover=-0.1)
    with pytest.raises(BallastError):
        Constraints(cash_bounds=(0.2, 0.1))
    with pytest.raises(BallastError):
        Objective("max_sharpe", transaction_costs=-0.001)
    with pytest.raises(BallastError):
        Objective("max_sharpe", cost_horizon=0)
    with pytest.raises(BallastError):
        Objective("min_tracking_error")
    with pytest.raises(BallastError, match="locked list names XYZ"):
        optimize(mu, cov, "max_sharpe", Constraints(current_weights=w0, locked=["XYZ"]))


def _random_book(n, seed, long_short=False):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n + 2))
    cov_np = a @ a.T / (n + 2) * 0.05 + np.diag(rng.uniform(0.005, 0.03, n))
    tickers = [f"T{i}" for i in range(n)]
    mu = pd.Series(rng.uniform(0.0, 0.2, n), index=tickers)
    cov = pd.DataFrame(cov_np, index=tickers, columns=tickers)
    upper = max(0.5, 1.5 / n)
    w0 = np.minimum(rng.dirichlet(np.ones(n)), upper)
    w0 = w0 / w0.sum()
    if w0.max() > upper:
        w0 = np.full(n, 1.0 / n)
    return mu, cov, pd.Series(w0, index=tickers), upper, rng


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 10),
    seed=st.integers(0, 100_000),
    kind=st.sampled_from(KINDS),
    budget=st.floats(0.0, 0.6),
    n_locked=st.integers(0, 2),
    cost=st.floats(0.0, 0.02),
)
def test_turnover_within_budget_and_locks_unchanged(n, seed, kind, budget, n_locked, cost):
    mu, cov, w0, upper, rng = _random_book(n, seed)
    locked = list(rng.choice(mu.index, size=n_locked, replace=False))
    cons = Constraints(weight_bounds=(0, upper), current_weights=w0, max_turnover=budget,
                       locked=locked)  # fmt: skip
    objective = Objective(kind, target_return=float(mu.median()), target_volatility=0.3,
                          risk_free_rate=float(mu.min()) - 0.01,
                          transaction_costs=cost)  # fmt: skip
    try:
        result = optimize(mu, cov, objective, cons)
    except InfeasibleConstraintsError as error:  # a target out of reach within the budget
        assert "target" in str(error)
        return
    assert result.turnover <= budget + 1e-8
    assert np.max(np.abs((result.weights[locked] - w0[locked]).to_numpy()), initial=0.0) <= 1e-9
    assert (result.weights >= -1e-9).all() and (result.weights <= upper + 1e-9).all()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 10), seed=st.integers(0, 100_000), kind=st.sampled_from(KINDS))
def test_the_two_cost_limits(n, seed, kind):
    """Prohibitive costs keep the book; zero costs without a budget give the from-cash optimum."""
    mu, cov, w0, upper, _ = _random_book(n, seed)
    book_vol = float(np.sqrt(w0 @ cov @ w0))
    objective = dict(target_return=float(w0 @ mu) - 0.01, target_volatility=book_vol + 0.01,
                     risk_free_rate=float(mu.min()) - 0.01)  # fmt: skip
    cons = Constraints(weight_bounds=(0, upper), current_weights=w0)
    kept = optimize(mu, cov, Objective(kind, transaction_costs=50.0, **objective), cons)
    assert np.abs(kept.weights - w0).max() < 1e-7
    free = optimize(mu, cov, Objective(kind, **objective),
                    Constraints(weight_bounds=(0, upper), current_weights=w0, max_long=5.0))
    from_cash = optimize(mu, cov, Objective(kind, **objective),
                         Constraints(weight_bounds=(0, upper)))
    value = {"max_sharpe": "sharpe_ratio", "min_volatility": "volatility",
             "target_return": "volatility", "target_volatility": "expected_return",
             "max_utility": "expected_return"}[kind]  # fmt: skip
    if kind == "max_utility":
        got = free.expected_return - free.volatility**2 / 2
        ref = from_cash.expected_return - from_cash.volatility**2 / 2
    else:
        got, ref = getattr(free, value), getattr(from_cash, value)
    assert got == pytest.approx(ref, rel=1e-7, abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(3, 10), seed=st.integers(0, 100_000), sectors=st.booleans())
def test_minimum_tracking_error_beats_random_feasible_portfolios(n, seed, sectors):
    from core.frontier import random_portfolios

    mu, cov, _, upper, rng = _random_book(n, seed)
    bench = pd.Series(rng.dirichlet(np.ones(n)), index=mu.index)
    cons = Constraints(weight_bounds=(0, upper))
    if sectors:
        cons = Constraints(weight_bounds=(0, upper),
                           sectors={t: "AB"[i % 2] for i, t in enumerate(mu.index)},
                           sector_bounds={"A": (0.0, 0.6)})  # fmt: skip
    best = optimize(mu, cov, Objective("min_tracking_error", benchmark_weights=bench), cons)
    W = random_portfolios(list(mu.index), cons, 500, seed=seed).to_numpy()
    active = W - bench.to_numpy()
    te = np.sqrt(np.einsum("ij,jk,ik->i", active, cov.to_numpy(), active))
    assert best.tracking_error <= te.min() + 1e-9


def _value(result, kind, mu, cov, w0, cost, rf=0.02, delta=3.0):
    w = result.weights.to_numpy()
    net = w @ mu.to_numpy() + rf * (1 - w.sum()) - cost * np.abs(w - w0.to_numpy()).sum()
    vol = np.sqrt(w @ cov.to_numpy() @ w)
    return {"max_sharpe": (net - rf) / vol if vol else np.nan,
            "max_utility": net - delta / 2 * vol**2,
            "target_volatility": net,
            "min_volatility": -(vol + cost * np.abs(w - w0.to_numpy()).sum())}[kind]  # fmt: skip


@pytest.mark.parametrize("kind", ["max_sharpe", "max_utility", "target_volatility",
                                  "min_volatility"])  # fmt: skip
def test_shadow_prices_match_finite_differences(book, kind):
    """Each binding limit's price against a re-solve with the limit relaxed by 0.01 pp."""
    mu, cov, w0 = book
    sectors = {t: ("Tech" if i < 6 else "Other") for i, t in enumerate(mu.index)}
    cost = 0.002
    base = dict(weight_bounds=(0, 0.12), current_weights=w0, max_turnover=0.15,
                sectors=sectors, sector_bounds={"Tech": (0.0, 0.3)})  # fmt: skip
    objective = Objective(kind, target_volatility=0.2, risk_aversion=3.0, risk_free_rate=0.02,
                          transaction_costs=cost)  # fmt: skip
    result = optimize(mu, cov, objective, Constraints(**base))
    f0 = _value(result, kind, mu, cov, w0, cost)
    step = 1e-4
    relaxed = {
        "turnover at most 15.0%": dict(base, max_turnover=0.15 + step),
        "sector Tech at most 30.0%": dict(base, sector_bounds={"Tech": (0.0, 0.3 + step)}),
    }
    checked = 0
    for name, kwargs in relaxed.items():
        if name not in result.shadow_prices.index:
            continue
        f1 = _value(optimize(mu, cov, objective, Constraints(**kwargs)), kind, mu, cov, w0, cost)
        fd = (f1 - f0) / step / 100  # per percentage point
        assert result.shadow_prices[name] == pytest.approx(fd, rel=2e-3, abs=1e-7), name
        checked += 1
    if kind == "target_volatility":
        f1 = _value(optimize(mu, cov, Objective(kind, target_volatility=0.2 + step,
                                                 risk_free_rate=0.02, transaction_costs=cost),
                             Constraints(**base)), kind, mu, cov, w0, cost)  # fmt: skip
        fd = (f1 - f0) / step / 100
        assert result.shadow_prices["volatility at most 20.0%"] == pytest.approx(fd, rel=2e-3)
        checked += 1
    assert checked >= 1
    assert (result.shadow_prices > 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_shadow_prices_of_both_engines_agree(sample, sample_estimates, kind):
    """From cash: KKT multipliers at the critical-line optimum against the conic engine's duals.

    A gross exposure limit that cannot bind sends the same problem to the conic engine.
    """
    mu, cov = sample_estimates
    objective = Objective(kind, target_return=0.2, target_volatility=0.22, risk_aversion=3.0,
                          risk_free_rate=0.02)  # fmt: skip
    base = dict(weight_bounds=(0, 0.15), sectors=dict(sample.sectors),
                sector_bounds={"Information Technology": (0, 0.2)})  # fmt: skip
    line = optimize(mu, cov, objective, Constraints(**base)).shadow_prices
    conic = optimize(mu, cov, objective, Constraints(**base, max_gross_exposure=5.0)).shadow_prices
    assert not line.empty
    both = pd.concat([line, conic], axis=1).fillna(0.0)
    assert (both.iloc[:, 0] - both.iloc[:, 1]).abs().max() < 1e-7


def test_active_frontier(sample_estimates):
    """Increasing and concave; no point beats the maximum information ratio, which lies on it."""
    from core.optimization import active_frontier

    mu, cov = sample_estimates
    bench = pd.Series(1 / len(mu), index=mu.index)
    cons = Constraints(weight_bounds=(0, 0.2))
    f = active_frontier(mu, cov, bench, cons, n_points=12)
    assert f["tracking_error"].iloc[0] < 1e-8  # the benchmark itself is feasible
    assert (np.diff(f["active_return"]) >= -1e-10).all()
    slopes = np.diff(f["active_return"]) / np.diff(f["tracking_error"])
    assert (np.diff(slopes) <= 1e-6).all()
    best = optimize(mu, cov, Objective("max_information_ratio", benchmark_weights=bench), cons)
    ir = (best.expected_return - float(mu @ bench)) / best.tracking_error
    assert f["information_ratio"].iloc[1:].max() <= ir + 1e-7
    assert f["information_ratio"].iloc[1] == pytest.approx(ir, rel=1e-6)


def test_turnover_budget_smaller_than_putting_the_cash_to_work(book):
    mu, cov, w0 = book
    cons = Constraints(current_weights=w0 * 0.8, max_turnover=0.05)
    with pytest.raises(InfeasibleConstraintsError, match="holds 20.0% cash.*at least 10.0%"):
        optimize(mu, cov, Objective("max_sharpe", transaction_costs=0.002), cons)
    allowed = optimize(mu, cov, Objective("max_sharpe", transaction_costs=0.002),
                       Constraints(current_weights=w0 * 0.8, max_turnover=0.05,
                                   cash_bounds=(0.0, 0.2)))  # fmt: skip
    assert allowed.turnover <= 0.05 + 1e-9 and allowed.cash_weight > 0
