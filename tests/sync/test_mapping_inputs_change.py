"""What a target's records are made from besides the days (its mapping, the mapping's lookup files, the
employees file) changes: the next sync sends what the target does not hold as it is now.

The mapping file's own promise: "map the id and the next sync sends it". No punch is new on that
night, so the days do not change; only the comparison of every stored day with the ledger finds them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from support.world import BENGALURU, MONDAY_OF_TWO, World

TODAY = date(2025, 10, 8)


def _mapping(ids: str) -> str:
    return (
        f"ids: {{table: {{{ids}}}, missing: quarantine}}\n"
        "cost_centres: {by: department, rules: [{key: ops, cost_centre: CC-OPS}, {key: hr, cost_centre: CC-HR}]}\n"
        "fields:\n"
        "  - {name: employee, from: target_id}\n"
        "  - {name: date, from: work_date}\n"
        "  - {name: centre, from: cost_centre}\n"
    )


def _world(tmp_path: Path) -> World:
    world = World(tmp_path)
    world.write_employees(
        [("A1", "blr", "general", "ops"), ("B2", "blr", "general", "ops")],
        columns=("employee_id", "site", "shift", "department"),
    )
    world.write_file("mapping.yaml", _mapping("A1: P-1"))  # B2 has no payroll id yet
    world.punch_file("october.csv", MONDAY_OF_TWO)
    world.configure(
        period=("2025-10-06", "2025-10-07"),
        targets={"payroll": "{plugin: local_csv, mapping: mapping.yaml, folder: out, create_folder: true}"},
        sites={"blr": BENGALURU},
        shifts={"general": '{start: "09:00", end: "18:00"}'},
    )
    return world


def _sent(world: World) -> list[tuple[str, str, str]]:
    return [(row["employee"], row["date"], row["centre"]) for row in world.rows()]


def test_a_fixed_id_table_sends_the_days_it_held_back(tmp_path: Path) -> None:
    world = _world(tmp_path)
    first = world.sync(today=TODAY)
    assert first.targets[0].held_back == 2  # B2's two days
    assert {employee for employee, _day, _centre in _sent(world)} == {"P-1"}

    world.write_file("mapping.yaml", _mapping("A1: P-1, B2: P-2"))
    fixed = world.sync(today=TODAY)
    assert fixed.ingested == 0 and fixed.days_changed == 0  # nothing new but the mapping
    assert fixed.targets[0].new == 2 and fixed.targets[0].changed == 0
    assert sorted(row for row in _sent(world) if row[0] == "P-2") == [
        ("P-2", "2025-10-06", "CC-OPS"),
        ("P-2", "2025-10-07", "CC-OPS"),
    ]
    again = world.sync(today=TODAY)  # and once sent, they are not sent again
    assert again.targets[0].new == 0 and again.targets[0].changed == 0


def test_a_department_move_in_the_employees_file_resends_the_days_with_their_new_cost_centre(
    tmp_path: Path,
) -> None:
    world = _world(tmp_path)
    world.write_file("mapping.yaml", _mapping("A1: P-1, B2: P-2"))
    world.sync(today=TODAY)
    world.write_employees(
        [("A1", "blr", "general", "hr"), ("B2", "blr", "general", "ops")],
        columns=("employee_id", "site", "shift", "department"),
    )
    moved = world.sync(today=TODAY)
    assert moved.targets[0].changed == 2 and moved.targets[0].new == 0  # A1's two days
    assert moved.targets[0].unchanged == 0  # B2's row did not change: their days were not even compared
    latest = {(employee, day): centre for employee, day, centre in _sent(world)}
    assert latest[("P-1", "2025-10-06")] == "CC-HR" and latest[("P-2", "2025-10-06")] == "CC-OPS"


def test_through_the_command_line_the_quiet_night_check_does_not_skip_it(tmp_path: Path) -> None:
    world = _world(tmp_path)
    world.sync_cli()
    world.write_file("mapping.yaml", _mapping("A1: P-1, B2: P-2"))
    world.sync_cli()
    assert {employee for employee, _day, _centre in _sent(world)} == {"P-1", "P-2"}
    files = len(world.files())
    world.sync_cli()  # nothing left to send
    assert len(world.files()) == files


def test_a_new_hire_does_not_make_the_night_compare_everyone(tmp_path: Path) -> None:
    world = _world(tmp_path)
    world.write_file("mapping.yaml", _mapping("A1: P-1, B2: P-2, C3: P-3"))
    world.sync(today=TODAY)
    world.write_employees(
        [("A1", "blr", "general", "ops"), ("B2", "blr", "general", "ops"), ("C3", "blr", "general", "hr")],
        columns=("employee_id", "site", "shift", "department"),
    )
    hired = world.sync(today=TODAY)
    assert hired.targets[0].unchanged == 0  # A1's and B2's days are not read back and compared
    assert {(employee, centre) for employee, _day, centre in _sent(world)} >= {("P-3", "CC-HR")}
