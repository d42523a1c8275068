"""Keeping under Zoho People's limits: the per-minute pacer and the cost of a backfill.

Zoho locks an API for minutes when its per-minute limit is passed (bulkImport 10,
getAttendanceEntries 100, getRecords 400). `WindowPacer` keeps under a limit over any 60 s window;
`shared_pacer` gives every target of the process the same pacer per organisation and API, so two
targets on one organisation never add up past it. `plan_backfill` says beforehand how many calls
and how long sending a backfill takes, and whether today's budget holds it.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["BackfillPlan", "WindowPacer", "plan_backfill", "shared_pacer"]


@dataclass(frozen=True)
class BackfillPlan:
    """What sending some records costs: calls, time at the rate limit, and whether today's budget holds it."""

    records: int
    punches: int
    calls: int
    minutes: float
    calls_left_today: int

    @property
    def fits_today(self) -> bool:
        """Whether the calls fit in what is left of today's budget."""
        return self.calls <= self.calls_left_today

    @property
    def days_needed(self) -> int:
        """Days of full budget the calls take (1 when they fit today)."""
        if self.fits_today:
            return 1
        return 1 + math.ceil((self.calls - self.calls_left_today) / max(self.calls_left_today, 1))

    def describe(self) -> str:
        """One line for the log and the operator."""
        verdict = "fits today's budget" if self.fits_today else "does NOT fit today's budget"
        return (
            f"{self.records} records -> {self.punches} punches in {self.calls} bulkImport calls, about "
            f"{self.minutes:.1f} min at the rate limit; {self.calls_left_today} calls left today: {verdict}"
        )


def plan_backfill(
    records: int,
    *,
    punches_per_record: float = 2.0,
    punches_per_call: int = 50,
    calls_per_minute: int = 10,
    calls_left_today: int = 5000,
) -> BackfillPlan:
    """The cost of sending `records` employee-days: bulkImport calls, minutes at the limit, budget check.

    Calls are spread evenly (a lock never starts), so N calls take (N - 1) / limit minutes plus the
    last call; call it N / limit. Read-backs are not counted: a backfill with a clean ledger has none.
    """
    punches = math.ceil(records * punches_per_record)
    calls = math.ceil(punches / punches_per_call)
    return BackfillPlan(records, punches, calls, calls / calls_per_minute, calls_left_today)


class WindowPacer:
    """At most `limit` calls in any `window` seconds (plus `margin`), waiting with an injectable clock.

    Stricter than a token bucket, which lets a full bucket plus a minute's refill through in one
    window: Zoho counts calls per minute, and one call too many locks the API for minutes.
    """

    def __init__(
        self,
        limit: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        *,
        window: float = 60.0,
        margin: float = 1.0,
    ) -> None:
        self.limit, self.window, self.margin = limit, window, margin
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self.waited = 0.0

    def wait(self) -> None:
        """Block until one more call keeps within the limit, then count it as sent now."""
        with self._lock:
            while len(self._sent) >= self.limit:
                ready = self._sent[0] + self.window + self.margin
                now = self._clock()
                if now >= ready:
                    break
                self.waited += ready - now
                self._sleep(ready - now)
            self._sent.append(self._clock())

    def recent(self) -> list[float]:
        """The send times that still matter for the limit (to carry over to the next run)."""
        with self._lock:
            return list(self._sent)

    def remember(self, times: Iterable[float]) -> None:
        """Count calls made earlier (by a previous run) as sent; calls this pacer already counts stay once."""
        with self._lock:
            merged = sorted((Counter(self._sent) | Counter(times)).elements())[-self.limit :]
            self._sent.clear()
            self._sent.extend(merged)


_PACERS: dict[tuple[str, str, int], WindowPacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(
    scope: str, api: str, limit: int, clock: Callable[[], float], sleep: Callable[[float], None]
) -> WindowPacer:
    """The process-wide pacer of one API of one Zoho organisation (shared by every target instance)."""
    with _PACERS_LOCK:
        key = (scope, api, id(clock))
        pacer = _PACERS.get(key)
        if pacer is None or pacer.limit != limit:
            pacer = _PACERS[key] = WindowPacer(limit, clock, sleep)
        return pacer
