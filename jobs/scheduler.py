"""The scheduler: APScheduler 3 with a clock seam, jobs run one at a time, and catch-up at start-up.

`JobScheduler` is an APScheduler 3 `BaseScheduler` (its job store, `Job` objects, triggers, events,
`coalesce`, `max_instances` and `misfire_grace_time`). It differs from `BlockingScheduler` in three
ways, each for a reason:

- **Time comes from a `Clock`** (`punchbridge.jobs.clock`). APScheduler reads `datetime.now()` in
  `_process_jobs` and in its executors' misfire check; here `_process_jobs` does the same steps
  with `self.clock.now()` and `InlineExecutor` checks misfires on that clock, and the loop waits
  through `clock.wait`. Tests pass a `ManualClock` and run days of schedule in milliseconds.
- **Jobs run in the scheduler's thread, one at a time** (`InlineExecutor`). The store's writes are
  serialised anyway, a job must see SIGTERM's stop request between its batches, and the lock's
  heartbeat has its own thread. A fire time that passes while another job runs is run after it,
  once (coalesced), if still within its misfire grace.
- **A fire time missed while no scheduler ran is run once at start-up.** APScheduler's memory job
  store forgets missed runs across restarts; `plan_start` asks the run history instead: when a fire
  time came after the job's last recorded run, the latest such fire time is run at start-up if it is
  within the job's `misfire_grace_seconds` (a run a dead scheduler left unfinished counts as missed).

Fire times before the scheduler started run as `catch_up`; the others as `schedule`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.base import BaseExecutor, MaxInstancesReachedError
from apscheduler.schedulers.base import STATE_PAUSED, STATE_STOPPED, BaseScheduler
from apscheduler.triggers.base import BaseTrigger

from punchbridge.jobs.clock import Clock, SystemClock
from punchbridge.jobs.cron import next_fire_after

__all__ = ["MAX_WAIT_SECONDS", "InlineExecutor", "JobScheduler", "StartPlan", "is_catch_up", "plan_start"]

#: The longest the loop sleeps before looking at the clock again (a wall-clock jump, a stop request).
MAX_WAIT_SECONDS = 60.0
log = logging.getLogger("punchbridge.jobs")


@dataclass(frozen=True)
class StartPlan:
    """When a job first runs after start-up: `next_run_time`, and the fire times behind that choice."""

    next_run_time: datetime | None
    catch_up: datetime | None = None  # a missed fire time run at start-up
    skipped: datetime | None = None  # the latest missed fire time, beyond the misfire grace


def plan_start(trigger: BaseTrigger, *, last_run: datetime | None, now: datetime, grace_seconds: float) -> StartPlan:
    """The first run of a job whose last recorded run started at `last_run` (None: it never ran).

    A job that never ran waits for its next fire time (a new job is not "missed"). Otherwise the
    latest fire time after `last_run` and not after `now` is run now, once, if `now` is within
    `grace_seconds` of it; older ones are skipped (reported in `skipped`).
    """
    upcoming: datetime | None = trigger.get_next_fire_time(None, now)
    if last_run is None:
        return StartPlan(upcoming)
    missed = next_fire_after(trigger, last_run)
    if missed is None or missed > now:
        return StartPlan(upcoming)
    # Only the fire times within the grace can run; start looking there (a per-minute job that
    # was down for a month need not walk every minute of it).
    earliest = now - timedelta(seconds=grace_seconds)
    latest = None
    fire = next_fire_after(trigger, max(last_run, earliest - timedelta(microseconds=1)))
    while fire is not None and fire <= now:
        latest = fire
        fire = next_fire_after(trigger, fire)
    if latest is None:
        last_missed = missed
        probe = next_fire_after(trigger, missed)
        while probe is not None and probe <= now:
            last_missed, probe = probe, next_fire_after(trigger, probe)
        return StartPlan(upcoming, skipped=last_missed)
    return StartPlan(latest, catch_up=latest)


class InlineExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs each job in the calling (scheduler) thread; misfires are checked on the scheduler's clock.

    The job's function is called with `scheduled_at=` the fire time it runs for.
    """

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def submit_job(self, job: Any, run_times: list[datetime]) -> None:
        """Run `job` now for `run_times` (coalesced: one), unless it is already running."""
        assert self._lock is not None, "the executor has not been started"
        with self._lock:
            if self._instances[job.id] >= job.max_instances:
                raise MaxInstancesReachedError(job)
            self._instances[job.id] += 1
        try:
            events = self._do_submit_job(job, run_times)
        finally:
            with self._lock:
                self._instances[job.id] -= 1
                if self._instances[job.id] == 0:
                    del self._instances[job.id]
        for event in events:
            self._scheduler._dispatch_event(event)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> list[JobExecutionEvent]:
        events = []
        for run_time in run_times:
            late = self.clock.now() - run_time
            if job.misfire_grace_time is not None and late > timedelta(seconds=job.misfire_grace_time):
                log.warning("punchbridge job=%s status=missed scheduled=%s late_seconds=%d", job.id, run_time, late)
                events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, job._jobstore_alias, run_time))
                continue
            try:
                result = job.func(*job.args, scheduled_at=run_time, **job.kwargs)
            except Exception as exc:
                log.exception("job %s raised", job.id)
                events.append(JobExecutionEvent(EVENT_JOB_ERROR, job.id, job._jobstore_alias, run_time, exception=exc))
            else:
                events.append(JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, job._jobstore_alias, run_time, result))
        return events


class JobScheduler(BaseScheduler):  # type: ignore[misc]
    """An APScheduler 3 scheduler on a `Clock`, running jobs inline (see the module docstring).

    Add jobs with `add_job(..., next_run_time=...)` (always given: APScheduler would read the
    system clock for it), then `run()`: it blocks until `request_stop()` (the SIGTERM handler calls
    it), until `until` on the clock, or until `should_continue()` says no.
    """

    def __init__(self, clock: Clock | None = None, **options: Any) -> None:
        self.clock: Clock = clock or SystemClock()
        self._wake = threading.Event()
        self._stop_requested = threading.Event()
        self.started_at: datetime | None = None
        self._should_continue: Callable[[], bool] | None = None
        options.setdefault("timezone", UTC)
        options.setdefault("job_defaults", {"coalesce": True, "max_instances": 1})
        super().__init__(**options)

    def _create_default_executor(self) -> InlineExecutor:
        return InlineExecutor(self.clock)

    def wakeup(self) -> None:
        """Make the loop look at the jobs now (APScheduler calls it when jobs change)."""
        self._wake.set()

    def request_stop(self) -> None:
        """Stop after the job running now (safe from a signal handler: it only sets events)."""
        self._stop_requested.set()
        self._wake.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the scheduler (APScheduler's shutdown) and wake the loop so that it returns."""
        if self.state != STATE_STOPPED:
            super().shutdown(wait)
        self._wake.set()

    def run(self, *, until: datetime | None = None, should_continue: Callable[[], bool] | None = None) -> None:
        """Start and process jobs until stopped (see the class docstring); shut down on the way out."""
        self._should_continue = should_continue
        self.started_at = self.clock.now()
        self.start()
        try:
            while self.state != STATE_STOPPED and not self._stopping():
                wait = self._process_jobs()
                now = self.clock.now()
                if self._stopping() or (until is not None and now >= until):
                    break
                seconds = MAX_WAIT_SECONDS if wait is None else min(wait, MAX_WAIT_SECONDS)
                if until is not None:
                    seconds = min(seconds, (until - now).total_seconds())
                self.clock.wait(seconds, self._wake)
                self._wake.clear()
        finally:
            self.shutdown(wait=False)

    def _stopping(self) -> bool:
        return self.stop_requested or (self._should_continue is not None and not self._should_continue())

    def _process_jobs(self) -> float | None:
        """APScheduler's `_process_jobs`, reading the time from the clock; the due jobs run after the
        job store is updated (each job's next fire time is set before it runs)."""
        if self.state == STATE_PAUSED:
            return None
        now = self.clock.now()
        due: list[tuple[Any, str, list[datetime]]] = []
        with self._jobstores_lock:
            for alias, jobstore in self._jobstores.items():
                for job in jobstore.get_due_jobs(now):
                    run_times = job._get_run_times(now)
                    run_times = run_times[-1:] if run_times and job.coalesce else run_times
                    if run_times:
                        due.append((job, alias, run_times))
                    following = job.trigger.get_next_fire_time(run_times[-1], now) if run_times else None
                    if following is not None:
                        job._modify(next_run_time=following)
                        jobstore.update_job(job)
                    else:
                        self.remove_job(job.id, alias)
        for job, alias, run_times in due:
            if self._stopping():
                break
            self._submit(job, alias, run_times)
        return self._seconds_to_next_run()

    def _submit(self, job: Any, alias: str, run_times: list[datetime]) -> None:
        executor = self._lookup_executor(job.executor)
        try:
            executor.submit_job(job, run_times)
        except MaxInstancesReachedError:
            log.warning("job %s is still running: its run at %s is skipped", job.id, run_times[-1])
            self._dispatch_event(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, job.id, alias, run_times))

    def _seconds_to_next_run(self) -> float | None:
        with self._jobstores_lock:
            times = [t for t in (store.get_next_run_time() for store in self._jobstores.values()) if t is not None]
        if not times:
            return None
        return max((min(times) - self.clock.now()).total_seconds(), 0.0)


def is_catch_up(scheduler: JobScheduler, scheduled_at: datetime | None) -> bool:
    """True for a fire time before the scheduler started (a run missed while it was down)."""
    return scheduled_at is not None and scheduler.started_at is not None and scheduled_at < scheduler.started_at
