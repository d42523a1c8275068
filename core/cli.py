"""The `punchbridge` command line."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np
import pandas as pd

from ._version import __version__
from .errors import Problem, PunchbridgeError, UserInputError

__all__ = ["main"]

T = TypeVar("T")


class _Group(click.Group):
    """A command group that turns punchbridge errors into a message and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PunchbridgeError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="punchbridge")
def main() -> None:
    """punchbridge: biometric time-attendance terminals to payroll.

    Punches are stored durably, turned into processed attendance by the rules engine and delivered
    exactly once to payroll and HR systems.
    """


def _date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)", param=param) from None


_existing = click.Path(dir_okay=False, path_type=Path)


@main.command()
@click.option("--punches", required=True, type=_existing, help="CSV: employee_id,timestamp,device_id[,direction].")
@click.option("--employees", required=True, type=_existing, help="CSV: employee_id,site,shift[,weekly_off].")
@click.option("--rules", required=True, type=_existing, help="YAML with sites:, shifts: and pairing:.")
@click.option("--from", "date_from", required=True, callback=_date, help="First work date (YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, callback=_date, help="Last work date (YYYY-MM-DD), inclusive.")
@click.option("--assignments", type=_existing, help="CSV: employee_id,shift,from,to (dated shift changes).")
@click.option("--leaves", type=_existing, help="CSV: employee_id,date,kind,paid.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Processed days: .csv, .json or .parquet.",
)
@click.option(
    "--quarantine",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write punches that could not be used, with reasons.",
)
def process(
    punches: Path,
    employees: Path,
    rules: Path,
    date_from: date,
    date_to: date,
    assignments: Path | None,
    leaves: Path | None,
    out: Path,
    quarantine: Path | None,
) -> None:
    """Run the attendance rules on CSV files offline and write the processed days.

    Nothing is sent anywhere: this is the consultant's tool for trying rules on a customer's data.
    Every input is checked before anything is written; problems are listed with file, line and
    column, and the exit code is 2.
    """
    from .datafiles import load_rules, read_assignments, read_employees, read_leaves
    from .output import check_destination, write_tables
    from .punchfile import read_punches
    from .rules import AttendanceInputs, compute_days

    if date_to < date_from:
        raise click.BadParameter(f"--to {date_to} is before --from {date_from}", param_hint="--to")
    destinations = [check_destination(out)] + ([check_destination(quarantine)] if quarantine else [])
    if quarantine and quarantine.resolve() == out.resolve():
        raise click.BadParameter("--quarantine must be a different file from --out", param_hint="--quarantine")

    rule_set = load_rules(rules)
    problems: list[Problem] = []

    def attempt(read: Callable[..., T], *args: object) -> T | None:
        try:
            return read(*args)
        except UserInputError as exc:
            problems.extend(exc.problems)
            return None

    employee_frame = attempt(read_employees, employees, rule_set)
    staff = employee_frame if employee_frame is not None else pd.DataFrame(columns=["employee_id", "site", "shift"])
    assignment_frame = attempt(read_assignments, assignments, employee_frame, rule_set) if assignments else None
    leave_frame = attempt(read_leaves, leaves, employee_frame) if leaves else None
    punch_file = attempt(read_punches, punches, staff, rule_set, date_from, date_to)
    UserInputError.collect(problems)
    assert employee_frame is not None and punch_file is not None  # collect() raised otherwise
    inputs = AttendanceInputs(punches=punch_file.punches, employees=employee_frame)
    if assignment_frame is not None:
        inputs.assignments = assignment_frame
    if leave_frame is not None:
        inputs.leaves = leave_frame

    result = compute_days(inputs, rule_set, date_from, date_to)
    parts = [punch_file.quarantine]
    engine_rows = result.quarantine
    for reason, detail in (("off_shift", "no shift window holds this punch"), ("unknown_employee", "")):
        rows = engine_rows.loc[engine_rows["reason"] == reason, "row"].to_numpy()
        parts.append(punch_file.quarantine_rows(rows, reason, detail))
    resent = engine_rows[engine_rows["reason"] == "duplicate_punch"]
    if len(resent):
        kept_positions = resent["same_as"].to_numpy().astype(np.int64)
        kept_lines = punch_file.table.lines[inputs.punches["row"].to_numpy()[kept_positions]]
        details = [f"same employee, device and instant as line {line}" for line in kept_lines.tolist()]
        parts.append(punch_file.quarantine_rows(resent["row"].to_numpy(), "duplicate_punch", details))
    held_back = pd.concat([part for part in parts if len(part)] or parts[:1], ignore_index=True)
    held_back = held_back.sort_values("line", kind="stable").reset_index(drop=True)

    tables = {destinations[0]: result.days}
    if quarantine:
        tables[destinations[1]] = held_back
    write_tables(tables)
    _summarise(result.days, held_back, out, quarantine)


def _summarise(days: pd.DataFrame, held_back: pd.DataFrame, out: Path, quarantine: Path | None) -> None:
    statuses = Counter(days["status"].tolist())
    listing = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    click.echo(f"wrote {len(days)} processed days to {out} ({listing or 'none'})", err=True)
    if len(held_back):
        reasons = Counter(held_back["reason"].tolist())
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        where = f"written to {quarantine}" if quarantine else "not written: pass --quarantine FILE to see them"
        noun = "punch" if len(held_back) == 1 else "punches"
        click.echo(f"quarantined {len(held_back)} {noun} ({detail}); {where}", err=True)


from . import cli_device, cli_employees, cli_jobs, cli_ops, cli_periods, cli_reconcile, cli_serve  # noqa: E402,F401  (each registers its commands on `main`)

if __name__ == "__main__":  # pragma: no cover
    # `python -m punchbridge.cli`: this file runs as `__main__`, but the command modules registered
    # their commands on `punchbridge.cli.main`, a second copy of this module: run that one.
    from punchbridge.cli import main as _registered

    sys.exit(_registered())
