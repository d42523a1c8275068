"""Benchmark the `erpnext` target: 100,000 processed days sent to the ERPNext emulator as check-ins over real HTTP.

    python bench/bench_erpnext.py [--employees 1000] [--days 100] [--concurrency 8]
                                  [--latency-ms 20] [--sample-days 5] [--sample-concurrency 1,4,8]

The emulator (Frappe HR 15, no throttling) runs in a child process on loopback, so client and server
do not share one interpreter. ERPNext's API creates one check-in per call, so a clean run costs about
2,000 add_log calls per 1,000 days plus a few listings (the employee directory once a run, one
Employee Checkin listing per batch).

1. Throughput: employees x days records (first in, last out: two punches each, so 200,000 check-ins
   by default) pushed in the batches the sync engine makes (per calendar month, at most
   `max_batch_size` = 500) at `--concurrency`, the emulator answering at once; then the same batches
   again (the crash-resend case: the dedup read must make it send nothing). On loopback this measures
   the plugin's own cost per punch (httpx's, mostly).
2. Concurrency: a sample (employees x `--sample-days`) against an emulator that takes `--latency-ms`
   per add_log call, as a real site's validation and database insert do, at each
   `--sample-concurrency`: how much the thread pool buys when the site, not the client, is slow.

Results go to bench/out/erpnext-results.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from punchbridge.plugin_api import Batch, Employee, Record
from punchbridge.plugins.erpnext import ErpNextTarget

HERE = Path(__file__).resolve().parent
SITE = timezone(timedelta(hours=5, minutes=30))
FIRST_DAY = date(2025, 1, 1)
COLUMNS = ("employee", "check_in", "check_out")


def _serve(employees: int, latency: float, pipe: Connection, port: int = 0) -> None:
    """Child process: the emulator with `employees` seeded, answering `stats` and `stop` on `pipe`."""
    from punchbridge.testing.emulators.erpnext import ErpNextEmulator
    from punchbridge.testing.emulators.zoho import NoDelayHttp
    from punchbridge.testing.http import serve

    emulator = ErpNextEmulator(version=15, timezone="Asia/Kolkata", latency=latency)
    emulator.seed_employees(Employee(f"E{n:05d}", f"Person {n:05d}") for n in range(employees))
    with serve(emulator.app, http=NoDelayHttp, port=port) as server:
        pipe.send({"settings": emulator.plugin_settings(server.url)})
        while (command := pipe.recv()) != "stop":
            assert command == "stats"
            pipe.send({"requests": emulator.requests, "held": len(emulator.checkins()), **emulator.calls})


def _records(employees: int, days: int) -> list[Record]:
    records = []
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        for n in range(employees):
            start = datetime(day.year, day.month, day.day, 8 + n % 3, (7 * n) % 60, tzinfo=SITE)
            end = start + timedelta(hours=8, minutes=(13 * n + offset) % 90)
            fields = {"employee": f"E{n:05d}", "check_in": start.isoformat(), "check_out": end.isoformat()}
            records.append(Record(f"T{n:05d}|{day.isoformat()}|day", fields, f"{n}-{offset}"))
    return records


def _batches(records: list[Record], size: int) -> Iterator[Batch]:
    """The engine's batching: per calendar month (records in key order), in chunks of `size`."""
    months: dict[date, list[Record]] = {}
    for record in sorted(records, key=lambda r: r.key):
        months.setdefault(date.fromisoformat(record.key.split("|")[1]).replace(day=1), []).append(record)
    sequence = 0
    for month, chunk_source in sorted(months.items()):
        last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        for start in range(0, len(chunk_source), size):
            sequence += 1
            yield Batch("erpnext", sequence, month, last, sequence, chunk_source[start : start + size], COLUMNS)


def _run(concurrency: int, employees: int, days: int, latency: float = 0.0, port: int = 0) -> dict[str, Any]:
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(employees, latency, child, port), daemon=True)
    server.start()
    try:
        where = parent.recv()

        def stats() -> dict[str, int]:
            parent.send("stats")
            answer: dict[str, int] = parent.recv()
            return answer

        records = _records(employees, days)
        batches = list(_batches(records, ErpNextTarget.max_batch_size))
        target = ErpNextTarget("bench", {**where["settings"], "concurrency": concurrency, "timeout": 120})
        before = stats()["requests"]
        started = time.perf_counter()
        for batch in batches:
            refused = [o for o in target.push(batch) if not o.ok]
            if refused:
                raise SystemExit(f"ERPNext refused {len(refused)} records, e.g. {refused[0]}")
        seconds = time.perf_counter() - started
        pushed = stats()
        resend_started = time.perf_counter()
        for batch in batches:
            target.push(batch)
        resend_seconds = time.perf_counter() - resend_started
        resent = stats()
        target.close()
        if pushed["held"] != 2 * len(records) or resent["held"] != pushed["held"]:
            raise SystemExit(f"{pushed['held']} check-ins for {len(records)} days, {resent['held']} after")
        total = pushed["requests"] - before
        return {
            "latency_ms": round(latency * 1000),
            "concurrency": concurrency,
            "records": len(records),
            "checkins": pushed["held"],
            "batches": len(batches),
            "seconds": round(seconds, 2),
            "records_per_second": round(len(records) / seconds),
            "requests": total,
            "requests_per_1000": round(total * 1000 / len(records), 1),
            "listing_requests": total - pushed.get("add_log", 0),
            "resend_seconds": round(resend_seconds, 2),
            "resend_requests": resent["requests"] - pushed["requests"],
            "resend_add_log": resent.get("add_log", 0) - pushed.get("add_log", 0),
        }
    finally:
        parent.send("stop")
        server.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--concurrency", default="8")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sample-days", type=int, default=5)
    parser.add_argument("--sample-employees", type=int, default=100)
    parser.add_argument("--sample-concurrency", default="1,4,8")
    parser.add_argument("--port", type=int, default=0, help="Serve the emulator on this port (default: a free one).")
    args = parser.parse_args()
    results = [
        _run(int(c), args.employees, args.days, port=args.port) for c in args.concurrency.split(",") if c.strip()
    ]
    results += [
        _run(int(c), args.sample_employees, args.sample_days, args.latency_ms / 1000, args.port)
        for c in args.sample_concurrency.split(",")
        if c.strip() and args.sample_days > 0
    ]
    header = (
        f"{'latency':>7} {'threads':>7} {'records':>8} {'check-ins':>10} {'seconds':>8} {'records/s':>10} "
        f"{'req/1000':>9} {'listings':>9} {'resend s':>9} {'resend req':>11} {'resend add_log':>15}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{str(r['latency_ms']) + ' ms':>7} {r['concurrency']:>7} {r['records']:>8,} {r['checkins']:>10,} "
            f"{r['seconds']:>8.1f} "
            f"{r['records_per_second']:>10,} {r['requests_per_1000']:>9.1f} {r['listing_requests']:>9} "
            f"{r['resend_seconds']:>9.1f} {r['resend_requests']:>11} {r['resend_add_log']:>15}"
        )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "erpnext-results.json").write_text(json.dumps(results, indent=2))
    if any(r["resend_add_log"] for r in results):
        sys.exit("a resend sent check-ins again: the dedup read is broken")


if __name__ == "__main__":
    main()
