"""Connecting to the store's database: URLs, engines, SQLite pragmas, migrations, bulk statements, JSON."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from punchbridge.errors import StoreError

__all__ = [
    "SQLITE_PRAGMAS",
    "bulk_execute",
    "chunks",
    "connect",
    "describe_store",
    "dialect_insert",
    "dumps_json",
    "fetch_rows",
    "migrate",
    "redact_url",
    "transaction",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: Set on every SQLite connection. `cache_size` (64 MiB) keeps the punch indexes' hot pages in
#: memory while a million punches go in.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=FULL",
    "foreign_keys=ON",
    "busy_timeout=30000",
    "cache_size=-65536",
)

#: Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE (take the write lock
#: up front, waiting up to busy_timeout, instead of failing when a read upgrades to a write).
WRITE = "punchbridge_write"

#: pg_advisory_xact_lock key serialising concurrent migrations of one PostgreSQL database.
MIGRATION_LOCK = 0x70756E6368  # "punch"

#: Exceptions that mean "the database said no" (as opposed to a bug in the caller).
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error)
#: ...and what else opening a store can meet (a missing driver, an unreadable file).
OPEN_ERRORS: tuple[type[Exception], ...] = (*DATABASE_ERRORS, OSError, ImportError)

_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^/:@?#]*:)(?P<password>[^@/?#]*)@")
_PASSWORD_IN_QUERY = re.compile(r"(?P<head>[?&]password=)(?P<password>[^&#]*)", re.IGNORECASE)


def redact_url(url: str | URL) -> str:
    """`url` with any password shown as `***` (also when `url` does not parse)."""
    text_url = url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)
    text_url = _PASSWORD_IN_URL.sub(lambda m: f"{m['head']}***@", text_url)
    return _PASSWORD_IN_QUERY.sub(lambda m: f"{m['head']}***", text_url)


def describe_store(url: str) -> str:
    """The redacted URL, and for a SQLite file its absolute path (relative URLs depend on the folder)."""
    shown = redact_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return shown
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:"):
        path = Path(database).expanduser().resolve()
        if str(path) != database:
            return f"{shown} (file {path})"
    return shown


def _secrets(url: str) -> list[str]:
    found = [m["password"] for m in _PASSWORD_IN_URL.finditer(url)]
    found += [m["password"] for m in _PASSWORD_IN_QUERY.finditer(url)]
    return [secret for secret in found if secret and secret != "***"]


def describe_error(exc: BaseException, url: str) -> str:
    """One line about `exc` for a StoreError: the driver's own words, no SQL, no parameters, no password."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        message = str(exc.orig)
    elif isinstance(exc, SQLAlchemyError):
        message = exc.args[0] if exc.args else type(exc).__name__
    else:
        message = str(exc) or type(exc).__name__
    message = " ".join(str(message).split())
    for secret in _secrets(url):
        message = message.replace(secret, "***")
    return message[:500]


def _parse(url: str) -> URL:
    """The SQLAlchemy URL to use: `postgresql://` means psycopg 3; only SQLite and PostgreSQL are supported."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - parse it now (a bad port only fails when read)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"cannot open the store {redact_url(url)}: not a database URL ({exc})") from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    raise StoreError(
        f"cannot open the store {redact_url(url)}: unsupported database {parsed.drivername!r} "
        "(use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE)"
    )


#: Connections beyond the 5 kept open: a sync delivering to `sync.concurrency` targets at once uses
#: one per target at a time, plus on PostgreSQL one per target holding its delivery lock.
_POOL: dict[str, Any] = {"pool_size": 5, "max_overflow": 40}


def connect(url: str) -> Engine:
    """An engine for `url`, with the SQLite pragmas and transaction handling installed (no I/O yet)."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        # An in-memory database has one connection per thread (SingletonThreadPool): no pool to size.
        pool_class = parsed.get_dialect().get_pool_class(parsed)  # type: ignore[attr-defined]  # pysqlite's
        sized = issubclass(pool_class, QueuePool)
        engine = create_engine(parsed, connect_args={"timeout": 30}, **(_POOL if sized else {}))
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = 15
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True, **_POOL)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # The driver must not open transactions on its own: `_sqlite_on_begin` does, with the right mode.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with engine.connect() as connection:
        if write:
            connection.execution_options(**{WRITE: True})
        with connection.begin():
            yield connection


#: The newest migration in `migrations/versions` (a test keeps it equal to Alembic's head).
HEAD_REVISION = "0010"


def _at_head(engine: Engine) -> bool:
    """True when the schema is already current: checked with one query, without importing Alembic."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                HEAD_REVISION
            ]
    except SQLAlchemyError:
        return False  # a new database, or not ours: the full check below says which


def migrate(engine: Engine, progress: Callable[[int, int], None] | None = None) -> None:
    """Bring the database to the newest schema this code knows (nothing to do when it is there).

    `progress(done, total)` is told the revisions applied of those to apply: before the first and
    after each (a large SQLite table rebuilt by a revision can take a while)."""
    if _at_head(engine):
        return
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    heads = set(script.get_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    with transaction(engine, write=True) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        current = set(MigrationContext.configure(connection).get_current_heads())
        if current == heads:
            return
        if current - known:
            raise StoreError(
                f"the store {redact_url(engine.url)} has schema version {', '.join(sorted(current))}, "
                "newer than this punchbridge knows: upgrade punchbridge"
            )
        config.attributes["connection"] = connection
        if progress is not None:
            applied = {r.revision for head in current for r in script.iterate_revisions(head, "base")}
            steps = len(known - applied)
            done = [0]

            def step_applied(**_alembic: Any) -> None:
                done[0] += 1
                progress(done[0], steps)

            progress(0, steps)
            config.attributes["on_version_apply"] = step_applied  # read by migrations/env.py
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise StoreError(f"the store {redact_url(engine.url)} could not be migrated: {exc}") from None


def dialect_insert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT (with `on_conflict_do_nothing` / `on_conflict_do_update`)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def fetch_rows(connection: Connection, statement: Any) -> list[tuple[Any, ...]]:
    """Every row of `statement` as a plain tuple, straight from the driver.

    For bulk reads of text and number columns: SQLAlchemy's per-row work (Row objects, result
    processors) would cost more than the database's (measured: 250,000 rows read in 0.95 s instead
    of 0.55 s on SQLite). Booleans come back as the driver gives them (0/1 on SQLite).
    """
    result = connection.execute(statement)
    try:
        cursor = result.cursor
        return [] if cursor is None else list(cursor.fetchall())
    finally:
        result.close()


def chunks(count: int, size: int) -> Iterator[slice]:
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


def bulk_execute(
    connection: Connection, statement: Any, columns: Mapping[str, Sequence[Any]], chunk: int = 20_000
) -> int:
    """Execute `statement` once per row of `columns` (column name -> Python values), in chunks.

    SQLite goes straight to the driver's `executemany` with positional rows (SQLAlchemy's per-row
    parameter handling costs more than SQLite's insert here); other dialects use SQLAlchemy's
    executemany. Returns the rows affected as the driver counts them.
    """
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if count == 0:
        return 0
    total = 0
    if connection.dialect.name == "sqlite":
        compiled = statement.compile(dialect=connection.dialect, column_keys=names)
        order = compiled.positiontup or []
        missing = set(order) - set(names)
        if missing:
            raise ValueError(f"no values for {sorted(missing)}")
        sql = str(compiled)
        ordered = [columns[name] for name in order]
        for part in chunks(count, chunk):
            result = connection.exec_driver_sql(sql, list(zip(*(values[part] for values in ordered), strict=True)))
            total += max(result.rowcount, 0)
        return total
    for part in chunks(count, chunk):
        rows = [dict(zip(names, row, strict=True)) for row in zip(*(columns[n][part] for n in names), strict=True)]
        result = connection.execute(statement, rows)
        total += max(result.rowcount, 0)
    return total


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps_json(value: Any, what: str | Callable[[], str]) -> str:
    """`value` as JSON text (key order kept); ValueError naming `what` when JSON cannot hold it."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        name = what() if callable(what) else what
        raise ValueError(f"{name} cannot be stored as JSON: {exc}") from exc
