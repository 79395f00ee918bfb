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

__all__ = ["prior_posterior_returns", "bl_weights", "weight_changes", "panels"]

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


#: Where each chart of :func:`panels` goes: (x domain, y domain, legend y) in paper coordinates
#: of a figure :data:`_PANELS_HEIGHT` px high; the returns across the top, weights and weight
#: changes side by side beneath, each with its title and legend as in its own figure.
_PANELS = (((0.0, 1.0), (0.64, 1.0)), ((0.0, 0.44), (0.1, 0.44)), ((0.56, 1.0), (0.1, 0.44)))
_PANELS_HEIGHT = 900


def panels(returns: go.Figure, weights: go.Figure, changes: go.Figure) -> go.Figure:
    """The three Black-Litterman charts as one figure: returns on top, weights and changes below.

    One figure redraws once where three redraw three times: in the browser each plotly chart
    costs about 0.1 s to redraw whatever its size, which a confidence slider pays on every
    move. The traces, axes, hover texts, colours and legends are those of the three figures
    (each panel keeps its title and its axis titles with units; the weights and the weight
    changes, the same portfolios in the same colours, share one legend across the row).

    Parameters
    ----------
    returns, weights, changes : plotly.graph_objects.Figure
        From :func:`prior_posterior_returns`, :func:`bl_weights` and :func:`weight_changes`.

    Returns
    -------
    plotly.graph_objects.Figure
        Axes ``x``/``y`` (returns), ``x2``/``y2`` (weights), ``x3``/``y3`` (changes); legends
        ``legend`` (returns) and ``legend2`` (weights and changes).

    Notes
    -----
    The figures' texts must come escaped (:func:`core.charts._common.escape_figure`), as the
    three builders return them; they are not escaped again, nor validated again (the figure
    is built with plotly's validation off: its traces are the validated ones of the three).
    """
    data: list[dict] = []
    # Fixed margins and tick angles: with automatic ones plotly measures every tick label and
    # lays the figure out twice (about half of its redraw time here).
    layout: dict = dict(barmode="group", height=_PANELS_HEIGHT, annotations=[],
                        margin=dict(l=80, r=10, t=40, b=30))  # fmt: skip
    for i, (fig, (xdom, ydom)) in enumerate(zip((returns, weights, changes), _PANELS,
                                                strict=True)):  # fmt: skip
        n = "" if i == 0 else str(i + 1)
        spec = fig.to_plotly_json()
        sub = spec["layout"]
        for trace in spec["data"]:
            trace = {**trace, "xaxis": f"x{n}", "yaxis": f"y{n}", "legend": f"legend{n}"}
            if i == 2:  # the weights' legend names the same portfolios in the same colours
                trace.update(legend="legend2", showlegend=False)
            data.append(trace)
        layout[f"xaxis{n}"] = {**sub.get("xaxis", {}), "domain": list(xdom), "anchor": f"y{n}",
                               "automargin": False, "tickangle": 0 if i == 0 else -90}
        layout[f"yaxis{n}"] = {**sub.get("yaxis", {}), "domain": list(ydom), "anchor": f"x{n}",
                               "automargin": False}  # fmt: skip
        if i < 2:  # beneath the panel's axis (its tick labels and "Asset" take about 70 px)
            layout[f"legend{n}"] = {**sub.get("legend", {}), "orientation": "h", "x": 0.0,
                                    "xanchor": "left", "y": ydom[0] - 75 / 850,
                                    "yanchor": "top"}  # fmt: skip
        title = (sub.get("title") or {}).get("text", "")
        layout["annotations"].append(
            dict(text=title, x=xdom[0], y=ydom[1], xref="paper", yref="paper", xanchor="left",
                 yanchor="bottom", yshift=8, showarrow=False, font=dict(size=16))
        )  # fmt: skip
    # No escape_figure here: the builders escaped every text once, and a second pass would
    # show "&amp;" for "&". No validation either (plotly's private ``_validate``, plotly 7.1):
    # the traces come from figures validated when built, and validating them again cost about
    # 10-25 ms of every slider move. Tests check the result equals the validated figure.
    return go.Figure(data=data, layout=layout, _validate=False)
