"""Market data: uploads (real CSV and Excel files), Yahoo through yfinance's own code with only
HTTP faked, the on-disk cache, data quality and source descriptors."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from pypfopt import expected_returns as pypfopt_returns

from core import market_data as md
from core.exceptions import BallastError, DataError, DataSourceUnavailableError, UnknownTickerError
from tests.data.yahoo_fake import FakeYahoo, synthetic_prices

FORMATS = ["csv", "xlsx"]
# yfinance 1.7 still passes inplace= to pandas 3.1 (its warnings, not ours)
pytestmark = pytest.mark.filterwarnings("ignore::Warning:yfinance")


# -- helpers ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(sample) -> pd.DataFrame:
    """120 real prices of four sample stocks (2022)."""
    return sample.prices.iloc[-120:, :4]


def write(tmp_path, frame: pd.DataFrame, fmt: str, name: str = "prices", index=True) -> str:
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=index, date_format="%Y-%m-%d")
    else:
        frame.to_excel(path, index=index)
    return str(path)


def raw_frame(prices: pd.DataFrame) -> pd.DataFrame:
    """Prices as an object table with ISO date strings (cells can then be spoiled freely)."""
    out = prices.astype(object).copy()
    out.insert(0, "Date", [d.strftime("%Y-%m-%d") for d in prices.index])
    return out.reset_index(drop=True)


def load(path: str) -> md.PriceData:
    return md.load_upload(path, path)


def problem_of(path: str, **kwargs) -> md.FileValidationError:
    with pytest.raises(md.FileValidationError) as info:
        md.load_upload(path, path, **kwargs)
    assert isinstance(info.value, BallastError)
    return info.value


# -- good files --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_of_real_prices(tmp_path, small, fmt):
    path = write(tmp_path, small, fmt)
    data = md.load_csv(path) if fmt == "csv" else md.load_excel(path)
    assert data.source == "upload" and data.tickers == list(small.columns)
    pd.testing.assert_frame_equal(data.prices, small, check_freq=False, check_names=False)
    assert (data.sectors == "Unknown").all() and data.filled is None and data.notes == ()


def test_load_csv_accepts_buffers_semicolons_and_day_first_dates(small):
    text = small.to_csv(sep=";", date_format="%d/%m/%Y")
    data = md.load_csv(io.StringIO(text))
    pd.testing.assert_index_equal(data.prices.index, small.index, check_names=False)
    data = md.load_csv(io.BytesIO(small.to_csv().encode()))
    assert data.prices.shape == small.shape


def test_descending_dates_are_sorted_and_noted(tmp_path, small):
    data = load(write(tmp_path, small.iloc[::-1], "csv"))
    assert data.prices.index.is_monotonic_increasing
    assert any("sorted" in n for n in data.notes)


def test_benchmark_column_and_sectors(tmp_path, small):
    path = write(tmp_path, small, "csv")
    data = md.load_csv(path, benchmark="AAPL", sectors={"AMD": "Information Technology"})
    assert "AAPL" not in data.tickers and data.benchmark.name == "AAPL"
    assert data.sectors["AMD"] == "Information Technology" and data.sectors["BAC"] == "Unknown"


def test_gaps_are_filled_and_counted(tmp_path, small):
    holes = small.copy()
    holes.iloc[[10, 11, 50], 1] = np.nan
    data = load(write(tmp_path, holes, "csv"))
    assert not data.prices.isna().any().any()
    assert data.prices.iloc[11, 1] == small.iloc[9, 1]  # previous close carried over
    assert int(data.filled.sum().sum()) == 3 and any("AMD (3)" in n for n in data.notes)
    q = md.data_quality(data.prices, data.filled)
    assert q.loc["AMD", "missing_share"] == pytest.approx(3 / len(small))
    assert q.loc["AMD", "observations"] == len(small) - 3


def test_excel_serial_dates(tmp_path, small):
    serial = (small.index - pd.Timestamp("1899-12-30")).days
    frame = small.reset_index(drop=True)
    frame.insert(0, "Date", serial)
    data = load(write(tmp_path, frame, "xlsx", index=False))
    pd.testing.assert_index_equal(data.prices.index, small.index, check_names=False)


# -- bad files: one error each, naming rows and columns -----------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_unparseable_dates(tmp_path, small, fmt):
    raw = raw_frame(small)
    raw.loc[4, "Date"] = "31/31/2022"
    raw.loc[7, "Date"] = "yesterday"
    err = problem_of(write(tmp_path, raw, fmt, index=False))
    assert err.problem == "dates" and err.rows == [6, 9]
    assert "row 6: '31/31/2022'" in str(err) and "'yesterday'" in str(err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_dates(tmp_path, small, fmt):
    raw = raw_frame(small)
    raw.loc[5, "Date"] = raw.loc[4, "Date"]
    err = problem_of(write(tmp_path, raw, fmt, index=False))
    assert err.problem == "duplicate_dates" and err.rows == [6, 7]
    assert f"{raw.loc[4, 'Date']} (rows 6, 7)" in str(err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_non_numeric_cells(tmp_path, small, fmt):
    raw = raw_frame(small)
    raw.loc[3, "BAC"] = "n/a?"
    raw.loc[8, "AMD"] = "$12.50"
    err = problem_of(write(tmp_path, raw, fmt, index=False))
    assert err.problem == "non_numeric" and set(err.columns) == {"AMD", "BAC"}
    assert err.rows == [5, 10] and "BAC row 5: 'n/a?'" in str(err) and "'$12.50'" in str(err)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad", [0.0, -3.5])
def test_zero_or_negative_prices(tmp_path, small, fmt, bad):
    spoiled = small.copy()
    spoiled.iloc[20, 2] = bad
    err = problem_of(write(tmp_path, spoiled, fmt))
    assert err.problem == "non_positive" and err.columns == ["BAC"] and err.rows == [22]
    assert f"BAC row 22: {bad:g}" in str(err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_all_empty_column(tmp_path, small, fmt):
    spoiled = small.copy()
    spoiled["EMPTY"] = np.nan
    err = problem_of(write(tmp_path, spoiled, fmt))
    assert err.problem == "empty_columns" and err.columns == ["EMPTY"] and "EMPTY" in str(err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_few_observations(tmp_path, small, fmt):
    err = problem_of(write(tmp_path, small.iloc[: md.MIN_OBSERVATIONS - 1], fmt))
    assert err.problem == "too_few_observations"
    assert f"{md.MIN_OBSERVATIONS - 1} observation" in str(err)


def test_unnamed_price_column(tmp_path, small):
    raw = raw_frame(small)
    raw = raw.rename(columns={"BAC": ""})
    err = problem_of(write(tmp_path, raw, "csv", index=False))
    assert err.problem == "unnamed_columns" and "number 4" in str(err)


def test_trailing_separators_are_ignored(tmp_path, small):
    text = "\n".join(line + ",," for line in small.to_csv().splitlines())
    path = tmp_path / "trailing.csv"
    path.write_text(text)
    data = load(str(path))
    assert data.tickers == list(small.columns) and any("without a header" in n for n in data.notes)


@pytest.mark.parametrize(
    ("name", "content"),
    [("garbage.xlsx", b"not a workbook at all"), ("only_dates.csv", b"Date\n2020-01-02\n")],
)
def test_unreadable_or_priceless_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    err = problem_of(str(path))
    assert err.problem in {"unreadable", "no_prices"}


# -- histories that start or end on different dates ----------------------------------------------
@pytest.fixture
def staggered(small) -> pd.DataFrame:
    """AMD starts 15 rows late, BAC ends 5 rows early."""
    out = small.copy()
    out.iloc[:15, 1] = np.nan
    out.iloc[-5:, 2] = np.nan
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_start_dates_differ_names_each_asset_and_both_ways_out(tmp_path, staggered, fmt):
    err = problem_of(write(tmp_path, staggered, fmt))
    assert isinstance(err, md.StartDatesDifferError) and err.problem == "start_dates"
    assert err.starts["AMD"] == staggered.index[15] and err.ends["BAC"] == staggered.index[-6]
    assert err.common_start == staggered.index[15] and err.common_end == staggered.index[-6]
    assert err.common_observations == len(staggered) - 20
    assert sorted(err.dropped) == ["AMD", "BAC"]
    text = str(err)
    assert f"AMD from {staggered.index[15].date()}" in text and "common window" in text
    assert "drop the short ones" in text


def test_alignment_common_and_drop(tmp_path, staggered, small):
    path = write(tmp_path, staggered, "csv")
    common = md.load_csv(path, alignment="common")
    assert common.tickers == list(small.columns) and len(common.prices) == len(small) - 20
    pd.testing.assert_frame_equal(
        common.prices, small.iloc[15:-5], check_freq=False, check_names=False
    )
    dropped = md.load_csv(path, alignment="drop")
    assert dropped.tickers == ["AAPL", "BBY"] and len(dropped.prices) == len(small)


def test_common_window_too_short_is_explained(tmp_path, small):
    late = small.copy()
    late.iloc[: len(small) - 30, 0] = np.nan
    err = problem_of(write(tmp_path, late, "csv"), alignment="common")
    assert err.problem == "too_few_observations" and "after alignment" in str(err)


def test_unknown_alignment_is_a_data_error(tmp_path, small):
    with pytest.raises(DataError, match="alignment"):
        md.load_csv(write(tmp_path, small, "csv"), alignment="sideways")


# -- data quality against an independent implementation -------------------------------------------
def test_data_quality_matches_pypfopt_on_the_sample(sample_window):
    prices = sample_window.prices
    q = md.data_quality(prices)
    ref = pypfopt_returns.mean_historical_return(prices, compounding=False, frequency=252)
    np.testing.assert_allclose(q["annualised_return"], ref.reindex(q.index), rtol=1e-12)
    vol = np.log1p(0) + prices.pct_change().std() * np.sqrt(252)
    np.testing.assert_allclose(q["annualised_volatility"], vol.reindex(q.index), rtol=1e-12)
    assert (q["first_date"] == prices.index[0]).all() and (q["observations"] == len(prices)).all()
    assert (q["missing_share"] == 0).all()


# -- descriptors -------------------------------------------------------------------------------
def test_load_source_sample_and_unknown_kind():
    assert md.load_source({"kind": "sample"}).source == "sample"
    with pytest.raises(DataError, match="kind"):
        md.load_source({"kind": "ftp"})
    with pytest.raises(DataError, match="csv"):
        md.load_source({"kind": "upload"})


def test_upload_descriptor_round_trips_through_json(tmp_path, staggered):
    data = md.load_csv(write(tmp_path, staggered, "csv"), alignment="common", benchmark="AAPL")
    data = md.with_sectors(data, {"AMD": "Information Technology"})
    descriptor = json.loads(json.dumps(md.upload_descriptor(data, "prices.csv")))
    again = md.load_source(descriptor)
    pd.testing.assert_frame_equal(again.prices, data.prices, check_freq=False)
    pd.testing.assert_series_equal(again.benchmark, data.benchmark, check_freq=False)
    assert again.sectors["AMD"] == "Information Technology" and again.sectors["BAC"] == "Unknown"


# -- Yahoo ---------------------------------------------------------------------------------------
@pytest.fixture
def yahoo(monkeypatch, tmp_path):
    """A fake Yahoo knowing AAPL, MSFT, a late IPO (NEWCO) and ^GSPC; cache in tmp_path."""
    monkeypatch.setenv("BALLAST_CACHE_DIR", str(tmp_path / "cache"))
    prices = synthetic_prices(["AAPL", "MSFT", "NEWCO", "^GSPC"], "2018-01-01", "2021-12-31")
    prices.loc[:"2020-06-30", "NEWCO"] = np.nan
    return FakeYahoo(prices, {"AAPL": "Technology", "MSFT": "Technology"}).install(monkeypatch)


def test_yf_download_shape_from_the_fake_is_yfinance_17(yahoo):
    import yfinance as yf

    frame = yf.download(["AAPL", "NOPE"], start="2020-01-01", end="2020-04-01", progress=False)
    assert frame.columns.names == ["Price", "Ticker"]
    assert {"Close", "Open", "Volume"} <= set(frame.columns.get_level_values(0))
    assert frame.index.tz is None and frame["Close"]["NOPE"].isna().all()
    yahoo.online = False
    # (another window: yfinance memoises GETs of past windows in-process)
    offline = yf.download(["AAPL"], start="2019-01-01", end="2019-04-01", progress=False)
    assert offline.empty  # yfinance does not raise offline


def test_load_yahoo_prices_sectors_benchmark(yahoo):
    data = md.load_yahoo(["aapl", "MSFT"], "2020-01-01", "2020-12-31")
    expected = yahoo.prices.loc["2020-01-01":"2020-12-31", ["AAPL", "MSFT"]]
    np.testing.assert_allclose(data.prices.to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert data.source == "yahoo" and data.benchmark.name == "^GSPC"
    assert data.sectors.to_dict() == {"AAPL": "Technology", "MSFT": "Technology"}
    assert data.currency == "USD" and data.market_caps["AAPL"] == pytest.approx(2500.0)


def test_second_load_comes_from_the_cache_without_network(yahoo):
    first = md.load_yahoo(["AAPL", "MSFT"], "2020-01-01", "2020-12-31")
    yahoo.online = False
    before = len(yahoo.requests)
    again = md.load_yahoo(["AAPL", "MSFT"], "2020-03-01", "2020-12-31")
    assert len(yahoo.requests) == before and again.source == "cache"
    pd.testing.assert_frame_equal(again.prices, first.prices.loc["2020-03-01":])
    assert again.sectors["AAPL"] == "Technology"


def test_unknown_tickers_are_named_and_the_rest_load(yahoo):
    data = md.load_yahoo(["AAPL", "NOPE", "MSFT"], "2020-01-01", "2020-12-31")
    assert data.tickers == ["AAPL", "MSFT"] and data.unknown_tickers == ("NOPE",)
    assert any("NOPE" in n for n in data.notes)
    with pytest.raises(UnknownTickerError) as info:
        md.load_yahoo(["NOPE", "NADA"], "2020-01-01", "2020-12-31")
    assert info.value.tickers == ["NOPE", "NADA"]


def test_offline_says_so_and_offers_the_cache(yahoo):
    md.load_yahoo(["AAPL"], "2020-01-01", "2020-12-31")
    yahoo.online = False
    with pytest.raises(DataSourceUnavailableError) as info:
        md.load_yahoo(["AAPL", "MSFT"], "2020-01-01", "2020-12-31")
    assert "cannot be reached" in str(info.value) and info.value.cached == ["AAPL"]
    cached = md.load_yahoo(["AAPL", "MSFT"], "2020-01-01", "2020-12-31", offline=True)
    assert cached.tickers == ["AAPL"] and cached.source == "cache"
    with pytest.raises(DataSourceUnavailableError):
        md.load_yahoo(["MSFT"], "2020-01-01", "2020-12-31", offline=True)


def test_sector_unknown_when_info_does_not_answer(yahoo):
    yahoo.info_online = False
    data = md.load_yahoo(["AAPL", "MSFT"], "2020-01-01", "2020-12-31")
    assert (data.sectors == "Unknown").all() and data.market_caps is None


def test_late_ipo_needs_an_alignment_choice(yahoo):
    with pytest.raises(md.StartDatesDifferError) as info:
        md.load_yahoo(["AAPL", "NEWCO"], "2020-01-01", "2020-12-31")
    assert info.value.dropped == ["NEWCO"]
    common = md.load_yahoo(["AAPL", "NEWCO"], "2020-01-01", "2020-12-31", alignment="common")
    assert common.prices.index[0] == pd.Timestamp("2020-07-01")


def test_widening_the_window_downloads_again(yahoo):
    md.load_yahoo(["AAPL"], "2020-01-01", "2020-06-30")
    data = md.load_yahoo(["AAPL"], "2019-01-01", "2020-12-31")
    assert data.source == "yahoo" and data.prices.index[0] < pd.Timestamp("2019-01-03")
    assert md.cached_tickers().loc["AAPL", "start"] == "2019-01-01"


def test_yahoo_descriptor_reloads_offline_from_the_cache(yahoo):
    first = md.load_yahoo(["AAPL", "MSFT"], "2020-01-01", "2020-12-31")
    descriptor = json.loads(
        json.dumps(md.yahoo_descriptor(["AAPL", "MSFT"], "2020-01-01", "2020-12-31", "^GSPC"))
    )
    descriptor["sectors"] = {"MSFT": "Software"}
    yahoo.online = False
    again = md.load_source(descriptor)
    pd.testing.assert_frame_equal(again.prices, first.prices)
    assert again.sectors["MSFT"] == "Software" and again.sectors["AAPL"] == "Technology"


def test_bad_requests_are_data_errors(yahoo):
    with pytest.raises(DataError, match="before"):
        md.load_yahoo(["AAPL"], "2021-01-01", "2020-01-01")
    with pytest.raises(DataError, match="ticker"):
        md.load_yahoo(" , ", "2020-01-01", "2021-01-01")


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BALLAST_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert md.cache_dir() == tmp_path / "elsewhere" and md.cache_dir().is_dir()


# -- hostile and odd files (issue 10: #16, #23-#28) ------------------------------------------
def write_cells(tmp_path, rows: list[list], name: str, fmt: str) -> str:
    """A file whose cells are exactly ``rows`` (header first), written by csv or openpyxl."""
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "csv":
        path.write_text("\n".join(",".join("" if c is None else str(c) for c in r) for r in rows))
    else:
        import openpyxl

        book = openpyxl.Workbook()
        for r in rows:
            book.active.append(r)
        book.save(path)
    return str(path)


def cells_of(small: pd.DataFrame) -> list[list]:
    values = small.to_numpy()
    return [["Date", *small.columns]] + [
        [d.strftime("%Y-%m-%d"), *map(float, r)] for d, r in zip(small.index, values, strict=True)
    ]


@pytest.mark.parametrize("bad", ["inf", "1e400", "-inf"])
def test_non_finite_prices_are_rejected_naming_the_cell(tmp_path, small, bad):
    rows = cells_of(small)
    rows[5][2] = bad
    err = problem_of(write_cells(tmp_path, rows, "inf", "csv"))
    assert err.problem == "non_finite" and err.rows == [6] and err.columns == [small.columns[1]]
    assert f"{small.columns[1]} row 6" in str(err) and "not finite" in str(err)


def test_non_finite_prices_in_excel(tmp_path, small):
    rows = cells_of(small)
    rows[9][1] = "inf"
    err = problem_of(write_cells(tmp_path, rows, "inf", "xlsx"))
    assert err.problem == "non_finite" and err.rows == [10]


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_column_header_is_rejected_naming_it(tmp_path, small, fmt):
    rows = cells_of(small)
    rows[0][3] = rows[0][1]  # e.g. AAPL twice; pandas would call the second AAPL.1
    err = problem_of(write_cells(tmp_path, rows, "dup", fmt))
    assert err.problem == "duplicate_columns" and err.columns == [small.columns[0]]
    assert f"'{small.columns[0]}' (columns 2, 4)" in str(err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_years_as_dates_are_rejected(tmp_path, small, fmt):
    rows = cells_of(small.iloc[:70])
    for i, r in enumerate(rows[1:]):
        r[0] = 1950 + i  # 2000, 2001... were read as Excel serial days (1905)
    err = problem_of(write_cells(tmp_path, rows, "years", fmt))
    assert err.problem == "dates" and "plain years (1950, 1951, 1952" in str(err)


def test_a_thousandfold_jump_loads_with_a_warning_naming_asset_and_date(tmp_path, small):
    jumped = small.copy()
    jumped.iloc[60:, 2] *= 1000
    data = load(write(tmp_path, jumped, "csv"))
    (warning,) = data.warnings
    day = str(small.index[60].date())
    assert warning.startswith(f"{small.columns[2]}:") and day in warning and "split" in warning
    assert not load(write(tmp_path, small, "csv", "fine")).warnings


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("day", ["1600-01-01", "9999-12-31"])
def test_out_of_range_dates_are_named(tmp_path, small, fmt, day):
    rows = cells_of(small)
    rows[3][0] = day
    err = problem_of(write_cells(tmp_path, rows, "far", fmt))
    assert err.problem == "dates" and err.rows == [4]
    assert "outside the years 1678-2261" in str(err) and day in str(err)


def test_timestamps_with_dst_offsets_are_read_as_dates(tmp_path):
    index = pd.bdate_range("2023-01-02", "2023-06-30")  # -05:00 until March 10, then -04:00
    prices = synthetic_prices(["AAA", "BBB"], "2023-01-02", "2023-06-30")
    stamps = (index + pd.Timedelta(hours=16)).tz_localize("America/New_York")
    rows = [["Date", "AAA", "BBB"]] + [
        [s.isoformat(sep=" "), *map(float, r)]
        for s, r in zip(stamps, prices.to_numpy(), strict=True)
    ]
    data = load(write_cells(tmp_path, rows, "dst", "csv"))
    assert list(data.prices.index) == list(index)
    assert any("-04:00" in n and "-05:00" in n for n in data.notes)


def test_mixed_date_formats_are_called_mixed(tmp_path, small):
    rows = cells_of(small)
    rows[7][0] = small.index[6].strftime("%d/%m/%Y")
    rows[8][0] = small.index[7].strftime("%d/%m/%Y")
    err = problem_of(write_cells(tmp_path, rows, "mixed", "csv"))
    assert "mix formats" in str(err) and err.rows == [8, 9]


def test_excel_whose_first_sheet_is_a_readme(tmp_path, small):
    import openpyxl

    path = tmp_path / "book.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "README"
    book.active.append(["These are the closing prices of our fund."])
    prices = book.create_sheet("Prices")
    for r in cells_of(small):
        prices.append(r)
    book.save(path)
    data = load(str(path))
    assert data.tickers == list(small.columns)
    assert any("'Prices'" in n and "'README'" in n for n in data.notes)
    assert md.excel_sheets(str(path)) == ["README", "Prices"]
    del book["Prices"]
    book.create_sheet("Notes").append(["nothing here"])
    book.save(path)
    err = problem_of(str(path))
    assert "'README', 'Notes'" in str(err) and err.problem == "no_prices"


@pytest.mark.parametrize("name", ["prices.csv", "prices.xlsx"])
def test_renamed_binary_gets_a_clean_message(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    err = problem_of(str(path))
    assert err.problem == "unreadable" and "PNG image" in str(err)
    assert "C error" not in str(err) and "engine" not in str(err)


def test_csv_with_ragged_lines_names_the_line_not_pandas(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("Date,AAA\n2020-01-01,1\n2020-01-02,1,2,3\n")
    err = problem_of(str(path))
    assert "line 3 has 4 fields where the header has 2" in str(err) and "C error" not in str(err)


def test_a_workbook_saved_as_csv_is_read_as_a_workbook(tmp_path, small):
    xlsx = write(tmp_path, small, "xlsx")
    renamed = tmp_path / "really_excel.csv"
    renamed.write_bytes(open(xlsx, "rb").read())
    assert load(str(renamed)).tickers == list(small.columns)


def test_more_assets_than_returns_warns_that_covariance_is_singular(sample):
    window = sample.prices.iloc[-15:]  # 15 observations, 14 returns, 20 assets
    (warning,) = md.window_warnings(window)
    assert "singular" in warning and "Sharpe" in warning and "20 assets" in warning
    assert md.window_warnings(sample.prices.iloc[-200:]) == []


# -- limits (#23): checked before the file is parsed ---------------------------------------
@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if a file reaches the pandas parsers."""

    def refuse(*args, **kwargs):
        raise AssertionError("parsed the whole file")

    monkeypatch.setattr(md.pd, "read_csv", refuse)
    monkeypatch.setattr(md.pd, "read_excel", refuse)


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_many_columns_are_refused(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(md, "MAX_ASSETS", 30)
    wide = synthetic_prices([f"T{i}" for i in range(31)], "2020-01-01", "2020-06-30")
    path = write(tmp_path, wide, fmt)
    if fmt == "csv":  # from the header line, before parsing
        monkeypatch.setattr(md.pd, "read_csv", lambda *a, **k: pytest.fail("parsed"))
    err = problem_of(path)
    assert err.problem == "too_large" and "31 price columns" in str(err) and "30 assets" in str(err)


def test_too_many_cells_in_a_csv_are_refused_before_parsing(tmp_path, monkeypatch, no_parsing):
    monkeypatch.setattr(md, "MAX_CELLS", 1_000)
    prices = synthetic_prices(["A", "B", "C", "D", "E"], "2020-01-01", "2020-12-31")  # 262 x 5
    err = problem_of(write(tmp_path, prices, "csv"))
    assert err.problem == "too_large" and "1,310 price cells" in str(err) and "1,000" in str(err)


def test_too_many_cells_in_a_workbook_are_refused_before_parsing(tmp_path, monkeypatch, no_parsing):
    prices = synthetic_prices(["A", "B", "C", "D", "E"], "2020-01-01", "2020-12-31")  # 262 x 5
    path = write(tmp_path, prices, "xlsx")
    for limit, value in [("MAX_CELLS", 1_000), ("MAX_ROWS", 100), ("MAX_ASSETS", 10)]:
        monkeypatch.setattr(md, limit, value)
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: pytest.fail("opened"))
    err = problem_of(path)
    assert err.problem == "too_large" and "a sheet of 1,57" in str(err)  # 262 x 6 + header


def test_too_many_rows_are_refused(tmp_path, monkeypatch, no_parsing):
    monkeypatch.setattr(md, "MAX_ROWS", 100)
    prices = synthetic_prices(["A"], "2020-01-01", "2020-12-31")
    err = problem_of(write(tmp_path, prices, "csv"))
    assert err.problem == "too_large" and "262 data rows" in str(err)


def test_a_workbook_that_expands_too_far_is_refused_from_its_zip_directory(
    tmp_path, small, monkeypatch, no_parsing
):
    monkeypatch.setattr(md, "MAX_FILE_MB", 0.01)  # 10 kB of XML
    err = problem_of(write(tmp_path, small, "xlsx"))
    assert err.problem == "too_large" and "expands to" in str(err)


def test_the_limits_let_a_thousand_assets_through(tmp_path):
    assert md.MAX_ASSETS >= 1_000 and md.MAX_CELLS >= 1_000 * 1_000 // 2
    prices = synthetic_prices([f"T{i}" for i in range(1_000)], "2021-01-01", "2021-07-01")
    data = load(write(tmp_path, prices, "csv"))
    assert len(data.tickers) == 1_000


# -- sectors (#16) ------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_sector_row_under_the_header_gives_the_sectors(tmp_path, small, fmt):
    rows = cells_of(small)
    rows.insert(1, ["Sector", "Tech", "Tech", "", "Banks"])
    rows[3][2] = "oops"  # row numbers still count the sector row
    err = problem_of(write_cells(tmp_path, rows, "bad_sectors", fmt))
    assert err.rows == [4]
    rows[3][2] = 1.0
    data = load(write_cells(tmp_path, rows, "sectors", fmt))
    assert data.sectors.tolist() == ["Tech", "Tech", "Unknown", "Banks"]
    assert len(data.prices) == len(small)
    assert md.upload_descriptor(data, "x")["sectors"] == dict(
        zip(small.columns[[0, 1, 3]], ["Tech", "Tech", "Banks"], strict=True)
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_sectors_file(tmp_path, small, fmt):
    tickers = list(small.columns)
    rows = [["ticker", "sector"], [tickers[0], "Tech"], [tickers[2], "Banks"]]
    path = write_cells(tmp_path, rows, "sectors", fmt)
    sectors = md.load_sectors(path, "sectors")
    assert sectors == {tickers[0]: "Tech", tickers[2]: "Banks"}
    data = md.load_upload(write(tmp_path, small, "csv"), "p.csv", sectors=sectors)
    assert data.sectors[tickers[2]] == "Banks" and data.sectors[tickers[1]] == "Unknown"
    rows.append([tickers[0], "Energy"])
    with pytest.raises(md.FileValidationError, match="two sectors"):
        md.load_sectors(write_cells(tmp_path, rows, "clash", fmt), "clash")


# -- cache keys (#20) -----------------------------------------------------------------------
def test_fingerprint_sees_rows_outside_streamlits_sample():
    index = pd.bdate_range("1800-01-01", periods=60_000)
    a = pd.DataFrame({"A": np.linspace(1, 2, 60_000), "B": 3.0}, index=index)
    b = a.copy()
    b.iloc[12_345, 0] += 1e-9
    assert md.fingerprint(a) != md.fingerprint(b)
    assert md.fingerprint(a) == md.fingerprint(a.copy())
    assert md.fingerprint(a) != md.fingerprint(a.rename(columns={"A": "C"}))
    assert md.fingerprint(a["A"]) != md.fingerprint(b["A"])


# -- dates of the window and of Yahoo requests (#24) ---------------------------------------
@pytest.mark.parametrize(("start", "end"), [("1600-01-01", "9999-12-31"), (None, "9999-12-31")])
def test_window_dates_beyond_pandas_years_mean_the_data_ends(sample, start, end):
    import datetime as dt

    window = sample.subset(["AAPL", "KO"], start, dt.date.fromisoformat(end))
    assert len(window.prices) == len(sample.prices)
    with pytest.raises(DataError, match="cannot read 'soon' as a date"):
        sample.subset(None, "soon", None)


def test_yahoo_dates_out_of_range(yahoo):
    with pytest.raises(DataError, match="no daily prices before 1900"):
        md.load_yahoo(["AAPL"], "1600-01-01", "2020-12-31")
    data = md.load_yahoo(["AAPL"], "2021-06-01", "9999-12-31")
    assert str(data.as_of.date()) == "2021-12-31"
    with pytest.raises(DataError, match="3,000 tickers"):
        md.load_yahoo([f"T{i}" for i in range(3_000)], "2020-01-01", "2020-12-31")
    assert len(yahoo.requests) < 20  # refused before any download


# -- a hung network (#27) -------------------------------------------------------------------
def test_a_hung_yahoo_gives_up_at_the_deadline_with_a_message(yahoo):
    import time

    yahoo.hang = 60.0
    try:
        t0 = time.monotonic()
        with pytest.raises(md.YahooUnavailableError) as info:
            md.load_yahoo(["AAPL", "MSFT"], "2020-01-01", "2020-12-31", deadline=0.5)
        waited = time.monotonic() - t0
    finally:
        yahoo.release()
    assert "did not answer within 0.5 s" in str(info.value)
    assert waited < 30  # far below the 60 s hang: the deadline, not the network, ended it
    assert yahoo.requests  # the request was really made


def test_info_that_hangs_leaves_sectors_unknown_with_a_note(yahoo, monkeypatch):
    import threading

    release = threading.Event()
    original = yahoo.quote_summary

    def slow(ticker, url):
        release.wait(60)
        return original(ticker, url)

    monkeypatch.setattr(yahoo, "quote_summary", slow)
    try:
        data = md.load_yahoo(["AAPL"], "2020-01-01", "2020-12-31", deadline=3)
    finally:
        release.set()
    assert data.sectors["AAPL"] == "Unknown" and any("in time" in n for n in data.notes)


def test_a_workbook_without_its_dimension_is_bounded_by_counting_cells(
    tmp_path, small, monkeypatch, no_parsing
):
    import re
    import zipfile

    path = write(tmp_path, small, "xlsx")
    stripped = tmp_path / "nodim.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(stripped, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"<dimension[^>]*/>", b"", data)
            dst.writestr(item, data)
    for limit, value in [("MAX_CELLS", 100), ("MAX_ROWS", 100), ("MAX_ASSETS", 10)]:
        monkeypatch.setattr(md, limit, value)  # 605 cells > 100 prices + 100 dates + header
    err = problem_of(str(stripped))
    assert err.problem == "too_large" and f"a sheet of {121 * 5:,} cells" in str(err)
