"""The setup as a typed object: round trip with today's keys and files, old files, bad files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from core import setups
from core.exceptions import SetupError
from core.setup import DEFAULTS, SCHEMA_VERSION, Setup, known_defaults

FILES = Path(__file__).resolve().parents[1] / "data" / "setups"


def test_defaults_are_the_dashboards():
    from ui import state

    typed = {k: v for k, v in state.DEFAULTS.items() if k in DEFAULTS}
    assert typed == DEFAULTS and list(typed) == list(DEFAULTS)  # same values, same order
    # every key the dashboard saves has a typed field or goes to extras, nothing is lost
    s = Setup.from_mapping(state.DEFAULTS)
    assert s.to_mapping() == dict(state.DEFAULTS)


def test_groups_name_their_keys():
    s = Setup.from_mapping({"risk_horizon": 10, "objective_kind": "min_volatility",
                            "bl_tau": 0.1, "book_locked": ["AAPL"], "rebalance_confidence": 0.99})
    assert s.risk.horizon == 10 and s["risk_horizon"] == 10
    assert s.objective.kind == "min_volatility"
    assert s.views.tau == 0.1
    assert s.holdings.locked == ["AAPL"]
    assert s.backtest.stop_confidence == 0.99
    assert s.schema_version == SCHEMA_VERSION == setups.SCHEMA_VERSION


def test_frozen_and_copies():
    s = Setup()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.universe = ("AAPL",)  # type: ignore[misc]
    s["risk_confidences"].append(0.5)
    s.to_mapping()["asset_bounds"]["AAPL"] = (0, 1)
    assert s.risk.confidences == [0.95, 0.99] and s.constraints.asset_bounds == {}


def test_round_trip_exported_file_of_todays_format():
    raw = (FILES / "exported_v1.json").read_bytes()
    s = Setup.from_json(raw)
    assert s.universe == ("AAPL", "MSFT", "JPM", "XOM", "KO", "JNJ")
    assert s.window.start == dt.date(2018, 1, 2)
    assert s.constraints.asset_bounds == {"AAPL": (0.0, 0.3)}  # the tuple comes back a tuple
    assert s.holdings.holdings["AAPL"] == 100.0
    # the page's import reads the same values
    from ui import state

    page = setups.import_json(raw, state.DEFAULTS)
    # keys added since the file was written: the page takes their defaults, the setup object
    # leaves them out (core does not know the dashboard's defaults of features' keys)
    newer = {k: v for k, v in page.items() if k not in s}
    assert all(k not in DEFAULTS for k in newer)
    assert {**s.to_mapping(), **newer} == page
    # and back to a file the page reads as the same setup
    again = setups.import_json(s.to_json(), state.DEFAULTS)
    assert again == page
    assert Setup.from_json(s.to_json()) == s
    assert Setup.from_mapping(s.to_mapping()) == s
    assert s.fingerprint() == Setup.from_json(s.to_json()).fingerprint()


def test_older_file_without_types_or_newer_keys_loads():
    s = Setup.from_json((FILES / "older_v1.json").read_bytes())
    assert s.window == type(s.window)(dt.date(2019, 1, 2), dt.date(2022, 6, 30))
    assert s.estimators.cov_method == "sample"
    assert s.holdings.capital == 50_000.0 and isinstance(s.holdings.capital, float)
    assert s.risk.horizon == DEFAULTS["risk_horizon"]  # keys the file lacks: defaults
    from core.compliance import SETUP_DEFAULTS

    assert s.extras == SETUP_DEFAULTS  # features whose defaults core knows take them


def test_bare_mapping_file_loads():
    s = Setup.from_json(json.dumps({"universe": ["KO", "PEP"], "end": "2021-12-31"}))
    assert s.universe == ("KO", "PEP") and s.window.end == dt.date(2021, 12, 31)


def test_registered_keys_are_carried_along():
    key = "test_setup_object_max_issuer"
    setups.register(key, setups.number(0.0, 1.0), "Max issuer weight (%)")
    try:
        s = Setup.from_mapping({key: 0.1, "risk_horizon": 5})
        assert s.extras == {key: 0.1} and s[key] == 0.1
        assert key in s and key in s.to_mapping()
        back = Setup.from_json(s.to_json())
        assert back.extras[key] == 0.1 and back.to_mapping()[key] == 0.1
        with pytest.raises(SetupError, match=key):
            Setup.from_mapping({key: 2.0})
        # a file without it leaves it out rather than inventing a value
        assert key not in Setup.from_json(Setup().to_json()).extras
        assert key in known_defaults()
    finally:
        setups.RULES.pop(key, None)
        setups.LABELS.pop(key, None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"schema_version": 99, "setup": {}}).encode(), "newer version"),
        (json.dumps({"setup": {"nonsense_key": 1}}).encode(), "Unknown settings"),
        (json.dumps({"setup": {"risk_horizon": "ten"}}).encode(), "risk_horizon"),
        (json.dumps({"setup": {"start": "2022-01-01", "end": "2021-01-01"}}).encode(),
         "not before the end"),
        (json.dumps({"setup": {"holdings": {"AAPL": "ten"}}}).encode(), "holdings/AAPL"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_bad_files_get_the_pages_message(content, message):
    from ui import state

    with pytest.raises(SetupError, match=message) as mine:
        Setup.from_json(content)
    try:
        setups.import_json(content, state.DEFAULTS)
    except SetupError as page:
        assert str(page) == str(mine.value)


def test_resolve_fills_the_data_dependent_defaults():
    s = Setup.from_mapping({"universe": ["KO", "KO", "PEP"]}, validate=False).resolve(
        ["KO", "PEP", "AAPL"], dt.date(1990, 1, 2), dt.date(2022, 12, 28))
    assert s.universe == ("KO", "PEP")
    assert s.window.end == dt.date(2022, 12, 28)
    assert s.window.start == dt.date(2022, 12, 28) - dt.timedelta(days=5 * 365)
    assert Setup().resolve(["A"], dt.date(2022, 1, 3), dt.date(2022, 12, 28)).window.start == \
        dt.date(2022, 1, 3)


def test_replace_validates():
    s = Setup().replace(risk_horizon=20)
    assert s.risk.horizon == 20
    with pytest.raises(SetupError, match="risk_horizon"):
        s.replace(risk_horizon=-1)
