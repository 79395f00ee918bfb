"""Shared widgets and display helpers for the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.exceptions import BallastError
from ui import state

#: Session-state key: widget key -> the page that last rendered it (see :func:`_needs_seed`).
_RENDERED_ON = "_synced_rendered_on"


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
        st.session_state[wkey] = stored * scale if scale != 1.0 else stored
    value = widget(label, key=wkey, **kwargs)
    st.session_state[name] = value / scale if scale != 1.0 else value
    return st.session_state[name]


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
    st.session_state[name] = from_frame(edited)
    return st.session_state[name]


def show_error(error: BallastError, what: str = "") -> None:
    """Show a user-facing error; the page goes on with the last good state."""
    prefix = f"{what}: " if what else ""
    st.error(prefix + str(error), icon=":material/error:")


def last_good(key: str, compute: Callable[[], Any], what: str = "", note: str = "") -> Any:
    """``compute()``, kept in session state under ``key`` as the last good result.

    On a ``BallastError`` the error is shown (prefixed with ``what``) and the last good result
    is returned with ``note`` under it; with none yet, the page stops there.
    """
    try:
        value = compute()
    except BallastError as exc:
        show_error(exc, what)
        value = st.session_state.get(key)
        if value is None:
            st.stop()
        st.info(note)
        return value
    st.session_state[key] = value
    return value


def data_caption() -> None:
    """One line on the data in use: source, universe size, window, as-of date."""
    data = state.price_data()
    universe = st.session_state["universe"]
    st.caption(
        f"Data: {data.description or data.source} · {len(universe)} assets · window "
        f"{st.session_state['start']} to {st.session_state['end']} · as of {data.as_of.date()}"
        + (f" · prices in {data.currency}" if data.currency else "")
    )


def csv_download(
    label: str,
    data: bytes | pd.DataFrame,
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
    ``core.reporting.csv_bytes``).
    """
    from core.reporting import clean_csv, csv_bytes

    body = csv_bytes(data) if isinstance(data, pd.DataFrame) else clean_csv(data)
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
