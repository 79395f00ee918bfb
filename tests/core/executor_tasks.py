"""Light tasks for the executor tests (module-level, so Dask workers import them quickly)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from core.exceptions import BallastError


def seeded_draw(seed: int, scale: np.ndarray) -> np.ndarray:
    """A seeded Monte Carlo chunk: identical wherever it runs for the same seed."""
    return np.random.default_rng(seed).standard_normal((1000, scale.size)) @ np.diag(scale)


def slow(item: int, delay: float) -> int:
    """``item`` after ``delay`` seconds."""
    time.sleep(delay)
    return item


def failing(item: int) -> int:
    """``item``, except for 2, which raises a BallastError."""
    if item == 2:
        raise BallastError("Item 2 is not allowed.")
    return item


def counted(n: int, delay: float, *, executor, progress=None, cancel=None) -> int:  # noqa: ANN001
    """A heavy job's shape: ``n`` slow tasks through ``executor``; the sum of ``range(n)``."""
    return sum(executor.map(slow, range(n), shared={"delay": delay}, progress=progress,
                            cancel=cancel))  # fmt: skip


_CLUSTER_SCRIPT = """
import time
from distributed import LocalCluster
if __name__ == "__main__":
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                           dashboard_address=None)
    print(cluster.scheduler_address, flush=True)
    while True:
        time.sleep(1)
"""


@contextlib.contextmanager
def cluster_process(folder: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A two-worker ``LocalCluster`` in a child process: ``(address, kill)``.

    ``kill()`` ends the scheduler and its workers at once (SIGKILL to the process group), as
    a cluster that goes away does.
    """
    root = Path(__file__).resolve().parents[2]
    script = folder / "cluster.py"
    script.write_text(_CLUSTER_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, env={**os.environ, "PYTHONPATH": str(root)}, cwd=str(root),
        start_new_session=True,
    )  # fmt: skip

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    try:
        address = proc.stdout.readline().strip()
        if not address.startswith("tcp://"):
            raise RuntimeError(f"The cluster did not start: {address!r}")
        yield address, kill
    finally:
        kill()
        proc.wait(timeout=10)
