"""How the sync engine cuts records into batches (per payroll period and size) and pushes one batch
with bounded retries; `punchbridge.sync.delivery` drives them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta

from punchbridge.plugin_api.retries import RETRY_ATTEMPTS, RETRY_TIMEOUT_SECONDS, retry_wait
from punchbridge.plugin_api.targets import Batch, FatalTargetError, Outcome, Record, Target

__all__ = ["RETRY_ATTEMPTS", "RETRY_TIMEOUT_SECONDS", "by_period", "chunks", "period_of", "push_with_retries"]


def period_of(work_date: str) -> tuple[date, date]:
    """The payroll period (calendar month) a work date belongs to."""
    day = date.fromisoformat(work_date)
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def push_with_retries(target: Target, batch: Batch) -> list[Outcome]:
    """Push one batch; retry transient failures with full jitter, honouring Retry-After, capped (the
    policy of `punchbridge.plugin_api.retries`: a login inside the push that ran out of retries is not
    retried again)."""
    import stamina  # here: a night with nothing to send does not load it

    for attempt in stamina.retry_context(on=retry_wait, attempts=RETRY_ATTEMPTS, timeout=RETRY_TIMEOUT_SECONDS):
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
