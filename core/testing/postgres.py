"""A throwaway PostgreSQL server for tests (punchbridge's own and plugin authors'): started from the
machine's PostgreSQL 15 binaries on a free loopback port, one new database per test.

    with running_postgres() as server:          # raises PostgresUnavailableError when it cannot start here
        url = server.create_database()          # postgresql+psycopg://postgres@127.0.0.1:PORT/NAME

As root, initdb runs as the `postgres` user (it refuses root). Durability is switched off (fsync off):
the server is for tests only. A watchdog process stops the server and removes its files when the process
that started it ends in any way, a SIGKILL included (pg_ctl detaches the server, so it would live on).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

__all__ = ["PG_BIN", "PostgresServer", "PostgresUnavailableError", "running_postgres"]


class PostgresUnavailableError(RuntimeError):
    """The server cannot be started on this machine (binaries or the postgres user missing)."""


PG_BIN = Path(os.environ.get("PUNCHBRIDGE_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresServer:
    """A throwaway PostgreSQL server; `create_database()` gives the URL of a new empty database."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def create_database(self) -> str:
        name = f"store_{uuid.uuid4().hex[:16]}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def dispose(self) -> None:
        self._admin.dispose()


#: Run by the watchdog: wait for the end of the pipe from the process that started the server (EOF comes
#: when that process ends, however it ends), then stop the server (argv[1:-1]) and remove its folder.
_WATCHDOG = """
import shutil, subprocess, sys
sys.stdin.buffer.read()
subprocess.run(sys.argv[1:-1], capture_output=True)
shutil.rmtree(sys.argv[-1], ignore_errors=True)
"""


def _watchdog(stop: list[str], base: Path) -> subprocess.Popen[bytes]:
    # Its own session, so that a kill of the test run's process group leaves it to clean up.
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, *stop, str(base)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a server for the duration of the block; stop it and remove its files afterwards."""
    initdb, pg_ctl = PG_BIN / "initdb", PG_BIN / "pg_ctl"
    if not (initdb.exists() and pg_ctl.exists()):
        raise PostgresUnavailableError(
            f"PostgreSQL 15 server binaries not found in {PG_BIN} (apt-get install postgresql-15)"
        )
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailableError("running as root and there is no `postgres` user to run initdb as") from None
        as_user = ["runuser", "-u", "postgres", "--"]
    # A short path (the socket lives here too) that the postgres user owns; not under pytest's
    # tmp folders, which root keeps private.
    base = Path(tempfile.mkdtemp(prefix="pbpg-"))
    data, log = base / "data", base / "server.log"
    if as_user:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    started = False
    try:
        subprocess.run(
            [*as_user, str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        done = subprocess.run(
            [*as_user, str(pg_ctl), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {done.stdout}{done.stderr}\n{server_log}")
        started = True
        watchdog = _watchdog([*as_user, str(pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"], base)
        server = PostgresServer(port)
        try:
            yield server
        finally:
            server.dispose()
    finally:
        if started:
            subprocess.run([*as_user, str(pg_ctl), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
            assert watchdog.stdin is not None
            watchdog.stdin.close()  # the server is stopped: the watchdog finds nothing left to do
            watchdog.wait()
        shutil.rmtree(base, ignore_errors=True)
