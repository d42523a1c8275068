"""Targets side by side: a target waiting out Zoho's rate limit does not hold up the payroll file.

The Zoho People emulator allows one bulkImport a minute (and the plugin keeps to it), so its second
month waits a minute of Zoho time. That wait is the test's to see: Zoho time moves only once the
payroll file is in `out/` (or after `patience` real seconds), so a wait that ends with the file
there proves the payroll file was written while Zoho still waited.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support.cutoff_world import PAYROLL_TARGET, World

from punchbridge.plugin_api import Employee
from punchbridge.plugins.zoho_people import clear_token_cache
from punchbridge.plugins.zoho_people.target import ZohoPeopleTarget
from punchbridge.testing.emulators.zoho import BULK_IMPORT, ManualClock, NoDelayHttp, ZohoEmulator, ZohoLimits
from punchbridge.testing.http import serve

ZOHO_MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: check_in, from: first_in}
  - {name: check_out, from: last_out}
"""
STAFF = {"E1": "+05:30", "E2": "+05:30", "E3": "+01:00"}
#: the days worked: 6 to 10 October (the world's punches) and 3 to 7 November (added here)
WORKED = {
    (e, date(2025, month, day))
    for e in STAFF
    for month, days in ((10, range(6, 11)), (11, range(3, 8)))
    for day in days
}
DAYS_PER_EMPLOYEE = 61  # 1 October to 30 November


class WaitUntilPayroll(ManualClock):
    """Zoho time that moves past a rate-limit wait only once a payroll file exists (or after `patience`
    real seconds); `waits` says, for each wait, whether the payroll file was there when it ended."""

    def __init__(self, out: Path, patience: float) -> None:
        super().__init__()
        self.out, self.patience = out, patience
        self.waits: list[bool] = []

    def payroll_written(self) -> bool:
        return any(self.out.glob("attendance_*.csv"))

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + self.patience
        while not self.payroll_written() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.waits.append(self.payroll_written())
        self.advance(seconds)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.chdir(tmp_path)
    world = World(tmp_path, adjustments=False)
    november = [
        (e, f"2025-11-{day:02d}T{hour}:00:00{zone}")
        for e, zone in STAFF.items()
        for day in range(3, 8)
        for hour in ("09", "18")
    ]
    world.punch_file("november.csv", november)
    return world


@pytest.fixture
def zoho(world: World) -> Iterator[tuple[ZohoEmulator, str]]:
    """A Zoho organisation allowing one bulkImport a minute, served on loopback, with E1 to E3."""
    clear_token_cache()
    emulator = ZohoEmulator(limits=ZohoLimits(per_minute={BULK_IMPORT: 1}))
    emulator.seed_employees(Employee(e, f"Person {e}", badge=e) for e in ("E1", "E2", "E3"))
    with serve(emulator.app, http=NoDelayHttp) as served:
        yield emulator, served.url
    clear_token_cache()


def _configure(
    world: World, zoho: tuple[ZohoEmulator, str], monkeypatch: pytest.MonkeyPatch, *, concurrency: int, patience: float
) -> WaitUntilPayroll:
    """Zoho first, then the payroll file; the Zoho plugin and emulator on a clock that waits for the payroll file."""
    emulator, url = zoho
    clock = WaitUntilPayroll(world.root / "out", patience)
    emulator.clock = clock
    settings: dict[str, Any] = {
        **emulator.plugin_settings(url),
        "state_file": str(world.root / "zoho-state.sqlite3"),
        "bulk_import_per_minute": 1,
    }
    inline = ", ".join(
        f"{key}: '{value}'" if isinstance(value, str) else f"{key}: {value}" for key, value in settings.items()
    )
    (world.root / "zoho.yaml").write_text(ZOHO_MAPPING)
    zoho_target = f"  zoho: {{plugin: zoho_people, mapping: zoho.yaml, {inline}}}\n"
    world.write_config(adjustments=False, targets=zoho_target + PAYROLL_TARGET)
    text = world.config.read_text().replace("to: 2025-11-30}", f"to: 2025-11-30, concurrency: {concurrency}}}")
    world.config.write_text(text)

    built = ZohoPeopleTarget.__init__

    def on_clock(self: ZohoPeopleTarget, name: str, settings: Any, **options: Any) -> None:
        built(self, name, settings, clock=clock, sleep=clock.sleep)

    monkeypatch.setattr(ZohoPeopleTarget, "__init__", on_clock)
    return clock


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_the_payroll_file_is_written_while_zoho_waits_out_its_rate_limit_and_each_gets_every_day_once(
    world: World,
    zoho: tuple[ZohoEmulator, str],
    monkeypatch: pytest.MonkeyPatch,
    store: str,
    request: pytest.FixtureRequest,
) -> None:
    if store == "postgresql":  # each target's delivery lock is then a session advisory lock of its own
        world.url = request.getfixturevalue("postgres_server").create_database()
    clock = _configure(world, zoho, monkeypatch, concurrency=2, patience=60)
    emulator, _ = zoho

    result = world.sync()

    assert clock.waits and clock.waits[0], "Zoho's wait ended before the payroll file was written"
    assert emulator.calls[BULK_IMPORT] == 2 and emulator.locks == 0  # one per month, never past the limit
    assert set(emulator.deliveries_by_day) == WORKED
    assert set(Counter(emulator.deliveries_by_day).values()) == {1} and emulator.duplicate_punches == 0
    keys = [(row["EmployeeCode"], row["Date"]) for row in world.rows("attendance")]
    assert len(keys) == len(set(keys)) == 3 * DAYS_PER_EMPLOYEE
    rows = [line.split("│")[1:9] for line in result.output.splitlines() if line.startswith(("│ zoho", "│ payroll"))]
    assert [(row[0].strip(), row[7].strip()) for row in rows] == [("zoho", "183"), ("payroll", "183")]  # config order
    with world.store() as store:
        for target in ("zoho", "payroll"):
            assert store.open_batches(target) == []

    again = world.sync()
    assert "nothing new to send" in again.output
    assert sum(emulator.deliveries_by_day.values()) == len(WORKED) and len(world.rows("attendance")) == len(keys)


def test_with_concurrency_one_the_payroll_file_waits_for_zoho(
    world: World, zoho: tuple[ZohoEmulator, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _configure(world, zoho, monkeypatch, concurrency=1, patience=1)
    emulator, _ = zoho

    world.sync()

    assert clock.waits and not any(clock.waits), "one target after another: Zoho's wait ends before payroll starts"
    assert set(emulator.deliveries_by_day) == WORKED and len(world.rows("attendance")) == 3 * DAYS_PER_EMPLOYEE
