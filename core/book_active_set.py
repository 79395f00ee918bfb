r"""An exact active-set engine for the book's linearly constrained objectives.

Conventions
-----------
As :mod:`core.rebalancing` (arrays only; weights and holdings decimals of the book's value,
annualised expected returns, covariance and rates, costs per unit of weight traded amortised
over ``H`` years). This module serves the maximum Sharpe ratio, the maximum information ratio
and the maximum utility when every limit is linear: weight bounds, locks, no-buy and no-sell
lists, sector rows, the budget (or cash bounds) and the turnover budget. Problems with a
volatility or tracking-error cap or exposure limits go to the conic engine of
:mod:`core.rebalancing`, as does any problem this engine declines (a book outside its limits,
a singular covariance block, a degenerate cycle): :func:`solve` then returns None.

Method
------
For a risk tolerance ``t >= 0`` the problem

.. math:: \min_w \tfrac12 (w - c)' \Sigma (w - c) - t \, A(w), \qquad
          A(w) = e'(w - c) - \sum_i \kappa_i |w_i - w0_i|

(``e = mu - r_f``, ``kappa = costs / H``, ``c = 0`` for the Sharpe ratio and the utility, the
benchmark for the information ratio) is a convex quadratic program whose objective and
turnover row are piecewise linear with one kink per asset, at its holding. Each asset is in one
state: fixed (at its lower bound, its upper bound, or its holding) or free on one side of its
holding (buying, cost slope ``+kappa_i``; selling, ``-kappa_i``). That is the primal active-set
method on the split ``w = w0 + b - s`` with at most one of ``b_i, s_i`` free (Nocedal & Wright
2006, algorithm 16.3): on a fixed set of states and binding rows the Karush-Kuhn-Tucker system
is linear (a Cholesky factor of the free assets' covariance block and a Schur complement of the
few binding rows); a step moves to its solution until a free weight reaches a bound or its
holding, or a row becomes binding; at a stationary point the most negative multiplier
(directional derivative of the Lagrangian, for a fixed asset) leaves the working set. The start
is the book itself (every asset at its holding), so the iterations follow the trades.

The working set's solution is affine in ``t``: ``w(t) = a + t d`` with ``d' Sigma d = A'(t)``,
so along it ``phi(t) = t A(w(t)) - (w - c)' Sigma (w - c)`` is affine, ``phi(t) = t A(a) -
(a - c)' Sigma (a - c)``. The maximum ratio ``A(w) / sqrt((w - c)' Sigma (w - c))`` is the
point of the path where ``phi = 0`` (its stationarity conditions, multiplied by the volatility,
are those of the quadratic program at ``t = sigma^2 / A``; the ratio rises along the path while
``phi < 0`` and falls after). The primal-dual steps first take ``t`` at each working set's own
root (as Dinkelbach's method does for fractional programs), so one pass of steps usually ends
at the optimum; when they stop short, Newton steps on ``phi``, safeguarded by bisection, each
one a warm-started solve, until the root lies where the working set is optimal. The weights are then
an exact Karush-Kuhn-Tucker point (no interior-point tolerance), and the multipliers ``lambda``
of the quadratic program give the shadow prices: ``dS / dh = lambda / (sigma t)`` for the
ratios, ``dU / dh = lambda / t`` for the utility (envelope theorem).

Compiled code
-------------
The steps are small (at 100 assets a handful of free assets and binding rows), so in numpy
each step was some two hundred calls of a few microseconds, not arithmetic: 2 ms a solve.
The inner steps are therefore compiled with numba (:mod:`core._book_kernels`, the one
implementation): the working set's KKT system (assembly, Gaussian elimination with partial
pivoting, the dependent-rows case), the pricing of the fixed assets, the multipliers, the
slacks and ratio tests, the check that a working set stays optimal at another ``t``, and the
whole loop of primal-dual steps, which runs without returning to Python. This module keeps
the driver: the Newton/Dinkelbach iteration over ``t``, the primal method's outer loop (a
rare path), the declines to the conic engine and the shadow prices' labels. numba is imported
on the first solve only (the dashboard's and the command line's start do not load it); the
compiled code is cached in ``core/__pycache__`` (compiling takes tens of seconds once, see
:func:`warm_up`; loading it a fraction of a second per process).

References
----------
Nocedal & Wright (2006), "Numerical Optimization", 2nd ed., Springer, ch. 16.5; Dinkelbach
(1967), "On nonlinear fractional programming", Management Science 13(7); Best (2010),
"Portfolio Optimization", ch. 7 (parametric quadratic programs); Markowitz (1956); Lobo, Fazel
& Boyd (2007), "Portfolio optimization with linear and fixed transaction costs", Annals of
Operations Research 152; Cornuejols & Tutuncu (2007), "Optimization Methods in Finance", ch. 8.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["KINDS", "applies", "solve", "warm_up"]

#: Objective kinds this engine serves.
KINDS = ("max_sharpe", "max_information_ratio", "max_utility")
_EPS = 1e-12  # weights are O(1): closer than this counts as "at the bound"
# Primal-dual steps at most; at a feasible point with at most _FEW changes left the primal
# method finishes; releases per step at most max(_CAP0, cap x free assets), cap from
# _RETRY_CAPS (the second after a cycle). Measured on bench/rebalance.py and random books:
# fewer releases make the steps crawl, more make the multipliers swing; with the steps at each
# working set's root (see `solve_ratio`) handing the last few changes to the primal method,
# one per solve, costs more solves than it saves (_FEW = 0: only a cycle hands over).
_PD_STEPS, _FEW, _CAP0 = 40, 0, 4
_RETRY_CAPS = (2.0, 0.5)


_NONE = np.zeros(0)
_K = None  # core._book_kernels, imported when the engine first runs (it imports numba)


def _owned(x, dtype=None) -> np.ndarray:
    """``x`` as a writable C-contiguous array, copied only when it is not one already.

    numba compiles once per argument type, and a read-only array (pandas hands them out under
    copy-on-write) is another type: every kernel would be compiled (and cached) again.
    """
    x = np.ascontiguousarray(x, dtype=dtype)
    return x if x.flags.writeable else x.copy()


def _kernels():
    global _K
    if _K is None:
        from core import _book_kernels

        _K = _book_kernels
    return _K


class _Decline(Exception):
    """Raised when the problem goes to the conic engine instead."""


class _PrimalSteps(_Decline):
    """Raised by the primal-dual steps at a feasible point with a few changes left."""


def applies(p, kind: str) -> bool:
    """Whether :func:`solve` may serve ``kind`` on ``p`` (linear limits, a feasible book).

    Parameters
    ----------
    p : core.rebalancing.BookProblem
        The problem.
    kind : str
        Objective kind.

    Returns
    -------
    bool
    """
    if kind not in KINDS:
        return False
    if any(x is not None for x in (p.max_gross, p.max_long, p.max_short, p.max_volatility,
                                   p.max_tracking_error)):  # fmt: skip
        return False
    if kind == "max_information_ratio" and p.benchmark is None:
        return False
    lo, hi = _bounds(p)
    w0 = p.w0
    if not (np.all(lo <= w0 + 1e-12) and np.all(w0 <= hi + 1e-12)):
        return False
    least, most = p.invested
    total = float(w0.sum())
    if not least - 1e-12 <= total <= most + 1e-12:
        return False
    if len(p.h) and np.any(p.G @ w0 > p.h + 1e-12):
        return False
    return bool(np.isfinite(p.mu).all() and np.isfinite(p.cov).all())


def _bounds(p) -> tuple[np.ndarray, np.ndarray]:
    lo = np.where(p.no_sell, np.maximum(p.lower, p.w0), p.lower)
    hi = np.where(p.no_buy, np.minimum(p.upper, p.w0), p.upper)
    return lo, hi


class _Engine:
    """The state of the primal active-set method on one problem (see the module docstring)."""

    def __init__(self, p, kind: str) -> None:
        _kernels()  # numba, on the first engine only
        n = p.n
        self.p, self.n = p, n
        self.S = p.cov
        self.w0 = p.w0.astype(float)
        self.lo, self.hi = _bounds(p)
        self.lo = np.minimum(self.lo, self.w0)
        self.hi = np.maximum(self.hi, self.w0)
        self.kappa = p.costs / p.horizon
        self.e = p.mu - float(p.risk_free_rate)
        self.c0 = p.benchmark if kind == "max_information_ratio" else np.zeros(n)
        self.Sc0 = self.S @ self.c0 if kind == "max_information_ratio" else np.zeros(n)
        # Linear rows G w <= h (the budget first), then the turnover row (index m).
        least, most = p.invested
        rows, rhs, labels, equal = [], [], [], []
        if abs(most - least) <= 1e-12:
            rows.append(np.ones(n))
            rhs.append(most)
            labels.append("budget")
            equal.append(True)
        else:
            rows += [np.ones(n), -np.ones(n)]
            rhs += [most, -least]
            labels += [f"cash at least {_pct(1 - most)}", f"cash at most {_pct(1 - least)}"]
            equal += [False, False]
        for g, h, lab in zip(p.G, p.h, p.labels, strict=True):
            rows.append(np.asarray(g, dtype=float))
            rhs.append(float(h))
            labels.append(lab)
            equal.append(False)
        self.G = np.array(rows).reshape(-1, n)
        self.h = np.array(rhs, dtype=float)
        self.m = len(self.h)
        self.turnover = p.max_turnover
        if self.turnover is not None:
            labels.append(f"turnover at most {_pct(self.turnover)}")
            equal.append(False)
        self.labels = labels
        self.equal = np.array(equal, dtype=bool)
        # Constants of the iterations, computed once.
        self.bench = kind == "max_information_ratio"
        self.emax = float(np.abs(self.e).max(initial=0.0))
        self.hi_in, self.lo_in = self.hi - _EPS, self.lo + _EPS
        self.n_rows = self.m + (self.turnover is not None)
        # Rows of all ones (+1) or all minus ones (-1): the budget and cash rows, a scalar add.
        self.row_sign = np.array([1.0 if np.all(g == 1.0) else -1.0 if np.all(g == -1.0) else 0.0
                                  for g in self.G])  # fmt: skip
        # State: free (with side +1 buying, -1 selling) or fixed at w.
        self.w = self.w0.copy()
        self.free = np.zeros(n, dtype=bool)
        self.side = np.zeros(n)
        self.J: list[int] = [j for j in range(len(labels)) if self.equal[j]]
        if self.J:  # an equality needs a free asset to price it: free the most mobile one
            room = np.where(self.hi - self.w0 >= self.w0 - self.lo, self.hi - self.w0,
                            self.w0 - self.lo)  # fmt: skip
            i = int(np.argmax(room))
            if room[i] <= _EPS:
                raise _Decline  # nothing can move: the book is the only portfolio
            self.free[i] = True
            self.side[i] = 1.0 if self.hi[i] - self.w0[i] >= self.w0[i] - self.lo[i] else -1.0
        self.iterations = 0
        self.null = _NONE  # spans the null space of dependent binding rows (empty: none)
        # The constants of the compiled kernels, in the order core._book_kernels reads them.
        c = _owned
        self.P = (
            c(self.S, dtype=float), c(self.e, dtype=float), c(self.kappa, dtype=float),
            c(self.w0), c(self.lo, dtype=float), c(self.hi, dtype=float), c(self.lo_in),
            c(self.hi_in), c(self.c0, dtype=float), c(self.Sc0, dtype=float), c(self.G),
            self.h, self.row_sign, self.equal, bool(self.bench), int(self.m),
            float("nan") if self.turnover is None else float(self.turnover), self.emax,
        )  # fmt: skip

    # -- the linear algebra of one working set (compiled: core._book_kernels) ------------------
    def _j(self) -> np.ndarray:
        """The working set as the kernels take it (room for every row)."""
        J = np.zeros(self.n_rows + 1, dtype=np.int64)
        J[: len(self.J)] = self.J
        return J

    def _rows_on(self, F: np.ndarray, fixed_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Binding rows on the free assets, and their right-hand sides less the fixed part."""
        return _K.rows_on(self.P, F, fixed_w, self.side, self._j(), len(self.J))

    def _eqp(self, relax: bool = False):
        """The working set's solution: ``w_F = a + t d`` and multipliers ``l0 + t l1``."""
        J = self._j()
        st, F, a, d, l0, l1, null, nJ = _K.eqp(self.P, self.w, self.free, self.side, J,
                                               len(self.J), relax)  # fmt: skip
        self.J = J[:nJ].tolist()
        self.null = null
        if st != _K.OK:
            raise _Decline
        return F, a, d, l0, l1

    def _pieces(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The range of each free weight on its side of the holding."""
        return _K.pieces(self.P, np.asarray(F, dtype=np.int64), self.side)

    def _slack_rows(self, w: np.ndarray) -> np.ndarray:
        """``h - G w`` for every linear row, then the turnover row's slack."""
        return _K.slack_rows(self.P, w)

    def _row_times(self, F: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Each row's rate of change along a step ``p`` of the free weights."""
        return _K.row_times(self.P, F, self.side, p)

    def _gradient(self, w: np.ndarray) -> np.ndarray:
        """``Sigma (w - c)``."""
        return _K.gradient(self.P, w)

    def _multipliers(self, t: float, l0: np.ndarray, l1: np.ndarray) -> np.ndarray:
        """Multipliers at ``t`` (see ``core._book_kernels.multipliers``)."""
        return _K.multipliers(self.P, float(t), l0, l1, self.null, self.w, self.free, self._j(),
                              len(self.J))  # fmt: skip

    def _prices(self, t: float, lam: np.ndarray, g: np.ndarray):
        """Directional derivatives of the Lagrangian when each fixed asset moves up or down."""
        return _K.prices(self.P, float(t), lam, self._j(), len(self.J), g, self.w)

    # -- the primal active-set method at one risk tolerance ------------------------------------
    def solve_at(self, t: float):
        """Optimal working set at ``t``; returns ``(F, a, d, l0, l1)`` of the last solve.

        Primal-dual active-set steps first (many states change per step, no feasible iterate
        needed); when they cycle, the primal active-set method from the last feasible point.
        """
        self._keep_feasible()
        for cap in _RETRY_CAPS:  # a cycle: again with fewer releases per step, then primal
            try:
                return self._primal_dual(t, cap)
            except _Decline as why:
                self._restore_feasible()
                if isinstance(why, _PrimalSteps):
                    break
        return self._primal(t)

    def solve_ratio(self, t: float):
        """Primal-dual steps with ``t`` moved at each step to the root of its working set.

        For the ratios: each step's working set gives ``phi(t)`` in closed form, so the step is
        taken at its root rather than at a fixed ``t``; where the steps stop, the working set
        is optimal at its own root, the maximum ratio, without a Newton iteration over ``t``
        around full solves. Returns ``(t, F, a, d, l0, l1)``, or None (the state restored to
        the last feasible point) for the Newton iteration to take over from there.
        """
        self._keep_feasible()
        self.t_ratio = t
        try:
            found = self._primal_dual(t, _RETRY_CAPS[0], ratio=True)
            return (self.t_ratio, *found)
        except _Decline:
            self._restore_feasible()
            return None

    def _keep_feasible(self) -> None:
        J = self._j()
        self._feasible = (self.w.copy(), self.free.copy(), self.side.copy(), J,
                          np.array([len(self.J)], dtype=np.int64))  # fmt: skip

    def _restore_feasible(self) -> None:
        w, free, side, J, nJ = self._feasible
        self.w, self.free, self.side = w.copy(), free.copy(), side.copy()
        self.J = self._independent(J[: int(nJ[0])].tolist())

    def _independent(self, J: list[int]) -> list[int]:
        """The equality rows, then those of ``J`` that stay independent on the free assets."""
        F = self.free.nonzero()[0]
        if self.equal.any() and not len(F):
            raise _Decline
        chosen = [j for j in range(len(self.equal)) if self.equal[j]]
        for j in J:
            if j in chosen:
                continue
            self.J = chosen + [j]
            A, _ = self._rows_on(F, np.where(self.free, 0.0, self.w))
            if np.linalg.matrix_rank(A, tol=1e-9) == len(self.J):
                chosen.append(j)
        return chosen

    def _primal_dual(self, t: float, cap_factor: float, ratio: bool = False):
        """Primal-dual active-set steps (Hintermueller, Ito & Kunisch 2003) from the states.

        Compiled (``core._book_kernels.primal_dual``): every violated condition changes its
        state at once (the releases capped at the number of free assets); at a feasible point
        with a few changes left, after a repeated state or at inconsistent binding rows, the
        primal method takes over from the last feasible point (the caller restores it).
        """
        J = self._j()
        st, t_new, F, a, d, l0, l1, null, nJ, steps = _K.primal_dual(
            self.P, float(t), float(cap_factor), ratio, self.w, self.free, self.side, J,
            len(self.J), self._feasible, _PD_STEPS, _FEW, _CAP0,
        )  # fmt: skip
        self.iterations += int(steps)
        self.J = J[:nJ].tolist()
        self.null = null
        if ratio:
            self.t_ratio = float(t_new)
        if st == _K.PRIMAL:
            raise _PrimalSteps  # a few changes from a feasible point
        if st != _K.OK:
            raise _Decline
        return F, a, d, l0, l1

    def _primal(self, t: float):
        """The primal active-set method at ``t`` from a feasible point and its working set."""
        n = self.n
        for _ in range(60 + 6 * n):
            self.iterations += 1
            F, a, d, l0, l1 = self._eqp()
            target = a + t * d
            step = target - self.w[F]
            if len(F) and np.abs(step).max() > 1e-13:
                lo_F, hi_F = self._pieces(F)
                alpha, block, kind = 1.0, -1, ""
                with np.errstate(divide="ignore", invalid="ignore"):
                    room = np.where(step > 0, hi_F - self.w[F], lo_F - self.w[F])
                    ratio = np.where(step != 0, room / step, np.inf)
                ratio = np.maximum(ratio, 0.0)
                if len(ratio):
                    k = int(np.argmin(ratio))
                    if ratio[k] < alpha:
                        alpha, block, kind = float(ratio[k]), int(F[k]), "asset"
                rate = self._row_times(F, step)
                slack = self._slack_rows(self.w)
                inactive = np.ones(len(rate), dtype=bool)
                inactive[self.J] = False
                grow = inactive & (rate > 1e-12 * float(np.abs(step).max()))
                if grow.any():
                    r = np.where(grow, np.maximum(slack, 0.0) / np.where(grow, rate, 1.0), np.inf)
                    j = int(np.argmin(r))
                    if r[j] < alpha:
                        alpha, block, kind = float(r[j]), j, "row"
                if block >= 0:
                    self.w[F] = self.w[F] + alpha * step
                    self._block(F, step, block, kind)
                    continue
            if self._stationary(t, F, target, l0, l1):
                return F, a, d, l0, l1
        raise _Decline

    def _block(self, F, step, block, kind) -> None:
        """Add the blocking limit to the working set: an asset reaches a bound or its holding."""
        if kind == "asset":
            lo_i, hi_i = self._pieces(np.array([block]))
            k = int(np.flatnonzero(F == block)[0])
            self.w[block] = hi_i[0] if step[k] > 0 else lo_i[0]
            self.free[block] = False
            self.side[block] = 0.0
        else:
            self.J.append(block)

    def _stationary(self, t, F, target, l0, l1) -> bool:
        """At the working set's solution: optimal (True), or release one limit (False)."""
        if len(F):
            self.w[F] = target
        lam = self._multipliers(t, l0, l1)
        g = self._gradient(self.w)
        up, down = self._prices(t, lam, g)
        fixed = ~self.free
        can_up = fixed & (self.w < self.hi_in)
        can_down = fixed & (self.w > self.lo_in)
        scale = 1e-11 * max(1.0, float(np.abs(g).max()), t * self.emax)
        worst_asset = np.minimum(np.where(can_up, up, np.inf), np.where(can_down, down, np.inf))
        i = int(np.argmin(worst_asset))
        v_asset = float(worst_asset[i])
        v_row, j_row = np.inf, -1
        for k, j in enumerate(self.J):
            if not self.equal[j] and lam[k] < v_row:
                v_row, j_row = float(lam[k]), j
        if min(v_asset, v_row) >= -scale:
            return True
        if v_row < v_asset:
            self.J.remove(j_row)
        else:
            moving_up = up[i] <= down[i] if (can_up[i] and can_down[i]) else bool(can_up[i])
            self.free[i] = True
            if moving_up:
                self.side[i] = 1.0 if self.w[i] >= self.w0[i] else -1.0
            else:
                self.side[i] = -1.0 if self.w[i] <= self.w0[i] else 1.0
        return False

    # -- what the objectives need of a solved working set --------------------------------------
    def segment(self, F, a, d):
        """Full weight vectors ``W0, W1`` with ``w(t) = W0 + t W1``."""
        W0 = np.where(self.free, 0.0, self.w)
        W1 = np.zeros(self.n)
        W0[F] = a
        W1[F] = d
        return W0, W1

    def ratio_parts(self, W0: np.ndarray) -> tuple[float, float]:
        """``A`` and ``(w - c)' Sigma (w - c)`` at ``W0`` with the costs of the current sides."""
        A, Q = _K.ratio_parts(self.P, W0, self.free, self.side)
        return float(A), float(Q)

    def valid_at(self, t: float, F, a, d, l0, l1) -> bool:
        """Whether the working set is optimal at ``t`` too (primal and dual feasible)."""
        return bool(_K.valid_at(self.P, float(t), F, a, d, l0, l1, self.null, self.w,
                                self.free, self.side, self._j(), len(self.J)))  # fmt: skip

    def shadow_prices(self, t: float, lam: np.ndarray, factor: float, value: float):
        """Binding limit -> objective gained per percentage point of relaxation."""
        p = self.p
        out: dict[str, float] = {}
        scale = max(1.0, abs(value)) if np.isfinite(value) else 1.0
        for k, j in enumerate(self.J):
            gain = float(lam[k]) * factor / 100
            if self.labels[j] == "budget":
                if abs(gain) > 1e-9 * scale:
                    out["cash at least 0.0%" if gain > 0 else "cash at most 0.0%"] = abs(gain)
            elif gain > 1e-9 * scale:
                out[self.labels[j]] = gain
        g = self._gradient(self.w)
        up, down = self._prices(t, lam, g)
        # Only fixed assets at a limit with a positive price are named: find them at once.
        fixed = ~self.free & p.investable
        gain_up, gain_down = -up * factor / 100, -down * factor / 100
        named_up = fixed & (self.w >= self.hi_in) & (gain_up > 1e-9 * scale)
        named_down = fixed & (self.w <= self.lo_in) & (gain_down > 1e-9 * scale)
        idx = np.flatnonzero(named_up | named_down)
        if not len(idx):
            return out
        # Python scalars from here: a dozen names or so, where numpy scalars cost more.
        cols = (self.w[idx], self.w0[idx], gain_up[idx], gain_down[idx], named_up[idx],
                named_down[idx], p.upper[idx], p.lower[idx], p.no_buy[idx], p.no_sell[idx],
                p.locked[idx])  # fmt: skip
        for i, v, held, g_up, g_down, n_up, n_down, upper, lower, no_buy, no_sell, locked in zip(
            idx.tolist(), *(c.tolist() for c in cols), strict=True
        ):
            tick = p.tickers[i]
            for gain, named, bound, barred, trade_side in (
                (g_up, n_up, upper, no_buy, "buy"),
                (g_down, n_down, lower, no_sell, "sell"),
            ):
                if not named:
                    continue
                if math.isfinite(bound) and abs(v - bound) <= _EPS:
                    word = "at most" if trade_side == "buy" else "at least"
                    out[f"{tick} {word} {_pct(bound)}"] = gain
                if barred and abs(v - held) <= _EPS:
                    if locked:
                        out[f"{tick} locked at {_pct(held)} ({trade_side})"] = gain
                    elif trade_side == "buy":
                        out[f"{tick} at most its holding {_pct(held)}"] = gain
                    else:
                        out[f"{tick} at least its holding {_pct(held)}"] = gain
        return out


def _pct(x: float) -> str:
    """A decimal as a percentage with one decimal, as the limits are named."""
    return f"{x:.1%}"


def solve(p, kind: str, *, delta: float = 1.0, shadow_prices: bool = True):
    """Solve ``kind`` on ``p`` exactly, or return None when the conic engine should.

    Parameters
    ----------
    p : core.rebalancing.BookProblem
        The problem (see :func:`applies` for what this engine serves).
    kind : str
        ``"max_sharpe"``, ``"max_information_ratio"`` or ``"max_utility"``.
    delta : float
        Risk aversion for ``"max_utility"``.
    shadow_prices : bool
        Whether to compute them.

    Returns
    -------
    tuple of (ndarray (N,), dict of str to float) or None
        Weights and shadow prices (objective gained per percentage point of relaxation of each
        binding limit, in the objective's units, as :func:`core.rebalancing.solve_book`), or
        None.

    References
    ----------
    Nocedal & Wright (2006), ch. 16.5; Best (2010), ch. 7.
    """
    if not applies(p, kind):
        return None
    try:
        return _solve(p, kind, delta, shadow_prices)
    except _Decline:
        return None


def _solve(p, kind: str, delta: float, want_prices: bool):
    eng = _Engine(p, kind)
    if kind == "max_utility":
        t = 1.0 / float(delta)
        F, a, d, l0, l1 = eng.solve_at(t)
        W0, W1 = eng.segment(F, a, d)
        w = W0 + t * W1
        eng.w = w
        lam = eng._multipliers(t, l0, l1)
        if not want_prices:
            return w, {}
        value = float(p.risk_free_rate) + eng.ratio_parts(w)[0] - 0.5 * delta * float(
            w @ p.cov @ w)  # fmt: skip
        return w, eng.shadow_prices(t, lam, 1.0 / t, value)
    # Ratios: the root of phi(t) = t A(w(t)) - Q(w(t)) on the path.
    A_book, Q_book = eng.ratio_parts(eng.w)
    t = Q_book / A_book if A_book > 1e-12 and Q_book > 1e-14 else 1.0
    t_low, t_high = 0.0, np.inf
    joint = eng.solve_ratio(t)
    done = joint is not None and eng.valid_at(*joint)
    if done:
        t, F, a, d, l0, l1 = joint
        W0, W1 = eng.segment(F, a, d)
    elif np.isfinite(eng.t_ratio) and eng.t_ratio > 0:
        t = eng.t_ratio  # the Newton iteration from where the steps stopped
    for _ in range(60):
        if done:
            break
        F, a, d, l0, l1 = eng.solve_at(t)
        W0, W1 = eng.segment(F, a, d)
        A0, Q0 = eng.ratio_parts(W0)
        phi = t * A0 - Q0
        if phi < 0:
            t_low = max(t_low, t)
        else:
            t_high = min(t_high, t)
        root = Q0 / A0 if A0 > 0 else np.inf
        if np.isfinite(root) and root > 0 and eng.valid_at(root, F, a, d, l0, l1):
            t = root
            break
        if not (t_low < root < t_high):
            root = 0.5 * (t_low + t_high) if np.isfinite(t_high) else 4.0 * max(t, 1e-3)
        if root > 1e8 or (np.isfinite(t_high) and t_high - t_low <= 1e-15 * t_high):
            raise _Decline  # no portfolio beats the risk-free rate (or the benchmark)
        t = root
    else:
        raise _Decline
    w = W0 + t * W1
    eng.w[F] = w[F]
    lam = eng._multipliers(t, l0, l1)
    if not want_prices:
        return w, {}
    A, Q = eng.ratio_parts(w)
    sigma = float(np.sqrt(Q))
    if sigma <= 0:
        raise _Decline
    return w, eng.shadow_prices(t, lam, 1.0 / (sigma * t), A / sigma)


def warm_up() -> None:
    """Compile the engine's kernels now (or load them from the cache) on a three-asset book.

    The first solve in a process otherwise pays for it: under a second with the cache of
    compiled code in ``core/__pycache__`` filled, tens of seconds on a small machine when it is
    empty (a fresh install) or cannot be written (then numba tries its user-wide cache
    folder, ``NUMBA_CACHE_DIR``, and failing that compiles in memory in every process). The
    kernels are compiled once for all problem sizes. ``.ci/run`` calls this after installing
    (an AppTest's timeout would otherwise include it); a deployment can do the same (see
    the README's set-up).

    References
    ----------
    numba documentation, "Notes on caching" (cache invalidation and locations).
    """
    from core.rebalancing import BookProblem

    n = 3
    off = np.zeros(n, dtype=bool)
    book = BookProblem(
        mu=np.array([0.08, 0.05, 0.03]), cov=np.diag([0.04, 0.02, 0.01]) + 0.002,
        lower=np.zeros(n), upper=np.full(n, 0.6), G=np.zeros((0, n)), h=np.zeros(0),
        labels=[], tickers=["A", "B", "C"], w0=np.array([0.2, 0.3, 0.5]),
        costs=np.full(n, 0.001), horizon=1.0, no_buy=off, no_sell=off, locked=off,
        investable=~off, risk_free_rate=0.01, max_turnover=0.2,
    )  # fmt: skip
    for kind in ("max_sharpe", "max_utility"):
        solve(book, kind, delta=3.0)
    # The kernels only the rarer paths reach (the primal method, a restored working set).
    eng = _Engine(book, "max_sharpe")
    F = np.flatnonzero(eng.free)
    eng._rows_on(F, np.where(eng.free, 0.0, eng.w))
    eng._row_times(F, np.zeros(len(F)))
    eng._pieces(F)
    eng._slack_rows(eng.w)

