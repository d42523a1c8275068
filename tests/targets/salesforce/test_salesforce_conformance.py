"""The `salesforce` target passes the conformance kit against the Salesforce emulator, in both OAuth flows.

The mapping's columns are Attendance_Day__c field API names; the external id field holds
punchbridge's record key, so a resent batch or a changed day updates the record it wrote before.
The emulator's `deliveries` counts writes that created a record or changed a value: an upsert that
rewrites the values a record holds is not a second delivery (Salesforce holds one record either way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from punchbridge.plugin_api import Employee
from punchbridge.testing.conformance import TargetConformance
from punchbridge.testing.emulators.salesforce import SalesforceEmulator, generate_jwt_key
from punchbridge.testing.emulators.zoho import NoDelayHttp
from punchbridge.testing.http import serve

KIT_STAFF = [Employee(f"T-C{n:03d}", f"Kit Person{n:03d}") for n in range(1, 20)]


class TestSalesforceJwtConformance(TargetConformance):
    plugin = "salesforce"
    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "Employee_Id__c", "from": "target_id"},
        {"name": "Work_Date__c", "from": "work_date"},
        {"name": "Status__c", "from": "status"},
        {"name": "Worked_Minutes__c", "from": "worked_minutes"},
        {"name": "First_In__c", "from": "first_in"},
        {"name": "Last_Out__c", "from": "last_out"},
        {"name": "Recomputed__c", "from": "recomputed"},
    ]
    employee_page_size = 200  # Salesforce's smallest query batch

    @pytest.fixture
    def emulator(self, key_pair: tuple[Path, bytes]) -> Iterator[tuple[SalesforceEmulator, str]]:
        emulator = SalesforceEmulator(certificate=key_pair[1])
        emulator.seed_employees(KIT_STAFF)
        with serve(emulator.app, http=NoDelayHttp) as server:
            yield emulator, server.url

    @pytest.fixture
    def target_settings(self, emulator: tuple[SalesforceEmulator, str], key_pair: tuple[Path, bytes]) -> dict[str, Any]:
        salesforce, url = emulator
        return salesforce.plugin_settings(url, private_key=key_pair[0], query_batch_size=200)

    @pytest.fixture
    def read_back(self, emulator: tuple[SalesforceEmulator, str]) -> Callable[[], dict[Any, Any]]:
        salesforce, _ = emulator
        return lambda: {(r["Employee_Id__c"], r["Work_Date__c"]): r for r in salesforce.records()}

    @pytest.fixture
    def deliveries(self, emulator: tuple[SalesforceEmulator, str]) -> Callable[[], int]:
        return lambda: emulator[0].deliveries

    @pytest.fixture
    def refuse_employee(self, emulator: tuple[SalesforceEmulator, str]) -> Callable[[str], str]:
        def refuse(target_id: str) -> str:
            message = f"Attendance of {target_id} is locked: the payroll period is closed"
            emulator[0].refuse_employee(target_id, message)
            return message

        return refuse

    @pytest.fixture
    def seed_employees(self, emulator: tuple[SalesforceEmulator, str]) -> Callable[[list[Employee]], None]:
        return lambda employees: emulator[0].seed_employees(employees, replace=True)

    @pytest.fixture
    def bad_credentials(self, tmp_path: Path) -> dict[str, Any]:
        stranger, _ = generate_jwt_key("not-the-connected-app")
        path = tmp_path / "stranger.key"
        path.write_bytes(stranger)
        return {"private_key": str(path)}


class TestSalesforceClientCredentialsConformance(TestSalesforceJwtConformance):
    """The same checks with the client-credentials flow."""

    @pytest.fixture
    def target_settings(self, emulator: tuple[SalesforceEmulator, str]) -> dict[str, Any]:
        salesforce, url = emulator
        return salesforce.plugin_settings(url, auth="client_credentials", query_batch_size=200)

    @pytest.fixture
    def bad_credentials(self, tmp_path: Path) -> dict[str, Any]:
        return {"client_secret": "NOT-THE-CONSUMER-SECRET-0000"}
