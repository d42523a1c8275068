"""Without `sync: from`, a sync covers the days from the earliest punch, whoever punched it, the punches
this very run reads included."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from support.world import BENGALURU, World

MAPPING = "fields:\n  - {name: employee, from: employee_id}\n  - {name: date, from: work_date}\n"


def test_the_range_starts_at_the_earliest_punch_of_anyone_not_of_the_first_employee(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.write_employees([("A1", "blr", "general"), ("Z9", "blr", "general")])
    world.write_file("mapping.yaml", MAPPING)
    # A1 sorts first but starts on the 5th; Z9 started on the 2nd.
    world.punch_file(
        "october.csv",
        [
            ("A1", "2025-10-05T09:00:00+05:30"),
            ("A1", "2025-10-05T18:00:00+05:30"),
            ("Z9", "2025-10-02T09:00:00+05:30"),
            ("Z9", "2025-10-02T18:00:00+05:30"),
        ],
    )
    world.configure(
        period=None,
        targets={"out": "{plugin: local_csv, mapping: mapping.yaml, folder: out, create_folder: true}"},
        sites={"blr": BENGALURU},
        shifts={"general": '{start: "09:00", end: "18:00"}'},
    )
    first = world.sync(today=date(2025, 10, 7))  # the first sync, not only the one after the punches were stored
    assert (first.date_from, first.date_to) == (date(2025, 10, 2), date(2025, 10, 6))
    delivered = {(row["employee"], row["date"]) for row in world.rows()}
    assert ("Z9", "2025-10-02") in delivered and ("A1", "2025-10-05") in delivered
    assert min(day for _employee, day in delivered) == "2025-10-02"


def test_with_no_punch_anywhere_the_range_is_yesterday(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.write_employees([("A1", "blr", "general")])
    world.write_file("mapping.yaml", MAPPING)
    world.write_file("inbox/.keep", "")
    world.configure(
        period=None,
        targets={"out": "{plugin: local_csv, mapping: mapping.yaml, folder: out, create_folder: true}"},
        sites={"blr": BENGALURU},
        shifts={"general": '{start: "09:00", end: "18:00"}'},
    )
    report = world.sync(today=date(2025, 10, 7))
    assert (report.date_from, report.date_to) == (date(2025, 10, 6), date(2025, 10, 6))
