"""Allocation by tail risk, risk budgets and hierarchy: the objectives beyond mean-variance.

:func:`core.optimization.optimize` hands these problems here: the kinds ``"min_cvar"``,
``"min_cdar"``, ``"max_return"``, ``"risk_parity"``, ``"hrp"``, ``"herc"``, and any
mean-variance kind under a CVaR limit (``Constraints.max_cvar``). The result is the same
:class:`core.optimization.OptimizationResult` as for the other objectives (expected return,
volatility and Sharpe ratio from ``expected_returns`` and ``cov``, annualised).

Conventions
-----------
As :mod:`core.scenario_optimization` (scenarios, CVaR, CDaR per period, costs) and
:mod:`core.risk_budgeting` (budgets, volatility contributions, HRP/HERC). Under a CVaR limit:
minimum volatility and a target return minimise the variance (gross of costs), maximum utility
``mu'w - c'|w - w0| / H - delta / 2 w' Sigma w``, a target volatility maximises the return
within it (a second-order cone), and the maximum Sharpe ratio uses the Charnes-Cooper change
of variables ``y = kappa w`` (Cornuejols & Tutuncu 2007, section 8.2). These are conic programs
solved by Clarabel, with the scenario rows joining as they are needed (the same exact argument
as :class:`core.scenario_optimization._LazyCvar`); the linear programs are solved by HiGHS.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core import risk_budgeting as rb
from core import scenario_optimization as so
from core.constraints import Constraints
from core.exceptions import InfeasibleConstraintsError, OptimizationError

__all__ = ["TAIL_OBJECTIVES", "handles", "optimize_tail"]

#: Objective kinds handled here: kind -> label for the user.
TAIL_OBJECTIVES: dict[str, str] = {
    "min_cvar": "Minimum CVaR (conditional value at risk)",
    "max_return": "Maximum expected return (under the CVaR limit)",
    "min_cdar": "Minimum CDaR (conditional drawdown at risk)",
    "risk_parity": "Risk parity / risk budgets (volatility contributions)",
    "hrp": "Hierarchical risk parity (HRP)",
    "herc": "Hierarchical equal risk contribution (HERC)",
}

#: Mean-variance kinds that a CVaR limit can join.
_MEAN_VARIANCE_UNDER_CVAR = ("min_volatility", "target_return", "max_utility", "max_sharpe",
                             "target_volatility")  # fmt: skip


def handles(objective, constraints: Constraints | None) -> bool:
    """Whether :func:`optimize_tail` solves this objective (rather than the mean-variance engines).

    Parameters
    ----------
    objective : Objective
    constraints : Constraints or None

    Returns
    -------
    bool
    """
    limit = getattr(constraints, "max_cvar", None) if constraints is not None else None
    return objective.kind in TAIL_OBJECTIVES or limit is not None


def _check_plain(constraints: Constraints, lin, what: str, sectors_ok: bool) -> None:
    """Refuse the options that an allocation rule (not a program) cannot honour."""
    extra = []
    if constraints.max_turnover is not None:
        extra.append("a turnover budget")
    if constraints.locked or constraints.no_buy or constraints.no_sell:
        extra.append("locked / no-buy / no-sell assets")
    if any(v is not None for v in (constraints.max_gross_exposure, constraints.max_long,
                                   constraints.max_short, constraints.max_tracking_error,
                                   constraints.max_volatility)):  # fmt: skip
        extra.append("exposure, volatility or tracking-error caps")
    if tuple(float(x) for x in constraints.cash_bounds) != (0.0, 0.0):
        extra.append("cash bounds")
    if not sectors_ok and len(lin.h):
        extra.append("sector limits")
    if not constraints.long_only and (lin.lower < 0).any():
        extra.append("short positions")
    if extra:
        raise OptimizationError(
            f"{what} is an allocation rule, not a program: it cannot honour "
            f"{', '.join(extra)}. Remove them or choose another objective."
        )


def _risk_parity(cov: np.ndarray, objective, constraints: Constraints, lin,
                 tickers: list[str]) -> np.ndarray:  # fmt: skip
    _check_plain(constraints, lin, "Risk parity", sectors_ok=True)
    budgets = rb.budgets_by_asset(objective.risk_budgets, tickers, dict(constraints.sectors))
    w = rb.risk_budgeting_weights(cov, budgets)
    over = [f"{t} ({x:.1%} against {lo:.1%}-{hi:.1%})" for t, x, lo, hi in
            zip(tickers, w, lin.lower, lin.upper, strict=True)
            if x > hi + 1e-9 or x < lo - 1e-9]  # fmt: skip
    over += [f"{label} ({g @ w:.1%})" for g, h, label in zip(lin.G, lin.h, lin.labels,
                                                             strict=True) if g @ w > h + 1e-9]
    if over:
        raise InfeasibleConstraintsError(
            "The risk budgets fix the weights, and they break these limits: "
            f"{'; '.join(over)}. Loosen the limits or change the budgets."
        )
    return w


def _hierarchical(cov: pd.DataFrame, objective, constraints: Constraints, lin,
                  scenarios: pd.DataFrame | None, tickers: list[str]) -> np.ndarray:  # fmt: skip
    label = "HRP" if objective.kind == "hrp" else "HERC"
    _check_plain(constraints, lin, label, sectors_ok=False)
    if scenarios is None:
        raise OptimizationError(f"{label} needs the window's returns (scenarios).")
    missing = [t for t in tickers if t not in scenarios.columns]
    if missing:
        raise OptimizationError(f"The returns have no column for {', '.join(missing)}.")
    data = scenarios[tickers]
    if len(data) < 3 or not np.isfinite(data.to_numpy(dtype=float)).all():
        raise OptimizationError(f"{label} needs at least three complete rows of returns.")
    lower = lin.lower if (lin.lower > 0).any() else None
    upper = lin.upper if (lin.upper < 1).any() else None
    return rb.hierarchical_weights(data, cov.loc[tickers, tickers], objective.kind,
                                   lower, upper).weights  # fmt: skip


def _clarabel(prog: so._Program, P: sp.spmatrix, q: np.ndarray, *, sharpe: bool = False,
              soc: tuple[np.ndarray, float] | None = None) -> np.ndarray:  # fmt: skip
    """Solve ``min x'Px/2 + q'x`` over a :class:`core.scenario_optimization._Program` (Clarabel).

    Range rows and column bounds become non-negative cone rows, equalities zero-cone rows.
    ``sharpe``: the program's last row is ``(mu - rf)'y = 1`` and every other right-hand side is
    multiplied by a new last column ``kappa >= 0`` (the Charnes-Cooper change of variables of
    the maximum Sharpe ratio, ``w = y / kappa``). ``soc = (L, r)`` adds ``||L' w|| <= r`` on
    the first ``L.shape[0]`` columns.
    """
    import clarabel

    A = prog.matrix().tocsr()
    lo, hi = np.concatenate(prog.row_lo), np.concatenate(prog.row_hi)
    clo, chi = np.concatenate(prog.col_lo), np.concatenate(prog.col_hi)
    N = A.shape[1]
    special = None
    if sharpe:
        special = A[-1]
        A, lo, hi = A[:-1], lo[:-1], hi[:-1]
    eye = sp.identity(N, format="csr")
    eq = np.isfinite(lo) & (lo == hi)
    up = np.isfinite(hi) & ~eq
    dn = np.isfinite(lo) & ~eq
    ceq = np.isfinite(clo) & (clo == chi)
    cup = np.isfinite(chi) & ~ceq
    cdn = np.isfinite(clo) & ~ceq
    zero_rows = sp.vstack([A[eq], eye[ceq]])
    zero_rhs = np.concatenate([lo[eq], clo[ceq]])
    nn_rows = sp.vstack([A[up], -A[dn], eye[cup], -eye[cdn]])
    nn_rhs = np.concatenate([hi[up], -lo[dn], chi[cup], -clo[cdn]])
    if sharpe:
        zero_rows = sp.vstack([sp.hstack([zero_rows, -zero_rhs[:, None]]),
                               sp.hstack([special, sp.csr_matrix((1, 1))])])
        zero_rhs = np.concatenate([np.zeros(len(zero_rhs)), [1.0]])
        nn_rows = sp.vstack([sp.hstack([nn_rows, -nn_rhs[:, None]]),
                             sp.csr_matrix(([-1.0], ([0], [N])), shape=(1, N + 1))])
        nn_rhs = np.zeros(len(nn_rhs) + 1)
        N += 1
        P = sp.block_diag([P, sp.csr_matrix((1, 1))])
    blocks, rhs = [zero_rows, nn_rows], [zero_rhs, nn_rhs]
    cones = [clarabel.ZeroConeT(zero_rows.shape[0]), clarabel.NonnegativeConeT(nn_rows.shape[0])]
    if soc is not None:
        L, radius = soc
        n = L.shape[0]
        blocks.append(sp.vstack([sp.csr_matrix((1, N)),
                                 sp.hstack([-sp.csr_matrix(L.T), sp.csr_matrix((n, N - n))])]))
        rhs.append(np.concatenate([[radius], np.zeros(n)]))
        cones.append(clarabel.SecondOrderConeT(n + 1))
    Acon = sp.csc_matrix(sp.vstack(blocks))
    Pfull = sp.csc_matrix(sp.triu(sp.csc_matrix(P)))
    qq = np.zeros(N)
    qq[: len(q)] = q
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = 1e-10
    solver = clarabel.DefaultSolver(Pfull, qq, Acon, np.concatenate(rhs), cones, settings)
    sol = solver.solve()
    status = str(sol.status)
    if "Solved" not in status:
        if "Infeasible" in status:
            raise InfeasibleConstraintsError(
                "No portfolio satisfies the constraints and the CVaR limit together; loosen "
                "one of them."
            )
        raise OptimizationError(f"The CVaR-limited program could not be solved ({status}).")
    return np.asarray(sol.x)


def _mean_variance_under_cvar(kind: str, mu: np.ndarray, cov: np.ndarray, r: np.ndarray,
                              lin, constraints, objective, w0, costs) -> np.ndarray:  # fmt: skip
    """Mean-variance objectives with ``CVaR <= max_cvar`` (exact conic programs, Clarabel)."""
    c = float(objective.cvar_confidence)
    limit = float(constraints.max_cvar)
    # The limit is checked first (by HiGHS), so that a limit below the minimum CVaR is named.
    highest = so.solve_scenario_problem("max_return", mu, r, lin, constraints, confidence=c,
                                        w0=w0, max_cvar=limit)  # fmt: skip
    top = float(mu @ highest.weights)
    if kind == "target_return" and float(objective.target_return) > top + 1e-9:
        raise InfeasibleConstraintsError(
            f"The target return of {float(objective.target_return):.2%} is above the highest "
            f"expected return within the CVaR limit of {limit:.2%}, {top:.2%}: lower the "
            "target or raise the limit."
        )
    if kind == "max_sharpe" and top <= float(objective.risk_free_rate) + 1e-12:
        raise InfeasibleConstraintsError(
            "No portfolio within the CVaR limit is expected to beat the risk-free rate of "
            f"{float(objective.risk_free_rate):.2%}, so the Sharpe ratio has no maximum."
        )
    T = r.shape[0]
    tail = int(math.ceil(T * (1.0 - c)))
    inside = np.zeros(T, dtype=bool)
    inside[np.argsort(r @ highest.weights)[: min(T, max(3 * tail, 60))]] = True
    # Scenario rows join as they are needed (the argument of core.scenario_optimization's
    # lazy CVaR block: fewer rows relax the program; none violated at its optimum = exact).
    while True:
        w, alpha = _mean_variance_solve(kind, mu, cov, r[inside], T, lin, constraints,
                                        objective, w0, costs, limit)  # fmt: skip
        losses = -(r @ w) - alpha
        scale = max(1e-9, 1e-9 * float(np.abs(losses).max()))
        violated = np.flatnonzero((losses > scale) & ~inside)
        if violated.size == 0:
            return w
        inside[violated[np.argsort(-losses[violated])][: max(tail, 50)]] = True


def _mean_variance_solve(kind, mu, cov, r_in, n_total, lin, constraints, objective, w0, costs,
                         limit) -> tuple[np.ndarray, float]:  # fmt: skip
    """One conic program over the scenario rows ``r_in``: (weights, alpha of the CVaR block)."""
    c = float(objective.cvar_confidence)
    horizon = float(objective.cost_horizon)
    n = len(mu)
    prog = so._Program(n)
    w, trades = so._add_portfolio(prog, lin, constraints, w0, costs)
    alpha = so._add_cvar_limit(prog, w, r_in, c, limit, n_total)
    if kind == "target_return":
        prog.rows([(w, mu[None, :])], float(objective.target_return), np.inf, "target return")
    if kind == "max_sharpe":
        prog.rows([(w, (mu - float(objective.risk_free_rate))[None, :])], -np.inf, np.inf,
                  "excess return")  # fmt: skip
    N = prog.n_cols
    S = sp.csc_matrix((cov + cov.T) / 2)
    P = sp.block_diag([S, sp.csc_matrix((N - n, N - n))], format="csc")
    q = np.zeros(N)
    if trades is not None and kind in ("max_utility", "target_volatility"):
        q[trades] = np.concatenate([costs, costs]) / horizon
    if kind == "max_sharpe":
        x = _clarabel(prog, P, q, sharpe=True)
        return x[:n] / x[-1], float(x[alpha] / x[-1])
    if kind == "max_utility":
        q[:n] -= mu
        x = _clarabel(prog, float(objective.risk_aversion) * P, q)
    elif kind == "target_volatility":
        q[:n] -= mu
        L = np.linalg.cholesky(S.toarray() + 1e-14 * np.eye(n))
        x = _clarabel(prog, sp.csc_matrix((N, N)), q, soc=(L, float(objective.target_volatility)))
    else:
        x = _clarabel(prog, P, q)
    return x[:n], float(x[alpha])


def optimize_tail(
    expected_returns: pd.Series,
    cov: pd.DataFrame,
    objective,
    constraints: Constraints,
    scenarios: pd.DataFrame | None = None,
):
    """Solve a tail, risk-budgeting or hierarchical objective (see the module docstring).

    Parameters
    ----------
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns.
    cov : DataFrame (n_assets, n_assets)
        Annualised covariance.
    objective : Objective
        Its ``kind``, ``cvar_confidence``, ``risk_budgets``, costs and targets.
    constraints : Constraints
        Including ``max_cvar``.
    scenarios : DataFrame (n_scenarios, n_assets), optional
        Per-period decimal returns (needed by CVaR, CDaR, HRP and HERC).

    Returns
    -------
    OptimizationResult

    Raises
    ------
    InfeasibleConstraintsError, OptimizationError
        As :func:`core.scenario_optimization.solve_scenario_problem` and
        :func:`core.risk_budgeting.budgets_by_asset`.

    References
    ----------
    Rockafellar & Uryasev (2000); Chekhlov, Uryasev & Zabarankin (2005); Spinu (2013);
    Lopez de Prado (2016); Raffinot (2018).
    """
    from core import optimization as opt

    opt._validate(expected_returns, cov)
    kind = objective.kind
    if kind in opt.BENCHMARK_OBJECTIVES:
        raise OptimizationError(
            "A CVaR limit does not combine with the benchmark-relative objectives yet."
        )
    tickers = list(expected_returns.index)
    mu = expected_returns.to_numpy(dtype=float)
    S = cov.to_numpy(dtype=float)
    lin = constraints.linear_form(tickers)
    w0 = constraints.holdings(tickers)
    costs = opt._costs(objective.transaction_costs, tickers)
    c = float(objective.cvar_confidence)
    limit = constraints.max_cvar
    needs_scenarios = kind in ("min_cvar", "min_cdar") or limit is not None
    r = so.check_scenarios(scenarios, tickers, c) if needs_scenarios else None
    if kind in ("min_cvar", "min_cdar", "max_return"):
        w = so.solve_scenario_problem(kind, mu, r, lin, constraints, confidence=c, w0=w0,
                                      costs=costs, cost_horizon=objective.cost_horizon,
                                      max_cvar=limit).weights  # fmt: skip
    elif kind == "risk_parity":
        if limit is not None:
            raise OptimizationError("Risk parity fixes the weights: it cannot take a CVaR limit.")
        w = _risk_parity(S, objective, constraints, lin, tickers)
    elif kind in ("hrp", "herc"):
        if limit is not None:
            raise OptimizationError(
                f"{kind.upper()} fixes the weights: it cannot take a CVaR limit."
            )
        w = _hierarchical(cov, objective, constraints, lin, scenarios, tickers)
    elif kind in _MEAN_VARIANCE_UNDER_CVAR:
        if constraints.max_volatility is not None or constraints.max_tracking_error is not None:
            raise OptimizationError(
                "A volatility or tracking-error cap does not combine with a CVaR limit: keep "
                "one of the two."
            )
        w = _mean_variance_under_cvar(kind, mu, S, r, lin, constraints, objective, w0, costs)
    else:
        raise OptimizationError(f"{kind!r} does not take a CVaR limit.")
    w = np.asarray(w, dtype=float)
    w[np.abs(w) < 1e-12] = 0.0
    rf = float(objective.risk_free_rate)
    weights = pd.Series(w, index=tickers, name="weight")
    cash = float(1.0 - w.sum())
    ret = float(w @ mu) + rf * cash
    vol = float(np.sqrt(max(w @ S @ w, 0.0)))
    trades = w - w0
    sectors = pd.Series(dict(constraints.sectors)) if constraints.sectors else pd.Series(dtype=str)
    return opt.OptimizationResult(
        weights=weights,
        expected_return=ret,
        volatility=vol,
        sharpe_ratio=(ret - rf) / vol if vol > 1e-12 else float("nan"),
        risk_free_rate=rf,
        objective=objective,
        effective_number_of_assets=opt.effective_number_of_assets(weights),
        sector_weights=opt.sector_exposure(weights, sectors) if len(sectors)
        else pd.Series(dtype=float),
        turnover=float(np.abs(trades).sum() / 2),
        costs=float(costs @ np.abs(trades)),
        current_weights=(
            pd.Series(w0, index=tickers, name="current weight")
            if constraints.current_weights is not None
            else None
        ),
        number_of_trades=int((np.abs(trades) > 1e-6).sum()),
        cash_weight=cash if abs(cash) > 1e-12 else 0.0,
    )
