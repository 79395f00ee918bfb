"""Browser test: the Efficient Frontier page in real Chromium, chart rendered, slider moved."""

from __future__ import annotations

from tests.e2e.conftest import exceptions, open_page, wait_idle


def _metrics(page) -> list[str]:
    # The picked portfolio's figures are a table (stTable) beside the page's metrics.
    return page.locator("[data-testid='stMetric'], [data-testid='stTable']").all_inner_texts()


def test_frontier_chart_renders_and_slider_picks(page, server_url):
    seconds = open_page(
        page, server_url, "Efficient_Frontier", until="Pick a portfolio on the frontier"
    )
    print(f"\nEfficient Frontier page rendered in {seconds:.2f} s")
    assert exceptions(page) == 0

    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.first.locator(".js-plotly-plot .scatterlayer").wait_for()
    charts.nth(1).wait_for()  # the transition map may mount after the first chart has drawn
    wait_idle(page)
    assert charts.count() == 2
    # plotly drew the frontier line, the random cloud and the legend entries
    first = charts.first
    assert first.locator(".scatterlayer .trace").count() >= 6
    assert first.locator(".legendtext", has_text="Efficient frontier").count() == 1
    assert first.locator(".legendtext", has_text="Capital market line").count() == 1
    # the random portfolios are one heatmap image (cheap to redraw on every pick)
    first.locator(".heatmaplayer image").first.wait_for(state="attached")
    assert first.locator(".heatmaplayer image").count() == 1
    assert first.locator(".legendtext", has_text="Random portfolios").count() == 1

    before = _metrics(page)
    slider = page.locator("[data-testid='stMain']").get_by_role("slider").first
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    wait_idle(page)
    after = _metrics(page)
    assert after != before
    assert exceptions(page) == 0
    page.screenshot(path="/tmp/ballast_frontier.png", full_page=True)
