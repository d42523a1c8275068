"""The sync engine's reports, and how it cuts records into batches and pushes them (with retries)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
import stamina

from punchbridge.plugin_api.targets import Batch, FatalTargetError, Outcome, Record, Target, TransientError

__all__ = ["RETRY_ATTEMPTS", "RETRY_TIMEOUT_SECONDS", "SyncReport", "TargetReport"]

RETRY_ATTEMPTS = 5
RETRY_TIMEOUT_SECONDS = 300.0


@dataclass
class TargetReport:
    """What happened for one target."""

    name: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    held_back: int = 0
    delivered: int = 0
    rejected: int = 0
    resumed_batches: int = 0
    batches: int = 0
    locations: list[str] = field(default_factory=list)
    seen_locations: set[str] = field(default_factory=set, repr=False)  # `locations` as a set: O(1) membership
    error: str | None = None
    sample: pd.DataFrame | None = None
    stopped: bool = False  # a stop was requested before every pending batch was sent
    locked: int = 0  # new or changed records of days in locked periods: not sent (docs/cutoff.md)
    adjustments: int = 0  # adjustment records to send (the `adjustments:` target only)


@dataclass
class SyncReport:
    """What a sync run did (or, for a dry run, would do)."""

    dry_run: bool
    date_from: date
    date_to: date
    ingested: int = 0
    duplicates: int = 0
    quarantined: int = 0
    days_computed: int = 0
    days_new: int = 0
    days_changed: int = 0
    targets: list[TargetReport] = field(default_factory=list)
    stopped: bool = False  # a stop was requested (SIGTERM): the batch in flight finished, the rest waits
    days_locked: int = 0  # days of locked periods whose new computation differs: kept as they were
    adjustments_recorded: int = 0  # adjustments recorded in this run (would be, on a dry run)
    adjustments_waiting: int = 0  # adjustments not yet delivered after this run
    days_erased: int = 0  # computed days of erased employees, left out

    @property
    def dead_lettered(self) -> int:
        """Records refused by a target in this run."""
        return sum(t.rejected for t in self.targets)

    @property
    def failed(self) -> bool:
        """True when a target could not be served (credentials, fatal error, retries exhausted)."""
        return any(t.error for t in self.targets)


def period_of(work_date: str) -> tuple[date, date]:
    """The payroll period (calendar month) a work date belongs to."""
    day = date.fromisoformat(work_date)
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def push_with_retries(target: Target, batch: Batch) -> list[Outcome]:
    """Push one batch; retry transient failures with full jitter, honouring Retry-After, capped."""

    def backoff(exc: BaseException) -> bool | float:
        if isinstance(exc, TransientError):
            return float(exc.retry_after) if exc.retry_after is not None else True
        return False

    for attempt in stamina.retry_context(on=backoff, attempts=RETRY_ATTEMPTS, timeout=RETRY_TIMEOUT_SECONDS):
        with attempt:
            outcomes = target.push(batch)
    keys = {record.key for record in batch.records}
    answered = {outcome.key for outcome in outcomes}
    if answered != keys:
        missing = sorted(keys - answered)[:5]
        raise FatalTargetError(
            f"{target.name} answered {len(answered)} of {len(keys)} records (missing e.g. {missing})"
        )
    return outcomes


def by_period(
    records: Sequence[Record], posting: dict[str, tuple[date, date]] | None = None
) -> Iterator[tuple[tuple[date, date], list[Record]]]:
    """Records grouped by payroll period: their day's, or for an adjustment its posting period."""
    groups: dict[tuple[date, date], list[Record]] = {}
    posting = posting or {}
    for record in records:
        period = posting.get(record.key) or period_of(record.key.rsplit("|", 2)[1])
        groups.setdefault(period, []).append(record)
    yield from sorted(groups.items())


def chunks(records: list[Record], size: int) -> Iterator[list[Record]]:
    """`records` in consecutive chunks of at most `size`."""
    for start in range(0, len(records), size):
        yield records[start : start + size]
