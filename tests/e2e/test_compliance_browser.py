"""Browser test: UCITS and at most 8 holdings in real Chromium; the compliance table's verdicts."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import exceptions, go_to, wait_idle

pytest.importorskip("pyscipopt")

# Three positions of 20 % each of the 100,000 USD capital; the rest stays in cash.
BOOK = b"ticker,weight\nAAPL,0.2\nKO,0.2\nJNJ,0.2\n"


def _idle(page) -> None:
    wait_idle(page, timeout=240_000)  # cold start plus a mixed-integer solve on a busy machine


def _rows(page) -> list[list[str]]:
    table = page.locator("[data-testid='stTable']").filter(has_text="Breach in words")
    table.first.wait_for()
    return [[c.inner_text().strip() for c in row.locator("th, td").all()]
            for row in table.first.locator("tbody tr").all()]  # fmt: skip


def _spin(page, name: str, value: str) -> None:
    box = page.get_by_role("spinbutton", name=name)
    box.fill(value)
    box.press("Enter")
    _idle(page)


def test_ucits_and_eight_holdings_pass_and_the_book_breach_is_named(page, server_url):
    page.set_default_timeout(240_000)
    page.goto(f"{server_url}/Rebalance")
    page.wait_for_selector("[data-testid='stApp']")
    _idle(page)
    uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="Upload holdings")
    uploader.locator("input[type='file']").set_input_files(
        {"name": "book.csv", "mimeType": "text/csv", "buffer": BOOK}
    )
    _idle(page)
    page.get_by_text("Read 3 positions from book.csv").wait_for()

    go_to(page, "Allocation", timeout=240_000)
    page.locator("[data-testid='stExpander'] summary").filter(
        has_text="regulatory rules").first.click()  # fmt: skip
    _idle(page)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Rule set").click()
    page.get_by_role("option", name="UCITS 5/10/40 (EU)", exact=True).click()
    _idle(page)
    page.get_by_text("Directive 2009/65/EC (UCITS), Art. 52(1) and 52(2)").first.wait_for()
    _spin(page, "Solver time limit (s)", "120")  # a loaded machine: prove optimality anyway
    page.locator("[data-testid='stCheckbox']").filter(
        has_text="Limit the number of holdings").click()  # fmt: skip
    _idle(page)
    _spin(page, "Max holdings", "8")
    # Fully invested, 8 holdings under 5/10/40 reach at most 60 %: the conflict is named.
    page.get_by_text("can invest at most 60.00 %").first.wait_for()
    _spin(page, "Cash allowed up to (%)", "40")
    assert exceptions(page) == 0

    rows = _rows(page)
    proposal = [r for r in rows if r[0] == "Proposal"]
    book = [r for r in rows if r[0] == "Current book"]
    print("\n" + "\n".join(" | ".join(r[:5]) for r in rows))
    assert proposal and all(r[2] == "pass" for r in proposal)
    assert {r[1] for r in proposal} == {"UCITS 5/10/40", "Maximum number of holdings"}
    words = " ".join(r[4] for r in book)
    # whole shares of 20 % each at the last prices: just under 20 % (AAPL 19.98 %)
    assert re.search(r"AAPL at 19\.9\d % is above the 10\.00 % issuer limit", words)
    assert "above the 40.00 % limit" in words
    page.screenshot(path="/tmp/ballast_compliance.png", full_page=True)
