"""Reference tests of core.risk: closed forms, hand-computed vectors, an independent library."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from core import risk
from core.estimators import returns_from_prices
from core.exceptions import RiskInputError


@pytest.fixture(scope="module")
def window_returns(sample_window):
    return returns_from_prices(sample_window.prices)


@pytest.fixture(scope="module")
def equal_weights(window_returns):
    n = window_returns.shape[1]
    return pd.Series(np.full(n, 1 / n), index=window_returns.columns)


# ------------------------------------------------------------------------------ historical
def test_historical_hand_computed_twenty_returns():
    # returns -1 %, -2 %, ..., -20 % shuffled; losses 1..20 %.
    # n = 20, c = 0.9: VaR = ceil(18)-th smallest loss = 18 %; CVaR = mean of the 2 largest
    # losses = (19 + 20) / 2 = 19.5 %.
    r = -np.arange(1, 21) / 100
    np.random.default_rng(3).shuffle(r)
    var, cvar = risk.historical_var_cvar(r, 0.90)
    assert var == pytest.approx(0.18)
    assert cvar == pytest.approx(0.195)


def test_historical_hand_computed_fractional_tail():
    # n = 20, c = 0.95: n (1 - c) = 1 -> VaR is the 19th smallest loss (19 %), CVaR the largest
    # loss (20 %). c = 0.925: n (1 - c) = 1.5, VaR = ceil(18.5) = 19th loss = 19 %,
    # CVaR = (20 + 0.5 x 19) / 1.5 = 19.666... %.
    r = -np.arange(1, 21) / 100
    assert risk.historical_var_cvar(r, 0.95) == pytest.approx((0.19, 0.20))
    var, cvar = risk.historical_var_cvar(r, 0.925)
    assert var == pytest.approx(0.19)
    assert cvar == pytest.approx((0.20 + 0.5 * 0.19) / 1.5)


def test_historical_hundred_observations_sixth_largest_loss():
    r = np.linspace(-0.05, 0.05, 100)
    var, cvar = risk.historical_var_cvar(r, 0.95)
    losses = np.sort(-r)[::-1]
    assert var == pytest.approx(losses[5])  # sixth largest loss
    assert cvar == pytest.approx(losses[:5].mean())


def test_historical_matches_skfolio(window_returns, equal_weights):
    from skfolio.measures import cvar as sk_cvar
    from skfolio.measures import value_at_risk as sk_var

    p = risk.portfolio_returns(window_returns, equal_weights).to_numpy()
    for c in (0.9, 0.95, 0.975, 0.99):
        var, cvar = risk.historical_var_cvar(p, c)
        assert var == pytest.approx(sk_var(p, c), rel=1e-12)
        assert cvar == pytest.approx(sk_cvar(p, c), rel=1e-12)


def test_historical_horizon_uses_overlapping_compounded_returns():
    r = np.random.default_rng(1).normal(0.0005, 0.01, 300)
    h = 5
    manual = np.array([np.prod(1 + r[i : i + h]) - 1 for i in range(len(r) - h + 1)])
    np.testing.assert_allclose(risk.horizon_returns(r, h), manual, rtol=1e-10)
    assert risk.historical_var_cvar(r, 0.95, h) == pytest.approx(
        risk.historical_var_cvar(manual, 0.95, 1)
    )


def test_value_at_risk_api_dispatches():
    r = pd.Series(np.random.default_rng(2).normal(0, 0.01, 500))
    assert risk.value_at_risk(r) == pytest.approx(risk.historical_var_cvar(r, 0.95)[0])
    assert risk.conditional_value_at_risk(r, 0.99, "parametric", 10) == pytest.approx(
        risk.parametric_var_cvar(r, 0.99, 10)[1]
    )


# ------------------------------------------------------------------------------ parametric
@pytest.mark.parametrize("c,h", [(0.95, 1), (0.99, 1), (0.99, 10), (0.975, 5)])
def test_parametric_closed_form(c, h):
    r = np.random.default_rng(4).normal(0.0004, 0.012, 1000)
    mu, sigma = r.mean(), r.std(ddof=1)
    z = stats.norm.ppf(c)
    var, cvar = risk.parametric_var_cvar(r, c, h)
    assert var == pytest.approx(z * sigma * math.sqrt(h) - h * mu, rel=1e-12)
    assert cvar == pytest.approx(
        sigma * math.sqrt(h) * stats.norm.pdf(z) / (1 - c) - h * mu, rel=1e-12
    )
    # the textbook figure: 99 % one-day VaR of a zero-mean 1 % volatility = 2.326 %
    assert risk.value_at_risk(None, 0.99, "parametric", mean=0.0, volatility=0.01) == (
        pytest.approx(0.0232635, abs=1e-7)
    )


def test_parametric_cvar_matches_scipy_expect():
    mu, sigma, c = 0.001, 0.02, 0.975
    q = stats.norm.ppf(1 - c, mu, sigma)
    es = -stats.norm.expect(lambda x: x, loc=mu, scale=sigma, ub=q) / (1 - c)
    _, cvar = risk.parametric_var_cvar(None, c, mean=mu, volatility=sigma)
    assert cvar == pytest.approx(es, rel=1e-8)


# -------------------------------------------------------------------------- Cornish-Fisher
@pytest.mark.parametrize("c,h", [(0.95, 1), (0.99, 10)])
def test_cornish_fisher_equals_normal_without_skew_and_kurtosis(c, h):
    kw = dict(mean=0.0003, volatility=0.011)
    cf = risk.cornish_fisher_var_cvar(None, c, h, skew=0.0, excess_kurtosis=0.0, **kw)
    normal = risk.parametric_var_cvar(None, c, h, **kw)
    assert cf == pytest.approx(normal, rel=1e-12)


def test_cornish_fisher_cvar_is_tail_average_of_its_quantile():
    mean, vol, s, k, c = 0.0, 0.01, -0.3, 1.0, 0.99
    var, cvar = risk.cornish_fisher_var_cvar(
        None, c, mean=mean, volatility=vol, skew=s, excess_kurtosis=k
    )
    # numerical integral of the CF VaR over confidence levels u in (c, 1)
    us = np.linspace(c, 1, 20001)[1:-1]
    vars_ = [
        risk.cornish_fisher_var_cvar(None, u, mean=mean, volatility=vol, skew=s,
                                     excess_kurtosis=k)[0] for u in us[::50]
    ]  # fmt: skip
    assert var == pytest.approx(vars_[0], rel=0.05)
    assert cvar == pytest.approx(np.mean(vars_), rel=0.02)
    assert cvar > var


def test_cornish_fisher_warns_when_not_monotonic():
    assert risk.cornish_fisher_is_monotonic(0.0, 0.0)
    assert risk.cornish_fisher_is_monotonic(-0.5, 2.0)
    assert not risk.cornish_fisher_is_monotonic(0.0, 14.0)
    with pytest.warns(risk.CornishFisherWarning, match="not monotonic"):
        risk.cornish_fisher_var_cvar(
            None, 0.99, mean=0, volatility=0.01, skew=-0.5, excess_kurtosis=14.0
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        risk.cornish_fisher_var_cvar(
            None, 0.99, mean=0, volatility=0.01, skew=-0.5, excess_kurtosis=2.0
        )


# ------------------------------------------------------------------------------ Monte Carlo
@pytest.mark.parametrize("c,h", [(0.95, 1), (0.99, 1), (0.99, 10)])
def test_monte_carlo_normal_within_three_standard_errors(window_returns, equal_weights, c, h):
    mc = risk.monte_carlo_var_cvar(
        None, c, h, asset_returns=window_returns, weights=equal_weights,
        n_scenarios=400_000, seed=11,
    )  # fmt: skip
    p = risk.portfolio_returns(window_returns, equal_weights)
    var, cvar = risk.parametric_var_cvar(p, c, h)
    assert abs(mc.var - var) < 3 * mc.var_se
    assert abs(mc.cvar - cvar) < 3 * mc.cvar_se
    assert mc.var_se < 0.01 * var


def test_monte_carlo_student_t_matches_its_closed_form():
    nu, vol, c = 4.0, 0.01, 0.99
    r = np.random.default_rng(0).normal(0, vol, 500)
    mc = risk.monte_carlo_var_cvar(
        r, c, distribution="student_t", dof=nu, n_scenarios=400_000, seed=5
    )
    scale = mc.volatility * math.sqrt((nu - 2) / nu)
    q = stats.t.ppf(c, nu)
    var = scale * q - mc.mean
    # ES of a standard t: pdf(q) (nu + q^2) / ((nu - 1) (1 - c))
    es = scale * stats.t.pdf(q, nu) * (nu + q**2) / ((nu - 1) * (1 - c)) - mc.mean
    assert abs(mc.var - var) < 3 * mc.var_se
    assert abs(mc.cvar - es) < 3 * mc.cvar_se


def test_monte_carlo_seeded_and_public_api(window_returns, equal_weights):
    kw = dict(asset_returns=window_returns, weights=equal_weights, seed=7,
              distribution="student_t", n_scenarios=20_000)  # fmt: skip
    a = risk.value_at_risk(None, 0.99, "monte_carlo", **kw)
    b = risk.value_at_risk(None, 0.99, "monte_carlo", **kw)
    assert a == b
    assert risk.conditional_value_at_risk(None, 0.99, "monte_carlo", **kw) >= a
    fitted = risk.monte_carlo_var_cvar(None, 0.99, **kw)
    assert 2 < fitted.dof < 30


def test_student_t_dof_is_scipys_maximum_likelihood(window_returns, equal_weights):
    def scipy_fit(x):  # the reference: scipy.stats.t.fit (Nelder-Mead on the full likelihood)
        z = (x - x.mean()) / x.std(ddof=1)
        return float(np.clip(stats.t.fit(z)[0], 2.5, 200.0))

    rng = np.random.default_rng(11)
    samples = [(window_returns @ equal_weights).to_numpy(), window_returns["AAPL"].to_numpy(),
               window_returns["KO"].to_numpy()]  # fmt: skip
    samples += [rng.standard_t(nu, 2_000) * 0.01 for nu in (3.0, 5.0, 10.0)]
    for x in samples:
        assert risk.fit_student_t_dof(x) == pytest.approx(scipy_fit(x), rel=2e-3)


def test_monte_carlo_full_asset_simulation_agrees(window_returns, equal_weights):
    # independent route: simulate every asset with numpy's multivariate normal, then w' X
    x = window_returns.to_numpy()
    w = equal_weights.to_numpy()
    draws = np.random.default_rng(9).multivariate_normal(x.mean(0), np.cov(x.T), 200_000) @ w
    var_full, _ = risk.historical_var_cvar(draws, 0.99)
    mc = risk.monte_carlo_var_cvar(
        None, 0.99, asset_returns=window_returns, weights=equal_weights, n_scenarios=200_000,
        seed=1,
    )  # fmt: skip
    assert abs(mc.var - var_full) < 5 * mc.var_se


# ------------------------------------------------------------------------- CVaR >= VaR always
@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.floats(-0.5, 0.5, allow_nan=False), min_size=20, max_size=200),
    c=st.floats(0.5, 0.999),
    h=st.integers(1, 3),
)
def test_cvar_at_least_var_historical(data, c, h):
    var, cvar = risk.historical_var_cvar(np.array(data), c, h if len(data) - h >= 20 else 1)
    assert cvar >= var - 1e-12


@settings(max_examples=40, deadline=None)
@given(
    mean=st.floats(-0.01, 0.01),
    vol=st.floats(1e-4, 0.1),
    skew=st.floats(-1, 1),
    kurt=st.floats(0, 4),
    c=st.floats(0.5, 0.999),
)
def test_cvar_at_least_var_parametric_and_cf(mean, vol, skew, kurt, c):
    v, cv = risk.parametric_var_cvar(None, c, mean=mean, volatility=vol)
    assert cv >= v - 1e-12
    if risk.cornish_fisher_is_monotonic(skew, kurt):
        v, cv = risk.cornish_fisher_var_cvar(
            None, c, mean=mean, volatility=vol, skew=skew, excess_kurtosis=kurt
        )
        assert cv >= v - 1e-12


# -------------------------------------------------------------------------- contributions
@pytest.mark.parametrize("method", ["historical", "parametric"])
@pytest.mark.parametrize("h", [1, 5])
def test_contributions_add_up(window_returns, sample_window, method, h):
    w = pd.Series(np.random.default_rng(1).dirichlet(np.ones(20)), index=window_returns.columns)
    rc = risk.risk_contributions(window_returns, w, 0.99, h, method, sample_window.sectors)
    for m in ("volatility", "var", "cvar"):
        assert rc.assets[f"{m}_component"].sum() == pytest.approx(getattr(rc, m), rel=1e-10)
        assert rc.sectors[f"{m}_component"].sum() == pytest.approx(getattr(rc, m), rel=1e-10)
        assert rc.assets[f"{m}_share"].sum() == pytest.approx(1.0)
        np.testing.assert_allclose(
            rc.assets[f"{m}_component"], rc.assets["weight"] * rc.assets[f"{m}_marginal"]
        )
    p = risk.portfolio_returns(window_returns, w)
    assert rc.volatility == pytest.approx(p.std(ddof=1) * math.sqrt(252), rel=1e-10)
    if method == "parametric":
        assert (rc.var, rc.cvar) == pytest.approx(risk.parametric_var_cvar(p, 0.99, h))
    elif h == 1:
        assert (rc.var, rc.cvar) == pytest.approx(risk.historical_var_cvar(p, 0.99, 1))


def test_historical_scenarios_buy_and_hold_by_hand():
    idx = pd.bdate_range("2021-01-04", periods=4)
    r = pd.DataFrame({"A": [0.1, -0.2, 0.05, 0.0], "B": [0.0, 0.1, 0.1, -0.1]}, index=idx)
    w = pd.Series({"A": 0.6, "B": 0.4})
    scen = risk.historical_scenarios(r, w, 2)
    # bought on each day at the current weights and held two days, no rebalancing
    expected = [0.6 * (1.1 * 0.8 - 1) + 0.4 * (1.1 - 1), 0.6 * (0.8 * 1.05 - 1) + 0.4 * (1.21 - 1),
                0.6 * (1.05 - 1) + 0.4 * (1.1 * 0.9 - 1)]  # fmt: skip
    np.testing.assert_allclose(scen, expected)
    assert list(scen.index) == list(idx[1:])
    np.testing.assert_allclose(risk.historical_scenarios(r, w, 1), r @ w)


@pytest.mark.parametrize("h", [1, 10])
def test_historical_var_is_one_figure_in_the_table_and_the_contributions(
    window_returns, sample_window, h
):
    # one definition for "Historical VaR": the VaR table and the decomposition share scenarios
    w = pd.Series(np.random.default_rng(3).dirichlet(np.ones(20)), index=window_returns.columns)
    table = risk.risk_table(window_returns, w, (0.95, 0.99), h, n_scenarios=1_000, seed=0)
    hist = table[table["method"] == "historical"].set_index("confidence")
    for c in (0.95, 0.99):
        rc = risk.risk_contributions(window_returns, w, c, h, "historical", sample_window.sectors)
        assert rc.var == pytest.approx(hist.loc[c, "var"], rel=1e-12)
        assert rc.cvar == pytest.approx(hist.loc[c, "cvar"], rel=1e-12)
        scen = risk.historical_scenarios(window_returns, w, h)
        sk_v, sk_cv = risk._empirical_var_cvar(-scen.to_numpy(), c)
        assert (hist.loc[c, "var"], hist.loc[c, "cvar"]) == pytest.approx((sk_v, sk_cv))


def test_parametric_marginal_is_the_gradient(window_returns, equal_weights):
    rc = risk.risk_contributions(window_returns, equal_weights, 0.95, 1, "parametric")
    x = window_returns.to_numpy()
    w = equal_weights.to_numpy()

    def var_of(v):
        p = x @ v
        return risk.parametric_var_cvar(p, 0.95)[0]

    eps = 1e-6
    grad = [(var_of(w + eps * e) - var_of(w - eps * e)) / (2 * eps) for e in np.eye(len(w))]
    np.testing.assert_allclose(rc.assets["var_marginal"], grad, rtol=1e-5, atol=1e-9)


# -------------------------------------------------------------------------------- drawdowns
def test_drawdowns_hand_example():
    idx = pd.bdate_range("2020-01-01", periods=6)
    # wealth 1.1, 0.99, 0.891, 1.0, 1.2, 1.08
    r = pd.Series([0.1, -0.1, -0.1, 1.0 / 0.891 - 1, 0.2, -0.1], index=idx)
    dd = risk.drawdowns(r, 0.5)
    assert dd.max_drawdown == pytest.approx(1 - 0.891 / 1.1)
    assert dd.peak == idx[0] and dd.trough == idx[2]
    assert dd.recovery == idx[4] and dd.days_to_recovery == 2
    # drawdowns 0, .1, .19, .0909, 0, .1 -> worst half (3 of 6): mean(.19, .1, .1)
    assert dd.cdar == pytest.approx((0.19 + 0.1 + 0.1) / 3)


def test_drawdowns_match_skfolio(window_returns, equal_weights):
    from skfolio.measures import cdar, get_drawdowns, max_drawdown

    p = risk.portfolio_returns(window_returns, equal_weights)
    dd = risk.drawdowns(p, 0.95)
    sk = get_drawdowns(p.to_numpy(), compounded=True)
    np.testing.assert_allclose(dd.curve.to_numpy(), sk, atol=1e-12)
    assert dd.max_drawdown == pytest.approx(max_drawdown(sk), rel=1e-9)
    assert dd.cdar == pytest.approx(cdar(sk, 0.95), rel=1e-9)


# -------------------------------------------------------------------------------- backtests
def test_kupiec_textbook_250_days_99_percent():
    # 250 days at 99 %, 8 exceptions. Direct likelihood ratio of two binomials (scipy):
    e = np.zeros(250, dtype=bool)
    e[[10, 40, 70, 100, 130, 160, 190, 220]] = True
    lr, p = risk.kupiec_test(e, 0.99)
    independent = -2 * (stats.binom.logpmf(8, 250, 0.01) - stats.binom.logpmf(8, 250, 8 / 250))
    assert lr == pytest.approx(independent, rel=1e-12)
    assert lr == pytest.approx(7.7336, abs=1e-4)
    assert p == pytest.approx(stats.chi2.sf(independent, 1))
    assert p == pytest.approx(0.00542, abs=1e-5)
    # 9 exceptions give LR 10.23, p 0.0014: the "about 10.1, p 0.0015" row of printed tables
    e9 = e.copy()
    e9[5] = True
    lr9, p9 = risk.kupiec_test(e9, 0.99)
    assert lr9 == pytest.approx(10.229, abs=1e-3) and p9 == pytest.approx(0.00138, abs=1e-5)


def test_kupiec_edge_cases():
    lr, p = risk.kupiec_test(np.zeros(250, bool), 0.99)
    assert lr == pytest.approx(-2 * 250 * math.log(0.99))
    lr, p = risk.kupiec_test(np.r_[np.ones(5, bool), np.zeros(495, bool)], 0.99)
    assert lr == pytest.approx(0.0, abs=1e-12) and p == pytest.approx(1.0)


def test_christoffersen_hand_example():
    # sequence 0 0 1 1 0 0 0 1 0 0: transitions n00=4, n01=2, n10=2, n11=1
    e = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], bool)
    res = risk.christoffersen_test(e, 0.9)
    assert (res.n00, res.n01, res.n10, res.n11) == (4, 2, 2, 1)
    pi01, pi11, pi = 2 / 6, 1 / 3, 3 / 9
    log_alt = 4 * math.log(1 - pi01) + 2 * math.log(pi01) + 2 * math.log(1 - pi11) + math.log(pi11)
    log_null = 6 * math.log(1 - pi) + 3 * math.log(pi)
    assert res.independence == pytest.approx(-2 * (log_null - log_alt), abs=1e-12)
    assert res.independence == pytest.approx(0.0, abs=1e-12)  # pi01 = pi11: no clustering
    lr_pof, _ = risk.kupiec_test(e, 0.9)
    assert res.conditional_coverage == pytest.approx(lr_pof + res.independence)
    assert res.conditional_coverage_p == pytest.approx(stats.chi2.sf(res.conditional_coverage, 2))
    # clustered exceptions: 0 0 0 0 0 0 1 1 1 0 -> n00=5 n01=1 n10=1 n11=2
    clustered = risk.christoffersen_test(np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 0], bool), 0.9)
    assert (clustered.n00, clustered.n01, clustered.n10, clustered.n11) == (5, 1, 1, 2)
    p01, p11, p = 1 / 6, 2 / 3, 3 / 9
    expected = -2 * ((6 * math.log(1 - p) + 3 * math.log(p)) - (
        5 * math.log(1 - p01) + math.log(p01) + math.log(1 - p11) + 2 * math.log(p11)))  # fmt: skip
    assert clustered.independence == pytest.approx(expected)
    assert clustered.independence > res.independence and clustered.independence_p < 0.2


def test_traffic_light_basel_table():
    zones = [risk.traffic_light(x, 250, 0.99) for x in range(12)]
    assert zones == ["green"] * 5 + ["yellow"] * 5 + ["red"] * 2


def test_rolling_var_no_lookahead_and_matches_loop(sample):
    r = pd.Series(
        np.random.default_rng(0).standard_t(4, 600) * 0.01,
        index=pd.bdate_range("2000-01-03", periods=600),
    )
    for method, fn in [
        ("historical", lambda x: risk.historical_var_cvar(x, 0.99)[0]),
        ("parametric", lambda x: risk.parametric_var_cvar(x, 0.99)[0]),
        ("cornish_fisher", lambda x: risk.cornish_fisher_var_cvar(x, 0.99, warn=False)[0]),
    ]:
        fast = risk.rolling_var(r, 250, 0.99, method)
        assert len(fast) == 350 and fast.index[0] == r.index[250]
        for t in (0, 17, 349):
            assert fast.iloc[t] == pytest.approx(fn(r.iloc[t : t + 250].to_numpy()), rel=1e-9)


@pytest.mark.parametrize("window", [20, 57, 250, 251])
@pytest.mark.parametrize("c", [0.9, 0.95, 0.975, 0.99, 0.999])
def test_rolling_historical_var_order_statistic(window, c):
    # ties included (rounded returns): the j-th smallest loss of every window, j = ceil(n c)
    x = np.round(np.random.default_rng(window).standard_t(3, window + 60) * 0.01, 3)
    r = pd.Series(x, index=pd.bdate_range("2001-01-01", periods=len(x)))
    fast = risk.rolling_var(r, window, c, "historical").to_numpy()
    slow = [risk.historical_var_cvar(x[t - window : t], c)[0] for t in range(window, len(x))]
    np.testing.assert_array_equal(fast, slow)


def test_var_backtest_on_sample(sample):
    p = risk.portfolio_returns(
        returns_from_prices(sample.prices), pd.Series(0.05, index=sample.tickers)
    )
    bt = risk.var_backtest(p, 250, 0.99, "historical")
    assert bt.n_days == len(p) - 250
    assert bt.n_exceptions == int((-bt.returns > bt.var).sum())
    assert bt.zone in ("green", "yellow", "red") and bt.zone_days == 250
    assert 0 <= bt.kupiec_p <= 1
    assert len(bt.summary()) == 14


# ------------------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("c", [0.0, 1.0, 1.5, -0.2, float("nan")])
def test_confidence_outside_unit_interval(c):
    r = np.random.default_rng(0).normal(0, 0.01, 100)
    with pytest.raises(RiskInputError, match="between 0 and 1"):
        risk.value_at_risk(r, c)
    with pytest.raises(RiskInputError, match="between 0 and 1"):
        risk.kupiec_test([True, False], c)


@pytest.mark.parametrize("h", [0, -1, 2.5])
def test_horizon_below_one(h):
    with pytest.raises(RiskInputError, match="horizon"):
        risk.value_at_risk(np.zeros(100), 0.95, "parametric", h)


def test_too_few_observations():
    with pytest.raises(RiskInputError, match="too few"):
        risk.value_at_risk(np.zeros(5), 0.95)
    r = pd.Series(np.zeros(100), index=pd.bdate_range("2020-01-01", periods=100))
    with pytest.raises(RiskInputError, match="too few for a 250-day backtest window"):
        risk.var_backtest(r, 250, 0.99)
    with pytest.raises(RiskInputError, match="overlapping"):
        risk.historical_var_cvar(np.zeros(30), 0.95, 20)


def test_unknown_method_and_bad_options():
    r = np.zeros(100)
    with pytest.raises(RiskInputError, match="Unknown VaR method"):
        risk.value_at_risk(r, 0.95, "garch")
    with pytest.raises(RiskInputError, match="scenarios"):
        risk.value_at_risk(r, 0.95, "monte_carlo", n_scenarios=5_000_000)
    with pytest.raises(RiskInputError, match="degrees of freedom"):
        risk.value_at_risk(r + 0.01 * np.sin(np.arange(100)), 0.95, "monte_carlo",
                           distribution="student_t", dof=1.5)  # fmt: skip
    with pytest.raises(RiskInputError, match="takes no options"):
        risk.value_at_risk(r, 0.95, "historical", seed=1)


def test_risk_table_all_methods(window_returns, equal_weights):
    table = risk.risk_table(window_returns, equal_weights, [0.95, 0.99], 1, n_scenarios=20_000,
                            portfolio_value=1e6)  # fmt: skip
    assert len(table) == 10
    assert list(table["method"][:5]) == list(risk.TABLE_METHODS)
    assert (table["cvar"] >= table["var"]).all()
    np.testing.assert_allclose(table["var_money"], table["var"] * 1e6)
    p = risk.portfolio_returns(window_returns, equal_weights)
    hist99 = table[(table.method == "historical") & (table.confidence == 0.99)].iloc[0]
    assert hist99["var"] == pytest.approx(risk.value_at_risk(p, 0.99))


def test_risk_table_monte_carlo_rows_equal_the_function(window_returns, equal_weights):
    table = risk.risk_table(window_returns, equal_weights, [0.99], 1, n_scenarios=5_000, seed=3)
    row = table[table["method"] == "mc_student_t"].iloc[0]
    mc = risk.monte_carlo_var_cvar(None, 0.99, asset_returns=window_returns,
                                   weights=equal_weights, distribution="student_t",
                                   n_scenarios=5_000, seed=3)  # fmt: skip
    assert (row["var"], row["cvar"], row["dof"]) == (mc.var, mc.cvar, mc.dof)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.floats(0.5, 0.999), h=st.integers(1, 5))
def test_cvar_at_least_var_monte_carlo(seed, c, h):
    r = np.random.default_rng(seed).standard_t(3, 60) * 0.01
    for dist in ("normal", "student_t"):
        mc = risk.monte_carlo_var_cvar(r, c, h, distribution=dist, dof=3.5, n_scenarios=1_000,
                                       seed=seed)  # fmt: skip
        assert mc.cvar >= mc.var - 1e-12
