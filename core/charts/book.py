"""Plotly figures of the book: the current holdings beside the proposal reachable from them.

Conventions as in :mod:`core.charts`: decimal inputs, percentage axes, units in titles.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.charts._common import finish

__all__ = ["before_after_bars"]


def before_after_bars(
    figures: pd.DataFrame, title: str = "Current book and proposal"
) -> go.Figure:
    """Grouped bars of decimal key figures, one group per figure, one colour per portfolio.

    Parameters
    ----------
    figures : DataFrame (n_portfolios, n_figures)
        Indexed by portfolio (e.g. ``"Current book"``, ``"Proposal"``); columns are decimal
        figures named with their units (expected return, volatility, tracking error, VaR, CVaR,
        turnover, costs). Columns that are all NaN are left out.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    frame = figures.dropna(axis=1, how="all")
    fig = go.Figure()
    for name, row in frame.iterrows():
        fig.add_bar(
            x=[str(c) for c in frame.columns],
            y=row.to_numpy(dtype=float),
            name=str(name),
            hovertemplate="%{x}: %{y:.2%}<extra>" + str(name) + "</extra>",
        )
    return finish(
        fig,
        title,
        yaxis=dict(title="% of the book's value (annualised where stated)", tickformat=".1%"),
        barmode="group",
        legend=dict(orientation="h", y=-0.25),
    )
