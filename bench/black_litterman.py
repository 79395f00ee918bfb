"""Black-Litterman slider move: posterior, both portfolios and the charts' data.

What one confidence-slider move on the Black-Litterman page recomputes
(``ui.black_litterman.compute``): the posterior with Idzorek omega, the unconstrained BL
portfolio, the optimised portfolio (maximum Sharpe, long only; ``core.optimization.optimize``,
the critical-line engine stopped at the tangency), the posterior table and the three plotly
figures. A move changes one view's confidence by 1 to 25 points; the worst
case, every confidence jumping at random, is printed too. Baseline, in the same process on the same
inputs: PyPortfolioOpt's ``BlackLittermanModel`` (``omega="idzorek"``, ``bl_returns`` and
``bl_cov``) then ``EfficientFrontier(...).max_sharpe`` with Clarabel (its default OSQP fails at
500 assets, DESIGN.md §4); it builds no table and no figures.

Two universes: the bundled 20-stock sample (2018-2022, Ledoit-Wolf covariance, approximate
market caps, delta from the S&P 500), and 500 synthetic assets (a 5-factor covariance).
Targets: under 50 ms and under 300 ms a move.

Usage: ``python bench/black_litterman.py [repeats]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from core import black_litterman as bl  # noqa: E402
from core.constraints import Constraints  # noqa: E402
from core.estimators import covariance  # noqa: E402
from core.market_data import load_sample  # noqa: E402
from core.optimization import Objective  # noqa: E402

RF = 0.02


def _inputs(cov: pd.DataFrame, caps: pd.Series, delta: float, rows: list[dict]):
    from ui.black_litterman import BLInputs

    w = bl.market_weights(caps, cov.index)
    return BLInputs(
        cov=cov, market_weights=w, delta=delta, delta_note="", tau=0.05, risk_free_rate=RF,
        prior=bl.market_implied_returns(cov, w, delta, RF),
        views=bl.parse_views(rows, list(cov.index), market_caps=caps),
        omega_method="idzorek", objective=Objective("max_sharpe", risk_free_rate=RF),
        constraints=Constraints(),
    )  # fmt: skip


def sample_case():
    data = load_sample().subset(start="2018-01-01")
    cov = covariance(data.prices, "ledoit_wolf")
    delta = bl.market_implied_risk_aversion(data.benchmark, RF)
    rows = [
        {"kind": "absolute", "assets": "JPM", "return": 0.08, "confidence": 0.6},
        {
            "kind": "relative",
            "assets": "MSFT",
            "versus": "AAPL",
            "return": 0.02,
            "confidence": 0.3,
        },  # fmt: skip
        {
            "kind": "relative",
            "assets": "XOM, CVX",
            "versus": "PG, KO, PEP",
            "return": 0.03,
            "basket": "market_cap",
            "confidence": 0.9,
        },  # fmt: skip
    ]
    return _inputs(cov, data.market_caps, delta, rows)


def synthetic_case(n: int = 500, seed: int = 7):
    rng = np.random.default_rng(seed)
    tickers = [f"A{i:03d}" for i in range(n)]
    loadings = rng.normal(0.0, 1.0, (n, 5)) * [0.8, 0.3, 0.3, 0.2, 0.2]
    factor_var = np.diag([0.03, 0.01, 0.01, 0.005, 0.005])
    idio = rng.uniform(0.02, 0.12, n) ** 2
    cov = pd.DataFrame(loadings @ factor_var @ loadings.T + np.diag(idio), tickers, tickers)
    caps = pd.Series(rng.lognormal(3.0, 1.2, n), index=tickers)
    rows = [
        {"kind": "absolute", "assets": tickers[0], "return": 0.10, "confidence": 0.5},
        {
            "kind": "relative",
            "assets": tickers[1],
            "versus": tickers[2],
            "return": 0.03,
            "confidence": 0.7,
        },  # fmt: skip
        {
            "kind": "relative",
            "assets": ", ".join(tickers[10:20]),
            "versus": ", ".join(tickers[20:30]),
            "return": 0.02,
            "basket": "market_cap",
            "confidence": 0.4,
        },  # fmt: skip
        {
            "kind": "absolute",
            "assets": ", ".join(tickers[40:60]),
            "return": 0.07,
            "confidence": 0.8,
        },  # fmt: skip
        {
            "kind": "relative",
            "assets": tickers[100],
            "versus": tickers[101],
            "return": -0.02,
            "confidence": 0.2,
        },  # fmt: skip
    ]
    return _inputs(cov, caps, 2.5, rows)


def ours(inputs, confidences):
    from ui.black_litterman import compute

    return compute(inputs, confidences)


def baseline(inputs, confidences):
    from pypfopt import EfficientFrontier
    from pypfopt.black_litterman import BlackLittermanModel

    model = BlackLittermanModel(
        inputs.cov, pi=inputs.prior, P=inputs.views.P.to_numpy(), Q=inputs.views.Q.to_numpy(),
        omega="idzorek", view_confidences=confidences, tau=inputs.tau,
    )  # fmt: skip
    returns, post_cov = model.bl_returns(), model.bl_cov()
    ef = EfficientFrontier(returns, inputs.cov, solver="CLARABEL")
    weights = ef.max_sharpe(risk_free_rate=RF)
    return returns, post_cov, weights


def moves(k: int, repeats: int, jump: bool, seed: int = 0) -> list[np.ndarray]:
    """Slider positions: one view moved by 1 to 25 points at a time, or all views at random."""
    rng = np.random.default_rng(seed)
    conf = np.full(k, 0.5)
    out = []
    for _ in range(repeats):
        if jump:
            conf = rng.uniform(0.0, 1.0, k)
        else:
            conf = conf.copy()
            i = rng.integers(k)
            conf[i] = np.clip(conf[i] + rng.choice([-1, 1]) * rng.integers(1, 26) / 100, 0, 1)
        out.append(conf)
    return out


def run(inputs, positions) -> tuple[float, float, float, object]:
    """Median ms of Ballast (as on the page) and of the baseline, and max gap."""
    ours(inputs, np.full(len(inputs.views), 0.5))  # the page's first run
    baseline(inputs, np.full(len(inputs.views), 0.5))
    t_ours, t_base, gap = [], [], 0.0
    for conf in positions:
        t0 = time.perf_counter()
        outcome = ours(inputs, conf)
        t1 = time.perf_counter()
        ref = baseline(inputs, conf)
        t2 = time.perf_counter()
        t_ours.append(t1 - t0)
        t_base.append(t2 - t1)
        previous = outcome.optimised.weights
        w_ref = pd.Series(ref[2]).reindex(previous.index).fillna(0.0)
        gap = max(gap, float(np.abs(w_ref - previous).max()))
        gap_mu = float(np.abs(outcome.result.returns - ref[0]).max())
    return float(np.median(t_ours)), float(np.median(t_base)), max(t_ours), (gap, gap_mu)


def main(repeats: int = 20) -> None:
    print(
        f"Black-Litterman slider move, median of {repeats} moves (OPENBLAS_NUM_THREADS=1); "
        "Ballast = posterior, unconstrained BL and optimised (max Sharpe) portfolios, table, "
        "3 figures; PyPortfolioOpt = BlackLittermanModel + EfficientFrontier.max_sharpe"
    )
    for name, factory, target in (
        ("sample, 20 assets", sample_case, 0.050),
        ("synthetic, 500 assets", synthetic_case, 0.300),
    ):
        inputs = factory()
        t0 = time.perf_counter()
        ours(inputs, inputs.views.confidences)
        cold = time.perf_counter() - t0
        for label, jump in (("one view moved 1-25 points", False), ("all views jump", True)):
            positions = moves(len(inputs.views), repeats, jump)
            t_ours, t_base, worst, (gap_w, gap_mu) = run(inputs, positions)
            status = "OK" if t_ours < target else "OVER TARGET"
            print(
                f"  {name}, {label}: Ballast {t_ours * 1e3:6.1f} ms (worst {worst * 1e3:.0f}, "
                f"target {target * 1e3:.0f}, {status}); PyPortfolioOpt {t_base * 1e3:6.1f} ms; "
                f"ratio {t_ours / t_base:.2f}; max gaps: weights {gap_w:.1e}, "
                f"posterior {gap_mu:.1e}"
            )
        print(f"    first computation (cold: imports, caches): {cold * 1e3:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
