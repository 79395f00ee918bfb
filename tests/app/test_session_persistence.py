"""Work survives a browser reload (issue 10, #4): the setup is kept under a token in the URL.

A reload starts a new Streamlit session; AppTest's equivalent is a new AppTest carrying the
first one's ``?session=`` query parameter.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, open_page


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Every test gets its own empty user data folder (the working-sessions store)."""
    monkeypatch.setenv("BALLAST_DATA_DIR", str(tmp_path / "ballast"))
    return tmp_path / "ballast"


def _reload(token: str, page: str = "app.py") -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=90)
    at.query_params["session"] = token
    at.run()
    return at


def _token(at: AppTest) -> str:
    token = at.query_params["session"]
    return token[0] if isinstance(token, list) else token


def test_reload_restores_the_setup():
    at = open_page("pages/2_Allocation.py")
    token = _token(at)
    assert len(token) == 43  # secrets.token_urlsafe(32)
    at.number_input(key="w_capital").set_value(250_000.0).run()
    at.number_input(key="w_risk_free_rate").set_value(3.5).run()
    at.session_state["universe"] = ["AAPL", "MSFT", "XOM"]  # as the Data page writes it
    at.session_state["bl_views"] = [{"kind": "absolute", "assets": "XOM", "versus": "",
                                     "return": 0.12, "view_volatility": None,
                                     "basket": "equal", "confidence": 0.7}]  # fmt: skip
    at.run()
    assert not at.exception

    again = _reload(token, "pages/2_Allocation.py")
    assert not again.exception
    assert again.session_state["capital"] == 250_000.0
    assert again.session_state["risk_free_rate"] == pytest.approx(0.035)
    assert again.number_input(key="w_capital").value == 250_000.0
    assert again.session_state["universe"] == ["AAPL", "MSFT", "XOM"]
    assert again.session_state["bl_views"][0]["confidence"] == 0.7
    # The restored session writes under a new token; the old one is gone.
    new = _token(again)
    assert new != token
    assert _reload(token).session_state["capital"] == 100_000.0
    assert _reload(new).session_state["capital"] == 250_000.0


def test_uploaded_data_survive_a_reload(sample):
    import io

    from core import market_data as md

    prices = sample.prices[["AAPL", "KO"]].iloc[-300:]
    buf = io.StringIO()
    prices.to_csv(buf, index_label="Date", date_format="%Y-%m-%d")
    at = open_page("pages/1_Data.py")
    at.radio(key="w_data_kind").set_value("upload").run()
    at.file_uploader(key="upload_file").set_value(("mine.csv", buf.getvalue().encode(), "text/csv"))
    at.run()
    next(b for b in at.button if b.label == "Load the file").click().run()
    assert not at.exception
    assert at.session_state["data_source"]["kind"] == "upload"

    again = _reload(_token(at), "pages/1_Data.py")
    assert not again.exception
    assert again.session_state["data_source"]["kind"] == "upload"
    assert again.session_state["price_data"].tickers == ["AAPL", "KO"]
    assert isinstance(again.session_state["price_data"], md.PriceData)


def test_unknown_or_malformed_token_starts_a_fresh_session():
    for token in ("x" * 43, "not a token", "../../etc/passwd"):
        at = _reload(token)
        assert not at.exception
        assert _token(at) != token  # never adopted: no one can choose another's token
        assert at.session_state["capital"] == 100_000.0


def test_a_backtest_run_before_the_reload_is_run_again():
    at = open_page("pages/6_Rebalance.py", universe=["AAPL", "KO", "XOM"],
                   rebalance_lookback_years=1.0)  # fmt: skip
    next(b for b in at.button if b.label == "Run backtest").click().run()
    assert not at.exception
    assert at.session_state["rebalance_backtest"] is not None
    at.run()  # the next run records that a backtest exists

    again = _reload(_token(at), "pages/6_Rebalance.py")
    assert not again.exception
    assert again.session_state["rebalance_backtest"] is not None


def test_loading_a_saved_setup_does_not_claim_the_backtest_was_recomputed():
    at = open_page("pages/7_Report.py")
    at.text_input(key="report_save_name").input("mine")
    next(b for b in at.get("form_submit_button") if b.label == "Save setup").click().run()
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception
    text = " ".join(s.value for s in at.success)
    assert "results recomputed" not in text
    assert "backtest must be run again" in text


def test_reload_keeps_an_uploaded_benchmark():
    from skfolio.datasets import load_sp500_index

    index = load_sp500_index().iloc[:, 0].loc["2015":].rename("MYINDEX")
    upload = {"filename": "myindex.csv",
              "csv": index.to_csv(index_label="Date", date_format="%Y-%m-%d")}  # fmt: skip
    at = open_page("pages/6_Rebalance.py", rebalance_benchmark="__upload__",
                   rebalance_benchmark_upload=upload)  # fmt: skip
    assert not at.exception and not at.error
    again = _reload(_token(at), "pages/6_Rebalance.py")
    assert not again.exception
    assert not [e.value for e in again.error if "benchmark" in e.value.lower()]
    restored = again.session_state["rebalance_uploaded_benchmark"]
    assert restored is not None and restored.name == "myindex"
    assert restored.iloc[-1] == pytest.approx(index.iloc[-1])
