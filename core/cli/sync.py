"""`punchbridge sync`: ingest, recompute what changed, deliver; and the report it prints."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from punchbridge.cli.context import (
    config_option,
    err_console,
    load_context,
    parse_date,
    stop_on_signals,
    wait_option,
)
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.cli.plain import ReportConsole, ReportTable
from punchbridge.errors import ExitCode

if TYPE_CHECKING:
    from punchbridge.cli.context import CommandContext
    from punchbridge.sync import SyncReport
    from punchbridge.sync.report import TargetReport

__all__ = ["held_back_line", "print_busy", "print_report", "sync", "sync_exit_code"]

#: What `sync` and `dlq retry` say about their codes beyond 0, 1 and 2.
SYNC_EXIT_CODES = {
    ExitCode.FAILED: "a target could not be served (the report says which and why)",
    ExitCode.ATTENTION: "records were refused and kept as dead letters (see `punchbridge dlq list`)",
    ExitCode.BUSY: "another process was delivering to a target (it is named) past --wait: nothing was sent to "
    "that target; the other targets were served",
    ExitCode.STOPPED: "SIGTERM or Ctrl-C; the batch in flight finished, the next sync sends the rest",
}


def sync_exit_code(report: SyncReport) -> ExitCode:
    """How a sync ended, as the table says it (the `sync` job's run status says the same)."""
    if report.failed:
        return ExitCode.FAILED
    if report.busy:
        return ExitCode.BUSY
    if report.stopped:
        return ExitCode.STOPPED
    if report.dead_lettered:
        return ExitCode.ATTENTION
    return ExitCode.OK


@exit_codes(SYNC_EXIT_CODES)
@click.command()
@config_option()
@click.option(
    "--target", "targets", multiple=True, help="Only this target (repeatable). Default: every enabled target."
)
@click.option("--from", "date_from", callback=parse_date, help="First work date (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=parse_date, help="Last work date (YYYY-MM-DD), inclusive.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; write nothing anywhere.")
@wait_option("then that target is skipped (exit code 4) and the others are served")
def sync(
    config_path: Path,
    targets: tuple[str, ...],
    date_from: date | None,
    date_to: date | None,
    dry_run: bool,
    wait_seconds: float,
) -> None:
    """Ingest new punches, recompute what changed, and deliver new or changed records to the targets."""
    context = load_context(config_path)
    new_store = context.missing_store_file()
    quiet_files = None
    if not dry_run:
        from punchbridge.sync.fingerprints import input_files_digest

        quiet_files = input_files_digest(context.config, context.registry)  # before any input file is read
        report = None if new_store else _quiet_night(context, quiet_files, targets, date_from, date_to, wait_seconds)
        if report is not None:
            _print_and_exit(report, config_path)
    from punchbridge.cli.progress import ProgressBars
    from punchbridge.sync import SyncEngine, SyncInputs
    from punchbridge.sync.quiet import inputs_digest, remember_inputs

    inputs = SyncInputs.load(context.config, context.registry)  # every input checked before the store is touched
    bars = ProgressBars()
    with context.open_store(dry_run=dry_run) as store, stop_on_signals() as stop:
        if new_store is not None:
            # A store nobody meant to create (a relative path read from elsewhere, a typo) would resend
            # every day of the range to every target: say so before anything is sent.
            verb = "would create" if dry_run else "created"
            err_console().print(
                f"new store: {verb} {new_store}; every day of the range counts as new", soft_wrap=True, markup=False
            )
        # taken before the engine reads the received leaves, like the files' digest before the files
        digest = inputs_digest(quiet_files, store) if quiet_files is not None else None
        engine = SyncEngine(
            context.config, context.document, context.registry, store,
            dry_run=dry_run, progress=bars.labelled("sending to"), reading=bars.labelled("reading"),
            inputs=inputs, should_stop=stop.is_set, lock_wait=wait_seconds,
        )  # fmt: skip
        with bars:  # an UnknownTargetError is a UserInputError: reported with its problem, exit code 2
            report = engine.run(list(targets) or None, date_from, date_to)
        if digest is not None:
            remember_inputs(store, digest)  # the next night compares its inputs with these
    _print_and_exit(report, config_path)


def _quiet_night(
    context: CommandContext,
    files_digest: str,
    targets: tuple[str, ...],
    date_from: date | None,
    date_to: date | None,
    wait_seconds: float,
) -> SyncReport | None:
    """The report of a quiet night (`punchbridge.sync.quiet`), or None when the full sync must run."""
    from punchbridge.sync.quiet import QuietNight, inputs_digest

    with context.open_store() as store, stop_on_signals() as stop:
        night = QuietNight(
            context.config, context.document, context.registry, store, inputs_digest(files_digest, store),
            should_stop=stop.is_set, lock_wait=wait_seconds,
        )  # fmt: skip
        quiet = night.check(list(targets) or None, date_from, date_to)
        return None if quiet is None else night.run(*quiet)


def _print_and_exit(report: SyncReport, config_path: Path) -> None:
    """Print the sync report and exit with the code the report calls for."""
    print_report(report, config_path)
    print_busy(report)
    if report.stopped:
        err_console().print("stopped on request: the batch in flight finished; the next sync sends the rest")
    exit_with(sync_exit_code(report))


def print_busy(report: SyncReport) -> None:
    """One line on stderr per target another process was delivering to (nothing was sent to it)."""
    for target in report.targets:
        if target.busy:
            click.echo(f"error: {target.busy}", err=True)


def print_report(report: SyncReport, config_path: Path | None = None) -> None:
    """The sync report: ingest and recompute counts, a delivery table, samples and cut-off notes.

    `config_path` is the configuration the run used: the hints name it in the commands they suggest.
    """
    out = ReportConsole()
    mode = "dry run: nothing was written" if report.dry_run else "sync"
    out.print(
        f"{mode} {report.date_from} to {report.date_to}: {report.ingested} new punch(es), "
        f"{report.duplicates} already stored, {report.quarantined} quarantined; "
        f"{report.days_computed} day(s) computed, {report.days_new} new, {report.days_changed} changed"
    )
    table = ReportTable(title="delivery" if not report.dry_run else "would deliver")
    for column in (
        "target",
        "new",
        "changed",
        "unchanged",
        "held back",
        "held open",
        "locked",
        "delivered",
        "refused",
        "batches",
        "where / error",
    ):
        table.add_column(column, justify="right" if column not in ("target", "where / error") else "left")
    for t in report.targets:
        where = (
            t.error
            or ("busy: another process is delivering to it" if t.busy else "")
            or ", ".join(t.locations[:3]) + (" ..." if len(t.locations) > 3 else "")
        )
        table.add_row(
            t.name,
            str(t.new),
            str(t.changed),
            str(t.unchanged),
            str(t.held_back),
            str(t.held_open),
            str(t.locked),
            str(t.delivered),
            str(t.rejected),
            str(t.batches),
            where,
        )
    out.print(table)
    for t in report.targets:
        if t.sample is not None and len(t.sample):
            sample = ReportTable(title=f"{t.name}: first {len(t.sample)} record(s) that would be sent")
            for column in t.sample.columns:
                sample.add_column(str(column))
            for row in t.sample.itertuples(index=False):
                sample.add_row(*("" if v is None else str(v) for v in row))
            out.print(sample)
        if not report.dry_run and t.new + t.changed == 0 and not t.error and not t.busy and not t.resumed_batches:
            if t.same_as_delivered:
                out.print(
                    f"{t.name}: {t.same_as_delivered} day(s) recomputed, same record as delivered: nothing new to send"
                )
            else:
                out.print(f"{t.name}: nothing new to send")
        if t.held_back:
            out.print(held_back_line(t, config_path), markup=False, soft_wrap=True)
        if t.locked:
            out.print(f"{t.name}: {t.locked} record(s) of locked periods not sent (docs/cutoff.md)")
        if t.held_open:
            out.print(
                f"{t.name}: {t.held_open} day(s) held open: a check-in without a check-out (open_days: hold; "
                "quarantined as missing_check_out, sent once complete; docs/sync.md)"
            )
        if t.adjustments:
            verb = "would send" if report.dry_run else "sent"
            out.print(f"{t.name}: {verb} {t.adjustments} adjustment(s) for locked periods")
    _print_cutoff(out, report)


#: What each reason a mapping holds a day back means (`punchbridge.mapping.REASONS`), in the report's words.
HELD_BACK_REASONS = {
    "unmapped_id": "unmapped employee id(s): no entry in the mapping's id table",
    "no_cost_centre": "no cost centre: no rule and no default for the day",
    "unmapped_value": "strict value(s): a field's value has no entry in its strict value map",
}


def held_back_line(target: TargetReport, config_path: Path | None = None) -> str:
    """Why `target`'s days were held back, reason by reason with counts, and the command that lists them."""
    reasons = "; ".join(
        f"{count} {HELD_BACK_REASONS.get(reason, reason)}"
        for reason, count in sorted(target.held_reasons.items(), key=lambda item: (-item[1], item[0]))
    )
    config = f" -c {config_path}" if config_path is not None else ""
    return (
        f"{target.name}: {target.held_back} day(s) held back ({reasons}); quarantined until the mapping is fixed: "
        f"`punchbridge mappings check{config} --target {target.name}` lists them"
    )


def _print_cutoff(out: ReportConsole, report: SyncReport) -> None:
    """The payroll cut-off lines of a sync report (nothing when no locked period was touched)."""
    recorded = report.adjustments_recorded
    if report.days_locked or recorded:
        verb = "would be recorded" if report.dry_run else "recorded"
        out.print(
            f"cut-off: {report.days_locked} day(s) of locked periods changed: kept as the period closed; "
            f"{recorded} adjustment(s) {verb}"
        )
    waiting = report.adjustments_waiting
    if waiting:
        out.print(
            f"cut-off: {waiting} adjustment(s) not delivered yet (configure `adjustments: {{target: NAME}}`, "
            "see docs/cutoff.md, or see `punchbridge dlq list`)"
        )
