"""Report builders: results in, file bytes out (CSV, Excel, HTML), no Streamlit.

Conventions
-----------
Weights in CSV and Excel files are decimals (0.25 = 25 %), so that spreadsheets compute with them;
column names say so. Money is in the currency of the prices.

A report is a :class:`ReportSummary` (inputs, data source, as-of date, key figures, generation
time) and a list of :class:`ReportSection`, one per feature. Numbers stay numbers in the
workbook: a column or key figure whose name says it holds weights, returns, volatilities or
other risk figures (see :func:`is_percent_label`) gets a percent cell format, its values stay
decimals. The HTML report is one self-contained file: plotly.js is embedded once, before the
first chart, so the file opens offline; section text is a small, escaped Markdown subset.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    "is_percent_label",
    "sheet_names",
    "report_xlsx",
    "markdown_to_html",
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
    return pd.concat([frame, cash], ignore_index=True).to_csv(index=False).encode("utf-8")


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
        names = [n if n is not None else ("" if i else "index") for i, n in
                 enumerate(frame.index.names)]  # fmt: skip
        frame.index = frame.index.set_names(names)
        frame = frame.reset_index()
    frame.columns = [str(c) for c in frame.columns]
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_localize(None)
    return frame


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


def _cell_value(value: Any) -> Any:
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
        return _text(value)  # "k: v; ..." or "a, b, ..." as in the HTML report
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
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple | set | pd.Index | pd.Series):
        return ", ".join(_text(v) for v in value) or "none"
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
    with pd.ExcelWriter(
        buffer, engine="xlsxwriter", engine_kwargs={"options": {"nan_inf_to_errors": True}}
    ) as writer:
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
                sheet = by_table[(section.key, name)]
                frame = _flat_table(table)
                frame.to_excel(writer, sheet_name=sheet, index=False)
                ws = writer.sheets[sheet]
                ws.freeze_panes(1, 0)
                if len(frame.columns):
                    ws.autofilter(0, 0, len(frame), len(frame.columns) - 1)
                for i, col in enumerate(frame.columns):
                    width = min(max(len(col), 10) + 2, 40)
                    kind = _column_kind(frame.iloc[:, i], col, extra)
                    ws.set_column(i, i, width, fmt.get(kind))
    return buffer.getvalue()


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
    value = _cell_value(value)
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

_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def _inline(text: str) -> str:
    parts = _INLINE_CODE.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # inside a code span: escaped, nothing else
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        s = html.escape(part, quote=True)
        s = _LINK.sub(r'<a href="\2">\1</a>', s)
        s = _BOLD.sub(r"<strong>\1</strong>", s)
        s = _ITALIC.sub(r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def markdown_to_html(text: str, heading_offset: int = 2) -> str:
    """Render a small Markdown subset to safe HTML (every raw HTML character is escaped).

    Supported: paragraphs, ``#`` headings, ``-``/``*`` and ``1.`` lists, ``**bold**``,
    ``*italic*``, ```code```, ``[text](https://...)`` links. Anything else stays literal
    text, escaped.

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
    if not kind or value is None or value is pd.NA or isinstance(value, str):
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
    kinds = [
        _column_kind(c, str(name), percent_columns)
        for c, name in zip(columns, frame.columns, strict=True)
    ]
    numeric = [pd.api.types.is_numeric_dtype(c) for c in columns]
    note = ""
    if len(frame) > _HTML_MAX_ROWS:
        note = (
            f'<p class="note">First {_HTML_MAX_ROWS} of {len(frame):,} rows; the Excel '
            "workbook has all of them.</p>"
        )
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    texts = [
        [_cell_text(v, kind, str(name)) for v in col.iloc[:_HTML_MAX_ROWS].tolist()]
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
    plotly_included = False
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
            height = fig.layout.height or 450
            div = fig.to_html(
                full_html=False,
                include_plotlyjs=not plotly_included,
                default_width="100%",
                default_height=f"{int(height)}px",
                config={"responsive": True, "displaylogo": False},
            )
            plotly_included = True
            parts.append(f'<figure class="chart">{div}</figure>')
        parts.append("</section>")
    parts.append(
        f"<footer><p>Generated by Ballast on {html.escape(generated)}. Weights, returns and "
        "risk figures are decimals shown as percentages; money is in the currency of the "
        "prices.</p></footer>"
    )
    parts.append(_PRINT_SCRIPT + "</body>\n</html>\n")
    return "\n".join(parts).encode("utf-8")


def _definition_table(caption: str, items: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr><th scope="row">{html.escape(str(k))}</th><td>{html.escape(_text(v, k))}</td></tr>'
        for k, v in items.items()
    )
    return (
        f'<table class="summary" aria-label="{html.escape(caption)}"><tbody>{rows}</tbody></table>'
    )
