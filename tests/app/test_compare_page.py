"""AppTest of the Compare page and of the resampled frontier, with their bad-input paths."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_page, report_section_app

PAGE = "pages/8_Compare.py"
FRONTIER = "pages/4_Efficient_Frontier.py"
UNIVERSE = ["AAPL", "JNJ", "KO", "XOM", "JPM", "WMT", "MSFT", "PG"]
FAST = dict(universe=UNIVERSE, compare_start=dt.date(2020, 1, 2), compare_lookback_years=1.0)
DESIGNS = [
    {"name": "Equal weight", "kind": "equal_weight"},
    {"name": "Max Sharpe 30%", "kind": "optimized", "objective": "max_sharpe",
     "max_weight": 0.3},
    {"name": "Min vol sample", "kind": "optimized", "objective": "min_volatility",
     "cov_method": "sample", "constraints": "long_only"},
    {"name": "Black-Litterman", "kind": "black_litterman", "objective": "max_sharpe"},
    {"name": "Market cap", "kind": "market_cap"},
]  # fmt: skip


def _texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def _run(at: AppTest, timeout: float = 240.0) -> AppTest:
    """Click Run, then rerun until the background job has finished (result or error)."""
    at.button(key="w_run_compare").click().run(timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if at.error or at.session_state["compare_last"] is not None:
            return at
        if not at.get("progress"):  # nothing running any more: one last run collects it
            at.run(timeout=timeout)
            return at
        time.sleep(0.3)
        at.run(timeout=timeout)
    raise AssertionError("the comparison did not finish")


def test_compare_runs_every_kind_of_design_side_by_side():
    views = [{"kind": "absolute", "assets": "MSFT", "return": 0.2, "confidence": 0.5}]
    at = open_page(PAGE, timeout=120, compare_designs=DESIGNS, bl_views=views,
                   compare_baseline="Market cap", **FAST)  # fmt: skip
    assert not at.exception and not at.error, _texts(at.error)
    _run(at)
    assert not at.exception and not at.error, _texts(at.error)
    result = at.session_state["compare_last"][1]
    assert list(result.results) == [d["name"] for d in DESIGNS]
    assert result.baseline == "Market cap"
    assert list(result.tests.index) == [d["name"] for d in DESIGNS[:4]]
    assert (result.results["Max Sharpe 30%"].weights.to_numpy() <= 0.3 + 1e-9).all()
    tables = [d.value for d in at.dataframe]
    metrics = next(t for t in tables if "Annualised return (%)" in t.columns)
    assert len(metrics) == 5 and "Maximum drawdown (%, loss)" in metrics.columns
    assert any("p, Ledoit-Wolf HAC" in t.columns for t in tables)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in spec["data"]]
    assert names[:5] == [d["name"] for d in DESIGNS] and "SP500" in names
    assert at.session_state["compare_designs"] == DESIGNS  # the setup is kept as it was


def test_the_report_holds_the_comparison_and_a_change_marks_it_stale():
    at = open_page(PAGE, timeout=120, compare_designs=DESIGNS[:2], **FAST)
    _run(at)
    assert not at.error, _texts(at.error)
    stored = at.session_state["compare_last"]
    rs = report_section_app("ui.compare")
    for key, value in {**FAST, "compare_designs": DESIGNS[:2], "compare_last": stored}.items():
        rs.session_state[key] = value
    rs.run(timeout=120)
    section = rs.session_state["section"]
    assert section is not None and section.key == "compare"
    assert {"Metrics", "Sharpe tests", "Equity (growth of 1)"} <= set(section.tables)
    from core.reporting import ReportSummary, report_html, report_xlsx

    summary = ReportSummary(title="Comparison")
    assert report_xlsx(summary, [section], UNIVERSE)[:2] == b"PK"  # a workbook (zip)
    assert b"Comparison of designs" in report_html(summary, [section], UNIVERSE)
    at.number_input(key="w_compare_cost_bps").set_value(25.0).run()
    assert not at.exception
    assert "The setup changed" in _texts(at.info)


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ({"compare_designs": [DESIGNS[0], DESIGNS[0]]}, "own name (Equal weight is repeated)"),
        ({"compare_designs": [{"name": f"d{i}", "kind": "equal_weight"} for i in range(11)]},
         "at most 10 designs"),
        ({"compare_designs": [DESIGNS[0], DESIGNS[4]], "bl_market_caps": {"AAPL": 0.0}},
         "Market cap: no positive market capitalisation for AAPL"),
        ({"compare_start": dt.date(2022, 12, 27)}, "No dates are left to compare"),
        ({"compare_designs": [DESIGNS[0], {"name": "TE", "kind": "optimized",
                                           "objective": "min_tracking_error"}],
          "rebalance_benchmark": "__upload__"}, "TE: Minimum tracking error"),
        ({"compare_designs": [DESIGNS[0], DESIGNS[3]],
          "bl_views": [{"kind": "absolute", "assets": "ZZZZ", "return": 0.1}]}, "ZZZZ"),
    ],
)  # fmt: skip
def test_bad_inputs_show_an_error_and_keep_the_state(setup, words):
    at = open_page(PAGE, timeout=120, **{**FAST, **setup})
    assert not at.exception
    _run(at)
    assert not at.exception, [e.message for e in at.exception]
    assert words in _texts(at.error)
    assert at.session_state["compare_last"] is None
    for key, value in setup.items():
        assert at.session_state[key] == value


def test_resampled_frontier_beside_the_mean_variance_one():
    setup = dict(universe=UNIVERSE, frontier_resampled=True, frontier_resamples=50,
                 frontier_resample_seed=3)  # fmt: skip
    at = open_page(FRONTIER, timeout=120, **setup)
    assert not at.exception and not at.error, _texts(at.error)
    key, first = at.session_state["frontier_resampled_last"]
    assert first.n_resamples == 50 and first.seed == 3
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    names = {trace.get("name") for spec in charts for trace in spec["data"]}
    assert "Resampled frontier (50 resamples)" in names and "Mean-variance frontier" in names
    at.run()  # same inputs: kept, not resampled again
    assert at.session_state["frontier_resampled_last"][1] is first
    at.selectbox(key="w_frontier_resample_method").set_value("parametric").run(timeout=120)
    assert not at.exception
    again = at.session_state["frontier_resampled_last"][1]
    assert again.method == "parametric"
    rs = report_section_app("ui.frontier")
    for k, v in setup.items():
        rs.session_state[k] = v
    rs.session_state["frontier_resampled_last"] = (key, first)
    rs.run(timeout=120)
    assert "Resampled frontier" in rs.session_state["section"].tables


def test_resampled_frontier_bad_inputs_keep_the_state():
    # Values no widget offers (from a hand-edited setup) are fitted with a warning.
    at = open_page(FRONTIER, timeout=120, universe=UNIVERSE, frontier_resampled=True,
                   frontier_resamples=7, frontier_resample_seed=1)  # fmt: skip
    assert not at.exception
    assert at.session_state["frontier_resampled_last"][1].n_resamples == 200
    # Constraints no portfolio meets: an error, the toggle and its settings kept.
    at = open_page(FRONTIER, timeout=120, universe=UNIVERSE, frontier_resampled=True,
                   frontier_resamples=50, max_weight=0.05)  # fmt: skip
    assert not at.exception
    assert "maximum weight" in _texts(at.error)
    assert at.session_state["frontier_resampled"] is True
    assert at.session_state["frontier_resamples"] == 50


def test_a_running_comparison_can_be_cancelled_and_the_last_result_stays():
    first = _run(open_page(PAGE, timeout=120, compare_designs=DESIGNS[:2], **FAST))
    stored = first.session_state["compare_last"]
    assert stored is not None
    slow = [{"name": f"Max Sharpe {i}", "kind": "optimized", "objective": "max_sharpe",
             "max_weight": 0.2 + i / 100} for i in range(10)]  # fmt: skip
    at = open_page(PAGE, timeout=120, compare_designs=slow, compare_last=stored,
                   **{**FAST, "compare_start": dt.date(1990, 1, 2),
                      "compare_lookback_years": 3.0})  # thirty years, monthly  # fmt: skip
    at.button(key="w_run_compare").click().run()
    assert at.get("progress"), "the job should still be running"
    at.button(key="_job_cancel_compare").click().run()
    at.run()
    assert not at.exception
    assert "cancelled" in _texts(at.info)
    assert at.session_state["compare_last"] is stored  # the last result that finished stays


def test_designs_travel_in_a_saved_setup_and_bad_ones_are_refused():
    from core import setups
    from core.exceptions import SetupError
    from ui import state  # registers the rules of the compare and resampling keys

    setup = {**{k: state.DEFAULTS[k] for k in state.DEFAULTS if k.startswith("compare_")},
             "compare_designs": DESIGNS, "frontier_resampled": True, "frontier_resamples": 500}
    data = setups.export_json(setup, state.DEFAULTS, name="designs")
    back = setups.import_json(data, state.DEFAULTS)
    back = back[0] if isinstance(back, tuple) else back
    assert back["compare_designs"] == DESIGNS and back["frontier_resamples"] == 500
    for bad, words in (
        ({"compare_designs": [{"name": "x", "kind": "momentum"}]}, "compare_designs/0/kind"),
        ({"compare_designs": [{"kind": "equal_weight"}]}, "missing field 'name'"),
        ({"compare_designs": [{"name": "x", "kind": "optimized", "max_weight": 2.0}]},
         "compare_designs/0/max_weight"),
        ({"frontier_resamples": 10**6}, "frontier_resamples"),
    ):  # fmt: skip
        with pytest.raises(SetupError, match=words):
            setups.validate(bad, {})


def test_a_hostile_design_name_is_shown_literally():
    name = "[Verify](https://x.example) ![](http://h/p.png)"
    at = open_page(PAGE, timeout=120, **FAST, compare_baseline=name, compare_designs=[
        {"name": name, "kind": "equal_weight"},
        {"name": '<a href="https://x.example">Verify</a>', "kind": "market_cap"}])
    _run(at)
    assert not at.exception and not at.error, _texts(at.error)
    head = next(h.value for h in at.subheader if "against the baseline" in h.value)
    # Markdown that renders the name as text: every bracket escaped, so no link, no image
    assert r"\[Verify\](https:" in head and r"!\[\](http:" in head
    assert "](https://" not in head and "](http://" not in head  # no autolink either
