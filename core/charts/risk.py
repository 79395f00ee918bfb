"""Plotly figures of the risk report: data in, ``go.Figure`` out, no Streamlit.

Conventions as in :mod:`core.charts`: decimals on percentage axes (``tickformat``), never
multiplied by 100 in the data. VaR and CVaR are positive losses; on a return axis they are drawn
at ``-VaR`` and ``-CVaR``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts._common import finish, thin

__all__ = [
    "return_distribution",
    "var_by_method",
    "contributions_bar",
    "drawdown_chart",
    "backtest_chart",
    "stress_bar",
    "rolling_correlation_chart",
    "correlation_stress_chart",
]

_COLORS = ["#d62728", "#ff7f0e", "#9467bd", "#1f77b4", "#2ca02c", "#8c564b"]


def return_distribution(
    returns: pd.Series | np.ndarray,
    lines: dict[str, tuple[float, float]],
    horizon: int = 1,
    confidence: float = 0.95,
    title: str | None = None,
) -> go.Figure:
    """Histogram of portfolio returns with VaR (dashed) and CVaR (dotted) lines per method.

    Parameters
    ----------
    returns : Series or ndarray (n,)
        Decimal portfolio returns over the horizon.
    lines : dict of str to (float, float)
        Method label -> (VaR, CVaR) as positive decimal losses, drawn at ``-VaR``, ``-CVaR``.
    horizon : int
        Trading days, for the axis title.
    confidence : float
        For the title.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    x = np.asarray(returns, dtype=float)
    fig = go.Figure(
        go.Histogram(
            x=x,
            nbinsx=120,
            name="Returns",
            marker_color="#9ecae1",
            histnorm="probability",
            hovertemplate="%{x:.2%}: %{y:.2%} of days<extra></extra>",
        )
    )
    for i, (label, (var, cvar)) in enumerate(lines.items()):
        color = _COLORS[i % len(_COLORS)]
        for value, dash, what in ((var, "dash", "VaR"), (cvar, "dot", "CVaR")):
            fig.add_scatter(
                x=[-value, -value],
                y=[0, 1],
                yaxis="y2",
                mode="lines",
                line=dict(color=color, dash=dash, width=2),
                name=f"{what} {label}",
                hovertemplate=f"{what} {label}: {value:.2%} loss<extra></extra>",
            )
    span = f"{horizon}-day" if horizon > 1 else "Daily"
    return finish(
        fig,
        title or f"{span} portfolio returns with VaR and CVaR at {confidence:.1%}",
        xaxis=dict(title=f"{span} return (%)", tickformat=".1%"),
        yaxis=dict(title="Share of observations", tickformat=".1%"),
        yaxis2=dict(overlaying="y", range=[0, 1], visible=False),
        legend=dict(orientation="h", y=-0.2),
        height=460,
    )


def var_by_method(table: pd.DataFrame, title: str = "VaR and CVaR by method") -> go.Figure:
    """Grouped bars of VaR and CVaR per method and confidence.

    Parameters
    ----------
    table : DataFrame
        ``core.risk.risk_table`` output (``label``, ``confidence``, ``var``, ``cvar``).
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    for i, (c, part) in enumerate(table.groupby("confidence", sort=True)):
        for what, opacity in (("var", 1.0), ("cvar", 0.55)):
            fig.add_bar(
                x=part["label"],
                y=part[what],
                name=f"{what.upper()} {c:.1%}",
                marker=dict(color=_COLORS[i % len(_COLORS)], opacity=opacity),
                hovertemplate="%{x}: %{y:.2%} loss<extra>" + f"{what.upper()} {c:.1%}</extra>",
            )
    return finish(
        fig,
        title,
        barmode="group",
        yaxis=dict(title="Loss (% of portfolio value)", tickformat=".1%"),
    )


def contributions_bar(
    frame: pd.DataFrame, title: str = "Contributions to risk", kind: str = "share"
) -> go.Figure:
    """Grouped bars of component contributions to volatility, VaR and CVaR.

    Parameters
    ----------
    frame : DataFrame
        ``RiskContributions.assets`` or ``.sectors`` (columns ``<m>_share``/``<m>_component``
        for ``m`` in volatility, var, cvar).
    title : str
    kind : {"share", "component"}
        Share of the total (sums to 100 %) or the component itself (decimal).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    names = {"volatility": "Volatility", "var": "VaR", "cvar": "CVaR"}
    for i, (m, label) in enumerate(names.items()):
        fig.add_bar(
            x=frame.index.astype(str),
            y=frame[f"{m}_{kind}"],
            name=label,
            marker_color=_COLORS[(i + 3) % len(_COLORS)],
            hovertemplate="%{x}: %{y:.2%}<extra>" + label + "</extra>",
        )
    ytitle = "Share of total risk (%)" if kind == "share" else "Component (% of portfolio value)"
    return finish(fig, title, barmode="group", yaxis=dict(title=ytitle, tickformat=".0%"))


def drawdown_chart(curve: pd.Series, title: str = "Drawdown from the running peak") -> go.Figure:
    """Underwater chart: drawdown below the running peak over time.

    Parameters
    ----------
    curve : Series
        Negative decimals (``DrawdownReport.curve``) on a DatetimeIndex.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    c = thin(curve)
    fig = go.Figure(
        go.Scatter(
            x=c.index,
            y=c,
            fill="tozeroy",
            mode="lines",
            line=dict(color="#d62728", width=1),
            name="Drawdown",
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra></extra>",
        )
    )
    return finish(
        fig,
        title,
        yaxis=dict(title="Drawdown (%)", tickformat=".0%"),
        xaxis=dict(title="Date"),
    )


def backtest_chart(
    returns: pd.Series,
    var: pd.Series,
    exceptions: pd.Series,
    confidence: float,
    title: str | None = None,
) -> go.Figure:
    """Daily returns, the VaR forecast drawn at ``-VaR`` and the exceptions marked.

    Parameters
    ----------
    returns, var : Series (n_days,)
        Realised decimal returns and positive VaR forecasts on the same dates.
    exceptions : Series of bool (n_days,)
    confidence : float
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    exc = returns[exceptions]
    fig = go.Figure()
    fig.add_scattergl(
        x=returns.index,
        y=returns,
        mode="markers",
        name="Daily return",
        marker=dict(size=3, color="#9ecae1"),
        hovertemplate="%{x|%Y-%m-%d}: %{y:.2%}<extra></extra>",
    )
    fig.add_scattergl(
        x=var.index,
        y=-var,
        mode="lines",
        name=f"-VaR {confidence:.1%}",
        line=dict(color="black", width=1),
        hovertemplate="%{x|%Y-%m-%d}: %{y:.2%}<extra>-VaR</extra>",
    )
    fig.add_scattergl(
        x=exc.index,
        y=exc,
        mode="markers",
        name=f"Exceptions ({len(exc)})",
        marker=dict(size=7, color="#d62728", symbol="x"),
        hovertemplate="%{x|%Y-%m-%d}: %{y:.2%}<extra>exception</extra>",
    )
    return finish(
        fig,
        title or f"One-day VaR backtest at {confidence:.1%}",
        yaxis=dict(title="Daily return (%)", tickformat=".0%"),
        xaxis=dict(title="Date"),
        legend=dict(orientation="h", y=-0.2),
        height=460,
    )


def stress_bar(table: pd.DataFrame, title: str = "Historical stress scenarios") -> go.Figure:
    """Portfolio return, maximum drawdown and benchmark return per crisis window.

    Parameters
    ----------
    table : DataFrame
        ``core.stress.historical_stress`` output.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    bars = [
        (table["portfolio_return"], "Portfolio return", "#1f77b4"),
        (-table["max_drawdown"], "Max drawdown", "#d62728"),
    ]
    if table["benchmark_return"].notna().any():
        bars.append((table["benchmark_return"], "Benchmark return", "#7f7f7f"))
    fig = go.Figure()
    for y, name, color in bars:
        fig.add_bar(
            x=table["scenario"],
            y=y,
            name=name,
            marker_color=color,
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    return finish(
        fig,
        title,
        barmode="group",
        yaxis=dict(title="Return over the window (%)", tickformat=".0%"),
    )


def rolling_correlation_chart(
    series: pd.Series,
    windows: dict[str, tuple[str, str]] | None = None,
    title: str = "Average pairwise correlation (rolling)",
) -> go.Figure:
    """Average pairwise correlation over time, with crisis windows shaded.

    Parameters
    ----------
    series : Series
        ``core.stress.rolling_average_correlation`` output.
    windows : dict of str to (start, end), optional
        Shaded where they overlap the series.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    s = thin(series)
    fig = go.Figure(
        go.Scatter(
            x=s.index,
            y=s,
            mode="lines",
            name="Average correlation",
            line=dict(color="#1f77b4", width=1.5),
            hovertemplate="%{x|%Y-%m-%d}: %{y:.2f}<extra></extra>",
        )
    )
    shapes, notes = [], []
    if len(series):
        lo, hi = series.index[0], series.index[-1]
        for name, (a, b) in (windows or {}).items():
            a, b = pd.Timestamp(a), pd.Timestamp(b)
            if b >= lo and a <= hi:
                # layout shapes in one go: add_vrect validates each one and is ~10x slower
                x0, x1 = max(a, lo), min(b, hi)
                shapes.append(
                    dict(
                        type="rect",
                        xref="x",
                        yref="paper",
                        x0=x0,
                        x1=x1,
                        y0=0,
                        y1=1,
                        fillcolor="#d62728",
                        opacity=0.12,
                        line_width=0,
                    )
                )
                notes.append(
                    dict(
                        x=x0,
                        y=1,
                        xref="x",
                        yref="paper",
                        text=name,
                        showarrow=False,
                        textangle=-90,
                        xanchor="left",
                        yanchor="top",
                        font=dict(size=9, color="#7f7f7f"),
                    )
                )
    fig.update_layout(shapes=shapes, annotations=notes)
    return finish(
        fig,
        title,
        yaxis=dict(title="Correlation", range=[-0.2, 1]),
        xaxis=dict(title="Date"),
    )


def correlation_stress_chart(
    table: pd.DataFrame, title: str = "VaR and CVaR as correlations rise"
) -> go.Figure:
    """VaR, CVaR and diversification benefit against the correlation push.

    Parameters
    ----------
    table : DataFrame
        ``core.stress.correlation_stress`` output (rows with a ``strength``).
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    pushed = table[table["strength"].notna()].sort_values("strength")
    x = pushed["average_correlation"]
    fig = go.Figure()
    for col, label, color in (
        ("var", "VaR", "#ff7f0e"),
        ("cvar", "CVaR", "#d62728"),
        ("diversification_benefit", "Diversification benefit", "#2ca02c"),
    ):
        fig.add_scatter(
            x=x,
            y=pushed[col],
            mode="lines+markers",
            name=label,
            line=dict(color=color),
            hovertemplate="avg corr %{x:.2f}: %{y:.2%}<extra>" + label + "</extra>",
        )
    others = table[table["strength"].isna()]
    for _, row in others.iterrows():
        fig.add_scatter(
            x=[row["average_correlation"]],
            y=[row["var"]],
            mode="markers+text",
            text=[row["case"]],
            textposition="top center",
            name=f"VaR, {row['case']}",
            marker=dict(size=11, symbol="diamond", color="black"),
        )
    return finish(
        fig,
        title,
        xaxis=dict(title="Average pairwise correlation"),
        yaxis=dict(title="Loss / benefit (%)", tickformat=".1%"),
        legend=dict(orientation="h", y=-0.2),
        height=460,
    )
