"""Figure builders: readable log axes, one colour per portfolio across the app, sector charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import charts
from core.charts import backtest as bcharts
from core.charts import black_litterman as bl_charts
from core.charts._common import PORTFOLIO_COLOURS, log_ticks, portfolio_colour
from core.charts.frontier import frontier_figure
from core.frontier import efficient_frontier


def _growth(low: float, high: float, n: int = 500) -> pd.DataFrame:
    index = pd.bdate_range("2018-01-01", periods=n)
    return pd.DataFrame({"A": np.geomspace(1, high, n), "B": np.geomspace(1, low, n)}, index=index)


@pytest.mark.parametrize("low, high", [(0.45, 5.3), (0.8, 1.7), (0.2, 14.0), (0.97, 25.0)])
def test_log_axes_label_every_tick_in_full(low, high):
    growth = _growth(low, high)
    for fig in (charts.normalized_prices(growth), bcharts.equity_curves(growth)):
        axis = fig.layout.yaxis
        assert axis.type == "log"
        ticks, labels = list(axis.tickvals), list(axis.ticktext)
        assert labels == [f"{v:g}" for v in ticks]  # "0.5", "1", "2", "5": never bare digits
        shown = [t for t in ticks if low <= t <= high]
        assert 3 <= len(shown) <= 10
        assert 1.0 in ticks
        mantissas = {round(t / 10 ** np.floor(np.log10(t)), 6) for t in ticks}
        assert mantissas <= {1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0}


def test_log_ticks_1_2_5():
    assert log_ticks(0.45, 5.3) == [0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
    assert log_ticks(1.0, 120.0)[:4] == [1.0, 2.0, 5.0, 10.0]


def test_narrow_growth_is_drawn_on_a_linear_axis():
    fig = bcharts.equity_curves(_growth(0.99, 1.04))
    assert fig.layout.yaxis.type == "linear"
    assert "log" not in fig.layout.yaxis.title.text


def _colours(figures) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for fig in figures:
        for trace in fig.data:
            lines = trace.type == "scatter" and "lines" in (trace.mode or "")
            colour = (trace.line.color if lines else None) or trace.marker.color
            seen.setdefault(trace.name, set()).add(str(colour))
    return seen


def test_each_portfolio_has_one_colour_in_every_figure(sample_window, sample_estimates):
    mu, cov = sample_estimates
    tickers = list(cov.columns)
    market = pd.Series(1 / len(tickers), index=tickers)
    bl = market + np.linspace(-0.02, 0.02, len(tickers))
    opt = market.where(market.index != tickers[0], 0.1)
    posterior = mu * 0.9
    figures = [
        bl_charts.prior_posterior_returns(mu, posterior),
        bl_charts.bl_weights(pd.DataFrame({
            "Market": market, "Black-Litterman (unconstrained)": bl,
            "Optimised (your objective and constraints)": opt})),
        bl_charts.weight_changes(pd.DataFrame({
            "Black-Litterman (unconstrained)": bl - market, "Optimised": opt - market})),
        frontier_figure(efficient_frontier(mu, cov, n_points=10),
                        points={"Current allocation": (0.2, 0.1), "Current holdings": (0.2, 0.1)}),
        charts.weights_bar(pd.DataFrame({"Current holdings": market, "Proposal": opt})),
        bcharts.equity_curves(_growth(0.5, 3).set_axis(["Target allocation", "SP500"], axis=1),
                              benchmark="SP500"),
        charts.normalized_prices(_growth(0.5, 3), benchmark=_growth(0.5, 3)["A"].rename("SP500")),
    ]  # fmt: skip
    seen = _colours(figures)
    same = {
        "market": ["Prior (market-implied)", "Market"],
        "posterior": ["Posterior"],
        "black_litterman": ["Black-Litterman (unconstrained)"],
        "optimised": ["Optimised (your objective and constraints)", "Optimised",
                      "Current allocation", "Target allocation"],
        "holdings": ["Current holdings"],
        "proposal": ["Proposal"],
        "benchmark": ["SP500"],
    }  # fmt: skip
    for key, names in same.items():
        for name in names:
            assert seen[name] == {PORTFOLIO_COLOURS[key]}, (name, seen[name])
    assert len(set(PORTFOLIO_COLOURS.values())) == len(PORTFOLIO_COLOURS)
    # No other trace (views, tangency, assets) takes a portfolio's colour.
    named = {n for names in same.values() for n in names}
    others = {c for name, cs in seen.items() if name not in named for c in cs}
    assert not others & set(PORTFOLIO_COLOURS.values()), others


def test_portfolio_colour_names():
    assert portfolio_colour("Optimised (your objective and constraints)") == (
        PORTFOLIO_COLOURS["optimised"]
    )
    assert portfolio_colour("Weight") is None


def test_sector_chart_long_short_draws_net_short_sectors():
    sectors = pd.Series({"Energy": 0.9, "Health Care": 0.57, "Financials": -0.47})
    fig = charts.sector_pie(sectors)
    assert fig.data[0].type == "bar"  # a donut cannot show the net short sector
    assert dict(zip(fig.data[0].x, fig.data[0].y, strict=True)) == sectors.to_dict()
    assert sum(fig.data[0].y) == pytest.approx(1.0)
    long_only = charts.sector_pie(sectors.abs() / sectors.abs().sum())
    assert long_only.data[0].type == "pie"


def test_weights_and_sectors_is_one_valid_figure_of_both_charts():
    import json

    import plotly.graph_objects as go
    import plotly.io as pio

    weights = pd.Series({"A&B": 0.5, "C<i>": 0.3, "LONGER_TICKER": 0.2})
    long_only = pd.Series({"Energy": 0.7, "Health & Care": 0.3})
    long_short = pd.Series({"Energy": 0.9, "Health Care": 0.57, "Financials": -0.47})
    for sectors in (long_only, long_short, None):
        fig = charts.weights_and_sectors(weights, sectors)
        # The weights bar of weights_bar and the sector chart of sector_pie, values unchanged.
        alone = charts.weights_bar(weights)
        assert list(fig.data[0].x) == list(alone.data[0].x) == ["A&amp;B", "C&lt;i&gt;",
                                                                 "LONGER_TICKER"]
        np.testing.assert_array_equal(fig.data[0].y, alone.data[0].y)
        assert fig.data[0].hovertemplate == alone.data[0].hovertemplate
        assert fig.layout.yaxis.title.text == "Weight (% of capital)"
        titles = [a.text for a in fig.layout.annotations]
        if sectors is None:
            assert len(fig.data) == 1 and titles == ["Portfolio weights"]
        else:
            drawn = charts.sector_pie(sectors).data[0]
            assert fig.data[1].type == drawn.type
            if drawn.type == "pie":
                assert dict(zip(fig.data[1].labels, fig.data[1].values, strict=True)) == dict(
                    zip(drawn.labels, drawn.values, strict=True))
                assert titles == ["Portfolio weights", "Sector exposure"]
                assert fig.data[1].domain.x[0] > fig.layout.xaxis.domain[1]
            else:  # net short: bars on their own axes, to the right of the weights
                assert (fig.data[1].xaxis, fig.data[1].yaxis) == ("x2", "y2")
                assert dict(zip(fig.data[1].x, fig.data[1].y, strict=True)) == sectors.to_dict()
                assert fig.layout.yaxis2.title.text == "Net weight (% of capital)"
                assert fig.layout.xaxis2.domain[0] > fig.layout.xaxis.domain[1]
                assert titles[1] == "Sector exposure (net, long-short)"
        # Fixed margins, room for the upright labels: plotly lays it out once a move.
        assert fig.layout.margin.autoexpand is False and fig.layout.xaxis.automargin is False
        assert fig.layout.margin.b >= 80 + 7 * len("LONGER_TICKER")
        # Built without validation: the same figure as the validated one, and valid.
        checked = go.Figure(fig.to_dict())  # validates: raises on any invalid property
        assert json.loads(pio.to_json(checked, validate=False)) == json.loads(
            pio.to_json(fig, validate=False))


def test_exposures():
    from core.optimization import exposures

    e = exposures(pd.Series({"A": 0.9, "B": 0.57, "C": -0.47}))
    assert e == pytest.approx({"long": 1.47, "short": -0.47, "gross": 1.94, "net": 1.0})


def test_active_frontier_figure_from_the_sample_and_its_index(sample_window):
    from core.charts.frontier import active_frontier_figure
    from core.estimators import covariance, expected_returns
    from core.optimization import active_frontier

    prices = sample_window.prices.assign(SP500=sample_window.benchmark).dropna()
    mu, cov = expected_returns(prices), covariance(prices)
    points = active_frontier(mu, cov, pd.Series({"SP500": 1.0}), n_points=8)
    fig = active_frontier_figure(points, "SP500", {"Current allocation": (0.05, 0.02)})
    curve = fig.data[0]
    np.testing.assert_allclose(curve.x, points["tracking_error"])
    np.testing.assert_allclose(curve.y, points["active_return"])
    assert [t.name for t in fig.data] == ["Active frontier", "SP500", "Current allocation"]
    assert fig.data[1].marker.color == PORTFOLIO_COLOURS["benchmark"]
    assert "SP500" in fig.layout.xaxis.title.text and fig.layout.yaxis.tickformat == ".1%"


def test_random_portfolios_are_one_heatmap_of_mean_sharpe_ratio(sample_estimates):
    """The cloud is a grid of cells: counts add up, each cell's colour is its mean Sharpe."""
    mu, cov = sample_estimates
    f = efficient_frontier(mu, cov, n_points=10)
    rng = np.random.default_rng(3)
    W = rng.dirichlet(np.ones(len(mu)), 5_000)
    r, v = W @ mu.to_numpy(), np.sqrt(np.einsum("ij,jk,ik->i", W, cov.to_numpy(), W))
    cloud = pd.DataFrame({"expected_return": r, "volatility": v, "sharpe_ratio": r / v})
    fig = frontier_figure(f, random_cloud=cloud)
    (heat,) = [t for t in fig.data if t.type == "heatmap"]
    assert heat.name == "Random portfolios (5,000)"
    assert not [t for t in fig.data if t.type == "scatter" and t.x is not None and len(t.x) > 100]
    counts = np.asarray(heat.customdata, dtype=float)
    z = np.asarray(heat.z, dtype=float)
    assert counts.sum() == 5_000
    assert np.isnan(z[counts == 0]).all() and np.isfinite(z[counts > 0]).all()
    # the cell holding the portfolio with the best Sharpe ratio: mean of the cell's members
    x, y = np.asarray(heat.x), np.asarray(heat.y)
    dx, dy = x[1] - x[0], y[1] - y[0]
    best = int(np.argmax(r / v))
    i, j = int(np.argmin(np.abs(y - r[best]))), int(np.argmin(np.abs(x - v[best])))
    members = (np.abs(v - x[j]) <= dx / 2 + 1e-12) & (np.abs(r - y[i]) <= dy / 2 + 1e-12)
    assert counts[i, j] == members.sum()
    assert z[i, j] == pytest.approx((r / v)[members].mean(), abs=1e-4)


def test_black_litterman_panels_hold_the_three_figures_with_fixed_margins():
    tickers = ["A&B", "C<i>", "D"]
    prior = pd.Series([0.05, 0.07, 0.06], index=tickers)
    posterior = prior + 0.01
    P = pd.DataFrame([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]], index=["V1", "V2"], columns=tickers)
    Q = pd.Series([0.08, 0.02], index=P.index)
    returns = bl_charts.prior_posterior_returns(prior, posterior, P, Q, ["<b>up</b>", "C > D"])
    weights = pd.DataFrame({"Market": [0.5, 0.3, 0.2],
                            "Black-Litterman (unconstrained)": [0.4, 0.4, 0.2]}, index=tickers)
    changes = weights[["Black-Litterman (unconstrained)"]].sub(weights["Market"], axis=0)
    figs = (returns, bl_charts.bl_weights(weights), bl_charts.weight_changes(changes))
    fig = bl_charts.panels(*figs)
    # Every trace of the three figures, in order, on its panel's axes, values unchanged.
    assert [t.name for t in fig.data] == [t.name for f in figs for t in f.data]
    assert [t.xaxis for t in fig.data] == (["x"] * len(figs[0].data) + ["x2"] * 2 + ["x3"])
    for got, want in zip(fig.data, [t for f in figs for t in f.data], strict=True):
        np.testing.assert_array_equal(np.asarray(got.y, dtype=float), np.asarray(want.y, float))
        assert got.hovertemplate == want.hovertemplate
        assert got.marker.color == want.marker.color
    # User text stays escaped once (no "&amp;amp;"), titles and units kept.
    assert list(fig.data[0].x) == ["A&amp;B", "C&lt;i&gt;", "D"]
    assert [a.text for a in fig.layout.annotations] == [f.layout.title.text for f in figs]
    assert fig.layout.yaxis.title.text == "Expected return (% a year)"
    assert fig.layout.yaxis3.title.text.startswith("Change in weight")
    # The changes share the weights' legend; nothing makes plotly lay out twice.
    assert fig.data[-1].showlegend is False and fig.data[-1].legend == "legend2"
    assert all(fig.layout[f"{a}axis{n}"].automargin is False
               for a in "xy" for n in ("", "2", "3"))
    # Built without plotly's validation: the same figure as the validated one, and valid.
    import json

    import plotly.graph_objects as go
    import plotly.io as pio

    checked = go.Figure(fig.to_dict())  # validates: raises on any invalid property
    assert json.loads(pio.to_json(checked, validate=False)) == json.loads(
        pio.to_json(fig, validate=False))


def test_fixed_margins_leave_room_for_upright_labels():
    fig = charts.weights_bar(pd.Series([0.6, 0.4], index=["SHORT", "A_MUCH_LONGER_NAME"]))
    charts.fixed_margins(fig, x_labels=fig.data[0].x)
    assert fig.layout.margin.autoexpand is False and fig.layout.xaxis.automargin is False
    assert fig.layout.xaxis.tickangle == -90
    assert fig.layout.margin.b >= 80 + 7 * len("A_MUCH_LONGER_NAME")
