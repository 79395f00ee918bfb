"""A 1,000-asset universe (a price file of 999 assets and 800 days) on the Allocation page.

The file is written and loaded as an upload would be (``core.market_data.load_csv``); the
page must run without an exception, draw the top holdings with the rest in one bar, and list
every asset in its weights table.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.market_data import load_csv
from core.synthetic import factor_model_prices
from tests.app.conftest import ROOT


@pytest.fixture(scope="module")
def wide_upload(tmp_path_factory):
    path = tmp_path_factory.mktemp("wide") / "prices.csv"
    factor_model_prices(999, 800, seed=5).to_csv(path)
    return load_csv(path)


def test_allocation_page_at_1000_assets(wide_upload):
    at = AppTest.from_file(str(ROOT / "pages/2_Allocation.py"), default_timeout=240)
    at.session_state["price_data"] = wide_upload
    at.session_state["universe"] = wide_upload.tickers
    at.session_state["data_source"] = {"kind": "upload"}
    at.run()
    assert not at.exception
    assert not at.error
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    bars = spec["data"][0]["x"]
    assert len(bars) <= 41 and bars[-1].startswith("Other (")
    at.session_state["allocation_bounds_editors"] = True  # open the bounds editors
    at.run()
    assert not at.exception
    assert any(getattr(d.value, "shape", (0,))[0] == 999 for d in at.dataframe)
