"""AppTest helpers: run a page of the real app on the bundled data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
