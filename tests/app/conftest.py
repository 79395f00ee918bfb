"""AppTest helpers: run a page of the real app on the bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_page(name: str = "app.py", timeout: float = 90) -> AppTest:
    """Run ``name`` (``"app.py"`` or ``"pages/2_Allocation.py"``) once and return the AppTest."""
    at = AppTest.from_file(str(ROOT / name), default_timeout=timeout)
    at.run()
    return at


@pytest.fixture
def page():
    """The :func:`open_page` function, as a fixture."""
    return open_page
