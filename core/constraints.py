"""Portfolio constraints shared by the optimiser, the efficient frontier and the backtest.

Conventions
-----------
Weights are decimal fractions of the book's value. They sum to 1 (fully invested) unless
``cash_bounds`` allow a cash weight ``1 - sum(w)`` within them. A negative weight is a short
position and is allowed only when ``long_only`` is False. Volatilities and tracking errors are
annualised decimals. :meth:`Constraints.linear_form` turns the bounds and sector limits into the
matrices that every solver in Ballast consumes, so that each constraint is written once.

Holdings (rebalancing from a book)
----------------------------------
``current_weights`` are the book's weights ``w0`` (decimals of its value; the book's cash is the
remainder ``1 - sum(w0)``). Turnover is one-way, ``sum_i |w_i - w0_i| / 2`` over the assets
(cash not counted), so selling 10 % of one asset to buy 10 % of another is 10 % turnover.
Locked assets keep their holding ``w0_i``; a no-buy asset may only shrink (``w_i <= w0_i``), a
no-sell asset only grow (``w_i >= w0_i``). Without holdings ``w0 = 0``: the book is all cash.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.exceptions import InfeasibleConstraintsError

__all__ = ["Constraints", "LinearConstraints"]


@dataclass(frozen=True)
class LinearConstraints:
    """Constraints in matrix form for a weight vector ``w`` of ``n_assets`` entries.

    ``sum(w) == 1``, ``lower <= w <= upper`` and ``G @ w <= h``.

    Attributes
    ----------
    tickers : list of str
        Order of the weights.
    lower, upper : ndarray (n_assets,)
        Per-asset bounds (decimal weights).
    G : ndarray (n_inequalities, n_assets)
        Rows of the general inequalities (sector minimums appear negated).
    h : ndarray (n_inequalities,)
        Right-hand sides.
    labels : list of str
        One description per row of ``G``, for error messages.
    """

    tickers: list[str]
    lower: np.ndarray
    upper: np.ndarray
    G: np.ndarray
    h: np.ndarray
    labels: list[str]


@dataclass(frozen=True)
class Constraints:
    """What the user allows a portfolio to be.

    Parameters
    ----------
    long_only : bool
        No short positions; every lower bound is at least 0.
    weight_bounds : tuple of float
        Global (minimum, maximum) weight per asset, decimals, e.g. ``(0.0, 0.25)``; with shorting
        allowed the minimum may be negative, e.g. ``(-0.3, 1.0)``.
    asset_bounds : mapping of str to tuple of float
        Per-asset (minimum, maximum) that replace the global bounds for those tickers.
    sectors : mapping of str to str
        Sector of each ticker; needed for ``sector_bounds``.
    sector_bounds : mapping of str to tuple of float
        (minimum, maximum) total weight per sector, decimals.
    max_volatility : float, optional
        Upper limit on the portfolio's annualised volatility (decimal).
    current_weights : mapping or Series of str to float, optional
        The book held now, ``w0``: ticker -> decimal weight of the book's value (cash is the
        remainder). Every ticker must be in the investable universe.
    max_turnover : float, optional
        One-way turnover ``sum |w - w0| / 2`` at most this (decimal, e.g. 0.1 = 10 %).
    locked : iterable of str
        Tickers whose weight stays ``w0`` (0 without holdings).
    no_buy, no_sell : iterable of str
        Tickers that may only be sold (``w <= w0``), or only be bought (``w >= w0``).
    max_gross_exposure : float, optional
        ``sum |w|`` at most this (decimal; a 130/30 book is 1.6).
    max_long, max_short : float, optional
        Total long weight ``sum max(w, 0)`` and total short weight ``sum max(-w, 0)`` at most
        these (decimals).
    max_tracking_error : float, optional
        Annualised decimal cap on ``sqrt((w - b)' Sigma (w - b))`` against the objective's
        ``benchmark_weights`` ``b`` (see :class:`core.optimization.Objective`).
    cash_bounds : tuple of float
        (minimum, maximum) cash weight ``1 - sum(w)`` of the proposal, decimals; the default
        (0, 0) is fully invested. Cash has no risk and earns the risk-free rate.
    max_holdings : int, optional
        At most this many positions (:class:`core.compliance.MaxHoldings`).
    min_position : float, optional
        Every position held weighs at least this (decimal; :class:`core.compliance.MinPosition`).
    rules : iterable of Rule or str
        Rules of :mod:`core.compliance`, or preset names ``"ucits"``, ``"us_diversified_fund"``.
    whole_shares : tuple, optional
        ``(capital, latest_prices)`` or ``(capital, latest_prices, max_leftover_cash)``:
        integer share counts for that capital inside the optimisation.
    issuers : mapping of str to str
        Ticker -> issuer for the diversification rules (default: each ticker its own issuer).
    time_limit : float
        Seconds a mixed-integer solve may take before it returns its best portfolio and gap.
        Any of the last five options sends the problem to :mod:`core.mixed_integer`.
    max_cvar : float, optional
        CVaR limit: decimal loss per scenario period at the objective's ``cvar_confidence``
        (0.02 = 2 % a day on daily scenarios); needs scenarios (see
        :mod:`core.scenario_optimization`).

    Raises
    ------
    InfeasibleConstraintsError
        A negative or non-finite limit, or cash bounds with the minimum above the maximum.
    """

    long_only: bool = True
    weight_bounds: tuple[float, float] = (0.0, 1.0)
    asset_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    sectors: Mapping[str, str] = field(default_factory=dict)
    sector_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    max_volatility: float | None = None
    current_weights: Mapping[str, float] | pd.Series | None = None
    max_turnover: float | None = None
    locked: Iterable[str] = ()
    no_buy: Iterable[str] = ()
    no_sell: Iterable[str] = ()
    max_gross_exposure: float | None = None
    max_long: float | None = None
    max_short: float | None = None
    max_tracking_error: float | None = None
    cash_bounds: tuple[float, float] = (0.0, 0.0)
    max_holdings: int | None = None
    min_position: float | None = None
    rules: Iterable = ()
    whole_shares: tuple | None = None
    issuers: Mapping[str, str] = field(default_factory=dict)
    time_limit: float = 5.0
    max_cvar: float | None = None

    def __post_init__(self) -> None:
        from core import compliance  # the rules' own checks name bad parameters

        rules = self.rules
        object.__setattr__(self, "rules", (rules,) if isinstance(rules, str | compliance.Rule)
                           else tuple(rules))  # fmt: skip
        compliance.resolve_rules(self.rules, self.max_holdings, self.min_position)
        if not (math.isfinite(float(self.time_limit)) and float(self.time_limit) > 0):
            raise InfeasibleConstraintsError("The solver's time limit must be a positive number "
                                             "of seconds.")  # fmt: skip
        # Tuples, so that the frozen object cannot change through a list the caller keeps.
        for name in ("locked", "no_buy", "no_sell"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        labels = {
            "max_turnover": "turnover budget",
            "max_gross_exposure": "gross exposure limit",
            "max_long": "limit on the total long weight",
            "max_short": "limit on the total short weight",
            "max_tracking_error": "tracking-error cap",
            "max_cvar": "CVaR limit",
        }
        for name, label in labels.items():
            value = getattr(self, name)
            if value is not None and not (math.isfinite(float(value)) and float(value) >= 0):
                raise InfeasibleConstraintsError(
                    f"The {label} must be a non-negative number (a decimal, 0.1 = 10 %); "
                    f"got {value!r}."
                )
        lo, hi = (float(x) for x in self.cash_bounds)
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi + 1e-12:
            raise InfeasibleConstraintsError(
                f"The cash bounds ({lo:.1%}, {hi:.1%}) need a minimum at or below the maximum."
            )

    @property
    def holds_book(self) -> bool:
        """Whether any option about holdings, trades, exposure or cash is set.

        Without them the problem is the from-cash, fully invested one of the critical-line
        engine (:mod:`core.frontier`).
        """
        return (
            self.current_weights is not None
            or self.max_turnover is not None
            or bool(self.locked or self.no_buy or self.no_sell)
            or self.max_gross_exposure is not None
            or self.max_long is not None
            or self.max_short is not None
            or self.max_tracking_error is not None
            or tuple(float(x) for x in self.cash_bounds) != (0.0, 0.0)
        )

    def holdings(self, tickers: list[str], index: pd.Index | None = None) -> np.ndarray:
        """The book's weights ``w0`` in the order of ``tickers`` (zeros without holdings).

        Parameters
        ----------
        tickers : list of str
            Investable universe, in weight order.
        index : pandas.Index, optional
            The same tickers as an Index: holdings on exactly that index are taken as they are
            (no lookups by name, the common case).

        Returns
        -------
        ndarray (n_assets,)
            Decimal weights of the book's value.

        Raises
        ------
        InfeasibleConstraintsError
            Holdings, locks or no-buy/no-sell lists that name tickers outside the universe, or
            a holding that is not a finite number.
        """
        held = self.current_weights if self.current_weights is not None else {}
        if (index is not None and isinstance(held, pd.Series) and held.index.equals(index)
                and not (self.locked or self.no_buy or self.no_sell)):  # fmt: skip
            values = held.to_numpy(dtype=float)
            if np.isfinite(values).all():
                return values.copy()
        tickers = tickers.tolist() if isinstance(tickers, pd.Index) else list(tickers)
        known = set(tickers)
        if isinstance(held, pd.Series):
            held = dict(zip(held.index, held.to_numpy(dtype=float), strict=True))
        held = {k: float(v) for k, v in dict(held).items()}
        unknown = [str(t) for t, v in held.items() if t not in known and v != 0]
        if unknown:
            raise InfeasibleConstraintsError(
                f"The holdings name {', '.join(unknown)}, not in the investable universe: add "
                "them to the universe or remove them from the holdings."
            )
        for name, label in (("locked", "locked"), ("no_buy", "no-buy"), ("no_sell", "no-sell")):
            missing = [str(t) for t in getattr(self, name) if t not in known]
            if missing:
                raise InfeasibleConstraintsError(
                    f"The {label} list names {', '.join(missing)}, not in the investable "
                    "universe: remove them from it."
                )
        bad = [str(t) for t, v in held.items() if not math.isfinite(v)]
        if bad:
            raise InfeasibleConstraintsError(f"The holdings of {', '.join(bad)} are not numbers.")
        return np.array([held.get(t, 0.0) for t in tickers], dtype=float)

    def bounds(self, tickers: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per-asset lower and upper bounds.

        Parameters
        ----------
        tickers : list of str
            Universe, in weight order.

        Returns
        -------
        lower, upper : ndarray (n_assets,)
            Decimal bounds, with the long-only rule applied.

        Raises
        ------
        InfeasibleConstraintsError
            If an asset's minimum exceeds its maximum.
        """
        lo_g, hi_g = (float(x) for x in self.weight_bounds)
        lower = np.full(len(tickers), lo_g)
        upper = np.full(len(tickers), hi_g)
        if self.asset_bounds:
            for i, t in enumerate(tickers):
                if t in self.asset_bounds:
                    lower[i], upper[i] = (float(x) for x in self.asset_bounds[t])
        if self.long_only:
            lower = np.maximum(lower, 0.0)
        crossed = lower > upper + 1e-12
        bad = [t for t, c in zip(tickers, crossed.tolist(), strict=True) if c] if crossed.any() \
            else []
        if bad:
            raise InfeasibleConstraintsError(
                f"The minimum weight is above the maximum for {', '.join(bad)}."
            )
        return lower, upper

    def linear_form(self, tickers: list[str]) -> LinearConstraints:
        """The constraints as matrices, after checks that name any conflict.

        Parameters
        ----------
        tickers : list of str
            Universe, in weight order.

        Returns
        -------
        LinearConstraints

        Raises
        ------
        InfeasibleConstraintsError
            When the bounds cannot add up to 100 %, sector minimums add up to more than 100 % or
            maximums to less, or a sector's bounds conflict with its assets' bounds. The message
            names the constraints in conflict.
        """
        tickers = tickers.tolist() if isinstance(tickers, pd.Index) else list(tickers)
        lower, upper = self.bounds(tickers)
        # Invested weight sum(w) = 1 - cash, within [least, most] (both 1 when fully invested).
        least, most = 1.0 - float(self.cash_bounds[1]), 1.0 - float(self.cash_bounds[0])
        if lower.sum() > most + 1e-9:
            raise InfeasibleConstraintsError(
                f"The minimum weights add up to {lower.sum():.1%}, more than {most * 100:g} %: "
                "lower them."
            )
        if upper.sum() < least - 1e-9:
            raise InfeasibleConstraintsError(
                f"The maximum weights add up to {upper.sum():.1%}, less than "
                f"{least * 100:g} %: with "
                f"{len(tickers)} assets the maximum weight must be at least "
                f"{least / len(tickers):.1%}."
            )
        rows: list[np.ndarray] = []
        h: list[float] = []
        labels: list[str] = []
        if not self.sector_bounds:
            return LinearConstraints(tickers, lower, upper, np.zeros((0, len(tickers))),
                                     np.zeros(0), [])  # fmt: skip
        sector_of = pd.Series({t: self.sectors.get(t, "Unknown") for t in tickers})
        mins = {s: float(b[0]) for s, b in self.sector_bounds.items()}
        maxs = {s: float(b[1]) for s, b in self.sector_bounds.items()}
        for s in self.sector_bounds:
            if mins[s] > maxs[s] + 1e-12:
                raise InfeasibleConstraintsError(f"Sector {s}: the minimum is above the maximum.")
        if sum(max(v, 0.0) for v in mins.values()) > most + 1e-9 and self.long_only:
            raise InfeasibleConstraintsError(
                f"The sector minimums add up to {sum(mins.values()):.1%}, more than "
                f"{most * 100:g} %: "
                "lower some of them."
            )
        covered = set(self.sector_bounds)
        if covered >= set(sector_of) and sum(maxs.values()) < least - 1e-9:
            raise InfeasibleConstraintsError(
                f"The sector maximums add up to {sum(maxs.values()):.1%}, less than "
                f"{least * 100:g} %: "
                "raise some of them."
            )
        for s in self.sector_bounds:
            mask = (sector_of == s).to_numpy()
            if not mask.any():
                if mins[s] > 1e-12:
                    raise InfeasibleConstraintsError(
                        f"Sector {s} has a minimum of {mins[s]:.1%} but no asset in the universe."
                    )
                continue
            if upper[mask].sum() < mins[s] - 1e-9:
                raise InfeasibleConstraintsError(
                    f"Sector {s} must hold at least {mins[s]:.1%}, but its assets' maximum "
                    f"weights add up to {upper[mask].sum():.1%}."
                )
            if lower[mask].sum() > maxs[s] + 1e-9:
                raise InfeasibleConstraintsError(
                    f"Sector {s} may hold at most {maxs[s]:.1%}, but its assets' minimum "
                    f"weights add up to {lower[mask].sum():.1%}."
                )
            row = mask.astype(float)
            if maxs[s] < upper[mask].sum() - 1e-12:
                rows.append(row)
                h.append(maxs[s])
                labels.append(f"sector {s} at most {maxs[s]:.1%}")
            if mins[s] > lower[mask].sum() + 1e-12:
                rows.append(-row)
                h.append(-mins[s])
                labels.append(f"sector {s} at least {mins[s]:.1%}")
        G = np.vstack(rows) if rows else np.zeros((0, len(tickers)))
        return LinearConstraints(tickers, lower, upper, G, np.asarray(h, dtype=float), labels)
