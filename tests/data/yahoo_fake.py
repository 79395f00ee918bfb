"""A fake Yahoo Finance *server* for tests: yfinance's own code runs, only HTTP is replaced.

``FakeYahoo.install(monkeypatch)`` replaces ``yfinance.data.YfData._make_request`` (the one
method through which every yfinance request goes, after its cookie/crumb handling) with a
function that answers like Yahoo's endpoints do:

- ``/v8/finance/chart/<T>``: the chart JSON (meta + timestamps at the 09:30 New York open +
  OHLCV + adjclose) for a known ticker (the daily volume from ``volumes`` where given, else
  1,000,000 shares a day; a NaN volume is sent as ``null``, as Yahoo does), or Yahoo's 404
  "No data found, symbol may be delisted" body for an unknown one; yfinance turns it into its
  frames (MultiIndex (Price, Ticker), naive daily index, all-NaN columns for unknown tickers);
- ``/v10/finance/quoteSummary/<T>`` and ``/v7/finance/quote``: the ``.info`` answers (sector,
  currency, marketCap);
- offline (``online = False``): every request raises curl_cffi's ``DNSError`` (an ``OSError``),
  exactly what yfinance sees without a network, so ``yf.download`` returns an empty frame;
- hung (``hang = seconds``): every request waits that long (a network that never answers)
  before answering, unless ``release()`` lets the waiting requests go on.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from curl_cffi.requests.exceptions import DNSError, HTTPError

NY = "America/New_York"


def synthetic_prices(tickers: list[str], start: str, end: str, seed: int = 7) -> pd.DataFrame:
    """Business-day random-walk closes (positive), one column per ticker."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, end)
    steps = rng.normal(0.0004, 0.015, size=(len(index), len(tickers)))
    levels = 100 * np.exp(np.cumsum(steps, axis=0)) * (1 + np.arange(len(tickers)))
    return pd.DataFrame(levels, index=index, columns=tickers)


class FakeResponse:
    def __init__(self, payload: dict, status_code: int = 200, url: str = "") -> None:
        self._payload = payload
        self.status_code = status_code
        self.text = json.dumps(payload)
        self.url = url

    def json(self) -> dict:
        return json.loads(self.text)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HTTPError(f"HTTP Error {self.status_code}", response=self)


@dataclass
class FakeYahoo:
    """Prices (adjusted closes), daily volumes (shares) and info of the tickers Yahoo 'knows'."""

    prices: pd.DataFrame
    sectors: dict[str, str] = field(default_factory=dict)
    volumes: pd.DataFrame | None = None
    online: bool = True
    info_online: bool = True
    requests: list[str] = field(default_factory=list)
    hang: float = 0.0
    _released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let hung requests (and later ones) answer at once."""
        self._released.set()

    def install(self, monkeypatch) -> FakeYahoo:
        from yfinance import base
        from yfinance.data import YfData

        fake = self

        def _make_request(self_, url, request_method, params=None, **kwargs):
            return fake.answer(url, dict(params or {}))

        monkeypatch.setattr(YfData, "_make_request", _make_request)
        monkeypatch.setattr(base, "_tz_info_fetch_ctr", 0)
        YfData.cache_get.cache_clear()  # yfinance memoises GETs in-process
        return self

    # -- the endpoints ------------------------------------------------------------------
    def answer(self, url: str, params: dict) -> FakeResponse:
        self.requests.append(url)
        if self.hang:
            self._released.wait(self.hang)
        if not self.online:
            raise DNSError(
                "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com."
            )
        if m := re.search(r"/v8/finance/chart/([^/?]+)", url):
            return self.chart(m.group(1), params, url)
        if m := re.search(r"/v10/finance/quoteSummary/([^/?]+)", url):
            return self.quote_summary(m.group(1), url)
        if "/fundamentals-timeseries/" in url:
            return FakeResponse({"timeseries": {"result": [{}], "error": None}}, 200, url)
        if "/v7/finance/quote" in url:
            return FakeResponse({"quoteResponse": {"result": [], "error": None}}, 200, url)
        return FakeResponse({"finance": {"result": None, "error": "not faked"}}, 404, url)

    def chart(self, ticker: str, params: dict, url: str) -> FakeResponse:
        if ticker not in self.prices.columns:
            return FakeResponse(
                {
                    "chart": {
                        "result": None,
                        "error": {
                            "code": "Not Found",
                            "description": "No data found, symbol may be delisted",
                        },
                    }
                },
                404,
                url,
            )
        closes = self.prices[ticker].dropna()
        if "period1" in params:
            lo = pd.Timestamp(int(params["period1"]), unit="s", tz="UTC").tz_convert(NY)
            hi = pd.Timestamp(int(params["period2"]), unit="s", tz="UTC").tz_convert(NY)
            days = closes.index.tz_localize(NY)
            closes = closes[(days >= lo.normalize()) & (days < hi)]
        else:  # range=1d etc: the last bar
            closes = closes.iloc[-1:]
        opens = (closes.index + pd.Timedelta(hours=9, minutes=30)).tz_localize(NY)
        stamps = [int(t.timestamp()) for t in opens]
        values = [round(float(v), 6) for v in closes]
        if self.volumes is not None and ticker in self.volumes.columns:
            vol = self.volumes[ticker].reindex(closes.index)
            volume = [None if pd.isna(v) else int(v) for v in vol]
        else:
            volume = [1_000_000] * len(values)
        last = int(stamps[-1]) if stamps else 0
        meta = {
            "currency": "USD",
            "symbol": ticker,
            "exchangeName": "NMS",
            "fullExchangeName": "NasdaqGS",
            "instrumentType": "EQUITY",
            "firstTradeDate": 345479400,
            "regularMarketTime": last,
            "hasPrePostMarketData": True,
            "gmtoffset": -18000,
            "timezone": "EST",
            "exchangeTimezoneName": NY,
            "regularMarketPrice": values[-1] if values else None,
            "priceHint": 2,
            "dataGranularity": "1d",
            "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
        }
        result = {
            "meta": meta,
            "timestamp": stamps,
            "indicators": {
                "quote": [
                    {
                        "open": values,
                        "high": values,
                        "low": values,
                        "close": values,
                        "volume": volume,
                    }
                ],
                "adjclose": [{"adjclose": values}],
            },
        }
        return FakeResponse({"chart": {"result": [result], "error": None}}, 200, url)

    def quote_summary(self, ticker: str, url: str) -> FakeResponse:
        if not self.info_online:
            raise DNSError("Failed to perform, curl: (6) Could not resolve host.")
        if ticker not in self.prices.columns:
            return FakeResponse(
                {
                    "quoteSummary": {
                        "result": None,
                        "error": {
                            "code": "Not Found",
                            "description": f"Quote not found for symbol: {ticker}",
                        },
                    }
                },
                404,
                url,
            )
        profile = {"sector": self.sectors[ticker]} if ticker in self.sectors else {}
        return FakeResponse(
            {
                "quoteSummary": {
                    "result": [
                        {
                            "assetProfile": profile,
                            "quoteType": {"symbol": ticker, "quoteType": "EQUITY"},
                            "summaryDetail": {"currency": "USD", "marketCap": 2.5e12},
                            "price": {},
                        }
                    ],
                    "error": None,
                }
            },
            200,
            url,
        )
