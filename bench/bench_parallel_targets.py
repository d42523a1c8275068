"""Benchmark a nightly sync's wall time with its targets one after another and side by side.

    python bench/bench_parallel_targets.py [--employees 100] [--scale 60]

The night: `--employees` employees' punches for October 2025 (weekdays, in and out), delivered to
two targets: `zoho` (Zoho People, its emulator at Zoho's real limits: 10 bulkImport calls a minute,
the plugin pacing itself to them) and `payroll` (CSV files). Zoho time runs `--scale` times faster
than real time (`ScaledClock`, shared by the emulator and the plugin), so a minute of Zoho's rate
limit is a real wait of 60/scale seconds. The same sync runs twice on fresh stores, with
`sync.concurrency: 1` and `sync.concurrency: 2`, and reports each one's wall time, when the payroll
file was written (seconds after the sync started) and that each target got every day once.
Results go to bench/out/parallel-targets-results.json as well.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from punchbridge.cli import main as cli
from punchbridge.plugin_api import Employee
from punchbridge.plugins.zoho_people import clear_token_cache
from punchbridge.plugins.zoho_people.target import ZohoPeopleTarget
from punchbridge.testing.emulators.zoho import NoDelayHttp, ScaledClock, ZohoEmulator, ZohoLimits
from punchbridge.testing.http import serve

HERE = Path(__file__).resolve().parent
FIRST, LAST = date(2025, 10, 1), date(2025, 10, 31)
MAPPINGS = {
    "zoho.yaml": "fields:\n  - {name: employee, from: employee_id}\n  - {name: check_in, from: first_in}\n"
    "  - {name: check_out, from: last_out}\n",
    "payroll.yaml": "fields:\n  - {name: EmployeeCode, from: employee_id}\n"
    '  - {name: Date, from: work_date, format: "%d/%m/%Y"}\n  - {name: Status, from: status}\n',
}


def _write_night(folder: Path, employees: int) -> None:
    (folder / "inbox").mkdir(parents=True)
    staff = [f"E{n:04d}" for n in range(employees)]
    (folder / "employees.csv").write_text("employee_id,site,shift\n" + "".join(f"{e},blr,general\n" for e in staff))
    lines = ["employee_id,timestamp,device_id,direction"]
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            for number, employee in enumerate(staff):
                lines.append(f"{employee},{day}T09:{number % 30:02d}:00+05:30,GATE,in")
                lines.append(f"{employee},{day}T18:{number % 30:02d}:00+05:30,GATE,out")
        day += timedelta(days=1)
    (folder / "inbox" / "october.csv").write_text("\n".join(lines) + "\n")
    for name, text in MAPPINGS.items():
        (folder / name).write_text(text)


def run_night(folder: Path, employees: int, scale: float, concurrency: int, port: int = 0) -> dict[str, Any]:
    """One sync of the night with `concurrency`; its wall time and what each target received."""
    clear_token_cache()
    _write_night(folder, employees)
    clock = ScaledClock(scale)
    emulator = ZohoEmulator(clock=clock, limits=ZohoLimits())
    emulator.seed_employees(Employee(f"E{n:04d}", f"Person {n:04d}") for n in range(employees))
    built = ZohoPeopleTarget.__init__

    def on_scaled_clock(self: ZohoPeopleTarget, name: str, settings: Any, **_options: Any) -> None:
        built(self, name, settings, clock=clock, sleep=clock.sleep)

    ZohoPeopleTarget.__init__ = on_scaled_clock  # type: ignore[method-assign]
    try:
        with serve(emulator.app, http=NoDelayHttp, port=port) as served:
            settings = {**emulator.plugin_settings(served.url), "state_file": str(folder / "zoho.sqlite3")}
            zoho = ", ".join(f"{key}: '{value}'" for key, value in settings.items())
            (folder / "punchbridge.yaml").write_text(
                f"store: sqlite:///{folder / 'store.db'}\n"
                "sources:\n  terminals: {plugin: csv_folder, folder: inbox}\n"
                "employees: employees.csv\n"
                f"sync: {{from: {FIRST}, to: {LAST}, concurrency: {concurrency}}}\n"
                "targets:\n"
                f"  zoho: {{plugin: zoho_people, mapping: zoho.yaml, {zoho}}}\n"
                "  payroll: {plugin: local_csv, mapping: payroll.yaml, folder: out, create_folder: true}\n"
                "sites: {blr: {timezone: Asia/Kolkata, weekly_off: [sat, sun]}}\n"
                'shifts: {general: {start: "09:00", end: "18:00"}}\n'
            )
            started = time.time()
            result = CliRunner().invoke(cli, ["sync", "-c", str(folder / "punchbridge.yaml")], catch_exceptions=False)
            seconds = time.time() - started
    finally:
        ZohoPeopleTarget.__init__ = built  # type: ignore[method-assign]
    if result.exit_code != 0:
        raise SystemExit(result.output)
    files = sorted((folder / "out").glob("*.csv"))
    payroll_rows = sum(len(path.read_text().splitlines()) - 1 for path in files)
    days = (LAST - FIRST).days + 1
    zoho_once = set(emulator.deliveries_by_day.values()) == {1}
    return {
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "payroll_written_after_seconds": round(min(path.stat().st_mtime for path in files) - started, 2),
        "zoho_calls": sum(emulator.calls.values()),
        "zoho_locks": emulator.locks,
        "every_day_once": zoho_once and payroll_rows == employees * days,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=100)
    parser.add_argument("--scale", type=float, default=60.0, help="Zoho time runs this many times faster")
    parser.add_argument("--port", type=int, default=0, help="Serve the emulator on this port (default: a free one).")
    options = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for concurrency in (1, 2):
            folder = Path(scratch) / f"c{concurrency}"
            result = run_night(folder, options.employees, options.scale, concurrency, options.port)
            results.append(result)
            print(
                f"concurrency {concurrency}: {result['seconds']} s wall, payroll file after "
                f"{result['payroll_written_after_seconds']} s, {result['zoho_calls']} Zoho calls, "
                f"{result['zoho_locks']} locks, every day once: {result['every_day_once']}"
            )
    summary = {"employees": options.employees, "scale": options.scale, "cores": os.cpu_count(), "results": results}
    summary["load_average"] = os.getloadavg()
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "parallel-targets-results.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
