"""The `sap_successfactors` target passes the conformance kit against the SuccessFactors emulator.

Twice: processed days as ExternalTimeData (first in, last out, hours), and every worked interval
as clock events. The emulator runs on real time here (the engine builds the target itself, on the
system clock); its key and certificate are generated for the test session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from punchbridge.plugin_api import Employee
from punchbridge.plugins.sap.successfactors import clear_token_cache
from punchbridge.testing.conformance import TargetConformance
from punchbridge.testing.emulators.sap import SapEmulator, TestCredentials
from punchbridge.testing.emulators.zoho import NoDelayHttp
from punchbridge.testing.http import serve

KIT_STAFF = [Employee(f"T-C{n:03d}", f"Kit Person{n:03d}") for n in range(1, 20)]
PAGE_SIZE = 40


class TestSuccessFactorsTimeDataConformance(TargetConformance):
    plugin = "sap_successfactors"
    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "check_in", "from": "first_in"},
        {"name": "check_out", "from": "last_out"},
        {"name": "hours", "from": "worked_minutes", "transform": "minutes_to_hours"},
    ]
    employee_page_size = PAGE_SIZE

    @pytest.fixture
    def emulator(self, credentials: TestCredentials) -> Iterator[tuple[SapEmulator, str]]:
        clear_token_cache()
        emulator = SapEmulator(credentials=credentials, timezone="Asia/Kolkata")
        emulator.seed_employees(KIT_STAFF)
        with serve(emulator.app, http=NoDelayHttp) as server:
            yield emulator, server.url

    @pytest.fixture
    def target_settings(self, emulator: tuple[SapEmulator, str], tmp_path: Path) -> dict[str, Any]:
        sap, url = emulator
        return sap.plugin_settings(url, tmp_path / "keys", page_size=PAGE_SIZE)

    @pytest.fixture
    def read_back(self, emulator: tuple[SapEmulator, str]) -> Callable[[], dict[Any, Any]]:
        return lambda: emulator[0].time_data()

    @pytest.fixture
    def deliveries(self, emulator: tuple[SapEmulator, str]) -> Callable[[], int]:
        return lambda: emulator[0].deliveries

    @pytest.fixture
    def refuse_employee(self, emulator: tuple[SapEmulator, str]) -> Callable[[str], str]:
        def refuse(target_id: str) -> str:
            message = f"Time sheet of {target_id} is locked for payroll"
            emulator[0].refuse_user(target_id, message)
            return message

        return refuse

    @pytest.fixture
    def seed_employees(self, emulator: tuple[SapEmulator, str]) -> Callable[[list[Employee]], None]:
        return lambda employees: emulator[0].seed_employees(employees, replace=True)

    @pytest.fixture
    def bad_credentials(self, stranger: TestCredentials, tmp_path: Path) -> dict[str, Any]:
        return {key: str(path) for key, path in stranger.write(tmp_path / "stranger").items()}


class TestSuccessFactorsClockEventsConformance(TestSuccessFactorsTimeDataConformance):
    """Every worked interval as clock events (clock in, break start/end, clock out)."""

    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "intervals", "from": "intervals"},
    ]

    @pytest.fixture
    def read_back(self, emulator: tuple[SapEmulator, str]) -> Callable[[], dict[Any, Any]]:
        return lambda: emulator[0].event_days()
