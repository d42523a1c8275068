"""One scheduler per store: the lock `punchbridge schedule` (and `jobs run`) holds while it runs jobs.

APScheduler's job stores cannot be shared between processes, and two schedulers would run every job
twice; so the process that runs jobs holds a lock in the store itself:

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection of its own, held
  for the life of the process. The server releases it when that connection ends, also when the
  process is killed. The `scheduler_lock` row only says who holds it (for the refusal message).
- SQLite: the `scheduler_lock` row is the lock. Its holder renews a heartbeat every
  `heartbeat_seconds`; a row whose heartbeat is older than `stale_after_beats` heartbeats belongs
  to a process that died and is taken over (with a warning naming it).

A second process refuses to start with `SchedulerBusyError`, naming the holder's host, pid and
since when. The heartbeat runs on a thread of its own, so a long job does not let the lock go stale;
if the lock is lost (the row taken over after a stall, the PostgreSQL connection gone) `lost` is
set and the scheduler stops its jobs at the next batch boundary.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

from punchbridge.errors import ExitCode, PunchbridgeError, StoreError
from punchbridge.store.database import describe_error

if TYPE_CHECKING:
    from punchbridge.store import Store

__all__ = ["ADVISORY_LOCK_KEY", "SchedulerBusyError", "SchedulerLock", "SchedulerLockLostError", "describe_holder"]

#: The PostgreSQL advisory lock key of the scheduler ("sched"; the migrations use "punch").
ADVISORY_LOCK_KEY = 0x7363686564
HEARTBEAT_SECONDS = 15.0
STALE_AFTER_BEATS = 8
_NS = 1_000_000_000
log = logging.getLogger("punchbridge.jobs")


class SchedulerBusyError(PunchbridgeError):
    """Another process runs the jobs of this store (exit code 4, BUSY): stop it first, or leave it be."""

    exit_code = ExitCode.BUSY


class SchedulerLockLostError(PunchbridgeError):
    """The scheduler lost its lock while running (exit code 4, BUSY); it stopped so no job runs twice.

    Another process may hold the lock now: start this one again once it is gone.
    """

    exit_code = ExitCode.BUSY


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / _NS, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def describe_holder(row: dict[str, Any] | None, now_ns: int) -> str:
    """`host H, pid P, since T (last heartbeat N s ago)` for a lock row; `an unknown process` without one."""
    if row is None:
        return "an unknown process"
    ago = max(0, (now_ns - int(row["heartbeat_at_ns"])) // _NS)
    since = _when(int(row["acquired_at_ns"]))
    return f"host {row['host']}, pid {row['pid']}, since {since} (last heartbeat {ago} s ago)"


class SchedulerLock:
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
        if heartbeat_seconds <= 0 or stale_after_beats < 2:
            raise ValueError("heartbeat_seconds must be positive and stale_after_beats at least 2")
        self.store = store
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_after_ns = int(heartbeat_seconds * stale_after_beats * _NS)
        self.now_ns = now_ns
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.name = name
        self.token = uuid.uuid4().hex
        self.held = False
        self.lost_reason: str | None = None
        self._connection: Connection | None = None  # PostgreSQL: the session holding the advisory lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def postgres(self) -> bool:
        return self.store.engine.dialect.name == "postgresql"

    @property
    def lost(self) -> bool:
        """True once the lock was lost while held."""
        return self.lost_reason is not None

    # -- taking and giving back -----------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the lock, or raise SchedulerBusyError naming the process that holds it."""
        if self.held:
            return
        if self.postgres:
            self._acquire_advisory()
        stale_after = None if self.postgres else self.stale_after_ns
        try:
            claim = self.store.take_scheduler_lock(
                self.token, self.host, self.pid, now_ns=self.now_ns(), stale_after_ns=stale_after, name=self.name
            )
        except BaseException:
            self._drop_connection()
            raise
        if not claim.taken:
            raise self._busy(claim.other)
        if claim.other is not None and not self.postgres:
            log.warning(
                "punchbridge took over the scheduler lock of %s: its heartbeat stopped (the process died)",
                describe_holder(claim.other, self.now_ns()),
            )
        self.held = True
        self.lost_reason = None

    def _acquire_advisory(self) -> None:
        try:
            connection = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar()
            )
        except Exception as exc:  # the driver's errors: cannot connect, server gone
            where, why = self.store.url_for_display, describe_error(exc, self.store._url)
            raise StoreError(f"cannot take the scheduler lock in the store {where}: {why}") from exc
        if not got:
            connection.close()
            raise self._busy(self.store.scheduler_lock_holder(self.name))
        self._connection = connection

    def _busy(self, holder: dict[str, Any] | None) -> SchedulerBusyError:
        if self.postgres:
            wait = "PostgreSQL releases the lock as soon as that process ends"
        else:
            stale = self.stale_after_ns // _NS
            wait = f"if that process is gone, its lock goes stale {stale} s after its last heartbeat"
        return SchedulerBusyError(
            f"another scheduler runs the jobs of the store {self.store.url_for_display}: "
            f"{describe_holder(holder, self.now_ns())}. Only one may run per store, so this one does not start: "
            f"stop that one first ({wait})"
        )

    def release(self) -> None:
        """Stop the heartbeat and give the lock back (nothing happens when it is not held)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.heartbeat_seconds + 5)
            self._thread = None
        if not self.held:
            self._drop_connection()
            return
        self.held = False
        try:
            self.store.release_scheduler_lock(self.token, name=self.name)
        except StoreError as exc:
            log.warning("could not remove the scheduler lock row: %s", exc)
        finally:
            self._drop_connection()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        except Exception as exc:  # the session is gone already: so is its lock
            log.debug("advisory unlock: %s", exc)
        finally:
            connection.close()

    # -- heartbeat --------------------------------------------------------------------------------------

    def beat(self) -> bool:
        """Renew the heartbeat once; False (and `lost` set) when the lock is no longer ours.

        A store that cannot be written for a moment (busy, a network blip) is logged and tried
        again at the next beat: only proof that someone else holds the lock counts as lost.
        """
        if not self.held:
            return False
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
            except Exception as exc:  # the session, and with it the advisory lock, is gone
                self.lost_reason = f"the connection holding the PostgreSQL advisory lock failed: {exc}"
                return False
        try:
            mine = self.store.beat_scheduler_lock(self.token, now_ns=self.now_ns(), name=self.name)
        except StoreError as exc:
            log.warning("scheduler lock heartbeat failed (tried again in %s s): %s", self.heartbeat_seconds, exc)
            return True
        if not mine:
            holder = self.store.scheduler_lock_holder(self.name)
            self.lost_reason = f"the lock was taken over by {describe_holder(holder, self.now_ns())}"
            return False
        return True

    def start_heartbeat(self) -> None:
        """Beat every `heartbeat_seconds` on a daemon thread until `release`."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(self.heartbeat_seconds):
                if not self.beat():
                    log.error("punchbridge scheduler lock lost: %s", self.lost_reason)
                    return

        self._thread = threading.Thread(target=loop, name="punchbridge-lock-heartbeat", daemon=True)
        self._thread.start()

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        self.start_heartbeat()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
