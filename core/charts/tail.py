"""Plotly figures of the tail-risk and hierarchical allocations.

The dendrogram of HRP / HERC and the mean-CVaR frontier.

Conventions
-----------
CVaR is a decimal loss per scenario period (a trading day), returns annualised decimals, both
shown as percentages. The dendrogram's heights are the linkage's merge distances (unitless).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts._common import PORTFOLIO_COLOURS, finish

__all__ = ["dendrogram", "mean_cvar_frontier_figure"]


def dendrogram(linkage: np.ndarray, labels: list[str], title: str = "Hierarchical clustering",
               n_clusters: int | None = None) -> go.Figure:  # fmt: skip
    """The clustering tree of HRP / HERC, leaves in the order the allocation visits them.

    Parameters
    ----------
    linkage : ndarray (n_assets - 1, 4)
        SciPy linkage matrix (e.g. skfolio's ``linkage_matrix_``).
    labels : list of str
        Ticker of each asset, in the linkage's index order.
    title : str
        Figure title.
    n_clusters : int, optional
        Colour the tree cut into this many clusters (HERC); one colour otherwise.

    Returns
    -------
    plotly.graph_objects.Figure

    References
    ----------
    ``scipy.cluster.hierarchy.dendrogram`` (the layout; drawn here with plotly).
    """
    from scipy.cluster.hierarchy import dendrogram as layout

    threshold = None
    if n_clusters is not None and 1 < n_clusters <= len(labels):
        heights = np.sort(linkage[:, 2])
        threshold = float(heights[-(n_clusters - 1)]) - 1e-12
    tree = layout(linkage, labels=list(labels), no_plot=True,
                  color_threshold=threshold if threshold is not None else 0)  # fmt: skip
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#17becf", "#bcbd22", "#7f7f7f"]  # fmt: skip
    colours: dict[str, str] = {}
    fig = go.Figure()
    for xs, ys, c in zip(tree["icoord"], tree["dcoord"], tree["color_list"], strict=True):
        colour = colours.setdefault(c, palette[len(colours) % len(palette)]) if (
            threshold is not None) else "#444444"  # fmt: skip
        fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=1.6),
                        hovertemplate="Distance %{y:.3f}<extra></extra>", showlegend=False)
    ticks = [5 + 10 * i for i in range(len(tree["ivl"]))]
    return finish(
        fig, title,
        xaxis=dict(title="Asset", tickmode="array", tickvals=ticks, ticktext=tree["ivl"],
                   tickangle=-45),
        yaxis=dict(title="Merge distance (correlation distance, Ward)"),
    )  # fmt: skip


def mean_cvar_frontier_figure(frontier: pd.DataFrame, portfolio: tuple[float, float] | None = None,
                              title: str = "Mean-CVaR efficient frontier",
                              confidence: float = 0.95) -> go.Figure:  # fmt: skip
    """Expected return against CVaR along the mean-CVaR frontier.

    Parameters
    ----------
    frontier : DataFrame
        :func:`core.scenario_optimization.mean_cvar_frontier`'s output (``cvar``,
        ``expected_return``, weights by ticker).
    portfolio : tuple of float, optional
        (CVaR, expected return) of the current allocation, marked.
    title : str
        Figure title.
    confidence : float
        Of the CVaR, for the axis title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    tickers = [c for c in frontier.columns if c not in ("expected_return", "cvar",
                                                        "return_to_cvar")]
    hover = [
        "<br>".join(f"{t} {row[t]:.1%}" for t in row[tickers].sort_values(ascending=False)
                    .index[:5] if row[t] > 1e-4)
        for _, row in frontier.iterrows()
    ]  # fmt: skip
    fig = go.Figure()
    fig.add_scatter(x=frontier["cvar"], y=frontier["expected_return"], mode="lines+markers",
                    name="Mean-CVaR frontier", customdata=hover,
                    line=dict(color="#2ca02c"),
                    hovertemplate="CVaR %{x:.2%} a day<br>Return %{y:.2%} a year<br>"
                                  "%{customdata}<extra></extra>")  # fmt: skip
    if portfolio is not None:
        fig.add_scatter(x=[portfolio[0]], y=[portfolio[1]], mode="markers",
                        name="Current allocation",
                        marker=dict(symbol="x", size=13, color=PORTFOLIO_COLOURS["optimised"]),
                        hovertemplate="CVaR %{x:.2%}<br>Return %{y:.2%}<extra></extra>")
    return finish(
        fig, title,
        xaxis=dict(title=f"CVaR {confidence:.1%} (daily loss, % of the book)", tickformat=".2%"),
        yaxis=dict(title="Expected return (annualised, %)", tickformat=".0%"),
    )  # fmt: skip
