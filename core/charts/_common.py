"""Layout boilerplate shared by the figure builders of :mod:`core.charts` (private).

One look for every figure: a light white template, tight margins, 420 px high unless a builder
says otherwise; long time series thinned so that pages stay light.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio


def _light_template() -> go.layout.Template:
    """Plotly's "plotly_white" reduced to what 2-D charts use (its layout, no trace defaults).

    The full template is about nine tenths of a small figure's JSON, and plotly validates and
    copies all of it into every figure (3D scenes, maps, polar axes, defaults for 24 trace
    types): about 0.1 s a figure here, which a slider move pays for each chart it redraws.
    """
    white = pio.templates["plotly_white"].layout.to_plotly_json()
    keep = ("colorway", "colorscale", "coloraxis", "font", "hovermode", "hoverlabel",
            "paper_bgcolor", "plot_bgcolor", "xaxis", "yaxis", "title",
            "autotypenumbers")  # fmt: skip
    return go.layout.Template(layout={k: white[k] for k in keep if k in white})


#: Template, margins and default height of every figure.
LAYOUT: dict[str, Any] = dict(
    template=_light_template(), margin=dict(l=10, r=10, t=50, b=10), height=420
)


def finish(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    """``fig`` with its title and :data:`LAYOUT`.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure to finish (changed in place and returned).
    title : str
        Figure title.
    **layout
        More layout (axes with units, legend, a height), overriding :data:`LAYOUT`.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig.update_layout(title=title, **{**LAYOUT, **layout})
    return fig


def thin(frame: pd.DataFrame | pd.Series, points: int = 2000, keep_last: bool = False):
    """Every k-th row of a long series, at most about ``points`` rows; the shape is unchanged.

    Parameters
    ----------
    frame : DataFrame or Series (n_observations, ...)
        A time series.
    points : int
        About how many rows to keep.
    keep_last : bool
        Append the last row when rows were dropped, so a line ends where the data do.

    Returns
    -------
    DataFrame or Series
        At most about ``points`` rows (plus the last one with ``keep_last``).
    """
    step = max(1, len(frame) // points)
    if step == 1 or not keep_last:
        return frame.iloc[::step]
    return pd.concat([frame.iloc[::step], frame.iloc[-1:]])
