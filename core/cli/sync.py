"""`punchbridge sync`: ingest, recompute what changed, deliver; and the report it prints."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from punchbridge.cli.context import config_option, err_console, load_context, open_store, out_console, parse_date
from punchbridge.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_report", "sync"]


@click.command()
@config_option()
@click.option(
    "--target", "targets", multiple=True, help="Only this target (repeatable). Default: every enabled target."
)
@click.option("--from", "date_from", callback=parse_date, help="First work date (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=parse_date, help="Last work date (YYYY-MM-DD), inclusive.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; write nothing anywhere.")
def sync(
    config_path: Path, targets: tuple[str, ...], date_from: date | None, date_to: date | None, dry_run: bool
) -> None:
    """Ingest new punches, recompute what changed, and deliver new or changed records to the targets.

    Exit code 0 when everything was delivered, 3 when some records were refused (see `punchbridge dlq
    list`), 1 when a target could not be served, 2 for configuration or input problems.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from punchbridge.sync import SyncEngine, SyncInputs

    context = load_context(config_path)

    config, doc, registry = context.config, context.document, context.registry
    inputs = SyncInputs.load(config, registry)  # every input checked before the store is touched
    store = open_store(config, dry_run=dry_run)
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err_console(), transient=True, disable=not err_console().is_terminal,
    )  # fmt: skip
    tasks: dict[str, Any] = {}

    def progress(target: str, done: int, total: int) -> None:
        if target not in tasks:
            tasks[target] = bar.add_task(f"sending to {target}", total=total)
        bar.update(tasks[target], completed=done, total=total)

    try:
        engine = SyncEngine(config, doc, registry, store, dry_run=dry_run, progress=progress, inputs=inputs)
        with bar:  # an UnknownTargetError is a UserInputError: reported with its problem, exit code 2
            report = engine.run(list(targets) or None, date_from, date_to)
    finally:
        store.close()
    print_report(report)
    if report.failed:
        sys.exit(ExitCode.FAILED)
    if report.dead_lettered:
        sys.exit(ExitCode.ATTENTION)


def print_report(report: Any) -> None:
    """The sync report: ingest and recompute counts, a delivery table, samples and cut-off notes."""
    out = out_console()
    mode = "dry run: nothing was written" if report.dry_run else "sync"
    out.print(
        f"{mode} {report.date_from} to {report.date_to}: {report.ingested} new punch(es), "
        f"{report.duplicates} already stored, {report.quarantined} quarantined; "
        f"{report.days_computed} day(s) computed, {report.days_new} new, {report.days_changed} changed"
    )
    table = Table(title="delivery" if not report.dry_run else "would deliver")
    for column in (
        "target",
        "new",
        "changed",
        "unchanged",
        "held back",
        "locked",
        "delivered",
        "refused",
        "batches",
        "where / error",
    ):
        table.add_column(column, justify="right" if column not in ("target", "where / error") else "left")
    for t in report.targets:
        where = t.error or ", ".join(t.locations[:3]) + (" ..." if len(t.locations) > 3 else "")
        table.add_row(
            t.name,
            str(t.new),
            str(t.changed),
            str(t.unchanged),
            str(t.held_back),
            str(t.locked),
            str(t.delivered),
            str(t.rejected),
            str(t.batches),
            where,
        )
    out.print(table)
    for t in report.targets:
        if t.sample is not None and len(t.sample):
            sample = Table(title=f"{t.name}: first {len(t.sample)} record(s) that would be sent")
            for column in t.sample.columns:
                sample.add_column(str(column))
            for row in t.sample.itertuples(index=False):
                sample.add_row(*("" if v is None else str(v) for v in row))
            out.print(sample)
        if not report.dry_run and t.new + t.changed == 0 and not t.error and not t.resumed_batches:
            out.print(f"{t.name}: nothing new to send")
        if t.locked:
            out.print(f"{t.name}: {t.locked} record(s) of locked periods not sent (docs/cutoff.md)")
        if t.adjustments:
            verb = "would send" if report.dry_run else "sent"
            out.print(f"{t.name}: {verb} {t.adjustments} adjustment(s) for locked periods")
    _print_cutoff(out, report)


def _print_cutoff(out: Console, report: Any) -> None:
    """The payroll cut-off lines of a sync report (nothing when no locked period was touched)."""
    recorded = getattr(report, "adjustments_recorded", 0)
    if getattr(report, "days_locked", 0) or recorded:
        verb = "would be recorded" if report.dry_run else "recorded"
        out.print(
            f"cut-off: {report.days_locked} day(s) of locked periods changed: kept as the period closed; "
            f"{recorded} adjustment(s) {verb}"
        )
    waiting = getattr(report, "adjustments_waiting", 0)
    if waiting:
        out.print(
            f"cut-off: {waiting} adjustment(s) not delivered yet (configure `adjustments: {{target: NAME}}`, "
            "see docs/cutoff.md, or see `punchbridge dlq list`)"
        )
