"""Opening the store: migrations, SQLite settings, and errors that name the store without its password."""

from __future__ import annotations

import os
import socket
import threading
from datetime import date
from pathlib import Path

import alembic.command
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, inspect, text
from support.store_data import punches

from punchbridge.errors import StoreError
from punchbridge.store import Store
from punchbridge.store.database import HEAD_REVISION, MIGRATIONS
from punchbridge.store.delivery import finished_records
from punchbridge.store.schema import metadata

TABLES = {
    "punches",
    "quarantine",
    "processed_days",
    "ledger",
    "batches",
    "dead_letters",
    "cursors",
    "runs",
    "audit",
    "webhook_events",
    "leaves",
    "period_locks",
    "cloud_events",
    "terminal_users",
    "terminal_commands",
    "scheduler_lock",
    "delivery_locks",
    "adjustments",
    "tombstones",
    "erasure_keys",
}


def test_opening_migrates_a_new_database_to_the_newest_schema(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert tables == TABLES | {"alembic_version"}
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == (HEAD_REVISION,)


def test_the_migrated_database_is_exactly_the_schema_the_code_uses(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_a_second_open_migrates_nothing_and_keeps_the_data(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(store_url) as store:
        store.add_punches(punches([("E1", "2025-03-03T09:00:00Z", "D1", "in")]), source="file")

    def no_upgrade(*args: object, **kwargs: object) -> None:
        raise AssertionError("a store at the newest schema was migrated again")

    monkeypatch.setattr(alembic.command, "upgrade", no_upgrade)
    with Store.open(store_url) as store:
        assert store.punch_count() == 1


def test_a_store_of_the_first_release_is_upgraded_keeping_its_days(store_url: str) -> None:
    engine = create_engine(store_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic.command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO processed_days (employee_id, work_date, site, shift, day_type, status, first_in,"
                " last_out, worked_minutes, regular_minutes, ot_minutes, break_minutes, late_minutes,"
                " early_exit_minutes, leave_days, lop_days, punch_count, anomalies, recomputed, rules_version,"
                " version, content_hash, computed_at_ns) VALUES ('E1', '2025-03-03', 'PUNE', 'G', 'workday',"
                " 'present', '2025-03-03T09:00:00+05:30', '2025-03-03T18:00:00+05:30', 540, 480, 0, 60, 0, 0,"
                " 0, 0, 2, '', false, 'r1', 1, 'old-hash', 0)"
            )
        )
    engine.dispose()

    with Store.open(store_url) as store:
        held = store.load_days(date(2025, 3, 3), date(2025, 3, 3))
        with store.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() == (HEAD_REVISION,)
    assert held["worked_minutes"].tolist() == [540]
    assert held["content_hash"].tolist() == ["old-hash"]
    assert held["intervals"].isna().tolist() == [True]  # filled in when the day is next recomputed


def test_upgrading_trims_finished_batches_to_keys_and_hashes_and_keeps_open_ones(store_url: str) -> None:
    engine = create_engine(store_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    full = '[{"key":"E1|2025-03-03","content_hash":"h1","fields":{"hours":8.5}}]'
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic.command.upgrade(config, "0008")
        for seq, status in enumerate(("done", "dropped", "open"), start=1):
            connection.execute(
                text(
                    "INSERT INTO batches (target, period_start, period_end, seq, status, columns, records,"
                    f" created_at_ns) VALUES ('erp', '2025-03-01', '2025-03-31', {seq}, '{status}', '[\"hours\"]',"
                    " :records, 0)"
                ),
                {"records": full},
            )
    engine.dispose()

    with Store.open(store_url) as store:
        with store.engine.connect() as connection:
            stored = connection.execute(text("SELECT status, records, finished_records FROM batches")).all()
        resumed = store.open_batches("erp")
    kept = {
        status: finished_records(finished) if finished is not None else records for status, records, finished in stored
    }
    # from migration 0010 the keys and hashes of a finished batch are kept compressed
    assert kept["done"] == kept["dropped"] == [{"key": "E1|2025-03-03", "content_hash": "h1"}]
    assert kept["open"] == full
    assert [dict(r.fields) for r in resumed[0].records] == [{"hours": 8.5}]


def test_processes_opening_a_new_store_at_once_migrate_it_once(store_url: str) -> None:
    errors: list[BaseException] = []

    def open_and_close() -> None:
        try:
            Store.open(store_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with Store.open(store_url) as store, store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_a_store_newer_than_this_code_is_refused(store_url: str) -> None:
    with Store.open(store_url) as store, store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(StoreError, match="newer than this punchbridge knows"):
        Store.open(store_url)


def test_sqlite_connections_use_wal_full_sync_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    # Two connections at once: each one from the pool is set up, not just the first.
    with store, store.engine.connect() as one, store.engine.connect() as two:
        for connection in (one, two):
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
    assert (tmp_path / "store.db").exists()


def test_sqlite_writes_take_the_write_lock_up_front_and_reads_do_not(tmp_path: Path) -> None:
    # BEGIN IMMEDIATE waits (busy_timeout) for other writers instead of failing when a read upgrades.
    begun: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN"):
            begun.append(statement)

    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        event.listen(store.engine, "before_cursor_execute", capture)
        store.set_cursor("device:D1", "1")
        store.get_cursor("device:D1")
        store.add_punches(punches([("E1", "2025-03-03T09:00:00Z", "D1", "in")]), source="file")
        store.punch_count()

    assert begun == ["BEGIN IMMEDIATE", "BEGIN", "BEGIN IMMEDIATE", "BEGIN"]


def test_the_default_url_is_a_sqlite_file_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Store.open() as store:
        assert store.url_for_display == "sqlite:///punchbridge.db"
    assert (tmp_path / "punchbridge.db").exists()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+psycopg://payroll:s3cr3t-pw@127.0.0.1:{port}/punches",
            "postgresql+psycopg://payroll:***@127.0.0.1:{port}/punches",
        ),
        (
            "postgresql://payroll:s3cr3t-pw@127.0.0.1:{port}/punches",
            "postgresql://payroll:***@127.0.0.1:{port}/punches",
        ),
        ("postgresql+psycopg://payroll:s3cr3t-pw@db.example:notaport/punches", "payroll:***@db.example:notaport"),
        ("mysql://payroll:s3cr3t-pw@127.0.0.1/punches", "mysql://payroll:***@127.0.0.1/punches"),
        ("postgresql+psycopg://payroll@127.0.0.1:{port}/punches?password=s3cr3t-pw", "?password=***"),
        ("not a url, password s3cr3t-pw", None),
    ],
    ids=["unreachable", "unreachable-plain-scheme", "bad-port", "unsupported", "password-in-query", "garbage"],
)
def test_a_bad_url_or_unreachable_server_raises_store_error_without_the_password(
    url: str, expected: str | None
) -> None:
    port = _closed_port()
    url = url.format(port=port)

    with pytest.raises(StoreError) as raised:
        Store.open(url)

    message = str(raised.value)
    assert "cannot open the store" in message
    if expected is not None:
        assert "s3cr3t-pw" not in message
        assert expected.format(port=port) in message


def test_url_for_display_hides_the_password(store: Store) -> None:
    assert "***" not in store.url_for_display or ":***@" in store.url_for_display
    assert Store.__name__ in repr(store) and store.url_for_display in repr(store)


def test_a_file_that_is_not_a_database_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "punchbridge.db"
    path.write_bytes(os.urandom(8192))

    with pytest.raises(StoreError, match="not a database") as raised:
        Store.open(f"sqlite:///{path}")

    assert str(path) in str(raised.value)


def test_a_store_in_a_missing_folder_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "punchbridge.db"

    with pytest.raises(StoreError) as raised:
        Store.open(f"sqlite:///{path}")

    assert str(path) in str(raised.value)


def test_a_closed_store_says_so(store: Store) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.punch_count()
