"""Helpers of the scheduler and run-history tests: a small sync setup, and a job environment whose
tasks are recorded instead of run.

The small setup: six employees of site `blr` (Asia/Kolkata, no weekly off), punches for
2026-03-02..2026-03-06 in a csv_folder inbox, and a `local_csv` target that drops files of two
records each into `out/` (so a sync makes several batches).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from punchbridge.config import load_config
from punchbridge.jobs.runner import JobEnvironment
from punchbridge.jobs.settings import JobSettings
from punchbridge.jobs.tasks import JobContext, JobOutcome
from punchbridge.plugin_api.registry import load_plugins
from punchbridge.store import Store
from support.world import World

EMPLOYEES = [f"E{n}" for n in range(1, 7)]
FIRST_DAY = date(2026, 3, 2)
DAYS = 5

MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: date, from: work_date}
  - {name: status, from: status}
  - {name: worked, from: worked_minutes}
"""

SITES = {"blr": "{timezone: Asia/Kolkata, weekly_off: []}"}
SHIFTS = {"general": '{start: "09:00", end: "18:00"}'}
NIGHTLY = 'jobs:\n  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}\n'


def write_setup(
    folder: Path, *, store_url: str | None = None, jobs: str = "", batch_size: int = 2, whole_range: bool = False
) -> Path:
    """The small sync setup in `folder`; returns the configuration file. `whole_range`: the sync
    covers exactly the five days (`sync: {from, to}`) instead of the first punch to yesterday."""
    world = World(folder, config_name="punchbridge.yaml")
    (folder / "out").mkdir(parents=True, exist_ok=True)
    world.write_employees((e, "blr", "general") for e in EMPLOYEES)
    rows = []
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for employee in EMPLOYEES:
            rows.append((employee, f"{day}T09:0{offset}:00+05:30", "in"))
            rows.append((employee, f"{day}T18:0{offset}:00+05:30", "out"))
    world.punch_file("punches.csv", rows, device="GATE")
    world.write_file("mapping.yaml", MAPPING)
    return world.configure(
        period=(FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1)) if whole_range else None,
        targets={"payroll": f"{{plugin: local_csv, mapping: mapping.yaml, folder: out, batch_size: {batch_size}}}"},
        sites=SITES,
        shifts=SHIFTS,
        last=jobs or NIGHTLY,
        store=store_url,
    )


@dataclass
class Recorder:
    """Tasks that record each call (job name, the context's time) and return a chosen outcome."""

    calls: list[tuple[str, datetime]] = field(default_factory=list)
    outcome: Callable[[str, JobContext], JobOutcome] = lambda _name, _context: JobOutcome("ok", {"done": 1})

    def task(self, name: str, job: JobSettings, context: JobContext) -> JobOutcome:
        self.calls.append((name, context.now))
        return self.outcome(name, context)

    def table(self) -> dict[str, Any]:
        return {kind: self.task for kind in ("sync", "reconcile", "employees", "purge")}


def environment_for(config_path: Path, store: Store, recorder: Recorder | None = None) -> JobEnvironment:
    """The job environment of a configuration on `store`; with `recorder`, its tasks instead of the real ones."""
    config, document = load_config(config_path)
    environment = JobEnvironment(config=config, document=document, registry=load_plugins(), store=store)
    if recorder is not None:
        environment.tasks = recorder.table()
    return environment
