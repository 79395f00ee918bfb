"""Plotly figures of the Compare page and of the resampled frontier.

Conventions as in :mod:`core.charts`: decimal inputs, percentage axes, units in titles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts._common import finish
from core.charts.backtest import drawdown_curves, equity_curves
from core.charts.frontier import weights_hover

__all__ = [
    "comparison_equity",
    "comparison_drawdowns",
    "sharpe_intervals",
    "resampled_frontier_figure",
]


def comparison_equity(equity: pd.DataFrame, benchmark: pd.Series | None = None) -> go.Figure:
    """Growth of 1 of every design after costs (log axis), the benchmark dotted.

    Parameters
    ----------
    equity : DataFrame (n_days, n_designs)
        Wealth paths (``Comparison.equity``).
    benchmark : Series (n_days,), optional
        The benchmark's growth of 1 on the same dates.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    frame = equity.copy()
    name = None
    if benchmark is not None:
        name = str(benchmark.name or "Benchmark")
        frame[name] = benchmark.reindex(frame.index).to_numpy()
    return equity_curves(frame, "Growth of 1 after costs, every design", benchmark=name)


def comparison_drawdowns(drawdowns: pd.DataFrame) -> go.Figure:
    """Drawdowns from the running peak (negative decimals), one line per design.

    Parameters
    ----------
    drawdowns : DataFrame (n_days, n_designs)
        ``core.performance.drawdowns`` of the designs' returns.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    return drawdown_curves(drawdowns, "Drawdown from peak, every design")


def sharpe_intervals(metrics: pd.DataFrame, confidence: float = 0.95) -> go.Figure:
    """Each design's annualised Sharpe ratio with its confidence interval.

    Parameters
    ----------
    metrics : DataFrame (n_designs, ...)
        ``Comparison.metrics``: columns ``sharpe_ratio``, ``sharpe_low``, ``sharpe_high``.
    confidence : float
        Level of the intervals, for the title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    sr = metrics["sharpe_ratio"].astype(float)
    lo = metrics["sharpe_low"].astype(float)
    hi = metrics["sharpe_high"].astype(float)
    fig = go.Figure()
    fig.add_scatter(
        x=sr.to_numpy(), y=[str(i) for i in metrics.index], mode="markers",
        marker=dict(size=10, color="#1f77b4"), name="Sharpe ratio",
        error_x=dict(type="data", symmetric=False, array=(hi - sr).to_numpy(),
                     arrayminus=(sr - lo).to_numpy()),
        hovertemplate="%{y}: %{x:.2f}<extra></extra>",
    )  # fmt: skip
    fig.add_vline(x=0.0, line=dict(color="#9aa5b1", dash="dot"))
    return finish(
        fig,
        f"Sharpe ratio (annualised) with its {confidence:.0%} confidence interval",
        xaxis=dict(title="Sharpe ratio (annualised)"),
        yaxis=dict(title="", autorange="reversed"),
        height=max(260, 60 + 40 * len(metrics)),
        showlegend=False,
    )


def resampled_frontier_figure(resampled, title: str = "") -> go.Figure:
    """The resampled frontier beside the mean-variance frontier of the same estimates.

    Parameters
    ----------
    resampled : core.resampling.ResampledFrontier
        Its points (returns, volatilities, weights) and the original ``frontier``.
    title : str
        Figure title; a default names the resamples.

    Returns
    -------
    plotly.graph_objects.Figure
        Both curves in annualised volatility and expected return (percentage axes), each
        point's largest weights on hover.
    """
    mv = resampled.frontier
    fig = go.Figure()
    fig.add_scatter(
        x=mv.volatilities, y=mv.returns, mode="lines", name="Mean-variance frontier",
        line=dict(color="#1f77b4", width=2.5), text=weights_hover(mv.weights),
        hovertemplate="Volatility %{x:.2%}<br>Return %{y:.2%}<br>%{text}<extra></extra>",
    )  # fmt: skip
    fig.add_scatter(
        x=resampled.volatilities, y=resampled.returns, mode="lines+markers",
        name=f"Resampled frontier ({resampled.n_resamples} resamples)",
        line=dict(color="#d62728", width=2, dash="dash"), marker=dict(size=4),
        text=weights_hover(resampled.weights),
        hovertemplate="Volatility %{x:.2%}<br>Return %{y:.2%}<br>%{text}<extra></extra>",
    )  # fmt: skip
    vols = np.sqrt(np.diag(resampled.cov.to_numpy()))
    fig.add_scatter(
        x=vols, y=resampled.expected_returns.to_numpy(), mode="markers+text",
        name="Assets", text=list(resampled.expected_returns.index), textposition="top center",
        marker=dict(size=6, color="#9aa5b1"),
        hovertemplate="%{text}: volatility %{x:.2%}, return %{y:.2%}<extra></extra>",
    )  # fmt: skip
    return finish(
        fig,
        title or "Resampled frontier (Michaud) beside the mean-variance frontier",
        xaxis=dict(title="Volatility (annualised, %)", tickformat=".0%"),
        yaxis=dict(title="Expected return (annualised, %)", tickformat=".0%"),
        legend=dict(orientation="h", y=-0.15),
    )
