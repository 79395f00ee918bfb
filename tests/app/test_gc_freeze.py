"""Long-lived objects are frozen early, so full garbage collections stop walking them."""

from __future__ import annotations

import gc

from tests.app.conftest import open_page


def test_freeze_early_freezes_on_the_second_full_run_only_then():
    from ui import state

    saved = state._full_runs[0]
    try:
        state._full_runs[0] = 0
        gc.unfreeze()
        assert state.freeze_early() is False and gc.get_freeze_count() == 0  # first run
        assert state.freeze_early() is True  # second run: collect, then freeze
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules of pandas, plotly, streamlit... at least
        assert not any(state.freeze_early() for _ in range(3, 10))  # runs 3 to 9
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        state._full_runs[0] = saved


def test_pages_run_through_the_freeze():
    """A page still works on the run that freezes (the Allocation page, twice)."""
    from ui import state

    saved = state._full_runs[0]
    try:
        state._full_runs[0] = 0
        gc.unfreeze()
        at = open_page("pages/2_Allocation.py")
        at.run()
        assert not at.exception and gc.get_freeze_count() > 0
        assert at.get("plotly_chart")
    finally:
        gc.unfreeze()
        state._full_runs[0] = saved
