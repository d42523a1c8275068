"""A sync run for some targets only (`sync --target NAME`) leaves the others to send what it changed.

A consultant re-runs one target by hand (`punchbridge sync --target payroll`) after late punches; the
nightly sync of every target afterwards must still bring the other targets the days that run
recomputed, though it finds nothing new itself.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from support.world import BENGALURU, MONDAY_OF_TWO, World

MAPPING = (
    "fields:\n  - {name: employee, from: employee_id}\n  - {name: date, from: work_date}\n"
    "  - {name: out, from: last_out}\n"
)
TARGETS = {
    "payroll": "{plugin: local_csv, mapping: mapping.yaml, folder: payroll, create_folder: true}",
    "archive": "{plugin: local_csv, mapping: mapping.yaml, folder: archive, create_folder: true}",
}
TODAY = date(2025, 10, 7)
#: A1 came back after the day's end for overtime: in at 18:30, out at 18:45 (the day's last out moves).
LATE = [("A1", "2025-10-06T18:30:00+05:30"), ("A1", "2025-10-06T18:45:00+05:30")]


def _world(tmp_path: Path) -> World:
    world = World(tmp_path)
    world.write_employees([("A1", "blr", "general"), ("B2", "blr", "general")])
    world.write_file("mapping.yaml", MAPPING)
    world.punch_file("october.csv", MONDAY_OF_TWO)
    world.configure(
        period=("2025-10-06", "2025-10-06"),
        targets=TARGETS,
        sites={"blr": BENGALURU},
        shifts={"general": '{start: "09:00", end: "18:00"}'},
    )
    return world


def _last_out(world: World, folder: str) -> dict[str, str]:
    """Each employee's latest `out` that `folder`'s target was sent (files are read in order)."""
    return {row["employee"]: row["out"] for row in world.rows(folder=folder)}


def test_a_day_one_target_was_sent_alone_reaches_the_other_on_the_next_full_sync(tmp_path: Path) -> None:
    world = _world(tmp_path)
    world.sync(today=TODAY)  # both targets hold the day as first computed
    assert _last_out(world, "archive")["A1"] == _last_out(world, "payroll")["A1"]

    # late punches: A1's day now ends at 18:45; the payroll target is synced alone
    world.punch_file("late.csv", LATE)
    alone = world.sync(today=TODAY, targets=["payroll"])
    assert [t.name for t in alone.targets] == ["payroll"]
    late = _last_out(world, "payroll")["A1"]
    assert late != _last_out(world, "archive")["A1"]

    world.sync(today=TODAY)  # nothing new is read, but the archive has not been sent A1's new day
    assert _last_out(world, "archive")["A1"] == late
    assert _last_out(world, "archive")["B2"] == _last_out(world, "payroll")["B2"]


def test_the_same_through_the_command_line(tmp_path: Path) -> None:
    world = _world(tmp_path)
    world.sync_cli()
    world.punch_file("late.csv", LATE)
    world.sync_cli("--target", "payroll")
    late = _last_out(world, "payroll")["A1"]
    assert late != _last_out(world, "archive")["A1"]

    world.sync_cli()  # the quiet-night check must not take this for a night with nothing to do
    assert _last_out(world, "archive")["A1"] == late
    world.sync_cli()  # and then there is nothing left to send anywhere
    assert len(world.files(folder="archive")) == 2 and len(world.files(folder="payroll")) == 2
