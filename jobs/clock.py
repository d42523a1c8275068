"""The scheduler's clock: the seam that lets tests move time instead of sleeping.

APScheduler 3 reads the time itself (`datetime.now(self.timezone)` in `BaseScheduler._process_jobs`
and `_real_add_job`, `datetime.now(timezone.utc)` in the executors' misfire check). The punchbridge
scheduler (`punchbridge.jobs.scheduler`) reads it only from a `Clock` and waits only through it:

    SystemClock()                 real time; `wait` sleeps on the stop event (a signal wakes it)
    ManualClock(start)            time moves only when told: `wait(seconds)` advances it at once
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Where the scheduler gets the time from and how it waits."""

    def now(self) -> datetime:
        """The current instant (aware, UTC)."""
        ...

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Wait up to `seconds` or until `wake` is set; True when `wake` is set."""
        ...


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        """`datetime.now(UTC)`."""
        return datetime.now(UTC)

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Sleep on `wake` (SIGTERM's handler sets it, so a stop does not wait for the next fire time)."""
        return wake.wait(max(seconds, 0.0))


class ManualClock:
    """A clock that moves only when told; `wait(seconds)` advances it by `seconds` at once.

    `until` bounds the time: a wait that would pass it stops there and sets `stopped`, so a test can
    run a scheduler "until Tuesday 03:00" and then look at what ran.
    """

    def __init__(self, start: datetime, *, until: datetime | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self.current = start.astimezone(UTC)
        self.until = None if until is None else until.astimezone(UTC)
        self.stopped = threading.Event()
        self.waits: list[float] = []

    def now(self) -> datetime:
        """The clock's current time."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move the time on by `seconds`."""
        self.current += timedelta(seconds=seconds)

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Advance by `seconds` (at most to `until`, where the clock stops) unless `wake` is set."""
        if wake.is_set():
            return True
        self.waits.append(seconds)
        target = self.current + timedelta(seconds=max(seconds, 0.0))
        if self.until is not None and target >= self.until:
            self.current = self.until
            self.stopped.set()
            wake.set()
            return True
        self.current = target
        return False
