"""Scenario-based optimisation: minimum CVaR, minimum CDaR, a CVaR limit, the mean-CVaR frontier.

Conventions
-----------
- ``scenarios`` is a ``DataFrame (n_scenarios, n_assets)`` of per-period simple decimal returns
  (daily for the window's history or the Monte Carlo draws of :func:`simulate_scenarios`),
  columns by ticker. Every scenario has the same probability ``1 / T``.
- CVaR and CDaR are **positive losses per scenario period**, decimals of the book's value, at
  ``confidence`` (0.95 = the mean of the worst 5 %). CVaR is the Rockafellar-Uryasev estimate
  ``VaR + sum((L_t - VaR)^+) / (T (1 - c))`` of :mod:`core.risk` (skfolio's convention), which is
  exactly the optimum of the linear program, so the objective value is the portfolio's CVaR.
- CDaR is measured on the uncompounded cumulative return ``y_t = sum_{s<=t} r_s' w`` with the
  running peak starting at 0 (a loss on the first day is a drawdown): drawdown
  ``D_t = max(0, max_{s<=t} y_s) - y_t`` and CDaR the CVaR of ``D`` (skfolio's ``cdar``).
- Expected returns are annualised decimals (as everywhere in Ballast); trading costs
  ``c' |w - w0|`` are amortised over ``cost_horizon`` years: ``/ H`` against an annual return,
  ``/ (H * periods_per_year)`` added to a per-period loss.

Method
------
Each problem is one exact linear program assembled as sparse matrices and solved by HiGHS
through ``highspy``. Scenario rows of CVaR, and the drawdown rows of CDaR, join the model as
they are needed (:class:`_LazyCvar`, :class:`_LazyCdar`): a subset relaxes the program, and
once no left-out row is violated at its optimum the answer is that of the full program, so
only the tail and its neighbours are ever in the model. The frontier keeps one model and
changes the bound of its return row between points, so that HiGHS warm-starts from the
previous basis. (The mean-variance objectives under a CVaR limit are conic programs:
:mod:`core.tail_allocation`.) Trades are split as ``w = w0 + b - s`` (``b, s >= 0``) when holdings,
turnover, locks or costs are set; exposures as ``w = p - q`` when gross, long or short limits
are set.

References
----------
R. T. Rockafellar and S. Uryasev, "Optimization of conditional value-at-risk", Journal of Risk
2(3), 2000. A. Chekhlov, S. Uryasev and M. Zabarankin, "Drawdown measure in portfolio
optimization", International Journal of Theoretical and Applied Finance 8(1), 2005.
Q. Huangfu and J. A. J. Hall, "Parallelizing the dual revised simplex method", Mathematical
Programming Computation 10, 2018 (HiGHS). skfolio ``MeanRisk`` (BSD-3-Clause).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.constraints import Constraints, LinearConstraints
from core.exceptions import InfeasibleConstraintsError, OptimizationError, RiskInputError

__all__ = [
    "SCENARIO_KINDS",
    "MIN_SCENARIOS",
    "ScenarioSolution",
    "scenario_cvar",
    "scenario_cdar",
    "simulate_scenarios",
    "solve_scenario_problem",
    "mean_cvar_frontier",
]

#: Objectives solved here: kind -> label.
SCENARIO_KINDS: dict[str, str] = {
    "min_cvar": "Minimum CVaR (conditional value at risk)",
    "min_cdar": "Minimum CDaR (conditional drawdown at risk)",
    "max_return": "Maximum expected return (under the CVaR limit, if any)",
}

#: Fewest scenarios a scenario objective accepts: at 95 % the tail then holds 5 of them.
MIN_SCENARIOS = 100

#: Periods a year of the scenarios (daily), for amortising costs per period.
PERIODS_PER_YEAR = 252


@dataclass(frozen=True)
class ScenarioSolution:
    """The solution of a scenario program.

    Attributes
    ----------
    weights : ndarray (n_assets,)
        Decimal weights, in the order of the tickers given.
    objective_value : float
        The program's optimum: CVaR or CDaR (decimal loss per period, costs included when set),
        or the net expected return (annualised decimal) for ``"max_return"``.
    cvar, cdar : float
        The portfolio's CVaR and CDaR on the scenarios (decimal, gross of costs; NaN without
        scenarios).
    """

    weights: np.ndarray
    objective_value: float
    cvar: float = float("nan")
    cdar: float = float("nan")


# ------------------------------------------------------------------------------ measures
def _check_confidence(confidence: float) -> float:
    c = float(confidence)
    if not (math.isfinite(c) and 0.5 <= c < 1.0):
        raise OptimizationError(
            f"The CVaR confidence must be between 50 % and 100 % (e.g. 0.95); got {confidence!r}."
        )
    return c


def _tail_mean(losses: np.ndarray, confidence: float) -> float:
    """Rockafellar-Uryasev CVaR of equally likely losses (VaR at the ceil(T c)-th loss)."""
    x = np.sort(np.asarray(losses, dtype=float))
    n = x.size
    var = x[max(int(math.ceil(n * confidence - 1e-9)) - 1, 0)]
    return float(var + np.maximum(x - var, 0.0).sum() / (n * (1.0 - confidence)))


def scenario_cvar(weights: pd.Series | np.ndarray, scenarios: pd.DataFrame | np.ndarray,
                  confidence: float = 0.95) -> float:  # fmt: skip
    r"""CVaR of a portfolio on equally likely scenarios.

    .. math:: \mathrm{CVaR}_c = \mathrm{VaR}_c + \frac{1}{T(1-c)} \sum_t (L_t - \mathrm{VaR}_c)^+,
              \quad L_t = -r_t' w

    Parameters
    ----------
    weights : Series or ndarray (n_assets,)
        Decimal weights (a Series is aligned on the scenarios' columns).
    scenarios : DataFrame or ndarray (n_scenarios, n_assets)
        Per-period decimal returns.
    confidence : float
        In [0.5, 1).

    Returns
    -------
    float
        Positive decimal loss per scenario period.

    References
    ----------
    Rockafellar & Uryasev (2000); Acerbi & Tasche (2002); ``skfolio.measures.cvar``.
    """
    r, w = _align(weights, scenarios)
    return _tail_mean(-(r @ w), _check_confidence(confidence))


def _drawdowns(path_returns: np.ndarray) -> np.ndarray:
    y = np.cumsum(path_returns)
    return np.maximum(np.maximum.accumulate(y), 0.0) - y


def scenario_cdar(weights: pd.Series | np.ndarray, scenarios: pd.DataFrame | np.ndarray,
                  confidence: float = 0.95) -> float:  # fmt: skip
    r"""CDaR of a portfolio along the scenarios taken as one path (in their order).

    .. math:: D_t = \max\left(0, \max_{s \le t} y_s\right) - y_t, \quad
              y_t = \sum_{s \le t} r_s' w, \qquad \mathrm{CDaR}_c = \mathrm{CVaR}_c(D)

    Parameters
    ----------
    weights : Series or ndarray (n_assets,)
        Decimal weights.
    scenarios : DataFrame or ndarray (n_scenarios, n_assets)
        Per-period decimal returns, in time order.
    confidence : float
        In [0.5, 1).

    Returns
    -------
    float
        Positive decimal drawdown (uncompounded, of the initial value).

    References
    ----------
    Chekhlov, Uryasev & Zabarankin (2005); ``skfolio.measures.cdar``.
    """
    r, w = _align(weights, scenarios)
    return _tail_mean(_drawdowns(r @ w), _check_confidence(confidence))


def _align(weights, scenarios) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(scenarios, pd.DataFrame):
        r = scenarios.to_numpy(dtype=float)
        if isinstance(weights, pd.Series):
            weights = weights.reindex(scenarios.columns).fillna(0.0)
    else:
        r = np.asarray(scenarios, dtype=float)
    w = np.asarray(weights, dtype=float)
    return r, w


def check_scenarios(scenarios: pd.DataFrame | None, tickers: list[str],
                    confidence: float) -> np.ndarray:  # fmt: skip
    """The scenarios as an array in the order of ``tickers``, after checks a user can act on.

    Parameters
    ----------
    scenarios : DataFrame (n_scenarios, n_assets) or None
        Per-period decimal returns by ticker.
    tickers : list of str
        The investable universe, in weight order.
    confidence : float
        CVaR confidence; the tail must hold at least one scenario.

    Returns
    -------
    ndarray (n_scenarios, n_assets)

    Raises
    ------
    OptimizationError
        No scenarios, missing tickers, non-finite values, fewer than :data:`MIN_SCENARIOS`.
    """
    if scenarios is None:
        raise OptimizationError(
            "This objective needs return scenarios (the window's returns or Monte Carlo draws)."
        )
    if not isinstance(scenarios, pd.DataFrame):
        raise OptimizationError(
            "The scenarios must be a table of returns with one column per ticker."
        )
    missing = [t for t in tickers if t not in scenarios.columns]
    if missing:
        raise OptimizationError(
            f"The scenarios have no returns for {', '.join(map(str, missing))}: include them."
        )
    r = scenarios[tickers].to_numpy(dtype=float)
    if not np.isfinite(r).all():
        raise OptimizationError(
            "Some scenario returns are missing or infinite: drop those rows or fill the gaps."
        )
    least = max(MIN_SCENARIOS, int(math.ceil(1.0 / (1.0 - confidence))))
    if len(r) < least:
        raise OptimizationError(
            f"{len(r)} scenarios are too few for a tail measure at {confidence:.0%}; at least "
            f"{least} are needed: widen the window or draw more Monte Carlo scenarios."
        )
    return r


# ------------------------------------------------------------------------------ scenarios
def simulate_scenarios(
    returns: pd.DataFrame,
    n_scenarios: int = 10_000,
    distribution: str = "normal",
    dof: float | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Monte Carlo return scenarios of every asset under the Risk page's models.

    The model is the one of :func:`core.risk.monte_carlo_var_cvar`: the sample mean and
    covariance ``Sigma`` of the daily returns, normal or Student-t with the dispersion
    ``Sigma (nu - 2) / nu`` so that the covariance is ``Sigma``; ``nu`` is fitted by maximum
    likelihood (:func:`core.risk.fit_student_t_dof`) on the equally weighted portfolio's returns
    unless given. Draws are ``mu + L z`` (``L`` a Cholesky factor, with a tiny ridge when
    ``Sigma`` is singular), scaled by ``sqrt(nu / chi2_nu)`` for the Student-t.

    Parameters
    ----------
    returns : DataFrame (n_observations, n_assets)
        Daily decimal returns of the window.
    n_scenarios : int
        Draws, 100 to 200,000.
    distribution : {"normal", "student_t"}
    dof : float, optional
        Student-t degrees of freedom (> 2).
    seed : int, optional
        Seed of ``numpy.random.default_rng``; same seed, same scenarios.

    Returns
    -------
    DataFrame (n_scenarios, n_assets)
        Daily decimal returns, columns as ``returns``.

    Raises
    ------
    RiskInputError
        Unknown distribution, too few observations, a bad count or dof.

    References
    ----------
    Glasserman, *Monte Carlo Methods in Financial Engineering*, Springer, 2003, §2.3;
    McNeil, Frey & Embrechts, *Quantitative Risk Management*, 2015, §6.2 (multivariate t).
    """
    from core.risk import MIN_OBSERVATIONS, fit_student_t_dof

    if distribution not in ("normal", "student_t"):
        raise RiskInputError(
            f"Unknown distribution {distribution!r}: choose 'normal' or 'student_t'."
        )
    data = returns.dropna()
    if len(data) < MIN_OBSERVATIONS:
        raise RiskInputError(
            f"{len(data)} return observations are too few for a Monte Carlo model; at least "
            f"{MIN_OBSERVATIONS} are needed. Widen the date window."
        )
    try:
        n = int(n_scenarios)
    except (TypeError, ValueError):
        n = -1
    if not MIN_SCENARIOS <= n <= 200_000:
        raise RiskInputError(
            f"The number of scenarios must be between {MIN_SCENARIOS} and 200,000; got "
            f"{n_scenarios}."
        )
    x = data.to_numpy(dtype=float)
    mu = x.mean(axis=0)
    cov = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        ridge = 1e-12 * max(float(np.trace(cov)) / len(cov), 1e-300)
        chol = np.linalg.cholesky(cov + ridge * np.eye(len(cov)))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, x.shape[1])) @ chol.T
    if distribution == "student_t":
        nu = fit_student_t_dof(x.mean(axis=1)) if dof is None else float(dof)
        if not nu > 2:
            raise RiskInputError(
                f"Student-t degrees of freedom must exceed 2 (finite variance); got {nu:g}."
            )
        z *= np.sqrt((nu - 2.0) / rng.chisquare(nu, n))[:, None]
    return pd.DataFrame(z + mu, columns=data.columns)


# ------------------------------------------------------------------------------ the program
@dataclass
class _Program:
    """A linear program ``min c'x``, ``lo <= A x <= up``, column bounds, built block by block."""

    n_assets: int
    cost: list = field(default_factory=list)
    col_lo: list = field(default_factory=list)
    col_hi: list = field(default_factory=list)
    blocks: list = field(default_factory=list)  # (row offset, sparse block over columns)
    row_lo: list = field(default_factory=list)
    row_hi: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def columns(self, count: int, lo, hi, cost=0.0) -> slice:
        start = self.n_cols
        self.n_cols += count
        self.col_lo.append(np.broadcast_to(np.asarray(lo, float), (count,)))
        self.col_hi.append(np.broadcast_to(np.asarray(hi, float), (count,)))
        self.cost.append(np.broadcast_to(np.asarray(cost, float), (count,)).copy())
        return slice(start, start + count)

    def rows(self, entries: list[tuple[slice, sp.spmatrix | np.ndarray]], lo, hi,
             labels: list[str] | str = "") -> slice:  # fmt: skip
        count = entries[0][1].shape[0]
        start = self.n_rows
        self.n_rows += count
        for cols, block in entries:
            self.blocks.append((start, cols, sp.coo_matrix(block)))
        self.row_lo.append(np.broadcast_to(np.asarray(lo, float), (count,)))
        self.row_hi.append(np.broadcast_to(np.asarray(hi, float), (count,)))
        self.labels.extend(labels if isinstance(labels, list) else [labels] * count)
        return slice(start, start + count)

    def matrix(self) -> sp.csc_matrix:
        r, c, v = [], [], []
        for start, cols, block in self.blocks:
            r.append(block.row + start)
            c.append(block.col + cols.start)
            v.append(block.data)
        return sp.csc_matrix(
            (np.concatenate(v), (np.concatenate(r), np.concatenate(c))),
            shape=(self.n_rows, self.n_cols),
        )

    def costs(self) -> np.ndarray:
        return np.concatenate(self.cost)


class _Model:
    """The HiGHS model of a program, kept for re-solves with changed row bounds."""

    def __init__(self, prog: _Program) -> None:
        import highspy

        self.highspy = highspy
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = prog.n_cols, prog.n_rows
        lp.col_cost_ = prog.costs()
        lp.col_lower_ = np.concatenate(prog.col_lo)
        lp.col_upper_ = np.concatenate(prog.col_hi)
        lp.row_lower_ = np.concatenate(prog.row_lo)
        lp.row_upper_ = np.concatenate(prog.row_hi)
        A = prog.matrix()
        A.sum_duplicates()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr
        lp.a_matrix_.index_ = A.indices
        lp.a_matrix_.value_ = A.data
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = prog.n_cols, prog.n_rows
        h.passModel(lp)
        self.h = h

    def solve(self) -> tuple[str, np.ndarray | None, float]:
        self.h.run()
        status = self.h.getModelStatus()
        ms = self.highspy.HighsModelStatus
        if status == ms.kOptimal:
            x = np.asarray(self.h.getSolution().col_value)
            return "optimal", x, float(self.h.getInfo().objective_function_value)
        if status == ms.kInfeasible:
            return "infeasible", None, float("nan")
        if status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
            return "unbounded", None, float("nan")
        return self.h.modelStatusToString(status), None, float("nan")


class _LazyCvar:
    """A Rockafellar-Uryasev block whose scenario rows join the model as they are needed.

    The block is ``alpha + k sum_t u_t`` with ``u_t >= -r_t'w - alpha``, ``u_t >= 0``,
    ``k = 1 / (T (1 - c))``. Dropping scenario rows (and their ``u_t``) relaxes the program,
    so the optimum over a subset is a lower bound; once every dropped scenario satisfies
    ``-r_t'w - alpha <= 0`` at that optimum (``u_t = 0`` is feasible for it) the point is
    feasible for the full program with the same value, hence optimal: the answer is exact.
    Only the tail and its neighbours are ever in the model (a few hundred of 2,520 rows), and
    each round warm-starts from the previous basis.
    """

    def __init__(self, model: _Model, n_assets: int, alpha: int, r: np.ndarray,
                 confidence: float, weight: float, limit_row: int | None) -> None:  # fmt: skip
        self.model, self.n, self.alpha, self.r = model, n_assets, alpha, r
        self.T = r.shape[0]
        self.k = 1.0 / (self.T * (1.0 - confidence))
        self.weight, self.limit_row = weight, limit_row
        self.inside = np.zeros(self.T, dtype=bool)
        self.tail = int(math.ceil(self.T * (1.0 - confidence)))

    def start(self, w: np.ndarray) -> None:
        """Take in the scenarios worst for the portfolio ``w`` (a guess of the optimum)."""
        m = min(self.T, max(3 * self.tail, 60))
        self.add(np.argsort(self.r @ w)[:m])

    def add(self, idx: np.ndarray) -> None:
        idx = np.asarray(idx)[~self.inside[np.asarray(idx)]]
        if idx.size == 0:
            return
        h, m = self.model.h, idx.size
        first_col = h.getNumCol()
        if self.limit_row is None:
            h.addCols(m, np.full(m, self.weight * self.k), np.zeros(m), np.full(m, np.inf),
                      0, np.zeros(m, dtype=np.int32), np.zeros(0, dtype=np.int32),
                      np.zeros(0))  # fmt: skip
        else:
            h.addCols(m, np.full(m, self.weight * self.k), np.zeros(m), np.full(m, np.inf),
                      m, np.arange(m, dtype=np.int32),
                      np.full(m, self.limit_row, dtype=np.int32), np.full(m, self.k))  # fmt: skip
        width = self.n + 2
        index = np.empty((m, width), dtype=np.int32)
        index[:, : self.n] = np.arange(self.n)
        index[:, self.n] = self.alpha
        index[:, self.n + 1] = first_col + np.arange(m)
        value = np.empty((m, width))
        value[:, : self.n] = -self.r[idx]
        value[:, self.n :] = -1.0
        h.addRows(m, np.full(m, -np.inf), np.zeros(m), m * width,
                  np.arange(0, m * width, width, dtype=np.int32), index.ravel(),
                  value.ravel())  # fmt: skip
        self.inside[idx] = True

    def solve(self) -> tuple[str, np.ndarray | None, float]:
        """Solve, add the violated scenarios, repeat until none is violated."""
        while True:
            status, x, value = self.model.solve()
            if status != "optimal":
                return status, x, value
            losses = -(self.r @ x[: self.n]) - x[self.alpha]
            scale = max(1e-9, 1e-9 * float(np.abs(losses).max()))
            violated = np.flatnonzero((losses > scale) & ~self.inside)
            if violated.size == 0:
                return status, x, value
            order = violated[np.argsort(-losses[violated])]
            self.add(order[: max(self.tail, 50)])


class _LazyCdar:
    """The Chekhlov-Uryasev-Zabarankin CDaR block with its drawdown rows generated as needed.

    CDaR is ``min_alpha alpha + k sum_t (D_t(w) - alpha)^+`` with the drawdown
    ``D_t(w) = max_{0 <= s <= t} (y_s - y_t)``, ``y_s = c_s' w`` the cumulative return
    (``c_0 = 0``: the peak starts at the initial value). Written with one row per pair,
    ``z_t >= (c_s - c_t)' w - alpha``, ``z_t >= 0``, it is the same program as the running-peak
    form. Dropping pairs relaxes it; at the optimum over a subset, each period's worst pair
    (its running peak) is checked, and the program is exact once no period's drawdown exceeds
    ``alpha + z_t``. Only the deep drawdowns and their peaks enter the model.
    """

    def __init__(self, model: _Model, n_assets: int, alpha: int, r: np.ndarray,
                 confidence: float) -> None:  # fmt: skip
        self.model, self.n, self.alpha = model, n_assets, alpha
        self.T = r.shape[0]
        self.cum = np.vstack([np.zeros((1, n_assets)), np.cumsum(r, axis=0)])  # c_0 .. c_T
        self.k = 1.0 / (self.T * (1.0 - confidence))
        self.z_col = np.full(self.T, -1, dtype=np.int64)
        self.pairs: set[tuple[int, int]] = set()
        self.tail = int(math.ceil(self.T * (1.0 - confidence)))

    def _peaks(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drawdown of each period 1..T and the index (0..T) of its running peak."""
        y = self.cum @ w  # y_0 = 0
        idx = np.arange(self.T + 1)
        running = np.maximum.accumulate(y)
        peak = np.maximum.accumulate(np.where(y >= running, idx, 0))
        return (running - y)[1:], peak[1:]

    def start(self, w: np.ndarray) -> None:
        dd, peak = self._peaks(w)
        worst = np.argsort(-dd)[: min(self.T, max(3 * self.tail, 60))]
        self.add(worst, peak[worst])

    def add(self, periods: np.ndarray, peaks: np.ndarray) -> None:
        h = self.model.h
        new = [(int(s), int(t)) for s, t in zip(peaks, periods, strict=True)
               if (int(s), int(t)) not in self.pairs]  # fmt: skip
        if not new:
            return
        fresh = sorted({t for _, t in new if self.z_col[t] < 0})
        if fresh:
            m = len(fresh)
            first = h.getNumCol()
            h.addCols(m, np.full(m, self.k), np.zeros(m), np.full(m, np.inf), 0,
                      np.zeros(m, dtype=np.int32), np.zeros(0, dtype=np.int32),
                      np.zeros(0))  # fmt: skip
            self.z_col[fresh] = first + np.arange(m)
        m, width = len(new), self.n + 2
        s_idx = np.array([s for s, _ in new])
        t_idx = np.array([t for _, t in new])
        value = np.empty((m, width))
        value[:, : self.n] = self.cum[s_idx] - self.cum[t_idx + 1]  # period t ends at c_{t+1}
        value[:, self.n :] = -1.0
        index = np.empty((m, width), dtype=np.int32)
        index[:, : self.n] = np.arange(self.n)
        index[:, self.n] = self.alpha
        index[:, self.n + 1] = self.z_col[t_idx]
        h.addRows(m, np.full(m, -np.inf), np.zeros(m), m * width,
                  np.arange(0, m * width, width, dtype=np.int32), index.ravel(),
                  value.ravel())  # fmt: skip
        self.pairs.update(new)

    def solve(self) -> tuple[str, np.ndarray | None, float]:
        """Solve, add each violated period's worst pair, repeat until none is violated."""
        while True:
            status, x, value = self.model.solve()
            if status != "optimal":
                return status, x, value
            dd, peak = self._peaks(x[: self.n])
            z = np.where(self.z_col >= 0, x[np.maximum(self.z_col, 0)], 0.0)
            excess = dd - x[self.alpha] - z
            scale = max(1e-9, 1e-9 * float(np.abs(dd).max()))
            violated = np.flatnonzero(excess > scale)
            if violated.size == 0:
                return status, x, value
            order = violated[np.argsort(-excess[violated])][: max(self.tail, 50)]
            self.add(order, peak[order])


@dataclass
class _Built:
    prog: _Program
    w: slice
    r: np.ndarray | None
    confidence: float
    cvar_alpha: int | None = None  # the lazy CVaR block's alpha column, if any
    cvar_weight: float = 0.0
    limit_row: int | None = None
    trades: slice | None = None
    lazy: _LazyCvar | None = None
    cdar_alpha: int | None = None  # the lazy CDaR block's alpha column, if any

    def model(self, start: np.ndarray | None = None) -> _Model | _LazyCvar | _LazyCdar:
        """The HiGHS model (with its lazy CVaR or CDaR block when there is one)."""
        model = _Model(self.prog)
        lo, hi = np.concatenate(self.prog.col_lo)[self.w], np.concatenate(self.prog.col_hi)[self.w]
        if self.cdar_alpha is not None:
            lazy = _LazyCdar(model, self.w.stop - self.w.start, self.cdar_alpha, self.r,
                             self.confidence)  # fmt: skip
            guess = np.full(len(lo), 1.0 / len(lo)) if start is None else start
            lazy.start(np.clip(guess, lo, hi))
            return lazy
        if self.cvar_alpha is None:
            return model
        self.lazy = _LazyCvar(model, self.w.stop - self.w.start, self.cvar_alpha, self.r,
                              self.confidence, self.cvar_weight, self.limit_row)  # fmt: skip
        guess = np.full(len(lo), 1.0 / len(lo)) if start is None else start
        self.lazy.start(np.clip(guess, lo, hi))
        return self.lazy


def _add_portfolio(prog: _Program, lin: LinearConstraints, constraints: Constraints,
                   w0: np.ndarray, costs: np.ndarray) -> tuple[slice, slice | None]:  # fmt: skip
    """Weights with bounds, budget, sector rows, trades and exposures; returns (w, trades)."""
    n = len(lin.tickers)
    w = prog.columns(n, lin.lower, lin.upper)
    cash_lo, cash_hi = (float(x) for x in constraints.cash_bounds)
    prog.rows([(w, np.ones((1, n)))], 1.0 - cash_hi, 1.0 - cash_lo, "budget")
    if len(lin.h):
        prog.rows([(w, lin.G)], -np.inf, lin.h, list(lin.labels))
    trades = None
    book = (constraints.current_weights is not None or constraints.max_turnover is not None
            or bool(constraints.locked or constraints.no_buy or constraints.no_sell)
            or bool(np.any(costs > 0)))  # fmt: skip
    if book:
        locked = set(constraints.locked)
        no_buy = locked | set(constraints.no_buy)
        no_sell = locked | set(constraints.no_sell)
        buy_hi = np.array([0.0 if t in no_buy else np.inf for t in lin.tickers])
        sell_hi = np.array([0.0 if t in no_sell else np.inf for t in lin.tickers])
        b = prog.columns(n, 0.0, buy_hi)
        s = prog.columns(n, 0.0, sell_hi)
        eye = sp.identity(n)
        prog.rows([(w, eye), (b, -eye), (s, eye)], w0, w0, "trades")
        trades = slice(b.start, s.stop)
        if constraints.max_turnover is not None:
            prog.rows([(trades, np.full((1, 2 * n), 0.5))], -np.inf,
                      float(constraints.max_turnover),
                      f"turnover at most {float(constraints.max_turnover):.1%}")  # fmt: skip
    if any(v is not None for v in (constraints.max_gross_exposure, constraints.max_long,
                                   constraints.max_short)):  # fmt: skip
        p = prog.columns(n, 0.0, np.inf)
        q = prog.columns(n, 0.0, np.inf)
        eye = sp.identity(n)
        prog.rows([(w, eye), (p, -eye), (q, eye)], 0.0, 0.0, "exposure split")
        for limit, cols, label in (
            (constraints.max_gross_exposure, slice(p.start, q.stop), "gross exposure"),
            (constraints.max_long, p, "total long weight"),
            (constraints.max_short, q, "total short weight"),
        ):
            if limit is not None:
                width = cols.stop - cols.start
                prog.rows([(cols, np.ones((1, width)))], -np.inf, float(limit),
                          f"{label} at most {float(limit):.0%}")  # fmt: skip
    return w, trades


def _add_cvar_limit(prog: _Program, w: slice, r: np.ndarray, confidence: float,
                    limit: float, n_total: int | None = None) -> int:  # fmt: skip
    """``CVaR <= limit`` over the scenario rows ``r``; returns the column of alpha.

    ``r`` holds every scenario, or a subset of the ``n_total`` scenarios (a relaxation).
    """
    T = r.shape[0]
    k = 1.0 / ((T if n_total is None else n_total) * (1.0 - confidence))
    alpha = prog.columns(1, -np.inf, np.inf)
    u = prog.columns(T, 0.0, np.inf)
    prog.rows([(w, -r), (alpha, -np.ones((T, 1))), (u, -sp.identity(T))], -np.inf, 0.0,
              "scenario loss")  # fmt: skip
    prog.rows([(alpha, np.ones((1, 1))), (u, np.full((1, T), k))], -np.inf, float(limit),
              f"CVaR at most {float(limit):.2%}")  # fmt: skip
    return alpha.start


def _add_cdar(prog: _Program, w: slice, r: np.ndarray, confidence: float,
              weight: float) -> None:  # fmt: skip
    """Chekhlov-Uryasev-Zabarankin block over the cumulative path ``y_t = sum_{s<=t} r_s'w``.

    ``v_t >= y_t``, ``v_t >= v_{t-1}``, ``v >= 0`` (the running peak from 0), and
    ``z_t >= v_t - y_t - alpha``, ``z >= 0``.
    """
    T = r.shape[0]
    cum = np.cumsum(r, axis=0)
    alpha = prog.columns(1, -np.inf, np.inf, weight)
    z = prog.columns(T, 0.0, np.inf, weight / (T * (1.0 - confidence)))
    v = prog.columns(T, 0.0, np.inf)
    eye = sp.identity(T)
    prog.rows([(w, cum), (v, -eye)], -np.inf, 0.0, "peak above the path")
    if T > 1:
        diff = sp.diags([np.ones(T - 1), -np.ones(T - 1)], [1, 0], shape=(T - 1, T))
        prog.rows([(v, -diff)], -np.inf, 0.0, "running peak")
    prog.rows([(w, -cum), (v, eye), (alpha, -np.ones((T, 1))), (z, -eye)], -np.inf, 0.0,
              "drawdown")  # fmt: skip


def _build(kind: str, mu: np.ndarray, r: np.ndarray | None, lin: LinearConstraints,
           constraints: Constraints, w0: np.ndarray, costs: np.ndarray, confidence: float,
           horizon: float, max_cvar: float | None) -> _Built:  # fmt: skip
    prog = _Program(len(lin.tickers))
    w, trades = _add_portfolio(prog, lin, constraints, w0, costs)
    built = _Built(prog, w, r, confidence, trades=trades)
    if kind == "min_cvar":
        built.cvar_alpha, built.cvar_weight = prog.columns(1, -np.inf, np.inf, 1.0).start, 1.0
    elif kind == "min_cdar" and max_cvar is None:  # drawdown rows generated as needed
        built.cdar_alpha = prog.columns(1, -np.inf, np.inf, 1.0).start
    elif kind == "min_cdar":  # with a CVaR limit too: the running-peak form, every row
        _add_cdar(prog, w, r, confidence, 1.0)
    elif kind == "max_return":
        prog.cost[0][:] = -mu
    if trades is not None:
        scale = horizon * PERIODS_PER_YEAR if kind in ("min_cvar", "min_cdar") else horizon
        _set_trade_costs(prog, trades, costs / scale)
    if max_cvar is not None:
        if r is None:
            raise OptimizationError("A CVaR limit needs return scenarios.")
        if kind == "min_cvar":
            raise OptimizationError("A CVaR limit does not apply to the minimum CVaR objective.")
        alpha = prog.columns(1, -np.inf, np.inf, 0.0)
        row = prog.rows([(alpha, np.ones((1, 1)))], -np.inf, float(max_cvar),
                        f"CVaR at most {float(max_cvar):.2%}")  # fmt: skip
        built.cvar_alpha, built.limit_row = alpha.start, row.start
    return built


def _block_of(prog: _Program, cols: slice) -> int:
    start = 0
    for i, c in enumerate(prog.cost):
        if start == cols.start:
            return i
        start += len(c)
    raise AssertionError("no such column block")


def _set_trade_costs(prog: _Program, trades: slice, per_unit: np.ndarray) -> None:
    i = _block_of(prog, trades)  # the buy block, then the sell block
    prog.cost[i][:] = per_unit
    prog.cost[i + 1][:] = per_unit


def solve_scenario_problem(
    kind: str,
    expected_returns: np.ndarray,
    scenarios: np.ndarray | None,
    lin: LinearConstraints,
    constraints: Constraints,
    *,
    confidence: float = 0.95,
    w0: np.ndarray | None = None,
    costs: np.ndarray | None = None,
    cost_horizon: float = 1.0,
    max_cvar: float | None = None,
) -> ScenarioSolution:
    """Solve one scenario program exactly with HiGHS.

    ``"min_cvar"`` minimises the CVaR of the scenario losses (plus costs per period),
    ``"min_cdar"`` the CDaR of the scenario path, ``"max_return"`` maximises
    ``mu'w - c'|w - w0| / H``; ``max_cvar`` adds ``CVaR <= max_cvar`` to the last two.

    Parameters
    ----------
    kind : {"min_cvar", "min_cdar", "max_return"}
    expected_returns : ndarray (n_assets,)
        Annualised decimal expected returns (used by ``"max_return"``).
    scenarios : ndarray (n_scenarios, n_assets) or None
        Per-period decimal returns (checked by :func:`check_scenarios`).
    lin : LinearConstraints
        ``constraints.linear_form(tickers)``.
    constraints : Constraints
        For cash bounds, turnover, locks, exposures.
    confidence : float
        CVaR / CDaR confidence.
    w0 : ndarray (n_assets,), optional
        Holdings (zeros = from cash).
    costs : ndarray (n_assets,), optional
        Proportional costs per unit traded.
    cost_horizon : float
        Years over which costs are amortised.
    max_cvar : float, optional
        CVaR limit (decimal loss per period).

    Returns
    -------
    ScenarioSolution

    Raises
    ------
    InfeasibleConstraintsError
        No portfolio meets the constraints (with the CVaR limit: the limit is below the lowest
        CVaR they allow, which the message gives).
    OptimizationError
        Options that are not linear (volatility or tracking-error caps), a failed solve.

    References
    ----------
    Rockafellar & Uryasev (2000); Chekhlov, Uryasev & Zabarankin (2005).
    """
    if kind not in SCENARIO_KINDS:
        raise OptimizationError(f"Unknown scenario objective {kind!r}.")
    if constraints.max_volatility is not None or constraints.max_tracking_error is not None:
        raise OptimizationError(
            "A volatility or tracking-error cap is not a linear constraint: remove it to use "
            f"{SCENARIO_KINDS[kind].lower()}, or cap the CVaR instead."
        )
    n = len(lin.tickers)
    mu = np.asarray(expected_returns, dtype=float)
    w0 = np.zeros(n) if w0 is None else np.asarray(w0, float)
    costs = np.zeros(n) if costs is None else np.asarray(costs, float)
    c = _check_confidence(confidence)
    if max_cvar is not None and not (math.isfinite(float(max_cvar)) and float(max_cvar) >= 0):
        raise InfeasibleConstraintsError(
            f"The CVaR limit must be a non-negative decimal loss (0.02 = 2 %); got {max_cvar!r}."
        )
    built = _build(kind, mu, scenarios, lin, constraints, w0, costs, c, float(cost_horizon),
                   max_cvar)  # fmt: skip
    status, x, value = built.model().solve()
    if status == "infeasible":
        if max_cvar is not None:
            lowest = solve_scenario_problem("min_cvar", mu, scenarios, lin, constraints,
                                            confidence=c, w0=w0)  # fmt: skip
            raise InfeasibleConstraintsError(
                f"The CVaR limit of {float(max_cvar):.2%} is below the minimum CVaR of "
                f"{lowest.cvar:.2%} (at {c:.0%}, per period) that the constraints allow: raise "
                f"it to at least {lowest.cvar:.2%} or loosen the constraints."
            )
        raise InfeasibleConstraintsError(
            "No portfolio satisfies the weight bounds, sector limits and trading limits "
            "together; loosen one of them."
        )
    if status != "optimal":
        raise OptimizationError(f"The scenario program could not be solved ({status}).")
    w = x[built.w].copy()
    w[np.abs(w) < 1e-12] = 0.0
    if kind == "max_return":
        value = -value
    return ScenarioSolution(
        weights=w,
        objective_value=float(value),
        cvar=scenario_cvar(w, scenarios, c) if scenarios is not None else float("nan"),
        cdar=scenario_cdar(w, scenarios, c) if scenarios is not None else float("nan"),
    )


def model_h(model: _Model | _LazyCvar | _LazyCdar):
    """The ``highspy.Highs`` object of a model."""
    return model.h if isinstance(model, _Model) else model.model.h


def mean_cvar_frontier(
    expected_returns: pd.Series,
    scenarios: pd.DataFrame,
    constraints: Constraints | None = None,
    n_points: int = 20,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The mean-CVaR efficient frontier: the least CVaR for each expected return.

    From the minimum-CVaR portfolio to the highest expected return the constraints allow, the
    return row ``mu'w >= m`` of one HiGHS model is moved to ``n_points`` equally spaced levels
    and the CVaR minimised again from the previous basis (warm start).

    Parameters
    ----------
    expected_returns : Series (n_assets,)
        Annualised decimal expected returns by ticker.
    scenarios : DataFrame (n_scenarios, n_assets)
        Per-period decimal returns, the same tickers.
    constraints : Constraints, optional
        Bounds, sectors, cash, exposures, holdings and turnover (costs are not charged: the
        frontier is gross of them).
    n_points : int
        At least 2.
    confidence : float
        CVaR confidence.

    Returns
    -------
    DataFrame (n_points, 3 + n_assets)
        ``expected_return`` (annualised decimal), ``cvar`` (decimal loss per period),
        ``return_to_cvar`` (their ratio), then the weights by ticker.

    Raises
    ------
    InfeasibleConstraintsError, OptimizationError
        As :func:`solve_scenario_problem`; fewer than 2 points.

    References
    ----------
    Rockafellar & Uryasev (2000), section 3; Krokhmal, Palmquist & Uryasev (2002), "Portfolio
    optimization with conditional value-at-risk objective and constraints", Journal of Risk 4.
    """
    if n_points < 2:
        raise OptimizationError("Ask for at least two points on the mean-CVaR frontier.")
    constraints = constraints or Constraints()
    tickers = list(expected_returns.index)
    c = _check_confidence(confidence)
    r = check_scenarios(scenarios, tickers, c)
    lin = constraints.linear_form(tickers)
    w0 = constraints.holdings(tickers)
    mu = expected_returns.to_numpy(dtype=float)
    top = solve_scenario_problem("max_return", mu, None, lin, constraints, w0=w0)
    built = _build("min_cvar", mu, r, lin, constraints, w0, np.zeros(len(tickers)), c, 1.0, None)
    row = built.prog.rows([(built.w, mu[None, :])], -np.inf, np.inf, "target return")
    model = built.model()
    status, x, _ = model.solve()
    if status != "optimal":
        raise InfeasibleConstraintsError(
            "No portfolio satisfies the weight bounds, sector limits and trading limits "
            "together; loosen one of them."
        )
    low = float(mu @ x[built.w])
    high = max(top.objective_value, low)
    out = []
    for k, level in enumerate(np.linspace(low, high, n_points)):
        if k > 0:
            # a hair below the top so that rounding cannot make the last point infeasible
            target = level - 1e-10 * max(1.0, abs(level)) if k == n_points - 1 else level
            model_h(model).changeRowBounds(row.start, float(target), np.inf)
            status, x, _ = model.solve()
            if status != "optimal":
                raise OptimizationError(f"A frontier point could not be solved ({status}).")
        w = x[built.w].copy()
        w[np.abs(w) < 1e-12] = 0.0
        cv = _tail_mean(-(r @ w), c)
        ret = float(mu @ w)
        out.append([ret, cv, ret / cv if cv > 1e-15 else float("nan"), *w])
    return pd.DataFrame(out, columns=["expected_return", "cvar", "return_to_cvar", *tickers])
