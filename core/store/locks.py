"""Process locks kept in the store: one scheduler per store, one delivery at a time per target.

    lock = StoreLock(store, "delivery", "payroll", advisory_key=delivery_advisory_key("payroll"),
                     what="the delivery lock of target 'payroll'", busy=refusal)
    if lock.acquire(wait_seconds=30, should_stop=stop):   # raises `busy(lock, holder)` after 30 s
        lock.start_heartbeat()
        try:
            ...                                            # stop at a safe point once `lock.lost`
        finally:
            lock.release()

Two kinds of lock (`LOCK_KINDS`), one mechanism (docs/operations.md):

- `scheduler` (table `scheduler_lock`): the process that runs the scheduled jobs (`punchbridge.jobs.lock`);
- `delivery` (table `delivery_locks`): the process delivering to one target (`punchbridge.sync.delivery`).

**PostgreSQL**: a session advisory lock (`pg_try_advisory_lock(key)`) on a connection of its own,
held until released or until that connection ends, however the process ends. The row only says who
holds it. The scheduler's key is `SCHEDULER_ADVISORY_KEY`; a target's is `delivery_advisory_key`:
the first 8 bytes of SHA-256 of `punchbridge delivery lock`, a NUL byte and the target's name in
UTF-8, read big-endian as a signed 64-bit integer (the one-argument form of the advisory functions).

**SQLite**: the row is the lock. Its holder renews a heartbeat every `heartbeat_seconds` on a
thread of its own. Another process takes the row over when its heartbeat is older than
`stale_after_beats` heartbeats, or at once when its holder ran on this host, in this PID namespace,
and its pid is no longer running (a killed process does not block the next run); a takeover is
logged with the holder it replaced.

A lock that cannot be taken raises `busy(lock, holder_row)` naming the holder (host, pid, since
when, command line, last heartbeat); `acquire(wait_seconds=...)` tries again every `POLL_SECONDS`
until then. A lock lost while held (the row taken over after a stall, the PostgreSQL connection
gone) sets `lost`: its user stops at the next safe point.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shlex
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, delete, select, text, update

from punchbridge.errors import ExitCode, PunchbridgeError, StoreError
from punchbridge.store.database import describe_error
from punchbridge.store.schema.locks import delivery_locks
from punchbridge.store.schema.scheduling import scheduler_lock

if TYPE_CHECKING:
    from punchbridge.store import Store

__all__ = [
    "HEARTBEAT_SECONDS",
    "LOCK_COLUMNS",
    "LOCK_KINDS",
    "POLL_SECONDS",
    "SCHEDULER_ADVISORY_KEY",
    "STALE_AFTER_BEATS",
    "Claimant",
    "LockBusyError",
    "LockClaim",
    "LockStore",
    "StoreLock",
    "delivery_advisory_key",
    "describe_holder",
    "process_command",
]

#: The lock tables, by kind of lock.
LOCK_KINDS: dict[str, Table] = {"scheduler": scheduler_lock, "delivery": delivery_locks}
LOCK_COLUMNS = ("name", "holder", "host", "pid", "command", "pid_namespace", "acquired_at_ns", "heartbeat_at_ns")
#: The PostgreSQL advisory lock key of the scheduler ("sched"; the migrations use "punch").
SCHEDULER_ADVISORY_KEY = 0x7363686564
HEARTBEAT_SECONDS = 15.0
STALE_AFTER_BEATS = 8
#: How often a lock that is held elsewhere is tried again while waiting for it.
POLL_SECONDS = 0.5
_NS = 1_000_000_000
_MAX_COMMAND = 300
log = logging.getLogger("punchbridge.store")


class LockBusyError(PunchbridgeError):
    """Another process holds the lock this command needs (exit code 4, BUSY); the message names it."""

    exit_code = ExitCode.BUSY

    def __init__(self, message: str, holder: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class Claimant:
    """Who asks for a lock: the lock object's token, and its process (host, pid, command, PID namespace)."""

    holder: str
    host: str
    pid: int
    command: str | None = None
    pid_namespace: str | None = None


@dataclass(frozen=True)
class LockClaim:
    """What `LockStore.take_lock` did: `taken`, the other holder's row, and why it was replaced."""

    taken: bool
    other: dict[str, Any] | None
    why: str | None = None  # taken from another holder: its heartbeat stopped, or its process is gone


def delivery_advisory_key(target: str) -> int:
    """The PostgreSQL advisory lock key of target `target`'s delivery lock (see the module docstring)."""
    digest = hashlib.sha256(b"punchbridge delivery lock\x00" + target.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def process_command() -> str:
    """This process's command line as a lock row shows it (`punchbridge sync -c ...`), shortened."""
    argv = list(sys.argv) or ["python"]
    program = Path(argv[0]).name
    if program == "__main__.py":  # `python -m punchbridge`
        program = "punchbridge"
    shown = shlex.join([program, *argv[1:]])
    return shown if len(shown) <= _MAX_COMMAND else shown[: _MAX_COMMAND - 3] + "..."


def pid_namespace() -> str | None:
    """This process's PID namespace on Linux (`pid:[4026531836]`); None elsewhere or when unreadable."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / _NS, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def describe_holder(row: dict[str, Any] | None, now_ns: int) -> str:
    """`host H, pid P, since T, running `C` (last heartbeat N s ago)` for a lock row; `an unknown process`
    without one."""
    if row is None:
        return "an unknown process"
    ago = max(0, (now_ns - int(row["heartbeat_at_ns"])) // _NS)
    since = _when(int(row["acquired_at_ns"]))
    command = f", running `{row['command']}`" if row.get("command") else ""
    return f"host {row['host']}, pid {row['pid']}, since {since}{command} (last heartbeat {ago} s ago)"


def _process_gone(row: dict[str, Any], claimant: Claimant) -> bool:
    """True when `row`'s holder ran in this host's PID namespace and its process no longer runs.

    Only then is a pid meaningful here: another host, or a container sharing the host name but not
    its processes, may hold the lock with a pid that is free on this side. A pid reused since by
    another process makes us wait for the stale limit instead (never a wrong takeover).
    """
    if os.name != "posix" or row["host"] != claimant.host or row.get("pid_namespace") != claimant.pid_namespace:
        return False
    if sys.platform.startswith("linux") and claimant.pid_namespace is None:
        return False
    pid = int(row["pid"])
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it runs, as another user
        return False
    try:  # a killed process its parent has not reaped yet holds nothing any more
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return bool(state) and state[0] == "Z"
    except (OSError, IndexError):
        return False


class LockStore:
    """Store methods for the lock rows (mixed into `Store`); each is one transaction."""

    if TYPE_CHECKING:

        def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]: ...

    def take_lock(
        self, kind: str, name: str, claimant: Claimant, *, now_ns: int, stale_after_ns: int | None
    ) -> LockClaim:
        """Try to make `claimant` the holder of lock row `name` of `kind` (`LOCK_KINDS`).

        The row is taken when there is none, when it is already the claimant's, when `stale_after_ns`
        is given and the row's heartbeat is older than that (its holder stopped beating), or when its
        holder's process is gone (same host and PID namespace, pid not running). With `stale_after_ns`
        None the row is taken whatever it says (the caller holds a lock that excludes the others, a
        PostgreSQL advisory lock). `LockClaim.other` is the row of the holder that keeps it (not
        taken) or of the holder replaced (taken), else None.
        """
        table = LOCK_KINDS[kind]
        with self._transaction(write=True) as connection:
            row = connection.execute(
                select(*(table.c[c] for c in LOCK_COLUMNS)).where(table.c.name == name)
            ).one_or_none()
            current = None if row is None else dict(row._mapping)
            other = current if current is not None and current["holder"] != claimant.holder else None
            why = None
            if other is not None and stale_after_ns is not None:
                if now_ns - int(other["heartbeat_at_ns"]) > stale_after_ns:
                    why = "its heartbeat stopped (the process died)"
                elif _process_gone(other, claimant):
                    why = "its process is no longer running"
                else:
                    return LockClaim(taken=False, other=other)
            values = {
                "holder": claimant.holder,
                "host": claimant.host,
                "pid": claimant.pid,
                "command": claimant.command,
                "pid_namespace": claimant.pid_namespace,
                "acquired_at_ns": now_ns,
                "heartbeat_at_ns": now_ns,
            }
            if current is None:
                connection.execute(table.insert().values(name=name, **values))
            else:
                connection.execute(update(table).where(table.c.name == name).values(**values))
        return LockClaim(taken=True, other=other, why=why)

    def beat_lock(self, kind: str, name: str, holder: str, *, now_ns: int) -> bool:
        """Renew `holder`'s heartbeat on row `name`; False when the row is no longer `holder`'s."""
        table = LOCK_KINDS[kind]
        with self._transaction(write=True) as connection:
            done = connection.execute(
                update(table).where(table.c.name == name, table.c.holder == holder).values(heartbeat_at_ns=now_ns)
            )
            return bool(done.rowcount == 1)

    def release_lock(self, kind: str, name: str, holder: str) -> bool:
        """Remove lock row `name` if `holder` holds it; whether it did."""
        table = LOCK_KINDS[kind]
        with self._transaction(write=True) as connection:
            done = connection.execute(delete(table).where(table.c.name == name, table.c.holder == holder))
            return bool(done.rowcount == 1)

    def lock_holder(self, kind: str, name: str) -> dict[str, Any] | None:
        """Lock row `name` of `kind` (holder, host, pid, command, pid_namespace, acquired_at_ns,
        heartbeat_at_ns), or None."""
        table = LOCK_KINDS[kind]
        with self._transaction(write=False) as connection:
            row = connection.execute(
                select(*(table.c[c] for c in LOCK_COLUMNS)).where(table.c.name == name)
            ).one_or_none()
        return None if row is None else dict(row._mapping)

    def lock_holders(self, kind: str) -> list[dict[str, Any]]:
        """Every lock row of `kind`, by name (on SQLite a row of a dead holder stays until taken over)."""
        table = LOCK_KINDS[kind]
        with self._transaction(write=False) as connection:
            rows = connection.execute(select(*(table.c[c] for c in LOCK_COLUMNS)).order_by(table.c.name)).all()
        return [dict(row._mapping) for row in rows]


BusyFactory = Callable[["StoreLock", "dict[str, Any] | None"], Exception]


class StoreLock:
    """One process's hold on one lock of the store (see the module docstring). A context manager too:
    `with lock:` takes it at once (or raises busy) and keeps its heartbeat until the block ends."""

    def __init__(
        self,
        store: Store,
        kind: str,
        name: str,
        *,
        advisory_key: int,
        busy: BusyFactory,
        what: str,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        stale_after_beats: int = STALE_AFTER_BEATS,
        now_ns: Callable[[], int] = time.time_ns,
        host: str | None = None,
        pid: int | None = None,
        command: str | None = None,
        logger: logging.Logger = log,
    ) -> None:
        if kind not in LOCK_KINDS:
            raise ValueError(f"a lock kind is one of {', '.join(LOCK_KINDS)}, not {kind!r}")
        if heartbeat_seconds <= 0 or stale_after_beats < 2:
            raise ValueError("heartbeat_seconds must be positive and stale_after_beats at least 2")
        self.store = store
        self.kind = kind
        self.name = name
        self.advisory_key = advisory_key
        self.what = what
        self._busy_error = busy
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_after_ns = int(heartbeat_seconds * stale_after_beats * _NS)
        self.now_ns = now_ns
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.token = uuid.uuid4().hex
        # A pid given by the caller is not this process: never let it be judged by this one's namespace.
        namespace = pid_namespace() if pid is None else None
        self.claimant = Claimant(self.token, self.host, self.pid, command or process_command(), namespace)
        self.log = logger
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

    def release_hint(self) -> str:
        """When a holder that is gone lets the lock go (for refusal messages)."""
        if self.postgres:
            return "PostgreSQL releases the lock as soon as that process ends"
        stale = self.stale_after_ns // _NS
        return f"if that process is gone, its lock goes stale {stale} s after its last heartbeat"

    def describe(self, holder: dict[str, Any] | None) -> str:
        """The holder row `holder` as text (`describe_holder` at this lock's clock)."""
        return describe_holder(holder, self.now_ns())

    # -- taking and giving back -----------------------------------------------------------------------

    def acquire(
        self,
        wait_seconds: float = 0.0,
        should_stop: Callable[[], bool] | None = None,
        on_wait: Callable[[dict[str, Any] | None], None] | None = None,
    ) -> bool:
        """Take the lock, waiting up to `wait_seconds` while another process holds it; True once held.

        `on_wait(holder)` is called once when the wait starts. Raises the `busy` error naming the
        holder when the wait is over; returns False (not held) when `should_stop` says stop while
        waiting.
        """
        if self.held:
            return True
        deadline = time.monotonic() + max(0.0, float(wait_seconds))
        waiting = False
        while True:
            holder = self._try_take()
            if self.held:
                return True
            if should_stop is not None and should_stop():
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._busy_error(self, holder)
            if not waiting and on_wait is not None:
                on_wait(holder)
            waiting = True
            time.sleep(min(POLL_SECONDS, remaining))

    def _try_take(self) -> dict[str, Any] | None:
        """One attempt: hold the lock (and return None), or return the holder's row."""
        if self.postgres and not self._take_advisory():
            return self.store.lock_holder(self.kind, self.name)
        stale_after = None if self.postgres else self.stale_after_ns
        try:
            claim = self.store.take_lock(
                self.kind, self.name, self.claimant, now_ns=self.now_ns(), stale_after_ns=stale_after
            )
        except BaseException:
            self._drop_connection()
            raise
        if not claim.taken:
            return claim.other
        if claim.other is not None and claim.why is not None:
            self.log.warning("punchbridge took over %s of %s: %s", self.what, self.describe(claim.other), claim.why)
        self.held = True
        self.lost_reason = None
        return None

    def _take_advisory(self) -> bool:
        try:
            connection = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:  # the driver's errors: cannot connect, server gone
            where, why = self.store.url_for_display, describe_error(exc, self.store._url)
            raise StoreError(f"cannot take {self.what} in the store {where}: {why}") from exc
        try:
            got = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.advisory_key}).scalar()
            )
        except Exception as exc:
            connection.close()
            where, why = self.store.url_for_display, describe_error(exc, self.store._url)
            raise StoreError(f"cannot take {self.what} in the store {where}: {why}") from exc
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

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
            self.store.release_lock(self.kind, self.name, self.token)
        except StoreError as exc:
            self.log.warning("could not remove the row of %s: %s", self.what, exc)
        finally:
            self._drop_connection()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.advisory_key})
        except Exception as exc:  # the session is gone already: so is its lock
            self.log.debug("advisory unlock: %s", exc)
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
            mine = self.store.beat_lock(self.kind, self.name, self.token, now_ns=self.now_ns())
        except StoreError as exc:
            self.log.warning("heartbeat of %s failed (tried again in %s s): %s", self.what, self.heartbeat_seconds, exc)
            return True
        if not mine:
            holder = self.store.lock_holder(self.kind, self.name)
            self.lost_reason = f"the lock was taken over by {self.describe(holder)}"
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
                    self.log.error("punchbridge lost %s: %s", self.what, self.lost_reason)
                    return

        self._thread = threading.Thread(target=loop, name=f"punchbridge-{self.kind}-lock-heartbeat", daemon=True)
        self._thread.start()

    def __enter__(self) -> StoreLock:
        self.acquire()
        self.start_heartbeat()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
