"""AppTest of the Data page on the bundled data: universe, window, uploads, Yahoo offline."""

from __future__ import annotations

import datetime as dt

import numpy as np
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
    at.multiselect(key="w_universe").set_value(["AAPL", "KO", "XOM"]).run()
    assert not at.exception and at.session_state["universe"] == ["AAPL", "KO", "XOM"]
    assert quality_rows(at) == 3
    at.date_input(key="w_start").set_value(dt.date(2022, 1, 3)).run()
    assert not at.exception and at.session_state["start"] == dt.date(2022, 1, 3)
    first = quality(at)["First date"].min()
    assert str(first)[:10] == "2022-01-03"


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
