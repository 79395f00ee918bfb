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


def _confidences(page) -> list[str]:
    return page.locator("[data-testid='stSliderThumbValue']").all_inner_texts()


def _type_in_new_row(page, grid, column: int, text: str) -> None:
    """Open the editor of the views table's third row, ``column`` (0-based), and type ``text``."""
    box = grid.bounding_box()
    # Row height and header height of Streamlit's grid are 35 px; the columns' left edges
    # are measured from the header cells, which the grid draws on a canvas.
    edges = page.evaluate(
        """(el) => [...el.querySelectorAll('[role=columnheader]')]
              .map(h => h.getBoundingClientRect().left + h.getBoundingClientRect().width / 2)""",
        grid.element_handle(),
    )
    x = edges[column] if len(edges) > column else box["x"] + [58, 198, 315, 467][column]
    page.mouse.dblclick(x, box["y"] + 35 * 3 + 17)
    page.locator("#portal textarea, #portal input").first.wait_for()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    wait_idle(page)


def _add_a_view_after_setting_view_1(page, server_url, order):
    open_page(page, server_url, "Black-Litterman")
    page.get_by_role("button", name="Add two example views").click()
    wait_idle(page)
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(20):  # 50 % -> 70 %
        slider.press("ArrowRight")
    wait_idle(page)
    assert _confidences(page) == ["70 %", "50 %"]
    grid = page.locator("[data-testid='stDataFrame']:visible").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 198, box["y"] + 35 * 3 + 17)  # the empty row adds a row
    wait_idle(page)
    for column, text in order:
        _type_in_new_row(page, grid, column, text)
    page.get_by_text("View 3: XOM returns 12.00 % a year").wait_for()
    wait_idle(page)
    assert _confidences(page) == ["70 %", "50 %", "50 %"]
    assert exceptions(page) == 0


def test_adding_a_view_keeps_the_other_views_confidence(page, server_url):
    _add_a_view_after_setting_view_1(page, server_url, [(1, "XOM"), (3, "12")])


def test_adding_a_view_return_first_keeps_the_other_views_confidence(page, server_url):
    _add_a_view_after_setting_view_1(page, server_url, [(3, "12"), (1, "XOM")])
