"""Benchmark the `salesforce` target: 100,000 processed days upserted into the Salesforce emulator over real HTTP.

    python bench/bench_salesforce.py [--employees 1000] [--days 100] [--modes collections,bulk]

The emulator (daily API limit lifted; 200 records per collection and Bulk API 2.0's job rules kept)
runs in a child process on loopback, so client and server do not share one interpreter. The target
logs in with the JWT bearer flow (a key pair made for the run) and pushes employees x days records in
the batches the sync engine makes (per calendar month, at most `max_batch_size` = 10,000), then pushes
the same batches again (the crash-resend case: upsert by external id must add no record).

Modes: `collections` (sObject Collections, 200 records a call, 4 calls at once: `bulk_threshold` set
above the batch size) and `bulk` (one Bulk API 2.0 ingest job per batch of 2,000 or more, the
default threshold, smaller batches through Collections; polled every 0.05 s here, since the emulator
finishes a job at once).

Printed per mode: records per second, and API requests per 1,000 records (the token request is not
an API request; describe, once a run, is counted). Results go to bench/out/salesforce-results.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from punchbridge.plugin_api import Batch, Record
from punchbridge.plugins.salesforce import SalesforceTarget

HERE = Path(__file__).resolve().parent
SITE = timezone(timedelta(hours=5, minutes=30))
FIRST_DAY = date(2025, 1, 1)
COLUMNS = ("Employee_Id__c", "Work_Date__c", "Status__c", "Worked_Minutes__c", "First_In__c", "Last_Out__c")


def _serve(certificate: bytes, pipe: Connection, port: int = 0) -> None:
    """Child process: the emulator (limits lifted), answering `stats` and `stop` on `pipe`."""
    from punchbridge.testing.emulators.salesforce import SalesforceEmulator, SalesforceLimits
    from punchbridge.testing.emulators.zoho import NoDelayHttp
    from punchbridge.testing.http import serve

    emulator = SalesforceEmulator(certificate=certificate, limits=SalesforceLimits.lifted())
    with serve(emulator.app, http=NoDelayHttp, port=port) as server:
        pipe.send({"url": server.url, "client_id": emulator.client_id, "username": emulator.username})
        while (command := pipe.recv()) != "stop":
            assert command == "stats"
            pipe.send(
                {
                    "requests": emulator.api_requests,
                    "records": len(emulator.records()),
                    "deliveries": emulator.deliveries,
                    "jobs": len(emulator.jobs),
                }
            )


def _records(employees: int, days: int) -> list[Record]:
    records = []
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        for n in range(employees):
            start = datetime(day.year, day.month, day.day, 8 + n % 3, (7 * n) % 60, tzinfo=SITE)
            end = start + timedelta(hours=8, minutes=(13 * n + offset) % 90)
            fields = {
                "Employee_Id__c": f"E{n:05d}",
                "Work_Date__c": day.isoformat(),
                "Status__c": "present",
                "Worked_Minutes__c": int((end - start).total_seconds() // 60),
                "First_In__c": start.isoformat(),
                "Last_Out__c": end.isoformat(),
            }
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
            yield Batch("salesforce", sequence, month, last, sequence, chunk_source[start : start + size], COLUMNS)


def _run(mode: str, employees: int, days: int, port: int = 0) -> dict[str, Any]:
    from punchbridge.testing.emulators.salesforce import generate_jwt_key

    key_pem, certificate = generate_jwt_key("bench")
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(certificate, child, port), daemon=True)
    server.start()
    with tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "bench.key"
        key.write_bytes(key_pem)
        try:
            where = parent.recv()

            def stats() -> dict[str, int]:
                parent.send("stats")
                answer: dict[str, int] = parent.recv()
                return answer

            settings = {
                "login_url": where["url"],
                "client_id": where["client_id"],
                "username": where["username"],
                "private_key": str(key),
                "timeout": 120,
                "bulk_poll_seconds": 0.05,
                "bulk_threshold": 2000 if mode == "bulk" else 1_000_000,
            }
            records = _records(employees, days)
            batches = list(_batches(records, SalesforceTarget.max_batch_size))
            target = SalesforceTarget("bench", settings)
            started = time.perf_counter()
            for batch in batches:
                refused = [o for o in target.push(batch) if not o.ok]
                if refused:
                    raise SystemExit(f"{mode}: Salesforce refused {len(refused)} records, e.g. {refused[0]}")
            seconds = time.perf_counter() - started
            pushed = stats()
            resend_started = time.perf_counter()
            for batch in batches:
                target.push(batch)
            resend_seconds = time.perf_counter() - resend_started
            resent = stats()
            target.close()
            if pushed["records"] != len(records) or resent["records"] != len(records):
                raise SystemExit(
                    f"{mode}: {pushed['records']} records held for {len(records)}, {resent['records']} after"
                )
            return {
                "mode": mode,
                "records": len(records),
                "batches": len(batches),
                "seconds": round(seconds, 2),
                "records_per_second": round(len(records) / seconds),
                "requests": pushed["requests"],
                "requests_per_1000": round(pushed["requests"] * 1000 / len(records), 2),
                "bulk_jobs": pushed["jobs"],
                "resend_seconds": round(resend_seconds, 2),
                "resend_requests": resent["requests"] - pushed["requests"],
                "resend_new_records": resent["records"] - pushed["records"],
            }
        finally:
            parent.send("stop")
            server.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--modes", default="collections,bulk")
    parser.add_argument("--port", type=int, default=0, help="Serve the emulator on this port (default: a free one).")
    args = parser.parse_args()
    results = [_run(m.strip(), args.employees, args.days, args.port) for m in args.modes.split(",") if m.strip()]
    header = (
        f"{'mode':<12} {'records':>8} {'seconds':>8} {'records/s':>10} {'req/1000':>9} {'jobs':>5} "
        f"{'resend s':>9} {'resend req':>11} {'new on resend':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['mode']:<12} {r['records']:>8,} {r['seconds']:>8.1f} {r['records_per_second']:>10,} "
            f"{r['requests_per_1000']:>9.2f} {r['bulk_jobs']:>5} {r['resend_seconds']:>9.1f} "
            f"{r['resend_requests']:>11} {r['resend_new_records']:>14}"
        )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "salesforce-results.json").write_text(json.dumps(results, indent=2))
    if any(r["resend_new_records"] for r in results):
        sys.exit("a resend added records: upsert by external id is broken")


if __name__ == "__main__":
    main()
