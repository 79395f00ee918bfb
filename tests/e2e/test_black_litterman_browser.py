"""Browser test: Black-Litterman page in real Chromium; a confidence slider moves the posterior."""

from __future__ import annotations

from tests.e2e.conftest import exceptions, open_page, wait_idle

# The first plotly chart on the page is "prior vs posterior"; its second trace is the posterior.
POSTERIOR = """() => {
  const plot = document.querySelectorAll('.js-plotly-plot')[0];
  const trace = plot.data[1];
  return Object.fromEntries(trace.x.map((x, i) => [x, trace.y[i]]));
}"""


def test_confidence_slider_moves_the_posterior(page, server_url):
    open_page(page, server_url, "Black-Litterman")
    assert exceptions(page) == 0
    page.get_by_role("button", name="Add two example views").click()
    wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for()
    before = page.evaluate(POSTERIOR)
    assert abs(before["JPM"] - 0.08) > 1e-4

    slider = page.get_by_role("slider").first  # view 1: JPM returns 8 % a year, at 50 %
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")
    wait_idle(page)
    after = page.evaluate(POSTERIOR)
    assert after != before
    assert abs(after["JPM"] - 0.08) < abs(before["JPM"] - 0.08)

    slider.press("End")  # 100 %: the view holds exactly
    wait_idle(page)
    full = page.evaluate(POSTERIOR)
    assert abs(full["JPM"] - 0.08) < 1e-9
    assert exceptions(page) == 0
    page.screenshot(path="/tmp/ballast_black_litterman.png", full_page=True)

