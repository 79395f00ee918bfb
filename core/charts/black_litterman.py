"""Black-Litterman figures: prior vs posterior returns with the views, weights, weight changes.

Conventions
-----------
As in :mod:`core.charts`: decimal inputs (returns, weights) shown as percentages on the axes,
titles and axis titles with units, hover text with units. Pure: data in, ``go.Figure`` out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts._common import PORTFOLIO_COLOURS, escape_figure, portfolio_colour

__all__ = ["prior_posterior_returns", "bl_weights", "weight_changes"]

# Built in one go.Figure(data, layout) call from plain dicts, without a template: add_bar plus
# update_layout with "plotly_white" cost about 20 ms a figure here (validation and a deep copy
# of the template), too slow for a slider; this way about 2 ms. Streamlit's theme styles the
# charts on the page, and the report applies "plotly_white" itself.
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10), height=420)
_PRIOR, _POSTERIOR = PORTFOLIO_COLOURS["market"], PORTFOLIO_COLOURS["posterior"]
_VIEW = "#e377c2"  # views are not portfolios: a colour no portfolio has
_VIEW_HOVER = "%{text}<br>view: %{y:.2%} a year<extra></extra>"
_SIDE_HOVER = "%{x} in %{text}<extra></extra>"


def _values(series: pd.Series) -> list[float]:
    return [float(v) for v in series.to_numpy(dtype=float)]


def _asset_bars(data: list[dict], title: str, ytitle: str, tickformat: str, **extra) -> go.Figure:
    """Grouped per-asset bars from trace dicts, legend below; ``extra`` adds layout keys."""
    layout = dict(
        title=dict(text=title),
        yaxis=dict(title=dict(text=ytitle), tickformat=tickformat),
        xaxis=dict(title=dict(text="Asset")),
        barmode="group",
        **extra,
        legend=dict(orientation="h", y=-0.2),
        **_LAYOUT,
    )
    escape_figure(data=data, layout=layout)  # user text shown literally
    return go.Figure(data=data, layout=layout)


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
    x = [str(t) for t in prior.index]
    post = posterior.reindex(prior.index)
    data = [
        dict(type="bar", x=x, y=_values(prior), name="Prior (market-implied)",
             marker=dict(color=_PRIOR), hovertemplate="%{x}: %{y:.2%} a year<extra>Prior</extra>"),
        dict(type="bar", x=x, y=_values(post), name="Posterior", marker=dict(color=_POSTERIOR),
             hovertemplate="%{x}: %{y:.2%} a year<extra>Posterior</extra>"),
    ]  # fmt: skip
    if P is not None and Q is not None and len(Q):
        labels = list(labels) if labels is not None else [str(i) for i in P.index]
        exact: tuple[list, list, list] = ([], [], [])
        sides: dict[bool, tuple[list, list, list]] = {True: ([], [], []), False: ([], [], [])}
        pick = P.reindex(columns=prior.index, fill_value=0.0).to_numpy(dtype=float)
        for i, name in enumerate(P.index):
            nz = np.flatnonzero(np.abs(pick[i]) > 1e-12)
            label = f"{name}: {labels[i]}"
            if len(nz) == 1 and abs(pick[i, nz[0]] - 1.0) < 1e-12:
                for part, value in zip(exact, (x[nz[0]], float(Q.iloc[i]), label), strict=True):
                    part.append(value)
                continue
            for j in nz:
                xs, ys, ts = sides[bool(pick[i, j] > 0)]
                xs.append(x[j])
                ys.append(float(post.iloc[j]))
                ts.append(label)
        if exact[0]:
            data.append(
                dict(type="scatter", x=exact[0], y=exact[1], text=exact[2], mode="markers",
                     name="View (absolute)", hovertemplate=_VIEW_HOVER,
                     marker=dict(symbol="diamond", size=13, color=_VIEW,
                                 line=dict(width=1, color="white")))
            )  # fmt: skip
        for positive, symbol, side in ((True, "triangle-up", "View: long side"),
                                       (False, "triangle-down", "View: short side")):  # fmt: skip
            xs, ys, ts = sides[positive]
            if xs:
                data.append(
                    dict(type="scatter", x=xs, y=ys, text=ts, mode="markers", name=side,
                         hovertemplate=_SIDE_HOVER,
                         marker=dict(symbol=symbol, size=12, color=_VIEW))
                )  # fmt: skip
    return _asset_bars(data, title, "Expected return (% a year)", ".1%")


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
    x = [str(t) for t in weights.index]
    data = [
        dict(type="bar", x=x, y=_values(weights[col]), name=str(col),
             marker=dict(color=portfolio_colour(str(col))),
             hovertemplate="%{x}: %{y:.2%}<extra>" + str(col) + "</extra>")
        for col in weights.columns
    ]  # fmt: skip
    return _asset_bars(data, title, "Weight (% of capital)", ".0%")


def weight_changes(
    changes: pd.DataFrame | pd.Series, title: str = "Weight change from the market portfolio"
) -> go.Figure:
    """Bars of each asset's weight minus its market weight (percentage points).

    Parameters
    ----------
    changes : Series (n_assets,) or DataFrame (n_assets, n_portfolios)
        Decimal weight differences indexed by ticker; a DataFrame draws one series per column,
        each in its portfolio's colour (:data:`core.charts._common.PORTFOLIO_COLOURS`).
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    frame = changes.to_frame("Change") if isinstance(changes, pd.Series) else changes
    x = [str(t) for t in frame.index]
    data = []
    for i, col in enumerate(frame.columns):
        # Each portfolio in its own colour, as in the weights chart beside this one (colouring
        # by sign made red mean "Optimised" there and "negative" here).
        data.append(
            dict(type="bar", x=x, y=_values(frame[col]), name=str(col),
                 marker=dict(color=portfolio_colour(str(col))), opacity=1.0 if i == 0 else 0.75,
                 hovertemplate="%{x}: %{y:+.2%}<extra>" + str(col) + "</extra>")
        )  # fmt: skip
    return _asset_bars(
        data,
        title,
        "Change in weight (percentage points)",
        "+.0%",
        showlegend=frame.shape[1] > 1,
    )
