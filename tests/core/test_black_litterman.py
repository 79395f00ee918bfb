"""Black-Litterman: He & Litterman (1999) tables, confidence limits, PyPortfolioOpt agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.black_litterman import (
    check_views,
    idzorek_omega,
    market_implied_returns,
    market_implied_risk_aversion,
    market_weights,
    parse_views,
    posterior,
    unconstrained_weights,
)
from core.exceptions import EstimationError, ViewError

# He & Litterman (1999), "The intuition behind Black-Litterman model portfolios", tables 1-4.
HL_COUNTRIES = ["AUS", "CAN", "FRA", "GER", "JPN", "UK", "USA"]
HL_WEIGHTS = [0.016, 0.022, 0.052, 0.055, 0.116, 0.124, 0.615]
HL_VOLS = [0.160, 0.203, 0.248, 0.271, 0.210, 0.200, 0.187]
HL_CORR = [
    [1, 0.488, 0.478, 0.515, 0.439, 0.512, 0.491],
    [0.488, 1, 0.664, 0.655, 0.310, 0.608, 0.779],
    [0.478, 0.664, 1, 0.861, 0.355, 0.783, 0.668],
    [0.515, 0.655, 0.861, 1, 0.354, 0.777, 0.653],
    [0.439, 0.310, 0.355, 0.354, 1, 0.405, 0.306],
    [0.512, 0.608, 0.783, 0.777, 0.405, 1, 0.652],
    [0.491, 0.779, 0.668, 0.653, 0.306, 0.652, 1],
]
HL_EQUILIBRIUM = [3.9, 6.9, 8.4, 9.0, 4.3, 6.8, 7.6]
HL_VIEW1_RETURNS = [4.3, 7.6, 9.3, 11.0, 4.5, 7.0, 8.1]
HL_VIEW1_WEIGHTS = [1.5, 2.1, -4.0, 35.4, 11.0, -9.5, 58.6]
HL_VIEW2_RETURNS = [4.4, 8.7, 9.5, 11.2, 4.6, 7.0, 7.5]
HL_VIEW2_WEIGHTS = [1.5, 41.9, -3.4, 33.6, 11.0, -8.2, 18.8]
DELTA, TAU = 2.5, 0.05


@pytest.fixture(scope="module")
def hl():
    vols = np.array(HL_VOLS)
    cov = pd.DataFrame(
        np.outer(vols, vols) * np.array(HL_CORR), index=HL_COUNTRIES, columns=HL_COUNTRIES
    )
    w = pd.Series(HL_WEIGHTS, index=HL_COUNTRIES)
    pi = market_implied_returns(cov, w, DELTA)
    view1 = dict.fromkeys(HL_COUNTRIES, 0.0) | {"GER": 1.0, "FRA": -0.295, "UK": -0.705}
    view2 = dict.fromkeys(HL_COUNTRIES, 0.0) | {"CAN": 1.0, "USA": -1.0}
    P = pd.DataFrame([view1, view2], columns=HL_COUNTRIES)
    return cov, w, pi, P


def test_he_litterman_equilibrium_returns(hl):
    _, _, pi, _ = hl
    np.testing.assert_allclose(pi * 100, HL_EQUILIBRIUM, atol=0.1)


def test_he_litterman_one_view(hl):
    cov, _, pi, P = hl
    result = posterior(pi, cov, P.iloc[:1], [0.05], tau=TAU)
    np.testing.assert_allclose(result.returns * 100, HL_VIEW1_RETURNS, atol=0.1)
    w = unconstrained_weights(result.returns, result.cov, DELTA)
    np.testing.assert_allclose(w * 100, HL_VIEW1_WEIGHTS, atol=0.3)
    np.testing.assert_allclose(
        np.diag(result.omega), np.diag(TAU * P.iloc[:1] @ cov @ P.iloc[:1].T)
    )


def test_he_litterman_two_views(hl):
    cov, _, pi, P = hl
    result = posterior(pi, cov, P, [0.05, 0.03], tau=TAU)
    np.testing.assert_allclose(result.returns * 100, HL_VIEW2_RETURNS, atol=0.1)
    w = unconstrained_weights(result.returns, result.cov, DELTA)
    np.testing.assert_allclose(w * 100, HL_VIEW2_WEIGHTS, atol=0.3)


def test_he_litterman_views_as_ndarray_in_cov_order(hl):
    cov, _, pi, P = hl
    by_frame = posterior(pi, cov, P, [0.05, 0.03])
    by_array = posterior(pi, cov, P.to_numpy(), np.array([0.05, 0.03]))
    pd.testing.assert_series_equal(by_frame.returns, by_array.returns)


def test_no_view_weights_are_market_over_one_plus_tau(hl):
    cov, w, pi, P = hl
    result = posterior(pi, cov, P.iloc[:1], [0.05], confidences=[0.0])
    np.testing.assert_allclose(unconstrained_weights(result.returns, result.cov, DELTA), w / 1.05)


def test_confidence_zero_gives_the_prior_exactly(hl):
    cov, _, pi, P = hl
    result = posterior(pi, cov, P, [0.05, 0.03], confidences=[0.0, 0.0])
    np.testing.assert_array_equal(result.returns.to_numpy(), pi.to_numpy())
    assert np.isinf(np.diag(result.omega)).all()


def test_confidence_one_makes_the_views_hold_exactly(hl):
    cov, _, pi, P = hl
    result = posterior(pi, cov, P, [0.05, 0.03], confidences=[1.0, 1.0])
    np.testing.assert_allclose(P.to_numpy() @ result.returns.to_numpy(), [0.05, 0.03], atol=1e-12)
    assert np.all(np.diag(result.omega) == 0)


def test_mixed_limits_one_view_ignored_one_exact(hl):
    cov, _, pi, P = hl
    mixed = posterior(pi, cov, P, [0.05, 0.03], confidences=[1.0, 0.0])
    only_first = posterior(pi, cov, P.iloc[:1], [0.05], confidences=[1.0])
    np.testing.assert_allclose(mixed.returns, only_first.returns, atol=1e-14)
    assert abs(P.iloc[0] @ mixed.returns - 0.05) < 1e-12


@pytest.mark.parametrize("confidence", [0.1, 0.25, 0.5, 0.8, 0.99])
def test_single_view_tilt_is_confidence_times_full_tilt(hl, confidence):
    cov, _, pi, P = hl
    full = posterior(pi, cov, P.iloc[1:], [0.03], confidences=[1.0])
    part = posterior(pi, cov, P.iloc[1:], [0.03], confidences=[confidence])
    np.testing.assert_allclose(part.tilt, confidence * full.tilt, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    c1=st.floats(0.0, 1.0),
    c2=st.floats(0.0, 1.0),
    q=st.floats(-0.3, 0.3),
    asset=st.integers(0, 19),
)
def test_posterior_moves_monotonically_toward_a_single_view(sample_estimates, c1, c2, q, asset):
    mu, cov = sample_estimates
    pi = market_implied_returns(cov, pd.Series(1.0, index=cov.index), 2.0)
    P = np.zeros((1, len(cov)))
    P[0, asset] = 1.0
    lo, hi = sorted((c1, c2))
    gap_lo = abs(q - posterior(pi, cov, P, [q], confidences=[lo]).returns.iloc[asset])
    gap_hi = abs(q - posterior(pi, cov, P, [q], confidences=[hi]).returns.iloc[asset])
    assert gap_hi <= gap_lo + 1e-12


def test_agrees_with_pyportfolioopt_on_the_sample(sample_window, sample_estimates):
    from pypfopt.black_litterman import BlackLittermanModel, market_implied_prior_returns
    from pypfopt.black_litterman import market_implied_risk_aversion as pypfopt_delta

    _, cov = sample_estimates
    caps = sample_window.market_caps
    delta = market_implied_risk_aversion(sample_window.benchmark, 0.02)
    assert delta == pytest.approx(pypfopt_delta(sample_window.benchmark, 252, 0.02), rel=1e-12)
    pi = market_implied_returns(cov, market_weights(caps, cov.index), delta, 0.02)
    pd.testing.assert_series_equal(
        pi, market_implied_prior_returns(caps, delta, cov, 0.02), check_names=False
    )
    views = parse_views(
        [
            {"kind": "absolute", "assets": "JPM", "return": 0.08, "confidence": 0.6},
            {
                "kind": "relative",
                "assets": "MSFT",
                "versus": "AAPL",
                "return": 0.02,
                "confidence": 0.3,
            },  # fmt: skip
            {
                "kind": "relative",
                "assets": "XOM, CVX",
                "versus": "PG KO PEP",
                "return": 0.03,
                "basket": "market_cap",
                "confidence": 0.9,
            },  # fmt: skip
        ],
        list(cov.index),
        market_caps=caps,
    )
    ours = posterior(pi, cov, views.P, views.Q, confidences=views.confidences)
    for omega in ("default", "idzorek"):
        kwargs = {"view_confidences": views.confidences} if omega == "idzorek" else {}
        bl = BlackLittermanModel(
            cov, pi=pi, P=views.P.to_numpy(), Q=views.Q.to_numpy(), omega=omega, **kwargs
        )
        ref = posterior(
            pi, cov, views.P, views.Q, confidences=views.confidences if omega == "idzorek" else None
        )
        np.testing.assert_allclose(ref.returns, bl.bl_returns(), atol=1e-12)
        np.testing.assert_allclose(ref.cov, bl.bl_cov(), atol=1e-12)
    np.testing.assert_allclose(ours.omega, bl.omega, rtol=1e-12)


def test_parse_views_builds_pick_rows():
    universe = ["A", "B", "C", "D"]
    caps = {"A": 3.0, "B": 1.0, "C": 1.0, "D": 1.0}
    views = parse_views(
        [
            {"kind": "absolute", "assets": "a", "return": 0.08},
            {},  # blank row: skipped
            {
                "kind": "relative",
                "assets": "A+B",
                "versus": "C",
                "return": 0.02,
                "basket": "market_cap",
                "confidence": 0.25,
            },  # fmt: skip
        ],
        universe,
        market_caps=caps,
    )
    np.testing.assert_allclose(views.P.to_numpy(), [[1, 0, 0, 0], [0.75, 0.25, -1, 0]])
    assert views.rows == (0, 2)
    np.testing.assert_allclose(views.confidences, [0.5, 0.25])
    assert views.labels[1] == "A + B outperform C by 2.00 % a year"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"kind": "absolute", "assets": "ZZZ", "return": 0.1}], "unknown ticker 'ZZZ'"),
        ([{"kind": "absolute", "assets": "E", "return": 0.1}], "E is outside the universe"),
        ([{"kind": "relative", "assets": "A", "return": 0.1}], "needs the assets it outperforms"),
        ([{"kind": "relative", "assets": "A", "versus": "A, B", "return": 0.1}], "both sides"),
        ([{"kind": "absolute", "assets": "A"}], "give the expected return"),
        ([{"kind": "absolute", "assets": "A", "return": 0.1, "confidence": 1.5}], "between 0"),
        (
            [
                {"kind": "absolute", "assets": "A", "return": 0.1},
                {"kind": "absolute", "assets": "A", "return": 0.2},
            ],  # fmt: skip
            "View 2 (A returns 20.00 % a year) repeats view 1",
        ),
        (
            [
                {"kind": "absolute", "assets": "A", "return": 0.1},
                {"kind": "absolute", "assets": "B", "return": 0.05},
                {"kind": "relative", "assets": "A", "versus": "B", "return": 0.05},
            ],  # fmt: skip
            "is a combination of views 1 and 2",
        ),
        ("__eval__", "unknown ticker"),
    ],
)
def test_parse_views_rejects_bad_views_and_says_which(rows, message):
    if rows == "__eval__":
        rows = [{"kind": "absolute", "assets": "__import__('os').system('true')", "return": 0.1}]
    with pytest.raises(ViewError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_views(rows, ["A", "B", "C", "D"], known_tickers=["A", "B", "C", "D", "E"])


def test_extreme_view_returns_warn_but_parse():
    views = parse_views([{"kind": "absolute", "assets": "A", "return": 8.0}], ["A", "B"])
    assert views.warnings and "beyond" in views.warnings[0]


def test_check_views_names_a_dependent_view():
    with pytest.raises(ViewError, match="View 3 is a combination of views 1 and 2"):
        check_views(np.array([[1.0, 0, 0], [0, 1.0, 0], [2.0, -1.0, 0]]))


def test_bad_inputs_raise_ballast_errors(hl):
    cov, w, pi, P = hl
    with pytest.raises(ViewError, match="either view confidences or omega"):
        posterior(pi, cov, P, [0.05, 0.03], confidences=[0.5, 0.5], omega=[0.1, 0.1])
    with pytest.raises(ViewError, match="Q has 1 values for 2 views"):
        posterior(pi, cov, P, [0.05])
    with pytest.raises(ViewError, match="delta must be positive"):
        market_implied_returns(cov, w, -1.0)
    with pytest.raises(ViewError, match="No market capitalisation for USA"):
        market_weights({c: 1.0 for c in HL_COUNTRIES[:-1]}, HL_COUNTRIES)
    with pytest.raises(ViewError, match="between 0 and 100"):
        idzorek_omega(P.to_numpy(), cov.to_numpy(), [0.5, -0.1], TAU)
    falling = pd.Series(np.linspace(100, 80, 300))
    with pytest.raises(EstimationError, match="enter delta by hand"):
        market_implied_risk_aversion(falling, 0.02)


def test_user_given_view_variance(hl):
    cov, _, pi, P = hl
    tight = posterior(pi, cov, P.iloc[:1], [0.05], omega=[1e-12])
    assert abs(P.iloc[0] @ tight.returns - 0.05) < 1e-6
    loose = posterior(pi, cov, P.iloc[:1], [0.05], omega=np.array([[1e6]]))
    np.testing.assert_allclose(loose.returns, pi, atol=1e-6)
