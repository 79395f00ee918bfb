"""AppTest helpers: run a page of the real app on the bundled data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_page(name: str = "app.py", timeout: float = 90, **setup: Any) -> AppTest:
    """Run ``name`` (``"app.py"`` or ``"pages/2_Allocation.py"``) once and return the AppTest.

    ``setup`` keys are put into session state before the run (e.g. ``universe=["KO"]``).
    """
    at = AppTest.from_file(str(ROOT / name), default_timeout=timeout)
    for key, value in setup.items():
        at.session_state[key] = value
    at.run()
    return at


def shown_cells(element: Any) -> pd.DataFrame:
    """What a dataframe element shows: a Styler's display values (strings), else its data.

    AppTest's ``.value`` gives the data behind a Styler; the browser shows the display values.
    """
    values = element.proto.arrow_data.styler.display_values
    if values:
        return pa.ipc.open_stream(values).read_all().to_pandas()
    return element.value


def html_tables(at: Any) -> list[pd.DataFrame]:
    """The tables of the page's ``st.html`` elements (ui.widgets.static_table), as text.

    The first column (header cells of each row) is the index; cells are unescaped text.
    """
    from html.parser import HTMLParser

    class Tables(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tables: list[list[list[str]]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append([])
            elif tag == "tr":
                self.tables[-1].append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.tables[-1][-1].append("".join(self.cell))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    out = []
    for element in at.get("html"):
        parser = Tables()
        parser.feed(element.proto.body)
        for rows in parser.tables:
            head, body = rows[0], rows[1:]
            frame = pd.DataFrame([r[1:] for r in body], columns=head[1:],
                                 index=pd.Index([r[0] for r in body], name=head[0] or None))
            out.append(frame)
    return out


def has_none_cells(element: Any) -> bool:
    """True if a read-only table would show "None" (a missing value without a blank format)."""
    frame = shown_cells(element)
    if element.proto.arrow_data.styler.display_values:
        return bool(frame.astype(str).isin(["None", "nan", "NaN", "<NA>"]).any().any())
    return bool(frame.isna().any().any())


def _report_section_script(module: str) -> None:
    import importlib

    import streamlit as st

    from ui import state

    state.init()
    st.session_state["section"] = importlib.import_module(module).report_section()


def report_section_app(module: str, timeout: float = 90) -> AppTest:
    """An AppTest (not yet run) that puts ``<module>.report_section()`` in ``section``.

    ``module`` is the feature's ui module, e.g. ``"ui.risk"``; set session state, then run.
    """
    return AppTest.from_function(_report_section_script, default_timeout=timeout, args=(module,))


@pytest.fixture
def page():
    """The :func:`open_page` function, as a fixture."""
    return open_page
