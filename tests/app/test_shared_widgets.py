"""A setup key drawn by widgets on two pages (``synced``) keeps its value across page changes.

Streamlit puts the page into a widget's identity, so ``w_capital`` on the Allocation page and
``w_capital`` on the Risk page are two widgets; before the fix, going back to a page reset the
setup to the number input's minimum.
"""

from __future__ import annotations

from tests.app.conftest import open_page


def test_capital_survives_page_changes():
    at = open_page("app.py")
    at.switch_page("pages/2_Allocation.py").run()
    at.number_input(key="w_capital").set_value(250_000.0).run()
    at.switch_page("pages/5_Risk.py").run()
    assert not at.exception
    assert at.session_state["capital"] == 250_000.0
    assert at.number_input(key="w_capital").value == 250_000.0
    at.number_input(key="w_capital").set_value(300_000.0).run()
    at.switch_page("pages/2_Allocation.py").run()
    assert not at.exception
    assert at.session_state["capital"] == 300_000.0
    assert at.number_input(key="w_capital").value == 300_000.0
