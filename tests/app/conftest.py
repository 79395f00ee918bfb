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


@pytest.fixture
def page():
    """The :func:`open_page` function, as a fixture."""
    return open_page
