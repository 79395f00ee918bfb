"""Layout boilerplate shared by the figure builders of :mod:`core.charts` (private).

One look for every figure: a light white template, tight margins, 420 px high unless a builder
says otherwise; long time series thinned so that pages stay light; one colour per portfolio
across the whole app (:data:`PORTFOLIO_COLOURS`); log axes with readable 1-2-5 ticks
(:func:`log_axis`).

Text in figures is shown literally (:func:`escape_figure`): plotly renders a subset of HTML in
titles, axis and tick labels, legend names, hover and bar text (``<a href>`` links are live,
``<b>``, ``<i>``, ``<span style>``...), so user text (tickers, sector, design and benchmark
names, view labels, column names) could otherwise plant a link in a chart. Every builder ends
in :func:`finish` (or calls :func:`escape_figure` on its plain dicts), which escapes ``&``,
``<`` and ``>`` in every text of the figure, keeping only the ``<br>`` line breaks and the
``<extra>`` hover box that the builders' own templates use.
"""

from __future__ import annotations

import html
import re
from collections.abc import MutableMapping
from typing import Any

import numpy as np
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


#: One colour per portfolio, the same in every figure that shows it.
PORTFOLIO_COLOURS: dict[str, str] = {
    "market": "#9aa5b1",  # the prior's market portfolio and its implied returns
    "posterior": "#1f77b4",  # Black-Litterman posterior returns
    "black_litterman": "#9467bd",  # unconstrained Black-Litterman portfolio
    "optimised": "#d62728",  # the optimised portfolio (the Allocation page's result)
    "holdings": "#8c564b",  # the book held now
    "proposal": "#ff7f0e",  # a proposed rebalance of the book
    "benchmark": "#111111",
}
#: Display names (how figures name their traces) of each portfolio in :data:`PORTFOLIO_COLOURS`.
PORTFOLIO_NAMES: dict[str, tuple[str, ...]] = {
    "market": ("Prior (market-implied)", "Prior", "Market"),
    "posterior": ("Posterior",),
    "black_litterman": ("Black-Litterman (unconstrained)", "Black-Litterman", "BL"),
    "optimised": ("Optimised (your objective and constraints)", "Optimised",
                  "Current allocation", "Allocation", "Target allocation"),
    "holdings": ("Current holdings", "Holdings", "Current book"),
    "proposal": ("Proposal", "Proposed"),
    "benchmark": ("Benchmark",),
}  # fmt: skip


def portfolio_colour(name: str) -> str | None:
    """The colour of a portfolio named ``name`` in a figure, or None if it is none of ours.

    Parameters
    ----------
    name : str
        A trace name such as ``"Optimised (your objective and constraints)"`` or a key of
        :data:`PORTFOLIO_COLOURS`.

    Returns
    -------
    str or None
        Hex colour.
    """
    if name in PORTFOLIO_COLOURS:
        return PORTFOLIO_COLOURS[name]
    for key, names in PORTFOLIO_NAMES.items():
        if name in names:
            return PORTFOLIO_COLOURS[key]
    for key, names in PORTFOLIO_NAMES.items():
        if any(name.startswith(n + " ") for n in names):
            return PORTFOLIO_COLOURS[key]
    return None


#: Mantissas of the tick sequences of :func:`log_ticks`, coarsest first.
_LOG_MANTISSAS = (
    (1.0,),
    (1.0, 2.0, 5.0),
    (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
    (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0),
    (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0),
)


def log_ticks(low: float, high: float, max_ticks: int = 10) -> list[float]:
    """Tick values for a log axis from ``low`` to ``high``: 1-2-5 (or finer) steps, readable.

    Plotly's own log ticks label minor ticks with their first digit only ("5 4 3 2 1 9 8"),
    which reads as nonsense; these values are labelled in full by :func:`log_axis`.

    Parameters
    ----------
    low, high : float
        Positive range of the data.
    max_ticks : int
        Most ticks wanted; the finest sequence with at most this many ticks (and at least 3
        when one exists) is chosen.

    Returns
    -------
    list of float
        Increasing tick values within ``[low, high]`` (widened to the nearest ticks outside).
    """
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 or high <= 0:
        return []
    low, high = min(low, high), max(low, high)
    decades = range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1)
    best: list[float] = []
    for mantissas in _LOG_MANTISSAS:
        values = sorted({float(f"{m * 10.0**k:.6g}") for k in decades for m in mantissas})
        below = [v for v in values if v <= low][-1:]
        above = [v for v in values if v >= high][:1]
        inside = [v for v in values if low < v < high]
        ticks = below + inside + above
        if len(ticks) > max_ticks:
            break
        best = ticks
        if len(inside) >= 3:
            break
    return best


def log_axis(values: pd.DataFrame | pd.Series | np.ndarray, title: str) -> dict[str, Any]:
    """Layout of a log y axis whose ticks (:func:`log_ticks`) are labelled in full.

    Parameters
    ----------
    values : DataFrame, Series or ndarray
        The data drawn on the axis (positive; NaN ignored).
    title : str
        Axis title with its unit.

    Returns
    -------
    dict
        ``yaxis`` layout: ``type="log"``, ``tickvals`` and ``ticktext`` such as "0.5", "1",
        "2", "5", "10"; a linear axis when fewer than two such ticks fall within the data.
    """
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data) & (data > 0)]
    axis: dict[str, Any] = dict(title=title, type="log")
    if data.size:
        low, high = float(data.min()), float(data.max())
        ticks = log_ticks(low, high)
        if sum(low <= t <= high for t in ticks) < 2:  # a narrow range reads better linear
            return dict(title=title.replace(" (log scale)", ""), type="linear")
        axis.update(tickvals=ticks, ticktext=[f"{v:g}" for v in ticks])
    return axis


# The only tags figure text keeps: line breaks, and the hover template's secondary box.
_KEPT_TAGS = re.compile(r"&lt;(/?(?:br|extra))\s*/?&gt;", re.IGNORECASE)
_MARKUP = re.compile(r"[<>&]")
#: Trace properties that plotly renders as (pseudo-)HTML text.
_TRACE_TEXT = ("name", "text", "hovertext", "hovertemplate", "texttemplate", "x", "y", "labels",
               "customdata", "legendgroup")  # fmt: skip


def plain(text: object) -> str:
    """``text`` as plotly shows it literally: no link, image or styling from it.

    Parameters
    ----------
    text : object
        Any value; ``str(text)`` is escaped.

    Returns
    -------
    str
        ``&``, ``<`` and ``>`` as HTML entities (plotly shows entities as their characters),
        except the ``<br>`` and ``<extra>`` tags figure templates use.

    References
    ----------
    plotly.js ``svg_text_utils`` (the tags and entities figure text understands),
    https://plotly.com/chart-studio-help/adding-HTML-and-links-to-charts/
    """
    return _KEPT_TAGS.sub(r"<\1>", html.escape(str(text), quote=False))


def _escaped(value: Any) -> Any:
    """``value`` with :func:`plain` on its strings; the same object when nothing changes."""
    if isinstance(value, str):
        return plain(value) if _MARKUP.search(value) else value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "OU" or value.ndim != 1:
            return value
        items = value.tolist()
        new = _escaped(items)
        return value if new is items else np.asarray(new, dtype=value.dtype if
                                                     value.dtype.kind == "O" else object)
    if isinstance(value, list | tuple):
        new = [_escaped(v) for v in value]
        if all(a is b for a, b in zip(new, value, strict=True)):
            return value
        return type(value)(new) if isinstance(value, tuple) else new
    return value


def _escape_in(obj: Any, key: str) -> None:
    """Escape ``obj[key]`` (a dict or a plotly object), and a title's ``text``."""
    try:
        if key not in obj:
            return
        value = obj[key]
    except (KeyError, ValueError):
        return
    if value is None:
        return
    if key == "title" and not isinstance(value, str):
        _escape_in(value, "text")
        return
    new = _escaped(value)
    if new is not value:
        obj[key] = new


def escape_figure(fig: go.Figure | None = None, *, data: Any = None,
                  layout: MutableMapping | None = None) -> None:
    """Escape every text of a figure in place (:func:`plain`): the one place that does it.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure, optional
        A figure, changed in place.
    data : list of dict, optional
        Or the traces of a figure still to be built, as plain dicts (changed in place).
    layout : dict, optional
        And its layout, as a plain dict (changed in place).

    Notes
    -----
    Escaped: trace names, text, hover text and templates, category labels (``x``, ``y``,
    ``labels``), string ``customdata``; the layout's title, axis titles and tick texts, legend
    title and annotations. Strings without ``&``, ``<`` or ``>`` are left as they are, so the
    common case costs a scan.
    """
    if fig is not None:
        data, layout = fig.data, fig.layout
        axes = [*fig.select_xaxes(), *fig.select_yaxes()]
    else:
        data, layout = data or [], layout if layout is not None else {}
        axes = [v for k, v in layout.items()
                if re.fullmatch(r"[xy]axis\d*", k) and isinstance(v, dict)]  # fmt: skip
    for trace in data:
        for key in _TRACE_TEXT:
            _escape_in(trace, key)
    _escape_in(layout, "title")
    for axis in axes:
        _escape_in(axis, "title")
        _escape_in(axis, "ticktext")
    legend = layout["legend"] if "legend" in layout else None
    if legend is not None:
        _escape_in(legend, "title")
    for note in (layout["annotations"] if "annotations" in layout else None) or ():
        _escape_in(note, "text")


def finish(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    """``fig`` with its title and :data:`LAYOUT`, its text escaped (:func:`escape_figure`).

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
    escape_figure(fig)
    return fig


def build(data: list[dict], title: str, **layout: Any) -> go.Figure:
    """A figure from plain trace dicts, as :func:`finish` makes it, in one constructor call.

    ``fig.add_bar(...)`` then ``update_layout(template=...)`` validates and copies the template
    once more for each call: about 18 ms a figure here against about 4 ms this way, which a
    slider move pays for every chart it redraws.

    Parameters
    ----------
    data : list of dict
        Traces (``type`` and their attributes), escaped in place.
    title : str
        Figure title.
    **layout
        More layout (axes with units, legend, a height), overriding :data:`LAYOUT`.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    full = {**LAYOUT, **layout, "title": dict(text=title)}
    for name, axis in full.items():
        if re.fullmatch(r"[xy]axis\d*", name) and isinstance(axis, dict):
            if isinstance(axis.get("title"), str):
                full[name] = {**axis, "title": dict(text=axis["title"])}
    escape_figure(data=data, layout=full)
    return go.Figure(data=data, layout=full)


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


def fixed_margins(fig: go.Figure, *, left: int = 80, right: int = 20, top: int = 50,
                  bottom: int = 80, x_labels: Any = None) -> go.Figure:
    """Fix a figure's margins (no automatic ones), for a chart a slider redraws.

    With automatic margins (the template's ``automargin`` axes, a legend outside the plot)
    plotly measures every tick label and legend item and lays the figure out a second time:
    about half of its redraw in the browser, paid on every move. The margins here are set from
    the figure's content instead; ``x_labels`` (category labels of the x axis) turns its tick
    labels upright and widens the bottom margin to their length, so no label is cut.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        Changed in place.
    left, right, top, bottom : int
        Margins in px (``bottom`` before the labels' room).
    x_labels : sequence of str, optional
        The x axis' category labels, drawn vertically.

    Returns
    -------
    plotly.graph_objects.Figure
        ``fig``.
    """
    if x_labels is not None:
        longest = max((len(str(s)) for s in x_labels), default=0)
        bottom += 7 * min(longest, 30)  # about 7 px a character at plotly's 12 px font
        fig.update_xaxes(tickangle=-90)
    fig.update_layout(margin=dict(l=left, r=right, t=top, b=bottom, autoexpand=False))
    fig.update_xaxes(automargin=False)
    fig.update_yaxes(automargin=False)
    return fig
