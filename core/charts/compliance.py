"""Plotly figures of compliance: the liquidity profile of a book.

Conventions as in :mod:`core.charts`: decimal inputs, percentage axes, units in titles.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.charts._common import finish

__all__ = ["liquidity_profile"]


def liquidity_profile(
    profiles: dict[str, pd.DataFrame], title: str = "Liquidity profile"
) -> go.Figure:
    """Share of each book sellable within 1, 5, 20 trading days, one bar group per horizon.

    Parameters
    ----------
    profiles : dict of str to DataFrame
        Portfolio name -> :func:`core.compliance.liquidity_profile` (index: days; column
        ``sellable``, a decimal share of the positions' value; ``unknown_volume`` likewise).
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    for name, frame in profiles.items():
        labels = [f"{d} day{'s' if d != 1 else ''}" for d in frame.index]
        fig.add_bar(
            x=labels, y=frame["sellable"].to_numpy(dtype=float), name=str(name),
            hovertemplate="%{x}: %{y:.1%} of the positions' value sellable<extra>"
            + str(name) + "</extra>",
        )  # fmt: skip
    return finish(
        fig, title, barmode="group",
        xaxis=dict(title="Horizon (trading days, at the participation rate of ADV)"),
        yaxis=dict(title="Sellable (% of the positions' value)", tickformat=".0%",
                   range=[0, 1.05]),
        height=360,
    )  # fmt: skip
