"""Report builders: results in, file bytes out (CSV, Excel, HTML), no Streamlit.

Conventions
-----------
Weights in CSV and Excel files are decimals (0.25 = 25 %), so that spreadsheets compute with them;
column names say so. Money is in the currency of the prices.

A report is a :class:`ReportSummary` (inputs, data source, as-of date, key figures, generation
time) and a list of :class:`ReportSection`, one per feature. Numbers stay numbers in the
workbook, one rule for the workbook and the HTML report: a number whose column name, or else
whose row label (tables of labelled metrics), says it holds weights, returns, volatilities or
other risk figures, or ends in "%" (see :func:`is_percent_label`), is a decimal shown as a
percentage (a percent cell format; the value stays 0.25 for 25 %). Text cells are written as
text: never formulas or links (:func:`safe_text` in CSV files, OWASP's CSV-injection advice).

The HTML report is one self-contained file: plotly.js is embedded once, before the first chart,
so the file opens offline; section text is a small, escaped Markdown subset.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.execution import OrderList

__all__ = [
    "ReportSection",
    "ReportSummary",
    "allocation_frame",
    "allocation_csv",
    "csv_bytes",
    "clean_csv",
    "safe_text",
    "is_percent_label",
    "sheet_names",
    "report_xlsx",
    "markdown_to_html",
    "md_literal",
    "report_html",
]


@dataclass(frozen=True)
class ReportSection:
    """One section of a report, as every feature of Ballast contributes it.

    The Excel builder writes each table as a sheet; the HTML builder writes the text, the
    tables and the interactive figures.

    Attributes
    ----------
    key : str
        Stable identifier: ``"allocation"``, ``"black_litterman"``, ``"frontier"``, ``"risk"``,
        ``"rebalance"``.
    title : str
        Heading shown in the report.
    text : str
        Markdown: the inputs, the methods and their references (paper, book or library).
    tables : dict of str to DataFrame
        Table name (at most 31 characters, an Excel sheet name) -> table. Weights, returns and
        risk figures as decimals, column names with units.
    figures : list of plotly Figure
        Charts of the section, in order.
    """

    key: str
    title: str
    text: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[go.Figure] = field(default_factory=list)


def allocation_frame(orders: OrderList, sectors: pd.Series | None = None) -> pd.DataFrame:
    """The allocation as a flat table, one row per asset with a non-zero target or position.

    Parameters
    ----------
    orders : OrderList
        Whole-share orders (``core.execution.whole_share_orders``).
    sectors : Series, optional
        Ticker -> sector.

    Returns
    -------
    DataFrame
        Columns ``ticker, sector, weight, shares, price, value, achieved_weight`` (weights as
        decimals; price and value in the currency of the prices).
    """
    table = orders.orders.copy()
    table = table[(table["target_weight"].abs() > 1e-10) | (table["shares"] != 0)]
    labels = pd.Series(sectors) if sectors is not None else pd.Series(dtype=str)
    return pd.DataFrame(
        {
            "ticker": table.index.astype(str),
            "sector": labels.reindex(table.index).fillna("Unknown").to_numpy(),
            "weight": table["target_weight"].to_numpy(),
            "shares": table["shares"].astype(int).to_numpy(),
            "price": table["price"].to_numpy(),
            "value": table["value"].to_numpy(),
            "achieved_weight": table["achieved_weight"].to_numpy(),
        }
    )


def allocation_csv(orders: OrderList, sectors: pd.Series | None = None) -> bytes:
    """The allocation as CSV bytes (UTF-8, comma-separated, header row).

    Parameters
    ----------
    orders : OrderList
        Whole-share orders.
    sectors : Series, optional
        Ticker -> sector.

    Returns
    -------
    bytes
        Columns as in :func:`allocation_frame`, then a last row ``CASH`` with the leftover cash
        in ``value``.
    """
    frame = allocation_frame(orders, sectors)
    cash = pd.DataFrame(
        [{"ticker": "CASH", "sector": "Cash", "weight": None, "shares": None, "price": None,
          "value": orders.leftover_cash, "achieved_weight": orders.leftover_cash / orders.capital}]
    )  # fmt: skip
    return csv_bytes(pd.concat([frame, cash], ignore_index=True))


# --- CSV: machine-readable numbers, text that cannot turn into a formula ------------------

# OWASP, "CSV Injection": cells starting with these are run as formulas by spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$")
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: Significant digits of floats in CSV files: floating-point noise goes (0.20000000000000007
#: is written 0.2), cents of 10-digit amounts stay.
CSV_DIGITS = 12


def safe_text(value: str) -> str:
    """Text that a spreadsheet will not run as a formula (OWASP CSV-injection advice).

    Parameters
    ----------
    value : str
        A cell's text.

    Returns
    -------
    str
        ``value`` with a leading single quote when it starts with ``=``, ``+``, ``-``, ``@``,
        a tab or a carriage return and is not a number; otherwise ``value`` unchanged.

    References
    ----------
    OWASP Foundation, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
    """
    if value.startswith(_FORMULA_START) and not _NUMBER_TEXT.match(value):
        return "'" + value
    return value


def _clean_cell(cell: str) -> str:
    if _FLOAT_TEXT.match(cell):
        number = float(cell)
        return f"{number:.{CSV_DIGITS}g}" if np.isfinite(number) else cell
    return safe_text(cell)


def clean_csv(data: bytes) -> bytes:
    """CSV bytes with float noise rounded and formula-like text neutralised.

    Every CSV download passes through this (``ui.widgets.csv_download``), whoever built it.

    Parameters
    ----------
    data : bytes
        UTF-8 CSV, comma-separated.

    Returns
    -------
    bytes
        The same table (RFC 4180: CRLF line ends, cells with line breaks quoted): floats to
        :data:`CSV_DIGITS` significant digits, text cells through :func:`safe_text`. Bytes
        that are not UTF-8 come back unchanged.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    out = io.StringIO()
    # RFC 4180 line ends: the writer then quotes every cell holding a CR or LF.
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([_clean_cell(c) for c in row])
    return out.getvalue().encode("utf-8")


def csv_bytes(frame: pd.DataFrame, index: bool = False, **to_csv: Any) -> bytes:
    """A table as CSV bytes (UTF-8, header row) for download, through :func:`clean_csv`.

    Parameters
    ----------
    frame : DataFrame
        The table; numbers stay machine-readable (no thousands separators).
    index : bool
        Whether to write the index as the first column.
    **to_csv
        Passed to ``DataFrame.to_csv`` (``index_label``, ``date_format``).

    Returns
    -------
    bytes
    """
    # CRLF line ends make the writer quote cells holding a lone CR (a cell starting "\r").
    to_csv.setdefault("lineterminator", "\r\n")
    return clean_csv(frame.to_csv(index=index, **to_csv).encode("utf-8"))


@dataclass(frozen=True)
class ReportSummary:
    """What a report says before its sections: where the numbers come from and what they are.

    Attributes
    ----------
    title : str
        Title of the report.
    data_source : str
        One line on the data (source, description, currency).
    as_of : date, optional
        Date of the last price observation used.
    generated_at : datetime
        When the report was generated (UTC unless the caller passes another time zone).
    inputs : mapping of str to Any
        Label -> value of every input that shaped the results (estimators, window, objective,
        constraints, capital). Numbers stay numbers; labels say their units.
    key_figures : mapping of str to float
        Label -> value, e.g. ``"Expected return (annualised)" -> 0.12`` (decimals for returns,
        volatilities and weights, see :func:`is_percent_label`).
    notes : tuple of str
        Remarks for the reader, e.g. sections that could not be computed and why.
    """

    title: str = "Ballast report"
    data_source: str = ""
    as_of: dt.date | None = None
    generated_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0)
    )
    inputs: Mapping[str, Any] = field(default_factory=dict)
    key_figures: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# Names of decimals shown as percentages: weights, returns, volatilities and risk figures.
_PERCENT = re.compile(
    r"weight|return|volatil|\bvar\b|cvar|shortfall|drawdown|tracking.error|turnover|"
    r"contribution|risk.free|\brate\b|decimal|alpha|excess|\bloss|\bes\b|exposure|confidence|"
    r"probability|annuali[sz]ed|tilt|distance|worst|%",
    re.IGNORECASE,
)
# Names that look like the above but hold something else (ratios, counts, money, prices).
_NOT_PERCENT = re.compile(
    r"ratio|number|count|shares|price|value|money|amount|days|observations|breaches|beta|"
    r"delta|\btau\b|aversion|p-value|statistic|\(x\)|variance|omega|level|stop.loss$|"
    r"take.profit$",
    re.IGNORECASE,
)
_MONEY = re.compile(r"price|value|capital|cash|money|amount|cost|notional", re.IGNORECASE)
_COUNT = re.compile(r"shares|days|count|number of|observations|breaches", re.IGNORECASE)
# Decimals beyond this (5000 %) are not weights or returns: the column is shown as it is.
_PCT_LIMIT = 50.0
_PCT_FORMAT = "0.00%"
_MONEY_FORMAT = "#,##0.00"
_FLOAT_FORMAT = "#,##0.00##"
_HTML_MAX_ROWS = 250
_EXCEL_MAX_TEXT = 32_767


def is_percent_label(label: object) -> bool:
    """Whether a column or figure name denotes a decimal to show as a percentage.

    Parameters
    ----------
    label : object
        Column name or key-figure label, e.g. ``"weight"``, ``"CVaR 99 % (1 day)"``,
        ``"Sharpe ratio"``.

    Returns
    -------
    bool
        True for weights, returns, volatilities, VaR/CVaR, drawdowns, tracking error, turnover,
        risk contributions and rates; False for ratios, counts, prices and money values.
    """
    text = str(label).replace("_", " ")
    return bool(_PERCENT.search(text)) and not _NOT_PERCENT.search(text)


def _flat_table(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with a meaningful index moved into columns and plain string column names."""
    frame = table.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = [" / ".join(str(p) for p in col if str(p)) for col in frame.columns]
    named = any(n is not None for n in frame.index.names)
    if (
        isinstance(frame.index, pd.MultiIndex)
        or named
        or not isinstance(frame.index, pd.RangeIndex)
    ):
        # An unnamed index (tickers, metric labels) gets an empty header, not "index".
        names = [n if n is not None else " " * i for i, n in
                 enumerate(frame.index.names)]  # fmt: skip
        frame.index = frame.index.set_names(names)
        frame = frame.reset_index()
    frame.columns = [str(c) for c in frame.columns]
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_localize(None)
    # Tables of labelled values (a label column, then values) may hold numbers as text
    # ("250", "0.99"): numbers are numbers.
    if len(frame.columns) > 1 and _is_text(frame.iloc[:, 0]):
        for i in range(1, len(frame.columns)):
            col = frame.iloc[:, i]
            if _is_text(col):
                frame.isetitem(i, col.astype(object).map(_number_or_value))
    return frame


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def _number_or_value(value: Any) -> Any:
    if isinstance(value, str) and _NUMBER_TEXT.match(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    return value


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_names(sections: Sequence[ReportSection]) -> list[tuple[str, str, str]]:
    """Excel sheet names for every table of the sections, in order.

    Names are the table names with the characters Excel forbids replaced, cut to 31
    characters, and made unique (case-insensitively, as Excel compares them) by a ``" (2)"``
    suffix. ``"Summary"`` and Excel's reserved ``"History"`` are taken.

    Parameters
    ----------
    sections : sequence of ReportSection

    Returns
    -------
    list of (section key, table name, sheet name)
    """
    taken = {"summary", "history"}
    out = []
    for section in sections:
        for name in section.tables:
            base = _BAD_SHEET_CHARS.sub("-", str(name)).strip().strip("'")[:31] or "Table"
            candidate, n = base, 2
            while candidate.lower() in taken:
                suffix = f" ({n})"
                candidate = base[: 31 - len(suffix)] + suffix
                n += 1
            taken.add(candidate.lower())
            out.append((section.key, name, candidate))
    return out


def _cell_value(value: Any, label: object = "") -> Any:
    """A value xlsxwriter writes natively (numbers stay numbers)."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, int | float | str | dt.date):
        return value
    if isinstance(value, Mapping | list | tuple | set | pd.Index | pd.Series):
        return _text(value, label)  # "k: v; ..." or "a, b, ..." as in the HTML report
    return str(value)


def _text(value: Any, label: object = "") -> str:
    """A value as text for the HTML report."""
    if value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if not np.isfinite(v):
            return "" if np.isnan(v) else str(v)
        if is_percent_label(label):
            return f"{v:.2%}"
        if isinstance(value, int | np.integer):
            return f"{int(value):,}"
        return f"{v:,.2f}" if abs(v) >= 100 or _MONEY.search(str(label)) else f"{v:.4f}"
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        return str(ts.date()) if ts == ts.normalize() else str(ts)
    if isinstance(value, Mapping):
        # An entry's key is its label (a view's "return"), else the mapping's label applies.
        return "; ".join(
            f"{k}: {_text(v, k if _label_kind(k) else label)}" for k, v in value.items()
        ) or "none"
    if isinstance(value, list | tuple | set | pd.Index | pd.Series):
        return ", ".join(_text(v, label) for v in value) or "none"
    return str(value)


def report_xlsx(
    summary: ReportSummary,
    sections: Sequence[ReportSection],
    percent_columns: Iterable[str] = (),
) -> bytes:
    """The report as an Excel workbook: a summary sheet, then one sheet per section table.

    Parameters
    ----------
    summary : ReportSummary
        Written to the first sheet, ``Summary``: title, generation time, data source, as-of
        date, inputs, key figures, the sections with their sheets, and notes.
    sections : sequence of ReportSection
        Each table becomes a sheet named as :func:`sheet_names` says; a meaningful index
        (tickers, dates) becomes the first column(s).
    percent_columns : iterable of str
        More column names that hold decimals to show as percentages, beyond those
        :func:`is_percent_label` recognises; e.g. the tickers, whose columns hold weights.

    Returns
    -------
    bytes
        An ``.xlsx`` file. Numbers are numeric cells: decimals whose column name says they are
        weights, returns or risk figures carry a percent format (the value stays 0.25 for
        25 %), money columns a thousands format; NaN cells are empty.

    References
    ----------
    XlsxWriter (John McNamara), through ``pandas.ExcelWriter``.
    """
    buffer = io.BytesIO()
    names = sheet_names(sections)
    extra = frozenset(map(str, percent_columns))
    # Text is text: no formulas (a ticker "=HYPERLINK(...)"), no links, no numbers guessed.
    options = {"nan_inf_to_errors": True, "strings_to_formulas": False,
               "strings_to_urls": False, "strings_to_numbers": False}  # fmt: skip
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        book = writer.book
        fmt = {
            "title": book.add_format({"bold": True, "font_size": 14}),
            "head": book.add_format({"bold": True, "bottom": 1}),
            "bold": book.add_format({"bold": True}),
            "pct": book.add_format({"num_format": _PCT_FORMAT}),
            "count": None,
            "money": book.add_format({"num_format": _MONEY_FORMAT}),
            "float": book.add_format({"num_format": _FLOAT_FORMAT}),
            "date": book.add_format({"num_format": "yyyy-mm-dd", "align": "left"}),
            "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        }
        _summary_sheet(book.add_worksheet("Summary"), summary, sections, names, fmt)
        by_table = {(key, name): sheet for key, name, sheet in names}
        for section in sections:
            for name, table in section.tables.items():
                ws = book.add_worksheet(by_table[(section.key, name)])
                _table_sheet(ws, _flat_table(table), extra, fmt)
    return buffer.getvalue()


def _table_sheet(ws, frame: pd.DataFrame, extra: frozenset[str], fmt: dict) -> None:
    """One table on its sheet: a header row, then every cell as what it is."""
    kinds = _cell_kinds(frame, extra)
    for c, col in enumerate(frame.columns):
        ws.write_string(0, c, _header(col, kinds[c]), fmt["head"])
        ws.set_column(c, c, min(max(len(col), 10) + 2, 40))
        values = frame.iloc[:, c].tolist()
        for r, value in enumerate(values, start=1):
            _write_cell(ws, r, c, value, kinds[c][r - 1], fmt)
    ws.freeze_panes(1, 0)
    if len(frame.columns):
        ws.autofilter(0, 0, len(frame), len(frame.columns) - 1)


def _write_cell(ws, row: int, col: int, value: Any, kind: str, fmt: dict) -> None:
    if value is None or value is pd.NA or value is pd.NaT:
        return
    if isinstance(value, bool | np.bool_):
        ws.write_string(row, col, "yes" if value else "no")
    elif isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if np.isfinite(v):
            ws.write_number(row, col, v, fmt.get(kind))
        elif not np.isnan(v):
            ws.write_string(row, col, str(v))
    elif isinstance(value, dt.datetime | pd.Timestamp):
        ts = pd.Timestamp(value)
        ws.write_datetime(row, col, ts.to_pydatetime().replace(tzinfo=None), fmt["date"])
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt["date"])
    else:
        text = _text(value) if not isinstance(value, str) else value
        ws.write_string(row, col, text[:_EXCEL_MAX_TEXT])


# Column names that say nothing about their numbers: the row labels decide.
_GENERIC_COLUMN = re.compile(r"^\s*(value|values|figure|statistic value|result)?\s*$", re.I)


_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _header(name: str, kinds: list[str]) -> str:
    """A column's header for the reader: identifiers in words, "(%)" on percentages."""
    if not _IDENTIFIER.match(name):
        return name
    words = name.replace("_", " ")
    words = words[0].upper() + words[1:]
    if kinds and all(k == "pct" for k in kinds) and "%" not in words:
        words += " (%)"
    return words


def _label_kind(label: object) -> str:
    """The format a row or column label asks for: "pct", "count", "money" or ""."""
    text = str(label)
    if is_percent_label(text):
        return "pct"
    if _COUNT.search(text):
        return "count"
    if _MONEY.search(text):
        return "money"
    return ""


def _cell_kinds(frame: pd.DataFrame, extra: frozenset[str]) -> list[list[str]]:
    """Per column, per row: how each cell is formatted ("pct", "count", "money", "float", "").

    The column's name decides (:func:`_column_kind`); where it says nothing (a column of a
    portfolio's metrics), the row's label in the first, text column decides, so that
    "Maximum drawdown (%)" is a percentage in every column of a metrics table.
    """
    labels = frame.iloc[:, 0].tolist() if len(frame.columns) > 1 and _is_text(
        frame.iloc[:, 0]) else None  # fmt: skip
    row_kinds = [_label_kind(x) if isinstance(x, str) else "" for x in labels or []]
    out = []
    for c in range(len(frame.columns)):
        col = frame.iloc[:, c]
        text = _is_text(col)
        numeric = pd.to_numeric(col, errors="coerce") if text else col
        kind = _column_kind(numeric, frame.columns[c], extra) if not (
            text and numeric.isna().all()) else ""  # fmt: skip
        generic = _GENERIC_COLUMN.match(str(frame.columns[c])) is not None
        if labels is None or c == 0 or (kind in ("pct", "count", "money") and not generic):
            out.append([kind] * len(frame))
            continue
        kinds = []
        for r, value in enumerate(col.tolist()):
            rk = row_kinds[r]
            if rk == "pct" and isinstance(value, int | float) and abs(value) > _PCT_LIMIT:
                rk = ""
            kinds.append(rk or (kind or ("float" if isinstance(value, float) else "")))
        out.append(kinds)
    return out


def _column_kind(series: pd.Series, label: str, percent_columns: frozenset[str]) -> str:
    """How a table column is formatted: "pct", "count", "money", "float" or "" (as it is)."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return ""
    if label in percent_columns or is_percent_label(label):
        values = np.abs(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float))
        values = values[np.isfinite(values)]
        if values.size == 0 or values.max() <= _PCT_LIMIT:
            return "pct"
    if _COUNT.search(label):
        return "count"
    if _MONEY.search(label):
        return "money"
    return "float" if pd.api.types.is_float_dtype(series) else ""


def _summary_sheet(ws, summary, sections, names, fmt) -> None:
    ws.set_column(0, 0, 38)
    ws.set_column(1, 1, 60)
    ws.write(0, 0, summary.title, fmt["title"])
    row = 2
    head = [
        ("Generated", summary.generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()),
        ("Data source", summary.data_source or "not stated"),
        ("As of (last price date)", summary.as_of),
    ]
    for label, value in head:
        ws.write(row, 0, label, fmt["bold"])
        _write_value(ws, row, 1, value, label, fmt)
        row += 1
    for heading, items in (("Inputs", summary.inputs), ("Key figures", summary.key_figures)):
        row += 1
        ws.write(row, 0, heading, fmt["head"])
        ws.write(row, 1, "", fmt["head"])
        row += 1
        for label, value in items.items():
            ws.write(row, 0, str(label))
            _write_value(ws, row, 1, value, label, fmt)
            row += 1
    row += 1
    ws.write(row, 0, "Sections", fmt["head"])
    ws.write(row, 1, "Sheets", fmt["head"])
    row += 1
    for section in sections:
        sheets = [sheet for key, _, sheet in names if key == section.key]
        ws.write(row, 0, section.title)
        ws.write(row, 1, ", ".join(sheets) or "(no tables)")
        row += 1
    if summary.notes:
        row += 1
        ws.write(row, 0, "Notes", fmt["head"])
        row += 1
        for note in summary.notes:
            ws.write(row, 0, note, fmt["wrap"])
            row += 1


def _write_value(ws, row: int, col: int, value: Any, label: object, fmt: dict) -> None:
    value = _cell_value(value, label)
    if isinstance(value, dt.datetime):
        ws.write(row, col, value.strftime("%Y-%m-%d %H:%M:%S"))
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt["date"])
    elif isinstance(value, int | float):
        if not np.isfinite(value):
            ws.write(row, col, "")
        elif is_percent_label(label):
            ws.write_number(row, col, value, fmt["pct"])
        elif _MONEY.search(str(label)):
            ws.write_number(row, col, value, fmt["money"])
        else:
            ws.write_number(row, col, value, fmt["float"] if isinstance(value, float) else None)
    else:
        text = str(value)
        if len(text) > _EXCEL_MAX_TEXT:  # Excel's limit per cell; longer text is dropped
            text = text[: _EXCEL_MAX_TEXT - 3] + "..."
        ws.write_string(row, col, text)


# --- HTML -----------------------------------------------------------------------------------

_INLINE_CODE = re.compile(r"(?<!\\)`([^`]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")
# A backslash before ASCII punctuation makes it literal (CommonMark 0.31, section 2.4). The
# escaped characters are set aside as private-use placeholders while emphasis is matched.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
# What makes a line of :func:`markdown_to_html`'s subset more than text: emphasis and code
# marks and the backslash anywhere; a heading, list or numbered-list marker at a line's start.
_LITERAL_MARKS = re.compile(r"([\\`*_])")
_LITERAL_LINE_START = re.compile(r"^(\s*)([#+-])", re.MULTILINE)
_LITERAL_NUMBERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def md_literal(text: object) -> str:
    """``text`` written so that :func:`markdown_to_html` shows it literally.

    For user-supplied strings (tickers, sector and view names, file and benchmark names, the
    messages of errors that quote them) put into a report section's Markdown text: a sector
    named ``**Tech**`` or a view label starting ``# `` stays as typed, not bold or a heading.

    Parameters
    ----------
    text : object
        Any value; ``str(text)`` is escaped.

    Returns
    -------
    str
        The text with a backslash before each backslash, backtick, ``*`` and ``_``, and before a
        ``#``, ``-`` or ``+`` at a line's start and before the ``.``/``)`` of a number there.

    References
    ----------
    CommonMark Spec 0.31, section 2.4 "Backslash escapes", https://spec.commonmark.org/0.31.2/
    """
    escaped = _LITERAL_MARKS.sub(r"\\\1", str(text))
    escaped = _LITERAL_NUMBERED.sub(r"\1\\\2", escaped)
    return _LITERAL_LINE_START.sub(r"\1\\\2", escaped)


def _inline(text: str) -> str:
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        kept.append(match.group(1))
        return f"\ue000{len(kept) - 1}\ue001"

    text = _ESCAPED.sub(keep, text.replace("\ue000", "").replace("\ue001", ""))
    parts = _INLINE_CODE.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # inside a code span: escaped, nothing else
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        s = html.escape(part, quote=True)
        s = _BOLD.sub(r"<strong>\1</strong>", s)
        s = _ITALIC.sub(r"<em>\1</em>", s)
        out.append(s)
    return _PLACEHOLDER.sub(lambda m: html.escape(kept[int(m.group(1))], quote=True),
                            "".join(out))  # fmt: skip


def markdown_to_html(text: str, heading_offset: int = 2) -> str:
    """Render a small Markdown subset to safe HTML (every raw HTML character is escaped).

    Supported: paragraphs, ``#`` headings, ``-``/``*`` and ``1.`` lists, ``**bold**``,
    ``*italic*``, ```code```. Anything else stays literal text, escaped: links and images
    too (``[text](https://...)``, ``![](...)``), since section text quotes what users typed
    (tickers, names, view labels) and a report must not carry a link or fetch an image
    planted in it.

    Parameters
    ----------
    text : str
        Markdown.
    heading_offset : int
        Added to heading levels (``#`` becomes ``<h3>`` with the default 2), so that section
        text nests under the section's ``<h2>``.

    Returns
    -------
    str
        An HTML fragment.
    """
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            blocks.append("<p>" + " ".join(_inline(p) for p in paragraph) + "</p>")
            paragraph.clear()
        if items:
            lis = "".join(f"<li>{_inline(i)}</li>" for i in items)
            blocks.append(f"<{list_tag}>{lis}</{list_tag}>")
            items.clear()
            list_tag = ""

    for raw in str(text).splitlines():
        line = raw.strip()
        heading = re.match(r"(#{1,6})\s+(.*)", line)
        bullet = re.match(r"[-*+]\s+(.*)", line)
        number = re.match(r"\d+[.)]\s+(.*)", line)
        if not line:
            flush()
        elif heading:
            flush()
            level = min(6, len(heading.group(1)) + heading_offset)
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif bullet or number:
            tag = "ul" if bullet else "ol"
            if paragraph or (items and list_tag != tag):
                flush()
            list_tag = tag
            items.append((bullet or number).group(1))
        elif items and raw[:1].isspace():
            items[-1] += " " + line  # continuation of a list item
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return "\n".join(blocks)


def _cell_text(value: Any, kind: str, label: str) -> str:
    if not kind or value is None or value is pd.NA or isinstance(value, str | bool):
        return _text(value, label)
    if not isinstance(value, int | float | np.integer | np.floating):
        return _text(value, label)
    v = float(value)
    if not np.isfinite(v):
        return "" if np.isnan(v) else str(v)
    if kind == "pct":
        return f"{v:.2%}"
    if kind == "count":
        return f"{v:,.0f}" if v.is_integer() else f"{v:,.4g}"
    if kind == "money":
        return f"{v:,.2f}"
    return f"{v:,.2f}" if abs(v) >= 100 else f"{v:.4f}"


def _html_table(table: pd.DataFrame, percent_columns: frozenset[str] = frozenset()) -> str:
    frame = _flat_table(table)
    columns = [frame.iloc[:, i] for i in range(frame.shape[1])]
    kinds = _cell_kinds(frame, percent_columns)
    numeric = [
        pd.api.types.is_numeric_dtype(c)
        or (_is_text(c) and pd.to_numeric(c, errors="coerce").notna().any())
        for c in columns
    ]
    note = ""
    if len(frame) > _HTML_MAX_ROWS:
        note = (
            f'<p class="note">First {_HTML_MAX_ROWS} of {len(frame):,} rows; the Excel '
            "workbook has all of them.</p>"
        )
    head = "".join(
        f"<th>{html.escape(_header(str(c), k))}</th>"
        for c, k in zip(frame.columns, kinds, strict=True)
    )
    texts = [
        [_cell_text(v, k, str(name))
         for v, k in zip(col.iloc[:_HTML_MAX_ROWS].tolist(), kind[:_HTML_MAX_ROWS], strict=True)]
        for col, kind, name in zip(columns, kinds, frame.columns, strict=True)
    ]
    rows = []
    for r in range(min(len(frame), _HTML_MAX_ROWS)):
        cells = "".join(
            f'<td class="num">{html.escape(t[r])}</td>' if num else f"<td>{html.escape(t[r])}</td>"
            for t, num in zip(texts, numeric, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="table"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{note}"
    )


_CSS = """
:root { --ink: #1f2933; --muted: #52606d; --rule: #d9e2ec; --accent: #1f4e79; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.45; }
h1 { color: var(--accent); margin-bottom: .2rem; }
h2 { color: var(--accent); border-bottom: 2px solid var(--rule); padding-bottom: .2rem; }
.meta, .note, footer { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .85rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .25rem .6rem; text-align: left; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.table { overflow-x: auto; }
figure.chart { margin: 1rem 0; }
.plotly-graph-div { max-width: 100%; }
.error { color: #9b1c1c; }
code { background: #f0f4f8; padding: 0 .2rem; border-radius: 3px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  nav { display: none; }
  section.report-section { break-before: page; page-break-before: always; }
  figure.chart, .plotly-graph-div, tr, h2, h3 { break-inside: avoid; page-break-inside: avoid; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  .table { overflow: visible; }
  table { font-size: 7.5pt; width: 100%; }
  th, td { padding: 1px 4px; }
  a { color: inherit; text-decoration: none; }
  .modebar-container { display: none !important; }
}
"""

# Plotly sizes charts to the window; re-layout them for the paper width when printing.
_PRINT_SCRIPT = """
<script>
(function () {
  function resizeAll() {
    if (!window.Plotly) { return; }
    document.querySelectorAll('.plotly-graph-div').forEach(function (div) {
      window.Plotly.Plots.resize(div);
    });
  }
  window.addEventListener('beforeprint', resizeAll);
  window.addEventListener('afterprint', resizeAll);
})();
</script>
"""


def report_html(
    summary: ReportSummary,
    sections: Sequence[ReportSection],
    percent_columns: Iterable[str] = (),
) -> bytes:
    """The report as one self-contained HTML file with interactive charts.

    Parameters
    ----------
    summary : ReportSummary
        Title, generation time, data source, as-of date, inputs, key figures and notes.
    sections : sequence of ReportSection
        Written in order, each with its text (methods and references), tables and figures.
    percent_columns : iterable of str
        As in :func:`report_xlsx`.

    Returns
    -------
    bytes
        UTF-8 HTML. plotly.js is embedded once, inline, before the first chart (none when there
        are no charts), so the file opens offline. A print stylesheet starts each section on a
        new page and keeps charts and table rows whole, so that "Print to PDF" gives a clean
        document. Tables longer than 250 rows are cut (the workbook has them whole).

    References
    ----------
    plotly ``Figure.to_html`` (Plotly, Inc.); CSS Paged Media (W3C) for the print rules.
    """
    title = html.escape(summary.title)
    generated = summary.generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    meta = [f"Generated {html.escape(generated)}"]
    if summary.data_source:
        meta.append(f"Data: {html.escape(summary.data_source)}")
    if summary.as_of is not None:
        meta.append(f"As of {html.escape(_text(summary.as_of))}")
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>",
        f'<header><h1>{title}</h1><p class="meta">{" · ".join(meta)}</p></header>',
    ]
    toc = "".join(
        f'<li><a href="#section-{html.escape(s.key)}">{html.escape(s.title)}</a></li>'
        for s in sections
    )
    parts.append(
        f'<nav><h2>Contents</h2><ol><li><a href="#summary">Summary</a></li>{toc}</ol></nav>'
    )
    parts.append('<section id="summary"><h2>Summary</h2>')
    parts.append(_definition_table("Data", {
        "Data source": summary.data_source or "not stated",
        "As of (last price date)": summary.as_of,
        "Generated": generated,
    }))  # fmt: skip
    if summary.inputs:
        parts.append("<h3>Inputs</h3>" + _definition_table("Inputs", summary.inputs))
    if summary.key_figures:
        parts.append("<h3>Key figures</h3>" + _definition_table("Key figures", summary.key_figures))
    if summary.notes:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary.notes)
        parts.append(f'<h3>Notes</h3><ul class="error">{notes}</ul>')
    parts.append("</section>")
    figures = _FigureWriter(section.figures for section in sections)
    if figures.count:
        parts.insert(2, figures.head())  # plotly.js and the shared templates, once, in <head>
    for section in sections:
        parts.append(
            f'<section class="report-section" id="section-{html.escape(section.key)}">'
            f"<h2>{html.escape(section.title)}</h2>"
        )
        if section.text:
            parts.append(f'<div class="text">{markdown_to_html(section.text)}</div>')
        for name, table in section.tables.items():
            body = _html_table(table, frozenset(map(str, percent_columns)))
            parts.append(f"<h3>{html.escape(str(name))}</h3>{body}")
        for fig in section.figures:
            parts.append(f'<figure class="chart">{figures.div(fig)}</figure>')
        parts.append("</section>")
    parts.append(
        f"<footer><p>Generated by Ballast on {html.escape(generated)}. Weights, returns and "
        "risk figures are decimals shown as percentages; money is in the currency of the "
        "prices."
        + (f" Charts draw long series thinned to about {_MAX_LINE_POINTS:,} points (each "
           "period's highs and lows kept); the workbook has every value." if figures.thinned
           else "")
        + "</p></footer>"
    )  # fmt: skip
    parts.append(_PRINT_SCRIPT + "</body>\n</html>\n")
    return "\n".join(parts).encode("utf-8")


# --- compact interactive figures -------------------------------------------------------------

_ASSETS = Path(__file__).resolve().parent / "assets"
#: plotly.js's official "cartesian" partial bundle (npm plotly.js-cartesian-dist-min, same
#: version as the full bundle of the plotly package; MIT licence in assets/plotly-LICENSE):
#: 1.5 MB against 4.8 MB, with every trace type Ballast's charts use.
_PLOTLY_CARTESIAN = _ASSETS / "plotly-cartesian.min.js"
_CARTESIAN_TRACES = frozenset({
    "bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
    "image", "pie", "scatter", "scatterternary", "violin",
})  # fmt: skip
#: Line traces longer than this are thinned (per bucket: first, lowest, highest, last point).
_MAX_LINE_POINTS = 1_000
#: Marker-only traces (clouds of random portfolios) longer than this keep every k-th point.
_MAX_MARKER_POINTS = 2_000
#: Significant digits of figure data in the HTML report (hover labels show at most 4).
_FIGURE_DIGITS = 6
_MIDNIGHT = re.compile(r"T00:00:00(\.0+)?$")


def _decode(value: Any) -> Any:
    """Plotly's base64 typed arrays ({"dtype", "bdata"}) back to numpy arrays."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            dims = [int(x) for x in str(shape).split(",")] if isinstance(shape, str) else shape
            arr = arr.reshape(dims)
        return arr
    return value


def _round(x: float) -> float | None:
    if not math.isfinite(x):
        return None
    return float(f"{x:.{_FIGURE_DIGITS}g}")


def _compact(value: Any) -> Any:
    """JSON-ready, compact: floats to 6 significant digits, midnight timestamps as dates."""
    value = _decode(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [_compact(v) for v in value] if value.ndim > 1 else [
                _round(v) for v in value.tolist()]  # fmt: skip
        if value.dtype.kind in "iub":
            return value.tolist()
        if value.dtype.kind == "M":
            value = np.datetime_as_string(value)
        return [_compact(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_compact(v) for v in value]
    if isinstance(value, float | np.floating):
        return _round(float(value))
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return _MIDNIGHT.sub("", value.isoformat())
    if isinstance(value, str):
        return _MIDNIGHT.sub("", value)
    return value


def _thin_index(y: np.ndarray, limit: int) -> np.ndarray:
    """Indices of a line's points to keep: per bucket its first, lowest, highest and last."""
    n = len(y)
    buckets = max(1, min(n, limit // 4))
    bucket = (np.arange(n) * buckets) // n  # bucket of each point, in order
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], n] - 1
    low = pd.Series(np.where(np.isfinite(y), y, np.inf)).groupby(bucket).idxmin().to_numpy()
    high = pd.Series(np.where(np.isfinite(y), y, -np.inf)).groupby(bucket).idxmax().to_numpy()
    return np.unique(np.concatenate([starts, ends, low, high]).astype(int))


def _thin(trace: dict) -> bool:
    """Thin a long scatter trace in place (every per-point array alike); True if it was."""
    if trace.get("type", "scatter") not in ("scatter", "scattergl"):
        return False
    x, y = _decode(trace.get("x")), _decode(trace.get("y"))
    if y is None or isinstance(y, str | dict) or np.ndim(y) != 1:
        return False
    y = np.asarray(y)
    n = len(y)
    lines = "lines" in str(trace.get("mode", "lines"))
    if n <= (_MAX_LINE_POINTS if lines else _MAX_MARKER_POINTS):
        return False
    if lines and y.dtype.kind in "fiu":
        keep = _thin_index(y.astype(float), _MAX_LINE_POINTS)
    else:
        keep = np.arange(0, n, math.ceil(n / _MAX_MARKER_POINTS))

    def take(obj: dict) -> None:
        for key, value in list(obj.items()):
            value = _decode(value)
            if isinstance(value, np.ndarray | list | tuple) and len(value) == n and key not in (
                    "colorscale",):  # fmt: skip
                obj[key] = np.asarray(value, dtype=object if isinstance(value, list | tuple)
                                      else None)[keep]  # fmt: skip
            elif isinstance(value, dict) and key in ("marker", "line", "error_y", "error_x"):
                take(value)

    del x
    take(trace)
    return True


# Charts are drawn one after the other once the page is parsed, so the text and tables show at
# once and the first chart within a moment; drawing them inline would hold the whole page.
_DRAW_QUEUE = (
    "window.BALLAST_DRAW=[];document.addEventListener('DOMContentLoaded',function(){"
    "var q=window.BALLAST_DRAW;function next(){var f=q.shift();if(!f){return;}"
    "Promise.resolve(f()).then(function(){setTimeout(next,0);},"
    "function(){setTimeout(next,0);});}next();});"
)


class _FigureWriter:
    """Writes a report's figures compactly: plotly.js and each distinct template once."""

    def __init__(self, figures: Iterable[Iterable[go.Figure]]) -> None:
        self.specs: list[tuple[dict, go.Figure]] = []
        self.templates: list[str] = []
        self.thinned = False
        types: set[str] = set()
        for group in figures:
            for fig in group:
                spec = fig.to_plotly_json()
                for trace in spec.get("data", []):
                    self.thinned |= _thin(trace)
                    types.add(trace.get("type", "scatter"))
                self.specs.append((spec, fig))
        self.count = len(self.specs)
        # Without the WebGL types the cartesian bundle draws everything (scattergl as SVG).
        self.cartesian = _PLOTLY_CARTESIAN.exists() and (
            types - {"scattergl"} <= _CARTESIAN_TRACES)  # fmt: skip
        self._next = 0

    def head(self) -> str:
        """``<script>`` elements: plotly.js, then the shared templates."""
        if self.cartesian:
            js = _PLOTLY_CARTESIAN.read_text(encoding="utf-8")
        else:
            from plotly.offline import get_plotlyjs

            js = get_plotlyjs()
        templates = []
        for spec, _ in self.specs:
            text = json.dumps(_compact(spec.get("layout", {}).get("template", {})),
                              separators=(",", ":"))  # fmt: skip
            if text not in templates:
                templates.append(text)
        self.templates = templates
        return (
            f'<script type="text/javascript">{js}</script>\n'
            f"<script>window.BALLAST_TEMPLATES=[{','.join(templates)}];{_DRAW_QUEUE}</script>"
        )

    def div(self, fig: go.Figure) -> str:
        """The next figure as a ``<div>`` and the script that draws it."""
        spec, _ = self.specs[self._next]
        n = self._next
        self._next += 1
        layout = dict(spec.get("layout", {}))
        template = json.dumps(_compact(layout.pop("template", {})), separators=(",", ":"))
        data = spec.get("data", [])
        if self.cartesian:
            data = [{**t, "type": "scatter"} if t.get("type") == "scattergl" else t for t in data]
        height = int(fig.layout.height or 450)
        payload = json.dumps(_compact(data), separators=(",", ":"), ensure_ascii=False)
        lay = json.dumps(_compact(layout), separators=(",", ":"), ensure_ascii=False)
        index = self.templates.index(template) if template in self.templates else -1
        # "</" cannot end the script early: JSON allows "<\/" for "</".
        payload, lay = payload.replace("</", "<\\/"), lay.replace("</", "<\\/")
        config = '{"responsive":true,"displaylogo":false}'
        return (
            f'<div id="chart-{n}" class="plotly-graph-div" style="height:{height}px; '
            f'width:100%;"></div><script>BALLAST_DRAW.push(function(){{var l={lay};'
            f"if({index}>=0){{l.template=window.BALLAST_TEMPLATES[{index}];}}"
            f'return Plotly.newPlot("chart-{n}",{payload},l,{config});}});</script>'
        )


def _definition_table(caption: str, items: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr><th scope="row">{html.escape(str(k))}</th><td>{html.escape(_text(v, k))}</td></tr>'
        for k, v in items.items()
    )
    return (
        f'<table class="summary" aria-label="{html.escape(caption)}"><tbody>{rows}</tbody></table>'
    )
