"""Helpers of the Minop tests: a manual clock, small configuration files, the CLI in-process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from punchbridge.cli import main


class ManualClock:
    """Epoch seconds that move only when told; `sleep` advances them (no real waiting)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


#: Kinds of Minop cloud for tests of commands sent twice, as MinopEmulator settings. The vendor says an
#: OperationID is "for tracking and support": a repeated one may run again (the emulator's default).
CLOUDS: dict[str, dict[str, Any]] = {
    "executes-twice": {},
    "deduplicates": {"dedupe_operations": True},
    "refuses-existing": {"existing_user": "refuse"},
}

EMPLOYEES_HEADER = "employee_id,site,shift\n"


def write_config(
    folder: Path,
    source: dict[str, Any] | None = None,
    employees: list[tuple[str, str]] | None = None,
    *,
    minop: dict[str, Any] | None = None,
    devices: dict[str, Any] | None = None,
    target: bool = False,
    sync_range: tuple[str, str] | None = None,
) -> Path:
    """A configuration file (and employees CSV, and optionally a local CSV target) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = employees or [("E1", "blr")]
    (folder / "employees.csv").write_text(EMPLOYEES_HEADER + "".join(f"{e},{s},general\n" for e, s in rows))
    config: dict[str, Any] = {
        "store": f"sqlite:///{folder / 'store.db'}",
        "employees": "employees.csv",
        "sites": {
            "blr": {"timezone": "Asia/Kolkata", "weekly_off": ["sun"]},
            "ber": {"timezone": "Europe/Berlin", "weekly_off": ["sat", "sun"]},
        },
        "shifts": {"general": {"start": "09:00", "end": "18:00", "grace_in": 10}},
    }
    if source is not None:
        config["sources"] = {"minop": source}
    if sync_range is not None:
        config["sync"] = {"from": sync_range[0], "to": sync_range[1]}
    if minop is not None:
        config["minop"] = minop
    if devices is not None:
        config["devices"] = devices
    if target:
        (folder / "mapping.yaml").write_text(
            "fields:\n"
            "  - {name: Employee, from: employee_id}\n"
            "  - {name: Date, from: work_date}\n"
            "  - {name: Status, from: status}\n"
            "  - {name: Worked, from: worked_minutes}\n"
            "  - {name: Recomputed, from: recomputed, transform: yes_no}\n"
        )
        config["targets"] = {
            "payroll": {"plugin": "local_csv", "mapping": "mapping.yaml", "folder": str(folder / "out"),
                        "create_folder": True}
        }  # fmt: skip
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def invoke(*args: Any) -> Result:
    """Run the CLI in-process."""
    return CliRunner().invoke(main, [str(a) for a in args])
