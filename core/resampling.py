r"""The resampled efficient frontier (Michaud & Michaud 1998).

Conventions
-----------
Inputs are simple per-period decimal returns, ``DataFrame (n_observations, n_assets)``; every
estimate is annualised with ``periods_per_year`` (252 for daily data) by Ballast's estimators
(:mod:`core.estimators`). Weights are decimals summing to 1; returns, volatilities and Sharpe
ratios of the resampled frontier are annualised and evaluated under the *original* estimates
(those of the returns given), so that they sit on the same axes as the mean-variance frontier.

Method
------
1. Estimate ``mu`` and ``Sigma`` on the returns given (the user's estimators).
2. Draw ``n_resamples`` samples of ``n_observations`` periods: by the bootstrap (periods drawn
   with replacement, all assets of a period together, so cross-correlations are kept) or from
   the parametric model ``N(mu / P, Sigma / P)`` (``P = periods_per_year``).
3. Re-estimate ``mu_j``, ``Sigma_j`` on each sample with the same estimators, and solve its
   frontier of ``n_points`` points, equally spaced in return from its minimum-variance to its
   maximum-return portfolio, with the exact critical-line engine (:mod:`core.frontier`) under
   the user's constraints.
4. Average the weights by rank: point ``k`` of the resampled frontier is the mean of point
   ``k`` of every resampled frontier. Linear constraints hold for the average because they hold
   for each member (the feasible set is convex); a volatility cap is applied per resample.

Reproducibility: each resample ``j`` draws from its own generator,
``numpy.random.default_rng(SeedSequence(seed).spawn(n_resamples)[j])``, and results come back
in resample order, so the result for a seed does not depend on how the resamples are split
into tasks or where the tasks run (:mod:`core.executor`).

References
----------
Michaud & Michaud (1998, 2008), "Efficient Asset Management", Harvard Business School Press /
Oxford University Press; Michaud (1989), "The Markowitz optimization enigma: is 'optimized'
optimal?", Financial Analysts Journal 45(1); Scherer (2002), "Portfolio resampling: review and
critique", Financial Analysts Journal 58(6); Efron & Tibshirani (1993), "An Introduction to
the Bootstrap".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import estimators
from core.backtest import window_estimates
from core.constraints import Constraints
from core.exceptions import EstimationError, OptimizationError
from core.executor import Executor, get_executor
from core.frontier import Frontier, efficient_frontier, frontier_weights, portfolio_statistics

__all__ = [
    "RESAMPLING_METHODS",
    "MAX_RESAMPLES",
    "ResampledFrontier",
    "resampled_frontier",
    "resample_blocks",
]

#: Ways to draw a sample: name -> label for the user.
RESAMPLING_METHODS: dict[str, str] = {
    "bootstrap": "Bootstrap (periods drawn with replacement)",
    "parametric": "Parametric (multivariate normal with the estimated mean and covariance)",
}

#: Most resamples one call accepts (each costs one frontier).
MAX_RESAMPLES = 5_000


@dataclass(frozen=True, eq=False)
class ResampledFrontier:
    """The resampled frontier: rank-averaged weights and their statistics.

    Attributes
    ----------
    weights : DataFrame (n_points, n_assets)
        Decimal weights of each point (the mean over resamples of that rank), columns tickers.
    returns : ndarray (n_points,)
        Annualised decimal expected returns of the points under the original estimates.
    volatilities : ndarray (n_points,)
        Annualised decimal volatilities under the original covariance.
    sharpe_ratios : ndarray (n_points,)
        ``(return - risk_free_rate) / volatility``.
    weight_std : DataFrame (n_points, n_assets)
        Standard deviation of each weight across resamples (decimal): how unstable it is.
    frontier : Frontier
        The mean-variance frontier of the original estimates (same constraints and points).
    expected_returns : Series (n_assets,)
        The original annualised expected returns.
    cov : DataFrame (n_assets, n_assets)
        The original annualised covariance.
    n_resamples : int
        Resamples averaged.
    method : str
        A key of :data:`RESAMPLING_METHODS`.
    seed : int or None
        The seed given.
    settings : dict
        The inputs (estimators, observations per sample, risk-free rate).
    """

    weights: pd.DataFrame
    returns: np.ndarray
    volatilities: np.ndarray
    sharpe_ratios: np.ndarray
    weight_std: pd.DataFrame
    frontier: Frontier
    expected_returns: pd.Series
    cov: pd.DataFrame
    n_resamples: int
    method: str
    seed: int | None
    settings: dict = field(default_factory=dict)

    @property
    def tickers(self) -> list[str]:
        """Asset names, in weight order."""
        return list(self.weights.columns)

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


def _estimate(
    sample: np.ndarray,
    tickers: pd.Index,
    returns_method: str,
    cov_method: str,
    periods_per_year: int,
    bench: np.ndarray | None,
    risk_free_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Annualised (mu, Sigma) of a sample of returns by the user's estimators."""
    fast = window_estimates(sample, returns_method, cov_method, periods_per_year)
    if fast is not None:
        return fast
    # Estimators without a numpy path here read prices: rebuild a price path from the sample.
    index = pd.RangeIndex(len(sample) + 1)
    growth = np.vstack([np.ones((1, sample.shape[1])), np.cumprod(1.0 + sample, axis=0)])
    prices = pd.DataFrame(growth, index=index, columns=tickers)
    benchmark = None
    if bench is not None:
        benchmark = pd.Series(np.concatenate([[1.0], np.cumprod(1.0 + bench)]), index=index)
    mu = estimators.expected_returns(
        prices,
        returns_method,
        benchmark=benchmark,
        risk_free_rate=risk_free_rate,
        periods_per_year=periods_per_year,
    )
    cov = estimators.covariance(prices, cov_method, periods_per_year=periods_per_year)
    return mu.to_numpy(dtype=float), cov.to_numpy(dtype=float)


def resample_blocks(
    seeds: list[np.random.SeedSequence],
    *,
    returns: np.ndarray,
    benchmark: np.ndarray | None,
    tickers: list[str],
    mu: np.ndarray,
    cov: np.ndarray,
    method: str,
    n_observations: int,
    n_points: int,
    constraints: Constraints,
    returns_method: str,
    cov_method: str,
    periods_per_year: int,
    risk_free_rate: float,
) -> np.ndarray:
    """Frontier weights of a block of resamples (the executor's task).

    Parameters
    ----------
    seeds : list of SeedSequence
        One child seed per resample of the block.
    returns : ndarray (n_observations, n_assets)
        The original per-period decimal returns.
    benchmark : ndarray (n_observations,) or None
        Benchmark returns on the same periods (needed by the CAPM estimator).
    tickers : list of str
        Asset names.
    mu, cov : ndarray
        Original annualised estimates (the parametric model).
    method : str
        A key of :data:`RESAMPLING_METHODS`.
    n_observations : int
        Periods per sample.
    n_points : int
        Points per frontier.
    constraints : Constraints
        The user's constraints.
    returns_method, cov_method : str
        Estimators, as in :mod:`core.estimators`.
    periods_per_year : int
        252 for daily data.
    risk_free_rate : float
        Annual decimal rate (CAPM estimator only).

    Returns
    -------
    ndarray (n_block, n_points, n_assets)
        Weights of each resampled frontier at each rank.
    """
    index = pd.Index(tickers)
    lin = constraints.linear_form(tickers)
    out = np.empty((len(seeds), n_points, len(tickers)))
    joint = returns if benchmark is None else np.column_stack([returns, benchmark])
    if method == "parametric":
        mean, big = mu, cov
        if benchmark is not None:  # the benchmark joins the normal model with its own moments
            mean = np.append(mu, benchmark.mean() * periods_per_year)
            big = np.cov(joint, rowvar=False) * periods_per_year
            big[: len(mu), : len(mu)] = cov
        chol = _cholesky(big / periods_per_year)
    for j, seq in enumerate(seeds):
        rng = np.random.default_rng(seq)
        if method == "bootstrap":
            sample = joint[rng.integers(0, len(joint), size=n_observations)]
        else:
            z = rng.standard_normal((n_observations, len(chol)))
            sample = mean / periods_per_year + z @ chol.T
        bench = None if benchmark is None else sample[:, -1]
        assets = sample if benchmark is None else sample[:, :-1]
        m, s = _estimate(
            assets, index, returns_method, cov_method, periods_per_year, bench, risk_free_rate
        )
        w = frontier_weights(m, s, lin, n_points, constraints.max_volatility)
        if len(w) < n_points:  # a degenerate frontier (one point): every rank is that point
            w = np.repeat(w[:1], n_points, axis=0)
        out[j] = w
    return out


def _cholesky(cov: np.ndarray) -> np.ndarray:
    """A factor ``L`` with ``L L' = cov`` (eigenvalue square root when cov is singular)."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
        return vecs * np.sqrt(np.maximum(vals, 0.0))


def resampled_frontier(
    returns: pd.DataFrame,
    constraints: Constraints | None = None,
    *,
    n_resamples: int = 200,
    n_points: int = 50,
    seed: int | None = None,
    method: str = "bootstrap",
    returns_method: str = "mean_historical",
    cov_method: str = "ledoit_wolf",
    benchmark: pd.Series | None = None,
    risk_free_rate: float = 0.0,
    periods_per_year: int = 252,
    n_observations: int | None = None,
    block_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    executor: Executor | None = None,
) -> ResampledFrontier:
    r"""The resampled efficient frontier of Michaud & Michaud (1998).

    Parameters
    ----------
    returns : DataFrame (n_observations, n_assets)
        Simple per-period decimal returns (no missing values), tickers as columns.
    constraints : Constraints, optional
        Bounds and sector limits for every frontier; default long-only in [0, 1].
    n_resamples : int
        Number of resampled frontiers averaged, 1 to :data:`MAX_RESAMPLES`.
    n_points : int
        Points per frontier (ranks), at least 2.
    seed : int, optional
        Seed of the :class:`numpy.random.SeedSequence` whose children drive the resamples;
        the same seed gives the same frontier, bit for bit. None draws fresh entropy.
    method : {"bootstrap", "parametric"}
        How samples are drawn (see :data:`RESAMPLING_METHODS` and the module docstring).
    returns_method, cov_method : str
        The user's estimators (keys of ``core.estimators.RETURN_ESTIMATORS`` and
        ``COVARIANCE_ESTIMATORS``), applied to the returns and to every sample.
    benchmark : Series (n_observations,), optional
        Benchmark per-period returns on the same dates; needed by ``"capm"`` (resampled
        together with the assets).
    risk_free_rate : float
        Annual decimal rate for the Sharpe ratios (and the CAPM estimator).
    periods_per_year : int
        252 for daily data.
    n_observations : int, optional
        Periods per sample; default ``len(returns)`` (Michaud's choice: the sample's own size).
    block_size : int, optional
        Resamples per task of the executor; default about four tasks per worker-sized chunk
        (at most 25 resamples a task).
    progress : callable, optional
        ``progress(done, total)`` in resamples, after each task.
    cancel : callable, optional
        Polled between tasks; True stops the job (``core.executor.JobCancelledError``).
    executor : Executor, optional
        Where the tasks run; default :func:`core.executor.get_executor`.

    Returns
    -------
    ResampledFrontier

    Raises
    ------
    EstimationError
        Missing or too few returns, an unknown estimator, CAPM without a benchmark.
    OptimizationError
        A resample count or point count out of range, an unknown method.
    InfeasibleConstraintsError
        No portfolio satisfies the constraints.

    Notes
    -----
    .. math:: w^{RE}_k = \frac{1}{J} \sum_{j=1}^{J} w^{(j)}_k, \quad k = 1, \dots, K

    with :math:`w^{(j)}_k` the ``k``-th point of the frontier of resample ``j``.

    References
    ----------
    Michaud & Michaud (1998), "Efficient Asset Management"; Scherer (2002), "Portfolio
    resampling: review and critique", FAJ 58(6).
    """
    if method not in RESAMPLING_METHODS:
        raise OptimizationError(
            f"Unknown resampling method {method!r}; use one of {', '.join(RESAMPLING_METHODS)}."
        )
    if not (isinstance(n_resamples, int | np.integer) and 1 <= n_resamples <= MAX_RESAMPLES):
        raise OptimizationError(
            f"Ask for 1 to {MAX_RESAMPLES:,} resamples (got {n_resamples})."
        )
    if not (isinstance(n_points, int | np.integer) and n_points >= 2):
        raise OptimizationError("Ask for at least two points on the resampled frontier.")
    if not isinstance(returns, pd.DataFrame) or returns.shape[1] == 0:
        raise EstimationError("No assets to resample: choose at least one asset.")
    if returns.isna().any().any():
        bad = returns.columns[returns.isna().any()].tolist()
        raise EstimationError(f"Missing returns for {', '.join(map(str, bad))} in the window.")
    n_obs, n_assets = returns.shape
    if n_obs < 3:
        raise EstimationError(f"{n_obs} returns are too few to resample; widen the window.")
    length = int(n_observations or n_obs)
    if length < 3:
        raise EstimationError("Draw at least 3 periods per sample.")
    constraints = constraints or Constraints()
    tickers = list(map(str, returns.columns))
    index = pd.Index(tickers)
    r = returns.to_numpy(dtype=float)
    bench = None
    if benchmark is not None:
        b = pd.Series(benchmark, dtype=float).reindex(returns.index)
        if b.isna().any():
            raise EstimationError("The benchmark's returns do not cover the window's dates.")
        bench = b.to_numpy()
    if returns_method == "capm" and bench is None:
        raise EstimationError("CAPM returns need a benchmark; load data with a benchmark.")
    if not np.isfinite(r).all():
        raise EstimationError("Some returns are infinite: check the prices for zeros.")

    mu, cov = _estimate(r, index, returns_method, cov_method, periods_per_year, bench,
                        risk_free_rate)  # fmt: skip
    mu_s = pd.Series(mu, index=index, name="expected_return")
    cov_df = pd.DataFrame(cov, index=index, columns=index)
    # The original frontier first: infeasible constraints are reported once, before any work.
    original = efficient_frontier(mu_s, cov_df, constraints, n_points, risk_free_rate)

    children = np.random.SeedSequence(seed).spawn(int(n_resamples))
    size = int(block_size) if block_size else max(1, min(25, -(-n_resamples // 8)))
    blocks = [children[i : i + size] for i in range(0, len(children), size)]
    shared = {
        "returns": r,
        "benchmark": bench,
        "tickers": tickers,
        "mu": mu,
        "cov": cov,
        "method": method,
        "n_observations": length,
        "n_points": int(n_points),
        "constraints": constraints,
        "returns_method": returns_method,
        "cov_method": cov_method,
        "periods_per_year": int(periods_per_year),
        "risk_free_rate": float(risk_free_rate),
    }
    counts = np.cumsum([len(b) for b in blocks])

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(int(counts[done - 1]), int(n_resamples))

    executor = executor or get_executor()
    parts = executor.map(resample_blocks, blocks, shared=shared, progress=report, cancel=cancel)
    stacked = np.concatenate(parts, axis=0)  # (n_resamples, n_points, n_assets), in order
    mean = stacked.mean(axis=0)
    std = stacked.std(axis=0, ddof=1) if n_resamples > 1 else np.zeros_like(mean)
    rets, vols, sharpe = portfolio_statistics(mean, mu_s, cov_df, risk_free_rate)
    return ResampledFrontier(
        weights=pd.DataFrame(mean, columns=index),
        returns=rets,
        volatilities=vols,
        sharpe_ratios=sharpe,
        weight_std=pd.DataFrame(std, columns=index),
        frontier=original,
        expected_returns=mu_s,
        cov=cov_df,
        n_resamples=int(n_resamples),
        method=method,
        seed=seed,
        settings={
            "returns_method": returns_method,
            "cov_method": cov_method,
            "n_observations": length,
            "n_points": int(n_points),
            "risk_free_rate": float(risk_free_rate),
            "periods_per_year": int(periods_per_year),
        },
    )
