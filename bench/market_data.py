"""Benchmark: loading prices, on the full bundled sample (8313 days x 20 stocks + index).

Times, in one process, against the plain pandas read of the same file as baseline:

1. ``core.market_data.load_csv`` (validation included) vs ``pandas.read_csv``;
2. ``core.market_data.load_excel`` vs ``pandas.read_excel``;
3. a Yahoo load served by the SQLite cache (what a second load costs; no network is touched:
   the cache is filled from the sample first) vs ``pandas.read_csv``.

Usage: ``python bench/market_data.py``
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from core import market_data as md  # noqa: E402


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    sample = md.load_sample()
    with tempfile.TemporaryDirectory() as tmp:
        csv, xlsx, cache = Path(tmp) / "p.csv", Path(tmp) / "p.xlsx", Path(tmp) / "cache"
        sample.prices.to_csv(csv)
        sample.prices.to_excel(xlsx)
        start, end = sample.prices.index[0].date(), sample.prices.index[-1].date()
        with md._cache(md.cache_dir(cache)) as con:  # fill the cache as a download would
            for t in sample.tickers:
                md._store(con, sample.prices[t], t, start, end)
        rows = [
            ("load_csv", lambda: md.load_csv(csv), lambda: pd.read_csv(csv)),
            ("load_excel", lambda: md.load_excel(xlsx), lambda: pd.read_excel(xlsx), 1),
            (
                "load_yahoo from cache",
                lambda: md.load_yahoo(sample.tickers, start, end, benchmark=None, cache_dir=cache),
                lambda: pd.read_csv(csv),
            ),
        ]
        print(f"{'task':24s} {'ballast s':>10s} {'pandas s':>10s} {'ratio':>7s}")
        for name, ours, base, *rep in rows:
            a, b = best_of(ours, *rep), best_of(base, *rep)
            print(f"{name:24s} {a:10.3f} {b:10.3f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
