"""One scheduler per store: the lock `punchbridge schedule` (and `jobs run`) holds while it runs jobs.

APScheduler's job stores cannot be shared between processes, and two schedulers would run every job
twice; so the process that runs jobs holds a lock in the store itself, with the same code as the
per-target delivery locks (`punchbridge.store.locks`, docs/operations.md):

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`, key `ADVISORY_LOCK_KEY`) on a
  connection of its own, held for the life of the process. The server releases it when that
  connection ends, also when the process is killed. The `scheduler_lock` row only says who holds it
  (for the refusal message).
- SQLite: the `scheduler_lock` row is the lock. Its holder renews a heartbeat every
  `heartbeat_seconds`; a row whose heartbeat is older than `stale_after_beats` heartbeats, or whose
  holder ran on this host and is no longer running, belongs to a process that died and is taken
  over (with a warning naming it).

A second process refuses to start with `SchedulerBusyError`, naming the holder's host, pid and
since when, unless it is a standby (`punchbridge schedule --standby`, `SchedulerLock.stand_by`): it
then waits for the lock and takes over as soon as it is free (PostgreSQL: the holder's connection
ended; SQLite: the holder's process is gone from this host, or its heartbeat is older than
`heartbeat_seconds x stale_after_beats`). While it waits, a row of its own named `standby/TOKEN`
(renewed every heartbeat) tells `jobs list` that it stands by (`scheduler_roles`).

The heartbeat runs on a thread of its own, so a long job does not let the lock go stale;
if the lock is lost (the row taken over after a stall, the PostgreSQL connection gone) `lost` is
set and the scheduler stops its jobs at the next batch boundary.

A job's own delivery to a target takes that target's delivery lock like any other delivery; it waits
for another holder up to the job's `delivery_wait_seconds` (`punchbridge.jobs.settings`, 10 minutes
by default) and then records its run as `busy`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from punchbridge.errors import ExitCode, PunchbridgeError, StoreError
from punchbridge.store.locks import (
    HEARTBEAT_SECONDS,
    SCHEDULER_ADVISORY_KEY,
    STALE_AFTER_BEATS,
    LockBusyError,
    StoreLock,
    describe_holder,
)

if TYPE_CHECKING:
    from punchbridge.store import Store

__all__ = [
    "ADVISORY_LOCK_KEY",
    "SchedulerBusyError",
    "SchedulerLock",
    "SchedulerLockLostError",
    "SchedulerRoles",
    "describe_holder",
    "scheduler_roles",
]

#: The PostgreSQL advisory lock key of the scheduler ("sched"; the migrations use "punch").
ADVISORY_LOCK_KEY = SCHEDULER_ADVISORY_KEY
log = logging.getLogger("punchbridge.jobs")
#: The lock rows of standby schedulers are named STANDBY_PREFIX + their lock's token.
STANDBY_PREFIX = "standby/"


class SchedulerBusyError(LockBusyError):
    """Another process runs the jobs of this store (exit code 4, BUSY): stop it first, or leave it be."""


class SchedulerLockLostError(PunchbridgeError):
    """The scheduler lost its lock while running (exit code 4, BUSY); it stopped so no job runs twice.

    Another process may hold the lock now: start this one again once it is gone.
    """

    exit_code = ExitCode.BUSY


def _refusal(lock: StoreLock, holder: dict[str, Any] | None) -> SchedulerBusyError:
    return SchedulerBusyError(
        f"another scheduler runs the jobs of the store {lock.store.url_for_display}: "
        f"{lock.describe(holder)}. Only one may run per store, so this one does not start: "
        f"stop that one first ({lock.release_hint()})",
        holder,
    )


class SchedulerLock(StoreLock):
    """The store's job lock for this process (see the module docstring). Use it as a context manager."""

    def __init__(
        self,
        store: Store,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        stale_after_beats: int = STALE_AFTER_BEATS,
        now_ns: Callable[[], int] = time.time_ns,
        host: str | None = None,
        pid: int | None = None,
        name: str = "scheduler",
    ) -> None:
        super().__init__(
            store,
            "scheduler",
            name,
            advisory_key=ADVISORY_LOCK_KEY,
            busy=_refusal,
            what="the scheduler lock",
            heartbeat_seconds=heartbeat_seconds,
            stale_after_beats=stale_after_beats,
            now_ns=now_ns,
            host=host,
            pid=pid,
            logger=log,
        )

    def __enter__(self) -> SchedulerLock:
        super().__enter__()
        return self

    def stand_by(self, should_stop: Callable[[], bool]) -> bool:
        """Wait as a standby until this process holds the lock (True), or `should_stop` says stop (False).

        While waiting, the standby's own row (renewed every heartbeat) names it in `jobs list`.
        """
        if self.held:
            return True
        standby = _StandbyRow(self)
        standby.enter()

        def waiting(holder: dict[str, Any] | None) -> None:
            log.info("punchbridge scheduler standing by: %s holds the scheduler lock; taking over when it is "
                     "released (%s)", self.describe(holder), self.release_hint())  # fmt: skip

        try:
            return self.acquire(math.inf, should_stop, on_wait=waiting)
        finally:
            standby.leave()


class _StandbyRow:
    """The row saying a standby waits, renewed on a thread of its own while it waits."""

    def __init__(self, lock: SchedulerLock) -> None:
        self.lock = lock
        self.name = STANDBY_PREFIX + lock.token
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _write(self) -> None:
        lock = self.lock
        # stale_after_ns None: the row is this standby's own, whatever it says.
        lock.store.take_lock("scheduler", self.name, lock.claimant, now_ns=lock.now_ns(), stale_after_ns=None)

    def enter(self) -> None:
        self._write()

        def renew() -> None:
            while not self._stop.wait(self.lock.heartbeat_seconds):
                try:
                    lock = self.lock
                    if not lock.store.beat_lock("scheduler", self.name, lock.token, now_ns=lock.now_ns()):
                        self._write()
                except StoreError as exc:  # shown as gone in `jobs list` until the store answers again
                    log.warning("standby scheduler: could not renew its row (tried again in %s s): %s",
                                self.lock.heartbeat_seconds, exc)  # fmt: skip

        self._thread = threading.Thread(target=renew, name="punchbridge-standby-heartbeat", daemon=True)
        self._thread.start()

    def leave(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.lock.heartbeat_seconds + 5)
        try:
            self.lock.store.release_lock("scheduler", self.name, self.lock.token)
        except StoreError as exc:
            log.warning("standby scheduler: could not remove its row: %s", exc)


@dataclass(frozen=True)
class SchedulerRoles:
    """Who runs the jobs of a store: the active scheduler's lock row (or None) and the standbys' rows."""

    active: dict[str, Any] | None
    standbys: list[dict[str, Any]]


def scheduler_roles(
    rows: Sequence[dict[str, Any]],
    now_ns: int,
    *,
    name: str = "scheduler",
    stale_after_ns: int = int(HEARTBEAT_SECONDS * STALE_AFTER_BEATS * 1e9),
) -> SchedulerRoles:
    """Split the `scheduler` lock rows: the active one (`name`) and the standbys whose heartbeat is
    younger than `stale_after_ns` (a standby killed before it could remove its row is not shown)."""
    active = next((row for row in rows if row["name"] == name), None)
    standbys = [
        row
        for row in rows
        if str(row["name"]).startswith(STANDBY_PREFIX) and now_ns - int(row["heartbeat_at_ns"]) <= stale_after_ns
    ]
    return SchedulerRoles(active, sorted(standbys, key=lambda row: int(row["acquired_at_ns"])))
