"""The Data page's logic: choose and load a source, align histories, edit sectors, show quality.

Loading never replaces the data in use unless it succeeds: every ``BallastError`` is shown with
``st.error`` (or as a choice, for misaligned histories and an unreachable Yahoo) and the previous
``price_data`` stays. A pending choice lives in ``st.session_state["data_pending"]`` (not a setup
key: it may hold file bytes) until the user picks a way out.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pandas as pd
import streamlit as st

from core import market_data as md
from core.exceptions import BallastError, UnknownTickerError
from ui import state
from ui.widgets import csv_download, md_escape, percent_column, show_error, synced

SOURCES = {"sample": "Bundled S&P 500 sample", "yahoo": "Yahoo Finance", "upload": "Upload a file"}
_PENDING = "data_pending"
_DEFAULT_TICKERS = "AAPL MSFT NVDA AMZN JPM XOM JNJ PG KO WMT"
#: Most assets drawn as lines on the price chart, and in the correlation heatmap.
CHART_ASSETS, HEATMAP_ASSETS = 50, 200


def _load(kind: str, params: dict[str, Any], alignment: str = "strict") -> bool:
    """Load a source; on success install it and return True, else show why and keep the data."""
    st.session_state.pop(_PENDING, None)
    try:
        with st.spinner("Loading prices..."):
            if kind == "sample":
                data, source = md.load_sample(), {"kind": "sample"}
            elif kind == "yahoo":
                data = md.load_yahoo(
                    params["tickers"],
                    params["start"],
                    params["end"],
                    benchmark=params["benchmark"] or None,
                    alignment=alignment,
                    offline=params.get("offline", False),
                )
                source = md.yahoo_descriptor(
                    params["tickers"],
                    params["start"],
                    params["end"],
                    params["benchmark"] or None,
                    alignment,
                )
            else:
                sectors = None
                if params.get("sectors_bytes") is not None:
                    sectors = md.load_sectors(
                        io.BytesIO(params["sectors_bytes"]), params["sectors_filename"]
                    )
                data = md.load_upload(
                    io.BytesIO(params["bytes"]),
                    params["filename"],
                    alignment=alignment,
                    benchmark=params["benchmark"] or None,
                    sectors=sectors,
                    sheet_name=params.get("sheet"),
                )
                source = md.upload_descriptor(data, params["filename"])
    except md.StartDatesDifferError as exc:
        st.session_state[_PENDING] = {"kind": kind, "params": params, "error": exc}
        return False
    except md.YahooUnavailableError as exc:
        st.session_state[_PENDING] = {"kind": kind, "params": params, "error": exc}
        return False
    except UnknownTickerError as exc:
        show_error(exc, "Yahoo Finance")
        return False
    except BallastError as exc:
        show_error(exc, "The data were not loaded")
        return False
    state.set_price_data(data)
    st.session_state["data_source"] = source  # the radio re-reads it (widget state was cleared)
    return True


def _pending_choice() -> None:
    """Offer the ways out of a misalignment or an unreachable Yahoo, as buttons."""
    pending = st.session_state.get(_PENDING)
    if not pending:
        return
    exc, kind, params = pending["error"], pending["kind"], pending["params"]
    if isinstance(exc, md.StartDatesDifferError):
        st.warning(md_escape(exc), icon=":material/date_range:")
        c1, c2, c3 = st.columns(3)
        if c1.button(
            f"Use the common window ({exc.common_observations} dates)",
            key="align_common",
            disabled=exc.common_start > exc.common_end,
        ):
            if _load(kind, params, "common"):
                st.rerun()
        if c2.button(f"Drop the short ones ({len(exc.dropped)})", key="align_drop"):
            if _load(kind, params, "drop"):
                st.rerun()
        if c3.button("Cancel", key="align_cancel"):
            st.session_state.pop(_PENDING, None)
            st.rerun()
        return
    show_error(exc, icon=":material/cloud_off:")
    c1, c2 = st.columns(2)
    if c1.button("Use cached data", key="use_cache", disabled=not exc.cached):
        if _load("yahoo", {**params, "offline": True}):
            st.rerun()
    if c2.button("Use the bundled sample", key="use_sample"):
        if _load("sample", {}):
            st.rerun()


def source_chooser() -> None:
    """The source radio and the inputs and button of the chosen source."""
    current = st.session_state["data_source"]
    if "w_data_kind" not in st.session_state:
        st.session_state["w_data_kind"] = current.get("kind", "sample")
    kind = st.radio(
        "Source",
        list(SOURCES),
        format_func=SOURCES.get,
        key="w_data_kind",
        horizontal=True,
        label_visibility="collapsed",
    )
    if kind == "sample":
        st.caption(
            "20 US large caps, daily adjusted closes 1990-2022, the S&P 500 index as "
            "benchmark, GICS sectors; bundled with skfolio, works offline."
        )
        if st.button("Load the bundled sample", disabled=current.get("kind") == "sample"):
            if _load("sample", {}):
                st.rerun()
    elif kind == "yahoo":
        _yahoo_inputs(current)
    else:
        _upload_inputs()
    _pending_choice()


def _yahoo_inputs(current: dict[str, Any]) -> None:
    yahoo = current if current.get("kind") == "yahoo" else {}
    tickers = st.text_input(
        "Yahoo tickers (separated by spaces or commas)",
        value=" ".join(yahoo.get("tickers", [])) or _DEFAULT_TICKERS,
        key="yahoo_tickers",
    )
    c1, c2, c3 = st.columns(3)
    today = dt.date.today()
    first = dt.date(1900, 1, 1)
    start = c1.date_input(
        "From",
        value=_day(yahoo.get("start"), today - dt.timedelta(days=5 * 365), first, today),
        min_value=first,
        max_value=today,
        key="yahoo_start",
    )
    end = c2.date_input(
        "To",
        value=_day(yahoo.get("end"), today, first, today),
        min_value=first,
        max_value=today,
        key="yahoo_end",
    )
    benchmark = c3.text_input(
        "Benchmark ticker (optional)",
        value=yahoo.get("benchmark", md.DEFAULT_BENCHMARK) or "",
        key="yahoo_benchmark",
    )
    st.caption(
        "Adjusted closes (splits and dividends) from Yahoo Finance via yfinance, kept in a "
        "local cache on the server, so a second load is instant and works offline. A load "
        f"gives up after {md.YAHOO_DEADLINE:g} s without an answer."
    )
    if st.button("Load from Yahoo Finance", type="primary", key="yahoo_load"):
        params = {"tickers": tickers, "start": start, "end": end, "benchmark": benchmark.strip()}
        if _load("yahoo", params):
            st.rerun()


def _upload_inputs() -> None:
    file = st.file_uploader(
        "Prices file (CSV or Excel): a Date column, then one column of adjusted closes per ticker",
        type=["csv", "txt", "xlsx", "xlsm"],
        key="upload_file",
    )
    st.caption(
        f"Up to {md.MAX_ASSETS:,} assets, {md.MAX_ROWS:,} dates and {md.MAX_CELLS:,} prices. "
        "Sectors: a row 2 whose date cell reads Sector, or a second file below."
    )
    sheet = _sheet_choice(file)
    c1, c2 = st.columns(2)
    benchmark = c1.text_input(
        "Benchmark column in the file (optional)", value="", key="upload_benchmark"
    )
    sectors = c2.file_uploader(
        "Sectors file (optional): two columns, ticker and sector",
        type=["csv", "txt", "xlsx"],
        key="upload_sectors",
    )
    if st.button("Load the file", type="primary", disabled=file is None, key="upload_load"):
        params = {"bytes": file.getvalue(), "filename": file.name, "benchmark": benchmark.strip()}
        params["sheet"] = sheet
        if sectors is not None:
            params |= {"sectors_bytes": sectors.getvalue(), "sectors_filename": sectors.name}
        if _load("upload", params):
            st.rerun()


_FIRST_PRICES = "The first sheet that holds prices"


def _sheet_choice(file: Any) -> str | None:
    """A select box of a workbook's sheets, if it has several (None: the first with prices)."""
    if file is None or not file.getvalue().startswith(b"PK\x03\x04"):
        return None
    try:
        sheets = md.excel_sheets(io.BytesIO(file.getvalue()))
    except BallastError:
        return None  # loading says why
    if len(sheets) < 2:
        return None
    chosen = st.selectbox("Sheet", [_FIRST_PRICES, *sheets], key="upload_sheet")
    return None if chosen == _FIRST_PRICES else chosen


def _day(value: Any, default: dt.date, lo: dt.date, hi: dt.date) -> dt.date:
    """A setup's date as a widget value: unreadable -> ``default``, then clamped to [lo, hi]."""
    try:
        day = default if value is None else pd.Timestamp(value).date()
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        day = default
    return min(max(day, lo), hi)


def universe_and_window() -> None:
    """Universe multiselect and date window, bound to the setup keys.

    The multiselect sits in a form: the user picks or drops several tickers and presses
    "Apply" once, instead of recomputing the page after each ticker.
    """
    data = state.price_data()
    first, last = data.prices.index[0].date(), data.as_of.date()
    ss = st.session_state
    ss["universe"] = [t for t in (ss["universe"] or data.tickers) if t in data.tickers]
    ss["start"] = _day(ss["start"], first, first, last)
    ss["end"] = _day(ss["end"], last, first, last)
    with st.form("universe_form", border=False):
        synced(st.multiselect, "universe", "Universe", options=data.tickers)
        st.form_submit_button("Apply", icon=":material/check:", key="universe_apply",
                              help="Recompute the pages with this universe")  # fmt: skip
    c1, c2 = st.columns(2)
    with c1:
        synced(st.date_input, "start", "Window start", min_value=first, max_value=last)
    with c2:
        synced(st.date_input, "end", "Window end", min_value=first, max_value=last)


def notes() -> None:
    """What loading changed or left out, from ``PriceData.notes``."""
    data = state.price_data()
    if data.unknown_tickers:
        st.warning(
            md_escape("Unknown to Yahoo Finance, not loaded: " + ", ".join(data.unknown_tickers)),
            icon=":material/help:",
        )
    for warning in data.warnings:
        st.warning(warning, icon=":material/warning:")
    for note in data.notes:
        st.info(md_escape(note), icon=":material/info:")


def window_warnings(window: md.PriceData) -> None:
    """Warn when the window cannot support the estimates (e.g. more assets than returns)."""
    for warning in md.window_warnings(window.prices):
        st.warning(warning, icon=":material/warning:")


def sector_editor() -> None:
    """Let the user type the universe's sectors (those the source did not give are "Unknown").

    Typed sectors go into the setup (``data_source["sectors"]``, ticker -> sector, merged with
    those typed before), so a saved setup or a reload of the source keeps them.
    """
    data = state.price_data()
    universe = [t for t in st.session_state["universe"] if t in data.tickers] or data.tickers
    sectors = data.sectors.reindex(universe).fillna("Unknown")
    unknown = int((sectors == "Unknown").sum())
    label = f"Sectors ({unknown} unknown)" if unknown else "Sectors"
    with st.expander(label, expanded=bool(unknown)):
        base = pd.DataFrame({"Ticker": sectors.index, "Sector": sectors.to_numpy()})
        edited = st.data_editor(
            base,
            key=f"sectors_{data.source}_{md.fingerprint(sectors)}",
            disabled=["Ticker"],
            hide_index=True,
            width="stretch",
        )
        if st.button("Apply sectors", key="apply_sectors"):
            new = {r.Ticker: str(r.Sector or "").strip() or "Unknown" for r in edited.itertuples()}
            updated = md.with_sectors(data, new)
            st.session_state["price_data"] = updated
            source = dict(st.session_state["data_source"])
            typed = {**source.get("sectors", {}), **new}
            source["sectors"] = {t: s for t, s in typed.items() if s != "Unknown"}
            st.session_state["data_source"] = source
            st.session_state["allocation"] = None  # sector constraints may have changed
            st.rerun()


def quality_table(window: md.PriceData) -> pd.DataFrame:
    """The data-quality table of the window (decimals), with readable column names."""
    q = md.data_quality(window.prices, window.filled)
    q.insert(0, "sector", window.sectors.reindex(q.index).fillna("Unknown"))
    q.index.name = "Ticker"
    return q.rename(columns=_QUALITY_COLUMNS)


_QUALITY_COLUMNS = {
    "sector": "Sector",
    "first_date": "First date",
    "last_date": "Last date",
    "observations": "Observations",
    "missing_share": "Missing (%)",
    "annualised_return": "Mean return (annualised, %)",
    "annualised_volatility": "Volatility (annualised, %)",
}


def show_quality(table: pd.DataFrame) -> None:
    """Render the quality table (percentages) and its CSV download (decimals)."""
    pct = percent_column()
    day = st.column_config.DateColumn(format="YYYY-MM-DD")
    st.dataframe(
        table,
        width="stretch",
        column_config={
            "Missing (%)": pct,
            "Mean return (annualised, %)": pct,
            "Volatility (annualised, %)": pct,
            "First date": day,
            "Last date": day,
        },
    )
    download = table.rename(
        columns={
            "Missing (%)": "missing_share_decimal",
            "Mean return (annualised, %)": "annualised_return_decimal",
            "Volatility (annualised, %)": "annualised_volatility_decimal",
        }
    )
    csv_download(
        "Download the quality table (CSV, decimals)",
        download.to_csv(date_format="%Y-%m-%d").encode(),
        "ballast_data_quality.csv",
    )
