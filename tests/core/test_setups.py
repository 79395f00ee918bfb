"""Saved setups: JSON round trip, validation, and the local SQLite store's atomicity and errors.

Owners, sharing, PostgreSQL and migrations: tests/core/test_store.py.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.exceptions import SetupError
from core.setups import (
    SCHEMA_VERSION,
    SetupStore,
    check_tickers,
    export_json,
    from_jsonable,
    import_json,
    to_jsonable,
)

ROOT = Path(__file__).resolve().parents[2]

DEFAULTS = {
    "data_source": {"kind": "sample"},
    "universe": None,
    "start": None,
    "end": None,
    "returns_method": "mean_historical",
    "risk_free_rate": 0.02,
    "long_only": True,
    "max_volatility": None,
    "asset_bounds": {},
    "capital": 100_000.0,
}
CURRENT = {"universe": ["AAPL", "MSFT"], "start": dt.date(2018, 1, 1), "end": dt.date(2022, 12, 28)}
SETUP = {
    "data_source": {"kind": "sample"},
    "universe": ["AAPL", "MSFT", "JPM"],
    "start": dt.date(2019, 3, 1),
    "end": dt.date(2022, 6, 30),
    "returns_method": "capm",
    "risk_free_rate": 0.035,
    "long_only": False,
    "max_volatility": 0.18,
    "asset_bounds": {"AAPL": (0.05, 0.3), "JPM": (-0.1, 0.2)},
    "capital": 1_250_000.5,
}
TICKERS = ["AAPL", "MSFT", "JPM", "XOM"]


def test_json_round_trip_restores_dates_and_tuples():
    back = import_json(export_json(SETUP, DEFAULTS), DEFAULTS, CURRENT, TICKERS)
    assert back == SETUP
    assert isinstance(back["start"], dt.date) and isinstance(back["asset_bounds"]["AAPL"], tuple)
    payload = json.loads(export_json(SETUP, DEFAULTS))
    assert payload["schema_version"] == SCHEMA_VERSION
    assert payload["setup"]["start"] == "2019-03-01"  # ISO strings in the file
    assert payload["setup"]["asset_bounds"]["AAPL"] == [0.05, 0.3]  # tuples as lists


def test_keys_come_from_the_defaults_given():
    more = {**DEFAULTS, "risk_confidence": 0.95}
    payload = to_jsonable({**SETUP, "not_a_setup_key": object()}, more)
    assert set(payload["setup"]) == set(more)
    assert payload["setup"]["risk_confidence"] == 0.95  # missing key: its default
    # A file from before a key existed loads with that key's default.
    old = {k: v for k, v in json.loads(export_json(SETUP, DEFAULTS))["setup"].items()}
    assert from_jsonable({"setup": old}, more, CURRENT)["risk_confidence"] == 0.95


def test_hand_written_file_without_types_restores_dates():
    text = json.dumps({"start": "2020-01-02", "universe": ["AAPL", "XOM"], "capital": 5000})
    setup = import_json(text, DEFAULTS, CURRENT, TICKERS)
    assert setup["start"] == dt.date(2020, 1, 2)
    assert setup["capital"] == 5000.0 and isinstance(setup["capital"], float)
    assert setup["returns_method"] == "mean_historical"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not json at all", ["not valid JSON", "line 1"]),
        (b'{"capital": 1000', ["not valid JSON"]),
        (b"[1, 2, 3]", ["JSON object"]),
        (b"\xff\xfe\x00garbage", ["not UTF-8"]),
        (b'{"capital": NaN}', ["NaN"]),
        (b'{"colour": "red", "leverage": 2}', ["Unknown settings", "colour, leverage"]),
        (b'{"capital": "lots", "long_only": 1, "universe": "AAPL"}',
         ["cannot be used", "capital ('lots' is not a number)",
          "long_only (1 is not true or false)", "universe ('AAPL' is not a list)"]),
        (b'{"universe": ["AAPL", 3]}', ["universe/1 (3 is not a ticker"]),
        (b'{"capital": null}', ["capital (expected a number, got null)"]),
        (b'{"start": "2020-13-45"}', ["start", "not an ISO date"]),
        (b'{"universe": ["AAPL", "TSLA", "NVDA"], "asset_bounds": {"GME": [0, 0.1]}}',
         ["lacks", "TSLA, NVDA, GME"]),
        (b'{"schema_version": 99, "setup": {}}', ["newer version of Ballast", "schema 99"]),
        (b'{"format": "other-app", "setup": {}}', ["Not a Ballast setup"]),
        (b'{"schema_version": 1, "setup": 5}', ["no 'setup' object"]),
    ],
)  # fmt: skip
def test_malformed_files_give_clear_errors(content, words):
    with pytest.raises(SetupError) as info:
        import_json(content, DEFAULTS, CURRENT, TICKERS)
    for word in words:
        assert word in str(info.value)


def test_unknown_tickers_checked_in_hinted_keys():
    with pytest.raises(SetupError, match="ZZZ"):
        check_tickers({"universe": ["AAPL"], "rebalance_holdings": {"ZZZ": 10}}, TICKERS)
    check_tickers({"universe": ["AAPL"], "capital": 1.0}, TICKERS)


_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False), st.dates(),
)  # fmt: skip
_json_value = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.sampled_from(["x", "y/z", "~1", "y", "z"]), inner, max_size=3),
    ),  # fmt: skip
    max_leaves=8,
)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), _json_value, min_size=3))
def test_any_json_friendly_setup_round_trips(values):
    defaults = dict.fromkeys(values)  # None defaults: any type accepted
    assert import_json(export_json(values, defaults), defaults) == values


# --- the store ------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    return SetupStore(tmp_path / "data")


def plant(store, name, payload_text, version=SCHEMA_VERSION, when="2030-01-01 00:00:00"):
    """Write a record behind the store's back (what a damaged or hostile file holds)."""
    with sqlite3.connect(store.path) as con:
        con.execute("INSERT INTO setups (id, owner, name, schema_version, payload, created_at, "
                    "updated_at, revision) VALUES (lower(hex(randomblob(8))), 'local', ?, ?, ?, "
                    "?, ?, 1)", (name, version, payload_text, when, when))  # fmt: skip


def test_save_list_load_rename_delete(store):
    assert store.list() == []
    store.save("  Max  Sharpe ", SETUP, DEFAULTS)
    store.save("Min vol", {**SETUP, "capital": 10.0}, DEFAULTS)
    assert store.path.name == "setups.sqlite3"
    assert set(store.names()) == {"Max Sharpe", "Min vol"}
    assert store.names()[0] == "Min vol"  # most recent first
    assert store.load("Max Sharpe", DEFAULTS, CURRENT) == SETUP
    with pytest.raises(SetupError, match="You have a setup called 'Max Sharpe' already"):
        store.save("Max Sharpe", {**SETUP, "capital": 7.0}, DEFAULTS)
    store.save("Max Sharpe", {**SETUP, "capital": 7.0}, DEFAULTS, overwrite=True)  # replaces
    assert store.load("Max Sharpe", DEFAULTS, CURRENT)["capital"] == 7.0
    assert len(store.list()) == 2
    store.rename("Max Sharpe", "Tangency")
    assert set(store.names()) == {"Tangency", "Min vol"}
    with pytest.raises(SetupError, match="exists already"):
        store.rename("Tangency", "Min vol")
    with pytest.raises(SetupError, match="No saved setup is called 'nope'"):
        store.rename("nope", "x")
    store.delete("Min vol")
    assert store.names() == ["Tangency"]
    with pytest.raises(SetupError, match="No saved setup"):
        store.delete("Min vol")
    with pytest.raises(SetupError, match="No saved setup"):
        store.load("Min vol", DEFAULTS)
    with pytest.raises(SetupError, match="Give the setup a name"):
        store.save("   ", SETUP, DEFAULTS)


def test_data_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BALLAST_DATA_DIR", str(tmp_path / "elsewhere.v2"))
    store = SetupStore()
    assert store.path == tmp_path / "elsewhere.v2" / "setups.sqlite3"
    store.save("x", SETUP, DEFAULTS)
    assert store.path.exists()


def test_injected_failure_between_write_and_commit_keeps_the_old_setup(store, monkeypatch):
    store.save("Mine", SETUP, DEFAULTS)

    seen = []

    def boom(connection):
        # The write happened inside the transaction at this point...
        row = connection.execute("SELECT payload FROM setups WHERE name='Mine'").fetchone()
        seen.append(None if row is None else json.loads(row[0])["setup"]["capital"])
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "_before_commit", boom)
    with pytest.raises(RuntimeError, match="power cut"):
        store.save("Mine", {**SETUP, "capital": 1.0}, DEFAULTS, overwrite=True)
    with pytest.raises(RuntimeError):
        store.save("Other", SETUP, DEFAULTS)
    with pytest.raises(RuntimeError):
        store.delete("Mine")
    monkeypatch.undo()
    assert seen == [1.0, SETUP["capital"], None]
    # ...and none of it reached the file.
    assert store.load("Mine", DEFAULTS, CURRENT) == SETUP
    assert store.names() == ["Mine"]


def test_process_killed_between_write_and_commit_keeps_the_old_setup(store):
    store.save("Mine", SETUP, DEFAULTS)
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from core.setups import SetupStore
store = SetupStore({str(store.path)!r})
store._before_commit = lambda con: os._exit(3)  # the process dies, no rollback, no cleanup
store.save("Mine", {{"capital": 1.0}}, {{"capital": 0.0}}, overwrite=True)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr.decode()
    assert store.load("Mine", DEFAULTS, CURRENT) == SETUP
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_corrupt_file_gives_setup_error(tmp_path):
    path = tmp_path / "setups.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = SetupStore(path)
    for action in (store.list, lambda: store.save("x", SETUP, DEFAULTS),
                   lambda: store.load("x", DEFAULTS)):  # fmt: skip
        with pytest.raises(SetupError, match="damaged or is not a Ballast setups file"):
            action()
    assert path.read_bytes().startswith(b"this is not a database")  # left as it was


def test_damaged_record_and_newer_schema_give_setup_error(store):
    store.save("ok", SETUP, DEFAULTS)
    future = json.dumps({"schema_version": SCHEMA_VERSION + 1, "setup": {}})
    plant(store, "future", future, SCHEMA_VERSION + 1)
    plant(store, "broken", "{not json")
    infos = {i.name: i for i in store.list()}
    assert not infos["future"].readable and infos["ok"].readable
    with pytest.raises(SetupError, match="newer version of Ballast"):
        store.load("future", DEFAULTS)
    with pytest.raises(SetupError, match="damaged"):
        store.load("broken", DEFAULTS)
    assert store.load("ok", DEFAULTS, CURRENT) == SETUP


def test_core_setups_does_not_import_ui():
    tree = ast.parse((ROOT / "core" / "setups.py").read_text())
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m and (m == "ui" or m.startswith(("ui.", "streamlit")))]


def test_a_locked_store_says_so_and_keeps_the_data(store):
    store.save("Mine", SETUP, DEFAULTS)
    busy = SetupStore(store.path)
    busy.TIMEOUT = 0.1
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another session in the middle of a write
    try:
        with pytest.raises(SetupError, match="cannot be used right now"):
            busy.save("Mine", {**SETUP, "capital": 1.0}, DEFAULTS)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy.load("Mine", DEFAULTS, CURRENT) == SETUP


# --- every value validated at import, load and save (issue: hostile setups) ----------------

FULL = {
    **DEFAULTS,
    "holdings": {},
    "bl_views": [],
    "risk_custom_windows": {},
    "risk_horizon": 1,
    "frontier_n_points": 50,
    "new_feature_limit": 1.5,  # a key another feature added, with no rule registered
}


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"holdings": {"AAPL": "ten"}}, ["holdings/AAPL ('ten' is not a number)"]),
        ({"risk_custom_windows": {"Mine": ["2020-01-01", "soon"]}},
         ["risk_custom_windows/Mine ('soon' is not an ISO date"]),
        ({"risk_custom_windows": {"Mine": ["2021-01-01", "2020-01-01"]}},
         ["risk_custom_windows/Mine (starts on 2021-01-01, not before its end 2020-01-01)"]),
        ({"risk_custom_windows": {"Mine": "2020"}}, ["not a [start, end] pair"]),
        ({"bl_views": [5]}, ["bl_views/0 (5 is not an object"]),
        ({"bl_views": [{"kind": "sideways"}]}, ["bl_views/0/kind ('sideways' is not one of"]),
        ({"bl_views": [{"kind": "absolute", "confidence": 7}]},
         ["bl_views/0/confidence (7 is above the maximum 1)"]),
        ({"universe": ["AAPL", "MSFT", "AAPL"]}, ["universe (duplicates: AAPL)"]),
        ({"universe": ["X" * 40]}, ["longer than 32 characters"]),
        ({"universe": []}, ["universe (needs at least 1 entries"]),
        ({"risk_horizon": 300}, ["risk_horizon (300 is above the maximum 250)"]),
        ({"risk_horizon": 2.5}, ["risk_horizon (2.5 is not a whole number)"]),
        ({"frontier_n_points": 5}, ["frontier_n_points (5 is below the minimum 10)"]),
        ({"risk_free_rate": 3.0}, ["risk_free_rate (3 is above the maximum 0.2)"]),
        ({"start": "1600-01-01"}, ["start (1600-01-01 is outside the dates Ballast handles"]),
        ({"end": "9999-12-31"}, ["end (9999-12-31 is outside the dates"]),
        ({"start": "2021-01-01", "end": "2020-01-01"}, ["start (2021-01-01 is not before"]),
        ({"data_source": "sample"}, ["data_source ('sample' is not a data source object"]),
        ({"data_source": {"kind": 5}}, ["data_source (kind 5 is not one of 'sample'"]),
        ({"data_source": {"kind": "yahoo", "tickers": "AAPL", "start": "2020-01-01",
                          "end": "2021-01-01"}}, ["data_source/tickers ('AAPL' is not a list"]),
        ({"data_source": {"kind": "upload"}}, ["data_source (missing field 'csv')"]),
        ({"asset_bounds": {"AAPL": [0.5, 0.1]}}, ["asset_bounds/AAPL (the minimum 0.5 is above"]),
        ({"asset_bounds": {"AAPL": ["x", 0.1]}}, ["asset_bounds/AAPL ('x' is not a number)"]),
        ({"long_only": True, "max_volatility": -1}, ["max_volatility (-1 is below the minimum"]),
        ({"new_feature_limit": "high"}, ["new_feature_limit (expected number, got text)"]),
    ],
)  # fmt: skip
def test_values_that_cannot_be_used_are_named_at_import(values, words):
    with pytest.raises(SetupError) as info:
        import_json(json.dumps(values), FULL, CURRENT)
    for word in words:
        assert word in str(info.value)


def test_several_problems_are_named_together_and_good_values_pass():
    with pytest.raises(SetupError) as info:
        import_json(json.dumps({"holdings": {"AAPL": "ten"}, "risk_horizon": 0}), FULL, CURRENT)
    assert "holdings/AAPL" in str(info.value) and "risk_horizon (0 is below" in str(info.value)
    good = {"holdings": {"AAPL": 10}, "risk_horizon": 10.0, "new_feature_limit": 3,
            "risk_custom_windows": {"Mine": ["2020-02-19", "2020-03-23"]}}  # fmt: skip
    setup = import_json(json.dumps(good), FULL, CURRENT)
    assert setup["holdings"] == {"AAPL": 10.0} and setup["risk_horizon"] == 10
    assert isinstance(setup["risk_horizon"], int) and setup["new_feature_limit"] == 3.0
    assert setup["risk_custom_windows"] == {"Mine": ["2020-02-19", "2020-03-23"]}


def test_a_registered_rule_applies_to_a_new_key():
    from core import setups

    try:
        setups.register("new_feature_limit", setups.number(0.0, 2.0))
        with pytest.raises(SetupError, match=r"new_feature_limit \(3 is above the maximum 2\)"):
            import_json(b'{"new_feature_limit": 3}', FULL, CURRENT)
    finally:
        setups.RULES.pop("new_feature_limit")


def test_huge_universe_is_rejected_without_building_it():
    from core.setups import MAX_ASSETS

    universe = [f"T{i}" for i in range(1_000_000)]  # 8.9 MB of JSON, under the file limit
    with pytest.raises(SetupError, match=r"1,000,000 entries are more than the limit of 5,000"):
        import_json(json.dumps({"universe": universe}), FULL, CURRENT)
    assert MAX_ASSETS == 5_000


def test_file_size_is_checked_before_parsing():
    from core.setups import MAX_SETUP_BYTES

    big = b'{"capital": 1' + b" " * MAX_SETUP_BYTES + b"}"  # valid JSON, over the limit
    with pytest.raises(SetupError, match="at most 20 MB"):
        import_json(big, FULL, CURRENT)


@pytest.mark.parametrize("depth", [50, 200_000])
def test_deeply_nested_json_gives_a_clear_error(depth):
    content = '{"holdings": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(SetupError, match="nests lists or objects"):
        import_json(content, FULL, CURRENT)


def test_bad_values_cannot_be_saved_and_a_stored_bad_record_is_named_at_load(store):
    with pytest.raises(SetupError, match=r"holdings/AAPL \('ten' is not a number\)"):
        store.save("bad", {**SETUP, "holdings": {"AAPL": "ten"}}, FULL)
    assert store.names() == []
    store.save("good", SETUP, FULL)
    record = json.loads(json.dumps(to_jsonable(SETUP, FULL)))
    record["setup"]["bl_views"] = ["not a view"]
    plant(store, "planted", json.dumps(record))
    with pytest.raises(SetupError, match=r"bl_views/0 \('not a view' is not an object"):
        store.load("planted", FULL, CURRENT)
    assert store.load("good", FULL, CURRENT)["capital"] == SETUP["capital"]


def test_store_errors_never_show_the_server_path(tmp_path):
    path = tmp_path / "secret-folder" / "setups.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SetupError) as info:
        SetupStore(path).list()
    assert "secret-folder" not in str(info.value) and str(tmp_path) not in str(info.value)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SetupError) as info:
        SetupStore(blocker / "sub" / "setups.sqlite3").save("x", SETUP, DEFAULTS)
    assert str(tmp_path) not in str(info.value) and "a-file" not in str(info.value)
