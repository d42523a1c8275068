"""Benchmark employee sync: plan and send for 20,000 employees across 100 terminals.

    python bench/bench_employees.py [--employees 20000] [--terminals 100] [--per-site 2] [--concurrency 8]

The Minop emulator runs in a child process on loopback (client and server do not share one
interpreter), with `--terminals` devices, `--per-site` of them at each site. The system of record is
an in-memory target (no HRMS latency is measured here: the Zoho and Odoo benchmarks cover pulls).
Every employee works at one site, so the first run adds each to `--per-site` terminals: two
commands per terminal (Add User, Update AccessTime).

Measured, each with a fresh SQLite store in a temporary folder:

1. **plan** (pure: `build_roster` + `plan_changes`, no I/O) for the first run, best of 3;
2. **first run** (`run_employee_sync`: pull, plan, journal, send, settle): commands per second to the
   emulator, and the number the emulator executed;
3. **rerun** with nothing changed: its time, and the commands it sent (must be 0);
4. **a day of changes**: 1% leavers, 1% transfers to another site, 2% shift changes: commands and time.

Results are printed and written to bench/out/employees-results.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

import yaml

from punchbridge.config import load_config
from punchbridge.employees import build_roster, plan_changes, run_employee_sync
from punchbridge.employees.engine import EmployeeSync
from punchbridge.plugin_api.registry import load_plugins
from punchbridge.plugin_api.targets import Batch, Employee, Outcome, Target
from punchbridge.store import Store

HERE = Path(__file__).resolve().parent
COMMAND_TOKEN = "bench-command-token"


def _serve(stgids: list[str], pipe: Connection, port: int = 0) -> None:
    """Child process: the Minop emulator with `stgids`, answering `executed` and `stop` on `pipe`."""
    from punchbridge.testing.emulators.minop import MinopEmulator, RateLimits
    from punchbridge.testing.http import serve

    emulator = MinopEmulator(limits=RateLimits.lifted(), command_token=COMMAND_TOKEN)
    for stgid in stgids:
        emulator.add_device(stgid, auth_token=f"auth-{stgid}")
    with serve(emulator.app, port=port) as server:
        pipe.send(server.url)
        while (command := pipe.recv()) != "stop":
            assert command == "executed"
            with emulator.lock:
                pipe.send(len(emulator.executed))


class BenchHrms(Target):
    """The system of record of the benchmark: `people` as they are now."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"pull_employees"})
    people: ClassVar[list[Employee]] = []

    def push(self, batch: Batch) -> list[Outcome]:
        return []

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        yield from type(self).people


def _sites(terminals: int, per_site: int) -> dict[str, list[str]]:
    sites: dict[str, list[str]] = {}
    for n in range(terminals):
        sites.setdefault(f"s{n // per_site:03d}", []).append(f"t{n:03d}")
    return sites


def _write_config(folder: Path, url: str, employees: int, sites: dict[str, list[str]], concurrency: int) -> Path:
    names = sorted(sites)
    shifts = ("general", "night", "early")
    rows = [f"{n:06d},{names[n % len(names)]},{shifts[n % 3]}\n" for n in range(employees)]
    (folder / "employees.csv").write_text("employee_id,site,shift\n" + "".join(rows))
    (folder / "mapping.yaml").write_text("fields:\n  - {name: employee, from: employee_id}\n")
    config = {
        "store": f"sqlite:///{folder / 'store.db'}",
        "employees": "employees.csv",
        "sites": {name: {"timezone": "Asia/Kolkata"} for name in names},
        "shifts": {
            "general": {"start": "09:00", "end": "18:00"},
            "night": {"start": "22:00", "end": "06:00"},
            "early": {"start": "06:00", "end": "14:00"},
        },
        "targets": {"hrms": {"plugin": "bench_hrms", "mapping": "mapping.yaml"}},
        "minop": {"base_url": url, "api_token": COMMAND_TOKEN},
        "devices": {t: {"site": s, "auth_token": f"auth-{t}"} for s, ts in sites.items() for t in ts},
        "employee_sync": {
            "source": "hrms",
            "user_id": {"through": "none"},
            "max_delete_share": 0.5,
            "concurrency": concurrency,
        },
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _people(employees: int) -> list[Employee]:
    return [Employee(f"{n:06d}", f"Person {n:06d}", department=f"D{n % 20}") for n in range(employees)]


def _timed_run(config_path: Path, registry: Any, pipe: Connection) -> dict[str, Any]:
    config, document = load_config(config_path)
    pipe.send("executed")
    before = pipe.recv()
    with Store.open(config.store) as store:
        start = time.perf_counter()
        report = run_employee_sync(config, document, registry, store)
        seconds = time.perf_counter() - start
    pipe.send("executed")
    executed = pipe.recv() - before
    sent = report.total("sent")
    return {
        "seconds": round(seconds, 3),
        "commands": report.total("commands"),
        "sent": sent,
        "executed_by_emulator": executed,
        "commands_per_second": round(sent / seconds, 1) if seconds and sent else 0.0,
        "adds": report.total("adds"),
        "updates": report.total("updates"),
        "deletes": report.total("deletes"),
        "failed": report.failed,
    }


def _plan_seconds(config_path: Path, registry: Any) -> tuple[float, int]:
    """Best of 3 of the pure planning (roster and diff) against the store's current ledger."""
    config, document = load_config(config_path)
    with Store.open(config.store) as store:
        sync = EmployeeSync(config, document, registry, store)
        held = store.terminal_users()
        people = list(BenchHrms.people)
        best, commands = float("inf"), 0
        for _ in range(3):
            start = time.perf_counter()
            roster = build_roster(people, sync.settings, ids=None, staff=sync.staff, sites=config.sites,
                                  shifts=config.shifts, devices=sync.devices)  # fmt: skip
            plan = plan_changes(roster, held, sync.devices, lineage="bench")
            best = min(best, time.perf_counter() - start)
            commands = len(plan.commands)
    return best, commands


def _a_day_of_changes(config_path: Path, employees: int, sites: dict[str, list[str]]) -> None:
    """1% leavers, 1% transfers, 2% shift changes (in the employees file)."""
    names = sorted(sites)
    path = config_path.parent / "employees.csv"
    lines = path.read_text().splitlines()
    for n in range(0, employees, 100):  # 1%: transfer to the next site
        user, site, shift = lines[n + 1].split(",")
        lines[n + 1] = f"{user},{names[(names.index(site) + 1) % len(names)]},{shift}"
    for n in range(50, employees, 50):  # 2%: another shift
        user, site, shift = lines[n + 1].split(",")
        lines[n + 1] = f"{user},{site},{'night' if shift != 'night' else 'general'}"
    path.write_text("\n".join(lines) + "\n")
    BenchHrms.people = [e for e in BenchHrms.people if int(e.target_id) % 100 != 7]  # 1% leave


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--terminals", type=int, default=100)
    parser.add_argument("--per-site", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=0, help="Serve the emulator on this port (default: a free one).")
    args = parser.parse_args()

    sites = _sites(args.terminals, args.per_site)
    stgids = [t for ts in sites.values() for t in ts]
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(stgids, child, args.port), daemon=True)
    server.start()
    url = parent.recv()
    registry = load_plugins()
    registry.targets["bench_hrms"] = BenchHrms
    BenchHrms.people = _people(args.employees)
    results: dict[str, Any] = {
        "employees": args.employees,
        "terminals": args.terminals,
        "per_site": args.per_site,
        "concurrency": args.concurrency,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    try:
        with tempfile.TemporaryDirectory() as folder:
            config_path = _write_config(Path(folder), url, args.employees, sites, args.concurrency)
            results["plan_seconds"], results["planned_commands"] = _plan_seconds(config_path, registry)
            results["first_run"] = _timed_run(config_path, registry, parent)
            results["rerun_plan_seconds"], _ = _plan_seconds(config_path, registry)
            results["rerun"] = _timed_run(config_path, registry, parent)
            _a_day_of_changes(config_path, args.employees, sites)
            results["changes"] = _timed_run(config_path, registry, parent)
    finally:
        parent.send("stop")
        server.join(10)
    print(json.dumps(results, indent=2))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "employees-results.json").write_text(json.dumps(results, indent=2) + "\n")
    ok = results["rerun"]["commands"] == 0 and not results["first_run"]["failed"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
