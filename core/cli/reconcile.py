"""`punchbridge reconcile`: what a target holds against what punchbridge computed (docs/reconcile.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from punchbridge.cli.context import config_option, load_context, stop_on_signals, wait_option
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.errors import ExitCode

if TYPE_CHECKING:
    from punchbridge.reconcile import ReconcileReport

__all__ = ["reconcile", "reconcile_exit_code"]

#: Differences listed on the terminal at most (the report files have every one).
LISTED = 20


def reconcile_exit_code(report: ReconcileReport) -> ExitCode:
    """How a reconciliation ended, as the table says it (the `reconcile` job's run status says the same)."""
    if report.repair_busy:
        return ExitCode.BUSY
    if report.stopped:
        return ExitCode.STOPPED
    return ExitCode.OK if report.clean else ExitCode.ATTENTION


@exit_codes(
    {
        ExitCode.OK: "the target holds exactly what was computed (or --repair fixed every difference)",
        ExitCode.FAILED: "the target could not be read",
        ExitCode.BAD_INPUT: "a wrong target, period or configuration",
        ExitCode.ATTENTION: "differences remain (missing, different, extra, or on days of a locked period)",
        ExitCode.BUSY: "--repair: another process was delivering to the target (it is named) past --wait; "
        "nothing was resent (the next sync sends the missing and different records)",
        ExitCode.STOPPED: "SIGTERM or Ctrl-C before the end; run it again",
    }
)
@click.command("reconcile")
@config_option()
@click.option("--target", required=True, help="The target to reconcile (a name under `targets:`).")
@click.option(
    "--period", required=True,
    help="YYYY-MM (a month), YYYY-MM-DD..YYYY-MM-DD (days, both included), last_week, last_month or this_month "
    "(the relative ones count from today).",
)  # fmt: skip
@click.option(
    "--repair", is_flag=True,
    help="Resend the missing and different records through the sync engine (never days of a locked period).",
)  # fmt: skip
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the CSV and HTML report. Default: reports/ beside the configuration file.",
)  # fmt: skip
@wait_option("with --repair: then nothing is resent (exit code 4)")
def reconcile(
    config_path: Path, target: str, period: str, repair: bool, out_dir: Path | None, wait_seconds: float
) -> None:
    """Compare what a target holds for a period with what punchbridge computed; write a CSV and HTML report."""
    from punchbridge.cli.progress import ProgressBars
    from punchbridge.reconcile import run_reconcile

    context = load_context(config_path)
    with context.open_store() as store, stop_on_signals() as stop, ProgressBars() as bars:
        report = run_reconcile(
            context.config, context.document, context.registry, store,
            target=target, period=period, repair=repair, out_dir=out_dir, should_stop=stop.is_set,
            lock_wait=wait_seconds, progress=bars.update,
        )  # fmt: skip
    counts = report.counts()
    click.echo(f"reconcile {target} {report.start} to {report.end}: {report.headline()}")
    click.echo(
        f"  expected {report.expected}, held {report.held}: "
        + ", ".join(f"{name} {value}" for name, value in counts.items() if name != "remaining")
    )
    fields = report.differing_fields()
    if fields:
        click.echo("  fields differing: " + ", ".join(f"{name} ({count})" for name, count in sorted(fields.items())))
    differences = [f for f in report.findings if f.status != "matched"]
    for finding in differences[:LISTED]:
        who = finding.employee_id or "?"
        what = f" {','.join(finding.differing)}" if finding.differing else ""
        click.echo(
            f"  {finding.status:<9} {finding.work_date} {who} ({finding.target_employee}){what}: {finding.action}"
        )
    if len(differences) > LISTED:
        click.echo(f"  ... and {len(differences) - LISTED} more in the report")
    if report.csv_path and report.html_path:
        click.echo(f"  report: {report.csv_path}")
        click.echo(f"          {report.html_path}")
    if report.repair_busy:
        click.echo(f"error: {report.repair_busy}", err=True)
    exit_with(reconcile_exit_code(report))
