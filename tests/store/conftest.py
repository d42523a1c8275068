"""Store fixtures: every `store` test runs on SQLite (a file) and on a real PostgreSQL 15 server.

The server is started once per session from /usr/lib/postgresql/15/bin (as the `postgres` user when
running as root: initdb refuses root) on a free loopback port, and each test gets a new database.
Without the binaries the PostgreSQL cases are skipped, saying so.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from punchbridge.store import Store

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    initdb, pg_ctl = PG_BIN / "initdb", PG_BIN / "pg_ctl"
    if not (initdb.exists() and pg_ctl.exists()):
        pytest.skip(f"PostgreSQL 15 server binaries not found in {PG_BIN} (apt-get install postgresql-15)")
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run initdb as")
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
            pytest.fail(f"PostgreSQL did not start: {done.stdout}{done.stderr}\n{server_log}")
        started = True
        server = PostgresServer(port)
        yield server
        server.dispose()
    finally:
        if started:
            subprocess.run([*as_user, str(pg_ctl), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty store: a SQLite file, or a new database on the session's server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An opened (migrated) store on each database."""
    opened = Store.open(store_url)
    yield opened
    opened.close()
