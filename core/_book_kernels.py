r"""Compiled inner steps of :mod:`core.book_active_set` (see its module docstring).

Conventions
-----------
Arrays only, C-contiguous float64 unless said otherwise, as :class:`core.book_active_set._Engine`
holds them. ``P`` is the engine's tuple of constants (see ``_Engine.__init__``): ``(S, e, kappa,
w0, lo, hi, lo_in, hi_in, c0, Sc0, G, h, row_sign, equal, bench, m, turnover, emax)``.
The working set ``J`` is an int64 array with room for every row, of which the first ``nJ``
entries count, in the order they joined (the KKT system's row order). The state ``w``,
``free`` (bool) and ``side`` (+1 buying, -1 selling, 0 fixed) is changed in place. Status
codes: :data:`OK`, :data:`DECLINE` (hand the problem on), :data:`PRIMAL` (a feasible point with
a few changes left, for the primal method).

This module imports numba, and only :mod:`core.book_active_set` imports it, lazily, when the
engine first runs: the dashboard's and the command line's start do not pay for it.

References
----------
Nocedal & Wright (2006), "Numerical Optimization", 2nd ed., ch. 16.5; Hintermueller, Ito &
Kunisch (2003), "The primal-dual active set strategy as a semismooth Newton method", SIAM
Journal on Optimization 13(3); numba documentation, "Notes on caching".
"""

from __future__ import annotations

import numpy as np
from numba import njit

OK, DECLINE, PRIMAL = 0, 1, 2


def _compiled(fn):
    """``njit`` with the compiled code cached beside the source (core/__pycache__).

    Where no cache folder is writable numba refuses ``cache=True`` when the function is
    decorated; the kernels are then compiled in memory once per process instead.
    """
    try:
        return njit(cache=True)(fn)
    except RuntimeError:
        return njit(fn)


# Explicit loops throughout, no numpy array expressions: each array expression makes numba
# compile its generic implementation on first use, which took most of a minute here for
# these kernels; loops compile in a fraction of that and run as fast at these sizes.


def _compiled_sums(fn):
    """As :func:`_compiled`, with sums reassociated so that LLVM vectorises them.

    The matrix-vector products are most of the arithmetic (the covariance times a weight
    vector several times a step); summed in order they run at one add per few cycles. Only
    reassociation and fused multiply-adds are allowed: no assumption about NaN or infinity.
    """
    flags = {"reassoc", "contract"}
    try:
        return njit(cache=True, fastmath=flags)(fn)
    except RuntimeError:
        return njit(fastmath=flags)(fn)


@_compiled_sums
def _dot(x, y):
    s = 0.0
    for i in range(x.size):
        s += x[i] * y[i]
    return s


@_compiled_sums
def _matvec(S, x):
    n = S.shape[0]
    out = np.empty(n)
    for i in range(n):
        s = 0.0
        for k in range(x.size):
            s += S[i, k] * x[k]
        out[i] = s
    return out


@_compiled
def gradient(P, w):
    """``Sigma (w - c)``.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    w : ndarray (n_assets,)
        Decimal weights.

    Returns
    -------
    ndarray (n_assets,)
        ``Sigma (w - c)``, ``c`` the benchmark weights (0 without one), per period as ``Sigma``.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    S, c0, bench = P[0], P[8], P[14]
    if not bench:
        return _matvec(S, w)
    x = np.empty(w.size)
    for i in range(w.size):
        x[i] = w[i] - c0[i]
    return _matvec(S, x)


@_compiled
def _fixed(w, free):
    """The weights with the free ones at 0."""
    out = np.empty(w.size)
    for i in range(w.size):
        out[i] = 0.0 if free[i] else w[i]
    return out


@_compiled
def _free_assets(free):
    nF = 0
    for i in range(free.size):
        nF += free[i]
    F = np.empty(nF, dtype=np.int64)
    q = 0
    for i in range(free.size):
        if free[i]:
            F[q] = i
            q += 1
    return F


@_compiled
def rows_on(P, F, fixed_w, side, J, nJ):
    """Binding rows on the free assets ``F``, and their right-hand sides less the fixed part.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    F : ndarray of int64 (n_free,)
        Indices of the free assets.
    fixed_w : ndarray (n_assets,)
        The weights with the free ones at 0.
    side : ndarray (n_assets,)
        +1 buying, -1 selling, 0 fixed, per asset.
    J : ndarray of int64 (n_rows,)
        The working set (its first ``nJ`` entries count).
    nJ : int
        Rows in the working set.

    Returns
    -------
    tuple of ndarray
        ``A`` (nJ, n_free), the rows on ``F``, and ``beta`` (nJ,), their right-hand sides.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    w0, G, h, row_sign, m, turnover = P[3], P[10], P[11], P[12], P[15], P[16]
    nF = F.size
    A = np.empty((nJ, nF))
    beta = np.empty(nJ)
    for k in range(nJ):
        j = J[k]
        if j >= m:  # the turnover row: the fixed assets' trades are constants
            moved = 0.0
            for i in range(fixed_w.size):
                moved += abs(fixed_w[i] - w0[i])
            held = 0.0
            for q in range(nF):
                i = F[q]
                A[k, q] = 0.5 * side[i]
                moved -= abs(w0[i])
                held += side[i] * w0[i]
            beta[k] = turnover - 0.5 * moved + 0.5 * held
        elif row_sign[j] != 0.0:  # the budget and cash rows: +-1 everywhere
            total = 0.0
            for i in range(fixed_w.size):
                total += fixed_w[i]
            for q in range(nF):
                A[k, q] = row_sign[j]
            beta[k] = h[j] - row_sign[j] * total
        else:
            for q in range(nF):
                A[k, q] = G[j, F[q]]
            total = 0.0
            for i in range(fixed_w.size):
                total += G[j, i] * fixed_w[i]
            beta[k] = h[j] - total
    return A, beta


@_compiled
def _clash(P, J, F, side, beta):
    """Whether the two binding rows are the budget and the turnover, inconsistent on F.

    With every free asset on one side the turnover row is half the budget row on them;
    clearly different right-hand sides then leave no solution, and the latest inequality
    leaves the working set, as the general test (a least-squares solve) would decide at a
    much higher cost.
    """
    row_sign, m = P[12], P[15]
    if not (J[0] < m and row_sign[J[0]] != 0.0 and J[1] == m):
        return False
    s0 = side[F[0]]
    for q in range(F.size):
        if side[F[q]] != s0:
            return False
    return abs(beta[1] - 0.5 * s0 * row_sign[J[0]] * beta[0]) > 1e-6


@_compiled
def _residual_ok(K, X, rhs):
    """``|K X - rhs| <= 1e-9 max(1, |rhs|)`` elementwise (and X finite)."""
    N, cols = rhs.shape
    scale = 1.0
    for r in range(N):
        for c in range(cols):
            scale = max(scale, abs(rhs[r, c]))
    for r in range(N):
        for c in range(cols):
            s = -rhs[r, c]
            for q in range(N):
                s += K[r, q] * X[q, c]
            if not abs(s) <= 1e-9 * scale:  # also False for NaN
                return False
    return True


@_compiled
def _lu_solve(K, rhs):
    """``K X = rhs`` by Gaussian elimination with partial pivoting (as LAPACK's dgesv).

    Returns ``(ok, X)``; ``ok`` is False at an exactly zero pivot (a singular ``K``). The
    systems are small (free assets plus binding rows), where a loop beats a library call.
    """
    N = K.shape[0]
    A = K.copy()
    B = rhs.copy()
    cols = B.shape[1]
    for c in range(N):
        p = c
        big = abs(A[c, c])
        for r in range(c + 1, N):
            if abs(A[r, c]) > big:
                big, p = abs(A[r, c]), r
        if big == 0.0:
            return False, B
        if p != c:
            for q in range(N):
                A[c, q], A[p, q] = A[p, q], A[c, q]
            for q in range(cols):
                B[c, q], B[p, q] = B[p, q], B[c, q]
        piv = A[c, c]
        for r in range(c + 1, N):
            f = A[r, c] / piv
            if f != 0.0:
                for q in range(c + 1, N):
                    A[r, q] -= f * A[c, q]
                for q in range(cols):
                    B[r, q] -= f * B[c, q]
    for c in range(N - 1, -1, -1):
        for q in range(cols):
            acc = B[c, q]
            for r in range(c + 1, N):
                acc -= A[c, r] * B[r, q]
            B[c, q] = acc / A[c, c]
    return True, B


@_compiled
def _dependence(A):
    """Rank of the rows of ``A`` and, for the first row dependent on those before it, ``v``.

    Gram-Schmidt on the rows with the coefficients kept: that row minus its projection on
    the earlier rows vanishes (below 1e-9 of the largest row norm), so ``v`` (unit norm,
    ``A' v = 0``) spans the null space of ``A'`` when exactly one row is dependent.
    Returns ``(v, k, rank)``, ``k = -1`` when the rows are independent.
    """
    nJ, nF = A.shape
    Q = np.zeros((nJ, nF))  # orthonormal basis of the earlier rows
    C = np.zeros((nJ, nJ))  # Q[i] = sum_k C[i, k] A[k]
    top = 0.0
    for k in range(nJ):
        top = max(top, np.sqrt(_dot(A[k], A[k])))
    tol = 1e-9 * max(top, 1e-300)
    rank, k_dep = 0, -1
    v = np.zeros(nJ)
    r = np.empty(nF)
    coef = np.empty(nJ)
    for k in range(nJ):
        for q in range(nF):
            r[q] = A[k, q]
        for q in range(nJ):
            coef[q] = 0.0
        coef[k] = 1.0
        for i in range(rank):
            proj = _dot(Q[i], r)
            for q in range(nF):
                r[q] -= proj * Q[i, q]
            for q in range(nJ):
                coef[q] -= proj * C[i, q]
        norm = np.sqrt(_dot(r, r))
        if norm > tol:
            for q in range(nF):
                Q[rank, q] = r[q] / norm
            for q in range(nJ):
                C[rank, q] = coef[q] / norm
            rank += 1
        elif k_dep < 0:
            k_dep = k
            size = np.sqrt(_dot(coef, coef))
            for q in range(nJ):
                v[q] = coef[q] / size
    return v, k_dep, rank


@_compiled
def _split(X, nF):
    """The columns of a KKT solution: ``a, d`` (weights) and ``l0, l1`` (multipliers)."""
    nJ = X.shape[0] - nF
    a, d, l0, l1 = np.empty(nF), np.empty(nF), np.empty(nJ), np.empty(nJ)
    for q in range(nF):
        a[q], d[q] = X[q, 0], X[q, 1]
    for k in range(nJ):
        l0[k], l1[k] = X[nF + k, 0], X[nF + k, 1]
    return a, d, l0, l1


@_compiled
def eqp(P, w, free, side, J, nJ, relax):
    """The working set's solution: ``w_F = a + t d`` and multipliers ``l0 + t l1``.

    Returns ``(status, F, a, d, l0, l1, null, nJ)``; ``null`` spans the null space of the
    binding rows on ``F`` when they are dependent (empty otherwise), and rows ``J`` may leave
    the working set (``relax``: the primal-dual steps only) when they are inconsistent.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    w : ndarray (n_assets,)
        Decimal weights.
    free : ndarray of bool (n_assets,)
        Which weights are free (not at a bound or at the holding).
    side : ndarray (n_assets,)
        +1 buying, -1 selling, 0 fixed, per asset.
    J : ndarray of int64 (n_rows,)
        The working set (its first ``nJ`` entries count).
    nJ : int
        Rows in the working set.
    relax : bool
        Let inconsistent rows leave the working set (primal-dual steps only).

    Returns
    -------
    tuple
        ``(status, F, a, d, l0, l1, null, nJ)``: status code, the free assets, the path
        ``w_F = a + t d`` (n_free,), multipliers ``l0 + t l1`` (nJ,), a null-space basis
        (nJ, k) and the working set's new size.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    S, e, kappa, Sc0, bench, equal = P[0], P[1], P[2], P[9], P[14], P[13]
    F = _free_assets(free)
    nF = F.size
    none = np.zeros(0)
    if nF == 0:
        return (DECLINE if nJ else OK), F, none, none, none, none, none, nJ
    fixed_w = _fixed(w, free)
    SFw = np.empty(nF)
    for q in range(nF):
        s = 0.0
        for i in range(fixed_w.size):
            s += S[F[q], i] * fixed_w[i]
        SFw[q] = s
    while True:
        A, beta = rows_on(P, F, fixed_w, side, J, nJ)
        if relax and nJ == 2 and _clash(P, J, F, side, beta):
            nJ = 1  # the latest inequality of the two (the turnover row) leaves
            continue
        # The KKT system [[S_FF, A'], [A, 0]] [w; lam] = [r0 + t r1; beta] in one solve.
        N = nF + nJ
        K = np.zeros((N, N))
        rhs = np.zeros((N, 2))
        for q in range(nF):
            i = F[q]
            for r in range(nF):
                K[q, r] = S[i, F[r]]
            rhs[q, 0] = (Sc0[i] - SFw[q]) if bench else -SFw[q]
            rhs[q, 1] = e[i] - side[i] * kappa[i]
        for k in range(nJ):
            rhs[nF + k, 0] = beta[k]
            for q in range(nF):
                K[nF + k, q] = A[k, q]
                K[q, nF + k] = A[k, q]
        ok, X = _lu_solve(K, rhs)
        if ok and _residual_ok(K, X, rhs):
            a, d, l0, l1 = _split(X, nF)
            return OK, F, a, d, l0, l1, none, nJ
        # Binding rows that coincide on the free assets (all of them buying, say, with the
        # budget and the turnover rows both binding): the multipliers are unique only up to
        # the null space ``v`` of A', which the pricing then uses (see `multipliers`). With one
        # dependent row, that row left out gives a solution; the one of least norm (as a
        # least-squares solver returns it) has multipliers orthogonal to ``v``.
        if nJ == 0:
            return DECLINE, F, none, none, none, none, none, nJ
        v, k_dep, rank = _dependence(A)
        if nJ - rank != 1:
            return DECLINE, F, none, none, none, none, none, nJ
        keep = np.empty(N - 1, dtype=np.int64)
        q = 0
        for r in range(N):
            if r != nF + k_dep:
                keep[q] = r
                q += 1
        K_red = np.empty((N - 1, N - 1))
        rhs_red = np.empty((N - 1, 2))
        for q in range(N - 1):
            for r in range(N - 1):
                K_red[q, r] = K[keep[q], keep[r]]
            rhs_red[q, 0], rhs_red[q, 1] = rhs[keep[q], 0], rhs[keep[q], 1]
        ok, X_red = _lu_solve(K_red, rhs_red)
        if ok:
            X = np.zeros((N, 2))
            for q in range(N - 1):
                X[keep[q], 0], X[keep[q], 1] = X_red[q, 0], X_red[q, 1]
            for col in range(2):
                along = 0.0
                for k in range(nJ):
                    along += X[nF + k, col] * v[k]
                for k in range(nJ):
                    X[nF + k, col] -= along * v[k]
            if _residual_ok(K, X, rhs):
                a, d, l0, l1 = _split(X, nF)
                return OK, F, a, d, l0, l1, v, nJ
        # Inconsistent rows: leave out the latest inequality of them (primal-dual steps only;
        # the primal method never reaches such a working set).
        later = -1
        for k in range(nJ):
            if not equal[J[k]]:
                later = k
        if not relax or later < 0:
            return DECLINE, F, none, none, none, none, none, nJ
        for k in range(later, nJ - 1):
            J[k] = J[k + 1]
        nJ -= 1


@_compiled
def prices(P, t, lam, J, nJ, g, w):
    """Directional derivatives of the Lagrangian when each fixed asset moves up or down.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    t : float
        The walk's parameter (the weight of expected return against risk).
    lam : ndarray (nJ,)
        Multipliers of the working set's rows.
    J : ndarray of int64 (n_rows,)
        The working set (its first ``nJ`` entries count).
    nJ : int
        Rows in the working set.
    g : ndarray (n_assets,)
        The gradient :func:`gradient` at ``w``.
    w : ndarray (n_assets,)
        Decimal weights.

    Returns
    -------
    tuple of ndarray
        ``up`` and ``down`` (n_assets,): the Lagrangian's derivative when each weight moves
        up or down (decimal objective per unit of weight); negative means the move pays.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    e, kappa, w0, G, row_sign, m = P[1], P[2], P[3], P[10], P[12], P[15]
    n = w.size
    base = np.empty(n)
    for i in range(n):
        base[i] = g[i] - t * e[i]
    lam_t = 0.0
    for k in range(nJ):
        j = J[k]
        if j >= m:
            lam_t = lam[k]
        elif row_sign[j] != 0.0:
            for i in range(n):
                base[i] += lam[k] * row_sign[j]
        else:
            for i in range(n):
                base[i] += lam[k] * G[j, i]
    up = np.empty(n)
    down = np.empty(n)
    for i in range(n):
        c = t * kappa[i] + 0.5 * lam_t
        up[i] = base[i] + (c if w[i] >= w0[i] else -c)
        down[i] = (c if w[i] <= w0[i] else -c) - base[i]
    return up, down


@_compiled
def multipliers(P, t, l0, l1, null, w, free, J, nJ):
    """Multipliers at ``t``; with dependent binding rows, the most dual-feasible choice.

    ``lambda = l + theta v`` for ``v`` spanning the null space of ``A_F'``: every sign
    condition (inequality multipliers, directional derivatives of the fixed assets) is affine
    in ``theta``; the one picked is the nearest to 0 that meets them all, or the middle of the
    crossing bounds when none does.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    t : float
        The walk's parameter (the weight of expected return against risk).
    l0, l1 : ndarray (nJ,)
        Multipliers ``l0 + t l1`` from :func:`eqp`.
    null : ndarray (nJ, k)
        Null-space basis of the binding rows (k = 0 when independent).
    w : ndarray (n_assets,)
        Decimal weights.
    free : ndarray of bool (n_assets,)
        Which weights are free (not at a bound or at the holding).
    J : ndarray of int64 (n_rows,)
        The working set (its first ``nJ`` entries count).
    nJ : int
        Rows in the working set.

    Returns
    -------
    ndarray (nJ,)
        The multipliers at ``t``.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    lam = np.empty(nJ)
    for k in range(nJ):
        lam[k] = l0[k] + t * l1[k]
    if null.size == 0:
        return lam
    lo_in, hi_in, equal = P[6], P[7], P[13]
    g = gradient(P, w)
    up0, down0 = prices(P, t, lam, J, nJ, g, w)
    moved = np.empty(nJ)
    for k in range(nJ):
        moved[k] = lam[k] + null[k]
    up1, down1 = prices(P, t, moved, J, nJ, g, w)
    low, high = -np.inf, np.inf
    for i in range(w.size):
        if free[i]:
            continue
        if w[i] < hi_in[i]:
            c, s = up0[i], up1[i] - up0[i]
            if s > 1e-14:
                low = max(low, -c / s)
            elif s < -1e-14:
                high = min(high, -c / s)
        if w[i] > lo_in[i]:
            c, s = down0[i], down1[i] - down0[i]
            if s > 1e-14:
                low = max(low, -c / s)
            elif s < -1e-14:
                high = min(high, -c / s)
    for k in range(nJ):
        if not equal[J[k]]:
            c, s = lam[k], null[k]
            if s > 1e-14:
                low = max(low, -c / s)
            elif s < -1e-14:
                high = min(high, -c / s)
    theta = min(max(0.0, low), high) if low <= high else 0.5 * (low + high)
    for k in range(nJ):
        lam[k] += theta * null[k]
    return lam


@_compiled
def slack_rows(P, w):
    """``h - G w`` for every linear row, then the turnover row's slack.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    w : ndarray (n_assets,)
        Decimal weights.

    Returns
    -------
    ndarray (n_rows,)
        ``h - G w`` per linear row, then the turnover row's slack (decimal weight).

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    w0, G, h, m, turnover = P[3], P[10], P[11], P[15], P[16]
    has_turnover = not np.isnan(turnover)
    out = np.empty(m + (1 if has_turnover else 0))
    for j in range(m):
        s = h[j]
        for i in range(w.size):
            s -= G[j, i] * w[i]
        out[j] = s
    if has_turnover:
        moved = 0.0
        for i in range(w.size):
            moved += abs(w[i] - w0[i])
        out[m] = turnover - 0.5 * moved
    return out


@_compiled
def row_times(P, F, side, step):
    """Each row's rate of change along a step ``step`` of the free weights ``F``.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    F : ndarray of int64 (n_free,)
        Indices of the free assets.
    side : ndarray (n_assets,)
        +1 buying, -1 selling, 0 fixed, per asset.
    step : ndarray (n_free,)
        A direction of the free weights.

    Returns
    -------
    ndarray (n_rows,)
        Each row's change per unit of ``step``.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    G, m, turnover = P[10], P[15], P[16]
    has_turnover = not np.isnan(turnover)
    out = np.zeros(m + (1 if has_turnover else 0))
    for j in range(m):
        for q in range(F.size):
            out[j] += G[j, F[q]] * step[q]
    if has_turnover:
        for q in range(F.size):
            out[m] += 0.5 * side[F[q]] * step[q]
    return out


@_compiled
def pieces(P, F, side):
    """The range of each free weight on its side of the holding.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    F : ndarray of int64 (n_free,)
        Indices of the free assets.
    side : ndarray (n_assets,)
        +1 buying, -1 selling, 0 fixed, per asset.

    Returns
    -------
    tuple of ndarray
        Lower and upper limits (n_free,) of each free weight on its side of ``w0``.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    w0, lo, hi = P[3], P[4], P[5]
    lo_F = np.empty(F.size)
    hi_F = np.empty(F.size)
    for q in range(F.size):
        i = F[q]
        if side[i] > 0:
            lo_F[q], hi_F[q] = w0[i], hi[i]
        else:
            lo_F[q], hi_F[q] = lo[i], w0[i]
    return lo_F, hi_F


@_compiled
def ratio_parts(P, W0, free, side):
    """``A`` and ``(w - c)' Sigma (w - c)`` at ``W0`` with the costs of the current sides.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    W0 : ndarray (n_assets,)
        Weights at the start of a segment.
    free : ndarray of bool (n_assets,)
        Which weights are free (not at a bound or at the holding).
    side : ndarray (n_assets,)
        +1 buying, -1 selling, 0 fixed, per asset.

    Returns
    -------
    tuple of float
        ``A``, net expected excess return less amortised costs, and
        ``(w - c)' Sigma (w - c)``, the (active) variance, both per period as the inputs.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    S, e, kappa, w0, c0 = P[0], P[1], P[2], P[3], P[8]
    A = 0.0
    x = np.empty(W0.size)
    for i in range(W0.size):
        trade = side[i] * (W0[i] - w0[i]) if free[i] else abs(W0[i] - w0[i])
        A += e[i] * (W0[i] - c0[i]) - kappa[i] * trade
        x[i] = W0[i] - c0[i]
    return A, _dot(x, _matvec(S, x))


@_compiled
def segment_start(w, free, F, a):
    """``W0`` of the working set's path ``w(t) = W0 + t W1`` (the fixed weights, then ``a``).

    Parameters
    ----------
    w : ndarray (n_assets,)
        Decimal weights.
    free : ndarray of bool (n_assets,)
        Which weights are free (not at a bound or at the holding).
    F : ndarray of int64 (n_free,)
        Indices of the free assets.
    a : ndarray (n_free,)
        The free weights' values at ``t = 0``.

    Returns
    -------
    ndarray (n_assets,)
        ``W0``: the fixed weights, with ``a`` in the free places.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    W0 = _fixed(w, free)
    for q in range(F.size):
        W0[F[q]] = a[q]
    return W0


@_compiled
def price_scale(P, t, g):
    """Multipliers and prices closer to 0 than this count as 0.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    t : float
        The walk's parameter (the weight of expected return against risk).
    g : ndarray (n_assets,)
        The gradient.

    Returns
    -------
    float
        The tolerance for multipliers and prices.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    top = 1.0
    for i in range(g.size):
        top = max(top, abs(g[i]))
    return 1e-11 * max(top, t * P[17])


@_compiled
def valid_at(P, t, F, a, d, l0, l1, null, w_state, free, side, J, nJ):
    """Whether the working set is optimal at ``t`` too (primal and dual feasible).

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    t : float
        The walk's parameter (the weight of expected return against risk).
    F : ndarray of int64 (n_free,)
        Indices of the free assets.
    a, d : ndarray (n_free,)
        The path ``w_F = a + t d``.
    l0, l1 : ndarray (nJ,)
        Multipliers ``l0 + t l1``.
    null : ndarray (nJ, k)
        Null-space basis of the binding rows.
    w_state : ndarray (n_assets,)
        The current weights.
    free : ndarray of bool (n_assets,)
        Which weights are free (not at a bound or at the holding).
    side : ndarray (n_assets,)
        +1 buying, -1 selling, 0 fixed, per asset.
    J : ndarray of int64 (n_rows,)
        The working set (its first ``nJ`` entries count).
    nJ : int
        Rows in the working set.

    Returns
    -------
    bool
        True if primal and dual feasible at ``t``.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    lo_in, hi_in, equal = P[6], P[7], P[13]
    lo_F, hi_F = pieces(P, F, side)
    w = w_state.copy()
    for q in range(F.size):
        wF = a[q] + t * d[q]
        if wF < lo_F[q] - 1e-13 or wF > hi_F[q] + 1e-13:
            return False
        w[F[q]] = wF
    slack = slack_rows(P, w)
    for k in range(nJ):
        slack[J[k]] = 0.0
    for j in range(slack.size):
        if slack[j] < -1e-13:
            return False
    lam = multipliers(P, t, l0, l1, null, w_state, free, J, nJ)
    for k in range(nJ):
        if not equal[J[k]] and lam[k] < -1e-12:
            return False
    g = gradient(P, w)
    up, down = prices(P, t, lam, J, nJ, g, w)
    scale = price_scale(P, t, g)
    for i in range(w.size):
        if free[i]:
            continue
        if (w[i] < hi_in[i] and up[i] < -scale) or (w[i] > lo_in[i] and down[i] < -scale):
            return False
    return True


@_compiled
def primal_dual(P, t, cap_factor, ratio, w, free, side, J, nJ, feasible, steps, few, cap0):
    """Primal-dual active-set steps (Hintermueller, Ito & Kunisch 2003) from the state.

    Every violated condition changes its state at once (the releases capped at
    ``max(cap0, cap_factor x free assets)``); with ``ratio``, ``t`` moves at each step to the
    root of ``phi(t) = t A(a) - Q(a)`` on its working set. At a feasible point the state is
    copied into ``feasible = (w, free, side, J, nJ)`` (nJ an array of one). Returns
    ``(status, t, F, a, d, l0, l1, null, nJ, steps taken)``: :data:`OK` at the optimum of the
    working set, :data:`PRIMAL` at a feasible point with at most ``few`` changes left,
    :data:`DECLINE` after a repeated state, inconsistent rows or ``steps`` steps.

    Parameters
    ----------
    P : tuple
        The engine's constants (module docstring).
    t : float
        The walk's parameter (the weight of expected return against risk).
    cap_factor : float
        Releases per step at most ``max(cap0, cap_factor x free assets)``.
    ratio : bool
        Move ``t`` to the ratio objective's root at each step (max Sharpe / information ratio).
    w : ndarray (n_assets,)
        Decimal weights.
    free : ndarray of bool (n_assets,)
        Which weights are free (not at a bound or at the holding).
    side : ndarray (n_assets,)
        +1 buying, -1 selling, 0 fixed, per asset.
    J : ndarray of int64 (n_rows,)
        The working set (its first ``nJ`` entries count).
    nJ : int
        Rows in the working set at the start.
    feasible : tuple
        Filled in place with the last feasible state.
    steps : int
        Most steps.
    few : int
        Changes left at which a feasible point goes to the primal method.
    cap0 : int
        Least releases allowed per step.

    Raises
    ------
    Nothing: failures are status codes or NaN (compiled code).

    References
    ----------
    See the module docstring.
    """
    w0, lo_in, hi_in, equal = P[3], P[6], P[7], P[13]
    n = w.size
    n_rows = P[15] + (0 if np.isnan(P[16]) else 1)
    f_w, f_free, f_side, f_J, f_nJ = feasible
    seen_free = np.zeros((steps, n), dtype=np.bool_)
    seen_side = np.zeros((steps, n))
    seen_fixed = np.zeros((steps, n))
    seen_rows = np.zeros((steps, n_rows), dtype=np.bool_)
    worst = np.empty(n)
    release_up = np.zeros(n, dtype=np.bool_)
    release_down = np.zeros(n, dtype=np.bool_)
    drop = np.zeros(n_rows, dtype=np.bool_)
    in_rows = np.zeros(n_rows, dtype=np.bool_)
    none = np.zeros(0)
    # True, but known only at run time: a literal True here would type eqp's ``relax`` as
    # Literal[bool] and compile eqp a second time beside the driver's (bool) signature.
    relax = n >= 0
    for it in range(steps):
        st, F, a, d, l0, l1, null, nJ = eqp(P, w, free, side, J, nJ, relax)
        if st != OK:
            return DECLINE, t, F, a, d, l0, l1, null, nJ, it + 1
        if ratio:  # the root of phi(t) = t A(a) - Q(a) on this working set
            A0, Q0 = ratio_parts(P, segment_start(w, free, F, a), free, side)
            if not (A0 > 1e-12 and Q0 > 0):
                return DECLINE, t, F, a, d, l0, l1, null, nJ, it + 1
            t = Q0 / A0
        nF = F.size
        wF = np.empty(nF)
        for q in range(nF):
            wF[q] = a[q] + t * d[q]
            w[F[q]] = wF[q]
        lam = multipliers(P, t, l0, l1, null, w, free, J, nJ)
        g = gradient(P, w)
        up, down = prices(P, t, lam, J, nJ, g, w)
        scale = price_scale(P, t, g)
        n_release = 0
        for i in range(n):
            worst[i] = np.inf
            release_up[i] = release_down[i] = False
            if free[i]:
                continue
            u = up[i] if w[i] < hi_in[i] else np.inf
            v = down[i] if w[i] > lo_in[i] else np.inf
            worst[i] = min(u, v)
            if u < -scale and u <= v:
                release_up[i] = True
                n_release += 1
            elif v < -scale:
                release_down[i] = True
                n_release += 1
        lo_F, hi_F = pieces(P, F, side)
        primal = -np.inf
        for q in range(nF):
            primal = max(primal, lo_F[q] - wF[q], wF[q] - hi_F[q])
        slack = slack_rows(P, w)
        for k in range(nJ):
            slack[J[k]] = np.inf  # only the rows outside the working set can be violated
        for j in range(n_rows):
            primal = max(primal, -slack[j])
            drop[j] = False
        n_drop = 0
        for k in range(nJ):
            if not equal[J[k]] and lam[k] < -scale:
                drop[J[k]] = True
                n_drop += 1
        if primal <= 1e-13:  # a feasible point: keep it
            for i in range(n):
                f_w[i], f_free[i], f_side[i] = w[i], free[i], side[i]
            for k in range(nJ):
                f_J[k] = J[k]
            f_nJ[0] = nJ
            if n_release == 0 and n_drop == 0:
                return OK, t, F, a, d, l0, l1, null, nJ, it + 1
            if n_release + n_drop <= few:
                return PRIMAL, t, F, a, d, l0, l1, null, nJ, it + 1
        # Release the most negative few only: freeing every asset at once overshoots the
        # turnover budget, and the multipliers then swing from step to step.
        cap = max(cap0, int(cap_factor * nF))
        while n_release > cap:  # keep the cap most negative: drop the least negative
            k_max, v_max = -1, -np.inf
            for i in range(n):
                if (release_up[i] or release_down[i]) and worst[i] > v_max:
                    k_max, v_max = i, worst[i]
            release_up[k_max] = release_down[k_max] = False
            n_release -= 1
        for q in range(nF):
            i = F[q]
            if lo_F[q] - wF[q] > 1e-13:
                w[i], free[i], side[i] = lo_F[q], False, 0.0
            elif wF[q] - hi_F[q] > 1e-13:
                w[i], free[i], side[i] = hi_F[q], False, 0.0
        for i in range(n):
            if release_up[i]:
                side[i] = 1.0 if w[i] >= w0[i] else -1.0
                free[i] = True
            elif release_down[i]:
                side[i] = -1.0 if w[i] <= w0[i] else 1.0
                free[i] = True
        kept = 0
        for k in range(nJ):
            if not drop[J[k]]:
                J[kept] = J[k]
                kept += 1
        for j in range(n_rows):
            in_rows[j] = False
        for k in range(kept):
            in_rows[J[k]] = True
        for j in range(n_rows):
            if slack[j] < -1e-13 and not in_rows[j]:
                J[kept] = j
                kept += 1
        nJ = kept
        # A state seen before: the steps cycle.
        for k in range(nJ):
            seen_rows[it, J[k]] = True
        for i in range(n):
            seen_free[it, i] = free[i]
            seen_side[it, i] = side[i]
            seen_fixed[it, i] = 0.0 if free[i] else w[i]
        for past in range(it):
            same = True
            for i in range(n):
                if (seen_free[past, i] != seen_free[it, i] or seen_side[past, i] != seen_side[it, i]
                        or seen_fixed[past, i] != seen_fixed[it, i]):  # fmt: skip
                    same = False
                    break
            if same:
                for j in range(n_rows):
                    if seen_rows[past, j] != seen_rows[it, j]:
                        same = False
                        break
            if same:
                return DECLINE, t, F, none, none, none, none, none, nJ, it + 1
    return DECLINE, t, np.zeros(0, dtype=np.int64), none, none, none, none, none, nJ, steps
