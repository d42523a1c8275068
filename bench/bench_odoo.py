"""Benchmark the `odoo` target: 100,000 processed days pushed to the Odoo emulator over real HTTP.

    python bench/bench_odoo.py [--employees 1000] [--days 100] [--protocols xmlrpc,jsonrpc,json2]

For each protocol, a fresh emulator (Odoo 17 for XML-RPC and JSON-RPC, Odoo 19 for JSON-2, no rate
limit) runs in a child process on loopback, so client and server do not share one interpreter. The
target pushes employees x days records (one check-in/check-out interval each) in the batches the
sync engine would make (per calendar month, at most `max_batch_size` records), then pushes the same
batches again (the crash-resend case: dedup must make it write nothing).

Printed per protocol: records per second, and the requests per 1,000 records on a clean run (the
target's budget is 2: one search_read and one create per batch of 1,000), plus the requests made
once per run (version, login, the employee directory).
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
from punchbridge.plugins.odoo import OdooTarget

HERE = Path(__file__).resolve().parent
SITE = timezone(timedelta(hours=5, minutes=30))
FIRST_DAY = date(2025, 1, 1)
VERSION = {"xmlrpc": "17.0", "jsonrpc": "17.0", "json2": "19.0"}


def _serve(version: str, employees: int, pipe: Connection, port: int = 0) -> None:
    """Child process: the emulator with `employees` seeded, answering `stats` and `stop` on `pipe`."""
    from punchbridge.testing.emulators.odoo import OdooEmulator
    from punchbridge.testing.http import serve

    emulator = OdooEmulator(version)
    emulator.seed_employees(Employee(target_id=f"E{n:05d}", name=f"Person {n:05d}") for n in range(employees))
    with serve(emulator.app, port=port) as server:
        pipe.send({"url": server.url, "database": emulator.database, "login": emulator.login, "key": emulator.api_key})
        while (command := pipe.recv()) != "stop":
            assert command == "stats"
            with emulator.lock:
                pipe.send({"requests": emulator.request_count, "deliveries": emulator.deliveries})


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
    """The engine's batching: per calendar month, in chunks of `size`."""
    months: dict[date, list[Record]] = {}
    for record in records:
        months.setdefault(date.fromisoformat(record.key.split("|")[1]).replace(day=1), []).append(record)
    sequence = 0
    for month, chunk_source in sorted(months.items()):
        last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        for start in range(0, len(chunk_source), size):
            sequence += 1
            chunk = chunk_source[start : start + size]
            yield Batch("odoo", sequence, month, last, sequence, chunk, ("employee", "check_in", "check_out"))


def _run(protocol: str, employees: int, days: int, port: int = 0) -> dict[str, Any]:
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(VERSION[protocol], employees, child, port), daemon=True)
    server.start()
    try:
        where = parent.recv()

        def stats() -> dict[str, int]:
            parent.send("stats")
            answer: dict[str, int] = parent.recv()
            return answer

        settings = {
            "url": where["url"],
            "database": where["database"],
            "login": where["login"],
            "api_key": where["key"],
            "protocol": protocol,
            "employee_by": "barcode",
            "timezone": "Asia/Kolkata",
            "timeout": 120,
        }
        records = _records(employees, days)
        batches = list(_batches(records, OdooTarget.max_batch_size))
        target = OdooTarget("bench", settings)
        before_open = stats()["requests"]
        started = time.perf_counter()
        target.open()
        opened = stats()["requests"]
        for batch in batches:
            refused = [o for o in target.push(batch) if not o.ok]
            if refused:
                raise SystemExit(f"{protocol}: Odoo refused {len(refused)} records, e.g. {refused[0]}")
        seconds = time.perf_counter() - started
        pushed = stats()
        resend_started = time.perf_counter()
        for batch in batches:
            target.push(batch)
        resend_seconds = time.perf_counter() - resend_started
        resent = stats()
        target.close()
        if pushed["deliveries"] != len(records) or resent["deliveries"] != len(records):
            raise SystemExit(
                f"{protocol}: {pushed['deliveries']} deliveries for {len(records)} records, then "
                f"{resent['deliveries']} after the resend"
            )
        total = pushed["requests"] - before_open
        per_run = opened - before_open + 1  # version and login, plus the employee directory at the first push
        return {
            "protocol": protocol,
            "records": len(records),
            "batches": len(batches),
            "seconds": round(seconds, 2),
            "records_per_second": round(len(records) / seconds),
            "requests": total,
            "requests_per_1000": round(total * 1000 / len(records), 3),
            "batch_requests_per_1000": round((total - per_run) * 1000 / len(records), 3),
            "per_run_requests": per_run,
            "resend_seconds": round(resend_seconds, 2),
            "resend_requests": resent["requests"] - pushed["requests"],
        }
    finally:
        parent.send("stop")
        server.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--protocols", default="xmlrpc,jsonrpc,json2")
    parser.add_argument("--port", type=int, default=0, help="Serve the emulator on this port (default: a free one).")
    args = parser.parse_args()
    results = [_run(p.strip(), args.employees, args.days, args.port) for p in args.protocols.split(",") if p.strip()]
    header = (
        f"{'protocol':<9} {'records':>8} {'seconds':>8} {'records/s':>10} {'req/1000':>9} {'per batch':>10} "
        f"{'per run':>8} {'resend s':>9} {'resend req':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['protocol']:<9} {r['records']:>8,} {r['seconds']:>8.1f} {r['records_per_second']:>10,} "
            f"{r['requests_per_1000']:>9.2f} {r['batch_requests_per_1000']:>10.2f} {r['per_run_requests']:>8} "
            f"{r['resend_seconds']:>9.1f} {r['resend_requests']:>11}"
        )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "odoo-results.json").write_text(json.dumps(results, indent=2))
    if any(r["batch_requests_per_1000"] > 2 for r in results):
        sys.exit("more than 2 requests per 1,000 records on a clean run")


if __name__ == "__main__":
    main()
