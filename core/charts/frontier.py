"""Plotly figures of the efficient frontier: the risk-return map and the transition map.

Conventions
-----------
Returns and volatilities are annualised decimals, shown as percentages on the axes
(``tickformat=".0%"``); weights are decimals. Every trace can be toggled from the legend.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.charts._common import PORTFOLIO_COLOURS, finish
from core.frontier import Frontier

__all__ = ["active_frontier_figure", "frontier_figure", "transition_map", "weights_hover"]

#: Hover lines of a point on the risk-return map.
_RISK_RETURN = "Volatility %{x:.2%}<br>Return %{y:.2%}"
#: Tangency portfolio and capital market line: a colour no named portfolio has.
_TANGENCY = "#17becf"
_MARKERS = {
    "Current allocation": dict(symbol="x", size=13, color=PORTFOLIO_COLOURS["optimised"]),
    "Current holdings": dict(symbol="square", size=12, color=PORTFOLIO_COLOURS["holdings"]),
    "Selected portfolio": dict(symbol="circle-open", size=18, color="#111111", line=dict(width=3)),
}


def weights_hover(weights: pd.DataFrame, top: int = 8, threshold: float = 0.005) -> list[str]:
    """One hover line per portfolio listing its largest positions.

    Parameters
    ----------
    weights : DataFrame (n_portfolios, n_assets)
        Decimal weights, columns are tickers.
    top : int
        Most positions listed (by absolute weight).
    threshold : float
        Positions below this absolute weight (decimal) are left out.

    Returns
    -------
    list of str
        HTML lines such as ``"AAPL 25.0 %<br>KO 12.1 %"``.
    """
    out = []
    cols = np.asarray(weights.columns.astype(str))
    for row in weights.to_numpy():
        order = np.argsort(-np.abs(row))[:top]
        parts = [f"{cols[i]} {row[i] * 100:.1f} %" for i in order if abs(row[i]) >= threshold]
        out.append("<br>".join(parts))
    return out


def frontier_figure(
    frontier: Frontier,
    assets: pd.DataFrame | None = None,
    random_cloud: pd.DataFrame | None = None,
    points: Mapping[str, tuple[float, float]] | None = None,
    overlays: Mapping[str, Frontier] | None = None,
    show_cml: bool = True,
    title: str = "Efficient frontier",
) -> go.Figure:
    """Risk-return map: the frontier, assets, random portfolios, the capital market line.

    Parameters
    ----------
    frontier : Frontier
        The frontier to draw (hover shows each point's weights).
    assets : DataFrame, optional
        One row per asset (index: ticker) with decimal columns ``expected_return`` and
        ``volatility`` (annualised).
    random_cloud : DataFrame, optional
        Random portfolios with columns ``expected_return``, ``volatility``, ``sharpe_ratio``;
        drawn as a map of cells coloured by their mean Sharpe ratio (one image: cheap to
        redraw however many portfolios).
    points : mapping of str to (float, float), optional
        Named portfolios as (volatility, expected return), annualised decimals, e.g.
        ``{"Current allocation": (0.18, 0.12)}``.
    overlays : mapping of str to Frontier, optional
        Other frontiers drawn as dashed lines (unconstrained, another estimator).
    show_cml : bool
        Draw the capital market line from the risk-free rate through the tangency portfolio.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    rf = frontier.risk_free_rate
    if random_cloud is not None and len(random_cloud):
        fig.add_trace(_cloud_heatmap(random_cloud))
    for i, (name, other) in enumerate((overlays or {}).items()):
        fig.add_scatter(
            x=other.volatilities,
            y=other.returns,
            mode="lines",
            name=name,
            line=dict(dash="dash" if i == 0 else "dot", width=2),
            text=weights_hover(other.weights),
            hovertemplate=_RISK_RETURN + "<br>%{text}<extra>" + name + "</extra>",
        )
    fig.add_scatter(
        x=frontier.volatilities,
        y=frontier.returns,
        mode="lines+markers",
        name="Efficient frontier",
        line=dict(width=3, color="#34495e"),
        marker=dict(size=5),
        text=weights_hover(frontier.weights),
        customdata=frontier.sharpe_ratios,
        hovertemplate=_RISK_RETURN + "<br>Sharpe %{customdata:.2f}"
        "<br>%{text}<extra>Frontier</extra>",
    )
    tan = frontier.tangency
    if show_cml and tan is not None and np.isfinite(tan.sharpe_ratio):
        # to the end of the frontier: further out it would only stretch the return axis
        x_end = max(float(np.max(frontier.volatilities)), tan.volatility * 1.5)
        fig.add_scatter(
            x=[0.0, x_end],
            y=[rf, rf + tan.sharpe_ratio * x_end],
            mode="lines",
            name="Capital market line",
            line=dict(color=_TANGENCY, width=2),
            hovertemplate=_RISK_RETURN + "<extra>Capital market line</extra>",
        )
    mv = frontier.min_variance
    fig.add_scatter(
        x=[mv.volatility],
        y=[mv.expected_return],
        mode="markers",
        name="Minimum variance",
        marker=dict(symbol="star", size=16, color="#2ca02c"),
        text=weights_hover(mv.weights.to_frame().T),
        hovertemplate=_RISK_RETURN + "<br>%{text}<extra>Minimum variance</extra>",
    )
    if tan is not None:
        fig.add_scatter(
            x=[tan.volatility],
            y=[tan.expected_return],
            mode="markers",
            name=f"Tangency (max Sharpe {tan.sharpe_ratio:.2f})",
            marker=dict(symbol="diamond", size=14, color=_TANGENCY),
            text=weights_hover(tan.weights.to_frame().T),
            hovertemplate=_RISK_RETURN + "<br>%{text}<extra>Tangency portfolio</extra>",
        )
    if assets is not None and len(assets):
        fig.add_scatter(
            x=assets["volatility"],
            y=assets["expected_return"],
            mode="markers+text",
            name="Assets",
            text=assets.index.astype(str),
            textposition="top center",
            textfont=dict(size=10),
            marker=dict(size=8, color="#7f7f7f", symbol="circle"),
            hovertemplate="%{text}<br>Volatility %{x:.2%}<br>Return %{y:.2%}<extra>Asset</extra>",
        )
    for name, (vol, ret) in (points or {}).items():
        fig.add_scatter(
            x=[vol],
            y=[ret],
            mode="markers",
            name=name,
            marker=_MARKERS.get(name, dict(size=12)),
            hovertemplate=_RISK_RETURN + "<extra>" + name + "</extra>",
        )
    return finish(
        fig,
        title,
        xaxis=dict(title="Volatility (annualised, %)", tickformat=".0%", rangemode="tozero"),
        yaxis=dict(title="Expected return (annualised, %)", tickformat=".0%"),
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0),
        height=620,
    )


#: Cells of the random-portfolio map (volatility x return).
_CLOUD_BINS = (72, 54)


def _cloud_heatmap(cloud: pd.DataFrame, bins: tuple[int, int] = _CLOUD_BINS) -> go.Heatmap:
    """Random portfolios as a map of cells coloured by their mean Sharpe ratio.

    Thousands of markers cost the browser seconds to redraw on every move of the frontier's
    pick slider; a grid of at most ``bins`` cells is one image whatever the number of
    portfolios, and shows the same thing: where feasible portfolios lie and how good they
    are. Empty cells are transparent.

    Parameters
    ----------
    cloud : DataFrame
        Columns ``volatility``, ``expected_return`` (annualised decimals), ``sharpe_ratio``.
    bins : (int, int)
        Cells along volatility and along return.

    Returns
    -------
    plotly.graph_objects.Heatmap
        Named "Random portfolios (N)"; hover gives the cell's count and mean Sharpe ratio.
    """
    x = cloud["volatility"].to_numpy(float)
    y = cloud["expected_return"].to_numpy(float)
    s = cloud["sharpe_ratio"].to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(s)
    x, y, s = x[ok], y[ok], s[ok]
    if not len(x):
        x = y = s = np.zeros(1)

    def edges(v, k):
        lo, hi = float(v.min()), float(v.max())
        pad = max(hi - lo, abs(hi), 1e-6) * 1e-6
        return np.linspace(lo - pad, hi + pad, k + 1)

    ex, ey = edges(x, bins[0]), edges(y, bins[1])
    count, _, _ = np.histogram2d(y, x, bins=(ey, ex))
    total, _, _ = np.histogram2d(y, x, bins=(ey, ex), weights=s)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return go.Heatmap(
        x=(ex[:-1] + ex[1:]) / 2,
        y=(ey[:-1] + ey[1:]) / 2,
        z=np.round(mean, 4),
        customdata=count.astype(int),
        colorscale="Viridis",
        opacity=0.7,
        hoverongaps=False,
        name=f"Random portfolios ({int(ok.sum()):,})",
        showlegend=True,
        colorbar=dict(title="Sharpe ratio", x=1.02, len=0.6, y=0.3),
        hovertemplate="Volatility about %{x:.1%}<br>Return about %{y:.1%}<br>"
        "%{customdata:,} random portfolios, mean Sharpe %{z:.2f}<extra>Random portfolios</extra>",
    )


def transition_map(frontier: Frontier, x: str = "volatility", title: str = "") -> go.Figure:
    """Stacked areas of the weights along the frontier (the transition map).

    Parameters
    ----------
    frontier : Frontier
        The frontier.
    x : {"volatility", "expected_return"}
        Horizontal axis: the points' annualised volatility or expected return.
    title : str
        Figure title; a default names the axis.

    Returns
    -------
    plotly.graph_objects.Figure
        Long positions stack upwards, short positions downwards.
    """
    xs = frontier.volatilities if x == "volatility" else frontier.returns
    label = "Volatility" if x == "volatility" else "Expected return"
    W = frontier.weights
    held = [c for c in W.columns if W[c].abs().max() > 1e-6]
    fig = go.Figure()
    has_short = bool((W[held] < -1e-9).any().any()) if held else False
    # 26 distinct colours, so that neighbouring areas of a 20-asset universe never share one
    palette = qualitative.Alphabet
    for n, col in enumerate(held):
        w = W[col].to_numpy()
        color = palette[n % len(palette)]
        fig.add_scatter(
            x=xs,
            y=np.clip(w, 0, None),
            mode="lines",
            stackgroup="long",
            name=str(col),
            legendgroup=str(col),
            line=dict(width=0.5, color=color),
            customdata=w,
            hovertemplate=f"{label} %{{x:.2%}}<br>{col}: %{{customdata:.2%}}<extra></extra>",
        )
        if has_short and (w < -1e-9).any():
            fig.add_scatter(
                x=xs,
                y=np.clip(w, None, 0),
                mode="lines",
                stackgroup="short",
                name=f"{col} (short)",
                legendgroup=str(col),
                showlegend=False,
                line=dict(width=0.5, color=color),
                hoverinfo="skip",
            )
    return finish(
        fig,
        title or f"Weights along the frontier, by {label.lower()}",
        xaxis=dict(title=f"{label} (annualised, %)", tickformat=".0%"),
        yaxis=dict(title="Weight (% of capital)", tickformat=".0%"),
        height=460,
        hovermode="x unified",
    )


def active_frontier_figure(
    points: pd.DataFrame,
    benchmark: str,
    marks: Mapping[str, tuple[float, float]] | None = None,
    title: str = "",
) -> go.Figure:
    """The active frontier: active return against tracking error, relative to a benchmark.

    Parameters
    ----------
    points : DataFrame (n_points, 3 + n_assets)
        :func:`core.optimization.active_frontier`: ``tracking_error``, ``active_return``
        (annualised decimals), ``information_ratio``, then the weights (hover).
    benchmark : str
        The benchmark's name (axis titles and the origin's marker).
    marks : mapping of str to (float, float), optional
        Named portfolios as (tracking error, active return), annualised decimals.
    title : str
        Figure title (default: names the benchmark).

    Returns
    -------
    plotly.graph_objects.Figure

    References
    ----------
    Roll (1992), "A mean/variance analysis of tracking error", Journal of Portfolio
    Management 18(4).
    """
    weights = points.drop(columns=["tracking_error", "active_return", "information_ratio"])
    fig = go.Figure()
    fig.add_scatter(
        x=points["tracking_error"], y=points["active_return"], mode="lines+markers",
        name="Active frontier", marker=dict(size=5), line=dict(width=3),
        customdata=points["information_ratio"], text=weights_hover(weights),
        hovertemplate="Tracking error %{x:.2%}<br>Active return %{y:.2%}<br>Information ratio "
        "%{customdata:.2f}<br>%{text}<extra>Active frontier</extra>",
    )  # fmt: skip
    fig.add_scatter(x=[0.0], y=[0.0], mode="markers", name=benchmark,
                    marker=dict(symbol="diamond", size=12, color=PORTFOLIO_COLOURS["benchmark"]),
                    hovertemplate=f"{benchmark}: no active risk<extra></extra>")  # fmt: skip
    for name, (te, active) in (marks or {}).items():
        fig.add_scatter(x=[te], y=[active], mode="markers", name=name,
                        marker=_MARKERS.get(name, dict(size=12)),
                        hovertemplate="Tracking error %{x:.2%}<br>Active return %{y:.2%}"
                        f"<extra>{name}</extra>")  # fmt: skip
    return finish(
        fig, title or f"Active frontier against {benchmark}",
        xaxis=dict(title=f"Tracking error against {benchmark} (annualised)", tickformat=".1%",
                   rangemode="tozero"),
        yaxis=dict(title="Active return (annualised)", tickformat=".1%"),
    )  # fmt: skip
