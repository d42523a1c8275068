"""The store's side of the run history and the lock row (migration 0005), on SQLite and PostgreSQL."""

from __future__ import annotations

import alembic.command
import pytest
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from punchbridge.errors import StoreError
from punchbridge.store import Store
from punchbridge.store.database import MIGRATIONS


def _alembic(connection: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_a_store_from_before_0005_keeps_its_runs_and_gains_the_job_columns(store_url: str) -> None:
    engine = create_engine(store_url)
    with engine.begin() as connection:
        alembic.command.upgrade(_alembic(connection), "0004")
        connection.execute(
            text(
                "INSERT INTO runs (kind, target, started_at_ns, finished_at_ns, status, summary)"
                " VALUES ('sync', NULL, 1, 2, 'partial', :summary)"
            ),
            {"summary": '{"sent":3}'},
        )
    engine.dispose()
    with Store.open(store_url) as store:
        old = store.last_run("sync")
        assert old is not None and old["status"] == "partial" and old["summary"] == {"sent": 3}
        assert (old["job"], old["started_by"], old["error"]) == (None, None, None)
        run = store.begin_job_run("nightly", "sync", started_by="schedule", scheduled_at_ns=5)
        store.end_job_run(run, "stopped", {"delivered": 6})
        assert store.last_job_run("nightly")["status"] == "stopped"
    engine = create_engine(store_url)
    with engine.begin() as connection:
        alembic.command.downgrade(_alembic(connection), "0004")
        statuses = connection.execute(text("SELECT status FROM runs ORDER BY id")).scalars().all()
    engine.dispose()
    assert statuses == ["partial", "partial"], "downgrading keeps the rows; stopped becomes partial"


def test_the_database_refuses_a_status_the_history_does_not_know(store: Store) -> None:
    with pytest.raises(IntegrityError, match=r"(?i)check"), store.engine.begin() as connection:
        connection.execute(text("INSERT INTO runs (kind, started_at_ns, status) VALUES ('sync', 1, 'done')"))


def test_inside_a_job_run_the_engines_own_run_record_is_the_job_run(store: Store) -> None:
    job_run = store.begin_job_run("nightly", "sync", target="payroll", started_by="manual")
    assert store.start_run("sync") == job_run, "the engine writes into the job's row"
    other = store.start_run("process")
    assert other != job_run, "a run of another kind is its own"
    store.finish_run(job_run, "ok", {"targets": {"payroll": {"delivered": 4}}, "delivered": 4})
    store.end_job_run(job_run, "stopped", {"delivered": 5, "from": "2026-03-02"})
    recorded = store.last_job_run("nightly")
    assert recorded["status"] == "stopped"
    assert recorded["summary"] == {"targets": {"payroll": {"delivered": 4}}, "delivered": 5, "from": "2026-03-02"}
    assert store.start_run("sync") != job_run, "after the job run ends, runs are rows of their own again"


def test_job_runs_are_checked(store: Store) -> None:
    with pytest.raises(ValueError, match="started_by must be one of schedule, catch_up, manual"):
        store.begin_job_run("nightly", "sync", started_by="cron")
    with pytest.raises(ValueError, match="job's name and kind"):
        store.begin_job_run("", "sync")
    run = store.begin_job_run("nightly", "sync")
    with pytest.raises(ValueError, match=f"job run {run} is still in progress"):
        store.begin_job_run("other", "purge")
    with pytest.raises(ValueError, match="not 'running'"):
        store.end_job_run(run, "running", {})
    with pytest.raises(ValueError, match="JSON"):
        store.end_job_run(run, "ok", {"bad": float("nan")})
    with pytest.raises(StoreError, match="no run 9999"):
        store.end_job_run(9999, "ok", {})
    store.end_job_run(run, "failed", {}, "x" * 5000)
    assert len(store.last_job_run("nightly")["error"]) == 2000, "a huge error is kept short"


def test_abandoned_job_runs_are_closed_and_command_runs_left_alone(store: Store) -> None:
    job_run = store.begin_job_run("nightly", "sync")
    store._job_run = None  # its process died
    command_run = store.start_run("sync")  # `punchbridge sync` running right now in another process
    assert store.abandon_job_runs("interrupted") == [job_run]
    closed = store.last_job_run("nightly")
    assert (closed["status"], closed["error"]) == ("failed", "interrupted") and closed["finished_at_ns"]
    assert store.last_run("sync")["id"] == command_run and store.last_run("sync")["status"] == "running"
    assert store.abandon_job_runs("interrupted") == []
