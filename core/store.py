"""Saved setups with owners and sharing, in SQLite or PostgreSQL through SQLAlchemy.

Conventions
-----------
*Where.* The database is named by a SQLAlchemy URL: the argument of :func:`open_store`, else
``$BALLAST_DATABASE_URL``, else the SQLite file ``setups.sqlite3`` in the user data folder
(:func:`core.setups.default_data_dir`, where Ballast 0.1 kept its setups). ``postgresql://``
URLs use psycopg 3 (``postgresql+psycopg://``). A path without ``://`` names a SQLite file, or
a folder to hold ``setups.sqlite3``. The schema is created and upgraded by Alembic when the
store is first used (``core/migrations``); the first migration takes the setups of a Ballast
0.1 file over in place, each owned by :data:`LOCAL_USER`.

*Who.* Every method takes the acting ``user``: the identity the sign-in gives (an e-mail or an
OpenID Connect subject, used as given), or None for single-user local mode, which acts as
:data:`LOCAL_USER`. A user sees their own setups and those shared with them, by name or as
:data:`TEAM` (every user of the store); they change only their own. The checks are here, in
every read and write, not in the pages. A setup that does not exist and one the user may not
see give the same :class:`~core.exceptions.AccessDeniedError` message, so that nobody learns
what others saved; messages never name the database's location.

*What.* A setup is stored as the JSON envelope of :func:`core.setups.to_jsonable` (dates and
tuples restored on load) with its owner, readers, created and updated times (UTC), a revision
counter (1 at creation, +1 per overwrite) and the reproducibility record of
:mod:`core.reproducibility` (versions, data fingerprint, key figures). Each user also has one
*working setup* (:meth:`SetupStore.save_working`), the one they are editing, so that a reload
or another browser finds it.

*How safely.* Every write is one transaction: a crash before the commit leaves the previous
version (SQLite's rollback journal, PostgreSQL's MVCC). SQLite transactions start with
``BEGIN IMMEDIATE`` (writers queue, for up to :attr:`SetupStore.TIMEOUT` seconds, instead of
failing on a lock upgrade); on PostgreSQL the row being replaced is locked ``FOR UPDATE`` and a
save that loses a race on a new name is retried, so that concurrent saves lose nothing.

References
----------
SQLAlchemy 2.0 documentation, "Serializable isolation / Savepoints / Transactional DDL" (the
pysqlite ``BEGIN`` recipe); Alembic documentation, "Sharing a Connection across one or more
programmatic migration commands"; SQLite, "Atomic Commit In SQLite".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

from core import reproducibility
from core.exceptions import AccessDeniedError, ReadOnlySetupError, SetupError
from core.setups import (
    MAX_NAME_LENGTH,
    SCHEMA_VERSION,
    clean_name,
    default_data_dir,
    from_jsonable,
    to_jsonable,
)

__all__ = [
    "DATABASE_URL_ENV",
    "LOCAL_USER",
    "TEAM",
    "SetupInfo",
    "SetupStore",
    "database_url",
    "open_store",
]

log = logging.getLogger(__name__)

#: Environment variable naming the database (a SQLAlchemy URL).
DATABASE_URL_ENV = "BALLAST_DATABASE_URL"
#: The owner in single-user local mode (``user=None``), and of setups taken over from 0.1.
LOCAL_USER = "local"
#: Reader meaning every user of the store.
TEAM = "team"
#: SQLite file name in the user data folder (the name Ballast 0.1 used).
FILENAME = "setups.sqlite3"
#: Longest user identity, in characters (an e-mail address is at most 320).
MAX_USER_LENGTH = 320
#: Most readers of one setup.
MAX_READERS = 500

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

metadata = sa.MetaData()

setups_table = sa.Table(
    "setups",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(MAX_USER_LENGTH), nullable=False),
    sa.Column("name", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("versions", sa.JSON, nullable=True),
    sa.Column("data_fingerprint", sa.String(80), nullable=True),
    sa.Column("data_summary", sa.JSON, nullable=True),
    sa.Column("key_figures", sa.JSON, nullable=True),
    sa.UniqueConstraint("owner", "name", name="uq_setups_owner_name"),
)

readers_table = sa.Table(
    "setup_readers",
    metadata,
    sa.Column("setup_id", sa.String(32), sa.ForeignKey("setups.id", ondelete="CASCADE"),
              primary_key=True),  # fmt: skip
    sa.Column("reader", sa.String(MAX_USER_LENGTH), primary_key=True),
)

working_table = sa.Table(
    "working_setups",
    metadata,
    sa.Column("owner", sa.String(MAX_USER_LENGTH), primary_key=True),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

_ID = re.compile(r"^[0-9a-f]{16}$")


def new_id() -> str:
    """A new setup id: 64 random bits as 16 hex digits (safe in a URL, ``?setup=<id>``)."""
    return secrets.token_hex(8)


def database_url(url: str | os.PathLike[str] | None = None) -> str:
    """The SQLAlchemy URL of the store (see the module docstring for the order).

    Parameters
    ----------
    url : str or path, optional
        A SQLAlchemy URL, or a SQLite file or folder.

    Returns
    -------
    str
        ``sqlite:///<absolute file>`` or the URL given, ``postgresql://`` turned into
        ``postgresql+psycopg://``.
    """
    if url is None or str(url) == "":
        url = os.environ.get(DATABASE_URL_ENV) or None
    if url is None:
        return f"sqlite:///{default_data_dir() / FILENAME}"
    text = str(url)
    if "://" not in text:
        path = Path(text).expanduser()
        path = path / FILENAME if path.is_dir() or path.suffix == "" else path
        return f"sqlite:///{path.resolve()}"
    for plain in ("postgresql://", "postgres://"):
        if text.startswith(plain):
            return "postgresql+psycopg://" + text[len(plain):]
    return text


@dataclass(frozen=True)
class SetupInfo:
    """A saved setup as the user who listed it sees it.

    Attributes
    ----------
    id : str
        Its id (16 hex digits), stable across renames; for links (``?setup=<id>``).
    name : str
        Name its owner gave it (unique among that owner's setups).
    owner : str
        Who saved it.
    readers : tuple of str
        Who else may open it (users, or :data:`TEAM`); shown to its owner only (empty for
        other users, who need not learn who else was given it).
    created_at, updated_at : datetime
        When it was first and last saved (UTC).
    revision : int
        1 when created, +1 at each overwrite.
    schema_version : int
        Version of the setup record format.
    data_fingerprint : str or None
        Fingerprint of the data it was saved with (:mod:`core.reproducibility`).
    mine : bool
        Whether the listing user owns it (may change it); False for one shared with them.
    """

    id: str
    name: str
    owner: str
    readers: tuple[str, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
    revision: int
    schema_version: int
    data_fingerprint: str | None
    mine: bool

    @property
    def saved_at(self) -> dt.datetime:
        """When it was last saved (UTC); same as :attr:`updated_at`."""
        return self.updated_at

    @property
    def readable(self) -> bool:
        """Whether this version of Ballast can load it."""
        return self.schema_version <= SCHEMA_VERSION

    @property
    def shared(self) -> bool:
        """Whether its owner shared it (as seen by the owner), or it was shared with the user."""
        return bool(self.readers) or not self.mine


# --- engines --------------------------------------------------------------------------------

# One engine (connection pool) per URL and process, as SQLAlchemy recommends; migrations run
# once per engine. The process id is in the key so that a forked child never reuses its
# parent's connections.
_ENGINES: dict[tuple[str, float, int], Engine] = {}
_MIGRATED: set[tuple[str, int]] = set()
_LOCK = threading.Lock()


def _sqlite_engine(url: str, timeout: float) -> Engine:
    # No pool: opening a SQLite file costs microseconds, and a pooled handle would outlive a
    # file that was moved away or deleted (the administrator starting a new store).
    memory = sa.engine.make_url(url).database in (None, "", ":memory:")
    engine = sa.create_engine(url, connect_args={"timeout": timeout, "check_same_thread": False},
                              poolclass=sa.pool.StaticPool if memory else sa.pool.NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, say when transactions begin (the sqlite3
        # module would otherwise start them late and never around DDL).
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Writers take the write lock at once (no deadlock upgrading a read lock); readers
        # share the file.
        read = connection.get_execution_options().get("ballast_read", False)
        connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


def _engine(url: str, timeout: float) -> Engine:
    key = (url, timeout, os.getpid())
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            if url.startswith("sqlite"):
                engine = _sqlite_engine(url, timeout)
            else:
                engine = sa.create_engine(
                    url, pool_pre_ping=True, connect_args={"connect_timeout": int(timeout)}
                )
            _ENGINES[key] = engine
        return engine


def _migrate(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two servers starting on an empty database must not both create the tables.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7160255316)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class _Conflict(SetupError):
    """A write that lost a race to a concurrent one (a unique key taken meanwhile)."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes back; they were written in UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class SetupStore:
    """Saved setups with owners and readers, and each user's working setup.

    Parameters
    ----------
    url : str or path, optional
        A SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://user:pw@host/db``), or a
        SQLite file or folder; default :func:`database_url`.

    Notes
    -----
    Nothing touches the database until the first call; :func:`open_store` opens it at once
    (and raises there when it cannot). Methods take ``user=None`` for local mode
    (:data:`LOCAL_USER`). ``setup_id_or_name`` arguments accept an id, or a name: the user's
    own setup of that name, else the one setup of that name shared with them.

    The positional ``defaults`` and ``current`` arguments are those of
    :func:`core.setups.to_jsonable` / :func:`core.setups.from_jsonable` (the app passes
    ``ui.state.DEFAULTS``); without ``defaults`` every key of the setup is kept, and every key
    saved is loaded back (values still checked by :data:`core.setups.RULES`).
    """

    #: Seconds to wait for another session's write (SQLite) or for the server (PostgreSQL).
    TIMEOUT = 10.0
    #: Attempts of a save that loses a race on a new name to a concurrent save.
    RETRIES = 5

    def __init__(self, url: str | os.PathLike[str] | None = None) -> None:
        self.url = database_url(url)
        self.dialect = sa.engine.make_url(self.url).get_backend_name()
        database = sa.engine.make_url(self.url).database
        #: The SQLite file (None for a server database or an in-memory one).
        self.path: Path | None = (
            Path(database) if self.dialect == "sqlite" and database not in (None, "", ":memory:")
            else None
        )  # fmt: skip

    # --- plumbing ---------------------------------------------------------------------------

    def open(self) -> SetupStore:
        """Connect and bring the schema up to date (once per process).

        Returns
        -------
        SetupStore
            self.

        Raises
        ------
        SetupError
            If the database cannot be reached, created or upgraded, or is not a Ballast store.
        """
        self._connected()
        return self

    def close(self) -> None:
        """Close this process's connections to the database (they reopen on the next call)."""
        with _LOCK:
            for key in [k for k in _ENGINES if k[0] == self.url and k[2] == os.getpid()]:
                _ENGINES.pop(key).dispose()
            _MIGRATED.discard((self.url, os.getpid()))

    def _connected(self) -> Engine:
        key = (self.url, os.getpid())
        if self.path is not None and not self.path.exists():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise SetupError(
                    f"Cannot create the folder for saved setups ({error.strerror or 'error'}); "
                    "ask the administrator to check the data folder (BALLAST_DATA_DIR)."
                ) from None
        engine = _engine(self.url, self.TIMEOUT)
        if key not in _MIGRATED:
            with self._errors():
                try:
                    _migrate(engine)
                except exc.SQLAlchemyError:
                    raise
                except Exception as error:  # Alembic's own: an unknown revision, a table in the way
                    raise self._unknown_schema(error) from None
            _MIGRATED.add(key)
        return engine

    def _unknown_schema(self, error: Exception) -> SetupError:
        log.warning("saved-setups store cannot be upgraded: %s", error)
        if "Can't locate revision" in str(error) or "No such revision" in str(error):
            return SetupError(
                "The saved setups were written by a newer version of Ballast; update Ballast to "
                "use them (nothing was changed)."
            )
        return SetupError(
            "The saved setups database holds tables Ballast does not know, so it was left as "
            "it was; ask the administrator to point BALLAST_DATABASE_URL at a database of its "
            "own."
        )

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except exc.IntegrityError as error:
            if "not a database" in str(error):
                raise self._damaged(error) from None
            raise _Conflict("Another save of the same name happened at the same time; try "
                            "again.") from error  # fmt: skip
        except exc.SQLAlchemyError as error:
            raise self._damaged(error) from None

    def _damaged(self, error: Exception) -> SetupError:
        orig = getattr(error, "orig", None)
        # The server's own message may name hosts, users or files: log it for the
        # administrator, show the user what to do.
        log.warning("saved-setups store error: %s", error)
        if self.dialect != "sqlite":
            if isinstance(error, exc.OperationalError | exc.InterfaceError):
                return SetupError(
                    "The saved setups cannot be reached right now (the database server did not "
                    "answer). Try again; if it persists, ask the administrator to check the "
                    "database server."
                )
            return SetupError(
                "The saved setups database refused the request; ask the administrator to check "
                "the database (its log says why)."
            )
        text = str(orig or error).splitlines()[0]
        if "not a database" in text or "malformed" in text or isinstance(
            error, exc.DatabaseError | exc.IntegrityError
        ) and not isinstance(error, exc.OperationalError):
            return SetupError(
                f"The saved setups file is damaged or is not a Ballast setups file ({text}). "
                "Ask the administrator to move it away (or delete it) to start a new one; your "
                "other files are untouched."
            )
        return SetupError(
            f"The saved setups cannot be used right now ({text}). Try again; if it persists, "
            "ask the administrator to check that the data folder is writable and the disk not "
            "full."
        )

    # A test hook: runs inside each write transaction, after the writes and before the commit,
    # with the driver's own connection (sqlite3 or psycopg).
    def _before_commit(self, connection: Any) -> None:
        return None

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        engine = self._connected()
        with self._errors(), engine.connect() as connection:
            connection = connection.execution_options(ballast_read=True)
            with connection.begin():
                yield connection

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        engine = self._connected()
        with self._errors(), engine.connect() as connection:
            with connection.begin():
                yield connection
                self._before_commit(connection.connection.driver_connection)

    # --- identities -------------------------------------------------------------------------

    @staticmethod
    def _user(user: str | None) -> str:
        if user is None:
            return LOCAL_USER
        if not isinstance(user, str) or not user.strip():
            raise AccessDeniedError("Sign in to use saved setups.")
        user = user.strip()
        if len(user) > MAX_USER_LENGTH or user == TEAM:
            raise AccessDeniedError("This sign-in identity cannot own saved setups; ask the "
                                    "administrator.")  # fmt: skip
        return user

    @staticmethod
    def _readers(readers: Iterable[str], owner: str) -> list[str]:
        if isinstance(readers, str):
            readers = [readers]
        out: list[str] = []
        for reader in readers:
            if not isinstance(reader, str) or not reader.strip():
                raise SetupError("Name each reader (a colleague's sign-in, or 'team').")
            reader = reader.strip()
            if len(reader) > MAX_USER_LENGTH:
                raise SetupError(f"A reader's name has at most {MAX_USER_LENGTH} characters.")
            if reader != owner and reader not in out:
                out.append(reader)
        if len(out) > MAX_READERS:
            raise SetupError(f"A setup can be shared with at most {MAX_READERS} readers; share "
                             f"it with {TEAM!r} instead.")  # fmt: skip
        return out

    @staticmethod
    def _clean_name(name: str) -> str:
        return clean_name(name)

    @staticmethod
    def _visible(user: str) -> sa.ColumnElement[bool]:
        shared = sa.select(readers_table.c.setup_id).where(
            readers_table.c.reader.in_([user, TEAM])
        )
        return sa.or_(setups_table.c.owner == user, setups_table.c.id.in_(shared))

    @staticmethod
    def _not_found(key: str) -> AccessDeniedError:
        return AccessDeniedError(
            f"No saved setup is called {key!r} among yours and those shared with you."
        )

    def _find(self, con: Connection, key: str, user: str, *, write: bool,
              lock: bool = False) -> sa.Row:  # fmt: skip
        """The row of ``key`` (id or name) that ``user`` may see; checks write access."""
        if not isinstance(key, str) or not key.strip():
            raise SetupError("Choose a saved setup.")
        t = setups_table
        cols = [t.c.id, t.c.owner, t.c.name, t.c.schema_version, t.c.revision]

        def query(where: sa.ColumnElement[bool]) -> list[sa.Row]:
            stmt = sa.select(*cols).where(where, self._visible(user))
            if lock and con.dialect.name == "postgresql":
                stmt = stmt.with_for_update(of=t)
            return list(con.execute(stmt))

        rows = query(t.c.id == key) if _ID.match(key) else []
        if not rows:
            rows = query(sa.and_(t.c.name == key, t.c.owner == user))
        if not rows:
            rows = query(t.c.name == key)
            if len(rows) > 1:
                raise SetupError(f"Several setups shared with you are called {key!r}; open the "
                                 "one you mean by its link.")  # fmt: skip
        if not rows:
            raise self._not_found(key)
        row = rows[0]
        if write and row.owner != user:
            raise ReadOnlySetupError(
                f"The setup {row.name!r} is shared with you read-only: save it under a name of "
                "your own to change it."
            )
        return row

    # --- saved setups -----------------------------------------------------------------------

    def list(self, user: str | None = None) -> list[SetupInfo]:
        """The user's setups and those shared with them, most recently saved first.

        Parameters
        ----------
        user : str, optional
            The acting user; None for local mode.

        Returns
        -------
        list of SetupInfo

        Raises
        ------
        SetupError
            If the store cannot be used (damaged file, unreachable server).
        """
        user = self._user(user)
        t = setups_table
        with self._read() as con:
            rows = list(con.execute(
                sa.select(t.c.id, t.c.name, t.c.owner, t.c.created_at, t.c.updated_at,
                          t.c.revision, t.c.schema_version, t.c.data_fingerprint)
                .where(self._visible(user))
            ))  # fmt: skip
            mine = [r.id for r in rows if r.owner == user]
            readers: dict[str, list[str]] = {}
            if mine:
                for setup_id, reader in con.execute(
                    sa.select(readers_table.c.setup_id, readers_table.c.reader)
                    .where(readers_table.c.setup_id.in_(mine))
                    .order_by(readers_table.c.reader)
                ):  # fmt: skip
                    readers.setdefault(setup_id, []).append(reader)
        infos = [
            SetupInfo(r.id, r.name, r.owner, tuple(readers.get(r.id, ())), _utc(r.created_at),
                      _utc(r.updated_at), int(r.revision), int(r.schema_version),
                      r.data_fingerprint, r.owner == user)  # fmt: skip
            for r in rows
        ]
        return sorted(infos, key=lambda i: (i.updated_at, i.name), reverse=True)

    def names(self, user: str | None = None) -> list[str]:
        """Names of :meth:`list`, most recently saved first."""
        return [info.name for info in self.list(user)]

    def info(self, setup_id_or_name: str, *, user: str | None = None) -> SetupInfo:
        """One setup's :class:`SetupInfo`.

        Raises
        ------
        AccessDeniedError
            If the user may not see it (or it does not exist).
        """
        user = self._user(user)
        with self._read() as con:
            row = self._find(con, setup_id_or_name, user, write=False)
        for info in self.list(user):
            if info.id == row.id:
                return info
        raise self._not_found(setup_id_or_name)  # deleted in between

    def save(
        self,
        name: str,
        setup: Mapping[str, Any],
        defaults: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        readers: Iterable[str] | None = None,
        overwrite: bool = False,
        record: reproducibility.Record | None = None,
    ) -> SetupInfo:
        """Save a setup under a name of the user's.

        Parameters
        ----------
        name : str
            Name (spaces collapsed; at most :data:`~core.setups.MAX_NAME_LENGTH` characters),
            unique among the user's setups (others may use it too).
        setup : mapping
            Setup values.
        defaults : mapping, optional
            The setup keys and their defaults (which keys are saved); default the setup's keys.
        user : str, optional
            The owner; None for local mode.
        readers : iterable of str, optional
            Who may open it besides the owner (users, or :data:`TEAM`); None keeps the readers
            of the setup it replaces (none for a new one).
        overwrite : bool
            Replace the user's setup of the same name (its id stays, its revision goes up);
            when False such a setup makes this raise.
        record : Record, optional
            Reproducibility record (:func:`core.reproducibility.capture`); the versions are
            recorded even without it.

        Returns
        -------
        SetupInfo

        Raises
        ------
        SetupError
            On an empty or too long name, a name the user has and ``overwrite`` False, a value
            JSON cannot hold or its rule rejects (it could not be loaded back), a store that
            cannot be used.
        AccessDeniedError
            If the user cannot own setups.
        """
        owner = self._user(user)
        name = self._clean_name(name)
        keys = dict(setup) if defaults is None else defaults
        envelope = to_jsonable(setup, keys)
        from_jsonable(json.loads(json.dumps(envelope)), keys, setup)  # loads back, or raises
        payload = json.loads(json.dumps(envelope, allow_nan=False))
        chosen = None if readers is None else self._readers(readers, owner)
        record = record or reproducibility.capture()
        values = {
            "schema_version": SCHEMA_VERSION,
            "payload": payload,
            "versions": record.versions,
            "data_fingerprint": record.fingerprint,
            "data_summary": record.data,
            "key_figures": record.key_figures or None,
        }
        for attempt in range(self.RETRIES):
            try:
                setup_id = self._save_once(owner, name, values, chosen, overwrite)
                break
            except _Conflict:
                # A concurrent save created the same name between our look-up and insert
                # (PostgreSQL; SQLite writers are serialised): look again.
                if attempt == self.RETRIES - 1:
                    raise
        return self.info(setup_id, user=owner)

    def _save_once(self, owner: str, name: str, values: dict[str, Any],
                   readers: list[str] | None, overwrite: bool) -> str:  # fmt: skip
        t = setups_table
        now = _utcnow()
        with self._write() as con:
            stmt = sa.select(t.c.id).where(t.c.owner == owner, t.c.name == name)
            if con.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            existing = con.execute(stmt).scalar()
            if existing is not None and not overwrite:
                raise SetupError(f"You have a setup called {name!r} already; choose another "
                                 "name, or replace it.")  # fmt: skip
            if existing is None:
                setup_id = new_id()
                con.execute(t.insert().values(id=setup_id, owner=owner, name=name,
                                              created_at=now, updated_at=now, revision=1,
                                              **values))  # fmt: skip
            else:
                setup_id = existing
                con.execute(t.update().where(t.c.id == setup_id)
                            .values(updated_at=now, revision=t.c.revision + 1, **values))
            if readers is not None:
                self._set_readers(con, setup_id, readers)
        return setup_id

    @staticmethod
    def _set_readers(con: Connection, setup_id: str, readers: list[str]) -> None:
        con.execute(readers_table.delete().where(readers_table.c.setup_id == setup_id))
        if readers:
            con.execute(readers_table.insert(),
                        [{"setup_id": setup_id, "reader": r} for r in readers])  # fmt: skip

    def _payload(self, setup_id_or_name: str, user: str) -> tuple[sa.Row, Any]:
        t = setups_table
        with self._read() as con:
            row = self._find(con, setup_id_or_name, user, write=False)
            try:
                payload = con.execute(sa.select(t.c.payload).where(t.c.id == row.id)).scalar()
            except (json.JSONDecodeError, TypeError, ValueError):
                raise SetupError(f"The saved setup {row.name!r} is damaged; delete it.") from None
        return row, payload

    def load(
        self,
        setup_id_or_name: str,
        defaults: Mapping[str, Any] | None = None,
        current: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Load a setup the user owns or that is shared with them.

        Parameters
        ----------
        setup_id_or_name : str
            Its id or name.
        defaults : mapping, optional
            The setup keys and their defaults; keys added since it was saved take their
            default. Default: the keys it was saved with.
        current : mapping, optional
            The setup in use (see :func:`core.setups.from_jsonable`).
        user : str, optional
            The acting user; None for local mode.

        Returns
        -------
        dict

        Raises
        ------
        AccessDeniedError
            If the user may not open it (or it does not exist).
        SetupError
            If it was saved by a newer Ballast, its record is damaged or it holds settings
            this version does not know (named).
        """
        user = self._user(user)
        row, payload = self._payload(setup_id_or_name, user)
        return self._decode(row.name, row.schema_version, payload, defaults, current)

    @staticmethod
    def _decode(name: str, version: int, payload: Any, defaults: Mapping[str, Any] | None,
                current: Mapping[str, Any] | None) -> dict[str, Any]:  # fmt: skip
        if int(version) > SCHEMA_VERSION:
            raise SetupError(
                f"The setup {name!r} was saved by a newer version of Ballast (schema "
                f"{version}; this one reads up to {SCHEMA_VERSION}). Update Ballast to open it."
            )
        if isinstance(payload, str):  # a JSON string inside the JSON column (hand-made)
            try:
                payload = json.loads(payload)
            except json.JSONDecodeError:
                payload = None
        if not isinstance(payload, Mapping) or not isinstance(payload.get("setup"), Mapping):
            raise SetupError(f"The saved setup {name!r} is damaged; delete it.")
        keys = dict.fromkeys(payload["setup"]) if defaults is None else defaults
        return from_jsonable(payload, keys, current)

    def record(self, setup_id_or_name: str, *, user: str | None = None
               ) -> reproducibility.Record:  # fmt: skip
        """The reproducibility record kept with a setup at its last save.

        Raises
        ------
        AccessDeniedError
            If the user may not open it (or it does not exist).
        """
        user = self._user(user)
        t = setups_table
        with self._read() as con:
            row = self._find(con, setup_id_or_name, user, write=False)
            rec = con.execute(sa.select(t.c.versions, t.c.data_summary, t.c.key_figures,
                                        t.c.updated_at).where(t.c.id == row.id)).one()  # fmt: skip
        return reproducibility.Record(
            dict(rec.versions or {}), rec.data_summary, dict(rec.key_figures or {}),
            _utc(rec.updated_at),
        )

    def rename(self, setup_id_or_name: str, new: str, *, user: str | None = None) -> str:
        """Rename one of the user's setups.

        Returns
        -------
        str
            The new name as stored.

        Raises
        ------
        AccessDeniedError
            If it is not the user's (:class:`ReadOnlySetupError` when shared with them).
        SetupError
            If ``new`` is one of the user's names already, empty or too long.
        """
        user = self._user(user)
        new = self._clean_name(new)
        t = setups_table
        with self._write() as con:
            row = self._find(con, setup_id_or_name, user, write=True, lock=True)
            taken = con.execute(sa.select(t.c.id).where(t.c.owner == user, t.c.name == new,
                                                        t.c.id != row.id)).first()  # fmt: skip
            if taken:
                raise SetupError(f"A setup called {new!r} exists already; choose another name.")
            con.execute(t.update().where(t.c.id == row.id).values(name=new))
        return new

    def share(self, setup_id: str, *, user: str | None = None,
              readers: Iterable[str] = ()) -> SetupInfo:  # fmt: skip
        """Set who may open one of the user's setups (read-only), replacing the previous list.

        Parameters
        ----------
        setup_id : str
            Its id (or the user's name for it).
        user : str, optional
            Its owner; None for local mode.
        readers : iterable of str
            Users, or :data:`TEAM` for every user of the store; empty makes it private.

        Returns
        -------
        SetupInfo

        Raises
        ------
        AccessDeniedError
            If it is not the user's (:class:`ReadOnlySetupError` when shared with them).
        """
        user = self._user(user)
        chosen = self._readers(readers, user)
        with self._write() as con:
            row = self._find(con, setup_id, user, write=True, lock=True)
            self._set_readers(con, row.id, chosen)
        return self.info(row.id, user=user)

    def delete(self, setup_id: str, *, user: str | None = None) -> None:
        """Delete one of the user's setups.

        Raises
        ------
        AccessDeniedError
            If it is not the user's (:class:`ReadOnlySetupError` when shared with them).
        """
        user = self._user(user)
        with self._write() as con:
            row = self._find(con, setup_id, user, write=True, lock=True)
            con.execute(readers_table.delete().where(readers_table.c.setup_id == row.id))
            con.execute(setups_table.delete().where(setups_table.c.id == row.id))

    # --- the working setup ------------------------------------------------------------------

    def save_working(self, user: str | None, setup: Mapping[str, Any],
                     defaults: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        """Keep the setup the user is working on (one per user, replaced at each call).

        Raises
        ------
        SetupError
            If a value cannot be kept (named) or the store cannot be used.
        """
        owner = self._user(user)
        keys = dict(setup) if defaults is None else defaults
        payload = json.loads(json.dumps(to_jsonable(setup, keys), allow_nan=False))
        w = working_table
        values = {"schema_version": SCHEMA_VERSION, "payload": payload, "updated_at": _utcnow()}
        for attempt in range(self.RETRIES):
            try:
                with self._write() as con:
                    done = con.execute(w.update().where(w.c.owner == owner).values(**values))
                    if done.rowcount == 0:
                        con.execute(w.insert().values(owner=owner, **values))
                return
            except _Conflict:
                if attempt == self.RETRIES - 1:
                    raise

    def load_working(
        self,
        user: str | None,
        defaults: Mapping[str, Any] | None = None,
        current: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """The user's working setup, None if they have none.

        Raises
        ------
        SetupError
            If it is damaged, from a newer Ballast, or holds values that cannot be used.
        """
        owner = self._user(user)
        w = working_table
        with self._read() as con:
            row = con.execute(sa.select(w.c.schema_version, w.c.payload)
                              .where(w.c.owner == owner)).first()  # fmt: skip
        if row is None:
            return None
        return self._decode("in progress", row.schema_version, row.payload, defaults, current)

    # --- taking over a file of Ballast 0.1 --------------------------------------------------

    def import_legacy(self, path: str | os.PathLike[str], *, owner: str | None = None) -> int:
        """Copy every setup of a Ballast 0.1 ``setups.sqlite3`` file into this store.

        The file is left as it was (it is migrated in a temporary copy). A name the owner has
        already gets `` (imported)`` appended.

        Parameters
        ----------
        path : path
            The old file.
        owner : str, optional
            Who owns the copies; default :data:`LOCAL_USER`.

        Returns
        -------
        int
            How many setups were copied.

        Raises
        ------
        SetupError
            If the file is not a Ballast setups file.
        """
        owner = self._user(owner)
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / FILENAME
            try:
                shutil.copyfile(path, copy)
            except OSError:
                raise SetupError("The old setups file cannot be read.") from None
            old = SetupStore(copy)
            t = setups_table
            with old._read() as con:
                rows = [dict(r._mapping) for r in con.execute(sa.select(t))]
            old.close()
        with self._write() as con:
            names = set(con.execute(sa.select(t.c.name).where(t.c.owner == owner)).scalars())
            for row in rows:
                name = row["name"]
                while name in names:
                    name = self._clean_name(f"{name[: MAX_NAME_LENGTH - 11]} (imported)")
                names.add(name)
                con.execute(t.insert().values({**row, "id": new_id(), "owner": owner,
                                               "name": name}))  # fmt: skip
        return len(rows)


def open_store(url: str | os.PathLike[str] | None = None) -> SetupStore:
    """Open the saved-setups store, creating or upgrading its schema.

    Parameters
    ----------
    url : str or path, optional
        See :func:`database_url`; default ``$BALLAST_DATABASE_URL``, else the SQLite file in
        the user data folder.

    Returns
    -------
    SetupStore

    Raises
    ------
    SetupError
        If the database cannot be reached, created or upgraded (the message says what to do,
        never where the database is).
    """
    return SetupStore(url).open()
