"""The two-site customer of the acceptance test (issue 14): its people, punches, leaves and configuration.

    site blr  Bangalore, Asia/Kolkata, weekly off Sunday        B01..B20 (B13..B16 on the early shift,
              whose 05:00 start is the day before in UTC; B17..B20 on the night shift)
    site ber  Berlin, Europe/Berlin, weekly off Saturday+Sunday  G01..G20 (G17..G20 on the night shift,
              who work Saturday night too: the night of 28 to 29 March crosses the change to summer time)

Two weeks, Monday 23 March to Sunday 5 April 2026. Day shift 09:00-18:00, early shift 05:00-13:00,
night shift 22:00-06:00.
Punches carry seconds and a direction; every 29th working day has no check-out (an open day) and
every 31st no check-in; some days are leave. `late_punches()` arrive after the first sync: a
check-out that completes an open day, and a second stint of work that moves another day's end.

`write_world(folder, targets, mappings)` writes the configuration (every target of `targets`: name ->
its section), the mapping files, the employees, leaves and punch files.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from support.world import World

FIRST, LAST = date(2026, 3, 23), date(2026, 4, 5)
PERIOD = f"{FIRST}..{LAST}"
SITES = {"blr": "Asia/Kolkata", "ber": "Europe/Berlin"}
NIGHT = {"B17", "B18", "B19", "B20", "G17", "G18", "G19", "G20"}
EARLY = {"B13", "B14", "B15", "B16"}
#: Shift: (start hour, end hour, crosses midnight).
SHIFT_HOURS = {"general": (9, 18), "early": (5, 13), "night": (22, 6)}
EMPLOYEES = {f"B{n:02d}": "blr" for n in range(1, 21)} | {f"G{n:02d}": "ber" for n in range(1, 21)}
#: Full days of leave: (employee, date).
LEAVES = {("B02", date(2026, 3, 25)), ("B11", date(2026, 4, 1)), ("G03", date(2026, 3, 24)), ("G14", date(2026, 4, 2))}
#: After every shift window of the period has closed.
AFTER = datetime(2026, 4, 7, 12, 0, tzinfo=ZoneInfo("UTC"))


def weekly_off(employee: str) -> tuple[int, ...]:
    """Weekday numbers off (Monday 0): Sunday in Bangalore; Saturday and Sunday in Berlin, but Sunday
    only for Berlin's night shift (Saturday night's shift crosses the DST change)."""
    if EMPLOYEES[employee] == "blr" or employee in NIGHT:
        return (6,)
    return (5, 6)


def working_days(employee: str) -> list[date]:
    """The days `employee` is due at work in the period (leaves excluded)."""
    days, day = [], FIRST
    while day <= LAST:
        if day.weekday() not in weekly_off(employee) and (employee, day) not in LEAVES:
            days.append(day)
        day += timedelta(days=1)
    return days


def _variant(employee: str, day: date) -> str:
    """normal, no_out (an open day) or no_in, fixed by employee and day."""
    serial = int(employee[1:]) * 7 + (day - FIRST).days + (50 if employee[0] == "G" else 0)
    return "no_out" if serial % 29 == 0 else ("no_in" if serial % 31 == 0 else "normal")


def open_days() -> list[tuple[str, date]]:
    """(employee, work date) of the days without a check-out."""
    return [(e, d) for e in EMPLOYEES for d in working_days(e) if _variant(e, d) == "no_out"]


def shift_of(employee: str) -> str:
    """The employee's shift: night, early or general."""
    return "night" if employee in NIGHT else ("early" if employee in EARLY else "general")


def punches() -> list[tuple[str, str, str]]:
    """Every punch of the period: (employee, RFC 3339 local time with offset, direction)."""
    rows = []
    for employee, site in EMPLOYEES.items():
        zone, number = ZoneInfo(SITES[site]), int(employee[1:])
        start_hour, end_hour = SHIFT_HOURS[shift_of(employee)]
        for day in working_days(employee):
            n = (day - FIRST).days
            start = datetime(day.year, day.month, day.day, start_hour, tzinfo=zone)
            end_day = day + timedelta(days=1) if end_hour < start_hour else day
            end = datetime(end_day.year, end_day.month, end_day.day, end_hour, tzinfo=zone)
            arrive = start + timedelta(minutes=(number * 13 + n) % 11 - 5, seconds=(number + n) % 60)
            leave = end + timedelta(minutes=(number * 7 + n) % 21 - 6, seconds=(number * 3 + n) % 60)
            variant = _variant(employee, day)
            if variant != "no_in":
                rows.append((employee, _stamp(arrive), "in"))
            if variant != "no_out":
                rows.append((employee, _stamp(leave), "out"))
    return rows


def _stamp(moment: datetime) -> str:
    # Normalise through UTC: a wall time is written with the offset in force at that instant.
    return moment.astimezone(ZoneInfo("UTC")).astimezone(moment.tzinfo).isoformat()


def late_punches() -> tuple[list[tuple[str, str, str]], set[str]]:
    """The punches that arrive after the first sync, and the record keys of the days they change: the
    first Bangalore day-shift open day gets its check-out; G05 comes back for an hour one Berlin evening."""
    employee, day = next((e, d) for e, d in open_days() if EMPLOYEES[e] == "blr" and shift_of(e) == "general")
    kolkata = ZoneInfo("Asia/Kolkata")
    closing = datetime(day.year, day.month, day.day, 18, 7, 41, tzinfo=kolkata)
    berlin_day = next(d for d in working_days("G05") if _variant("G05", d) == "normal" and d.weekday() == 1)
    back = datetime(berlin_day.year, berlin_day.month, berlin_day.day, 19, 2, 11, tzinfo=ZoneInfo("Europe/Berlin"))
    rows = [
        (employee, _stamp(closing), "out"),
        ("G05", _stamp(back), "in"),
        ("G05", _stamp(back + timedelta(hours=1)), "out"),
    ]
    return rows, {f"{employee}|{day}|day", f"G05|{berlin_day}|day"}


def write_punch_file(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """A punch CSV of `rows` (device GATE)."""
    lines = ["employee_id,timestamp,device_id,direction", *(f"{e},{t},GATE,{d}" for e, t, d in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_world(folder: Path, targets: dict[str, dict[str, Any]], mappings: dict[str, str]) -> Path:
    """The configuration and its files in `folder`; returns the configuration's path.

    `targets`: target name -> its section (plugin and settings, without `mapping:`), `mappings`:
    target name -> its mapping file's text.
    """
    world = World(folder, config_name="punchbridge.yaml")
    world.punch_file("punches.csv", punches(), device="GATE")
    world.write_employees(
        [(e, site, shift_of(e), _days(weekly_off(e))) for e, site in EMPLOYEES.items()],
        columns=("employee_id", "site", "shift", "weekly_off"),
    )
    leaves = [f"{e},{d},full,true" for e, d in sorted(LEAVES)]
    world.write_file("leaves.csv", "employee_id,date,kind,paid\n" + "\n".join(leaves) + "\n")
    sections = {}
    for name, settings in targets.items():
        world.write_file(f"{name}.yaml", mappings[name])
        sections[name] = json.dumps({"mapping": f"{name}.yaml", **settings})  # JSON is YAML's flow style
    return world.configure(
        period=(FIRST, LAST),
        targets=sections,
        sites={
            "blr": "{timezone: Asia/Kolkata, weekly_off: [sun]}",
            "ber": "{timezone: Europe/Berlin, weekly_off: [sat, sun]}",
        },
        shifts={
            "general": '{start: "09:00", end: "18:00"}',
            "early": '{start: "05:00", end: "13:00"}',
            "night": '{start: "22:00", end: "06:00"}',
        },
        extra="leaves: leaves.csv",
    )


def _days(numbers: tuple[int, ...]) -> str:
    return ";".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[n] for n in numbers)
