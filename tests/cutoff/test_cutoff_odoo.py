"""The cut-off against an HTTP target: Odoo (the emulator over real HTTP on loopback) keeps a locked day."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cutoff_world import World

from punchbridge.plugin_api.targets import Employee
from punchbridge.testing.emulators.odoo import OdooEmulator
from punchbridge.testing.http import serve

ODOO_MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: check_in, from: first_in}
  - {name: check_out, from: last_out}
"""


@pytest.fixture
def odoo_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, OdooEmulator]]:
    """The small world whose day target is Odoo 17 over XML-RPC (employees E1 to E3 by barcode)."""
    emulator = OdooEmulator("17.0")
    emulator.seed_employees([Employee(target_id=e, name=f"Person {e}") for e in ("E1", "E2", "E3")])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ODOO_API_KEY", emulator.api_key)
    with serve(emulator.app) as server:
        target = (
            f"  odoo: {{plugin: odoo, mapping: odoo.yaml, url: '{server.url}', database: {emulator.database}, "
            f"login: {emulator.login}, api_key: '${{ODOO_API_KEY}}', protocol: xmlrpc, employee_by: barcode}}\n"
        )
        (tmp_path / "odoo.yaml").write_text(ODOO_MAPPING)
        yield World(tmp_path, targets=target), emulator


def test_a_late_punch_for_a_locked_day_changes_nothing_in_odoo_and_gives_one_adjustment(
    odoo_world: tuple[World, OdooEmulator],
) -> None:
    world, odoo = odoo_world
    world.sync()
    held = odoo.attendances()
    assert len(held) == 15, "one interval a day, five days, three people"
    result = world.cli("period lock", "--period", "2025-10")
    assert result.exit_code == 0, result.output

    world.punch_file("late.csv", [("E1", "2025-10-13T09:02:00+05:30"), ("E1", "2025-10-13T18:05:00+05:30")])
    world.sync()
    world.sync()

    assert odoo.attendances() == held, "Odoo holds exactly what it held when October was locked"
    (row,) = world.rows("adjustments")
    assert (row["EmployeeCode"], row["WorkDate"], row["WorkedHoursDelta"]) == ("E1", "13/10/2025", "9.05")
    assert world.files("adjustments")[0].name.startswith("adjustments_2025-11-01_2025-11-30_")
