"""The `zoho_people` target passes the conformance kit against the Zoho People emulator.

The emulator answers bulkImport as Zoho is seen to (`{"response": "success"}`, a call with one bad row
refused whole). It runs on real time here (the engine builds the target itself, on the system
clock), with bulkImport allowed 60 calls a minute instead of Zoho's 10 (emulator and target alike):
the partial-failure check splits the refused call to find the refused employee's days, about 15
calls, which at 10 a minute would wait a real minute. Pacing at Zoho's real limits is tested on a
manual clock in test_zoho_push.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from punchbridge.plugin_api import Employee
from punchbridge.plugins.zoho_people import clear_token_cache
from punchbridge.store import Store
from punchbridge.testing.conformance import EMPLOYEES, EXPECTED, FIRST_DAY, TargetConformance
from punchbridge.testing.emulators.zoho import BULK_IMPORT, NoDelayHttp, ZohoEmulator, ZohoLimits
from punchbridge.testing.http import serve

KIT_STAFF = [Employee(f"T-C{n:03d}", f"Kit Person{n:03d}") for n in range(1, 20)]
KIT_BULK_RATE = 60  # bulkImport calls a minute (module docstring)


class TestZohoPeopleConformance(TargetConformance):
    plugin = "zoho_people"
    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "check_in", "from": "first_in"},
        {"name": "check_out", "from": "last_out"},
    ]

    @pytest.fixture
    def emulator(self) -> Iterator[tuple[ZohoEmulator, str]]:
        clear_token_cache()
        limits = ZohoLimits()
        emulator = ZohoEmulator(limits=replace(limits, per_minute={**limits.per_minute, BULK_IMPORT: KIT_BULK_RATE}))
        emulator.seed_employees(KIT_STAFF)
        with serve(emulator.app, http=NoDelayHttp) as server:
            yield emulator, server.url

    @pytest.fixture
    def target_settings(self, emulator: tuple[ZohoEmulator, str], tmp_path: Path) -> dict[str, Any]:
        zoho, url = emulator
        return zoho.plugin_settings(
            url, state_file=tmp_path / "zoho-state.sqlite3", bulk_import_per_minute=KIT_BULK_RATE
        )

    @pytest.fixture
    def read_back(self, emulator: tuple[ZohoEmulator, str]) -> Callable[[], dict[Any, Any]]:
        zoho, _ = emulator
        return lambda: {key: (view.first_in, view.last_out) for key, view in zoho.days().items()}

    @pytest.fixture
    def deliveries(self, emulator: tuple[ZohoEmulator, str]) -> Callable[[], int]:
        zoho, _ = emulator
        return lambda: zoho.deliveries

    @pytest.fixture
    def refuse_employee(self, emulator: tuple[ZohoEmulator, str]) -> Callable[[str], str]:
        zoho, _ = emulator

        def refuse(target_id: str) -> str:
            message = f"Employee {target_id} is on a locked attendance period"
            zoho.refuse_employee(target_id, message)
            return message

        return refuse

    @pytest.fixture
    def seed_employees(self, emulator: tuple[ZohoEmulator, str]) -> Callable[[list[Employee]], None]:
        zoho, _ = emulator
        return lambda employees: zoho.seed_employees(employees, replace=True)

    @pytest.fixture
    def bad_credentials(self) -> dict[str, Any]:
        return {"refresh_token": "1000.revoked-refresh-token-0000"}


class TestZohoPeopleEveryPairConformance(TestZohoPeopleConformance):
    """The same checks with every worked interval sent (`intervals` mapped `from: intervals`).

    One check differs, by design: the kit's changed day adds a 07:30 check-in before the 09:02 one
    Zoho already holds, and pairing drops the 09:02 punch as a repeated check-in, so the new day's
    intervals no longer have it. Zoho's API cannot remove a punch: instead of leaving Zoho with a
    different day than punchbridge computed, the target dead-letters the day saying what to correct.
    """

    mapping_fields = [  # noqa: RUF012 - the kit's contract is a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "intervals", "from": "intervals"},
    ]

    def test_changed_day_is_updated_not_duplicated(
        self, workspace: Path, read_back: Callable, deliveries: Callable
    ) -> None:
        assert self.sync(workspace).exit_code == 0
        late = f"{EMPLOYEES[0]},{FIRST_DAY + timedelta(days=2)}T07:30:00+05:30,GATE,in"
        (workspace.parent / "inbox" / "late.csv").write_text(
            "employee_id,timestamp,device_id,direction\n" + late + "\n"
        )
        result = self.sync(workspace)
        assert result.exit_code == 3, result.output
        assert deliveries() == EXPECTED, "nothing half-done: the day Zoho holds is left as it was"
        with Store.open(yaml.safe_load(workspace.read_text())["store"]) as store:
            (message,) = store.dead_letters("target")["message"]
        assert "already holds check-in 2025-10-08 09:02:00" in message
        assert "cannot remove a punch" in message
