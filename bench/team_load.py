"""Load test of a team server: concurrent signed-in sessions doing the main workflow.

Starts, on free loopback ports only, the test OpenID Connect provider (tests/oidc, npm's
``oidc-provider``) with one account per session and ``streamlit run app.py`` with sign-in
configured for it (a secrets file in a temporary folder, a fresh data folder). Drives Debian's
Chromium with Playwright (DESIGN.md §5): each session is its own browser context and user; it
signs in through the provider's login form, then opens Data, Allocation (the optimised
portfolio drawn) and Risk (its charts drawn) by the sidebar links, and saves its setup on the
Report page. Every step is bounded (600 s); the run stops by itself.

Printed: seconds per page (p50, p95, max; from the ``goto``/click to the page's content drawn
and the script idle), errors (exception boxes, error alerts, timeouts, a save that did not
confirm), the server's resident memory (VmRSS) after a warm-up and after the run, and the
ratio of the concurrent p50 to a single session's p50 measured first in the same run.

Usage::

    python bench/team_load.py [--sessions 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import oidc  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHART = "[data-testid='stPlotlyChart']"
NAV = "[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']"  # ui.navigation's links
STEP = 600_000  # ms, the bound of every step (a loaded two-core machine is slow)
SHOTS = os.environ.get("BALLAST_LOAD_SHOTS")  # a folder: screenshots of failed steps
#: The workflow: (step, sidebar page path, title to wait for, wait for a chart too).
PAGES = [("Data", "Data", "Data and universe", False),
         ("Allocation", "Allocation", "Allocation", True),
         ("Risk", "Risk", "Risk", True),
         ("Report + save", "Report", "Report", False)]  # fmt: skip


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def users(n: int) -> dict[str, dict[str, str]]:
    return {f"user{i:02d}": {"password": f"pw-{i:02d}", "email": f"user{i:02d}@example.com",
                             "name": f"User {i:02d}"} for i in range(1, n + 1)}  # fmt: skip


class TeamServer:
    """The provider and a signed-in ``streamlit run app.py`` on free loopback ports."""

    def __init__(self, accounts: dict[str, dict[str, str]]) -> None:
        self.port = oidc.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.accounts = accounts

    def __enter__(self) -> TeamServer:
        self._provider = oidc.running(f"{self.url}/oauth2callback", self.accounts)
        provider = self._provider.__enter__()
        self._tmp = tempfile.TemporaryDirectory(prefix="ballast-load-")
        folder = Path(self._tmp.name)
        (folder / "secrets.toml").write_text(provider.secrets_toml())
        env = {**os.environ, "BALLAST_DATA_DIR": str(folder / "data"),
               "BALLAST_CACHE_DIR": str(folder / "cache")}  # fmt: skip
        env.pop("BALLAST_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false",
             "--secrets.files", str(folder / "secrets.toml")],
            cwd=ROOT, stdout=open(folder / "server.log", "wb"), stderr=subprocess.STDOUT,
            env=env,
        )  # fmt: skip
        self.log = folder / "server.log"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("streamlit did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._provider.__exit__(None, None, None)
        self._tmp.cleanup()


async def sign_in(page, url: str, login: str, password: str) -> None:
    await page.goto(url)
    await page.get_by_role("button", name="Sign in").click(timeout=STEP)
    await page.locator("#login").wait_for(timeout=STEP)
    await page.fill("#login", login)
    await page.fill("#password", password)
    await page.click("#submit")
    await page.get_by_text("Signed in as").wait_for(timeout=STEP)
    await page.wait_for_selector(IDLE, timeout=STEP)


async def one_session(browser, url: str, login: str, password: str, times: dict,
                      errors: list) -> None:  # fmt: skip
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(STEP)
    page = await ctx.new_page()
    try:
        t0 = time.perf_counter()
        try:
            await sign_in(page, url, login, password)
            times["Sign-in"].append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001  any failure is counted, the run goes on
            errors.append(f"{login} sign-in: {type(exc).__name__}")
            if SHOTS:
                await page.screenshot(path=f"{SHOTS}/{login}-sign-in.png", full_page=True)
            return
        for step, path, title, chart in PAGES:
            t0 = time.perf_counter()
            try:
                await page.locator(NAV).get_by_text(path, exact=True).first.click()
                await page.get_by_role("heading", name=title, exact=True).first.wait_for()
                if chart:
                    await page.locator(CHART).first.locator(".main-svg").first.wait_for(
                        state="attached")
                await page.wait_for_timeout(300)
                await page.wait_for_selector(IDLE)
                if path == "Report":
                    name = f"{login} workflow"
                    await page.get_by_role("textbox", name="Save the current setup as").fill(name)
                    await page.get_by_role("button", name="Save setup").click()
                    await page.get_by_text(f"Saved the setup as '{name}'").wait_for()
                times[step].append(time.perf_counter() - t0)
                bad = await page.locator(
                    "[data-testid='stException'], [data-testid='stAlertContentError']"
                ).count()
                if bad:
                    errors.append(f"{login} {step}: {bad} error box(es)")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{login} {step}: {type(exc).__name__}")
                if SHOTS:
                    await page.screenshot(path=f"{SHOTS}/{login}-{path}.png", full_page=True)
                return
    finally:
        await ctx.close()


def table(times: dict[str, list[float]]) -> dict[str, float]:
    print(f"{'step':<16} {'n':>3} {'p50':>7} {'p95':>7} {'max':>7}")
    medians = {}
    for step, ts in times.items():
        if not ts:
            print(f"{step:<16}   0  no step finished")
            continue
        q = statistics.quantiles(ts, n=20, method="inclusive") if len(ts) > 1 else ts * 19
        medians[step] = statistics.median(ts)
        print(f"{step:<16} {len(ts):>3} {medians[step]:7.2f} {q[18]:7.2f} {max(ts):7.2f}")
    return medians


async def run(n: int) -> int:
    from playwright.async_api import async_playwright

    accounts = users(n + 1)
    steps = ["Sign-in"] + [p[0] for p in PAGES]
    with TeamServer(accounts) as server:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            # Baseline in the same run: one session alone (it also warms the server's caches).
            base: dict[str, list] = {s: [] for s in steps}
            base_errors: list[str] = []
            login = f"user{n + 1:02d}"
            await one_session(browser, server.url, login, accounts[login]["password"], base,
                              base_errors)  # fmt: skip
            before = rss_mb(server.proc.pid)
            times: dict[str, list] = {s: [] for s in steps}
            errors: list[str] = []
            t0 = time.perf_counter()
            await asyncio.gather(*(
                one_session(browser, server.url, u, accounts[u]["password"], times, errors)
                for u in list(accounts)[:n]))  # fmt: skip
            wall = time.perf_counter() - t0
            after = rss_mb(server.proc.pid)
            await browser.close()
        warnings = [line for line in server.log.read_text(errors="replace").splitlines()
                    if "WARNING" in line or "ERROR" in line]  # fmt: skip
    print("\none session alone (baseline), seconds")
    base_p50 = table(base)
    print(f"\n{n} concurrent signed-in sessions, seconds")
    p50 = table(times)
    print("\nratio of p50, concurrent / alone: " + ", ".join(
        f"{s} {p50[s] / base_p50[s]:.1f}x" for s in steps if s in p50 and s in base_p50))
    every = errors + [f"baseline {e}" for e in base_errors]
    print(f"errors: {len(every)}" + (f" ({'; '.join(every[:10])})" if every else ""))
    print(f"server memory (VmRSS): {before:.0f} MB after the warm-up, {after:.0f} MB after "
          f"the run ({after - before:+.0f} MB)")  # fmt: skip
    print(f"wall time of the concurrent run: {wall:.1f} s")
    print(f"server log: {len(warnings)} warning/error lines" +
          (f", first: {warnings[0][:200]}" if warnings else ""))
    return 1 if every else 0


def main() -> None:
    """Parse the command line, run the load test, exit 1 on any error."""
    global STEP
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    parser.add_argument("--step-timeout", type=float, default=STEP / 1000,
                        help="seconds each step may take at most")  # fmt: skip
    args = parser.parse_args()
    STEP = int(args.step_timeout * 1000)
    if oidc.missing():
        sys.exit(f"cannot run: {oidc.missing()}")
    sys.exit(asyncio.run(run(max(1, min(args.sessions, 50)))))


if __name__ == "__main__":
    main()
