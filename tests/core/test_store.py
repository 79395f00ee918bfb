"""The setups store on SQLite and PostgreSQL: ownership, sharing, concurrency, crashes, migration.

Every test runs on both backends: a SQLite file in a temporary folder, and a database of a
throwaway PostgreSQL cluster (``tests/postgres.py``: initdb in a temporary folder, 127.0.0.1,
dropped after the session). Processes in the concurrency and crash tests are real processes.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.exceptions import AccessDeniedError, ReadOnlySetupError, SetupError
from core.setups import SQLiteRecordFile, from_jsonable
from core.store import LOCAL_USER, TEAM, SetupStore, open_store
from tests import postgres

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "tests" / "core" / "data" / "setups_v1.sqlite3"

DEFAULTS = {"capital": 100_000.0, "start": None, "universe": None, "max_weight": 1.0,
            "asset_bounds": {}, "data_source": {"kind": "sample"}}  # fmt: skip
SETUP = {"capital": 50_000.0, "start": dt.date(2019, 1, 2), "universe": ["AAPL", "MSFT"],
         "max_weight": 0.3, "asset_bounds": {"AAPL": (0.1, 0.5)},
         "data_source": {"kind": "sample"}}  # fmt: skip
CURRENT = {"start": dt.date(2020, 1, 1), "universe": ["X"]}


@pytest.fixture(scope="session")
def pg_cluster():
    with postgres.cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """A fresh, empty store's URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'setups.sqlite3'}"
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture
def store(url):
    the_store = open_store(url)
    yield the_store
    the_store.close()


# --- ownership and sharing -------------------------------------------------------------------


def test_ownership_is_enforced_on_every_operation(store):
    mine = store.save("Private", SETUP, DEFAULTS, user="alice@desk")
    assert (mine.owner, mine.mine, mine.revision, mine.readers) == ("alice@desk", True, 1, ())
    assert store.load(mine.id, DEFAULTS, CURRENT, user="alice@desk") == SETUP
    assert store.load("Private", DEFAULTS, CURRENT, user="alice@desk") == SETUP

    for user in ("bob@desk", None, LOCAL_USER):
        assert store.list(user) == []
        for key in (mine.id, "Private"):
            operations = [
                lambda k=key, u=user: store.load(k, DEFAULTS, user=u),
                lambda k=key, u=user: store.info(k, user=u),
                lambda k=key, u=user: store.record(k, user=u),
                lambda k=key, u=user: store.rename(k, "Taken over", user=u),
                lambda k=key, u=user: store.share(k, user=u, readers=[u or TEAM]),
                lambda k=key, u=user: store.delete(k, user=u),
            ]
            for operation in operations:
                with pytest.raises(AccessDeniedError) as refused:
                    operation()
                # The same words as for a setup that does not exist: nothing leaks.
                assert str(refused.value) == (f"No saved setup is called {key!r} among yours "
                                              "and those shared with you.")  # fmt: skip
                assert "alice" not in str(refused.value)
    with pytest.raises(AccessDeniedError) as nothing:
        store.load("0123456789abcdef", user="bob@desk")
    assert type(nothing.value) is AccessDeniedError

    # Bob's own setup of the same name is his; Alice's is untouched.
    his = store.save("Private", {**SETUP, "capital": 1.0}, DEFAULTS, user="bob@desk")
    assert his.id != mine.id and store.names("bob@desk") == ["Private"]
    store.delete("Private", user="bob@desk")
    assert store.load(mine.id, DEFAULTS, CURRENT, user="alice@desk") == SETUP
    assert store.info(mine.id, user="alice@desk").revision == 1

    # Working setups are per user too.
    store.save_working("alice@desk", SETUP, DEFAULTS)
    assert store.load_working("bob@desk", DEFAULTS) is None
    assert store.load_working(None, DEFAULTS) is None
    assert store.load_working("alice@desk", DEFAULTS, CURRENT) == SETUP
    store.save_working("alice@desk", {**SETUP, "capital": 2.0}, DEFAULTS)
    assert store.load_working("alice@desk", DEFAULTS, CURRENT)["capital"] == 2.0

    with pytest.raises(AccessDeniedError, match="Sign in"):
        store.list("  ")
    with pytest.raises(AccessDeniedError):
        store.save("x", SETUP, user=TEAM)  # 'team' names readers, never an owner


def test_sharing_is_read_only(store):
    shared = store.save("Desk view", SETUP, DEFAULTS, user="alice@desk",
                        readers=["bob@desk", " bob@desk", "alice@desk"])  # fmt: skip
    assert shared.readers == ("bob@desk",)  # cleaned: no duplicates, not the owner
    store.save("Alice only", SETUP, DEFAULTS, user="alice@desk")

    [seen] = store.list("bob@desk")
    assert (seen.id, seen.mine, seen.owner, seen.readers) == (shared.id, False, "alice@desk", ())
    assert store.load("Desk view", DEFAULTS, CURRENT, user="bob@desk") == SETUP
    assert store.load(shared.id, DEFAULTS, CURRENT, user="bob@desk") == SETUP
    assert store.record(shared.id, user="bob@desk").versions["ballast"]
    assert store.list("carol@desk") == []

    for operation in (
        lambda: store.rename(shared.id, "Mine now", user="bob@desk"),
        lambda: store.share(shared.id, user="bob@desk", readers=[TEAM]),
        lambda: store.delete(shared.id, user="bob@desk"),
        lambda: store.delete("Desk view", user="bob@desk"),
    ):
        with pytest.raises(ReadOnlySetupError, match="shared with you read-only"):
            operation()
    # Overwriting by name makes Bob his own copy; Alice's stays as it was.
    copy = store.save("Desk view", {**SETUP, "capital": 9.0}, DEFAULTS, user="bob@desk",
                      overwrite=True)  # fmt: skip
    assert copy.id != shared.id and copy.owner == "bob@desk"
    assert store.load("Desk view", DEFAULTS, CURRENT, user="bob@desk")["capital"] == 9.0  # his
    assert store.load(shared.id, DEFAULTS, CURRENT, user="bob@desk") == SETUP
    after = store.info(shared.id, user="alice@desk")
    assert (after.revision, after.updated_at) == (shared.revision, shared.updated_at)

    # Whole team; then private again.
    store.share(shared.id, user="alice@desk", readers=[TEAM])
    assert [i.id for i in store.list("carol@desk")] == [shared.id]
    assert store.load(shared.id, DEFAULTS, user="carol@desk")["capital"] == SETUP["capital"]
    store.share(shared.id, user="alice@desk", readers=[])
    assert store.list("carol@desk") == []
    with pytest.raises(AccessDeniedError):
        store.load(shared.id, user="bob@desk")
    # Overwriting keeps the readers unless new ones are given.
    store.share(shared.id, user="alice@desk", readers=["bob@desk"])
    again = store.save("Desk view", SETUP, DEFAULTS, user="alice@desk", overwrite=True)
    assert (again.id, again.revision, again.readers) == (shared.id, 2, ("bob@desk",))


def test_names_ids_and_errors(store):
    with pytest.raises(SetupError, match="Give the setup a name"):
        store.save("  ", SETUP)
    first = store.save("  Max   Sharpe ", SETUP)
    assert first.name == "Max Sharpe" and first.owner == LOCAL_USER
    with pytest.raises(SetupError, match="You have a setup called 'Max Sharpe' already"):
        store.save("Max Sharpe", SETUP)
    store.save("Other", SETUP)
    with pytest.raises(SetupError, match="exists already"):
        store.rename(first.id, "Other")
    assert store.rename(first.id, "Tangency") == "Tangency"
    assert store.info(first.id).name == "Tangency"
    assert store.load("Tangency") == {**SETUP}  # without defaults: the keys it was saved with
    with pytest.raises(SetupError, match="not a finite number"):
        store.save("nan", {"capital": float("nan")})


# --- concurrency ------------------------------------------------------------------------------

WORKERS, SAVES = 4, 8


def _save_many(url: str, worker: int, barrier) -> None:
    store = SetupStore(url)  # a fresh store: the processes also race to create the schema
    barrier.wait(timeout=60)
    for i in range(SAVES):
        store.save(f"w{worker}-{i}", {**SETUP, "capital": 1.0 + worker * 100 + i}, DEFAULTS,
                   user="alice@desk")  # fmt: skip
        store.save("Common", {**SETUP, "capital": float(1 + i)}, DEFAULTS, user="alice@desk",
                   overwrite=True)  # fmt: skip
        store.save_working(f"user{worker}", {**SETUP, "capital": float(1 + i)}, DEFAULTS)


def test_concurrent_saves_from_several_processes_lose_nothing(url):
    # Forked, not spawned: a child that imports Ballast afresh spends seconds doing it. Each
    # child opens its own connections (the store's engines are per process id).
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(WORKERS)
    procs = [ctx.Process(target=_save_many, args=(url, w, barrier)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    store = SetupStore(url)
    infos = {i.name: i for i in store.list("alice@desk")}
    assert set(infos) == {f"w{w}-{i}" for w in range(WORKERS) for i in range(SAVES)} | {"Common"}
    for w in range(WORKERS):
        for i in range(SAVES):
            loaded = store.load(f"w{w}-{i}", DEFAULTS, CURRENT, user="alice@desk")
            assert loaded["capital"] == 1 + w * 100 + i
        assert store.load_working(f"user{w}", DEFAULTS, CURRENT)["capital"] == SAVES
    # Every overwrite of the common setup counted: one creation, the rest revisions.
    assert infos["Common"].revision == WORKERS * SAVES
    store.close()


# --- crashes ----------------------------------------------------------------------------------


def test_an_exception_inside_the_transaction_keeps_the_previous_version(store, monkeypatch):
    saved = store.save("Mine", SETUP, DEFAULTS)
    store.save_working(None, SETUP, DEFAULTS)

    def power_cut(connection):
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "_before_commit", power_cut)
    for write in (
        lambda: store.save("Mine", {**SETUP, "capital": 1.0}, DEFAULTS, overwrite=True),
        lambda: store.save("New", SETUP, DEFAULTS),
        lambda: store.rename("Mine", "Renamed"),
        lambda: store.share("Mine", readers=[TEAM]),
        lambda: store.delete("Mine"),
        lambda: store.save_working(None, {**SETUP, "capital": 1.0}, DEFAULTS),
    ):
        with pytest.raises(RuntimeError, match="power cut"):
            write()
    monkeypatch.undo()
    assert store.names() == ["Mine"]
    info = store.info("Mine")
    assert (info.id, info.revision, info.readers) == (saved.id, 1, ())
    assert store.load("Mine", DEFAULTS, CURRENT) == SETUP
    assert store.load_working(None, DEFAULTS, CURRENT) == SETUP


def test_a_process_killed_mid_write_leaves_the_previous_version(store, url):
    saved = store.save("Mine", SETUP, DEFAULTS)
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
from core.store import SetupStore
store = SetupStore({url!r})
def die(connection):
    # The new version is written inside the open transaction: the process dies now, with no
    # rollback and no cleanup.
    os.kill(os.getpid(), signal.SIGKILL)
store._before_commit = die
store.save("Mine", {{"capital": 1.0}}, {{"capital": 0.0}}, overwrite=True)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    info = store.info("Mine")
    assert (info.revision, info.updated_at) == (saved.revision, saved.updated_at)
    assert store.load("Mine", DEFAULTS, CURRENT) == SETUP
    store.save("Mine", {**SETUP, "capital": 3.0}, DEFAULTS, overwrite=True)  # no lock left
    assert store.load("Mine", DEFAULTS, CURRENT)["capital"] == 3.0
    if store.path is not None:
        with sqlite3.connect(store.path) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- migration from Ballast 0.1 files ---------------------------------------------------------


def _legacy_rows(path: Path) -> dict[str, tuple[str, dict]]:
    with sqlite3.connect(path) as con:
        return {name: (saved_at, json.loads(payload))
                for name, saved_at, payload in con.execute("SELECT name, saved_at, payload "
                                                           "FROM setups")}  # fmt: skip


def _old_format_file(folder: Path) -> Path:
    """A 0.1 file written by the 0.1 code (the shipped one), plus setups the same code adds."""
    from ui.state import DEFAULTS as APP_DEFAULTS

    path = folder / "setups.sqlite3"
    shutil.copyfile(LEGACY, path)
    old = SQLiteRecordFile(path)  # Ballast 0.1's store, kept for working sessions
    for i in range(25):
        old.save(f"Setup {i:02d}", {**APP_DEFAULTS, "capital": 1000.0 * (i + 1),
                                    "start": dt.date(2015, 1, 2) + dt.timedelta(days=i)},
                 APP_DEFAULTS)  # fmt: skip
    return path


def _expected(rows, defaults):
    return {name: from_jsonable(payload, defaults) for name, (_, payload) in rows.items()}


def test_migration_keeps_every_setup_of_an_old_sqlite_file(tmp_path):
    from ui.state import DEFAULTS as APP_DEFAULTS

    path = _old_format_file(tmp_path)
    rows = _legacy_rows(path)
    assert len(rows) == 29
    store = open_store(path)  # the same file, upgraded in place
    infos = {i.name: i for i in store.list(None)}
    assert set(infos) == set(rows)
    for name, (saved_at, _) in rows.items():
        info = infos[name]
        assert info.owner == LOCAL_USER and info.revision == 1 and info.readers == ()
        assert info.updated_at == info.created_at == dt.datetime.fromisoformat(saved_at)
    expected = _expected(rows, APP_DEFAULTS)
    for name in rows:
        assert store.load(name, APP_DEFAULTS) == expected[name], name
    with sqlite3.connect(path) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"setups", "setup_readers", "working_setups", "alembic_version"} <= tables
    store.close()
    assert {i.name for i in open_store(path).list()} == set(rows)  # opening again changes nothing


def test_legacy_file_imported_into_each_backend_keeps_every_setup(store, tmp_path):
    from ui.state import DEFAULTS as APP_DEFAULTS

    (tmp_path / "old").mkdir()
    path = _old_format_file(tmp_path / "old")
    rows = _legacy_rows(path)
    before = path.read_bytes()
    store.save("Default", SETUP, DEFAULTS, user="alice@desk")
    assert store.import_legacy(path, owner="alice@desk") == len(rows)
    assert path.read_bytes() == before  # the old file is left as it was
    names = set(store.names("alice@desk"))
    assert names == (set(rows) - {"Default"}) | {"Default", "Default (imported)"}
    expected = _expected(rows, APP_DEFAULTS)
    for name in rows:
        stored = "Default (imported)" if name == "Default" else name
        assert store.load(stored, APP_DEFAULTS, user="alice@desk") == expected[name]
    assert store.list("bob@desk") == []


def test_a_damaged_record_of_an_old_file_is_kept_and_named(tmp_path):
    path = tmp_path / "setups.sqlite3"
    old = SQLiteRecordFile(path)
    old.save("fine", SETUP, DEFAULTS)
    with sqlite3.connect(path) as con:
        con.execute("INSERT INTO setups VALUES ('broken', 1, ?, '{not json')",
                    (dt.datetime.now(dt.UTC).isoformat(),))  # fmt: skip
    store = open_store(path)
    assert set(store.names()) == {"fine", "broken"}
    with pytest.raises(SetupError, match="'broken' is damaged"):
        store.load("broken", DEFAULTS)
    assert store.load("fine", DEFAULTS, CURRENT) == SETUP


def test_a_database_of_another_application_or_a_newer_ballast_is_left_alone(url):
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.execute(sa.text("CREATE TABLE setups (id INTEGER PRIMARY KEY, colour TEXT)"))
    with pytest.raises(SetupError, match="tables Ballast does not know"):
        open_store(url)
    with engine.begin() as con:
        assert con.execute(sa.text("SELECT count(*) FROM setups")).scalar() == 0
        con.execute(sa.text("DROP TABLE setups"))
    open_store(url).close()  # now it opens, and is at this version's schema
    with engine.begin() as con:
        con.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    store = SetupStore(url)
    with pytest.raises(SetupError, match="newer version of Ballast"):
        store.list()
    engine.dispose()


def test_an_in_memory_store_works():
    store = open_store("sqlite://")
    store.save("x", SETUP, DEFAULTS)
    assert store.load("x", DEFAULTS, CURRENT) == SETUP


# --- what the user is told --------------------------------------------------------------------


def test_messages_never_name_the_database(tmp_path):
    garbage = tmp_path / "secret-folder" / "setups.sqlite3"
    garbage.parent.mkdir()
    garbage.write_bytes(b"not a database" * 200)
    with pytest.raises(SetupError, match="damaged or is not a Ballast setups file") as bad:
        open_store(garbage)
    assert "secret-folder" not in str(bad.value) and str(tmp_path) not in str(bad.value)
    assert garbage.read_bytes().startswith(b"not a database")

    with postgres_port_closed() as port:
        url = f"postgresql://someone:hunter2@127.0.0.1:{port}/team_db"
        store = SetupStore(url)
        store.TIMEOUT = 2
        with pytest.raises(SetupError, match="cannot be reached right now") as down:
            store.list("alice@desk")
    for secret in ("hunter2", "someone", "127.0.0.1", str(port), "team_db"):
        assert secret not in str(down.value)


class postgres_port_closed:  # noqa: N801  (a context manager used like a function)
    """A local port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


def test_database_url_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BALLAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BALLAST_DATABASE_URL", raising=False)
    assert SetupStore().path == tmp_path / "data" / "setups.sqlite3"
    monkeypatch.setenv("BALLAST_DATABASE_URL", "postgresql://u@db.example/ballast")
    assert SetupStore().url == "postgresql+psycopg://u@db.example/ballast"
    assert SetupStore().path is None
    monkeypatch.setenv("BALLAST_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert SetupStore().path == tmp_path / "x.db"
    assert os.environ["BALLAST_DATA_DIR"]  # untouched
