"""Browser test: the Report page in real Chromium; download the HTML report and the workbook."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl

from tests.e2e.conftest import exceptions, wait_idle

#: Milliseconds to wait for a run of the whole Report page.
SLOW = 300_000


def _download(page, name: str) -> Path:
    with page.expect_download(timeout=SLOW) as info:  # built on click
        page.get_by_role("button", name=name).click()
    return Path(info.value.path())


def test_download_html_and_excel_reports(page, browser, server_url, tmp_path):
    # The Report page computes every feature's results on its first run: under load on a
    # shared machine that takes minutes, so wait for it longer than for a light page.
    page.goto(f"{server_url}/Report")
    page.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(page, timeout=SLOW)
    page.get_by_text("Saved setups").first.wait_for(timeout=SLOW)
    assert exceptions(page) == 0

    html_path = _download(page, "HTML report")
    text = html_path.read_text(encoding="utf-8")
    assert len(re.findall(r"plotly\.js[^\n]{0,40} v\d", text)) == 1
    assert len(text.encode("utf-8")) < 2_000_000
    assert "<h2>Allocation</h2>" in text and "S&amp;P 500 sample" in text
    assert "Generated " in text and "Markowitz 1952" in text
    n_charts = text.count('class="plotly-graph-div"')
    assert n_charts >= 2

    xlsx_path = _download(page, "Excel workbook (XLSX)")
    book = openpyxl.load_workbook(io.BytesIO(xlsx_path.read_bytes()))
    assert book.sheetnames[:5] == ["Summary", "Weights", "Orders", "Key figures", "Sector weights"]
    weights = [r[2] for r in book["Weights"].iter_rows(min_row=2, values_only=True)]
    assert abs(sum(weights) - 1) < 1e-9
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["As of (last price date)"].year == 2022
    assert 0 < summary["Volatility (annualised)"] < 1

    # The report opens offline: the embedded plotly.js draws every chart without a network.
    offline = browser.new_context(offline=True)
    report = offline.new_page()
    local = tmp_path / "report.html"
    local.write_text(text, encoding="utf-8")
    report.goto(local.as_uri(), timeout=SLOW)
    report.wait_for_function(
        f"document.querySelectorAll('.plotly-graph-div .main-svg').length >= {n_charts}",
        timeout=SLOW,
    )
    # ...and prints to PDF, a page per section at least.
    pdf = report.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2
    (tmp_path / "report.pdf").write_bytes(pdf)
    offline.close()

    # The CSV goes through the one cleaner: machine-readable numbers without float noise.
    csv_text = _download(page, "Allocation (CSV)").read_text(encoding="utf-8")
    for cell in re.findall(r"[-+]?\d+\.\d+", csv_text):
        assert len(cell.lstrip("-+").replace(".", "").lstrip("0")) <= 12, cell
    assert csv_text.splitlines()[0].startswith("ticker,sector,weight")

    # Save the setup through the page, then load it.
    page.get_by_label("Save the current setup as").fill("Browser setup")
    page.get_by_role("button", name="Save setup").click()
    wait_idle(page, timeout=SLOW)
    page.get_by_text("Saved the setup as 'Browser setup'").wait_for()
    # Loading from inside the setups fragment reruns the whole page.
    page.get_by_role("button", name="Load", exact=True).click()
    wait_idle(page, timeout=SLOW)
    page.get_by_text("Loaded the setup 'Browser setup'").wait_for(timeout=SLOW)
    # Reopened: the record kept with it says nothing changed since it was saved.
    page.get_by_text("Reproducibility of 'Browser setup'").wait_for(timeout=SLOW)
    page.get_by_text("Same data; same code; the key figures are unchanged.").wait_for()
    assert exceptions(page) == 0
    page.screenshot(path="/tmp/ballast_report.png", full_page=True)
