"""Server capacity: N concurrent sessions driven over Streamlit's own websocket protocol.

``bench/interaction.py --sessions N`` opens N Chromium contexts on the machine that runs the
server: with two cores, ten renderers (3-4 s of main-thread work each per fresh page) compete
with the server, so its figures mostly measure the client. In real use every person's browser
runs on their own machine; what the server owes them is the time from their request to the last
message of the script's run. This script measures exactly that, without a browser.

Each session is what a new browser tab does (messages captured from Chromium on this app):
a websocket to ``ws://HOST:PORT/_stcore/stream`` (subprotocol ``streamlit``), a ``BackMsg``
``rerun_script`` naming the first page by ``page_name`` (the URL path) with the browser's
``context_info``, then, for each next page, a ``rerun_script`` with that page's
``page_script_hash`` (taken from the server's ``navigation`` message, as the sidebar link
sends it) and no widget states. A page's time runs from sending its request to the
``script_finished`` message that ends the run (a run finished early for a rerun is not the end);
every ``ForwardMsg`` of the run has arrived by then, in order. Errors: exception elements,
``st.error`` alerts, runs that end with a compile error, and timeouts. The server is the same
``streamlit run app.py`` the browser benchmark starts (or ``--url`` of a running one), warmed
with one session first (imports, the bundled sample in the cache), as a warm server is.

It also prints, per page, the bytes and the number of elements (charts, tables) the server
sent: what the browser then has to draw.

Usage::

    python bench/sessions.py --sessions 10 [--repeat 2] [--url http://127.0.0.1:8501]
    python bench/interaction.py --sessions 10 --protocol   # both: protocol, then browser
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

#: The pages a session goes through, in order (names as in the sidebar and the URL path).
PAGES = ("Allocation", "Black-Litterman", "Risk")
TIMEOUT = 300.0


@dataclass
class PageRun:
    """What one page's run cost one session: seconds, bytes, elements and errors."""

    seconds: float = 0.0
    n_bytes: int = 0
    elements: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    first_message: float = 0.0  # seconds from the request to the first delta


def _rerun(page_name: str = "", page_script_hash: str = "", url: str = "") -> bytes:
    """A ``BackMsg.rerun_script`` as the browser sends it (no widget states, no cached hashes)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    cs = msg.rerun_script
    cs.widget_states.SetInParent()
    if page_name:
        cs.page_name = page_name
    if page_script_hash:
        cs.page_script_hash = page_script_hash
    ci = cs.context_info
    ci.timezone, ci.timezone_offset, ci.locale = "UTC", 0, "en-US"
    ci.url, ci.is_embedded, ci.color_scheme = url, False, "light"
    return msg.SerializeToString()


async def _run_page(ws, request: bytes, hashes: dict[str, str]) -> PageRun:
    """Send ``request`` and read messages until its run's ``script_finished``."""
    from streamlit.proto.Alert_pb2 import Alert
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out = PageRun()
    t0 = time.perf_counter()
    await ws.write_message(request, binary=True)
    while True:
        left = TIMEOUT - (time.perf_counter() - t0)
        raw = await asyncio.wait_for(ws.read_message(), timeout=max(left, 0.001))
        if raw is None:
            out.errors.append("connection closed")
            break
        out.n_bytes += len(raw)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "navigation":
            hashes.update({p.page_name: p.page_script_hash for p in msg.navigation.app_pages})
        elif kind == "delta":
            if not out.first_message:
                out.first_message = time.perf_counter() - t0
            if msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                what = element.WhichOneof("type")
                out.elements[what] += 1
                if what == "exception":
                    out.errors.append(f"exception {element.exception.type}")
                elif what == "alert" and element.alert.format == Alert.ERROR:
                    out.errors.append(f"error alert: {element.alert.body[:80]}")
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                out.errors.append("compile error")
            if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                break
    out.seconds = time.perf_counter() - t0
    return out


async def one_session(url: str, pages: tuple[str, ...] = PAGES) -> dict[str, PageRun]:
    """One new session going through ``pages``; a page that fails is recorded, not raised."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    ws_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
    runs: dict[str, PageRun] = {}
    hashes: dict[str, str] = {}
    t0 = time.perf_counter()
    try:
        ws = await websocket_connect(
            HTTPRequest(ws_url, headers={"Sec-WebSocket-Protocol": "streamlit"}),
            max_message_size=512 * 2**20,
        )
    except Exception as exc:  # a bench reports and goes on
        runs[pages[0]] = PageRun(errors=[f"connect: {type(exc).__name__}"])
        return runs
    connect = time.perf_counter() - t0
    try:
        for i, page in enumerate(pages):
            if i == 0:
                request = _rerun(page_name=page, url=f"{url}/{page}")
            elif page in hashes:
                request = _rerun(page_script_hash=hashes[page], url=f"{url}/{pages[0]}")
            else:
                runs[page] = PageRun(errors=["no such page in the navigation message"])
                continue
            try:
                runs[page] = await _run_page(ws, request, hashes)
            except TimeoutError:
                runs[page] = PageRun(seconds=TIMEOUT, errors=["timeout"])
                break
        if pages[0] in runs:
            runs[pages[0]].seconds += connect
    finally:
        ws.close()
    return runs


def quantile95(xs: list[float]) -> float:
    """The 95th percentile (inclusive method; the value itself for one sample)."""
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=20, method="inclusive")[18]


async def concurrent(url: str, n: int, pages: tuple[str, ...] = PAGES) -> dict[str, list]:
    """``n`` new sessions at once; each page's runs across sessions."""
    results = await asyncio.gather(*(one_session(url, pages) for _ in range(n)))
    return {page: [r[page] for r in results if page in r] for page in pages}


def report(title: str, by_page: dict[str, list], wall: float) -> None:
    """Print p50/p95/max seconds per page, what was sent, and the errors."""
    print(f"\n{title}")
    print(f"{'page':<18} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'1st msg':>8} {'kB':>7}  "
          "elements (one session)")  # fmt: skip
    errors: list[str] = []
    for page, runs in by_page.items():
        ts = [r.seconds for r in runs if "timeout" not in r.errors]
        errors += [f"{page}: {e}" for r in runs for e in r.errors]
        if not ts:
            print(f"{page:<18}  no run finished")
            continue
        first = statistics.median(r.first_message for r in runs)
        kb = statistics.median(r.n_bytes for r in runs) / 1000
        els = runs[0].elements
        top = ", ".join(f"{k} {v}" for k, v in els.most_common(5))
        print(f"{page:<18} {statistics.median(ts):7.2f} {quantile95(ts):7.2f} {max(ts):7.2f} "
              f"{first:8.2f} {kb:7.0f}  {sum(els.values())}: {top}")  # fmt: skip
    shown = "; ".join(sorted(set(errors))[:8])
    print(f"errors: {len(errors)}" + (f" ({shown})" if errors else ""))
    print(f"wall time: {wall:.1f} s")


async def bench(url: str, n: int, repeat: int) -> None:
    """Warm the server with one session, time one session alone, then ``n`` at once."""
    await one_session(url)
    t0 = time.perf_counter()
    alone = await concurrent(url, 1)
    report("one new session alone (protocol: server time, no browser)", alone,
           time.perf_counter() - t0)  # fmt: skip
    for r in range(repeat):
        t0 = time.perf_counter()
        by_page = await concurrent(url, n)
        report(f"{n} concurrent new sessions (protocol: server time, no browser), run {r + 1}",
               by_page, time.perf_counter() - t0)  # fmt: skip


def run(n: int, repeat: int = 1, url: str | None = None) -> None:
    """Start the app (unless ``url`` is given) and run :func:`bench`."""
    if url:
        asyncio.run(bench(url, n, repeat))
        return
    from interaction import Server

    with Server(ROOT / "app.py", ROOT) as app:
        asyncio.run(bench(app.url, n, repeat))


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10, help="concurrent sessions")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of N sessions")
    parser.add_argument("--url", default=None, help="a running server instead of a new one")
    args = parser.parse_args()
    run(args.sessions, args.repeat, args.url)


if __name__ == "__main__":
    main()
