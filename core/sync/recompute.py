"""Steps 1 and 2 of a sync: ingest every source, then recompute the processed days that may have changed.

**Ingest**: each source is read page by page; the store keeps one copy of each punch. Processed days
a source computed itself (the Minop cloud with `processing: cloud`) are saved as they are, and the
employees that source covers are left to it.

**Recompute** only what changed: the employee-days around new punches, and days of the range not
computed before (a new night, a wider range). A change of rules, employees, assignments or leaves
recomputes the range. Days of locked periods keep the values the period closed with (adjustments
are recorded for their changes, `punchbridge.cutoff.state`); erased employees' days are left out.

On a dry run everything is read and computed and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, timedelta

import pandas as pd

from punchbridge.config import Config
from punchbridge.config.yamlfile import YamlDocument
from punchbridge.cutoff.state import CutOff, Held
from punchbridge.periods import PeriodLocks
from punchbridge.plugin_api.registry import PluginRegistry, validate_plugin_settings
from punchbridge.plugin_api.sources import SourceContext
from punchbridge.rules import AttendanceInputs, compute_days
from punchbridge.rules.clock import NS_PER_DAY, local_wall_ns
from punchbridge.rules.frames import DAY_COLUMNS
from punchbridge.rules.settings import RuleSet
from punchbridge.store import Store
from punchbridge.sync.diff import day_keys
from punchbridge.sync.report import SyncReport

__all__ = ["DayComputation"]

_COMPUTED_CURSOR = "rules:computed"
_PUNCH_CURSOR = "rules:last_punch_id"


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _frame_json(frame: pd.DataFrame | None) -> str:
    return "" if frame is None else frame.to_json(date_format="iso")


class DayComputation:
    """Ingest and recomputation for one configuration and store (the sync engine holds one per run)."""

    def __init__(
        self,
        config: Config,
        document: YamlDocument,
        registry: PluginRegistry,
        store: Store,
        *,
        employees: pd.DataFrame,
        assignments: pd.DataFrame | None,
        leaves: pd.DataFrame | None,
        dry_run: bool = False,
        cutoff: CutOff | None = None,
        reading: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.config = config
        self.document = document
        self.registry = registry
        self.store = store
        self.rules = config.rules
        self.employees = employees
        self.assignments = assignments
        self.leaves = leaves
        self.dry_run = dry_run
        self.cutoff = cutoff or CutOff(PeriodLocks(), {}, {})
        self.reading = reading or (lambda _source, _done, _total: None)  # a long first backfill shows a bar
        self._off_shift: list[pd.DataFrame] = []  # punches no shift window holds, from each computation
        self._covered: set[str] = set()  # employees whose days a source supplies (not computed here)
        self._source_days: list[pd.DataFrame] = []  # days sources supplied in this run: new or changed
        self.fetched_days: list[pd.DataFrame] = []  # every day sources supplied in this run

    def ingest(self, report: SyncReport, date_from: date, date_to: date) -> pd.DataFrame:
        """Read every source; store what is new. Returns the punches read (all of them on a dry run)."""
        context = SourceContext(self.employees, self.rules, date_from, date_to, cloud_events=self.store.cloud_events)
        read: list[pd.DataFrame] = []
        self._covered, self._source_days, self.fetched_days = set(), [], []
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
            punches_read = 0
            cursor = self.store.get_cursor(cursor_name)
            for fetched in source.fetch_pages(context, cursor):
                punches_read += len(fetched.punches)
                self.reading(name, punches_read, 0)
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
                if not self.dry_run and fetched.cursor is not None and fetched.cursor != cursor:
                    # An unchanged cursor (a folder with nothing new) is not written again: one commit less.
                    self.store.set_cursor(cursor_name, fetched.cursor)
                    cursor = fetched.cursor
        return pd.concat(read, ignore_index=True) if read else pd.DataFrame(columns=["employee_id", "instant"])

    def _save_source_days(self, report: SyncReport, days: pd.DataFrame) -> None:
        """Save (or, dry, compare) days a source computed itself, `recomputed` as the source said."""
        report.days_computed += len(days)
        days = self._hold(report, days)
        changes = self._classify(days)["change"].to_numpy()
        report.days_new += int((changes == "new").sum())
        report.days_changed += int((changes == "changed").sum())
        self.fetched_days.append(days)
        self._source_days.append(days[changes != "same"])

    def recompute(self, report: SyncReport, date_from: date, date_to: date, fresh: pd.DataFrame) -> pd.DataFrame:
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
            days = self.compute(staff, first, last, fresh if self.dry_run else None)
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
            # A quiet night changes neither cursor: not writing them saves two commits (two fsyncs).
            last_punch = self.store.last_punch_id()
            if last_punch != last_id:
                self.store.set_cursor(_PUNCH_CURSOR, str(last_punch))
            covered_from = min(date_from, known_from) if known_from else date_from
            covered_to = max(date_to, known_to) if known_to else date_to
            computed = {"state": state, "from": covered_from.isoformat(), "to": covered_to.isoformat()}
            if computed != previous:
                self.store.set_cursor(_COMPUTED_CURSOR, json.dumps(computed))
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

    def preview(self, first: date, last: date) -> pd.DataFrame:
        """The processed days of `first`..`last` as a sync would compute them now (stored punches plus
        what the sources hold, and the days sources supply), in memory; call on a dry computation."""
        report = SyncReport(dry_run=True, date_from=first, date_to=last)
        fresh = self.ingest(report, first, last)
        computed = self.compute(None, first, last, fresh)
        return pd.concat([computed, *self.fetched_days], ignore_index=True) if self.fetched_days else computed

    def compute(
        self,
        employees: list[str] | None,
        first: date,
        last: date,
        extra: pd.DataFrame | None,
        rules: RuleSet | None = None,
    ) -> pd.DataFrame:
        """The days of `employees` (None: everyone not left to a source) from `first` to `last`,
        from the stored punches plus `extra` (the punches a dry run read); nothing is saved.

        `rules` replaces the configuration's (the open-day gate closes open days with its own); the
        off-shift punches of such a computation are not quarantined (the normal one finds them).
        """
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
        result = compute_days(inputs, rules or self.rules, first, last)
        if rules is None:
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
        hashes = dict(zip(day_keys(stored), stored["content_hash"], strict=True))
        mine = Store.day_content_hash(days)
        keys = day_keys(days)
        change = [
            ("new" if key not in hashes else ("same" if hashes[key] == h else "changed"))
            for key, h in zip(keys, mine, strict=True)
        ]
        return pd.DataFrame({"change": change})
