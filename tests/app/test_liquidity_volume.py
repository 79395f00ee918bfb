"""AppTest of the liquidity limit's average daily volume: from Yahoo's volume (yfinance's own
code, HTTP faked), typed, or uploaded (ticker/adv or daily volumes); none for the sample."""

from __future__ import annotations

import base64
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from tests.app.conftest import open_page
from tests.data.yahoo_fake import FakeYahoo, synthetic_prices

pytest.importorskip("pyscipopt")
pytestmark = pytest.mark.filterwarnings("ignore::Warning:yfinance")
ALLOCATION = "pages/2_Allocation.py"
LIQUIDITY = dict(compliance_liquidity=True, compliance_liquidity_days=1.0,
                 compliance_participation=0.1)  # fmt: skip


@pytest.fixture
def yahoo(monkeypatch, tmp_path):
    """Yahoo knows AAPL, MSFT, KO and ^GSPC for three years to today; AAPL trades thinly."""
    monkeypatch.setenv("BALLAST_CACHE_DIR", str(tmp_path / "cache"))
    today = dt.date.today()
    tickers = ["AAPL", "MSFT", "KO", "^GSPC"]
    prices = synthetic_prices(tickers, str(today.replace(year=today.year - 3)), str(today))
    volumes = pd.DataFrame(5e6, index=prices.index, columns=tickers)
    volumes["AAPL"] = 200.0 + np.arange(len(prices)) % 7  # shares a day: a binding limit
    return FakeYahoo(prices, volumes=volumes).install(monkeypatch)


def _numbers(values) -> np.ndarray:
    """A plotly array from a figure's JSON: a list, or a typed array (dtype and base64 bytes)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def _editor(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "Source" in d.value.columns).set_index("Asset")


def _yahoo_allocation(**setup):
    """The Allocation page on AAPL MSFT KO from (fake) Yahoo, as the Data page loads them."""
    from core import market_data as md

    data = md.load_yahoo(["AAPL", "MSFT", "KO"], "2000-01-01", dt.date.today())
    source = md.yahoo_descriptor(["AAPL", "MSFT", "KO"], "2000-01-01", dt.date.today())
    at = open_page(ALLOCATION, price_data=data, data_source=source, universe=data.tickers,
                   start=data.prices.index[0].date(), end=data.as_of.date(), **setup)
    assert not at.exception
    return at


def test_yahoo_volume_gives_the_adv_and_limits_the_proposal(yahoo):
    at = _yahoo_allocation(**LIQUIDITY, holdings={"AAPL": 1_000.0, "KO": 10.0}, cash=50_000.0)
    data = at.session_state["price_data"]
    assert data.volume is not None
    editor = _editor(at)
    expected = yahoo.volumes.loc[data.prices.index].iloc[-20:].mean()
    assert editor.loc["AAPL", "Source"] == "Yahoo" and editor.loc["KO", "Source"] == "Yahoo"
    assert editor.loc["AAPL", "ADV (shares a day)"] == pytest.approx(expected["AAPL"])
    assert any("mean of the last 20 trading days to" in c.value for c in at.caption)
    assert not any("no trading volume" in i.value for i in at.info)
    w, px = at.session_state["allocation"].weights, data.prices.iloc[-1]
    assert w["AAPL"] <= 0.1 * expected["AAPL"] * float(px["AAPL"]) / 100_000 + 1e-9
    assert any("3 Yahoo" in c.value for c in at.caption)
    # the liquidity profile is drawn from Yahoo's ADV
    from core.compliance import liquidity_profile
    from core.execution import book_weights

    chart = next(c for c in at.get("plotly_chart") if "liquidity_profile" in c.proto.id)
    bars = {b["name"]: _numbers(b["y"]) for b in json.loads(chart.proto.spec)["data"]}
    w0 = book_weights({"AAPL": 1_000.0, "KO": 10.0}, 50_000.0, px)[0]
    for name, weights in (("Proposal", w), ("Current book", w0)):
        profile = liquidity_profile(weights * 100_000, expected, px, 0.1)["sellable"]
        np.testing.assert_allclose(bars[name], profile.to_numpy(), rtol=1e-9)
    assert bars["Current book"][0] < 0.5 < bars["Current book"][-1]  # AAPL takes days


def test_typed_adv_wins_over_yahoo_and_the_window_is_settable(yahoo):
    at = _yahoo_allocation(**LIQUIDITY, compliance_adv={"AAPL": 10_000.0},
                           compliance_adv_window=5)  # fmt: skip
    editor = _editor(at)
    assert editor.loc["AAPL", "Source"] == "typed"
    assert editor.loc["AAPL", "ADV (shares a day)"] == pytest.approx(10_000.0)
    assert editor.loc["KO", "Source"] == "Yahoo"
    assert any("mean of the last 5 trading days" in c.value for c in at.caption)
    w = at.session_state["allocation"].weights
    px = at.session_state["price_data"].prices.iloc[-1]
    assert w["AAPL"] <= 0.1 * 10_000 * float(px["AAPL"]) / 100_000 + 1e-9


def test_the_sample_has_no_volume_and_says_so():
    at = open_page(ALLOCATION, **LIQUIDITY)
    assert not at.exception
    assert at.session_state["price_data"].volume is None
    assert any("no trading volume" in i.value and "bundled sample" in i.value for i in at.info)
    assert set(_editor(at)["Source"]) == {"unknown"}  # nothing invented
    assert not any("Liquidity" in str(t.value) for t in at.table)  # no limit without a volume


def test_uploaded_daily_volumes_and_adv_files_give_the_adv(sample):
    at = open_page(ALLOCATION, **LIQUIDITY)
    prices = sample.prices.iloc[-40:, :2]
    volume = pd.DataFrame(1_000.0, index=prices.index, columns=prices.columns)
    volume.iloc[-20:, 0] = 3_000.0
    at.file_uploader(key="w_adv_file").upload(
        "volume.csv", volume.to_csv(index_label="Date").encode(), "text/csv").run()
    assert not at.exception and not at.error
    editor = _editor(at)
    first, second = prices.columns
    assert editor.loc[first, "Source"] == "upload"
    assert editor.loc[first, "ADV (shares a day)"] == pytest.approx(3_000.0)
    assert editor.loc[second, "ADV (shares a day)"] == pytest.approx(1_000.0)
    assert any("mean of the last 20 trading days" in s.value for s in at.success)
    at.file_uploader(key="w_adv_file").upload(
        "adv.csv", b"ticker,adv\nKO,12345\n", "text/csv").run()
    assert _editor(at).loc["KO", "ADV (shares a day)"] == pytest.approx(12_345.0)
    assert _editor(at).loc["KO", "Source"] == "upload"
    bad = volume.copy()
    bad.iloc[3, 1] = -1.0
    at.file_uploader(key="w_adv_file").upload(
        "bad.csv", bad.to_csv(index_label="Date").encode(), "text/csv").run()
    assert not at.exception
    assert any("negative" in e.value and "row 5" in e.value for e in at.error)
    assert _editor(at).loc[first, "ADV (shares a day)"] == pytest.approx(3_000.0)  # kept


def test_the_trade_plan_says_how_many_days_it_takes_to_execute(sample):
    px = sample.prices.iloc[-1]
    holdings = {t: 20_000.0 / float(px[t]) for t in ("AAPL", "KO", "JNJ")}
    adv = {t: 1e7 for t in sample.tickers} | {"AAPL": 50.0}
    at = open_page("app.py", **LIQUIDITY, compliance_adv=adv)
    at.switch_page(ALLOCATION).run()
    at.session_state["holdings"] = holdings
    at.session_state["cash"] = 40_000.0
    at.switch_page("pages/6_Rebalance.py").run()
    assert not at.exception
    said = [c.value for c in at.caption if c.value.startswith("Days to execute the trade plan")]
    assert said and "at 10.00 % of ADV" in said[0] and "(AAPL)" in said[0]
    days = float(said[0].split(": ")[1].split(" at most")[0])
    # the book's AAPL sold down to its one-day limit at 5 shares a day
    assert 0.9 * holdings["AAPL"] / 5.0 <= days <= holdings["AAPL"] / 5.0 + 0.05
