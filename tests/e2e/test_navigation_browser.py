"""Browser test: the sidebar's page list names every page as the pages call themselves."""

from __future__ import annotations

from tests.e2e.conftest import NAV_LINKS, exceptions, go_to, nav_names, open_page

PAGES = ["Home", "Data", "Allocation", "Black-Litterman", "Efficient Frontier", "Risk",
         "Rebalance", "Report"]  # fmt: skip


def test_sidebar_lists_home_and_every_page_by_its_title(page, server_url):
    open_page(page, server_url)
    names = nav_names(page)
    assert names[: len(PAGES)] == PAGES  # pages added later come after these
    assert "app" not in names
    # Streamlit's own list (which would say "app") is switched off.
    assert page.locator("[data-testid='stSidebarNav']").count() == 0
    go_to(page, "Black-Litterman")
    assert page.get_by_role("heading", name="Black-Litterman").first.is_visible()
    assert page.locator(NAV_LINKS).count() >= len(PAGES)  # drawn on every page
    go_to(page, "Home")
    assert page.get_by_role("heading", name="Ballast").first.is_visible()
    assert exceptions(page) == 0
