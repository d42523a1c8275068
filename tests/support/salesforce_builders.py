"""Builders for the Salesforce tests: records and batches as the engine hands them over, a bare API client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx

from punchbridge.plugin_api import Batch, Employee, Record
from punchbridge.testing.emulators.salesforce import SalesforceEmulator

#: The mapping's columns in the target's tests: Attendance_Day__c field API names.
COLUMNS = ("Employee_Id__c", "Work_Date__c", "Status__c", "Worked_Minutes__c", "First_In__c", "Last_Out__c")
VERSION = "62.0"
DATA = f"/services/data/v{VERSION}"
UPSERT = f"{DATA}/composite/sobjects/Attendance_Day__c/Punchbridge_Key__c"

STAFF = [
    Employee("T-1", "Asha Rao", email="asha@acme.example", department="Operations", badge="B-1",
             modified_at=datetime(2025, 1, 6, 8, tzinfo=UTC)),
    Employee("T-2", "Ben Okafor", email="ben@acme.example", department="Support",
             modified_at=datetime(2025, 1, 6, 8, tzinfo=UTC)),
    Employee("T-3", "Chen Wei", email="chen@acme.example", modified_at=datetime(2025, 6, 2, 8, tzinfo=UTC)),
    Employee("T-4", "Dana O'Neil", active=False, modified_at=datetime(2025, 6, 2, 8, tzinfo=UTC)),
]  # fmt: skip


def day_record(employee: str, day: str, minutes: float = 540, **overrides: Any) -> Record:
    """One processed day of `employee` (a target id), as the mapping gives it."""
    fields: dict[str, Any] = {
        "Employee_Id__c": employee,
        "Work_Date__c": day,
        "Status__c": "present",
        "Worked_Minutes__c": minutes,
        "First_In__c": f"{day}T09:02:00+05:30",
        "Last_Out__c": f"{day}T18:12:00+05:30",
    }
    fields.update(overrides)
    terminal = employee.replace("T-", "E")
    return Record(f"{terminal}|{day}|day", fields, f"hash-{employee}-{day}-{minutes}")


def batch_of(records: Sequence[Record], *, batch_id: int = 1, columns: Sequence[str] = COLUMNS) -> Batch:
    """A batch of `records` for October 2025."""
    return Batch(
        "salesforce", batch_id, date(2025, 10, 1), date(2025, 10, 31), batch_id, tuple(records), tuple(columns)
    )


@dataclass
class SalesforceApiClient:
    """A raw client of the emulator with a session, for tests of what the emulator accepts and refuses."""

    http: httpx.Client
    emulator: SalesforceEmulator
    token: str = field(default="")

    def __post_init__(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.emulator.client_id,
            "client_secret": self.emulator.client_secret,
        }
        self.token = self.http.post("/services/oauth2/token", data=form).json()["access_token"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call with the session's bearer token."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def upsert(self, records: list[dict[str, Any]], **body: Any) -> httpx.Response:
        """PATCH an sObject Collections upsert of Attendance_Day__c by Punchbridge_Key__c."""
        payload = {"allOrNone": False, "records": [{"attributes": {"type": "Attendance_Day__c"}, **r} for r in records]}
        return self.request("PATCH", UPSERT, json={**payload, **body})

    def query(self, soql: str, **kwargs: Any) -> httpx.Response:
        """GET a SOQL query."""
        return self.request("GET", f"{DATA}/query", params={"q": soql}, **kwargs)


def attendance(key: str, employee: str = "T-1", day: str = "2025-10-06", **fields: Any) -> dict[str, Any]:
    """An Attendance_Day__c record for a raw upsert."""
    return {"Punchbridge_Key__c": key, "Employee_Id__c": employee, "Work_Date__c": day, **fields}
