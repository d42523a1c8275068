"""Small helpers that build rule sets and input frames for the rules-engine tests.

Defaults follow the spec's worked examples: site `blr` (Asia/Kolkata, weekly off on Sunday), shift
`general` 09:00 to 18:00 with every other setting at its default, one employee `E1`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd

from punchbridge.rules.frames import (
    ASSIGNMENT_COLUMNS,
    EMPLOYEE_COLUMNS,
    LEAVE_COLUMNS,
    AttendanceInputs,
)
from punchbridge.rules.settings import Pairing, RuleSet, Shift, Site

KOLKATA = "Asia/Kolkata"
BERLIN = "Europe/Berlin"
MONDAY = date(2025, 1, 6)  # a Monday; 2025-01-05 is a Sunday
SUNDAY = date(2025, 1, 5)

#: A local punch time: "HH:MM[:SS]" on the default day, or (day, "HH:MM[:SS]").
LocalTime = str | tuple[date, str]


def make_shift(start: str = "09:00", end: str = "18:00", **overrides: object) -> Shift:
    """A shift with the spec's defaults, overriding any setting (nested ones may be dicts)."""
    return Shift(start=start, end=end, **overrides)


def make_rules(
    *,
    timezone: str = KOLKATA,
    weekly_off: Sequence[str] = ("sun",),
    holidays: Sequence[date] = (),
    shifts: dict[str, Shift] | None = None,
    pairing: dict[str, object] | None = None,
    **shift_overrides: object,
) -> RuleSet:
    """A rule set with site `blr` and, unless `shifts` is given, shift `general` 09:00-18:00."""
    if shifts is None:
        shifts = {"general": make_shift(**shift_overrides)}
    return RuleSet(
        sites={"blr": Site(timezone=timezone, weekly_off=tuple(weekly_off), holidays=tuple(holidays))},
        shifts=shifts,
        pairing=Pairing(**(pairing or {})),
    )


def night_shift(**overrides: object) -> Shift:
    """The spec's night shift, 22:00 to 06:00."""
    return make_shift("22:00", "06:00", **overrides)


def parse_time(text: str) -> time:
    """'HH:MM' or 'HH:MM:SS' as a time."""
    return time.fromisoformat(text)


def local_instant(day: date, text: str, tz: str = KOLKATA) -> pd.Timestamp:
    """The UTC instant of a local wall time, with fold=0 (gaps move forward, first occurrence)."""
    wall = datetime.combine(day, parse_time(text)).replace(tzinfo=ZoneInfo(tz), fold=0)
    return pd.Timestamp(wall.astimezone(UTC))


def local_iso(day: date, text: str, offset: str = "+05:30") -> str:
    """The expected first_in / last_out string: '2025-01-06T09:00:00+05:30'."""
    return f"{day.isoformat()}T{parse_time(text).isoformat()}{offset}"


def punches_at(
    local_times: Iterable[LocalTime],
    tz: str = KOLKATA,
    *,
    day: date = MONDAY,
    employee_id: str = "E1",
    device_id: str = "D1",
    directions: Sequence[str | None] | None = None,
    **extra_columns: Sequence[object],
) -> pd.DataFrame:
    """A punches frame from local wall times; directions and extra columns are optional."""
    instants = []
    for item in local_times:
        on_day, text = (day, item) if isinstance(item, str) else item
        instants.append(local_instant(on_day, text, tz))
    frame = pd.DataFrame(
        {
            "employee_id": [employee_id] * len(instants),
            "instant": pd.Series(instants, dtype="datetime64[ns, UTC]"),
            "device_id": [device_id] * len(instants),
            "direction": pd.Series(list(directions) if directions else [None] * len(instants), dtype=object),
        }
    )
    for name, values in extra_columns.items():
        frame[name] = list(values)
    return frame


def no_punches() -> pd.DataFrame:
    """An empty punches frame with the right columns and types."""
    return punches_at([])


def employees_frame(
    *employee_ids: str, site: str = "blr", shift: str = "general", weekly_off: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Employees (default just `E1`) on one site and default shift."""
    ids = employee_ids or ("E1",)
    return pd.DataFrame(
        {
            "employee_id": list(ids),
            "site": [site] * len(ids),
            "shift": [shift] * len(ids),
            "weekly_off": pd.Series([weekly_off] * len(ids), dtype=object),
        },
        columns=list(EMPLOYEE_COLUMNS),
    )


def leaves_frame(*rows: tuple[str, date, str, bool]) -> pd.DataFrame:
    """Leaves from (employee_id, date, kind, paid) tuples."""
    return pd.DataFrame([list(r) for r in rows], columns=list(LEAVE_COLUMNS))


def assignments_frame(*rows: tuple[str, str, date, date]) -> pd.DataFrame:
    """Dated shift assignments from (employee_id, shift, from, to) tuples."""
    return pd.DataFrame([list(r) for r in rows], columns=list(ASSIGNMENT_COLUMNS))


def make_inputs(
    punches: pd.DataFrame | None = None,
    employees: pd.DataFrame | None = None,
    *,
    leaves: pd.DataFrame | None = None,
    assignments: pd.DataFrame | None = None,
) -> AttendanceInputs:
    """AttendanceInputs with E1 on `general` unless told otherwise."""
    inputs = AttendanceInputs(
        punches=no_punches() if punches is None else punches,
        employees=employees_frame() if employees is None else employees,
    )
    if leaves is not None:
        inputs.leaves = leaves
    if assignments is not None:
        inputs.assignments = assignments
    return inputs


def day_rows(result_days: pd.DataFrame, employee_id: str = "E1") -> dict[str, dict]:
    """The rows of one employee keyed by work_date string."""
    rows = result_days[result_days["employee_id"] == employee_id].to_dict("records")
    return {row["work_date"]: row for row in rows}


def only_row(result_days: pd.DataFrame) -> dict:
    """The single output row (asserting there is exactly one)."""
    assert len(result_days) == 1, result_days
    return result_days.iloc[0].to_dict()


def run_one_day(
    compute,
    local_times: Iterable[LocalTime],
    rules: RuleSet,
    *,
    day: date = MONDAY,
    tz: str = KOLKATA,
    **punch_options: object,
) -> dict:
    """Process one employee's single work date; asserts nothing was quarantined, returns the row."""
    inputs = make_inputs(punches_at(local_times, tz, day=day, **punch_options))
    result = compute(inputs, rules, day, day)
    assert result.quarantine.empty, result.quarantine
    return only_row(result.days)
