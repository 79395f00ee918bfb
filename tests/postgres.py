"""A throwaway PostgreSQL cluster for tests: initdb in a temporary folder, 127.0.0.1, dropped after.

Uses Debian's ``postgresql`` package (``/usr/lib/postgresql/<version>/bin``). PostgreSQL
refuses to run as root, so as root the cluster is owned by the ``postgres`` user the package
creates (commands run through ``runuser``). Outside CI a machine without PostgreSQL skips the
tests that need it; under ``CI=true`` it is a failure (``.ci/run`` installs the package).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def binaries() -> Path | None:
    """The newest PostgreSQL server binaries folder, None when PostgreSQL is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def missing(reason: str) -> None:
    """Skip with the reason, or fail under CI (where PostgreSQL must be installed)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running cluster; :meth:`new_database` gives each test its own database."""

    def __init__(self, folder: Path, port: int, bindir: Path, run_as: str | None) -> None:
        self.folder, self.port, self.bindir, self.run_as = folder, port, bindir, run_as

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of a database of the cluster (psycopg 3, trust authentication)."""
        return f"postgresql+psycopg://ballast@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host="127.0.0.1", port=self.port, user="ballast",
                             dbname="postgres", autocommit=True) as con:  # fmt: skip
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run(cmd: list[str], run_as: str | None, **kwargs) -> subprocess.CompletedProcess:
    if run_as:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a cluster in a temporary folder; stop it and delete the folder afterwards."""
    bindir = binaries()
    if bindir is None:
        missing("PostgreSQL is not installed (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg is not installed (pip install -r requirements.txt)")
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root and there is no 'postgres' user to own the cluster")
        run_as = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="ballast-pg-"))
    if run_as:
        shutil.chown(folder, run_as)
    data = folder / "data"
    port = _free_port()
    done = _run([str(bindir / "initdb"), "-D", str(data), "-U", "ballast", "--auth=trust",
                 "-E", "UTF8", "--locale=C"], run_as)  # fmt: skip
    if done.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed: {done.stderr[-2000:]}")
    options = f"-h 127.0.0.1 -p {port} -k {folder} -F -c max_connections=200"
    done = _run([str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                 "-l", str(folder / "log"), "-w", "-t", "60", "start"], run_as)  # fmt: skip
    if done.returncode:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {done.stderr[-1000:]} {log[-2000:]}")
    try:
        deadline = time.monotonic() + 30
        while True:  # -w waits for the socket; make sure TCP answers too
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Cluster(folder, port, bindir, run_as)
    finally:
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], run_as)
        shutil.rmtree(folder, ignore_errors=True)
