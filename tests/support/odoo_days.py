"""Builders of the records and batches the Odoo target tests push, and a view of what Odoo holds."""

from __future__ import annotations

from datetime import date
from typing import Any

from punchbridge.plugin_api import Batch, Outcome, Record
from support.odoo_servers import OdooRun

COLUMNS = ("employee", "check_in", "check_out")
DAY = date(2025, 10, 6)


def record(
    employee: str, day: str = "2025-10-06", check_in: str = "09:00", check_out: str = "18:00", **fields: Any
) -> Record:
    """A day of `employee` at the site (+05:30): times as HH:MM on `day`, "" for none."""
    values: dict[str, Any] = {"employee": employee}
    if "intervals" in fields:
        values["intervals"] = fields.pop("intervals")
    else:
        values["check_in"] = f"{day}T{check_in}:00+05:30" if check_in else ""
        values["check_out"] = f"{day}T{check_out}:00+05:30" if check_out else ""
    values.update(fields)
    return Record(f"{employee}|{day}|day", values, "hash-" + repr(sorted(values.items())))


def batch(*records: Record, columns: tuple[str, ...] = COLUMNS, batch_id: int = 1) -> Batch:
    return Batch("odoo", batch_id, date(2025, 10, 1), date(2025, 10, 31), batch_id, list(records), columns)


def held(run: OdooRun, barcode: str) -> list[tuple[str, str | bool]]:
    """(check_in, check_out) of what Odoo holds for `barcode`, naive UTC as Odoo stores it."""
    emulator = run.emulator
    return [(a["check_in"], a["check_out"]) for a in emulator.attendances(emulator.employee_id(barcode))]


def by_key(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.key: o for o in outcomes}
