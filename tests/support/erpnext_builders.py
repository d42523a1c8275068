"""Builders for the ERPNext tests: records and batches as the engine hands them over, raw calls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx

from punchbridge.plugin_api import Batch, Employee, Record
from punchbridge.testing.emulators.erpnext import HRMS_METHOD

COLUMNS = ("employee", "check_in", "check_out")
INTERVALS = ("employee", "intervals")
ADD_LOG = f"/api/method/{HRMS_METHOD}"

STAFF = [
    Employee("T-1", "Asha Rao", email="asha@acme.example", department="Operations",
             modified_at=datetime(2025, 1, 6, 8, tzinfo=UTC)),
    Employee("T-2", "Ben Okafor", email="ben@acme.example", modified_at=datetime(2025, 1, 6, 8, tzinfo=UTC)),
    Employee("T-3", "Chen Wei", modified_at=datetime(2025, 6, 2, 8, tzinfo=UTC)),
    Employee("T-4", "Dana Iyer", active=False, modified_at=datetime(2025, 6, 2, 8, tzinfo=UTC)),
]  # fmt: skip


def day_record(employee: str, day: str, check_in: str | None = "09:02", check_out: str | None = "18:12") -> Record:
    """One processed day of `employee` (first in, last out) with local times in India."""
    fields: dict[str, Any] = {
        "employee": employee,
        "check_in": f"{day}T{check_in}:00+05:30" if check_in else "",
        "check_out": f"{day}T{check_out}:00+05:30" if check_out else "",
    }
    return Record(f"{employee.replace('T-', 'E')}|{day}|day", fields, f"hash-{employee}-{day}-{check_in}-{check_out}")


def intervals_record(employee: str, day: str, intervals: str) -> Record:
    """One processed day with every interval (`start/end;start/`)."""
    return Record(f"{employee.replace('T-', 'E')}|{day}|day", {"employee": employee, "intervals": intervals}, "h")


def batch_of(records: Sequence[Record], *, batch_id: int = 1, columns: Sequence[str] = COLUMNS) -> Batch:
    """A batch of `records` for October 2025."""
    return Batch("erpnext", batch_id, date(2025, 10, 1), date(2025, 10, 31), batch_id, tuple(records), tuple(columns))


def add_log(site: httpx.Client, value: str, timestamp: str, log_type: str = "IN", **extra: str) -> httpx.Response:
    """POST add_log_based_on_employee_field as a biometric device would."""
    form = {"employee_field_value": value, "timestamp": timestamp, "log_type": log_type, "device_id": "GATE"}
    return site.post(ADD_LOG, data={**form, **extra})


def messages(response: httpx.Response) -> list[str]:
    """The messages in a Frappe error reply's `_server_messages` (JSON in JSON)."""
    return [json.loads(item)["message"] for item in json.loads(response.json()["_server_messages"])]


def listing(site: httpx.Client, doctype: str, **params: Any) -> httpx.Response:
    """GET /api/resource/{doctype} with JSON-encoded `fields` and `filters`."""
    encoded = {k: json.dumps(v) if k in ("fields", "filters") else v for k, v in params.items()}
    return site.get(f"/api/resource/{doctype}", params=encoded)
