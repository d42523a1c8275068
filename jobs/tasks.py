"""What each kind of job does: `run: sync | reconcile | employees | purge` to a function.

A task takes the job's name, its settings and a `JobContext`, runs, and returns a `JobOutcome`
(status, summary, error). It raises for a problem that stops it before it did anything (a bad
input file, the store unreachable): the runner records that as a failed run. Every task passes
`context.should_stop` on, so SIGTERM lets the work in flight finish and record its state.

The reconcile, employee-sync and retention engines are imported when a job of theirs runs, so this
module loads without them. Tests (and embedders) pass their own table to the runner instead of
`TASKS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from punchbridge.jobs.settings import JobSettings

if TYPE_CHECKING:
    from punchbridge.config import Config
    from punchbridge.config.yamlfile import YamlDocument
    from punchbridge.plugin_api.registry import PluginRegistry
    from punchbridge.store import Store

__all__ = ["TASKS", "JobContext", "JobFunction", "JobOutcome", "resolve_period"]

#: How a job run ended. `partial`: it ran to the end but something needs a look (dead letters,
#: differences found); `stopped`: asked to stop (SIGTERM), its work in flight finished, the rest waits;
#: `busy`: another process held a target's delivery lock for longer than the job waits (nothing was
#: sent to that target; the next run sends it).
OUTCOME_STATUSES = ("ok", "partial", "failed", "stopped", "busy")


@dataclass(frozen=True)
class JobContext:
    """What a task works with: the configuration, plugins and store, and when it runs."""

    config: Config
    document: YamlDocument
    registry: PluginRegistry
    store: Store
    now: datetime  # when the run starts (aware)
    today: date  # the job's local date at `now` (its time zone): a sync covers up to the day before
    should_stop: Callable[[], bool] = field(default=lambda: False)
    delivery_wait_seconds: float = 0.0  # how long to wait for a target's delivery lock held elsewhere


@dataclass(frozen=True)
class JobOutcome:
    """How a task ended: status (ok, partial, failed, stopped), a JSON-able summary, and an error."""

    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in OUTCOME_STATUSES:
            raise ValueError(f"a job outcome's status is one of {', '.join(OUTCOME_STATUSES)}, not {self.status!r}")


JobFunction = Callable[[str, JobSettings, JobContext], JobOutcome]


def _json_ready(value: Any) -> Any:
    """`value` as JSON holds it (dates and other objects as text)."""
    return json.loads(json.dumps(value, default=str))


def report_summary(report: Any) -> dict[str, Any]:
    """A report's `summary()` as a dict: a mapping as it is, anything else under `summary`."""
    summary = report.summary() if callable(getattr(report, "summary", None)) else {}
    if isinstance(summary, Mapping):
        return dict(_json_ready(dict(summary)))
    return {"summary": str(summary)}


def resolve_period(period: str, today: date) -> str:
    """A reconcile job's period as explicit days (`YYYY-MM-DD..YYYY-MM-DD`), relative labels
    (`last_week`, `last_month`, `this_month`) counted from the job's local `today`."""
    from punchbridge.reconcile import parse_period

    first, last = parse_period(period, today)
    return f"{first.isoformat()}..{last.isoformat()}"


# -- the four tasks ---------------------------------------------------------------------------------


def sync_task(name: str, job: JobSettings, context: JobContext) -> JobOutcome:
    """`run: sync`: the sync engine, for `job.target` only when given, up to the job's yesterday.

    A target another process is delivering to is waited for (`context.delivery_wait_seconds`); after
    that the run is `busy`: nothing was sent to that target, the next run sends it.

    Watermark-based: the engine ingests what the sources hold beyond their cursors, recomputes the
    days not computed before (a missed night's included) and, after a run that did not finish
    (`deliver:{target}` cursor not clean), sends the whole backlog the ledger does not hold.
    """
    from punchbridge.sync import SyncEngine

    engine = SyncEngine(
        context.config,
        context.document,
        context.registry,
        context.store,
        today=context.today,
        should_stop=context.should_stop,
        lock_wait=context.delivery_wait_seconds,
    )
    report = engine.run(targets=[job.target] if job.target else None)
    errors = [f"{t.name}: {t.error}" for t in report.targets if t.error]
    summary = {
        "from": report.date_from.isoformat(),
        "to": report.date_to.isoformat(),
        "ingested": report.ingested,
        "days_changed": report.days_changed + report.days_new,
        "delivered": sum(t.delivered for t in report.targets),
        "dead_lettered": report.dead_lettered,
        "stopped": report.stopped,
    }
    if errors:
        return JobOutcome("failed", summary, "; ".join(errors))
    if report.busy:
        return JobOutcome("busy", summary, "; ".join(t.busy for t in report.targets if t.busy))
    if report.stopped:
        return JobOutcome("stopped", summary)
    return JobOutcome("partial" if report.dead_lettered else "ok", summary)


def reconcile_task(name: str, job: JobSettings, context: JobContext) -> JobOutcome:
    """`run: reconcile`: compare what `job.target` holds for the period with what punchbridge computed
    (no repair: a scheduled reconcile reports; `punchbridge reconcile --repair` fixes)."""
    from punchbridge.reconcile import run_reconcile

    assert job.target is not None and job.period is not None  # JobSettings requires both for reconcile
    period = resolve_period(job.period, context.today)
    report = run_reconcile(
        context.config,
        context.document,
        context.registry,
        context.store,
        target=job.target,
        period=period,
        repair=False,
        out_dir=None,
        today=context.today,
        should_stop=context.should_stop,
    )
    summary = {"period": period, **report_summary(report)}
    if getattr(report, "stopped", False):
        return JobOutcome("stopped", summary)
    return JobOutcome("ok" if report.clean else "partial", summary)


def employees_task(name: str, job: JobSettings, context: JobContext) -> JobOutcome:
    """`run: employees`: HRMS employees to the terminals (never a mass delete unattended)."""
    from punchbridge.employees import run_employee_sync

    report = run_employee_sync(
        context.config,
        context.document,
        context.registry,
        context.store,
        dry_run=False,
        allow_mass_delete=False,
        should_stop=context.should_stop,
    )
    summary = report_summary(report)
    if report.failed:
        reasons = [summary.get("error")] + [
            f"{stgid}: {terminal.get('error') or '; '.join(terminal.get('failures', [])[:3]) or 'commands refused'}"
            for stgid, terminal in summary.get("terminals", {}).items()
            if terminal.get("error") or terminal.get("failed")
        ]
        return JobOutcome("failed", summary, "; ".join(r for r in reasons if r) or "employee sync failed")
    if getattr(report, "stopped", False):
        return JobOutcome("stopped", summary)
    return JobOutcome("ok", summary)


def purge_task(name: str, job: JobSettings, context: JobContext) -> JobOutcome:
    """`run: purge`: remove punches and run data older than the configured retention."""
    from punchbridge.retention.engine import purge

    report = purge(
        context.config,
        context.store,
        now_ns=int(context.now.timestamp() * 1e9),
        should_stop=context.should_stop,
        registry=context.registry,
    )
    summary = report_summary(report)
    if getattr(report, "stopped", False):
        return JobOutcome("stopped", summary)
    return JobOutcome("ok", summary)


#: The task of each `run:` value.
TASKS: Mapping[str, JobFunction] = {
    "sync": sync_task,
    "reconcile": reconcile_task,
    "employees": employees_task,
    "purge": purge_task,
}
