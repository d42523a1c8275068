"""Generate the demo month (deterministic): 200 employees on two sites, October 2025.

    python config/demo/generate_month.py

Writes, next to this file, `month/employees.csv`, `month/leaves.csv` and `month/inbox/punches-2025-10.csv`,
and the demo's lookup tables `month/ids.csv` and `month/cost-centres.csv`. Bangalore (`blr`, Asia/Kolkata)
has a general and a night shift; Berlin (`ber`, Europe/Berlin) has an office and a night shift and
changes clocks on 26 October. The punches include double taps, missing outs, late arrivals,
overtime, a few off-shift punches and one unknown badge, so every part of the rules shows. The
files are committed; rerunning this script rewrites them byte for byte.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent / "month"
FIRST, LAST = date(2025, 10, 1), date(2025, 10, 31)
SITES = {"blr": ("Asia/Kolkata", ("sun",)), "ber": ("Europe/Berlin", ("sat", "sun"))}
SHIFTS = {"general": (9, 0, 9), "night": (22, 0, 8), "office": (8, 30, 8.5)}  # start h, m, length h
HOLIDAYS = {"blr": {date(2025, 10, 2)}, "ber": {date(2025, 10, 3)}}
DEPARTMENTS = ("ops", "finance", "logistics", "support")


def _employees(rng: random.Random) -> list[dict[str, str]]:
    staff = []
    for number in range(1, 201):
        site = "blr" if number <= 120 else "ber"
        night = rng.random() < 0.15
        shift = "night" if night else ("general" if site == "blr" else "office")
        staff.append(
            {
                "employee_id": f"E{number:04d}",
                "site": site,
                "shift": shift,
                "weekly_off": "",
                "department": DEPARTMENTS[number % len(DEPARTMENTS)],
            }
        )
    return staff


def _punches(rng: random.Random, staff: list[dict[str, str]]) -> list[dict[str, str]]:
    rows = []
    day = FIRST
    while day <= LAST:
        for person in staff:
            zone_name, weekly_off = SITES[person["site"]]
            zone = ZoneInfo(zone_name)
            off = day.strftime("%a").lower() in weekly_off or day in HOLIDAYS[person["site"]]
            if (off and rng.random() > 0.05) or rng.random() < 0.03:
                continue  # day off, or absent
            hour, minute, length = SHIFTS[person["shift"]]
            start = datetime(day.year, day.month, day.day, hour, minute) + timedelta(minutes=rng.gauss(0, 8))
            if rng.random() < 0.08:
                start += timedelta(minutes=rng.randint(15, 50))  # late
            end = start + timedelta(hours=length, minutes=rng.gauss(10, 20))
            if rng.random() < 0.07:
                end += timedelta(minutes=rng.randint(40, 150))  # overtime
            times = [start, end]
            if person["shift"] != "night":
                lunch = datetime(day.year, day.month, day.day, 13, 0) + timedelta(minutes=rng.gauss(0, 10))
                times[1:1] = [lunch, lunch + timedelta(minutes=30 + rng.randint(-3, 10))]
            if rng.random() < 0.02:
                times.pop()  # forgot to punch out
            if rng.random() < 0.03:
                times.insert(1, times[0] + timedelta(seconds=rng.randint(3, 60)))  # double tap
            device = f"{person['site'].upper()}-GATE-{1 + int(person['employee_id'][1:]) % 2}"
            for moment in times:
                local = moment.replace(second=rng.randint(0, 59), microsecond=0, tzinfo=zone, fold=0)
                rows.append(
                    {
                        "employee_id": person["employee_id"],
                        "timestamp": local.isoformat(),
                        "device_id": device,
                        "direction": "",
                    }
                )
        day += timedelta(days=1)
    rows.append(
        {"employee_id": "E9999", "timestamp": "2025-10-06T09:01:00+05:30", "device_id": "BLR-GATE-1", "direction": ""}
    )
    rows.append(
        {"employee_id": "E0007", "timestamp": "2025-10-08T03:12:00+05:30", "device_id": "BLR-GATE-1", "direction": ""}
    )
    rng.shuffle(rows)
    return rows


def _write(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(20251001)
    staff = _employees(rng)
    _write(HERE / "employees.csv", staff, ["employee_id", "site", "shift", "weekly_off", "department"])
    _write(
        HERE / "inbox" / "punches-2025-10.csv",
        _punches(rng, staff),
        ["employee_id", "timestamp", "device_id", "direction"],
    )
    leaves = [
        {"employee_id": "E0003", "date": "2025-10-14", "kind": "full", "paid": "true"},
        {"employee_id": "E0011", "date": "2025-10-21", "kind": "first_half", "paid": "false"},
        {"employee_id": "E0150", "date": "2025-10-10", "kind": "full", "paid": "false"},
    ]
    _write(HERE / "leaves.csv", leaves, ["employee_id", "date", "kind", "paid"])
    ids = [
        {"employee_id": p["employee_id"], "target_id": f"P-{10000 + i}"}
        for i, p in enumerate(staff, start=1)
        if i != 200
    ]
    _write(HERE / "ids.csv", ids, ["employee_id", "target_id"])
    centres = [
        {"key": "ops", "cost_centre": "CC-OPS", "from": "", "to": ""},
        {"key": "finance", "cost_centre": "CC-FIN", "from": "", "to": ""},
        {"key": "logistics", "cost_centre": "CC-LOG-A", "from": "", "to": "2025-10-15"},
        {"key": "logistics", "cost_centre": "CC-LOG-B", "from": "2025-10-16", "to": ""},
    ]
    _write(HERE / "cost-centres.csv", centres, ["key", "cost_centre", "from", "to"])


if __name__ == "__main__":
    main()
