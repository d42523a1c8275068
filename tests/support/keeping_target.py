"""A target that keeps what it is sent at a lower precision, for tests of zones, stored forms and repair.

`KeepingTarget` (plugin `keeper`) stands for a system that keeps `hours` to `system_decimals`
decimals (2, like SuccessFactors) and says so in its `stored_form` (`stored_decimals`, 2 unless a test
makes it lie). It records every record it is sent (with its zone) and what each read-back was asked
for, and reads back what it holds. `KeeperWorld` is a customer with a site in Bangalore and one in
Berlin delivering to it through the sync engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from punchbridge.plugin_api import registry as registry_module
from punchbridge.plugin_api.registry import PluginRegistry
from punchbridge.plugin_api.targets import Batch, Capability, HeldRecord, Outcome, Record, Target
from punchbridge.reconcile import ReconcileReport
from punchbridge.sync import SyncReport
from support.world import BENGALURU, World

MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: date, from: work_date}
  - {name: hours, from: worked_minutes, transform: minutes_to_hours}
  - {name: check_in, from: first_in}
"""


class KeeperSettings(BaseModel):
    """The keeper's settings: how many decimals it keeps, and how many its stored form says."""

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = None
    system_decimals: int = 2
    stored_decimals: int = 2
    naive_read_back: bool = False  # read check_in back as a naive wall clock in the employee's zone
    utc_check_in: bool = False  # keep check_in as a UTC instant (as Salesforce keeps date-times)


class KeepingTarget(Target[KeeperSettings]):
    """Keeps `hours` rounded to `system_decimals`; reads back what it keeps (see the module docstring)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.PUSH_ATTENDANCE, Capability.READ_BACK})
    held: ClassVar[dict[str, dict[str, Any]]] = {}
    sent: ClassVar[list[Record]] = []
    asked: ClassVar[list[Mapping[str, str] | None]] = []

    @classmethod
    def stored_form(cls, fields: Mapping[str, Any], settings: KeeperSettings) -> Mapping[str, Any]:
        """`hours` rounded to the decimals the settings say the system keeps; check_in in UTC when it keeps that."""
        stored = dict(fields)
        if isinstance(fields.get("hours"), float):
            stored["hours"] = round(fields["hours"], settings.stored_decimals)
        if settings.utc_check_in and fields.get("check_in"):
            stored["check_in"] = datetime.fromisoformat(fields["check_in"]).astimezone(UTC).isoformat()
        return stored if stored != fields else fields

    def push(self, batch: Batch) -> list[Outcome]:
        """Keep each record (hours at the system's precision); one outcome each."""
        outcomes = []
        for record in batch.records:
            KeepingTarget.sent.append(record)
            kept = dict(record.fields)
            if isinstance(kept.get("hours"), float):
                kept["hours"] = round(kept["hours"], self.settings.system_decimals)
            KeepingTarget.held[record.key] = kept
            outcomes.append(Outcome(record.key, ok=True, remote_id=record.key))
        return outcomes

    def read_back(
        self, start: date, end: date, employees: Sequence[str] | None = None, zones: Mapping[str, str] | None = None
    ) -> Iterator[HeldRecord]:
        """What it keeps for the days; check_in as a naive wall clock in the employee's zone when asked."""
        KeepingTarget.asked.append(zones)
        for fields in KeepingTarget.held.values():
            day = date.fromisoformat(fields["date"])
            if start <= day <= end and (employees is None or fields["employee"] in employees):
                shown = dict(fields)
                if self.settings.naive_read_back and shown.get("check_in"):
                    zone = self.zone_for(fields["employee"], zones)
                    shown["check_in"] = datetime.fromisoformat(shown["check_in"]).astimezone(zone).replace(tzinfo=None)
                yield HeldRecord(fields["employee"], day, shown, remote_id=f"{fields['employee']}|{fields['date']}|day")


def register_keeper(monkeypatch: pytest.MonkeyPatch, **plugins: type[Target[Any]]) -> None:
    """Register the `keeper` plugin (and `plugins`, by name) for this test, with empty records."""
    real = registry_module.load_plugins

    def with_keeper(only: set[str] | None = None) -> PluginRegistry:
        loaded = real(only)
        loaded.targets.update({"keeper": KeepingTarget, **plugins})
        return loaded

    monkeypatch.setattr(registry_module, "load_plugins", with_keeper)
    KeepingTarget.held.clear()
    KeepingTarget.sent.clear()
    KeepingTarget.asked.clear()


class KeeperWorld(World):
    """E1 in Bangalore and B1 in Berlin, Monday 23 to Friday 27 March 2026, delivered to the keeper.

    Worked minutes of 487 (8.1166... hours) and the like: more decimals than the keeper keeps.
    `settings` are more of the keeper's settings, as YAML flow entries (", system_decimals: 1").
    """

    def __init__(self, root: Path, settings: str = "") -> None:
        super().__init__(root)
        self.settings = settings
        self.write_employees([("E1", "blr", "general"), ("B1", "ber", "general")])
        self.write_file("mapping.yaml", MAPPING)
        rows = []
        for day in range(23, 28):
            rows.append(("E1", f"2026-03-{day}T09:0{day % 10}:00+05:30"))
            rows.append(("E1", f"2026-03-{day}T17:1{day % 7}:00+05:30"))
            rows.append(("B1", f"2026-03-{day}T08:5{day % 10}:00+01:00"))
            rows.append(("B1", f"2026-03-{day}T17:0{day % 7}:00+01:00"))
        self.punch_file("march.csv", rows, device="G")
        self.write()

    def write(self) -> None:
        """(Re)write the configuration with the current keeper settings."""
        self.configure(
            period=("2026-03-23", "2026-03-27"),
            targets={"keeper": f"{{plugin: keeper, mapping: mapping.yaml{self.settings}}}"},
            sites={"blr": BENGALURU, "ber": "{timezone: Europe/Berlin, weekly_off: [sun]}"},
            shifts={"general": '{start: "09:00", end: "17:00"}'},
        )

    def sync(self) -> SyncReport:  # type: ignore[override]
        """One sync, as the nightly job runs it."""
        return super().sync(today=date(2026, 4, 1))

    def reconcile(self, *, repair: bool = False) -> ReconcileReport:  # type: ignore[override]
        """Reconcile the keeper for the week (reports under `reports/`)."""
        return super().reconcile("keeper", period="2026-03-23..2026-03-27", repair=repair, today=date(2026, 4, 1))
