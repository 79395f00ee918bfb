"""Plotly figures of the Rebalance page: equity curves, drawdowns, active weights, stops.

Conventions as in :mod:`core.charts`: decimal inputs, percentage axes, units in titles.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.charts._common import finish, log_axis, portfolio_colour, thin

__all__ = ["equity_curves", "drawdown_curves", "yearly_bars", "active_weights_bar", "stop_chart"]


def equity_curves(
    equity: pd.DataFrame, title: str = "Growth of 1 after costs", benchmark: str | None = None
) -> go.Figure:
    """Wealth paths on a log axis, one line per strategy (the benchmark drawn dark, dotted).

    Parameters
    ----------
    equity : DataFrame (n_days, n_series)
        Wealth starting at 1.
    title : str
        Figure title.
    benchmark : str, optional
        Column holding the benchmark.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    eq = thin(equity, keep_last=True)
    fig = go.Figure()
    for i, col in enumerate(eq.columns):
        bench = col == benchmark
        fig.add_scatter(
            x=eq.index, y=eq[col], name=str(col), mode="lines",
            line=dict(width=2.5 if i == 0 else 1.5,
                      color=portfolio_colour("benchmark" if bench else str(col)),
                      dash="dot" if bench else None),
            hovertemplate="%{x|%Y-%m-%d}: %{y:.2f}x<extra>" + str(col) + "</extra>",
        )  # fmt: skip
    return finish(
        fig,
        title,
        yaxis=log_axis(eq, "Value of 1 invested (log scale)"),
        xaxis=dict(title="Date"),
        legend=dict(orientation="h", y=-0.15),
    )


def drawdown_curves(drawdowns: pd.DataFrame, title: str = "Drawdown from peak") -> go.Figure:
    """Drawdowns (negative decimals) per strategy.

    Parameters
    ----------
    drawdowns : DataFrame (n_days, n_series)
        ``core.performance.drawdowns`` of the returns.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    dd = thin(drawdowns, keep_last=True)
    fig = go.Figure()
    for col in dd.columns:
        fig.add_scatter(
            x=dd.index, y=dd[col], name=str(col), mode="lines", line=dict(width=1.2),
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>" + str(col) + "</extra>",
        )  # fmt: skip
    return finish(
        fig,
        title,
        yaxis=dict(title="Drawdown (% below peak)", tickformat=".0%"),
        xaxis=dict(title="Date"),
        legend=dict(orientation="h", y=-0.15),
        height=340,
    )


def yearly_bars(yearly: pd.DataFrame, title: str = "Calendar-year returns") -> go.Figure:
    """Grouped bars of calendar-year returns.

    Parameters
    ----------
    yearly : DataFrame (n_years, n_series)
        Decimal returns per year.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    for col in yearly.columns:
        fig.add_bar(
            x=yearly.index.astype(str), y=yearly[col], name=str(col),
            hovertemplate="%{x}: %{y:.1%}<extra>" + str(col) + "</extra>",
        )  # fmt: skip
    return finish(
        fig,
        title,
        barmode="group",
        yaxis=dict(title="Return (% in the year)", tickformat=".0%"),
        xaxis=dict(title="Year"),
        legend=dict(orientation="h", y=-0.2),
    )


def active_weights_bar(active: pd.Series, title: str = "Active weights") -> go.Figure:
    """Horizontal bars of active weights (portfolio minus benchmark), over- and underweights.

    Parameters
    ----------
    active : Series
        Decimal active weight per asset or sector.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    a = active.sort_values()
    fig = go.Figure(
        go.Bar(
            x=a.to_numpy(), y=a.index.astype(str), orientation="h",
            marker_color=["#c0392b" if v < 0 else "#2e86c1" for v in a.to_numpy()],
            hovertemplate="%{y}: %{x:+.2%}<extra></extra>",
        )
    )  # fmt: skip
    return finish(
        fig,
        title,
        xaxis=dict(title="Active weight (% points, portfolio - benchmark)", tickformat=".0%"),
        yaxis=dict(title=""),
        height=max(300, 22 * len(a) + 100),
    )


def stop_chart(
    prices: pd.Series, stop: float, take: float, title: str | None = None, days: int = 504
) -> go.Figure:
    """Recent price history of one asset with its stop-loss and take-profit levels.

    Parameters
    ----------
    prices : Series (n_days,)
        Adjusted closes of the asset.
    stop, take : float
        Stop-loss and take-profit prices.
    title : str, optional
        Figure title (default: the series' name).
    days : int
        Trading days of history shown.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    p = prices.iloc[-days:]
    last = float(p.iloc[-1])
    fig = go.Figure()
    fig.add_scatter(x=p.index, y=p, mode="lines", name="Price", line=dict(color="#34495e"),
                    hovertemplate="%{x|%Y-%m-%d}: %{y:.2f}<extra></extra>")  # fmt: skip
    for level, name, color in ((stop, "Stop-loss", "#c0392b"), (take, "Take-profit", "#27ae60")):
        fig.add_hline(
            y=level, line=dict(color=color, dash="dash"),
            annotation_text=f"{name} {level:,.2f} ({level / last - 1:+.1%})",
            annotation_position="top left",
        )  # fmt: skip
    return finish(
        fig,
        title or f"{prices.name}: price with stop-loss and take-profit",
        yaxis=dict(title="Price"),
        xaxis=dict(title="Date"),
        showlegend=False,
        height=320,
    )
