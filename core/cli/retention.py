"""`punchbridge purge` and `punchbridge erase`: retention and erasure (docs/retention.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from punchbridge.cli.context import config_option, load_context, stop_on_signals
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.errors import ExitCode, UserInputError

if TYPE_CHECKING:
    from punchbridge.config import Config

__all__ = ["erase_command", "purge_command"]


@exit_codes({ExitCode.STOPPED: "SIGTERM or Ctrl-C between steps; the next purge finishes"})
@click.command("purge")
@config_option()
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
def purge_command(config_path: Path, dry_run: bool) -> None:
    """Remove punches and run data older than the configured retention (docs/retention.md).

    A purge that removes is recorded in the run history (`punchbridge runs --kind purge`).
    """
    from punchbridge.cli.progress import ProgressBars
    from punchbridge.retention.engine import purge

    context = load_context(config_path)
    with context.open_store(dry_run=dry_run) as store, stop_on_signals() as stop, ProgressBars() as bars:
        report = purge(
            context.config, store, dry_run=dry_run, should_stop=stop.is_set, registry=context.registry,
            progress=lambda step, done, total: bars.update("purging", done, total),
        )  # fmt: skip
    verb = "would remove" if dry_run else "removed"
    horizon = report.horizon.isoformat() if report.horizon else "none (no attendance data may go yet)"
    click.echo(f"attendance data kept from {horizon} (retention asks for {report.wanted})")
    if report.held_by:
        click.echo(f"  held back: {report.held_by}; lock it (punchbridge period lock) to let its data go")
    for kind, count in report.removed.items():
        click.echo(f"  {kind}: {count}")
    click.echo(f"{verb} {report.total} row(s)")
    if report.stopped:
        click.echo("stopped on request: the next purge removes the rest", err=True)
        exit_with(ExitCode.STOPPED)


@exit_codes(
    {
        ExitCode.FAILED: "the store could not be used, or the erasure was not confirmed",
        ExitCode.REFUSED: "punchbridge has never seen EMPLOYEE and there is no terminal to confirm on: check the id, "
        "or rerun with --force-unknown",
    }
)
@click.command("erase")
@config_option()
@click.argument("employee")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (an id never seen still asks: --force-unknown).")
@click.option(
    "--force-unknown", is_flag=True,
    help="Erase an id punchbridge has never seen (no punch, day, ledger row or employees file row) without "
    "asking to type it again.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
def erase_command(config_path: Path, employee: str, yes: bool, force_unknown: bool, dry_run: bool) -> None:
    """Remove EMPLOYEE's punches, days, ledger rows, dead letters and more; keep re-sent punches out.

    The tombstone is for good: an id punchbridge has never seen (a typo, say) is erased only after it
    is typed again on a terminal, or with --force-unknown.
    """
    from punchbridge.retention.erasure import erase_employee

    if not employee.strip() or "\x00" in employee:
        raise click.BadParameter("the employee id is empty or contains a NUL character", param_hint="EMPLOYEE")
    context = load_context(config_path)
    with context.open_store(dry_run=dry_run) as store:
        preview = erase_employee(store, employee, dry_run=True)
        unknown = preview.total == 0 and not store.erased_employees([employee])
        unknown = unknown and _still_listed(context.config, employee) is None
        _print_counts(preview.removed)
        if dry_run:
            click.echo(f"would remove {preview.total} row(s) of {employee}")
            if unknown:
                click.echo(f"note: punchbridge has never seen {employee}: check the id (--force-unknown erases it)")
            return
        if unknown and not force_unknown:
            _confirm_unknown(employee)
        elif not yes:
            click.confirm(f"erase {employee} ({preview.total} row(s)) and keep their re-sent punches out?", abort=True)
        report = erase_employee(store, employee)
    click.echo(f"erased {employee}: {report.total} row(s) removed; a tombstone keeps re-sent punches out")
    still = _still_listed(context.config, employee)
    if still:
        click.echo(f"note: {employee} is still in {still}: remove them there too (their days are left out meanwhile)")


def _confirm_unknown(employee: str) -> None:
    """Have the id of a never-seen employee typed again (a typo would tombstone a real id's future punches)."""
    from punchbridge.cli.confirm import NotConfirmedError, on_terminal

    warning = f"punchbridge has never seen {employee}; erasing it tombstones the id for good"
    if not on_terminal():
        raise NotConfirmedError(
            f"{warning}: check the id, or rerun with --force-unknown (there is no terminal to ask on); "
            "nothing was erased"
        )
    typed = click.prompt(f"{warning}: type the id again to confirm", default="", show_default=False)
    if typed.strip() != employee:
        click.echo(f"not confirmed: {typed.strip()!r} is not {employee!r}; nothing was erased", err=True)
        exit_with(ExitCode.FAILED)


def _print_counts(removed: dict[str, int]) -> None:
    for kind, count in removed.items():
        click.echo(f"  {kind}: {count}")


def _still_listed(config: Config, employee: str) -> str | None:
    """The employees file when it still lists `employee`."""
    from punchbridge.config.datafiles import read_employees

    try:
        employees = read_employees(config.employees, config.rules)
    except UserInputError:
        return None
    return str(config.employees) if employee in set(employees["employee_id"].astype(str)) else None
