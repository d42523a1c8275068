"""The sync engine: new punches in, processed days recomputed where they changed, records delivered once.

One run, in order:

1. **Ingest** every configured source; the store keeps one copy of each punch. Processed days a source
   computed itself (the Minop cloud with `processing: cloud`) are saved as they are.
2. **Recompute** only what changed: the employee-days around new punches, and days of the range not
   computed before (a new night, a wider range). Rules or employee changes recompute the range.
   Employees whose days a source supplies are left to that source (steps 1 and 2:
   `punchbridge.sync.recompute`).
3. **Deliver** to the targets, `sync.concurrency` of them at a time (`punchbridge.sync.parallel`),
   each through a `punchbridge.sync.delivery.Delivery`, holding the target's delivery lock (another
   process delivering to it: wait up to `lock_wait` seconds, else nothing is sent to it and its
   report says who holds it; the other targets go on); resume batches a crash
   left open; map the candidate days; compare with the ledger (`punchbridge.sync.diff`); record each
   batch in the store *before* sending it; push it with retries; save the per-record outcomes and
   the ledger in one transaction. A record the target refuses goes to the dead letters with the
   target's message; the rest goes on.

Payroll cut-off (docs/cutoff.md): days of a period locked for their site keep the values the period
closed with, in the store and in every target; a change to one becomes an adjustment, delivered in
the next open period to the target named by `adjustments:` (`punchbridge.sync.adjustments`). Days
before the retention horizon (see `punchbridge purge`) are history: never recomputed nor delivered.

`retry_dead_letters` (`punchbridge dlq retry`) sends dead letters again through the same delivery.
Each run fires the `run_started` and `run_finished` hooks once (kinds `sync` and `retry`), also when
it fails. A dry run does all the reading and computing, writes nothing anywhere and reports what it
would send.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from punchbridge.config import Config
from punchbridge.config.yamlfile import YamlDocument
from punchbridge.cutoff.adjustments import adjustment_problems, reposted
from punchbridge.cutoff.state import CutOff
from punchbridge.errors import ConfigError
from punchbridge.periods import PeriodLocks, period_bounds
from punchbridge.plugin_api.registry import PluginRegistry
from punchbridge.plugin_api.targets import Record
from punchbridge.store import Store
from punchbridge.store.reconcile import DELIVERY_CURSOR
from punchbridge.sync.adjustments import adjustments_waiting, deliver_adjustments
from punchbridge.sync.delivery import Delivery, Outgoing
from punchbridge.sync.diff import day_keys, records_to_send
from punchbridge.sync.errors import UnknownTargetError
from punchbridge.sync.fingerprints import TARGET_EMPLOYEES_CURSOR, TARGET_INPUTS_CURSOR, target_inputs_digest
from punchbridge.sync.inputs import SyncInputs, target_column_problems, with_received_leaves
from punchbridge.sync.open_gate import OpenDayGate, closing_rules
from punchbridge.sync.parallel import deliver_each
from punchbridge.sync.quiet import finish_failed, run_status
from punchbridge.sync.recompute import DayComputation
from punchbridge.sync.report import SyncReport, TargetReport
from punchbridge.sync.scope import chosen_targets, resolve_range
from punchbridge.sync.stored import employee_of_key, zones_of_employees

__all__ = ["SyncEngine", "SyncInputs", "SyncReport", "TargetReport", "UnknownTargetError", "target_column_problems"]


class SyncEngine:
    """Runs syncs (and dead-letter retries) for one configuration against one store."""

    def __init__(
        self,
        config: Config,
        document: YamlDocument,
        registry: PluginRegistry,
        store: Store,
        *,
        dry_run: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
        reading: Callable[[str, int, int], None] | None = None,
        today: date | None = None,
        inputs: SyncInputs | None = None,
        should_stop: Callable[[], bool] | None = None,
        now: datetime | None = None,
        lock_wait: float = 0.0,
    ) -> None:
        self.config = config
        self.lock_wait = lock_wait
        self.should_stop = should_stop or (lambda: False)
        self.document = document
        self.registry = registry
        self.store = store
        self.dry_run = dry_run
        self.progress = progress or (lambda _label, _done, _total: None)
        #: told after each page a source gives: (source, punches read so far, 0: the total is not known)
        self.reading = reading or (lambda _label, _done, _total: None)
        self.today = today or datetime.now(UTC).date()
        #: the instant open days are judged at: a day whose shift window is still open is today's
        self.now = now or datetime.now(UTC)
        self.rules = config.rules
        inputs = inputs or SyncInputs.load(config, registry)
        self.employees = inputs.employees
        self.assignments = inputs.assignments
        self.leaves = with_received_leaves(inputs.leaves, store.leaves(), self.employees)
        self.mappings = inputs.mappings
        line = document.line_of(("adjustments", "target")) if config.adjustments else None
        ConfigError.collect(adjustment_problems(config, str(document.path), line))
        self.adjustments_target = config.adjustments.target if config.adjustments else None
        self.cutoff = CutOff(PeriodLocks(), {}, {})  # read from the store when a run starts
        self._days: DayComputation | None = None  # this run's computation (closes open days too)
        self._rows: dict[str, str] | None = None  # the employees file's rows as digests (`_employee_rows`)

    # -- range and targets -------------------------------------------------------------------------

    def resolve_range(
        self, date_from: date | None, date_to: date | None, *, also_first_ns: int | None = None
    ) -> tuple[date, date]:
        """The work dates this run covers (`punchbridge.sync.scope.resolve_range`)."""
        return resolve_range(
            self.config, self.document, self.store, self.today, date_from, date_to, also_first_ns=also_first_ns
        )

    def chosen_targets(self, targets: Sequence[str] | None) -> list[str]:
        """The targets a run serves, in configuration order: `targets`, or every enabled one.

        UnknownTargetError (nothing is written) when `targets` names one the configuration lacks.
        """
        return chosen_targets(self.config, self.document, targets)

    # -- the run -----------------------------------------------------------------------------------

    def run(
        self, targets: Sequence[str] | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> SyncReport:
        """One sync: ingest, recompute what changed, deliver to `targets` (default: every enabled one)."""
        asked_from = date_from
        date_from, date_to = self.resolve_range(date_from, date_to)
        chosen = self.chosen_targets(targets)
        report = SyncReport(dry_run=self.dry_run, date_from=date_from, date_to=date_to)
        run_id = None if self.dry_run else self.store.start_run("sync")
        self.registry.hook.run_started(kind="sync", targets=chosen)
        try:
            self._sync(report, chosen, date_from, date_to, from_data=asked_from is None and not self.config.sync.from_)
        except BaseException as exc:
            self._finish_failed("sync", run_id, report.summary(), exc)
            raise
        summary = report.summary()
        if run_id is not None:
            self.store.finish_run(run_id, run_status(report), summary)
        self.registry.hook.run_finished(kind="sync", summary=summary)
        return report

    def _sync(
        self, report: SyncReport, chosen: list[str], date_from: date, date_to: date, *, from_data: bool = False
    ) -> None:
        self.cutoff = CutOff.load(self.store, self.employees)
        days = self._days = self._computation(dry_run=self.dry_run)
        fresh = days.ingest(report, date_from, date_to)
        if from_data and len(fresh):
            # The range starts at the earliest punch, and that may be one this run just read: the first
            # sync of a customer without `sync: from` covers their whole history, not only yesterday.
            earliest = int(pd.Timestamp(fresh["instant"].min()).value)
            date_from, _ = self.resolve_range(None, date_to, also_first_ns=earliest)
            report.date_from = date_from
        changed = days.recompute(report, date_from, date_to, fresh)
        # A run for some targets only (`--target`) changed days the others were not sent: their next
        # delivery must look at every stored day, though the run that makes it finds nothing new.
        for name in self.config.targets:
            if name not in chosen:
                self._not_delivered(name, changed)

        def deliver(name: str) -> TargetReport:
            if name == self.adjustments_target:
                return deliver_adjustments(self.delivery(name), self.mappings[name], self.employees, self.cutoff.locks)
            return self._deliver_days(name, changed, date_from, date_to)

        done = deliver_each(chosen, deliver, concurrency=self.target_concurrency(), should_stop=self.should_stop)
        for skipped in done.not_started:
            self._not_delivered(skipped, changed)
        report.targets.extend(done.reports)
        report.stopped = done.stopped or any(t.stopped for t in done.reports)
        done.raise_error()
        report.adjustments_waiting = adjustments_waiting(self.store, self.adjustments_target)

    def target_concurrency(self) -> int:
        """How many targets this run delivers to at once: `sync.concurrency`, or 1 on an in-memory store
        (each thread would see a database of its own)."""
        return self.config.sync.concurrency if self.store.shared_across_threads else 1

    def preview_days(self, date_from: date | None = None, date_to: date | None = None) -> pd.DataFrame:
        """The processed days a sync would compute now (stored punches plus what the sources hold), in
        memory; nothing is written. For checking mappings before the first sync."""
        first, last = self.resolve_range(date_from, date_to)
        return self._computation(dry_run=True).preview(first, last)

    def _computation(self, *, dry_run: bool) -> DayComputation:
        return DayComputation(
            self.config,
            self.document,
            self.registry,
            self.store,
            employees=self.employees,
            assignments=self.assignments,
            leaves=self.leaves,
            dry_run=dry_run,
            cutoff=self.cutoff,
            reading=self.reading,
        )

    # -- delivery ----------------------------------------------------------------------------------

    def delivery(self, name: str) -> Delivery:
        """A delivery to target `name` for this run (dry run, progress and stop requests as the engine's)."""
        return Delivery.to(
            name,
            self.config,
            self.document,
            self.registry,
            self.store,
            dry_run=self.dry_run,
            progress=self.progress,
            should_stop=self.should_stop,
            lock_wait=self.lock_wait,
        )

    def _not_delivered(self, name: str, changed: pd.DataFrame) -> None:
        """Make the next delivery to `name` look at every stored day: this run changed days it did not send."""
        if not self.dry_run and len(changed) and name != self.adjustments_target:
            self.store.set_cursor(DELIVERY_CURSOR.format(target=name), "dirty")

    def _deliver_days(self, name: str, changed: pd.DataFrame, date_from: date, date_to: date) -> TargetReport:
        """Deliver the processed days `name` does not hold as they are now.

        The target's delivery cursor says whether the last delivery finished: when it did, only the
        days this run changed are candidates; otherwise every stored day of the range is (a run that
        stopped or failed, a reconciliation that marked records not held).
        """
        delivery = self.delivery(name)
        cursor = DELIVERY_CURSOR.format(target=name)
        # This run's own "dirty": only this run may turn it into "clean". A run that changed days it
        # could not send (its target busy, a stop) writes a plain "dirty" meanwhile, which stays.
        mine = f"dirty:{uuid.uuid4().hex}"
        chosen: list[bool] = []
        marked: list[bool] = []
        # What the records are made from besides the days (settings, mapping, lookup files): changed
        # since the last finished delivery, every stored day is compared with the target; an employee
        # whose row of the employees file changed (a department move), their days. A store that never
        # kept these (a first delivery, an older version) keeps them from this run on.
        inputs_cursor = TARGET_INPUTS_CURSOR.format(target=name)
        inputs = target_inputs_digest(self.config, name)
        kept_inputs = self.store.get_cursor(inputs_cursor)
        rows_cursor = TARGET_EMPLOYEES_CURSOR.format(target=name)
        rows = self._employee_rows()
        kept_rows = json.loads(self.store.get_cursor(rows_cursor) or "null")
        moved = (
            []
            if kept_rows is None
            else sorted(k for k in rows.keys() | kept_rows.keys() if rows.get(k) != kept_rows.get(k))
        )

        gate = self.open_day_gate(name)

        def choose() -> Outgoing:
            chosen.append(True)
            backlog = self.store.get_cursor(cursor) != "clean" or kept_inputs not in (None, inputs)
            days = self.store.load_days(date_from, date_to) if backlog else changed
            if not backlog and moved:
                theirs = self.store.load_days(date_from, date_to, moved)
                days = pd.concat([theirs[~day_keys(theirs).isin(day_keys(changed))], changed], ignore_index=True)
            elif self.dry_run and backlog and len(changed):
                days = pd.concat([days[~day_keys(days).isin(day_keys(changed))], changed], ignore_index=True)
            days = gate.with_watched(days)
            # A quiet night (clean before, no day to look at) leaves the cursor "clean" unwritten.
            if not self.dry_run and (backlog or len(days)):
                self.store.set_cursor(cursor, mine)
                marked.append(True)
            recomputed = set(day_keys(changed) + "|day") if len(changed) else set()
            records = records_to_send(
                delivery, self.mappings[name], days, self.employees, self.cutoff, gate, recomputed
            )
            gate.save()
            return Outgoing(records)

        report = delivery.deliver(choose)
        if not chosen:  # busy, stopped while waiting for the lock, or the target could not be opened
            self._not_delivered(name, changed)
        elif not self.dry_run:
            finished = report.error is None and not report.stopped
            if marked:
                self.store.replace_cursor(cursor, mine, "clean" if finished else "dirty")
            elif not finished:  # as above, from the "clean" this run left unwritten
                self.store.replace_cursor(cursor, "clean", "dirty")
            if finished and kept_inputs != inputs:
                self.store.set_cursor(inputs_cursor, inputs)
            if finished and kept_rows != rows:
                self.store.set_cursor(rows_cursor, json.dumps(rows, sort_keys=True))
        return report

    def _employee_rows(self) -> dict[str, str]:
        """Each employee's row of the employees file as a short digest (what their records' fields
        such as department or name are mapped from), computed once a run."""
        if self._rows is None:
            employees = self.employees.astype(str)
            hashes = pd.util.hash_pandas_object(employees, index=False)
            self._rows = {str(e): format(int(h), "x") for e, h in zip(employees["employee_id"], hashes, strict=True)}
        return self._rows

    def open_day_gate(self, name: str) -> OpenDayGate:
        """The `open_days:` gate of target `name` for this run (punchbridge.sync.open_gate)."""
        computation = self._days or self._computation(dry_run=True)

        def recompute(staff: list[str], first: date, last: date) -> pd.DataFrame:
            return computation.compute(staff, first, last, None, rules=closing_rules(self.rules))

        return OpenDayGate(
            name, self.config.targets[name].open_days, self.rules, self.store, recompute,
            now_ns=int(self.now.timestamp() * 1e9), dry_run=self.dry_run,
        )  # fmt: skip

    # -- dead letters ------------------------------------------------------------------------------

    def retry_dead_letters(self, target_name: str | None = None) -> SyncReport:
        """Send dead letters again exactly as recorded; still-refused ones stay, with the new message.

        Dead letters of days in locked periods are not sent (counted as `locked`); those of a target
        no longer configured are reported with an error. UnknownTargetError when `target_name` is
        not a configured target.
        """
        if target_name is not None:
            self.chosen_targets([target_name])
        letters = self.store.dead_letters(target_name)
        names = sorted(set(letters["target"]))
        report = SyncReport(dry_run=self.dry_run, date_from=self.today, date_to=self.today)
        self.registry.hook.run_started(kind="retry", targets=names)
        try:
            self.cutoff = CutOff.load(self.store, self.employees)
            posting = self._posting_periods()
            for name in names:
                if self.should_stop():
                    report.stopped = True
                    break
                target_report = self._retry_target(name, letters[letters["target"] == name], posting)
                report.targets.append(target_report)
                report.stopped = report.stopped or target_report.stopped
        except BaseException as exc:
            self._finish_failed("retry", None, report.retry_summary(), exc)
            raise
        self.registry.hook.run_finished(kind="retry", summary=report.retry_summary())
        return report

    def _posting_periods(self) -> dict[str, tuple[date, date]]:
        """The posting period of each recorded adjustment, moved past periods locked since it was recorded."""
        recorded = self.store.adjustments()
        periods = {a.key: a.posting_period for a in recorded}
        periods.update({moved.key: period for moved, period in reposted(recorded, self.cutoff.locks)})
        return {key: period_bounds(period) for key, period in periods.items()}

    def _retry_target(self, name: str, letters: pd.DataFrame, posting: Mapping[str, tuple[date, date]]) -> TargetReport:
        if name not in self.config.targets:
            return TargetReport(
                name,
                error=f"target {name!r} is no longer configured: configure it again, or drop its dead letters "
                "(punchbridge dlq drop)",
            )
        delivery = self.delivery(name)
        zones = zones_of_employees(self.employees, delivery.site_zones)

        def choose() -> Outgoing:
            # Dead letters hold the fields as they were sent (the target's stored form); the zone is
            # their employee's site's, as when they were first sent.
            records = [
                Record(key, _fields(fields), content_hash, zones.get(employee_of_key(key)))
                for key, fields, content_hash in zip(
                    letters["record_key"], letters["fields"], letters["content_hash"], strict=True
                )
            ]
            delivery.report.locked = sum(self.cutoff.locked_key(r.key) for r in records)
            return Outgoing([r for r in records if not self.cutoff.locked_key(r.key)], posting)

        return delivery.deliver(choose)

    # -- how a run ends ----------------------------------------------------------------------------

    def _finish_failed(self, kind: str, run_id: int | None, summary: Mapping[str, Any], exc: BaseException) -> None:
        """Record a run that raised as failed, with its error, and fire `run_finished` (once) for it."""
        finish_failed(self.store, self.registry, kind, run_id, dict(summary), exc)


def _fields(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)
