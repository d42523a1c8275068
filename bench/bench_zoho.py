"""Benchmark the `zoho_people` target against the Zoho People emulator over real loopback HTTP.

    python bench/bench_zoho.py [--records 100000] [--employees 1000] [--concurrency 4]
                               [--backfill-employees 200] [--backfill-days 30] [--scale 0]

1. Throughput, limits lifted: `--records` processed days (first in, last out: two punches each) pushed
   in engine-sized batches of 500 through `bulkImport` (200 punches a call), the emulator's
   per-minute, daily and token limits lifted and the plugin's pacing raised to match. Reports
   records per second and HTTP requests per 1,000 records (token requests included).
2. Backfill at Zoho's real limits: a month for 200 employees with the default settings (50 punches a
   call, 10 bulkImport calls a minute). The emulator and the plugin share one clock: a simulated one
   by default (waiting moves it; nothing sleeps), or with `--scale N` real time running N times faster
   (so network latency counts too). Reports calls, simulated duration, the plan the plugin makes
   beforehand, and the locks the emulator started (must be 0).

Results go to bench/out/zoho-results.json as well.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from punchbridge.plugin_api import Batch, Employee, Record
from punchbridge.plugins.zoho_people import ZohoPeopleTarget, clear_token_cache
from punchbridge.testing.emulators.zoho import ManualClock, NoDelayHttp, ScaledClock, ZohoEmulator, ZohoLimits
from punchbridge.testing.http import serve

HERE = Path(__file__).resolve().parent
ENGINE_BATCH = ZohoPeopleTarget.max_batch_size
COLUMNS = ("employee", "check_in", "check_out")


def _days(employees: int, days: int, first: date) -> list[Record]:
    """One first-in/last-out record per employee and day, in the engine's order (by date, then employee)."""
    records = []
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        for number in range(employees):
            minute = number % 30
            fields = {
                "employee": f"T-{number:05d}",
                "check_in": f"{day}T08:{minute:02d}:00+05:30",
                "check_out": f"{day}T17:{minute:02d}:30+05:30",
            }
            records.append(Record(f"E{number:05d}|{day}|day", fields, f"{number}|{day}"))
    return records


def _push_all(target: ZohoPeopleTarget, records: list[Record]) -> int:
    """Push `records` in engine-sized batches; the number of records Zoho refused."""
    refused = 0
    for number, start in enumerate(range(0, len(records), ENGINE_BATCH), start=1):
        chunk = records[start : start + ENGINE_BATCH]
        batch = Batch("zoho", number, date(2025, 1, 1), date(2025, 12, 31), number, tuple(chunk), COLUMNS)
        refused += sum(not outcome.ok for outcome in target.push(batch))
    return refused


def _emulator(employees: int, clock: Callable[[], float], limits: ZohoLimits) -> ZohoEmulator:
    emulator = ZohoEmulator(clock=clock, limits=limits)
    emulator.seed_employees(Employee(f"T-{n:05d}", f"Person {n:05d}") for n in range(employees))
    return emulator


def throughput(records: int, employees: int, concurrency: int, folder: Path, port: int = 0) -> dict[str, Any]:
    """Part 1: limits lifted, real time."""
    days = -(-records // employees)
    load = _days(employees, days, date(2025, 1, 1))[:records]
    emulator = _emulator(employees, time.time, ZohoLimits.lifted())
    with serve(emulator.app, http=NoDelayHttp, port=port) as server:
        settings = emulator.plugin_settings(
            server.url,
            state_file=folder / "throughput.sqlite3",
            punches_per_call=200,
            concurrency=concurrency,
            bulk_import_per_minute=10_000_000,
            daily_call_limit=10_000_000,
        )
        target = ZohoPeopleTarget("zoho", settings)
        started = time.perf_counter()
        refused = _push_all(target, load)
        elapsed = time.perf_counter() - started
        target.close()
    requests = sum(emulator.calls.values()) + emulator.tokens_minted
    return {
        "records": len(load),
        "punches": emulator.punches_written,
        "refused": refused,
        "seconds": round(elapsed, 2),
        "records_per_second": round(len(load) / elapsed),
        "requests": requests,
        "requests_per_1000_records": round(requests * 1000 / len(load), 2),
        "duplicate_punches": emulator.duplicate_punches,
        "concurrency": concurrency,
    }


def backfill(employees: int, days: int, scale: float, folder: Path, port: int = 0) -> dict[str, Any]:
    """Part 2: Zoho's real limits, on a shared simulated (or scaled) clock."""
    clock: ManualClock | ScaledClock = ManualClock() if scale <= 0 else ScaledClock(scale)
    load = _days(employees, days, date(2025, 1, 1))
    emulator = _emulator(employees, clock, ZohoLimits())
    with serve(emulator.app, http=NoDelayHttp, port=port) as server:
        settings = emulator.plugin_settings(server.url, state_file=folder / "backfill.sqlite3")
        target = ZohoPeopleTarget("zoho", settings, clock=clock, sleep=clock.sleep)
        plan = target.plan_backfill(len(load))
        simulated_start, real_start = clock(), time.perf_counter()
        refused = _push_all(target, load)
        simulated = clock() - simulated_start
        real = time.perf_counter() - real_start
        target.close()
    return {
        "records": len(load),
        "refused": refused,
        "plan": plan.describe(),
        "bulk_import_calls": emulator.calls["bulkImport"],
        "all_api_calls": sum(emulator.calls.values()),
        "simulated_minutes": round(simulated / 60, 1),
        "real_seconds": round(real, 1),
        "clock": "simulated" if scale <= 0 else f"{scale:g}x real time",
        "locks": emulator.locks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--backfill-employees", type=int, default=200)
    parser.add_argument("--backfill-days", type=int, default=30)
    parser.add_argument("--scale", type=float, default=0.0, help="0: simulated clock; N: real time N times faster")
    parser.add_argument("--port", type=int, default=0, help="Serve the emulator on this port (default: a free one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        clear_token_cache()
        fast = throughput(args.records, args.employees, args.concurrency, Path(scratch), args.port)
        clear_token_cache()
        slow = backfill(args.backfill_employees, args.backfill_days, args.scale, Path(scratch), args.port)
    rows = [
        ("1. throughput, limits lifted", ""),
        ("records pushed", f"{fast['records']:,} ({fast['punches']:,} punches, {fast['refused']} refused)"),
        ("wall time", f"{fast['seconds']} s"),
        ("records per second", f"{fast['records_per_second']:,}"),
        ("HTTP requests per 1,000 records", f"{fast['requests_per_1000_records']}"),
        ("duplicate punches in Zoho", f"{fast['duplicate_punches']}"),
        ("2. backfill at Zoho's limits", ""),
        ("records", f"{slow['records']:,} ({args.backfill_employees} employees x {args.backfill_days} days)"),
        ("plan said", slow["plan"]),
        ("bulkImport calls (all API calls)", f"{slow['bulk_import_calls']} ({slow['all_api_calls']})"),
        ("Zoho time taken", f"{slow['simulated_minutes']} min ({slow['clock']}; {slow['real_seconds']} s real)"),
        ("locks set off", f"{slow['locks']}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}" if value else f"\n{name}")
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "zoho-results.json").write_text(json.dumps({"throughput": fast, "backfill": slow}, indent=2))
    if slow["locks"]:
        raise SystemExit("the backfill set off a Zoho lock: the pacing is wrong")


if __name__ == "__main__":
    main()
