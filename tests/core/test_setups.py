"""Saved setups: JSON round trip, validation, and the SQLite store's atomicity and errors."""

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
         ["wrong type", "capital (expected number, got text)",
          "long_only (expected true/false, got number)", "universe (expected list, got text)"]),
        (b'{"universe": ["AAPL", 3]}', ["universe", "list of text"]),
        (b'{"capital": null}', ["capital (expected number, got null)"]),
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


def test_save_list_load_rename_delete(store):
    assert store.list() == []
    store.save("  Max  Sharpe ", SETUP, DEFAULTS)
    store.save("Min vol", {**SETUP, "capital": 10.0}, DEFAULTS)
    assert store.path.name == "setups.sqlite3"
    assert set(store.names()) == {"Max Sharpe", "Min vol"}
    assert store.names()[0] == "Min vol"  # most recent first
    assert store.load("Max Sharpe", DEFAULTS, CURRENT) == SETUP
    store.save("Max Sharpe", {**SETUP, "capital": 7.0}, DEFAULTS)  # replaces
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
        store.save("Mine", {**SETUP, "capital": 1.0}, DEFAULTS)
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
store.save("Mine", {{"capital": 1.0}}, {{"capital": 0.0}})
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
    now = dt.datetime.now(dt.UTC).isoformat()
    future = json.dumps({"schema_version": SCHEMA_VERSION + 1, "setup": {}})
    with sqlite3.connect(store.path) as con:
        con.execute("INSERT INTO setups VALUES ('future', ?, ?, ?)",
                    (SCHEMA_VERSION + 1, now, future))  # fmt: skip
        con.execute("INSERT INTO setups VALUES ('broken', 1, ?, '{not json')", (now,))
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
