r"""Optimisation from the book held: trades, costs, turnover, exposure and benchmark limits.

Conventions
-----------
Arrays only (the pandas layer is :func:`core.optimization.optimize`). ``N`` assets: the
investable universe plus any non-investable asset a benchmark names (an index series), which is
held at weight 0. Expected returns and the risk-free rate are annualised decimals, the
covariance annualised. Weights ``w`` and holdings ``w0`` are decimals of the book's value; the
cash weight is ``1 - sum(w)`` and earns the risk-free rate ``r_f`` without risk. Proportional
costs ``c_i`` are decimals per unit of weight traded, charged once and amortised over a horizon
of ``H`` years: the net expected return is

.. math:: R(w) = \mu' w + r_f (1 - 1'w) - \sum_i c_i |w_i - w0_i| / H.

Turnover is one-way, ``sum_i |w_i - w0_i| / 2`` over the assets. Tracking error against
benchmark weights ``b`` is ``sqrt((w - b)' Sigma (w - b))``, the active return
``R(w) - mu'b - r_f (1 - 1'b)``.

Objectives (all exact convex programs)
--------------------------------------
- ``max_sharpe``: ``(R(w) - r_f) / sigma(w)``; ``max_information_ratio``: active return over
  tracking error;
- ``max_utility``: ``R(w) - delta / 2 w' Sigma w``; ``target_volatility``: the highest ``R(w)``
  with ``sigma(w)`` at most the target;
- ``min_volatility``: the lowest ``sigma(w) + sum c_i |w_i - w0_i| / H`` (volatility plus the
  amortised costs, both annualised decimals); ``target_return``: the same with ``R(w)`` at
  least the target; ``min_tracking_error``: the lowest tracking error plus amortised costs.

So with prohibitive costs every objective keeps the book (when the book meets the limits), and
with zero costs and no turnover budget it gives the from-cash optimum.

Method
------
Trades are split into buys and sells, ``w = w0 + b - s`` with ``b, s >= 0`` (and, for exposure
limits, positions into long and short parts, ``w = p - q``): costs, turnover, locks (``b_i =
s_i = 0``), no-buy (``b_i = 0``) and no-sell (``s_i = 0``) lists and exposure limits become
linear, so every objective is a quadratic or second-order cone program. The maximum Sharpe and
information ratios are made convex by the homogeneous (Charnes-Cooper) transformation ``y =
kappa w``: minimise ``y' Sigma y`` subject to the net excess return of ``y`` equal to 1, with
every constraint right-hand side multiplied by ``kappa >= 0`` (Cornuejols & Tutuncu 2007,
section 8.2). Volatility and tracking-error caps are second-order cones on a factor ``F`` with
``F'F = Sigma`` (Cholesky, or the eigen-decomposition for a singular covariance). Clarabel's
interior-point method (Goulart & Chen 2024) solves the program, built directly as sparse
matrices, with its tolerances tightened to 1e-10.

From 40 assets up the program is solved on a working set of assets, the others held at their
holding (not traded): long-only optimal books trade few assets, and the program's cost grows
fast with the assets it holds (the covariance block is dense). An asset left out is where it
should be when neither buying nor selling a little lowers the Lagrangian of the program solved
(its directional derivatives with the solved multipliers are non-negative); the most violated
assets join the working set and the program is solved again, so the last program satisfies the
optimality conditions of the whole problem (the column generation of Dantzig & Wolfe).

The maximum Sharpe ratio, the maximum information ratio and the maximum utility under linear
limits only (no volatility or tracking-error cap, no exposure limits) from a book within its
limits go first to the exact active-set engine of :mod:`core.book_active_set` (KKT point of the
working set, its multipliers as shadow prices); it hands back to the program above anything it
declines (a singular covariance block, a degenerate cycle, no portfolio beating the risk-free
rate, whose message the diagnosis below writes).

Shadow prices are the solver's dual variables, turned into the objective's own units: for the
direct programs ``-d opt / d h_j = z_j``; for the homogeneous ones ``opt = 1 / (2 S^2)`` and
the right-hand side enters as ``h_j kappa``, so ``dS / dh_j = S^3 kappa z_j`` (envelope
theorem).

References
----------
Cornuejols & Tutuncu (2007), "Optimization Methods in Finance", Cambridge, ch. 8; Goulart &
Chen (2024), "Clarabel: An interior-point solver for conic programs with quadratic
objectives", arXiv:2405.12762; Grinold & Kahn (2000), "Active Portfolio Management", ch. 14-16
(turnover, costs, tracking error); Lobo, Fazel & Boyd (2007), "Portfolio optimization with
linear and fixed transaction costs", Annals of Operations Research 152; Dantzig & Wolfe (1960),
"Decomposition principle for linear programs", Operations Research 8.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from core import book_active_set
from core.exceptions import InfeasibleConstraintsError, OptimizationError

__all__ = [
    "BookProblem",
    "BookSolution",
    "solve_book",
    "BOOK_KINDS",
    "covariance_factor",
    "objective_value",
    "unbounded_sharpe_message",
]

#: Objective kinds :func:`solve_book` solves.
BOOK_KINDS = (
    "max_sharpe",
    "min_volatility",
    "target_return",
    "target_volatility",
    "max_utility",
    "min_tracking_error",
    "max_information_ratio",
)
_INTERNAL_KINDS = ("min_turnover", "max_return")
_HOMOGENEOUS = ("max_sharpe", "max_information_ratio")
_CONE_OBJECTIVE = ("min_volatility", "target_return", "min_tracking_error")
_TOL = 1e-10
_WORKING_SET_FROM = 40  # assets; below, the whole program at once


@dataclass(frozen=True, eq=False)
class BookProblem:
    """A portfolio problem from holdings, as arrays (see the module docstring).

    Attributes
    ----------
    mu : ndarray (N,)
        Annualised decimal expected returns.
    cov : ndarray (N, N)
        Annualised covariance, positive semidefinite.
    lower, upper : ndarray (N,)
        Weight bounds (decimals; may be infinite).
    G : ndarray (m, N)
        Sector rows, ``G w <= h``.
    h : ndarray (m,)
        Their right-hand sides.
    labels : list of str
        One readable name per row of ``G``.
    tickers : list of str
        Asset names (for messages and shadow-price names).
    w0 : ndarray (N,)
        Holdings (decimals of the book's value; zeros from cash).
    costs : ndarray (N,)
        Proportional costs per unit of weight traded (decimals).
    horizon : float
        Years over which costs are amortised.
    no_buy, no_sell : ndarray of bool (N,)
        Assets whose weight may not rise (locked or no-buy), or fall (locked or no-sell).
    locked : ndarray of bool (N,)
        Locked assets (for names only; their buys and sells are already barred).
    investable : ndarray of bool (N,)
        False for benchmark-only assets (held at 0, not named in shadow prices).
    risk_free_rate : float
        Annual decimal.
    invested : tuple of float
        (least, most) of ``sum(w)``: ``1 - cash`` for the cash bounds.
    max_turnover, max_gross, max_long, max_short, max_volatility, max_tracking_error : float
        Limits (decimals; None when absent).
    benchmark : ndarray (N,) or None
        Benchmark weights.
    """

    mu: np.ndarray
    cov: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    G: np.ndarray
    h: np.ndarray
    labels: list[str]
    tickers: list[str]
    w0: np.ndarray
    costs: np.ndarray
    horizon: float
    no_buy: np.ndarray
    no_sell: np.ndarray
    locked: np.ndarray
    investable: np.ndarray
    risk_free_rate: float = 0.0
    invested: tuple[float, float] = (1.0, 1.0)
    max_turnover: float | None = None
    max_gross: float | None = None
    max_long: float | None = None
    max_short: float | None = None
    max_volatility: float | None = None
    max_tracking_error: float | None = None
    benchmark: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of assets ``N``."""
        return len(self.mu)


@dataclass(frozen=True, eq=False)
class BookSolution:
    """The optimal weights and what each binding limit costs.

    Attributes
    ----------
    weights : ndarray (N,)
        Decimal weights (benchmark-only assets at 0).
    shadow_prices : dict of str to float
        Binding constraint name -> objective gained per percentage point of relaxation, in
        the objective's units (see :func:`solve_book`).
    value : float
        The objective's value in its units.
    """

    weights: np.ndarray
    shadow_prices: dict[str, float]
    value: float


def covariance_factor(cov: np.ndarray) -> np.ndarray:
    """A factor ``F`` with ``F' F = cov``, safe for a singular covariance.

    Parameters
    ----------
    cov : ndarray (N, N)
        Positive semidefinite covariance.

    Returns
    -------
    ndarray (k, N)
        The transposed Cholesky factor (``k = N``), or ``diag(sqrt(lambda)) V'`` over the
        eigenvalues above ``1e-14`` of the largest when Cholesky fails.
    """
    try:
        return np.linalg.cholesky(cov).T
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(cov)
        keep = vals > 1e-14 * max(vals.max(), 1e-300)
        return np.sqrt(vals[keep])[:, None] * vecs[:, keep].T


def _pct(x: float) -> str:
    return f"{x:.1%}"


class _Rows:
    """Rows of a conic program ``A x + s = b``, ``s`` in a product of cones (Clarabel's form).

    Built as coordinate triplets (no sparse-matrix arithmetic per block: it dominated the time
    at a few hundred assets).
    """

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        self.cones: list[tuple[str, int]] = []
        self.labels: list[str | None] = []
        self.m = 0

    def add(self, m: int, terms, rhs, cone: str, labels=None) -> None:
        """Append ``m`` rows of one cone.

        ``terms`` are ``(first column, block)``: a dense ``(m, width)`` array, or
        ``(values, columns)`` with one entry per row.
        """
        if m == 0:
            return
        for start, block in terms:
            if isinstance(block, tuple):
                values, columns = block
                self.r.append(self.m + np.arange(m))
                self.c.append(start + np.asarray(columns))
                self.v.append(np.broadcast_to(np.asarray(values, dtype=float), (m,)).copy())
            else:
                block = np.asarray(block, dtype=float).reshape(m, -1)
                rows, cols = np.nonzero(block)
                self.r.append(self.m + rows)
                self.c.append(start + cols)
                self.v.append(block[rows, cols])
        self.b.append(np.broadcast_to(np.asarray(rhs, dtype=float), (m,)).copy())
        if self.cones and self.cones[-1][0] == cone and cone in ("zero", "nonneg"):
            self.cones[-1] = (cone, self.cones[-1][1] + m)
        else:
            self.cones.append((cone, m))
        self.labels.extend(labels if labels is not None else [None] * m)
        self.m += m


def _solve_once(P, q, A, b, cones, tol: float):
    import clarabel

    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.max_iter = 200
    if tol:
        settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = tol
        settings.tol_ktratio = 1e-8
    solver = clarabel.DefaultSolver(P, q, A, b, cones, settings)
    return solver.solve()


def _assemble_and_solve(p: BookProblem, kind: str, *, target: float | None, delta: float,
                        F: np.ndarray | None):  # fmt: skip
    """Build the conic program of ``kind`` and solve it with Clarabel.

    Returns ``(status, x, z, s, row labels, cones, kappa, prices of held assets' limits)``.
    """
    n = p.n
    homogeneous = kind in _HOMOGENEOUS
    exposure = any(x is not None for x in (p.max_gross, p.max_long, p.max_short))
    # Variable layout: w | b | s | (p | q) | (t) | (kappa)
    iw, ib, i_s = 0, n, 2 * n
    nx = 3 * n
    ip = iq = -1
    if exposure:
        ip, iq = nx, nx + n
        nx += 2 * n
    it = ik = -1
    if kind in _CONE_OBJECTIVE:
        it, nx = nx, nx + 1
    if homogeneous:
        ik, nx = nx, nx + 1
    every = np.arange(n)
    rf = float(p.risk_free_rate)
    cost_rate = p.costs / p.horizon
    excess = p.mu - rf
    R = _Rows()

    def diag(sign: float, idx=every):
        return (sign, idx)

    # Equalities: trades, exposure split, budget.
    R.add(n, [(iw, diag(1.0)), (ib, diag(-1.0)), (i_s, diag(1.0))], p.w0, "zero")
    if exposure:
        R.add(n, [(iw, diag(1.0)), (ip, diag(-1.0)), (iq, diag(1.0))], 0.0, "zero")
    least, most = p.invested
    fixed_budget = abs(most - least) <= 1e-12
    if fixed_budget:
        R.add(1, [(iw, np.ones(n))], most, "zero", ["budget"])
    # Inequalities (nonnegative slack: M x <= rhs).
    if not fixed_budget:
        R.add(1, [(iw, np.ones(n))], most, "nonneg", [f"cash at least {_pct(1 - most)}"])
        R.add(1, [(iw, -np.ones(n))], -least, "nonneg", [f"cash at most {_pct(1 - least)}"])
    up = np.flatnonzero(np.isfinite(p.upper))
    lo = np.flatnonzero(np.isfinite(p.lower))
    own = {side: np.full(n, -1) for side in ("upper", "lower", "buy", "sell")}
    own["upper"][up] = R.m + np.arange(len(up))
    own["lower"][lo] = R.m + len(up) + np.arange(len(lo))
    R.add(len(up), [(iw, diag(1.0, up))], p.upper[up], "nonneg",
          [f"{p.tickers[i]} at most {_pct(p.upper[i])}" if p.investable[i] else None
           for i in up])  # fmt: skip
    R.add(len(lo), [(iw, diag(-1.0, lo))], -p.lower[lo], "nonneg",
          [f"{p.tickers[i]} at least {_pct(p.lower[i])}" if p.investable[i] else None
           for i in lo])  # fmt: skip
    R.add(n, [(ib, diag(-1.0))], 0.0, "nonneg")
    R.add(n, [(i_s, diag(-1.0))], 0.0, "nonneg")

    def trade_name(i: int, side: str) -> str | None:
        if not p.investable[i]:
            return None
        t, held = p.tickers[i], _pct(p.w0[i])
        if p.locked[i]:
            return f"{t} locked at {held} ({side})"
        return f"{t} at most its holding {held}" if side == "buy" else (
            f"{t} at least its holding {held}")  # fmt: skip

    nb, ns = np.flatnonzero(p.no_buy), np.flatnonzero(p.no_sell)
    own["buy"][nb] = R.m + np.arange(len(nb))
    own["sell"][ns] = R.m + len(nb) + np.arange(len(ns))
    R.add(len(nb), [(ib, diag(1.0, nb))], 0.0, "nonneg", [trade_name(i, "buy") for i in nb])
    R.add(len(ns), [(i_s, diag(1.0, ns))], 0.0, "nonneg", [trade_name(i, "sell") for i in ns])
    if exposure:
        R.add(n, [(ip, diag(-1.0))], 0.0, "nonneg")
        R.add(n, [(iq, diag(-1.0))], 0.0, "nonneg")
    R.add(len(p.h), [(iw, p.G)], p.h, "nonneg", list(p.labels))
    half = np.full(n, 0.5)
    if p.max_turnover is not None:
        R.add(1, [(ib, half), (i_s, half)], p.max_turnover, "nonneg",
              [f"turnover at most {_pct(p.max_turnover)}"])  # fmt: skip
    if p.max_gross is not None:
        R.add(1, [(ip, np.ones(n)), (iq, np.ones(n))], p.max_gross, "nonneg",
              [f"gross exposure at most {p.max_gross:.0%}"])  # fmt: skip
    if p.max_long is not None:
        R.add(1, [(ip, np.ones(n))], p.max_long, "nonneg",
              [f"total long at most {p.max_long:.0%}"])  # fmt: skip
    if p.max_short is not None:
        R.add(1, [(iq, np.ones(n))], p.max_short, "nonneg",
              [f"total short at most {p.max_short:.0%}"])  # fmt: skip
    if kind == "target_return":
        # R(w) >= target:  -(mu - rf)'w + c/H'(b + s) <= rf - target
        R.add(1, [(iw, -excess), (ib, cost_rate), (i_s, cost_rate)], rf - target, "nonneg",
              [f"target return at least {_pct(target)}"])  # fmt: skip

    # Second-order cones (cap, F (w - centre)):  rows [0; -F w] + s = [cap; -F centre].
    bench = p.benchmark if p.benchmark is not None else np.zeros(n)
    k = 0 if F is None else F.shape[0]
    caps = []
    if p.max_volatility is not None and kind != "target_volatility":
        caps.append((p.max_volatility, None, f"volatility at most {_pct(p.max_volatility)}"))
    if kind == "target_volatility":
        caps.append((target, None, f"volatility at most {_pct(target)}"))
    if p.max_tracking_error is not None:
        caps.append((p.max_tracking_error, bench,
                     f"tracking error at most {_pct(p.max_tracking_error)}"))  # fmt: skip
    for cap, centre, label in caps:
        shift = np.zeros(k) if centre is None else -F @ centre
        R.add(k + 1, [(iw, np.vstack([np.zeros((1, n)), -F]))],
              np.concatenate([[cap], shift]), "soc", [label] + [None] * k)  # fmt: skip

    # Objective.
    q = np.zeros(nx)
    P_block, P_index = None, None
    trade_cost = np.zeros(nx)
    trade_cost[ib : ib + n] = cost_rate
    trade_cost[i_s : i_s + n] = cost_rate
    if kind in _CONE_OBJECTIVE:
        shift = -F @ bench if kind == "min_tracking_error" else np.zeros(k)
        t_col = np.zeros((k + 1, 1))
        t_col[0, 0] = -1.0
        R.add(k + 1, [(it, t_col), (iw, np.vstack([np.zeros((1, n)), -F]))],
              np.concatenate([[0.0], shift]), "soc")  # fmt: skip
        q = trade_cost.copy()
        q[it] = 1.0
    elif kind == "max_utility":
        P_block, P_index = delta * p.cov, np.arange(iw, iw + n)
        q = trade_cost.copy()
        q[iw : iw + n] = -excess
    elif kind in ("target_volatility", "max_return"):
        q = trade_cost.copy()
        q[iw : iw + n] = -excess
    elif kind == "min_turnover":
        q[ib : ib + 2 * n] = 0.5
    elif kind == "max_information_ratio":
        Sb = p.cov @ bench
        P_block = np.zeros((n + 1, n + 1))
        P_block[:n, :n] = p.cov
        P_block[:n, n] = P_block[n, :n] = -Sb
        P_block[n, n] = bench @ Sb
        P_index = np.append(np.arange(iw, iw + n), ik)
    elif kind == "max_sharpe":
        P_block, P_index = p.cov, np.arange(iw, iw + n)

    b = np.concatenate(R.b)
    numerator = None
    if homogeneous:
        numerator = np.zeros(nx)
        numerator[iw : iw + n] = excess
        numerator[ib : ib + n] = -cost_rate
        numerator[i_s : i_s + n] = -cost_rate
        if kind == "max_information_ratio":
            numerator[ik] = -float(excess @ bench)
    if P_block is None:
        P_block, P_index = np.zeros((0, 0)), np.zeros(0, dtype=int)
    # Which asset each column belongs to (-1: t, kappa), and its value when the asset is left
    # out of the working set: not traded (per unit of kappa in the homogeneous program).
    asset_of = np.full(nx, -1)
    x_held = np.zeros(nx)
    asset_of[iw : iw + n] = asset_of[ib : ib + n] = asset_of[i_s : i_s + n] = every
    x_held[iw : iw + n] = p.w0
    columns = {"w": iw + every, "b": ib + every, "s": i_s + every}
    if exposure:
        asset_of[ip : ip + n] = asset_of[iq : iq + n] = every
        x_held[ip : ip + n] = np.maximum(p.w0, 0.0)
        x_held[iq : iq + n] = np.maximum(-p.w0, 0.0)
        columns.update(p=ip + every, q=iq + every)
    row_cone = np.concatenate(
        [np.full(m, -1 if c == "zero" else (-2 if c == "nonneg" else j)) for j, (c, m) in
         enumerate(R.cones)]  # fmt: skip
    )
    triplets = tuple(np.concatenate(x) for x in (R.r, R.c, R.v)) + (R.m, nx)
    program = _Program(triplets, b, q, P_block, np.asarray(P_index), row_cone, list(R.labels),
                       numerator, ik, asset_of, x_held, columns, own, exposure)  # fmt: skip
    return _working_set_solve(p, program)


@dataclass(eq=False)
class _Program:
    """A conic program over every asset, before any asset is left out of the working set."""

    A: tuple  # (rows, columns, values, m, nx): the constraint matrix as coordinate triplets
    b: np.ndarray
    q: np.ndarray
    P_block: np.ndarray  # dense block of P over the columns P_index
    P_index: np.ndarray
    row_cone: np.ndarray  # -1 zero cone, -2 nonnegative, j >= 0 the j-th second-order cone
    labels: list
    numerator: np.ndarray | None  # homogeneous programs: the row "net excess return = 1"
    ik: int
    asset_of: np.ndarray
    x_held: np.ndarray
    columns: dict
    own: dict
    exposure: bool


def _initial_working_set(p: BookProblem) -> np.ndarray:
    """Assets to start with: those that must trade, and the most attractive ones to trade."""
    n = p.n
    must = (p.w0 < p.lower - 1e-12) | (p.w0 > p.upper + 1e-12)
    tradable = p.investable & ~(p.no_buy & p.no_sell)
    held_var = float(p.w0 @ p.cov @ p.w0)
    rf = float(p.risk_free_rate)
    slope = (float(p.mu @ p.w0) - rf) / held_var if held_var > 1e-12 else 0.0
    score = np.abs(p.mu - rf - slope * (p.cov @ p.w0)) - p.costs / p.horizon
    if p.benchmark is not None:
        score = score + np.abs(p.cov @ (p.w0 - p.benchmark)) / max(np.sqrt(np.diag(p.cov)).max(),
                                                                   1e-12)  # fmt: skip
    score = np.where(tradable, score, -np.inf)
    size = min(n, 12 + n // 8)
    chosen = np.zeros(n, dtype=bool)
    chosen[np.argsort(-score)[:size]] = True
    return (chosen & tradable) | must


def _working_set_solve(p: BookProblem, prog: _Program):
    """Solve on a working set of assets; the others stay at their holding, priced by KKT.

    Long-only optimal books trade few assets, and the program's cost grows with the cube of
    the assets it holds (the covariance block is dense). An asset left out is optimal where it
    is when neither buying nor selling a little lowers the Lagrangian of the program solved
    (its directional derivatives with the solved multipliers are non-negative); otherwise it
    joins the working set and the program is solved again. The last program is exact for the
    whole problem (same optimality conditions).
    """
    n = p.n
    inside = _initial_working_set(p) if n >= _WORKING_SET_FROM else np.ones(n, dtype=bool)
    for _ in range(30):
        out = _solve_reduced(prog, inside)
        if out is None or "Infeasible" in out[0] or out[0] not in ("Solved", "AlmostSolved"):
            if inside.all():
                return out if out is not None else ("PrimalInfeasible",) + (None,) * 7
            # Too few assets to satisfy the limits, or a solver stall: grow the working set.
            grow = np.flatnonzero(~inside)[: max(8, int(inside.sum()))]
            inside[grow] = True
            continue
        status, x, z, s, labels, cones, kappa, g = out
        if inside.all():
            return status, x, z, s, labels, cones, kappa, {}
        buy, sell = _directional_derivatives(p, prog, g)
        can_buy = ~p.no_buy & (p.w0 < p.upper - 1e-12)
        can_sell = ~p.no_sell & (p.w0 > p.lower + 1e-12)
        scale = 1e-8 * (1.0 + float(np.max(np.abs(np.concatenate([buy, sell])))))
        bad = ~inside & p.investable & ((can_buy & (buy < -scale)) | (can_sell & (sell < -scale)))
        if not bad.any():
            extra = {}
            for i in np.flatnonzero(~inside & p.investable):
                # Prices of the own limits of assets left out (the rate at which relaxing
                # them would let the objective improve).
                for side, rate in (("upper", -buy[i]), ("buy", -buy[i]), ("lower", -sell[i]),
                                   ("sell", -sell[i])):  # fmt: skip
                    row = prog.own[side][i]
                    if row >= 0 and rate > 0 and prog.labels[row] is not None:
                        bound = p.upper[i] if side == "upper" else p.lower[i]
                        if side in ("upper", "lower") and abs(p.w0[i] - bound) > 1e-12:
                            continue
                        extra[prog.labels[row]] = rate
            return status, x, z, s, labels, cones, kappa, extra
        # The most violated first: a working set far from the optimum prices many assets wrong.
        worst = np.minimum(np.where(can_buy, buy, 0.0), np.where(can_sell, sell, 0.0))
        worst = np.where(bad, worst, 0.0)
        size = max(4, int(inside.sum()) // 3)
        inside[np.argsort(worst)[: min(size, int(bad.sum()))]] = True
    return _solve_reduced(prog, np.ones(n, dtype=bool))[:7] + ({},)


def _directional_derivatives(p: BookProblem, prog: _Program, g: np.ndarray):
    """Lagrangian's rate of change when each asset is bought or sold a little."""
    c = prog.columns
    buy = g[c["w"]] + g[c["b"]]
    sell = -g[c["w"]] + g[c["s"]]
    if prog.exposure:
        buy = buy + np.where(p.w0 >= 0, g[c["p"]], -g[c["q"]])
        sell = sell + np.where(p.w0 > 0, -g[c["p"]], g[c["q"]])
    return buy, sell


def _solve_reduced(prog: _Program, inside: np.ndarray):
    """Solve the program with the assets outside ``inside`` held (not traded)."""
    import clarabel
    from scipy import sparse

    r, c, v, m, nx = prog.A
    b = prog.b
    homogeneous = prog.numerator is not None
    keep = (prog.asset_of < 0) | inside[np.maximum(prog.asset_of, 0)]
    drop = ~keep
    fixed = prog.x_held * drop
    held = drop[c]
    b_eff = b - np.bincount(r[held], weights=v[held] * fixed[c[held]], minlength=m)
    nnz_rows = np.bincount(r[~held], minlength=m)
    linear = prog.row_cone < 0
    empty = linear & (nnz_rows == 0)  # rows of held assets only: check them, then drop them
    bad_zero = empty & (prog.row_cone == -1) & (np.abs(b_eff) > 1e-9)
    bad_nonneg = empty & (prog.row_cone == -2) & (b_eff < -1e-9)
    if bad_zero.any() or bad_nonneg.any():
        return None
    rows = ~empty
    new = np.cumsum(keep) - 1
    row_new = np.cumsum(rows) - 1
    sel = ~held & rows[r]
    rr, cc, vv = [row_new[r[sel]]], [new[c[sel]]], [v[sel]]
    m_k = int(rows.sum())
    b_k = b_eff[rows]
    row_cone = prog.row_cone[rows]
    labels = [lab for lab, r in zip(prog.labels, rows, strict=True) if r]
    new = np.cumsum(keep) - 1
    nk = int(keep.sum())
    q = prog.q[keep].copy()
    # Objective: the dense block with the held assets substituted.
    Pi = prog.P_index
    in_k = keep[Pi] if len(Pi) else np.zeros(0, dtype=bool)
    Pb = prog.P_block
    P_rows, P_cols, P_vals = [], [], []
    if len(Pi):
        K, E = np.flatnonzero(in_k), np.flatnonzero(~in_k)
        xE = prog.x_held[Pi[E]]
        PKK = Pb[np.ix_(K, K)]
        cross = Pb[np.ix_(K, E)] @ xE
        if homogeneous:
            ik = prog.ik
            kk = float(xE @ Pb[np.ix_(E, E)] @ xE)
            idx = np.append(new[Pi[K]], new[ik])
            full = np.zeros((len(K) + 1, len(K) + 1))
            full[: len(K), : len(K)] = PKK
            full[: len(K), -1] = full[-1, : len(K)] = cross
            full[-1, -1] = kk
            if ik in set(Pi[K].tolist()):  # kappa already in the block (information ratio)
                pos = int(np.flatnonzero(Pi[K] == ik)[0])
                full[pos, :] += full[-1, :]
                full[:, pos] += full[:, -1]
                full = np.delete(np.delete(full, -1, 0), -1, 1)
                idx = idx[:-1]
        else:
            idx = new[Pi[K]]
            full = PKK
            q[new[Pi[K]]] += cross
        r_, c_ = np.triu_indices(len(idx))
        P_rows, P_cols, P_vals = idx[r_], idx[c_], full[r_, c_]
    P = sparse.csc_matrix((P_vals, (P_rows, P_cols)), shape=(nk, nk))
    if homogeneous:
        # Every right-hand side h becomes h kappa; then "net excess return = 1", kappa >= 0.
        ik = int(new[prog.ik])
        nz = np.flatnonzero(b_k)
        num = prog.numerator[keep].copy()
        num[ik] += float(prog.numerator[drop] @ prog.x_held[drop])
        nz_num = np.flatnonzero(num)
        rr += [nz, np.full(len(nz_num), m_k), [m_k + 1]]
        cc += [np.full(len(nz), ik), nz_num, [ik]]
        vv += [-b_k[nz], num[nz_num], [-1.0]]
        b_k = np.zeros(m_k + 2)
        b_k[-2] = 1.0
        row_cone = np.append(row_cone, [-1, -2])
        labels = labels + [None, None]
    A_k = sparse.csc_matrix(
        (np.concatenate(vv), (np.concatenate(rr), np.concatenate(cc))), shape=(len(b_k), nk)
    )
    cone_kinds = []
    for cone in row_cone:
        kind = "zero" if cone == -1 else ("nonneg" if cone == -2 else f"soc{cone}")
        if cone_kinds and cone_kinds[-1][0] == kind:
            cone_kinds[-1] = (kind, cone_kinds[-1][1] + 1)
        else:
            cone_kinds.append((kind, 1))
    make = {"zero": clarabel.ZeroConeT, "nonneg": clarabel.NonnegativeConeT}
    cones = [make[k](size) if k in make else clarabel.SecondOrderConeT(size)
             for k, size in cone_kinds]  # fmt: skip
    sol = _solve_once(P, q, A_k, b_k, cones, _TOL)
    status = str(sol.status)
    if status not in ("Solved", "AlmostSolved") and "Infeasible" not in status:
        sol = _solve_once(P, q, A_k, b_k, cones, 0.0)
        status = str(sol.status)
    xk = np.asarray(sol.x)
    z = np.asarray(sol.z)
    kappa = float(xk[new[prog.ik]]) if homogeneous else 1.0
    x = fixed * kappa
    x[keep] = xk
    # Gradient of the Lagrangian over every column, for the pricing of the held assets.
    g = prog.q.copy()
    if len(Pi):
        g[Pi] += Pb @ x[Pi]
    z_all = np.zeros(m)
    z_all[rows] = z[:m_k]
    g += np.bincount(c, weights=v * z_all[r], minlength=nx)
    if homogeneous:
        g += prog.numerator * z[m_k]
    cones_out = [("soc" if k.startswith("soc") else k, size) for k, size in cone_kinds]
    return status, x, z, np.asarray(sol.s), labels, cones_out, kappa, g


def _net_return(p: BookProblem, w: np.ndarray) -> float:
    rf = float(p.risk_free_rate)
    return float((p.mu - rf) @ w + rf - p.costs @ np.abs(w - p.w0) / p.horizon)


def objective_value(p: BookProblem, kind: str, w: np.ndarray, *, delta: float = 1.0) -> float:
    """The objective of ``kind`` at ``w`` in its units (see the module docstring).

    Parameters
    ----------
    p : BookProblem
        The problem.
    kind : str
        One of :data:`BOOK_KINDS`.
    w : ndarray (N,)
        Decimal weights.
    delta : float
        Risk aversion for ``"max_utility"``.

    Returns
    -------
    float
        Sharpe or information ratio, net return (decimal), or volatility / tracking error plus
        amortised costs (decimal) for the minimising kinds.
    """
    vol = float(np.sqrt(max(w @ p.cov @ w, 0.0)))
    cost = float(p.costs @ np.abs(w - p.w0) / p.horizon)
    rf = float(p.risk_free_rate)
    if kind == "max_sharpe":
        return (_net_return(p, w) - rf) / vol if vol > 0 else float("inf")
    if kind in ("min_volatility", "target_return"):
        return vol + cost
    if kind == "max_utility":
        return _net_return(p, w) - delta / 2 * vol**2
    if kind == "target_volatility":
        return _net_return(p, w)
    bench = p.benchmark
    a = w - bench
    te = float(np.sqrt(max(a @ p.cov @ a, 0.0)))
    if kind == "min_tracking_error":
        return te + cost
    active = _net_return(p, w) - float((p.mu - rf) @ bench) - rf
    return active / te if te > 0 else float("inf")


def solve_book(
    p: BookProblem,
    kind: str,
    *,
    target: float | None = None,
    delta: float = 1.0,
    shadow_prices: bool = True,
) -> BookSolution:
    """Solve one objective from the book (see the module docstring for the programs).

    Parameters
    ----------
    p : BookProblem
        The problem.
    kind : str
        One of :data:`BOOK_KINDS`.
    target : float, optional
        Target return (annualised decimal, net of amortised costs) for ``"target_return"``,
        target volatility for ``"target_volatility"``.
    delta : float
        Risk aversion for ``"max_utility"``.
    shadow_prices : bool
        Whether to compute them.

    Returns
    -------
    BookSolution
        Shadow prices: objective gained per percentage point (0.01) of relaxation of each
        binding constraint, in the objective's units: Sharpe ratio or information ratio
        (``max_sharpe``, ``max_information_ratio``), decimal annualised net return
        (``max_utility``: utility; ``target_volatility``), decimal annualised volatility or
        tracking error plus amortised costs saved (``min_volatility``, ``target_return``,
        ``min_tracking_error``). Positive: relaxing the limit helps.

    Raises
    ------
    InfeasibleConstraintsError
        No portfolio satisfies the limits (the message names the conflict), or no portfolio
        beats the risk-free rate (the benchmark) after costs for the maximum Sharpe
        (information) ratio.
    OptimizationError
        The program is unbounded (infinite weight bounds) or the solver failed.

    References
    ----------
    Cornuejols & Tutuncu (2007), ch. 8; Goulart & Chen (2024).
    """
    if kind not in BOOK_KINDS + _INTERNAL_KINDS:
        raise OptimizationError(f"Unknown objective {kind!r}.")
    needs_bench = kind in ("min_tracking_error", "max_information_ratio")
    if (needs_bench or p.max_tracking_error is not None) and p.benchmark is None:
        raise OptimizationError(
            "Tracking error needs a benchmark: give the objective's benchmark weights."
        )
    fast = None
    if kind in book_active_set.KINDS:
        fast = book_active_set.solve(p, kind, delta=delta, shadow_prices=shadow_prices)
    if fast is not None:
        return _finish(p, kind, fast[0], delta, fast[1], None)
    needs_factor = (
        kind in _CONE_OBJECTIVE
        or kind == "target_volatility"
        or p.max_volatility is not None
        or p.max_tracking_error is not None
    )
    F = covariance_factor(p.cov) if needs_factor else None
    status, x, z, s, labels, cone_kinds, kappa, held_prices = _assemble_and_solve(
        p, kind, target=target, delta=delta, F=F
    )
    if "PrimalInfeasible" in status:
        if kind in _INTERNAL_KINDS:  # a step of the diagnosis itself
            raise InfeasibleConstraintsError("No portfolio satisfies the limits.")
        raise InfeasibleConstraintsError(_diagnose(p, kind, target))
    if "DualInfeasible" in status:
        raise OptimizationError(
            "The objective has no optimum within these limits (it is unbounded): set finite "
            "minimum and maximum weights, or a gross exposure limit."
        )
    if status not in ("Solved", "AlmostSolved"):
        raise OptimizationError(
            f"The optimiser could not solve this problem ({status}); try a shrinkage "
            "covariance estimator or looser limits."
        )
    n = p.n
    if kind in _HOMOGENEOUS:
        if kappa <= 1e-12:
            raise OptimizationError(
                "The optimiser could not solve this problem (the ratio's scale vanished); "
                "try a shrinkage covariance estimator."
            )
        w = x[:n] / kappa
    else:
        w = x[:n].copy()
    prices = None
    if shadow_prices and kind in BOOK_KINDS:
        prices = (z, s, labels, cone_kinds, kappa, held_prices)
    return _finish(p, kind, w, delta, None, prices)


def _finish(p: BookProblem, kind: str, w: np.ndarray, delta: float, prices: dict | None,
            duals) -> BookSolution:  # fmt: skip
    """Clean the weights, check a ratio's scale, and turn the duals into shadow prices."""
    w = np.clip(w, p.lower, p.upper)
    w[np.abs(w) < 1e-11] = 0.0
    w[~p.investable] = 0.0
    # Trades the solver left at rounding noise: snap onto the holding.
    near = np.abs(w - p.w0) < 1e-10
    w[near] = p.w0[near]
    value = objective_value(p, kind, w, delta=delta) if kind in BOOK_KINDS else float("nan")
    if kind in _HOMOGENEOUS:
        vol = float(np.sqrt(max(w @ p.cov @ w, 0.0)))
        if kind == "max_sharpe" and (vol < 1e-7 or value > 1e6):
            raise InfeasibleConstraintsError(unbounded_sharpe_message(p.risk_free_rate))
    if prices is not None:
        return BookSolution(w, prices, value)
    prices = {}
    if duals is not None:
        z, s, labels, cone_kinds, kappa, held_prices = duals
        factor = value**3 * kappa if kind in _HOMOGENEOUS else 1.0
        prices = _shadow_prices(z, s, labels, cone_kinds, factor, value)
        scale = max(1.0, abs(value)) if np.isfinite(value) else 1.0
        for name, rate in held_prices.items():
            if rate * factor / 100 > 1e-9 * scale:
                prices[name] = rate * factor / 100
    return BookSolution(w, prices, value)


def unbounded_sharpe_message(rf: float) -> str:
    """The message for a maximum Sharpe ratio that a riskless portfolio makes unbounded.

    Parameters
    ----------
    rf : float
        Annual decimal risk-free rate.

    Returns
    -------
    str
    """
    return (
        "The covariance is singular and a portfolio within the constraints has zero "
        f"volatility with an expected return above the risk-free rate of {rf:.2%}: the Sharpe "
        "ratio is unbounded, so there is no tangency portfolio. Use a shrinkage covariance "
        "estimator (e.g. Ledoit-Wolf), more observations, or another objective."
    )


def _shadow_prices(z, s, labels, cone_kinds, factor: float, value: float) -> dict[str, float]:
    out: dict[str, float] = {}
    row = 0
    scale = max(1.0, abs(value)) if np.isfinite(value) else 1.0
    for cone, m in cone_kinds:
        block = range(row, row + m)
        if cone == "nonneg":
            for j in block:
                if labels[j] is None:
                    continue
                gain = float(z[j]) * factor / 100
                if gain > 1e-9 * scale and s[j] < 1e-6:
                    out[labels[j]] = gain
        elif cone == "zero":
            for j in block:
                if labels[j] == "budget":
                    gain = float(z[j]) * factor / 100
                    if abs(gain) > 1e-9 * scale:
                        # More invested (less cash) helps when gain > 0.
                        name = "cash at least 0.0%" if gain > 0 else "cash at most 0.0%"
                        out[name] = abs(gain)
        elif labels[row] is not None:  # a capped cone: its first row is the cap
            gain = float(z[row]) * factor / 100
            if gain > 1e-9 * scale and s[row] - np.linalg.norm(s[row + 1 : row + m]) < 1e-6:
                out[labels[row]] = gain
        row += m
    return out


def _diagnose(p: BookProblem, kind: str, target: float | None) -> str:
    """Which limits conflict, in words: re-solve with the limits removed one kind at a time."""
    problems = []
    for i in np.flatnonzero(p.investable):
        t, held = p.tickers[i], p.w0[i]
        lo, up = p.lower[i], p.upper[i]
        if p.locked[i] and not (lo - 1e-9 <= held <= up + 1e-9):
            problems.append(
                f"{t} is locked at {held:.1%}, outside its bounds [{lo:.1%}, {up:.1%}]: unlock "
                "it or widen its bounds"
            )
        elif p.no_sell[i] and held > up + 1e-9:
            problems.append(
                f"{t} may not be sold, but its holding of {held:.1%} is above its maximum weight "
                f"of {up:.1%}"
            )
        elif p.no_buy[i] and held < lo - 1e-9:
            problems.append(
                f"{t} may not be bought, but its holding of {held:.1%} is below its minimum "
                f"weight of {lo:.1%}"
            )
    if problems:
        return "; ".join(problems) + "."
    linear = dataclasses.replace(p, max_turnover=None, max_volatility=None, max_tracking_error=None)
    try:
        base = solve_book(linear, "min_turnover", shadow_prices=False)
    except InfeasibleConstraintsError:
        parts = ["the weight bounds"]
        if len(p.h):
            parts.append("the sector limits")
        if p.locked.any():
            parts.append("the locked positions")
        if (p.no_buy & ~p.locked).any() or (p.no_sell & ~p.locked).any():
            parts.append("the no-buy and no-sell lists")
        if any(x is not None for x in (p.max_gross, p.max_long, p.max_short)):
            parts.append("the exposure limits")
        if p.invested != (1.0, 1.0):
            parts.append("the cash bounds")
        return (
            "No portfolio satisfies " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1
            else "") + parts[-1] + " together; loosen one of them."  # fmt: skip
        )
    if p.max_turnover is not None:
        needed = float(np.abs(base.weights - p.w0).sum() / 2)
        if needed > p.max_turnover + 1e-9:
            forced = "the locked positions and other limits" if p.locked.any() else "the limits"
            invested = float(p.w0.sum())
            least, most = p.invested
            why, which = "the book breaks them", "the limits"
            if not least - 1e-9 <= invested <= most + 1e-9:
                which = "the cash bounds or other limits"
                why = (f"the book holds {1 - invested:.1%} cash, the proposal between "
                       f"{1 - most:.1%} and {1 - least:.1%}")  # fmt: skip
            return (
                f"The turnover budget of {p.max_turnover:.1%} is smaller than the "
                f"{needed:.1%} that {forced} force ({why}): raise the budget to at least "
                f"{needed:.1%}, or loosen {which}."
            )
    with_turnover = dataclasses.replace(p, max_volatility=None, max_tracking_error=None)
    if p.max_tracking_error is not None:
        plain = dataclasses.replace(with_turnover, costs=np.zeros(p.n))
        best = solve_book(plain, "min_tracking_error", shadow_prices=False)
        if best.value > p.max_tracking_error + 1e-9:
            return (
                f"The tracking-error cap of {p.max_tracking_error:.2%} is below the minimum "
                f"achievable under these limits, {best.value:.2%}: raise it to at least "
                f"{best.value:.2%} or loosen the other limits."
            )
    if p.max_volatility is not None or kind == "target_volatility":
        cap = target if kind == "target_volatility" else p.max_volatility
        which = "target volatility" if kind == "target_volatility" else "maximum volatility"
        plain = dataclasses.replace(with_turnover, costs=np.zeros(p.n))
        best = solve_book(plain, "min_volatility", shadow_prices=False)
        if best.value > cap + 1e-9:
            return (
                f"The {which} of {cap:.2%} is below the lowest volatility achievable under "
                f"these limits, {best.value:.2%}: raise it to at least {best.value:.2%} or "
                "loosen the other limits."
            )
    if kind == "target_return":
        top = solve_book(dataclasses.replace(p), "max_return", shadow_prices=False)
        reached = _net_return(p, top.weights)
        return (
            f"The target return of {target:.2%} is above the highest expected return net of "
            f"costs the limits allow, {reached:.2%}."
        )
    if kind == "max_sharpe":
        top = solve_book(p, "max_return", shadow_prices=False)
        return (
            "No portfolio within the limits is expected to beat the risk-free rate of "
            f"{p.risk_free_rate:.2%} after costs (the best reaches "
            f"{_net_return(p, top.weights):.2%}), so the Sharpe ratio has no maximum: lower the "
            "risk-free rate or the costs, or choose another objective."
        )
    if kind == "max_information_ratio":
        return (
            "No portfolio within the limits is expected to beat the benchmark after costs, so "
            "the information ratio has no maximum: loosen the limits or choose another "
            "objective (minimum tracking error)."
        )
    return (
        "The volatility and tracking-error caps cannot both hold within the other limits; "
        "loosen one of them."
    )
