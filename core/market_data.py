"""Market data: the bundled S&P 500 sample, Yahoo Finance via yfinance, and user uploads.

Conventions
-----------
Every source returns a :class:`PriceData`: adjusted closing prices as a DataFrame of shape
``(n_observations, n_assets)`` on a sorted, unique, timezone-naive ``DatetimeIndex`` with tickers
as columns, strictly positive floats and no missing values inside the common window. Prices are in
the currency of the listing (USD for the bundled sample). Returns are derived elsewhere
(:func:`core.estimators.returns_from_prices`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from core.exceptions import DataError

__all__ = [
    "MIN_OBSERVATIONS",
    "SAMPLE_SECTORS",
    "SAMPLE_MARKET_CAPS",
    "PriceData",
    "load_sample",
]

#: Fewest price observations a universe must have to be estimated from (about three months).
MIN_OBSERVATIONS = 60

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
    """

    prices: pd.DataFrame
    benchmark: pd.Series | None = None
    sectors: pd.Series = field(default_factory=lambda: pd.Series(dtype=str))
    source: str = "sample"
    description: str = ""
    currency: str | None = None
    market_caps: pd.Series | None = None
    notes: tuple[str, ...] = ()

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
            First and last dates to keep.

        Returns
        -------
        PriceData
            A new object; this one is unchanged.

        Raises
        ------
        DataError
            If a ticker is not in the data, fewer than two tickers are chosen, or the window
            holds fewer than :data:`MIN_OBSERVATIONS` observations.
        """
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
        return replace(
            self,
            prices=prices,
            benchmark=benchmark,
            sectors=self.sectors.reindex(tickers).fillna("Unknown"),
            market_caps=caps,
        )


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
