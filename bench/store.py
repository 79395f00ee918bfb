"""Benchmark: the saved-setups store (``core.store``) against Ballast 0.1's single-file store.

Times, in one process, on the app's full default setup (``ui.state.DEFAULTS``):

1. save (a new name), list, load and the working-setup save of ``core.store.SetupStore`` on a
   SQLite file, against the same operations of ``core.setups.SQLiteRecordFile`` (the 0.1
   format, plain ``sqlite3``) on another file, as baseline;
2. with ``--postgres``: the same on a throwaway PostgreSQL cluster on 127.0.0.1
   (``tests/postgres.py``), against the same baseline.

Each figure is the median of ``N`` operations, in milliseconds, and its ratio to the baseline.

Usage: ``python bench/store.py [--postgres] [N]``
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.setups import SQLiteRecordFile  # noqa: E402
from core.store import open_store  # noqa: E402
from ui.state import DEFAULTS  # noqa: E402


def median_ms(fn, n: int) -> float:
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def baseline(folder: Path, n: int) -> dict[str, float]:
    old = SQLiteRecordFile(folder / "old.sqlite3")
    return {
        "save": median_ms(lambda i: old.save(f"s{i}", DEFAULTS, DEFAULTS), n),
        "list": median_ms(lambda i: old.list(), n),
        "load": median_ms(lambda i: old.load(f"s{i}", DEFAULTS), n),
        "working save": median_ms(lambda i: old.save("token", DEFAULTS, DEFAULTS), n),
    }


def new_store(url: str, n: int) -> dict[str, float]:
    store = open_store(url)
    out = {
        "save": median_ms(lambda i: store.save(f"s{i}", DEFAULTS, DEFAULTS, user="alice"), n),
        "list": median_ms(lambda i: store.list("alice"), n),
        "load": median_ms(lambda i: store.load(f"s{i}", DEFAULTS, user="alice"), n),
        "working save": median_ms(lambda i: store.save_working("alice", DEFAULTS, DEFAULTS), n),
    }
    store.close()
    return out


def report(title: str, figures: dict[str, float], base: dict[str, float]) -> None:
    print(title)
    for op, ms in figures.items():
        ratio = ms / base[op]
        print(f"  {op:<13} {ms:8.2f} ms   0.1 store {base[op]:7.2f} ms   ratio {ratio:5.2f}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 50
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        base = baseline(folder, n)
        report(f"SQLite file, median of {n}", new_store(f"sqlite:///{folder / 'new.sqlite3'}", n),
               base)  # fmt: skip
        if "--postgres" in sys.argv:
            from tests import postgres

            with postgres.cluster() as cluster:
                report(f"PostgreSQL on 127.0.0.1, median of {n}",
                       new_store(cluster.new_database(), n), base)  # fmt: skip
