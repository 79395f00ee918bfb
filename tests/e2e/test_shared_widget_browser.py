"""Browser test: a setup key shown by widgets on two pages keeps its value across page changes."""

from __future__ import annotations

from tests.e2e.conftest import exceptions, open_page, wait_idle


def _go(page, name: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=name).first.click()
    wait_idle(page)


def _value(page, label: str) -> str:
    return page.get_by_role("spinbutton", name=label).input_value()


def test_capital_survives_allocation_risk_allocation(page, server_url):
    open_page(page, server_url, "Allocation")
    box = page.get_by_label("Capital to invest")
    box.fill("250000.00")
    box.press("Enter")
    wait_idle(page)
    _go(page, "Risk")
    assert _value(page, "Portfolio value (money)") == "250000.00"
    _go(page, "Allocation")
    assert _value(page, "Capital to invest") == "250000.00"
    assert exceptions(page) == 0
