"""Execution: whole-share orders, the trade plan from holdings to a target, stop levels.

Conventions
-----------
Weights are decimal fractions of capital; prices and capital are in the currency of the data;
shares are whole numbers (negative for a short position). Achieved weights are share values over
the capital, so the cash left over is ``1 - sum(achieved)`` of it.

Trade plan: the portfolio value is ``sum(shares x price) + cash``; a trade's value is
``trade_shares x price`` (positive = buy); costs are ``cost_bps / 10_000`` x the absolute traded
value (per-asset overrides in bps replace ``cost_bps`` for their tickers) and are paid from
cash; turnover is the absolute traded value over the portfolio value.

Stop-loss and take-profit levels are prices (or portfolio values) with their distance from the
latest price as a signed decimal (-0.08 = 8 % below). Horizons are in trading days, volatilities
and expected returns annualised (252 days a year) and scaled to the horizon by ``h / 252``
(mean) and ``sqrt(h / 252)`` (volatility); VaR and CVaR are positive loss fractions from
``core.risk``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.exceptions import ExecutionError

__all__ = [
    "OrderList",
    "whole_share_orders",
    "TradePlan",
    "check_holdings",
    "holdings_from_frame",
    "book_weights",
    "trade_plan",
    "trade_plan_csv",
    "STOP_METHODS",
    "stop_levels",
    "portfolio_limits",
    "stop_levels_csv",
]


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
    px = prices.reindex(weights.index).astype(float)
    # On arrays: the same greedy rule, without a pandas lookup per ticker and per share bought
    # (about 10 ms a call on pandas' Arrow-backed ticker index, paid on every slider move).
    w, p = weights.to_numpy(), px.to_numpy()
    held = np.flatnonzero(np.abs(w) > tolerance)
    valid = np.isfinite(p[held]) & (p[held] > 0)
    if not valid.all():
        bad = [str(t) for t in weights.index[held[~valid]]]
        raise ExecutionError(f"No valid latest price for {', '.join(bad)}: cannot size orders.")
    target_value = w * capital
    shares = np.zeros(len(w), dtype=np.int64)
    shares[held] = np.trunc(target_value[held] / p[held]).astype(np.int64)
    cash = capital - float((shares[held] * p[held]).sum())
    longs = held[w[held] > 0]
    while len(longs):
        affordable = p[longs] <= cash + 1e-9
        if not affordable.any():
            break
        shortfall = (target_value[longs] - shares[longs] * p[longs]) / p[longs]
        # the first of the largest shortfalls among the affordable, in the weights' order
        best = int(np.argmax(np.where(affordable, shortfall, -np.inf)))
        if shortfall[best] <= 0:
            break
        shares[longs[best]] += 1
        cash -= p[longs[best]]
    shares = pd.Series(shares, index=weights.index)
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


# ----------------------------------------------------------------------------- trade plan
@dataclass(frozen=True)
class TradePlan:
    """Trades that move current holdings and cash to a target allocation in whole shares.

    Attributes
    ----------
    trades : DataFrame (n_assets, 14)
        Indexed by ticker; columns ``price``, ``current_shares``, ``current_value``,
        ``current_weight``, ``target_weight``, ``target_shares`` (whole shares implementing the
        target), ``trade_shares`` (positive buy, negative sell), ``trade_value``, ``cost``,
        ``final_shares`` (= current + trade), ``final_value``, ``final_weight``, ``action``
        (Buy, Sell, Hold) and ``note`` (why a trade was skipped).
        Weights are decimals of the portfolio value.
    portfolio_value : float
        Holdings at the prices plus cash, before trading.
    cash_before, cash_after : float
        Cash before and after the trades and their costs.
    traded_value : float
        Sum of absolute trade values.
    turnover : float
        ``traded_value / portfolio_value`` (decimal).
    costs : float
        Estimated transaction costs, in money.
    """

    trades: pd.DataFrame
    portfolio_value: float
    cash_before: float
    cash_after: float
    traded_value: float
    turnover: float
    costs: float


def check_holdings(
    holdings: pd.Series | dict, universe: list[str], long_only: bool = True
) -> list[str]:
    """Check holdings and return the tickers that are not in the universe.

    Parameters
    ----------
    holdings : Series or dict
        Ticker -> number of shares.
    universe : list of str
        Tickers of the current universe.
    long_only : bool
        Whether short positions (negative shares) are disallowed.

    Returns
    -------
    list of str
        Held tickers (non-zero shares) outside the universe, in input order; the caller decides
        whether to add them to the universe or drop them.

    Raises
    ------
    ExecutionError
        Non-finite share counts, or negative shares when shorting is off.
    """
    h = pd.Series(holdings, dtype=float)
    if not np.isfinite(h.to_numpy()).all():
        raise ExecutionError("Some share counts are missing or not numbers: enter a number.")
    short = h[h < 0]
    if long_only and len(short):
        raise ExecutionError(
            f"Negative shares for {', '.join(map(str, short.index))} while shorting is off: "
            "enter positive share counts or allow short positions on the Allocation page."
        )
    return [str(t) for t in h.index if t not in set(universe) and h[t] != 0]


def holdings_from_frame(
    frame: pd.DataFrame, prices: pd.Series, portfolio_value: float | None = None
) -> tuple[dict[str, float], float | None]:
    """Holdings from a table of shares or of weights (typed or uploaded as CSV).

    Parameters
    ----------
    frame : DataFrame
        Columns ``ticker`` and either ``shares`` or ``weight`` (decimal; a value above 1.5 in
        absolute terms anywhere is read as a percentage), case-insensitive. A row with ticker
        ``CASH`` gives the cash (in money under ``shares``, or as a weight).
    prices : Series
        Latest price per ticker, to turn weights into shares.
    portfolio_value : float, optional
        Value the weights refer to; required for weights.

    Returns
    -------
    tuple of (dict, float or None)
        Ticker -> shares (whole shares, rounded toward zero, for weights), and the cash (None
        when the table gives none; for weights, the value not invested in whole shares).

    Raises
    ------
    ExecutionError
        No ticker column, neither shares nor weights, non-numeric values, duplicated tickers,
        weights without a portfolio value, or tickers without a price.
    """
    cols = {str(c).strip().lower(): c for c in frame.columns}
    if "ticker" not in cols:
        raise ExecutionError("The holdings table needs a 'ticker' column.")
    kind = "shares" if "shares" in cols else "weight" if "weight" in cols else None
    if kind is None:
        raise ExecutionError("The holdings table needs a 'shares' or a 'weight' column.")
    tickers = frame[cols["ticker"]].astype(str).str.strip().str.upper()
    values = pd.to_numeric(frame[cols[kind]], errors="coerce")
    keep = tickers.ne("") & tickers.ne("NAN") & tickers.ne("NONE")
    tickers, values = tickers[keep], values[keep]
    if values.isna().any():
        bad = tickers[values.isna()].tolist()
        raise ExecutionError(f"No number of {kind} for {', '.join(bad)}.")
    if tickers.duplicated().any():
        raise ExecutionError(f"Tickers listed twice: {', '.join(tickers[tickers.duplicated()])}.")
    table = pd.Series(values.to_numpy(dtype=float), index=tickers.to_numpy())
    cash_value = table.pop("CASH") if "CASH" in table.index else None
    if kind == "shares":
        return {str(t): float(v) for t, v in table.items()}, (
            None if cash_value is None else float(cash_value)
        )
    if portfolio_value is None or not portfolio_value > 0:
        raise ExecutionError("Give the portfolio's value to turn weights into shares.")
    if (table.abs() > 1.5).any() or (cash_value is not None and abs(cash_value) > 1.5):
        table = table / 100.0
        cash_value = None if cash_value is None else cash_value / 100.0
    px = prices.reindex(table.index).astype(float)
    missing = [t for t in table.index if not (np.isfinite(px[t]) and px[t] > 0)]
    if missing:
        raise ExecutionError(
            f"No price for {', '.join(missing)} in the loaded data: load it, or give shares."
        )
    shares = np.trunc(table * portfolio_value / px)
    cash = portfolio_value - float((shares * px).sum())
    return {str(t): float(v) for t, v in shares.items()}, cash


def book_weights(
    holdings: pd.Series | dict, cash: float, prices: pd.Series
) -> tuple[pd.Series, float, float]:
    r"""Weights of the book: holdings at the latest prices and cash, as decimals of its value.

    .. math:: w_{0,i} = n_i p_i / V, \quad V = \sum_i n_i p_i + \text{cash}

    Parameters
    ----------
    holdings : Series or dict
        Ticker -> shares held (negative = short).
    cash : float
        Cash held, in the prices' currency.
    prices : Series
        Latest price per ticker, covering the held tickers.

    Returns
    -------
    tuple of (Series, float, float)
        ``w0`` indexed by the held tickers (non-zero shares), the cash weight
        ``cash / V = 1 - sum(w0)``, and the book's value ``V``.

    Raises
    ------
    ExecutionError
        Share counts or cash that are not numbers, held tickers without a positive price, or a
        book without a positive value.

    References
    ----------
    Grinold & Kahn (2000), *Active Portfolio Management*, ch. 14 (holdings as weights of the
    portfolio's value).
    """
    h = pd.Series(holdings, dtype=float)
    h = h[h != 0]
    if not np.isfinite(h.to_numpy()).all() or not np.isfinite(float(cash)):
        raise ExecutionError("Share counts and cash must be numbers.")
    px = prices.reindex(h.index).astype(float)
    bad = [str(t) for t in h.index if not (np.isfinite(px[t]) and px[t] > 0)]
    if bad:
        raise ExecutionError(f"No valid latest price for the holdings {', '.join(bad)}.")
    values = h * px
    value = float(values.sum() + cash)
    if not value > 0:
        raise ExecutionError("The book (holdings at the latest prices plus cash) has no positive "
                             "value: enter the shares and cash held.")  # fmt: skip
    return (values / value).rename("weight"), float(cash) / value, value


def trade_plan(
    holdings: pd.Series | dict,
    cash: float,
    target_weights: pd.Series,
    prices: pd.Series,
    *,
    cost_bps: float = 10.0,
    min_trade_value: float = 0.0,
    no_trade_band: float = 0.0,
    cost_overrides: Mapping[str, float] | None = None,
) -> TradePlan:
    """Trades from current holdings and cash to target weights, in whole shares.

    The target shares are :func:`whole_share_orders` of the target weights for the portfolio's
    value less a reserve for the costs (reduced until the cash after trades and costs is not
    negative). Trades smaller than ``min_trade_value`` in money, or on assets whose current
    weight is within ``no_trade_band`` of the target, are skipped; if skipped sells leave too
    little cash, buys are trimmed one share at a time, the most overweight first.

    Parameters
    ----------
    holdings : Series or dict
        Ticker -> current shares (fractional shares are kept; the trades then make them whole).
    cash : float
        Current cash, in the prices' currency.
    target_weights : Series (n_assets,)
        Target decimal weights (``OptimizationResult.weights``); held tickers missing here are
        sold.
    prices : Series
        Latest price per ticker (covering held and targeted tickers).
    cost_bps : float
        Estimated transaction costs in basis points of traded value.
    min_trade_value : float
        Smallest trade worth placing, in money (0: no minimum).
    no_trade_band : float
        Decimal weight band: no trade where ``|current - target weight| < band``.
    cost_overrides : mapping of str to float, optional
        Ticker -> costs in basis points of traded value, replacing ``cost_bps`` for that
        ticker (the optimiser's per-asset costs).

    Returns
    -------
    TradePlan
        ``current_shares + trade_shares == final_shares`` per asset; with no band and no
        minimum, ``final_shares`` are whole-share orders of the target.

    Raises
    ------
    ExecutionError
        Missing or non-positive prices, non-finite holdings, a non-positive portfolio value,
        negative costs, band or minimum.

    References
    ----------
    Grinold & Kahn (2000), ch. 16 on transaction costs and turnover; Donohue & Yip (2003),
    "Optimal portfolio rebalancing with transaction costs" on no-trade bands.
    """
    overrides = {str(t): float(c) for t, c in (cost_overrides or {}).items()}
    if (cost_bps < 0 or min_trade_value < 0 or no_trade_band < 0
            or any(not c >= 0 for c in overrides.values())):  # fmt: skip
        raise ExecutionError("Costs, minimum trade size and no-trade band must not be negative.")
    h = pd.Series(holdings, dtype=float)
    h = h[h != 0]
    target = target_weights.astype(float)
    tickers = list(dict.fromkeys([*target.index, *h.index]))
    px = prices.reindex(tickers).astype(float)
    needed = [t for t in tickers if t in h.index or abs(target.get(t, 0.0)) > 1e-10]
    bad = [t for t in needed if not (np.isfinite(px[t]) and px[t] > 0)]
    if bad:
        raise ExecutionError(f"No valid latest price for {', '.join(bad)}: cannot plan trades.")
    if not np.isfinite(h.to_numpy()).all() or not np.isfinite(cash):
        raise ExecutionError("Holdings and cash must be numbers.")
    current = h.reindex(tickers).fillna(0.0)
    px = px.fillna(0.0)
    value = float((current * px).sum() + cash)
    if not value > 0:
        raise ExecutionError("The portfolio (holdings plus cash) has no positive value.")
    tw = target.reindex(tickers).fillna(0.0)
    cw = current * px / value
    rate = pd.Series(cost_bps, index=tickers, dtype=float)  # decimal per unit traded
    rate.update(pd.Series({t: c for t, c in overrides.items() if t in rate.index}, dtype=float))
    rate /= 10_000.0
    skip_band = (tw - cw).abs() < no_trade_band

    def plan(capital: float) -> tuple[pd.Series, pd.Series, pd.Series]:
        wanted = whole_share_orders(tw, px.where(px > 0, np.nan), capital).orders["shares"]
        trade = wanted.astype(float) - current
        notes = pd.Series("", index=tickers, dtype=object)
        small = (trade * px).abs() < min_trade_value
        notes[skip_band & (trade != 0)] = "within the no-trade band"
        notes[small & ~skip_band & (trade != 0)] = "below the minimum trade size"
        trade[(skip_band | small)] = 0.0
        return wanted, trade, notes

    # Reserve for the costs at the target-weighted rate; cut further below if short.
    reserve = float((rate * tw.abs()).sum() / tw.abs().sum()) if tw.abs().sum() > 0 else 0.0
    capital = value / (1.0 + reserve)
    for _ in range(50):
        wanted, trade, notes = plan(capital)
        spent = float((trade * px).sum() + (rate * (trade * px).abs()).sum())
        shortfall = spent - cash
        if shortfall <= 1e-9 or capital <= 0:
            break
        capital -= max(shortfall, 1e-6 * value)
    # Skipped sells can leave the cash short: trim buys, the most overweight first.
    while float((trade * px).sum() + (rate * (trade * px).abs()).sum()) > cash + 1e-9:
        buys = trade[trade > 0].index
        if len(buys) == 0:
            break
        over = ((current + trade) * px / value - tw)[buys]
        t = over.idxmax()
        trade[t] -= 1.0
        notes[t] = "trimmed: not enough cash"
    trade_value = trade * px
    costs = rate * trade_value.abs()
    final = current + trade
    action = np.where(trade > 0, "Buy", np.where(trade < 0, "Sell", "Hold"))
    table = pd.DataFrame(
        {
            "price": px,
            "current_shares": current,
            "current_value": current * px,
            "current_weight": cw,
            "target_weight": tw,
            "target_shares": wanted.astype(float),
            "trade_shares": trade,
            "trade_value": trade_value,
            "cost": costs,
            "final_shares": final,
            "final_value": final * px,
            "final_weight": final * px / value,
            "action": action,
            "note": notes,
        }
    )
    table.index.name = "ticker"
    traded = float(trade_value.abs().sum())
    cost = float(costs.sum())
    return TradePlan(
        trades=table,
        portfolio_value=value,
        cash_before=float(cash),
        cash_after=float(cash - trade_value.sum() - cost),
        traded_value=traded,
        turnover=traded / value,
        costs=cost,
    )


def _money_headers(frame: pd.DataFrame, columns: tuple[str, ...], currency: str) -> pd.DataFrame:
    """Money columns named with their currency (``price_USD``), when it is known."""
    if not currency:
        return frame
    return frame.rename(columns={c: f"{c}_{currency}" for c in columns if c in frame.columns})


def _csv(frame: pd.DataFrame) -> bytes:
    from core.reporting import csv_bytes  # numbers without float noise, text made safe

    return csv_bytes(frame)


def trade_plan_csv(plan: TradePlan, currency: str = "") -> bytes:
    """The trade plan as CSV bytes (UTF-8), one row per asset, weights as decimals.

    Numbers stay machine-readable (no thousands separators), rounded to 12 significant digits;
    money columns carry the currency in their name (``trade_value_USD``) when it is given.

    Parameters
    ----------
    plan : TradePlan
        From :func:`trade_plan`.
    currency : str
        Currency of the prices (e.g. ``"USD"``); empty when unknown.

    Returns
    -------
    bytes
        The columns of ``plan.trades`` with a ``ticker`` column first, then a ``CASH`` row: cash
        before the trades in ``current_value`` / ``current_weight``, total costs in ``cost``,
        cash after trades and costs in ``final_value`` / ``final_weight``.
    """
    frame = plan.trades.reset_index()
    cash = {c: None for c in frame.columns}
    cash.update(
        ticker="CASH",
        current_value=plan.cash_before,
        current_weight=plan.cash_before / plan.portfolio_value,
        cost=plan.costs,
        final_value=plan.cash_after,
        final_weight=plan.cash_after / plan.portfolio_value,
        action="Cash",
    )
    frame = pd.concat([frame, pd.DataFrame([cash])], ignore_index=True)
    money = ("price", "current_value", "trade_value", "cost", "final_value")
    return _csv(_money_headers(frame, money, currency))


# ------------------------------------------------------------------------------ stop levels
#: Stop-loss methods: name -> label for the user.
STOP_METHODS: dict[str, str] = {
    "volatility": "Volatility: price x (1 - k sigma sqrt(h))",
    "var": "Value at risk of the asset over the horizon",
    "cvar": "CVaR (expected shortfall) of the asset over the horizon",
}


def stop_levels(
    prices: pd.DataFrame,
    expected_returns: pd.Series,
    volatilities: pd.Series,
    *,
    method: str = "volatility",
    k_stop: float = 2.0,
    k_take: float = 1.0,
    confidence: float = 0.95,
    horizon: int = 10,
    var_method: str = "historical",
    periods_per_year: int = 252,
) -> pd.DataFrame:
    r"""Stop-loss and take-profit prices per asset.

    .. math::
        S^{vol} = P (1 - k_s \sigma \sqrt{h / 252}), \quad
        S^{VaR} = P (1 - \mathrm{VaR}_{c,h}), \quad
        T = P (1 + \mu h / 252 + k_t \sigma \sqrt{h / 252})

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Daily adjusted closes; the last row is the reference price, the history feeds VaR/CVaR.
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns (the chosen estimator or the Black-Litterman
        posterior).
    volatilities : Series (n_assets,)
        Annualised decimal volatilities (square roots of the covariance's diagonal).
    method : {"volatility", "var", "cvar"}
        How the stop-loss is set (see :data:`STOP_METHODS`).
    k_stop : float
        Multiple of the horizon volatility below the price, for ``"volatility"``.
    k_take : float
        Multiple of the horizon volatility added to the expected return for the take-profit.
    confidence : float
        Confidence of VaR/CVaR, in (0, 1).
    horizon : int
        Horizon ``h`` in trading days.
    var_method : str
        ``core.risk`` method for VaR/CVaR (``"historical"`` uses overlapping h-day returns).
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    DataFrame (n_assets, 7)
        Indexed by ticker: ``price``, ``expected_return_h`` and ``volatility_h`` (decimal over the
        horizon), ``stop_loss``, ``stop_distance`` (``stop / price - 1``, negative),
        ``take_profit``, ``take_distance`` (positive when the expected return is not too
        negative). Stops are floored at 0.

    Raises
    ------
    ExecutionError
        Unknown method, non-positive horizon, negative multiples, or missing inputs for a ticker.
    core.exceptions.RiskInputError
        VaR/CVaR inputs out of range (confidence, too short a history).

    References
    ----------
    Kaminski & Lo (2014), "When do stop-loss rules stop losses?", Journal of Financial Markets
    18; Jorion (2006), "Value at Risk", 3rd ed., for VaR and CVaR over a horizon; Kaufman (2013),
    "Trading Systems and Methods", on volatility stops.
    """
    from core import risk

    if method not in STOP_METHODS:
        raise ExecutionError(
            f"Unknown stop method {method!r}; use one of {', '.join(STOP_METHODS)}."
        )
    if int(horizon) < 1 or k_stop < 0 or k_take < 0:
        raise ExecutionError("The horizon must be at least one day and the multiples k >= 0.")
    tickers = list(prices.columns)
    mu = expected_returns.reindex(tickers).astype(float)
    sigma = volatilities.reindex(tickers).astype(float)
    if mu.isna().any() or sigma.isna().any():
        bad = sorted(set(mu[mu.isna()].index) | set(sigma[sigma.isna()].index))
        raise ExecutionError(f"No expected return or volatility for {', '.join(bad)}.")
    last = prices.iloc[-1].astype(float)
    scale = horizon / periods_per_year
    sigma_h = sigma * np.sqrt(scale)
    mu_h = mu * scale
    if method == "volatility":
        loss = k_stop * sigma_h
    else:
        rets = prices.pct_change(fill_method=None).iloc[1:]
        measure = risk.value_at_risk if method == "var" else risk.conditional_value_at_risk
        loss = pd.Series(
            {t: measure(rets[t].dropna(), confidence, var_method, int(horizon)) for t in tickers}
        )
    stop = (last * (1.0 - loss)).clip(lower=0.0)
    take = last * (1.0 + mu_h + k_take * sigma_h)
    out = pd.DataFrame(
        {
            "price": last,
            "expected_return_h": mu_h,
            "volatility_h": sigma_h,
            "stop_loss": stop,
            "stop_distance": stop / last - 1.0,
            "take_profit": take,
            "take_distance": take / last - 1.0,
        }
    )
    out.index.name = "ticker"
    return out


def portfolio_limits(
    portfolio_returns: pd.Series,
    value: float,
    expected_return: float,
    volatility: float,
    *,
    confidence: float = 0.95,
    horizon: int = 10,
    k_take: float = 1.0,
    var_method: str = "historical",
    periods_per_year: int = 252,
) -> pd.Series:
    r"""Portfolio-level loss limit from its CVaR and a take-profit value.

    .. math:: L = V (1 - \mathrm{CVaR}_{c,h}), \quad
        T = V (1 + \mu_p h / 252 + k_t \sigma_p \sqrt{h / 252})

    Parameters
    ----------
    portfolio_returns : Series (n_observations,)
        Daily decimal returns of the portfolio (history at the current weights).
    value : float
        Portfolio value in money.
    expected_return, volatility : float
        Annualised decimal expected return and volatility of the portfolio.
    confidence : float
        CVaR confidence in (0, 1).
    horizon : int
        Horizon in trading days.
    k_take : float
        Multiple of the horizon volatility for the take-profit.
    var_method : str
        ``core.risk`` method.
    periods_per_year : int
        252 for daily data.

    Returns
    -------
    Series
        ``value``, ``var``, ``cvar`` (decimals), ``loss_limit`` (value at which to cut, money),
        ``loss_limit_distance`` (= -CVaR), ``take_profit`` (money), ``take_distance``.

    Raises
    ------
    core.exceptions.RiskInputError
        Confidence or horizon out of range, too few observations.

    References
    ----------
    Rockafellar & Uryasev (2002), "Conditional value-at-risk for general loss distributions".
    """
    from core import risk

    var = risk.value_at_risk(portfolio_returns, confidence, var_method, int(horizon))
    cvar = risk.conditional_value_at_risk(portfolio_returns, confidence, var_method, int(horizon))
    scale = horizon / periods_per_year
    take = value * (1.0 + expected_return * scale + k_take * volatility * np.sqrt(scale))
    return pd.Series(
        {
            "value": float(value),
            "var": var,
            "cvar": cvar,
            "loss_limit": value * (1.0 - cvar),
            "loss_limit_distance": -cvar,
            "take_profit": float(take),
            "take_distance": float(take / value - 1.0),
        }
    )


def stop_levels_csv(
    levels: pd.DataFrame, portfolio: pd.Series | None = None, currency: str = ""
) -> bytes:
    """Stop-loss and take-profit levels as CSV bytes (UTF-8), distances as decimals.

    Parameters
    ----------
    levels : DataFrame
        From :func:`stop_levels`.
    portfolio : Series, optional
        From :func:`portfolio_limits`; appended as a ``PORTFOLIO`` row: its value in the
        ``value`` column (``price`` is for share prices and stays empty), its levels in money.
    currency : str
        Currency of the prices, added to the money columns' names (``price_USD``).

    Returns
    -------
    bytes
        Numbers machine-readable, rounded to 12 significant digits.
    """
    frame = levels.reset_index()
    if portfolio is not None:
        row = {
            "ticker": "PORTFOLIO",
            "value": portfolio["value"],
            "stop_loss": portfolio["loss_limit"],
            "stop_distance": portfolio["loss_limit_distance"],
            "take_profit": portfolio["take_profit"],
            "take_distance": portfolio["take_distance"],
        }
        frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
    return _csv(_money_headers(frame, ("price", "stop_loss", "take_profit", "value"), currency))
