"""Browser test: the Efficient Frontier page in real Chromium, chart rendered, slider moved."""

from __future__ import annotations

import time

from tests.e2e.conftest import open_page, wait_idle


def _metrics(page) -> list[str]:
    return page.locator("[data-testid='stMetric']").all_inner_texts()


def test_frontier_chart_renders_and_slider_picks(page, server_url):
    t0 = time.monotonic()
    open_page(page, server_url, "Efficient_Frontier")
    page.get_by_text("Pick a portfolio on the frontier").wait_for()
    print(f"\nEfficient Frontier page rendered in {time.monotonic() - t0:.2f} s")
    assert page.locator("[data-testid='stException']").count() == 0

    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.first.locator(".js-plotly-plot .scatterlayer").wait_for()
    assert charts.count() == 2
    # plotly drew the frontier line, the random cloud and the legend entries
    first = charts.first
    assert first.locator(".scatterlayer .trace").count() >= 6
    assert first.locator(".legendtext", has_text="Efficient frontier").count() == 1
    assert first.locator(".legendtext", has_text="Capital market line").count() == 1
    assert first.locator(".scatterlayer .trace .point").count() > 1000

    before = _metrics(page)
    slider = page.locator("[data-testid='stMain']").get_by_role("slider").first
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    wait_idle(page)
    after = _metrics(page)
    assert after != before
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path="/tmp/ballast_frontier.png", full_page=True)
