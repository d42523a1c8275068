"""`punchbridge employees ...`: HRMS employees to terminal users (docs/employees.md).

    punchbridge employees sync -c FILE [--dry-run] [--allow-mass-delete]
    punchbridge employees check -c FILE [--device STGID]
    punchbridge employees list -c FILE [--device STGID] [--all]

Exit codes: 0 done; 2 configuration problems (file, line, field); 1 a terminal could not be served,
a command was refused, or the HRMS could not be read; 4 the run was refused by the mass-delete rule
(nothing sent); 3 (`check`) the terminals differ from the HRMS.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from punchbridge.cli.context import config_option

__all__ = ["employees_group"]

EXIT_DIFFERENT = 3
_LISTED_PROBLEMS = 20
_LISTED_DIFFERENCES = 200

_config_option = config_option("The configuration file (YAML) with employee_sync:, minop: and devices:.")
_device_option = click.option("--device", "stgid", help="Only this terminal (its tag under devices:).")


@click.group("employees")
def employees_group() -> None:
    """Keep the terminals' user lists in line with the HRMS (the system of record)."""


@employees_group.command("sync")
@_config_option
@click.option("--dry-run", is_flag=True, help="Print the plan per terminal (adds, updates, deletes); write nothing.")
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Send even when a terminal would lose more than max_delete_share of its users, or the HRMS list is empty.",
)
def sync_command(config_path: Path, dry_run: bool, allow_mass_delete: bool) -> None:
    """Pull employees from the system of record and add, update and delete terminal users to match.

    Joiners are added to the terminals of their site (and of matching terminal rules) with their
    access window; leavers are deleted; transfers move; nothing is sent twice (OperationIDs). A run
    that would delete more than `max_delete_share` of a terminal's users, or delete anyone because
    the HRMS returned no active employee, stops before sending anything (exit 4).
    """
    from punchbridge.cli.context import load_context, open_store, out_console
    from punchbridge.employees import run_employee_sync

    context = load_context(config_path)

    config, doc, registry = context.config, context.document, context.registry
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    store = open_store(config, dry_run=dry_run)
    try:
        report = run_employee_sync(
            config, doc, registry, store, dry_run=dry_run, allow_mass_delete=allow_mass_delete, should_stop=stop.is_set
        )
    finally:
        store.close()
        signal.signal(signal.SIGTERM, previous)
    _print_report(out_console(), report, config_path)
    if report.failed:
        sys.exit(1)


def _print_report(console: Any, report: Any, config_path: Path) -> None:
    mode = "dry run: nothing was sent or written" if report.dry_run else "employee sync"
    console.print(
        f"{mode}: {report.pulled} employee record(s) from {report.source} ({report.active} active), "
        f"{report.placed} placed on terminals, {report.frozen} left as they are because of a problem"
    )
    title = "would change" if report.dry_run else "terminals"
    table = Table(title=title)
    columns = ["terminal", "site", "held", "adds", "updates", "deletes", "faces", "commands", "delete share"]
    if not report.dry_run:
        columns += ["sent", "failed", "skipped", "pending", "error"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("terminal", "site", "error") else "right")
    for stgid, t in sorted(report.terminals.items()):
        share = f"{t.deletes / t.held:.0%}" if t.held else "-"
        row = [stgid, t.site, t.held, t.adds, t.updates, t.deletes, t.enrolments, t.commands, share]
        if not report.dry_run:
            row += [t.sent, t.failed, t.skipped, t.pending, t.error or (t.failures[0] if t.failures else "")]
        table.add_row(*(str(value) for value in row))
    console.print(table)
    if report.resumed or report.abandoned:
        console.print(f"resumed {report.resumed} command(s) of an interrupted run; {report.abandoned} could not be")
    if report.awaiting_resume:
        console.print(f"{report.awaiting_resume} command(s) of an interrupted run will be sent first by a real run")
    for stgid, count in sorted(report.unmanaged.items()):
        console.print(
            f"terminal {stgid} is no longer configured (or disabled): its {count} user(s) are left as they are"
        )
    _print_problems(console, report.problems)
    if report.refused:
        console.print("[bold]a real run would be refused (nothing sent):[/]")
        for reason in report.refused:
            console.print(f"  - {reason}")
        console.print(f"  run `punchbridge employees sync -c {config_path} --allow-mass-delete` if this is right")
    if report.stopped:
        console.print("stopped on request: what was not sent is sent by the next run")


def _print_problems(console: Any, problems: list[str]) -> None:
    if not problems:
        return
    console.print(f"{len(problems)} problem(s):")
    for problem in problems[:_LISTED_PROBLEMS]:
        console.print(f"  - {problem}", markup=False)
    if len(problems) > _LISTED_PROBLEMS:
        console.print(f"  ... and {len(problems) - _LISTED_PROBLEMS} more (the run's summary lists the first 100)")


@employees_group.command("check")
@_config_option
@_device_option
def check_command(config_path: Path, stgid: str | None) -> None:
    """Compare what each terminal holds (the ledger) with the HRMS, user by user; send nothing.

    Lists users missing from a terminal, users a terminal should no longer hold, and users whose
    profile, access window or face differ. Exit 3 when there is any difference.
    """
    from punchbridge.cli.context import load_context, open_store, out_console
    from punchbridge.employees import EmployeeSync, plan_changes

    context = load_context(config_path)

    config, doc, registry = context.config, context.document, context.registry
    if stgid is not None and stgid not in config.devices:
        raise click.BadParameter(f"no device {stgid!r} under devices:", param_hint="--device")
    store = open_store(config, dry_run=True)
    try:
        sync = EmployeeSync(config, doc, registry, store)
        roster = sync.roster(sync.pull())
        plan = plan_changes(roster, store.terminal_users(), sync.devices, lineage="check")
    finally:
        store.close()
    console = out_console()
    table = Table(title="terminals against the HRMS")
    for column in ("terminal", "user", "employee", "difference"):
        table.add_column(column)
    words = {
        "add": "missing",
        "delete": "should not be there",
        "profile": "name or type differs",
        "access": "access window differs",
        "enrol": "face not enrolled or different",
    }
    differences = 0
    added = {(c.stgid, c.user_id) for c in plan.commands if c.action == "add"}
    for command in plan.commands:
        if stgid is not None and command.stgid != stgid:
            continue
        if command.action in ("access", "enrol") and (command.stgid, command.user_id) in added:
            continue  # part of adding the user
        differences += 1
        if differences <= _LISTED_DIFFERENCES:
            employee = roster.placements[command.user_id].user.employee_ref if command.action != "delete" else ""
            table.add_row(command.stgid, command.user_id, employee, words[command.action])
    console.print(table)
    if differences > _LISTED_DIFFERENCES:
        console.print(f"... and {differences - _LISTED_DIFFERENCES} more")
    _print_problems(console, roster.problems)
    if differences:
        console.print(f"{differences} difference(s): `punchbridge employees sync -c {config_path}` removes them")
        sys.exit(EXIT_DIFFERENT)
    console.print("every terminal holds what the HRMS says")


@employees_group.command("list")
@_config_option
@_device_option
@click.option("--all", "show_all", is_flag=True, help="Also users deleted from the terminals (kept in the ledger).")
def list_command(config_path: Path, stgid: str | None, show_all: bool) -> None:
    """Show what punchbridge made each terminal hold: user, type, access window, face enrolled.

    The Minop command API cannot list a terminal's users, so this is punchbridge's ledger of the
    commands the cloud executed.
    """
    from punchbridge.cli.context import load_context, open_store, out_console

    context = load_context(config_path)

    config, _doc, _registry = context.config, context.document, context.registry
    store = open_store(config, dry_run=True)
    try:
        rows = store.terminal_users([stgid] if stgid else None)
    finally:
        store.close()
    table = Table(title="terminal users (punchbridge's ledger)")
    for column in ("terminal", "user", "employee", "type", "access", "days", "face", "present"):
        table.add_column(column)
    types = {"1": "standard", "14": "admin", "0": "guest"}
    shown = 0
    for row in rows:
        if not row.present and not show_all:
            continue
        shown += 1
        access = f"{row.access_start}-{row.access_end}" if row.access_start else ""
        table.add_row(
            row.stgid,
            row.user_id,
            row.employee_ref or "",
            types.get(row.user_type or "", row.user_type or ""),
            access,
            row.access_days or "",
            "yes" if row.face_ref else "",
            "yes" if row.present else "deleted",
        )
    console = out_console()
    console.print(table)
    console.print(f"{shown} user(s)")
