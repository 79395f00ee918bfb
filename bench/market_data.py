"""Benchmark: loading prices, on the full bundled sample (8313 days x 20 stocks + index).

Times, in one process, against the plain pandas read of the same file as baseline:

1. ``core.market_data.load_csv`` (validation included) vs ``pandas.read_csv``;
2. ``core.market_data.load_excel`` vs ``pandas.read_excel``;
3. a Yahoo load served by the SQLite cache (what a second load costs; no network is touched:
   the cache is filled from the sample first) vs ``pandas.read_csv``;
4. hostile uploads, refused by the limits (``MAX_CELLS``, ``MAX_ASSETS``): a 4,000,000-cell
   workbook (a few hundred kB compressed; once with the sheet dimension recorded, once
   without), a 3,000-column CSV, and the largest accepted table (1,000 assets x 1,000 dates),
   each against ``pandas.read_csv`` of the sample as baseline;
5. with ``--page``: the Data page (AppTest) after uploading the 3,000-column CSV and after a
   1,000-asset CSV, against the page on the bundled sample.

Usage: ``python bench/market_data.py [--page]``
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
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

        bomb, bare = Path(tmp) / "bomb.xlsx", Path(tmp) / "bomb_nodim.xlsx"
        workbook_bomb(bomb, 100_000, 40, dimension=True)
        workbook_bomb(bare, 100_000, 40, dimension=False)
        wide = Path(tmp) / "wide.csv"
        synthetic(80, 3_000).to_csv(wide)
        largest = Path(tmp) / "largest.csv"
        synthetic(1_000, 1_000).to_csv(largest)
        base = best_of(lambda: pd.read_csv(csv))
        print(f"\nbaseline pandas.read_csv of the sample: {base:.3f} s")
        print(f"{'upload':40s} {'size kB':>8s} {'seconds':>8s} {'ratio':>7s}  answer")
        for name, path in [
            ("4,000,000-cell xlsx, dimension recorded", bomb),
            ("4,000,000-cell xlsx, no dimension", bare),
            ("3,000-column CSV (80 dates)", wide),
            ("1,000 assets x 1,000 dates CSV", largest),
        ]:
            t0 = time.perf_counter()
            try:
                md.load_upload(str(path), path.name)
                answer = "loaded"
            except md.DataError as e:
                answer = str(e)[:70]
            sec = time.perf_counter() - t0
            kb = path.stat().st_size / 1e3
            print(f"{name:40s} {kb:8.0f} {sec:8.3f} {sec / base:7.1f}  {answer}")
        if "--page" in sys.argv:
            page_times(wide, largest)


def synthetic(n_dates: int, n_assets: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    levels = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_dates, n_assets)), axis=0))
    index = pd.bdate_range("2020-01-01", periods=n_dates, name="Date")
    return pd.DataFrame(levels, index=index, columns=[f"T{i}" for i in range(n_assets)])


def workbook_bomb(path: Path, n_rows: int, n_cols: int, dimension: bool) -> None:
    """A real .xlsx (one sheet of 1s) whose XML expands to n_rows x n_cols cells, compactly."""

    def col(i: int) -> str:
        name = ""
        while i >= 0:
            name, i = chr(65 + i % 26) + name, i // 26 - 1
        return name

    letters = [col(i) for i in range(n_cols)]
    rows = "".join(
        f'<row r="{r}">' + "<c><v>1</v></c>" * n_cols + "</row>"
        for r in range(1, n_rows + 1)
    )
    dim = f'<dimension ref="A1:{letters[-1]}{n_rows}"/>' if dimension else ""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{pkg}/content-types"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/><Override '
            'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
            'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook {ns} xmlns:r="{rel}"><sheets><sheet name="Prices" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f"<worksheet {ns}>{dim}<sheetData>{rows}</sheetData></worksheet>",
        )


def page_times(wide: Path, largest: Path) -> None:
    """Seconds for the Data page (AppTest): the sample, then each upload and its rerun."""
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]

    def run(upload: Path | None) -> float:
        at = AppTest.from_file(str(root / "pages" / "1_Data.py"), default_timeout=600)
        at.run()
        if upload is None:
            t0 = time.perf_counter()
            at.run()
            return time.perf_counter() - t0
        at.radio(key="w_data_kind").set_value("upload").run()
        at.file_uploader(key="upload_file").upload(upload.name, upload.read_bytes(), "text/csv")
        at.run()
        t0 = time.perf_counter()
        at.button(key="upload_load").click().run()
        assert not at.exception
        return time.perf_counter() - t0

    base = run(None)
    print(f"\nData page rerun on the sample (baseline): {base:.2f} s")
    for name, path in [("3,000-column CSV", wide), ("1,000-asset CSV", largest)]:
        sec = run(path)
        print(f"Data page, upload of the {name}: {sec:.2f} s ({sec / base:.1f}x)")


if __name__ == "__main__":
    main()
