r"""Investment restrictions as rule objects: regulatory diversification, holdings, liquidity.

Conventions
-----------
Weights are decimal fractions of the book's total value (cash included: the cash weight is
``1 - sum(w)``), a ``Series (n_assets,)`` indexed by ticker. Long-only: the rules here measure
positions by their weight, and a short position is not a holding of an issuer.

The *issuer* of a ticker is the ticker itself unless an ``issuers`` mapping says otherwise
(share classes of one company: ``{"GOOGL": "Alphabet", "GOOG": "Alphabet"}``); the
diversification rules add the weights of one issuer's tickers. A position is *held* when its
weight exceeds :data:`HELD` (1e-6).

Each rule is a small frozen object with a ``name``, a ``source`` (the regulation or the user's
own limit), its ``parameters`` and ``check(weights, book=...) -> list[Breach]``. The same object
writes its constraints into the mixed-integer optimiser (:mod:`core.mixed_integer`, method
``constrain``), so a rule is written once for the check and for the optimisation.

- :func:`ucits`: Directive 2009/65/EC (UCITS), Art. 52(1) and 52(2): at most 5 % of the assets
  in one issuer's securities, raised to 10 % provided the positions above 5 % together stay at
  most 40 %.
- :func:`us_diversified_fund`: Investment Company Act of 1940, section 5(b)(1) (15 U.S.C.
  80a-5(b)(1)): a diversified fund holds at least 75 % of its total assets in cash (and
  government securities, other funds) and positions of at most 5 % of total assets each; so the
  positions above 5 % add up to at most 25 %. The Act's other half (at most 10 % of an issuer's
  voting securities) needs the shares outstanding and is not checked.
- :class:`MaxHoldings`, :class:`MinPosition`: at most N positions; every position held is at
  least m.
- :class:`LiquidityLimit`: a position must be sellable within ``days`` trading days trading at
  most ``participation`` of the average daily volume (ADV, shares per day):

  .. math:: |w_i| C \le d \, p \, \mathrm{ADV}_i \, P_i

  with ``C`` the book's value and ``P_i`` the price. The ADV of each asset comes from the
  data's daily volume where the source has one (Yahoo; the mean of the last
  ``compliance_adv_window`` trading days to the latest price, :func:`adv_table`), and from the
  user otherwise or over it (typed, or read from an uploaded file); none is ever invented: an
  asset without one is not limited and counts as of unknown liquidity.

:func:`check` returns the table of every rule (pass or breach, by how much, which trades cause
it); :func:`name_conflicts` names rules that cannot hold together before any solve.

References
----------
Directive 2009/65/EC of the European Parliament and of the Council (13 July 2009), Art. 52;
Investment Company Act of 1940, s. 5(b)(1), 15 U.S.C. 80a-5(b)(1); Kissell (2013), "The
Science of Algorithmic Trading and Portfolio Management", ch. 2 (participation of volume).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.exceptions import InfeasibleConstraintsError

__all__ = [
    "HELD",
    "Breach",
    "Rule",
    "IssuerConcentration",
    "MaxHoldings",
    "MinPosition",
    "LiquidityLimit",
    "PRESETS",
    "ucits",
    "us_diversified_fund",
    "resolve_rules",
    "issuer_of",
    "issuer_weights",
    "check",
    "name_conflicts",
    "max_investable",
    "liquidity_position_limits",
    "days_to_execute",
    "liquidity_profile",
    "ADV_SOURCES",
    "adv_table",
    "SETUP_DEFAULTS",
    "register_setup_keys",
    "setup_terms",
]

#: A position with a weight above this (decimal) counts as held.
HELD = 1e-6
_TOL = 1e-8  # weights within this of a limit comply (solver round-off)


@dataclass(frozen=True)
class Breach:
    """One way a portfolio breaks a rule.

    Attributes
    ----------
    amount : float
        By how much, in the rule's unit: decimal weight for weight limits, a count of
        positions for :class:`MaxHoldings`, days for :class:`LiquidityLimit`.
    detail : str
        The breach in words, e.g. ``"AAPL at 12.0 % is above 10.0 %"``.
    assets : tuple of str
        Tickers involved.
    """

    amount: float
    detail: str
    assets: tuple[str, ...] = ()


def issuer_of(tickers: Iterable[str], issuers: Mapping[str, str] | None = None) -> pd.Series:
    """Issuer of each ticker: the mapping's entry, else the ticker itself.

    Parameters
    ----------
    tickers : iterable of str
        Tickers.
    issuers : mapping of str to str, optional
        Ticker -> issuer (share classes of one company share an issuer).

    Returns
    -------
    Series (n_assets,)
        Issuer names indexed by ticker.
    """
    issuers = dict(issuers or {})
    tickers = list(tickers)
    return pd.Series([str(issuers.get(t) or t) for t in tickers], index=tickers, dtype=object)


def issuer_weights(weights: pd.Series, issuers: Mapping[str, str] | None = None) -> pd.Series:
    """Total weight per issuer.

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights indexed by ticker.
    issuers : mapping of str to str, optional
        Ticker -> issuer.

    Returns
    -------
    Series
        Decimal weight per issuer, largest first.
    """
    who = issuer_of(weights.index, issuers)
    return weights.astype(float).groupby(who).sum().sort_values(ascending=False)


def _fmt(x: float) -> str:
    return f"{x * 100:.2f} %"


class Rule:
    """Interface of a rule (see the module docstring); subclasses are frozen dataclasses."""

    name: str = ""
    source: str = ""

    @property
    def parameters(self) -> dict[str, Any]:
        """The rule's editable parameters (name -> value; weights as decimals)."""
        raise NotImplementedError

    def check(
        self,
        weights: pd.Series,
        book: pd.Series | None = None,
        issuers: Mapping[str, str] | None = None,
    ) -> list[Breach]:
        """Breaches of the rule by ``weights`` (empty when it holds).

        Parameters
        ----------
        weights : Series (n_assets,)
            Decimal weights of the book's value.
        book : Series, optional
            Holdings before the trades (for rules on trades; unused by position rules).
        issuers : mapping of str to str, optional
            Ticker -> issuer.

        Returns
        -------
        list of Breach
        """
        raise NotImplementedError

    def upper_bounds(self, tickers: list[str]) -> np.ndarray | None:
        """Per-asset maximum weights the rule implies alone (None: no per-asset cap)."""
        return None

    def constrain(self, model: Any) -> list:
        """Cvxpy constraints of the rule on a :class:`core.mixed_integer.Model`."""
        return []


@dataclass(frozen=True)
class IssuerConcentration(Rule):
    r"""Per-issuer cap and a cap on the total of the positions above a threshold.

    Every issuer's weight is at most ``cap``; the issuers above ``threshold`` together weigh at
    most ``aggregate``:

    .. math:: W_k \le c, \qquad \sum_{k: W_k > t} W_k \le A

    UCITS 5/10/40 is ``t = 5 %``, ``c = 10 %``, ``A = 40 %``; the US diversified fund is
    ``t = 5 %``, ``c = 25 %``, ``A = 25 %``.

    Parameters
    ----------
    threshold : float
        Decimal weight above which a position counts toward ``aggregate``.
    cap : float
        Decimal maximum weight of one issuer.
    aggregate : float
        Decimal maximum total of the positions above ``threshold``.
    name, source : str
        Shown with the rule; the source cites the regulation.

    Raises
    ------
    InfeasibleConstraintsError
        Limits outside [0, 1] or a cap below the threshold.
    """

    threshold: float = 0.05
    cap: float = 0.10
    aggregate: float = 0.40
    name: str = "Issuer concentration"
    source: str = "user limit"

    def __post_init__(self) -> None:
        for label, value in (("threshold", self.threshold), ("cap", self.cap),
                             ("aggregate limit", self.aggregate)):  # fmt: skip
            if not (math.isfinite(float(value)) and 0 <= float(value) <= 1):
                raise InfeasibleConstraintsError(
                    f"{self.name}: the {label} must be a decimal weight between 0 and 1 "
                    f"(0.05 = 5 %); got {value!r}."
                )
        if self.cap < self.threshold:
            raise InfeasibleConstraintsError(
                f"{self.name}: the issuer cap ({_fmt(self.cap)}) is below the threshold "
                f"({_fmt(self.threshold)}); raise the cap."
            )

    @property
    def parameters(self) -> dict[str, Any]:
        """``threshold``, ``cap`` and ``aggregate`` (decimals)."""
        return {"threshold": self.threshold, "cap": self.cap, "aggregate": self.aggregate}

    def check(self, weights, book=None, issuers=None) -> list[Breach]:
        """Issuers above the cap, and the total above the threshold beyond the aggregate."""
        w = weights.astype(float).clip(lower=0.0)
        per = issuer_weights(w, issuers)
        who = issuer_of(w.index, issuers)
        out = []
        for k, v in per.items():
            if v > self.cap + _TOL:
                names = tuple(t for t in w.index if who[t] == k and w[t] > HELD)
                out.append(Breach(v - self.cap, f"{k} at {_fmt(v)} is above the "
                                  f"{_fmt(self.cap)} issuer limit", names))  # fmt: skip
        big = per[per > self.threshold + _TOL]
        if big.sum() > self.aggregate + _TOL:
            names = tuple(t for t in w.index if who[t] in set(big.index) and w[t] > HELD)
            out.append(Breach(
                float(big.sum() - self.aggregate),
                f"the {len(big)} issuers above {_fmt(self.threshold)} add up to "
                f"{_fmt(float(big.sum()))}, above the {_fmt(self.aggregate)} limit",
                names,
            ))  # fmt: skip
        return out

    def constrain(self, model: Any) -> list:
        """Issuer weight ``W_k = a_k + b_k``: ``a_k <= t``, ``b_k <= (c - t) z_k``, aggregate.

        The aggregate is ``sum_k (t z_k + b_k) <= A``.
        ``z_k`` (binary) marks the issuers allowed above the threshold; such an issuer counts
        ``t + b_k``, its whole weight when it is above ``t`` (an issuer with ``z_k = 1`` below
        ``t`` would be over-counted, so the optimum sets ``z_k = 0`` there). This split is
        tighter in the continuous relaxation than a big-M on ``W_k``.
        """
        import cvxpy as cp

        n_issuers = model.issuer_matrix.shape[0]
        W = model.issuer_matrix @ model.w
        z = model.binary(("above threshold", id(self)), n_issuers)
        zk = model.scaled(z)
        a = cp.Variable(n_issuers, nonneg=True)
        b = cp.Variable(n_issuers, nonneg=True)
        t, c = float(self.threshold), float(self.cap)
        out = [W == a + b, a <= t * model.kappa, b <= (c - t) * zk,
               cp.sum(t * zk + b) <= float(self.aggregate) * model.kappa]  # fmt: skip
        if t > 0:  # each issuer above t takes more than t of the aggregate
            out.append(cp.sum(z) <= math.floor(float(self.aggregate) / t + 1e-9))
        return out

    def upper_bounds(self, tickers: list[str]) -> np.ndarray:
        """The issuer cap on every ticker."""
        return np.full(len(tickers), float(min(self.cap, self.aggregate, 1.0)))


def ucits(
    threshold: float = 0.05, cap: float = 0.10, aggregate: float = 0.40
) -> IssuerConcentration:
    """The UCITS 5/10/40 diversification rule.

    Parameters
    ----------
    threshold, cap, aggregate : float
        Decimals; the Directive's figures by default.

    Returns
    -------
    IssuerConcentration

    References
    ----------
    Directive 2009/65/EC (UCITS IV), Art. 52(1)-(2).
    """
    return IssuerConcentration(
        threshold, cap, aggregate, name="UCITS 5/10/40",
        source="Directive 2009/65/EC (UCITS), Art. 52(1) and 52(2)",
    )  # fmt: skip


def us_diversified_fund(threshold: float = 0.05, share: float = 0.75) -> IssuerConcentration:
    """The US Investment Company Act's diversified-fund test (75-5).

    Parameters
    ----------
    threshold : float
        Decimal: positions of at most this count in the diversified part (5 %).
    share : float
        Decimal share of total assets that must be cash or positions of at most ``threshold``
        (75 %); the positions above it then add up to at most ``1 - share``.

    Returns
    -------
    IssuerConcentration
        With cap and aggregate ``1 - share``.

    References
    ----------
    Investment Company Act of 1940, s. 5(b)(1), 15 U.S.C. 80a-5(b)(1).
    """
    rest = 1.0 - float(share)
    return IssuerConcentration(
        threshold, max(rest, threshold), rest, name="US diversified fund (75-5)",
        source="Investment Company Act of 1940, s. 5(b)(1) (15 U.S.C. 80a-5(b)(1))",
    )  # fmt: skip


#: Rule sets by name: name -> factory taking the rule's parameters.
PRESETS = {"ucits": ucits, "us_diversified_fund": us_diversified_fund}


@dataclass(frozen=True)
class MaxHoldings(Rule):
    """At most ``count`` positions held (weight above :data:`HELD`).

    Parameters
    ----------
    count : int
        Maximum number of positions, at least 1.

    Raises
    ------
    InfeasibleConstraintsError
        A count below 1.
    """

    count: int = 10
    name: str = "Maximum number of holdings"
    source: str = "user limit"

    def __post_init__(self) -> None:
        if not (float(self.count) == int(self.count) and int(self.count) >= 1):
            raise InfeasibleConstraintsError(
                f"The maximum number of holdings must be a whole number of at least 1; "
                f"got {self.count!r}."
            )
        object.__setattr__(self, "count", int(self.count))

    @property
    def parameters(self) -> dict[str, Any]:
        """``count``."""
        return {"count": self.count}

    def check(self, weights, book=None, issuers=None) -> list[Breach]:
        """More positions than allowed."""
        held = weights[weights.astype(float).abs() > HELD]
        if len(held) <= self.count:
            return []
        return [Breach(float(len(held) - self.count),
                       f"{len(held)} holdings, {len(held) - self.count} more than the "
                       f"{self.count} allowed", tuple(held.index))]  # fmt: skip

    def constrain(self, model: Any) -> list:
        """``sum_i z_i <= count`` on the held indicators."""
        import cvxpy as cp

        return [cp.sum(model.held) <= self.count]


@dataclass(frozen=True)
class MinPosition(Rule):
    """Every position held weighs at least ``weight``.

    Parameters
    ----------
    weight : float
        Decimal minimum weight of a position held (0.02 = 2 %).

    Raises
    ------
    InfeasibleConstraintsError
        A weight outside [0, 1].
    """

    weight: float = 0.01
    name: str = "Minimum position"
    source: str = "user limit"

    def __post_init__(self) -> None:
        if not (math.isfinite(float(self.weight)) and 0 <= float(self.weight) <= 1):
            raise InfeasibleConstraintsError(
                f"The minimum position must be a decimal weight between 0 and 1 (0.02 = 2 %); "
                f"got {self.weight!r}."
            )

    @property
    def parameters(self) -> dict[str, Any]:
        """``weight`` (decimal)."""
        return {"weight": self.weight}

    def check(self, weights, book=None, issuers=None) -> list[Breach]:
        """Positions held below the minimum."""
        w = weights.astype(float)
        small = w[(w.abs() > HELD) & (w.abs() < self.weight - _TOL)]
        return [Breach(float(self.weight - abs(v)), f"{t} at {_fmt(abs(v))} is below the "
                       f"{_fmt(self.weight)} minimum position", (str(t),))
                for t, v in small.items()]  # fmt: skip

    def constrain(self, model: Any) -> list:
        """``w_i >= m z_i``: a held position is at least m (``w_i <= u_i z_i`` is the model's)."""
        return [model.w >= float(self.weight) * model.scaled(model.held)]


@dataclass(frozen=True)
class LiquidityLimit(Rule):
    r"""Each position sellable within ``days`` at ``participation`` of its ADV.

    .. math:: |w_i| \le d \, p \, \mathrm{ADV}_i P_i / C

    Parameters
    ----------
    adv : mapping of str to float
        Average daily volume in shares per ticker; tickers left out are not limited (and are
        listed as unknown by :func:`liquidity_profile`).
    prices : mapping of str to float
        Latest price per ticker, in the currency of ``capital``.
    capital : float
        The book's value ``C``.
    days : float
        Maximum trading days to liquidate a position.
    participation : float
        Decimal share of the daily volume one may trade (0.2 = 20 %).

    Raises
    ------
    InfeasibleConstraintsError
        Non-positive capital, days or participation, or negative volumes.
    """

    adv: Mapping[str, float] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)
    capital: float = 1.0
    days: float = 5.0
    participation: float = 0.2
    name: str = "Liquidity"
    source: str = "user limit (days x participation x ADV x price)"

    def __post_init__(self) -> None:
        for label, value in (("capital", self.capital), ("number of days", self.days),
                             ("participation rate", self.participation)):  # fmt: skip
            if not (math.isfinite(float(value)) and float(value) > 0):
                raise InfeasibleConstraintsError(f"The liquidity {label} must be positive.")
        if self.participation > 1:
            raise InfeasibleConstraintsError(
                "The participation rate is a decimal share of daily volume, at most 1 (0.2 = 20 %)."
            )
        bad = [t for t, v in dict(self.adv).items() if not (math.isfinite(float(v)) and v >= 0)]
        if bad:
            raise InfeasibleConstraintsError(
                f"The average daily volume of {', '.join(map(str, bad))} is not a number of "
                "shares (non-negative)."
            )

    @property
    def parameters(self) -> dict[str, Any]:
        """``days``, ``participation`` (decimal) and ``capital``."""
        return {"days": self.days, "participation": self.participation, "capital": self.capital}

    def limits(self, tickers: list[str]) -> pd.Series:
        """Maximum decimal weight per ticker (inf where the volume is unknown)."""
        return liquidity_position_limits(
            tickers, self.adv, self.prices, self.capital, self.days, self.participation
        )

    def check(self, weights, book=None, issuers=None) -> list[Breach]:
        """Positions that take longer than ``days`` to sell."""
        lim = self.limits(list(weights.index))
        out = []
        for t, v in weights.astype(float).items():
            if abs(v) > lim[t] + _TOL:
                need = abs(v) / lim[t] * self.days if lim[t] > 0 else float("inf")
                out.append(Breach(need - self.days, f"{t} at {_fmt(abs(v))} needs {need:.1f} "
                                  f"days to sell, more than {self.days:g}", (str(t),)))  # fmt: skip
        return out

    def upper_bounds(self, tickers: list[str]) -> np.ndarray:
        """The liquidity limit of each ticker (1 where the volume is unknown)."""
        return np.minimum(self.limits(tickers).to_numpy(dtype=float), 1.0)


def resolve_rules(
    rules: Iterable[Rule | str] = (),
    max_holdings: int | None = None,
    min_position: float | None = None,
) -> tuple[Rule, ...]:
    """Rule objects from rule objects, preset names, a holdings count and a minimum position.

    Parameters
    ----------
    rules : iterable of Rule or str
        Rule objects or names of :data:`PRESETS` (``"ucits"``, ``"us_diversified_fund"``).
    max_holdings : int, optional
        Adds :class:`MaxHoldings`.
    min_position : float, optional
        Adds :class:`MinPosition` (decimal).

    Returns
    -------
    tuple of Rule

    Raises
    ------
    InfeasibleConstraintsError
        An unknown preset name or an object that is not a rule.
    """
    out: list[Rule] = []
    for r in ((rules,) if isinstance(rules, str | Rule) else tuple(rules)):
        if isinstance(r, str):
            if r not in PRESETS:
                raise InfeasibleConstraintsError(
                    f"Unknown rule set {r!r}; use one of {', '.join(PRESETS)}."
                )
            out.append(PRESETS[r]())
        elif isinstance(r, Rule):
            out.append(r)
        else:
            raise InfeasibleConstraintsError(f"{r!r} is not a rule or a rule set's name.")
    if max_holdings is not None:
        out.append(MaxHoldings(max_holdings))
    if min_position is not None and float(min_position) > 0:
        out.append(MinPosition(float(min_position)))
    return tuple(out)


def check(
    weights: pd.Series,
    rules: Iterable[Rule | str],
    book: pd.Series | None = None,
    issuers: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Every rule against a portfolio: pass or breach, by how much, and which trades cause it.

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights of the book's value (the proposal, or the book after the trades).
    rules : iterable of Rule or str
        Rule objects or preset names (see :func:`resolve_rules`).
    book : Series, optional
        Decimal weights held before the trades. When given, a breach lists the trades on the
        assets it involves (``"buy AAPL 7.00 %"``): the trades that cause it.
    issuers : mapping of str to str, optional
        Ticker -> issuer.

    Returns
    -------
    DataFrame
        One row per breach, or one ``pass`` row per rule that holds; columns ``rule``,
        ``source``, ``status`` (``"pass"`` or ``"breach"``), ``breach`` (amount, in the unit of
        ``unit``), ``unit``, ``detail`` and ``trades``.

    Raises
    ------
    InfeasibleConstraintsError
        Unknown preset names.
    """
    rules = resolve_rules(rules)
    w = pd.Series(weights, dtype=float)
    w0 = None if book is None else pd.Series(book, dtype=float).reindex(
        w.index.union(pd.Index(book.index))).fillna(0.0)  # fmt: skip
    if w0 is not None:
        w = w.reindex(w0.index).fillna(0.0)
    rows = []
    for rule in rules:
        unit = ("positions" if isinstance(rule, MaxHoldings)
                else "days" if isinstance(rule, LiquidityLimit) else "weight")  # fmt: skip
        breaches = rule.check(w, book=w0, issuers=issuers)
        if not breaches:
            rows.append([rule.name, rule.source, "pass", 0.0, unit, "", ""])
        for b in breaches:
            trades = ""
            if w0 is not None:
                parts = []
                for t in b.assets:
                    d = float(w.get(t, 0.0) - w0.get(t, 0.0))
                    if abs(d) > HELD:
                        parts.append(f"{'buy' if d > 0 else 'sell'} {t} {_fmt(abs(d))}")
                trades = ", ".join(parts) if parts else "none (held before the trades)"
            rows.append([rule.name, rule.source, "breach", float(b.amount), unit, b.detail, trades])
    return pd.DataFrame(rows, columns=["rule", "source", "status", "breach", "unit", "detail",
                                       "trades"])  # fmt: skip


def max_investable(
    caps: np.ndarray,
    rules: Iterable[Rule],
    issuers: pd.Series,
    max_count: int | None = None,
) -> float:
    """The largest total weight positions can reach under per-asset caps and the rules.

    A greedy bound, exact for the rules here: each issuer at its cap, the largest first; the
    issuer-concentration rules allow ``aggregate / cap`` issuers (a fraction for the last) above
    their threshold and the rest at the threshold.

    Parameters
    ----------
    caps : ndarray (n_assets,)
        Per-asset maximum decimal weights (bounds and per-asset rule caps applied).
    rules : iterable of Rule
        Resolved rules.
    issuers : Series (n_assets,)
        Issuer of each asset.
    max_count : int, optional
        Most positions held.

    Returns
    -------
    float
        Decimal weight.
    """
    caps = np.clip(np.asarray(caps, dtype=float), 0.0, 1.0)
    conc = [r for r in rules if isinstance(r, IssuerConcentration)]
    order = np.argsort(-caps, kind="stable")
    if max_count is not None:
        order = order[:max_count]
    per: dict[str, float] = {}
    for i in order:
        per[issuers.iloc[i]] = per.get(issuers.iloc[i], 0.0) + caps[i]
    values = sorted(per.values(), reverse=True)
    if not conc:
        return float(min(sum(values), 1.0))
    best = 1.0
    for r in conc:
        capped = sorted((min(v, r.cap) for v in values), reverse=True)
        room, total = float(r.aggregate), 0.0
        for v in capped:
            if v > r.threshold and room > r.threshold:
                take = min(v, room)
                total += max(take, r.threshold)
                room -= take
            else:
                total += min(v, r.threshold)
        best = min(best, total)
    return float(min(best, 1.0))


def name_conflicts(
    tickers: list[str],
    upper: np.ndarray,
    rules: Iterable[Rule],
    issuers: Mapping[str, str] | None = None,
    invested: float = 1.0,
) -> None:
    """Raise when the rules cannot hold together, naming the rules in conflict.

    Checked before any solve: a minimum position above every asset's maximum weight (bounds,
    issuer caps, liquidity); holdings too few, or too small, to invest ``invested``; an
    issuer-concentration rule with too few issuers in the universe.

    Parameters
    ----------
    tickers : list of str
        Investable universe.
    upper : ndarray (n_assets,)
        Per-asset maximum decimal weights from the bounds.
    rules : iterable of Rule
        Resolved rules.
    issuers : mapping of str to str, optional
        Ticker -> issuer.
    invested : float
        The smallest total weight the portfolio must invest (decimal; 1 = fully invested).

    Raises
    ------
    InfeasibleConstraintsError
        With the conflict in words and what to change.
    """
    rules = tuple(rules)
    caps = np.minimum(np.clip(np.asarray(upper, dtype=float), 0.0, 1.0), 1.0)
    capped_by = "weight bounds"
    for r in rules:
        ub = r.upper_bounds(tickers)
        if ub is not None:
            if (ub < caps - 1e-12).any():
                capped_by = r.name if capped_by == "weight bounds" else capped_by + f", {r.name}"
            caps = np.minimum(caps, ub)
    who = issuer_of(tickers, issuers)
    mins = [r for r in rules if isinstance(r, MinPosition)]
    counts = [r for r in rules if isinstance(r, MaxHoldings)]
    m = max((r.weight for r in mins), default=0.0)
    if m > 0:
        eligible = caps >= m - 1e-12
        if not eligible.any():
            raise InfeasibleConstraintsError(
                f"The minimum position of {_fmt(m)} is above every asset's maximum weight "
                f"(at most {_fmt(float(caps.max()))} under the {capped_by}): lower the minimum "
                "position or raise the maximum weight."
            )
        caps = np.where(eligible, caps, 0.0)
    k = min((r.count for r in counts), default=None)
    if m > 0:
        most = int(math.floor(1.0 / m + 1e-9))
        k = most if k is None else min(k, most)
    total = max_investable(caps, rules, who, k)
    if total >= invested - 1e-9:
        return
    conc = [r for r in rules if isinstance(r, IssuerConcentration)]
    n_issuers = len(set(who[caps > 0]))
    if counts and k is not None and k < len(tickers):
        top = float(np.sort(caps)[::-1][:k].max()) if k else 0.0
        raise InfeasibleConstraintsError(
            f"At most {k} holdings with at most {_fmt(top)} each "
            f"({capped_by}) can invest at most {_fmt(total)}, less than the {_fmt(invested)} "
            "to invest: allow more holdings, raise the maximum weight or allow more cash."
        )
    if conc:
        r = conc[0]
        raise InfeasibleConstraintsError(
            f"{r.name} ({r.source}) with {n_issuers} issuer{'s' if n_issuers != 1 else ''} in "
            f"the universe can invest at most {_fmt(total)} (at most {_fmt(r.cap)} per issuer, "
            f"those above {_fmt(r.threshold)} together at most {_fmt(r.aggregate)}), less than "
            f"the {_fmt(invested)} to invest: add issuers to the universe or allow cash."
        )
    raise InfeasibleConstraintsError(
        f"The maximum weights under the {capped_by} add up to {_fmt(total)}, less than the "
        f"{_fmt(invested)} to invest: raise them or allow cash."
    )


# ----------------------------------------------------------------------------- setup keys
#: Setup keys of the compliance settings and their defaults (decimals; None: off).
SETUP_DEFAULTS: dict[str, Any] = {
    "compliance_rule_set": "none",  # "none", "ucits" or "us_diversified_fund"
    "compliance_threshold": 0.05,
    "compliance_cap": 0.10,
    "compliance_aggregate": 0.40,
    "compliance_us_share": 0.75,
    "compliance_issuers": {},
    "compliance_max_cash": 0.0,
    "compliance_max_holdings": None,
    "compliance_min_position": None,
    "compliance_whole_shares": False,
    "compliance_time_limit": 5.0,
    "compliance_liquidity": False,
    "compliance_liquidity_days": 5.0,
    "compliance_participation": 0.2,
    "compliance_adv": {},  # ticker -> shares a day, the user's (typed or from a file)
    "compliance_adv_sources": {},  # ticker -> "upload" for those read from a file
    "compliance_adv_window": 20,  # trading days of the ADV from the data's volume
}


def register_setup_keys() -> None:
    """Register the validation rules of the ``compliance_*`` setup keys (saved setups)."""
    from core import setups as s

    s.register("compliance_rule_set", s.choice(["none", "ucits", "us_diversified_fund"]),
               "Regulatory rule set")  # fmt: skip
    for key, label in (("compliance_threshold", "Rule threshold (decimal)"),
                       ("compliance_cap", "Rule issuer cap (decimal)"),
                       ("compliance_aggregate", "Rule aggregate limit (decimal)"),
                       ("compliance_us_share", "Diversified share (decimal)")):  # fmt: skip
        s.register(key, s.number(0.0, 1.0), label)
    s.register("compliance_max_cash", s.number(0.0, 1.0), "Cash allowed (decimal)")
    s.register("compliance_issuers", s.mapping(s.text(100)), "Issuers of the tickers")
    s.register("compliance_max_holdings", s.number(1, 5000, integer=True, nullable=True),
               "Maximum number of holdings")  # fmt: skip
    s.register("compliance_min_position", s.number(0.0, 1.0, nullable=True),
               "Minimum position (decimal)")  # fmt: skip
    s.register("compliance_whole_shares", s.flag(), "Whole shares inside the optimisation")
    s.register("compliance_time_limit", s.number(0.1, 600.0), "Solver time limit (s)")
    s.register("compliance_liquidity", s.flag(), "Liquidity limit on")
    # Ranges as the widgets' (ui.compliance), so that any value accepted here renders.
    s.register("compliance_liquidity_days", s.number(0.1, 10_000.0),
               "Days to liquidate a position")  # fmt: skip
    s.register("compliance_participation", s.number(0.001, 1.0),
               "Participation rate (decimal of ADV)")  # fmt: skip
    s.register("compliance_adv", s.mapping(s.number(0.0)), "Average daily volume (shares)")
    s.register("compliance_adv_sources", s.mapping(s.choice(["upload", "typed"])),
               "Where each average daily volume comes from")  # fmt: skip
    s.register("compliance_adv_window", s.number(1, 2520, integer=True),
               "Trading days of the average daily volume")  # fmt: skip



#: Where an average daily volume comes from, as :func:`adv_table` names it.
ADV_SOURCES = ("Yahoo", "upload", "typed")


def adv_table(setup: Mapping[str, Any], volume: pd.DataFrame | None = None) -> pd.DataFrame:
    """The average daily volume (ADV) of each asset and where it comes from.

    The data's own volume gives the default (the mean daily volume over the last
    ``compliance_adv_window`` trading days to the data's last date, the date of the latest
    price: :func:`core.market_data.average_daily_volume`); the user's values
    (``compliance_adv``, typed or read from a file as ``compliance_adv_sources`` says) win.

    Parameters
    ----------
    setup : mapping
        Setup keys (missing ones take :data:`SETUP_DEFAULTS`).
    volume : DataFrame (n_dates, n_assets), optional
        Daily volume in shares (``PriceData.volume``; None when the source has none).

    Returns
    -------
    DataFrame
        Index: tickers with a known ADV; ``adv`` (shares a day) and ``source`` (one of
        :data:`ADV_SOURCES`: ``"Yahoo"`` for the data's volume).

    Raises
    ------
    DataError
        A window that is not a whole number of days.
    """
    from core.market_data import average_daily_volume

    window = setup.get("compliance_adv_window") or SETUP_DEFAULTS["compliance_adv_window"]
    rows: dict[str, tuple[float, str]] = {}
    if volume is not None and volume.shape[1]:
        for t, v in average_daily_volume(volume, int(window)).items():
            if np.isfinite(v):
                rows[str(t)] = (float(v), "Yahoo")
    sources = dict(setup.get("compliance_adv_sources") or {})
    for t, v in dict(setup.get("compliance_adv") or {}).items():
        if v is not None and np.isfinite(float(v)):
            rows[str(t)] = (float(v), "upload" if sources.get(t) == "upload" else "typed")
    return pd.DataFrame([v for v in rows.values()], index=pd.Index(list(rows), name="ticker"),
                        columns=["adv", "source"])  # fmt: skip


def setup_terms(setup: Mapping[str, Any], prices: pd.Series, capital: float,
                from_holdings: bool = False,
                volume: pd.DataFrame | None = None) -> dict[str, Any]:
    """:class:`core.constraints.Constraints` fields from the ``compliance_*`` setup keys.

    Parameters
    ----------
    setup : mapping
        Setup keys (missing ones take :data:`SETUP_DEFAULTS`).
    prices : Series
        Latest price per ticker (whole shares, liquidity).
    capital : float
        Value of the book to invest (the capital from cash, the book's value from holdings).
    from_holdings : bool
        The book's own cash bounds apply then, not ``compliance_max_cash``.
    volume : DataFrame, optional
        The data's daily volume (``PriceData.volume``): the default ADV of the liquidity
        limit (see :func:`adv_table`).

    Returns
    -------
    dict
        ``rules``, ``max_holdings``, ``min_position``, ``issuers``, ``time_limit`` and, where
        set, ``cash_bounds`` and ``whole_shares``.

    Raises
    ------
    InfeasibleConstraintsError
        Rule parameters out of range.
    """
    def get(key: str) -> Any:
        value = setup.get(key, SETUP_DEFAULTS[key]) if hasattr(setup, "get") else None
        return SETUP_DEFAULTS[key] if value is None and SETUP_DEFAULTS[key] is not None \
            else value

    kind = get("compliance_rule_set")
    rules: list[Rule] = []
    if kind == "ucits":
        rules.append(ucits(get("compliance_threshold"), get("compliance_cap"),
                           get("compliance_aggregate")))  # fmt: skip
    elif kind == "us_diversified_fund":
        rules.append(us_diversified_fund(get("compliance_threshold"), get("compliance_us_share")))
    adv = adv_table(setup, volume)["adv"].to_dict() if get("compliance_liquidity") else {}
    if adv:
        rules.append(LiquidityLimit(
            adv=adv, prices=prices.to_dict(), capital=float(capital),
            days=float(get("compliance_liquidity_days")),
            participation=float(get("compliance_participation")),
        ))  # fmt: skip
    out: dict[str, Any] = {
        "rules": tuple(rules),
        "max_holdings": get("compliance_max_holdings"),
        "min_position": get("compliance_min_position"),
        "issuers": {t: i for t, i in dict(get("compliance_issuers")).items() if str(i).strip()},
        "time_limit": float(get("compliance_time_limit")),
    }
    if not from_holdings and float(get("compliance_max_cash")) > 0:
        out["cash_bounds"] = (0.0, float(get("compliance_max_cash")))
    if get("compliance_whole_shares"):
        out["whole_shares"] = (float(capital), prices)
    return out


register_setup_keys()


def report_section(p: Any):
    """The Compliance section of the reports: every rule against the book, the proposal, the plan.

    Parameters
    ----------
    p : core.pipeline.Pipeline
        The setup and its data.

    Returns
    -------
    core.reporting.ReportSection or None
        None when the setup sets no rule or gives no allocation. Table ``Compliance check``
        (:func:`check` rows with a ``portfolio`` column; breaches in the unit of ``unit``,
        weights as decimals).
    """
    from core.exceptions import BallastError
    from core.reporting import ReportSection, md_literal

    prices = p.data.prices.iloc[-1]
    book, value = None, float(p.ss["capital"])
    if p.ss["holdings"]:
        try:
            book, _, book_value = p.current_book()
            if p.from_holdings:
                value = book_value
        except BallastError:
            book = None
    terms = setup_terms(p.ss, prices, value, p.from_holdings, p.data.volume)
    rules = resolve_rules(terms["rules"], terms["max_holdings"], terms["min_position"])
    result = p.allocation_or_none()
    if not rules or result is None:
        return None
    issuers = terms["issuers"]
    parts = []
    if book is not None:
        parts.append(check(book, rules, issuers=issuers).assign(portfolio="Current book"))
    parts.append(check(result.weights, rules, book=book, issuers=issuers)
                 .assign(portfolio="Proposal"))  # fmt: skip
    try:
        final = p.trade_plan.trades["final_weight"]
        parts.append(check(final, rules, book=book, issuers=issuers)
                     .assign(portfolio="After the trade plan (whole shares)"))  # fmt: skip
    except BallastError:
        pass
    table = pd.concat(parts, ignore_index=True)
    table = table[["portfolio", *[c for c in table.columns if c != "portfolio"]]]
    lines = [f"- {r.name}: {r.source}; parameters "
             + ", ".join(f"{k} {v:g}" if isinstance(v, int | float) else f"{k} {md_literal(v)}"
                         for k, v in r.parameters.items()) for r in rules]  # fmt: skip
    if any(isinstance(r, LiquidityLimit) for r in rules):
        counts = adv_table(p.ss, p.data.volume)["source"].value_counts()
        window = int(p.ss.get("compliance_adv_window") or SETUP_DEFAULTS["compliance_adv_window"])
        where = {"Yahoo": f"from Yahoo's daily volume (mean of the last {window} trading days "
                          f"to {p.data.as_of.date()})",
                 "upload": "from an uploaded file", "typed": "typed"}  # fmt: skip
        lines.append("- Average daily volume (ADV): " + ", ".join(
            f"{int(counts[k])} {where[k]}" for k in ADV_SOURCES if k in counts) + "; assets "
            "without one are not limited.")  # fmt: skip
    gap = getattr(result, "mip_gap", None)
    proof = ("" if gap is None else f"\n\nMixed-integer solve (SCIP through cvxpy): "
             f"{result.mip_status}, proven relative gap {gap:.1e}.")  # fmt: skip
    breaches = int((table["status"] == "breach").sum())
    text = ("Rules checked against the current book, the proposal and the book after the "
            "whole-share trade plan (weights are decimals of the book's value):\n\n"
            + "\n".join(lines) + f"\n\n{breaches} breach{'es' if breaches != 1 else ''} "
            "found." + proof)  # fmt: skip
    return ReportSection(key="compliance", title="Compliance", text=text,
                         tables={"Compliance check": table})  # fmt: skip


# ----------------------------------------------------------------------------- liquidity
def liquidity_position_limits(
    tickers: list[str],
    adv: Mapping[str, float] | pd.Series,
    prices: Mapping[str, float] | pd.Series,
    capital: float,
    days: float = 5.0,
    participation: float = 0.2,
) -> pd.Series:
    r"""Largest decimal weight per asset sellable within ``days``.

    .. math:: w^{max}_i = d \, p \, \mathrm{ADV}_i P_i / C

    Parameters
    ----------
    tickers : list of str
        Assets.
    adv : mapping or Series of str to float
        Average daily volume, shares per day.
    prices : mapping or Series of str to float
        Latest prices.
    capital : float
        Book value ``C``, same currency as the prices.
    days : float
        Trading days.
    participation : float
        Decimal share of the daily volume.

    Returns
    -------
    Series (n_assets,)
        Decimal weights; ``inf`` where the volume or price is unknown.
    """
    a = pd.Series(dict(adv), dtype=float).reindex(tickers)
    p = pd.Series(dict(prices), dtype=float).reindex(tickers)
    out = days * participation * a * p / float(capital)
    return out.where(out.notna(), np.inf).rename("liquidity limit")


def days_to_execute(
    trade_shares: pd.Series, adv: Mapping[str, float] | pd.Series, participation: float = 0.2
) -> pd.Series:
    """Trading days to execute each trade at ``participation`` of the ADV.

    Parameters
    ----------
    trade_shares : Series
        Shares to trade per ticker (sign ignored).
    adv : mapping or Series of str to float
        Average daily volume, shares per day.
    participation : float
        Decimal share of the daily volume.

    Returns
    -------
    Series
        Days (``|shares| / (participation x ADV)``); NaN where the volume is unknown, 0 for no
        trade.
    """
    a = pd.Series(dict(adv), dtype=float).reindex(trade_shares.index)
    q = trade_shares.astype(float).abs()
    days = q / (participation * a)
    return days.where(q > 0, 0.0).rename("days to execute")


def liquidity_profile(
    values: pd.Series,
    adv: Mapping[str, float] | pd.Series,
    prices: Mapping[str, float] | pd.Series,
    participation: float = 0.2,
    horizons: tuple[int, ...] = (1, 5, 20),
) -> pd.DataFrame:
    """Share of the book sellable within each horizon at ``participation`` of the ADV.

    Parameters
    ----------
    values : Series
        Money value of each position (absolute values are used).
    adv : mapping or Series of str to float
        Average daily volume, shares per day; assets left out count as unknown.
    prices : mapping or Series of str to float
        Latest prices.
    participation : float
        Decimal share of the daily volume.
    horizons : tuple of int
        Trading days.

    Returns
    -------
    DataFrame (n_horizons, 3)
        Indexed by days; ``sellable`` (decimal share of the positions' value sellable by then),
        ``not_yet`` (the rest with a known volume) and ``unknown_volume`` (share without one).
    """
    v = values.astype(float).abs()
    total = float(v.sum())
    a = pd.Series(dict(adv), dtype=float).reindex(v.index)
    p = pd.Series(dict(prices), dtype=float).reindex(v.index)
    known = a.notna() & p.notna()
    rows = []
    for d in horizons:
        can = np.minimum(v[known], d * participation * a[known] * p[known]).sum()
        sell = float(can / total) if total > 0 else 0.0
        unknown = float(v[~known].sum() / total) if total > 0 else 0.0
        rows.append([sell, max(1.0 - sell - unknown, 0.0), unknown])
    return pd.DataFrame(rows, index=pd.Index(list(horizons), name="days"),
                        columns=["sellable", "not_yet", "unknown_volume"])  # fmt: skip
