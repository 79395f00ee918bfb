"""Plotly figures of the risk report: data in, ``go.Figure`` out, no Streamlit.

Conventions as in :mod:`core.charts`: decimals on percentage axes (``tickformat``), never
multiplied by 100 in the data. VaR and CVaR are positive losses; on a return axis they are drawn
at ``-VaR`` and ``-CVaR``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts._common import escape_figure, thin

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

# Each figure is built in one go.Figure(data, layout) call from plain dicts, without a template:
# add_* calls plus update_layout(template="plotly_white") cost 35-110 ms a figure here (the
# template is validated and deep-copied each time), which was most of the Risk page's run; this
# way a few ms. Streamlit's theme styles the charts on the page; the report applies
# "plotly_white" itself (as for the Black-Litterman charts).
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10), height=420)


def _floats(values) -> np.ndarray:
    # numpy arrays, not lists: plotly validates a list element by element (~10x slower)
    return np.asarray(values, dtype=float)


def _dates(index: pd.Index) -> np.ndarray:
    """``datetime64`` dates: the fastest form for plotly to validate and serialise."""
    return pd.DatetimeIndex(index).to_numpy()


def _figure(data: list[dict], title: str, **layout) -> go.Figure:
    """One figure from trace dicts, with the house margins and height (``layout`` overrides)."""
    layout = {"title": dict(text=title), **_LAYOUT, **layout}
    escape_figure(data=data, layout=layout)  # user text shown literally
    return go.Figure(data=data, layout=layout)


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
    data = [
        dict(type="histogram", x=_floats(x), nbinsx=120, name="Returns",
             marker=dict(color="#9ecae1"), histnorm="probability",
             hovertemplate="%{x:.2%}: %{y:.2%} of days<extra></extra>")
    ]  # fmt: skip
    for i, (label, (var, cvar)) in enumerate(lines.items()):
        color = _COLORS[i % len(_COLORS)]
        for value, dash, what in ((var, "dash", "VaR"), (cvar, "dot", "CVaR")):
            data.append(
                dict(type="scatter", x=[-value, -value], y=[0, 1], yaxis="y2", mode="lines",
                     line=dict(color=color, dash=dash, width=2), name=f"{what} {label}",
                     hovertemplate=f"{what} {label}: {value:.2%} loss<extra></extra>")
            )  # fmt: skip
    span = f"{horizon}-day" if horizon > 1 else "Daily"
    return _figure(
        data,
        title or f"{span} portfolio returns with VaR and CVaR at {confidence:.1%}",
        xaxis=dict(title=dict(text=f"{span} return (%)"), tickformat=".1%"),
        yaxis=dict(title=dict(text="Share of observations"), tickformat=".1%"),
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
    data = []
    for i, (c, part) in enumerate(table.groupby("confidence", sort=True)):
        for what, opacity in (("var", 1.0), ("cvar", 0.55)):
            data.append(
                dict(type="bar", x=[str(v) for v in part["label"]], y=_floats(part[what]),
                     name=f"{what.upper()} {c:.1%}",
                     marker=dict(color=_COLORS[i % len(_COLORS)], opacity=opacity),
                     hovertemplate="%{x}: %{y:.2%} loss<extra>" + f"{what.upper()} {c:.1%}</extra>")
            )  # fmt: skip
    return _figure(
        data,
        title,
        barmode="group",
        yaxis=dict(title=dict(text="Loss (% of portfolio value)"), tickformat=".1%"),
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
    names = {"volatility": "Volatility", "var": "VaR", "cvar": "CVaR"}
    x = [str(v) for v in frame.index]
    data = [
        dict(type="bar", x=x, y=_floats(frame[f"{m}_{kind}"]), name=label,
             marker=dict(color=_COLORS[(i + 3) % len(_COLORS)]),
             hovertemplate="%{x}: %{y:.2%}<extra>" + label + "</extra>")
        for i, (m, label) in enumerate(names.items())
    ]  # fmt: skip
    ytitle = "Share of total risk (%)" if kind == "share" else "Component (% of portfolio value)"
    return _figure(
        data, title, barmode="group", yaxis=dict(title=dict(text=ytitle), tickformat=".0%")
    )


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
    c = thin(curve, keep_last=True)
    data = [
        dict(type="scatter", x=_dates(c.index), y=_floats(c), fill="tozeroy", mode="lines",
             line=dict(color="#d62728", width=1), name="Drawdown",
             hovertemplate="%{x|%Y-%m-%d}: %{y:.1%} below the peak<extra></extra>")
    ]  # fmt: skip
    return _figure(
        data,
        title,
        yaxis=dict(title=dict(text="Drawdown below the peak (%, drawn below 0)"),
                   tickformat=".0%"),
        xaxis=dict(title=dict(text="Date")),
    )  # fmt: skip


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
    line = thin(var, keep_last=True)  # a line of ~2,000 points looks the same as 8,000
    data = [
        dict(type="scattergl", x=_dates(returns.index), y=_floats(returns), mode="markers",
             name="Daily return", marker=dict(size=3, color="#9ecae1"),
             hovertemplate="%{x|%Y-%m-%d}: %{y:.2%}<extra></extra>"),
        dict(type="scattergl", x=_dates(line.index), y=_floats(-line), mode="lines",
             name=f"-VaR {confidence:.1%}", line=dict(color="black", width=1),
             hovertemplate="%{x|%Y-%m-%d}: %{y:.2%}<extra>-VaR</extra>"),
        dict(type="scattergl", x=_dates(exc.index), y=_floats(exc), mode="markers",
             name=f"Exceptions ({len(exc)})", marker=dict(size=7, color="#d62728", symbol="x"),
             hovertemplate="%{x|%Y-%m-%d}: %{y:.2%}<extra>exception</extra>"),
    ]  # fmt: skip
    return _figure(
        data,
        title or f"One-day VaR backtest at {confidence:.1%}",
        yaxis=dict(title=dict(text="Daily return (%)"), tickformat=".0%"),
        xaxis=dict(title=dict(text="Date")),
        legend=dict(orientation="h", y=-0.2),
        height=460,
    )


def stress_bar(table: pd.DataFrame, title: str = "Historical stress scenarios") -> go.Figure:
    """Portfolio and benchmark return and maximum drawdown per crisis window.

    Returns are signed; the maximum drawdown, a positive loss in the table, is drawn below zero
    (as the fall it is) and labelled so.

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
        (-table["max_drawdown"], "Portfolio maximum drawdown (drawn below 0)", "#d62728"),
    ]
    if table["benchmark_return"].notna().any():
        bars += [
            (table["benchmark_return"], "Benchmark return", "#7f7f7f"),
            (-table["benchmark_max_drawdown"], "Benchmark maximum drawdown (drawn below 0)",
             "#c7c7c7"),
        ]  # fmt: skip
    x = [str(v) for v in table["scenario"]]
    data = [
        dict(type="bar", x=x, y=_floats(y), name=name, marker=dict(color=color),
             hovertemplate="%{x}: %{y:.1%}<extra>" + name + "</extra>")
        for y, name, color in bars
    ]  # fmt: skip
    return _figure(
        data,
        title,
        barmode="group",
        yaxis=dict(title=dict(text="Return, drawdown below 0 (%)"), tickformat=".0%"),
        legend=dict(orientation="h", y=-0.25),
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
    s = thin(series, keep_last=True)
    data = [
        dict(type="scatter", x=_dates(s.index), y=_floats(s), mode="lines",
             name="Average correlation", line=dict(color="#1f77b4", width=1.5),
             hovertemplate="%{x|%Y-%m-%d}: %{y:.2f}<extra></extra>")
    ]  # fmt: skip
    shapes, notes = [], []
    if len(series):
        lo, hi = series.index[0], series.index[-1]
        for name, (a, b) in (windows or {}).items():
            a, b = pd.Timestamp(a), pd.Timestamp(b)
            if b >= lo and a <= hi:
                x0, x1 = str(max(a, lo).date()), str(min(b, hi).date())
                shapes.append(
                    dict(type="rect", xref="x", yref="paper", x0=x0, x1=x1, y0=0, y1=1,
                         fillcolor="#d62728", opacity=0.12, line=dict(width=0))
                )  # fmt: skip
                notes.append(
                    dict(x=x0, y=1, xref="x", yref="paper", text=name, showarrow=False,
                         textangle=-90, xanchor="left", yanchor="top",
                         font=dict(size=9, color="#7f7f7f"))
                )  # fmt: skip
    return _figure(
        data,
        title,
        shapes=shapes,
        annotations=notes,
        yaxis=dict(title=dict(text="Correlation"), range=[-0.2, 1]),
        xaxis=dict(title=dict(text="Date")),
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
    x = _floats(pushed["average_correlation"])
    data = [
        dict(type="scatter", x=x, y=_floats(pushed[col]), mode="lines+markers", name=label,
             line=dict(color=color),
             hovertemplate="avg corr %{x:.2f}: %{y:.2%}<extra>" + label + "</extra>")
        for col, label, color in (
            ("var", "VaR", "#ff7f0e"),
            ("cvar", "CVaR", "#d62728"),
            ("diversification_benefit", "Diversification benefit", "#2ca02c"),
        )
    ]  # fmt: skip
    for _, row in table[table["strength"].isna()].iterrows():
        data.append(
            dict(type="scatter", x=[float(row["average_correlation"])], y=[float(row["var"])],
                 mode="markers+text", text=[str(row["case"])], textposition="top center",
                 name=f"VaR, {row['case']}",
                 marker=dict(size=11, symbol="diamond", color="black"))
        )  # fmt: skip
    return _figure(
        data,
        title,
        xaxis=dict(title=dict(text="Average pairwise correlation")),
        yaxis=dict(title=dict(text="Loss / benefit (%)"), tickformat=".1%"),
        legend=dict(orientation="h", y=-0.2),
        height=460,
    )
