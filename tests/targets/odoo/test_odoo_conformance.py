"""The `odoo` target passes the conformance kit, once per protocol: JSON-RPC and XML-RPC against
Odoo 17, JSON-2 against Odoo 19."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from punchbridge.plugin_api import Employee
from punchbridge.testing.conformance import TargetConformance
from punchbridge.testing.emulators.odoo import OdooEmulator
from punchbridge.testing.http import serve

SITE_ZONE = ZoneInfo("Asia/Kolkata")  # the kit's site
PAGE_SIZE = 40


class _OdooConformance(TargetConformance):
    plugin = "odoo"
    version = "17.0"
    protocol = "auto"
    mapping_fields = [  # noqa: RUF012 - the kit's class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "check_in", "from": "first_in"},
        {"name": "check_out", "from": "last_out"},
    ]
    employee_page_size = PAGE_SIZE

    @pytest.fixture
    def emulator(self) -> Iterator[tuple[OdooEmulator, str]]:
        emulator = OdooEmulator(self.version)
        emulator.seed_employees(Employee(target_id=f"T-C{n:03d}", name=f"Kit C{n:03d}") for n in range(1, 21))
        with serve(emulator.app) as server:
            yield emulator, server.url

    @pytest.fixture
    def target_settings(self, emulator: tuple[OdooEmulator, str]) -> dict[str, Any]:
        odoo, url = emulator
        return {
            "url": url,
            "database": odoo.database,
            "login": odoo.login,
            "api_key": odoo.api_key,
            "protocol": self.protocol,
            "employee_by": "barcode",
            "timezone": "Asia/Kolkata",
            "page_size": PAGE_SIZE,
        }

    @pytest.fixture
    def read_back(self, emulator: tuple[OdooEmulator, str]) -> Callable[[], dict[Any, Any]]:
        odoo, _ = emulator

        def held() -> dict[Any, Any]:
            days: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for row in odoo.attendances():
                barcode = odoo.employees[row["employee_id"][0]]["barcode"]
                day = _local_day(row["check_in"])
                days.setdefault((barcode, day), []).append(row)
            return days

        return held

    @pytest.fixture
    def deliveries(self, emulator: tuple[OdooEmulator, str]) -> Callable[[], int]:
        return lambda: emulator[0].deliveries

    @pytest.fixture
    def refuse_employee(self, emulator: tuple[OdooEmulator, str]) -> Callable[[str], str]:
        odoo, _ = emulator
        return lambda barcode: odoo.refuse_employee(odoo.employee_id(barcode))

    @pytest.fixture
    def seed_employees(self, emulator: tuple[OdooEmulator, str]) -> Callable[[list[Employee]], None]:
        def seed(employees: list[Employee]) -> None:  # the kit's employees, and only them
            emulator[0].replace_employees(employees)

        return seed

    @pytest.fixture
    def bad_credentials(self) -> dict[str, Any]:
        return {"api_key": "not-the-odoo-api-key"}


def _local_day(check_in: str) -> str:
    moment = datetime.strptime(check_in, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return moment.astimezone(SITE_ZONE).date().isoformat()


class TestOdoo17JsonRpcConformance(_OdooConformance):
    version = "17.0"
    protocol = "auto"  # JSON-RPC, chosen from the server's version


class TestOdoo17XmlRpcConformance(_OdooConformance):
    version = "17.0"
    protocol = "xmlrpc"


class TestOdoo19Json2Conformance(_OdooConformance):
    version = "19.0"
    protocol = "auto"  # JSON-2, chosen from the server's version


class TestOdoo19Json2AllIntervalsConformance(_OdooConformance):
    """The all-pairs convention: the mapping's `intervals` column, every interval of the day."""

    version = "19.0"
    protocol = "json2"
    mapping_fields = [  # noqa: RUF012 - the kit's class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "intervals", "from": "intervals"},
    ]
