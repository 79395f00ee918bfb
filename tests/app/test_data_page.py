"""AppTest of the Data page on the bundled data: universe, window, uploads, Yahoo offline."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from tests.app.conftest import open_page
from tests.data.yahoo_fake import FakeYahoo, synthetic_prices

PAGE = "pages/1_Data.py"
pytestmark = pytest.mark.filterwarnings("ignore::Warning:yfinance")


@pytest.fixture
def at():
    return open_page(PAGE)


@pytest.fixture
def yahoo(monkeypatch, tmp_path):
    """Fake Yahoo HTTP (yfinance's own code runs), cache in tmp_path, six years to today."""
    monkeypatch.setenv("BALLAST_CACHE_DIR", str(tmp_path / "cache"))
    today = dt.date.today()
    prices = synthetic_prices(
        ["AAPL", "MSFT", "^GSPC"], str(today.replace(year=today.year - 6)), str(today)
    )
    return FakeYahoo(prices, {"AAPL": "Technology"}).install(monkeypatch)


def quality(at):
    """The data-quality table (the sector editor is a dataframe element too)."""
    return next(d.value for d in at.dataframe if "Observations" in d.value.columns)


def quality_rows(at) -> int:
    return len(quality(at))


def test_renders_on_the_sample(at):
    assert not at.exception and not at.error
    assert at.session_state["price_data"].source == "sample"
    assert quality_rows(at) == 20
    assert at.radio(key="w_data_kind").value == "sample"


def test_universe_and_window_change_the_setup(at):
    at.multiselect(key="w_universe").set_value(["AAPL", "KO", "XOM"])
    at.button(key="universe_apply").click().run()
    assert not at.exception and at.session_state["universe"] == ["AAPL", "KO", "XOM"]
    assert quality_rows(at) == 3
    at.date_input(key="w_start").set_value(dt.date(2022, 1, 3)).run()
    assert not at.exception and at.session_state["start"] == dt.date(2022, 1, 3)
    first = quality(at)["First date"].min()
    assert str(first)[:10] == "2022-01-03"


def test_universe_changes_apply_together(at):
    # Each ticker added or dropped recomputed the whole page (1.4-2.5 s each); the multiselect
    # is now in a form and the page recomputes once, on "Apply".
    before = list(at.session_state["universe"])
    at.multiselect(key="w_universe").set_value(["AAPL", "KO"]).run()
    assert at.session_state["universe"] == before and quality_rows(at) == 20
    at.multiselect(key="w_universe").set_value(["AAPL", "KO", "XOM", "JPM"])
    at.button(key="universe_apply").click().run()
    assert not at.exception and at.session_state["universe"] == ["AAPL", "KO", "XOM", "JPM"]
    assert quality_rows(at) == 4


def test_too_short_window_is_an_error_not_a_traceback(at):
    at.date_input(key="w_start").set_value(dt.date(2022, 12, 1)).run()
    assert not at.exception
    assert any("observations" in e.value for e in at.error)


def upload(at, name: str, content: bytes):
    at.radio(key="w_data_kind").set_value("upload").run()
    at.file_uploader(key="upload_file").upload(name, content, "text/csv").run()
    at.button(key="upload_load").click().run()
    return at


def test_bad_upload_shows_the_error_and_keeps_the_data(at, sample):
    csv = sample.prices.iloc[:80, :3].to_csv()
    csv = csv.replace(csv.splitlines()[5].split(",")[1], "oops", 1)
    upload(at, "bad.csv", csv.encode())
    assert not at.exception
    assert any("not numbers" in e.value and "row 6" in e.value for e in at.error)
    assert at.session_state["price_data"].source == "sample"
    assert at.session_state["data_source"] == {"kind": "sample"}


def test_upload_with_staggered_starts_offers_the_common_window(at, sample):
    prices = sample.prices.iloc[-200:, :3].copy()
    prices.iloc[:30, 1] = np.nan
    upload(at, "prices.csv", prices.to_csv().encode())
    assert not at.exception and any("common window" in w.value for w in at.warning)
    at.button(key="align_common").click().run()
    assert not at.exception and not at.error
    data = at.session_state["price_data"]
    assert data.source == "upload" and len(data.prices) == 170
    assert at.session_state["data_source"]["kind"] == "upload"
    assert at.session_state["universe"] == list(prices.columns)


def test_yahoo_loads_and_names_unknown_tickers(at, yahoo):
    at.radio(key="w_data_kind").set_value("yahoo").run()
    at.text_input(key="yahoo_tickers").set_value("AAPL MSFT NOPE").run()
    at.button(key="yahoo_load").click().run()
    assert not at.exception and not at.error
    data = at.session_state["price_data"]
    assert data.tickers == ["AAPL", "MSFT"] and data.benchmark is not None
    assert any("NOPE" in w.value for w in at.warning)
    assert at.session_state["data_source"]["tickers"] == ["AAPL", "MSFT", "NOPE"]
    assert any("1 unknown" in e.label for e in at.expander)  # MSFT has no sector


def test_offline_yahoo_says_so_and_offers_cache_or_sample(at, yahoo):
    yahoo.online = False
    at.radio(key="w_data_kind").set_value("yahoo").run()
    at.text_input(key="yahoo_tickers").set_value("AAPL MSFT").run()
    at.button(key="yahoo_load").click().run()
    assert not at.exception
    assert any("cannot be reached" in e.value for e in at.error)
    assert at.button(key="use_cache").disabled  # nothing cached yet
    assert at.session_state["price_data"].source == "sample"
    at.button(key="use_sample").click().run()
    assert not at.exception and at.session_state["price_data"].source == "sample"


def test_offline_yahoo_uses_the_cache(at, yahoo):
    at.radio(key="w_data_kind").set_value("yahoo").run()
    at.text_input(key="yahoo_tickers").set_value("AAPL").run()
    at.button(key="yahoo_load").click().run()
    yahoo.online = False
    at.text_input(key="yahoo_tickers").set_value("AAPL MSFT").run()
    at.button(key="yahoo_load").click().run()
    assert any("cannot be reached" in e.value for e in at.error)
    at.button(key="use_cache").click().run()
    assert not at.exception
    data = at.session_state["price_data"]
    assert data.source == "cache" and data.tickers == ["AAPL"]


# -- issue 10: hostile and odd uploads, sectors, cache keys, a hung Yahoo ----------------------
def upload_file(at, name: str, content: bytes, sectors: tuple[str, bytes] | None = None):
    at.radio(key="w_data_kind").set_value("upload").run()
    at.file_uploader(key="upload_file").upload(name, content, "application/octet-stream").run()
    if sectors is not None:
        at.file_uploader(key="upload_sectors").upload(*sectors, "text/csv").run()
    at.button(key="upload_load").click().run()
    return at


def csv_of(rows: list[list]) -> bytes:
    return "\n".join(",".join(str(c) for c in r) for r in rows).encode()


def sample_rows(sample, n_rows: int = 80, n_assets: int = 3) -> list[list]:
    prices = sample.prices.iloc[-n_rows:, :n_assets]
    values = prices.to_numpy()
    return [["Date", *prices.columns]] + [
        [d.strftime("%Y-%m-%d"), *map(float, r)] for d, r in zip(prices.index, values, strict=True)
    ]


def xlsx_of(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for r in rows:
        book.active.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def hostile(sample) -> dict[str, tuple[str, bytes, str]]:
    """name -> (file name, content, a phrase the error must contain)."""
    rows = sample_rows(sample)
    out = {}
    r = [list(x) for x in rows]
    r[5][1] = "inf"
    out["inf"] = ("inf.csv", csv_of(r), "AAPL row 6")
    r = [list(x) for x in rows]
    r[7][2] = "1e400"
    out["1e400"] = ("big.csv", csv_of(r), "not finite")
    r = [list(x) for x in rows]
    r[0][2] = "AAPL"
    out["duplicate header"] = ("dup.csv", csv_of(r), "'AAPL' (columns 2, 3)")
    r = [list(x) for x in rows]
    for i, x in enumerate(r[1:]):
        x[0] = 1940 + i
    out["plain years"] = ("years.csv", csv_of(r), "plain years")
    r = [list(x) for x in rows]
    r[3][0] = "1600-01-01"
    out["1600"] = ("old.xlsx", xlsx_of(r), "1600-01-01")
    r = [list(x) for x in rows]
    r[-1][0] = "9999-12-31"
    out["9999"] = ("far.csv", csv_of(r), "9999-12-31")
    out["png"] = ("prices.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "PNG image")
    wide = [["Date", *[f"T{i}" for i in range(3_000)]], ["2020-01-01", *[1.0] * 3_000]]
    out["3000 columns"] = ("wide.csv", csv_of(wide), "3,000 price columns")
    r = [list(x) for x in rows]
    r[4][0] = "05/08/2022"
    out["mixed dates"] = ("mixed.csv", csv_of(r), "mix formats")
    return out


@pytest.mark.parametrize(
    "case",
    ["inf", "1e400", "duplicate header", "plain years", "1600", "9999", "png", "3000 columns",
     "mixed dates"],
)  # fmt: skip
def test_hostile_uploads_show_a_message_and_keep_the_data(at, sample, case):
    name, content, phrase = hostile(sample)[case]
    upload_file(at, name, content)
    assert not at.exception
    assert any(phrase in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["price_data"].source == "sample"
    assert at.session_state["data_source"] == {"kind": "sample"}


def test_a_thousandfold_jump_is_a_warning_on_the_data_page(at, sample):
    rows = sample_rows(sample)
    for r in rows[41:]:
        r[2] *= 1000
    upload_file(at, "jump.csv", csv_of(rows))
    assert not at.exception and not at.error
    day = rows[41][0]
    assert any("AMD" in w.value and day in w.value and "split" in w.value for w in at.warning)


def test_more_assets_than_returns_warns_on_the_data_page(at):
    prices = synthetic_prices([f"T{i}" for i in range(70)], "2023-01-02", "2023-03-31")
    upload_file(at, "many.csv", prices.to_csv().encode())  # 64 dates, 70 assets
    assert not at.exception and at.session_state["price_data"].source == "upload"
    assert any("singular" in w.value and "Sharpe" in w.value for w in at.warning)
    assert any("first 50 of 70 assets" in c.value for c in at.caption)  # the price chart


def test_sectors_from_a_sector_row_and_a_sectors_file(at, sample):
    rows = sample_rows(sample)
    rows.insert(1, ["Sector", "Tech", "", "Banks"])
    upload_file(at, "sectors.xlsx", xlsx_of(rows), ("s.csv", b"ticker,sector\nAMD,Chips\n"))
    assert not at.exception and not at.error
    data = at.session_state["price_data"]
    assert data.sectors.to_dict() == {"AAPL": "Tech", "AMD": "Chips", "BAC": "Banks"}
    kept = at.session_state["data_source"]["sectors"]
    assert kept == {"AAPL": "Tech", "AMD": "Chips", "BAC": "Banks"}


def test_the_sector_editor_lists_only_the_universe_and_keeps_typed_sectors(at):
    at.multiselect(key="w_universe").set_value(["AAPL", "KO", "XOM"])
    at.button(key="universe_apply").click().run()
    editor = next(d for d in at.dataframe if "Sector" in d.value.columns and "Ticker" in d.value)
    assert editor.value["Ticker"].tolist() == ["AAPL", "KO", "XOM"]
    at.session_state["data_source"] = {"kind": "sample", "sectors": {"JNJ": "Pharma"}}
    at.button(key="apply_sectors").click().run()
    assert not at.exception
    assert at.session_state["data_source"]["sectors"]["JNJ"] == "Pharma"  # outside: kept
    assert at.session_state["data_source"]["sectors"]["AAPL"] == "Information Technology"


def test_window_and_yahoo_dates_beyond_pandas_years_do_not_break_the_page():
    at = open_page(
        PAGE,
        start=dt.date(1600, 1, 1),
        end=dt.date(9999, 12, 31),
        data_source={"kind": "yahoo", "tickers": ["AAPL"], "start": "1600-01-01",
                     "end": "9999-12-31", "benchmark": None},
    )  # fmt: skip
    assert not at.exception and not at.error
    assert at.session_state["start"] == dt.date(1990, 1, 2)
    assert at.session_state["end"] == dt.date(2022, 12, 28)
    at.radio(key="w_data_kind").set_value("yahoo").run()
    assert not at.exception
    assert at.date_input(key="yahoo_start").value == dt.date(1900, 1, 1)
    assert at.date_input(key="yahoo_end").value == dt.date.today()


def test_a_hung_yahoo_answers_with_a_message_by_the_deadline(at, yahoo, monkeypatch):
    from core import market_data as md

    monkeypatch.setattr(md, "YAHOO_DEADLINE", 1.0)
    yahoo.hang = 120.0
    try:
        at.radio(key="w_data_kind").set_value("yahoo").run()
        at.button(key="yahoo_load").click().run(timeout=60)
    finally:
        yahoo.release()
    assert not at.exception
    assert any("did not answer within 1 s" in e.value for e in at.error)
    assert at.session_state["price_data"].source == "sample"


def test_caches_tell_apart_60000_row_frames_that_differ_outside_streamlits_sample():
    from streamlit.runtime.caching.hashing import _PANDAS_SAMPLE_SIZE, _sample_seed

    from ui import cache

    index = pd.bdate_range("1800-01-01", periods=60_000)
    rng = np.random.default_rng(3)
    a = pd.DataFrame(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, (60_000, 2)), axis=0)),
        index=index,
        columns=["AAA", "BBB"],
    )
    sampled = set(a.sample(n=_PANDAS_SAMPLE_SIZE, random_state=_sample_seed()).index)
    row = next(i for i in range(30_000, 60_000) if index[i] not in sampled)
    b = a.copy()
    b.iloc[row, 0] *= 3.0  # one bad tick, on a row Streamlit's hash never looks at
    first = cache.covariance(a, "sample")
    second = cache.covariance(b, "sample")
    assert not np.allclose(first.to_numpy(), second.to_numpy())
    assert np.allclose(cache.covariance(a, "sample").to_numpy(), first.to_numpy())


def test_a_workbook_of_several_sheets_offers_them_and_reads_the_chosen_one(at, sample):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "README"
    book.active.append(["Closing prices, two universes."])
    for title, start in [("Stocks", 0), ("Others", 3)]:
        sheet = book.create_sheet(title)
        prices = sample.prices.iloc[-80:, start : start + 3]
        sheet.append(["Date", *prices.columns])
        for d, r in zip(prices.index, prices.to_numpy(), strict=True):
            sheet.append([d.strftime("%Y-%m-%d"), *map(float, r)])
    buf = io.BytesIO()
    book.save(buf)
    at.radio(key="w_data_kind").set_value("upload").run()
    at.file_uploader(key="upload_file").upload("book.xlsx", buf.getvalue(), "application/zip").run()
    assert at.selectbox(key="upload_sheet").options[1:] == ["README", "Stocks", "Others"]
    at.button(key="upload_load").click().run()  # by default: the first sheet with prices
    assert not at.exception and at.session_state["price_data"].tickers == ["AAPL", "AMD", "BAC"]
    assert any("'Stocks'" in i.value and "'README'" in i.value for i in at.info)
    at.radio(key="w_data_kind").set_value("upload").run()
    at.selectbox(key="upload_sheet").set_value("Others").run()
    at.button(key="upload_load").click().run()
    assert not at.exception and at.session_state["price_data"].tickers == ["BBY", "CVX", "GE"]
    at.selectbox(key="upload_sheet").set_value("README").run()
    at.button(key="upload_load").click().run()
    assert not at.exception and at.session_state["price_data"].tickers == ["BBY", "CVX", "GE"]
    assert at.error  # README holds no prices: said, old data kept
