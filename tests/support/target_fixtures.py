"""Builders for the payroll-file target tests: batches of processed days, and SFTP target settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from punchbridge.plugin_api import Batch, Record

PERIOD_START = date(2025, 3, 1)
PERIOD_END = date(2025, 3, 31)
COLUMNS = ("employee_id", "work_date", "worked_hours", "present", "cost_centre", "note")


class LoopbackServer(Protocol):
    """What the tests use of `SftpServer` and `OpenSshServer`."""

    host: str
    port: int
    username: str
    host_key_line: str
    client_key_path: Path
    root: Path


def attendance_record(employee: str, day: int, **overrides: Any) -> Record:
    """One processed day as the mapping would hand it to a target (fields deliberately not in column order)."""
    work_date = date(2025, 3, day)
    fields: dict[str, Any] = {
        "note": "",
        "present": True,
        "worked_hours": 8.5,
        "work_date": work_date,
        "employee_id": employee,
        "cost_centre": None,
    }
    fields.update(overrides)
    key = f"{employee}|{work_date.isoformat()}|day"
    return Record(key=key, fields=fields, content_hash=f"hash-of-{key}")


def attendance_batch(
    records: Sequence[Record] | None = None, *, seq: int = 1, columns: Sequence[str] = COLUMNS
) -> Batch:
    """A batch for the March 2025 payroll period; by default three employees on 3 March."""
    if records is None:
        records = [attendance_record(employee, 3) for employee in ("E1001", "E1002", "E1003")]
    return Batch(
        target="payroll",
        batch_id=7,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        seq=seq,
        records=tuple(records),
        columns=tuple(columns),
    )


def big_batch(rows: int) -> Batch:
    """`rows` records (about 60 bytes each), for uploads that span many SFTP write requests."""
    records = [
        attendance_record(f"E{n:06d}", 1 + n % 28, note=f"row {n} of a large payroll period") for n in range(rows)
    ]
    return attendance_batch(records)


def sftp_settings(server: LoopbackServer, known_hosts: Path, **overrides: Any) -> dict[str, Any]:
    """Target settings that log in to `server` with its client key and upload to `drop`."""
    settings: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "private_key": server.client_key_path,
        "known_hosts": known_hosts,
        "folder": "drop",
        "timeout": 10,
    }
    settings.update(overrides)
    return settings
