"""Plotly figures of the Data page: the universe's annualised return against volatility.

Conventions as in :mod:`core.charts`: decimal inputs, percentage axes.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.charts._common import finish

__all__ = ["return_volatility_scatter"]


def return_volatility_scatter(
    quality: pd.DataFrame, sectors: pd.Series | None = None, title: str = "Return and volatility"
) -> go.Figure:
    """Scatter of each asset's annualised return against its annualised volatility.

    Parameters
    ----------
    quality : DataFrame (n_assets, ...)
        Output of :func:`core.market_data.data_quality` (columns ``annualised_return`` and
        ``annualised_volatility``, decimals), indexed by ticker.
    sectors : Series, optional
        Sector per ticker; one colour (legend entry) per sector.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    groups = (
        sectors.reindex(quality.index).fillna("Unknown")
        if sectors is not None
        else pd.Series("Assets", index=quality.index)
    )
    fig = go.Figure()
    for sector in sorted(groups.unique()):
        part = quality[groups == sector]
        fig.add_scatter(
            x=part["annualised_volatility"],
            y=part["annualised_return"],
            mode="markers+text",
            text=part.index.astype(str),
            textposition="top center",
            name=str(sector),
            marker=dict(size=10),
            hovertemplate="%{text}: return %{y:.1%}, volatility %{x:.1%}<extra>"
            + str(sector)
            + "</extra>",
        )
    return finish(
        fig,
        title,
        xaxis=dict(title="Volatility (annualised, %)", tickformat=".0%", rangemode="tozero"),
        yaxis=dict(title="Mean return (annualised, %)", tickformat=".0%"),
        showlegend=sectors is not None,
    )
