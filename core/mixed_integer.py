r"""Mixed-integer portfolio optimisation: holdings count, minimum position, whole shares, rules.

Conventions
-----------
As :mod:`core.optimization`: annualised decimal expected returns and covariance, decimal
weights of the book's value, cash ``1 - sum(w)`` earning the risk-free rate. Long-only.
Whole shares: ``w_i = n_i P_i / C`` with ``n_i`` a whole number of shares, ``P_i`` the latest
price and ``C`` the capital; the leftover cash is at most one share of the dearest asset (or the
cash bounds' maximum, if higher), so rounding the continuous optimum afterwards is always one of
the portfolios considered.

Method
------
The rules of :mod:`core.compliance` write their own constraints on a :class:`Model`: binaries
``z_i`` mark the assets held (``w_i <= u_i z_i``, ``w_i >= m z_i``, ``sum z_i <= N``), binaries
per issuer mark those allowed above a threshold. The programs are mixed-integer second-order
cone programs, solved by SCIP through cvxpy (Achterberg 2009; Bestuzheva et al. 2021) to a
relative gap of 1e-7, or stopped at a time limit with the best portfolio found and its proven
gap (SCIP's dual bound). Once the binaries are known the continuous problem on that support is
solved again by Clarabel with tight tolerances (polishing), so the weights are exact to about
1e-9 on the support found.

- Maximum Sharpe ratio: the Charnes-Cooper transformation ``y = kappa w``, ``kappa >= 0``,
  minimise ``||F y||`` subject to ``(mu - r_f)' y - costs = 1`` and every constraint
  homogenised (right-hand sides times ``kappa``); the optimum is ``1 / S*``, so SCIP's dual
  bound ``L`` proves ``S* <= 1 / L``. A binary times ``kappa`` is linearised exactly
  (McCormick: ``t <= K z``, ``t <= kappa``, ``t >= kappa - K (1 - z)``) with the proven bound
  ``K = 1 / (S_0 sigma_0)``: ``S_0`` the Sharpe ratio of a feasible portfolio (the maximum
  return one, a mixed-integer linear program solved by HiGHS) and ``sigma_0`` the lowest
  volatility of the continuous relaxation, since ``kappa* = 1 / (S* sigma*)``.
- With whole shares the transformation would multiply integers by ``kappa``; the maximum Sharpe
  ratio is then found by Dinkelbach's method (1967): ``s_{k+1}`` is the Sharpe ratio of the
  maximiser of ``excess(w) - s_k sigma(w)``; it stops when that maximum is proven at most 0
  (then ``s_k`` is optimal), each step a mixed-integer program solved to optimality.
- Minimum volatility, a target return, a target volatility and maximum utility are direct
  programs (the volatility as a cone ``||F w||``, ``F' F = Sigma``).

Time limit
----------
``Constraints.time_limit`` (default :data:`DEFAULT_TIME_LIMIT`, 5 s) bounds the whole call, from
its start: every mixed-integer solve is given what is left of that deadline once cvxpy has
compiled the problem and built the solver's model (SCIP's and HiGHS's own clocks start only
then), less the time the polishing solve after it will take (1.25 x the longest continuous
solve measured earlier in the call) and a margin for SCIP to notice its limit (0.05 s). The
continuous steps before the branch-and-bound (a feasible portfolio, the support heuristic, the
volatility floor: about 0.3-0.6 s at 100 assets) are not cut short, and SCIP checks its clock
between steps only, so a call may still end a little after a short limit on a loaded machine
(measured on two cores at a load average of about 5: within 0.2 s of limits of 1, 2 and 5 s). A
call out of time returns the best feasible portfolio found (the heuristic's, or the
highest-return one) with an infinite gap when no bound was proven.

References
----------
Charnes & Cooper (1962), "Programming with linear fractional functionals", Naval Research
Logistics Quarterly 9; Dinkelbach (1967), "On nonlinear fractional programming", Management
Science 13(7); Bienstock (1996), "Computational study of a family of mixed-integer quadratic
programming problems", Mathematical Programming 74; Cornuejols & Tutuncu (2007), "Optimization
Methods in Finance", ch. 8 and 11; Bestuzheva et al. (2021), "The SCIP Optimization Suite 8.0".
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import compliance
from core.exceptions import BallastError, InfeasibleConstraintsError, OptimizationError

__all__ = ["DEFAULT_TIME_LIMIT", "GAP", "Model", "Progress", "applies", "optimize", "reporting"]

#: Default time limit of a mixed-integer solve, seconds.
DEFAULT_TIME_LIMIT = 5.0
#: Relative gap at which a solve counts as optimal.
GAP = 1e-7
#: SCIP's feasibility tolerance (its default 1e-6 lets positions exceed a limit by 1e-6).
FEASTOL = 1e-9


def applies(constraints: Any) -> bool:
    """Whether ``constraints`` need the mixed-integer optimiser.

    Parameters
    ----------
    constraints : core.constraints.Constraints

    Returns
    -------
    bool
        True with a maximum number of holdings, a minimum position, rules or whole shares.
    """
    return bool(
        getattr(constraints, "max_holdings", None) is not None
        or getattr(constraints, "min_position", None)
        or tuple(getattr(constraints, "rules", ()) or ())
        or getattr(constraints, "whole_shares", None) is not None
    )


@dataclass
class _Spec:
    tickers: list[str]
    mu: np.ndarray
    cov: np.ndarray
    factor: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    G: np.ndarray
    h: np.ndarray
    least: float
    most: float
    w0: np.ndarray
    costs: np.ndarray
    horizon: float
    locked: np.ndarray
    no_buy: np.ndarray
    no_sell: np.ndarray
    max_turnover: float | None
    max_volatility: float | None
    rf: float
    issuer_matrix: np.ndarray
    rules: tuple
    capital: float | None = None
    prices: np.ndarray | None = None

    @property
    def trades(self) -> bool:
        return bool(self.w0.any() or self.costs.any() or self.max_turnover is not None
                    or self.locked.any() or self.no_buy.any() or self.no_sell.any())  # fmt: skip


class Model:
    """A cvxpy model on which rules write their constraints.

    Attributes
    ----------
    w : cvxpy expression (n_assets,)
        Weights (``y = kappa w`` in the homogeneous form of the maximum Sharpe ratio).
    kappa : cvxpy Variable or float
        The Charnes-Cooper scale (1 for direct programs).
    held : cvxpy Variable or ndarray (n_assets,)
        Binary: asset held.
    issuer_matrix : ndarray (n_issuers, n_assets)
        1 where the asset belongs to the issuer.
    constraints : list
        Constraints collected so far.
    """

    def __init__(self, spec: _Spec, homogeneous: bool = False, kappa_max: float = 1.0,
                 fixed: dict | None = None) -> None:  # fmt: skip
        import cvxpy as cp

        n = len(spec.tickers)
        self.spec = spec
        self.fixed = fixed or {}
        self.binaries: dict[Any, Any] = {}
        self.homogeneous = homogeneous
        self.kappa = cp.Variable(nonneg=True) if homogeneous else 1.0
        self.kappa_max = float(kappa_max)
        self.constraints: list = []
        self._scaled: dict[int, Any] = {}
        self._held = None
        self.shares = None
        if spec.capital is not None:
            cap = np.floor(spec.upper * spec.capital / spec.prices + 1e-9)
            self.shares = cp.Variable(n, integer=True)
            self.constraints += [self.shares >= 0, self.shares <= cap]
            self.w = cp.multiply(spec.prices / spec.capital, self.shares)
        else:
            self.w = cp.Variable(n)
        self.issuer_matrix = spec.issuer_matrix

    def binary(self, key: Any, size: int):
        """A binary vector named ``key`` (a constant when the solve fixes it)."""
        import cvxpy as cp

        if key in self.fixed:
            value = np.asarray(self.fixed[key], dtype=float)
            self.binaries[key] = value
            return value
        if key not in self.binaries:
            self.binaries[key] = cp.Variable(size, boolean=True)
        return self.binaries[key]

    @property
    def held(self):
        """Binary per asset: held; links ``w_i <= u_i z_i`` on first use."""
        import cvxpy as cp

        if self._held is None:
            self._held = self.binary("held", len(self.spec.tickers))
            self.constraints.append(self.w <= cp.multiply(self.spec.upper, self.scaled(self._held)))
        return self._held

    def scaled(self, z):
        """``z * kappa`` as an affine expression (exact McCormick linearisation for a binary)."""
        import cvxpy as cp

        if not self.homogeneous:
            return z
        if isinstance(z, np.ndarray):
            return z * self.kappa
        if id(z) not in self._scaled:
            t = cp.Variable(z.shape, nonneg=True)
            K = self.kappa_max
            self.constraints += [t <= K * z, t <= self.kappa, t >= self.kappa - K * (1 - z)]
            self._scaled[id(z)] = t
        return self._scaled[id(z)]


def _build(spec: _Spec, homogeneous: bool = False, kappa_max: float = 1.0,
           fixed: dict | None = None):  # fmt: skip
    """The model with every constraint; returns (model, net excess return, cost term)."""
    import cvxpy as cp

    m = Model(spec, homogeneous, kappa_max, fixed)
    k = m.kappa
    w = m.w
    c = m.constraints
    c += [w >= spec.lower * k, w <= spec.upper * k]
    if len(spec.h):
        c.append(spec.G @ w <= spec.h * k)
    c += [cp.sum(w) >= spec.least * k, cp.sum(w) <= spec.most * k]
    cost = 0.0
    if spec.trades:
        n = len(spec.tickers)
        b, s = cp.Variable(n, nonneg=True), cp.Variable(n, nonneg=True)
        c.append(w - spec.w0 * k == b - s)
        if spec.no_buy.any():
            c.append(b[np.flatnonzero(spec.no_buy)] == 0)
        if spec.no_sell.any():
            c.append(s[np.flatnonzero(spec.no_sell)] == 0)
        if spec.max_turnover is not None:
            c.append(cp.sum(b + s) <= 2 * float(spec.max_turnover) * k)
        if spec.costs.any():
            cost = spec.costs @ (b + s) / spec.horizon
    if spec.max_volatility is not None:
        c.append(cp.norm(spec.factor @ w) <= float(spec.max_volatility) * k)
    for rule in spec.rules:
        c += rule.constrain(m)
    excess = (spec.mu - spec.rf) @ w - cost
    return m, excess, cost


#: Shortest time a mixed-integer solver is given, seconds (it needs a moment to stop cleanly).
_MIN_SOLVER_TIME = 0.05
#: Seconds SCIP may run past its limit before it notices (it checks its clock between steps);
#: set aside from what it is given.
_SCIP_STOP = 0.05
#: Least time between two progress reports of a running SCIP solve, seconds.
PROGRESS_EVERY = 0.25


@dataclass(frozen=True)
class Progress:
    """Where a running branch-and-bound stands (SCIP's own figures, as it goes).

    Attributes
    ----------
    elapsed : float
        Seconds since the call started (model building included).
    limit : float
        The call's time limit, seconds.
    nodes : int
        Branch-and-bound nodes processed so far.
    gap : float
        SCIP's relative gap between its best solution and its proven bound (inf while it has
        no solution).
    sharpe : float or None
        For the maximum Sharpe ratio: the best annualised Sharpe ratio found so far (the
        objective is ``1 / S``: one over SCIP's primal bound), before polishing. None for the
        other objectives and with whole shares.
    sharpe_bound : float or None
        The proven upper bound on the optimal Sharpe ratio (one over SCIP's dual bound).
    final : bool
        True for the last report of a solve.
    """

    elapsed: float
    limit: float
    nodes: int
    gap: float
    sharpe: float | None = None
    sharpe_bound: float | None = None
    final: bool = False


_REPORT: contextvars.ContextVar[Callable[[Progress], None] | None] = contextvars.ContextVar(
    "ballast_mixed_integer_progress", default=None)


@contextlib.contextmanager
def reporting(callback: Callable[[Progress], None]) -> Iterator[None]:
    """Send the progress of the mixed-integer solves run inside the block to ``callback``.

    SCIP calls back through an event handler on the model cvxpy builds (a new solution, a
    node or an LP solved, a cut added; at most every :data:`PROGRESS_EVERY` seconds, and once
    at the end of each solve); the model itself is untouched. The callback runs in the
    solving thread, between SCIP's steps: it should be quick, and an exception it raises is
    ignored (the solve goes on). The setting is per thread (a context variable), so
    concurrent sessions do not mix.

    Parameters
    ----------
    callback : callable
        Called with a :class:`Progress`.

    Yields
    ------
    None

    References
    ----------
    PySCIPOpt ``Eventhdlr`` and ``SCIP_EVENTTYPE`` (BESTSOLFOUND, NODESOLVED, LPSOLVED,
    ROWADDEDSEPA).
    """
    token = _REPORT.set(callback)
    try:
        yield
    finally:
        _REPORT.reset(token)


def _progress_handler(model, clock: _Clock | None, callback, sharpe: bool):
    """A pyscipopt event handler calling ``callback`` with :class:`Progress`."""
    from pyscipopt import SCIP_EVENTTYPE, Eventhdlr

    # A cut added fires often while SCIP works on the root node, where a large problem
    # spends most of its time; the others as the search goes on.
    events = (SCIP_EVENTTYPE.BESTSOLFOUND | SCIP_EVENTTYPE.NODESOLVED | SCIP_EVENTTYPE.LPSOLVED
              | SCIP_EVENTTYPE.ROWADDEDSEPA)

    class Reporter(Eventhdlr):
        last = 0.0

        def eventinit(self):
            self.model.catchEvent(events, self)

        def eventexit(self):
            self.model.dropEvent(events, self)

        def eventexec(self, event):
            now = time.perf_counter()
            if now - self.last >= PROGRESS_EVERY:
                self.last = now
                self.send(False)

        def send(self, final: bool) -> None:
            try:
                m = self.model
                primal, dual = float(m.getPrimalbound()), float(m.getDualbound())
                found = m.getNSols() > 0 and math.isfinite(primal) and abs(primal) < 1e19
                best = 1.0 / primal if sharpe and found and primal > 0 else None
                bound = 1.0 / dual if sharpe and math.isfinite(dual) and dual > 0 else None
                gap = float(m.getGap()) if found else float("inf")
                elapsed = clock.limit - clock.left() if clock is not None else \
                    float(m.getSolvingTime())
                callback(Progress(elapsed=elapsed, limit=clock.limit if clock else 0.0,
                                  nodes=int(m.getNNodes()), gap=gap, sharpe=best,
                                  sharpe_bound=bound, final=final))  # fmt: skip
            except Exception:  # a display must never stop the solve
                pass

    reporter = Reporter()
    model.includeEventhdlr(reporter, "ballast_progress", "progress of the solve")
    return reporter


class _Clock:
    """The user's time limit for one whole call, as a deadline every step draws on.

    The solvers' own clocks (SCIP's ``limits/time``, HiGHS's ``time_limit``) start after
    cvxpy has compiled the problem and stop before the weights are polished, so each solve is
    given what is left of the deadline after its compilation, less ``reserve``: the time the
    steps after it take, measured on the call's own earlier polishing solves.
    """

    def __init__(self, limit: float) -> None:
        self.limit = float(limit)
        self.end = time.perf_counter() + self.limit
        self.polish = 0.0  # longest continuous (Clarabel) solve so far, compile included

    def left(self) -> float:
        return self.end - time.perf_counter()

    def measured(self, result: dict) -> None:
        self.polish = max(self.polish, float(result.get("time", 0.0)))


def _timed_scip(clock: _Clock | None, sharpe: bool = False):
    """The SCIP interface of cvxpy, setting SCIP's time limit once it has built SCIP's model.

    cvxpy's interface (``solve_via_data``) first copies the compiled problem into a
    pyscipopt model, then sets the parameters, then runs SCIP; SCIP's clock starts there. The
    limit is set from the deadline at that moment (through the interface's ``_set_params``
    step, cvxpy 1.9), so the model building is not on top of the user's time limit. Passed to
    cvxpy as a custom solver instance. Inside :func:`reporting` it also attaches the progress
    event handler (``sharpe``: the objective is ``1 / S``, the Charnes-Cooper program).
    """
    from cvxpy.reductions.solvers.conic_solvers.scip_conif import SCIP

    class TimedSCIP(SCIP):
        reserve = 0.0
        limit = None
        reporter = None

        def name(self) -> str:  # cvxpy wants custom solvers named apart from its own
            return "SCIP_TIMED"

        def _set_params(self, model, verbose, solver_opts, data, dims) -> None:
            params = solver_opts.setdefault("scip_params", {})
            if clock is not None:
                self.limit = max(clock.left() - self.reserve - _SCIP_STOP, _MIN_SOLVER_TIME)
                params["limits/time"] = self.limit
            super()._set_params(model, verbose, solver_opts, data, dims)
            callback = _REPORT.get()
            if callback is not None:
                self.reporter = _progress_handler(model, clock, callback, sharpe)

    return TimedSCIP()


def _solve(problem, solver: str, clock: _Clock | None = None, polish: bool = False,
           sharpe: bool = False) -> dict:
    """Solve; return status, SCIP's dual bound, the time taken and the solver's time limit.

    For SCIP and HiGHS the problem is compiled first (``Problem.get_problem_data``), then the
    solver runs for what is left of ``clock``'s deadline (at least :data:`_MIN_SOLVER_TIME`),
    less, with ``polish``, the time a polishing solve of the same size will take after it
    (1.25 x the longest measured so far, or this compilation's time if longer). Clarabel runs
    without a limit; its time is recorded on ``clock``.
    """
    import cvxpy as cp

    t0 = time.perf_counter()
    limit = None
    try:
        with warnings.catch_warnings():
            # cvxpy warns "may be inaccurate" at a time limit; the gap reports it instead.
            warnings.simplefilter("ignore", UserWarning)
            if solver in ("SCIP", "HIGHS"):
                backend = _timed_scip(clock, sharpe) if solver == "SCIP" else solver
                data, chain, inverse = problem.get_problem_data(backend)
                compiled = time.perf_counter() - t0
                reserve = 1.25 * max(clock.polish, compiled) + 0.02 if polish and clock else 0.0
                if solver == "SCIP":
                    backend.reserve = reserve
                left = clock.left() - reserve if clock is not None else DEFAULT_TIME_LIMIT
                limit = max(left, _MIN_SOLVER_TIME)
                opts = ({"scip_params": {"limits/time": limit, "limits/gap": GAP,
                                         "numerics/feastol": FEASTOL}}
                        if solver == "SCIP" else {"time_limit": limit, "mip_rel_gap": GAP})
                try:
                    solution = chain.solve_via_data(problem, data, False, False, opts)
                finally:
                    if solver == "SCIP" and backend.reporter is not None:
                        backend.reporter.send(True)
                problem.unpack_results(solution, chain, inverse)
                if solver == "SCIP" and backend.limit is not None:
                    limit = backend.limit  # as set once SCIP's model was built
            else:
                problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10,
                              tol_feas=1e-10, max_iter=500)  # fmt: skip
    except cp.error.SolverError as exc:
        return {"status": "error", "message": str(exc), "time": time.perf_counter() - t0,
                "limit": limit}  # fmt: skip
    out = {"status": problem.status, "value": problem.value, "time": time.perf_counter() - t0,
           "bound": None, "scip_status": None, "limit": limit}  # fmt: skip
    if solver == "CLARABEL" and clock is not None:
        clock.measured(out)
    stats = problem.solver_stats.extra_stats if problem.solver_stats else None
    if solver == "SCIP" and isinstance(stats, dict) and "model" in stats:
        model = stats["model"]
        out["bound"] = float(model.getDualbound())
        out["scip_status"] = str(model.getStatus())
    return out


def _has_solution(result: dict) -> bool:
    return result["status"] in ("optimal", "optimal_inaccurate") and result["value"] is not None \
        and np.isfinite(result["value"])


def _out_of_time(result: dict) -> bool:
    """The solver stopped at its time limit (cvxpy reports a limit without a point as an error)."""
    if result.get("scip_status") == "timelimit":
        return True
    limit = result.get("limit")
    return result.get("status") == "error" and limit is not None \
        and result.get("time", 0.0) >= 0.95 * limit


def _binary_values(model: Model) -> dict:
    return {k: np.round(np.asarray(v.value if hasattr(v, "value") else v, dtype=float))
            for k, v in model.binaries.items()}  # fmt: skip


def _no_solution(spec: _Spec, result: dict, time_limit: float) -> BallastError:
    """The error for a solve without a portfolio: out of time, or proven infeasible.

    ``time_limit``: the user's limit for the whole call (seconds), named in the message.
    """
    limit = result.get("limit") or time_limit
    if result.get("scip_status") == "timelimit" or (
            result.get("status") not in ("infeasible", "infeasible_inaccurate")
            and result.get("time", 0.0) >= 0.95 * limit):  # fmt: skip
        return OptimizationError(
            f"The solver found no portfolio within its time limit of {time_limit:g} s (no "
            "conflict is proven): raise the time limit or loosen the rules."
        )
    return _infeasible(spec)


def _infeasible(spec: _Spec) -> InfeasibleConstraintsError:
    names = ", ".join(dict.fromkeys(r.name for r in spec.rules)) or "whole shares"
    return InfeasibleConstraintsError(
        f"No portfolio satisfies {names} together with the weight bounds, sector limits and "
        "the other constraints: loosen one of them."
    )


def _weights_of(model: Model, spec: _Spec) -> np.ndarray:
    w = np.asarray(model.w.value, dtype=float)
    if model.homogeneous:
        w = w / float(model.kappa.value)
    w = np.where(np.abs(w) < 1e-10, 0.0, w)
    return np.clip(w, spec.lower, spec.upper)


def _sigma_floor(spec: _Spec, clock: _Clock | None = None) -> float:
    """Lowest volatility of the continuous relaxation (invested at least max(least, 1 %))."""
    import cvxpy as cp

    w = cp.Variable(len(spec.tickers))
    caps = spec.upper.copy()
    cons = [w >= spec.lower, w <= caps, cp.sum(w) >= max(spec.least, 0.01),
            cp.sum(w) <= spec.most]  # fmt: skip
    if len(spec.h):
        cons.append(spec.G @ w <= spec.h)
    p = cp.Problem(cp.Minimize(cp.norm(spec.factor @ w)), cons)
    r = _solve(p, "CLARABEL", clock)
    if not _has_solution(r):
        raise _infeasible(spec)
    return max(float(r["value"]) * (1 - 1e-6) - 1e-12, 0.0)


def _linear(spec: _Spec) -> bool:
    return spec.max_volatility is None


def _support_heuristic(spec: _Spec, clock: _Clock | None = None) -> np.ndarray | None:
    """A good feasible portfolio for holdings limits: the continuous optimum's largest weights.

    The continuous maximum Sharpe portfolio without the holdings rules; its ``N`` largest
    positions form the support, solved exactly there with every rule (None when that fails or
    when issuer rules need their own binaries). It gives the branch-and-bound a tighter bound
    on ``kappa`` and, at a time limit, a fallback at least as good as truncating afterwards.
    """
    if spec.capital is not None or any(
            isinstance(r, compliance.IssuerConcentration) for r in spec.rules):  # fmt: skip
        return None
    counts = [r.count for r in spec.rules if isinstance(r, compliance.MaxHoldings)]
    holdings_rules = compliance.MaxHoldings | compliance.MinPosition
    free = dataclasses.replace(
        spec, rules=tuple(r for r in spec.rules if not isinstance(r, holdings_rules)))
    cont = _polish_sharpe(free, {}, clock)
    if cont is None:
        return None
    k = min(counts) if counts else len(cont)
    held = np.zeros(len(cont))
    held[np.argsort(-cont, kind="stable")[:k]] = 1.0
    held[cont <= 1e-10] = 0.0
    return _polish_sharpe(spec, {"held": held}, clock)


def _max_sharpe(spec: _Spec, clock: _Clock) -> tuple[np.ndarray, float, dict]:
    """Charnes-Cooper maximum Sharpe ratio (see the module docstring)."""
    import cvxpy as cp

    # A feasible portfolio: the highest net excess return (a MILP for HiGHS without a cone).
    m0, excess0, _ = _build(spec)
    p0 = cp.Problem(cp.Maximize(excess0), m0.constraints)
    r0 = _solve(p0, "HIGHS" if _linear(spec) else "SCIP", clock)
    if not _has_solution(r0):
        raise _no_solution(spec, r0, clock.limit)
    w_feas = np.asarray(m0.w.value, dtype=float)
    e_feas = float(r0["value"])
    if e_feas <= 1e-12:
        raise InfeasibleConstraintsError(
            f"No portfolio within the rules is expected to beat the risk-free rate of "
            f"{spec.rf:.2%}, so the Sharpe ratio has no maximum: lower the risk-free rate or "
            "choose another objective."
        )
    vol_feas = float(np.sqrt(max(w_feas @ spec.cov @ w_feas, 1e-300)))
    s_feas = e_feas / vol_feas
    heuristic = _support_heuristic(spec, clock)
    if heuristic is not None and _sharpe(heuristic, spec) > s_feas:
        s_feas = _sharpe(heuristic, spec)
    sigma0 = _sigma_floor(spec, clock)
    if sigma0 <= 1e-12:
        raise OptimizationError(
            "The covariance allows a riskless portfolio within the rules, so the Sharpe ratio "
            "is unbounded: use a shrunk covariance (Ledoit-Wolf)."
        )
    kappa_max = 1.0 / (s_feas * sigma0) * (1 + 1e-6)
    m, excess, _ = _build(spec, homogeneous=True, kappa_max=kappa_max)
    p = cp.Problem(cp.Minimize(cp.norm(spec.factor @ m.w)), [*m.constraints, excess == 1])
    r = _solve(p, "SCIP", clock, polish=True, sharpe=True)
    if not _has_solution(r):
        if _out_of_time(r):
            w = heuristic if heuristic is not None else np.clip(w_feas, 0, None)
            return w, float("inf"), {"status": "time limit (no bound proven)"}
        raise _no_solution(spec, r, clock.limit)
    w = _weights_of(m, spec)
    fixed = _binary_values(m)
    polished = _polish_sharpe(spec, fixed, clock)
    if polished is not None:  # exact on the support; SCIP's point is feasible to FEASTOL only
        w = polished
    if heuristic is not None and _sharpe(heuristic, spec) > _sharpe(w, spec):
        w = heuristic  # at a time limit the incumbent may be worse than the heuristic's
    sharpe = _sharpe(w, spec)
    bound = r["bound"]
    upper = 1.0 / bound if bound and bound > 0 else float("inf")
    gap = max((upper - sharpe) / abs(sharpe), 0.0) if np.isfinite(upper) else float("inf")
    status = "optimal" if r.get("scip_status") in ("optimal", "gaplimit") else "time limit"
    return w, gap, {"status": status}


def _net_excess(w: np.ndarray, spec: _Spec) -> float:
    return float((spec.mu - spec.rf) @ w - spec.costs @ np.abs(w - spec.w0) / spec.horizon)


def _sharpe(w: np.ndarray, spec: _Spec) -> float:
    vol = float(np.sqrt(max(w @ spec.cov @ w, 0.0)))
    return _net_excess(w, spec) / vol if vol > 1e-14 else -float("inf")


def _polish_sharpe(spec: _Spec, fixed: dict, clock: _Clock | None = None) -> np.ndarray | None:
    import cvxpy as cp

    if spec.capital is not None:
        return None
    m, excess, _ = _build(spec, homogeneous=True, fixed=fixed)
    p = cp.Problem(cp.Minimize(cp.sum_squares(spec.factor @ m.w)), [*m.constraints, excess == 1])
    r = _solve(p, "CLARABEL", clock)
    if not _has_solution(r) or float(m.kappa.value) <= 0:
        return None
    return _weights_of(m, spec)


def _objective(spec: _Spec, kind: str, m: Model, excess, cost, objective):
    """Cvxpy objective (minimised) and extra constraints of a direct program."""
    import cvxpy as cp

    vol = cp.norm(spec.factor @ m.w)
    net_return = excess + spec.rf  # mu'w + r_f (1 - 1'w) - costs
    extra = []
    if kind == "min_volatility":
        return vol + cost, extra
    if kind == "target_return":
        extra.append(net_return >= float(objective.target_return))
        return vol + cost, extra
    if kind == "target_volatility":
        extra.append(vol <= float(objective.target_volatility))
        return -net_return, extra
    if kind == "max_utility":
        delta = float(objective.risk_aversion)
        return -net_return + delta / 2 * cp.sum_squares(spec.factor @ m.w), extra
    raise OptimizationError(
        f"The objective {kind!r} is not available with holdings limits, rules or whole shares."
    )


def _direct(spec: _Spec, objective, clock: _Clock) -> tuple[np.ndarray, float, dict]:
    import cvxpy as cp

    time_limit = clock.limit
    m, excess, cost = _build(spec)
    obj, extra = _objective(spec, objective.kind, m, excess, cost, objective)
    p = cp.Problem(cp.Minimize(obj), [*m.constraints, *extra])
    r = _solve(p, "SCIP", clock, polish=spec.capital is None)
    if not _has_solution(r):
        if r.get("scip_status") == "timelimit":
            raise _no_solution(spec, r, time_limit)
        if objective.kind == "target_return":
            raise InfeasibleConstraintsError(
                f"No portfolio within the rules reaches the target return of "
                f"{objective.target_return:.2%}: lower it or loosen the rules."
            )
        if objective.kind == "target_volatility":
            raise InfeasibleConstraintsError(
                f"No portfolio within the rules has a volatility of at most "
                f"{objective.target_volatility:.2%}: raise it or loosen the rules."
            )
        raise _no_solution(spec, r, time_limit)
    w = _weights_of(m, spec)
    value = float(r["value"])
    if spec.capital is None:
        fixed = _binary_values(m)
        m2, excess2, cost2 = _build(spec, fixed=fixed)
        obj2, extra2 = _objective(spec, objective.kind, m2, excess2, cost2, objective)
        p2 = cp.Problem(cp.Minimize(obj2), [*m2.constraints, *extra2])
        r2 = _solve(p2, "CLARABEL", clock)
        if _has_solution(r2):  # exact on the support
            w, value = _weights_of(m2, spec), float(r2["value"])
    bound = r["bound"]
    gap = float("inf") if bound is None else max(value - bound, 0.0) / max(abs(value), 1e-12)
    status = "optimal" if r.get("scip_status") in ("optimal", "gaplimit") else "time limit"
    return w, gap, {"status": status}


def _dinkelbach(spec: _Spec, clock: _Clock) -> tuple[np.ndarray, float, dict]:
    """Maximum Sharpe ratio in whole shares by Dinkelbach's method."""
    import cvxpy as cp

    sigma0 = _sigma_floor(spec, clock)
    s, best, upper = 0.0, None, float("inf")
    status = "optimal"
    for _ in range(50):
        if clock.left() <= _MIN_SOLVER_TIME:
            status = "time limit"
            break
        m, excess, _ = _build(spec)
        p = cp.Problem(cp.Minimize(-(excess - s * cp.norm(spec.factor @ m.w))), m.constraints)
        r = _solve(p, "SCIP", clock)
        if not _has_solution(r):
            if best is None:
                raise _infeasible(spec)
            status = "time limit"
            break
        w = _weights_of(m, spec)
        ratio = _sharpe(w, spec)
        f_bound = -r["bound"] if r["bound"] is not None else float("inf")  # >= max F(s)
        if sigma0 > 0 and f_bound < float("inf"):
            upper = min(upper, s + max(f_bound, 0.0) / sigma0) if s > 0 else upper
        if best is None or ratio > _sharpe(best, spec):
            best = w
        if r.get("scip_status") not in ("optimal", "gaplimit"):
            status = "time limit"
            break
        if ratio <= s * (1 + 1e-9) + 1e-12:  # max F(s) <= 0 proven: s is optimal
            upper = min(upper, s + max(f_bound, 0.0) / sigma0 if sigma0 > 0 else s)
            break
        s = ratio
    if best is None:
        raise _infeasible(spec)
    sharpe = _sharpe(best, spec)
    finite = np.isfinite(upper) and sharpe != 0
    gap = max((upper - sharpe) / abs(sharpe), 0.0) if finite else float("inf")
    return best, gap, {"status": status}


def optimize(expected_returns: pd.Series, cov: pd.DataFrame, objective: Any, constraints: Any):
    """Optimal portfolio under holdings limits, rules or whole shares.

    Called by :func:`core.optimization.optimize` when :func:`applies`.

    Parameters
    ----------
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance.
    objective : core.optimization.Objective
        ``max_sharpe``, ``min_volatility``, ``target_return``, ``target_volatility`` or
        ``max_utility``.
    constraints : core.constraints.Constraints
        Bounds, sectors, cash, a volatility cap, holdings, turnover, locks, costs, and
        ``max_holdings``, ``min_position``, ``rules``, ``issuers``, ``whole_shares``,
        ``time_limit``.

    Returns
    -------
    core.optimization.OptimizationResult
        With ``mip_gap`` (proven relative gap of the objective, Sharpe ratio for
        ``max_sharpe``; at most 1e-6 when optimal), ``mip_status`` (``"optimal"`` or ``"time
        limit"``) and, with whole shares, ``shares``.

    Raises
    ------
    InfeasibleConstraintsError
        Rules in conflict (named before the solve by :func:`core.compliance.name_conflicts`),
        or no portfolio within them.
    OptimizationError
        Shorting, a benchmark objective or a tracking-error limit (not available here).
    """
    from core import optimization as opt

    limit = float(getattr(constraints, "time_limit", None) or DEFAULT_TIME_LIMIT)
    clock = _Clock(limit)  # the whole call, model building included
    if constraints.max_tracking_error is not None or objective.kind in opt.BENCHMARK_OBJECTIVES:
        raise OptimizationError(
            "Tracking error is not available with holdings limits, rules or whole shares: "
            "remove them or choose another objective."
        )
    if not constraints.long_only or constraints.max_gross_exposure is not None or \
            constraints.max_short is not None:
        raise OptimizationError(
            "Holdings limits, rules and whole shares need a long-only portfolio: switch off "
            "shorting."
        )
    opt._validate(expected_returns, cov)
    tickers = list(expected_returns.index)
    spec = _spec(expected_returns, cov, objective, constraints, tickers)
    if objective.kind == "max_sharpe":
        solver = _dinkelbach if spec.capital is not None else _max_sharpe
        w, gap, info = solver(spec, clock)
    else:
        w, gap, info = _direct(spec, objective, clock)
    elapsed = clock.limit - clock.left()
    shares = None
    if spec.capital is not None:
        n = np.round(w * spec.capital / spec.prices)
        w = n * spec.prices / spec.capital
        shares = pd.Series(n.astype(np.int64), index=tickers, name="shares")
    weights = pd.Series(w, index=tickers, name="weight")
    mu, sig = spec.mu, spec.cov
    cash = float(1.0 - w.sum())
    ret = float(w @ mu) + spec.rf * cash
    vol = float(np.sqrt(max(w @ sig @ w, 0.0)))
    trades = w - spec.w0
    sectors = pd.Series(dict(constraints.sectors)) if constraints.sectors else pd.Series(dtype=str)
    return opt.OptimizationResult(
        weights=weights,
        expected_return=ret,
        volatility=vol,
        sharpe_ratio=(ret - spec.rf) / vol if vol > 1e-12 else float("nan"),
        risk_free_rate=spec.rf,
        objective=objective,
        effective_number_of_assets=opt.effective_number_of_assets(weights),
        sector_weights=opt.sector_exposure(weights, sectors) if len(sectors)
        else pd.Series(dtype=float),
        turnover=float(np.abs(trades).sum() / 2),
        costs=float(spec.costs @ np.abs(trades)),
        current_weights=(pd.Series(spec.w0, index=tickers, name="current weight")
                         if constraints.current_weights is not None else None),  # fmt: skip
        number_of_trades=int((np.abs(trades) > 1e-6).sum()),
        cash_weight=cash if abs(cash) > 1e-12 else 0.0,
        mip_gap=float(gap),
        mip_status=f"{info['status']} ({elapsed:.2f} s)",
        shares=shares,
    )


def _spec(expected_returns, cov, objective, constraints, tickers) -> _Spec:
    from core import optimization as opt

    lin = constraints.linear_form(tickers)
    rules = compliance.resolve_rules(constraints.rules, constraints.max_holdings,
                                     constraints.min_position)  # fmt: skip
    w0 = constraints.holdings(tickers)
    lower, upper = lin.lower.copy(), lin.upper.copy()
    sets = {k: set(getattr(constraints, k)) for k in ("locked", "no_buy", "no_sell")}
    locked = np.array([t in sets["locked"] for t in tickers])
    no_buy = locked | np.array([t in sets["no_buy"] for t in tickers])
    no_sell = locked | np.array([t in sets["no_sell"] for t in tickers])
    for r in rules:
        ub = r.upper_bounds(tickers)
        if ub is not None:
            upper = np.minimum(upper, ub)
    upper = np.maximum(upper, np.where(no_sell, w0, 0.0))  # a kept holding bounds from below
    least, most = 1.0 - float(constraints.cash_bounds[1]), 1.0 - float(constraints.cash_bounds[0])
    capital = prices = None
    if constraints.whole_shares is not None:
        capital, raw = constraints.whole_shares[0], constraints.whole_shares[1]
        capital = float(capital)
        if not (math.isfinite(capital) and capital > 0):
            raise InfeasibleConstraintsError("Whole shares need a positive capital to invest.")
        px = pd.Series(raw, dtype=float).reindex(tickers)
        bad = [t for t in tickers if not (np.isfinite(px[t]) and px[t] > 0)]
        if bad:
            raise InfeasibleConstraintsError(
                f"Whole shares need a latest price for {', '.join(bad)}."
            )
        prices = px.to_numpy(dtype=float)
        leftover = max(float(constraints.cash_bounds[1]), float(prices.max()) / capital)
        if len(constraints.whole_shares) > 2 and constraints.whole_shares[2] is not None:
            leftover = float(constraints.whole_shares[2])
        least, most = max(1.0 - leftover, 0.0), min(most, 1.0)
    bounds_upper = np.maximum(lin.upper, np.where(no_sell, w0, 0.0))
    compliance.name_conflicts(tickers, bounds_upper, rules, constraints.issuers, invested=least)
    mu = expected_returns.to_numpy(dtype=float)
    sigma = cov.to_numpy(dtype=float)
    sigma = (sigma + sigma.T) / 2
    vals, vecs = np.linalg.eigh(sigma)
    factor = (vecs * np.sqrt(np.clip(vals, 0.0, None))).T  # F'F = Sigma
    who = compliance.issuer_of(tickers, constraints.issuers)
    names = list(dict.fromkeys(who))
    imat = np.array([[1.0 if who[t] == k else 0.0 for t in tickers] for k in names])
    return _Spec(
        tickers=tickers, mu=mu, cov=sigma, factor=factor, lower=lower, upper=upper,
        G=lin.G, h=lin.h, least=least, most=most, w0=w0,
        costs=opt._costs(objective.transaction_costs, tickers),
        horizon=float(objective.cost_horizon), locked=locked, no_buy=no_buy, no_sell=no_sell,
        max_turnover=constraints.max_turnover, max_volatility=constraints.max_volatility,
        rf=float(objective.risk_free_rate), issuer_matrix=imat, rules=rules,
        capital=capital, prices=prices,
    )  # fmt: skip

