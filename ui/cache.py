"""Streamlit caches around pure ``core`` functions: the one place where caching happens.

``st.cache_data`` hashes its arguments (DataFrames included) and returns a copy of the cached
value, so callers may not mutate shared state through it. ``max_entries`` bounds memory.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import estimators, market_data


@st.cache_data(max_entries=1, show_spinner="Loading the bundled S&P 500 sample...")
def sample_data() -> market_data.PriceData:
    """The bundled sample, loaded once per server process (see ``core.market_data``)."""
    return market_data.load_sample()


@st.cache_data(max_entries=32, show_spinner="Estimating expected returns...")
def expected_returns(
    prices: pd.DataFrame,
    method: str,
    benchmark: pd.Series | None,
    risk_free_rate: float,
) -> pd.Series:
    """Cached :func:`core.estimators.expected_returns`."""
    return estimators.expected_returns(
        prices, method, benchmark=benchmark, risk_free_rate=risk_free_rate
    )


@st.cache_data(max_entries=32, show_spinner="Estimating the covariance...")
def covariance(prices: pd.DataFrame, method: str) -> pd.DataFrame:
    """Cached :func:`core.estimators.covariance`."""
    return estimators.covariance(prices, method)
