r"""The efficient frontier as a parametric quadratic program, and random feasible portfolios.

Conventions
-----------
Expected returns are an annualised decimal ``Series (n_assets,)``, the covariance an annualised
``DataFrame (n_assets, n_assets)``, both indexed by ticker; weights are decimals that sum to 1;
the risk-free rate is an annual decimal. Constraints are Ballast's :class:`~core.constraints.
Constraints` in their matrix form: ``sum(w) = 1``, ``lower <= w <= upper``, ``G w <= h``.

Method
------
For a risk tolerance ``t >= 0`` the problem

.. math:: \min_w \tfrac12 w' \Sigma w - t \mu' w \quad \text{s.t. the constraints}

has a solution that is piecewise affine in ``t`` (Markowitz's critical line): between two
breakpoints the active set (assets at a bound, binding sector limits) does not change and the
KKT system gives ``w(t) = a + b t`` exactly. The engine starts from the minimum-variance
portfolio (``t = 0``: primal-dual active-set steps from the unconstrained minimum-variance
portfolio, or a primal active-set method from a vertex found by HiGHS when there are sector
limits, or Clarabel's interior point for unbounded weights; its active set made exact), and
walks up in ``t``: at each breakpoint a free weight reaches a bound, a sector limit becomes binding,
or a multiplier reaches zero and its constraint is released. The walk ends at the
maximum-return portfolio (``b = 0``). Every target return on the frontier is then one affine
evaluation, and the tangency portfolio is found in closed form on each segment (the Sharpe
ratio of an affine path has one stationary point). No factorisation per breakpoint: the
inverse of the free assets' covariance block, with its products with the right-hand sides and
the equality rows, is updated by one symmetric rank-one BLAS update (``O(n_free^2)``) when an
asset enters or leaves, so a breakpoint costs that plus one product with the covariance; every
solve is checked by its KKT residual (refined once, or refactorised from a Cholesky
factorisation when it stays large). The minimum-variance start reuses the Cholesky factor that
the singularity check computes.

The same walk is the engine of :func:`core.optimization.optimize` (and through it of the
Black-Litterman page and the backtest): :func:`frontier_optimum` stops it on the segment that
holds one wanted point (a risk tolerance, a return, a volatility, the tangency, or a volatility
cap), so a single portfolio costs only the breakpoints below it.

A covariance whose smallest eigenvalue is below ``1e-10`` of its mean variance is regularised
by adding ``1e-8`` x its mean variance to the diagonal before the walk (reported as
``Frontier.regularization``); volatilities and Sharpe ratios are always computed with the
covariance as given, which changes them by less than 1e-8.

References
----------
Markowitz (1956), "The optimization of a quadratic function subject to linear constraints",
Naval Research Logistics Quarterly 3; Niedermayer & Niedermayer (2010), "Applying Markowitz's
critical line algorithm", in Handbook of Portfolio Construction; Best (2010), "Portfolio
Optimization", ch. 7; Merton (1972), "An analytic derivation of the efficient portfolio
frontier", JFQA 7(4) for the frontier without bounds; Markowitz (1952), "Portfolio Selection",
Journal of Finance 7(1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import blas, lapack

from core.constraints import Constraints, LinearConstraints
from core.exceptions import EstimationError, InfeasibleConstraintsError, OptimizationError

__all__ = [
    "Frontier",
    "FrontierPortfolio",
    "efficient_frontier",
    "FRONTIER_POINTS",
    "FrontierOptimum",
    "frontier_optimum",
    "random_portfolios",
    "portfolio_statistics",
    "frontier_weights",
]

_POS_TOL = 1e-11  # weights are O(1): slack below this counts as "at the constraint"
_MAX_STEPS_PER_CONSTRAINT = 6
_STALL_GAIN = 1e-14  # return gained along a segment below which it is a stall (no move)


@dataclass(frozen=True)
class FrontierPortfolio:
    """One portfolio on the frontier.

    Attributes
    ----------
    weights : Series (n_assets,)
        Decimal weights indexed by ticker, summing to 1.
    expected_return : float
        Annualised decimal expected return.
    volatility : float
        Annualised decimal volatility.
    sharpe_ratio : float
        ``(expected_return - risk_free_rate) / volatility`` (NaN at zero volatility).
    """

    weights: pd.Series
    expected_return: float
    volatility: float
    sharpe_ratio: float


@dataclass(frozen=True, eq=False)  # arrays inside: compare frontiers by identity
class Frontier:
    """The efficient frontier from the minimum-variance to the maximum-return portfolio.

    Attributes
    ----------
    returns : ndarray (n_points,)
        Annualised decimal expected returns, equally spaced and increasing.
    volatilities : ndarray (n_points,)
        Annualised decimal volatilities (non-decreasing).
    sharpe_ratios : ndarray (n_points,)
        Sharpe ratios against ``risk_free_rate``.
    weights : DataFrame (n_points, n_assets)
        Weights of each point, columns are tickers.
    risk_free_rate : float
        Annual decimal rate used for the Sharpe ratios and the tangency portfolio.
    min_variance : FrontierPortfolio
        The minimum-variance portfolio (the first point).
    max_return : FrontierPortfolio
        The highest-return portfolio on the frontier (the last point).
    tangency : FrontierPortfolio or None
        The maximum Sharpe ratio portfolio, exact (not the best grid point); None when no
        portfolio on the frontier beats the risk-free rate. With a singular covariance a
        riskless long-short combination may exist, and then the Sharpe ratio has no maximum:
        the portfolio returned has a huge ratio and should not be used.
    corner_portfolios : DataFrame (n_corners, n_assets)
        Weights at the breakpoints of the critical line, where the active set changes.
    regularization : float
        Ridge added to the covariance's diagonal for the walk (0 when it was not singular).
    """

    returns: np.ndarray
    volatilities: np.ndarray
    sharpe_ratios: np.ndarray
    weights: pd.DataFrame
    risk_free_rate: float
    min_variance: FrontierPortfolio
    max_return: FrontierPortfolio
    tangency: FrontierPortfolio | None
    corner_portfolios: pd.DataFrame
    regularization: float
    # The exact path, for picks between grid points: w(t) = a + b t on [t_k, t_k+1].
    _t: np.ndarray = field(repr=False)  # (n_segments + 1,) breakpoints
    _a: np.ndarray = field(repr=False)  # (n_segments, n_assets)
    _b: np.ndarray = field(repr=False)
    _cov: np.ndarray = field(repr=False)
    _mu: np.ndarray = field(repr=False)

    @property
    def tickers(self) -> list[str]:
        """Asset names, in weight order."""
        return list(self.weights.columns)

    def portfolio_at_return(self, target_return: float) -> FrontierPortfolio:
        """The frontier portfolio with a given expected return, exactly.

        Parameters
        ----------
        target_return : float
            Annualised decimal return; clipped to the frontier's range.

        Returns
        -------
        FrontierPortfolio
        """
        r_lo, r_hi = self.min_variance.expected_return, self.max_return.expected_return
        w = self._weights_at_returns(np.array([min(max(target_return, r_lo), r_hi)]))[0]
        return self._portfolio(w)

    def portfolio_at_volatility(self, target_volatility: float) -> FrontierPortfolio:
        """The frontier portfolio with a given volatility (the highest return for that risk).

        Parameters
        ----------
        target_volatility : float
            Annualised decimal volatility; clipped to the frontier's range.

        Returns
        -------
        FrontierPortfolio
        """
        v_lo, v_hi = self.min_variance.volatility, self.max_return.volatility
        target = min(max(target_volatility, v_lo), v_hi)
        if len(self._a) == 0 or target <= v_lo:
            return self.min_variance
        if target >= v_hi:
            return self.max_return
        t = _t_at_volatility(self._t, self._a, self._b, self._cov, target)
        return self._portfolio(_eval_path(self._t, self._a, self._b, np.array([t]))[0])

    def to_frame(self) -> pd.DataFrame:
        """The points as one table: return, volatility, Sharpe ratio, then the weights.

        Returns
        -------
        DataFrame (n_points, 3 + n_assets)
            Decimal columns ``expected_return``, ``volatility`` (annualised),
            ``sharpe_ratio``, then one weight column per ticker.
        """
        head = pd.DataFrame(
            {
                "expected_return": self.returns,
                "volatility": self.volatilities,
                "sharpe_ratio": self.sharpe_ratios,
            },
            index=self.weights.index,
        )
        return pd.concat([head, self.weights], axis=1)

    def _weights_at_returns(self, targets: np.ndarray) -> np.ndarray:
        if len(self._a) == 0:
            return np.tile(self.min_variance.weights.to_numpy(), (len(targets), 1))
        return _path_at_returns(self._t, self._a, self._b, self._mu, targets)

    def _portfolio(self, w: np.ndarray) -> FrontierPortfolio:
        return _make_portfolio(w, self.weights.columns, self._mu, self._cov, self.risk_free_rate)


def _make_portfolio(
    w: np.ndarray, tickers: pd.Index | list[str], mu: np.ndarray, cov: np.ndarray, rf: float
) -> FrontierPortfolio:
    ret = float(w @ mu)
    vol = float(np.sqrt(max(w @ cov @ w, 0.0)))
    sharpe = (ret - rf) / vol if vol > 1e-12 else float("nan")
    return FrontierPortfolio(pd.Series(w, index=tickers, name="weight"), ret, vol, sharpe)


def _path_at_returns(
    t_break: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    mu: np.ndarray,
    targets: np.ndarray,
    C: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Weights on the piecewise affine path at target returns (its return rises with t).

    With ``C``, the pair (covariance times ``a``, times ``b``), also the covariance
    times those weights (same segments, same ``t``).
    """
    r_a, r_b = a @ mu, b @ mu
    r_break = np.append(r_a + r_b * t_break[:-1], r_a[-1] + r_b[-1] * t_break[-1])
    k = np.clip(np.searchsorted(r_break, targets, side="right") - 1, 0, len(a) - 1)
    slope = np.where(r_b[k] > 0, r_b[k], 1.0)
    t = np.where(r_b[k] > 0, (targets - r_a[k]) / slope, t_break[k])
    t = np.clip(t, t_break[k], t_break[k + 1])
    w = a[k] + b[k] * t[:, None]
    if C is None:
        return w
    return w, C[0][k] + C[1][k] * t[:, None]


def _eval_path(t_break: np.ndarray, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    k = np.clip(np.searchsorted(t_break, t, side="right") - 1, 0, len(a) - 1)
    return a[k] + b[k] * t[:, None]


def _t_at_volatility(
    t_break: np.ndarray, a: np.ndarray, b: np.ndarray, cov: np.ndarray, target: float
) -> float:
    """Risk tolerance at which the path's volatility equals ``target`` (it rises with t)."""
    var = target**2
    for k in range(len(a)):
        v0, v1, v2 = a[k] @ cov @ a[k], a[k] @ cov @ b[k], b[k] @ cov @ b[k]
        t_end = t_break[k + 1]
        if v0 + 2 * v1 * t_end + v2 * t_end**2 >= var - 1e-15 or k == len(a) - 1:
            # v2 t^2 + 2 v1 t + (v0 - var) = 0, the root on this segment (the larger one).
            if v2 <= 1e-300:
                return float(t_break[k])
            disc = max(v1 * v1 - v2 * (v0 - var), 0.0)
            t = (-v1 + np.sqrt(disc)) / v2
            return float(np.clip(t, t_break[k], t_end))
    return float(t_break[-1])  # pragma: no cover - loop always returns


# ---------------------------------------------------------------------------------------------
# The critical-line walk
# ---------------------------------------------------------------------------------------------


class _Problem:
    """Arrays of one frontier problem, with the regularised covariance used for the walk."""

    def __init__(self, mu: np.ndarray, cov: np.ndarray, lin: LinearConstraints) -> None:
        self.mu = mu
        self.cov = cov
        self.n = len(mu)
        self.lower = np.asarray(lin.lower, dtype=float)
        self.upper = np.asarray(lin.upper, dtype=float)
        self.G = np.asarray(lin.G, dtype=float).reshape(-1, self.n)
        self.h = np.asarray(lin.h, dtype=float)
        self.labels = list(lin.labels)
        self.fixed = (self.upper - self.lower) <= 1e-12
        self.any_fixed = bool(self.fixed.any())
        self.ridge, self.ill_conditioned, self.cholesky = _ridge(cov)
        if self.ridge:
            self.S = cov.copy()
            self.S.flat[:: self.n + 1] += self.ridge
        else:
            self.S = cov
        self.ones = np.ones((1, self.n))
        self.inverse = _FreeInverse(self)


def _symmetric(cov: np.ndarray) -> np.ndarray:
    """``cov`` itself, C-ordered, when exactly symmetric (the usual case), else ``(cov + cov')/2``.

    Checked tile by tile, upper triangle against lower: no ``n x n`` temporaries and
    cache-friendly reads (``(cov + cov') / 2`` costs about 0.5 s at 5,000 assets, the check 0.1 s).
    """
    if cov.flags.f_contiguous and not cov.flags.c_contiguous:
        cov = cov.T  # C-ordered view; equal to cov when symmetric, and the mean is the same
    if not cov.flags.c_contiguous:
        cov = np.ascontiguousarray(cov)
    n = len(cov)
    step = 512  # tiles of 2 MB: both reads stay in cache
    for i in range(0, n, step):
        for j in range(i, n, step):
            upper, lower = cov[i : i + step, j : j + step], cov[j : j + step, i : i + step]
            if not np.array_equal(upper, lower.T):
                return (cov + cov.T) / 2
    return cov


def _ridge(cov: np.ndarray) -> tuple[float, bool, np.ndarray | None]:
    """Ridge for a (nearly) singular covariance, whether it is ill-conditioned, its Cholesky.

    ``min(diag(L))^2`` of the Cholesky factor bounds the smallest eigenvalue from above, so it
    flags trouble cheaply; the eigenvalues are computed only then. The factor (upper, ``U'U =
    cov``) is returned when no ridge is needed: the minimum-variance start reuses it.
    """
    scale = float(np.mean(np.diag(cov)))
    if not np.isfinite(cov).all():
        raise EstimationError("The covariance matrix has missing or infinite entries.")
    if scale <= 0:
        raise EstimationError("The covariance matrix is zero: the assets have no variance.")
    factor = None
    # LAPACK reads one triangle; cov.T is Fortran-ordered, so the factor is its only copy.
    U, info = lapack.dpotrf(cov.T, lower=0, clean=1, overwrite_a=0)
    if info == 0:
        factor = U
        pivot = float(np.min(np.diag(U))) ** 2
        if pivot > 1e-4 * scale:
            return 0.0, False, factor
    values = np.linalg.eigvalsh((cov + cov.T) / 2)
    if values.min() < -1e-8 * max(values.max(), scale):
        raise EstimationError(
            "The covariance matrix is not positive semidefinite; choose a shrinkage estimator."
        )
    if values.min() > 1e-10 * scale:
        return 0.0, values.min() < 1e-6 * values.max(), factor
    return 1e-8 * scale - min(values.min(), 0.0), True, None


@dataclass
class _ActiveSet:
    """Which constraints hold with equality: per asset 0 free, -1 at lower, +1 at upper."""

    status: np.ndarray  # (n,) int
    rows: list[int]  # active rows of G


@dataclass
class _Segment:
    w0: np.ndarray
    w1: np.ndarray
    nu0: np.ndarray  # multipliers of the active G rows (same order as active.rows)
    nu1: np.ndarray
    xi0: np.ndarray  # (n,) multipliers of the asset bounds (0 for free assets)
    xi1: np.ndarray
    SW: np.ndarray  # (n, 2) the walk's covariance times [w0, w1]


def _bound_weights(p: _Problem, status: np.ndarray) -> np.ndarray:
    """Weights of the assets at a bound (0 for the free ones)."""
    return np.where(status > 0, p.upper, np.where(status < 0, p.lower, 0.0))


def _times_columns(S: np.ndarray, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``S[:, idx] @ x`` for a symmetric ``S`` (x: (len(idx),) or (len(idx), k)).

    Few columns: gather their rows (contiguous) instead; many: one pass over ``S`` per column
    of ``x``, with zeros elsewhere (BLAS ``dsymv`` on ``S.T``, which is Fortran-ordered and
    equal to ``S``: no copy, one triangle read).
    """
    n = len(S)
    if 3 * len(idx) < n:
        return S[idx].T @ x
    full = np.zeros((n,) + x.shape[1:])
    full[idx] = x
    if full.ndim == 1:
        return _sym_mv(S, full)
    return np.column_stack([_sym_mv(S, full[:, c]) for c in range(full.shape[1])])


def _sym_mv(S: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``S @ x`` for a symmetric ``S``, reading one triangle."""
    if S.flags.c_contiguous:
        return blas.dsymv(1.0, S.T, x)
    return S @ x


class _FreeInverse:
    r"""``M = (S_FF)^-1`` over the free assets, kept current by symmetric rank-one updates.

    Layout: ``M`` lives in a Fortran-ordered ``cap x cap`` buffer (its upper triangle, which
    BLAS's symmetric routines ``dsyr``/``dsymv``/``dsymm`` read and write in place), one slot
    per free asset; the slot of an asset that leaves becomes an exactly-zero row and column (a
    hole, mapped to the dummy asset ``n``) that the next asset to enter reuses, so nothing
    moves. When asset ``i`` enters, ``M' = M + v v' / s`` with ``u = M S_{F,i}``,
    ``s = S_ii - S_{i,F} u`` and ``v = u - e_i`` (bordering); when it leaves,
    ``M' = M - v v' / v_i`` with ``v = M e_i``: ``O(cap^2)`` either way instead of an
    ``O(n_free^3)`` factorisation. The buffer is compacted when it is more than 40 % holes.

    Kept with it, so that a KKT solve costs ``O(cap k)`` besides the product ``Sigma w``:
    ``g = S w_B`` (the bound weights' part of ``S w``; one row of ``S`` per change) and
    ``T = M Z`` with ``Z = [-g_F, mu_F, 1, G_F']`` over the slots (``Z`` too is kept), updated
    with ``M`` by one ``dger`` (``M S_{F,i} = e_i`` for a free ``i`` makes the change of ``g``
    cheap). ``M`` is rebuilt from a Cholesky factorisation every ``max(64, n_free)`` updates,
    and when the caller asks for it (a KKT residual that stays large).
    """

    def __init__(self, p: _Problem) -> None:
        self.p = p
        self.ready = False
        self.k = 3 + len(p.h)

    def refactor(self, status: np.ndarray) -> None:
        p, n = self.p, self.p.n
        free = np.flatnonzero(status == 0)
        m = len(free)
        cap = min(n, m + max(8, m // 8))
        self.cap, self.m, self.updates = cap, m, 0
        self.asset = np.full(cap, n)
        self.asset[:m] = free
        self.slot = np.full(n, -1)
        self.slot[free] = np.arange(m)
        self.holes = list(range(cap - 1, m - 1, -1))
        self.status = status.copy()
        self.wb = _bound_weights(p, status)
        self.wb_sum = float(self.wb.sum())
        nz = np.flatnonzero(self.wb)
        self.g = np.zeros(n + 1)  # g[n] = 0: the holes' dummy asset
        if len(nz):
            self.g[:n] = _times_columns(p.S, self.wb[nz], nz)
        self.Z = np.zeros((cap, self.k), order="F")
        self.Z[:m] = self._z(free)
        self.M = np.zeros((cap, cap), order="F")
        self.T = np.zeros((cap, self.k), order="F")
        if m:
            if m == n and p.cholesky is not None:  # every weight free: the factor is known
                inv = _spd_inverse(None, p.cholesky)
            else:
                inv = _spd_inverse(p.S[np.ix_(free, free)])
            self.M[:m, :m] = inv
            self.T[:m] = inv @ self.Z[:m]
        self.ready = True

    def _z(self, idx: np.ndarray) -> np.ndarray:
        """Rows of ``Z = [-g, mu, 1, G']`` for the assets ``idx``."""
        p = self.p
        z = np.empty((len(idx), self.k))
        z[:, 0] = -self.g[idx]
        z[:, 1] = p.mu[idx]
        z[:, 2] = 1.0
        if self.k > 3:
            z[:, 3:] = p.G[:, idx].T
        return z

    def used(self) -> np.ndarray:
        return (self.asset < self.p.n).nonzero()[0]

    def sync(self, status: np.ndarray, fresh: bool = False) -> None:
        """Bring ``M``, ``g``, ``Z`` and ``T`` to the free set of ``status``."""
        if not fresh and self.ready and self.updates < max(64, self.m):
            changed = (self.status != status).nonzero()[0].tolist()
            old = self.status
            # one or two weights moving between free and a bound (the walk's events)
            if len(changed) <= 2 and all(not (old[i] and status[i]) for i in changed):
                for i in sorted(changed, key=lambda i: status[i] == 0):  # leaving first
                    if not (self._add(i) if status[i] == 0 else self._remove(i, status[i])):
                        break
                else:
                    return
        self.refactor(status)

    def _move_g(self, i: int, b_i: float) -> None:
        """The bound weight of asset ``i`` changes by ``b_i``: update ``g`` and ``Z[:, 0]``."""
        g = self.g
        g[: self.p.n] += b_i * self.p.S[i]
        np.negative(g[self.asset], out=self.Z[:, 0])

    def _add(self, i: int) -> bool:
        S, n = self.p.S, self.p.n
        if not self.holes:
            self._grow()
        row = np.zeros(n + 1)
        row[:n] = S[i]
        b = row[self.asset]  # S_{F,i} by slot, 0 at the holes
        u = blas.dsymv(1.0, self.M, b)
        s = S[i, i] - b @ u
        if not s > 1e-8 * S[i, i]:  # cancellation would cost more than half the digits
            return False
        j = self.holes.pop()
        b_i = float(self.wb[i])
        T, Z = self.T, self.Z
        if b_i:
            self.wb[i] = 0.0
            self.wb_sum -= b_i
            T[:, 0] += b_i * u  # M (-g'_F) = M (-g_F) + b_i M S_{F,i}
        self.asset[j], self.slot[i], self.status[i] = i, j, 0
        if b_i:
            self._move_g(i, -b_i)
        else:
            Z[j, 0] = -self.g[i]
        Z[j, 1] = self.p.mu[i]
        Z[j, 2] = 1.0
        if self.k > 3:
            Z[j, 3:] = self.p.G[:, i]
        v = u
        v[j] = -1.0
        blas.dger(1.0 / s, v, v @ Z, a=T, overwrite_a=1)
        blas.dsyr(1.0 / s, v, a=self.M, overwrite_a=1)
        self.m += 1
        self.updates += 1
        return True

    def _remove(self, i: int, new_status: int) -> bool:
        p = self.p
        j = int(self.slot[i])
        M = self.M
        v = np.concatenate((M[:j, j], M[j, j:]))  # column j of the symmetric M
        d = float(v[j])
        if not d > 0:
            return False
        b_i = float(p.upper[i] if new_status > 0 else p.lower[i])
        T, Z = self.T, self.Z
        if b_i:
            self.wb[i] = b_i
            self.wb_sum += b_i
            self._move_g(i, b_i)
            T[j, 0] -= b_i  # M (-g'_F) = M (-g_F) - b_i e_j
        blas.dger(-1.0 / d, v, v @ Z, a=T, overwrite_a=1)
        T[j] = 0.0
        Z[j] = 0.0
        blas.dsyr(-1.0 / d, v, a=M, overwrite_a=1)
        M[: j + 1, j] = 0.0
        M[j, j:] = 0.0
        self.asset[j], self.slot[i], self.status[i] = p.n, -1, new_status
        self.holes.append(j)
        self.m -= 1
        self.updates += 1
        if self.cap > 32 and 10 * self.m < 6 * self.cap:
            self._compact()
        return True

    def _resize(self, keep: np.ndarray, cap: int) -> None:
        m = len(keep)
        M = np.zeros((cap, cap), order="F")
        M[:m, :m] = self.M[np.ix_(keep, keep)]  # sorted: the upper triangle stays upper
        T = np.zeros((cap, self.k), order="F")
        T[:m] = self.T[keep]
        Z = np.zeros((cap, self.k), order="F")
        Z[:m] = self.Z[keep]
        asset = np.full(cap, self.p.n)
        asset[:m] = self.asset[keep]
        self.M, self.T, self.Z, self.asset, self.cap = M, T, Z, asset, cap
        self.holes = [j for j in range(cap - 1, -1, -1) if asset[j] == self.p.n]
        used = np.flatnonzero(asset < self.p.n)
        self.slot[asset[used]] = used

    def _compact(self) -> None:
        used = self.used()
        self._resize(used, min(self.p.n, len(used) + max(8, len(used) // 8)))

    def _grow(self) -> None:
        self._resize(np.arange(self.cap), min(self.p.n, self.cap + max(16, self.cap // 4)))

    def times(self, X: np.ndarray) -> np.ndarray:
        """``M @ X`` for ``X (cap, k)`` in slot order."""
        return blas.dsymm(1.0, self.M, np.asfortranarray(X))


def _spd_inverse(A: np.ndarray | None, factor: np.ndarray | None = None) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (``potrf``/``potri``).

    ``factor``: its upper Cholesky factor when already known (then ``A`` is not read).
    """
    if factor is not None:
        c, info = factor, 0
    else:
        c, info = lapack.dpotrf(A.T if A.flags.c_contiguous else A, lower=0)
    if info == 0:
        inv, info = lapack.dpotri(c, lower=0, overwrite_c=int(factor is None))
        if info == 0:
            upper = np.triu(inv)
            return upper + np.triu(inv, 1).T
    if A is None:  # pragma: no cover - a factor that potri rejects
        A = c.T @ c
    return np.linalg.pinv((A + A.T) / 2, hermitian=True)


def _solve_segment(p: _Problem, act: _ActiveSet, fresh: bool = False) -> _Segment:
    """KKT system of the active set, solved for w(t) = w0 + t w1 and the multipliers.

    With ``M = Sigma_FF`` over the free assets and ``E`` the equality rows (``sum(w) = 1`` and
    the binding sector rows) on them: ``w_F = M^-1 (r - E' lam)`` and
    ``(E M^-1 E') lam = E M^-1 r - f`` (a Schur complement of a few rows); ``M^-1 r`` and
    ``M^-1 E'`` are kept by :class:`_FreeInverse`, so the solve is ``O(n_free k)`` plus one
    product with the covariance (``Sigma w``, for the bound multipliers and the residual).
    Arrays are in slot order, holes (zero rows) included.
    """
    n = p.n
    rows = act.rows
    status = act.status
    inv = p.inverse
    if not (inv.ready and inv.m) and not (status == 0).any():
        return _segment_without_free(p, act)
    inv.sync(status, fresh)
    if not inv.m:
        return _segment_without_free(p, act)
    T, Z, asset = inv.T, inv.Z, inv.asset
    if rows:
        cols = [2] + [3 + j for j in rows]
        TE, ZE = T[:, cols], Z[:, cols]
        F = np.zeros((len(cols), 2))
        F[0, 0] = 1.0 - inv.wb_sum
        F[1:, 0] = p.h[rows] - p.G[rows] @ inv.wb
        schur = ZE.T @ TE
        lam = _schur_solve(schur, ZE.T @ T[:, :2] - F)
    else:  # only sum(w) = 1: scalars (most frontiers)
        TE, ZE = T[:, 2:3], Z[:, 2:3]
        f0 = 1.0 - inv.wb_sum
        F = np.array([[f0, 0.0]])
        e0, e1, e2 = (Z[:, 2] @ T[:, :3]).tolist()
        schur = np.array([[e2]])
        rhs = np.array([[e0 - f0, e1]])
        lam = rhs / e2 if e2 > 0 else _schur_solve(schur, rhs)
    wF = T[:, :2] - TE @ lam
    W = np.zeros((n + 1, 2), order="F")  # row n: the holes' dummy asset
    W[:n, 0] = inv.wb
    W[asset] = wF
    W[n] = 0.0
    SW = _covariance_times(p, inv, W, wF)
    # KKT residual (O(n) given SW): the updated inverse loses digits over many updates on an
    # ill-conditioned covariance; refine once, refactorise if it stays large.
    r_stat = SW[asset]
    r_stat += ZE @ lam
    r_stat[:, 1] -= Z[:, 1]
    r_eq = F - ZE.T @ wF
    res = max(np.abs(r_stat).max(), np.abs(r_eq).max())
    if res > 1e-13:
        if not fresh and not res < 1e-7:
            return _solve_segment(p, act, fresh=True)
        X = inv.times(-r_stat)
        dlam = _schur_solve(schur, ZE.T @ X - r_eq)
        wF = wF + X - TE @ dlam
        lam = lam + dlam
        W[asset] = wF
        W[n] = 0.0
        SW = _covariance_times(p, inv, W, wF)
    if inv.m == len(F):
        # As many equality rows as free weights: the rows pin the free weights down and
        # the path does not move with t; the KKT solve leaves rounding noise (~1e-12) in
        # w1, which the ratio test would follow out to t ~ 1e10, off the budget.
        W[:, 1] = 0.0
        SW[:, 1] = 0.0
    return _finish_segment(p, act, W[:n], SW[:n], lam[:, 0], lam[:, 1])


def _covariance_times(p: _Problem, inv: _FreeInverse, W: np.ndarray, wF: np.ndarray):
    """``S @ W`` (``(n + 1, 2)``, Fortran order, the last row 0) from ``W`` or ``g = S w_B``."""
    n = p.n
    SW = np.zeros((n + 1, 2), order="F")
    if 6 * inv.m < n:  # gathering rows costs about 8 m n instructions, dsymv 0.6 n^2 each
        used = inv.used()
        rows = p.S[inv.asset[used]]  # contiguous rows; two gemv beat one thin gemm
        SW[:n, 0] = rows.T @ wF[used, 0]
        SW[:n, 0] += inv.g[:n]
        SW[:n, 1] = rows.T @ wF[used, 1]
    else:
        SW[:n, 0] = _sym_mv(p.S, W[:n, 0])
        SW[:n, 1] = _sym_mv(p.S, W[:n, 1])
    return SW


def _finish_segment(p, act, W, SW, lam0, lam1) -> _Segment:
    """Multipliers of the bounds from stationarity, ``S w - t mu + E' lam + s xi = 0``."""
    rows = act.rows
    g0 = SW[:, 0] + lam0[0]
    g1 = SW[:, 1] - p.mu
    g1 += lam1[0]
    if rows:
        G = p.G[rows]
        g0 += lam0[1:] @ G
        g1 += lam1[1:] @ G
    sign = -act.status  # 0 for the free assets
    g0 *= sign
    g1 *= sign
    if p.any_fixed:
        g0[p.fixed] = np.inf  # fixed weights are never released
        g1[p.fixed] = 0.0
    return _Segment(W[:, 0], W[:, 1], lam0[1:], lam1[1:], g0, g1, SW)


def _segment_without_free(p: _Problem, act: _ActiveSet) -> _Segment:
    """Every weight at a bound: the path does not move; multipliers by least squares."""
    W = np.zeros((p.n, 2))
    W[:, 0] = _bound_weights(p, act.status)
    E = np.vstack([p.ones, p.G[act.rows]]) if act.rows else p.ones
    bound = np.flatnonzero(act.status != 0)
    lam0, lam1 = _multipliers_without_free(p, act, E, bound)
    nz = np.flatnonzero(W[:, 0])
    SW = np.zeros((p.n, 2))
    if len(nz):
        SW[:, 0] = _times_columns(p.S, W[nz, 0], nz)
    return _finish_segment(p, act, W, SW, lam0, lam1)


def _schur_solve(schur: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    if schur.shape == (1, 1) and schur[0, 0] > 0:
        return rhs / schur[0, 0]
    try:
        return np.linalg.solve(schur, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(schur, rhs, rcond=None)[0]


def _multipliers_without_free(p, act, E, bound):
    """Equality multipliers when every weight is at a bound (least squares, nonunique)."""
    w = np.where(act.status > 0, p.upper, p.lower)
    A = E[:, bound].T
    g0 = -(p.S[bound] @ w)
    g1 = p.mu[bound]
    sol = np.linalg.lstsq(A, np.column_stack([g0, g1]), rcond=None)[0]
    return sol[:, 0], sol[:, 1]


def _initial_active_set(p: _Problem) -> _ActiveSet:
    """Active set of the minimum-variance portfolio, exact (multipliers of the right sign).

    A primal active-set method from a vertex of the feasible set (greedy fill by variance, or
    HiGHS with sector rows) needs one small KKT solve per asset that enters; Clarabel's interior
    point, made exact by :func:`_repair`, is the fallback (unbounded weights, degenerate cycles).
    """
    tried_vertex = False
    if len(p.h) == 0 and np.isfinite(p.lower).all() and np.isfinite(p.upper).all():
        guess = _unconstrained_guess(p)
        free = int((guess == 0).sum())
        if free > _PDAS_MAX_FREE and free < p.n:
            # Many weights free in the first guess but some violated: the primal-dual steps
            # would factorise large blocks (O(n_free^3) each); from a vertex, the primal
            # method adds one asset per cheap step, and long-only optima are sparse.
            tried_vertex = True
            start = _feasible_vertex(p)
            if start is not None:
                try:
                    return _primal_active_set(p, *start, max_iter=_PDAS_MAX_FREE)
                except _NoConvergence:
                    pass
        try:
            return _primal_dual_active_set(p, guess)
        except _NoConvergence:
            pass
    start = None if tried_vertex else _feasible_vertex(p)
    if start is not None:
        act, w = start
        try:
            return _primal_active_set(p, act, w)
        except _NoConvergence:
            pass
    return _initial_active_set_clarabel(p)


_PDAS_MAX_FREE = 1000  # free weights above which the first primal-dual step is costly


class _NoConvergence(Exception):
    pass


def _feasible_vertex(p: _Problem) -> tuple[_ActiveSet, np.ndarray] | None:
    if not (np.isfinite(p.lower).all() and np.isfinite(p.upper).all()):
        return None
    status = np.full(p.n, -1, dtype=int)
    if len(p.h) == 0:
        w = p.lower.copy()
        rest = 1.0 - w.sum()
        last = None
        for i in np.argsort(np.diag(p.cov), kind="stable"):
            if p.fixed[i] or rest <= 0:
                continue
            take = min(p.upper[i] - p.lower[i], rest)
            w[i] += take
            rest -= take
            last = i
            status[i] = 1 if take >= p.upper[i] - p.lower[i] else 0
        if last is None:
            return None
        if not (status == 0).any():
            status[last] = 0  # one weight is implied by the others through sum(w) = 1
        return _ActiveSet(status, []), w
    from scipy.optimize import linprog

    res = linprog(
        np.diag(p.cov),
        A_ub=p.G,
        b_ub=p.h,
        A_eq=np.ones((1, p.n)),
        b_eq=[1.0],
        bounds=list(zip(p.lower, p.upper, strict=True)),
        method="highs-ds",
    )
    if res.status == 2:
        raise InfeasibleConstraintsError(_infeasible_message(p))
    if res.status != 0:
        return None
    w = res.x
    status[:] = 0
    status[np.abs(w - p.lower) <= 1e-9] = -1
    status[(np.abs(w - p.upper) <= 1e-9) & (status == 0)] = 1
    status[p.fixed] = -1
    w = np.where(status > 0, p.upper, np.where(status < 0, p.lower, w))
    rows = [int(j) for j in np.flatnonzero(np.abs(p.G @ w - p.h) <= 1e-9)]
    act = _ActiveSet(status, rows)
    _make_independent(p, act, np.zeros(2 * p.n + len(p.h)))
    return act, w


def _unconstrained_guess(p: _Problem) -> np.ndarray:
    """Status (-1, 0, +1) from the unconstrained minimum-variance portfolio, ``S^-1 1 / 1'S^-1 1``.

    Weights it pushes beyond a bound start at that bound; the solve uses the Cholesky factor
    when it is known.
    """
    ones = np.ones(p.n)
    if p.cholesky is not None:
        w_u = lapack.dpotrs(p.cholesky, ones, lower=0)[0]
    else:
        w_u = np.linalg.solve(p.S, ones)
    w_u /= w_u.sum()
    status = np.where(w_u >= p.upper, 1, np.where(w_u <= p.lower, -1, 0))
    status[p.fixed] = -1
    return status


def _primal_dual_active_set(p: _Problem, status: np.ndarray, max_iter: int = 12) -> _ActiveSet:
    """Minimum variance under bounds by primal-dual active-set steps.

    Hintermueller, Ito & Kunisch (2002); the first guess holds at their bounds the weights that
    the unconstrained minimum-variance portfolio pushes beyond them.

    Each step moves every violated bound into the active set and every bound with a negative
    multiplier out of it; usually a handful of steps, each one Cholesky solve with the free
    block (the whole covariance's factor, already computed, when every weight is free). Not
    guaranteed: the caller falls back.
    """
    status = status.copy()
    if not (status == 0).any():
        raise _NoConvergence
    act = _ActiveSet(status, [])
    tol = 1e-12
    for _ in range(max_iter):
        w, xi0 = _min_variance_direct(p, act.status)
        free = act.status == 0
        over = free & (w > p.upper + tol)
        under = free & (w < p.lower - tol)
        release = (act.status != 0) & ~p.fixed & (xi0 < -tol)
        if not (over.any() or under.any() or release.any()):
            return act
        act.status[over] = 1
        act.status[under] = -1
        act.status[release] = 0
        if not (act.status == 0).any():
            raise _NoConvergence
    raise _NoConvergence


def _min_variance_direct(p: _Problem, status: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bound multipliers at ``t = 0`` of an active set with only ``sum(w) = 1``.

    One Cholesky factorisation of the free block (``O(n_free^3 / 3)``, cheaper than the
    inverse the walk keeps); for the primal-dual steps, which change many weights at once.
    """
    free = np.flatnonzero(status == 0)
    bound = np.flatnonzero(status != 0)
    wb = _bound_weights(p, status)
    nz = np.flatnonzero(wb)
    g = _times_columns(p.S, wb[nz], nz) if len(nz) else np.zeros(p.n)
    rhs = np.column_stack([-g[free], np.ones(len(free))])
    if len(bound) == 0 and p.cholesky is not None:
        X = lapack.dpotrs(p.cholesky, rhs, lower=0)[0]
    else:
        A = p.S[np.ix_(free, free)]
        c, info = lapack.dpotrf(A.T, lower=0, overwrite_a=1)
        if info != 0:
            raise _NoConvergence
        X = lapack.dpotrs(c, rhs, lower=0)[0]
    lam = (X[:, 0].sum() - (1.0 - wb.sum())) / X[:, 1].sum()
    wF = X[:, 0] - lam * X[:, 1]
    w = wb.copy()
    w[free] = wF
    xi0 = np.zeros(p.n)
    if len(bound):
        Sw = _times_columns(p.S, wF, free) + g
        xi0[bound] = -status[bound] * (Sw[bound] + lam)
        if p.any_fixed:
            xi0[p.fixed] = np.inf
    return w, xi0


def _primal_active_set(
    p: _Problem, act: _ActiveSet, w: np.ndarray, max_iter: int | None = None
) -> _ActiveSet:
    """Minimum variance by the primal active-set method (Nocedal & Wright 2006, alg. 16.3)."""
    for _ in range(4 * (p.n + len(p.h)) + 20 if max_iter is None else max_iter):
        seg = _solve_segment(p, act)
        step = seg.w0 - w
        if np.abs(step).max() <= 1e-12:
            xi = np.where(np.isfinite(seg.xi0), seg.xi0, 0.0)
            m_xi, m_nu = xi.min(initial=0.0), seg.nu0.min(initial=0.0)
            if min(m_xi, m_nu) >= -1e-12:
                return act
            if m_xi <= m_nu:
                act.status[int(np.argmin(xi))] = 0
            else:
                act.rows.pop(int(np.argmin(seg.nu0)))
            continue
        free = act.status == 0
        alpha, block = 1.0, None
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.where(free & (step > 1e-15), (p.upper - w) / step, np.inf)
            lo = np.where(free & (step < -1e-15), (p.lower - w) / step, np.inf)
        for ratios, kind in ((up, 1), (lo, -1)):
            i = int(np.argmin(ratios))
            if ratios[i] < alpha:
                alpha, block = max(ratios[i], 0.0), (kind, i)
        if len(p.h):
            slope = p.G @ step
            for j in range(len(p.h)):
                if j not in act.rows and slope[j] > 1e-15:
                    a = max((p.h[j] - p.G[j] @ w) / slope[j], 0.0)
                    if a < alpha:
                        alpha, block = a, (0, j)
        w = w + alpha * step
        if block is not None:
            if block[0] == 0:
                act.rows.append(block[1])
            else:
                act.status[block[1]] = block[0]
                w[block[1]] = p.upper[block[1]] if block[0] > 0 else p.lower[block[1]]
    raise _NoConvergence


def _initial_active_set_clarabel(p: _Problem) -> _ActiveSet:
    """Active set of the minimum-variance portfolio: Clarabel's solution, then made exact."""
    x, z_up, z_lo, z_g = _min_variance_clarabel(p)
    status = np.zeros(p.n, dtype=int)
    slack_up = p.upper - x
    slack_lo = x - p.lower
    at_up = np.isfinite(p.upper) & (z_up > np.maximum(slack_up, 1e-9))
    at_lo = np.isfinite(p.lower) & (z_lo > np.maximum(slack_lo, 1e-9)) & ~at_up
    status[at_up] = 1
    status[at_lo] = -1
    status[p.fixed] = -1
    rows = [int(j) for j in np.flatnonzero(z_g > np.maximum(p.h - p.G @ x, 1e-9))]
    act = _ActiveSet(status, rows)
    _make_independent(p, act, np.concatenate([z_up, z_lo, z_g]))
    return _repair(p, act)


def _make_independent(p: _Problem, act: _ActiveSet, duals: np.ndarray) -> None:
    """Make the equality rows on the free assets independent.

    Drops active sector rows (weakest dual first); frees an asset when none is left free (its
    value is then implied by the others).
    """
    while True:
        free = act.status == 0
        if not free.any():
            movable = np.flatnonzero(~p.fixed & (act.status != 0))
            if len(movable) == 0:
                return
            act.status[movable[0]] = 0
            continue
        E = np.vstack([np.ones((1, p.n)), p.G[act.rows]])[:, free]
        if np.linalg.matrix_rank(E) == E.shape[0]:
            return
        if not act.rows:
            return
        act.rows.pop(int(np.argmin([duals[2 * p.n + j] for j in act.rows])))


def _repair(p: _Problem, act: _ActiveSet, max_iter: int = 100) -> _ActiveSet:
    """Make the identified active set optimal at t = 0 (primal feasible, multipliers >= 0)."""
    for _ in range(max_iter):
        seg = _solve_segment(p, act)
        w, tol = seg.w0, 1e-9
        free = act.status == 0
        over = free & (w > p.upper + tol)
        under = free & (w < p.lower - tol)
        g_viol = [j for j in range(len(p.h)) if j not in act.rows and p.G[j] @ w > p.h[j] + tol]
        if over.any() or under.any() or g_viol:
            viol = np.where(over, w - p.upper, 0) + np.where(under, p.lower - w, 0)
            if viol.max(initial=0) > 0:
                i = int(np.argmax(viol))
                act.status[i] = 1 if over[i] else -1
            else:
                act.rows.append(g_viol[0])
            continue
        neg_xi = np.where(np.isfinite(seg.xi0), seg.xi0, 0)
        neg_nu = seg.nu0
        if neg_xi.min(initial=0) < -tol or neg_nu.min(initial=0) < -tol:
            if neg_xi.min(initial=0) <= neg_nu.min(initial=0):
                act.status[int(np.argmin(neg_xi))] = 0
            else:
                act.rows.pop(int(np.argmin(neg_nu)))
            continue
        return act
    raise OptimizationError(  # pragma: no cover - numerical failure
        "The minimum-variance portfolio could not be pinned down exactly; try a shrinkage "
        "covariance estimator."
    )


def _min_variance_clarabel(p: _Problem):
    """Minimum-variance weights and the duals of the bounds and sector rows (Clarabel)."""
    import clarabel
    from scipy import sparse

    n = p.n
    fin_up = np.flatnonzero(np.isfinite(p.upper))
    fin_lo = np.flatnonzero(np.isfinite(p.lower))
    eye = sparse.eye(n, format="csr")
    A = sparse.vstack(
        [
            sparse.csr_matrix(np.ones((1, n))),
            eye[fin_up],
            -eye[fin_lo],
            sparse.csr_matrix(p.G),
        ],
        format="csc",
    )
    b = np.concatenate([[1.0], p.upper[fin_up], -p.lower[fin_lo], p.h])
    P = sparse.triu(sparse.csc_matrix(p.S), format="csc")
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = 1e-10
    cones = [clarabel.ZeroConeT(1), clarabel.NonnegativeConeT(A.shape[0] - 1)]
    solver = clarabel.DefaultSolver(P, np.zeros(n), A, b, cones, settings)
    sol = solver.solve()
    status = str(sol.status)
    if "Infeasible" in status:
        raise InfeasibleConstraintsError(_infeasible_message(p))
    if "Solved" not in status:
        raise OptimizationError(
            f"The minimum-variance problem could not be solved ({status}); try a shrinkage "
            "covariance estimator or looser constraints."
        )
    x = np.asarray(sol.x)
    z = np.asarray(sol.z)
    z_up = np.zeros(n)
    z_lo = np.zeros(n)
    k = 1
    z_up[fin_up] = z[k : k + len(fin_up)]
    k += len(fin_up)
    z_lo[fin_lo] = z[k : k + len(fin_lo)]
    k += len(fin_lo)
    return x, z_up, z_lo, z[k:]


def _infeasible_message(p: _Problem) -> str:
    extra = f" and {'; '.join(p.labels)}" if p.labels else ""
    return (
        f"No fully invested portfolio satisfies the weight bounds{extra} together; loosen one "
        "of them."
    )


_UP, _LO, _RELEASE, _ROW_ON, _ROW_OFF = range(5)
_UNDO = {_UP: [_RELEASE], _LO: [_RELEASE], _RELEASE: [_UP, _LO], _ROW_ON: [_ROW_OFF],
         _ROW_OFF: [_ROW_ON]}  # fmt: skip


def _walk(p: _Problem, act: _ActiveSet, until: _Until | None = None):
    """Follow the critical line from t = 0; returns breakpoints, per-segment (a, b), the start.

    ``until(t0, t1, seg)`` is asked on every segment ``w(t) = seg.w0 + t seg.w1``, ``t`` in
    ``[t0, t1]`` (``t1`` is infinite on an unbounded last segment): a ``t`` in that range ends
    the walk there, None walks on. Besides ``(t, a, b, w_start)`` it returns whether the walk
    reached the maximum-return portfolio (it was not ended by ``until``) and the walk's
    covariance times each segment's ``a`` and ``b`` (a list of ``(n, 2)`` arrays).

    Events at the same ``t`` are taken in a fixed order: a weight reaching its upper bound
    (lowest index first), its lower bound, a bound released, a sector row becoming binding,
    one released.
    """
    t_now = 0.0
    ts, a_list, b_list, sw_list = [0.0], [], [], []
    w_start: np.ndarray | None = None
    last: tuple[int, int] | None = None  # the last event, not to be undone at the same t
    max_steps = _MAX_STEPS_PER_CONSTRAINT * (p.n + len(p.h)) + 20
    m = len(p.h)
    movable = ~p.fixed
    inf = np.inf
    for _ in range(max_steps):
        seg = _solve_segment(p, act)
        w0, w1 = seg.w0, seg.w1
        if w_start is None:
            w_start = w0.copy()
        size_w1 = float(np.abs(w1).max())
        scale_w1 = max(1.0, size_w1)
        stationary = size_w1 <= 1e-13 * max(1.0, t_now)
        eps = 1e-12 * scale_w1
        status = act.status
        free = status == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            # per asset, one event: a free weight reaches a bound, or a bound is released
            rising = w1 > eps
            falling = w1 < -eps
            moving = free & (np.abs(w1) > eps)
            t_asset = np.where(moving, (np.where(rising, p.upper, p.lower) - w0) / w1, inf)
            rel = ~free & movable & (seg.xi1 < -eps)
            if rel.any():
                t_asset = np.where(rel, -seg.xi0 / seg.xi1, t_asset)
            t_on = t_off = None
            if m:
                t_on = np.full(m, inf)
                t_off = np.full(m, inf)
                inactive = np.ones(m, dtype=bool)
                inactive[act.rows] = False
                slope = p.G @ w1
                on = inactive & (slope > eps)
                t_on[on] = (p.h[on] - p.G[on] @ w0) / slope[on]
                if act.rows:
                    off = seg.nu1 < -eps
                    rows = np.asarray(act.rows)
                    t_off[rows[off]] = -seg.nu0[off] / seg.nu1[off]
                np.maximum(t_on, t_now, out=t_on)
                np.maximum(t_off, t_now, out=t_off)
        np.maximum(t_asset, t_now, out=t_asset)
        if last is not None:
            # never undo the last event at the same t (a degenerate tie would cycle)
            kind, idx = last
            if kind <= _RELEASE:
                if t_asset[idx] <= t_now + 1e-14:
                    t_asset[idx] = inf
            else:
                undo = t_off if kind == _ROW_ON else t_on
                if undo[idx] <= t_now + 1e-14:
                    undo[idx] = inf
        event = _next_event(t_asset, t_on, t_off, free, rising, falling)
        if until is not None:
            t_next = event[0] if event else (t_now if stationary else np.inf)
            t_stop = until(t_now, t_next, seg)
            if t_stop is not None:
                ts.append(min(max(t_stop, t_now), t_next))
                a_list.append(w0)
                b_list.append(w1)
                sw_list.append(seg.SW)
                return np.array(ts), a_list, b_list, w_start, False, sw_list
        if event is None and stationary:  # the maximum-return portfolio
            return np.array(ts), a_list, b_list, w_start, True, sw_list
        if event is None:
            raise OptimizationError(
                "The expected return is unbounded under these constraints (shorting without "
                "finite weight bounds): set finite minimum and maximum weights."
            )
        t_e, kind, idx = event
        if t_e > t_now:
            ts.append(t_e)
            a_list.append(w0)
            b_list.append(w1)
            sw_list.append(seg.SW)
            t_now = t_e
        if kind == _UP:
            act.status[idx] = 1
        elif kind == _LO:
            act.status[idx] = -1
        elif kind == _RELEASE:
            act.status[idx] = 0
        elif kind == _ROW_ON:
            act.rows.append(idx)
        else:
            act.rows.remove(idx)
        last = (kind, idx)
    raise OptimizationError(  # pragma: no cover - would need cycling
        "The efficient frontier could not be traced (the critical line cycled); try a "
        "shrinkage covariance estimator."
    )


def _next_event(t_asset, t_on, t_off, free, rising, falling) -> tuple[float, int, int] | None:
    """The first event ``(t, kind, index)``; ties in the order of :func:`_walk`'s docstring."""
    i = int(t_asset.argmin())
    t_best = float(t_asset[i])
    row_best = inf = np.inf
    if t_on is not None:
        row_best = min(float(t_on.min()), float(t_off.min()))
    if t_best == inf and row_best == inf:
        return None
    if t_best <= row_best:
        kind = _UP if free[i] and rising[i] else _LO if free[i] and falling[i] else _RELEASE
        if kind != _UP:  # the lowest index among ties; an upper bound at a higher one comes first
            ties = (t_asset == t_best).nonzero()[0]
            if len(ties) > 1:
                up, down = free[ties] & rising[ties], free[ties] & falling[ties]
                order = np.where(up, 0, np.where(down, 1, 2))
                i = int(ties[np.lexsort((ties, order))[0]])
                kind = _UP if up.any() else _LO if down.any() else _RELEASE
        return t_best, kind, i
    j = int(np.argmin(t_on))
    if float(t_on[j]) == row_best:
        return row_best, _ROW_ON, j
    return row_best, _ROW_OFF, int(np.argmin(t_off))


def _tangency_on_path(
    t_break: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    mu: np.ndarray,
    cov: np.ndarray,
    rf: float,
    C: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray] | None:
    """Maximum Sharpe ratio along the piecewise affine path, in closed form per segment.

    On a segment ``R(t) = r0 + r1 t`` and ``V(t) = v0 + 2 v1 t + v2 t^2``; the derivative of
    ``(R - rf) / sqrt(V)`` vanishes where ``t (r1 v1 - e0 v2) = e0 v1 - r1 v0`` with
    ``e0 = r0 - rf``: one candidate per segment besides its end points.
    """
    Sa, Sb = (a @ cov, b @ cov) if C is None else (C[0], C[1])
    r0, r1 = a @ mu, b @ mu
    v0, v1, v2 = (Sa * a).sum(axis=1), (Sa * b).sum(axis=1), (Sb * b).sum(axis=1)
    e0 = r0 - rf
    lo, hi = t_break[:-1], t_break[1:]
    den = r1 * v1 - e0 * v2
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = np.where(np.abs(den) > 1e-300, (e0 * v1 - r1 * v0) / den, lo)
    t_star = np.where((t_star > lo) & (t_star < hi), t_star, lo)
    t_all = np.concatenate([lo, hi, t_star])
    k_all = np.tile(np.arange(len(a)), 3)
    var = v0[k_all] + 2 * v1[k_all] * t_all + v2[k_all] * t_all**2
    excess = e0[k_all] + r1[k_all] * t_all
    ok = (var > 1e-300) & (excess > 0)
    if not ok.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(ok, excess / np.sqrt(np.where(ok, var, 1.0)), -np.inf)
    j = int(np.argmax(sharpe))
    k = k_all[j]
    return float(sharpe[j]), a[k] + b[k] * t_all[j]


# Ends of the walk: each returns the t in [t0, t1] where the wanted point lies, or None.
_Until = Callable[[float, float, _Segment], "float | None"]


def _moments(p: _Problem, seg: _Segment) -> tuple[float, float, float]:
    """``V(t) = v0 + 2 v1 t + v2 t^2``, the variance (covariance as given) along a segment."""
    w0, w1 = seg.w0, seg.w1
    S0, S1 = seg.SW[:, 0], seg.SW[:, 1]
    if p.ridge:  # the walk's covariance is cov + ridge I
        S0, S1 = S0 - p.ridge * w0, S1 - p.ridge * w1
    return float(w0 @ S0), float(w0 @ S1), float(w1 @ S1)


def _until_risk_tolerance(t_target: float) -> _Until:
    def until(t0, t1, seg):
        return t_target if t_target <= t1 else None

    return until


def _until_return(p: _Problem, target: float) -> _Until:
    def until(t0, t1, seg):
        r0, r1 = float(p.mu @ seg.w0), float(p.mu @ seg.w1)
        if r0 + r1 * t0 >= target:
            return t0
        if r1 <= 0 or (np.isfinite(t1) and r0 + r1 * t1 < target):
            return None
        return (target - r0) / r1

    return until


def _until_volatility(p: _Problem, target: float) -> _Until:
    var = target * target

    def until(t0, t1, seg):
        v0, v1, v2 = _moments(p, seg)
        if v0 + (2 * v1 + v2 * t0) * t0 >= var:
            return t0
        if np.isfinite(t1) and v0 + (2 * v1 + v2 * t1) * t1 < var:
            return None
        if v2 > 1e-300:  # the larger root of v2 t^2 + 2 v1 t + (v0 - var) = 0
            return (-v1 + np.sqrt(max(v1 * v1 - v2 * (v0 - var), 0.0))) / v2
        return (var - v0) / (2 * v1) if v1 > 0 else None

    return until


def _until_tangency(p: _Problem, rf: float) -> _Until:
    """Past the tangency: the Sharpe ratio falls at the segment's end.

    Along the efficient frontier (concave in volatility) the Sharpe ratio has a single maximum
    (Merton 1972), so the walk can stop on the first segment where it decreases.
    """

    def falling(r0, r1, v0, v1, v2, t):
        excess, var = r0 - rf + r1 * t, v0 + (2 * v1 + v2 * t) * t
        # d/dt excess / sqrt(V) has the sign of r1 V - excess (v1 + v2 t)
        up, down = r1 * var, excess * (v1 + v2 * t)
        return excess > 0 and var > 0 and up - down < -1e-12 * (abs(up) + abs(down))

    def until(t0, t1, seg):
        if not t1 > t0:
            return None
        r0, r1 = float(p.mu @ seg.w0), float(p.mu @ seg.w1)
        if not r1 * (t1 - t0) > _STALL_GAIN:
            # A stall (w constant while a multiplier runs to zero, after a degenerate tie):
            # w1 is rounding noise, so the sign of the Sharpe ratio's slope would be too.
            return None
        v0, v1, v2 = _moments(p, seg)
        if np.isfinite(t1):
            return t1 if falling(r0, r1, v0, v1, v2, t1) else None
        e0, den = r0 - rf, r1 * v1 - (r0 - rf) * v2
        t_star = (e0 * v1 - r1 * v0) / den if abs(den) > 1e-300 else t0
        t_end = 2 * max(t_star, t0) + 1.0
        return t_end if falling(r0, r1, v0, v1, v2, t_end) else None

    return until


def _first(untils: list[_Until]) -> _Until | None:
    if not untils:
        return None
    if len(untils) == 1:
        return untils[0]

    def until(t0, t1, seg):
        hits = [t for u in untils if (t := u(t0, t1, seg)) is not None]
        return min(hits) if hits else None

    return until


def _trace(p: _Problem, until: _Until | None = None):
    """The critical line from the minimum-variance portfolio.

    Returns ``(t, a, b, w_start, complete, C)`` with ``C`` the pair of ``(n_segments, n)``
    arrays: the covariance
    as given times ``a`` and ``b`` (from the walk's products: no further pass over it).
    """
    act = _initial_active_set(p)
    p.inverse.refactor(act.status)
    p.cholesky = None  # served the start; n x n memory the walk does not need
    t_break, a_list, b_list, w_start, complete, sw_list = _walk(p, act, until)
    if a_list:
        a, b = np.vstack(a_list), np.vstack(b_list)
        C = (np.vstack([sw[:, 0] for sw in sw_list]), np.vstack([sw[:, 1] for sw in sw_list]))
        if p.ridge:  # the walk's covariance is cov + ridge I
            C = (C[0] - p.ridge * a, C[1] - p.ridge * b)
    else:
        a = b = np.zeros((0, p.n))
        C = (a, b)
    return t_break, a, b, w_start, complete, C


@dataclass(frozen=True)
class FrontierOptimum:
    """One point of the efficient frontier, found by a walk that stops once it is passed.

    Attributes
    ----------
    weights : ndarray (n_assets,) or None
        The wanted portfolio (decimal weights summing to 1); for ``"tangency"`` None when no
        portfolio walked beats the risk-free rate. For ``"return"`` it is the last portfolio
        walked, whose return is below the target when the target is out of reach.
    min_variance : ndarray (n_assets,)
        The minimum-variance portfolio under the constraints.
    end : ndarray (n_assets,)
        The last portfolio walked (the maximum-return one when ``reached_max_return``).
    reached_max_return : bool
        Whether the walk went to the end of the frontier.
    regularization : float
        Ridge added to the covariance's diagonal for the walk (see the module docstring).
    """

    weights: np.ndarray | None
    min_variance: np.ndarray
    end: np.ndarray
    reached_max_return: bool
    regularization: float


#: Points :func:`frontier_optimum` finds: name -> meaning of its ``value``.
FRONTIER_POINTS: dict[str, str] = {
    "risk_tolerance": "risk tolerance t >= 0 (0: minimum variance; 1 / delta: maximum utility)",
    "return": "target expected return (annualised decimal)",
    "volatility": "target volatility (annualised decimal)",
    "tangency": "risk-free rate (annual decimal) of the maximum Sharpe ratio portfolio",
}


def frontier_optimum(
    expected_returns: np.ndarray,
    cov: np.ndarray,
    lin: LinearConstraints,
    point: str = "risk_tolerance",
    value: float = 0.0,
    max_volatility: float | None = None,
) -> FrontierOptimum:
    r"""One efficient portfolio, by the critical-line walk stopped as soon as it is passed.

    Every mean-variance objective under linear constraints has its optimum on the efficient
    frontier (Markowitz 1952): the frontier at risk tolerance ``t`` solves
    ``min 1/2 w' Sigma w - t mu' w``, which is the maximum of the quadratic utility
    ``mu' w - delta / 2 w' Sigma w`` at ``t = 1 / delta`` (``t = 0``: minimum variance); the
    frontier point at a target return minimises the variance for it; the one at a target
    volatility maximises the return for it; the tangency maximises the Sharpe ratio. The walk
    starts at the minimum-variance portfolio and ends on the segment holding the wanted point,
    so a point costs only the breakpoints below it.

    Parameters
    ----------
    expected_returns : ndarray (n_assets,)
        Annualised decimal expected returns.
    cov : ndarray (n_assets, n_assets)
        Annualised covariance (positive semidefinite).
    lin : LinearConstraints
        ``Constraints.linear_form(tickers)``: ``sum(w) = 1``, bounds, ``G w <= h``.
    point : {"risk_tolerance", "return", "volatility", "tangency"}
        Which point (see :data:`FRONTIER_POINTS`). A target return below the minimum-variance
        portfolio's gives that portfolio; a target volatility above the maximum-return
        portfolio's gives that one.
    value : float
        The point's parameter: risk tolerance, target return, target volatility or risk-free
        rate.
    max_volatility : float, optional
        Annualised decimal cap: the frontier ends where its volatility reaches it (when the
        minimum-variance portfolio is above the cap, the walk stops there; the caller checks).

    Returns
    -------
    FrontierOptimum

    Raises
    ------
    InfeasibleConstraintsError
        No portfolio satisfies the constraints.
    EstimationError
        A covariance that is not finite or not positive semidefinite.
    OptimizationError
        Unknown point, or the wanted point lies beyond an unbounded frontier (infinite weight
        bounds with shorting).

    References
    ----------
    Markowitz (1952, 1956); Niedermayer & Niedermayer (2010); Merton (1972) for the single
    maximum of the Sharpe ratio along the frontier.
    """
    if point not in FRONTIER_POINTS:
        raise OptimizationError(f"Unknown frontier point {point!r}.")
    mu = np.asarray(expected_returns, dtype=float)
    cov = np.asarray(cov, dtype=float)
    p = _Problem(mu, _symmetric(cov), lin)
    untils: list[_Until] = []
    if point == "risk_tolerance":
        untils.append(_until_risk_tolerance(max(float(value), 0.0)))
    elif point == "return":
        untils.append(_until_return(p, float(value)))
    elif point == "volatility":
        untils.append(_until_volatility(p, float(value)))
    else:
        untils.append(_until_tangency(p, float(value)))
    if max_volatility is not None:
        untils.append(_until_volatility(p, float(max_volatility)))
    t_break, a, b, w_start, complete, C = _trace(p, _first(untils))
    w_start = _clean(w_start, p)
    end = _clean(a[-1] + b[-1] * t_break[-1], p) if len(a) else w_start
    weights: np.ndarray | None = end
    if point == "tangency":
        best = _tangency_on_path(t_break, a, b, mu, p.cov, float(value), C) if len(a) else None
        if best is None and float(w_start @ mu) > float(value):
            best = (0.0, w_start)
        weights = None if best is None else _clean(best[1], p)
    return FrontierOptimum(weights, w_start, end, complete, p.ridge)


def _validate(expected_returns: pd.Series, cov: pd.DataFrame) -> None:
    if len(expected_returns) == 0:
        raise OptimizationError("The universe is empty: choose at least one asset.")
    idx = expected_returns.index
    if not (cov.index.equals(idx) and cov.columns.equals(idx)):
        raise EstimationError("Expected returns and covariance do not cover the same assets.")
    if not np.isfinite(expected_returns.to_numpy(dtype=float)).all():
        raise EstimationError("Some expected returns are missing or infinite.")


def efficient_frontier(
    expected_returns: pd.Series,
    cov: pd.DataFrame,
    constraints: Constraints | None = None,
    n_points: int = 50,
    risk_free_rate: float = 0.0,
    max_return: float | None = None,
) -> Frontier:
    """The efficient frontier under Ballast's constraints, exact at every point.

    Parameters
    ----------
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns, indexed by ticker.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance, same tickers and order.
    constraints : Constraints, optional
        Bounds, sector bounds, shorting and maximum volatility; defaults to long-only in [0, 1].
        A maximum volatility ends the frontier where its volatility reaches the cap.
    n_points : int
        Number of points, equally spaced in expected return from the minimum-variance to the
        maximum-return portfolio (one point when these coincide: one asset, equal expected
        returns).
    risk_free_rate : float
        Annual decimal rate for the Sharpe ratios and the tangency portfolio.
    max_return : float, optional
        End the frontier at this annualised return if it is below the highest achievable; needed
        when weights are unbounded (shorting with infinite bounds), where the frontier has no end.

    Returns
    -------
    Frontier

    Raises
    ------
    InfeasibleConstraintsError
        No portfolio satisfies the constraints, or the maximum volatility is below the
        minimum-variance portfolio's; the message names the conflict.
    EstimationError
        Mismatched or non-finite inputs, or a covariance that is not positive semidefinite.
    OptimizationError
        ``n_points < 1``, or an unbounded expected return without ``max_return``.

    Notes
    -----
    Critical line method (see the module docstring): the first point solves
    ``min w' Sigma w``; the walk costs one small KKT solve per change of the active set.

    References
    ----------
    Markowitz (1956); Niedermayer & Niedermayer (2010); Best (2010), ch. 7.
    """
    if n_points < 1:
        raise OptimizationError("Ask for at least one point on the frontier.")
    constraints = constraints or Constraints()
    _validate(expected_returns, cov)
    tickers = expected_returns.index  # an Index: pandas builds the outputs without re-parsing
    lin = constraints.linear_form(list(tickers))
    mu = expected_returns.to_numpy(dtype=float)
    cov_np = _symmetric(cov.to_numpy(dtype=float))
    p = _Problem(mu, cov_np, lin)
    rf = float(risk_free_rate)

    max_vol = constraints.max_volatility
    untils: list[_Until] = []
    if max_return is not None:
        untils.append(_until_return(p, float(max_return)))
    if max_vol is not None:  # the frontier ends where its volatility reaches the cap
        untils.append(_until_volatility(p, float(max_vol)))
    t_break, a, b, w_start, _, C = _trace(p, _first(untils))
    w_start = _clean(w_start, p)
    if max_vol is not None:
        min_vol = float(np.sqrt(max(w_start @ cov_np @ w_start, 0.0)))
        if max_vol < min_vol - 1e-9:
            raise InfeasibleConstraintsError(
                f"The maximum portfolio volatility of {max_vol:.2%} is below the "
                f"minimum-variance portfolio's volatility of {min_vol:.2%} under these "
                f"constraints: raise it to at least {min_vol:.2%} or loosen the constraints."
            )
    t_break, a, b, w_start, C = _drop_stalls(p, t_break, a, b, w_start, C)

    if len(a) == 0:
        end_w = w_start
        frontier_weights = w_start[None, :]
        corners = w_start[None, :]
        best = (0.0, w_start) if float(w_start @ mu) > rf else None
    else:
        corners = _clean(np.vstack([a + b * t_break[:-1, None], a[-1] + b[-1] * t_break[-1]]), p)
        w_start, end_w = corners[0], corners[-1]
        r_lo, r_hi = float(w_start @ mu), float(end_w @ mu)
        targets = np.linspace(r_lo, r_hi, n_points) if n_points > 1 else np.array([r_lo])
        path_w, path_cw = _path_at_returns(t_break, a, b, mu, targets, C)
        frontier_weights = _clean(path_w, p)
        best = _tangency_on_path(t_break, a, b, mu, cov_np, rf, C)
    if len(a) and not p.ridge:
        # cov w from the walk's products: O(points n), not another pass over cov per point
        # (the clean-up moves w by less than 1e-12 without a ridge)
        cov_w = path_cw
    else:
        cov_w = frontier_weights @ cov_np
    rets = frontier_weights @ mu
    vols = np.sqrt(np.maximum(np.einsum("ij,ij->i", cov_w, frontier_weights), 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(vols > 1e-12, (rets - rf) / vols, np.nan)
    tangency = None
    if best is not None:
        tangency = _make_portfolio(_clean(best[1], p), tickers, mu, cov_np, rf)
    return Frontier(
        returns=rets,
        volatilities=vols,
        sharpe_ratios=sharpe,
        weights=pd.DataFrame(frontier_weights, columns=tickers),
        risk_free_rate=rf,
        min_variance=_make_portfolio(w_start, tickers, mu, cov_np, rf),
        max_return=_make_portfolio(end_w, tickers, mu, cov_np, rf),
        tangency=tangency,
        corner_portfolios=pd.DataFrame(corners, columns=tickers),
        regularization=p.ridge,
        _t=t_break,
        _a=a,
        _b=b,
        _cov=cov_np,
        _mu=mu,
    )


def _drop_stalls(
    p: _Problem,
    t_break: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    w_start: np.ndarray,
    C: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Drop zero-length segments (ties at a breakpoint) so that returns strictly increase.

    ``C``, the covariance times ``a`` and ``b`` (a pair of arrays), follows the same changes.
    """
    if len(a):
        r_b = b @ p.mu
        gain = r_b * np.diff(t_break)
        keep = gain > _STALL_GAIN
        if keep.all():
            return t_break, a, b, w_start, C
        if keep.any():
            # Remove the stalls (w constant over a range of t, waiting for a release) and
            # shift the later segments back by the stalled length, so the path stays continuous.
            shift = np.concatenate([[0.0], np.cumsum(np.where(keep, 0.0, np.diff(t_break)))])
            idx = np.flatnonzero(keep)
            step = shift[idx][:, None]
            b, Cb = b[idx], C[1][idx]
            a, Ca = a[idx], C[0][idx]
            a += b * step
            Ca += Cb * step
            C = (Ca, Cb)
            t_break = np.append(t_break[idx] - shift[idx], t_break[idx + 1][-1:] - shift[idx[-1]])
        else:
            w_start = _clean(a[0] + b[0] * t_break[0], p)
            a = b = np.zeros((0, p.n))
            C = (a, b)
            t_break = np.array([0.0])
    return t_break, a, b, w_start, C


def frontier_weights(
    expected_returns: np.ndarray,
    cov: np.ndarray,
    lin: LinearConstraints,
    n_points: int = 50,
    max_volatility: float | None = None,
) -> np.ndarray:
    """Weights of the frontier's points as one array: :func:`efficient_frontier` for loops.

    For callers that solve many frontiers under the same constraints (a resampled frontier):
    ``lin`` is computed once and no pandas objects are built. The points are the same as
    :func:`efficient_frontier`'s.

    Parameters
    ----------
    expected_returns : ndarray (n_assets,)
        Annualised decimal expected returns (finite).
    cov : ndarray (n_assets, n_assets)
        Annualised covariance, positive semidefinite.
    lin : LinearConstraints
        ``Constraints.linear_form(tickers)``.
    n_points : int
        Points, equally spaced in expected return from the minimum-variance to the
        maximum-return portfolio.
    max_volatility : float, optional
        Annualised decimal cap: the frontier ends where its volatility reaches it.

    Returns
    -------
    ndarray (n_points, n_assets) or (1, n_assets)
        Decimal weights per point; one row when the frontier is a single point.

    Raises
    ------
    InfeasibleConstraintsError, EstimationError, OptimizationError
        As :func:`efficient_frontier` (a volatility cap below the minimum variance is not
        checked here).

    References
    ----------
    Markowitz (1956); Niedermayer & Niedermayer (2010).
    """
    mu = np.asarray(expected_returns, dtype=float)
    cov = np.asarray(cov, dtype=float)
    p = _Problem(mu, _symmetric(cov), lin)
    until = None if max_volatility is None else _until_volatility(p, float(max_volatility))
    t_break, a, b, w_start, _, C = _trace(p, until)
    t_break, a, b, w_start, _ = _drop_stalls(p, t_break, a, b, _clean(w_start, p), C)
    if len(a) == 0:
        return w_start[None, :]
    r_lo = float(_clean(a[0] + b[0] * t_break[0], p) @ mu)
    r_hi = float(_clean(a[-1] + b[-1] * t_break[-1], p) @ mu)
    targets = np.linspace(r_lo, r_hi, n_points) if n_points > 1 else np.array([r_lo])
    return _clean(_path_at_returns(t_break, a, b, mu, targets), p)


def _clean(w: np.ndarray, p: _Problem) -> np.ndarray:
    """Snap rounding noise (< 1e-12) onto the bounds, and keep every weight within them.

    The clip matters only on a regularised (singular) covariance, whose steep path can overshoot
    a bound by about 1e-8; sum(w) = 1 then holds to that accuracy.
    """
    w = np.where(np.abs(w - p.lower) < 1e-12, p.lower, w)
    w = np.where(np.abs(w - p.upper) < 1e-12, p.upper, w)
    return np.clip(w, p.lower, p.upper)


# ---------------------------------------------------------------------------------------------
# Random feasible portfolios
# ---------------------------------------------------------------------------------------------


def portfolio_statistics(
    weights: np.ndarray | pd.DataFrame,
    expected_returns: pd.Series,
    cov: pd.DataFrame,
    risk_free_rate: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected returns, volatilities and Sharpe ratios of many portfolios at once.

    Parameters
    ----------
    weights : ndarray or DataFrame (n_portfolios, n_assets)
        Decimal weights, columns in the order of ``expected_returns``.
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance.
    risk_free_rate : float
        Annual decimal rate.

    Returns
    -------
    tuple of ndarray (n_portfolios,)
        Annualised returns, annualised volatilities, Sharpe ratios (NaN at zero volatility).
    """
    W = np.asarray(weights, dtype=float)
    rets = W @ expected_returns.to_numpy(dtype=float)
    vols = np.sqrt(np.maximum(np.einsum("ij,ij->i", W @ cov.to_numpy(dtype=float), W), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(vols > 1e-12, (rets - risk_free_rate) / vols, np.nan)
    return rets, vols, sharpe


def _chebyshev_centre(lin: LinearConstraints) -> np.ndarray:
    """A point deep inside the feasible set (largest inscribed ball, restricted to sum = 1)."""
    from scipy.optimize import linprog

    n = len(lin.lower)
    fixed = (lin.upper - lin.lower) <= 1e-12
    rows, rhs = [], []
    for i in range(n):
        if fixed[i]:
            continue
        e = np.zeros(n + 1)
        e[i], e[n] = 1.0, 1.0
        rows.append(e.copy())
        rhs.append(lin.upper[i])
        e[i] = -1.0
        rows.append(e)
        rhs.append(-lin.lower[i])
    for j in range(len(lin.h)):
        g = lin.G[j]
        rows.append(np.append(g, np.linalg.norm(g)))
        rhs.append(lin.h[j])
    A_eq = np.append(np.ones(n), 0.0)[None, :]
    bounds = [(lin.lower[i], lin.upper[i]) for i in range(n)] + [(0, None)]
    res = linprog(
        np.append(np.zeros(n), -1.0),
        A_ub=np.array(rows) if rows else None,
        b_ub=np.array(rhs) if rhs else None,
        A_eq=A_eq,
        b_eq=[1.0],
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:
        raise InfeasibleConstraintsError(
            "No fully invested portfolio satisfies the weight bounds and sector limits together; "
            "loosen one of them."
        )
    return res.x[:n]


def random_portfolios(
    tickers: list[str],
    constraints: Constraints | None = None,
    n_portfolios: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Random fully invested portfolios that satisfy the constraints.

    Each draw is ``lower + (1 - sum(lower)) d`` with ``d`` from a symmetric Dirichlet
    distribution whose concentration is itself drawn log-uniformly in [0.05, 2] (so that the
    cloud holds concentrated as well as diversified portfolios); a draw that breaks an upper
    bound or a sector limit is pulled straight towards the centre of the feasible set (the
    Chebyshev centre) until it satisfies every constraint. Both steps are vectorised.

    Parameters
    ----------
    tickers : list of str
        Universe, in weight order.
    constraints : Constraints, optional
        Defaults to long-only in [0, 1]. Weight bounds must be finite.
    n_portfolios : int
        Number of portfolios.
    seed : int
        Seed of numpy's random generator (same seed, same portfolios).

    Returns
    -------
    DataFrame (n_portfolios, n_assets)
        Decimal weights, each row summing to 1 and within every constraint.

    Raises
    ------
    InfeasibleConstraintsError
        When no portfolio satisfies the constraints.
    OptimizationError
        When a weight bound is infinite or ``n_portfolios < 1``.

    References
    ----------
    Kritzman & Page (2003) use random portfolios to picture the feasible set; the
    Dirichlet distribution is the standard prior on the simplex.
    """
    if n_portfolios < 1:
        raise OptimizationError("Ask for at least one random portfolio.")
    constraints = constraints or Constraints()
    lin = constraints.linear_form(list(tickers))
    lo, up = np.asarray(lin.lower, float), np.asarray(lin.upper, float)
    if not (np.isfinite(lo).all() and np.isfinite(up).all()):
        raise OptimizationError("Random portfolios need finite minimum and maximum weights.")
    n = len(tickers)
    centre = _chebyshev_centre(lin)
    rng = np.random.default_rng(seed)
    alpha = np.exp(rng.uniform(np.log(0.05), np.log(2.0), size=(n_portfolios, 1)))
    g = rng.standard_gamma(np.broadcast_to(alpha, (n_portfolios, n)))
    g_sum = g.sum(axis=1, keepdims=True)
    d = np.divide(g, g_sum, out=np.full_like(g, 1.0 / n), where=g_sum > 0)
    W = lo + (1.0 - lo.sum()) * d
    # Largest theta in [0, 1] with centre + theta (W - centre) inside every half-space.
    D = W - centre
    C = (
        np.vstack([np.eye(n), -np.eye(n), lin.G])
        if len(lin.h)
        else np.vstack([np.eye(n), -np.eye(n)])
    )
    slack = np.concatenate([up, -lo, lin.h]) - C @ centre
    step = D @ C.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(step > 1e-15, np.maximum(slack, 0.0) / step, np.inf)
    theta = np.minimum(ratio.min(axis=1), 1.0)
    W = centre + theta[:, None] * D
    W = np.clip(W, lo, up)
    return pd.DataFrame(W, columns=list(tickers))
