"""``python -m ballast``: the real command line as a subprocess, against the Report page.

The page side runs in Streamlit's AppTest: the sample setup file (with the resampled frontier
shown and two designs to compare, small so that it stays fast) is imported as the Report page's
import does (``ui.report.apply_setup``), the backtest is run as the Rebalance page's button runs
it, the resampled frontier as the Efficient Frontier page computes it, the comparison as the
Compare page's button runs it, the report files are built by the page's download function
(``ui.report.report_files``), and the setup is exported as the page exports it; the command
line then runs that exported file.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import socket
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


#: The sample setup with the heavy jobs of the Efficient Frontier and Compare pages, kept small.
HEAVY = {
    "frontier_resampled": True,
    "frontier_resamples": 10,
    "frontier_n_points": 20,
    "compare_designs": [
        {"name": "Equal weight", "kind": "equal_weight"},
        {"name": "Capped Sharpe", "kind": "optimized", "objective": "max_sharpe",
         "max_weight": 0.4},
    ],
    "compare_baseline": "Equal weight",
    "compare_schedule": "quarterly",
    "compare_lookback_years": 1.0,
    "compare_start": "2021-01-04",
}


def heavy_setup(path: Path) -> Path:
    """The sample setup file with :data:`HEAVY`, written to ``path``."""
    content = json.loads(SAMPLE.read_text("utf-8"))
    content["setup"].update(HEAVY)
    content["types"]["compare_start"] = "date"
    path.write_text(json.dumps(content), "utf-8")
    return path


def _page_reports(path: str, backtest: bool) -> None:
    import streamlit as st

    from core import setups
    from ui import compare, rebalance, report, resampling, state
    from ui.allocation import run_optimization

    state.init()
    with open(path, "rb") as f:
        report.apply_setup(setups.import_json(f.read(), state.DEFAULTS, report.current_setup()))
    if backtest:
        rebalance.run_backtest_now()  # the Rebalance page's "Run backtest"
    if st.session_state["frontier_resampled"]:
        resampling.current()  # what the Efficient Frontier page computes with its toggle on
    if st.session_state["compare_designs"]:
        compare.run_now()  # the Compare page's "Run the comparison"
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

    setup = heavy_setup(tmp_path_factory.mktemp("setup") / "heavy.json")
    at = AppTest.from_function(_page_reports, args=(str(setup), True), default_timeout=240)
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
    # the resampled frontier and the comparison are in both
    assert ("Comparison of designs", "ready") in statuses
    assert "Resampled frontier (Michaud" in html and "Comparison of designs" in html
    assert any("Resampled frontier" in name for name in mine)
    assert any("Sharpe tests" in name for name in mine)
    # progress on stderr, the outcome on stdout
    assert "optimising the allocation" in done.stderr and "backtest" in done.stderr
    assert "resampled frontier 100%: 10 of 10 resamples" in done.stderr
    assert "comparing 2 designs (in this process)" in done.stderr
    assert "comparison 100%" in done.stderr
    assert "HTML report:" in done.stdout and "Excel workbook:" in done.stdout


def test_run_skips_the_heavy_jobs_when_asked(page, tmp_path):
    *_, exported = page
    done = cli("run", str(exported), "--xlsx", str(tmp_path / "r.xlsx"), "--no-backtest",
               "--no-resample", "--no-compare")  # fmt: skip
    assert done.returncode == 0, done.stderr
    names = " ".join(sheets((tmp_path / "r.xlsx").read_bytes()))
    assert "Resampled frontier" not in names and "Sharpe tests" not in names
    assert "Comparison of designs: no results" in done.stderr


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


@pytest.fixture()
def cluster_address():
    """A real two-worker Dask ``LocalCluster`` (as tests/core/test_executor.py starts it)."""
    import types

    from distributed import LocalCluster

    main = sys.modules["__main__"]  # after an AppTest, a Streamlit script the workers cannot run
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        local = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                             dashboard_address=None)  # fmt: skip
    finally:
        sys.modules["__main__"] = main
    with local:
        yield local.scheduler_address


def test_run_sends_the_heavy_jobs_to_the_dask_cluster(page, tmp_path, cluster_address):
    page_html, *_, exported = page
    done = cli("run", str(exported), "--html", str(tmp_path / "r.html"), "--no-backtest",
               env={"BALLAST_DASK_ADDRESS": cluster_address})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"comparing 2 designs (on the Dask cluster at {cluster_address})" in done.stderr
    assert f"10 resamples, on the Dask cluster at {cluster_address}" in done.stderr
    html = (tmp_path / "r.html").read_text("utf-8")
    # The same numbers as in-process: the resampled frontier and the comparison sections of
    # the page's report (the backtest, skipped here, is in the Rebalancing section).
    for title in ("Efficient frontier", "Comparison of designs"):
        assert _section(html, title) == _section(page_html, title)


def _section(html: str, title: str) -> str:
    """The HTML of one report section, from its heading to the next, charts numbered from 0."""
    start = html.index(f">{title}</h2>")
    end = html.find("<h2", start + 1)
    part = STAMP.sub("<time>", html[start:end if end > 0 else len(html)])
    ids = list(dict.fromkeys(re.findall(r"chart-\d+", part)))
    return re.sub(r"chart-\d+", lambda m: f"chart#{ids.index(m.group(0))}", part)


def test_run_says_which_parts_are_missing_when_the_cluster_is_gone(page, tmp_path):
    """A cluster that cannot be reached: a message per job, the report, and exit code 6."""
    *_, exported = page
    with socket.socket() as s:  # a port no scheduler listens on
        s.bind(("127.0.0.1", 0))
        dead = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    done = cli("run", str(exported), "--html", str(tmp_path / "r.html"), "--no-backtest",
               env={"BALLAST_DASK_ADDRESS": dead})  # fmt: skip
    assert done.returncode == 6, done.stderr
    assert "Traceback" not in done.stderr
    assert "The reports lack: resampled frontier, comparison" in done.stderr
    assert (tmp_path / "r.html").exists() and "HTML report:" in done.stdout
