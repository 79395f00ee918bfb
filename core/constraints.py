"""Portfolio constraints shared by the optimiser, the efficient frontier and the backtest.

Conventions
-----------
Weights are decimal fractions of capital that sum to 1 (fully invested). A negative weight is a
short position and is allowed only when ``long_only`` is False. Volatilities are annualised
decimals. :meth:`Constraints.linear_form` turns the constraints into the matrices that every
solver in Ballast consumes, so that each constraint is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    """

    long_only: bool = True
    weight_bounds: tuple[float, float] = (0.0, 1.0)
    asset_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    sectors: Mapping[str, str] = field(default_factory=dict)
    sector_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    max_volatility: float | None = None

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
        for i, t in enumerate(tickers):
            if t in self.asset_bounds:
                lower[i], upper[i] = (float(x) for x in self.asset_bounds[t])
        if self.long_only:
            lower = np.maximum(lower, 0.0)
        bad = [t for t, lo, hi in zip(tickers, lower, upper, strict=True) if lo > hi + 1e-12]
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
        tickers = list(tickers)
        lower, upper = self.bounds(tickers)
        if lower.sum() > 1 + 1e-9:
            raise InfeasibleConstraintsError(
                f"The minimum weights add up to {lower.sum():.1%}, more than 100 %: lower them."
            )
        if upper.sum() < 1 - 1e-9:
            raise InfeasibleConstraintsError(
                f"The maximum weights add up to {upper.sum():.1%}, less than 100 %: with "
                f"{len(tickers)} assets the maximum weight must be at least {1 / len(tickers):.1%}."
            )
        rows: list[np.ndarray] = []
        h: list[float] = []
        labels: list[str] = []
        sector_of = pd.Series({t: self.sectors.get(t, "Unknown") for t in tickers})
        mins = {s: float(b[0]) for s, b in self.sector_bounds.items()}
        maxs = {s: float(b[1]) for s, b in self.sector_bounds.items()}
        for s in self.sector_bounds:
            if mins[s] > maxs[s] + 1e-12:
                raise InfeasibleConstraintsError(f"Sector {s}: the minimum is above the maximum.")
        if sum(max(v, 0.0) for v in mins.values()) > 1 + 1e-9 and self.long_only:
            raise InfeasibleConstraintsError(
                f"The sector minimums add up to {sum(mins.values()):.1%}, more than 100 %: "
                "lower some of them."
            )
        covered = set(self.sector_bounds)
        if covered >= set(sector_of) and sum(maxs.values()) < 1 - 1e-9:
            raise InfeasibleConstraintsError(
                f"The sector maximums add up to {sum(maxs.values()):.1%}, less than 100 %: "
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
