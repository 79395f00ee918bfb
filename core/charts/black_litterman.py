"""Black-Litterman figures: prior vs posterior returns with the views, weights, weight changes.

Conventions
-----------
As in :mod:`core.charts`: decimal inputs (returns, weights) shown as percentages on the axes,
titles and axis titles with units, hover text with units. Pure: data in, ``go.Figure`` out.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["prior_posterior_returns", "bl_weights", "weight_changes"]

_LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=50, b=10), height=420)
_PRIOR, _POSTERIOR, _VIEW = "#9aa5b1", "#1f77b4", "#d62728"
_VIEW_HOVER = "%{text}<br>view: %{y:.2%} a year<extra></extra>"
_SIDE_HOVER = "%{x} in %{text}<extra></extra>"


def prior_posterior_returns(
    prior: pd.Series,
    posterior: pd.Series,
    P: pd.DataFrame | None = None,
    Q: pd.Series | None = None,
    labels: list[str] | tuple[str, ...] | None = None,
    title: str = "Prior (market-implied) and posterior expected returns",
) -> go.Figure:
    """Grouped bars of prior and posterior returns per asset, with the views marked.

    An absolute view on one asset is drawn as a diamond at its return ``Q``; every other view
    marks the assets it buys (triangle up) and sells (triangle down) at their posterior
    return, with the view in the hover text.

    Parameters
    ----------
    prior, posterior : Series (n_assets,)
        Annualised decimal expected returns indexed by ticker.
    P : DataFrame (n_views, n_assets), optional
        Pick matrix with tickers as columns.
    Q : Series (n_views,), optional
        View returns, annualised decimal.
    labels : sequence of str, optional
        One description per view.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    x = prior.index.astype(str)
    fig = go.Figure()
    fig.add_bar(x=x, y=prior, name="Prior (market-implied)", marker_color=_PRIOR,
                hovertemplate="%{x}: %{y:.2%} a year<extra>Prior</extra>")  # fmt: skip
    fig.add_bar(x=x, y=posterior.reindex(prior.index), name="Posterior",
                marker_color=_POSTERIOR,
                hovertemplate="%{x}: %{y:.2%} a year<extra>Posterior</extra>")  # fmt: skip
    if P is not None and Q is not None and len(Q):
        labels = list(labels) if labels is not None else [str(i) for i in P.index]
        exact_x, exact_y, exact_text = [], [], []
        long_x, long_y, long_text, short_x, short_y, short_text = [], [], [], [], [], []
        for i, (name, row) in enumerate(P.iterrows()):
            picked = row[row.abs() > 1e-12]
            label = f"{name}: {labels[i]}"
            if len(picked) == 1 and abs(picked.iloc[0] - 1.0) < 1e-12:
                exact_x.append(str(picked.index[0]))
                exact_y.append(float(Q.iloc[i]))
                exact_text.append(label)
                continue
            for ticker, weight in picked.items():
                xs, ys, ts = (
                    (long_x, long_y, long_text) if weight > 0 else (short_x, short_y, short_text)
                )
                xs.append(str(ticker))
                ys.append(float(posterior[ticker]))
                ts.append(label)
        if exact_x:
            fig.add_scatter(x=exact_x, y=exact_y, mode="markers", name="View (absolute)",
                            marker=dict(symbol="diamond", size=13, color=_VIEW,
                                        line=dict(width=1, color="white")),
                            text=exact_text, hovertemplate=_VIEW_HOVER)  # fmt: skip
        for xs, ys, ts, symbol, side in (
            (long_x, long_y, long_text, "triangle-up", "View: long side"),
            (short_x, short_y, short_text, "triangle-down", "View: short side"),
        ):
            if xs:
                fig.add_scatter(x=xs, y=ys, mode="markers", name=side,
                                marker=dict(symbol=symbol, size=12, color=_VIEW),
                                text=ts, hovertemplate=_SIDE_HOVER)  # fmt: skip
    fig.update_layout(
        title=title,
        yaxis=dict(title="Expected return (% a year)", tickformat=".1%"),
        xaxis=dict(title="Asset"),
        barmode="group",
        legend=dict(orientation="h", y=-0.2),
        **_LAYOUT,
    )
    return fig


def bl_weights(
    weights: pd.DataFrame, title: str = "Market and Black-Litterman weights"
) -> go.Figure:
    """Grouped bars of several portfolios' weights per asset.

    Parameters
    ----------
    weights : DataFrame (n_assets, n_portfolios)
        Decimal weights indexed by ticker, one column per portfolio (e.g. market,
        unconstrained Black-Litterman, optimised).
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    for col in weights.columns:
        fig.add_bar(x=weights.index.astype(str), y=weights[col], name=str(col),
                    hovertemplate="%{x}: %{y:.2%}<extra>" + str(col) + "</extra>")  # fmt: skip
    fig.update_layout(
        title=title,
        yaxis=dict(title="Weight (% of capital)", tickformat=".0%"),
        xaxis=dict(title="Asset"),
        barmode="group",
        legend=dict(orientation="h", y=-0.2),
        **_LAYOUT,
    )
    return fig


def weight_changes(
    changes: pd.DataFrame | pd.Series, title: str = "Weight change from the market portfolio"
) -> go.Figure:
    """Bars of each asset's weight minus its market weight (percentage points).

    Parameters
    ----------
    changes : Series (n_assets,) or DataFrame (n_assets, n_portfolios)
        Decimal weight differences indexed by ticker; a DataFrame draws one series per column.
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    frame = changes.to_frame("Change") if isinstance(changes, pd.Series) else changes
    fig = go.Figure()
    for i, col in enumerate(frame.columns):
        values = frame[col]
        colors = ["#2ca02c" if v >= 0 else "#d62728" for v in values] if i == 0 else None
        fig.add_bar(x=frame.index.astype(str), y=values, name=str(col),
                    marker_color=colors, opacity=1.0 if i == 0 else 0.6,
                    hovertemplate="%{x}: %{y:+.2%}<extra>" + str(col) + "</extra>")  # fmt: skip
    fig.update_layout(
        title=title,
        yaxis=dict(title="Change in weight (percentage points)", tickformat="+.0%"),
        xaxis=dict(title="Asset"),
        barmode="group",
        showlegend=frame.shape[1] > 1,
        legend=dict(orientation="h", y=-0.2),
        **_LAYOUT,
    )
    return fig
