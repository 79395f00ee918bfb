"""Cold start: a fresh Streamlit server to a rendered Allocation page on the bundled sample.

Measured in Debian's Chromium (Playwright), from ``streamlit run`` to the order table on screen.
The baseline, run the same way in the same process, is a one-line Streamlit page, so the ratio
is what Ballast adds to Streamlit's own start-up.

Usage: ``python bench/cold_start.py [repeats]``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_start(browser, script: Path, path: str, ready_text: str) -> float:
    """Seconds from starting the server to ``ready_text`` shown with the script idle."""
    port = _port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/{path}")
        page.get_by_text(ready_text).first.wait_for(timeout=120_000)
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
        elapsed = time.perf_counter() - t0
        page.close()
        return elapsed
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    """Run the baseline and Ballast alternately and print the medians and their ratio."""
    from playwright.sync_api import sync_playwright

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text("import streamlit as st\nst.write('hello')\n")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            base, ours = [], []
            for _ in range(repeats):
                base.append(cold_start(browser, hello, "", "hello"))
                ours.append(cold_start(browser, ROOT / "app.py", "Allocation",
                                       "Orders in whole shares"))  # fmt: skip
            browser.close()
    b, o = sorted(base)[len(base) // 2], sorted(ours)[len(ours) // 2]
    print(f"baseline (one-line Streamlit page): {b:.2f} s  (median of {repeats})")
    print(f"Ballast Allocation page, cold:      {o:.2f} s  (median of {repeats})")
    print(f"ratio Ballast / baseline:           {o / b:.2f}")


if __name__ == "__main__":
    main()
