"""AppTest of the Risk page on the bundled data, including its error paths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import risk
from core.estimators import returns_from_prices
from tests.app.conftest import has_none_cells, open_page, report_section_app, shown_cells

PAGE = "pages/5_Risk.py"


def _metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, getattr(m.proto, "delta", "")) for m in at.metric}


def _show_tab(at: AppTest, name: str) -> AppTest:
    """Select a tab of the Risk page (tabs compute only when open) and rerun."""
    at.session_state["risk_tab"] = name
    return at.run()


def _percent(value: str) -> float:
    return float(value.rstrip(" %"))


def test_risk_page_renders_every_method_in_percent_and_money():
    at = open_page(PAGE)
    assert not at.exception
    assert not at.error
    metrics = _metrics(at)
    assert "Historical VaR 95.0%, 1 d" in metrics and "Historical CVaR 99.0%, 1 d" in metrics
    value, money = metrics["Historical VaR 99.0%, 1 d"]
    assert value.endswith("%") and "USD" in money
    table = at.dataframe[0].value
    assert len(table) == 10  # five methods x two confidence levels
    assert set(table["Method"]) == set(risk.TABLE_METHODS.values())
    assert (table["CVaR %"] >= table["VaR %"]).all()
    np.testing.assert_allclose(table["VaR USD"], table["VaR %"] / 100 * 100_000)
    # the page's historical VaR is core's on the window's portfolio returns
    weights = at.session_state["allocation"].weights
    data = at.session_state["price_data"].subset(
        at.session_state["universe"],
        pd.Timestamp(at.session_state["start"]),
        pd.Timestamp(at.session_state["end"]),
    )
    p = risk.portfolio_returns(returns_from_prices(data.prices), weights)
    hist = table[table["Method"] == "Historical"].set_index("Conf. %")["VaR %"]
    assert hist[99.0] == pytest.approx(risk.value_at_risk(p, 0.99) * 100, rel=1e-12)
    labels = [t.label for t in at.tabs]
    assert labels == ["VaR & CVaR", "Contributions", "Drawdowns", "Backtest",
                      "Stress scenarios", "Correlation stress"]  # fmt: skip
    # only the open tab computes: the backtest's figures appear when its tab is chosen
    assert not any(m.startswith("Basel traffic light") for m in metrics)
    metrics = _metrics(_show_tab(at, "Backtest"))
    assert not at.exception and not at.error
    assert any(m.startswith("Basel traffic light") for m in metrics)
    assert any("Kupiec" in m for m in metrics)
    assert not any(m.startswith("Historical VaR") for m in metrics)


def test_changing_confidence_and_horizon_changes_var():
    at = open_page(PAGE)
    before = _metrics(at)["Historical VaR 99.0%, 1 d"][0]
    at.multiselect(key="w_risk_confidences").select(0.995).run()
    assert not at.exception
    assert "Historical VaR 99.5%, 1 d" in _metrics(at)
    at.number_input(key="w_risk_horizon").set_value(10).run()
    assert not at.exception
    after = _metrics(at)["Historical VaR 99.0%, 10 d"][0]
    assert float(after.rstrip(" %")) > float(before.rstrip(" %"))


def test_no_confidence_shows_error_and_keeps_last_result():
    at = open_page(PAGE)
    at.multiselect(key="w_risk_confidences").set_value([]).run()
    assert not at.exception
    assert any("at least one confidence" in e.value for e in at.error)
    assert any("last portfolio" in i.value for i in at.info)
    assert len(at.dataframe) >= 1


def test_backtest_window_longer_than_the_data_is_explained():
    at = _show_tab(open_page(PAGE), "Backtest")
    at.toggle(key="w_risk_backtest_full_history").set_value(False).run()
    at.number_input(key="w_risk_backtest_window").set_value(2000).run()
    assert not at.exception
    assert any("too few for a 2000-day backtest window" in e.value for e in at.error)
    # the other tabs still render
    _show_tab(at, "VaR & CVaR")
    assert not at.exception
    assert any(m.label.startswith("Historical VaR") for m in at.metric)


def test_custom_window_outside_the_data_and_shocks():
    at = open_page(
        PAGE,
        risk_custom_windows={"Black Monday": ["1987-10-14", "1987-10-20"]},
        risk_sector_shocks={"Information Technology": -0.3},
        risk_tab="Stress scenarios",
    )
    assert not at.exception
    assert any("outside the loaded data" in e.value for e in at.error)
    weights = at.session_state["allocation"].weights
    sectors = at.session_state["price_data"].sectors
    expected = -0.3 * weights[sectors.reindex(weights.index) == "Information Technology"].sum()
    value, _ = _metrics(at)["Portfolio P&L under the shocks"]
    assert abs(float(value.rstrip(" %")) / 100 - expected) < 5e-5  # shown to 0.01 %


def test_out_of_range_setup_values_are_reset_or_explained():
    # as a hand-edited saved setup could hold them
    at = open_page(PAGE, risk_horizon=0, risk_mc_scenarios=10**9, risk_backtest_method="garch",
                     risk_confidences=[0.95, 1.5])  # fmt: skip
    assert not at.exception
    assert any("risk_horizon = 0" in w.value for w in at.warning)
    assert any("risk_backtest_method" in w.value for w in at.warning)
    assert at.session_state["risk_horizon"] == 1
    assert any("between 0 and 1" in e.value for e in at.error)


def test_million_scenarios_with_progress_bar_path():
    at = open_page(PAGE, risk_mc_scenarios=1_000_000, risk_confidences=[0.99])
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    mc = table[table["Method"].str.startswith("Monte Carlo")]
    assert (mc["SE VaR %"] < 0.1).all()


def test_report_section():
    at = report_section_app("ui.risk")
    at.run()
    assert not at.exception
    section = at.session_state["section"]
    assert section.key == "risk"
    for name in ("VaR and CVaR", "Contributions (assets)", "Stress scenarios", "Backtest",
                 "Correlation stress", "Key figures", "Settings"):  # fmt: skip
        assert name in section.tables and len(section.tables[name])
        assert len(name) <= 31
    assert len(section.figures) >= 3
    assert "Kupiec" in section.text
    from core.reporting import ReportSummary, report_html, report_xlsx

    assert report_xlsx(ReportSummary(), [section])[:2] == b"PK"
    assert b"Historical VaR" in report_html(ReportSummary(), [section])


def test_historical_var_is_the_same_figure_on_the_var_and_contributions_tabs():
    at = open_page(PAGE, risk_horizon=10, risk_contrib_confidence=0.95)
    assert not at.exception
    var_tab = _metrics(at)
    contributions = _metrics(_show_tab(at, "Contributions"))
    assert not at.exception and not at.error
    for name in ("VaR", "CVaR"):
        shown = var_tab[f"Historical {name} 95.0%, 10 d"][0]
        assert contributions[f"{name} 95.0%, 10 d"][0] == shown


def test_maximum_drawdown_is_a_positive_loss_on_risk_and_rebalance():
    at = _show_tab(open_page(PAGE), "Drawdowns")
    assert not at.exception
    risk_mdd = _percent(_metrics(at)["Maximum drawdown (loss)"][0])
    assert risk_mdd > 0
    rb = open_page("pages/6_Rebalance.py")
    assert not rb.exception
    label = "Maximum drawdown (loss, %)"
    table = next(d.value for d in rb.dataframe if label in d.value.index)
    assert (table.loc[label] > 0).all()
    # the same portfolio (the target allocation at fixed weights), the same figure and sign
    assert table.loc[label, "Target allocation"] == pytest.approx(risk_mdd, abs=6e-3)


def test_stress_table_states_signs_and_shows_the_benchmark_beside_the_portfolio():
    at = _show_tab(open_page(PAGE), "Stress scenarios")
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "Scenario" in d.value.columns)
    for col in ("Return (%)", "Worst day loss (%)", "Maximum drawdown (loss, %)",
                "Benchmark return (%)", "Benchmark worst day loss (%)",
                "Benchmark maximum drawdown (loss, %)"):  # fmt: skip
        assert col in table.columns, col
    assert (table["Maximum drawdown (loss, %)"] > 0).all()
    assert (table["Worst day loss (%)"] > 0).all()
    rows = table.set_index("Scenario")
    gfc = rows.loc["2008-09 global financial crisis"]
    # the S&P 500 from its peak close to its trough close: return = -drawdown = -56.8 %
    assert gfc["Benchmark return (%)"] == pytest.approx(676.53 / 1565.15 - 1, abs=1e-4)
    drawdown = gfc["Benchmark maximum drawdown (loss, %)"]
    assert drawdown == pytest.approx(-gfc["Benchmark return (%)"])
    assert any("losses are positive" in c.value for c in at.caption)


def test_null_or_unreadable_shocks_give_no_exception_box():
    at = _show_tab(
        open_page(PAGE, risk_sector_shocks={"Energy": None}, risk_asset_shocks={"AAPL": None}),
        "Stress scenarios",
    )
    assert not at.exception and not at.error
    assert _percent(_metrics(at)["Portfolio P&L under the shocks"][0]) == 0
    # an unreadable stored value shows as an empty cell of the editor: no shock either
    at = _show_tab(open_page(PAGE, risk_sector_shocks={"Energy": "x"}), "Stress scenarios")
    assert not at.exception and not at.error
    assert _percent(_metrics(at)["Portfolio P&L under the shocks"][0]) == 0


def test_a_single_asset_has_no_correlation_to_stress():
    at = _show_tab(open_page(PAGE, universe=["KO"]), "Correlation stress")
    assert not at.exception
    assert any("single asset has no correlation" in e.value for e in at.error)


def test_var_table_fits_with_short_headers_full_names_in_help_and_blank_cells():
    """#14: the VaR table was cut off at 1400 px (standard errors hidden) and showed "None"."""
    at = open_page(PAGE)
    assert not at.exception and not at.error
    element = at.dataframe[0]
    config = json.loads(element.proto.columns)
    assert all(len(c) <= 10 for c in element.value.columns), list(element.value.columns)
    assert "Monte Carlo standard error of VaR" in config["SE VaR %"]["help"]
    assert "USD" in config["VaR USD"]["help"] and "in %" in config["VaR %"]["help"]
    shown = shown_cells(element).set_index("Method")
    assert not has_none_cells(element)
    assert (shown.loc["Historical", "SE VaR %"] == "").all()  # not simulated: blank
    assert (shown.loc["Historical", "t dof"] == "").all()
    assert any("hover a header" in c.value for c in at.caption)


def test_read_only_risk_tables_show_no_none_cells():
    at = open_page(PAGE)
    for tab in ("Contributions", "Correlation stress"):
        at = _show_tab(at, tab)
        assert not at.exception and not at.error
        assert at.dataframe
        for element in at.dataframe:
            assert not has_none_cells(element), (tab, list(element.value.columns))
