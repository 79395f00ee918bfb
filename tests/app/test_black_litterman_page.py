"""AppTest of the Black-Litterman page on the bundled data: views editor, sliders, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, has_none_cells, open_page, report_section_app

PAGE = "pages/3_Black-Litterman.py"
JPM = {"Kind": "absolute", "Assets": "JPM", "Return (% a year)": 8.0}
MSFT_AAPL = {"Kind": "relative", "Assets": "MSFT", "Versus": "AAPL", "Return (% a year)": 2.0}


def edit(at: AppTest, added=(), edited=None, deleted=()) -> AppTest:
    """Set the views editor's edit state (relative to the table the page opened with)."""
    at.session_state["w_bl_views"] = {
        "edited_rows": edited or {},
        "added_rows": list(added),
        "deleted_rows": list(deleted),
    }
    at.run()
    assert not at.exception
    return at


def posterior(at: AppTest) -> pd.Series:
    return at.session_state["bl_result"].result.returns


def test_no_views_posterior_is_the_prior():
    at = open_page(PAGE)
    assert not at.exception
    assert any("No views yet" in i.value for i in at.info)
    outcome = at.session_state["bl_result"]
    pd.testing.assert_series_equal(outcome.result.returns, outcome.result.prior_returns,
                                   check_names=False)  # fmt: skip
    assert len(at.slider) == 0


def test_add_edit_remove_views():
    at = edit(open_page(PAGE), added=[JPM, MSFT_AAPL])
    assert [s.label for s in at.slider] == [
        "View 1: JPM returns 8.00 % a year",
        "View 2: MSFT outperforms AAPL by 2.00 % a year",
    ]
    views = at.session_state["bl_views"]
    assert [(v["assets"], v["return"], v["confidence"]) for v in views] == [
        ("JPM", 0.08, 0.5),
        ("MSFT", 0.02, 0.5),
    ]
    first = posterior(at)
    prior = at.session_state["bl_result"].result.prior_returns
    assert abs(first["JPM"] - prior["JPM"]) > 1e-4

    json.dumps(views)  # a saved setup holds them

    # Edit: JPM returns 12 % instead of 8 % (added rows are edited in place); the view keeps
    # its confidence.
    at.slider(key="w_bl_conf_0").set_value(80).run()
    moved = posterior(at)
    at = edit(at, added=[{**JPM, "Return (% a year)": 12.0}, MSFT_AAPL])
    assert at.slider[0].label == "View 1: JPM returns 12.00 % a year"
    assert at.slider[0].value == 80
    assert moved["JPM"] < first["JPM"] < posterior(at)["JPM"]  # 8 % pulls down, 12 % up

    # Remove the JPM view.
    at = edit(at, added=[MSFT_AAPL])
    assert [s.label for s in at.slider] == ["View 1: MSFT outperforms AAPL by 2.00 % a year"]
    assert len(at.session_state["bl_views"]) == 1


def test_delete_a_saved_view_keeps_the_other_views_confidence():
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=90)
    at.session_state["bl_views"] = [
        {"kind": "absolute", "assets": "JPM", "return": 0.08, "confidence": 0.2},
        {
            "kind": "relative",
            "assets": "MSFT",
            "versus": "AAPL",
            "return": 0.02,
            "confidence": 0.9,
        },  # fmt: skip
    ]
    at.run()
    assert [s.value for s in at.slider] == [20, 90]
    at = edit(at, deleted=[0])
    assert [s.value for s in at.slider] == [90]
    assert at.session_state["bl_views"][0]["confidence"] == 0.9


def test_bad_view_shows_error_and_keeps_the_previous_result():
    at = edit(open_page(PAGE), added=[JPM])
    good = posterior(at)
    at = edit(at, added=[JPM, {"Kind": "absolute", "Assets": "ZZZZ", "Return (% a year)": 5.0}])
    assert any("unknown ticker 'ZZZZ'" in e.value for e in at.error)
    pd.testing.assert_series_equal(posterior(at), good)
    assert any("last result" in i.value for i in at.info)

    at = edit(at, added=[JPM, {"Kind": "absolute", "Assets": "JPM", "Return (% a year)": 5.0}])
    assert any("repeats view 1" in e.value for e in at.error)
    pd.testing.assert_series_equal(posterior(at), good)


def test_extreme_return_warns():
    at = edit(open_page(PAGE), added=[{**JPM, "Return (% a year)": 80.0}])
    assert any("beyond" in w.value for w in at.warning)


def test_moving_a_slider_changes_the_posterior():
    at = edit(open_page(PAGE), added=[JPM])
    half = posterior(at)
    at.slider(key="w_bl_conf_0").set_value(100).run()
    assert not at.exception
    full = posterior(at)
    assert abs(full["JPM"] - 0.08) < 1e-12
    assert at.session_state["bl_views"][0]["confidence"] == 1.0
    at.slider(key="w_bl_conf_0").set_value(0).run()
    none = posterior(at)
    prior = at.session_state["bl_result"].result.prior_returns
    np.testing.assert_array_equal(none.to_numpy(), prior.to_numpy())
    # The single-view tilt at 50 % is half the tilt at 100 %.
    np.testing.assert_allclose(half - prior, 0.5 * (full - prior), atol=1e-12)


def test_use_the_posterior_feeds_the_allocation_page():
    at = open_page("app.py")
    at.switch_page(PAGE).run()
    at = edit(at, added=[JPM, MSFT_AAPL])
    at.button[0].click().run()
    assert not at.exception
    sent = at.session_state["bl_posterior_returns"]
    pd.testing.assert_series_equal(sent, posterior(at), check_names=False)
    assert at.session_state["expected_returns_source"] == "black_litterman"
    at.switch_page("pages/2_Allocation.py").run()
    assert not at.exception
    result = at.session_state["allocation"]
    assert abs(result.weights.sum() - 1) < 1e-9
    bl_opt = at.session_state["bl_result"].optimised
    np.testing.assert_allclose(result.weights, bl_opt.weights.reindex(result.weights.index),
                               atol=1e-6)  # fmt: skip


def test_report_section():
    at = report_section_app("ui.black_litterman")
    at.run()
    assert not at.exception
    assert at.session_state["section"] is None
    at.session_state["bl_views"] = [
        {
            "kind": "relative",
            "assets": "XOM, CVX",
            "versus": "KO",
            "return": 0.03,
            "basket": "market_cap",
            "confidence": 0.7,
        },  # fmt: skip
    ]
    at.run()
    section = at.session_state["section"]
    assert section.key == "black_litterman"
    assert set(section.tables) == {"BL posterior", "BL views"}
    assert all(len(name) <= 31 for name in section.tables)
    assert len(section.figures) == 3
    views = section.tables["BL views"]
    assert views.loc[0, "Confidence"] == 0.7


def test_example_views_button_fills_the_table():
    at = open_page(PAGE)
    at.button[0].click().run()
    assert not at.exception
    assert [s.label for s in at.slider] == [
        "View 1: JPM returns 8.00 % a year",
        "View 2: MSFT outperforms AAPL by 2.00 % a year",
    ]
    assert len(at.data_editor[-1].value) == 2


def test_prior_and_omega_inputs():
    at = edit(open_page(PAGE), added=[JPM])
    market = at.session_state["bl_result"].inputs.market_weights
    assert market["AAPL"] > market["RRC"]  # market caps by default
    at.radio(key="w_bl_prior").set_value("equal").run()
    assert not at.exception
    np.testing.assert_allclose(at.session_state["bl_result"].inputs.market_weights, 1 / 20)

    at.toggle[0].set_value(True).run()
    at.number_input(key="w_bl_delta").set_value(3.0).run()
    assert at.session_state["bl_result"].inputs.delta == 3.0

    # User-given view variance: the column must be filled, else an error names the view.
    at.selectbox(key="w_bl_omega").set_value("variance").run()
    assert any("standard deviation for View 1" in e.value for e in at.error)
    assert len(at.slider) == 0
    at = edit(at, added=[{**JPM, "View std dev (% a year)": 0.0}])
    assert not at.error
    assert abs(posterior(at)["JPM"] - 0.08) < 1e-9  # zero view variance: the view holds


def _shown(slider) -> float:
    """The value the browser shows for a slider element it draws afresh (proto value or default)."""
    proto = slider.proto
    return (proto.value if proto.set_value else proto.default)[0]


def test_adding_a_view_keeps_the_other_views_confidence():
    """Issue steps: example views, view 1 at 70 %, a new row gets XOM then 12 % (or 12 first).

    The half-typed row is an error, so that run draws no sliders; when they come back the
    browser must be told their values (it showed 0 % while the posterior used 70 %).
    """
    xom = {"Assets": "XOM", "Return (% a year)": 12.0}
    for steps in ([{"Assets": "XOM"}, xom], [{"Return (% a year)": 12.0}, xom]):
        at = open_page(PAGE)
        at.button[0].click().run()
        at.slider(key="w_bl_conf_0").set_value(70).run()
        for row in steps:
            at = edit(at, added=[{"Kind": "absolute", **row}])
        assert [s.label for s in at.slider][2] == "View 3: XOM returns 12.00 % a year"
        assert [v["confidence"] for v in at.session_state["bl_views"]] == [0.7, 0.5, 0.5]
        assert [_shown(s) for s in at.slider] == [70, 50, 50]
        np.testing.assert_allclose(at.session_state["bl_result"].confidences, [0.7, 0.5, 0.5])


def test_a_new_editor_does_not_take_old_slider_values():
    at = open_page(PAGE)
    at.button[0].click().run()
    at.slider(key="w_bl_conf_0").set_value(90).run()
    # A loaded setup replaces the views and drops the editor: slider 0 must not keep 90 %.
    at.session_state["bl_views"] = [dict(v, confidence=0.3) for v in at.session_state["bl_views"]]
    at.session_state["w_bl_views"] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    del at.session_state["wbase_bl_views"]
    at.run()
    assert [s.value for s in at.slider] == [30, 30]


def test_one_name_for_the_page_in_the_sidebar_title_and_links():
    """The sidebar said "Black Litterman" (the file name), the title "Black-Litterman views"."""
    from streamlit.source_util import page_icon_and_name

    _, sidebar_name = page_icon_and_name(ROOT / PAGE)  # how Streamlit names the page
    assert sidebar_name == "Black-Litterman"
    at = open_page(PAGE)
    assert at.title[0].value == sidebar_name
    home = open_page("app.py")
    assert f"**{sidebar_name}**" in "\n".join(m.value for m in home.markdown)


def test_benchmark_objectives_reoptimise_against_the_chosen_benchmark():
    # Minimum tracking error and maximum information ratio need the benchmark's weights: the
    # page takes the data's index (the Rebalance page's choice), estimated with the assets, as
    # the Allocation page does, and the two pages agree.
    for kind in ("min_tracking_error", "max_information_ratio"):
        at = open_page("app.py", objective_kind=kind)
        at.switch_page(PAGE).run()
        at = edit(at, added=[JPM])
        texts = " ".join(str(e.value) for e in at.error)
        assert "benchmark" not in texts, texts
        bl_opt = at.session_state["bl_result"].optimised
        assert bl_opt is not None and bl_opt.tracking_error is not None
        assert abs(bl_opt.weights.sum() - 1) < 1e-9 and "SP500" not in bl_opt.weights.index
        at.button[0].click().run()
        at.switch_page("pages/2_Allocation.py").run()
        assert not at.exception
        result = at.session_state["allocation"]
        np.testing.assert_allclose(result.weights, bl_opt.weights.reindex(result.weights.index),
                                   atol=1e-6)  # fmt: skip


def test_a_market_cap_that_is_not_a_number_is_ignored_not_a_crash():
    at = open_page("pages/3_Black-Litterman.py", bl_market_caps={"AAPL": "x", "KO": -5.0,
                                                                  "MSFT": 2500.0})  # fmt: skip
    assert not at.exception
    assert not at.error
    caps = at.session_state["bl_market_caps"]
    assert caps.get("MSFT") == 2500.0 and "AAPL" not in caps and "KO" not in caps


def test_posterior_table_is_formatted_by_its_columns_not_a_styler():
    at = edit(open_page(PAGE), added=[JPM])
    table = next(d for d in at.dataframe if "Posterior return" in d.proto.columns)
    assert not table.proto.arrow_data.styler.display_values  # no pandas Styler to send
    assert not has_none_cells(table)
    config = json.loads(table.proto.columns)
    assert config["Posterior return"]["type_config"]["format"] == "%.2f %%"
    assert table.value["Posterior return"].abs().max() > 1  # in %, not decimals


def _memo_script() -> None:
    import streamlit as st

    from ui import cache

    owner = st.session_state.setdefault("owner", object())
    calls = st.session_state.setdefault("calls", [])

    def build(value):
        calls.append(value)
        return [value]

    for value in st.session_state["values"]:
        st.session_state["last"] = cache.session_memo("t", owner, value, lambda v=value: build(v),
                                                      max_entries=2)  # fmt: skip


def test_session_memo_reuses_a_value_until_its_owner_changes():
    """What a fragment's slider move back to a value shown before costs: a look-up."""
    at = AppTest.from_function(_memo_script)
    at.session_state["values"] = [60, 70, 60]
    at.run()
    assert not at.exception
    assert at.session_state["calls"] == [60, 70]  # the move back to 60 built nothing
    first = at.session_state["last"]
    at.session_state["values"] = [60]
    at.run()
    assert at.session_state["last"] is first  # the very object: an unchanged figure stays one
    at.session_state["values"] = [80, 90, 60]  # beyond max_entries: 60 was dropped
    at.run()
    assert at.session_state["calls"] == [60, 70, 80, 90, 60]
    at.session_state["owner"] = object()  # new inputs (a full rerun): everything forgotten
    at.session_state["values"] = [60]
    at.run()
    assert at.session_state["calls"][-1] == 60 and len(at.session_state["calls"]) == 6
