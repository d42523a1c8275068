"""The Odoo emulator on loopback for the target's tests, and settings of an `odoo` target that reach it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from punchbridge.plugin_api import Employee
from punchbridge.testing.emulators.odoo import OdooEmulator
from punchbridge.testing.http import serve

#: (Odoo version, protocol the target is told to use) for each run of a parametrised test.
PROTOCOLS = [("17.0", "xmlrpc"), ("17.0", "jsonrpc"), ("19.0", "json2")]


@dataclass
class OdooRun:
    """A running emulator and settings of an `odoo` target pointed at it."""

    emulator: OdooEmulator
    url: str
    protocol: str

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Target settings for this server (barcodes identify employees; times are in Asia/Kolkata)."""
        settings = {
            "url": self.url,
            "database": self.emulator.database,
            "login": self.emulator.login,
            "api_key": self.emulator.api_key,
            "protocol": self.protocol,
            "employee_by": "barcode",
            "timezone": "Asia/Kolkata",
            "timeout": 10,
        }
        settings.update(changes)
        return {key: value for key, value in settings.items() if value is not None}


@contextmanager
def running_odoo(version: str, protocol: str) -> Iterator[OdooRun]:
    """An emulator of Odoo `version` on loopback, with employees A1..A3 (barcodes) seeded."""
    emulator = OdooEmulator(version)
    emulator.seed_employees(
        [
            Employee(target_id="A1", name="Asha Rao", email="asha@example.com", department="Operations"),
            Employee(target_id="A2", name="Ben Okafor", pin="4321", department="Support"),
            Employee(target_id="A3", name="Chen Wei", active=False),
        ]
    )
    with serve(emulator.app) as server:
        yield OdooRun(emulator, server.url, protocol)
