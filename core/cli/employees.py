"""`punchbridge employees ...`: HRMS employees to terminal users (docs/employees.md).

    punchbridge employees sync -c FILE [--dry-run [--limit N]] [--allow-mass-delete]
    punchbridge employees check -c FILE [--device STGID]
    punchbridge employees list -c FILE [--device STGID] [--all]

Each command's `--help` lists its exit codes (README "Exit codes"): `sync` exits 6 when the
mass-delete rule refused the run (nothing sent), `check` 3 when the terminals differ from the HRMS.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from punchbridge.cli.context import config_option, load_context, out_console, stop_on_signals
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from punchbridge.employees import EmployeeSyncReport

__all__ = ["employees_group"]

_LISTED_PROBLEMS = 20
_LISTED_DIFFERENCES = 200

_config_option = config_option("The configuration file (YAML) with employee_sync:, minop: and devices:.")
_device_option = click.option("--device", "stgid", help="Only this terminal (its tag under devices:).")


@click.group("employees")
def employees_group() -> None:
    """Keep the terminals' user lists in line with the HRMS (the system of record)."""


@exit_codes(
    {
        ExitCode.FAILED: "the HRMS could not be read in full, a terminal could not be served or a command was refused",
        ExitCode.STOPPED: "SIGTERM or Ctrl-C; commands not sent yet are sent by the next run",
        ExitCode.REFUSED: "the mass-delete rule refused the run, nothing was sent; check, then --allow-mass-delete",
    }
)
@employees_group.command("sync")
@_config_option
@click.option(
    "--dry-run", is_flag=True, help="Print the plan per terminal: the users to add, update and delete; write nothing."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True,
    help="With --dry-run: list at most N users per terminal and change (then '... and N more').",
)  # fmt: skip
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Send even when a terminal would lose more than max_delete_share of its users, or the HRMS list is empty.",
)
def sync_command(config_path: Path, dry_run: bool, limit: int, allow_mass_delete: bool) -> None:
    """Pull employees from the system of record and add, update and delete terminal users to match.

    Joiners are added to the terminals of their site (and of matching terminal rules) with their
    access window; leavers are deleted; transfers move; a command the cloud runs twice does no harm. A run
    that would delete more than `max_delete_share` of a terminal's users, or delete anyone because
    the HRMS returned no active employee, stops before sending anything.
    """
    from punchbridge.cli.progress import ProgressBars
    from punchbridge.employees import run_employee_sync

    context = load_context(config_path)
    with context.open_store(dry_run=dry_run) as store, stop_on_signals() as stop, ProgressBars() as bars:
        report = run_employee_sync(
            context.config, context.document, context.registry, store,
            dry_run=dry_run, allow_mass_delete=allow_mass_delete, should_stop=stop.is_set,
            progress=bars.labelled("commands to"),
        )  # fmt: skip
    _print_report(out_console(), report, config_path)
    if report.dry_run:
        _print_users(out_console(), report, limit)
    if report.failed:
        exit_with(ExitCode.FAILED)
    if report.stopped:
        exit_with(ExitCode.STOPPED)


def _print_report(console: Console, report: EmployeeSyncReport, config_path: Path) -> None:
    mode = "dry run: nothing was sent or written" if report.dry_run else "employee sync"
    console.print(
        f"{mode}: {report.pulled} employee record(s) from {report.source} ({report.active} active), "
        f"{report.placed} placed on terminals, {report.frozen} left as they are because of a problem"
    )
    title = "would change" if report.dry_run else "terminals"
    from rich.table import Table

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


def _print_users(console: Console, report: EmployeeSyncReport, limit: int) -> None:
    """The users each terminal would get, have updated and lose: `limit` of each, then how many more."""
    for stgid, terminal in sorted(report.terminals.items()):
        changes = (("add", terminal.added), ("update", terminal.updated), ("delete", terminal.deleted))
        if not any(users for _change, users in changes):
            continue
        console.print(f"terminal {stgid} (site {terminal.site}):", markup=False)
        for change, users in changes:
            if not users:
                continue
            more = f", ... and {len(users) - limit} more" if len(users) > limit else ""
            console.print(f"  {change} {len(users)}: {', '.join(users[:limit])}{more}", markup=False, soft_wrap=True)


def _print_problems(console: Console, problems: list[str]) -> None:
    if not problems:
        return
    console.print(f"{len(problems)} problem(s):")
    for problem in problems[:_LISTED_PROBLEMS]:
        console.print(f"  - {problem}", markup=False)
    if len(problems) > _LISTED_PROBLEMS:
        console.print(f"  ... and {len(problems) - _LISTED_PROBLEMS} more (the run's summary lists the first 100)")


@exit_codes(
    {
        ExitCode.FAILED: "the HRMS could not be read in full",
        ExitCode.ATTENTION: "the terminals differ from the HRMS (`employees sync` removes the differences)",
    }
)
@employees_group.command("check")
@_config_option
@_device_option
def check_command(config_path: Path, stgid: str | None) -> None:
    """Compare what each terminal holds (the ledger) with the HRMS, user by user; send nothing.

    Lists users missing from a terminal, users a terminal should no longer hold, and users whose
    profile, access window or face differ.
    """
    from punchbridge.employees import EmployeeSync, plan_changes

    context = load_context(config_path)
    if stgid is not None and stgid not in context.config.devices:
        raise click.BadParameter(f"no device {stgid!r} under devices:", param_hint="--device")
    with context.open_store(dry_run=True) as store:
        sync = EmployeeSync(context.config, context.document, context.registry, store)
        roster = sync.roster(sync.pull())
        plan = plan_changes(roster, store.terminal_users(), sync.devices, lineage="check")
    console = out_console()
    from rich.table import Table

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
        exit_with(ExitCode.ATTENTION)
    console.print("every terminal holds what the HRMS says")


@exit_codes()
@employees_group.command("list")
@_config_option
@_device_option
@click.option("--all", "show_all", is_flag=True, help="Also users deleted from the terminals (kept in the ledger).")
def list_command(config_path: Path, stgid: str | None, show_all: bool) -> None:
    """Show what punchbridge made each terminal hold: user, type, access window, face enrolled.

    The Minop command API cannot list a terminal's users, so this is punchbridge's ledger of the
    commands the cloud executed.
    """
    with load_context(config_path).open_store(dry_run=True) as store:
        rows = store.terminal_users([stgid] if stgid else None)
    from rich.table import Table

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
