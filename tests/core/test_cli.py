"""``python -m ballast``: the real command line as a subprocess, against the Report page.

The page side runs in Streamlit's AppTest: the sample setup file is imported as the Report
page's import does (``ui.report.apply_setup``), the backtest is run as the Rebalance page's
button runs it, the report files are built by the page's download function
(``ui.report.report_files``), and the setup is exported as the page exports it; the command
line then runs that exported file.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "setups" / "exported_v1.json"
STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}( UTC)?")


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ballast", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})},
    )  # fmt: skip


def _page_reports(path: str, backtest: bool) -> None:
    import streamlit as st

    from core import setups
    from ui import rebalance, report, state
    from ui.allocation import run_optimization

    state.init()
    with open(path, "rb") as f:
        report.apply_setup(setups.import_json(f.read(), state.DEFAULTS, report.current_setup()))
    if backtest:
        rebalance.run_backtest_now()  # the Rebalance page's "Run backtest"
    # what pages/7_Report.py runs, and its two download buttons' data
    run_optimization()
    statuses = report.collect_sections()
    files = report.report_files(statuses)
    st.session_state["page_html"] = files["html"]()
    st.session_state["page_xlsx"] = files["xlsx"]()
    st.session_state["page_status"] = [(s.label, s.status) for s in statuses]
    st.session_state["page_export"] = setups.export_json(report.current_setup(), state.DEFAULTS)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The Report page's HTML, workbook, section statuses and exported setup file."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page_reports, args=(str(SAMPLE), True), default_timeout=240)
    at.run()
    assert not at.exception, at.exception
    ss = at.session_state
    exported = tmp_path_factory.mktemp("page") / "exported.json"
    exported.write_bytes(ss["page_export"])
    return ss["page_html"].decode("utf-8"), ss["page_xlsx"], ss["page_status"], exported


def sheets(content: bytes) -> dict[str, list[tuple]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    out = {}
    for ws in book.worksheets:
        rows = []
        for row in ws.iter_rows(values_only=True):
            cells = []
            for v in row:
                if isinstance(v, str):
                    v = STAMP.sub("<time>", v)
                elif isinstance(v, float) and math.isnan(v):
                    v = "nan"
                cells.append(v)
            rows.append(tuple(cells))
        out[ws.title] = rows
    return out


def test_run_writes_the_report_pages_files(page, tmp_path):
    page_html, page_xlsx, statuses, exported = page
    done = cli("run", str(exported), "--html", str(tmp_path / "r.html"),
               "--xlsx", str(tmp_path / "r.xlsx"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    html, xlsx = (tmp_path / "r.html").read_text("utf-8"), (tmp_path / "r.xlsx").read_bytes()
    assert ("Allocation", "ready") in statuses and ("Rebalancing", "ready") in statuses
    assert STAMP.sub("<time>", html) == STAMP.sub("<time>", page_html)
    mine, page = sheets(xlsx), sheets(page_xlsx)
    assert list(mine) == list(page)
    assert mine == page
    assert "Backtest summary" in " ".join(mine)  # the backtest is in both
    # progress on stderr, the outcome on stdout
    assert "optimising the allocation" in done.stderr and "backtest" in done.stderr
    assert "HTML report:" in done.stdout and "Excel workbook:" in done.stdout


def test_bad_setup_file_gets_the_pages_message(tmp_path):
    from core import setups
    from core.exceptions import SetupError
    from ui import state

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"setup": {"risk_horizon": "ten", "nonsense": 1}}))
    done = cli("run", str(bad), "--html", str(tmp_path / "x.html"))
    assert done.returncode == 2
    with pytest.raises(SetupError) as page:
        setups.import_json(bad.read_bytes(), state.DEFAULTS)
    assert str(page.value) in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.html").exists()
    done = cli("check", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and "Cannot read" in done.stderr


def _book_at_target(tmp_path: Path, **changes) -> Path:
    """The sample setup with holdings equal to its target in whole shares (cash the rest)."""
    from core.market_data import load_sample
    from core.pipeline import Pipeline
    from core.setup import Setup

    setup = Setup.from_json(SAMPLE.read_bytes()).replace(**changes)
    data = load_sample()
    target = Pipeline(setup, data).allocation.weights
    prices = data.prices.iloc[-1]
    capital = setup.holdings.capital
    shares = {t: float(math.floor(w * capital / prices[t])) for t, w in target.items() if w > 0}
    cash = capital - sum(n * prices[t] for t, n in shares.items())
    path = tmp_path / "book.json"
    path.write_bytes(setup.replace(holdings=shares, cash=float(cash)).to_json("Book"))
    return path


def test_check_compliant_book_exits_0(tmp_path):
    done = cli("check", str(_book_at_target(tmp_path)), "--var-limit", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: the book is within its targets and limits." in done.stdout


def test_check_drifted_book_exits_1_naming_the_breaches(tmp_path):
    done = cli("check", str(SAMPLE), "--var-limit", "0.001", "-q")
    assert done.returncode == 1, done.stderr
    assert "ACTION NEEDED" in done.stdout
    assert "[drift] JPM" in done.stdout and "beyond the band of 5.00 %" in done.stdout
    assert "[VaR limit]" in done.stdout
    assert done.stderr == ""


def test_check_names_a_weight_bound_within_the_band(tmp_path):
    # the target puts 30 % in AAPL (its cap); a book at target with AAPL's cap lowered to 27 %
    # is within the 5 % drift band of the new target but above the bound
    path = _book_at_target(tmp_path)
    from core.setup import Setup

    setup = Setup.from_json(path.read_bytes())
    path.write_bytes(setup.replace(asset_bounds={"AAPL": (0.0, 0.27)}).to_json())
    done = cli("check", str(path), "-q")
    assert done.returncode == 1
    assert "[weight bound] AAPL" in done.stdout and "outside its bounds" in done.stdout


def test_yahoo_setup_without_network_fails_clearly(tmp_path):
    setup = {"setup": {"data_source": {"kind": "yahoo", "tickers": ["AAPL", "MSFT"],
                                       "start": "2020-01-02", "end": "2021-12-31"}}}
    path = tmp_path / "yahoo.json"
    path.write_text(json.dumps(setup))
    # no network: every connection goes to a closed local port; an empty cache
    offline = {"BALLAST_CACHE_DIR": str(tmp_path / "cache"), "HTTPS_PROXY": "http://127.0.0.1:9",
               "HTTP_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9"}
    done = cli("check", str(path), "-q", env=offline, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Yahoo Finance" in done.stderr and "cache" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_documents_the_exit_codes():
    done = cli("--help")
    assert done.returncode == 0
    for code in ("0", "1", "2", "3", "4", "5", "70"):
        assert re.search(rf"^\s+{code}\s+\S", done.stdout, re.M)
    assert cli("run", str(SAMPLE)).returncode == 2  # nothing to write
    assert cli("frobnicate").returncode == 2
