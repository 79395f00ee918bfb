"""The Rebalance page's Yahoo-symbol benchmark, through yfinance's own code (HTTP faked)."""

from __future__ import annotations

import pytest

from tests.app.conftest import open_page
from tests.data.yahoo_fake import FakeYahoo, synthetic_prices

pytestmark = pytest.mark.filterwarnings("ignore::Warning:yfinance")
PAGE = "pages/6_Rebalance.py"


@pytest.fixture
def yahoo(monkeypatch, tmp_path):
    """Yahoo 'knows' SPY over the sample's dates; cache in tmp_path."""
    monkeypatch.setenv("BALLAST_CACHE_DIR", str(tmp_path / "cache"))
    prices = synthetic_prices(["SPY"], "1989-12-01", "2022-12-30")
    return FakeYahoo(prices).install(monkeypatch)


def test_yahoo_symbol_benchmark_is_loaded_and_tracked(yahoo):
    at = open_page(PAGE, timeout=120, rebalance_benchmark="__yahoo__",
                   rebalance_yahoo_benchmark="SPY")  # fmt: skip
    assert not at.exception
    assert not [e.value for e in at.error]
    assert "Tracking error" in str([d.value.index.tolist() for d in at.dataframe])


def test_unknown_yahoo_symbol_and_offline_show_errors(yahoo):
    at = open_page(PAGE, timeout=120, rebalance_benchmark="__yahoo__",
                   rebalance_yahoo_benchmark="NOPE")  # fmt: skip
    assert not at.exception
    assert any("NOPE" in e.value for e in at.error)
    yahoo.online = False
    at = open_page(PAGE, timeout=120, rebalance_benchmark="__yahoo__",
                   rebalance_yahoo_benchmark="QQQ")  # fmt: skip
    assert not at.exception
    assert any("Yahoo" in e.value for e in at.error)
