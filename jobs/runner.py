"""Run one job and record it: the same path for the scheduler and for `punchbridge jobs run`.

    result = run_job("nightly", config.jobs["nightly"], environment, started_by="schedule", scheduled_at=fire)

The run is one row of the store's `runs` (`Store.begin_job_run` .. `end_job_run`; an engine's own
`start_run` of the same kind writes into that row). Whatever the task does (returns, raises a
punchbridge error, raises anything else) the row is closed and one `key=value` line is logged
(`punchbridge.jobs.runlog`). A second Ctrl-C (KeyboardInterrupt) is recorded as `stopped` and
raised on.

`JobRun.exit_code` is what the command the job runs would exit with (README "Exit codes"): 0 ok,
3 partial (dead letters, differences remain), 4 busy (another process held a target's delivery lock
for longer than the job's `delivery_wait_seconds`), 5 stopped, and for a failed run the code of the error
that stopped it (6 for a refused mass delete, 2 for a bad input file, 4 for a busy lock), else 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from punchbridge.errors import ExitCode, PunchbridgeError, StoreError
from punchbridge.jobs.runlog import LOGGER, finished_line, log_finished
from punchbridge.jobs.settings import JobSettings
from punchbridge.jobs.tasks import TASKS, JobContext, JobFunction, JobOutcome

if TYPE_CHECKING:
    from punchbridge.config import Config
    from punchbridge.config.yamlfile import YamlDocument
    from punchbridge.plugin_api.registry import PluginRegistry
    from punchbridge.store import Store

__all__ = ["EXIT_CODES", "JobEnvironment", "JobRun", "run_job"]

#: The exit code of `punchbridge jobs run` for each way a run ends (a failed run: see `JobRun.exit_code`).
EXIT_CODES: Mapping[str, ExitCode] = {
    "ok": ExitCode.OK,
    "failed": ExitCode.FAILED,
    "partial": ExitCode.ATTENTION,
    "stopped": ExitCode.STOPPED,
    "busy": ExitCode.BUSY,
}
INTERRUPTED = "interrupted by a second signal: the batch in flight is resumed by the next run"


@dataclass
class JobEnvironment:
    """What every job of a process shares: configuration, plugins, store, the stop request, the clock."""

    config: Config
    document: YamlDocument
    registry: PluginRegistry
    store: Store
    should_stop: Callable[[], bool] = field(default=lambda: False)
    now: Callable[[], datetime] | None = None  # default: the system clock
    tasks: Mapping[str, JobFunction] = field(default_factory=lambda: dict(TASKS))


@dataclass(frozen=True)
class JobRun:
    """A finished job run as recorded (run_id None when the store could not record it)."""

    run_id: int | None
    job: str
    kind: str
    started_by: str
    scheduled_at: datetime | None
    status: str
    summary: dict[str, Any]
    error: str | None
    line: str
    failure: ExitCode = ExitCode.FAILED  # a failed run: the exit code of the error that stopped it

    @property
    def exit_code(self) -> ExitCode:
        """The exit code of `jobs run` for this run: the one its command would give."""
        return self.failure if self.status == "failed" else EXIT_CODES[self.status]


def _system_now() -> datetime:
    return datetime.now(UTC)


def _ns(moment: datetime) -> int:
    """Nanoseconds since the epoch (exact: no float rounding)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, PunchbridgeError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_job(
    name: str,
    job: JobSettings,
    environment: JobEnvironment,
    *,
    started_by: str = "manual",
    scheduled_at: datetime | None = None,
) -> JobRun:
    """Run job `name` now, record it in the store's run history and log its line; its `JobRun`."""
    clock = environment.now or _system_now
    now = clock()
    zone = ZoneInfo(job.timezone)
    context = JobContext(
        config=environment.config,
        document=environment.document,
        registry=environment.registry,
        store=environment.store,
        now=now,
        today=now.astimezone(zone).date(),
        should_stop=environment.should_stop,
        delivery_wait_seconds=job.delivery_wait_seconds,
    )
    store = environment.store
    scheduled_ns = None if scheduled_at is None else _ns(scheduled_at)
    begun = time.monotonic()
    run_id: int | None = None
    failure = ExitCode.FAILED
    try:
        run_id = store.begin_job_run(
            name, job.run, target=job.target, started_by=started_by, scheduled_at_ns=scheduled_ns, now_ns=_ns(now)
        )
    except StoreError as exc:
        outcome = JobOutcome("failed", {}, f"the run could not be recorded: {_one_line(exc)}")
    else:
        try:
            outcome, failure = _attempt(name, job, context, environment.tasks)
        except KeyboardInterrupt:  # a second signal: stop now, as a crash would (the open batch is resumed)
            store.end_job_run(run_id, "stopped", {}, INTERRUPTED, now_ns=_ns(clock()))
            raise
    if run_id is not None:
        try:
            store.end_job_run(run_id, outcome.status, outcome.summary, outcome.error, now_ns=_ns(clock()))
        except (StoreError, ValueError) as exc:
            error = f"{outcome.error + '; ' if outcome.error else ''}the end of the run could not be recorded: {exc}"
            outcome, failure = JobOutcome("failed", outcome.summary, error), ExitCode.FAILED
    line = finished_line(
        run_id=run_id,
        job=name,
        kind=job.run,
        started_by=started_by,
        status=outcome.status,
        seconds=time.monotonic() - begun,
        summary=outcome.summary,
        error=outcome.error,
    )
    log_finished(line, outcome.status)
    return JobRun(
        run_id,
        name,
        job.run,
        started_by,
        scheduled_at,
        outcome.status,
        outcome.summary,
        outcome.error,
        line,
        failure=failure,
    )


def _attempt(
    name: str, job: JobSettings, context: JobContext, tasks: Mapping[str, JobFunction]
) -> tuple[JobOutcome, ExitCode]:
    """Call the task; an exception becomes a failed outcome. The exit code a failure gives: the
    punchbridge error's own (as the job's command would exit), 1 for anything else."""
    task = tasks.get(job.run)
    if task is None:
        return JobOutcome("failed", {}, f"no task for run: {job.run}"), ExitCode.FAILED
    try:
        return task(name, job, context), ExitCode.FAILED
    except PunchbridgeError as exc:
        return JobOutcome("failed", {}, _one_line(exc)), exc.exit_code
    except Exception as exc:  # a bug or an unexpected library error: record it, keep the scheduler alive
        LOGGER.log(logging.ERROR, "job %s raised", name, exc_info=exc)
        return JobOutcome("failed", {}, _one_line(exc)), ExitCode.FAILED
