"""HTML report: size and time to open in Chromium, on the bundled data with every section.

Builds the whole report as the Report page does (allocation, Black-Litterman with one view,
frontier, risk, rebalancing with a walk-forward backtest), inside Streamlit's AppTest, writes
the HTML and XLSX files to a temporary folder, then opens the HTML file offline in Debian's
Chromium and times navigation start to every chart drawn (``.main-svg`` in each
``.plotly-graph-div``). Baseline in the same run: a page holding only plotly.js and one small
chart, opened the same way. Targets (issue: interactive latency): HTML under 2 MB, open within 2 s.

Usage: ``python bench/report.py [repeats] [--keep FOLDER]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _build_script() -> None:
    import streamlit as st

    from core.reporting import report_html, report_xlsx
    from ui import black_litterman as bl_ui  # noqa: F401 (the section's module)
    from ui import rebalance, report, state
    from ui.allocation import run_optimization

    state.init()
    run_optimization()
    rebalance.run_backtest_now()
    statuses = report.collect_sections(strict=True)
    sections = [s.section for s in statuses if s.section is not None]
    summary = report.report_summary(statuses)
    tickers = state.price_data().tickers
    st.session_state["out"] = (
        report_html(summary, sections, tickers),
        report_xlsx(summary, sections, tickers),
        [s.title for s in sections],
    )


def build() -> tuple[bytes, bytes, list[str], float]:
    """The HTML and XLSX reports with every section, the titles, and the build time (s)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_build_script, default_timeout=600)
    at.session_state["bl_views"] = [
        {"kind": "absolute", "assets": "JPM", "return": 0.12, "confidence": 0.7}
    ]
    t = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t
    if at.exception:
        raise SystemExit(f"building the report failed: {at.exception[0].message}")
    html, xlsx, titles = at.session_state["out"]
    return html, xlsx, titles, elapsed


def open_times(paths: list[Path], repeats: int) -> list[float]:
    """Best time (s) over ``repeats`` from navigation to every chart drawn, per file."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    best = [float("inf")] * len(paths)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000})
        for _ in range(repeats):
            for i, path in enumerate(paths):
                n = path.read_text(encoding="utf-8").count('class="plotly-graph-div"')
                page = context.new_page()
                t = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_function(
                    "n => document.querySelectorAll('.plotly-graph-div .main-svg').length >= n",
                    arg=n, timeout=120_000,
                )  # fmt: skip
                best[i] = min(best[i], time.perf_counter() - t)
                page.close()
        browser.close()
    return best


def main() -> None:
    args = sys.argv[1:]
    keep = None
    if "--keep" in args:
        keep = Path(args[args.index("--keep") + 1])
        del args[args.index("--keep") : args.index("--keep") + 2]
    repeats = int(args[0]) if args else 3
    html, xlsx, titles, elapsed = build()
    folder = keep or Path(tempfile.mkdtemp(prefix="ballast_report_"))
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.html"
    report.write_bytes(html)
    (folder / "report.xlsx").write_bytes(xlsx)
    text = html.decode("utf-8")
    n_charts = text.count('class="plotly-graph-div"')
    n_plotly = len(re.findall(r"plotly\.js[^\n]{0,40} v\d", text))

    import plotly.graph_objects as go

    from core.reporting import ReportSection, ReportSummary, report_html

    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2]))
    baseline = folder / "baseline.html"
    baseline.write_bytes(report_html(ReportSummary(), [ReportSection("b", "B", figures=[fig])]))
    report_s, base_s = open_times([report, baseline], repeats)

    print(f"sections: {', '.join(titles)}; {n_charts} charts; plotly.js embedded {n_plotly}x")
    print(f"build (AppTest run, incl. backtest): {elapsed:6.2f} s")
    print(f"HTML report: {len(html) / 1e6:6.2f} MB   (target < 2 MB)")
    print(f"XLSX workbook: {len(xlsx) / 1e6:6.2f} MB")
    print(f"open in Chromium, best of {repeats}: report {report_s:6.2f} s, "
          f"baseline (plotly.js + 1 chart) {base_s:6.2f} s, ratio {report_s / base_s:5.1f}x "
          "(target < 2 s)")  # fmt: skip
    print(f"files in {folder}")


if __name__ == "__main__":
    main()
