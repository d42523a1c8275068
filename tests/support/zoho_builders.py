"""Builders for the Zoho People tests: records and batches of processed days, and raw emulator calls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import httpx

from punchbridge.plugin_api import Batch, Employee, Record
from punchbridge.testing.emulators.zoho import ZohoEmulator

STAFF = [
    Employee("T-1", "Asha Rao", email="asha@example.com", badge="101", department="Ops"),
    Employee("T-2", "Ben Okafor", email="ben@example.com", badge="102", department="Ops"),
    Employee("T-3", "Chen Li", email="chen@example.com", badge="103", department="Stores"),
    Employee("T-4", "Dana Cruz", email="dana@example.com", badge="104", department="Stores", active=False),
]
FIRST_LAST = ("employee", "check_in", "check_out")


class ZohoApi:
    """Plain calls to the emulator, as any Zoho client would make them."""

    def __init__(self, client: httpx.Client, emulator: ZohoEmulator) -> None:
        self.client, self.emulator = client, emulator
        self._token: str | None = None

    def mint(self, **overrides: str) -> httpx.Response:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.emulator.client_id,
            "client_secret": self.emulator.client_secret,
            "refresh_token": self.emulator.refresh_token,
            **overrides,
        }
        return self.client.post("/oauth/v2/token", data=form)

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.mint().json()["access_token"]
        return self._token

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {token or self.token}"}

    def bulk(self, rows: Any, date_format: str | None = "yyyy-MM-dd HH:mm:ss", **extra: Any) -> httpx.Response:
        form: dict[str, Any] = {"data": rows if isinstance(rows, str) else _json(rows), **extra}
        if date_format is not None:
            form["dateFormat"] = date_format
        return self.client.post("/people/api/attendance/bulkImport", data=form, headers=self.headers())

    def entries(self, **params: str) -> httpx.Response:
        params.setdefault("dateFormat", "yyyy-MM-dd HH:mm:ss")
        return self.client.get("/people/api/attendance/getAttendanceEntries", params=params, headers=self.headers())

    def records(self, **params: Any) -> httpx.Response:
        return self.client.get("/people/api/forms/employee/getRecords", params=params, headers=self.headers())

    def punch(self, **params: str) -> httpx.Response:
        return self.client.post("/people/api/attendance", data=params, headers=self.headers())


def _json(value: Any) -> str:
    return json.dumps(value)


def day_record(employee: str, day: str, check_in: str = "09:00", check_out: str = "18:00", **fields: Any) -> Record:
    """A first-in/last-out record for terminal user C-`employee`, Zoho empId `employee` ('' = absent)."""
    values: dict[str, Any] = {
        "employee": employee,
        "check_in": f"{day}T{check_in}:00+05:30" if check_in else "",
        "check_out": f"{day}T{check_out}:00+05:30" if check_out else "",
        **fields,
    }
    return Record(f"C-{employee}|{day}|day", values, f"hash:{sorted(values.items())}")


def intervals_record(employee: str, day: str, intervals: str) -> Record:
    """An every-pair record (`intervals` like `09:00/13:00;14:00/` on `day`, +05:30)."""
    pieces = []
    for pair in intervals.split(";"):
        start, _, end = pair.partition("/")
        pieces.append(
            f"{day}T{start}:00+05:30/" + (f"{day}T{end}:00+05:30" if end else "") if start else f"/{day}T{end}:00+05:30"
        )
    values = {"employee": employee, "intervals": ";".join(pieces)}
    return Record(f"C-{employee}|{day}|day", values, f"hash:{intervals}")


def batch_of(records: Sequence[Record], columns: Sequence[str] = FIRST_LAST, batch_id: int = 1) -> Batch:
    """A batch for October 2025."""
    return Batch("zoho", batch_id, date(2025, 10, 1), date(2025, 10, 31), batch_id, tuple(records), tuple(columns))
