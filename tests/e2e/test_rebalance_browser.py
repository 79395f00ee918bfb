"""Browser test: the Rebalance page in real Chromium runs a backtest and shows its chart."""

from __future__ import annotations

import io
import time

import pandas as pd

from tests.e2e.conftest import exceptions, open_page, wait_idle


def test_backtest_chart_and_trade_plan_download(page, server_url):
    open_page(page, server_url, "Rebalance")
    assert exceptions(page) == 0

    page.get_by_role("tab", name="Backtest").click()
    # Yearly keeps the browser test short; bench/backtest.py times the monthly one.
    page.locator("[data-testid='stSelectbox']").filter(has_text="Rebalance").click()
    page.get_by_role("option", name="Yearly (last trading day)", exact=True).click()
    wait_idle(page)
    t0 = time.monotonic()
    page.get_by_role("button", name="Run backtest").click()
    page.locator(".gtitle", has_text="Growth of 1 after costs").wait_for(timeout=60_000)
    wait_idle(page)
    print(f"\n30-year yearly backtest, click to chart: {time.monotonic() - t0:.2f} s")
    assert exceptions(page) == 0
    assert page.locator(".gtitle", has_text="Drawdown from peak").count() == 1
    legend = [t.text_content() for t in page.locator(".legendtext").all()]
    assert {"Strategy", "Buy and hold", "Equal weight", "SP500"} <= set(legend)
    page.screenshot(path="/tmp/ballast_rebalance_backtest.png", full_page=True)

    page.get_by_role("tab", name="Trade plan").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download trade plan (CSV)").click()
    frame = pd.read_csv(io.BytesIO(open(info.value.path(), "rb").read()))
    stocks = frame[frame["ticker"] != "CASH"]
    assert (stocks["current_shares"] + stocks["trade_shares"] == stocks["final_shares"]).all()
    assert frame["ticker"].iloc[-1] == "CASH"
