"""`punchbridge schedule`, `jobs list`, `jobs run` and `runs`: the scheduler and the run history (docs/jobs.md).

`jobs run NAME` exits with the code the job's own command would give (`punchbridge sync`,
`reconcile`, ...: README "Exit codes"); `schedule` and `jobs run` exit 4 while another process
holds the store's job lock. Every finished run logs one `punchbridge run=... status=...` line on
stderr.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from punchbridge.cli.context import CommandContext, config_option, load_context, out_console, stop_on_signals
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.errors import ExitCode

if TYPE_CHECKING:
    from punchbridge.jobs.runner import JobEnvironment

__all__ = ["jobs_group", "runs_command", "schedule"]


_NS = 1_000_000_000


def _log_to_stderr() -> None:
    """Send the jobs' lines (`punchbridge run=...`) to stderr, one line each (one handler per process,
    pointed at the current stderr)."""
    logger = logging.getLogger("punchbridge.jobs")
    mine = [handler for handler in logger.handlers if getattr(handler, "_punchbridge_jobs", False)]
    if mine:
        for handler in mine:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sys.stderr)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._punchbridge_jobs = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _environment(context: CommandContext) -> JobEnvironment:
    """What the jobs see: the configuration, plugins and the store (open: close it after)."""
    from punchbridge.jobs.runner import JobEnvironment

    return JobEnvironment(
        config=context.config, document=context.document, registry=context.registry, store=context.open_store()
    )


@exit_codes(
    {
        ExitCode.OK: "stopped cleanly by SIGTERM or Ctrl-C (the job running finished its batch; a standby "
        "stops waiting)",
        ExitCode.BUSY: "another scheduler runs the jobs of this store (its host, pid and since when are named; "
        "not with --standby), or this one lost its lock",
    }
)
@click.command("schedule")
@config_option()
@click.option(
    "--standby",
    is_flag=True,
    help="While another scheduler runs the jobs of the store, wait and take over when it is gone (instead of exit 4).",
)
def schedule(config_path: Path, standby: bool) -> None:
    """Run the configured jobs on their schedules until stopped (SIGTERM or Ctrl-C).

    One scheduler per store: a second one refuses to start, naming the first (host, pid, since),
    unless started with --standby: then it waits, and takes over as soon as the first one's lock is
    free (PostgreSQL: its connection ended; SQLite: its process is gone, or its heartbeat stale).
    A job's fire time missed while no scheduler ran is run once at start-up or takeover (within its
    misfire_grace_seconds). On SIGTERM the running job finishes its batch and records its state.
    """
    from punchbridge.jobs.service import Schedule
    from punchbridge.jobs.service import stop_on_signals as on_signals

    _log_to_stderr()
    environment = _environment(load_context(config_path))  # the jobs are checked with the rest
    with environment.store:
        service = Schedule(environment, standby=standby)
        with on_signals(service.stop):
            runs = service.run()
    click.echo(f"scheduler stopped after {len(runs)} run(s)", err=True)


@click.group("jobs")
def jobs_group() -> None:
    """The scheduled jobs of a configuration: list them, run one now."""


@exit_codes()
@jobs_group.command("list")
@config_option()
def jobs_list(config_path: Path) -> None:
    """Show each job: schedule, next run (in its time zone), last run and its result, and which
    scheduler (if any) runs the jobs of the store."""
    from punchbridge.jobs.cron import job_trigger
    from punchbridge.jobs.lock import describe_holder, scheduler_roles

    context = load_context(config_path)
    config = context.config
    with context.open_store() as store:
        last_runs = {name: store.last_job_run(name) for name in config.jobs}
        roles = scheduler_roles(store.lock_holders("scheduler"), time.time_ns())
    now = datetime.now(UTC)
    from rich.table import Table

    table = Table(title=f"jobs ({len(config.jobs)})")
    for column in ("job", "run", "schedule", "next run", "last run", "result"):
        table.add_column(column)
    for name, job in config.jobs.items():
        zone = ZoneInfo(job.timezone)
        upcoming = job_trigger(job.cron, job.timezone).get_next_fire_time(None, now) if job.enabled else None
        what = job.run + (f" {job.target}" if job.target else "") + (f" {job.period}" if job.period else "")
        last = last_runs[name]
        table.add_row(
            name,
            what,
            f"{job.cron} {job.timezone}",
            _local(upcoming, zone) if upcoming else ("disabled" if not job.enabled else "never"),
            _local(_instant(last["started_at_ns"]), zone) + f" (run {last['id']})" if last else "never",
            _result(last),
        )
    console = out_console()
    console.print(table)
    now_ns = int(now.timestamp() * _NS)
    if roles.active is None:
        console.print("scheduler: none running on this store (start one with `punchbridge schedule`)")
    else:
        console.print(f"scheduler: running on {describe_holder(roles.active, now_ns)}")
    for standby in roles.standbys:
        console.print(f"standby: waiting on {describe_holder(standby, now_ns)}")


@exit_codes(
    {
        ExitCode.FAILED: "the run failed (its error is in the log line and in `punchbridge runs`)",
        ExitCode.BAD_INPUT: "the configuration, the job's name or an input file the job reads is wrong",
        ExitCode.ATTENTION: "the run is partial: dead letters, or differences remain (a reconcile)",
        ExitCode.BUSY: "a scheduler runs the jobs of this store (its host, pid and since when are named), or "
        "another process delivered to a target of a sync job for longer than its delivery_wait_seconds "
        "(the run is recorded busy)",
        ExitCode.STOPPED: "SIGTERM or Ctrl-C; the batch in flight finished, the next run sends the rest",
        ExitCode.REFUSED: "a safety check refused the run (an employee sync's mass delete)",
    }
)
@jobs_group.command("run")
@config_option()
@click.argument("name")
def jobs_run(config_path: Path, name: str) -> None:
    """Run job NAME now, the way the scheduler runs it (recorded in the run history).

    Refused while a scheduler runs the jobs of the store. It exits with the code its command
    (`sync`, `reconcile`, `employees sync`, `purge`) would give for the same outcome.
    """
    from punchbridge.jobs.service import run_one

    _log_to_stderr()
    context = load_context(config_path)
    if name not in context.config.jobs:
        known = ", ".join(context.config.jobs) or "none (add a jobs: section)"
        raise click.BadParameter(f"no job named {name!r}; configured: {known}", param_hint="NAME")
    environment = _environment(context)
    with environment.store, stop_on_signals() as stop:
        result = run_one(environment, name, stop=stop)
    if result.error and len(result.error) > 200:  # the log line shortens it: the operator reads it whole here
        click.echo(f"error: {result.error}", err=True)
    exit_with(result.exit_code)


@exit_codes()
@click.command("runs")
@config_option()
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=20, show_default=True, help="At most N runs.")
@click.option("--kind", help="Only runs of this kind (sync, reconcile, employees, purge, ...).")
@click.option("--job", help="Only runs of this scheduled job.")
@click.option("--failed", is_flag=True, help="Only runs that failed.")
def runs_command(config_path: Path, limit: int, kind: str | None, job: str | None, failed: bool) -> None:
    """List recorded runs, newest first: start, end, status, counts and errors."""
    context = load_context(config_path)
    config = context.config
    with context.open_store() as store:
        found = store.list_runs(limit=limit, kind=kind, job=job, failed=failed)
    from rich.table import Table

    table = Table(title=f"runs ({len(found)})")
    for column in ("id", "job", "kind", "by", "started", "seconds", "status", "counts", "error"):
        table.add_column(column)
    for run in found:
        settings = config.jobs.get(run["job"]) if run["job"] else None
        zone: tzinfo = ZoneInfo(settings.timezone) if settings else UTC
        finished = run["finished_at_ns"]
        seconds = "" if finished is None else f"{(finished - run['started_at_ns']) / _NS:.1f}"
        table.add_row(
            str(run["id"]),
            run["job"] or "",
            run["kind"] + (f" {run['target']}" if run["target"] else ""),
            run["started_by"] or "command",
            _local(_instant(run["started_at_ns"]), zone),
            seconds,
            run["status"],
            _counts(run["summary"]),
            run["error"] or "",
        )
    out_console().print(table)


def _instant(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / _NS, UTC)


def _local(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %z")


def _counts(summary: dict[str, Any] | None) -> str:
    """The summary's top-level numbers, `name=value` (nested details stay in the store)."""
    if not summary:
        return ""
    return " ".join(
        f"{key}={value}" for key, value in summary.items() if isinstance(value, int) and not isinstance(value, bool)
    )


def _result(run: dict[str, Any] | None) -> str:
    if run is None:
        return ""
    if run["error"]:
        return f"{run['status']}: {run['error'][:80]}"
    return str(run["status"])
