"""Browser test: the Compare page in real Chromium compares four designs and downloads them."""

from __future__ import annotations

import io
import time

import pandas as pd

from tests.e2e.conftest import exceptions, open_page, wait_idle

DEFAULT_DESIGNS = ["Equal weight", "Max Sharpe", "Min volatility", "Market cap"]


def test_compare_four_designs_and_download(page, server_url):
    open_page(page, server_url, "Compare")
    assert exceptions(page) == 0
    # Yearly keeps the browser test short; bench/compare.py times the monthly comparison.
    page.locator("[data-testid='stSelectbox']").filter(has_text="Rebalance").click()
    page.get_by_role("option", name="Yearly (last trading day)", exact=True).click()
    wait_idle(page)
    t0 = time.monotonic()
    page.get_by_role("button", name="Run the comparison").click()
    page.locator(".gtitle", has_text="Growth of 1 after costs, every design").wait_for(
        timeout=180_000
    )
    wait_idle(page, 120_000)
    print(f"\nFour designs over 30 years, yearly, click to chart: {time.monotonic() - t0:.1f} s")
    assert exceptions(page) == 0
    legend = [t.text_content() for t in page.locator(".legendtext").all()]
    assert set(DEFAULT_DESIGNS) | {"SP500"} <= set(legend)
    assert page.get_by_text("Sharpe ratio against the baseline, Equal weight").count() == 1
    page.screenshot(path="/tmp/ballast_compare.png", full_page=True)

    with page.expect_download() as info:
        page.get_by_role("button", name="Metrics (CSV)").click()
    metrics = pd.read_csv(io.BytesIO(open(info.value.path(), "rb").read()))
    assert metrics["design"].tolist() == DEFAULT_DESIGNS
    assert (metrics["max_drawdown"] > 0).all() and (metrics["rebalances"] == 30).all()
    with page.expect_download() as info:
        page.get_by_role("button", name="Everything (Excel)").click()
    book = pd.read_excel(info.value.path(), sheet_name=None, index_col=0, engine="openpyxl")
    assert {"Metrics", "Sharpe tests", "Equity (growth of 1)"} <= set(book)
    assert book["Sharpe tests"].index.tolist() == DEFAULT_DESIGNS[1:]
    assert exceptions(page) == 0
