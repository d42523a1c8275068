"""Helpers of the employee sync tests: configuration files, settings, and a run in-process."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from punchbridge.cli import main
from punchbridge.config import load_config
from punchbridge.employees import EmployeeSyncReport, EmployeeSyncSettings, run_employee_sync
from punchbridge.plugin_api.registry import PluginRegistry, load_plugins
from punchbridge.plugin_api.targets import Employee
from punchbridge.rules.settings import Shift, Site
from punchbridge.store import Store
from punchbridge.testing.emulators.minop import MinopEmulator

#: Terminals of the tests: two at Bengaluru, one at Hyderabad, and the head office's gate, which only
#: terminal rules put anyone on (nobody's site is `hq`).
DEVICES = {"blr-1": "blr", "blr-2": "blr", "hyd-1": "hyd", "gate-1": "hq"}
SITES = {
    "blr": Site(timezone="Asia/Kolkata", weekly_off=("sun",)),
    "hyd": Site(timezone="Asia/Kolkata", weekly_off=("sat", "sun")),
    "hq": Site(timezone="Asia/Kolkata"),
}
SHIFTS = {
    "general": Shift(start="09:00", end="18:00"),
    "night": Shift(start="22:00", end="06:00"),
    "early": Shift(start="06:00", end="14:00"),
}
TEMPLATE = base64.b64encode(b"FACE-TEMPLATE-" + bytes(range(256)) * 4).decode()
#: The people of the Zoho tests: (Zoho EmployeeID, name, terminal user id, site in Zoho, department).
ZOHO_STAFF = [
    ("T-1", "Asha Rao", "1001", "Bengaluru", "Ops"),
    ("T-2", "Ben Okafor", "1002", "Bengaluru", "Ops"),
    ("T-3", "Chen Li", "1003", "Hyderabad", "Stores"),
    ("T-4", "Dana Cruz", "1004", "Bengaluru", "Security"),
]
#: Rows of the employees file: (terminal user id, site, shift).
STAFF_FILE = [
    ("1001", "blr", "general"),
    ("1002", "blr", "night"),
    ("1003", "hyd", "general"),
    ("1004", "blr", "early"),
]
#: The `employee_sync:` section of the Zoho configuration.
ZOHO_SYNC: dict[str, Any] = {
    "source": "hrms",
    "site": {"from": "source", "names": {"Bengaluru": "blr", "Hyderabad": "hyd"}},
    "user_types": {"rules": [{"match": {"department": "Security"}, "type": "admin"}]},
    "terminals": {"rules": [{"match": {"department": "Security"}, "devices": ["gate-1"]}]},
    "access": {"before_minutes": 30, "after_minutes": 60},
    "max_delete_share": 0.5,
    "concurrency": 2,
}
MAPPING = """\
ids: {file: ids.csv}
fields:
  - {name: employee, from: target_id}
  - {name: check_in, from: first_in}
  - {name: check_out, from: last_out}
"""


def settings(**overrides: Any) -> EmployeeSyncSettings:
    """Employee sync settings (source `hrms`, tolerant delete share unless given)."""
    values: dict[str, Any] = {"source": "hrms", "max_delete_share": 0.5, **overrides}
    return EmployeeSyncSettings.model_validate(values)


def devices(enabled: Iterable[str] | None = None) -> dict[str, tuple[str, bool]]:
    """The test terminals as the roster and planner take them: stgid -> (site, enabled)."""
    chosen = set(DEVICES if enabled is None else enabled)
    return {stgid: (site, stgid in chosen) for stgid, site in DEVICES.items()}


def person(target_id: str, name: str = "Asha Rao", **fields: Any) -> Employee:
    """An HRMS employee (active, at Bengaluru, in Ops, unless told)."""
    values: dict[str, Any] = {"site": "Bengaluru", "department": "Ops", **fields}
    return Employee(target_id, name, **values)


def write_config(
    folder: Path,
    *,
    target: Mapping[str, Any],
    employee_sync: Mapping[str, Any] | None,
    staff: Sequence[tuple[str, str, str]],
    ids: Sequence[tuple[str, str]] | None = None,
    minop: MinopEmulator | None = None,
    minop_url: str = "http://127.0.0.1:9",
    device_names: Iterable[str] = DEVICES,
) -> Path:
    """A configuration (employees CSV `user,site,shift`, mapping with `ids`, devices with the emulator's
    tokens) in `folder`; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "employees.csv").write_text(
        "employee_id,site,shift\n" + "".join(f"{u},{s},{shift}\n" for u, s, shift in staff)
    )
    mapping = MAPPING if ids is not None else MAPPING.replace("ids: {file: ids.csv}\n", "")
    (folder / "mapping.yaml").write_text(mapping)
    if ids is not None:
        (folder / "ids.csv").write_text("employee_id,target_id\n" + "".join(f"{u},{t}\n" for u, t in ids))
    device_section = {}
    for stgid in device_names:
        emulated = minop.devices.get(stgid) if minop is not None else None
        device_section[stgid] = {
            "site": DEVICES[stgid],
            "auth_token": emulated.auth_token if emulated is not None else f"token-{stgid}",
        }
    config: dict[str, Any] = {
        "store": f"sqlite:///{folder / 'store.db'}",
        "employees": "employees.csv",
        "sites": {
            "blr": {"timezone": "Asia/Kolkata", "weekly_off": ["sun"]},
            "hyd": {"timezone": "Asia/Kolkata", "weekly_off": ["sat", "sun"]},
            "hq": {"timezone": "Asia/Kolkata"},
        },
        "shifts": {
            "general": {"start": "09:00", "end": "18:00"},
            "night": {"start": "22:00", "end": "06:00"},
            "early": {"start": "06:00", "end": "14:00"},
        },
        "targets": {"hrms": {"mapping": "mapping.yaml", **target}},
        "minop": {"base_url": minop_url, "api_token": minop.command_token if minop else "command-token"},
        "devices": device_section,
    }
    if employee_sync is not None:
        config["employee_sync"] = employee_sync
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


_REGISTRY: list[PluginRegistry] = []


def registry() -> PluginRegistry:
    """The plugin registry (loaded once per test session)."""
    if not _REGISTRY:
        _REGISTRY.append(load_plugins())
    return _REGISTRY[0]


def sync(config_path: Path, **options: Any) -> EmployeeSyncReport:
    """One employee sync of `config_path`, in-process."""
    config, document = load_config(config_path)
    with Store.open(config.store) as store:
        return run_employee_sync(config, document, registry(), store, **options)


def open_store(config_path: Path) -> Store:
    """The configuration's store."""
    config, _document = load_config(config_path)
    return Store.open(config.store)


def invoke(*args: Any) -> Result:
    """The CLI in-process."""
    return CliRunner().invoke(main, [str(a) for a in args])


def users(emulator: MinopEmulator) -> dict[str, set[str]]:
    """Each emulated terminal's user ids."""
    with emulator.lock:
        return {stgid: set(device.users) for stgid, device in emulator.devices.items()}


def executed_ids(emulator: MinopEmulator) -> list[str]:
    """The OperationIDs the emulator executed, in order."""
    with emulator.lock:
        return [entry["operation_id"] for entry in emulator.executed]
