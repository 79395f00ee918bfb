"""Execution: whole-share orders from target weights.

Conventions
-----------
Weights are decimal fractions of capital; prices and capital are in the currency of the data;
shares are whole numbers (negative for a short position). Achieved weights are share values over
the capital, so the cash left over is ``1 - sum(achieved)`` of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.exceptions import ExecutionError

__all__ = ["OrderList", "whole_share_orders"]


@dataclass(frozen=True)
class OrderList:
    """Whole-share orders that implement target weights with some capital.

    Attributes
    ----------
    orders : DataFrame (n_assets, 6)
        Indexed by ticker; columns ``target_weight`` (decimal), ``price``, ``shares`` (int),
        ``value`` (shares x price), ``achieved_weight`` (value / capital, decimal) and
        ``weight_difference`` (achieved - target, decimal).
    capital : float
        Capital to invest.
    leftover_cash : float
        Capital not spent (plus short-sale proceeds), in the currency of the prices.
    """

    orders: pd.DataFrame
    capital: float
    leftover_cash: float

    @property
    def tracking_difference(self) -> float:
        """Sum of absolute differences between achieved and target weights (decimal)."""
        return float(self.orders["weight_difference"].abs().sum())


def whole_share_orders(
    weights: pd.Series, prices: pd.Series, capital: float, *, tolerance: float = 1e-6
) -> OrderList:
    """Whole-share orders as close as the capital allows to the target weights.

    Each position starts at the whole number of shares its target value allows, rounded toward
    zero; the leftover cash then buys, one share at a time, the asset whose value is furthest
    below its target relative to its price, while the cash covers its price (a greedy
    largest-remainder rule, as PyPortfolioOpt's ``DiscreteAllocation.greedy_portfolio``).

    Parameters
    ----------
    weights : Series (n_assets,)
        Target decimal weights indexed by ticker (negative for shorts).
    prices : Series
        Latest price per ticker; may hold more tickers than ``weights`` (only those weighted
        are used: PyPortfolioOpt's ``lp_portfolio`` fails on that case).
    capital : float
        Money to invest, positive, in the prices' currency.
    tolerance : float
        Weights smaller than this in absolute value are treated as zero.

    Returns
    -------
    OrderList

    Raises
    ------
    ExecutionError
        Non-positive capital, or a missing, non-finite or non-positive price for a weighted
        asset.

    References
    ----------
    PyPortfolioOpt ``discrete_allocation.DiscreteAllocation.greedy_portfolio`` (Martin 2021).
    """
    if not np.isfinite(capital) or capital <= 0:
        raise ExecutionError("The capital to invest must be a positive amount.")
    weights = weights.astype(float)
    held = weights[weights.abs() > tolerance]
    px = prices.reindex(weights.index).astype(float)
    bad = [t for t in held.index if not (np.isfinite(px[t]) and px[t] > 0)]
    if bad:
        raise ExecutionError(f"No valid latest price for {', '.join(bad)}: cannot size orders.")
    target_value = weights * capital
    shares = pd.Series(0, index=weights.index, dtype=np.int64)
    for t in held.index:
        shares[t] = int(np.trunc(target_value[t] / px[t]))
    cash = capital - float((shares[held.index] * px[held.index]).sum())
    longs = [t for t in held.index if held[t] > 0]
    while longs:
        shortfall = {
            t: (target_value[t] - shares[t] * px[t]) / px[t] for t in longs if px[t] <= cash + 1e-9
        }
        if not shortfall:
            break
        best = max(shortfall, key=shortfall.get)
        if shortfall[best] <= 0:
            break
        shares[best] += 1
        cash -= px[best]
    value = shares * px.fillna(0.0)
    orders = pd.DataFrame(
        {
            "target_weight": weights,
            "price": px,
            "shares": shares,
            "value": value,
            "achieved_weight": value / capital,
        }
    )
    orders["weight_difference"] = orders["achieved_weight"] - orders["target_weight"]
    orders.index.name = "ticker"
    return OrderList(orders=orders, capital=float(capital), leftover_cash=float(cash))
