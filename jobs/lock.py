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
since when. The heartbeat runs on a thread of its own, so a long job does not let the lock go stale;
if the lock is lost (the row taken over after a stall, the PostgreSQL connection gone) `lost` is
set and the scheduler stops its jobs at the next batch boundary.

A job's own delivery to a target takes that target's delivery lock like any other delivery; it waits
for another holder up to the job's `delivery_wait_seconds` (`punchbridge.jobs.settings`, 10 minutes
by default) and then records its run as `busy`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from punchbridge.errors import ExitCode, PunchbridgeError
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
    "describe_holder",
]

#: The PostgreSQL advisory lock key of the scheduler ("sched"; the migrations use "punch").
ADVISORY_LOCK_KEY = SCHEDULER_ADVISORY_KEY
log = logging.getLogger("punchbridge.jobs")


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
