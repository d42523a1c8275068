"""The sync engine: new punches in, processed days recomputed where they changed, records delivered once.

One run, in order:

1. **Ingest** every configured source; the store keeps one copy of each punch. Processed days a source
   computed itself (the Minop cloud with `processing: cloud`) are saved as they are.
2. **Recompute** only what changed: the employee-days around new punches, and days of the range not
   computed before (a new night, a wider range). Rules or employee changes recompute the range.
   Employees whose days a source supplies are left to that source.
3. **Deliver** to each target: resume batches a crash left open; map the candidate days; compare
   with the ledger; record each batch in the store *before* sending it; push it with retries; save
   the per-record outcomes and the ledger in one transaction. A record the target refuses goes to
   the dead letters with the target's message; the rest goes on.

Payroll cut-off (docs/cutoff.md): days of a period locked for their site keep the values the period
closed with, in the store and in every target; a change to one becomes an adjustment, delivered in
the next open period to the target named by `adjustments:`. Days before the retention horizon (see
`punchbridge purge`) are history: never recomputed nor delivered.

A dry run does all the reading and computing, writes nothing anywhere and reports what it would send.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from punchbridge.config import Config
from punchbridge.config.datafiles import read_assignments, read_employees, read_leaves
from punchbridge.config.yamlfile import YamlDocument
from punchbridge.cutoff.adjustments import adjustment_problems, reposted
from punchbridge.cutoff.state import CutOff, Held
from punchbridge.errors import ConfigError, Problem
from punchbridge.mapping import apply_mapping
from punchbridge.mapping.files import load_mapping
from punchbridge.periods import PeriodLocks, period_bounds
from punchbridge.plugin_api.registry import PluginRegistry, validate_plugin_settings
from punchbridge.plugin_api.sources import SourceContext
from punchbridge.plugin_api.targets import Batch, CredentialsError, FatalTargetError, Record, Target, TransientError
from punchbridge.rules import AttendanceInputs, compute_days
from punchbridge.rules.clock import NS_PER_DAY, local_wall_ns
from punchbridge.rules.frames import DAY_COLUMNS
from punchbridge.store import Store
from punchbridge.sync.adjustments import adjustments_waiting, deliver_adjustments
from punchbridge.sync.batches import SyncReport, TargetReport, by_period, chunks, push_with_retries

__all__ = ["SyncEngine", "SyncInputs", "SyncReport", "TargetReport", "UnknownTargetError"]

_COMPUTED_CURSOR = "rules:computed"
_PUNCH_CURSOR = "rules:last_punch_id"


def _day_keys(days: pd.DataFrame) -> pd.Series:
    return days["employee_id"].astype(str) + "|" + days["work_date"].astype(str)


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _with_received_leaves(
    from_file: pd.DataFrame | None, received: pd.DataFrame, employees: pd.DataFrame
) -> pd.DataFrame | None:
    """The leaves file plus leaves approved in the cloud (`leave.approved` webhooks, kept in the store).

    The file wins: a received leave for an employee and date the file already covers is left out, so
    an operator's correction in the file is never overridden. Received leaves of employees not in the
    employees file are left out too (they have no days to apply to).
    """
    if received is None or len(received) == 0:
        return from_file
    known = set(employees["employee_id"].astype(str))
    received = received[received["employee_id"].astype(str).isin(known)]
    if from_file is not None and len(from_file):
        covered = set(zip(from_file["employee_id"].astype(str), from_file["date"].astype(str), strict=True))
        keys = zip(received["employee_id"].astype(str), received["date"].astype(str), strict=True)
        received = received.loc[np.fromiter((key not in covered for key in keys), dtype=bool, count=len(received))]
        combined = pd.concat([from_file, received[list(from_file.columns)]], ignore_index=True)
    else:
        combined = received.reset_index(drop=True)
    return combined if len(combined) else from_file


class UnknownTargetError(KeyError):
    """`--target` named a target the configuration does not have."""


@dataclass
class SyncInputs:
    """Everything a sync reads besides the store; loaded (and so checked) before anything is written."""

    employees: pd.DataFrame
    assignments: pd.DataFrame | None
    leaves: pd.DataFrame | None
    mappings: dict[str, Any]

    @classmethod
    def load(cls, config: Config, registry: PluginRegistry) -> SyncInputs:
        """Read the employee, assignment and leave files and every target's mapping."""
        employees = read_employees(config.employees, config.rules)
        mappings = {name: load_mapping(t.mapping, registry.transforms) for name, t in config.targets.items()}
        ConfigError.collect(target_column_problems(config, registry, mappings))
        return cls(
            employees=employees,
            assignments=read_assignments(config.assignments, employees, config.rules) if config.assignments else None,
            leaves=read_leaves(config.leaves, employees) if config.leaves else None,
            mappings=mappings,
        )


def target_column_problems(config: Config, registry: PluginRegistry, mappings: dict[str, Any]) -> list[Problem]:
    """What each target's `check_columns` says about its mapping's output columns (before anything is sent)."""
    problems = []
    for name, mapping in mappings.items():
        settings = config.targets[name]
        target_class = registry.targets.get(settings.plugin)
        if target_class is None:
            continue  # reported where the plugin names are checked
        raw = settings.plugin_settings()
        model = target_class.settings_model
        try:
            plugin_settings: Any = model.model_validate(raw) if model is not None else raw
        except ValueError:
            continue  # reported by the settings check, with line numbers
        columns = [f.name for f in mapping.fields]
        for text in target_class.check_columns(columns, plugin_settings):
            problems.append(
                Problem(str(settings.mapping), f"target {name!r} ({settings.plugin}): {text}", field="fields")
            )
    return problems


class SyncEngine:
    """Runs syncs for one configuration against one store."""

    def __init__(
        self,
        config: Config,
        document: YamlDocument,
        registry: PluginRegistry,
        store: Store,
        *,
        dry_run: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
        today: date | None = None,
        inputs: SyncInputs | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.config = config
        self.should_stop = should_stop or (lambda: False)
        self.document = document
        self.registry = registry
        self.store = store
        self.dry_run = dry_run
        self.progress = progress or (lambda _label, _done, _total: None)
        self.today = today or datetime.now(UTC).date()
        self._total = 0  # records to send to the current target (for progress)
        self._off_shift: list[pd.DataFrame] = []  # punches no shift window holds, from each computation
        self._covered: set[str] = set()  # employees whose days a source supplies (not computed here)
        self._source_days: list[pd.DataFrame] = []  # days sources supplied in this run: new or changed
        self._fetched_days: list[pd.DataFrame] = []  # every day sources supplied in this run
        self.rules = config.rules
        inputs = inputs or SyncInputs.load(config, registry)
        self.employees = inputs.employees
        self.assignments = inputs.assignments
        self.leaves = _with_received_leaves(inputs.leaves, store.leaves(), self.employees)
        self.mappings = inputs.mappings
        line = document.line_of(("adjustments", "target")) if config.adjustments else None
        ConfigError.collect(adjustment_problems(config, str(document.path), line))
        self.adjustments_target = config.adjustments.target if config.adjustments else None
        self.cutoff = CutOff(PeriodLocks(), {}, {})  # read from the store when a run starts

    # -- range -------------------------------------------------------------------------------------

    def resolve_range(self, date_from: date | None, date_to: date | None) -> tuple[date, date]:
        """The work dates this run covers: arguments, then `sync:` in the config, then the data."""
        date_to = date_to or self.config.sync.to or self.today - timedelta(days=1)
        date_from = date_from or self.config.sync.from_
        if date_from is None:
            first = self.store.punches_between(0, 2**62, None).head(1) if self.store.punch_count() else None
            date_from = first["instant"].iloc[0].date() if first is not None and len(first) else date_to
        horizon = self.store.retention_horizon()  # days before it were purged: never computed again
        if horizon is not None and date_from < horizon:
            date_from = horizon
        return date_from, max(date_from, date_to)

    # -- the run -----------------------------------------------------------------------------------

    def run(
        self, targets: Sequence[str] | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> SyncReport:
        """One sync: ingest, recompute what changed, deliver to `targets` (default: every enabled one)."""
        date_from, date_to = self.resolve_range(date_from, date_to)
        report = SyncReport(dry_run=self.dry_run, date_from=date_from, date_to=date_to)
        chosen = [
            name
            for name, t in self.config.targets.items()
            if (targets is None and t.enabled) or (targets and name in targets)
        ]
        unknown = sorted(set(targets or ()) - set(self.config.targets))
        if unknown:
            raise UnknownTargetError(
                f"no target named {', '.join(unknown)}; configured: {', '.join(self.config.targets)}"
            )
        run_id = None if self.dry_run else self.store.start_run("sync")
        self.registry.hook.run_started(kind="sync", targets=chosen)
        self.cutoff = CutOff.load(self.store, self.employees)
        fresh = self._ingest(report, date_from, date_to)
        changed = self._recompute(report, date_from, date_to, fresh)
        for name in chosen:
            if self.should_stop():
                report.stopped = True
                break
            if name == self.adjustments_target:
                target_report = deliver_adjustments(self, name)
            else:
                target_report = self._deliver(name, changed, date_from, date_to)
            report.targets.append(target_report)
            report.stopped = report.stopped or target_report.stopped
        report.adjustments_waiting = adjustments_waiting(self)
        summary = {
            "ingested": report.ingested,
            "days_changed": report.days_changed + report.days_new,
            "dead_lettered": report.dead_lettered,
            "stopped": report.stopped,
            "days_locked": report.days_locked,
            "adjustments_recorded": report.adjustments_recorded,
            "adjustments_waiting": report.adjustments_waiting,
            "targets": {
                t.name: {
                    "delivered": t.delivered,
                    "rejected": t.rejected,
                    "locked": t.locked,
                    "adjustments": t.adjustments,
                    "error": t.error,
                }
                for t in report.targets
            },
        }
        if run_id is not None:
            status = "failed" if report.failed else ("partial" if report.dead_lettered else "ok")
            self.store.finish_run(run_id, status, summary)
        self.registry.hook.run_finished(kind="sync", summary=summary)
        return report

    def preview_days(self, date_from: date | None = None, date_to: date | None = None) -> pd.DataFrame:
        """The processed days a sync would compute now (stored punches plus what the sources hold), in
        memory; nothing is written. For checking mappings before the first sync."""
        first, last = self.resolve_range(date_from, date_to)
        report = SyncReport(dry_run=True, date_from=first, date_to=last)
        dry, self.dry_run = self.dry_run, True
        try:
            fresh = self._ingest(report, first, last)
            computed = self._compute(None, first, last, fresh)
            return pd.concat([computed, *self._fetched_days], ignore_index=True) if self._fetched_days else computed
        finally:
            self.dry_run = dry

    def retry_dead_letters(self, target_name: str | None = None) -> SyncReport:
        """Send dead letters again exactly as recorded; still-refused ones stay, with the new message."""
        letters = self.store.dead_letters(target_name)
        report = SyncReport(dry_run=False, date_from=self.today, date_to=self.today)
        self.cutoff = CutOff.load(self.store, self.employees)
        recorded = self.store.adjustments()
        periods = {a.key: a.posting_period for a in recorded}
        periods.update({moved.key: period for moved, period in reposted(recorded, self.cutoff.locks)})
        posting = {key: period_bounds(period) for key, period in periods.items()}
        for name in sorted(set(letters["target"])):
            target_report = TargetReport(name)
            target = self._target(name)
            rows = letters[letters["target"] == name]
            records = [
                Record(key, _fields(fields), content_hash)
                for key, fields, content_hash in zip(
                    rows["record_key"], rows["fields"], rows["content_hash"], strict=True
                )
            ]
            target_report.locked = sum(self.cutoff.locked_key(r.key) for r in records)
            records = [r for r in records if not self.cutoff.locked_key(r.key)]
            try:
                target.open()
                for (period_start, period_end), chunk in by_period(records, posting):
                    batch = self.store.open_batch(name, period_start, period_end, list(chunk[0].fields), chunk)
                    self._send(target, batch, target_report)
            except (CredentialsError, FatalTargetError, TransientError) as exc:
                target_report.error = f"{type(exc).__name__}: {exc}"
            finally:
                target.close()
            report.targets.append(target_report)
        return report

    # -- 1. ingest ---------------------------------------------------------------------------------

    def _ingest(self, report: SyncReport, date_from: date, date_to: date) -> pd.DataFrame:
        """Read every source; store what is new. Returns the punches read (all of them on a dry run)."""
        context = SourceContext(self.employees, self.rules, date_from, date_to)
        read: list[pd.DataFrame] = []
        self._covered, self._source_days, self._fetched_days = set(), [], []
        for name, settings in self.config.sources.items():
            source_class = self.registry.source_class(settings.plugin)
            validated = validate_plugin_settings(
                source_class.settings_model,
                settings.plugin_settings(),
                self.document,
                ("sources", name),
                self.document.path.parent,
            )
            source = source_class(name, validated)
            self._covered.update(str(employee) for employee in source.covered_employees(context))
            cursor_name = f"source:{name}"
            # Page by page: each page's punches are stored before its cursor is saved, so a run that
            # stops half-way resumes from the last stored page (a page read twice is stored once).
            for fetched in source.fetch_pages(context, self.store.get_cursor(cursor_name)):
                if len(fetched.quarantine):
                    report.quarantined += len(fetched.quarantine)
                    if not self.dry_run:
                        self.store.add_quarantine(fetched.quarantine.rename(columns={"file": "source"}))
                if len(fetched.punches):
                    read.append(fetched.punches)
                    if not self.dry_run:
                        result = self.store.add_punches(fetched.punches, source=name)
                        report.ingested += result.inserted
                        report.duplicates += result.duplicates
                    else:
                        report.ingested += len(fetched.punches)
                if fetched.days is not None and len(fetched.days):
                    self._save_source_days(report, fetched.days)
                if not self.dry_run and fetched.cursor is not None:
                    self.store.set_cursor(cursor_name, fetched.cursor)
        return pd.concat(read, ignore_index=True) if read else pd.DataFrame(columns=["employee_id", "instant"])

    def _save_source_days(self, report: SyncReport, days: pd.DataFrame) -> None:
        """Save (or, dry, compare) days a source computed itself, `recomputed` as the source said."""
        report.days_computed += len(days)
        days = self._hold(report, days)
        changes = self._classify(days)["change"].to_numpy()
        report.days_new += int((changes == "new").sum())
        report.days_changed += int((changes == "changed").sum())
        self._fetched_days.append(days)
        self._source_days.append(days[changes != "same"])

    # -- 2. recompute ------------------------------------------------------------------------------

    def _recompute(self, report: SyncReport, date_from: date, date_to: date, fresh: pd.DataFrame) -> pd.DataFrame:
        """Compute the days that may have changed; save them. Returns the new or changed days."""
        state = _fingerprint(
            self.rules.version(), self.employees.to_json(), _frame_json(self.assignments), _frame_json(self.leaves)
        )
        if self._covered:  # who is left to a source's own processing is part of what was computed
            state = _fingerprint(state, sorted(self._covered))
        previous = json.loads(self.store.get_cursor(_COMPUTED_CURSOR) or "{}")
        same_state = previous.get("state") == state
        known_from = date.fromisoformat(previous["from"]) if same_state else None
        known_to = date.fromisoformat(previous["to"]) if same_state else None

        pieces: list[tuple[list[str] | None, date, date]] = []
        if known_from is None or known_to is None:
            pieces.append((None, date_from, date_to))
        else:
            if date_from < known_from:
                pieces.append((None, date_from, min(date_to, known_from - timedelta(days=1))))
            if date_to > known_to:
                pieces.append((None, max(date_from, known_to + timedelta(days=1)), date_to))
        last_id = int(self.store.get_cursor(_PUNCH_CURSOR) or 0)
        new_punches = fresh if self.dry_run else self.store.punches_after(last_id)
        if len(new_punches) and known_from is not None:
            employees, first, last = self._touched(new_punches)
            first, last = max(first, date_from), min(last, date_to)
            if first <= last:
                pieces.append((employees, first, last))

        changed: list[pd.DataFrame] = []
        for staff, first, last in pieces:
            days = self._compute(staff, first, last, fresh if self.dry_run else None)
            if len(days) == 0:
                continue
            report.days_computed += len(days)
            days = self._hold(report, days)
            changes = self._classify(days)
            report.days_new += int((changes["change"] == "new").sum())
            report.days_changed += int((changes["change"] == "changed").sum())
            moved = changes["change"].to_numpy() != "same"
            changed.append(days[moved])
        report.quarantined += self._record_off_shift(last_id)
        if not self.dry_run:
            self.store.set_cursor(_PUNCH_CURSOR, str(self.store.last_punch_id()))
            covered_from = min(date_from, known_from) if known_from else date_from
            covered_to = max(date_to, known_to) if known_to else date_to
            self.store.set_cursor(
                _COMPUTED_CURSOR,
                json.dumps({"state": state, "from": covered_from.isoformat(), "to": covered_to.isoformat()}),
            )
        changed += [days for days in self._source_days if len(days)]
        return pd.concat(changed, ignore_index=True) if changed else pd.DataFrame()

    def _hold(self, report: SyncReport, days: pd.DataFrame) -> pd.DataFrame:
        """The days to save: without erased employees' days, locked periods' days frozen (adjustments
        recorded for their changes); see `punchbridge.cutoff.state`."""
        held: Held = self.cutoff.hold(self.store, days, dry_run=self.dry_run)
        report.days_locked += held.frozen
        report.adjustments_recorded += len(held.adjustments)
        report.days_erased += held.erased
        return held.days

    def _record_off_shift(self, last_id: int) -> int:
        """Quarantine the punches no shift window holds, once: only those that arrived in this run."""
        found = [frame for frame in self._off_shift if len(frame)]
        self._off_shift = []
        if not found:
            return 0
        held = pd.concat(found, ignore_index=True)
        if "id" in held:
            held = held[held["id"].isna() | (held["id"] > last_id)].drop_duplicates("id")
        if len(held) and not self.dry_run:
            self.store.add_quarantine(
                pd.DataFrame(
                    {
                        "source": "rules",
                        "line": None,
                        "employee_id": held["employee_id"].astype(str),
                        "timestamp": pd.DatetimeIndex(held["instant"]).strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "device_id": held["device_id"].astype(str),
                        "direction": held["direction"].astype(object).where(held["direction"].notna(), ""),
                        "reason": "off_shift",
                        "detail": "no shift window holds this punch",
                    }
                )
            )
        return len(held)

    def _touched(self, punches: pd.DataFrame) -> tuple[list[str], date, date]:
        """The employees with new punches, and the local dates those punches may belong to (±1 day)."""
        zones = {site_id: site.timezone for site_id, site in self.rules.sites.items()}
        site_of = dict(zip(self.employees["employee_id"], self.employees["site"], strict=True))
        instants = pd.DatetimeIndex(punches["instant"]).as_unit("ns").asi8
        employee_ids = punches["employee_id"].astype(str).to_numpy()
        first_day, last_day = None, None
        for site_id, zone in zones.items():
            chosen = pd.Series(employee_ids).map(site_of).to_numpy() == site_id
            if not chosen.any():
                continue
            local_days = local_wall_ns(instants[chosen], zone) // NS_PER_DAY
            low, high = int(local_days.min()), int(local_days.max())
            first_day = low if first_day is None else min(first_day, low)
            last_day = high if last_day is None else max(last_day, high)
        epoch = date(1970, 1, 1)
        if first_day is None or last_day is None:
            return [], date.max, date.min
        touched = sorted(set(employee_ids) & set(site_of))
        return touched, epoch + timedelta(days=first_day - 1), epoch + timedelta(days=last_day + 1)

    def _compute(
        self, employees: list[str] | None, first: date, last: date, extra: pd.DataFrame | None
    ) -> pd.DataFrame:
        staff = self.employees if employees is None else self.employees[self.employees["employee_id"].isin(employees)]
        start_ns = int(pd.Timestamp(first - timedelta(days=3)).value)
        end_ns = int(pd.Timestamp(last + timedelta(days=4)).value)
        punches = self.store.punches_between(start_ns, end_ns, employees)
        if extra is not None and len(extra):
            punches = pd.concat([punches, extra[punches.columns.intersection(extra.columns)]], ignore_index=True)
        if self._covered:  # a source supplies these employees' days
            staff = staff[~staff["employee_id"].astype(str).isin(self._covered)]
            punches = punches[~punches["employee_id"].astype(str).isin(self._covered)].reset_index(drop=True)
            if len(staff) == 0:
                return pd.DataFrame(columns=list(DAY_COLUMNS))
        inputs = AttendanceInputs(punches=punches, employees=staff.reset_index(drop=True))
        if self.assignments is not None:
            inputs.assignments = self.assignments
        if self.leaves is not None:
            inputs.leaves = self.leaves
        result = compute_days(inputs, self.rules, first, last)
        self._off_shift.append(result.quarantine[result.quarantine["reason"] == "off_shift"])
        return result.days.astype(
            {
                c: object
                for c in (
                    "employee_id",
                    "work_date",
                    "site",
                    "shift",
                    "day_type",
                    "status",
                    "anomalies",
                    "rules_version",
                )
            }
        )

    def _classify(self, days: pd.DataFrame) -> pd.DataFrame:
        """Save (or, dry, compare) the days; the `change` of each: new, changed or same."""
        if len(days) == 0:  # every day was held back by the cut-off
            return pd.DataFrame({"change": pd.Series([], dtype=object)})
        if not self.dry_run:
            return self.store.save_days(days)
        stored = self.store.load_days(
            date.fromisoformat(days["work_date"].min()),
            date.fromisoformat(days["work_date"].max()),
            days["employee_id"].unique().tolist(),
        )
        hashes = dict(zip(_day_keys(stored), stored["content_hash"], strict=True))
        mine = Store.day_content_hash(days)
        keys = _day_keys(days)
        change = [
            ("new" if key not in hashes else ("same" if hashes[key] == h else "changed"))
            for key, h in zip(keys, mine, strict=True)
        ]
        return pd.DataFrame({"change": change})

    # -- 3. deliver --------------------------------------------------------------------------------

    def _target(self, name: str) -> Target:
        return self.registry.configured_target(name, self.config.targets[name], self.document)

    def _deliver(self, name: str, changed: pd.DataFrame, date_from: date, date_to: date) -> TargetReport:
        report = TargetReport(name)
        settings = self.config.targets[name]
        mapping = self.mappings[name]
        target = self._target(name)
        clean_cursor = f"deliver:{name}"
        try:
            target.open()
            if not self.dry_run:
                for batch in self.store.open_batches(name):
                    report.resumed_batches += 1
                    self._send(target, batch, report)
            backlog = self.store.get_cursor(clean_cursor) != "clean"
            days = self.store.load_days(date_from, date_to) if backlog else changed
            if self.dry_run and backlog and len(changed):
                days = pd.concat([days[~_day_keys(days).isin(_day_keys(changed))], changed], ignore_index=True)
            if not self.dry_run:
                self.store.set_cursor(clean_cursor, "dirty")
            pending = self._pending(mapping, days, name, report)
            size = min(settings.batch_size or target.max_batch_size, target.max_batch_size)
            if self.dry_run:
                report.sample = pd.DataFrame([dict(r.fields) for r in pending[:10]])
            else:
                self._total = len(pending)
                self.progress(name, 0, self._total)
                for (period_start, period_end), records in by_period(pending):
                    for chunk in chunks(records, size):
                        if self.should_stop():
                            # The batch before this one is complete and recorded; the cursor stays
                            # dirty, so the next run sends what is left.
                            report.stopped = True
                            return report
                        batch = self.store.open_batch(name, period_start, period_end, list(chunk[0].fields), chunk)
                        self._send(target, batch, report)
                self.store.set_cursor(clean_cursor, "clean")
        except (CredentialsError, FatalTargetError, TransientError) as exc:
            report.error = f"{type(exc).__name__}: {exc}"
        finally:
            target.close()
        return report

    def _quarantine_held(self, held: pd.DataFrame, name: str) -> None:
        """Quarantine the days (or adjustments) `name`'s mapping held back, once each."""
        held = self._not_yet_quarantined(held, f"target:{name}")
        self.store.add_quarantine(
            pd.DataFrame(
                {
                    "source": f"target:{name}",
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

    def _pending(self, mapping: Any, days: pd.DataFrame, name: str, report: TargetReport) -> list[Record]:
        """Map the candidate days; keep the records the target does not hold as they are now."""
        if days is None or len(days) == 0:
            return []
        canonical = days.assign(recomputed=False)
        mapped = apply_mapping(mapping, canonical, self.employees)
        report.held_back += len(mapped.held_back)
        if len(mapped.held_back) and not self.dry_run:
            self._quarantine_held(mapped.held_back, name)
        ledger = self.store.ledger(name, [r.key for r in mapped.records])
        held_hash = dict(zip(ledger["record_key"], ledger["content_hash"], strict=True))
        held_status = dict(zip(ledger["record_key"], ledger["status"], strict=True))
        locked = self.cutoff.locked(days)
        locked_keys = set(_day_keys(days[locked]) + "|day") if locked.any() else set()
        pending, resend_keys = [], set()
        for record in mapped.records:
            if record.key in locked_keys and held_hash.get(record.key, "") != record.content_hash:
                report.locked += 1  # a locked period is never rewritten, nor added to (docs/cutoff.md)
            elif record.key not in held_hash:
                report.new += 1
                pending.append(record)
            elif held_hash[record.key] == record.content_hash:
                report.unchanged += 1
            else:
                report.changed += 1
                pending.append(record)
                if held_status[record.key] == "delivered":
                    resend_keys.add(record.key)
        if "recomputed" in days.columns and days["recomputed"].astype(bool).any():
            # A source's own processing said it re-ran its rules for these days: they go out flagged too.
            by_source = set(_day_keys(days[days["recomputed"].astype(bool)]) + "|day")
            resend_keys |= by_source & {record.key for record in pending}
        if resend_keys:
            # The target already holds an older version: send these with `recomputed` true, keeping the
            # canonical hash (computed with recomputed false) so the next run compares like with like.
            flagged = days[(_day_keys(days) + "|day").isin(resend_keys)].assign(recomputed=True)
            fields = {r.key: r.fields for r in apply_mapping(mapping, flagged, self.employees).records}
            pending = [Record(r.key, fields.get(r.key, r.fields), r.content_hash) for r in pending]
        return pending

    def _not_yet_quarantined(self, held: pd.DataFrame, source: str) -> pd.DataFrame:
        """The held-back days not already in the quarantine for the same reason (a rerun adds none)."""
        known = self.store.quarantine_rows()
        known = known[known["source"] == source]
        seen = set(zip(known["employee_id"], known["timestamp"], known["reason"], strict=True))
        keep = [
            (e, d, r) not in seen
            for e, d, r in zip(held["employee_id"], held["work_date"], held["reason"], strict=True)
        ]
        return held[keep]

    def _send(self, target: Target, batch: Batch, report: TargetReport) -> None:
        self.registry.hook.before_batch(target=target, batch=batch)
        outcomes = push_with_retries(target, batch)
        self.store.complete_batch(batch.batch_id, outcomes)
        self.registry.hook.after_batch(target=target, batch=batch, outcomes=outcomes)
        report.batches += 1
        for outcome in outcomes:
            if outcome.ok:
                report.delivered += 1
                if outcome.remote_id and outcome.remote_id not in report.seen_locations:
                    report.seen_locations.add(outcome.remote_id)
                    report.locations.append(outcome.remote_id)
            else:
                report.rejected += 1
                self.registry.hook.on_dead_letter(
                    target=target.name, record_key=outcome.key, message=outcome.message or ""
                )
        self.progress(
            target.name, report.delivered + report.rejected, max(self._total, report.delivered + report.rejected)
        )


def _fields(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def _frame_json(frame: pd.DataFrame | None) -> str:
    return "" if frame is None else frame.to_json(date_format="iso")
