"""Saved setups: a user's portfolio setup stored under a name, exported and imported as JSON.

Conventions
-----------
A *setup* is a dict of the setup keys the caller passes as ``defaults`` (the app passes
``ui.state.DEFAULTS``, taken at run time, so that features adding keys need no change here;
this module never imports ``ui``). Values are JSON-friendly: str, int, float, bool, None,
``datetime.date``/``datetime.datetime``, lists, tuples and dicts with string keys.

In JSON, dates are ISO strings (``"2018-01-01"``) and tuples are lists; a ``"types"`` map of
the paths where they were (``"start"``, ``"asset_bounds/AAPL"``) lets :func:`from_jsonable`
restore them exactly, so that a loaded setup gives the same numbers as the saved one. A file
written by hand without that map still loads: top-level ISO date strings are restored as dates
where the setup expects a date.

Saved setups are kept by :class:`core.store.SetupStore` (owners, sharing, SQLite or PostgreSQL
through SQLAlchemy; ``SetupStore`` and ``SetupInfo`` are importable from here too). The user
data folder is ``$BALLAST_DATA_DIR``, else ``$XDG_DATA_HOME/ballast``, else
``~/.local/share/ballast``. :class:`SQLiteRecordFile` is the single-file format of Ballast 0.1,
kept for the working sessions of :mod:`core.sessions`: every write is one transaction, so a
crash between a write and its commit leaves the previous content intact (SQLite's rollback
journal). Each record carries the schema version it was written with; a record from a newer
Ballast, or a file that is not a setups database, raises :class:`~core.exceptions.SetupError`
with a message saying what to do. Error messages never name the store's location on the
server.

Validation
----------
Every value of a setup is checked when it enters: on import, on load from the store and on
save, not on first use. :data:`RULES` maps each setup key to a :class:`Rule` (types, ranges,
shapes, dates); the ranges are those of the widgets that show the key, so that any value
accepted here renders. A key without a rule (a feature added it and no rule was registered) is
checked against the type of its default only. Register a rule next to the key's default with
:func:`register`. Documented limits, checked before any work is done:

- a setup file is at most :data:`MAX_SETUP_BYTES` (20 MB), nested at most :data:`MAX_DEPTH`;
- at most :data:`MAX_ASSETS` (5,000) tickers in any list or mapping, no duplicates;
- tickers at most :data:`MAX_TICKER_LENGTH` characters, other text at most
  :data:`MAX_TEXT_LENGTH` (embedded price files: the file limit);
- dates between :data:`MIN_DATE` and :data:`MAX_DATE`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.exceptions import SetupError

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT",
    "SetupInfo",  # noqa: F822  (from core.store, see __getattr__)
    "SetupStore",  # noqa: F822
    "SQLiteRecordFile",
    "default_data_dir",
    "to_jsonable",
    "from_jsonable",
    "setup_tickers",
    "check_tickers",
    "export_json",
    "import_json",
    "Rule",
    "RULES",
    "register",
    "LABELS",
    "label",
    "display",
    "validate",
    "MAX_SETUP_BYTES",
    "MAX_ASSETS",
]

#: Version of the setup record format this code writes and reads (bump on incompatible change).
SCHEMA_VERSION = 1

#: Value of the ``"format"`` field of exported files.
FORMAT = "ballast-setup"

#: Longest name a setup may have, in characters.
MAX_NAME_LENGTH = 80

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: Setup keys whose values name tickers (a list of tickers, or a mapping keyed by ticker),
#: checked against the data on import. Keys whose names contain one of
#: :data:`TICKER_KEY_HINTS` count too, so that features adding such keys need no change here.
TICKER_KEYS: tuple[str, ...] = ("universe", "asset_bounds")
TICKER_KEY_HINTS: tuple[str, ...] = ("holdings", "tickers", "universe")


def default_data_dir() -> Path:
    """The user data folder where setups are stored.

    Returns
    -------
    Path
        ``$BALLAST_DATA_DIR`` if set, else ``$XDG_DATA_HOME/ballast``, else
        ``~/.local/share/ballast`` (the XDG Base Directory default).
    """
    if os.environ.get("BALLAST_DATA_DIR"):
        return Path(os.environ["BALLAST_DATA_DIR"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ballast"


# --- JSON conversion ------------------------------------------------------------------------


def _escape(key: str) -> str:
    """A mapping key as a path segment (JSON Pointer escaping, RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _encode(value: Any, path: str, types: dict[str, str]) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SetupError(f"Setting {path!r} is not a finite number ({value}).")
        return value
    if isinstance(value, dt.datetime):
        types[path] = "datetime"
        return value.isoformat()
    if isinstance(value, dt.date):
        types[path] = "date"
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        return _encode(value.item(), path, types)  # numpy scalars
    if isinstance(value, tuple):
        types[path] = "tuple"
        return [_encode(v, f"{path}/{i}", types) for i, v in enumerate(value)]
    if isinstance(value, list):
        return [_encode(v, f"{path}/{i}", types) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SetupError(f"Setting {path!r} has a non-text key {k!r}; use text keys.")
            out[k] = _encode(v, f"{path}/{_escape(k)}", types)
        return out
    raise SetupError(
        f"Setting {path!r} holds a {type(value).__name__}, which a saved setup cannot keep."
    )


def to_jsonable(setup: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The setup as a JSON-ready envelope with its schema version.

    Parameters
    ----------
    setup : mapping
        Setup values; only the keys of ``defaults`` are kept (a missing one takes its default).
    defaults : mapping
        The setup keys and their defaults (``ui.state.DEFAULTS``).

    Returns
    -------
    dict
        ``{"format": "ballast-setup", "schema_version": 1, "setup": {...}, "types": {...}}``
        with dates as ISO strings and tuples as lists; ``types`` maps their paths to
        ``"date"``, ``"datetime"`` or ``"tuple"``.

    Raises
    ------
    SetupError
        If a value cannot be represented in JSON (the message names the setting).
    """
    types: dict[str, str] = {}
    values = {}
    for key in defaults:
        values[key] = _encode(setup[key] if key in setup else defaults[key], key, types)
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "setup": values, "types": types}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, dt.date):
        return "date"
    return type(value).__name__


def _type_problem(value: Any, expected: Any, nullable: bool) -> str:
    """Why ``value`` cannot stand where ``expected`` stands ('' when it can)."""
    if value is None:
        return "" if nullable or expected is None else f"expected {_kind(expected)}, got null"
    if expected is None:
        return ""
    if _kind(value) != _kind(expected):
        return f"expected {_kind(expected)}, got {_kind(value)}"
    # Homogeneous lists (of tickers, of numbers): check the items too. Mappings vary by
    # design (a data source descriptor), their items are left to the code that reads them.
    if isinstance(expected, list | tuple) and expected:
        kinds = {_kind(v) for v in expected}
        bad = [v for v in value if len(kinds) == 1 and _kind(v) not in kinds]
        if bad:
            return f"expected a list of {kinds.pop()}, got {bad[0]!r}"
    return ""


def _restore(value: Any, path: str, types: Mapping[str, str]) -> Any:
    kind = types.get(path)
    if isinstance(value, list):
        items = [_restore(v, f"{path}/{i}", types) for i, v in enumerate(value)]
        return tuple(items) if kind == "tuple" else items
    if isinstance(value, dict):
        return {k: _restore(v, f"{path}/{_escape(k)}", types) for k, v in value.items()}
    if kind in ("date", "datetime"):
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise SetupError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
        return parsed.date() if kind == "date" else parsed
    return value


# --- validation -----------------------------------------------------------------------------

#: Largest setup file :func:`import_json` reads, in bytes (checked before parsing).
MAX_SETUP_BYTES = 20 * 1024 * 1024
#: Deepest nesting of lists and objects in a setup file.
MAX_DEPTH = 20
#: Most tickers in a universe, and most entries in any list or mapping of a setup.
MAX_ASSETS = 5_000
#: Longest ticker (or sector name), in characters.
MAX_TICKER_LENGTH = 32
#: Longest text value (names, view assets, Yahoo symbols), in characters.
MAX_TEXT_LENGTH = 1_000
#: Earliest and latest date a setup may hold (pandas timestamps span 1677 to 2262).
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


class Invalid(ValueError):
    """A setup value that cannot be used: ``path`` inside the key, ``problem`` in words."""

    def __init__(self, problem: str, path: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.path = path

    def inside(self, segment: object) -> Invalid:
        """The same problem, one level further out (``segment`` prefixed to the path)."""
        path = _escape(str(segment))
        return Invalid(self.problem, f"{path}/{self.path}" if self.path else path)


@dataclass(frozen=True)
class Rule:
    """What a setup value may be: a check that returns the value, cleaned, or raises.

    Attributes
    ----------
    check : callable
        ``value -> value``; raises :class:`Invalid` with the problem in words.
    describe : str
        What the rule accepts, for messages and documentation.
    lo, hi : float or None
        The range of a number rule (the widget's range), None otherwise.
    labels : mapping or None
        For a choice among labelled options: option -> label for the user.
    """

    check: Callable[[Any], Any]
    describe: str = ""
    lo: float | None = None
    hi: float | None = None
    labels: Mapping[Any, str] | None = None

    def __call__(self, value: Any) -> Any:
        """Check ``value``; return it cleaned or raise :class:`Invalid`."""
        return self.check(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _or_null(rule: Rule, nullable: bool) -> Rule:
    if not nullable:
        return rule
    return Rule(lambda v: None if v is None else rule(v), f"{rule.describe} or null", rule.lo,
                rule.hi, rule.labels)  # fmt: skip


def _not_null(value: Any, what: str) -> None:
    if value is None:
        raise Invalid(f"expected {what}, got null")


def number(
    lo: float | None = None,
    hi: float | None = None,
    *,
    integer: bool = False,
    nullable: bool = False,
    lo_open: bool = False,
) -> Rule:
    """A finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``), or a whole number.

    Parameters
    ----------
    lo, hi : float, optional
        Bounds, in the setup's units (decimals where the widget shows percentages).
    integer : bool
        Whole numbers only (``10.0`` is taken as 10).
    nullable : bool
        Whether null (None) is allowed.
    lo_open : bool
        Whether ``lo`` itself is excluded.

    Returns
    -------
    Rule
    """
    what = "a whole number" if integer else "a number"
    span = f" between {lo:g} and {hi:g}" if lo is not None and hi is not None else (
        f" of at least {lo:g}" if lo is not None else (f" of at most {hi:g}" if hi is not None
                                                       else ""))  # fmt: skip

    def check(value: Any) -> Any:
        _not_null(value, what)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"{_show(value)} is not {what}")
        if not math.isfinite(value):
            raise Invalid(f"{value} is not a finite number")
        if integer:
            if value != int(value):
                raise Invalid(f"{value!r} is not a whole number")
            value = int(value)
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise Invalid(f"{value:g} is below the minimum {lo:g}" if not lo_open or value < lo
                          else f"{value:g} must be above {lo:g}")  # fmt: skip
        if hi is not None and value > hi:
            raise Invalid(f"{value:g} is above the maximum {hi:g}")
        return value if integer else float(value)

    return _or_null(Rule(check, what + span, lo, hi), nullable)


def flag() -> Rule:
    """True or false."""

    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise Invalid(f"{_show(value)} is not true or false")
        return value

    return Rule(check, "true or false")


def text(max_length: int = MAX_TEXT_LENGTH, *, nullable: bool = False) -> Rule:
    """Text of at most ``max_length`` characters."""

    def check(value: Any) -> str:
        _not_null(value, "text")
        if not isinstance(value, str):
            raise Invalid(f"{_show(value)} is not text")
        if len(value) > max_length:
            raise Invalid(f"text of {len(value):,} characters is longer than {max_length:,}")
        return value

    return _or_null(Rule(check, f"text of at most {max_length:,} characters"), nullable)


def choice(options: Iterable[Any], *, nullable: bool = False) -> Rule:
    """One of ``options`` (the keys of a mapping of choices to labels)."""
    allowed = list(options)

    def check(value: Any) -> Any:
        _not_null(value, "one of " + ", ".join(map(repr, allowed[:8])))
        if isinstance(value, list | dict) or value not in allowed:
            shown = ", ".join(map(repr, allowed[:8])) + (", ..." if len(allowed) > 8 else "")
            raise Invalid(f"{_show(value)} is not one of {shown}")
        return value

    labels = dict(options) if isinstance(options, Mapping) else None
    return _or_null(Rule(check, "one of " + ", ".join(map(repr, allowed)), labels=labels),
                    nullable)  # fmt: skip


def date(*, nullable: bool = True) -> Rule:
    """A date (ISO text ``YYYY-MM-DD`` or a date) between :data:`MIN_DATE` and :data:`MAX_DATE`."""

    def check(value: Any) -> dt.date:
        _not_null(value, "a date")
        if isinstance(value, str):
            raw = value
            try:
                value = dt.date.fromisoformat(raw[:10]) if _DATE.match(raw[:10]) else None
            except ValueError:
                value = None
            if value is None:
                raise Invalid(f"{_show(raw)} is not an ISO date (YYYY-MM-DD)")
        if isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, dt.date):
            raise Invalid(f"{_show(value)} is not a date")
        if not MIN_DATE <= value <= MAX_DATE:
            raise Invalid(f"{value} is outside the dates Ballast handles, {MIN_DATE} to {MAX_DATE}")
        return value

    return _or_null(Rule(check, f"a date from {MIN_DATE} to {MAX_DATE}"), nullable)


def ticker() -> Rule:
    """A ticker or sector name: non-empty text of at most :data:`MAX_TICKER_LENGTH` characters."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"{_show(value)} is not a ticker (non-empty text)")
        if len(value) > MAX_TICKER_LENGTH:
            raise Invalid(f"{_show(value)} is longer than {MAX_TICKER_LENGTH} characters")
        return value

    return Rule(check, f"a ticker of at most {MAX_TICKER_LENGTH} characters")


def list_of(
    item: Rule,
    *,
    max_items: int = MAX_ASSETS,
    min_items: int = 0,
    unique: bool = False,
    nullable: bool = False,
) -> Rule:
    """A list (a tuple too) of items that each meet ``item``."""

    def check(value: Any) -> list:
        _not_null(value, "a list")
        if not isinstance(value, list | tuple):
            raise Invalid(f"{_show(value)} is not a list")
        if len(value) > max_items:
            raise Invalid(f"{len(value):,} entries are more than the limit of {max_items:,}")
        if len(value) < min_items:
            raise Invalid(f"needs at least {min_items} entries, got {len(value)}")
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except Invalid as exc:
                raise exc.inside(i) from None
        if unique:
            seen: set = set()
            dupes = [v for v in out if v in seen or seen.add(v)]
            if dupes:
                raise Invalid(f"duplicates: {', '.join(map(str, dict.fromkeys(dupes)))}")
        return type(value)(out) if isinstance(value, tuple) else out

    return _or_null(Rule(check, f"a list of {item.describe}"), nullable)


def tickers(*, nullable: bool = True, min_items: int = 1) -> Rule:
    """A list of distinct tickers, at most :data:`MAX_ASSETS`."""
    return list_of(ticker(), unique=True, min_items=min_items, nullable=nullable)


def mapping(value: Rule, *, key: Rule | None = None, max_items: int = MAX_ASSETS) -> Rule:
    """An object (dict) of at most ``max_items`` entries: ``key`` -> ``value``."""
    key = key or ticker()

    def check(obj: Any) -> dict:
        _not_null(obj, "an object")
        if not isinstance(obj, Mapping):
            raise Invalid(f"{_show(obj)} is not an object ({{...}})")
        if len(obj) > max_items:
            raise Invalid(f"{len(obj):,} entries are more than the limit of {max_items:,}")
        out = {}
        for k, v in obj.items():
            try:
                k = key(k)
            except Invalid as exc:
                raise Invalid(f"key {exc.problem}") from None
            try:
                out[k] = value(v)
            except Invalid as exc:
                raise exc.inside(k) from None
        return out

    return Rule(check, f"an object of {value.describe}")


def bounds(lo: float, hi: float) -> Rule:
    """A (min, max) pair of numbers in ``[lo, hi]`` with min <= max.

    Parameters
    ----------
    lo, hi : float
        Smallest and largest value either side may take (the widget's range, in the setup's
        units: decimals for weights).

    Returns
    -------
    Rule
        Accepts a two-element list or tuple; raises ``Invalid`` naming the problem otherwise.
    """
    side = number(lo, hi)

    def check(value: Any) -> tuple:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise Invalid(f"{_show(value)} is not a (min, max) pair")
        a, b = side(value[0]), side(value[1])
        if a > b:
            raise Invalid(f"the minimum {a:g} is above the maximum {b:g}")
        return (a, b) if isinstance(value, tuple) else [a, b]

    return Rule(check, f"a (min, max) pair between {lo:g} and {hi:g}")


def record(
    fields: Mapping[str, Rule], *, required: Iterable[str] = (), open_: bool = False
) -> Rule:
    """An object with named fields, each meeting its rule; ``open_`` allows other fields."""
    need = tuple(required)

    def check(obj: Any) -> dict:
        _not_null(obj, "an object")
        if not isinstance(obj, Mapping):
            raise Invalid(f"{_show(obj)} is not an object ({{...}})")
        missing = [f for f in need if f not in obj]
        if missing:
            raise Invalid(f"missing field {', '.join(map(repr, missing))}")
        unknown = [k for k in obj if k not in fields]
        if unknown and not open_:
            raise Invalid(f"unknown field {', '.join(map(repr, unknown[:5]))}")
        out = dict(obj)
        for name, rule in fields.items():
            if name in obj:
                try:
                    out[name] = rule(obj[name])
                except Invalid as exc:
                    raise exc.inside(name) from None
        return out

    return Rule(check, "an object with fields " + ", ".join(fields))


def _windows() -> Rule:
    day = date(nullable=False)

    def check(value: Any) -> list:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise Invalid(f"{_show(value)} is not a [start, end] pair of ISO dates")
        start, end = day(value[0]), day(value[1])
        if start >= end:
            raise Invalid(f"starts on {start}, not before its end {end}")
        return [start.isoformat(), end.isoformat()]

    return mapping(Rule(check, "a [start, end] pair of ISO dates"), key=text(200))


def _data_source() -> Rule:
    from core.market_data import ALIGNMENTS

    sectors = mapping(text(200))
    kinds = {
        "sample": record({"kind": text(), "sectors": sectors}, open_=True),
        "yahoo": record(
            {"kind": text(), "tickers": tickers(nullable=False), "start": date(nullable=False),
             "end": date(nullable=False), "benchmark": text(MAX_TICKER_LENGTH, nullable=True),
             "alignment": choice(ALIGNMENTS, nullable=True), "sectors": sectors},
            required=("tickers", "start", "end"), open_=True,
        ),  # fmt: skip
        "upload": record(
            {"kind": text(), "filename": text(nullable=True), "csv": text(MAX_SETUP_BYTES),
             "benchmark": text(MAX_TEXT_LENGTH, nullable=True), "sectors": sectors},
            required=("csv",), open_=True,
        ),  # fmt: skip
    }

    def check(value: Any) -> dict:
        if not isinstance(value, Mapping):
            raise Invalid(f"{_show(value)} is not a data source object ({{\"kind\": ...}})")
        kind = value.get("kind")
        if not isinstance(kind, str) or kind not in kinds:
            raise Invalid(f"kind {_show(kind)} is not one of {', '.join(map(repr, kinds))}")
        return kinds[kind](value)

    return Rule(check, "a data source: {\"kind\": \"sample\" | \"yahoo\" | \"upload\", ...}")


def _views() -> Rule:
    from core.black_litterman import BASKET_WEIGHTINGS, VIEW_KINDS

    view = record(
        {
            "kind": choice(VIEW_KINDS),
            "assets": text(nullable=True),
            "versus": text(nullable=True),
            "return": number(-10.0, 10.0, nullable=True),  # annual decimal: +-1,000 %
            "basket": choice(BASKET_WEIGHTINGS, nullable=True),
            "view_volatility": number(0.0, 10.0, nullable=True),
            "confidence": number(0.0, 1.0, nullable=True),
        },
        open_=True,
    )
    return list_of(view, max_items=MAX_ASSETS)


def _confidence() -> Rule:
    return number(0.5, 0.9999)


def _default_rules() -> dict[str, Rule]:
    from core.backtest import SCHEDULES
    from core.estimators import COVARIANCE_ESTIMATORS, RETURN_ESTIMATORS
    from core.execution import STOP_METHODS
    from core.optimization import OBJECTIVES
    from core.risk import BACKTEST_METHODS, MAX_SCENARIOS
    from core.tail_allocation import TAIL_OBJECTIVES

    weight = number(-1.0, 1.0)
    shock = number(-1.0, 10.0)  # a decimal return: a loss of at most everything
    money = number(-1e15, 1e15)
    return {
        "data_source": _data_source(),
        "universe": tickers(),
        "start": date(),
        "end": date(),
        "returns_method": choice(RETURN_ESTIMATORS),
        "cov_method": choice(COVARIANCE_ESTIMATORS),
        "risk_free_rate": number(-0.05, 0.20),
        "expected_returns_source": choice({"historical": "The estimator",
                                           "black_litterman": "Black-Litterman posterior"}),
        "objective_kind": choice({**OBJECTIVES, **TAIL_OBJECTIVES}),
        "target_return": number(-0.5, 2.0),
        "target_volatility": number(0.001, 2.0),
        "risk_aversion": number(0.01, 100.0),
        "long_only": flag(),
        "min_weight": weight,
        "max_weight": number(0.0, 1.0),
        "max_volatility": number(0.001, 2.0, nullable=True),
        "asset_bounds": mapping(bounds(-1.0, 1.0)),
        "sector_bounds": mapping(bounds(-1.0, 1.0), key=text(200)),
        "capital": number(1.0, 1e15),
        "bl_views": _views(),
        "bl_prior": choice({"market_caps": "Market-cap weights", "equal": "Equal weights"}),
        "bl_market_caps": mapping(number(0.0, 1e9)),
        "bl_delta": number(0.01, 50.0, nullable=True),
        "bl_tau": number(0.001, 1.0),
        "bl_omega": choice({"idzorek": "Idzorek confidences", "proportional": "Proportional to "
                            "the prior (He & Litterman)", "variance": "Your view standard "
                            "deviations"}),  # fmt: skip
        "holdings": mapping(number(-1e12, 1e12)),
        "cash": money,
        "rebalance_benchmark": text(MAX_TEXT_LENGTH),
        "rebalance_yahoo_benchmark": text(MAX_TICKER_LENGTH),
        "rebalance_benchmark_upload": _or_null(
            record({"filename": text(nullable=True), "csv": text(MAX_SETUP_BYTES)},
                   required=("csv",)), True),  # fmt: skip
        "rebalance_schedule": choice(SCHEDULES),
        "rebalance_lookback_years": number(0.25, 30.0),
        "rebalance_backtest_start": date(),
        "rebalance_cost_bps": number(0.0, 500.0),
        "rebalance_drift_band": number(0.005, 0.5),
        "rebalance_min_trade": number(0.0, 1e15),
        "rebalance_no_trade_band": number(0.0, 0.2),
        "rebalance_stop_method": choice(STOP_METHODS),
        "rebalance_stop_k": number(0.0, 10.0),
        "rebalance_take_k": number(0.0, 10.0),
        "rebalance_confidence": choice((0.9, 0.95, 0.975, 0.99)),
        "rebalance_horizon": number(1, 252, integer=True),
        "risk_confidences": list_of(_confidence(), min_items=1, max_items=20, unique=True),
        "risk_horizon": number(1, 250, integer=True),
        "risk_mc_scenarios": number(1_000, MAX_SCENARIOS, integer=True),
        "risk_mc_dof": number(2.1, 200.0, nullable=True),
        "risk_mc_seed": number(0, 2**32 - 1, integer=True),
        "risk_contrib_method": choice({"historical": "Historical", "parametric": "Parametric"}),
        "risk_contrib_confidence": _confidence(),
        "risk_backtest_method": choice(BACKTEST_METHODS),
        "risk_backtest_window": number(20, 5000, integer=True),
        "risk_backtest_confidence": _confidence(),
        "risk_backtest_full_history": flag(),
        "risk_custom_windows": _windows(),
        "risk_asset_shocks": mapping(shock),
        "risk_sector_shocks": mapping(shock, key=text(200)),
        "risk_crisis": text(200),
        "risk_corr_push": number(0.0, 1.0),
        "risk_corr_window": number(10, 750, integer=True),
        "frontier_n_points": number(10, 200, integer=True),
        "frontier_n_random": choice((0, 1_000, 2_000, 5_000, 10_000)),
        "frontier_pick_by": choice({"volatility": "Volatility", "return": "Expected return"}),
        "frontier_pick": number(-10.0, 10.0, nullable=True),
        "frontier_show_unconstrained": flag(),
        "frontier_compare": text(200),
        "frontier_transition_x": choice({"volatility": "Volatility",
                                         "expected_return": "Expected return"}),
        # Optimising from the book held (ui/book.py), ranges of its inputs.
        "book_start_from": choice({"cash": "Cash", "holdings": "The holdings"}),
        "book_max_turnover": number(0.0, 1.0, nullable=True),
        "book_locked": tickers(nullable=False, min_items=0),
        "book_no_buy": tickers(nullable=False, min_items=0),
        "book_no_sell": tickers(nullable=False, min_items=0),
        "book_cost_overrides": mapping(number(0.0, 500.0)),
        "book_horizon_years": number(0.05, 30.0),
        "book_cash_bounds": bounds(0.0, 1.0),
        "book_max_gross": number(1.0, 10.0, nullable=True),
        "book_max_long": number(0.0, 10.0, nullable=True),
        "book_max_short": number(0.0, 10.0, nullable=True),
        "book_max_tracking_error": number(0.0, 1.0, nullable=True),
        # Tail-risk, risk-budgeting and hierarchical objectives (ui/tail.py).
        "frontier_show_cvar": flag(),
        "tail_cvar_confidence": choice((0.9, 0.95, 0.975, 0.99)),
        "tail_max_cvar": number(0.0001, 0.5, nullable=True),
        "tail_scenarios": choice({"historical": "Daily returns of the window",
                                  "normal": "Monte Carlo, normal",
                                  "student_t": "Monte Carlo, Student-t"}),  # fmt: skip
        "tail_mc_scenarios": number(100, 50_000, integer=True),
        "tail_mc_seed": number(0, 2**32 - 1, integer=True),
        "tail_budget_by": choice({"equal": "Equal risk contribution", "asset": "Per asset",
                                  "sector": "Per sector"}),  # fmt: skip
        "tail_asset_budgets": mapping(number(0.0, 1.0)),
        "tail_sector_budgets": mapping(number(0.0, 1.0), key=text(200)),
    }


def _feature_rules() -> list[tuple[str, Rule, str]]:
    """Rules and labels of the resampled frontier's and the Compare page's setup keys."""
    from core.comparison import COMPARISON_SCHEDULES, DESIGN_KINDS, MAX_DESIGNS, SHARPE_TESTS
    from core.estimators import COVARIANCE_ESTIMATORS, RETURN_ESTIMATORS
    from core.optimization import OBJECTIVES
    from core.resampling import RESAMPLING_METHODS

    design = record(
        {
            "name": text(60),
            "kind": choice(DESIGN_KINDS),
            "objective": choice(OBJECTIVES, nullable=True),
            "returns_method": choice(RETURN_ESTIMATORS, nullable=True),
            "cov_method": choice(COVARIANCE_ESTIMATORS, nullable=True),
            "constraints": choice({"setup": "The Allocation page's",
                                   "long_only": "Long-only, 0 to 100 %"},
                                  nullable=True),  # fmt: skip
            "max_weight": number(0.01, 1.0, nullable=True),
        },
        required=("name", "kind"),
    )
    return [
        ("frontier_resampled", flag(), "Resampled frontier shown"),
        ("frontier_resamples", number(10, 1_000, integer=True), "Resamples"),
        ("frontier_resample_seed", number(0, 2**32 - 1, integer=True), "Resampling seed"),
        ("frontier_resample_method", choice(RESAMPLING_METHODS), "Resampling method"),
        ("compare_designs", list_of(design, max_items=MAX_DESIGNS), "Designs compared"),
        ("compare_baseline", text(60), "Baseline design"),
        ("compare_schedule", choice(COMPARISON_SCHEDULES), "Comparison schedule"),
        ("compare_lookback_years", number(0.25, 30.0), "Comparison lookback (years)"),
        ("compare_start", date(), "Comparison start"),
        ("compare_cost_bps", number(0.0, 500.0), "Comparison costs (bps)"),
        ("compare_test", choice(SHARPE_TESTS), "Sharpe-ratio test"),
        ("compare_confidence", choice((0.9, 0.95, 0.99)), "Comparison confidence"),
    ]


#: Setup key -> the rule its values meet (see the module docstring, "Validation").
RULES: dict[str, Rule] = _default_rules()

#: Setup key -> its name for the user, with its unit; "%" marks a decimal shown as a
#: percentage (reports format it so). A key without one is shown by its key in words.
LABELS: dict[str, str] = {
    "data_source": "Data source",
    "universe": "Universe",
    "start": "Window start",
    "end": "Window end",
    "returns_method": "Expected returns estimator",
    "cov_method": "Covariance estimator",
    "risk_free_rate": "Risk-free rate (annual, %)",
    "expected_returns_source": "Expected returns used",
    "objective_kind": "Objective",
    "target_return": "Target return (annualised, %)",
    "target_volatility": "Target volatility (annualised, %)",
    "risk_aversion": "Risk aversion (delta)",
    "long_only": "Long only",
    "min_weight": "Min weight per asset (%)",
    "max_weight": "Max weight per asset (%)",
    "max_volatility": "Max volatility (annualised, %)",
    "asset_bounds": "Per-asset bounds (min, max weight)",
    "sector_bounds": "Sector bounds (min, max weight)",
    "capital": "Capital (money)",
    "bl_views": "Black-Litterman views",
    "bl_prior": "Black-Litterman prior portfolio",
    "bl_market_caps": "Market caps you entered (bn)",
    "bl_delta": "Black-Litterman risk aversion (delta; none: from the benchmark)",
    "bl_tau": "Black-Litterman tau",
    "bl_omega": "View uncertainty (omega)",
    "holdings": "Holdings (shares)",
    "cash": "Cash held (money)",
    "rebalance_benchmark": "Benchmark",
    "rebalance_yahoo_benchmark": "Yahoo benchmark symbol",
    "rebalance_benchmark_upload": "Uploaded benchmark file",
    "rebalance_schedule": "Rebalancing schedule",
    "rebalance_lookback_years": "Backtest lookback (years)",
    "rebalance_backtest_start": "Backtest start",
    "rebalance_cost_bps": "Transaction costs (bps of traded value)",
    "rebalance_drift_band": "Drift band (%)",
    "rebalance_min_trade": "Minimum trade (money)",
    "rebalance_no_trade_band": "No-trade band (%)",
    "rebalance_stop_method": "Stop-loss method",
    "rebalance_stop_k": "Stop-loss k (sigmas)",
    "rebalance_take_k": "Take-profit k (sigmas)",
    "rebalance_confidence": "Stop-loss confidence (%)",
    "rebalance_horizon": "Stop-loss horizon (trading days)",
    "risk_confidences": "VaR confidence levels (%)",
    "risk_horizon": "VaR horizon (trading days)",
    "risk_mc_scenarios": "Monte Carlo scenarios per distribution (count)",
    "risk_mc_dof": "Student-t degrees of freedom (none: fitted)",
    "risk_mc_seed": "Monte Carlo seed",
    "risk_contrib_method": "Risk contributions method",
    "risk_contrib_confidence": "Risk contributions confidence (%)",
    "risk_backtest_method": "VaR backtest method",
    "risk_backtest_window": "VaR backtest window (trading days)",
    "risk_backtest_confidence": "VaR backtest confidence (%)",
    "risk_backtest_full_history": "VaR backtest on the whole history",
    "risk_custom_windows": "Custom stress windows (start, end)",
    "risk_asset_shocks": "Asset shocks (%)",
    "risk_sector_shocks": "Sector shocks (%)",
    "risk_crisis": "Crisis correlations from",
    "risk_corr_push": "Correlation push toward 1 (lambda)",
    "risk_corr_window": "Rolling correlation window (trading days)",
    "frontier_n_points": "Frontier points (count)",
    "frontier_n_random": "Random portfolios (count)",
    "frontier_pick_by": "Frontier portfolio picked by",
    "frontier_pick": "Frontier pick (annualised, %; none: the tangency)",
    "frontier_show_unconstrained": "Unconstrained frontier shown",
    "frontier_compare": "Frontier compared with",
    "frontier_transition_x": "Transition map along",
    "book_start_from": "Optimise starting from",
    "book_max_turnover": "Turnover budget (one-way, %)",
    "book_locked": "Locked assets",
    "book_no_buy": "Assets not to buy",
    "book_no_sell": "Assets not to sell",
    "book_cost_overrides": "Per-asset transaction costs (bps of traded value)",
    "book_horizon_years": "Holding horizon for costs (years)",
    "book_cash_bounds": "Cash weight of the proposal (min, max, %)",
    "book_max_gross": "Gross exposure at most (%)",
    "book_max_long": "Total long weight at most (%)",
    "book_max_short": "Total short weight at most (%)",
    "book_max_tracking_error": "Tracking error at most (annualised, %)",
    "frontier_show_cvar": "Mean-CVaR frontier shown",
    "tail_cvar_confidence": "CVaR / CDaR confidence (%)",
    "tail_max_cvar": "CVaR limit (daily, %)",
    "tail_scenarios": "Scenarios of the tail objectives",
    "tail_mc_scenarios": "Monte Carlo scenarios of the tail objectives (count)",
    "tail_mc_seed": "Monte Carlo seed of the tail objectives",
    "tail_budget_by": "Risk budgets",
    "tail_asset_budgets": "Risk budgets per asset (%)",
    "tail_sector_budgets": "Risk budgets per sector (%)",
}


# Keys of features whose rules need their modules (imported here, after the rules above):
# every reader of a setup (the dashboard, the command line) knows them.
for _key, _rule, _label in _feature_rules():
    RULES[_key] = _rule
    LABELS[_key] = _label


def label(key: str) -> str:
    """A setup key's name for the user (:data:`LABELS`; else the key in words)."""
    return LABELS.get(key) or key.replace("_", " ").strip().capitalize()


def display(key: str, value: Any) -> Any:
    """A setup value in the user's words: a labelled choice as its label, else the value.

    Parameters
    ----------
    key : str
        Setup key (:data:`ui.state.DEFAULTS`).
    value : Any
        Its value in the setup.

    Returns
    -------
    Any
        The choice's label for the user where the key's rule labels its choices; an uploaded
        file (an object with a ``"csv"`` field) as its file name; else ``value``.
    """
    if isinstance(value, Mapping) and "csv" in value:  # an uploaded file travels in the setup
        return value.get("filename") or "an uploaded file"
    rule = RULES.get(key)
    if rule is not None and rule.labels is not None and not isinstance(value, list | dict):
        return rule.labels.get(value, value)
    return value


def register(key: str, rule: Rule, label: str | None = None) -> Rule:
    """Register (or replace) the rule of a setup key; call it next to the key's default.

    Parameters
    ----------
    key : str
        Setup key, e.g. ``"holdings_turnover_limit"``.
    rule : Rule
        E.g. ``setups.number(0.0, 2.0)``.
    label : str, optional
        The key's name for the user, with its unit (see :data:`LABELS`).

    Returns
    -------
    Rule
        The rule, so that ``DEFAULTS[key] = ...; register(key, rule)`` reads as one line.
    """
    RULES[key] = rule
    if label:
        LABELS[key] = label
    return rule


def _depth_problem(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists or objects deeper than ``limit`` (iterative, no recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth >= limit:
                return True
            items = item.values() if isinstance(item, Mapping) else item
            stack.extend((v, depth + 1) for v in items)
    return False


def validate(
    setup: Mapping[str, Any],
    defaults: Mapping[str, Any],
    rules: Mapping[str, Rule] | None = None,
) -> dict[str, Any]:
    """Check every value of a setup against its rule; return the cleaned setup.

    Parameters
    ----------
    setup : mapping
        Setup values (dates restored), e.g. from :func:`from_jsonable`.
    defaults : mapping
        The setup keys and their defaults; keys without a rule are checked against the type
        of their default only (done by :func:`from_jsonable`).
    rules : mapping, optional
        Key -> rule; default :data:`RULES`.

    Returns
    -------
    dict
        The setup with cleaned values (whole numbers as int, dates as ``datetime.date``).

    Raises
    ------
    SetupError
        Naming every key whose value cannot be used, with the problem, e.g.
        ``"holdings/AAPL ('ten' is not a number)"``; and for a window whose start is not
        before its end, or a minimum weight below 0 in a long-only setup.
    """
    rules = RULES if rules is None else rules
    out = dict(setup)
    wrong: list[str] = []
    for key, value in setup.items():
        rule = rules.get(key)
        if rule is None:
            continue
        try:
            out[key] = rule(value)
        except Invalid as exc:
            where = f"{key}/{exc.path}" if exc.path else key
            wrong.append(f"{where} ({exc.problem})")
        except (TypeError, ValueError, OverflowError, RecursionError):
            # A rule that did not foresee this shape: still the key's fault, said plainly.
            wrong.append(f"{key} ({_show(value)} cannot be read as {rule.describe})")
    start, end = out.get("start"), out.get("end")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and start >= end:
        wrong.append(f"start ({start} is not before the end {end})")
    if out.get("long_only") is True and isinstance(out.get("min_weight"), float):
        if out["min_weight"] < 0:
            wrong.append(f"min_weight ({out['min_weight']:g} is below 0 in a long-only setup)")
    if isinstance(out.get("min_weight"), float) and isinstance(out.get("max_weight"), float):
        if out["min_weight"] > out["max_weight"]:
            wrong.append(
                f"min_weight ({out['min_weight']:g} is above max_weight {out['max_weight']:g})"
            )
    if wrong:
        raise SetupError(f"Settings that cannot be used: {'; '.join(wrong)}.")
    return out


def from_jsonable(
    payload: Any,
    defaults: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate an envelope from :func:`to_jsonable` (or a hand-written file) into a setup.

    Parameters
    ----------
    payload : Any
        Parsed JSON: the envelope, or a bare mapping of setup keys.
    defaults : mapping
        The setup keys and their defaults; the expected type of each key is its default's
        type, or, where the default is None, the type of ``current[key]`` when given.
    current : mapping, optional
        The setup in use, for the types of keys whose default is None (``start``, ``end``,
        ``universe``).

    Returns
    -------
    dict
        Every key of ``defaults``: the file's value, restored (dates, tuples), or the default
        for keys the file lacks (a file from an older Ballast).

    Raises
    ------
    SetupError
        If the payload is not a mapping, nests too deeply, has a newer schema version, or has
        unknown keys or values that break their :data:`RULES` (type, range, shape, date); the
        message lists every such key by name with its problem.
    """
    if not isinstance(payload, Mapping):
        raise SetupError("A setup file must hold a JSON object ({...}) of settings.")
    if _depth_problem(payload, MAX_DEPTH + 2):  # the envelope adds two levels
        raise SetupError(
            f"The setup nests lists or objects more than {MAX_DEPTH} levels deep; a Ballast "
            "setup never does. Export it again from Ballast."
        )
    if "setup" in payload or "schema_version" in payload:
        version = payload.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            raise SetupError(f"The setup's schema version {version!r} is not a whole number.")
        if version > SCHEMA_VERSION:
            raise SetupError(
                f"This setup was saved by a newer version of Ballast (schema {version}; this "
                f"one reads up to {SCHEMA_VERSION}). Update Ballast to open it."
            )
        fmt = payload.get("format", FORMAT)
        if fmt != FORMAT:
            raise SetupError(f"Not a Ballast setup file (format {fmt!r}).")
        values, types = payload.get("setup"), payload.get("types", {})
        if not isinstance(values, Mapping):
            raise SetupError("The setup file has no 'setup' object of settings.")
        if not isinstance(types, Mapping):
            raise SetupError("The setup file's 'types' field must be an object.")
    else:
        values, types = payload, {}
    unknown = sorted(k for k in values if k not in defaults)
    if unknown:
        raise SetupError(f"Unknown settings in the setup: {', '.join(unknown)}.")
    types = dict(types)
    current = current or {}
    for key, value in values.items():
        expected = defaults[key] if defaults[key] is not None else current.get(key)
        if isinstance(expected, dt.date) and isinstance(value, str) and key not in types:
            types[key] = "datetime" if isinstance(expected, dt.datetime) else "date"
    setup: dict[str, Any] = {}
    wrong: list[str] = []
    for key in defaults:
        if key not in values:
            setup[key] = defaults[key]
            continue
        try:
            value = _restore(values[key], key, types)
        except SetupError as exc:
            wrong.append(f"{key} ({exc})")
            continue
        if key in RULES:  # checked with the other rules below
            setup[key] = value
            continue
        expected = defaults[key] if defaults[key] is not None else current.get(key)
        problem = _type_problem(value, expected, nullable=defaults[key] is None)
        if problem:
            wrong.append(f"{key} ({problem})")
            continue
        if isinstance(expected, float) and isinstance(value, int):
            value = float(value)
        setup[key] = value
    try:
        setup = validate(setup, defaults)
    except SetupError as exc:
        wrong.append(str(exc).removeprefix("Settings that cannot be used: ").rstrip("."))
    if wrong:
        raise SetupError(f"Settings that cannot be used: {'; '.join(wrong)}.")
    return setup


def _ticker_keys(setup: Mapping[str, Any]) -> list[str]:
    hinted = [k for k in setup if any(h in k for h in TICKER_KEY_HINTS)]
    return list(dict.fromkeys([*TICKER_KEYS, *hinted]))


def setup_tickers(setup: Mapping[str, Any], keys: Iterable[str] | None = None) -> list[str]:
    """Tickers a setup refers to: lists of tickers and keys of per-ticker mappings.

    Parameters
    ----------
    setup : mapping
        A setup.
    keys : iterable of str, optional
        Setup keys holding tickers (a list of tickers or a mapping keyed by ticker); default
        :data:`TICKER_KEYS` and the keys named after :data:`TICKER_KEY_HINTS`.

    Returns
    -------
    list of str
        Distinct tickers in order of appearance.
    """
    found: dict[str, None] = {}
    for key in _ticker_keys(setup) if keys is None else keys:
        value = setup.get(key)
        if isinstance(value, Mapping) or isinstance(value, list | tuple):
            for t in value:
                if isinstance(t, str):
                    found[t] = None
    return list(found)


def check_tickers(
    setup: Mapping[str, Any],
    available: Iterable[str],
    keys: Iterable[str] | None = None,
    extra: Iterable[str] = (),
) -> None:
    """Raise if the setup names tickers the data lacks.

    Parameters
    ----------
    setup : mapping
        A setup.
    available : iterable of str
        Tickers of the loaded data.
    keys : iterable of str, optional
        Setup keys holding tickers (see :func:`setup_tickers`).
    extra : iterable of str
        More tickers the setup names in other shapes (e.g. in the text of its views).

    Raises
    ------
    SetupError
        Naming every missing ticker.
    """
    have = set(available)
    named = dict.fromkeys([*setup_tickers(setup, keys), *extra])
    missing = [t for t in named if t not in have]
    if missing:
        raise SetupError(
            f"The setup names tickers the loaded data lacks: {', '.join(missing)}. Load data "
            "that holds them (Data page) and import the setup again."
        )


def export_json(setup: Mapping[str, Any], defaults: Mapping[str, Any], name: str = "") -> bytes:
    """A setup as a JSON file (UTF-8, indented) that :func:`import_json` reads back.

    Parameters
    ----------
    setup : mapping
        Setup values.
    defaults : mapping
        The setup keys and their defaults.
    name : str
        Optional name written into the file.

    Returns
    -------
    bytes

    Raises
    ------
    SetupError
        If a value cannot be represented in JSON.
    """
    envelope = to_jsonable(setup, defaults)
    if name:
        envelope = {"name": name, **envelope}
    return json.dumps(envelope, indent=2, ensure_ascii=False, allow_nan=False).encode("utf-8")


def import_json(
    data: bytes | str,
    defaults: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
    tickers: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Parse and validate a setup JSON file.

    Parameters
    ----------
    data : bytes or str
        File content.
    defaults : mapping
        The setup keys and their defaults.
    current : mapping, optional
        The setup in use (types of keys whose default is None).
    tickers : iterable of str, optional
        Tickers of the data the setup will run on; when given, tickers the setup names that
        are not among them raise.

    Returns
    -------
    dict
        The setup (see :func:`from_jsonable`).

    Raises
    ------
    SetupError
        If the file is larger than :data:`MAX_SETUP_BYTES`, is not UTF-8 JSON, is not a setup,
        is from a newer Ballast, or has unknown keys, values that cannot be used or unknown
        tickers (each listed by name).
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "replace"))
    if size > MAX_SETUP_BYTES:
        raise SetupError(
            f"The setup file is {size / 1e6:,.1f} MB; setups are at most "
            f"{MAX_SETUP_BYTES // (1024 * 1024)} MB."
        )
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        payload = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise SetupError(
            f"The setup file nests lists or objects too deeply (more than {MAX_DEPTH} levels); "
            "a Ballast setup never does. Export it again from Ballast."
        ) from None
    except UnicodeDecodeError:
        raise SetupError(
            "The setup file is not UTF-8 text; export it again from Ballast."
        ) from None
    except json.JSONDecodeError as exc:
        raise SetupError(
            f"The setup file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    setup = from_jsonable(payload, defaults, current)
    if tickers is not None:
        check_tickers(setup, tickers)
    return setup


def clean_name(name: str) -> str:
    """A setup's name as stored: whitespace runs collapsed to one space.

    Parameters
    ----------
    name : str
        The name the user typed.

    Returns
    -------
    str
        The cleaned name, at most :data:`MAX_NAME_LENGTH` characters.

    Raises
    ------
    SetupError
        An empty name, or one longer than :data:`MAX_NAME_LENGTH` characters.
    """
    if not isinstance(name, str) or not name.strip():
        raise SetupError("Give the setup a name.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH:
        raise SetupError(f"Setup names have at most {MAX_NAME_LENGTH} characters.")
    return name


def _reject_constant(name: str) -> Any:
    raise SetupError(f"The setup file holds {name}, which is not a number JSON allows.")


# --- the store ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRecordInfo:
    """A record's name and metadata in a :class:`SQLiteRecordFile`.

    Attributes
    ----------
    name : str
        Name the user gave it.
    saved_at : datetime
        When it was last saved (UTC).
    schema_version : int
        Schema version of the record.
    """

    name: str
    saved_at: dt.datetime
    schema_version: int

    @property
    def readable(self) -> bool:
        """Whether this version of Ballast can load it."""
        return self.schema_version <= SCHEMA_VERSION


_TABLE = """
CREATE TABLE IF NOT EXISTS setups (
    name TEXT PRIMARY KEY,
    schema_version INTEGER NOT NULL,
    saved_at TEXT NOT NULL,
    payload TEXT NOT NULL
)
"""


class SQLiteRecordFile:
    """Named setup records in one SQLite file, without owners (the format of Ballast 0.1).

    Saved setups now live in :class:`core.store.SetupStore` (owners, sharing, SQLite or
    PostgreSQL, migrations); this class keeps the single-file format for the working sessions
    of :mod:`core.sessions`, whose records are keyed by an unguessable token. Each public method
    opens its own connection and runs in one transaction, so that the file
    is never left half-written and several Streamlit sessions can share it.

    Parameters
    ----------
    path : str or Path, optional
        The database file, or a folder to hold ``setups.sqlite3`` (an existing folder, or a
        path without a suffix); default ``default_data_dir() / "setups.sqlite3"``.

    References
    ----------
    SQLite, "Atomic Commit In SQLite", https://www.sqlite.org/atomiccommit.html
    """

    FILENAME = "setups.sqlite3"
    #: Seconds to wait for another session's write to finish before giving up.
    TIMEOUT = 10.0

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            self.path = default_data_dir() / self.FILENAME
            return
        path = Path(path).expanduser()
        self.path = path / self.FILENAME if path.is_dir() or path.suffix == "" else path

    # A test hook: runs inside the write transaction, after the write and before the commit.
    def _before_commit(self, connection: sqlite3.Connection) -> None:
        return None

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if not self.path.exists():
            if not create:
                return None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SetupError(
                    f"Cannot create the folder for saved setups ({exc.strerror or 'error'}); "
                    "ask the administrator to check the data folder (BALLAST_DATA_DIR)."
                ) from None
        try:
            con = sqlite3.connect(self.path, timeout=self.TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise SetupError(f"Cannot open the saved setups ({exc}).") from None
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute(_TABLE)
            con.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            con.close()
            raise self._damaged(exc) from None
        return con

    def _damaged(self, exc: Exception) -> SetupError:
        if isinstance(exc, sqlite3.OperationalError):
            # Locked by another session's write beyond the timeout, a read-only folder, a full
            # disk: the file is fine, it cannot be used right now.
            return SetupError(
                f"The saved setups cannot be used right now ({exc}). Try again; if it "
                "persists, ask the administrator to check that the data folder is writable and "
                "the disk not full."
            )
        return SetupError(
            f"The saved setups file is damaged or is not a Ballast setups file ({exc}). Ask "
            "the administrator to move it away (or delete it) to start a new one; your other "
            "files are untouched."
        )

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        con = self._connect(create=False)
        if con is None:
            return []
        try:
            return con.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        finally:
            con.close()

    def _write(self, statements: list[tuple[str, tuple]], check=None) -> None:
        con = self._connect(create=True)
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                if check is not None:
                    check(con)
                for sql, args in statements:
                    con.execute(sql, args)
                self._before_commit(con)
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the transaction is gone already; SQLite rolled it back
                raise
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None
        finally:
            con.close()

    @staticmethod
    def _clean_name(name: str) -> str:
        return clean_name(name)

    def list(self) -> list[FileRecordInfo]:
        """Saved setups, most recently saved first.

        Returns
        -------
        list of FileRecordInfo
            Empty when the file does not exist yet.

        Raises
        ------
        SetupError
            If the file is damaged.
        """
        rows = self._read("SELECT name, saved_at, schema_version FROM setups")
        infos = []
        for name, saved_at, version in rows:
            try:
                when = dt.datetime.fromisoformat(saved_at)
            except (TypeError, ValueError):
                raise self._damaged(ValueError(f"bad date in {name!r}")) from None
            infos.append(FileRecordInfo(str(name), when, int(version)))
        return sorted(infos, key=lambda i: (i.saved_at, i.name), reverse=True)

    def names(self) -> list[str]:
        """Names of the saved setups, most recently saved first."""
        return [info.name for info in self.list()]

    def save(self, name: str, setup: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
        """Save a setup under a name, replacing one of the same name.

        Parameters
        ----------
        name : str
            Name (spaces collapsed; at most :data:`MAX_NAME_LENGTH` characters).
        setup : mapping
            Setup values.
        defaults : mapping
            The setup keys and their defaults (which keys are saved).

        Returns
        -------
        str
            The name as stored.

        Raises
        ------
        SetupError
            On an empty or too long name, a value JSON cannot hold or its rule rejects (the
            setup could not be loaded back), or a damaged file.
        """
        name = self._clean_name(name)
        envelope = to_jsonable(setup, defaults)
        from_jsonable(json.loads(json.dumps(envelope)), defaults, setup)  # loads back, or raises
        payload = json.dumps(envelope, allow_nan=False)
        saved_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        self._write(
            [
                (
                    "INSERT INTO setups (name, schema_version, saved_at, payload) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                    "schema_version = excluded.schema_version, saved_at = excluded.saved_at, "
                    "payload = excluded.payload",
                    (name, SCHEMA_VERSION, saved_at, payload),
                )
            ]
        )
        return name

    def load(
        self,
        name: str,
        defaults: Mapping[str, Any],
        current: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Load a saved setup.

        Parameters
        ----------
        name : str
            Its name.
        defaults : mapping
            The setup keys and their defaults; keys added since it was saved take their
            default.
        current : mapping, optional
            The setup in use (see :func:`from_jsonable`).

        Returns
        -------
        dict

        Raises
        ------
        SetupError
            If there is no such setup, it was saved by a newer Ballast, its record is damaged,
            or it holds settings this version does not know (named).
        """
        rows = self._read("SELECT schema_version, payload FROM setups WHERE name = ?", (name,))
        if not rows:
            raise SetupError(f"No saved setup is called {name!r}.")
        version, payload = rows[0]
        if int(version) > SCHEMA_VERSION:
            raise SetupError(
                f"The setup {name!r} was saved by a newer version of Ballast (schema "
                f"{version}; this one reads up to {SCHEMA_VERSION}). Update Ballast to open it."
            )
        try:
            data = json.loads(payload)
        except (TypeError, json.JSONDecodeError):
            raise SetupError(f"The saved setup {name!r} is damaged; delete it.") from None
        return from_jsonable(data, defaults, current)

    def rename(self, old: str, new: str) -> str:
        """Rename a saved setup.

        Returns
        -------
        str
            The new name as stored.

        Raises
        ------
        SetupError
            If ``old`` does not exist or ``new`` is taken, empty or too long.
        """
        new = self._clean_name(new)

        def check(con: sqlite3.Connection) -> None:
            if not con.execute("SELECT 1 FROM setups WHERE name = ?", (old,)).fetchone():
                raise SetupError(f"No saved setup is called {old!r}.")
            if new != old and con.execute("SELECT 1 FROM setups WHERE name = ?", (new,)).fetchone():
                raise SetupError(f"A setup called {new!r} exists already; choose another name.")

        self._write([("UPDATE setups SET name = ? WHERE name = ?", (new, old))], check)
        return new

    def delete(self, name: str) -> None:
        """Delete a saved setup.

        Raises
        ------
        SetupError
            If there is no such setup.
        """

        def check(con: sqlite3.Connection) -> None:
            if not con.execute("SELECT 1 FROM setups WHERE name = ?", (name,)).fetchone():
                raise SetupError(f"No saved setup is called {name!r}.")

        self._write([("DELETE FROM setups WHERE name = ?", (name,))], check)


def __getattr__(name: str) -> Any:
    # The saved-setups store moved to core.store (owners, sharing, SQLAlchemy); these names
    # stay importable from here. Imported lazily: core.store imports this module.
    if name in ("SetupStore", "SetupInfo"):
        from core import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
