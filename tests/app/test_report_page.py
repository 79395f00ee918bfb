"""AppTest of the Report page: downloads, and setups saved, loaded, renamed, deleted, imported."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.setups import SetupStore
from tests.app.conftest import ROOT, open_page

PAGE = "pages/7_Report.py"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Every test gets its own empty user data folder."""
    monkeypatch.setenv("BALLAST_DATA_DIR", str(tmp_path / "ballast"))
    monkeypatch.delenv("BALLAST_DATABASE_URL", raising=False)
    return tmp_path / "ballast"


def _labels(at, kind):
    return [w.label for w in at.get(kind)]


def _submit(at, label):
    next(b for b in at.get("form_submit_button") if b.label == label).click()
    at.run()
    assert not at.exception


def _save(at, name):
    at.text_input(key="report_save_name").input(name)
    _submit(at, "Save setup")


def _upload(at, name, content):
    at.file_uploader(key="report_import").set_value((name, content.encode(), "application/json"))
    at.run()
    assert not at.exception


def _click(at, label):
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception


def test_page_offers_the_downloads_and_lists_sections():
    at = open_page(PAGE)
    assert not at.exception
    assert not at.error
    labels = _labels(at, "download_button")
    for label in ("Allocation (CSV)", "Excel workbook (XLSX)", "HTML report",
                  "Download the current setup (JSON)"):  # fmt: skip
        assert label in labels
    text = " ".join(m.value for m in at.markdown)
    assert "**Allocation**: ready (4 tables, 2 charts)" in text
    for label in ("Black-Litterman", "Efficient frontier", "Risk", "Rebalancing"):
        assert f"**{label}**" in text
    assert any("No saved setups yet" in i.value for i in at.info)


def test_save_change_load_gives_identical_results(data_dir):
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=90)
    at.session_state["cov_method"] = "oas"
    at.session_state["max_weight"] = 0.3
    at.session_state["start"] = dt.date(2019, 1, 2)
    at.run()
    saved = at.session_state["allocation"]
    assert saved.weights.max() <= 0.3 + 1e-9
    _save(at, "Capped at 30 %")
    assert any("Saved the setup as 'Capped at 30 %'" in s.value for s in at.success)
    assert SetupStore(data_dir).names() == ["Capped at 30 %"]

    # Change things: objective, estimator, window, universe, constraints.
    at.session_state["objective_kind"] = "min_volatility"
    at.session_state["cov_method"] = "sample"
    at.session_state["max_weight"] = 1.0
    at.session_state["start"] = dt.date(2015, 1, 2)
    at.session_state["universe"] = ["AAPL", "MSFT", "XOM", "JPM", "KO"]
    at.run()
    changed = at.session_state["allocation"]
    assert set(changed.weights.index) != set(saved.weights.index)

    assert at.selectbox(key="report_setup_choice").value == "Capped at 30 %"
    _click(at, "Load")
    assert any("Loaded the setup" in s.value for s in at.success)
    loaded = at.session_state["allocation"]
    pd.testing.assert_series_equal(loaded.weights, saved.weights, rtol=0, atol=1e-12)
    assert loaded.expected_return == pytest.approx(saved.expected_return, abs=1e-14)
    assert loaded.volatility == pytest.approx(saved.volatility, abs=1e-14)
    assert at.session_state["start"] == dt.date(2019, 1, 2)
    assert at.session_state["cov_method"] == "oas"


def test_rename_and_delete_through_the_page(data_dir):
    store = SetupStore(data_dir)
    for name in ("first", "second"):
        store.save(name, {}, {"capital": 1.0})
    at = open_page(PAGE)
    assert at.selectbox(key="report_setup_choice").value == "second"  # the latest first
    at.text_input(key="report_rename_to").input("first")  # taken: refused with a message
    _submit(at, "Rename")
    assert any("exists already" in e.value for e in at.error)
    at.text_input(key="report_rename_to").input("renamed")
    _submit(at, "Rename")
    assert set(store.names()) == {"first", "renamed"}
    assert any("Renamed 'second' to 'renamed'" in s.value for s in at.success)
    assert at.selectbox(key="report_setup_choice").value == "renamed"
    _click(at, "Delete")
    assert store.names() == ["first"]
    assert any("Deleted the setup 'renamed'" in s.value for s in at.success)
    assert at.selectbox(key="report_setup_choice").options == ["first"]


def test_import_json_bad_then_good():
    at = open_page(PAGE)
    _upload(at, "bad.json", json.dumps({"colour": "red", "capital": 1.0}))
    errors = " ".join(e.value for e in at.error)
    assert "Could not import bad.json" in errors and "Unknown settings" in errors
    assert "colour" in errors
    _upload(at, "w.json", json.dumps({"capital": "lots", "long_only": "yes"}))
    errors = " ".join(e.value for e in at.error)
    assert "capital ('lots' is not a number)" in errors and "long_only" in errors
    tickers = json.dumps({"universe": ["AAPL", "TSLA", "NVDA"]})
    _upload(at, "c.json", json.dumps({"objective_kind": "max_fun", "cov_method": "sample"}))
    assert any("objective_kind ('max_fun' is not one of 'max_sharpe'" in e.value for e in at.error)
    _upload(at, "t.json", tickers)
    assert any("TSLA, NVDA" in e.value for e in at.error)
    assert at.session_state["universe"] != ["AAPL", "TSLA", "NVDA"]  # nothing applied

    good = {"universe": ["AAPL", "MSFT", "XOM", "JPM"], "objective_kind": "min_volatility",
            "start": "2020-01-02", "capital": 50000}  # fmt: skip
    _upload(at, "good.json", json.dumps(good))
    assert any("Imported the setup from good.json" in s.value for s in at.success)
    assert at.session_state["universe"] == ["AAPL", "MSFT", "XOM", "JPM"]
    assert at.session_state["start"] == dt.date(2020, 1, 2)
    result = at.session_state["allocation"]
    assert result.objective.kind == "min_volatility"
    assert set(result.weights.index) == {"AAPL", "MSFT", "XOM", "JPM"}


def test_corrupt_store_shows_an_error_not_a_traceback(data_dir):
    data_dir.mkdir(parents=True)
    (data_dir / "setups.sqlite3").write_bytes(b"garbage" * 200)
    at = open_page(PAGE)
    assert not at.exception
    assert any("damaged" in e.value for e in at.error)


def test_black_litterman_setup_round_trips(data_dir):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/3_Black-Litterman.py")
    at.session_state["bl_views"] = [
        {"kind": "absolute", "assets": "JPM", "return": 0.12, "confidence": 0.7},
        {"kind": "relative", "assets": "MSFT", "versus": "AAPL", "return": 0.03,
         "confidence": 0.4},
    ]  # fmt: skip
    at.run()
    next(b for b in at.button if b.label.startswith("Use the posterior")).click().run()
    assert not at.exception
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.session_state["expected_returns_source"] == "black_litterman"
    saved = at.session_state["allocation"]
    text = " ".join(m.value for m in at.markdown)
    assert "**Black-Litterman**: ready" in text
    _save(at, "views")

    at.session_state["bl_views"] = [{"kind": "absolute", "assets": "XOM", "return": 0.4}]
    at.session_state["expected_returns_source"] = "historical"
    at.session_state["bl_posterior_returns"] = None
    at.run()
    assert (at.session_state["allocation"].weights - saved.weights).abs().max() > 1e-3

    at.selectbox(key="report_setup_choice").select("views")
    _click(at, "Load")
    assert not at.warning
    loaded = at.session_state["allocation"]
    pd.testing.assert_series_equal(loaded.weights, saved.weights, rtol=0, atol=1e-10)


def _build_all_reports():
    """Run inside AppTest: every feature's section, strictly, and both reports built."""
    import streamlit as st

    from core.reporting import report_html, report_xlsx, sheet_names
    from ui import rebalance, report, state
    from ui.allocation import run_optimization

    state.init()
    run_optimization()
    rebalance.run_backtest_now()  # the largest section: a walk-forward backtest's curves
    statuses = report.collect_sections(strict=True)
    sections = [s.section for s in statuses if s.section is not None]
    summary = report.report_summary(statuses)
    st.session_state["out"] = {
        "statuses": {s.module: (s.status, s.message) for s in statuses},
        "sections": sections,
        "sheets": sheet_names(sections),
        "xlsx": report_xlsx(summary, sections, state.price_data().tickers),
        "html": report_html(summary, sections, state.price_data().tickers).decode("utf-8"),
    }


def test_every_feature_section_goes_into_both_reports():
    import io
    import re

    import openpyxl

    at = AppTest.from_function(_build_all_reports, default_timeout=120)
    at.session_state["bl_views"] = [
        {"kind": "absolute", "assets": "JPM", "return": 0.12, "confidence": 0.7}
    ]
    at.run()
    assert not at.exception
    out = at.session_state["out"]
    statuses = out["statuses"]
    assert statuses["ui.allocation"][0] == "ready"
    assert not [m for m, (status, _) in statuses.items() if status in ("error", "bug")]
    # Sections of the features that exist when this runs (others join as they are built).
    book = openpyxl.load_workbook(io.BytesIO(out["xlsx"]))
    assert book.sheetnames == ["Summary"] + [sheet for _, _, sheet in out["sheets"]]
    html = out["html"]
    assert len(re.findall(r"plotly\.js[^\n]{0,40} v\d", html)) == 1  # plotly.js once
    assert len(html.encode("utf-8")) < 2_000_000  # every section, a backtest too
    assert statuses["ui.rebalance"][0] == "ready" and "Backtest summary" in {
        name for s in out["sections"] for name in s.tables}  # fmt: skip
    assert html.count('class="plotly-graph-div"') == sum(len(s.figures) for s in out["sections"])
    for section in out["sections"]:
        assert f'id="section-{section.key}"' in html
        for name, table in section.tables.items():
            sheet = next(sh for k, n, sh in out["sheets"] if (k, n) == (section.key, name))
            rows = list(book[sheet].iter_rows(values_only=True))
            assert len(rows) == len(table) + 1, (section.key, name)


def test_import_reloads_the_data_source_it_names(sample):
    from core.market_data import upload_descriptor

    small = sample.subset(["AAPL", "KO", "XOM", "JPM"], start="2021-01-01")
    setup = {"data_source": upload_descriptor(small, "mine.csv"),
             "universe": ["AAPL", "KO", "XOM"], "objective_kind": "min_volatility"}  # fmt: skip
    at = open_page(PAGE)
    _upload(at, "upload.json", json.dumps(setup))
    assert any("Imported the setup" in s.value for s in at.success)
    data = at.session_state["price_data"]
    assert data.tickers == ["AAPL", "KO", "XOM", "JPM"] and data.source == "upload"
    pd.testing.assert_frame_equal(data.prices, small.prices, check_freq=False, atol=1e-9)
    assert set(at.session_state["allocation"].weights.index) == {"AAPL", "KO", "XOM"}
    assert at.session_state["start"] == dt.date(2021, 1, 4)  # None in the file: the data's start

    # Back to the sample, with a sector the user edited on the Data page.
    back = {"data_source": {"kind": "sample", "sectors": {"AAPL": "Hardware"}}}
    _upload(at, "sample.json", json.dumps(back))
    data = at.session_state["price_data"]
    assert data.source == "sample" and data.sectors["AAPL"] == "Hardware"
    assert len(data.tickers) == 20


def _round_trip_every_section():
    """Run inside AppTest: every section's tables before saving, after changes, after loading."""
    import streamlit as st

    from core.setups import SetupStore
    from ui import report, state
    from ui.allocation import run_optimization

    state.init()
    ss = st.session_state

    def tables():
        ss["allocation"] = None
        run_optimization()
        return {
            (s.section.key, name): table
            for s in report.collect_sections(strict=True)
            if s.section is not None
            for name, table in s.section.tables.items()
        }

    before = tables()
    store = SetupStore()
    store.save("all", report.current_setup(), state.DEFAULTS)
    ss["cov_method"], ss["objective_kind"], ss["max_weight"] = "sample", "min_volatility", 0.2
    ss["start"] = ss["start"].replace(year=ss["start"].year - 2)
    ss["bl_views"] = [{"kind": "absolute", "assets": "XOM", "return": 0.3, "confidence": 0.9}]
    ss["universe"] = ss["universe"][:8]
    changed = tables()
    report.apply_setup(store.load("all", state.DEFAULTS, report.current_setup()))
    ss["out"] = (before, changed, tables())


def test_every_section_identical_after_save_change_load():
    at = AppTest.from_function(_round_trip_every_section, default_timeout=180)
    at.session_state["bl_views"] = [
        {"kind": "relative", "assets": "MSFT", "versus": "AAPL", "return": 0.03, "confidence": 0.6}
    ]
    at.run()
    assert not at.exception
    before, changed, after = at.session_state["out"]
    assert {key for key, _ in before} >= {"allocation", "black_litterman"}
    assert before.keys() == after.keys()
    differs = [k for k in before if k in changed and not before[k].equals(changed[k])]
    assert ("allocation", "Weights") in differs
    for key, table in before.items():
        pd.testing.assert_frame_equal(after[key], table, check_exact=True, obj=str(key))


@pytest.fixture
def broken_features(monkeypatch):
    """Two feature modules: one whose section raises a BallastError, one with a bug."""
    import importlib.machinery
    import sys
    import types

    from core.exceptions import RiskInputError
    from ui import report

    def module(name, error):
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)

        def report_section():
            raise error

        mod.report_section = report_section
        monkeypatch.setitem(sys.modules, name, mod)

    module("ui.fake_user_error", RiskInputError("Too few observations for a 99 % VaR."))
    module("ui.fake_bug", KeyError("oops"))
    modules = {"ui.allocation": "Allocation", "ui.fake_user_error": "Fake risk",
               "ui.fake_bug": "Fake bug", "ui.not_there_yet": "Future"}  # fmt: skip
    monkeypatch.setattr(report, "SECTION_MODULES", modules)


def test_section_errors_are_shown_and_bugs_are_not_swallowed(broken_features):
    from ui import report

    with pytest.raises(KeyError, match="oops"):
        report.collect_sections(strict=True)
    at = open_page(PAGE)
    assert any("Fake risk: Too few observations" in e.value for e in at.error)
    assert not at.exception  # a bug is named in one line (logged with its traceback), not shown
    assert any("Fake bug: left out of the report, an internal error (KeyError)" in e.value
               for e in at.error)  # fmt: skip
    text = " ".join(m.value for m in at.markdown)
    assert "**Fake risk**: error" in text and "**Fake bug**: bug" in text
    assert "**Future**: not available" in text
    assert "Excel workbook (XLSX)" in _labels(at, "download_button")  # the rest still works


def _allocation_downloads():
    from ui import allocation, report, state

    state.init()
    allocation.run_optimization()
    report.section_downloads(allocation.report_section())


def test_a_page_can_offer_its_own_section_as_downloads():
    at = AppTest.from_function(_allocation_downloads, default_timeout=90)
    at.run()
    assert not at.exception
    assert _labels(at, "download_button") == ["Allocation (Excel)", "Allocation (HTML report)"]


# --- hostile setups: every value checked at import, a clear message, nothing of the session lost


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ({"holdings": {"AAPL": "ten"}}, "holdings/AAPL ('ten' is not a number)"),
        ({"risk_custom_windows": {"Mine": ["2020-01-01", "soon"]}},
         "risk_custom_windows/Mine ('soon' is not an ISO date"),
        ({"bl_views": ["buy apple"]}, "bl_views/0 ('buy apple' is not an object"),
        ({"universe": ["AAPL", "AAPL"]}, "universe (duplicates: AAPL)"),
        ({"risk_horizon": 300}, "risk_horizon (300 is above the maximum 250)"),
        ({"frontier_n_points": 1000}, "frontier_n_points (1000 is above the maximum 200)"),
        ({"start": "1600-01-01"}, "start (1600-01-01 is outside the dates Ballast handles"),
        ({"end": "9999-12-31"}, "end (9999-12-31 is outside the dates Ballast handles"),
        ({"start": "1950-01-03"}, "start (1950-01-03 is outside the data's dates"),
        ({"data_source": "yahoo"}, "data_source ('yahoo' is not a data source object"),
        ({"data_source": {"kind": ["sample"]}}, "data_source (kind ['sample'] is not one of"),
        ({"holdings": {"AAPL": 1}, "bl_views": "x" * 10}, "bl_views ('xxxxxxxxxx' is not a list"),
    ],
)  # fmt: skip
def test_hostile_setups_are_refused_with_the_key_and_the_problem(setup, words):
    at = open_page(PAGE)
    before = {k: at.session_state[k] for k in ("universe", "capital", "start", "holdings")}
    _upload(at, "hostile.json", json.dumps(setup))
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    shown = errors.replace("\\", "")  # as read: messages are Markdown-escaped (md_escape)
    assert "Could not import hostile.json" in shown and words in shown, errors
    assert not any("Imported" in s.value for s in at.success)
    assert {k: at.session_state[k] for k in before} == before  # nothing of the session lost
    at.run()  # and the page keeps working
    assert not at.exception


def test_huge_and_deep_setups_are_refused_before_any_work():
    at = open_page(PAGE)
    _upload(at, "deep.json", '{"holdings": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert any("nests lists or objects too deeply" in e.value for e in at.error)
    universe = [f"T{i:07d}" for i in range(1_000_000)]
    _upload(at, "wide.json", json.dumps({"universe": universe}))
    assert any("1,000,000 entries are more than the limit of 5,000" in e.value for e in at.error)
    assert len(at.session_state["universe"]) == 20
    assert "at most 20 MB" in at.file_uploader(key="report_import").label


def test_saved_setups_section_never_shows_the_server_path(data_dir):
    at = open_page(PAGE)
    shown = " ".join([c.value for c in at.caption] + [m.value for m in at.markdown])
    assert str(data_dir) not in shown and "sqlite3" not in shown


def test_a_planted_bad_record_is_refused_at_load(data_dir):
    import sqlite3

    store = SetupStore(data_dir)
    store.save("good", {}, {"capital": 1.0})
    record = {"format": "ballast-setup", "schema_version": 1,
              "setup": {"holdings": {"AAPL": "ten"}}, "types": {}}  # fmt: skip
    with sqlite3.connect(store.path) as con:  # behind the store's back
        con.execute("INSERT INTO setups (id, owner, name, schema_version, payload, created_at, "
                    "updated_at, revision) VALUES ('00000000000000aa', 'local', 'planted', 1, ?, "
                    "'2030-01-01 00:00:00', '2030-01-01 00:00:00', 1)",
                    (json.dumps(record),))  # fmt: skip
    at = open_page(PAGE)
    assert at.selectbox(key="report_setup_choice").value == "planted"
    assert not at.exception
    _click(at, "Load")
    errors = " ".join(e.value for e in at.error) + " ".join(w.value for w in at.warning)
    assert "holdings/AAPL ('ten' is not a number)" in errors
    assert at.session_state["holdings"] == {}


def _extreme_setup(which: str) -> dict:
    """Every numeric setting with a range at its minimum or its maximum (valid, if odd)."""
    from core import setups

    out = {}
    for key, rule in setups.RULES.items():
        if rule.lo is not None and rule.hi is not None:
            out[key] = rule.lo if which == "lo" else rule.hi
    out["long_only"] = False  # a negative minimum weight is for long-short setups
    if which == "hi":
        out["min_weight"] = 0.0  # at most max_weight
    return out


@pytest.mark.parametrize("which", ["lo", "hi"])
@pytest.mark.parametrize(
    "page", ["pages/2_Allocation.py", "pages/3_Black-Litterman.py",
             "pages/4_Efficient_Frontier.py", "pages/5_Risk.py", "pages/6_Rebalance.py"],
)  # fmt: skip
def test_the_rules_ranges_are_the_widgets_ranges(page, which):
    """Any value the validator accepts renders: no value above a widget's maximum."""
    from core import setups

    setup = setups.validate(_extreme_setup(which), {})  # valid, as an import would find it
    at = open_page(page, timeout=240, **setup)
    assert not at.exception, [e.message for e in at.exception]


def _key_figures_script():
    """Run inside AppTest: the allocation, the report's summary and the allocation section."""
    import streamlit as st

    from ui import allocation, report, state

    state.init()
    allocation.run_optimization()
    statuses = report.collect_sections(strict=True)
    section = next(s.section for s in statuses if s.module == "ui.allocation")
    st.session_state["out"] = {
        "summary": dict(report.report_summary(statuses).key_figures),
        "allocation": section.tables["Key figures"].iloc[0].to_dict(),
        "weights": st.session_state["allocation"].weights,
    }


@pytest.mark.parametrize("long_only", [True, False])
def test_key_figures_give_gross_and_net_exposure_for_a_long_short_portfolio(long_only):
    """#5: "Effective number of assets" was listed for long-short portfolios too."""
    at = AppTest.from_function(_key_figures_script, default_timeout=120)
    if not long_only:
        for key, value in (("long_only", False), ("min_weight", -0.3), ("max_weight", 0.4)):
            at.session_state[key] = value
    at.run()
    assert not at.exception
    out = at.session_state["out"]
    w = out["weights"]
    assert (w < -1e-6).any() != long_only
    for figures in (out["summary"], out["allocation"]):
        if long_only:
            assert figures["Effective number of assets"] == pytest.approx(1 / (w**2).sum())
            assert not any("exposure" in k for k in figures)
        else:
            assert "Effective number of assets" not in figures
            assert figures["Gross exposure (long + |short|)"] == pytest.approx(w.abs().sum())
            assert figures["Net exposure (long - |short|)"] == pytest.approx(w.sum())


def test_reopening_a_setup_says_what_changed_since_it_was_saved(data_dir):
    import sqlite3

    at = open_page(PAGE)
    saved = at.session_state["allocation"]
    _save(at, "Tangency")
    info = SetupStore(data_dir).list()[0]
    assert info.data_fingerprint.startswith("sha256:")
    record = SetupStore(data_dir).record("Tangency")
    assert record.key_figures["volatility"] == pytest.approx(saved.volatility, abs=0)
    assert record.versions["pandas"] == pd.__version__

    at.session_state["max_weight"] = 0.25  # change, then reopen: same data, code and figures
    at.run()
    _click(at, "Load")
    [box] = [e for e in at.expander if "Reproducibility of 'Tangency'" in e.label]
    text = " ".join(m.value for m in at.markdown)
    assert "Same data; same code; the key figures are unchanged." in text
    table = at.dataframe[-1].value.set_index("What")
    assert table.loc["price data", "Change"] == "same"
    assert table.loc["Code (Ballast and libraries)", "Change"] == "same versions"

    # As if it had been saved by another numpy, with another volatility.
    with sqlite3.connect(data_dir / "setups.sqlite3") as con:
        versions = {**record.versions, "numpy": "1.0.0"}
        figures = {**record.key_figures, "volatility": record.key_figures["volatility"] - 0.01}
        con.execute("UPDATE setups SET versions = ?, key_figures = ?",
                    (json.dumps(versions), json.dumps(figures)))  # fmt: skip
    _click(at, "Load")
    text = " ".join(m.value for m in at.markdown)
    assert "code changed: numpy; key figures moved: volatility." in text
    table = at.dataframe[-1].value.set_index("What")
    assert table.loc["Volatility (annualised, %)", "Change"] == "1.0000"
    assert table.loc["Version of numpy", "Saved"] == "1.0.0"

    at.session_state["max_weight"] = 0.2  # the setup changed: the comparison no longer applies
    at.run()
    assert not [e for e in at.expander if "Reproducibility" in e.label]
