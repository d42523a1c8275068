"""Builders for the SAP tests: employees, records and batches of processed days, and raw emulator calls."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from punchbridge.plugin_api import Batch, Employee, Record
from punchbridge.plugins.sap.saml import build_assertion, load_signing_key
from punchbridge.testing.emulators.sap import GRANT_TYPE, TIME_EVENTS_PATH, ManualClock, SapEmulator, TestCredentials

STAFF = [
    Employee("T-1", "Asha Rao", email="asha@example.com", department="Ops", extra={"cost_centre": "CC-OPS"}),
    Employee("T-2", "Ben Okafor", email="ben@example.com", department="Ops", extra={"cost_centre": "CC-OPS"}),
    Employee("T-3", "Chen Li", email="chen@example.com", department="Stores", extra={"cost_centre": "CC-ST"}),
    Employee("T-4", "Dana Cruz", email="dana@example.com", department="Stores", active=False),
]
FIRST_LAST = ("employee", "check_in", "check_out", "hours")
INTERVALS = ("employee", "intervals")


class SapApi:
    """Plain calls to the emulator, as any SuccessFactors client would make them."""

    def __init__(
        self, client: httpx.Client, emulator: SapEmulator, credentials: TestCredentials, clock: ManualClock
    ) -> None:
        self.client, self.emulator, self.credentials, self.clock = client, emulator, credentials, clock
        self._token: str | None = None
        self._csrf: str | None = None

    def assertion(self, credentials: TestCredentials | None = None, **overrides: Any) -> bytes:
        """A signed assertion as the plugin makes it; keyword arguments override its claims."""
        chosen = credentials or self.credentials
        key = load_signing_key(chosen.key_pem, chosen.certificate_pem)
        claims: dict[str, Any] = {
            "issuer": self.emulator.issuer,
            "user_id": self.emulator.api_user,
            "client_id": self.emulator.client_id,
            "audience": self.emulator.audience,
            "recipient": str(self.client.base_url).rstrip("/") + "/oauth/token",
            "now": datetime.fromtimestamp(self.clock(), UTC),
            "lifetime": timedelta(minutes=10),
        }
        claims.update(overrides)
        return build_assertion(key, **claims)

    def mint(self, signed: bytes | None = None, **form: str) -> httpx.Response:
        """POST /oauth/token with the `signed` assertion (default: a good one); `form` overrides any field."""
        fields = {
            "client_id": self.emulator.client_id,
            "company_id": self.emulator.company_id,
            "grant_type": GRANT_TYPE,
            "assertion": base64.b64encode(signed if signed is not None else self.assertion()).decode(),
            **form,
        }
        return self.client.post("/oauth/token", data=fields)

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.mint().json()["access_token"]
        return self._token

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def fetch_csrf(self) -> str:
        reply = self.client.get("/odata/v2/", headers=self.headers(**{"X-CSRF-Token": "Fetch"}))
        self._csrf = reply.headers["x-csrf-token"]
        return self._csrf

    def upsert(self, records: Any, *, csrf: bool = True) -> httpx.Response:
        headers = self.headers()
        if csrf:
            headers["X-CSRF-Token"] = self._csrf or self.fetch_csrf()
        return self.client.post("/odata/v2/upsert", params={"$format": "json"}, json=records, headers=headers)

    def post_events(self, events: Any, *, token: str | None = None) -> httpx.Response:
        """POST to the Time Events REST API (as the given token's user; default the API user)."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.client.post(TIME_EVENTS_PATH, json=events, headers=headers)

    def get(self, entity: str, **params: str) -> httpx.Response:
        return self.client.get(f"/odata/v2/{entity}", params={"$format": "json", **params}, headers=self.headers())


def time_data(code: str = "PB-T-1-20251006-day", user: str = "T-1", **fields: Any) -> dict[str, Any]:
    """One ExternalTimeData upsert record (fields override the defaults; None removes one)."""
    record: dict[str, Any] = {
        "__metadata": {"uri": "ExternalTimeData", "type": "SFOData.ExternalTimeData"},
        "externalCode": code,
        "userId": user,
        "startDate": "/Date(1759708800000)/",  # 2025-10-06
        "startTime": "PT09H00M00S",
        "endTime": "PT18H00M00S",
        "hours": "8.00",
        "timeType": "ATTENDANCE",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def event(
    number: int | str, user: str = "T-1", kind: str = "P10", at: str = "2025-10-06T09:00:00+05:30", **fields: Any
) -> dict[str, Any]:
    """One item of a Time Events REST API body (fields override the defaults; None removes one)."""
    item: dict[str, Any] = {"id": str(number), "assignmentId": user, "typeCode": kind, "timestamp": at, **fields}
    return {k: v for k, v in item.items() if v is not None}


def minutes_after(start: str, minutes: int) -> str:
    """The ISO time `minutes` after `start` (same offset)."""
    return (datetime.fromisoformat(start) + timedelta(minutes=minutes)).isoformat()


def day_record(
    employee: str,
    day: str,
    check_in: str = "09:00",
    check_out: str = "18:00",
    hours: Any = 8.5,
    *,
    offset: str = "+05:30",
    timezone: str | None = None,
    **fields: Any,
) -> Record:
    """A first-in/last-out record for terminal user C-`employee`, SuccessFactors userId `employee` (times at
    `offset`; `timezone` the record's site zone, as the sync engine sets it)."""
    values: dict[str, Any] = {
        "employee": employee,
        "check_in": f"{day}T{check_in}:00{offset}" if check_in else "",
        "check_out": f"{day}T{check_out}:00{offset}" if check_out else "",
        "hours": hours,
        **fields,
    }
    return Record(f"C-{employee}|{day}|day", values, f"hash:{sorted(values.items())}", timezone=timezone)


def intervals_record(
    employee: str, day: str, intervals: str, key: str | None = None, offset: str = "+05:30", timezone: str | None = None
) -> Record:
    """An every-pair record (`intervals` like `09:00/13:00;14:00/` on `day`, at `offset`; `timezone` its site's)."""
    pieces = []
    for pair in intervals.split(";"):
        start, _, end = pair.partition("/")
        pieces.append((f"{day}T{start}:00{offset}" if start else "") + "/" + (f"{day}T{end}:00{offset}" if end else ""))
    values = {"employee": employee, "intervals": ";".join(pieces)}
    return Record(key or f"C-{employee}|{day}|day", values, f"hash:{employee}:{intervals}", timezone=timezone)


def batch_of(records: Sequence[Record], columns: Sequence[str] = FIRST_LAST, batch_id: int = 1) -> Batch:
    """A batch for October 2025."""
    return Batch("sap", batch_id, date(2025, 10, 1), date(2025, 10, 31), batch_id, tuple(records), tuple(columns))
