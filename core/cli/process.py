"""`punchbridge process`: the rules engine on CSV files, offline; the consultant's tool for trying rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from punchbridge.cli.context import parse_date
from punchbridge.cli.exits import exit_codes
from punchbridge.errors import ExitCode, Problem, UserInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["process"]

T = TypeVar("T")

_existing = click.Path(dir_okay=False, path_type=Path)


@exit_codes(
    {
        ExitCode.FAILED: "an output file could not be written (the files there before are left as they were)",
        ExitCode.BAD_INPUT: "an input file or option is wrong (file, line and column named); nothing was written",
    }
)
@click.command()
@click.option("--punches", required=True, type=_existing, help="CSV: employee_id,timestamp,device_id[,direction].")
@click.option("--employees", required=True, type=_existing, help="CSV: employee_id,site,shift[,weekly_off].")
@click.option("--rules", required=True, type=_existing, help="YAML with sites:, shifts: and pairing:.")
@click.option("--from", "date_from", required=True, callback=parse_date, help="First work date (YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, callback=parse_date, help="Last work date (YYYY-MM-DD), inclusive.")
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
    Every input is checked before anything is written.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from punchbridge.cli.output import check_destination, write_tables
    from punchbridge.config.datafiles import load_rules, read_assignments, read_employees, read_leaves
    from punchbridge.config.punchfile import read_punches
    from punchbridge.rules import AttendanceInputs, compute_days

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
    # The punches and their timestamp texts are not needed for writing: room for the output's buffers.
    del punch_file, inputs, parts, engine_rows, resent
    pa.default_memory_pool().release_unused()

    tables = {destinations[0]: result.days}
    if quarantine:
        tables[destinations[1]] = held_back
    write_tables(tables)
    _summarise(result.days, held_back, out, quarantine)


def _summarise(days: pd.DataFrame, held_back: pd.DataFrame, out: Path, quarantine: Path | None) -> None:
    counts = days["status"].value_counts(sort=False)  # counted on the codes: no string per day
    statuses = {str(status): int(n) for status, n in counts.items() if n}
    listing = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    click.echo(f"wrote {len(days)} processed days to {out} ({listing or 'none'})", err=True)
    if len(held_back):
        reasons = Counter(held_back["reason"].tolist())
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        where = f"written to {quarantine}" if quarantine else "not written: pass --quarantine FILE to see them"
        noun = "punch" if len(held_back) == 1 else "punches"
        click.echo(f"quarantined {len(held_back)} {noun} ({detail}); {where}", err=True)
