"""config/demo-employees.yaml is a valid employee sync configuration that places the demo staff."""

from __future__ import annotations

from pathlib import Path

from support.employee_kit import person, registry

from punchbridge.config import load_config
from punchbridge.employees import EmployeeSync, check_employee_sync, plan_changes
from punchbridge.store import Store

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo-employees.yaml"


def test_the_demo_configuration_has_no_problem_and_places_zoho_employees_by_their_user_id() -> None:
    # The demo runs against `punchbridge emulate zoho`, whose EmployeeIDs are the terminal user ids.
    config, document = load_config(DEMO)
    assert check_employee_sync(config, document, registry()) == []
    with Store.open("sqlite://") as store:
        sync = EmployeeSync(config, document, registry(), store)
        roster = sync.roster([person("E0001"), person("E0002"), person("E0150"), person("P-99999")])
        plan = plan_changes(roster, [], sync.devices, lineage="demo")
    assert set(roster.placements) == {"E0001", "E0002", "E0150"}
    assert roster.placements["E0001"].terminals == ("device001", "device002")
    assert roster.placements["E0150"].terminals == ("device003",)  # a Berlin employee: Berlin's terminal
    assert len(roster.problems) == 1 and "'P-99999'" in roster.problems[0]
    assert len(plan.commands) == 10
