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

References
----------
Nocedal & Wright (2006), "Numerical Optimization", 2nd ed., Springer, ch. 16.5; Dinkelbach
(1967), "On nonlinear fractional programming", Management Science 13(7); Best (2010),
"Portfolio Optimization", ch. 7 (parametric quadratic programs); Markowitz (1956); Lobo, Fazel
& Boyd (2007), "Portfolio optimization with linear and fixed transaction costs", Annals of
Operations Research 152; Cornuejols & Tutuncu (2007), "Optimization Methods in Finance", ch. 8.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

__all__ = ["KINDS", "applies", "solve"]

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
        # Constants of the iterations, computed once (the iterations are small: at 100 assets a
        # handful of free assets, so numpy's per-call cost, not arithmetic, sets their speed).
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
        self.null: np.ndarray | None = None

    # -- the linear algebra of one working set ------------------------------------------------
    def _rows_on(self, F: np.ndarray, fixed_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Binding rows on the free assets, and their right-hand sides less the fixed part."""
        J = self.J
        A = np.empty((len(J), len(F)))
        beta = np.empty(len(J))
        for k, j in enumerate(J):
            if j < self.m and self.row_sign[j]:  # the budget and cash rows: +-1 everywhere
                A[k] = self.row_sign[j]
                beta[k] = self.h[j] - self.row_sign[j] * fixed_w.sum()
            elif j < self.m:
                g = self.G[j]
                A[k] = g[F]
                beta[k] = self.h[j] - g @ fixed_w
            else:  # the turnover row: fixed assets' trades are constants
                sF = self.side[F]
                w0F = self.w0[F]
                A[k] = 0.5 * sF
                moved = np.abs(fixed_w - self.w0).sum() - np.abs(w0F).sum()
                beta[k] = self.turnover - 0.5 * moved + 0.5 * sF @ w0F
        return A, beta

    def _eqp(self, relax: bool = False):
        """The working set's solution: ``w_F = a + t d`` and multipliers ``l0 + t l1``."""
        self.null = None
        F = self.free.nonzero()[0]
        nF, nJ = len(F), len(self.J)
        if nF == 0:
            if self.J:
                raise _Decline
            return F, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)
        fixed_w = np.where(self.free, 0.0, self.w)
        # The KKT system [[S_FF, A'], [A, 0]] [w; lam] = [r0 + t r1; beta] in one solve, the
        # binding rows A (on the free assets) written straight into it.
        K = np.zeros((nF + nJ, nF + nJ))
        rhs = np.zeros((nF + nJ, 2))
        SF = self.S[F]
        K[:nF, :nF] = SF[:, F]
        rhs[:nF, 0] = self.Sc0[F] - SF @ fixed_w if self.bench else -(SF @ fixed_w)
        sF = self.side[F]
        rhs[:nF, 1] = self.e[F] - sF * self.kappa[F]
        for k, j in enumerate(self.J):
            r = nF + k
            if j >= self.m:  # the turnover row: the fixed assets' trades are constants
                w0F = self.w0[F]
                K[r, :nF] = 0.5 * sF
                moved = np.abs(fixed_w - self.w0).sum() - np.abs(w0F).sum()
                rhs[r, 0] = self.turnover - 0.5 * moved + 0.5 * sF @ w0F
            elif self.row_sign[j]:  # the budget and cash rows: +-1 everywhere
                K[r, :nF] = self.row_sign[j]
                rhs[r, 0] = self.h[j] - self.row_sign[j] * fixed_w.sum()
            else:
                g = self.G[j]
                K[r, :nF] = g[F]
                rhs[r, 0] = self.h[j] - g @ fixed_w
        A, beta = K[nF:, :nF], rhs[nF:, 0]
        K[:nF, nF:] = A.T
        if relax and nJ == 2 and self._clash(sF, beta):
            self.J.remove(self.m)  # the latest inequality of the two, the system's last row
            nJ = 1
            K, rhs = K[:-1, :-1], rhs[:-1]
            A, beta = K[nF:, :nF], rhs[nF:, 0]
        # LAPACK's dgesv directly: numpy.linalg.solve's checks cost more than the solve here.
        X, info = lapack.dgesv(K, rhs)[2:]
        ok = info == 0 and np.isfinite(X).all()
        if not ok or np.abs(K @ X - rhs).max() > 1e-9 * max(1.0, np.abs(rhs).max()):
            # Binding rows that coincide on the free assets (all of them buying, say, with the
            # budget and the turnover rows both binding): the multipliers are unique only up
            # to the null space of A', which the pricing then uses (see `_multipliers`).
            U, sv, _ = np.linalg.svd(A)
            rank = int((sv > 1e-9 * max(sv.max(initial=0.0), 1e-300)).sum())
            if nJ - rank != 1:
                raise _Decline
            X = np.linalg.lstsq(K, rhs, rcond=1e-10)[0]
            if np.abs(K @ X - rhs).max() > 1e-9 * max(1.0, np.abs(rhs).max()):
                # Inconsistent rows: leave out the latest inequality of them (primal-dual
                # steps only; the primal method never reaches such a working set).
                later = [j for j in self.J if not self.equal[j]]
                if not relax or not later:
                    raise _Decline
                self.J.remove(later[-1])
                return self._eqp(relax)
            self.null = U[:, -1]
        return F, X[:nF, 0], X[:nF, 1], X[nF:, 0], X[nF:, 1]

    def _clash(self, sF: np.ndarray, beta: np.ndarray) -> bool:
        """Whether the two binding rows are the budget and the turnover, inconsistent on F.

        With every free asset on one side the turnover row is half the budget row on them;
        clearly different right-hand sides then leave no solution, and the latest inequality
        leaves the working set, as the general test (a least-squares solve) would decide at a
        much higher cost.
        """
        J = self.J
        if not (J[0] < self.m and self.row_sign[J[0]] and J[1] == self.m):
            return False
        if not (sF == sF[0]).all():
            return False
        return abs(beta[1] - 0.5 * sF[0] * self.row_sign[J[0]] * beta[0]) > 1e-6

    def _pieces(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The range of each free weight on its side of the holding."""
        buy = self.side[F] > 0
        return (np.where(buy, self.w0[F], self.lo[F]), np.where(buy, self.hi[F], self.w0[F]))

    def _slack_rows(self, w: np.ndarray) -> np.ndarray:
        """``h - G w`` for every linear row, then the turnover row's slack."""
        out = np.empty(self.n_rows)
        out[: self.m] = self.h - self.G @ w
        if self.turnover is not None:
            out[self.m] = self.turnover - 0.5 * np.abs(w - self.w0).sum()
        return out

    def _row_times(self, F: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Each row's rate of change along a step ``p`` of the free weights."""
        out = np.empty(self.n_rows)
        out[: self.m] = self.G[:, F] @ p
        if self.turnover is not None:
            out[self.m] = 0.5 * self.side[F] @ p
        return out

    def _gradient(self, w: np.ndarray) -> np.ndarray:
        """``Sigma (w - c)``."""
        return self.S @ (w - self.c0) if self.bench else self.S @ w

    def _multipliers(self, t: float, l0: np.ndarray, l1: np.ndarray) -> np.ndarray:
        """Multipliers at ``t``; with dependent binding rows, the most dual-feasible choice.

        ``lambda = l + theta v`` for ``v`` spanning the null space of ``A_F'``: every sign
        condition (inequality multipliers, directional derivatives of the fixed assets) is
        affine in ``theta``; the one picked is the nearest to 0 that meets them all, or the
        middle of the crossing bounds when none does.
        """
        lam = l0 + t * l1
        if self.null is None:
            return lam
        v = self.null
        g = self._gradient(self.w)
        up0, down0 = self._prices(t, lam, g)
        up1, down1 = self._prices(t, lam + v, g)
        fixed = ~self.free
        can_up = fixed & (self.w < self.hi_in)
        can_down = fixed & (self.w > self.lo_in)
        ineq = np.array([not self.equal[j] for j in self.J], dtype=bool)
        c = np.concatenate([up0[can_up], down0[can_down], lam[ineq]])
        s = np.concatenate([up1[can_up] - up0[can_up], down1[can_down] - down0[can_down],
                            v[ineq]])  # fmt: skip
        pos, neg = s > 1e-14, s < -1e-14
        low = float(np.max(-c[pos] / s[pos], initial=-np.inf))
        high = float(np.min(-c[neg] / s[neg], initial=np.inf))
        if low <= high:
            theta = min(max(0.0, low), high)
        else:
            theta = 0.5 * (low + high)
        return lam + theta * v

    def _prices(self, t: float, lam: np.ndarray, g: np.ndarray):
        """Directional derivatives of the Lagrangian when each fixed asset moves up or down."""
        base = g - t * self.e
        lam_t = 0.0
        for k, j in enumerate(self.J):
            if j >= self.m:
                lam_t = lam[k]
            elif self.row_sign[j]:
                base += lam[k] * self.row_sign[j]
            else:
                base += lam[k] * self.G[j]
        w, w0 = self.w, self.w0
        c = t * self.kappa + 0.5 * lam_t
        up = base + np.where(w >= w0, c, -c)
        down = np.where(w <= w0, c, -c) - base
        return up, down

    # -- the primal active-set method at one risk tolerance ------------------------------------
    def solve_at(self, t: float):
        """Optimal working set at ``t``; returns ``(F, a, d, l0, l1)`` of the last solve.

        Primal-dual active-set steps first (many states change per step, no feasible iterate
        needed); when they cycle, the primal active-set method from the last feasible point.
        """
        self._feasible = (self.w.copy(), self.free.copy(), self.side.copy(), list(self.J))
        for cap in _RETRY_CAPS:  # a cycle: again with fewer releases per step, then primal
            try:
                return self._primal_dual(t, cap)
            except _Decline as why:
                w, free, side, J = self._feasible
                self.w, self.free, self.side = w.copy(), free.copy(), side.copy()
                self.J = self._independent(J)
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
        self._feasible = (self.w.copy(), self.free.copy(), self.side.copy(), list(self.J))
        self.t_ratio = t
        try:
            found = self._primal_dual(t, _RETRY_CAPS[0], ratio=True)
            return (self.t_ratio, *found)
        except _Decline:
            w, free, side, J = self._feasible
            self.w, self.free, self.side = w.copy(), free.copy(), side.copy()
            self.J = self._independent(J)
            return None

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

        Every violated condition changes its state at once (the releases capped at the number
        of free assets); at a feasible point with a few changes left, after a repeated state or
        at inconsistent binding rows, the primal method takes over from the last feasible
        point (the caller restores it).
        """
        seen = set()
        for _ in range(_PD_STEPS):
            self.iterations += 1
            F, a, d, l0, l1 = self._eqp(relax=True)
            if ratio:  # the root of phi(t) = t A(a) - Q(a) on this working set
                A0, Q0 = self.ratio_parts(self.segment(F, a, d)[0])
                if not (A0 > 1e-12 and Q0 > 0):
                    raise _Decline
                t = self.t_ratio = Q0 / A0
            wF = a + t * d
            self.w[F] = wF
            lam = self._multipliers(t, l0, l1)
            g = self._gradient(self.w)
            up, down = self._prices(t, lam, g)
            scale = 1e-11 * max(1.0, float(np.abs(g).max()), t * self.emax)
            fixed = ~self.free
            up = np.where(fixed & (self.w < self.hi_in), up, np.inf)
            down = np.where(fixed & (self.w > self.lo_in), down, np.inf)
            release_up = (up < -scale) & (up <= down)
            release_down = (down < -scale) & ~release_up
            lo_F, hi_F = self._pieces(F)
            below, above = lo_F - wF, wF - hi_F
            slack = self._slack_rows(self.w)
            slack[self.J] = np.inf  # only the rows outside the working set can be violated
            violated = -slack
            drop = [j for k, j in enumerate(self.J) if not self.equal[j] and lam[k] < -scale]
            primal = max(below.max(initial=-np.inf), above.max(initial=-np.inf), violated.max())
            if primal <= 1e-13:  # a feasible point: keep it
                self._feasible = (self.w.copy(), self.free.copy(), self.side.copy(), list(self.J))
                if not (release_up.any() or release_down.any() or drop):
                    return F, a, d, l0, l1
                if int(release_up.sum() + release_down.sum()) + len(drop) <= _FEW:
                    raise _PrimalSteps  # a few changes from a feasible point
            fix_lo, fix_hi = below > 1e-13, above > 1e-13
            add = np.flatnonzero(violated > 1e-13)
            # Release the most negative few only: freeing every asset at once overshoots the
            # turnover budget, and the multipliers then swing from step to step.
            worst = np.minimum(up, down)
            cap = max(_CAP0, int(cap_factor * len(F)))
            if int((release_up | release_down).sum()) > cap:
                keep = np.zeros(self.n, dtype=bool)
                keep[np.argpartition(worst, cap)[:cap]] = True
                release_up &= keep
                release_down &= keep
            self.w[F[fix_lo]] = lo_F[fix_lo]
            self.w[F[fix_hi]] = hi_F[fix_hi]
            self.free[F[fix_lo | fix_hi]] = False
            self.side[F[fix_lo | fix_hi]] = 0.0
            self.side[release_up] = np.where(self.w[release_up] >= self.w0[release_up], 1.0, -1.0)
            self.side[release_down] = np.where(self.w[release_down] <= self.w0[release_down],
                                               -1.0, 1.0)  # fmt: skip
            self.free |= release_up | release_down
            self.J = [j for j in self.J if j not in drop] + [int(j) for j in add]
            key = (self.free.tobytes(), self.side.tobytes(), tuple(sorted(self.J)),
                   np.where(self.free, 0.0, self.w).tobytes())  # fmt: skip
            if key in seen:
                raise _Decline
            seen.add(key)
        raise _Decline

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
        free = self.free
        trade = np.where(free, self.side * (W0 - self.w0), np.abs(W0 - self.w0))
        A = float(self.e @ (W0 - self.c0) - self.kappa @ trade)
        x = W0 - self.c0
        return A, float(x @ self.S @ x)

    def valid_at(self, t: float, F, a, d, l0, l1) -> bool:
        """Whether the working set is optimal at ``t`` too (primal and dual feasible)."""
        wF = a + t * d
        lo_F, hi_F = self._pieces(F)
        if len(F) and (np.any(wF < lo_F - 1e-13) or np.any(wF > hi_F + 1e-13)):
            return False
        w = self.w.copy()
        w[F] = wF
        slack = self._slack_rows(w)
        inactive = np.ones(len(slack), dtype=bool)
        inactive[self.J] = False
        if np.any(slack[inactive] < -1e-13):
            return False
        lam = self._multipliers(t, l0, l1)
        for k, j in enumerate(self.J):
            if not self.equal[j] and lam[k] < -1e-12:
                return False
        saved = self.w
        self.w = w
        try:
            g = self._gradient(w)
            up, down = self._prices(t, lam, g)
        finally:
            self.w = saved
        fixed = ~self.free
        scale = 1e-11 * max(1.0, float(np.abs(g).max()), t * self.emax)
        can_up = fixed & (w < self.hi_in)
        can_down = fixed & (w > self.lo_in)
        return not (np.any(up[can_up] < -scale) or np.any(down[can_down] < -scale))

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
        for i in np.flatnonzero(named_up | named_down):
            v, held, tick = self.w[i], self.w0[i], p.tickers[i]
            for gain, named, bound, trade_side in (
                (float(gain_up[i]), named_up[i], p.upper[i], "buy"),
                (float(gain_down[i]), named_down[i], p.lower[i], "sell"),
            ):
                if not named:
                    continue
                if np.isfinite(bound) and abs(v - bound) <= _EPS:
                    word = "at most" if trade_side == "buy" else "at least"
                    out[f"{tick} {word} {_pct(bound)}"] = gain
                barred = p.no_buy[i] if trade_side == "buy" else p.no_sell[i]
                if barred and abs(v - held) <= _EPS:
                    if p.locked[i]:
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
