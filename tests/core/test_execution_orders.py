"""Whole-share orders: exact cases, budget, agreement with PyPortfolioOpt's greedy rule."""

from __future__ import annotations

import pandas as pd
import pytest
from pypfopt import DiscreteAllocation

from core.exceptions import ExecutionError
from core.execution import whole_share_orders
from core.reporting import allocation_csv


def test_exact_when_capital_divides_evenly():
    w = pd.Series({"A": 0.5, "B": 0.5})
    p = pd.Series({"A": 10.0, "B": 25.0, "C": 3.0})
    o = whole_share_orders(w, p, 1000)
    assert o.orders.loc["A", "shares"] == 50 and o.orders.loc["B", "shares"] == 20
    assert o.leftover_cash == pytest.approx(0.0)


def test_budget_never_exceeded_and_close_to_target(sample_estimates, sample):
    from core.optimization import optimize

    mu, cov = sample_estimates
    w = optimize(mu, cov, "min_volatility").weights
    prices = sample.prices.iloc[-1]
    o = whole_share_orders(w, prices, 100_000)
    spent = (o.orders["shares"] * o.orders["price"]).sum()
    assert spent + o.leftover_cash == pytest.approx(100_000)
    assert o.leftover_cash >= 0
    assert o.leftover_cash < prices[w[w > 0].index].max()
    assert o.orders["weight_difference"].abs().max() < prices.max() / 100_000
    # Same total invested as PyPortfolioOpt's greedy rule, within one share of the dearest stock.
    da = DiscreteAllocation(w[w > 1e-6].to_dict(), prices[w[w > 1e-6].index], 100_000)
    _, leftover = da.greedy_portfolio()
    assert abs(leftover - o.leftover_cash) <= prices[w[w > 0].index].max()


def test_bad_inputs():
    w = pd.Series({"A": 1.0})
    with pytest.raises(ExecutionError, match="positive"):
        whole_share_orders(w, pd.Series({"A": 10.0}), 0)
    with pytest.raises(ExecutionError, match="No valid latest price for A"):
        whole_share_orders(w, pd.Series({"A": float("nan")}), 1000)


def test_greedy_rule_by_hand_shorts_and_ties():
    """Leftover cash buys one share at a time where the shortfall (in shares) is largest.

    By hand: capital 1000, weights A 0.5, B 0.3, C 0.2, D -0.1 (short), E 0; prices 30, 70,
    45, 20, 5. Truncated shares 16, 4, 4, -5 spend 600 of the 1000 with the short's proceeds
    (480 + 280 + 180 - 100 = 840; cash 160). Shortfalls in shares: A 0.667, B 0.286,
    C 0.444: A (cash 130, shortfall now -0.333), then C (85, -0.556), then B (15, -0.714);
    nothing is both affordable and short of its target, so 15 stays in cash. The short is
    never topped up, E (no weight) gets nothing. A tie goes to the first asset in the weights'
    order.
    """
    w = pd.Series({"A": 0.5, "B": 0.3, "C": 0.2, "D": -0.1, "E": 0.0})
    p = pd.Series({"A": 30.0, "B": 70.0, "C": 45.0, "D": 20.0, "E": 5.0})
    o = whole_share_orders(w, p, 1000)
    assert o.orders["shares"].to_dict() == {"A": 17, "B": 5, "C": 5, "D": -5, "E": 0}
    assert o.leftover_cash == pytest.approx(15.0)
    assert o.orders["shares"].dtype == "int64"
    tie = whole_share_orders(pd.Series({"X": 0.5, "Y": 0.5}), pd.Series({"X": 30.0, "Y": 30.0}),
                             1000)  # fmt: skip
    # 16 + 16 shares spend 960; 40 left buys one more, for X (first of the equal shortfalls)
    assert tie.orders["shares"].to_dict() == {"X": 17, "Y": 16}
    assert tie.leftover_cash == pytest.approx(10.0)


def test_allocation_csv_parses_back():
    import io

    o = whole_share_orders(pd.Series({"A": 0.6, "B": 0.4}), pd.Series({"A": 7.0, "B": 3.0}), 1000)
    frame = pd.read_csv(io.BytesIO(allocation_csv(o, pd.Series({"A": "Tech", "B": "Energy"}))))
    assert list(frame.columns) == [
        "ticker", "sector", "weight", "shares", "price", "value", "achieved_weight"
    ]  # fmt: skip
    assert frame["ticker"].tolist() == ["A", "B", "CASH"]
    assert frame.loc[frame.ticker == "CASH", "value"].item() == pytest.approx(o.leftover_cash)
