"""AppTest of the live progress line of a mixed-integer solve on the Allocation page."""

from __future__ import annotations

import pytest

from core.mixed_integer import Progress
from tests.app.conftest import open_page
from ui.compliance import progress_text

pytest.importorskip("pyscipopt")


def test_the_page_shows_scip_s_progress_and_clears_it_when_done():
    at = open_page("pages/2_Allocation.py", compliance_max_holdings=5,
                   compliance_time_limit=60.0)  # fmt: skip
    assert not at.exception and not at.error
    last = at.session_state["mip_progress"]
    result = at.session_state["allocation"]
    assert last.final and last.sharpe == pytest.approx(result.sharpe_ratio, rel=1e-5)
    assert not any(c.value.startswith("SCIP, ") for c in at.caption)  # the line is gone


def test_progress_in_words():
    running = Progress(elapsed=2.04, limit=5.0, nodes=1, gap=0.0304, sharpe=0.5555,
                       sharpe_bound=0.5724)  # fmt: skip
    assert progress_text(running) == (
        "SCIP, 2.0 s of 5 s, 1 node: best Sharpe ratio found so far 0.5555; proven bound "
        "0.5724 (gap 3.04 %)."
    )
    searching = Progress(elapsed=1.2, limit=5.0, nodes=0, gap=float("inf"), sharpe_bound=0.96)
    assert progress_text(searching) == (
        "SCIP, 1.2 s of 5 s, 0 nodes: no portfolio found yet; proven bound 0.9600.")
    other = Progress(elapsed=3.0, limit=10.0, nodes=1234, gap=0.5)
    assert progress_text(other) == (
        "SCIP, 3.0 s of 10 s, 1,234 nodes: a portfolio found (gap 50.00 %).")
