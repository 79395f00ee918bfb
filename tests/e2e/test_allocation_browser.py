"""Browser test: the Allocation page in real Chromium, objective change and CSV download."""

from __future__ import annotations

import io

import pandas as pd

from tests.e2e.conftest import exceptions, open_page, wait_idle


def _weights_text(page) -> str:
    return page.locator("[data-testid='stMetric']").all_inner_texts().__str__()


def test_cold_start_change_objective_and_download(page, server_url):
    cold = open_page(page, server_url, "Allocation", until="Orders in whole shares")
    print(f"\ncold start to rendered Allocation page: {cold:.2f} s")
    assert exceptions(page) == 0
    before = _weights_text(page)

    page.locator("[data-testid='stSelectbox']").filter(has_text="Objective").click()
    page.get_by_role("option", name="Min volatility", exact=True).click()
    wait_idle(page)
    after = _weights_text(page)
    assert after != before

    with page.expect_download() as info:
        page.get_by_role("button", name="Download allocation (CSV)").click()
    frame = pd.read_csv(io.BytesIO(open(info.value.path(), "rb").read()))
    assert list(frame.columns[:6]) == ["ticker", "sector", "weight", "shares", "price", "value"]
    stocks = frame[frame["ticker"] != "CASH"]
    assert abs(stocks["weight"].sum() - 1) < 1e-6
    assert (stocks["shares"] >= 0).all()
    page.screenshot(path="/tmp/ballast_allocation.png", full_page=True)
