"""The `employee_sync:` section: malformed, missing, duplicated and hostile settings are reported with
file, line and field, before anything is pulled or sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support.employee_kit import registry, write_config

from punchbridge.config import load_config
from punchbridge.employees import EmployeeSyncNotConfiguredError, check_employee_sync, run_employee_sync
from punchbridge.errors import ConfigError
from punchbridge.store import Store

ODOO = {"plugin": "odoo", "url": "http://127.0.0.1:9", "database": "db", "api_key": "key", "employee_by": "barcode"}
STAFF = [("1001", "blr", "general")]


def config_with(tmp_path: Path, section: Any, *, target: dict[str, Any] | None = None, **options: Any) -> Path:
    return write_config(tmp_path, target=target or ODOO, employee_sync=section, staff=STAFF, **options)


def problems_of(path: Path) -> list[str]:
    try:
        config, document = load_config(path)
        return [str(p) for p in check_employee_sync(config, document, registry())]
    except ConfigError as exc:
        return [str(p) for p in exc.problems]


@pytest.mark.parametrize(
    ("section", "field", "words"),
    [
        ({"source": ""}, "employee_sync.source", "at least 1 character"),
        ({"source": "hrms", "max_delete_share": 1.5}, "employee_sync.max_delete_share", "less than or equal to 1"),
        ({"source": "hrms", "max_delete_share": "lots"}, "employee_sync.max_delete_share", "number"),
        ({"source": "hrms", "concurrency": 0}, "employee_sync.concurrency", "greater than or equal to 1"),
        ({"source": "hrms", "shoe_size": 42}, "employee_sync.shoe_size", "unknown setting"),
        ({"source": "hrms", "user_id": {"field": "shoe"}}, "employee_sync.user_id.field", "target_id"),
        ({"source": "hrms", "site": {"from": "moon"}}, "employee_sync.site.from", "employees_file"),
        ({"source": "hrms", "user_types": {"default": "wizard"}}, "employee_sync.user_types.default", "wizard"),
        (
            {"source": "hrms", "access": {"default": {"start": "25:00", "end": "18:00"}}},
            "employee_sync.access.default.start",
            "HH:MM",
        ),
        (
            {"source": "hrms", "access": {"default": {"start": "09:00", "end": "09:00"}}},
            "employee_sync.access.default",
            "same time",
        ),
        (
            {"source": "hrms", "access": {"default": {"start": "09:00", "end": "18:00", "days": ["funday"]}}},
            "employee_sync.access.default.days",
            "funday",
        ),
        ({"source": "hrms", "access": {"before_minutes": -5}}, "employee_sync.access.before_minutes", "0"),
        (
            {"source": "hrms", "user_types": {"rules": [{"match": {}, "type": "admin"}]}},
            "employee_sync.user_types.rules[0].match",
            "empty match",
        ),
        (
            {"source": "hrms", "terminals": {"rules": [{"match": {"department": ""}, "devices": ["blr-1"]}]}},
            "employee_sync.terminals.rules[0].match.department",
            "text",
        ),
        ({"source": "hrms", "face_template_field": ""}, "employee_sync.face_template_field", "at least 1"),
        ("everything", "employee_sync", "valid dictionary"),
    ],
)
def test_a_malformed_setting_is_named_with_its_line(tmp_path: Path, section: Any, field: str, words: str) -> None:
    path = config_with(tmp_path, section)
    (problem,) = problems_of(path)
    assert f"{path}:" in problem and field in problem and words in problem
    line = int(problem.split(f"{path}:")[1].split(":")[0])
    assert (
        line
        >= path.read_text()
        .splitlines()
        .index("employee_sync:" if isinstance(section, dict) else "employee_sync: everything")
        + 1
    )


def test_a_configuration_without_the_section_says_how_to_add_it(tmp_path: Path) -> None:
    path = config_with(tmp_path, None)
    config, document = load_config(path)
    with Store.open("sqlite://") as store, pytest.raises(EmployeeSyncNotConfiguredError) as caught:
        run_employee_sync(config, document, registry(), store)
    assert "no employee_sync: section" in str(caught.value) and str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_every_cross_reference_problem_is_reported_at_once(tmp_path: Path) -> None:
    section = {
        "source": "payroll",
        "site": {"from": "source", "names": {"Pune": "pnq"}},
        "terminals": {"rules": [{"match": {"department": "Security"}, "devices": ["gate-9"]}]},
    }
    found = problems_of(config_with(tmp_path, section))
    assert len(found) == 3
    assert any("employee_sync.source" in p and "'payroll'" in p and "targets:" in p for p in found)
    assert any("employee_sync.site.names.Pune" in p and "'pnq'" in p for p in found)
    assert any("employee_sync.terminals.rules.0.devices" in p and "'gate-9'" in p for p in found)


def test_a_source_that_cannot_pull_employees_names_the_plugins_that_can(tmp_path: Path) -> None:
    local = {"plugin": "local_csv", "folder": str(tmp_path / "out"), "create_folder": True}
    (problem,) = problems_of(config_with(tmp_path, {"source": "hrms"}, target=local))
    assert "cannot pull employees" in problem and "odoo" in problem and "zoho_people" in problem


def test_a_device_without_an_auth_token_is_named(tmp_path: Path) -> None:
    path = config_with(tmp_path, {"source": "hrms"})
    data = yaml.safe_load(path.read_text())
    del data["devices"]["hyd-1"]["auth_token"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    (problem,) = problems_of(path)
    assert "devices.hyd-1" in problem and "auth_token" in problem


def test_missing_minop_and_devices_sections_are_named(tmp_path: Path) -> None:
    path = config_with(tmp_path, {"source": "hrms"})
    data = yaml.safe_load(path.read_text())
    del data["minop"], data["devices"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    found = problems_of(path)
    assert len(found) == 2 and any("minop:" in p for p in found) and any("devices:" in p for p in found)


def test_a_repeated_key_in_the_section_is_reported(tmp_path: Path) -> None:
    path = config_with(tmp_path, {"source": "hrms"})
    path.write_text(path.read_text().replace("  source: hrms\n", "  source: hrms\n  source: other\n"))
    (problem,) = problems_of(path)
    assert "source" in problem and ("duplicate" in problem.lower() or "twice" in problem.lower())


def test_a_broken_id_mapping_of_the_source_is_reported_before_any_pull(tmp_path: Path) -> None:
    path = config_with(tmp_path, {"source": "hrms"}, ids=[("1001", "T-1"), ("1001", "T-2")])
    config, document = load_config(path)
    with Store.open("sqlite://") as store, pytest.raises(ConfigError) as caught:
        run_employee_sync(config, document, registry(), store)
    assert "ids.csv" in str(caught.value)
