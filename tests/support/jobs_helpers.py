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

RULES = """\
sites:
  blr: {timezone: Asia/Kolkata, weekly_off: []}
shifts:
  general: {start: "09:00", end: "18:00"}
"""


def write_setup(
    folder: Path, *, store_url: str | None = None, jobs: str = "", batch_size: int = 2, whole_range: bool = False
) -> Path:
    """The small sync setup in `folder`; returns the configuration file. `whole_range`: the sync
    covers exactly the five days (`sync: {from, to}`) instead of the first punch to yesterday."""
    (folder / "inbox").mkdir(parents=True, exist_ok=True)
    (folder / "out").mkdir(exist_ok=True)
    (folder / "employees.csv").write_text("employee_id,site,shift\n" + "".join(f"{e},blr,general\n" for e in EMPLOYEES))
    lines = ["employee_id,timestamp,device_id,direction"]
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for employee in EMPLOYEES:
            lines.append(f"{employee},{day}T09:0{offset}:00+05:30,GATE,in")
            lines.append(f"{employee},{day}T18:0{offset}:00+05:30,GATE,out")
    (folder / "inbox" / "punches.csv").write_text("\n".join(lines) + "\n")
    (folder / "mapping.yaml").write_text(MAPPING)
    config = folder / "punchbridge.yaml"
    config.write_text(
        f"store: {store_url or 'sqlite:///' + str(folder / 'store.db')}\n"
        "sources:\n  terminals: {plugin: csv_folder, folder: inbox}\n"
        "employees: employees.csv\n"
        + (f"sync: {{from: {FIRST_DAY}, to: {FIRST_DAY + timedelta(days=DAYS - 1)}}}\n" if whole_range else "")
        + f"targets:\n  payroll: {{plugin: local_csv, mapping: mapping.yaml, folder: out, batch_size: {batch_size}}}\n"
        + RULES
        + (jobs or 'jobs:\n  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}\n')
    )
    return config


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
