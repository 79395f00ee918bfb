"""Browser test: a setup key shown by widgets on two pages keeps its value across page changes."""

from __future__ import annotations

import re

from tests.e2e.conftest import exceptions, go_to, wait_idle

#: A page's first run on a loaded two-core machine can take minutes (cold caches).
SLOW = 240_000


def _go(page, name: str) -> None:
    go_to(page, name, SLOW)


def _open(page, server_url: str, path: str) -> None:
    page.goto(f"{server_url}/{path}")
    page.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(page, SLOW)


def _capital(page):
    return page.get_by_role("spinbutton", name="Capital to invest")


def _value(page, label: str) -> str:
    return page.get_by_role("spinbutton", name=label).input_value()


def test_capital_survives_allocation_risk_allocation(page, server_url):
    _open(page, server_url, "Allocation")
    box = _capital(page)
    box.fill("250000.00")
    box.press("Enter")
    wait_idle(page, SLOW)
    _go(page, "Risk")
    assert _value(page, "Portfolio value (money)") == "250000.00"
    _go(page, "Allocation")
    assert _value(page, "Capital to invest") == "250000.00"
    assert exceptions(page) == 0


def test_bounds_editors_show_every_column_without_scrolling(page, server_url):
    """Issue 10, #3: the sector and per-asset bounds tables fit where they are drawn."""
    _open(page, server_url, "Allocation")
    page.locator("[data-testid='stExpander'] summary").filter(
        has_text=re.compile("per-asset bounds", re.IGNORECASE)
    ).first.click(timeout=SLOW)
    wait_idle(page, SLOW)
    page.locator("[data-testid='stDataFrame'] th", has_text="Max weight (%)").nth(1).wait_for(
        state="attached", timeout=SLOW  # the grid's header cells are hidden (drawn on a canvas)
    )
    viewport = page.viewport_size
    for name in ("Sector", "Asset"):
        grid = page.locator("[data-testid='stDataFrame']").filter(
            has=page.locator("th", has_text=re.compile(f"^{name}$"))
        ).first
        assert grid.locator("th", has_text="Max weight (%)").count() == 1
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        assert box is not None and box["width"] > 300, (name, box)  # room for three columns
        assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], (name, box)
        # No sideways scrolling inside the grid: every column, "Max weight (%)" the last, shows.
        width, client = grid.locator(".dvn-scroller").first.evaluate(
            "s => [s.scrollWidth, s.clientWidth]"
        )
        assert width <= client + 1, (name, width, client)
    assert exceptions(page) == 0


HOSTILE = "[Verify your login](https://evil.example/x) ![](http://evil.example/p.png)"


def test_hostile_setup_name_renders_no_link_or_image(page, server_url):
    """Issue 10, #22: a setup name with Markdown is shown as text, never as a link or image."""
    _open(page, server_url, "Report")
    page.get_by_label("Save the current setup as").fill(HOSTILE)
    page.get_by_role("button", name="Save setup").click()
    wait_idle(page, SLOW)
    alert = page.locator("[data-testid='stAlert']").filter(has_text="Saved the setup as")
    alert.wait_for()
    assert HOSTILE in alert.inner_text().replace("\u2060", "")  # literally, brackets and all
    assert alert.locator("a, img").count() == 0
    app = page.locator("[data-testid='stApp']")
    assert app.locator("a[href*='evil.example'], img[src*='evil.example']").count() == 0
    label = page.locator("[data-testid='stWidgetLabel']").filter(has_text="Rename")
    assert label.inner_text().replace("\u2060", "") == f"Rename '{HOSTILE}' to"
    assert label.locator("a, img").count() == 0
    assert exceptions(page) == 0


def test_reload_keeps_universe_views_and_capital(page, server_url):
    """Issue 10, #4: a reload of the page finds the work where it was."""
    _open(page, server_url, "Data")
    tags = "[data-testid='stMultiSelectTagsContainer'] [data-tag]"
    page.locator(tags).nth(3).wait_for(timeout=SLOW)
    before = page.locator(tags).count()
    assert before > 3
    page.get_by_role("button", name="Remove AAPL").click()
    page.get_by_role("button", name="Apply").click()  # the universe's form
    wait_idle(page, SLOW)
    assert page.locator(tags).count() == before - 1
    _go(page, "Black-Litterman")
    page.get_by_role("button", name="Add two example views").click()
    wait_idle(page, SLOW)
    page.get_by_role("slider").nth(1).wait_for(timeout=SLOW)
    views = page.get_by_role("slider").count()
    _go(page, "Allocation")
    box = _capital(page)
    box.fill("250000.00")
    box.press("Enter")
    wait_idle(page, SLOW)
    assert "session=" in page.url

    page.reload()
    page.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(page, SLOW)
    _capital(page).wait_for(timeout=SLOW)
    assert _value(page, "Capital to invest") == "250000.00"
    _go(page, "Data")
    page.locator(tags).nth(before - 2).wait_for(timeout=SLOW)
    assert page.locator(tags).count() == before - 1
    assert page.get_by_role("button", name="Remove AAPL").count() == 0
    _go(page, "Black-Litterman")
    page.get_by_role("slider").nth(views - 1).wait_for(timeout=SLOW)
    assert page.get_by_role("slider").count() == views
    assert exceptions(page) == 0
