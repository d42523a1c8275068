"""The data the rules engine takes and gives: validated DataFrames with fixed columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "ANOMALY_CODES",
    "ASSIGNMENT_COLUMNS",
    "DAY_COLUMNS",
    "DIRECTIONS",
    "EMPLOYEE_COLUMNS",
    "LEAVE_COLUMNS",
    "PUNCH_COLUMNS",
    "AttendanceInputs",
    "DaysResult",
    "anomaly_rank",
]

PUNCH_COLUMNS = ("employee_id", "instant", "device_id", "direction")
EMPLOYEE_COLUMNS = ("employee_id", "site", "shift", "weekly_off")
ASSIGNMENT_COLUMNS = ("employee_id", "shift", "from", "to")
LEAVE_COLUMNS = ("employee_id", "date", "kind", "paid")

#: Punch directions in the order of the terminal digits 0 to 5.
DIRECTIONS = ("in", "out", "break_out", "break_in", "ot_in", "ot_out")
#: Directions that open an interval; the others close one.
OPENING_DIRECTIONS = frozenset({"in", "break_in", "ot_in"})

#: Output columns of a processed day, in order (docs/rules.md describes each).
DAY_COLUMNS = (
    "employee_id",
    "work_date",
    "site",
    "shift",
    "day_type",
    "status",
    "first_in",
    "last_out",
    "worked_minutes",
    "regular_minutes",
    "ot_minutes",
    "break_minutes",
    "late_minutes",
    "early_exit_minutes",
    "leave_days",
    "lop_days",
    "punch_count",
    "anomalies",
    "recomputed",
    "rules_version",
    "intervals",
)

#: Anomaly codes in their sorted output order (`duplicates` carries a count: `duplicates:2`).
ANOMALY_CODES = (
    "duplicates",
    "missing_in",
    "missing_out",
    "repeated_in",
    "short_shift",
    "worked_on_leave",
)


def anomaly_rank(text: str) -> int:
    """Where an `anomalies` text comes in the engine's list of the texts of a run: by re-send count,
    then by which of the other codes it holds (each a bit, in the order of `ANOMALY_CODES`)."""
    codes = text.split(";") if text else []
    resends = int(codes.pop(0).partition(":")[2]) if codes and codes[0].startswith("duplicates:") else 0
    return (resends << 8) + sum(1 << ANOMALY_CODES[1:].index(code) for code in codes)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass
class AttendanceInputs:
    """The four validated input tables of the rules engine (see docs/rules.md for their columns)."""

    punches: pd.DataFrame
    employees: pd.DataFrame
    assignments: pd.DataFrame = field(default_factory=lambda: _empty(ASSIGNMENT_COLUMNS))
    leaves: pd.DataFrame = field(default_factory=lambda: _empty(LEAVE_COLUMNS))


@dataclass
class DaysResult:
    """What the engine produced: processed days, and the punches it held back.

    `quarantine` holds the input punch rows (all their columns) plus `reason`: `off_shift` (no shift
    window holds it), `unknown_employee`, or `duplicate_punch` (an exact re-send: same employee,
    device and instant as the punch at input position `same_as`, which was used).
    """

    days: pd.DataFrame
    quarantine: pd.DataFrame
