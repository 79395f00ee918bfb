"""Trading volume: Yahoo's daily volume kept and cached, the average daily volume (ADV), old
caches without volume, and uploaded volume files (the bounds of a price upload)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from core import market_data as md
from core.exceptions import DataError
from tests.data.yahoo_fake import FakeYahoo, synthetic_prices

# yfinance 1.7 still passes inplace= to pandas 3.1 (its warnings, not ours)
pytestmark = pytest.mark.filterwarnings("ignore::Warning:yfinance")


def _volumes(prices: pd.DataFrame) -> pd.DataFrame:
    """Distinct whole volumes per ticker and day: 1,000 x (column number) + day number."""
    days = np.arange(len(prices))[:, None]
    scale = 1_000 * (1 + np.arange(prices.shape[1]))[None, :]
    return pd.DataFrame(days + scale, index=prices.index, columns=prices.columns, dtype=float)


@pytest.fixture
def yahoo(monkeypatch, tmp_path):
    """A fake Yahoo knowing AAPL, MSFT and ^GSPC with known volumes; cache in tmp_path."""
    monkeypatch.setenv("BALLAST_CACHE_DIR", str(tmp_path / "cache"))
    prices = synthetic_prices(["AAPL", "MSFT", "^GSPC"], "2019-01-01", "2020-12-31")
    return FakeYahoo(prices, volumes=_volumes(prices)).install(monkeypatch)


# -- the average daily volume ---------------------------------------------------------------
def test_adv_of_a_known_volume_frame():
    index = pd.bdate_range("2024-01-01", periods=25)
    volume = pd.DataFrame({"A": np.arange(1.0, 26.0), "B": 100.0, "C": np.nan}, index=index)
    volume.loc[index[-1], "B"] = 0.0  # a day without trades counts
    volume.loc[index[-2], "A"] = np.nan  # an unknown day does not
    adv = md.average_daily_volume(volume)
    rows = [v for v in range(6, 26) if v != 24]  # the last 20 rows, day 24 unknown
    assert adv["A"] == pytest.approx(np.mean(rows))
    assert adv["B"] == pytest.approx(100.0 * 19 / 20)
    assert np.isnan(adv["C"]) and adv.name == "adv"
    assert md.average_daily_volume(volume, window=5, end=index[9])["A"] == pytest.approx(8.0)
    assert md.ADV_WINDOW == 20
    for bad in (0, 2.5, -1, True):
        with pytest.raises(DataError, match="whole number of trading days"):
            md.average_daily_volume(volume, window=bad)


def test_subset_keeps_the_volume_aligned(yahoo):
    data = md.load_yahoo(["AAPL", "MSFT"], "2019-01-01", "2020-12-31", fetch_info=False)
    part = data.subset(["MSFT"], "2020-03-02", "2020-06-30")
    assert list(part.volume.columns) == ["MSFT"]
    assert part.volume.index.equals(part.prices.index)
    pd.testing.assert_series_equal(part.volume["MSFT"], data.volume["MSFT"].loc["2020-03-02":
                                                                                 "2020-06-30"])


# -- Yahoo's volume and the cache -------------------------------------------------------------
def test_yahoo_volume_is_kept_and_survives_the_cache(yahoo):
    data = md.load_yahoo(["AAPL", "MSFT"], "2019-06-01", "2020-12-31")
    expected = yahoo.volumes.loc[data.prices.index, ["AAPL", "MSFT"]]
    assert data.volume.index.equals(data.prices.index)
    np.testing.assert_array_equal(data.volume.to_numpy(), expected.to_numpy())
    adv = md.average_daily_volume(data.volume)
    assert adv["MSFT"] == pytest.approx(float(expected["MSFT"].iloc[-20:].mean()))
    yahoo.online = False
    before = len(yahoo.requests)
    again = md.load_yahoo(["AAPL", "MSFT"], "2019-06-01", "2020-12-31", offline=True)
    assert len(yahoo.requests) == before and again.source == "cache"
    pd.testing.assert_frame_equal(again.volume, data.volume)
    # and from the cache without the offline flag (covered: no request)
    pd.testing.assert_frame_equal(
        md.load_yahoo(["AAPL", "MSFT"], "2019-06-01", "2020-12-31").volume, data.volume)


def _strip_volumes(folder) -> None:
    """Rewrite the cache as an earlier version wrote it: series (ticker, dates, closes)."""
    path = folder / "yahoo.sqlite"
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT ticker, dates, closes FROM series").fetchall()
        con.execute("DROP TABLE series")
        con.execute("CREATE TABLE series (ticker TEXT PRIMARY KEY, dates BLOB, closes BLOB)")
        con.executemany("INSERT INTO series VALUES (?, ?, ?)", rows)


def test_an_old_cache_without_volume_loads_and_is_refreshed_online(yahoo, tmp_path):
    first = md.load_yahoo(["AAPL", "MSFT"], "2019-06-01", "2020-12-31")
    _strip_volumes(tmp_path / "cache")
    yahoo.online = False
    old = md.load_yahoo(["AAPL", "MSFT"], "2019-06-01", "2020-12-31", offline=True)
    pd.testing.assert_frame_equal(old.prices, first.prices)
    assert old.volume is None
    assert any("no trading volumes for AAPL, MSFT" in n for n in old.notes)
    # online but unreachable: the cached prices still load, without volume
    from yfinance.data import YfData

    YfData.cache_get.cache_clear()  # yfinance memoises the GETs it made
    kept = md.load_yahoo(["AAPL", "MSFT"], "2019-06-01", "2020-12-31")
    assert kept.volume is None and kept.source == "cache"
    assert any("without trading volumes" in n for n in kept.notes)
    yahoo.online = True
    fresh = md.load_yahoo(["AAPL", "MSFT"], "2019-06-01", "2020-12-31")
    pd.testing.assert_frame_equal(fresh.volume, first.volume)
    before = len(yahoo.requests)
    md.load_yahoo(["AAPL", "MSFT"], "2019-06-01", "2020-12-31")
    assert len(yahoo.requests) == before  # refreshed once, then covered


# -- uploaded volume files ------------------------------------------------------------------
def _write(tmp_path, frame: pd.DataFrame, fmt: str) -> str:
    path = tmp_path / f"volume.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index_label="Date", date_format="%Y-%m-%d")
    else:
        frame.to_excel(path, index_label="Date")
    return str(path)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_volume_file_in_the_price_layout_loads(tmp_path, fmt):
    index = pd.bdate_range("2024-01-01", periods=30)
    volume = pd.DataFrame({"AAA": np.arange(30) * 10.0 + 5, "BBB": 2_000.0}, index=index)
    volume.loc[index[3], "BBB"] = 0.0
    volume.loc[index[4], "AAA"] = np.nan
    path = _write(tmp_path, volume, fmt)
    with open(path, "rb") as f:
        loaded = md.load_volume(f, f"volume.{fmt}")
    assert loaded.index.equals(pd.DatetimeIndex(index, name="Date"))
    np.testing.assert_array_equal(loaded.to_numpy(), volume.to_numpy())
    assert list(loaded.columns) == ["AAA", "BBB"]
    assert md.average_daily_volume(loaded)["BBB"] == pytest.approx(2_000.0)


def test_a_volume_file_is_checked_like_a_price_file(tmp_path, monkeypatch):
    index = pd.bdate_range("2024-01-01", periods=30)
    volume = pd.DataFrame({"AAA": 100.0, "BBB": 200.0}, index=index)
    volume.loc[index[2], "BBB"] = -5.0
    with pytest.raises(md.FileValidationError, match=r"1 volume\(s\) are negative .*BBB row 4"):
        md.load_volume(_write(tmp_path, volume, "csv"), "volume.csv")
    volume.loc[index[2], "BBB"] = 1.0
    text = volume.to_csv(index_label="Date").replace("200.0", "2000 shares", 1)
    with pytest.raises(md.FileValidationError, match="not numbers"):
        md.load_volume(pd.io.common.StringIO(text), "volume.csv")
    monkeypatch.setattr(md, "MAX_ASSETS", 1)
    monkeypatch.setattr(md.pd, "read_csv", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(md.FileValidationError) as info:
        md.load_volume(_write(tmp_path, volume, "csv"), "volume.csv")
    assert info.value.problem == "too_large"
    with pytest.raises(md.FileValidationError, match="PNG image"):
        md.load_volume(pd.io.common.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), "v.csv")


# -- the ADV of the liquidity limit -------------------------------------------------------------
def test_adv_table_takes_the_data_volume_and_the_user_s_values_win():
    from core import compliance

    index = pd.bdate_range("2024-01-01", periods=30)
    volume = pd.DataFrame({"A": 100.0, "B": 200.0, "C": np.nan}, index=index)
    volume.iloc[-5:, 0] = 1_100.0  # the last 5 days
    setup = {"compliance_adv": {"B": 50.0, "D": 7.0}, "compliance_adv_sources": {"D": "upload"}}
    table = compliance.adv_table(setup, volume)
    assert table.to_dict("index") == {
        "A": {"adv": pytest.approx(100.0 + 5 * 1_000.0 / 20), "source": "Yahoo"},
        "B": {"adv": 50.0, "source": "typed"},
        "D": {"adv": 7.0, "source": "upload"},
    }  # C has no volume: left out, never invented
    five = compliance.adv_table({**setup, "compliance_adv_window": 5}, volume)
    assert five.at["A", "adv"] == pytest.approx(1_100.0)
    assert compliance.adv_table({}, None).empty
    # the limit the optimiser gets: days x participation x ADV x price / capital
    prices = pd.Series({"A": 10.0, "B": 10.0, "C": 10.0})
    terms = compliance.setup_terms({**setup, "compliance_liquidity": True,
                                    "compliance_liquidity_days": 2.0,
                                    "compliance_participation": 0.5}, prices, 1_000.0,
                                   volume=volume)  # fmt: skip
    (limit,) = [r for r in terms["rules"] if isinstance(r, compliance.LiquidityLimit)]
    caps = limit.limits(["A", "B", "C"])
    assert caps["A"] == pytest.approx(2 * 0.5 * 350.0 * 10 / 1_000)
    assert caps["B"] == pytest.approx(2 * 0.5 * 50.0 * 10 / 1_000) and np.isinf(caps["C"])
    assert not compliance.setup_terms({"compliance_liquidity": True}, prices, 1_000.0)["rules"]


def test_the_pipeline_limits_and_reports_with_the_data_s_volume(sample):
    """The command line and the reports: the ADV from the data's volume, the typed one over it."""
    from dataclasses import replace

    from core import compliance
    from core.pipeline import Pipeline

    pytest.importorskip("pyscipopt")
    volume = pd.DataFrame(1e6, index=sample.prices.index, columns=sample.tickers)
    volume["AAPL"] = 100.0  # shares a day
    data = replace(sample, volume=volume)
    setup = {"compliance_liquidity": True, "compliance_liquidity_days": 1.0,
             "compliance_participation": 0.1, "compliance_adv": {"KO": 50.0},
             "compliance_time_limit": 120.0}  # fmt: skip
    p = Pipeline(setup, data)
    w = p.allocation.weights
    px = sample.prices.iloc[-1]
    assert w["AAPL"] <= 0.1 * 100.0 * px["AAPL"] / 100_000 + 1e-9
    assert w["KO"] <= 0.1 * 50.0 * px["KO"] / 100_000 + 1e-9
    text = compliance.report_section(p).text
    assert ("Average daily volume (ADV): 19 from Yahoo's daily volume (mean of the last 20 "
            "trading days to 2022-12-28), 1 typed") in text
