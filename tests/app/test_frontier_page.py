"""AppTest of the Efficient Frontier page on the bundled data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.optimization import Objective, optimize
from tests.app.conftest import open_page, report_section_app

PAGE = "pages/4_Efficient_Frontier.py"


def _trace_names(at: AppTest, index: int = 0) -> list[str]:
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return [trace.get("name", "") for trace in spec["data"]]


def _picked(at: AppTest):
    tables = [d.value for d in at.dataframe if "Weight" in d.value.columns]
    return tables[0]["Weight"]


def test_frontier_page_renders_with_exact_tangency():
    at = open_page(PAGE)
    assert not at.exception
    assert not at.error
    view = at.session_state["frontier_last"]
    f = view.frontier
    assert len(f.returns) == 50
    names = _trace_names(at)
    for name in ("Efficient frontier", "Capital market line", "Minimum variance", "Assets"):
        assert name in names
    assert any(n.startswith("Random portfolios") for n in names)
    assert any(n.startswith("Tangency") for n in names)
    assert "Current allocation" in names  # computed from the setup on a first visit
    assert len(at.get("plotly_chart")) == 2  # the frontier map and the transition map
    mu = view.assets["expected_return"]
    sharpe = [m.value for m in at.metric if m.label == "Tangency Sharpe ratio"][0]
    assert float(sharpe) == pytest.approx(f.tangency.sharpe_ratio, abs=0.005)
    assert f.tangency.weights.index.tolist() == mu.index.tolist()


def test_pick_slider_changes_the_selected_weights_and_makes_the_allocation():
    at = open_page(PAGE)
    slider = at.slider(key="w_frontier_pick_volatility")
    at_tangency = _picked(at)
    slider.set_value(slider.min).run()
    assert not at.exception
    at_min = _picked(at)
    f = at.session_state["frontier_last"].frontier
    mv = f.min_variance.weights
    assert not at_min.equals(at_tangency)
    assert (at_min - mv.reindex(at_min.index)).abs().max() < 1e-3  # slider rounds to 0.01 %
    slider.set_value(slider.max).run()
    assert _picked(at).idxmax() == f.max_return.weights.idxmax()

    slider.set_value(round((slider.min + slider.max) / 2, 2)).run()
    picked = _picked(at)
    at.button[0].click().run()
    assert not at.exception
    alloc = at.session_state["allocation"]
    assert alloc.objective.kind == "target_volatility"
    assert at.session_state["objective_kind"] == "target_volatility"
    assert (alloc.weights.reindex(picked.index) - picked).abs().max() < 1e-9
    # the Allocation page's objective now gives the same portfolio
    tickers = f.tickers
    ref = optimize(
        pd.Series(f._mu, index=tickers),
        pd.DataFrame(f._cov, index=tickers, columns=tickers),
        Objective("target_volatility", target_volatility=alloc.volatility),
    )
    assert (ref.weights - alloc.weights).abs().max() < 1e-5


def test_pick_by_return_keeps_the_portfolio():
    at = open_page(PAGE)
    before = _picked(at)
    f = at.session_state["frontier_last"].frontier
    at.radio(key="w_frontier_pick_by").set_value("return").run()
    assert not at.exception
    ret_slider = at.slider(key="w_frontier_pick_return")
    assert ret_slider.value == pytest.approx(f.tangency.expected_return * 100, abs=0.01)
    after = _picked(at)
    assert (after - before.reindex(after.index)).abs().max() < 1e-3


def test_overlays_and_holdings_are_drawn():
    at = open_page(PAGE, holdings={"AAPL": 100.0, "KO": 300.0, "ZZZZ": 5.0})
    at.checkbox(key="w_frontier_show_unconstrained").check().run()
    at.selectbox(key="w_frontier_compare").select("cov:sample").run()
    assert not at.exception
    names = _trace_names(at)
    assert "Unconstrained frontier (sum of weights = 1 only)" in names
    assert any("Sample covariance" in n for n in names)
    assert "Current holdings" in names
    assert any("ZZZZ" in c.value for c in at.caption)
    overlays = at.session_state["frontier_last"].overlays
    unconstrained = overlays["Unconstrained frontier (sum of weights = 1 only)"]
    f = at.session_state["frontier_last"].frontier
    # without bounds the minimum variance is lower than with them
    assert unconstrained.min_variance.volatility <= f.min_variance.volatility + 1e-12


def test_infeasible_constraints_show_an_error_and_keep_the_last_frontier():
    at = open_page(PAGE)
    good = at.session_state["frontier_last"]
    at.session_state["max_weight"] = 0.03
    at.run()
    assert not at.exception
    assert any("less than 100" in e.value for e in at.error)
    assert at.session_state["frontier_last"] is good
    assert any("last frontier" in i.value for i in at.info)


def test_infeasible_on_first_visit_stops_cleanly():
    at = open_page(PAGE, sector_bounds={"Energy": (0.6, 1.0), "Health Care": (0.6, 1.0)})
    assert not at.exception
    assert at.error


def test_one_asset_is_a_single_point():
    at = open_page(PAGE, universe=["KO"])
    assert not at.exception
    assert any("single portfolio" in w.value for w in at.warning)
    f = at.session_state["frontier_last"].frontier
    assert len(f.returns) == 1 and np.isclose(f.weights.iloc[0, 0], 1.0)


def test_report_section_has_points_table_and_figures():
    at = report_section_app("ui.frontier")
    at.run()
    assert not at.exception
    section = at.session_state["section"]
    assert section.key == "frontier"
    table = section.tables["Frontier points"]
    assert list(table.columns[:3]) == ["expected_return", "volatility", "sharpe_ratio"]
    assert len(table) == 50
    assert np.allclose(table.iloc[:, 3:].sum(axis=1), 1.0)
    assert all(len(name) <= 31 for name in section.tables)
    assert len(section.figures) == 2
    assert "critical line" in section.text


def test_picked_portfolio_figures_are_a_table_not_truncated_metrics():
    """Three metrics in a third of the page were cut ("Return (annualis...", "39.3...")."""
    at = open_page(PAGE)
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Return (annualised)" not in labels and "Volatility (annualised)" not in labels
    figures = at.table[0].value
    assert list(figures.index) == ["Expected return (annualised)", "Volatility (annualised)",
                                   "Sharpe ratio"]  # fmt: skip
    assert figures.iloc[0, 0].endswith(" %") and figures.iloc[1, 0].endswith(" %")


def _selected_marker(at: AppTest) -> tuple[float, float]:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    trace = next(t for t in spec["data"] if t.get("name") == "Selected portfolio")
    return trace["x"][0], trace["y"][0]


def test_pick_slider_moves_the_marker_in_its_fragment():
    # The slider and the chart share a fragment; the chart is built once per view and a move
    # only moves the marker (AppTest reruns the whole page, so this checks the output).
    at = open_page(PAGE)
    view = at.session_state["frontier_last"]
    before = _selected_marker(at)
    slider = at.slider(key="w_frontier_pick_volatility")
    slider.set_value(round(slider.value + 1.0, 2)).run()
    assert not at.exception
    vol, ret = _selected_marker(at)
    assert vol != pytest.approx(before[0])
    picked = view.frontier.portfolio_at_volatility(slider.value / 100)
    assert (vol, ret) == pytest.approx((picked.volatility, picked.expected_return))
    shown = at.table[0].value.loc["Volatility (annualised)"].iloc[0]
    assert shown == f"{picked.volatility * 100:.2f} %"
    names = _trace_names(at)
    assert names.count("Selected portfolio") == 1 and "Efficient frontier" in names


def test_first_page_allocation_from_holdings_is_the_allocation_pages():
    # Opened first, the page computes the allocation itself: from the holdings when the setup
    # says so, with the same limits as the Allocation page (not the from-cash optimum).
    setup = {"holdings": {"AAPL": 300.0, "KO": 500.0, "JNJ": 200.0, "XOM": 200.0},
             "cash": 10_000.0, "book_start_from": "holdings", "book_max_turnover": 0.10}
    at = open_page(PAGE, timeout=120, **setup)
    assert not at.exception
    first = at.session_state["allocation"]
    assert first.turnover is not None and first.turnover <= 0.10 + 1e-9
    assert at.session_state["book_last"].current_weights is not None
    alloc = open_page("pages/2_Allocation.py", timeout=120, **setup).session_state["allocation"]
    assert (first.weights - alloc.weights).abs().max() < 1e-9


def test_active_frontier_against_the_sp500_renders():
    at = open_page(PAGE)
    before = len(at.get("plotly_chart"))
    at.toggle(key="w_frontier_active").set_value(True).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == before + 1
    active = [c for c in charts if "Active frontier" in c["layout"]["title"]["text"]]
    assert active and "SP500" in active[0]["layout"]["title"]["text"]
    names = [t.get("name") for t in active[0]["data"]]
    assert {"Active frontier", "SP500", "Current allocation"} <= set(names)
    curve = next(t for t in active[0]["data"] if t["name"] == "Active frontier")
    te = curve["x"]
    if isinstance(te, dict):  # plotly's typed-array encoding
        import base64

        te = np.frombuffer(base64.b64decode(te["bdata"]), dtype=te["dtype"])
    assert np.all(np.diff(np.asarray(te, dtype=float)) > -1e-9) and te[0] > 0


def test_report_section_has_the_active_frontier_when_shown():
    at = report_section_app("ui.frontier")
    at.session_state["w_frontier_active"] = True
    at.run()
    assert not at.exception
    section = at.session_state["section"]
    points = section.tables["Active frontier points"]
    assert list(points.columns[:3]) == ["tracking_error", "active_return", "information_ratio"]
    assert len(section.figures) == 3 and "SP500" in section.text
    assert all(len(name) <= 31 for name in section.tables)
