"""Shared widgets and display helpers for the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.exceptions import BallastError
from ui import state


def synced(
    widget: Callable[..., Any], name: str, label: str, *, scale: float = 1.0, **kwargs: Any
) -> Any:
    """Render a widget whose value lives in the setup key ``name`` of session state.

    The widget gets the key ``w_<name>``; it starts from the setup's value whenever it is
    (re)created and writes its value back on every run, so the setup survives page changes.

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
    if wkey not in st.session_state:
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
    if wkey not in st.session_state or bkey not in st.session_state:
        st.session_state[bkey] = to_frame(st.session_state[name])
    edited = st.data_editor(st.session_state[bkey], key=wkey, **kwargs)
    st.session_state[name] = from_frame(edited)
    return st.session_state[name]


def show_error(error: BallastError, what: str = "") -> None:
    """Show a user-facing error; the page goes on with the last good state."""
    prefix = f"{what}: " if what else ""
    st.error(prefix + str(error), icon=":material/error:")


def data_caption() -> None:
    """One line on the data in use: source, universe size, window, as-of date."""
    data = state.price_data()
    universe = st.session_state["universe"]
    st.caption(
        f"Data: {data.description or data.source} · {len(universe)} assets · window "
        f"{st.session_state['start']} to {st.session_state['end']} · as of {data.as_of.date()}"
        + (f" · prices in {data.currency}" if data.currency else "")
    )


def percent(x: float, digits: int = 2) -> str:
    """Format a decimal as a percentage, e.g. ``0.1234 -> '12.34 %'``."""
    return f"{x * 100:.{digits}f} %"
