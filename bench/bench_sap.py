"""Benchmark the `sap_successfactors` target: 100,000 processed days upserted into the SuccessFactors emulator.

    python bench/bench_sap.py [--employees 1000] [--days 100] [--modes external_time_data,time_events]

For each mode, a fresh emulator (`SapLimits.lifted()`: SAP's per-call sizes, no throttling, tokens
that outlive the run) runs in a child process on loopback, so client and server do not share one
interpreter. The target pushes employees x days records in the batches the sync engine makes (per
calendar month, at most `max_batch_size` = 1,000 records), then pushes the same batches again (the
crash-resend case: the upsert by `externalCode` must leave SuccessFactors as it was).

- `external_time_data`: one ExternalTimeData record per day (check-in, check-out, hours).
- `time_events`: each day `start/end;start/end` (a lunch break), so four clock events a day.

Printed per mode: records per second, HTTP requests per 1,000 records (token, CSRF fetch and
upserts, all counted by the emulator), the payloads SuccessFactors received, and the resend. The
signing key and certificate are generated for the run and deleted with its temporary folder.
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

from punchbridge.plugin_api import Batch, Employee, Record
from punchbridge.plugins.sap.successfactors import SuccessFactorsTarget
from punchbridge.testing.emulators.sap import TestCredentials, make_credentials

HERE = Path(__file__).resolve().parent
SITE = timezone(timedelta(hours=5, minutes=30))
FIRST_DAY = date(2025, 1, 1)
COLUMNS = {
    "external_time_data": ("employee", "check_in", "check_out", "hours"),
    "time_events": ("employee", "intervals"),
}


def _serve(credentials: TestCredentials, employees: int, pipe: Connection, port: int = 0) -> None:
    """Child process: the emulator with `employees` seeded, answering `stats` and `stop` on `pipe`."""
    from punchbridge.testing.emulators.sap import SapEmulator, SapLimits
    from punchbridge.testing.emulators.zoho import NoDelayHttp
    from punchbridge.testing.http import serve

    emulator = SapEmulator(credentials=credentials, limits=SapLimits.lifted(), timezone="Asia/Kolkata")
    emulator.seed_employees(Employee(f"E{n:05d}", f"Person {n:05d}") for n in range(employees))
    with serve(emulator.app, http=NoDelayHttp, port=port) as server:
        pipe.send({"url": server.url, "company": emulator.company_id, "client": emulator.client_id})
        while (command := pipe.recv()) != "stop":
            assert command == "stats"
            with emulator.lock:
                pipe.send(
                    {
                        "requests": emulator.requests,
                        "deliveries": emulator.deliveries,
                        "received": emulator.records_received,
                        "held": len(emulator.time_data()) + len(emulator.events()),
                    }
                )


def _records(employees: int, days: int, mode: str) -> list[Record]:
    records = []
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        for n in range(employees):
            start = datetime(day.year, day.month, day.day, 8 + n % 3, (7 * n) % 60, tzinfo=SITE)
            end = start + timedelta(hours=8, minutes=(13 * n + offset) % 90)
            if mode == "time_events":
                lunch = start + timedelta(hours=4)
                back = lunch + timedelta(minutes=30)
                fields: dict[str, Any] = {
                    "employee": f"E{n:05d}",
                    "intervals": f"{start.isoformat()}/{lunch.isoformat()};{back.isoformat()}/{end.isoformat()}",
                }
            else:
                hours = round((end - start).total_seconds() / 3600, 2)
                fields = {"employee": f"E{n:05d}", "check_in": start.isoformat(), "check_out": end.isoformat(),
                          "hours": hours}  # fmt: skip
            records.append(Record(f"T{n:05d}|{day.isoformat()}|day", fields, f"{n}-{offset}"))
    return records


def _batches(records: list[Record], size: int, columns: tuple[str, ...]) -> Iterator[Batch]:
    """The engine's batching: per calendar month, in chunks of `size`."""
    months: dict[date, list[Record]] = {}
    for record in records:
        months.setdefault(date.fromisoformat(record.key.split("|")[1]).replace(day=1), []).append(record)
    sequence = 0
    for month, chunk_source in sorted(months.items()):
        last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        for start in range(0, len(chunk_source), size):
            sequence += 1
            yield Batch("sap", sequence, month, last, sequence, chunk_source[start : start + size], columns)


def _run(
    mode: str, employees: int, days: int, credentials: TestCredentials, keys: Path, port: int = 0
) -> dict[str, Any]:
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(credentials, employees, child, port), daemon=True)
    server.start()
    try:
        where = parent.recv()

        def stats() -> dict[str, int]:
            parent.send("stats")
            answer: dict[str, int] = parent.recv()
            return answer

        settings = {
            "api_server": where["url"],
            "company_id": where["company"],
            "client_id": where["client"],
            "user_id": "sfapi",
            **credentials.write(keys),
            "time_type": "ATTENDANCE",
            "timezone": "Asia/Kolkata",
            "send": mode,
            "timeout": 120,
        }
        records = _records(employees, days, mode)
        batches = list(_batches(records, SuccessFactorsTarget.max_batch_size, COLUMNS[mode]))
        target = SuccessFactorsTarget("bench", settings)
        before = stats()
        started = time.perf_counter()
        for batch in batches:
            refused = [o for o in target.push(batch) if not o.ok]
            if refused:
                raise SystemExit(f"{mode}: SuccessFactors refused {len(refused)} records, e.g. {refused[0]}")
        seconds = time.perf_counter() - started
        pushed = stats()
        resend_started = time.perf_counter()
        for batch in batches:
            target.push(batch)
        resend_seconds = time.perf_counter() - resend_started
        resent = stats()
        target.close()
        if resent["deliveries"] != pushed["deliveries"] or resent["held"] != pushed["held"]:
            raise SystemExit(f"{mode}: the resend changed SuccessFactors: {pushed} -> {resent}")
        requests = pushed["requests"] - before["requests"]
        return {
            "mode": mode,
            "records": len(records),
            "batches": len(batches),
            "seconds": round(seconds, 2),
            "records_per_second": round(len(records) / seconds),
            "requests": requests,
            "requests_per_1000": round(requests * 1000 / len(records), 3),
            "payloads": pushed["received"] - before["received"],
            "held": pushed["held"],
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
    parser.add_argument("--modes", default="external_time_data,time_events")
    parser.add_argument("--port", type=int, default=0, help="Serve the emulator on this port (default: a free one).")
    args = parser.parse_args()
    credentials = make_credentials("punchbridge-bench")
    with tempfile.TemporaryDirectory(prefix="punchbridge-bench-sap-") as folder:
        results = [
            _run(mode.strip(), args.employees, args.days, credentials, Path(folder), args.port)
            for mode in args.modes.split(",")
            if mode.strip()
        ]
    header = (
        f"{'mode':<19} {'records':>8} {'seconds':>8} {'records/s':>10} {'req/1000':>9} {'payloads':>9} "
        f"{'resend s':>9} {'resend req':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['mode']:<19} {r['records']:>8,} {r['seconds']:>8.1f} {r['records_per_second']:>10,} "
            f"{r['requests_per_1000']:>9.2f} {r['payloads']:>9,} {r['resend_seconds']:>9.1f} {r['resend_requests']:>11}"
        )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "sap-results.json").write_text(json.dumps(results, indent=2))
    if any(r["requests_per_1000"] > 6 for r in results):
        sys.exit("more than 6 requests per 1,000 records")


if __name__ == "__main__":
    main()
