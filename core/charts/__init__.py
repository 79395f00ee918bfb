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

from core.charts._common import (
    LAYOUT,
    build,
    escape_figure,
    finish,
    fixed_margins,
    log_axis,
    portfolio_colour,
)

__all__ = [
    "weights_bar",
    "top_holdings",
    "sector_pie",
    "weights_and_sectors",
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
    data = _weight_traces(weights, top)
    return build(
        data,
        title,
        yaxis=dict(title=_WEIGHT_AXIS, tickformat=".0%"),
        xaxis=dict(title="Asset"),
        barmode="group",
        showlegend=len(data) > 1,
    )


_WEIGHT_AXIS = "Weight (% of capital)"


def _weight_traces(weights: pd.Series | pd.DataFrame, top: int) -> list[dict]:
    """Bar traces of :func:`weights_bar`, one per portfolio (plain dicts, not escaped)."""
    frame = weights.to_frame("Weight") if isinstance(weights, pd.Series) else weights
    frame = top_holdings(frame, top)
    x = [str(t) for t in frame.index]
    traces = []
    for col in frame.columns:
        trace = dict(type="bar", x=x, y=frame[col].to_numpy(dtype=float), name=str(col),
                     hovertemplate="%{x}: %{y:.2%}<extra>" + str(col) + "</extra>")
        colour = portfolio_colour(str(col))
        if colour is not None:  # else the template's colourway
            trace["marker"] = dict(color=colour)
        traces.append(trace)
    return traces


def _net_short(sector_weights: pd.Series) -> bool:
    """Whether a sector is net short, which a donut cannot draw."""
    return bool((sector_weights < -1e-6).any())


def _sector_bar(sector_weights: pd.Series) -> dict:
    """The bar trace of net sector weights, largest first (plain dict, not escaped)."""
    shown = sector_weights.sort_values(ascending=False)
    return dict(
        type="bar",
        x=[str(s) for s in shown.index],
        y=shown.to_numpy(dtype=float),
        marker=dict(color=["#2e86c1" if v >= 0 else "#c0392b" for v in shown]),
        hovertemplate="%{x}: %{y:+.2%} of capital (net)<extra></extra>",
        texttemplate="%{y:+.1%}",
        textposition="outside",
    )


def _sector_donut(sector_weights: pd.Series) -> dict:
    """The donut trace of the positive sector weights (plain dict, not escaped)."""
    positive = sector_weights[sector_weights > 1e-6]
    return dict(
        type="pie",
        labels=[str(s) for s in positive.index],
        values=positive.to_numpy(dtype=float),
        hole=0.45,
        hovertemplate="%{label}: %{value:.2%}<extra></extra>",
        texttemplate="%{label}<br>%{value:.1%}",
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
    if _net_short(sector_weights):
        return build(
            [_sector_bar(sector_weights)],
            f"{title} (net, long-short)",
            yaxis=dict(title=_NET_SECTOR_AXIS, tickformat=".0%", zeroline=True),
            xaxis=dict(title="Sector"),
            showlegend=False,
        )
    return build([_sector_donut(sector_weights)], title, showlegend=False)


_NET_SECTOR_AXIS = "Net weight (% of capital)"

#: Width of the weights panel in :func:`weights_and_sectors` (paper fraction); the sectors
#: take the rest after a gap, as the page's columns did (3 : 2).
_WEIGHTS_WIDTH, _GAP = 0.56, 0.1
#: Height of the plot area in px (the figure's 420 px with tickers for labels).
_PLOT_HEIGHT = 255


def weights_and_sectors(
    weights: pd.Series, sector_weights: pd.Series | None = None, top: int = 40
) -> go.Figure:
    """Portfolio weights and sector exposure as one figure, for a chart a slider redraws.

    The weights are the bars of :func:`weights_bar` (left); the sectors the chart of
    :func:`sector_pie` (right): a donut, or net-weight bars when a sector is net short. One
    figure redraws once where two redraw twice (in the browser each plotly chart costs about
    0.1 s to redraw whatever its size), and its margins are fixed from its content as
    :func:`fixed_margins` fixes them, so plotly lays it out once a move.

    Parameters
    ----------
    weights : Series (n_assets,)
        Decimal weights indexed by ticker.
    sector_weights : Series (n_sectors,), optional
        Decimal (net) weight per sector; None or empty draws the weights alone.
    top : int
        As in :func:`weights_bar`: the largest positions drawn, the rest summed in one bar.

    Returns
    -------
    plotly.graph_objects.Figure
        The weights on axes ``x``/``y``; the sector bars on ``x2``/``y2`` (long-short) or the
        donut in the right-hand domain. Each panel's title is an annotation above it.

    Notes
    -----
    Built from plain dicts with plotly's validation off (its private ``_validate``, plotly
    7.1): validating and then fixing the margins of two figures cost about 20 ms of every
    slider move, this about 2 ms. Tests check the figure equals the validated one.
    """
    data = _weight_traces(weights, top)
    sectors = sector_weights if sector_weights is not None and len(sector_weights) else None
    labels = list(data[0]["x"])
    width = _WEIGHTS_WIDTH if sectors is not None else 1.0
    layout: dict = dict(
        LAYOUT,
        showlegend=False,
        barmode="group",
        xaxis=dict(title=dict(text="Asset"), domain=[0.0, width], anchor="y", tickangle=-90,
                   automargin=False),
        yaxis=dict(title=dict(text=_WEIGHT_AXIS), tickformat=".0%", anchor="x",
                   automargin=False),
        annotations=[_panel_title("Portfolio weights", 0.0)],
    )  # fmt: skip
    if sectors is not None:
        left = width + _GAP
        if _net_short(sectors):
            bar = dict(_sector_bar(sectors), xaxis="x2", yaxis="y2")
            data.append(bar)
            labels += bar["x"]
            layout["xaxis2"] = dict(title=dict(text="Sector"), domain=[left, 1.0], anchor="y2",
                                    tickangle=-90, automargin=False)  # fmt: skip
            layout["yaxis2"] = dict(title=dict(text=_NET_SECTOR_AXIS), tickformat=".0%",
                                    zeroline=True, anchor="x2", automargin=False)  # fmt: skip
            title = "Sector exposure (net, long-short)"
        else:  # a donut, narrower than its panel: its labels are drawn outside it
            data.append(dict(_sector_donut(sectors), domain=dict(x=[left + 0.04, 0.96],
                                                                 y=[0.0, 1.0])))  # fmt: skip
            title = "Sector exposure"
        layout["annotations"].append(_panel_title(title, left))
    longest = max((len(s) for s in labels), default=0)
    bottom = 80 + 7 * min(longest, 30)  # upright labels: about 7 px a character (12 px font)
    layout["margin"] = dict(l=80, r=20, t=50, b=bottom, autoexpand=False)
    layout["height"] = _PLOT_HEIGHT + 50 + bottom  # long sector names do not squash the bars
    escape_figure(data=data, layout=layout)  # user text (tickers, sectors) shown literally
    return go.Figure(data=data, layout=layout, _validate=False)


def _panel_title(text: str, x: float) -> dict:
    """A panel's title: an annotation above the plot area, left-aligned at paper ``x``."""
    return dict(text=text, x=x, y=1.0, xref="paper", yref="paper", xanchor="left",
                yanchor="bottom", yshift=8, showarrow=False, font=dict(size=16))  # fmt: skip


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
