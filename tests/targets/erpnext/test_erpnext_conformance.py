"""The `erpnext` target passes the conformance kit against the Frappe HR emulator, in both column conventions.

ERPNext's check-ins are append-only, so "a changed day is updated, not duplicated" means: the day
gets only the punches ERPNext lacks (the kit's late 07:30 check-in), never its other punches again.
The emulator's `day_writes` counts a day once per delivery of it (its busiest log type's writes,
duplicates refused by ERPNext included), so a resend or a day sent whole again shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from punchbridge.plugin_api import Employee
from punchbridge.testing.conformance import TargetConformance
from punchbridge.testing.emulators.erpnext import ErpNextEmulator
from punchbridge.testing.emulators.zoho import NoDelayHttp
from punchbridge.testing.http import serve

KIT_STAFF = [Employee(f"T-C{n:03d}", f"Kit Person{n:03d}") for n in range(1, 20)]
PAGE = 40


class TestErpNextConformance(TargetConformance):
    plugin = "erpnext"
    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "check_in", "from": "first_in"},
        {"name": "check_out", "from": "last_out"},
    ]
    employee_page_size = PAGE

    @pytest.fixture
    def emulator(self) -> Iterator[tuple[ErpNextEmulator, str]]:
        emulator = ErpNextEmulator(version=15, timezone="Asia/Kolkata")
        emulator.seed_employees(KIT_STAFF)
        with serve(emulator.app, http=NoDelayHttp) as server:
            yield emulator, server.url

    @pytest.fixture
    def target_settings(self, emulator: tuple[ErpNextEmulator, str]) -> dict[str, Any]:
        erpnext, url = emulator
        return erpnext.plugin_settings(url, page_size=PAGE)

    @pytest.fixture
    def read_back(self, emulator: tuple[ErpNextEmulator, str]) -> Callable[[], dict[Any, Any]]:
        erpnext, _ = emulator

        def held() -> dict[Any, Any]:
            days: dict[tuple[str, str], list[str]] = {}
            for checkin in erpnext.checkins():
                day = datetime.fromisoformat(checkin["time"]).date().isoformat()
                days.setdefault((checkin["employee"], day), []).append(f"{checkin['log_type']} {checkin['time']}")
            return days

        return held

    @pytest.fixture
    def deliveries(self, emulator: tuple[ErpNextEmulator, str]) -> Callable[[], int]:
        return emulator[0].day_writes

    @pytest.fixture
    def refuse_employee(self, emulator: tuple[ErpNextEmulator, str]) -> Callable[[str], str]:
        def refuse(target_id: str) -> str:
            message = f"Payroll for {target_id} is already processed for this period"
            emulator[0].refuse_employee(target_id, message)
            return message

        return refuse

    @pytest.fixture
    def seed_employees(self, emulator: tuple[ErpNextEmulator, str]) -> Callable[[list[Employee]], None]:
        return lambda employees: emulator[0].seed_employees(employees, replace=True)

    @pytest.fixture
    def bad_credentials(self) -> dict[str, Any]:
        return {"api_secret": "0123456789abcdef"}


class TestErpNextEveryPairConformance(TestErpNextConformance):
    """The same checks with every worked interval sent (`intervals` mapped `from: intervals`)."""

    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "intervals", "from": "intervals"},
    ]


class TestErpNext13Conformance(TestErpNextConformance):
    """ERPNext 13: the check-in method under `erpnext.hr...` (checkin_api: erpnext)."""

    @pytest.fixture
    def emulator(self) -> Iterator[tuple[ErpNextEmulator, str]]:
        emulator = ErpNextEmulator(version=13, timezone="Asia/Kolkata")
        emulator.seed_employees(KIT_STAFF)
        with serve(emulator.app, http=NoDelayHttp) as server:
            yield emulator, server.url
