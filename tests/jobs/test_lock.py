"""One scheduler per store: the second refuses, naming the first; a dead holder does not block forever."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.jobs_helpers import write_setup

from punchbridge.cli import main
from punchbridge.jobs.lock import SchedulerBusyError, SchedulerLock
from punchbridge.store import Store

NS = 1_000_000_000
T0 = 1_772_000_000 * NS  # 2026-02-25 06:13:20 UTC


def test_a_second_scheduler_on_the_same_store_refuses_naming_the_first(store_url: str) -> None:
    with Store.open(store_url) as first_store, Store.open(store_url) as second_store:
        first = SchedulerLock(first_store, host="node-a", pid=4242, now_ns=lambda: T0)
        first.acquire()
        second = SchedulerLock(second_store, host="node-b", pid=77, now_ns=lambda: T0 + 5 * NS)
        with pytest.raises(SchedulerBusyError) as refused:
            second.acquire()
        message = str(refused.value)
        assert "another scheduler runs the jobs of the store" in message
        assert "host node-a, pid 4242, since 2026-02-25 06:13:20Z" in message
        assert refused.value.exit_code == 4
        assert not second.held
        first.release()
        second.acquire()
        assert second_store.scheduler_lock_holder()["host"] == "node-b"
        second.release()
        assert second_store.scheduler_lock_holder() is None


def test_the_lock_is_held_while_its_holder_beats(sqlite_store: Store) -> None:
    now = [T0]
    first = SchedulerLock(sqlite_store, heartbeat_seconds=10, stale_after_beats=3, now_ns=lambda: now[0], pid=1)
    first.acquire()
    for _ in range(5):  # 50 s: longer than the stale limit (30 s), but it kept beating
        now[0] += 10 * NS
        assert first.beat()
    with pytest.raises(SchedulerBusyError, match="goes stale 30 s after its last heartbeat"):
        late = now[0] + 29 * NS
        SchedulerLock(sqlite_store, heartbeat_seconds=10, stale_after_beats=3, now_ns=lambda: late).acquire()


def test_a_crashed_schedulers_stale_lock_row_is_taken_over_with_a_warning(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = SchedulerLock(sqlite_store, heartbeat_seconds=10, stale_after_beats=3, now_ns=lambda: T0, host="old")
    crashed.acquire()  # and then it died: no more heartbeats
    later = T0 + 31 * NS
    with caplog.at_level(logging.WARNING, logger="punchbridge.jobs"):
        successor = SchedulerLock(sqlite_store, heartbeat_seconds=10, stale_after_beats=3, now_ns=lambda: later)
        successor.acquire()
    assert successor.held
    assert "took over the scheduler lock of host old" in caplog.text
    # Should the old one wake up, it finds the lock gone and stops instead of running jobs twice.
    assert crashed.beat() is False and crashed.lost
    assert "taken over by host" in (crashed.lost_reason or "")


def test_on_postgresql_a_holder_whose_session_ended_does_not_block(postgres_server: object) -> None:
    url = postgres_server.create_database()  # type: ignore[attr-defined]
    try:
        with Store.open(url) as first_store, Store.open(url) as second_store:
            first = SchedulerLock(first_store, host="node-a")
            first.acquire()
            # The process dies: its connection (and session) goes, the advisory lock with it; the row stays.
            assert first._connection is not None
            first._connection.invalidate()
            first._connection = None
            second = SchedulerLock(second_store, host="node-b")
            second.acquire()
            assert second.held and second_store.scheduler_lock_holder()["host"] == "node-b"
            second.release()
    finally:
        postgres_server.drop_database(url)  # type: ignore[attr-defined]


def test_the_heartbeat_thread_keeps_the_row_fresh(sqlite_store: Store) -> None:
    beats: list[int] = []
    clock = iter(range(T0, T0 + 1000 * NS, NS))

    def now() -> int:
        value = next(clock)
        beats.append(value)
        return value

    with SchedulerLock(sqlite_store, heartbeat_seconds=0.01, now_ns=now) as lock:
        deadline = 2000
        while len(beats) < 4 and deadline:
            lock._stop.wait(0.01)
            deadline -= 1
        assert sqlite_store.scheduler_lock_holder()["heartbeat_at_ns"] > T0
    assert sqlite_store.scheduler_lock_holder() is None


def test_jobs_run_is_refused_while_a_scheduler_holds_the_store(tmp_path: Path) -> None:
    config = write_setup(tmp_path)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        holder = SchedulerLock(store, host="node-a", pid=4242)
        holder.acquire()
        result = CliRunner().invoke(main, ["jobs", "run", "-c", str(config), "nightly"])
        listed = CliRunner().invoke(main, ["jobs", "list", "-c", str(config)])
        holder.release()
    assert result.exit_code == 4, result.output
    assert "host node-a, pid 4242" in result.output
    assert not list((tmp_path / "out").glob("*.csv")), "nothing was sent"
    assert "scheduler: running on host node-a, pid 4242" in listed.output


def test_lock_settings_that_make_no_sense_are_refused(sqlite_store: Store) -> None:
    with pytest.raises(ValueError, match="heartbeat_seconds"):
        SchedulerLock(sqlite_store, heartbeat_seconds=0)
    with pytest.raises(ValueError, match="stale_after_beats"):
        SchedulerLock(sqlite_store, stale_after_beats=1)
