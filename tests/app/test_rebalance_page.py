"""AppTest of the Rebalance page on the bundled data, with its error paths."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, has_none_cells, open_page, report_section_app

PAGE = str(ROOT / "pages/6_Rebalance.py")


def run_page(**setup) -> AppTest:
    return open_page(PAGE, timeout=120, **setup)


def _texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def test_page_renders_metrics_trade_plan_and_stops():
    at = run_page(holdings={"AAPL": 100.0, "KO": 300.0}, cash=20_000.0)
    assert not at.exception
    assert not at.error, _texts(at.error)
    labels = [m.label for m in at.metric]
    for label in ("Turnover", "Cash after trades", "Portfolio loss limit"):
        assert label in labels
    assert len(at.dataframe) >= 3  # metrics, trade plan, stop levels
    assert at.session_state["allocation"] is not None  # the target was optimised on the way


def test_holdings_outside_universe_can_be_dropped():
    at = run_page(holdings={"AAPL": 10.0, "ZZZ": 5.0})
    assert not at.exception
    assert "ZZZ" in _texts(at.warning)
    at.button(key="w_drop_unknown").click().run()
    assert not at.exception
    assert at.session_state["holdings"] == {"AAPL": 10.0}
    assert "ZZZ" not in _texts(at.warning)


def test_holdings_outside_universe_can_be_added():
    universe = ["AAPL", "JNJ", "XOM", "JPM", "WMT"]
    at = run_page(universe=universe, holdings={"AAPL": 10.0, "KO": 50.0})
    assert "KO" in _texts(at.warning)
    at.button(key="w_add_unknown").click().run()
    assert not at.exception
    assert "KO" in at.session_state["universe"]


def test_negative_shares_when_long_only():
    at = run_page(holdings={"AAPL": -10.0})
    assert not at.exception
    assert "Negative shares for AAPL" in _texts(at.error)


def test_benchmark_without_overlap_says_so():
    dates = pd.to_datetime(["1985-01-02", "1985-01-03", "1985-01-04"])
    old = pd.Series([100.0, 101.0, 102.0], index=dates, name="OLD")
    at = run_page(rebalance_benchmark="__upload__", rebalance_uploaded_benchmark=old)
    assert not at.exception
    assert "no overlap" in _texts(at.error)


def test_lookback_longer_than_data():
    # Data up to 1999 (ten years) and a twenty-year lookback.
    at = run_page(end=dt.date(1999, 12, 31), start=dt.date(1997, 1, 1),
                  rebalance_lookback_years=20.0)  # fmt: skip
    at.button(key="w_run_backtest").click().run()
    assert not at.exception
    assert "longer than the data" in _texts(at.error)
    assert at.session_state["rebalance_backtest"] is None


def test_backtest_runs_and_is_kept():
    at = run_page(
        universe=["AAPL", "JNJ", "XOM", "JPM", "WMT", "KO"],
        rebalance_lookback_years=1.0,
        rebalance_backtest_start=dt.date(2019, 1, 1),
        rebalance_schedule="quarterly",
    )
    at.button(key="w_run_backtest").click().run()
    assert not at.exception
    assert not at.error, _texts(at.error)
    key, result = at.session_state["rebalance_backtest"]
    assert list(result.equity.columns)[:3] == ["Strategy", "Buy and hold", "Equal weight"]
    assert result.equity.index[0] >= pd.Timestamp("2019-01-01")
    assert "Calendar-year returns (%)" in [s.value for s in at.subheader]
    # Another rerun keeps the result; a changed setup flags it as stale.
    at.number_input(key="w_rebalance_cost_bps").set_value(50.0).run()
    assert "setup changed" in _texts(at.info)


def test_report_section():
    at = report_section_app("ui.rebalance", timeout=120)
    at.session_state["holdings"] = {"AAPL": 10.0}
    at.run()
    assert not at.exception
    section = at.session_state["section"]
    assert section.key == "rebalance"
    assert {"Benchmark metrics", "Trade plan", "Stop levels"} <= set(section.tables)
    assert "Backtest summary" not in section.tables  # a report does not run a backtest


def test_benchmark_can_be_a_ticker_of_the_data():
    at = run_page(holdings={"AAPL": 10.0, "KO": 20.0})
    at.selectbox(key="w_rebalance_benchmark").select("KO").run()
    assert not at.exception
    assert not at.error, _texts(at.error)
    assert "100 % in KO" in _texts(at.caption)
    tables = [d.value for d in at.dataframe if "Tracking error (annualised, %)" in d.value.index]
    assert list(tables[0].columns) == ["Current holdings", "Target allocation", "KO"]



BOOK = {"holdings": {"AAPL": 300.0, "KO": 500.0, "JNJ": 200.0, "XOM": 200.0}, "cash": 10_000.0}


def test_trade_plan_moves_to_the_proposal_from_the_holdings():
    at = run_page(**BOOK, book_start_from="holdings", book_max_turnover=0.05)
    assert not at.exception
    assert not at.error, _texts(at.error)
    result = at.session_state["allocation"]
    assert result.turnover <= 0.05 + 1e-9
    assert result.current_weights is not None
    assert "proposal from these holdings" in _texts(at.caption)
    plans = [d.value for d in at.dataframe if "target_weight" in d.value.columns]
    assert plans, "no trade plan table"
    target = plans[0]["target_weight"]
    assert (target - result.weights.reindex(target.index).fillna(0.0)).abs().max() < 1e-12


def _book_report_script() -> None:
    import streamlit as st

    from core.reporting import ReportSummary, report_html, report_xlsx
    from ui import book, state
    from ui.allocation import run_optimization

    state.init()
    run_optimization()
    section = book.report_section()
    st.session_state["section"] = section
    st.session_state["xlsx"] = report_xlsx(ReportSummary(), [section])
    st.session_state["html"] = report_html(ReportSummary(), [section])


def test_book_report_section_has_the_before_after_and_limit_cost_tables():
    import io

    from openpyxl import load_workbook

    at = AppTest.from_function(_book_report_script, default_timeout=120)
    for key, value in {**BOOK, "book_start_from": "holdings", "book_max_turnover": 0.05}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    section = at.session_state["section"]
    assert section.key == "book"
    assert {"Before and after", "Sector weights", "Cost of each limit", "Trade list"} <= set(
        section.tables
    )
    figures = section.tables["Before and after"]
    assert list(figures.index) == ["Current book", "Proposal"]
    assert figures.loc["Proposal", "Turnover (one-way)"] <= 0.05 + 1e-9
    limits = section.tables["Cost of each limit"]
    assert any("turnover" in str(name).lower() for name in limits.index)
    assert (limits.iloc[:, 0] > 0).all()
    book = load_workbook(io.BytesIO(at.session_state["xlsx"]))
    sheet = next(ws for ws in book.worksheets if ws.title.startswith("Before and after"))
    head = [c.value for c in sheet[1]]
    turnover = head.index("Turnover (one-way)") + 1
    assert sheet.cell(row=3, column=turnover).number_format == "0.00%"
    trades = head.index("Number of trades") + 1
    assert "%" not in sheet.cell(row=3, column=trades).number_format
    html = at.session_state["html"].decode()
    assert "Cost of each limit" in html and "Objective gained per percentage point" in html


def test_backtest_of_a_benchmark_objective_uses_the_chosen_benchmark():
    at = run_page(
        universe=["AAPL", "JNJ", "XOM", "JPM", "WMT", "KO"],
        objective_kind="min_tracking_error",
        rebalance_lookback_years=1.0,
        rebalance_backtest_start=dt.date(2019, 1, 1),
        rebalance_schedule="quarterly",
    )
    at.button(key="w_run_backtest").click().run()
    assert not at.exception
    assert not at.error, _texts(at.error)
    _, result = at.session_state["rebalance_backtest"]
    assert result.settings["benchmark"] == "SP500"
    assert "tracking error" in result.settings["objective"].lower()
    assert not result.notes, result.notes


def test_trade_plan_charges_the_per_asset_cost_overrides():
    at = run_page(**BOOK, rebalance_cost_bps=10.0, book_cost_overrides={"KO": 250.0})
    assert not at.exception
    assert not at.error, _texts(at.error)
    plans = [d.value for d in at.dataframe if "target_weight" in d.value.columns]
    plan = plans[0]
    assert plan.loc["KO", "trade_value"] != 0
    assert abs(plan.loc["KO", "cost"] - 0.025 * abs(plan.loc["KO", "trade_value"])) < 1e-6
    others = plan.index[(plan.index != "KO") & (plan["trade_value"] != 0)]
    assert len(others)
    assert ((plan.loc[others, "cost"] - 0.001 * plan.loc[others, "trade_value"].abs()).abs()
            < 1e-6).all()  # fmt: skip


def test_trade_plan_money_has_separators_and_currency_and_metrics_have_no_none_cells():
    """#12: the on-page trade plan showed money as 50008.06 without currency; #14: "None"."""
    at = run_page(holdings={"AAPL": 100.0, "KO": 300.0}, cash=20_000.0)
    assert not at.exception and not at.error
    plan = next(d for d in at.dataframe if "trade_value" in d.value.columns)
    config = json.loads(plan.proto.columns)
    for col, label in (("price", "Price (USD)"), ("trade_value", "Trade value (USD)"),
                       ("cost", "Cost (USD)"), ("final_value", "Value after (USD)")):  # fmt: skip
        assert config[col]["label"] == label
        assert config[col]["type_config"]["format"] == "%,.2f", config[col]
    assert config["current_weight"]["type_config"]["format"] == "percent"
    metrics = next(d for d in at.dataframe if "Target allocation" in d.value.columns)
    assert not has_none_cells(metrics)  # the benchmark's information ratio: blank
