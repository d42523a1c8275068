"""`SchedulerLock.stand_by` in one process: a standby waits while the lock is held, shows in
`jobs list`, takes the lock when it is given back, and leaves no row behind."""

from __future__ import annotations

import threading
from pathlib import Path

from click.testing import CliRunner
from support.jobs_helpers import write_setup

from punchbridge.cli import main
from punchbridge.jobs.lock import STANDBY_PREFIX, SchedulerLock, scheduler_roles
from punchbridge.store import Store

NS = 1_000_000_000


def _standby_rows(store: Store) -> list[dict[str, object]]:
    return [row for row in store.lock_holders("scheduler") if str(row["name"]).startswith(STANDBY_PREFIX)]


def test_a_standby_waits_shows_in_jobs_list_and_takes_the_lock_once_it_is_given_back(
    tmp_path: Path, store_url: str
) -> None:
    config = write_setup(tmp_path, store_url=store_url)
    with Store.open(store_url) as active_store, Store.open(store_url) as standby_store:
        active = SchedulerLock(active_store, host="node-a", pid=4242)
        active.acquire()
        standby = SchedulerLock(standby_store, host="node-b", pid=77, heartbeat_seconds=0.2)
        outcome: list[bool] = []
        waiter = threading.Thread(target=lambda: outcome.append(standby.stand_by(lambda: False)))
        waiter.start()
        for _ in range(200):
            if _standby_rows(active_store):
                break
            waiter.join(0.05)
        listing = CliRunner().invoke(main, ["jobs", "list", "-c", str(config)], catch_exceptions=False)
        assert "scheduler: running on host node-a, pid 4242" in listing.output
        assert "standby: waiting on host node-b, pid 77" in listing.output
        assert outcome == [] and not standby.held

        active.release()
        waiter.join(30)

        assert outcome == [True] and standby.held
        assert active_store.scheduler_lock_holder()["host"] == "node-b"  # type: ignore[index]
        assert _standby_rows(active_store) == [], "a standby that became active is no longer listed as one"
        standby.release()


def test_a_standby_asked_to_stop_while_waiting_gives_up_without_the_lock(sqlite_store: Store) -> None:
    active = SchedulerLock(sqlite_store, host="node-a", pid=4242)
    active.acquire()
    standby = SchedulerLock(sqlite_store, host="node-b", pid=77)
    asked = threading.Event()
    threading.Timer(0.5, asked.set).start()

    assert standby.stand_by(asked.is_set) is False
    assert not standby.held and _standby_rows(sqlite_store) == []
    assert sqlite_store.scheduler_lock_holder()["host"] == "node-a"  # type: ignore[index]
    active.release()


def test_a_standby_whose_heartbeat_stopped_is_not_listed() -> None:
    now = 1_772_000_000 * NS
    rows = [
        {"name": "scheduler", "host": "a", "heartbeat_at_ns": now, "acquired_at_ns": now},
        {"name": "standby/1", "host": "b", "heartbeat_at_ns": now - 5 * NS, "acquired_at_ns": now - 9 * NS},
        {"name": "standby/2", "host": "c", "heartbeat_at_ns": now - 300 * NS, "acquired_at_ns": now - 900 * NS},
    ]

    roles = scheduler_roles(rows, now)

    assert roles.active is not None and roles.active["host"] == "a"
    assert [row["host"] for row in roles.standbys] == ["b"]
    assert scheduler_roles(rows[1:], now).active is None
