"""`punchbridge purge` and `punchbridge erase`: retention and erasure (docs/retention.md).

Exit codes: 0 done (or shown, for `--dry-run`); 2 bad input; 1 when the store cannot be used, or an
erasure was not confirmed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from punchbridge.cli.context import config_option, open_store
from punchbridge.errors import UserInputError

__all__ = ["erase_command", "purge_command"]


def _config(config_path: Path) -> Any:
    from punchbridge.config import load_config

    config, _doc = load_config(config_path)
    return config


@click.command("purge")
@config_option()
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
def purge_command(config_path: Path, dry_run: bool) -> None:
    """Remove punches and run data older than the configured retention (docs/retention.md)."""
    from punchbridge.retention.engine import purge

    config = _config(config_path)
    store = open_store(config, dry_run=dry_run)
    try:
        report = purge(config, store, dry_run=dry_run)
    finally:
        store.close()
    verb = "would remove" if dry_run else "removed"
    horizon = report.horizon.isoformat() if report.horizon else "none (no attendance data may go yet)"
    click.echo(f"attendance data kept from {horizon} (retention asks for {report.wanted})")
    if report.held_by:
        click.echo(f"  held back: {report.held_by}; lock it (punchbridge period lock) to let its data go")
    for kind, count in report.removed.items():
        click.echo(f"  {kind}: {count}")
    click.echo(f"{verb} {report.total} row(s)")


@click.command("erase")
@config_option()
@click.argument("employee")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
def erase_command(config_path: Path, employee: str, yes: bool, dry_run: bool) -> None:
    """Remove EMPLOYEE's punches, days, ledger rows, dead letters and more; keep re-sent punches out."""
    from punchbridge.retention.erasure import erase_employee

    if not employee.strip() or "\x00" in employee:
        raise click.BadParameter("the employee id is empty or contains a NUL character", param_hint="EMPLOYEE")
    config = _config(config_path)
    store = open_store(config, dry_run=dry_run)
    try:
        preview = erase_employee(store, employee, dry_run=True)
        _print_counts(preview.removed)
        if dry_run:
            click.echo(f"would remove {preview.total} row(s) of {employee}")
            return
        if not yes:
            click.confirm(f"erase {employee} ({preview.total} row(s)) and keep their re-sent punches out?", abort=True)
        report = erase_employee(store, employee)
    finally:
        store.close()
    click.echo(f"erased {employee}: {report.total} row(s) removed; a tombstone keeps re-sent punches out")
    still = _still_listed(config, employee)
    if still:
        click.echo(f"note: {employee} is still in {still}: remove them there too (their days are left out meanwhile)")


def _print_counts(removed: dict[str, int]) -> None:
    for kind, count in removed.items():
        click.echo(f"  {kind}: {count}")


def _still_listed(config: Any, employee: str) -> str | None:
    """The employees file when it still lists `employee`."""
    from punchbridge.config.datafiles import read_employees

    try:
        employees = read_employees(config.employees, config.rules)
    except UserInputError:
        return None
    return str(config.employees) if employee in set(employees["employee_id"].astype(str)) else None
