"""`punchbridge schedule`, `jobs list`, `jobs run` and `runs`: the scheduler and the run history (docs/jobs.md).

Exit codes: `schedule` 0 after a clean stop (SIGTERM, Ctrl-C), 4 when another scheduler holds the
store (or the lock was lost), 2 for configuration problems. `jobs run` 0 ok, 3 partial (dead
letters, differences found), 1 failed, 5 stopped by a signal before the end, 4 when a scheduler
holds the store. Every finished run logs one `punchbridge run=... status=...` line on stderr.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from punchbridge.cli.context import config_option, load_context, open_store, out_console
from punchbridge.errors import ConfigError

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


def _environment(config_path: Path) -> Any:
    """Configuration (jobs checked too), plugins and store, as the jobs see them."""
    from punchbridge.jobs.checks import check_jobs
    from punchbridge.jobs.runner import JobEnvironment

    context = load_context(config_path)

    config, doc, registry = context.config, context.document, context.registry
    ConfigError.collect(check_jobs(config, doc, registry))
    store = open_store(config)
    return JobEnvironment(config=config, document=doc, registry=registry, store=store)


@click.command("schedule")
@config_option()
def schedule(config_path: Path) -> None:
    """Run the configured jobs on their schedules until stopped (SIGTERM or Ctrl-C).

    One scheduler per store: a second one refuses to start, naming the first (host, pid, since).
    A job's fire time missed while no scheduler ran is run once at start-up (within its
    misfire_grace_seconds). On SIGTERM the running job finishes its batch and records its state.
    """
    from punchbridge.jobs.service import Schedule, stop_on_signals

    _log_to_stderr()
    environment = _environment(config_path)
    try:
        service = Schedule(environment)
        with stop_on_signals(service.stop):
            runs = service.run()
    finally:
        environment.store.close()
    click.echo(f"scheduler stopped after {len(runs)} run(s)", err=True)


@click.group("jobs")
def jobs_group() -> None:
    """The scheduled jobs of a configuration: list them, run one now."""


@jobs_group.command("list")
@config_option()
def jobs_list(config_path: Path) -> None:
    """Show each job: schedule, next run (in its time zone), last run and its result, and which
    scheduler (if any) runs the jobs of the store."""
    from punchbridge.jobs.cron import job_trigger
    from punchbridge.jobs.lock import describe_holder

    context = load_context(config_path)

    config, _doc, _registry = context.config, context.document, context.registry
    store = open_store(config)
    try:
        last_runs = {name: store.last_job_run(name) for name in config.jobs}
        holder = store.scheduler_lock_holder()
    finally:
        store.close()
    now = datetime.now(UTC)
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
    if holder is None:
        console.print("scheduler: none running on this store (start one with `punchbridge schedule`)")
    else:
        console.print(f"scheduler: running on {describe_holder(holder, int(now.timestamp() * _NS))}")


@jobs_group.command("run")
@config_option()
@click.argument("name")
def jobs_run(config_path: Path, name: str) -> None:
    """Run job NAME now, the way the scheduler runs it (recorded in the run history).

    Refused while a scheduler runs the jobs of the store. Exit code 0 ok, 3 partial, 1 failed,
    5 stopped by SIGTERM or Ctrl-C (the batch in flight finished; the next run sends the rest).
    """
    import threading

    from punchbridge.jobs.service import run_one, stop_on_signals

    _log_to_stderr()
    environment = _environment(config_path)
    if name not in environment.config.jobs:
        environment.store.close()
        known = ", ".join(environment.config.jobs) or "none (add a jobs: section)"
        raise click.BadParameter(f"no job named {name!r}; configured: {known}", param_hint="NAME")
    stop = threading.Event()
    try:
        with stop_on_signals(stop.set):
            result = run_one(environment, name, stop=stop)
    finally:
        environment.store.close()
    if (
        result.error and len(result.error) > 200
    ):  # the log line shortens it: the operator at the terminal reads it whole
        click.echo(f"error: {result.error}", err=True)
    if result.exit_code:
        raise SystemExit(result.exit_code)


@click.command("runs")
@config_option()
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=20, show_default=True, help="At most N runs.")
@click.option("--kind", help="Only runs of this kind (sync, reconcile, employees, purge, ...).")
@click.option("--job", help="Only runs of this scheduled job.")
@click.option("--failed", is_flag=True, help="Only runs that failed.")
def runs_command(config_path: Path, limit: int, kind: str | None, job: str | None, failed: bool) -> None:
    """List recorded runs, newest first: start, end, status, counts and errors."""
    context = load_context(config_path)
    config, _doc, _registry = context.config, context.document, context.registry
    store = open_store(config)
    try:
        found = store.list_runs(limit=limit, kind=kind, job=job, failed=failed)
    finally:
        store.close()
    table = Table(title=f"runs ({len(found)})")
    for column in ("id", "job", "kind", "by", "started", "seconds", "status", "counts", "error"):
        table.add_column(column)
    for run in found:
        settings = config.jobs.get(run["job"]) if run["job"] else None
        zone = ZoneInfo(settings.timezone) if settings else UTC
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


def _local(moment: datetime, zone: Any) -> str:
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
