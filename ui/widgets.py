"""Shared widgets and display helpers for the pages.

User text (tickers, sectors, setup and file names, column names, view texts, and the messages of
``BallastError`` that quote them) is shown through :func:`md_escape` wherever Streamlit renders
Markdown (messages, captions, widget labels), so that it reads literally and never becomes a
link, an image or a directive.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.exceptions import BallastError
from ui import state

#: Session-state key: widget key -> the page that last rendered it (see :func:`_needs_seed`).
_RENDERED_ON = "_synced_rendered_on"
#: Session-state key: what the results on screen in this run are stale for (see
#: :func:`mark_stale`); ``ui.state.init`` clears it at the start of every run.
STALE = "_stale_result"

# What starts a Markdown construct in Streamlit's renderer, backslash-escaped (CommonMark lets
# any ASCII punctuation be): links and images need "[", HTML and autolinks "<", code "`",
# emphasis "*" and "~" (and "_" at a word's edge: inside a word it is no emphasis), LaTeX "$".
# Ordinary punctuation (. , ; : ' % - ( ) ...) stays as it is, so messages read (and compare)
# unchanged.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>$~]|(?<!\w)_|_(?!\w))")
# Line starts that make a heading, list, quote or table row.
_MD_LINE_START = re.compile(r"^(\s*)([#+=|-])", re.MULTILINE)
# GFM autolink literals (https://..., www...., a@b.c) and ":name:" icons or ":red[...]"
# directives are found in the text after escapes are resolved, so backslashes cannot stop them:
# an invisible word joiner (U+2060) after ":", "@" and "www" does.
_AUTOLINK = re.compile(r":(?=\S)|@|(?i:www)(?=\.)")


#: Look of :func:`static_table`: Streamlit's own table, compact, numbers right-aligned; the
#: text keeps the theme's colour (light or dark).
_TABLE_STYLE = (
    "<style>.ballast-table{border-collapse:collapse;font-size:0.875rem;margin-bottom:1rem}"
    ".ballast-table th,.ballast-table td{border-bottom:1px solid rgba(128,128,128,.25);"
    "padding:.25rem .75rem;text-align:left;white-space:nowrap}"
    ".ballast-table th{font-weight:600;opacity:.75}"
    ".ballast-table .num{text-align:right;font-variant-numeric:tabular-nums}</style>"
)


def static_table(frame: pd.DataFrame, numeric: tuple[str, ...] = ()) -> None:
    """A read-only table of text as one HTML element: light to redraw, every cell literal.

    ``st.table`` renders each cell as Markdown in the browser: about 0.1 s for a 20-row table
    on every slider move that redraws it, and user text needs Markdown escaping. Here the
    table is plain HTML built once on the server, every label and cell escaped
    (``html.escape``), so nothing in it is a link, an image or markup.

    Parameters
    ----------
    frame : DataFrame
        Already formatted values (strings); the index is the first column, its name the
        header.
    numeric : tuple of str
        Columns aligned right (amounts, weights).
    """
    e = html.escape
    cls = [' class="num"' if c in numeric else "" for c in frame.columns]
    head = f"<th>{e(str(frame.index.name or ''))}</th>" + "".join(
        f"<th{k}>{e(str(c))}</th>" for k, c in zip(cls, frame.columns, strict=True))
    rows = "".join(
        f"<tr><th>{e(str(i))}</th>"
        + "".join(f"<td{k}>{e(str(v))}</td>" for k, v in zip(cls, row, strict=True))
        + "</tr>"
        for i, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    )
    st.html(f'{_TABLE_STYLE}<table class="ballast-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")  # fmt: skip


def md_escape(text: object) -> str:
    """``text`` as Markdown that renders literally: no link, image, HTML, code, icon or math.

    Use it on every user-supplied string shown where Streamlit renders Markdown: messages
    (``st.error``, ``st.warning``, ``st.info``, ``st.success``), ``st.markdown``,
    ``st.caption`` and widget labels.

    Parameters
    ----------
    text : object
        Any value; ``str(text)`` is escaped.

    Returns
    -------
    str
        The text with a backslash before each character that would start a Markdown construct
        (backslash, backtick, ``* [ ] < > $ ~``, ``_`` at a word's edge, ``# + = | -`` at a
        line's start) and an invisible word joiner (U+2060) after ``:`` (unless a space
        follows), ``@`` and ``www``.

    References
    ----------
    CommonMark Spec 0.31, section 2.4 "Backslash escapes", https://spec.commonmark.org/0.31.2/;
    GitHub Flavored Markdown Spec, section 6.9 "Autolinks (extension)",
    https://github.github.com/gfm/
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text))
    escaped = _MD_LINE_START.sub(r"\1\\\2", escaped)
    return _AUTOLINK.sub(lambda m: m.group(0) + "\u2060", escaped)


def _needs_seed(*keys: str) -> bool:
    """Whether a synced widget must be (re)filled from the setup before it is drawn.

    True when one of its session-state ``keys`` is missing, or when the widget was last drawn
    on another page. Streamlit gives widgets with the same key on two pages different identities
    (the page is part of a widget's id), so the value left under the key by the other page's
    widget is not taken over: without a refill the new widget starts from its default (a number
    input's minimum) and overwrites the setup.
    """
    ctx = get_script_run_ctx()
    page = ctx.page_script_hash if ctx is not None else ""
    rendered_on = st.session_state.setdefault(_RENDERED_ON, {})
    moved = rendered_on.get(keys[0]) != page
    rendered_on[keys[0]] = page
    return moved or any(k not in st.session_state for k in keys)


def synced(
    widget: Callable[..., Any], name: str, label: str, *, scale: float = 1.0, **kwargs: Any
) -> Any:
    """Render a widget whose value lives in the setup key ``name`` of session state.

    The widget gets the key ``w_<name>``; it starts from the setup's value whenever it is
    (re)created, also when another page drew a widget for the same setup key, and writes its
    value back on every run, so the setup survives page changes.

    Parameters
    ----------
    widget : callable
        A Streamlit input such as ``st.number_input`` or ``st.selectbox``.
    name : str
        Setup key in :data:`ui.state.DEFAULTS` (or any session-state key).
    label : str
        The widget's label.
    scale : float
        Widget value = setup value x scale (100 shows a decimal as a percentage); numbers only.
    **kwargs
        Passed to the widget (not ``value``/``index``/``key``).

    Returns
    -------
    Any
        The widget's current value.
    """
    wkey = f"w_{name}"
    if _needs_seed(wkey):
        stored = st.session_state[name]
        st.session_state[wkey] = stored * scale if _is_number(stored) and scale != 1.0 else stored
    fitted, problem = _fit(st.session_state[wkey], kwargs)
    if problem:
        # A loaded setup, or a range that moved (long only raises a minimum), may hold a value
        # the widget refuses (Streamlit raises, e.g. StreamlitValueAboveMaxError).
        st.warning(md_escape(f"{label}: {problem}"), icon=":material/warning:")
        st.session_state[wkey] = fitted
    value = widget(label, key=wkey, **kwargs)
    _write_setup(name, value / scale if _is_number(value) and scale != 1.0 else value)
    return st.session_state[name]


def _write_setup(name: str, value: Any) -> None:
    """Set a setup key; when that changes it, keep the setup for a reload (ui.persistence)."""
    old = st.session_state.get(name)
    st.session_state[name] = value
    try:
        same = bool(old == value)
    except (TypeError, ValueError):  # frames, arrays: compare by identity
        same = old is value
    if not same:
        from ui import persistence

        persistence.autosave()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fit(value: Any, kwargs: dict[str, Any]) -> tuple[Any, str]:
    """``value`` made acceptable to a widget with ``kwargs``, and what was changed ('' if none).

    Numbers and dates are clamped into ``[min_value, max_value]`` (an int becomes a float when
    the bounds are floats, as Streamlit requires one numeric type); values missing from
    ``options`` are dropped (lists) or replaced by the first option.
    """
    lo, hi, options = kwargs.get("min_value"), kwargs.get("max_value"), kwargs.get("options")
    if options is not None:
        opts = list(options)
        if isinstance(value, list | tuple):
            kept = [v for v in value if v in opts]
            if len(kept) != len(value):
                gone = ", ".join(str(v) for v in value if v not in opts)
                return kept, f"{gone} not available here, left out."
            return value, ""
        if opts and value not in opts:
            return opts[0], f"{value!r} is not one of the choices; using {opts[0]!r}."
        return value, ""
    if _is_number(value):
        bounds = [b for b in (lo, hi) if _is_number(b)]
        if any(isinstance(b, float) for b in bounds) and isinstance(value, int):
            value = float(value)
        elif bounds and all(isinstance(b, int) for b in bounds) and isinstance(value, float):
            if value.is_integer():
                value = int(value)
        if isinstance(value, float) and not math.isfinite(value):
            fallback = lo if _is_number(lo) else hi if _is_number(hi) else 0.0
            return fallback, f"{value} is not a number; using {fallback:g}."
    elif not isinstance(value, dt.date):
        return value, ""
    try:
        if lo is not None and value < lo:
            return lo, f"{_show(value)} is below the minimum {_show(lo)}; using the minimum."
        if hi is not None and value > hi:
            return hi, f"{_show(value)} is above the maximum {_show(hi)}; using the maximum."
    except TypeError:  # e.g. a datetime against date bounds: leave it to the widget
        return value, ""
    return value, ""


def _show(value: Any) -> str:
    return f"{value:,.10g}" if _is_number(value) else str(value)


def synced_editor(
    name: str,
    to_frame: Callable[[Any], pd.DataFrame],
    from_frame: Callable[[pd.DataFrame], Any],
    **kwargs: Any,
) -> Any:
    """A ``st.data_editor`` whose content lives in the setup key ``name``.

    The editor's base frame is built from the setup once per visit of the page (Streamlit's
    editor must receive the same data on every rerun), and the edited frame is parsed back into
    the setup on every run.

    Parameters
    ----------
    name : str
        Setup key.
    to_frame : callable
        Setup value -> DataFrame shown in the editor.
    from_frame : callable
        Edited DataFrame -> setup value; may raise ``BallastError`` for bad rows.
    **kwargs
        Passed to ``st.data_editor``.

    Returns
    -------
    Any
        The parsed setup value.
    """
    wkey, bkey = f"w_{name}", f"wbase_{name}"
    if _needs_seed(wkey, bkey):
        st.session_state[bkey] = to_frame(st.session_state[name])
    edited = st.data_editor(st.session_state[bkey], key=wkey, **kwargs)
    try:
        _write_setup(name, from_frame(edited))
    except BallastError as exc:  # a bad row: say which, keep the setup's last good value
        show_error(exc)
    return st.session_state[name]


def show_error(error: BallastError | str, what: str = "", icon: str = ":material/error:") -> None:
    """Show a user-facing error, literally (:func:`md_escape`); the page goes on.

    Parameters
    ----------
    error : BallastError or str
        The error (its message quotes tickers, column and file names: user text).
    what : str
        What failed, shown before the message.
    icon : str
        Streamlit icon of the message box.
    """
    prefix = f"{what}: " if what else ""
    st.error(md_escape(prefix + str(error)), icon=icon)


def last_good(
    key: str,
    compute: Callable[[], Any],
    what: str = "",
    note: str = "",
    stale: str = "last good result, before the current change",
) -> Any:
    """``compute()``, kept in session state under ``key`` as the last good result.

    On a ``BallastError`` the error is shown (prefixed with ``what``) and the last good result
    is returned with ``note`` under it, marked stale (:func:`mark_stale` with ``stale``) so that
    this run's downloads say so; with none yet, the page stops there.
    """
    try:
        value = compute()
    except BallastError as exc:
        show_error(exc, what)
        value = st.session_state.get(key)
        if value is None:
            st.stop()
        st.info(note)
        mark_stale(stale)
        return value
    st.session_state[key] = value
    return value


def mark_stale(what: str) -> None:
    """Say that the results shown in this run are the last good ones, not the current setup's.

    Downloads offered in the rest of the run (:func:`download_label`, :func:`csv_download`, the
    report sections) carry ``what`` in their label and ``last_good`` in their file name;
    ``what=""`` says they are current again.
    """
    st.session_state[STALE] = what


def stale() -> str:
    """What this run's results are stale for ('' when they belong to the current setup)."""
    return st.session_state.get(STALE) or ""


def download_label(label: str, file_name: str) -> tuple[str, str]:
    """A download's label and file name, marked when the result is stale (:func:`mark_stale`).

    Returns
    -------
    tuple of str
        ``(label, file_name)``; when stale, ``"<label> · <what>"`` and ``<stem>_last_good.<ext>``.
    """
    what = stale()
    if not what:
        return label, file_name
    stem, dot, ext = file_name.rpartition(".")
    return f"{label} · {what}", f"{stem}_last_good.{ext}" if dot else f"{file_name}_last_good"


def data_caption() -> None:
    """One line on the data in use: source, universe size, window, as-of date."""
    data = state.price_data()
    universe = st.session_state["universe"]
    st.caption(md_escape(
        f"Data: {data.description or data.source} · {len(universe)} assets · window "
        f"{st.session_state['start']} to {st.session_state['end']} · as of {data.as_of.date()}"
        + (f" · prices in {data.currency}" if data.currency else "")
    ))  # fmt: skip


def csv_download(
    label: str,
    data: bytes | pd.DataFrame | Callable[[], bytes],
    file_name: str,
    *,
    key: str | None = None,
    box: Any = None,
    icon: str | None = ":material/download:",
) -> None:
    """A download button for a CSV file, in ``box`` (a column or container; the page if None).

    Every CSV download goes through ``core.reporting.clean_csv``: floats without rounding
    noise, text that a spreadsheet cannot run as a formula (OWASP's CSV-injection advice).
    ``data`` is CSV bytes, or a DataFrame (written without its index by
    ``core.reporting.csv_bytes``), or a function returning CSV bytes: it runs only when the
    button is pressed (Streamlit's deferred download), so a rerun that only redraws the page,
    a slider move for one, does not build the file. When the page shows a stale result
    (:func:`mark_stale`), the label and file name say so.
    """
    from core.reporting import clean_csv, csv_bytes

    if callable(data):
        make = data

        def body() -> bytes:  # on Streamlit's download thread: no session state here
            return clean_csv(make())

    else:
        body = csv_bytes(data) if isinstance(data, pd.DataFrame) else clean_csv(data)
    label, file_name = download_label(label, file_name)
    (box or st).download_button(label, body, file_name, "text/csv", icon=icon, key=key)


def percent_column(label: str | None = None) -> Any:
    """A table column of decimals shown as percentages (``0.1234`` as ``12.34%``)."""
    return st.column_config.NumberColumn(label, format="percent")


def number_column(label: str | None = None, fmt: str = "%.2f") -> Any:
    """A table column of numbers in a printf format: ``"%,.0f"`` for money, ``"%d"`` shares."""
    return st.column_config.NumberColumn(label, format=fmt)


def blank_missing(frame: pd.DataFrame, fmt: str | dict = "{:.2f}") -> Any:
    """A read-only table styled so a missing value shows as an empty cell, not "None".

    Parameters
    ----------
    frame : DataFrame
        The table; numeric columns take ``fmt``.
    fmt : str or dict
        A ``str.format`` pattern for every numeric column (``"{:.2%}"`` for decimals shown as
        percentages), or one per column.

    Returns
    -------
    pandas.io.formats.style.Styler
        For ``st.dataframe``; its display values take the place of a column_config format
        (labels and help still apply).
    """
    if isinstance(fmt, str):
        fmt = {c: fmt for c in frame.select_dtypes("number").columns}
    return frame.style.format(fmt, na_rep="")


def percent(x: float, digits: int = 2) -> str:
    """Format a decimal as a percentage, e.g. ``0.1234 -> '12.34 %'``."""
    return f"{x * 100:.{digits}f} %"
