"""punchbridge's conformance kit, run against the `example` target and its emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from punchbridge.plugin_api import Employee
from punchbridge.testing.conformance import TargetConformance

from punchbridge_example.emulator import PAGE_SIZE, State
from punchbridge_example.target import PLUGIN


class TestExampleTargetConformance(TargetConformance):
    """Every check of the kit; each fixture below tells the kit how to look into the emulator."""

    plugin = PLUGIN
    mapping_fields = [  # noqa: RUF012 - the kit reads a plain class attribute
        {"name": "employee", "from": "target_id"},
        {"name": "date", "from": "work_date"},
        {"name": "status", "from": "status"},
        {"name": "worked", "from": "worked_minutes"},
    ]
    employee_page_size = PAGE_SIZE

    @pytest.fixture
    def target_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        return settings

    @pytest.fixture
    def read_back(self, state: State) -> Callable[[], dict[str, Any]]:
        return lambda: dict(state.records)

    @pytest.fixture
    def deliveries(self, state: State) -> Callable[[], int]:
        return lambda: state.writes

    @pytest.fixture
    def refuse_employee(self, state: State) -> Callable[[str], str]:
        def refuse(target_id: str) -> str:
            state.refuse[target_id] = f"employee {target_id} is not active in this company"
            return "is not active"

        return refuse

    @pytest.fixture
    def seed_employees(self, state: State) -> Callable[[list[Employee]], None]:
        return state.employees.extend

    @pytest.fixture
    def bad_credentials(self) -> dict[str, Any]:
        return {"token": "wrong-token-value"}
