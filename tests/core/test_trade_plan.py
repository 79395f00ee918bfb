"""Trade plan round trips, holdings input, and stop/take-profit formulas by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import risk
from core.exceptions import ExecutionError
from core.execution import (
    check_holdings,
    holdings_from_frame,
    portfolio_limits,
    stop_levels,
    stop_levels_csv,
    trade_plan,
    trade_plan_csv,
    whole_share_orders,
)

PRICES = pd.Series({"A": 100.0, "B": 50.0, "C": 20.0, "D": 7.5})
TARGET = pd.Series({"A": 0.4, "B": 0.3, "C": 0.3})


def test_round_trip_and_cash_with_zero_costs():
    plan = trade_plan({"A": 10, "D": 100}, 5_000.0, TARGET, PRICES, cost_bps=0.0)
    t = plan.trades
    np.testing.assert_array_equal(t["current_shares"] + t["trade_shares"], t["final_shares"])
    assert plan.portfolio_value == pytest.approx(10 * 100 + 100 * 7.5 + 5_000)
    # No band, no minimum, no costs: the final positions are the whole-share orders of the target.
    orders = whole_share_orders(TARGET.reindex(t.index).fillna(0), PRICES, plan.portfolio_value)
    np.testing.assert_array_equal(t["final_shares"], orders.orders["shares"].astype(float))
    assert t.loc["D", "action"] == "Sell" and t.loc["D", "final_shares"] == 0
    assert plan.cash_after == pytest.approx(5_000 - t["trade_value"].sum())
    assert plan.cash_after == pytest.approx(orders.leftover_cash)
    assert plan.costs == 0


@settings(max_examples=40, deadline=None)
@given(
    shares=st.lists(st.integers(0, 400), min_size=4, max_size=4),
    cash=st.floats(0, 50_000),
    bps=st.floats(0, 100),
    band=st.sampled_from([0.0, 0.02]),
    min_trade=st.sampled_from([0.0, 500.0]),
)
def test_round_trip_property(shares, cash, bps, band, min_trade):
    holdings = dict(zip(PRICES.index, shares, strict=True))
    if sum(shares) == 0 and cash < 1:
        cash = 1_000.0
    plan = trade_plan(holdings, cash, TARGET, PRICES, cost_bps=bps, no_trade_band=band,
                      min_trade_value=min_trade)  # fmt: skip
    t = plan.trades
    np.testing.assert_array_equal(t["current_shares"] + t["trade_shares"], t["final_shares"])
    assert (t["trade_shares"] == np.round(t["trade_shares"])).all()  # whole shares
    assert plan.cash_after >= -1e-6
    assert plan.costs == pytest.approx(bps / 1e4 * plan.traded_value)
    assert plan.cash_after == pytest.approx(cash - t["trade_value"].sum() - plan.costs)
    assert plan.turnover == pytest.approx(plan.traded_value / plan.portfolio_value)
    traded = t[t["trade_shares"] != 0]
    assert (traded["trade_value"].abs() >= min_trade - 1e-9).all()


def test_band_and_minimum_skip_trades():
    # Current weights: A 40 %, B 30 %, C 29 %; value 10_000.
    holdings = {"A": 40, "B": 60, "C": 145}
    plan = trade_plan(holdings, 100.0, TARGET, PRICES, cost_bps=0, no_trade_band=0.02)
    assert (plan.trades["trade_shares"] == 0).all()
    assert plan.trades.loc["C", "note"] == "within the no-trade band"
    plan = trade_plan(holdings, 100.0, TARGET, PRICES, cost_bps=0, min_trade_value=1_000)
    assert (plan.trades["trade_shares"] == 0).all()


def test_costs_are_paid_from_cash():
    plan = trade_plan({}, 10_000.0, TARGET, PRICES, cost_bps=50)
    assert plan.costs == pytest.approx(0.005 * plan.traded_value)
    assert 0 <= plan.cash_after < 100  # less than one share of A left over
    csv = pd.read_csv(__import__("io").BytesIO(trade_plan_csv(plan)))
    assert csv["ticker"].iloc[-1] == "CASH"
    assert csv["final_value"].iloc[-1] == pytest.approx(plan.cash_after)


def test_holdings_checks():
    assert check_holdings({"A": 1, "ZZZ": 3, "Q": 0}, ["A", "B"]) == ["ZZZ"]
    with pytest.raises(ExecutionError, match="Negative shares for B"):
        check_holdings({"A": 1, "B": -2}, ["A", "B"], long_only=True)
    assert check_holdings({"A": 1, "B": -2}, ["A", "B"], long_only=False) == []


def test_holdings_from_frames():
    shares, cash = holdings_from_frame(
        pd.DataFrame({"Ticker": ["a", "B", "CASH"], "Shares": [3, 4, 250.0]}), PRICES
    )
    assert shares == {"A": 3.0, "B": 4.0} and cash == 250.0
    shares, cash = holdings_from_frame(
        pd.DataFrame({"ticker": ["A", "C"], "weight": [50, 50]}), PRICES, 1_010.0
    )
    # 505 / 100 -> 5 shares of A; 505 / 20 -> 25 shares of C; cash 1010 - 500 - 500.
    assert shares == {"A": 5.0, "C": 25.0} and cash == pytest.approx(10.0)
    with pytest.raises(ExecutionError, match="'shares' or a 'weight'"):
        holdings_from_frame(pd.DataFrame({"ticker": ["A"], "qty": [1]}), PRICES)
    with pytest.raises(ExecutionError, match="portfolio's value"):
        holdings_from_frame(pd.DataFrame({"ticker": ["A"], "weight": [1]}), PRICES)


@pytest.fixture(scope="module")
def history(sample):
    return sample.prices.loc["2020-01-01":, ["AAPL", "KO", "XOM"]]


def test_volatility_stop_and_take_profit_by_hand(history):
    mu = pd.Series({"AAPL": 0.20, "KO": 0.05, "XOM": -0.10})
    vol = pd.Series({"AAPL": 0.30, "KO": 0.15, "XOM": 0.40})
    lv = stop_levels(history, mu, vol, method="volatility", k_stop=2.0, k_take=1.5, horizon=21)
    p = history.iloc[-1]["AAPL"]
    s = 0.30 * math.sqrt(21 / 252)  # 0.0866025
    assert lv.loc["AAPL", "stop_loss"] == pytest.approx(p * (1 - 2 * s))
    assert lv.loc["AAPL", "stop_distance"] == pytest.approx(-2 * s)
    assert lv.loc["AAPL", "take_profit"] == pytest.approx(p * (1 + 0.20 * 21 / 252 + 1.5 * s))
    assert lv.loc["XOM", "take_distance"] == pytest.approx(
        -0.10 * 21 / 252 + 1.5 * 0.40 * math.sqrt(21 / 252)
    )
    # A stop more than 100 % below the price is floored at zero.
    wild = stop_levels(history, mu, vol * 10, k_stop=5.0, horizon=252)
    assert (wild["stop_loss"] >= 0).all()


@pytest.mark.parametrize("method", ["var", "cvar"])
def test_var_and_cvar_stops_use_core_risk(history, method):
    mu = pd.Series(0.0, index=history.columns)
    vol = pd.Series(0.2, index=history.columns)
    lv = stop_levels(history, mu, vol, method=method, confidence=0.99, horizon=5)
    r = history["KO"].pct_change().dropna()
    f = risk.value_at_risk if method == "var" else risk.conditional_value_at_risk
    loss = f(r, 0.99, "historical", 5)
    assert lv.loc["KO", "stop_loss"] == pytest.approx(history["KO"].iloc[-1] * (1 - loss))
    assert lv.loc["KO", "stop_distance"] == pytest.approx(-loss)


def test_portfolio_limit_from_cvar(history):
    r = history.pct_change().dropna().mean(axis=1)
    lim = portfolio_limits(r, 100_000.0, 0.08, 0.16, confidence=0.95, horizon=10, k_take=1.0)
    cvar = risk.conditional_value_at_risk(r, 0.95, "historical", 10)
    assert lim["loss_limit"] == pytest.approx(100_000 * (1 - cvar))
    assert lim["cvar"] >= lim["var"]
    assert lim["take_profit"] == pytest.approx(
        100_000 * (1 + 0.08 * 10 / 252 + 0.16 * math.sqrt(10 / 252))
    )
    csv = stop_levels_csv(
        stop_levels(history, pd.Series(0.0, history.columns), pd.Series(0.2, history.columns)),
        lim,
    )
    assert b"PORTFOLIO" in csv


def test_stop_errors(history):
    mu = pd.Series(0.0, index=history.columns)
    with pytest.raises(ExecutionError, match="Unknown stop method"):
        stop_levels(history, mu, mu + 0.2, method="atr")
    with pytest.raises(ExecutionError, match="No expected return"):
        stop_levels(history, mu.iloc[:2], mu + 0.2)


def test_per_asset_cost_overrides_are_charged_on_their_trades():
    holdings, cash = {"A": 10.0, "D": 400.0}, 5_000.0
    plan = trade_plan(holdings, cash, TARGET, PRICES, cost_bps=10.0,
                      cost_overrides={"B": 200.0, "Z": 50.0})  # fmt: skip
    t = plan.trades
    assert t.loc["B", "trade_value"] != 0 and t.loc["C", "trade_value"] != 0
    assert math.isclose(t.loc["B", "cost"], 0.02 * abs(t.loc["B", "trade_value"]))
    for other in ("A", "C", "D"):
        assert math.isclose(t.loc[other, "cost"], 0.001 * abs(t.loc[other, "trade_value"]))
    assert math.isclose(plan.costs, t["cost"].sum())
    assert plan.cash_after >= -1e-9
    assert math.isclose(plan.cash_after, cash - t["trade_value"].sum() - plan.costs)
    same = trade_plan(holdings, cash, TARGET, PRICES, cost_bps=10.0, cost_overrides={})
    default = trade_plan(holdings, cash, TARGET, PRICES, cost_bps=10.0)
    pd.testing.assert_frame_equal(same.trades, default.trades)
    with pytest.raises(ExecutionError, match="negative"):
        trade_plan(holdings, cash, TARGET, PRICES, cost_overrides={"A": -1.0})
