"""One reconciliation run: read back a target, compare, report, and repair through the sync engine's delivery.

In order: check the target and the period (nothing is recorded when they are wrong); record the run
and fire `run_started` (kind `reconcile`); map the processed days of the period through the
target's mapping (as a sync does); read back what the target holds for the employees punchbridge
computed days for (transient failures retried as a push is); compare key by key; mark the days of
locked payroll periods `locked`; with `repair`, resend the missing and different records through a
sync `Delivery` (`punchbridge.reconcile.repair`: batches recorded before sending, retries, dead
letters, batch hooks); write the CSV and HTML report; record how the run ended and fire
`run_finished` (once, also when the run fails).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import stamina

from punchbridge.config import Config
from punchbridge.config.yamlfile import YamlDocument
from punchbridge.cutoff.state import CutOff
from punchbridge.errors import ConfigError, Problem
from punchbridge.mapping.model import TargetMapping
from punchbridge.plugin_api.registry import PluginRegistry
from punchbridge.plugin_api.retries import RETRY_ATTEMPTS, RETRY_TIMEOUT_SECONDS, retry_wait
from punchbridge.plugin_api.targets import HeldRecord, Target, TargetError
from punchbridge.reconcile.compare import STATUSES, ExpectedRecord, Finding, compare, is_locked
from punchbridge.reconcile.errors import ReadBackUnsupportedError, TargetNotConfiguredError, TargetUnreachableError
from punchbridge.reconcile.expected import expected_records
from punchbridge.reconcile.period import parse_period
from punchbridge.reconcile.repair import repair_findings, verify_repair
from punchbridge.reconcile.report import ReportPage, write_report
from punchbridge.store import Store
from punchbridge.sync import SyncInputs, TargetReport
from punchbridge.sync.delivery import Delivery
from punchbridge.sync.inputs import with_received_leaves
from punchbridge.sync.open_gate import OpenDayGate, closing_rules
from punchbridge.sync.recompute import DayComputation

__all__ = ["ACTIONS", "ReconcileReport", "run_reconcile"]

#: What happens to a finding: nothing (matched), resend it (found; run with --repair), resent (the
#: repair delivered it), refused (the target refused the resend: a dead letter), not_sent (the repair
#: did not get to send it), locked (a locked payroll period: never rewritten), remove_in_target (an
#: extra record: the operator removes it in the target), still_different (resent, but read back after
#: the repair the target still holds something else).
ACTIONS = ("", "resend", "resent", "refused", "not_sent", "locked", "remove_in_target", "still_different")
#: How often (records read back) a stop request is checked while reading.
_STOP_EVERY = 200
_ID_SOURCES = ("target_id", "employee_id")


@dataclass
class ReconcileReport:
    """What a reconciliation found and did; `summary()` is the JSON-able version stored with the run."""

    target: str
    describe: str
    start: date
    end: date
    repair: bool
    findings: list[Finding] = field(default_factory=list)
    expected: int = 0  # records punchbridge computed for the period (mapped)
    held: int = 0  # records the target showed back
    held_back: int = 0  # days the mapping held back (unmapped ids...): not expected in the target
    held_open: int = 0  # open days (no check-out) the target's open_days gate holds: not expected, not compared
    run_id: int | None = None
    csv_path: Path | None = None
    html_path: Path | None = None
    stopped: bool = False  # a stop was requested: the comparison or the repair did not finish
    repair_error: str | None = None  # the target's error during the repair's delivery
    repair_busy: str | None = None  # another process held the target's delivery lock: the repair sent nothing
    repair_delivery: TargetReport | None = field(default=None, repr=False)  # what the repair sent

    def counts(self) -> dict[str, int]:
        """Findings per status, then locked, resent, refused and remaining differences."""
        by_status = Counter(f.status for f in self.findings)
        by_action = Counter(f.action for f in self.findings)
        counts = {status: by_status.get(status, 0) for status in STATUSES}
        counts.update(
            locked=by_action["locked"],
            resent=by_action["resent"],
            refused=by_action["refused"],
            still_different=by_action["still_different"],
            remaining=self.remaining,
        )
        return counts

    @property
    def remaining(self) -> int:
        """Differences still there after this run (everything found but what the repair delivered)."""
        return sum(1 for f in self.findings if f.status != "matched" and f.action != "resent")

    @property
    def clean(self) -> bool:
        """True when the run finished and no difference remains."""
        return not self.stopped and self.remaining == 0

    def headline(self) -> str:
        """One sentence for the operator."""
        if self.stopped:
            return "stopped before the reconciliation finished: run it again"
        if self.clean:
            fixed = self.counts()["resent"]
            return "clean: " + (f"{fixed} difference(s) repaired" if fixed else "the target holds what was computed")
        counts = self.counts()
        found = ", ".join(f"{counts[s]} {s}" for s in ("missing", "different", "extra") if counts[s])
        return f"{self.remaining} difference(s) remain ({found}; {counts['locked']} locked)"

    def differing_fields(self) -> dict[str, int]:
        """How many different records differ in each column."""
        return dict(Counter(name for f in self.findings if f.status == "different" for name in f.differing))

    def summary(self) -> dict[str, Any]:
        """JSON-able counts and paths (what `store.finish_run` keeps and a scheduler logs)."""
        return {
            "target": self.target,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "repair": self.repair,
            "expected": self.expected,
            "held": self.held,
            "held_back": self.held_back,
            "held_open": self.held_open,
            **self.counts(),
            "differing_fields": self.differing_fields(),
            "clean": self.clean,
            "stopped": self.stopped,
            "repair_error": self.repair_error,
            "repair_busy": self.repair_busy,
            "csv": str(self.csv_path) if self.csv_path else None,
            "html": str(self.html_path) if self.html_path else None,
        }


def _target(config: Config, document: YamlDocument, registry: PluginRegistry, name: str) -> Target:
    """The configured target `name`, checked to exist and to read back (errors before anything is recorded)."""
    if name not in config.targets:
        configured = ", ".join(sorted(config.targets)) or "none"
        raise TargetNotConfiguredError(f"no target named {name!r} in {document.path}; configured targets: {configured}")
    settings = config.targets[name]
    try:
        target_class = registry.target_class(settings.plugin)
    except KeyError as exc:
        raise TargetNotConfiguredError(f"target {name!r} in {document.path}: {exc.args[0]}") from None
    if "read_back" not in target_class.capabilities:
        able = sorted(
            n for n, t in config.targets.items()
            if t.plugin in registry.targets and "read_back" in registry.targets[t.plugin].capabilities
        )  # fmt: skip
        raise ReadBackUnsupportedError(
            f"target {name!r} ({settings.plugin}) cannot read back what it holds, so it cannot be reconciled; "
            f"targets here that can: {', '.join(able) or 'none'}"
        )
    return registry.configured_target(name, settings, document)


def _columns(mapping: TargetMapping, name: str) -> tuple[str, set[str]]:
    """The mapping's id column (what the target calls the employee) and the columns never compared."""
    id_column = next((f.name for f in mapping.fields if f.source in _ID_SOURCES), None)
    if id_column is None:
        raise ConfigError(
            Problem(
                mapping.source,
                f"target {name!r}: no column comes from target_id or employee_id, so what the target holds "
                "cannot be matched to an employee; add the column the target identifies employees by",
                field="fields",
            )
        )
    skip = {id_column}
    skip |= {f.name for f in mapping.fields if f.source in ("work_date", "recomputed")}
    return id_column, skip


def _read_back(
    target: Target,
    start: date,
    end: date,
    employees: Sequence[str],
    stop: Callable[[], bool],
    zones: Mapping[str, str] | None = None,
    reading: Callable[[int], None] | None = None,
) -> list[HeldRecord] | None:
    """Everything the target holds for the period and employees, each day in its employee's zone
    (`zones`: target employee id -> IANA zone); None when a stop was requested. `reading(count)` is
    told the records read so far, every `_STOP_EVERY` and at the end."""
    told = reading or (lambda _count: None)
    # A plugin written before read_back took `zones` still reads back (in its own zone setting).
    extra = {"zones": dict(zones or {})} if _takes_zones(target) else {}

    where = f"target {target.name!r} ({target.describe()})"
    try:
        held: list[HeldRecord] = []
        for attempt in stamina.retry_context(on=retry_wait, attempts=RETRY_ATTEMPTS, timeout=RETRY_TIMEOUT_SECONDS):
            with attempt:
                target.open()  # every target's open() is a no-op once connected, and may be tried again
                held = []
                told(0)
                for record in target.read_back(start, end, employees, **extra):
                    held.append(record)
                    if len(held) % _STOP_EVERY == 0:
                        told(len(held))
                        if stop():
                            return None
        told(len(held))
        return held
    except TargetError as exc:
        raise TargetUnreachableError(
            f"cannot read back what {where} holds for {start} to {end}: {type(exc).__name__}: {exc}; "
            "check the target's address and credentials (punchbridge validate), then run again"
        ) from exc
    except (httpx.HTTPError, OSError) as exc:
        raise TargetUnreachableError(
            f"cannot reach {where} to read back {start} to {end}: {type(exc).__name__}: {exc}; "
            "check the network and the target's address, then run again"
        ) from exc
    finally:
        target.close()


def _takes_zones(target: Target) -> bool:
    parameters = inspect.signature(target.read_back).parameters.values()
    return any(p.name == "zones" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _annotate(
    findings: list[Finding],
    ledger: pd.DataFrame,
    site_of: dict[str, str],
    locks: set[tuple[str, str]],
    employee_of: dict[str, str],
) -> list[Finding]:
    """Fill in the ledger's word, punchbridge's id of extras, locks and the action each finding needs."""
    status_of = dict(zip(ledger["record_key"], ledger["status"], strict=True))
    hash_of = dict(zip(ledger["record_key"], ledger["content_hash"], strict=True))
    annotated = []
    for finding in findings:
        employee_id = finding.employee_id or employee_of.get(finding.target_employee)
        ledger_word = status_of.get(finding.record_key, "") if finding.record_key else ""
        detail = ""
        sent = hash_of.get(finding.record_key) if ledger_word == "delivered" else None
        if finding.status in ("missing", "different") and sent not in (None, finding.content_hash):
            detail = "punchbridge has a newer version than it sent: the next sync sends it"
        locked = finding.status != "matched" and is_locked(site_of.get(employee_id or ""), finding.work_date, locks)
        if finding.status == "matched":
            action = ""
        elif locked:
            action = "locked"
        elif finding.status == "extra":
            action = "remove_in_target"
        else:
            action = "resend"
        annotated.append(
            dataclasses.replace(
                finding, employee_id=employee_id, ledger=ledger_word, locked=locked, action=action, detail=detail
            )
        )
    return annotated


def _notes(report: ReconcileReport) -> list[str]:
    notes = []
    if report.held_back:
        notes.append(
            f"{report.held_back} day(s) were held back by the mapping (unmapped ids or cost centres) and are not "
            "expected in the target: see punchbridge mappings check"
        )
    if report.held_open:
        notes.append(
            f"{report.held_open} open day(s) (a check-in without a check-out) are held by the target's open_days "
            "setting: not expected and not compared; see the quarantine (missing_check_out)"
        )
    if report.repair_error:
        notes.append(f"the repair could not reach the target: {report.repair_error}")
    still = sum(1 for f in report.findings if f.action == "still_different")
    if still:
        notes.append(
            f"{still} record(s) were resent but the target, read back after the repair, still holds something "
            "else: the target changes what it is sent (see each row's detail)"
        )
    if not report.repair and any(f.action == "resend" for f in report.findings):
        notes.append("nothing was changed: run again with --repair to resend the missing and different records")
    return notes


def run_reconcile(
    config: Config,
    document: YamlDocument,
    registry: PluginRegistry,
    store: Store,
    *,
    target: str,
    period: str,
    repair: bool = False,
    out_dir: Path | None = None,
    today: date | None = None,
    should_stop: Callable[[], bool] | None = None,
    now: datetime | None = None,
    lock_wait: float = 0.0,
    progress: Callable[[str, int, int], None] | None = None,
) -> ReconcileReport:
    """Reconcile `target` for `period` (see the module docstring); returns the report, files written.

    `out_dir` defaults to `reports/` beside the configuration file; `today` (for `last_week` and
    `last_month`) to the machine's local date; `now` (whether an open day's shift window is still open)
    to the current instant. PeriodError, TargetNotConfiguredError and
    ReadBackUnsupportedError are raised before anything is recorded; TargetUnreachableError after
    the run is recorded as failed. A repair waits up to `lock_wait` seconds for the target's delivery
    lock held by another process; then it sends nothing (`repair_busy` names the holder).
    `progress(what, done, total)` is told as records are read back (what: `reading back TARGET`, total:
    the records expected) and as a repair sends them (what: `resending to TARGET`).
    """
    today = today or date.today()
    stop = should_stop or (lambda: False)
    told = progress or (lambda _what, _done, _total: None)
    start, end = parse_period(period, today)
    client = _target(config, document, registry, target)
    inputs = SyncInputs.load(config, registry)
    id_column, skip = _columns(inputs.mappings[target], target)
    report = ReconcileReport(target=target, describe=client.describe(), start=start, end=end, repair=repair)
    report.run_id = store.start_run("reconcile", target)
    registry.hook.run_started(kind="reconcile", targets=[target])
    try:

        def delivery() -> Delivery:
            return Delivery.to(
                target, config, document, registry, store, should_stop=stop, lock_wait=lock_wait,
                progress=lambda name, done, total: told(f"resending to {name}", done, total),
            )  # fmt: skip

        gate = _gate(config, document, registry, store, inputs, target, now or datetime.now(UTC))
        run = _Run(report, client, inputs, store, id_column, skip, stop, delivery, gate, _site_zones(config), told)
        if _compare_and_repair(run):
            page = ReportPage(
                target=target, describe=report.describe, start=start, end=end, counts=report.counts(),
                headline=report.headline(), repair=repair, clean=report.clean, notes=_notes(report),
            )  # fmt: skip
            report.csv_path, report.html_path = write_report(
                out_dir if out_dir is not None else document.path.parent / "reports", page, report.findings
            )
    except BaseException as exc:
        failed = {**report.summary(), "error": f"{type(exc).__name__}: {exc}"[:2000]}
        try:
            store.finish_run(report.run_id, "failed", failed)
        finally:
            registry.hook.run_finished(kind="reconcile", summary=failed)
        raise
    summary = report.summary()
    status = "busy" if report.repair_busy else "ok" if report.clean else "partial"
    store.finish_run(report.run_id, status, summary)
    registry.hook.run_finished(kind="reconcile", summary=summary)
    return report


@dataclass
class _Run:
    """What one reconciliation works with (`run_reconcile` builds it)."""

    report: ReconcileReport
    client: Target
    inputs: SyncInputs
    store: Store
    id_column: str
    skip: set[str]
    stop: Callable[[], bool]
    delivery: Callable[[], Delivery]
    gate: OpenDayGate
    site_zones: dict[str, str]
    progress: Callable[[str, int, int], None]  # (what, done, total): reading back, resending


def _site_zones(config: Config) -> dict[str, str]:
    return {site: str(details.timezone) for site, details in config.sites.items()}


def _gate(
    config: Config,
    document: YamlDocument,
    registry: PluginRegistry,
    store: Store,
    inputs: SyncInputs,
    target: str,
    now: datetime,
) -> OpenDayGate:
    """The target's open-day gate as a sync now would apply it (read-only: it remembers nothing)."""
    leaves = with_received_leaves(inputs.leaves, store.leaves(), inputs.employees)
    computation = DayComputation(
        config, document, registry, store,
        employees=inputs.employees, assignments=inputs.assignments, leaves=leaves, dry_run=True,
    )  # fmt: skip

    def recompute(staff: list[str], first: date, last: date) -> pd.DataFrame:
        return computation.compute(staff, first, last, None, rules=closing_rules(config.rules))

    mode = config.targets[target].open_days
    return OpenDayGate(target, mode, config.rules, store, recompute, int(now.timestamp() * 1e9), dry_run=True)


def _compare_and_repair(run: _Run) -> bool:
    """Fill the report with the findings (repaired when asked); False when a stop came before the comparison."""
    report, store, stop = run.report, run.store, run.stop
    mapping = run.inputs.mappings[report.target]
    days = store.load_days(report.start, report.end)
    expectation = expected_records(
        run.client, mapping, days, run.inputs.employees, run.id_column, run.site_zones, run.gate
    )
    expected = expectation.records
    report.expected, report.held_back, report.held_open = len(expected), expectation.held_back, expectation.held_open
    employees = sorted({record.target_employee for record in expected if record.target_employee})
    zones = expectation.zones
    label, wanted = f"reading back {report.target}", len(expected)

    def reading(count: int) -> None:
        run.progress(label, count, wanted)

    held = _read_back(run.client, report.start, report.end, employees, stop, zones, reading) if not stop() else None
    if held is None:
        report.stopped = True
        return False
    held = [h for h in held if (str(h.employee).strip(), h.work_date) not in expectation.open_keys]
    report.held = len(held)
    ledger = store.ledger(report.target, [record.key for record in expected])
    remote_ids = {k: r for k, r in zip(ledger["record_key"], ledger["remote_id"], strict=True) if r}
    findings = compare(expected, held, skip=run.skip, remote_ids=remote_ids)
    lock_rows = store.period_locks()
    locks = {(str(s), str(p)) for s, p in zip(lock_rows["site"], lock_rows["period"], strict=True)}
    staff = run.inputs.employees
    site_of = dict(zip(staff["employee_id"].astype(str), staff["site"].astype(str), strict=True))
    employee_of = {record.target_employee: record.employee_id for record in expected}
    report.findings = _annotate(findings, ledger, site_of, locks, employee_of)
    if report.repair and stop():
        report.stopped = True  # found, not repaired: the next run repairs
    elif report.repair and report.run_id is not None:
        cutoff = CutOff.load(store, staff)
        report.findings, served = repair_findings(
            report.findings, run.delivery(), mapping, staff, cutoff, report.run_id, days=expectation.days
        )
        if served is not None:
            report.repair_delivery = served
            report.repair_error = served.error
            report.repair_busy = served.busy
            report.stopped = report.stopped or served.stopped
            if not report.stopped and served.delivered:
                report.findings = _read_after_repair(run, expected, report.findings)
    return True


def _read_after_repair(run: _Run, expected: list[ExpectedRecord], findings: list[Finding]) -> list[Finding]:
    """Read back the days the repair resent and compare them again: a resent record the target still holds
    otherwise becomes `still_different` (a target that changes what it is sent is never reported clean)."""
    resent = {f.record_key for f in findings if f.action == "resent" and f.record_key}
    again = [record for record in expected if record.key in resent]
    if not again:
        return findings
    employees = sorted({record.target_employee for record in again})
    first, last = min(r.work_date for r in again), max(r.work_date for r in again)
    zones = {r.target_employee: r.timezone for r in again if r.timezone}
    held = _read_back(run.client, first, last, employees, lambda: False, zones)
    assert held is not None  # never stopped: the stop callback above always says no
    wanted = {(r.target_employee, r.work_date) for r in again}
    held = [h for h in held if (str(h.employee).strip(), h.work_date) in wanted]
    return verify_repair(findings, compare(again, held, skip=run.skip))
