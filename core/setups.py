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

The store is one SQLite file (``setups.sqlite3``) in the user data folder:
``$BALLAST_DATA_DIR``, else ``$XDG_DATA_HOME/ballast``, else ``~/.local/share/ballast``. Every
write is one transaction, so a crash between a write and its commit leaves the previous
content intact (SQLite's rollback journal). Each record carries the schema version it was
written with; a record from a newer Ballast, or a file that is not a setups database, raises
:class:`~core.exceptions.SetupError` with a message saying what to do.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.exceptions import SetupError

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT",
    "SetupInfo",
    "SetupStore",
    "default_data_dir",
    "to_jsonable",
    "from_jsonable",
    "setup_tickers",
    "check_tickers",
    "export_json",
    "import_json",
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
        If the payload is not a mapping, has a newer schema version, or has unknown keys or
        values of the wrong type; the message lists every such key by name.
    """
    if not isinstance(payload, Mapping):
        raise SetupError("A setup file must hold a JSON object ({...}) of settings.")
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
        expected = defaults[key] if defaults[key] is not None else current.get(key)
        problem = _type_problem(value, expected, nullable=defaults[key] is None)
        if problem:
            wrong.append(f"{key} ({problem})")
            continue
        if isinstance(expected, float) and isinstance(value, int):
            value = float(value)
        setup[key] = value
    if wrong:
        raise SetupError(f"Settings with the wrong type: {'; '.join(wrong)}.")
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
        If the file is not UTF-8 JSON, is not a setup, is from a newer Ballast, or has unknown
        keys, wrong types or unknown tickers (each listed by name).
    """
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        payload = json.loads(text, parse_constant=_reject_constant)
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


def _reject_constant(name: str) -> Any:
    raise SetupError(f"The setup file holds {name}, which is not a number JSON allows.")


# --- the store ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupInfo:
    """A saved setup's name and metadata.

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


class SetupStore:
    """Named setups in a SQLite file.

    Each public method opens its own connection and runs in one transaction, so that the file
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
                raise SetupError(f"Cannot create the folder {self.path.parent}: {exc}.") from None
        try:
            con = sqlite3.connect(self.path, timeout=self.TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise SetupError(f"Cannot open the setups file {self.path}: {exc}.") from None
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
                f"The setups file {self.path} cannot be used right now ({exc}). Try again; "
                "check that the folder is writable and the disk not full."
            )
        return SetupError(
            f"The setups file {self.path} is damaged or is not a Ballast setups file ({exc}). "
            "Move it away (or delete it) to start a new one; your other files are untouched."
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
        if not isinstance(name, str) or not name.strip():
            raise SetupError("Give the setup a name.")
        name = " ".join(name.split())
        if len(name) > MAX_NAME_LENGTH:
            raise SetupError(f"Setup names have at most {MAX_NAME_LENGTH} characters.")
        return name

    def list(self) -> list[SetupInfo]:
        """Saved setups, most recently saved first.

        Returns
        -------
        list of SetupInfo
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
            infos.append(SetupInfo(str(name), when, int(version)))
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
            On an empty or too long name, a value JSON cannot hold, or a damaged file.
        """
        name = self._clean_name(name)
        payload = json.dumps(to_jsonable(setup, defaults), allow_nan=False)
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
