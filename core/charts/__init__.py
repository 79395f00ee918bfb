"""Plotly figure builders: data in, ``go.Figure`` out, no Streamlit.

Conventions
-----------
Decimal inputs (weights, returns, volatilities) are shown as percentages on the axes
(``tickformat=".0%"``), never multiplied by 100 in the data. Every figure has a title, axis
titles with units, and hover text with units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts._common import build, finish, fixed_margins, log_axis, portfolio_colour

__all__ = [
    "weights_bar",
    "top_holdings",
    "sector_pie",
    "normalized_prices",
    "correlation_heatmap",
    "fixed_margins",
]


def top_holdings(frame: pd.DataFrame, top: int = 40) -> pd.DataFrame:
    """The ``top`` largest positions and one row aggregating the rest (large universes).

    Parameters
    ----------
    frame : DataFrame (n_assets, n_portfolios)
        Decimal weights indexed by ticker.
    top : int
        Rows kept, ranked by the largest absolute weight in any column.

    Returns
    -------
    DataFrame (min(n_assets, top + 1), n_portfolios)
        ``frame`` itself when it has at most ``top + 1`` rows; else its ``top`` largest rows in
        their order and ``"Other (k assets)"``, the sum of the other ``k`` rows' weights.
    """
    if len(frame) <= top + 1:
        return frame
    size = frame.abs().max(axis=1).to_numpy()
    keep = np.sort(np.argsort(-size, kind="stable")[:top])
    rest = np.setdiff1d(np.arange(len(frame)), keep)
    out = frame.iloc[keep].copy()
    out.index = out.index.astype(str)
    out.loc[f"Other ({len(rest):,} assets)"] = frame.iloc[rest].sum(axis=0)
    return out


def weights_bar(
    weights: pd.Series | pd.DataFrame, title: str = "Portfolio weights", top: int = 40
) -> go.Figure:
    """Bar chart of portfolio weights, one bar (group) per asset.

    Parameters
    ----------
    weights : Series (n_assets,) or DataFrame (n_assets, n_portfolios)
        Decimal weights indexed by ticker; a DataFrame draws one bar series per column.
    title : str
        Figure title.
    top : int
        With more assets, the ``top`` largest positions are drawn and the others are summed
        in one "Other" bar (:func:`top_holdings`): a bar per asset is unreadable at 1,000.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    frame = weights.to_frame("Weight") if isinstance(weights, pd.Series) else weights
    frame = top_holdings(frame, top)
    x = [str(t) for t in frame.index]
    data = [
        dict(type="bar", x=x, y=frame[col].to_numpy(dtype=float), name=str(col),
             marker=dict(color=portfolio_colour(str(col))),
             hovertemplate="%{x}: %{y:.2%}<extra>" + str(col) + "</extra>")
        for col in frame.columns
    ]  # fmt: skip
    return build(
        data,
        title,
        yaxis=dict(title="Weight (% of capital)", tickformat=".0%"),
        xaxis=dict(title="Asset"),
        barmode="group",
        showlegend=frame.shape[1] > 1,
    )


def sector_pie(sector_weights: pd.Series, title: str = "Sector exposure") -> go.Figure:
    """Weight per sector: a donut for a long-only portfolio, bars when any sector is net short.

    A donut cannot draw a negative slice (plotly drops it, and the others then add to more
    than 100 %), so any negative sector weight gives a bar chart of net weights instead.

    Parameters
    ----------
    sector_weights : Series
        Decimal (net) weight per sector.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if (sector_weights < -1e-6).any():
        shown = sector_weights.sort_values(ascending=False)
        bar = dict(
            type="bar",
            x=[str(s) for s in shown.index],
            y=shown.to_numpy(dtype=float),
            marker=dict(color=["#2e86c1" if v >= 0 else "#c0392b" for v in shown]),
            hovertemplate="%{x}: %{y:+.2%} of capital (net)<extra></extra>",
            texttemplate="%{y:+.1%}",
            textposition="outside",
        )
        return build(
            [bar],
            f"{title} (net, long-short)",
            yaxis=dict(title="Net weight (% of capital)", tickformat=".0%", zeroline=True),
            xaxis=dict(title="Sector"),
            showlegend=False,
        )
    positive = sector_weights[sector_weights > 1e-6]
    pie = dict(
        type="pie",
        labels=[str(s) for s in positive.index],
        values=positive.to_numpy(dtype=float),
        hole=0.45,
        hovertemplate="%{label}: %{value:.2%}<extra></extra>",
        texttemplate="%{label}<br>%{value:.1%}",
    )
    return build([pie], title, showlegend=False)


def normalized_prices(
    prices: pd.DataFrame, benchmark: pd.Series | None = None, title: str = "Growth of 1"
) -> go.Figure:
    """Prices rebased to 1 at the window's start, on a log axis.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Adjusted closes.
    benchmark : Series (n_observations,), optional
        Benchmark level, drawn as a thick dark line.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    # Thin the series to at most ~1500 points per line: the shape is unchanged, the page light.
    step = max(1, len(prices) // 1500)
    rebased = prices.iloc[::step] / prices.iloc[0]
    fig = go.Figure()
    drawn = [rebased]
    for col in rebased.columns:
        fig.add_scatter(
            x=rebased.index,
            y=rebased[col],
            name=str(col),
            mode="lines",
            line=dict(width=1),
            hovertemplate="%{x|%Y-%m-%d}: %{y:.2f}x<extra>" + str(col) + "</extra>",
        )
    if benchmark is not None and benchmark.notna().any():
        b = benchmark.iloc[::step].dropna()
        drawn.append(b / b.iloc[0])
        fig.add_scatter(
            x=b.index,
            y=b / b.iloc[0],
            name=str(benchmark.name or "Benchmark"),
            mode="lines",
            line=dict(width=3, color=portfolio_colour("benchmark")),
        )
    return finish(
        fig,
        title,
        yaxis=log_axis(pd.concat(drawn, axis=1), "Value of 1 invested (log scale)"),
        xaxis=dict(title="Date"),
    )


def correlation_heatmap(
    corr: pd.DataFrame, title: str = "Correlation of returns", max_assets: int = 100
) -> go.Figure:
    """Heatmap of a correlation matrix on a fixed [-1, 1] diverging scale.

    Parameters
    ----------
    corr : DataFrame (n_assets, n_assets)
        Correlations.
    title : str
        Figure title.
    max_assets : int
        With more assets only the first ``max_assets`` are drawn and the title says so (a
        1,000-asset heatmap is a million cells: megabytes for the browser, and unreadable).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if len(corr) > max_assets:
        title = f"{title} (first {max_assets} of {len(corr):,} assets)"
        corr = corr.iloc[:max_assets, :max_assets]
    labels = corr.columns.astype(str)
    fig = go.Figure(
        go.Heatmap(
            z=np.round(corr.to_numpy(), 3),
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            colorbar=dict(title="Correlation"),
            hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>",
        )
    )
    return finish(fig, title, yaxis=dict(autorange="reversed"), height=560)
