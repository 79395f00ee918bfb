"""Risk page benchmarks: Monte Carlo VaR, the rolling VaR backtest, the page's whole computation.

1. Monte Carlo VaR/CVaR with 1,000,000 scenarios at 20 assets (target < 1 s), normal and
   Student-t, ``core.risk.monte_carlo_var_cvar`` (one-dimensional portfolio draws) against the
   naive baseline in the same process: simulate every asset (``rng.multivariate_normal`` /
   ``scipy.stats.multivariate_t.rvs``, 1M x 20) then ``X @ w`` and the same estimator.
2. Rolling one-day historical VaR over the whole sample (1990-2022, window 250, 99 %),
   ``core.risk.rolling_var`` (pandas' rolling quantile at a level that picks the module's order
   statistic) against a Python loop over the days with the same estimator.
3. Rolling average pairwise correlation over the whole sample (window 63),
   ``core.stress.rolling_average_correlation`` against pandas' pairwise ``rolling().corr()``.
4. Everything the six tabs of the Risk page compute on the sample after a change, uncached
   (risk table with 2 x 100,000 scenarios at two confidence levels, contributions, drawdowns,
   backtest, stress scenarios, rolling correlation, correlation stress, the nine figures built
   and serialised to JSON), in core calls, step by step; and the same nine figures built the
   old way (``add_*`` calls and the "plotly_white" template per figure) as the baseline.
5. The Risk page itself, run by Streamlit's AppTest on the default setup (20 assets) with the
   risk caches cleared before each run: everything ``ui/risk.py`` computes for the page (the
   open tab only, the report section of the downloads), widgets and serialisation included;
   and with each tab open in turn. Baseline in the same process: a minimal page with one
   slider and one plotly chart. Target: the default run under 0.3 s.

Usage: ``python bench/risk.py [repeats] [--page]`` (``--page``: section 5 only).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from scipy import stats  # noqa: E402

from core import risk, stress  # noqa: E402
from core.charts import risk as charts  # noqa: E402
from core.constraints import Constraints  # noqa: E402
from core.estimators import covariance, expected_returns, returns_from_prices  # noqa: E402
from core.market_data import load_sample  # noqa: E402
from core.optimization import Objective, optimize  # noqa: E402


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def line(label: str, ours: float, base: float | None = None, base_label: str = "") -> None:
    extra = (
        f"  baseline {base * 1e3:9.1f} ms ({base_label})  ratio {base / ours:6.1f}x" if base else ""
    )
    print(f"  {label:<44} {ours * 1e3:9.1f} ms{extra}")


def main(repeats: int = 3) -> None:
    sample = load_sample()
    window = sample.subset(start="2018-01-01")
    r = returns_from_prices(window.prices)
    full = returns_from_prices(sample.prices)
    mu, cov = expected_returns(window.prices), covariance(window.prices)
    weights = optimize(mu, cov, Objective("max_sharpe", risk_free_rate=0.02), Constraints()).weights
    w = weights.to_numpy()
    print(f"Sample: {r.shape[1]} assets, window {r.index[0].date()} to {r.index[-1].date()} "
          f"({len(r)} days), full history {len(full)} days; max-Sharpe weights.")  # fmt: skip

    print("\n1. Monte Carlo VaR/CVaR 99 %, 1,000,000 scenarios, 20 assets (target < 1 s)")
    x = r.to_numpy()
    m, s = x.mean(0), np.cov(x, rowvar=False)
    for dist, h in (("normal", 1), ("student_t", 1), ("student_t", 10)):
        ours, res = best_of(
            lambda dist=dist, h=h: risk.monte_carlo_var_cvar(
                None, 0.99, h, asset_returns=r, weights=weights, distribution=dist,
                n_scenarios=1_000_000, seed=1, dof=4.0,
            ),
            repeats,
        )  # fmt: skip
        if h == 1:
            rng = np.random.default_rng(1)
            if dist == "normal":

                def naive(rng=rng):
                    port = rng.multivariate_normal(m, s, 1_000_000) @ w
                    return risk.historical_var_cvar(port, 0.99)

                label = "rng.multivariate_normal 1M x 20"
            else:
                shape = s * (4.0 - 2.0) / 4.0

                def naive(rng=rng, shape=shape):
                    draws = stats.multivariate_t.rvs(m, shape, df=4.0, size=1_000_000,
                                                     random_state=rng)  # fmt: skip
                    return risk.historical_var_cvar(draws @ w, 0.99)

                label = "scipy multivariate_t 1M x 20"
            base, (bv, _) = best_of(naive, repeats)
            line(f"{dist}, h = 1 (VaR {res.var:.4%} +- {res.var_se:.4%})", ours, base, label)
            z = abs(bv - res.var) / (res.var_se * 2**0.5)
            print(f"  {'':<44} naive VaR {bv:.4%}: |difference| = {z:.1f} of its SE")
        else:
            line(f"{dist}, h = {h} (sums 10 daily draws, 10M)", ours)
    t_fit, dof = best_of(lambda: risk.fit_student_t_dof(x @ w), repeats)
    line(f"Student-t dof fit (scipy t.fit, {len(x)} obs; nu = {dof:.2f})", t_fit)

    print("\n2. Rolling one-day historical VaR 99 %, window 250, whole sample")
    p_full = risk.portfolio_returns(full, weights)
    ours, fast = best_of(lambda: risk.rolling_var(p_full, 250, 0.99, "historical"), repeats)
    xs = p_full.to_numpy()

    def loop():
        return [risk._empirical_var_cvar(-xs[t - 250 : t], 0.99)[0] for t in range(250, len(xs))]

    base, slow = best_of(loop, 1)
    assert np.allclose(fast.to_numpy(), slow)
    line(
        f"pandas rolling quantile ({len(fast)} forecasts)",
        ours,
        base,
        "Python loop, same estimator",
    )
    ours_p, _ = best_of(lambda: risk.rolling_var(p_full, 250, 0.99, "cornish_fisher"), repeats)
    line("Cornish-Fisher rolling (pandas moments)", ours_p)
    bt_time, bt = best_of(lambda: risk.var_backtest(p_full, 250, 0.99, "historical"), repeats)
    line(f"whole backtest incl. tests ({bt.n_exceptions} exceptions, {bt.zone})", bt_time)

    print("\n3. Rolling average pairwise correlation, window 63, whole sample")
    ours, fast = best_of(lambda: stress.rolling_average_correlation(full, 63), repeats)
    iu = np.triu_indices(full.shape[1], 1)

    def pandas_corr():
        c = full.rolling(63).corr()
        return c.groupby(level=0).apply(lambda b: b.to_numpy()[iu].mean())

    base, slow = best_of(pandas_corr, 1)
    slow = slow.dropna()  # pandas gives NaN where an asset's price is flat (RRC, 1990)
    assert np.allclose(fast.loc[slow.index].to_numpy(), slow.to_numpy(), atol=1e-9)
    line(f"cumulative sums ({len(fast)} windows)", ours, base, "pandas rolling().corr()")

    print("\n4. What the six tabs of the Risk page compute after a change, uncached, in core calls")
    p = risk.portfolio_returns(r, weights)
    steps = {}

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        steps[name] = time.perf_counter() - t
        return out

    def page():
        steps.clear()
        table = timed("risk table (5 methods x 2 levels, 2 x 100k MC)", lambda: risk.risk_table(
            r, weights, [0.95, 0.99], 1, n_scenarios=100_000, seed=42))  # fmt: skip
        rc = timed("contributions", lambda: risk.risk_contributions(
            r, weights, 0.95, 1, "historical", sample.sectors))  # fmt: skip
        dd = timed("drawdowns", lambda: risk.drawdowns(p, 0.99))
        bt = timed("backtest (whole history)", lambda: risk.var_backtest(p_full, 250, 0.99))
        st_table, _ = timed("historical stress", lambda: stress.historical_stress(
            sample.prices, weights, benchmark=sample.benchmark))  # fmt: skip
        roll = timed("rolling correlation", lambda: stress.rolling_average_correlation(full, 63))
        crisis = returns_from_prices(sample.prices.loc["2007-10-09":"2009-03-09"])
        cs = timed("correlation stress", lambda: stress.correlation_stress(
            r, weights, 0.99, 1, (0, 0.25, 0.5, 0.75, 1), crisis, "GFC"))  # fmt: skip
        part = table[table.confidence == 0.99]
        lines = {a: (b, c) for a, b, c in zip(part.label, part["var"], part.cvar, strict=True)}

        def figs():
            out = [charts.return_distribution(p.to_numpy(), lines, 1, 0.99),
                   charts.var_by_method(table), charts.contributions_bar(rc.assets),
                   charts.contributions_bar(rc.sectors), charts.drawdown_chart(dd.curve),
                   charts.backtest_chart(bt.returns, bt.var, bt.exceptions, 0.99),
                   charts.stress_bar(st_table),
                   charts.rolling_correlation_chart(roll, stress.HISTORICAL_SCENARIOS),
                   charts.correlation_stress_chart(cs)]  # fmt: skip
            return [f.to_json() for f in out]

        timed("9 figures built and serialised", figs)
        return table, dd, bt, lines

    total, (table, dd, bt, lines) = best_of(page, repeats)
    for name, t in steps.items():
        line(name, t)
    print(f"  {'total':<44} {total * 1e3:9.1f} ms")
    new, _ = best_of(lambda: [f.to_json() for f in (
        charts.return_distribution(p.to_numpy(), lines, 1, 0.99), charts.var_by_method(table),
        charts.drawdown_chart(dd.curve),
        charts.backtest_chart(bt.returns, bt.var, bt.exceptions, 0.99))], repeats)  # fmt: skip
    old, _ = best_of(lambda: [f.to_json() for f in _old_figures(p, table, dd, bt)], repeats)
    line("4 of the figures, built and serialised", new, old, "add_* + template")

    print("\n5. The Risk page in AppTest, risk caches cleared before each run (target < 0.3 s)")
    page_runs(repeats)


def _old_figures(p, table, dd, bt):
    """Four of the figures as they were built before (add_* calls, a template per figure)."""
    import plotly.graph_objects as go

    def finish(fig, title, **layout):
        return fig.update_layout(title=title, template="plotly_white", height=420, **layout)

    hist = go.Figure(go.Histogram(x=p.to_numpy(), nbinsx=120, histnorm="probability"))
    bars = go.Figure()
    for c, part in table.groupby("confidence"):
        bars.add_bar(x=part["label"], y=part["var"], name=f"VaR {c:.1%}")
    under = go.Figure(go.Scatter(x=dd.curve.index, y=dd.curve, fill="tozeroy"))
    back = go.Figure()
    back.add_scattergl(x=bt.returns.index, y=bt.returns, mode="markers")
    back.add_scattergl(x=bt.var.index, y=-bt.var, mode="lines")
    return [finish(f, "old") for f in (hist, bars, under, back)]


_MINIMAL_PAGE = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st

k = st.slider("k", 1, 10, 5)
x = np.arange(250)
st.plotly_chart(go.Figure(go.Scatter(x=x, y=np.sin(x / k))), key="chart")
"""


def page_runs(repeats: int) -> None:
    """The Risk page run by AppTest with the risk caches cleared; a minimal page as baseline."""
    import logging

    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from ui import cache

    risk_caches = (cache.risk_table, cache.var_backtest, cache.historical_stress,
                   cache.rolling_average_correlation)  # fmt: skip
    minimal = AppTest.from_string(_MINIMAL_PAGE, default_timeout=60).run()

    def run_minimal():
        minimal.run()

    base, _ = best_of(run_minimal, repeats * 2)
    at = AppTest.from_file(str(ROOT / "pages" / "5_Risk.py"), default_timeout=300).run()
    assert not at.exception, at.exception
    tabs = [t.label for t in at.tabs]

    def run_tab(name: str):
        def run():
            for c in risk_caches:
                c.clear()
            at.session_state["risk_tab"] = name
            at.run()
            assert not at.exception and not at.error, (at.exception, at.error)

        return run

    for name in tabs:
        t, _ = best_of(run_tab(name), repeats)
        label = ("default tab: " if name == tabs[0] else "tab: ") + name
        extra = f"   ({t / 0.3:.0%} of the 0.3 s target)" if name == tabs[0] else ""
        print(f"  {label:<44} {t * 1e3:9.1f} ms  baseline {base * 1e3:7.1f} ms "
              f"(minimal page)  ratio {t / base:5.2f}x{extra}")  # fmt: skip


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--page"]
    n = int(args[0]) if args else 3
    if "--page" in sys.argv:  # section 5 only
        page_runs(n)
    else:
        main(n)
