"""End-to-end fixtures: the real app served by Streamlit, driven in Debian's Chromium.

Recipe from DESIGN.md §5. Without Chromium or Playwright the tests skip with a reason, except
under CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (apt-get install -y chromium chromium-driver)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_url(tmp_path_factory):
    """Start ``streamlit run app.py`` on a free loopback port; yield its base URL."""
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "BALLAST_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
           "BALLAST_DATA_DIR": str(tmp_path_factory.mktemp("data"))}  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"Streamlit did not start: {log.read_text()[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def chromium_browser():
    """A headless Debian Chromium driven by Playwright, one for the whole test session.

    Playwright's sync API runs one event loop per thread: a second ``sync_playwright()`` in
    the same process fails ("Sync API inside the asyncio loop"), so every browser test shares
    this one (through :func:`browser`, or directly for tests with their own server).
    """
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def browser(server_url, chromium_browser):
    """The shared browser, with the app's server started (:func:`server_url`)."""
    return chromium_browser


@pytest.fixture
def page(browser, server_url):
    """A fresh browser page (own session) with downloads accepted."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script after the last interaction."""
    page.wait_for_timeout(300)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout
    )
    page.wait_for_timeout(200)


def open_page(page, server_url: str, path: str = "", until: str | None = None) -> float:
    """Navigate to a page of the app (``""`` for home, ``"Allocation"`` ...) and wait.

    ``until``: a text to wait for as well. Returns the seconds it took (cold starts are printed).
    """
    t0 = time.monotonic()
    page.goto(f"{server_url}/{path}")
    page.wait_for_selector("[data-testid='stApp']")
    wait_idle(page)
    if until is not None:
        page.get_by_text(until).wait_for()
    return time.monotonic() - t0


#: The sidebar's page links (drawn by ui/navigation.py with st.page_link).
NAV_LINKS = "[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']"


def go_to(page, name: str, timeout: float = 60_000) -> None:
    """Click the sidebar link of the page called ``name`` and wait for its run to finish."""
    page.locator(NAV_LINKS).get_by_text(name, exact=True).first.click()
    wait_idle(page, timeout)


def nav_names(page) -> list[str]:
    """The sidebar's page names, top to bottom (without the icons' ligature text)."""
    return [t.strip().split("\n")[-1].strip() for t in page.locator(NAV_LINKS).all_inner_texts()]


def exceptions(page) -> int:
    """How many Streamlit exception boxes (tracebacks) the page shows."""
    return page.locator("[data-testid='stException']").count()
