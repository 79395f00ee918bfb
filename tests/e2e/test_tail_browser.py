"""Browser test: the tail objectives on the Allocation page in real Chromium (min CVaR, HERC)."""

from __future__ import annotations

from tests.e2e.conftest import exceptions, open_page, wait_idle


def _choose(page, option: str) -> None:
    page.locator("[data-testid='stSelectbox']").filter(has_text="Objective").click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def test_min_cvar_and_herc_with_its_dendrogram(page, server_url):
    open_page(page, server_url, "Allocation", until="Orders in whole shares")
    assert exceptions(page) == 0
    _choose(page, "Min CVaR")
    metrics = " ".join(page.locator("[data-testid='stMetric']").all_inner_texts())
    assert "CVaR 95.0% (daily, historical)" in metrics
    assert page.get_by_text("No portfolio satisfies").count() == 0
    _choose(page, "HERC (hierarchical)")
    page.get_by_text("HERC clustering").first.wait_for(timeout=30_000)
    assert exceptions(page) == 0
    assert page.locator(".js-plotly-plot").count() >= 2  # the weights and the dendrogram
