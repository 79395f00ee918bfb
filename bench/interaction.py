"""Interactive latency in the browser: from the input event to the redrawn chart.

Drives Debian's Chromium with Playwright (recipe of DESIGN.md §5) against Streamlit servers this
script starts on free loopback ports: Ballast's ``app.py`` and, as the floor, a minimal page
holding one slider and one plotly chart (written to a temporary folder). Both run in the same
process and the same run, so the ratio is what Ballast adds to Streamlit's own round trip.

How a step is timed, inside the page with ``performance.now()``: before the event a
``MutationObserver`` is put on the chart that should change and on the app's script-run state;
the step ends when the script is ``notRunning`` again after the event and the chart's DOM has
changed and stayed unchanged for a quiet period (the end is the last chart mutation or the
return to ``notRunning``, whichever is later). The event time is the ``keydown``/``click``
event's own time stamp.

Interactions (20 assets, the bundled sample):

- baseline: the minimal page's slider, one arrow key per step;
- Black-Litterman confidence (first view of the example views), one arrow key per step;
- frontier pick slider (target volatility), one arrow key per step;
- risk aversion and target return on Allocation (objective chosen first); a slider gets an
  arrow key, a number input a click on its "+" button;
- universe change on the Data page: remove one ticker, then press "Apply" when the page has
  one (the chart must follow).

It also times a fresh session's first page (Allocation) on the warm server, twice: in a new
browser context (nothing cached: Streamlit's and plotly's scripts are loaded and compiled) and in
a new tab of a browser that has shown Ballast before (scripts cached; still a new session), with
where the time went (scripts loaded, the server's first and last message), and, as the floor,
the minimal page's first load in a new context (Streamlit's own start-up). A first page is
timed inside the page, from the start of the navigation to its last chart change or the
script's last return to idle, whichever is later.

``--sessions N`` instead opens N browser contexts at once, each a new session going through
Allocation, Black-Litterman and Risk by the sidebar links, and prints p50/p95 seconds per page
(from the click or ``goto`` to the page's charts drawn and the script idle) and the errors
(exception boxes, error alerts, timeouts), then, as the floor, Streamlit's minimal page opened
in N new contexts at once. The N renderers run on the server's machine, so on a small one they
compete with the server: ``--mode protocol`` measures the server alone, N
sessions speaking Streamlit's websocket protocol without a browser (``bench/sessions.py``),
and ``--mode both`` prints the protocol figures, then the browser's.

Usage::

    python bench/interaction.py [--steps 8] [--only NAME ...]
    python bench/interaction.py --sessions 10 [--mode browser|protocol|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHART = "[data-testid='stPlotlyChart']"
NAV = "[data-testid='stSidebar']"  # the page list: st.page_link (ui/navigation.py)

BASELINE_PAGE = '''"""One slider, one plotly chart: Streamlit's own round trip."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

x = st.slider("Shift", 0, 100, 50)
t = np.arange(20)
st.plotly_chart(go.Figure(go.Bar(x=[f"A{i}" for i in t], y=np.sin(t + x / 10))), key="chart")
'''

# Put observers on chart number ``index`` and on the app's run state, and listen for the event.
ARM = """(index) => {
  const chart = document.querySelectorAll("[data-testid='stPlotlyChart']")[index];
  const app = document.querySelector("[data-testid='stApp']");
  const b = {t0: null, chart: null, idle: null, running: false};
  window.__bench = b;
  const onEvent = (e) => { if (b.t0 === null) b.t0 = e.timeStamp; };
  for (const type of ["keydown", "mousedown", "pointerdown"]) {
    document.addEventListener(type, onEvent, {capture: true, once: true});
  }
  b.obs = [
    new MutationObserver(() => { if (b.t0 !== null) b.chart = performance.now(); }),
    new MutationObserver((records) => {
      if (b.t0 === null) return;
      const s = app.getAttribute("data-test-script-state");
      // Both changes may arrive in one batch: look at the old values too.
      if (s === "running" || records.some((r) => r.oldValue === "running")) b.running = true;
      if (s === "running") b.idle = null;
      else if (s === "notRunning" && b.running && b.idle === null) b.idle = performance.now();
    }),
  ];
  b.obs[0].observe(chart, {subtree: true, childList: true, attributes: true,
                           characterData: true});
  b.obs[1].observe(app, {attributes: true, attributeOldValue: true,
                        attributeFilter: ["data-test-script-state"]});
  return true;
}"""
# Done when idle after the event, the chart changed, and nothing moved for ``quiet`` ms.
SETTLED = """(quiet) => {
  const b = window.__bench;
  if (!b || b.t0 === null || b.idle === null || b.chart === null) return false;
  return performance.now() - Math.max(b.chart, b.idle) > quiet;
}"""
RESULT = """() => {
  const b = window.__bench;
  b.obs.forEach((o) => o.disconnect());
  return Math.max(b.chart, b.idle) - b.t0;
}"""


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A ``streamlit run`` subprocess on a free loopback port."""

    script: Path
    cwd: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(self.script), "--server.headless",
             "true", "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"streamlit did not start for {self.script}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def idle(page, timeout: float = 120_000) -> None:
    """Wait for the script to be idle (after a short grace period for the rerun to start)."""
    await page.wait_for_timeout(300)
    await page.wait_for_selector(IDLE, timeout=timeout)


async def open_app(page, url: str, path: str = "") -> None:
    """Open a page of the app and wait until it has drawn its first chart and gone idle."""
    await page.goto(f"{url}/{path}")
    await page.wait_for_selector("[data-testid='stApp']")
    await idle(page)


async def timed(page, chart_index: int, act, quiet: float = 400, tries: int = 3) -> float:
    """Milliseconds from the event ``act()`` triggers to chart ``chart_index`` redrawn.

    An event the page swallowed (a key pressed while the widget was still being mounted: no
    rerun follows) is tried again, up to ``tries`` times, 30 s each; only the step that
    redrew the chart is timed.
    """
    for attempt in range(tries):
        await page.evaluate(ARM, chart_index)
        await act()
        try:
            await page.wait_for_function(SETTLED, arg=quiet, timeout=30_000, polling=50)
        except Exception:  # playwright's TimeoutError: no rerun followed the event
            if attempt == tries - 1:
                raise
            await page.evaluate("() => window.__bench.obs.forEach((o) => o.disconnect())")
            continue
        return await page.evaluate(RESULT)
    raise AssertionError("unreachable")


def widget(page, label: str):
    """The slider or number input whose label contains ``label``."""
    sel = "[data-testid='stSlider'], [data-testid='stNumberInput']"
    return page.locator(sel).filter(has_text=label).first


async def step_widget(page, label: str, key: str):
    """A function doing one step of the widget: an arrow key on a slider, '+' on a number."""
    box = widget(page, label)
    await box.wait_for()
    if await box.get_attribute("data-testid") == "stSlider":
        thumb = box.get_by_role("slider")

        async def act():
            await thumb.focus()
            await page.keyboard.press(key)

        return act
    plus = box.locator("[data-testid='stNumberInputStepUp']")

    async def act():
        await plus.click()

    return act


async def choose(page, label: str, option: str) -> None:
    """Choose ``option`` in the selectbox labelled ``label``."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label).first
    await box.click()
    await page.get_by_role("option", name=option).first.click()
    await idle(page)


async def chart_index(page, key_class: str) -> int:
    """Position among the page's plotly charts of the one with Streamlit key ``key_class``."""
    return await page.evaluate(
        """(k) => [...document.querySelectorAll("[data-testid='stPlotlyChart']")]
                 .findIndex((c) => c.closest('.st-key-' + k) !== null)""",
        key_class,
    )


async def slider_steps(page, label: str, chart_key: str | None, steps: int, key: str) -> list:
    act = await step_widget(page, label, key)
    index = 0 if chart_key is None else await chart_index(page, chart_key)
    if index < 0:
        raise RuntimeError(f"no chart with key {chart_key}")
    out = []
    for _ in range(steps):
        out.append(await timed(page, index, act))
    return out


async def bench_baseline(ctx, url: str, steps: int) -> list:
    page = await ctx.new_page()
    await open_app(page, url)
    await page.locator(CHART).first.locator(".main-svg").first.wait_for(state="attached")
    return await slider_steps(page, "Shift", None, steps, "ArrowRight")


async def bench_bl(ctx, url: str, steps: int) -> list:
    page = await ctx.new_page()
    await open_app(page, url, "Black-Litterman")
    await page.get_by_role("button", name="Add two example views").click()
    await idle(page)
    await page.locator(CHART).first.locator(".main-svg").first.wait_for(state="attached")
    return await slider_steps(page, "JPM", "bl_returns_chart", steps, "ArrowRight")


async def bench_frontier(ctx, url: str, steps: int) -> list:
    page = await ctx.new_page()
    await open_app(page, url, "Efficient_Frontier")
    await page.locator(CHART).first.locator(".main-svg").first.wait_for(state="attached")
    return await slider_steps(page, "Target volatility", "frontier_chart", steps, "ArrowRight")


async def bench_objective(ctx, url: str, steps: int, option: str, label: str) -> list:
    page = await ctx.new_page()
    await open_app(page, url, "Allocation")
    await choose(page, "Objective", option)
    await page.locator(CHART).first.locator(".main-svg").first.wait_for(state="attached")
    return await slider_steps(page, label, "weights", steps, "ArrowRight")


async def bench_universe(ctx, url: str, steps: int) -> list:
    page = await ctx.new_page()
    await open_app(page, url, "Data")
    await page.locator(CHART).first.locator(".main-svg").first.wait_for(state="attached")
    box = page.locator("[data-testid='stMultiSelect']").filter(has_text="Universe").first
    apply = page.get_by_role("button", name="Apply", exact=True)
    out = []
    for _ in range(steps):
        # found again each step: the page's rerun may have remounted the chart
        await page.locator(f".st-key-prices {CHART}").first.wait_for(state="attached")
        index = await chart_index(page, "prices")
        remove = box.locator("button[aria-label^='Remove']").first

        async def act(remove=remove):
            await remove.click()
            if await apply.count():
                await apply.click()

        out.append(await timed(page, index, act))
    return out


# Installed before the page's own scripts: the time of each message from the server, of the
# last change inside any plotly chart and of the last return of the script to notRunning, all
# in ms from the start of the navigation (performance.now()).
FIRST_PAGE = """(() => { const fp = {ws: [], chart: null, idle: null}; window.__fp = fp;
  const Base = window.WebSocket;
  window.WebSocket = function (...args) { const ws = new Base(...args);
    ws.addEventListener("message", () => fp.ws.push(performance.now())); return ws; };
  window.WebSocket.prototype = Base.prototype; Object.assign(window.WebSocket, Base);
  new MutationObserver((records) => {
    const now = performance.now();
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (!el) continue;
      if (r.attributeName === "data-test-script-state") {
        if (el.getAttribute("data-test-script-state") === "notRunning") fp.idle = now;
      } else if (el.closest("[data-testid='stPlotlyChart']")) fp.chart = now;
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})()"""
# Drawn: a chart has changed and the script is idle, and nothing of either for ``quiet`` ms.
FIRST_PAGE_DRAWN = """(quiet) => { const fp = window.__fp;
  const idle = document.querySelector("[data-testid='stApp']")
    ?.getAttribute("data-test-script-state") === "notRunning";
  return idle && fp.chart !== null && fp.idle !== null
    && performance.now() - Math.max(fp.chart, fp.idle) > quiet; }"""


async def _first_page(ctx, url: str, splits: dict, path: str = "Allocation",
                      marker: str | None = "Orders in whole shares") -> float:
    """Milliseconds from the navigation's start to the first page drawn, in a new page of ``ctx``.

    A new page is a new session. The page is drawn at the later of its last chart change and
    the script's last return to idle, once neither has happened for 1 s (and, for Ballast,
    its ``marker`` text is shown); both are read inside the page, so polling adds nothing.
    ``splits`` collects where the time went, in ms from the start of the navigation: the HTML
    and Streamlit's scripts loaded (``DOMContentLoaded``), the first and the last message from
    the server (the script's run); the rest is the browser loading plotly.js and drawing.
    """
    page = await ctx.new_page()
    await page.add_init_script(FIRST_PAGE)
    await page.goto(f"{url}/{path}")
    if marker:
        await page.get_by_text(marker).first.wait_for(timeout=120_000)
    await page.locator(CHART).first.locator(".main-svg").first.wait_for(state="attached")
    await page.wait_for_function(FIRST_PAGE_DRAWN, arg=1000, timeout=120_000, polling=100)
    marks = await page.evaluate("""() => {
      const nav = performance.getEntriesByType("navigation")[0], fp = window.__fp;
      return [nav.domContentLoadedEventEnd, fp.ws[0], fp.ws[fp.ws.length - 1],
              Math.max(fp.chart, fp.idle)];
    }""")
    for name, value in zip(("scripts loaded", "first message", "last message"), marks[:3],
                           strict=True):
        splits.setdefault(name, []).append(value)
    await page.close()
    return marks[3]


async def bench_fresh(browser, url: str, steps: int, splits: dict, **page) -> list:
    """A new session's first page in a new browser context: nothing in the browser's cache."""
    out = []
    for _ in range(steps):
        ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.set_default_timeout(120_000)
        out.append(await _first_page(ctx, url, splits, **page))
        await ctx.close()
    return out


async def bench_new_tab(browser, url: str, steps: int, splits: dict) -> list:
    """A new session's first page in a new tab of a browser that has shown Ballast before.

    The tab shares the browser's cache (Streamlit's and plotly's scripts), not the session:
    without the first tab's ``?session=`` token the server starts a new session.
    """
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(120_000)
    await _first_page(ctx, url, {})  # fills the cache
    out = [await _first_page(ctx, url, splits) for _ in range(steps)]
    await ctx.close()
    return out


def summary(name: str, ms: list, base: float | None) -> str:
    med = statistics.median(ms)
    ratio = f"{med / base:5.2f}x" if base else "   - "
    return f"{name:<44} {med:8.0f} {max(ms):8.0f} {ratio}   (n={len(ms)})"


async def interactions(steps: int, only: list[str]) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "baseline.py"
        script.write_text(BASELINE_PAGE)
        with Server(script, Path(tmp)) as base_srv, Server(ROOT / "app.py", ROOT) as app:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                results: dict[str, list] = {}
                # Warm the server (imports, the sample in the cache) with one session.
                warm = await browser.new_context(viewport={"width": 1400, "height": 1000})
                warm.set_default_timeout(120_000)
                wp = await warm.new_page()
                await open_app(wp, app.url, "Allocation")
                await warm.close()
                runs = {
                    "baseline: minimal page, slider": lambda c: bench_baseline(c, base_srv.url,
                                                                               steps),
                    "Black-Litterman confidence slider": lambda c: bench_bl(c, app.url, steps),
                    "Frontier pick slider": lambda c: bench_frontier(c, app.url, steps),
                    "Allocation risk aversion": lambda c: bench_objective(
                        c, app.url, steps, "Max quadratic utility",
                        "Risk aversion"),
                    "Allocation target return": lambda c: bench_objective(
                        c, app.url, steps, "Min vol., target return",
                        "Target return"),
                    "Universe change (Data page)": lambda c: bench_universe(c, app.url, steps),
                }  # fmt: skip
                for name, run in runs.items():
                    if only and name != "baseline: minimal page, slider" and not any(
                        o.lower() in name.lower() for o in only
                    ):
                        continue
                    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
                    ctx.set_default_timeout(120_000)
                    try:
                        results[name] = await run(ctx)
                    except Exception as exc:  # a bench reports and goes on
                        print(f"{name}: failed ({type(exc).__name__}: {exc})"[:300])
                    await ctx.close()
                splits: dict[str, dict] = {}
                if not only or any("fresh" in o.lower() for o in only):
                    n = max(3, steps // 2)
                    floor = "Fresh session, minimal page (Streamlit's floor)"
                    splits[floor] = {}
                    results[floor] = await bench_fresh(browser, base_srv.url, n, splits[floor],
                                                       path="", marker=None)  # fmt: skip
                    for name, run in (("Fresh session, first page (Allocation)", bench_fresh),
                                      ("Fresh session in a new tab (scripts cached)",
                                       bench_new_tab)):  # fmt: skip
                        splits[name] = {}
                        results[name] = await run(browser, app.url, n, splits[name])
                await browser.close()
    if "baseline: minimal page, slider" not in results:
        print("the baseline failed: no ratios")
        return
    base = statistics.median(results["baseline: minimal page, slider"])
    print(f"\n{'interaction (event to redrawn chart, ms)':<44} {'median':>8} {'worst':>8} "
          f"{'ratio':>6}")  # fmt: skip
    for name, ms in results.items():
        is_step = "Fresh" not in name and "baseline" not in name
        print(summary(name, ms, base if is_step else None))
    print("ratio: median / baseline median (target: sliders <= 1.5x; universe < 1000 ms; "
          "fresh session < 2000 ms)")  # fmt: skip
    for name, marks in splits.items():
        parts = ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in marks.items() if v)
        print(f"{name}: median ms from the start of the page: {parts}")


PAGES = [("Allocation", "Orders in whole shares"), ("Black-Litterman", "Views"),
         ("Risk", "Risk settings")]  # fmt: skip


async def one_session(browser, url: str, times: dict, errors: list) -> None:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(180_000)
    page = await ctx.new_page()
    try:
        for i, (path, marker) in enumerate(PAGES):
            t0 = time.perf_counter()
            try:
                if i == 0:
                    await page.goto(f"{url}/{path}")
                else:
                    links = page.locator(f"{NAV} [data-testid='stPageLink-NavLink']")
                    await links.get_by_text(path, exact=True).first.click()
                await page.get_by_text(marker, exact=True).first.wait_for(timeout=180_000)
                await page.locator(CHART).first.locator(".main-svg").first.wait_for(
                    state="attached", timeout=180_000
                )
                await page.wait_for_selector(IDLE, timeout=180_000)
                times[path].append(time.perf_counter() - t0)
                bad = await page.locator(
                    "[data-testid='stException'], [data-testid='stAlertContentError']"
                ).count()
                if bad:
                    errors.append(f"{path}: {bad} error box(es)")
            except Exception as exc:
                errors.append(f"{path}: {type(exc).__name__}")
    finally:
        await ctx.close()


async def _fresh_floor(browser, url: str, out: list) -> None:
    """One fresh context loading the minimal page until its chart is drawn and it is idle."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(180_000)
    page = await ctx.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url)
        await page.locator(CHART).first.locator(".main-svg").first.wait_for(state="attached")
        await page.wait_for_selector(IDLE)
        out.append(time.perf_counter() - t0)
    finally:
        await ctx.close()


def _quantiles(ts: list[float]) -> str:
    q = statistics.quantiles(ts, n=20, method="inclusive") if len(ts) > 1 else ts * 19
    return f"{statistics.median(ts):7.2f} {q[18]:7.2f} {max(ts):7.2f}"


async def concurrent(n: int) -> None:
    """``n`` new sessions in Chromium at once, then the floor: ``n`` minimal pages at once.

    The floor is Streamlit's minimal page (one slider, one plotly chart) opened in ``n`` new
    contexts at once on its own server: what ``n`` renderers on this machine cost before any
    of Ballast's work (each loads and compiles Streamlit's scripts and plotly.js).
    """
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "baseline.py"
        script.write_text(BASELINE_PAGE)
        with Server(ROOT / "app.py", ROOT) as app, Server(script, Path(tmp)) as base_srv:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                warm = await browser.new_context()
                warm.set_default_timeout(180_000)
                await open_app(await warm.new_page(), app.url, "Allocation")
                await open_app(await warm.new_page(), base_srv.url)
                await warm.close()
                times: dict[str, list] = {path: [] for path, _ in PAGES}
                errors: list[str] = []
                t0 = time.perf_counter()
                await asyncio.gather(*(one_session(browser, app.url, times, errors)
                                       for _ in range(n)))  # fmt: skip
                wall = time.perf_counter() - t0
                floor: list[float] = []
                t1 = time.perf_counter()
                await asyncio.gather(*(_fresh_floor(browser, base_srv.url, floor)
                                       for _ in range(n)))  # fmt: skip
                floor_wall = time.perf_counter() - t1
                await browser.close()
    print(f"\n{n} concurrent sessions in Chromium (browser: server and renderers on this "
          "machine), seconds per page")
    print(f"{'page':<18} {'p50':>7} {'p95':>7} {'max':>7}")
    for path, ts in times.items():
        if ts:
            print(f"{path:<18} {_quantiles(ts)}")
        else:
            print(f"{path:<18}  no page finished")
    print(f"errors: {len(errors)}" + (f" ({'; '.join(errors[:10])})" if errors else ""))
    print(f"wall time: {wall:.1f} s")
    if floor:
        print(f"{'floor: minimal page':<18} {_quantiles(floor)}   ({n} new contexts at once, "
              f"Streamlit's own first load; wall {floor_wall:.1f} s)")  # fmt: skip


def main() -> None:
    """Parse the command line and run the interaction or the concurrency benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8, help="steps per interaction")
    parser.add_argument("--only", nargs="*", default=[], help="interactions whose name has this")
    parser.add_argument("--sessions", type=int, default=0, help="concurrent sessions mode")
    parser.add_argument("--mode", choices=["browser", "protocol", "both"], default="browser",
                        help="--sessions: in Chromium, over the websocket protocol, or both")
    args = parser.parse_args()
    if args.sessions:
        if args.mode in ("protocol", "both"):
            import sessions

            sessions.run(args.sessions)
        if args.mode in ("browser", "both"):
            asyncio.run(concurrent(args.sessions))
    else:
        asyncio.run(interactions(args.steps, args.only))


if __name__ == "__main__":
    main()
