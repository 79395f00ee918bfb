"""Optimiser: closed forms, agreement with PyPortfolioOpt on the sample, properties, conflicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypfopt import EfficientFrontier

from core.constraints import Constraints
from core.exceptions import EstimationError, InfeasibleConstraintsError
from core.optimization import BENCHMARK_OBJECTIVES, OBJECTIVES, Objective, optimize


def _two_assets(s1=0.2, s2=0.3, rho=0.25, m1=0.06, m2=0.09):
    cov = pd.DataFrame(
        [[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]], index=["A", "B"], columns=["A", "B"]
    )
    return pd.Series([m1, m2], index=["A", "B"]), cov


def test_two_asset_minimum_variance_closed_form():
    s1, s2, rho = 0.2, 0.3, 0.25
    mu, cov = _two_assets(s1, s2, rho)
    w1 = (s2**2 - rho * s1 * s2) / (s1**2 + s2**2 - 2 * rho * s1 * s2)
    result = optimize(mu, cov, "min_volatility")
    assert result.weights["A"] == pytest.approx(w1, abs=1e-7)
    var = w1**2 * s1**2 + (1 - w1) ** 2 * s2**2 + 2 * w1 * (1 - w1) * rho * s1 * s2
    assert result.volatility == pytest.approx(np.sqrt(var), abs=1e-8)


def test_unconstrained_tangency_closed_form(sample_estimates):
    """With shorting and no bounds, w is proportional to Sigma^-1 (mu - r_f)."""
    mu, cov = sample_estimates
    rf = 0.02
    raw = np.linalg.solve(cov.to_numpy(), mu.to_numpy() - rf)
    expected = raw / raw.sum()
    cons = Constraints(long_only=False, weight_bounds=(-10.0, 10.0))
    result = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=rf), cons)
    np.testing.assert_allclose(result.weights.to_numpy(), expected, atol=1e-6)


def test_max_sharpe_matches_independent_solves_on_sample(sample_estimates):
    """Long-only tangency on the sample against two independent references.

    1. The exact solution: on the support S that PyPortfolioOpt's (independent) solve picks, the
       tangency is w_S proportional to Sigma_SS^-1 (mu_S - r_f) (Merton 1972), and the KKT
       conditions must hold for the assets left out. Agreement to 1e-6 in weights.
    2. PyPortfolioOpt itself (Clarabel at its default tolerances) to 1e-5.
    """
    mu, cov = sample_estimates
    rf = 0.02
    ef = EfficientFrontier(mu, cov, weight_bounds=(0, 1), solver="CLARABEL")
    ef.max_sharpe(risk_free_rate=rf)
    reference = pd.Series(ef.weights, index=mu.index)
    support = reference.index[reference > 1e-4]
    sigma, excess = cov.to_numpy(), (mu - rf).to_numpy()
    idx = [mu.index.get_loc(t) for t in support]
    w_s = np.linalg.solve(sigma[np.ix_(idx, idx)], excess[idx])
    exact = pd.Series(0.0, index=mu.index)
    exact[support] = w_s / w_s.sum()
    # KKT: with lambda = (mu - rf)'w / w'Sigma w, assets out of the support have
    # lambda (Sigma w)_i >= mu_i - rf (no gain from adding them).
    w = exact.to_numpy()
    lam = excess @ w / (w @ sigma @ w)
    out = [i for i in range(len(w)) if i not in idx]
    assert np.all(lam * (sigma @ w)[out] >= excess[out] - 1e-10)
    result = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=rf))
    assert (result.weights - exact).abs().max() < 1e-6
    assert (result.weights - reference).abs().max() < 1e-5


@pytest.mark.parametrize("target", [0.12, 0.18, 0.25])
def test_target_return_matches_pypfopt(sample_estimates, target):
    mu, cov = sample_estimates
    ef = EfficientFrontier(mu, cov, weight_bounds=(0, 0.3), solver="CLARABEL")
    ef.efficient_return(target)
    _, vol, _ = ef.portfolio_performance()
    result = optimize(mu, cov, Objective("target_return", target_return=target),
                      Constraints(weight_bounds=(0, 0.3)))  # fmt: skip
    assert result.volatility == pytest.approx(vol, abs=1e-6)
    assert result.expected_return >= target - 1e-8


def test_target_volatility_and_utility_match_pypfopt(sample_estimates):
    mu, cov = sample_estimates
    ef = EfficientFrontier(mu, cov, solver="CLARABEL")
    ef.efficient_risk(0.2)
    ret, _, _ = ef.portfolio_performance()
    result = optimize(mu, cov, Objective("target_volatility", target_volatility=0.2))
    assert result.expected_return == pytest.approx(ret, abs=1e-6)
    assert result.volatility <= 0.2 + 1e-7
    ef = EfficientFrontier(mu, cov, solver="CLARABEL")
    ef.max_quadratic_utility(risk_aversion=3.0)
    reference = pd.Series(ef.weights, index=mu.index)
    result = optimize(mu, cov, Objective("max_utility", risk_aversion=3.0))
    assert (result.weights - reference).abs().max() < 1e-5


def test_sector_bounds_and_max_volatility_hold(sample, sample_estimates):
    mu, cov = sample_estimates
    sectors = dict(sample.sectors)
    cons = Constraints(
        weight_bounds=(0.0, 0.2),
        sectors=sectors,
        sector_bounds={"Health Care": (0.1, 0.25), "Energy": (0.15, 1.0)},
        max_volatility=0.2,
    )
    result = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.02), cons)
    by_sector = result.weights.groupby(pd.Series(sectors)).sum()
    assert 0.1 - 1e-7 <= by_sector["Health Care"] <= 0.25 + 1e-7
    assert by_sector["Energy"] >= 0.15 - 1e-7
    assert result.weights.max() <= 0.2 + 1e-9
    assert result.volatility <= 0.2 + 1e-6
    assert result.sector_weights.sum() == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 8),
    seed=st.integers(0, 10_000),
    upper=st.floats(0.3, 1.0),
    kind=st.sampled_from(["max_sharpe", "min_volatility", "max_utility"]),
)
def test_weights_sum_to_one_within_bounds(n, seed, upper, kind):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    cov = a @ a.T / n * 0.04 + np.eye(n) * 0.01
    tickers = [f"T{i}" for i in range(n)]
    mu = pd.Series(rng.uniform(0.03, 0.15, n), index=tickers)
    cov = pd.DataFrame(cov, index=tickers, columns=tickers)
    upper = max(upper, 1 / n + 0.01)
    result = optimize(
        mu, cov, Objective(kind, risk_free_rate=0.0), Constraints(weight_bounds=(0, upper))
    )
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-9)
    assert (result.weights >= -1e-9).all() and (result.weights <= upper + 1e-9).all()


def test_singular_covariance_is_accepted(sample_estimates):
    mu, cov = sample_estimates
    mu2 = pd.concat([mu, pd.Series({"AAPL2": mu["AAPL"]})])
    cov2 = cov.copy()
    cov2["AAPL2"] = cov["AAPL"]
    cov2.loc["AAPL2"] = pd.concat([cov["AAPL"], pd.Series({"AAPL2": cov.loc["AAPL", "AAPL"]})])
    result = optimize(mu2, cov2.loc[mu2.index, mu2.index], "min_volatility")
    assert result.weights.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "objective, constraints, fragment",
    [
        (Objective(), Constraints(weight_bounds=(0, 0.03)), "less than 100"),
        (Objective(), Constraints(weight_bounds=(0.06, 1)), "more than 100"),
        (
            Objective(),
            Constraints(sector_bounds={"Energy": (0.6, 1), "Financials": (0.5, 1)}),
            "sector minimums add up to 110.0%",
        ),
        (Objective("target_return", target_return=5.0), Constraints(), "highest expected return"),
        (Objective("target_volatility", target_volatility=0.01), Constraints(), "minimum-variance"),
        (Objective(), Constraints(max_volatility=0.01), "maximum portfolio volatility"),
        (Objective(risk_free_rate=3.0), Constraints(), "risk-free rate"),
        (
            Objective(),
            Constraints(weight_bounds=(0, 0.1), sector_bounds={"Energy": (0.35, 1)}),
            "Sector Energy must hold at least 35.0%",
        ),
    ],
)
def test_conflicts_are_named(sample, sample_estimates, objective, constraints, fragment):
    mu, cov = sample_estimates
    from dataclasses import replace

    constraints = replace(constraints, sectors=dict(sample.sectors))
    with pytest.raises(InfeasibleConstraintsError, match=fragment):
        optimize(mu, cov, objective, constraints)


def test_mismatched_inputs_raise(sample_estimates):
    mu, cov = sample_estimates
    with pytest.raises(EstimationError):
        optimize(mu.iloc[:5], cov, "min_volatility")
    bad = mu.copy()
    bad.iloc[0] = np.nan
    with pytest.raises(EstimationError):
        optimize(bad, cov, "min_volatility")


def _solve_reference(prob, opts) -> bool:
    """Solve with tight tolerances, then Clarabel's defaults if that stalls; False if infeasible."""
    import cvxpy as cp

    for kwargs in (opts, {"solver": cp.CLARABEL}):
        try:
            prob.solve(**kwargs)
        except cp.error.SolverError:
            continue
        if prob.status == "optimal":
            return True
        if prob.status in ("infeasible", "infeasible_inaccurate"):
            return False
    return prob.status == "optimal_inaccurate"


def _cvxpy_reference(mu, cov, kind, lin, max_vol, target, rf, delta):
    """Objective value of the same problem solved independently by cvxpy (Clarabel)."""
    import cvxpy as cp

    n = len(mu)
    F = np.linalg.cholesky(cov).T  # cov is positive definite in these draws
    opts = {"solver": cp.CLARABEL, "tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}

    def base(w, k=1.0):
        cons = [cp.sum(w) == k, w >= lin.lower * k, w <= lin.upper * k]
        if len(lin.h):
            cons.append(lin.G @ w <= lin.h * k)
        return cons

    w = cp.Variable(n)
    cons = base(w)
    if max_vol is not None and kind != "max_sharpe":
        cons.append(cp.norm(F @ w, 2) <= max_vol)
    if kind == "min_volatility":
        prob = cp.Problem(cp.Minimize(cp.sum_squares(F @ w)), cons)
    elif kind == "max_utility":
        prob = cp.Problem(cp.Maximize(mu @ w - delta / 2 * cp.sum_squares(F @ w)), cons)
    elif kind == "target_return":
        prob = cp.Problem(cp.Minimize(cp.sum_squares(F @ w)), cons + [mu @ w >= target])
    elif kind == "target_volatility":
        prob = cp.Problem(cp.Maximize(mu @ w), cons + [cp.norm(F @ w, 2) <= target])
    else:  # max Sharpe, homogenised (Cornuejols & Tutuncu 2007, section 8.2)
        kappa = cp.Variable(nonneg=True)
        cons = base(w, kappa) + [(mu - rf) @ w == 1]
        if max_vol is not None:
            cons.append(cp.norm(F @ w, 2) <= max_vol * kappa)
        prob = cp.Problem(cp.Minimize(cp.sum_squares(F @ w)), cons)
        if not _solve_reference(prob, opts):
            return None
        x = w.value / kappa.value
        return float((mu - rf) @ x / np.sqrt(x @ cov @ x))
    if not _solve_reference(prob, opts):
        return None
    x = w.value
    return {
        "min_volatility": float(np.sqrt(x @ cov @ x)),
        "max_utility": float(mu @ x - delta / 2 * x @ cov @ x),
        "target_return": float(np.sqrt(x @ cov @ x)),
        "target_volatility": float(mu @ x),
    }[kind]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 9),
    seed=st.integers(0, 100_000),
    kind=st.sampled_from([k for k in OBJECTIVES if k not in BENCHMARK_OBJECTIVES]),
    shape=st.sampled_from(["long_only", "sectors", "long_short"]),
    capped=st.booleans(),
    where=st.floats(0.0, 1.0),
)
def test_engine_matches_cvxpy_for_every_objective(n, seed, kind, shape, capped, where):
    """optimize (critical-line engine) against cvxpy on the same problem, to 1e-6 in objective.

    Sector bounds, long-short bounds and a volatility cap; targets and caps drawn between the
    minimum-variance and the maximum-return portfolios so that most problems are feasible;
    infeasible ones must be refused by both.
    """
    from core.frontier import efficient_frontier

    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n + 2))
    cov_np = a @ a.T / (n + 2) * 0.05 + np.diag(rng.uniform(0.005, 0.03, n))
    tickers = [f"T{i}" for i in range(n)]
    mu = pd.Series(rng.uniform(-0.02, 0.2, n), index=tickers)
    cov = pd.DataFrame(cov_np, index=tickers, columns=tickers)
    if shape == "long_only":
        cons = Constraints(weight_bounds=(0.0, max(0.5, 1.5 / n)))
    elif shape == "sectors":
        sectors = {t: "ABC"[i % 3] for i, t in enumerate(tickers)}
        cons = Constraints(
            weight_bounds=(0.0, 0.6), sectors=sectors,
            sector_bounds={"A": (0.2, 0.6), "B": (0.0, 0.4)},
        )  # fmt: skip
    else:
        cons = Constraints(long_only=False, weight_bounds=(-0.3, 0.7))
    f = efficient_frontier(mu, cov, cons, n_points=2)
    v_lo, v_hi = f.min_variance.volatility, f.max_return.volatility
    r_lo, r_hi = f.min_variance.expected_return, f.max_return.expected_return
    max_vol = v_lo + (0.3 + 0.7 * where) * (v_hi - v_lo) if capped else None
    if max_vol is not None:
        cons = Constraints(**{**cons.__dict__, "max_volatility": max_vol})
    rf = r_lo - 0.02 if kind == "max_sharpe" else 0.0
    target_r = r_lo - 0.01 + where * (r_hi - r_lo + 0.01)
    target_v = v_lo + where * (v_hi - v_lo) + 1e-4
    delta = 0.5 + 10 * where
    objective = Objective(
        kind, target_return=target_r, target_volatility=target_v, risk_aversion=delta,
        risk_free_rate=rf,
    )  # fmt: skip
    lin = cons.linear_form(tickers)
    target = target_r if kind == "target_return" else target_v
    ref = _cvxpy_reference(mu.to_numpy(), cov_np, kind, lin, max_vol, target, rf, delta)
    try:
        got = optimize(mu, cov, objective, cons)
    except InfeasibleConstraintsError:
        assert ref is None
        return
    assert ref is not None
    w = got.weights.to_numpy()
    value = {
        "min_volatility": got.volatility,
        "max_utility": got.expected_return - delta / 2 * got.volatility**2,
        "target_return": got.volatility,
        "target_volatility": got.expected_return,
        "max_sharpe": got.sharpe_ratio,
    }[kind]
    assert value == pytest.approx(ref, abs=1e-6)
    # The engine's portfolio satisfies every constraint (the reference's may be slightly off).
    assert w.sum() == pytest.approx(1.0, abs=1e-9)
    assert (w >= lin.lower - 1e-9).all() and (w <= lin.upper + 1e-9).all()
    if len(lin.h):
        assert (lin.G @ w <= lin.h + 1e-9).all()
    if max_vol is not None:
        assert got.volatility <= max_vol + 1e-9
    if kind == "target_return":
        assert got.expected_return >= target_r - 1e-9
    if kind == "target_volatility":
        assert got.volatility <= target_v + 1e-9


def test_max_sharpe_beyond_a_stall_at_the_minimum_variance_portfolio():
    """Regression (off-suite stress check): long-short, sector limits, three assets.

    The critical line stays at the minimum-variance portfolio over a range of risk tolerance
    (the asset at its upper bound waits for its multiplier to reach zero); the max-Sharpe walk
    used to stop on that stall and return the minimum-variance portfolio (Sharpe 0.2147).
    """
    t = ["X0", "X1", "X2"]
    mu = pd.Series([0.08586827166334157, 0.02397543705763767, 0.07697630278344104], index=t)
    cov = pd.DataFrame(
        [
            [0.06845424276719997, 0.03822596449988788, 0.04472037644328365],
            [0.03822596449988788, 0.12624009113016577, 0.06627740106668609],
            [0.04472037644328365, 0.06627740106668609, 0.1588474544313505],
        ],
        index=t,
        columns=t,
    )
    cons = Constraints(
        long_only=False,
        weight_bounds=(-0.2409046843433733, 0.5615556482449855),
        sectors={"X0": "S0", "X1": "S0", "X2": "S1"},
        sector_bounds={
            "S0": (0.11730356160923794, 0.699282099871142),
            "S1": (0.11123941524050816, 0.5347227709179564),
        },
    )
    lin = cons.linear_form(t)
    ref = _cvxpy_reference(mu.to_numpy(), cov.to_numpy(), "max_sharpe", lin, None, 0, 0.02, 1)
    got = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.02), cons)
    assert got.sharpe_ratio == pytest.approx(ref, abs=1e-7)
    assert got.sharpe_ratio == pytest.approx(0.2313185220369636, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 2)),
                     min_size=1, max_size=25),  # rounded: ties happen
    labels=st.lists(st.sampled_from(["Energy", "Financials", "Health Care", None]),
                    min_size=25, max_size=25),
    as_series=st.booleans(),
)  # fmt: skip
def test_sector_exposure_matches_pandas_groupby(weights, labels, as_series):
    from core.optimization import sector_exposure

    w = pd.Series(weights, index=[f"T{i}" for i in range(len(weights))])
    sectors = {t: s for t, s in zip(w.index, labels, strict=False) if s is not None}
    sectors["NOT_HELD"] = "Utilities"  # sectors of other tickers are ignored
    given_sectors = pd.Series(sectors, name="sector") if as_series else sectors
    got = sector_exposure(w, given_sectors)
    # pandas' groupby as the reference; tickers without a sector count as "Unknown"
    want = w.groupby(pd.Series(sectors).reindex(w.index).fillna("Unknown")).sum()
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False,
                                   atol=1e-12)  # fmt: skip
    assert got.index.name == ("sector" if as_series else None)
    # largest first, ties in the sectors' order by name
    pairs = list(zip(got.to_numpy(), got.index, strict=True))
    assert all(a[0] > b[0] or (a[0] == b[0] and a[1] < b[1])
               for a, b in zip(pairs, pairs[1:], strict=False))  # fmt: skip
