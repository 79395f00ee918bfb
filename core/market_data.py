"""Market data: the bundled S&P 500 sample, Yahoo Finance via yfinance, and user uploads.

Conventions
-----------
Every source returns a :class:`PriceData`: adjusted closing prices as a DataFrame of shape
``(n_observations, n_assets)`` on a sorted, unique, timezone-naive ``DatetimeIndex`` with tickers
as columns, strictly positive floats and no missing values inside the common window. Prices are in
the currency of the listing (USD for the bundled sample). Returns are derived elsewhere
(:func:`core.estimators.returns_from_prices`).

Uploaded files (:func:`load_csv`, :func:`load_excel`, :func:`load_upload`) are wide: one date
column (named ``Date`` or the first column) and one column per ticker. Rows are counted as in a
spreadsheet: the header is row 1, the first data row is row 2. Every problem raises a
:class:`FileValidationError` (a :class:`~core.exceptions.DataError`) whose message names the
offending rows and columns; assets whose histories start or end on different dates raise
:class:`StartDatesDifferError`, which carries each asset's first and last date so the caller can
offer the two ways out (``alignment="common"`` or ``alignment="drop"``). A first data row whose
date cell reads ``Sector`` gives each ticker's sector; :func:`load_sectors` reads a separate
``ticker,sector`` file.

Uploads are bounded before the whole file is parsed, so that every answer comes within seconds:
at most :data:`MAX_ASSETS` price columns (1,000), :data:`MAX_ROWS` dates (100,000),
:data:`MAX_CELLS` price cells (1,000,000: dates x price columns) and :data:`MAX_FILE_MB` MB of
text (for a workbook: of uncompressed XML); every ticker once in the header. Dates must lie in
the years 1678-2262 (pandas' nanosecond timestamps); prices must be finite and positive. A
one-day price move by more than a factor :data:`JUMP_FACTOR` loads with a warning (a split the
prices are not adjusted for, or a bad tick).

Yahoo Finance prices (:func:`load_yahoo`) are adjusted closes from yfinance (``auto_adjust=True``:
the ``Close`` column is split- and dividend-adjusted), cached in an SQLite file under
:func:`cache_dir` (``$BALLAST_CACHE_DIR``, default ``~/.cache/ballast``) so that a second load is
instant and works offline. Every network call is bounded: yfinance gets a timeout and the whole
exchange with Yahoo runs in a worker thread with an overall deadline (:data:`YAHOO_DEADLINE`
seconds), after which the load gives up with a :class:`YahooUnavailableError`. Yahoo's daily
volume (shares traded) is kept with the closes, in the cache too (``PriceData.volume``); a
cache written before volumes were kept still loads, without them, and is refreshed once online.
:func:`average_daily_volume` turns a volume table into the average daily volume (ADV) of the
liquidity limits; :func:`load_volume` reads an uploaded volume file (the layout and the bounds
of a price upload, volumes of zero allowed).

A loaded data set can be described by a JSON-friendly dict (the setup key ``data_source``) and
loaded again with :func:`load_source`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
import sqlite3
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from core.exceptions import DataError, DataSourceUnavailableError, UnknownTickerError

__all__ = [
    "MIN_OBSERVATIONS",
    "SAMPLE_SECTORS",
    "SAMPLE_MARKET_CAPS",
    "ALIGNMENTS",
    "DEFAULT_BENCHMARK",
    "PriceData",
    "FileValidationError",
    "StartDatesDifferError",
    "YahooUnavailableError",
    "load_sample",
    "load_csv",
    "load_excel",
    "load_upload",
    "validate_prices",
    "load_yahoo",
    "cache_dir",
    "cached_tickers",
    "data_quality",
    "upload_descriptor",
    "yahoo_descriptor",
    "load_source",
    "with_sectors",
    "load_sectors",
    "load_volume",
    "average_daily_volume",
    "ADV_WINDOW",
    "window_warnings",
    "fingerprint",
    "excel_sheets",
    "MAX_ASSETS",
    "MAX_ROWS",
    "MAX_CELLS",
    "MAX_FILE_MB",
    "JUMP_FACTOR",
    "YAHOO_DEADLINE",
]

#: Fewest price observations a universe must have to be estimated from (about three months).
MIN_OBSERVATIONS = 60

#: Most price columns (assets, benchmark included) an upload may have.
MAX_ASSETS = 1_000
#: Most dates (data rows) an upload may have: about 400 years of daily prices.
MAX_ROWS = 100_000
#: Most price cells (dates x price columns) an upload may have.
MAX_CELLS = 1_000_000
#: Most megabytes of text in an uploaded CSV, or of uncompressed XML in an uploaded workbook.
MAX_FILE_MB = 100
#: A one-day price ratio above this factor (or below its inverse) is reported as a likely
#: unadjusted split or bad tick.
JUMP_FACTOR = 5.0
#: Seconds a Yahoo Finance load may wait for the network in all, before giving up.
YAHOO_DEADLINE = 20.0
#: Trading days the average daily volume is taken over by default (about a month).
ADV_WINDOW = 20

#: GICS sectors of the twenty stocks in skfolio's S&P 500 sample.
SAMPLE_SECTORS: dict[str, str] = {
    "AAPL": "Information Technology",
    "AMD": "Information Technology",
    "MSFT": "Information Technology",
    "BAC": "Financials",
    "JPM": "Financials",
    "BBY": "Consumer Discretionary",
    "HD": "Consumer Discretionary",
    "CVX": "Energy",
    "RRC": "Energy",
    "XOM": "Energy",
    "GE": "Industrials",
    "JNJ": "Health Care",
    "LLY": "Health Care",
    "MRK": "Health Care",
    "PFE": "Health Care",
    "UNH": "Health Care",
    "KO": "Consumer Staples",
    "PEP": "Consumer Staples",
    "PG": "Consumer Staples",
    "WMT": "Consumer Staples",
}

#: Approximate market capitalisations at the sample's end (December 2022), USD billions, rounded.
SAMPLE_MARKET_CAPS: dict[str, float] = {
    "AAPL": 2000.0, "AMD": 101.0, "BAC": 261.0, "BBY": 18.0, "CVX": 344.0,
    "GE": 75.0, "HD": 323.0, "JNJ": 462.0, "JPM": 390.0, "KO": 275.0,
    "LLY": 347.0, "MRK": 280.0, "MSFT": 1740.0, "PEP": 249.0, "PFE": 287.0,
    "PG": 358.0, "RRC": 6.0, "UNH": 495.0, "WMT": 383.0, "XOM": 445.0,
}  # fmt: skip


@dataclass(frozen=True)
class PriceData:
    """Validated prices of a universe, with their benchmark and metadata.

    Attributes
    ----------
    prices : pandas.DataFrame
        Adjusted closes, shape ``(n_observations, n_assets)``, DatetimeIndex, tickers as columns.
    benchmark : pandas.Series or None
        Benchmark level (e.g. the S&P 500 index) on the same dates, named by its ticker.
    sectors : pandas.Series
        Sector of each ticker (index: tickers); ``"Unknown"`` where no sector is known.
    source : str
        Where the prices come from: ``"sample"``, ``"yahoo"``, ``"cache"`` or ``"upload"``.
    description : str
        One line for the user, e.g. ``"S&P 500 sample bundled with skfolio"``.
    currency : str or None
        Currency of the prices where known (``"USD"`` for the sample).
    market_caps : pandas.Series or None
        Market capitalisations in billions of ``currency`` where known (index: tickers).
    notes : tuple of str
        Warnings raised while loading (dropped columns, filled gaps), for the data page.
    filled : pandas.DataFrame or None
        Boolean mask, same shape as ``prices``: True where a missing price was filled with the
        previous close while loading. None when nothing was filled.
    unknown_tickers : tuple of str
        Requested tickers the source did not know (Yahoo); they are not in ``prices``.
    warnings : tuple of str
        Suspicious but loadable data (one-day jumps by more than :data:`JUMP_FACTOR`), named by
        asset and date, for the data page to show as warnings.
    volume : pandas.DataFrame or None
        Daily volume in shares traded, same index and columns as ``prices``; NaN where the
        source gave none (a filled price, a ticker cached before volumes were kept; yfinance
        itself reports a day Yahoo sent no volume for as 0). None when the source has no volume
        at all (the bundled sample, a price upload).
    """

    prices: pd.DataFrame
    benchmark: pd.Series | None = None
    sectors: pd.Series = field(default_factory=lambda: pd.Series(dtype=str))
    source: str = "sample"
    description: str = ""
    currency: str | None = None
    market_caps: pd.Series | None = None
    notes: tuple[str, ...] = ()
    filled: pd.DataFrame | None = None
    unknown_tickers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    volume: pd.DataFrame | None = None

    @property
    def tickers(self) -> list[str]:
        """Tickers of the universe, in column order."""
        return list(self.prices.columns)

    @property
    def as_of(self) -> pd.Timestamp:
        """Date of the last price observation."""
        return pd.Timestamp(self.prices.index[-1])

    def subset(
        self,
        tickers: list[str] | None = None,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
    ) -> PriceData:
        """Restrict to some tickers and a date window (both ends included).

        Parameters
        ----------
        tickers : list of str, optional
            Tickers to keep, in that order; all of them when omitted.
        start, end : Timestamp or str, optional
            First and last dates to keep; dates before the first or after the last price
            (even outside pandas' years 1678-2262, e.g. 9999-12-31) mean the data's own ends.

        Returns
        -------
        PriceData
            A new object; this one is unchanged.

        Raises
        ------
        DataError
            If a ticker is not in the data, fewer than two tickers are chosen, a date cannot be
            read, or the window holds fewer than :data:`MIN_OBSERVATIONS` observations.
        """
        start, end = self._bound(start, "start"), self._bound(end, "end")
        tickers = self.tickers if tickers is None else list(tickers)
        missing = [t for t in tickers if t not in self.prices.columns]
        if missing:
            raise DataError(f"Not in the loaded data: {', '.join(missing)}.")
        if len(tickers) < 1:
            raise DataError("Choose at least one asset for the universe.")
        prices = self.prices.loc[start:end, tickers]
        if len(prices) < MIN_OBSERVATIONS:
            raise DataError(
                f"The window {_fmt_date(start)} to {_fmt_date(end)} holds {len(prices)} "
                f"observations; at least {MIN_OBSERVATIONS} are needed. Widen the window."
            )
        benchmark = None if self.benchmark is None else self.benchmark.reindex(prices.index)
        caps = None if self.market_caps is None else self.market_caps.reindex(tickers)
        filled = None if self.filled is None else self.filled.reindex(prices.index)[tickers]
        volume = None if self.volume is None else self.volume.reindex(
            index=prices.index, columns=tickers)
        return replace(
            self,
            prices=prices,
            filled=filled,
            volume=volume,
            benchmark=benchmark,
            sectors=self.sectors.reindex(tickers).fillna("Unknown"),
            market_caps=caps,
        )


    def _bound(self, value: object, which: str) -> pd.Timestamp | None:
        """A window end as a Timestamp inside the data's span (None: the data's own end)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            day = _as_date(value)
        except DataError as e:
            raise DataError(f"The window {which}: {e}") from e
        first, last = self.prices.index[0].date(), self.prices.index[-1].date()
        if day < first or day > last:  # also years pandas cannot hold (1600, 9999)
            return pd.Timestamp(first if day < first else last)
        return pd.Timestamp(day)


def _as_date(value: object) -> dt.date:
    """A date from a date, datetime, Timestamp or ISO string, in any year 1-9999.

    Raises
    ------
    DataError
        If the value is not a readable date.
    """
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError, OverflowError) as e:  # OutOfBoundsDatetime is a ValueError
        raise DataError(f"cannot read {str(value)[:40]!r} as a date; use e.g. 2020-01-31.") from e


def _fmt_date(value: object) -> str:
    return "the start" if value is None else str(pd.Timestamp(value).date())


def load_sample() -> PriceData:
    """Load the real S&P 500 sample that ships with skfolio (offline).

    Returns
    -------
    PriceData
        20 US large caps, daily adjusted closes from 1990-01-02 to 2022-12-28 (8313 rows),
        the S&P 500 index as benchmark, GICS sectors, and approximate market capitalisations at
        the sample's end (USD billions).

    References
    ----------
    skfolio.datasets.load_sp500_dataset and load_sp500_index (skfolio, BSD-3-Clause).
    """
    from skfolio.datasets import load_sp500_dataset, load_sp500_index

    prices = load_sp500_dataset().astype(float)
    prices.index = pd.DatetimeIndex(prices.index).as_unit("ns")
    prices.index.name = "Date"
    prices.columns.name = None
    index = load_sp500_index().iloc[:, 0].astype(float)
    index.index = pd.DatetimeIndex(index.index).as_unit("ns")
    index.name = "SP500"
    return PriceData(
        prices=prices,
        benchmark=index.reindex(prices.index),
        sectors=pd.Series(SAMPLE_SECTORS).reindex(prices.columns),
        source="sample",
        description="S&P 500 sample bundled with skfolio (20 stocks and the index, daily)",
        currency="USD",
        market_caps=pd.Series(SAMPLE_MARKET_CAPS).reindex(prices.columns),
    )


# --------------------------------------------------------------------------------------------
# Validation of price tables (uploads, and the last step of every source)
# --------------------------------------------------------------------------------------------

#: Ways to handle assets whose histories start (or end) on different dates.
ALIGNMENTS: dict[str, str] = {
    "strict": "Stop and ask (raise StartDatesDifferError)",
    "common": "Common window: keep every asset, cut the dates to the span all of them cover",
    "drop": "Drop the short ones: keep the assets with the longest history, all its dates",
}

#: Default benchmark ticker for Yahoo data (S&P 500 index).
DEFAULT_BENCHMARK = "^GSPC"

_MAX_LISTED = 5  # rows or values quoted in a message before "and N more"
_DATE_FORMATS = ("ISO8601", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d", "%m/%d/%y", "%d/%m/%y")


class FileValidationError(DataError):
    """A price table that cannot be used as it is; the message names rows and columns.

    Parameters
    ----------
    message : str
        The message shown to the user.
    problem : str
        Machine-readable kind: ``"unreadable"``, ``"no_prices"``, ``"dates"``,
        ``"duplicate_dates"``, ``"empty_columns"``, ``"unnamed_columns"``, ``"non_numeric"``,
        ``"non_positive"``, ``"non_finite"``, ``"start_dates"``, ``"too_few_observations"``,
        ``"duplicate_columns"``, ``"too_large"``.
    columns : list of str, optional
        The offending columns.
    rows : list of int, optional
        The offending rows, numbered as in a spreadsheet (header = row 1).
    """

    def __init__(
        self,
        message: str,
        problem: str,
        columns: list[str] | None = None,
        rows: list[int] | None = None,
    ) -> None:
        super().__init__(message)
        self.problem = problem
        self.columns = list(columns or [])
        self.rows = list(rows or [])


class StartDatesDifferError(FileValidationError):
    """Assets whose price histories start or end on different dates.

    The caller chooses how to align them and loads again with ``alignment="common"`` (every
    asset, the dates all of them cover) or ``alignment="drop"`` (only the assets with the full
    history).

    Attributes
    ----------
    starts, ends : pandas.Series
        First and last date with a price, per asset (index: tickers).
    common_start, common_end : pandas.Timestamp
        The window every asset covers (``common_start > common_end`` if there is none).
    common_observations : int
        Observations in that window.
    dropped : list of str
        The assets ``alignment="drop"`` would drop.
    """

    def __init__(self, message: str, starts: pd.Series, ends: pd.Series, index: pd.Index) -> None:
        self.starts = starts
        self.ends = ends
        self.common_start = pd.Timestamp(starts.max())
        self.common_end = pd.Timestamp(ends.min())
        self.common_observations = int(
            ((index >= self.common_start) & (index <= self.common_end)).sum()
        )
        self.dropped = _short_assets(starts, ends)
        differing = [t for t in starts.index if t in self.dropped]
        super().__init__(message, "start_dates", columns=differing)


class YahooUnavailableError(DataSourceUnavailableError):
    """Yahoo Finance could not be reached (or refused) and the data was not all in the cache.

    Attributes
    ----------
    cached : list of str
        Requested tickers (benchmark excluded) that have some prices in the local cache, so the
        caller can offer ``load_yahoo(..., offline=True)``.
    """

    def __init__(self, message: str, cached: list[str] | None = None) -> None:
        super().__init__(message)
        self.cached = list(cached or [])


def _listing(items: list[Any], limit: int = _MAX_LISTED) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _reject_cells(
    mask: pd.DataFrame,
    rows: pd.Series,
    describe: Callable[[Any, Any], str],
    problem: str,
    message: str,
) -> None:
    """Raise ``FileValidationError(problem)`` naming the cells flagged in ``mask``, if any.

    ``message`` is formatted with ``n`` (how many cells), ``cells`` and ``cols`` (listings);
    ``describe(column, index)`` names one cell; ``rows`` maps the index to spreadsheet rows.
    """
    if not mask.any().any():
        return
    cols = [c for c in mask.columns if mask[c].any()]
    cells = [describe(c, i) for c in cols for i in mask.index[mask[c]]]
    raise FileValidationError(
        message.format(n=int(mask.sum().sum()), cells=_listing(cells), cols=_listing(cols)),
        problem,
        columns=cols,
        rows=sorted({int(rows[i]) for c in cols for i in mask.index[mask[c]]}),
    )


def _short_assets(starts: pd.Series, ends: pd.Series) -> list[str]:
    full = (starts == starts.min()) & (ends == ends.max())
    if not full.any():  # nobody spans it all: keep the longest-starting ones
        full = starts == starts.min()
    return [str(t) for t in starts.index[~full]]


def _date(value: Any) -> str:
    return str(pd.Timestamp(value).date())


def _is_blank(series: pd.Series) -> pd.Series:
    """True where a raw cell is empty (NaN, None, or only whitespace)."""
    missing = series.isna()
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return missing
    return missing | series.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)


_FORMAT_NAMES = {
    "ISO8601": "2024-01-31",
    "%m/%d/%Y": "01/31/2024 (month first)",
    "%d/%m/%Y": "31/01/2024 (day first)",
    "%d.%m.%Y": "31.01.2024",
    "%Y%m%d": "20240131",
    "%m/%d/%y": "01/31/24 (month first)",
    "%d/%m/%y": "31/01/24 (day first)",
}
# A UTC offset or zone after a time: "2024-03-08 16:00:00-05:00", "...T16:00:00Z", "... UTC".
_OFFSET = re.compile(r"(?<=\d)\s*(?:[+-]\d{2}:?\d{2}|Z|UTC|GMT)$")
_FIRST_YEAR, _LAST_YEAR = 1678, 2261  # whole years inside pandas' nanosecond timestamps


def _date_cells(rows: list[int], values: list[Any]) -> str:
    shown = [v if v == "(empty)" else repr(str(v)) for v in values]
    return _listing([f"row {r}: {v}" for r, v in zip(rows, shown, strict=True)])


def _unreadable_dates(raw: pd.Series, rows: pd.Series, bad: pd.Series, blank: pd.Series) -> None:
    shown = ["(empty)" if b else v for v, b in zip(raw[bad], blank[bad], strict=True)]
    raise FileValidationError(
        f"Cannot read {int(bad.sum())} date(s) in column '{raw.name}' "
        f"({_date_cells(list(rows[bad]), shown)}). Use one date per row, e.g. 2024-01-31.",
        "dates",
        columns=[str(raw.name)],
        rows=[int(r) for r in rows[bad]],
    )


def _all_numeric(frame: pd.DataFrame) -> bool:
    return all(pd.api.types.is_numeric_dtype(d) for d in frame.dtypes)


def _float_table(values: pd.DataFrame) -> pd.DataFrame:
    """A numeric table as one float block (read_csv gives one block per column: slow ops)."""
    return pd.DataFrame(values.to_numpy(dtype=float), index=values.index, columns=values.columns)


def _blank_table(values: pd.DataFrame) -> pd.DataFrame:
    """:func:`_is_blank` of every column; numeric columns in one vectorised step."""
    if _all_numeric(values):
        return _float_table(values).isna()
    blank = values.isna()
    for c in [c for c, d in values.dtypes.items() if not pd.api.types.is_numeric_dtype(d)]:
        blank[c] = _is_blank(values[c])
    return blank


def _first_last(prices: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """First and last date with a price, per column (NaT for an empty column)."""
    present = prices.notna().to_numpy()
    any_ = present.any(axis=0)
    first = np.where(any_, present.argmax(axis=0), 0)
    last = np.where(any_, len(prices) - 1 - present[::-1].argmax(axis=0), 0)
    index = prices.index
    starts = pd.Series(index[first] if len(index) else [], index=prices.columns)
    ends = pd.Series(index[last] if len(index) else [], index=prices.columns)
    return starts.where(any_), ends.where(any_)


def _parse_dates(
    raw: pd.Series, rows: pd.Series | None = None
) -> tuple[pd.DatetimeIndex, list[str]]:
    """Parse a date column; the first format that reads every cell wins (month-first first).

    ``rows`` maps the index to spreadsheet rows (default: index + 2). Returns the dates and
    notes (offsets dropped). Raises FileValidationError for unreadable, mixed-format,
    plain-year and out-of-range dates, naming the rows.
    """
    rows = pd.Series(raw.index.to_numpy() + 2, index=raw.index) if rows is None else rows
    notes: list[str] = []
    col = str(raw.name)
    blank = _is_blank(raw)
    filled = raw[~blank]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw)
    elif len(filled) and filled.map(lambda v: isinstance(v, dt.date)).all():
        # Excel date cells (datetime objects), years 1-9999: to_datetime picks a fitting unit.
        parsed = pd.to_datetime(raw.where(~blank), errors="coerce")
    else:
        numeric = pd.to_numeric(raw, errors="coerce")
        if numeric.notna().all() and (numeric == numeric.round()).all() and numeric.between(
            1_000, _LAST_YEAR + 1
        ).all():
            raise FileValidationError(
                f"Column '{col}' holds plain years ({_listing([int(v) for v in numeric[:3]], 3)}"
                ", ...), not dates. Write a full date on every row, e.g. 2000-12-29 for the "
                "year's last close.",
                "dates",
                columns=[col],
                rows=[int(r) for r in rows],
            )
        if numeric.notna().all() and numeric.between(_LAST_YEAR + 1, 100_000).all():
            # Excel serial day numbers (cells without a date format): 1906 onwards
            parsed = pd.to_datetime(numeric, unit="D", origin="1899-12-30")
        else:
            text = raw.astype("string").str.strip()
            offsets = text.str.contains(_OFFSET, na=False)
            if offsets[~blank].all() and (~blank).any():
                found = sorted(set(text[~blank].str.extract(f"({_OFFSET.pattern})")[0]))
                text = text.str.replace(_OFFSET, "", regex=True)
                notes.append(
                    f"Dates in column '{col}' carry time zone offsets ({_listing(found, 3)}); "
                    "read as the local calendar dates."
                )
            readers: dict[str, pd.Series] = {}
            best_fmt = None
            for fmt in _DATE_FORMATS:
                try:
                    candidate = pd.to_datetime(text, format=fmt, errors="coerce")
                except (ValueError, TypeError, OverflowError):
                    continue
                readers[fmt] = candidate
                bad = candidate.isna() & ~blank
                if best_fmt is None or bad.sum() < (readers[best_fmt].isna() & ~blank).sum():
                    best_fmt = fmt
                if not bad.any():
                    break
            best = readers.get(best_fmt, pd.Series(pd.NaT, index=raw.index))
            bad = best.isna() & ~blank
            if bad.any() and best_fmt is not None and (~bad).any():
                others = {
                    f: c for f, c in readers.items() if f != best_fmt and c[bad].notna().any()
                }
                read = [c[bad].notna() for c in others.values()]
                if read and pd.concat(read, axis=1).any(axis=1).all():
                    other = max(others, key=lambda f: others[f][bad].notna().sum())
                    raise FileValidationError(
                        f"The dates in column '{col}' mix formats: most are written like "
                        f"{_FORMAT_NAMES[best_fmt]}, but {int(bad.sum())} like "
                        f"{_FORMAT_NAMES[other]} ({_date_cells(list(rows[bad]), list(raw[bad]))})"
                        ". Write every date the same way, e.g. 2024-01-31.",
                        "dates",
                        columns=[col],
                        rows=[int(r) for r in rows[bad]],
                    )
            if (bad | blank).any():
                _unreadable_dates(raw, rows, bad | blank, blank)
            parsed = best
            if notes:
                parsed = parsed.dt.normalize()
    parsed = pd.Series(parsed, index=raw.index)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    missing = parsed.isna() & ~blank
    out = parsed.notna() & ~parsed.dt.year.between(_FIRST_YEAR, _LAST_YEAR)
    if out.any() or missing.any() or blank.any():
        if out.any():
            raise FileValidationError(
                f"{int(out.sum())} date(s) in column '{col}' lie outside the years "
                f"{_FIRST_YEAR}-{_LAST_YEAR} that Ballast handles "
                f"({_date_cells(list(rows[out]), list(raw[out]))}). Correct them or delete "
                "those rows.",
                "dates",
                columns=[col],
                rows=[int(r) for r in rows[out]],
            )
        _unreadable_dates(raw, rows, missing | blank, blank)
    return pd.DatetimeIndex(parsed).as_unit("ns"), notes


_SECTOR_LABELS = {"sector", "sectors", "gics sector", "gics sectors"}


def _blank_cell(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (
        isinstance(value, str) and not value.strip()
    )


def _check_header(names: list[str]) -> None:
    """Reject a header that names a column twice (pandas would rename it ``AAA.1``)."""
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        if n and not n.lower().startswith("unnamed:"):
            seen.setdefault(n, []).append(i + 1)
    dups = {n: cols for n, cols in seen.items() if len(cols) > 1}
    if dups:
        described = [f"'{n}' (columns {', '.join(map(str, c))})" for n, c in dups.items()]
        raise FileValidationError(
            f"The header row names {len(dups)} column(s) more than once: {_listing(described)}. "
            "Each ticker may appear once: rename or delete the duplicate columns.",
            "duplicate_columns",
            columns=list(dups),
        )


def _check_size(n_rows: int, n_price_columns: int, where: str = "The file") -> None:
    """Reject a table beyond :data:`MAX_ASSETS`, :data:`MAX_ROWS` or :data:`MAX_CELLS`."""
    if n_price_columns > MAX_ASSETS:
        raise FileValidationError(
            f"{where} has {n_price_columns:,} price columns; Ballast takes at most "
            f"{MAX_ASSETS:,} assets (benchmark included) in one upload. Keep the assets you "
            "need, or split the universe.",
            "too_large",
        )
    if n_rows > MAX_ROWS:
        raise FileValidationError(
            f"{where} has {n_rows:,} data rows; Ballast takes at most {MAX_ROWS:,} dates. "
            "Shorten the history (or use weekly prices).",
            "too_large",
        )
    if n_rows * n_price_columns > MAX_CELLS:
        raise FileValidationError(
            f"{where} has {n_rows:,} rows x {n_price_columns:,} price columns = "
            f"{n_rows * n_price_columns:,} price cells; Ballast takes at most {MAX_CELLS:,}. "
            "Shorten the history or load fewer assets.",
            "too_large",
        )


def _date_column(frame: pd.DataFrame) -> str:
    for col in frame.columns:
        if str(col).strip().lower() in {"date", "dates", "datetime", "time", "timestamp", "day"}:
            return col
    return frame.columns[0]


def validate_prices(
    raw: pd.DataFrame,
    *,
    alignment: str = "strict",
    date_column: str | None = None,
    benchmark: str | None = None,
) -> tuple[pd.DataFrame, pd.Series | None, pd.DataFrame, list[str]]:
    """Turn a raw wide table (date column + one column per ticker) into validated prices.

    Parameters
    ----------
    raw : DataFrame
        Cells as read from a file (strings, numbers, dates or NaN); default ``RangeIndex``.
    alignment : {"strict", "common", "drop"}
        What to do when assets start or end on different dates (see :data:`ALIGNMENTS`).
    date_column : str, optional
        Name of the date column; by default the column named ``Date`` (any case) or the first.
    benchmark : str, optional
        A column to use as the benchmark instead of as an asset.

    Returns
    -------
    prices : DataFrame (n_observations, n_assets)
        Strictly positive floats, sorted unique naive DatetimeIndex, no NaN.
    benchmark : Series (n_observations,) or None
        The benchmark column on the same dates (gaps filled forward).
    filled : DataFrame of bool, same shape as ``prices``
        True where a missing price inside an asset's history was filled with the previous one.
    notes : list of str
        What was changed on the way (sorted dates, dropped blank rows, filled gaps, trimming).

    Raises
    ------
    FileValidationError
        With ``problem`` set to the kind of fault and a message naming rows and columns.
    StartDatesDifferError
        If ``alignment="strict"`` and the assets' histories do not start and end together.
    """
    prices, bench, filled, notes, _ = _validate_table(
        raw, alignment=alignment, date_column=date_column, benchmark=benchmark
    )
    return prices, bench, filled, notes


def _validate_table(
    raw: pd.DataFrame,
    *,
    alignment: str = "strict",
    date_column: str | None = None,
    benchmark: str | None = None,
    volume: bool = False,
) -> tuple[pd.DataFrame, pd.Series | None, pd.DataFrame, list[str], dict[str, str]]:
    """:func:`validate_prices`, plus the sectors of a first data row labelled ``Sector``.

    With ``volume=True`` the table holds daily volumes (shares): the same checks of layout,
    size, dates and cells, except that zero is allowed; the volumes are returned as read
    (sorted by date, NaN where a cell is empty: no alignment, no filling, no length check).
    """
    noun = "volume" if volume else "price"
    if alignment not in ALIGNMENTS:
        raise DataError(f"Unknown alignment {alignment!r}; choose one of {', '.join(ALIGNMENTS)}.")
    notes: list[str] = []
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    _check_header(list(raw.columns))
    _check_size(raw.shape[0], raw.shape[1] - 1)
    if raw.shape[1] < 2 or raw.shape[0] == 0:
        raise FileValidationError(
            f"The file needs a date column and at least one {noun} column, one row per date; "
            f"it has {raw.shape[1]} column(s) and {raw.shape[0]} data row(s).",
            "no_prices",
        )
    date_col = date_column or _date_column(raw)
    if date_col not in raw.columns:
        raise FileValidationError(f"No column named '{date_col}' in the file.", "dates")
    sectors: dict[str, str] = {}
    first = raw[date_col].iloc[0]
    if isinstance(first, str) and first.strip().lower() in _SECTOR_LABELS:
        row = raw.iloc[0].drop(date_col)
        sectors = {str(t): str(v).strip() for t, v in row.items() if not _blank_cell(v)}
        raw = raw.iloc[1:]  # keep the index: rows stay numbered as in the spreadsheet
        notes.append(f"Read the sectors of {len(sectors)} asset(s) from row 2 ('{first.strip()}').")
        if raw.empty:
            raise FileValidationError(f"The file has a sector row but no {noun}s.", "no_prices")
    values = raw.drop(columns=[date_col])
    # Rows with neither a date nor any price are padding (blank spreadsheet rows): drop them.
    empty_rows = _is_blank(raw[date_col]) & _blank_table(values).all(axis=1)
    if empty_rows.any():
        raw, values = raw[~empty_rows], values[~empty_rows]
        notes.append(f"Ignored {int(empty_rows.sum())} empty row(s).")
    rows = pd.Series(raw.index.to_numpy() + 2, index=raw.index)  # spreadsheet numbering

    blank = _blank_table(values)
    unnamed_cols = [c for c in values.columns if not c or c.lower().startswith("unnamed:")]
    padding = [c for c in unnamed_cols if blank[c].all()]  # trailing separators, empty cells
    if padding:
        values, blank = values.drop(columns=padding), blank.drop(columns=padding)
        notes.append(f"Ignored {len(padding)} empty column(s) without a header.")
    unnamed = [i + 2 for i, c in enumerate(values.columns) if c in unnamed_cols]
    empty_cols = [c for c in values.columns if blank[c].all()]
    if empty_cols:
        raise FileValidationError(
            f"Column(s) {_listing(empty_cols)} hold no {noun}s at all. Delete them or fill them "
            "in.",
            "empty_columns",
            columns=empty_cols,
        )
    if unnamed:
        raise FileValidationError(
            f"Column(s) number {_listing(unnamed)} have {noun}s but no ticker in the header "
            f"row. Put the ticker in row 1 of each {noun} column.",
            "unnamed_columns",
        )

    dates, date_notes = _parse_dates(raw[date_col], rows)
    notes += date_notes
    dup = dates.duplicated(keep=False)
    if dup.any():
        groups = (
            pd.Series(rows.to_numpy()[dup], index=dates[dup]).groupby(level=0).agg(list).items()
        )
        described = [f"{_date(d)} (rows {', '.join(map(str, r))})" for d, r in groups]
        raise FileValidationError(
            f"{int(dates[dup].nunique())} date(s) appear more than once: {_listing(described)}. "
            "Keep one row per date.",
            "duplicate_dates",
            rows=[int(r) for r in rows[dup]],
        )

    numeric = _float_table(values) if _all_numeric(values) else values.apply(
        lambda s: s if pd.api.types.is_float_dtype(s) else pd.to_numeric(s, errors="coerce")
    ).astype(float)
    _reject_cells(
        numeric.isna() & ~blank,
        rows,
        lambda c, i: f"{c} row {rows[i]}: {str(values.at[i, c])!r}",
        "non_numeric",
        "{n} cell(s) are not numbers ({cells}) in column(s) {cols}. Use plain numbers with a "
        "decimal point and no currency signs or thousands separators; leave missing "
        + noun + "s empty.",
    )
    _reject_cells(
        numeric.notna() & ~np.isfinite(numeric),
        rows,
        lambda c, i: f"{c} row {rows[i]}: {str(values.at[i, c])!r}",
        "non_finite",
        "{n} " + noun + "(s) are not finite numbers ({cells}) in column(s) {cols}: infinity, "
        "or too large for a number (above 1e308). Correct those cells, or leave them empty if "
        "the " + noun + " is unknown.",
    )
    if volume:
        _reject_cells(
            numeric < 0,
            rows,
            lambda c, i: f"{c} row {rows[i]}: {numeric.at[i, c]:g}",
            "non_positive",
            "{n} volume(s) are negative ({cells}) in column(s) {cols}. A volume is a number of "
            "shares traded, zero or more: check those rows, or leave them empty if unknown.",
        )
        numeric.index = dates
        numeric.index.name = "Date"
        numeric = numeric.sort_index()
        return numeric, None, numeric.isna(), notes, sectors
    _reject_cells(
        numeric <= 0,
        rows,
        lambda c, i: f"{c} row {rows[i]}: {numeric.at[i, c]:g}",
        "non_positive",
        "{n} price(s) are zero or negative ({cells}) in column(s) {cols}. Prices must be above "
        "zero: check those rows, or leave them empty if the price is unknown.",
    )

    numeric.index = dates
    numeric.index.name = "Date"
    if not numeric.index.is_monotonic_increasing:
        numeric = numeric.sort_index()
        notes.append("Dates were not in ascending order; they have been sorted.")
    bench = None
    if benchmark is not None:
        if benchmark not in numeric.columns:
            raise DataError(f"No column '{benchmark}' to use as the benchmark.")
        bench = numeric.pop(benchmark)
        if numeric.shape[1] == 0:
            raise FileValidationError(
                "Only the benchmark column has prices; the file needs at least one asset.",
                "no_prices",
            )
    prices, filled, more = _finish(numeric, alignment)
    notes += more
    if bench is not None:
        bench = bench.reindex(prices.index).ffill()
    return prices, bench, filled, notes, sectors


def _finish(numeric: pd.DataFrame, alignment: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Align histories, fill gaps, check the length: the last step of every source."""
    prices, notes = _align(numeric, alignment)
    prices, filled, fill_notes = _fill_gaps(prices)
    notes += fill_notes
    if len(prices) < MIN_OBSERVATIONS:
        where = "" if alignment == "strict" else " after alignment"
        raise FileValidationError(
            f"The prices hold {len(prices)} observation(s){where}; at least "
            f"{MIN_OBSERVATIONS} dates are needed to estimate returns and risk (about three "
            "months of daily prices). Add more history.",
            "too_few_observations",
        )
    spacing = pd.Series(prices.index).diff().median()
    if spacing > pd.Timedelta(days=4):
        notes.append(
            f"Prices are about {spacing.days} days apart; annualised figures assume daily prices "
            "(252 a year)."
        )
    return prices, filled, notes


def _align(prices: pd.DataFrame, alignment: str) -> tuple[pd.DataFrame, list[str]]:
    """Make every asset cover the same dates, as ``alignment`` says."""
    prices = prices.dropna(how="all")
    starts, ends = _first_last(prices)
    if starts.nunique() <= 1 and ends.nunique() <= 1:
        return prices, []
    if alignment == "strict":
        late = starts[starts > starts.min()].sort_values(ascending=False)
        early = ends[ends < ends.max()].sort_values()
        parts = [f"{t} from {_date(d)}" for t, d in late.items()]
        parts += [f"{t} until {_date(d)}" for t, d in early.items()]
        err = StartDatesDifferError("", starts, ends, prices.index)
        if err.common_start <= err.common_end:
            common = (
                f"the common window {_date(err.common_start)} to {_date(err.common_end)} "
                f"({err.common_observations} observations, every asset)"
            )
        else:
            common = "a common window (there is none: some histories do not overlap)"
        message = (
            f"The assets' price histories do not cover the same dates: most start on "
            f"{_date(starts.min())} and end on {_date(ends.max())}, but {_listing(parts, 8)}. "
            f"Choose {common}, or drop the short ones ({_listing(err.dropped, 8)})."
        )
        err.args = (message,)
        raise err
    if alignment == "common":
        lo, hi = starts.max(), ends.min()
        if lo > hi:
            raise FileValidationError(
                "The assets' histories do not overlap, so there is no common window. Drop the "
                "short ones instead, or load fewer assets.",
                "start_dates",
            )
        out = prices.loc[lo:hi]
        return out, [f"Cut to the common window {_date(lo)} to {_date(hi)} ({len(out)} dates)."]
    dropped = _short_assets(starts, ends)
    kept = [c for c in prices.columns if c not in dropped]
    out = prices[kept].loc[starts[kept].max() : ends[kept].min()].dropna(how="all")
    return out, [f"Dropped the assets with a shorter history: {_listing(dropped, 20)}."]


def _fill_gaps(prices: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Fill missing prices inside each asset's history with the previous close."""
    missing = prices.isna()
    notes = []
    if missing.any().any():
        # A missing close means no trade (holiday on one exchange): carry the last price over,
        # which gives a zero return on that date rather than dropping the date for every asset.
        prices = prices.ffill().bfill()
        counts = missing.sum()
        counts = counts[counts > 0]
        notes.append(
            "Filled missing prices with the previous close: "
            + _listing([f"{t} ({n})" for t, n in counts.items()], 20)
            + "."
        )
    return prices.astype(float), missing, notes


def _upload_data(
    raw: pd.DataFrame,
    name: str,
    alignment: str,
    benchmark: str | None,
    sectors: dict[str, str] | None,
    date_column: str | None = None,
    notes: list[str] | None = None,
) -> PriceData:
    prices, bench, filled, more, row_sectors = _validate_table(
        raw, alignment=alignment, benchmark=benchmark, date_column=date_column
    )
    known = {**row_sectors, **{str(k): str(v) for k, v in (sectors or {}).items() if v}}
    return PriceData(
        prices=prices,
        benchmark=bench,
        sectors=pd.Series(known, dtype=object).reindex(prices.columns).fillna("Unknown"),
        source="upload",
        description=f"Uploaded file {name}" if name else "Uploaded prices",
        currency=None,
        notes=tuple((notes or []) + more),
        filled=filled if filled.any().any() else None,
        warnings=tuple(_jump_warnings(prices)),
    )


def _jump_warnings(prices: pd.DataFrame) -> list[str]:
    """One line per asset whose price moves by more than :data:`JUMP_FACTOR` in one step."""
    values = prices.to_numpy(dtype=float)
    ratio = np.full(values.shape, 1.0)
    ratio[1:] = values[1:] / values[:-1]
    flagged = (ratio > JUMP_FACTOR) | (ratio < 1 / JUMP_FACTOR)
    jumps = pd.DataFrame(flagged, index=prices.index, columns=prices.columns)
    out = []
    for t in prices.columns[flagged.any(axis=0)]:
        days = prices.index[jumps[t].to_numpy()]
        first = days[0]
        before = prices[t].shift(1).loc[first]
        out.append(
            f"{t}: the price moves from {before:,.6g} to {prices[t].loc[first]:,.6g} "
            f"(x{prices[t].loc[first] / before:,.4g}) on {_date(first)}"
            + (f", and {len(days) - 1} more such day(s)" if len(days) > 1 else "")
            + ". A split the prices are not adjusted for, or a bad tick? Check the source: "
            "returns and risk include this move."
        )
    return out


def window_warnings(prices: pd.DataFrame) -> list[str]:
    """Warnings about a window of prices that estimates can be built from but should not be.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        The window's prices.

    Returns
    -------
    list of str
        Empty, or a warning that the sample covariance is singular when there are no more
        returns (``n_observations - 1``) than assets: its rank is at most ``n_observations - 2``,
        so minimum-variance weights and Sharpe ratios computed from it are meaningless.

    References
    ----------
    Ledoit, O. and Wolf, M. (2004), "A well-conditioned estimator for large-dimensional
    covariance matrices", Journal of Multivariate Analysis 88(2).
    """
    n_obs, n_assets = prices.shape
    if n_assets >= n_obs - 1:
        return [
            f"The window holds {n_obs} observations ({n_obs - 1} returns) for {n_assets} assets: "
            "with no more returns than assets the sample covariance is singular (optimised "
            "weights and Sharpe ratios from it would be meaningless), so the sample, "
            "exponentially weighted and semi-covariances are replaced by Ledoit-Wolf shrinkage. "
            "Widen the window or choose fewer assets to use them."
        ]
    return []


def load_csv(
    path_or_buffer: str | os.PathLike[str] | IO[Any],
    *,
    alignment: str = "strict",
    benchmark: str | None = None,
    sectors: dict[str, str] | None = None,
    date_column: str | None = None,
    name: str | None = None,
) -> PriceData:
    """Load a wide CSV of prices: a date column and one column of adjusted closes per ticker.

    The separator (comma, semicolon, tab) is detected. Empty cells and the usual markers
    (``NA``, ``#N/A``, ``null``) are missing prices; missing prices inside an asset's history
    are filled with the previous close (see ``PriceData.filled`` and ``notes``). A first data
    row whose date cell reads ``Sector`` gives the sectors. The header and the number of lines
    are checked against :data:`MAX_ASSETS`, :data:`MAX_ROWS` and :data:`MAX_CELLS` before the
    file is parsed.

    Parameters
    ----------
    path_or_buffer : path or file-like
        The CSV file (text or bytes).
    alignment : {"strict", "common", "drop"}
        What to do when assets start or end on different dates (see :data:`ALIGNMENTS`).
    benchmark : str, optional
        Column to use as the benchmark rather than as an asset.
    sectors : dict, optional
        Ticker -> sector (over the file's sector row); the others get ``"Unknown"``.
    date_column : str, optional
        The date column; by default the one named ``Date`` or the first.
    name : str, optional
        File name for the description (taken from a path when omitted).

    Returns
    -------
    PriceData
        ``source="upload"``, currency unknown (None); one-day jumps by more than
        :data:`JUMP_FACTOR` in ``warnings``.

    Raises
    ------
    FileValidationError
        For each kind of bad file (not text, too large, duplicate column names, unparseable,
        mixed-format, out-of-range or duplicate dates, plain years as dates, empty columns,
        non-numeric, infinite, zero or negative prices, fewer than :data:`MIN_OBSERVATIONS`
        rows), naming the rows and columns.
    StartDatesDifferError
        If ``alignment="strict"`` and the assets' histories start or end on different dates.

    References
    ----------
    pandas.read_csv; Python's csv module (the header).
    """
    if name is None and isinstance(path_or_buffer, str | os.PathLike):
        name = Path(path_or_buffer).name
    raw = _raw_csv(path_or_buffer, name or "the file", date_column)
    return _upload_data(raw, name or "", alignment, benchmark, sectors, date_column)


def _raw_csv(
    path_or_buffer: str | os.PathLike[str] | IO[Any], label: str, date_column: str | None
) -> pd.DataFrame:
    """The cells of a wide CSV, after the checks that need no parsing (size, header)."""
    text = _read_text(path_or_buffer, label)
    sep = _delimiter(text)
    lines = [line for line in text.lstrip().split("\n", 1)[:1]]
    header = next(csv.reader(lines, delimiter=sep), [])
    _check_size(max(text.count("\n") - 1, 0), max(len(header) - 1, 0), f"{label}")
    _check_header([h.strip() for h in header])
    try:
        # Numbers parse natively; a column with any non-numeric cell stays text and is
        # reported cell by cell by validate_prices.
        raw = pd.read_csv(io.StringIO(text), sep=sep, skip_blank_lines=True)
        date_col = date_column or _date_column(raw)
        if date_col in raw.columns:
            raw[date_col] = raw[date_col].astype(object)
    except pd.errors.EmptyDataError as e:
        raise FileValidationError(
            f"{label} is empty. Save the prices with a header row: Date, then one ticker per "
            "column.",
            "unreadable",
        ) from e
    except (pd.errors.ParserError, ValueError, OSError) as e:
        # pandas' own wording ("C error: Expected 1 fields...") means nothing to a user
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        detail = (
            f"line {found[2]} has {found[3]} fields where the header has {found[1]}"
            if found
            else "its rows do not split into the same columns"
        )
        raise FileValidationError(
            f"Cannot read {label} as CSV: {detail}. Save it as comma-separated text with a "
            "header row: Date, then one ticker per column.",
            "unreadable",
        ) from e
    return raw


#: Leading bytes of file types a user may upload by mistake, for the message.
_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook is one: name it .xlsx)",
    b"\xd0\xcf\x11\xe0": "an old-style Office file (.xls): save it as .xlsx or CSV",
}


def _kind_of(content: bytes) -> str | None:
    """What binary content looks like (None if it may be text)."""
    for magic, kind in _MAGIC.items():
        if content.startswith(magic):
            return kind
    if b"\x00" in content[:8192]:
        return "binary data"
    return None


def _read_bytes(source: str | os.PathLike[str] | IO[Any], label: str) -> bytes | str:
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        content = source.read()
    else:
        try:
            content = Path(source).read_bytes()
        except OSError as e:
            raise FileValidationError(f"Cannot open {label} ({e.strerror}).", "unreadable") from e
    limit = MAX_FILE_MB * 1_000_000
    if len(content) > limit:
        raise FileValidationError(
            f"{label} holds {len(content) / 1e6:,.0f} MB; Ballast reads at most {MAX_FILE_MB} MB "
            "per upload.",
            "too_large",
        )
    return content


def _read_text(source: str | os.PathLike[str] | IO[Any], label: str = "the file") -> str:
    """The whole text of a path or a (text or bytes) file object; UTF-8 (BOM allowed) or Latin-1.

    Raises FileValidationError for files over :data:`MAX_FILE_MB` and for binary content.
    """
    content = _read_bytes(source, label)
    if isinstance(content, str):
        return content
    kind = _kind_of(content)
    if kind is not None:
        raise FileValidationError(
            f"{label} is not a text file: it looks like {kind}. Upload the prices as CSV text "
            "or an .xlsx workbook.",
            "unreadable",
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def _delimiter(text: str) -> str:
    """The separator the header line uses most: comma, semicolon, tab or pipe."""
    header = text.lstrip().split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _looks_like_prices(rows: list[tuple[Any, ...]]) -> bool:
    """A header with at least two names, then (after a sector row, maybe) a date and a number."""
    if len(rows) < 2 or len([c for c in rows[0] if not _blank_cell(c)]) < 2:
        return False

    def number(c: Any) -> bool:
        if isinstance(c, str):
            return re.fullmatch(r"\s*[-+.\deE]+\s*", c) is not None
        return isinstance(c, int | float) and not isinstance(c, bool)

    return any(r and not _blank_cell(r[0]) and any(map(number, r[1:])) for r in rows[1:3])


def _open_workbook(content: bytes, label: str) -> Any:
    """An openpyxl read-only workbook, after the checks that need no parsing."""
    import openpyxl

    if not content.startswith(b"PK\x03\x04"):
        kind = _kind_of(content) or "text or another format"
        raise FileValidationError(
            f"{label} is not an Excel workbook (.xlsx): it looks like {kind}. Save it as .xlsx, "
            "or upload CSV text with a .csv name.",
            "unreadable",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(i.file_size for i in archive.infolist())
            sheets = [
                n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)
            ]
    except (zipfile.BadZipFile, ValueError) as e:
        raise FileValidationError(
            f"{label} is a damaged workbook (its ZIP structure cannot be read). Save it again "
            "as .xlsx.",
            "unreadable",
        ) from e
    if expanded > MAX_FILE_MB * 1_000_000:
        raise FileValidationError(
            f"{label} expands to {expanded / 1e6:,.0f} MB of spreadsheet XML; Ballast reads at "
            f"most {MAX_FILE_MB} MB (about {MAX_CELLS:,} cells). Keep only the prices you need.",
            "too_large",
        )
    # Count every sheet's cells in its XML before openpyxl opens it: a sheet's recorded
    # dimension may be missing (openpyxl then reads the whole sheet to find it) or wrong.
    for member in sheets:
        cells = _count_cells(content, member)
        if cells > MAX_CELLS + MAX_ROWS + MAX_ASSETS + 1:  # prices, dates and the header
            raise FileValidationError(
                f"{label} holds a sheet of {cells:,} cells ({member.rsplit('/', 1)[-1]}); "
                f"Ballast takes at most {MAX_CELLS:,} prices. Shorten the history or load "
                "fewer assets.",
                "too_large",
            )
    try:
        return openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a file that is not a workbook
        raise FileValidationError(
            f"Cannot read {label} as an Excel workbook ({type(e).__name__}). Save it as .xlsx "
            "with a header row: Date, then one ticker per column.",
            "unreadable",
        ) from e


def _first_rows(sheet: Any) -> list[tuple[Any, ...]]:
    """The first three rows of a read-only sheet.

    ``max_col`` is given: without it openpyxl asks for the sheet's width, and a sheet without
    a recorded dimension is then read whole.
    """
    return list(sheet.iter_rows(max_row=3, max_col=MAX_ASSETS + 2, values_only=True))


def _count_cells(content: bytes, member: str) -> int:
    """Cells (``<c>`` elements) in a worksheet's XML, streamed: no cell is parsed."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive, archive.open(member) as xml:
            count, tail = 0, b""
            while chunk := xml.read(1 << 20):
                data = tail + chunk
                count += data.count(b"<c ") + data.count(b"<c>")
                tail = data[-2:]  # shorter than a token: nothing is counted twice
            return count
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return 0  # unreadable member: openpyxl's own error names the file below


def excel_sheets(path_or_buffer: str | os.PathLike[str] | IO[Any]) -> list[str]:
    """The sheet names of a workbook, in order.

    Parameters
    ----------
    path_or_buffer : path or file-like
        The workbook (``.xlsx``).

    Returns
    -------
    list of str

    Raises
    ------
    FileValidationError
        If it is not a readable workbook, or expands beyond :data:`MAX_FILE_MB`.
    """
    content = _read_bytes(path_or_buffer, "the workbook")
    book = _open_workbook(content.encode() if isinstance(content, str) else content, "the file")
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def load_excel(
    path_or_buffer: str | os.PathLike[str] | IO[Any],
    *,
    sheet_name: str | int | None = None,
    alignment: str = "strict",
    benchmark: str | None = None,
    sectors: dict[str, str] | None = None,
    date_column: str | None = None,
    name: str | None = None,
) -> PriceData:
    """Load a wide Excel sheet of prices (``.xlsx``): a date column and one column per ticker.

    The workbook's expanded size (:data:`MAX_FILE_MB`) and the number of cells in each sheet's
    XML (counted, not parsed, against :data:`MAX_CELLS`) are checked before any cell is parsed;
    openpyxl in read-only mode then lists the sheets, and the sheet is read with calamine and
    checked against :data:`MAX_ASSETS`, :data:`MAX_ROWS` and :data:`MAX_CELLS`.

    Parameters
    ----------
    path_or_buffer : path or file-like
        The workbook.
    sheet_name : str or int, optional
        The sheet to read; by default the first sheet that looks like prices (a header row,
        then a date and a number), named in ``notes`` when it is not the first.
    alignment, benchmark, sectors, date_column, name
        As in :func:`load_csv`.

    Returns
    -------
    PriceData
        ``source="upload"``.

    Raises
    ------
    FileValidationError, StartDatesDifferError
        As :func:`load_csv`; also when no sheet looks like prices (the message names the
        sheets) or ``sheet_name`` is not in the workbook.

    References
    ----------
    openpyxl (read-only mode); pandas.read_excel with python-calamine.
    """
    if name is None and isinstance(path_or_buffer, str | os.PathLike):
        name = Path(path_or_buffer).name
    raw, notes = _raw_excel(path_or_buffer, name or "the file", sheet_name)
    return _upload_data(raw, name or "", alignment, benchmark, sectors, date_column, notes)


def _raw_excel(
    path_or_buffer: str | os.PathLike[str] | IO[Any], label: str, sheet_name: str | int | None
) -> tuple[pd.DataFrame, list[str]]:
    """The cells of a workbook's sheet (header applied) and notes, after the bound checks."""
    content = _read_bytes(path_or_buffer, label)
    content = content.encode() if isinstance(content, str) else content
    book = _open_workbook(content, label)
    notes: list[str] = []
    try:
        names = list(book.sheetnames)
        listed = ", ".join(f"'{n}'" for n in names)
        if sheet_name is None:
            chosen = next(
                (
                    n
                    for n in names
                    if _looks_like_prices(_first_rows(book[n]))
                ),
                None,
            )
            if chosen is None:
                raise FileValidationError(
                    f"None of the sheets of {label} ({listed}) looks like prices: a header row "
                    "(Date, then one ticker per column), then one row per date.",
                    "no_prices",
                )
            if chosen != names[0]:
                notes.append(
                    f"Read the sheet '{chosen}', the first that holds prices (sheets: {listed})."
                )
        elif isinstance(sheet_name, int):
            if not 0 <= sheet_name < len(names):
                raise FileValidationError(
                    f"{label} has {len(names)} sheet(s) ({listed}); there is no sheet "
                    f"number {sheet_name + 1}.",
                    "no_prices",
                )
            chosen = names[sheet_name]
        else:
            if sheet_name not in names:
                raise FileValidationError(
                    f"{label} has no sheet '{sheet_name}'; its sheets are {listed}.", "no_prices"
                )
            chosen = sheet_name
    finally:
        book.close()
    try:
        raw = pd.read_excel(
            io.BytesIO(content), sheet_name=chosen, dtype=object, header=None, engine="calamine"
        )
    except Exception as e:  # calamine raises its own error types for broken sheets
        raise FileValidationError(
            f"Cannot read the sheet '{chosen}' of {label} ({type(e).__name__}). Save it again "
            "as .xlsx with a header row: Date, then one ticker per column.",
            "unreadable",
        ) from e
    if raw.empty:
        raise FileValidationError(f"The sheet '{chosen}' of {label} is empty.", "no_prices")
    header = [
        f"Unnamed: {i}" if _blank_cell(c) else str(c).strip() for i, c in enumerate(raw.iloc[0])
    ]
    _check_header(header)
    raw = raw.iloc[1:].set_axis(header, axis=1).reset_index(drop=True)
    return raw, notes


def load_upload(
    file: str | os.PathLike[str] | IO[Any],
    filename: str,
    *,
    alignment: str = "strict",
    benchmark: str | None = None,
    sectors: dict[str, str] | None = None,
    sheet_name: str | None = None,
) -> PriceData:
    """Load an uploaded CSV or Excel file, chosen by its content (a workbook is a ZIP archive).

    Parameters
    ----------
    file : path or file-like
        The uploaded file (e.g. Streamlit's ``UploadedFile``).
    filename : str
        Its name, for the messages.
    alignment, benchmark, sectors
        As in :func:`load_csv`.
    sheet_name : str, optional
        For a workbook: the sheet to read (see :func:`load_excel`).

    Returns
    -------
    PriceData

    Raises
    ------
    FileValidationError, StartDatesDifferError
        As :func:`load_csv` and :func:`load_excel`.
    """
    kwargs = dict(alignment=alignment, benchmark=benchmark, sectors=sectors, name=filename)
    content = _read_bytes(file, filename or "the file")
    head = content[:4] if isinstance(content, bytes) else b""
    if head == b"PK\x03\x04" or Path(filename).suffix.lower() in {".xlsx", ".xlsm"}:
        return load_excel(
            io.BytesIO(head and content or content.encode()), sheet_name=sheet_name, **kwargs
        )
    return load_csv(io.BytesIO(content) if isinstance(content, bytes) else io.StringIO(content),
                    **kwargs)  # fmt: skip


def load_volume(
    file: str | os.PathLike[str] | IO[Any],
    filename: str = "",
    *,
    sheet_name: str | int | None = None,
) -> pd.DataFrame:
    """Load an uploaded file of daily volumes: the layout of a price upload, shares per cell.

    A CSV or an ``.xlsx`` workbook (chosen by content, as :func:`load_upload`): a date column
    and one column per ticker, one row per date, each cell the number of shares traded that day.
    The same bounds and checks as a price upload apply before and while parsing
    (:data:`MAX_FILE_MB`, :data:`MAX_ASSETS`, :data:`MAX_ROWS`, :data:`MAX_CELLS`, duplicate
    columns and dates, unreadable dates, non-numeric and non-finite cells), except that a
    volume of zero is allowed (no trade that day). Empty cells are unknown volumes (NaN), not
    zero; nothing is filled in.

    Parameters
    ----------
    file : path or file-like
        The uploaded file.
    filename : str
        Its name, for the messages.
    sheet_name : str or int, optional
        For a workbook: the sheet (default: the first that looks like a table of numbers).

    Returns
    -------
    DataFrame (n_dates, n_tickers)
        Shares traded per day, float, on a sorted naive DatetimeIndex named ``Date``.

    Raises
    ------
    FileValidationError
        For each kind of bad file, naming the rows and columns (negative volumes included).

    See Also
    --------
    average_daily_volume : the ADV of the liquidity limits from this table.
    """
    label = filename or "the volume file"
    content = _read_bytes(file, label)
    head = content[:4] if isinstance(content, bytes) else b""
    notes: list[str] = []
    if head == b"PK\x03\x04" or Path(filename).suffix.lower() in {".xlsx", ".xlsm"}:
        raw, notes = _raw_excel(io.BytesIO(head and content or content.encode()), label,
                                sheet_name)  # fmt: skip
    else:
        buffer = io.BytesIO(content) if isinstance(content, bytes) else io.StringIO(content)
        raw = _raw_csv(buffer, label, None)
    volume, _, _, _, _ = _validate_table(raw, volume=True)
    return volume


def average_daily_volume(
    volume: pd.DataFrame, window: int = ADV_WINDOW, end: pd.Timestamp | str | None = None
) -> pd.Series:
    r"""Average daily volume (ADV) per asset over the last ``window`` trading days.

    .. math:: \mathrm{ADV}_i = \frac{1}{|D_i|} \sum_{t \in D_i} V_{i,t}

    where the dates are the last ``window`` rows of the table up to ``end`` and ``D_i`` those
    among them with a volume for asset ``i`` (an empty cell is unknown, not zero; a zero is a
    day without trades and counts).

    Parameters
    ----------
    volume : DataFrame (n_dates, n_assets)
        Daily volume in shares (``PriceData.volume``, :func:`load_volume`).
    window : int
        Trading days (rows) to average over; default :data:`ADV_WINDOW` (20, about a month).
    end : Timestamp or str, optional
        Last date to use; default the table's last date.

    Returns
    -------
    Series (n_assets,)
        Shares per day, named ``"adv"``; NaN for an asset without any volume in the window.

    Raises
    ------
    DataError
        If ``window`` is not a whole number of at least 1.

    References
    ----------
    Kissell, R. (2013), "The Science of Algorithmic Trading and Portfolio Management", ch. 2
    (average daily volume, participation of volume).
    """
    if isinstance(window, bool) or not float(window).is_integer() or int(window) < 1:
        raise DataError(f"The ADV window is a whole number of trading days (1 or more), not "
                        f"{window!r}.")  # fmt: skip
    table = volume.sort_index()
    if end is not None:
        table = table.loc[: pd.Timestamp(end)]
    return table.iloc[-int(window):].astype(float).mean(skipna=True).rename("adv")


def load_sectors(file: str | os.PathLike[str] | IO[Any], filename: str = "") -> dict[str, str]:
    """Read a sectors file: two columns, ticker and sector (a header row is optional).

    Parameters
    ----------
    file : path or file-like
        CSV text (comma, semicolon or tab) or an ``.xlsx`` workbook (its first sheet).
    filename : str
        Its name, for the messages.

    Returns
    -------
    dict
        Ticker -> sector (blank sectors left out).

    Raises
    ------
    FileValidationError
        If the file is not readable, has more than ``10 x MAX_ASSETS`` rows, fewer than two
        columns, or gives one ticker two different sectors.
    """
    label = filename or "the sectors file"
    content = _read_bytes(file, label)
    try:
        if isinstance(content, bytes) and content.startswith(b"PK\x03\x04"):
            _open_workbook(content, label).close()
            table = pd.read_excel(io.BytesIO(content), header=None, dtype=str, engine="calamine")
        else:
            text = content if isinstance(content, str) else _read_text(io.BytesIO(content), label)
            table = pd.read_csv(io.StringIO(text), sep=_delimiter(text), header=None, dtype=str)
    except FileValidationError:
        raise
    except Exception as e:
        raise FileValidationError(
            f"Cannot read {label}: use two columns, ticker and sector, one ticker per row.",
            "unreadable",
        ) from e
    if table.shape[1] < 2:
        raise FileValidationError(
            f"{label} needs two columns, ticker and sector; it has {table.shape[1]}.", "no_prices"
        )
    if len(table) > 10 * MAX_ASSETS:
        raise FileValidationError(
            f"{label} has {len(table):,} rows; at most {10 * MAX_ASSETS:,} tickers.", "too_large"
        )
    pairs = table.iloc[:, :2].fillna("").map(lambda v: str(v).strip())
    first = tuple(pairs.iloc[0].str.lower())
    if first[0] in {"ticker", "tickers", "symbol", "asset"} or first[1] in _SECTOR_LABELS:
        pairs = pairs.iloc[1:]
    out: dict[str, str] = {}
    clashes = []
    for t, s in pairs.itertuples(index=False):
        if not t or not s:
            continue
        if t in out and out[t] != s:
            clashes.append(f"{t} ({out[t]} / {s})")
        out[t] = s
    if clashes:
        raise FileValidationError(
            f"{label} gives {len(clashes)} ticker(s) two sectors: {_listing(clashes)}. Keep one "
            "row per ticker.",
            "duplicate_columns",
        )
    return out


# --------------------------------------------------------------------------------------------
# Yahoo Finance, with an SQLite cache
# --------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (ticker TEXT PRIMARY KEY, dates BLOB, closes BLOB,
                                   volumes BLOB);
CREATE TABLE IF NOT EXISTS coverage (ticker TEXT PRIMARY KEY, start TEXT, end TEXT, fetched TEXT);
CREATE TABLE IF NOT EXISTS info (ticker TEXT PRIMARY KEY, sector TEXT, currency TEXT,
                                 market_cap REAL, name TEXT, fetched TEXT);
"""


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The folder of Ballast's on-disk cache (created if needed).

    Parameters
    ----------
    path : path, optional
        Use this folder; else ``$BALLAST_CACHE_DIR``; else ``~/.cache/ballast``.

    Returns
    -------
    pathlib.Path
    """
    chosen = path or os.environ.get("BALLAST_CACHE_DIR") or Path.home() / ".cache" / "ballast"
    folder = Path(chosen).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _resolve_cache_dir(path: str | os.PathLike[str] | None) -> Path:
    return cache_dir(path)


@contextmanager
def _cache(folder: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(folder / "yahoo.sqlite", timeout=30)) as con:
        con.executescript(_SCHEMA)
        columns = {row[1] for row in con.execute("PRAGMA table_info(series)")}
        if "volumes" not in columns:  # a cache written before volumes were kept
            con.execute("ALTER TABLE series ADD COLUMN volumes BLOB")
        with con:  # one transaction, committed on success
            yield con


def _today() -> dt.date:
    return dt.date.today()


def _covered(con: sqlite3.Connection, ticker: str, start: dt.date, end: dt.date) -> bool:
    row = con.execute(
        "SELECT start, end, fetched FROM coverage WHERE ticker = ?", (ticker,)
    ).fetchone()
    if row is None:
        return False
    c_start, c_end, fetched = (dt.date.fromisoformat(v) for v in row)
    needed_end = min(end, _today())
    return c_start <= start and c_end >= needed_end and fetched >= needed_end


def _read_cached(
    con: sqlite3.Connection,
    tickers: list[str],
    start: dt.date,
    end: dt.date,
    what: str = "closes",
) -> pd.DataFrame:
    """Cached closes (or ``what="volumes"``) of ``tickers`` between ``start`` and ``end``.

    Tickers not cached (or cached without volumes) are left out.
    """
    columns = {}
    lo, hi = np.datetime64(start, "ns"), np.datetime64(end, "ns")
    column = {"closes": "closes", "volumes": "volumes"}[what]
    for t in tickers:
        row = con.execute(f"SELECT dates, {column} FROM series WHERE ticker = ?", (t,)).fetchone()
        if row is None or row[1] is None:
            continue
        # Stored as raw int64 nanoseconds and float64: reading is a memory copy, not a parse.
        dates = np.frombuffer(row[0], dtype="<i8").astype("datetime64[ns]")
        keep = (dates >= lo) & (dates <= hi)
        columns[t] = pd.Series(np.frombuffer(row[1], dtype="<f8")[keep], index=dates[keep])
    if not columns:
        return pd.DataFrame(columns=tickers, dtype=float)
    wide = pd.DataFrame(columns).sort_index()
    wide.index = pd.DatetimeIndex(wide.index).as_unit("ns")
    wide.index.name = "Date"
    return wide


def _store(
    con: sqlite3.Connection,
    closes: pd.Series,
    ticker: str,
    start: dt.date,
    end: dt.date,
    volumes: pd.Series | None = None,
) -> None:
    closes = closes.dropna().astype(float)
    dates = pd.DatetimeIndex(closes.index).as_unit("ns").asi8.astype("<i8")
    vol = None
    if volumes is not None:  # on the closes' dates, NaN where Yahoo sent none
        vol = volumes.reindex(closes.index).to_numpy(dtype="<f8").tobytes()
    con.execute(
        "INSERT OR REPLACE INTO series (ticker, dates, closes, volumes) VALUES (?, ?, ?, ?)",
        (ticker, dates.tobytes(), closes.to_numpy(dtype="<f8").tobytes(), vol),
    )
    con.execute(
        "INSERT OR REPLACE INTO coverage VALUES (?, ?, ?, ?)",
        (ticker, start.isoformat(), end.isoformat(), _today().isoformat()),
    )


def cached_tickers(folder: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """What the Yahoo cache holds: one row per ticker.

    Parameters
    ----------
    folder : path, optional
        The cache folder (see :func:`cache_dir`).

    Returns
    -------
    DataFrame
        Index ticker; columns ``start``, ``end`` (the requested window that was downloaded),
        ``fetched`` (date of the download), ``sector``.
    """
    with _cache(cache_dir(folder)) as con:
        frame = pd.read_sql_query(
            "SELECT c.ticker, c.start, c.end, c.fetched, i.sector FROM coverage c "
            "LEFT JOIN info i ON c.ticker = i.ticker ORDER BY c.ticker",
            con,
        )
    return frame.set_index("ticker")


@contextmanager
def _yf_raising() -> Iterator[None]:
    """Let yfinance raise instead of logging (its default hides exceptions)."""
    import yfinance as yf

    before = yf.config.debug.hide_exceptions
    yf.config.debug.hide_exceptions = False
    try:
        yield
    finally:
        yf.config.debug.hide_exceptions = before


class _DeadlinePassed(Exception):
    """The overall Yahoo deadline passed before a call answered."""


class _Deadline:
    """An overall time budget for several network calls, each run in a daemon worker thread.

    A thread cannot be killed: one that hangs is left behind (it holds no lock and writes
    nothing the caller reads), and the caller goes on as soon as the budget is spent.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._end = time.monotonic() + self.seconds

    def left(self) -> float:
        return max(self._end - time.monotonic(), 0.0)

    def timeout(self) -> float:
        """Timeout for one request inside the budget (yfinance's own default is 10 s)."""
        return max(min(10.0, self.left()), 0.1)

    def run(self, fn: Callable[[], Any]) -> Any:
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = fn()
            except BaseException as e:  # handed to the caller's thread
                box["error"] = e
            finally:
                done.set()

        threading.Thread(target=work, name="ballast-yahoo", daemon=True).start()
        if not done.wait(self.left()):
            raise _DeadlinePassed
        if "error" in box:
            raise box["error"]
        return box["value"]


def _unreachable_reason(probe: str, timeout: float = 10.0) -> str | None:
    """Why nothing came back: None if ``probe`` is simply unknown to Yahoo, else the reason."""
    import yfinance as yf
    from yfinance.exceptions import YFRateLimitError, YFTickerMissingError

    try:
        with _yf_raising():
            yf.Ticker(probe).history(period="5d", auto_adjust=True, timeout=timeout)
    except YFRateLimitError:
        return "Yahoo Finance is limiting the number of requests (HTTP 429); try again in a minute"
    except YFTickerMissingError:
        return None
    except OSError as e:  # curl_cffi / requests connection errors are OSError subclasses
        return f"Yahoo Finance cannot be reached ({type(e).__name__}: no network connection)"
    except Exception as e:  # yfinance's own failures on a bad answer
        return f"Yahoo Finance did not answer properly ({type(e).__name__}: {e})"
    return "Yahoo Finance returned no prices this time; try again"


def _download(
    tickers: list[str], start: dt.date, end: dt.date, timeout: float = 10.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Adjusted closes and volumes from ``yf.download``: two DataFrames (dates, tickers).

    NaN columns for unknown tickers; the volumes are NaN where Yahoo sent none.
    """
    import yfinance as yf

    frame = yf.download(
        tickers,
        start=start.isoformat(),
        end=(end + dt.timedelta(days=1)).isoformat(),  # yfinance's end is exclusive
        auto_adjust=True,
        progress=False,
        threads=True,
        multi_level_index=True,
        timeout=timeout,
    )
    if frame is None or frame.empty or "Close" not in frame.columns.get_level_values(0):
        empty = pd.DataFrame(index=pd.DatetimeIndex([]), columns=tickers, dtype=float)
        return empty, empty.copy()
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    index = index.normalize().as_unit("ns")
    closes = frame["Close"].set_axis(index, axis=0)
    if "Volume" in frame.columns.get_level_values(0):
        volumes = frame["Volume"].set_axis(index, axis=0)
    else:
        volumes = pd.DataFrame(index=index, columns=tickers, dtype=float)
    return (closes.reindex(columns=tickers).astype(float),
            volumes.reindex(columns=tickers).astype(float))  # fmt: skip


def _fetch_info(ticker: str) -> dict[str, Any] | None:
    """Sector, currency, market cap and name from ``Ticker.info``; None if it did not answer."""
    import yfinance as yf

    try:
        info = yf.Ticker(ticker).info or {}
    except Exception:  # offline: OSError subclasses; odd answers: anything
        return None
    if not info:
        return None
    cap = info.get("marketCap")
    return {
        "sector": info.get("sector"),
        "currency": info.get("currency"),
        "market_cap": float(cap) / 1e9 if isinstance(cap, int | float) and cap > 0 else None,
        "name": info.get("longName") or info.get("shortName"),
    }


def _normalise_tickers(tickers: list[str] | str) -> list[str]:
    if isinstance(tickers, str):
        tickers = tickers.replace(",", " ").split()
    cleaned = (str(t).strip().upper() for t in tickers)
    return list(dict.fromkeys(t for t in cleaned if t))  # first occurrence, in order


def load_yahoo(
    tickers: list[str] | str,
    start: dt.date | str | pd.Timestamp,
    end: dt.date | str | pd.Timestamp,
    *,
    benchmark: str | None = DEFAULT_BENCHMARK,
    alignment: str = "strict",
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool = False,
    fetch_info: bool = True,
    deadline: float | None = None,
) -> PriceData:
    """Daily adjusted closes from Yahoo Finance (yfinance), cached on disk.

    Tickers whose cached window covers ``[start, end]`` (and was downloaded after ``end`` or
    today) come from the cache without any network access; the others are downloaded with
    ``yf.download(auto_adjust=True)`` and stored. Sectors, currency and market caps come from
    ``Ticker.info`` when it answers (cached too); otherwise the sector is ``"Unknown"``.

    Parameters
    ----------
    tickers : list of str or str
        Yahoo symbols (``"AAPL"``, ``"NESN.SW"``); a string may separate them by spaces or commas.
    start, end : date or str
        First and last dates, both included.
    benchmark : str or None
        Benchmark symbol (default ``"^GSPC"``, the S&P 500 index); None for none.
    alignment : {"strict", "common", "drop"}
        For histories of different lengths (see :data:`ALIGNMENTS`).
    cache_dir : path, optional
        Cache folder (see :func:`cache_dir`); yfinance's own caches go in a subfolder.
    offline : bool
        Use only the cache (whatever part of the window it holds); never touch the network.
    fetch_info : bool
        Ask Yahoo for sectors, currency and market caps of newly downloaded tickers.
    deadline : float, optional
        Seconds all network calls together may take (default :data:`YAHOO_DEADLINE`, 20 s);
        each runs in a worker thread with a timeout, so a hung network cannot hold the caller.
        Past it the download gives up (:class:`YahooUnavailableError`) and missing sectors
        are left unknown (a note says so).

    Returns
    -------
    PriceData
        ``source="yahoo"`` (``"cache"`` when everything came from the cache). Tickers unknown to
        Yahoo are left out, named in ``unknown_tickers`` and ``notes``. ``volume`` holds Yahoo's
        daily volume in shares (None when the cache holds none, e.g. a cache written before
        volumes were kept, read offline; online such tickers are downloaded once more).

    Raises
    ------
    DataError
        For no tickers, more than :data:`MAX_ASSETS` tickers, an unreadable date, a start
        before 1900 or after the end (an end after today means today).
    YahooUnavailableError
        Yahoo cannot be reached and the cache does not hold the data (``.cached`` lists the
        tickers the cache has, for ``offline=True``).
    UnknownTickerError
        If none of the tickers is known to Yahoo (``.tickers`` names them).
    StartDatesDifferError, FileValidationError
        As for uploads, on the downloaded prices.

    References
    ----------
    yfinance (Ran Aroussi, Apache-2.0): ``yf.download``, ``Ticker.info``.
    """
    names = _normalise_tickers(tickers)
    if not names:
        raise DataError("Type at least one Yahoo ticker, e.g. AAPL MSFT.")
    if len(names) > MAX_ASSETS:
        raise DataError(
            f"{len(names):,} tickers were asked for; Ballast loads at most {MAX_ASSETS:,} from "
            "Yahoo Finance at a time. Choose fewer."
        )
    try:
        start_d, end_d = _as_date(start), min(_as_date(end), _today())
    except DataError as e:
        raise DataError(f"The Yahoo window: {e}") from e
    if start_d < dt.date(1900, 1, 1):
        raise DataError(
            f"Yahoo Finance has no daily prices before 1900; the start {start_d} is earlier. "
            "Choose a later start."
        )
    if start_d >= end_d:
        raise DataError(f"The start date {start_d} must come before the end date {end_d}.")
    bench = benchmark.strip().upper() if benchmark and benchmark.strip() else None
    wanted = names + ([bench] if bench and bench not in names else [])
    folder = _resolve_cache_dir(cache_dir)

    with _cache(folder) as con:
        missing = [t for t in wanted if not _covered(con, t, start_d, end_d)]
        # Cached before volumes were kept: downloaded once more when online.
        no_volume = [
            t
            for t in names
            if t not in missing
            and con.execute(
                "SELECT 1 FROM series WHERE ticker = ? AND volumes IS NULL", (t,)
            ).fetchone()
        ]
        if not offline:
            missing += no_volume
        have_any = [
            t
            for t in names
            if con.execute("SELECT 1 FROM series WHERE ticker = ?", (t,)).fetchone()
        ]
    notes: list[str] = []
    unknown: list[str] = []
    downloaded: list[str] = []
    if missing and not offline:
        import yfinance as yf

        yf.set_tz_cache_location(str(folder / "yfinance"))
        with _cache(folder) as con:
            spans = {}
            for t in missing:
                row = con.execute(
                    "SELECT start, end FROM coverage WHERE ticker = ?", (t,)
                ).fetchone()
                lo, hi = (
                    (start_d, end_d)
                    if row is None
                    else (
                        min(start_d, dt.date.fromisoformat(row[0])),
                        max(end_d, dt.date.fromisoformat(row[1])),
                    )
                )
                spans[t] = (lo, hi)
        # One download for the union window keeps each ticker's cache a single interval.
        lo = min(s for s, _ in spans.values())
        hi = max(e for _, e in spans.values())
        budget = _Deadline(YAHOO_DEADLINE if deadline is None else deadline)
        late = (
            f"Yahoo Finance did not answer within {budget.seconds:g} s (the network is down, "
            "blocked or very slow)"
        )
        try:
            closes, volumes = budget.run(lambda: _download(missing, lo, hi, budget.timeout()))
        except _DeadlinePassed:
            closes = pd.DataFrame(index=pd.DatetimeIndex([]), columns=missing, dtype=float)
            volumes = closes.copy()
        empty = [t for t in missing if closes[t].notna().sum() == 0]
        needed = [t for t in missing if t not in no_volume]  # the others have cached prices
        if len(empty) == len(missing) and needed:
            try:
                reason = (
                    late
                    if budget.left() <= 0
                    else budget.run(lambda: _unreachable_reason(needed[0], budget.timeout()))
                )
            except _DeadlinePassed:
                reason = late
            if reason is not None:
                raise YahooUnavailableError(
                    f"{reason}. Prices for {_listing(needed, 10)} are not in the cache."
                    + (
                        f" The cache holds some prices for {_listing(have_any, 10)}."
                        if have_any
                        else ""
                    )
                    + " Use the cached data or the bundled sample, or try again later.",
                    cached=have_any,
                )
        unknown = [t for t in empty if t in names and t not in no_volume]
        kept = [t for t in empty if t in no_volume]
        if kept:  # the cache's prices stay in use
            notes.append(
                f"Yahoo Finance sent no new data for {_listing(kept, 10)}: their cached prices "
                "are used, without trading volumes."
            )
        if bench in empty:
            notes.append(f"Benchmark {bench} is unknown to Yahoo; no benchmark loaded.")
        downloaded = [t for t in missing if t not in empty]
        with _cache(folder) as con:
            for t in downloaded:
                _store(con, closes[t], t, lo, hi, volumes[t])
        if fetch_info and downloaded:
            try:
                todo = [t for t in downloaded if t != bench or t in names]
                budget.run(lambda: _update_info(folder, todo))
            except _DeadlinePassed:
                notes.append(
                    "Yahoo Finance did not send sectors, currency and market caps in time; "
                    "sectors are unknown (type them in the Sectors editor)."
                )
    elif offline and no_volume:
        notes.append(
            f"The cache holds no trading volumes for {_listing(no_volume, 10)} (cached by an "
            "earlier version); load them once online to get them."
        )
    if missing and offline:
        notes.append(
            "Offline: loaded what the cache holds"
            + (f"; {_listing(missing, 10)} may be incomplete or missing." if missing else ".")
        )
    if unknown and len(unknown) == len(names):
        raise UnknownTickerError(
            f"Yahoo Finance knows none of {_listing(unknown, 20)}. Check the symbols "
            "(e.g. BRK-B, NESN.SW, ^GSPC).",
            unknown,
        )
    if unknown:
        notes.append(f"Unknown to Yahoo, not loaded: {_listing(unknown, 20)}.")

    assets = [t for t in names if t not in unknown]
    with _cache(folder) as con:
        prices = _read_cached(con, assets + ([bench] if bench else []), start_d, end_d)
        traded = _read_cached(con, assets, start_d, end_d, what="volumes")
        info = pd.read_sql_query("SELECT * FROM info", con).set_index("ticker")
    if offline:
        # _read_cached names every ticker asked for when the cache holds none of them
        absent = [t for t in assets if t not in prices.columns or not prices[t].notna().any()]
        if len(absent) == len(assets):
            raise YahooUnavailableError(
                f"The cache holds no prices for {_listing(assets, 10)} between {start_d} and "
                f"{end_d}. Connect to the network, or use the bundled sample.",
            )
        if absent:
            notes.append(f"Not in the cache, left out: {_listing(absent, 20)}.")
        assets = [t for t in assets if t not in absent]
    bench_series = None
    if bench and bench in prices.columns:
        bench_series = prices[bench].rename(bench)
        if bench not in names:
            prices = prices.drop(columns=[bench])
    clean, filled, more_notes = _finish(prices[assets], alignment)
    notes += more_notes
    if bench_series is not None:
        bench_series = bench_series.reindex(clean.index).ffill().bfill()
    info = info.reindex(clean.columns)
    sectors = info["sector"].where(info["sector"].notna(), "Unknown").astype(object)
    currencies = set(info["currency"].dropna())
    caps = info["market_cap"].astype(float)
    from_cache = not downloaded
    volume = None
    if len(traded.columns) and traded.notna().any().any():
        # NaN on dates whose price was filled (no trade known) and for tickers without volume
        volume = traded.reindex(index=clean.index, columns=clean.columns).astype(float)
    return PriceData(
        prices=clean,
        benchmark=bench_series,
        sectors=sectors.rename(None),
        source="cache" if from_cache else "yahoo",
        description=(
            f"Yahoo Finance ({'from the local cache' if from_cache else 'downloaded'}), "
            f"{len(clean.columns)} tickers"
            + (f", benchmark {bench}" if bench_series is not None else "")
        ),
        currency=currencies.pop() if len(currencies) == 1 else None,
        market_caps=caps.rename(None) if caps.notna().all() else None,
        notes=tuple(notes),
        filled=filled if filled.any().any() else None,
        unknown_tickers=tuple(unknown),
        volume=volume,
    )


def _update_info(folder: Path, tickers: list[str]) -> None:
    """Fetch ``Ticker.info`` for tickers without cached info (in parallel) and store it."""
    from concurrent.futures import ThreadPoolExecutor

    with _cache(folder) as con:
        todo = [
            t
            for t in tickers
            if con.execute("SELECT 1 FROM info WHERE ticker = ?", (t,)).fetchone() is None
        ]
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
        answers = dict(zip(todo, pool.map(_fetch_info, todo), strict=True))
    with _cache(folder) as con:
        for t, answer in answers.items():
            if answer is None:  # not cached: ask again next time it is downloaded
                continue
            con.execute(
                "INSERT OR REPLACE INTO info VALUES (?, ?, ?, ?, ?, ?)",
                (
                    t,
                    answer["sector"],
                    answer["currency"],
                    answer["market_cap"],
                    answer["name"],
                    _today().isoformat(),
                ),
            )


# --------------------------------------------------------------------------------------------
# Data quality, and reloading from a descriptor
# --------------------------------------------------------------------------------------------


def data_quality(
    prices: pd.DataFrame,
    filled: pd.DataFrame | None = None,
    periods_per_year: int = 252,
) -> pd.DataFrame:
    r"""Per-asset summary of a price table.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Prices; NaN counts as missing.
    filled : DataFrame of bool, optional
        Prices that were filled in while loading (``PriceData.filled``); they count as missing.
    periods_per_year : int
        Observations per year (252 for daily prices).

    Returns
    -------
    DataFrame (n_assets, 6)
        Index: tickers. Columns ``first_date``, ``last_date`` (first and last date with a price),
        ``observations`` (prices present, filled ones excluded), ``missing_share`` (decimal share
        of the table's dates without an original price), ``annualised_return`` (arithmetic mean
        of simple returns x ``periods_per_year``, decimal) and ``annualised_volatility``
        (standard deviation of simple returns x sqrt(``periods_per_year``), decimal).

    Notes
    -----
    .. math:: \mu_{ann} = T \bar r, \qquad \sigma_{ann} = \sqrt{T}\, s_r

    The mean is arithmetic, as in :func:`core.estimators.expected_returns` (``mean_historical``).
    """
    missing = prices.isna()
    if filled is not None:
        missing = missing | filled.reindex_like(prices).fillna(False).astype(bool)
    returns = prices.pct_change(fill_method=None).iloc[1:]
    out = pd.DataFrame(
        {
            "first_date": _first_last(prices)[0],
            "last_date": _first_last(prices)[1],
            "observations": (~missing).sum().astype(int),
            "missing_share": missing.mean() if len(prices) else np.nan,
            "annualised_return": returns.mean() * periods_per_year,
            "annualised_volatility": returns.std() * np.sqrt(periods_per_year),
        },
        index=prices.columns,
    )
    out.index.name = "ticker"
    return out


#: Up to this many string labels are hashed as text (a universe's tickers), more by pandas.
_SHORT_INDEX = 10_000


def fingerprint(obj: pd.DataFrame | pd.Series) -> str:
    """A digest of a whole table's content: every value, the index, the column names and dtypes.

    Streamlit's own hash of a DataFrame with 50,000 rows or more looks at a 10,000-row sample
    only, so two tables that differ elsewhere would share cached results; caches key on this
    instead. Numeric tables are hashed from their raw bytes (about 20 ms per million cells).

    Parameters
    ----------
    obj : DataFrame or Series
        The table.

    Returns
    -------
    str
        32 hexadecimal digits (BLAKE2b, 16 bytes).

    References
    ----------
    hashlib.blake2b; pandas.util.hash_pandas_object (for non-numeric data).
    """
    h = hashlib.blake2b(digest_size=16)
    frame = obj.to_frame(name=str(obj.name)) if isinstance(obj, pd.Series) else obj
    dtypes = list(frame.dtypes)  # one Series built, not one per column
    h.update(f"{type(obj).__name__}{frame.shape}".encode())
    h.update("\x1f".join(f"{c}:{d}" for c, d in zip(frame.columns, dtypes, strict=True)).encode())
    index = frame.index
    if isinstance(index, pd.DatetimeIndex | pd.RangeIndex) or pd.api.types.is_numeric_dtype(index):
        h.update(f"{index.dtype}".encode())
        h.update(np.ascontiguousarray(index.to_numpy()).view(np.uint8).tobytes())
    elif len(index) <= _SHORT_INDEX and all(type(v) is str for v in index):
        # tickers: each label with its length (unambiguous), without pandas' per-call overhead
        h.update(b"str\x1f" + "".join(f"{len(v)}:{v}" for v in index).encode())
    else:
        h.update(pd.util.hash_pandas_object(index, index=False).to_numpy().tobytes())
    if all(isinstance(d, np.dtype) and d.kind in "biufcmM" for d in dtypes):
        h.update(np.ascontiguousarray(frame.to_numpy()).view(np.uint8).tobytes())
    else:
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def upload_descriptor(data: PriceData, filename: str) -> dict[str, Any]:
    """Describe uploaded data so that :func:`load_source` can rebuild it on another machine.

    Parameters
    ----------
    data : PriceData
        The validated upload.
    filename : str
        The uploaded file's name.

    Returns
    -------
    dict
        ``{"kind": "upload", "filename", "csv", "benchmark", "sectors"}`` (JSON-friendly); the
        CSV holds the validated prices (and the benchmark column) at full precision.
    """
    frame = data.prices.copy()
    bench = None
    if data.benchmark is not None:
        bench = str(data.benchmark.name or "Benchmark")
        frame[bench] = data.benchmark
    buf = io.StringIO()
    frame.to_csv(buf, index_label="Date", date_format="%Y-%m-%d")
    return {
        "kind": "upload",
        "filename": filename,
        "csv": buf.getvalue(),
        "benchmark": bench,
        "sectors": {str(k): str(v) for k, v in data.sectors.items() if v != "Unknown"},
    }


def yahoo_descriptor(
    tickers: list[str],
    start: dt.date | str,
    end: dt.date | str,
    benchmark: str | None = DEFAULT_BENCHMARK,
    alignment: str = "strict",
    sectors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Describe a Yahoo request for :func:`load_source` (dates as ISO strings).

    Parameters
    ----------
    tickers, start, end, benchmark, alignment
        As in :func:`load_yahoo`.
    sectors : dict, optional
        Sectors the user typed, overriding Yahoo's.

    Returns
    -------
    dict
        ``{"kind": "yahoo", "tickers", "start", "end", "benchmark", "alignment", "sectors"}``.
    """
    return {
        "kind": "yahoo",
        "tickers": _normalise_tickers(tickers),
        "start": str(pd.Timestamp(start).date()),
        "end": str(pd.Timestamp(end).date()),
        "benchmark": benchmark,
        "alignment": alignment,
        "sectors": dict(sectors or {}),
    }


def load_source(descriptor: dict[str, Any], *, offline: bool = False) -> PriceData:
    """Load the data a setup's ``data_source`` descriptor describes.

    The descriptor is JSON-friendly, so a saved setup can reload the same data elsewhere:

    - ``{"kind": "sample"}``: the bundled S&P 500 sample (:func:`load_sample`);
    - ``{"kind": "yahoo", "tickers": ["AAPL", ...], "start": "2019-01-01", "end":
      "2023-12-29", "benchmark": "^GSPC" or None, "alignment": "strict"|"common"|"drop",
      "sectors": {ticker: sector}}``: :func:`load_yahoo` (cache first); ``alignment`` and
      ``sectors`` are optional, the sectors override Yahoo's;
    - ``{"kind": "upload", "filename": "prices.csv", "csv": "<validated prices as CSV text>",
      "benchmark": column name or None, "sectors": {ticker: sector}}``: :func:`load_csv` on the
      embedded text (see :func:`upload_descriptor`).

    Parameters
    ----------
    descriptor : dict
        As above.
    offline : bool
        For Yahoo: use only the local cache.

    Returns
    -------
    PriceData

    Raises
    ------
    DataError
        For an unknown kind or missing fields; otherwise whatever the loader raises.
    """
    if not isinstance(descriptor, dict) or "kind" not in descriptor:
        raise DataError("The data source is not described (expected a dict with a 'kind').")
    kind = descriptor["kind"]
    sectors = descriptor.get("sectors") or {}
    try:
        if kind == "sample":
            data = load_sample()
        elif kind == "yahoo":
            data = load_yahoo(
                descriptor["tickers"],
                descriptor["start"],
                descriptor["end"],
                benchmark=descriptor.get("benchmark", DEFAULT_BENCHMARK),
                alignment=descriptor.get("alignment", "strict"),
                offline=offline,
            )
        elif kind == "upload":
            data = load_csv(
                io.StringIO(descriptor["csv"]),
                benchmark=descriptor.get("benchmark"),
                name=descriptor.get("filename", ""),
            )
        else:
            raise DataError(f"Unknown data source kind {kind!r} (sample, yahoo or upload).")
    except KeyError as e:
        raise DataError(f"The {kind} data source lacks the field {e.args[0]!r}.") from e
    return with_sectors(data, sectors) if sectors else data


def with_sectors(data: PriceData, sectors: dict[str, str]) -> PriceData:
    """A copy of ``data`` whose sectors are overridden by ``sectors`` (ticker -> sector).

    Parameters
    ----------
    data : PriceData
        The data.
    sectors : dict
        Sectors to set; blank values are ignored and tickers not in the data are skipped.

    Returns
    -------
    PriceData
    """
    new = data.sectors.reindex(data.tickers).fillna("Unknown").astype(object).copy()
    for t, s in sectors.items():
        if t in new.index and str(s).strip():
            new[t] = str(s).strip()
    return replace(data, sectors=new)
