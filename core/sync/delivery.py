"""Delivery to one target in one run: the one path every record takes to a target.

The days of a sync, the adjustments of locked periods, `punchbridge dlq retry` and
`punchbridge reconcile --repair` all send through a `Delivery`:

    delivery = Delivery.to("payroll", config, document, registry, store, should_stop=stop)
    report = delivery.deliver(lambda: Outgoing(records))

What it guarantees:

- **A batch is recorded before it is sent.** Its records (as stored, read back from JSON), columns
  and `seq` are in the store before the target sees them. A batch a crashed run left open is sent
  first, before anything new, as it was recorded: a resend after a crash gives the same batch id,
  seq and bytes, so a target that names files by seq or keys writes by record key writes nothing twice.
- **Batches** hold at most the target's batch size (the smaller of the configured `batch_size` and
  the plugin's `max_batch_size`) and one payroll period each: the work date's month, or for an
  adjustment its posting period.
- **Retries** of transient failures are bounded in attempts and time, with full jitter, honouring
  `Retry-After` (`punchbridge.sync.batches.push_with_retries`).
- **A batch's outcomes** (ledger rows and dead letters) are saved in one transaction before the next
  batch is cut; a record the target refuses becomes a dead letter and the rest goes on.
- **Hooks**: `before_batch` (the batch is recorded), `after_batch` (its outcomes are saved) and
  `on_dead_letter` (per refused record) fire for every batch, resumed ones included.
- **Stopping**: `should_stop` is asked before each new batch; the batch in flight always finishes.
- **Errors**: credentials, fatal and exhausted transient errors end this target's delivery and
  become `report.error`; what was done stays done. The target is closed in every case.
- **Dry run**: the target is opened (settings checked) but nothing is sent nor written; the report
  holds the first records that would be sent (`report.sample`).
- **One delivery at a time per target**: `deliver` holds the target's delivery lock in the store
  (`punchbridge.store.locks`, docs/operations.md) from before the crashed run's batches are resumed
  until the target is closed, so two processes never send to one target at once, whichever paths
  they take. A lock held elsewhere is waited for up to `lock_wait` seconds (default 0: not at all);
  then nothing is sent and `report.busy` names the holder. Different targets never wait for each
  other; a dry run takes no lock. A lock lost while held (its heartbeat stalled past the stale
  limit and another process took it) stops the delivery before the next batch (`report.error`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from punchbridge.config import Config
from punchbridge.config.yamlfile import YamlDocument
from punchbridge.plugin_api.registry import PluginRegistry
from punchbridge.plugin_api.targets import Batch, CredentialsError, FatalTargetError, Record, Target, TransientError
from punchbridge.store import Store
from punchbridge.store.locks import LockBusyError, StoreLock, delivery_advisory_key
from punchbridge.sync.batches import by_period, chunks, push_with_retries
from punchbridge.sync.report import TargetReport

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SAMPLE_SIZE", "Delivery", "Outgoing"]

#: How many records a dry run shows per target.
SAMPLE_SIZE = 10
log = logging.getLogger("punchbridge.sync")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Outgoing:
    """The records a target should receive in this run, and the period each batch belongs to."""

    records: Sequence[Record]
    #: record key -> posting period, for adjustments; other records go in their work date's month
    posting: Mapping[str, tuple[date, date]] = field(default_factory=dict)


class Delivery:
    """Sends records to one target for one run (see the module docstring); `report` says what happened."""

    def __init__(
        self,
        name: str,
        target: Target,
        store: Store,
        registry: PluginRegistry,
        *,
        batch_size: int | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        site_zones: Mapping[str, str] | None = None,
        lock_wait: float = 0.0,
    ) -> None:
        self.name = name
        self.target = target
        self.store = store
        self.registry = registry
        self.batch_size = min(batch_size or target.max_batch_size, target.max_batch_size)
        self.dry_run = dry_run
        self.progress = progress or (lambda _name, _done, _total: None)
        self.should_stop = should_stop or (lambda: False)
        #: site id -> IANA zone: each record carries its day's site zone (`Record.timezone`)
        self.site_zones: Mapping[str, str] = site_zones or {}
        self.lock_wait = lock_wait
        self.report = TargetReport(name)
        self._total = 0  # records to send in this delivery (for progress)
        self._lock: StoreLock | None = None

    @classmethod
    def to(
        cls,
        name: str,
        config: Config,
        document: YamlDocument,
        registry: PluginRegistry,
        store: Store,
        **options: Any,
    ) -> Delivery:
        """A delivery to the configured target `name`, with its plugin's validated settings and batch size.

        `options` are those of the constructor (dry_run, progress, should_stop, lock_wait).
        """
        settings = config.targets[name]
        target = registry.configured_target(name, settings, document)
        zones = {site: str(details.timezone) for site, details in config.sites.items()}
        return cls(name, target, store, registry, batch_size=settings.batch_size, site_zones=zones, **options)

    def deliver(self, choose: Callable[[], Outgoing]) -> TargetReport:
        """Take the target's delivery lock, open the target, resume open batches, send what `choose`
        returns, close the target, give the lock back.

        `choose` runs once the target is open and the crashed run's batches are sent; it may count
        into `report` and quarantine held-back rows (`quarantine_held`). On a dry run nothing is sent
        (and no lock taken): the report gets a sample of the records instead. When another process
        holds the lock past `lock_wait`, nothing is done and `report.busy` says who holds it.
        """
        if not self.dry_run and not self._take_lock():
            return self.report
        try:
            self.target.open()
            if not self.dry_run:
                self.resume()
            outgoing = choose()
            if self.dry_run:
                import pandas as pd  # here: a night with nothing to send does not load it

                self.report.sample = pd.DataFrame([dict(r.fields) for r in outgoing.records[:SAMPLE_SIZE]])
            else:
                self.send(outgoing)
        except (CredentialsError, FatalTargetError, TransientError) as exc:
            self.report.error = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                self.target.close()
            finally:
                self._give_back_lock()
        return self.report

    def _take_lock(self) -> bool:
        """Hold this target's delivery lock; False (with `report.busy` or `report.stopped`) when not."""
        lock = StoreLock(
            self.store,
            "delivery",
            self.name,
            advisory_key=delivery_advisory_key(self.name),
            busy=_refusal,
            what=f"the delivery lock of target {self.name!r}",
        )

        def waiting(holder: dict[str, Any] | None) -> None:
            log.warning(
                "target %r: another process is delivering to it (%s); waiting up to %g s for it to finish",
                self.name,
                lock.describe(holder),
                self.lock_wait,
            )

        try:
            if not lock.acquire(self.lock_wait, self.should_stop, on_wait=waiting):
                self.report.stopped = True  # asked to stop while waiting: nothing was sent
                return False
        except LockBusyError as exc:
            self.report.busy = str(exc)
            return False
        lock.start_heartbeat()
        self._lock = lock
        return True

    def _give_back_lock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is None:
            return
        lock.release()
        if lock.lost and self.report.error is None:
            self.report.error = (
                f"lost the delivery lock of target {self.name!r} ({lock.lost_reason}): stopped before the "
                "next batch so that nothing is sent twice; the next run sends the rest"
            )

    def _stopping(self) -> bool:
        """A stop was asked for, or the delivery lock was lost: no new batch."""
        return self.should_stop() or (self._lock is not None and self._lock.lost)

    def resume(self) -> None:
        """Send the batches a crashed or stopped run recorded but did not complete, as recorded."""
        for batch in self.store.open_batches(self.name):
            self.report.resumed_batches += 1
            self._send(batch)

    def send(self, outgoing: Outgoing) -> None:
        """Cut `outgoing` into batches by period and size; record and send each (stops when asked)."""
        self._total = len(outgoing.records)
        self.progress(self.name, 0, self._total)
        for (period_start, period_end), records in by_period(outgoing.records, dict(outgoing.posting)):
            for chunk in chunks(records, self.batch_size):
                if self._stopping():
                    # The batches before this one are complete and recorded; what is left is sent
                    # by the next run (its days are still pending against the ledger).
                    self.report.stopped = True
                    return
                batch = self.store.open_batch(self.name, period_start, period_end, list(chunk[0].fields), chunk)
                self._send(batch)

    def quarantine_held(self, held: pd.DataFrame) -> None:
        """Count the days (or adjustments) the mapping held back; quarantine each once (not on a dry run).

        `held` has the columns employee_id, work_date, reason and detail (`MappingResult.held_back`).
        """
        self.report.held_back += len(held)
        for reason, count in held["reason"].value_counts().items():
            self.report.held_reasons[str(reason)] = self.report.held_reasons.get(str(reason), 0) + int(count)
        self._quarantine(held)

    def quarantine_open(self, held: pd.DataFrame) -> None:
        """Count the open days held back (`punchbridge.sync.open_days`); quarantine each once, reason
        `missing_check_out` (not on a dry run). `held` has the columns of `quarantine_held`."""
        self.report.held_open += len(held)
        self._quarantine(held)

    def _quarantine(self, held: pd.DataFrame) -> None:
        import pandas as pd

        if len(held) == 0 or self.dry_run:
            return
        source = f"target:{self.name}"
        held = self._not_yet_quarantined(held, source)
        self.store.add_quarantine(
            pd.DataFrame(
                {
                    "source": source,
                    "line": None,
                    "employee_id": held["employee_id"],
                    "timestamp": held["work_date"],
                    "device_id": "",
                    "direction": "",
                    "reason": held["reason"],
                    "detail": held["detail"],
                }
            )
        )

    def _not_yet_quarantined(self, held: pd.DataFrame, source: str) -> pd.DataFrame:
        """The held-back rows not already in the quarantine for the same reason (a rerun adds none)."""
        known = self.store.quarantine_rows()
        known = known[known["source"] == source]
        seen = set(zip(known["employee_id"], known["timestamp"], known["reason"], strict=True))
        keep = [
            (e, d, r) not in seen
            for e, d, r in zip(held["employee_id"], held["work_date"], held["reason"], strict=True)
        ]
        return held[keep]

    def _send(self, batch: Batch) -> None:
        """Push one recorded batch, save its outcomes, fire the batch hooks, count and report progress."""
        hook = self.registry.hook
        batch = self._with_remote_ids(batch)
        hook.before_batch(target=self.target, batch=batch)
        outcomes = push_with_retries(self.target, batch)
        self.store.complete_batch(batch.batch_id, outcomes)
        hook.after_batch(target=self.target, batch=batch, outcomes=outcomes)
        report = self.report
        report.batches += 1
        for outcome in outcomes:
            if outcome.ok:
                report.delivered += 1
                if outcome.remote_id and outcome.remote_id not in report.seen_locations:
                    report.seen_locations.add(outcome.remote_id)
                    report.locations.append(outcome.remote_id)
            else:
                report.rejected += 1
                hook.on_dead_letter(target=self.name, record_key=outcome.key, message=outcome.message or "")
        done = report.delivered + report.rejected
        self.progress(self.name, done, max(self._total, done))

    def _with_remote_ids(self, batch: Batch) -> Batch:
        """`batch` with each record's `remote_id` from the ledger (what this target said it holds for it)."""
        if not batch.records:
            return batch
        ledger = self.store.ledger(self.name, [record.key for record in batch.records])
        known = {
            key: remote
            for key, remote in zip(ledger["record_key"], ledger["remote_id"], strict=True)
            if isinstance(remote, str) and remote
        }
        if not known:
            return batch
        records = [replace(r, remote_id=known.get(r.key)) for r in batch.records]
        return replace(batch, records=records)


def _refusal(lock: StoreLock, holder: dict[str, Any] | None) -> LockBusyError:
    return LockBusyError(
        f"target {lock.name!r}: another process is delivering to it: {lock.describe(holder)}. Nothing was sent "
        f"to it by this run: run again once that one is done, or wait for it (--wait SECONDS); "
        f"{lock.release_hint()}",
        holder,
    )
