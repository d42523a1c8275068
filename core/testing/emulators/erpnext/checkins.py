"""Employee Checkins as Frappe HR keeps them: `EmployeeCheckin.validate`'s rules, the documents, their lists.

From frappe/hrms `hr/doctype/employee_checkin/employee_checkin.py` (develop and version-15-hotfix,
October 2024): `validate` checks, in this order, that the employee is active ("Transactions cannot
be created for an Inactive Employee {0}."), that no other check-in has the same (employee, time,
log_type) ("This employee already has a log with the same timestamp.{0}", `{0}` being "<Br>" and a
desk link; ERPNext 13 compared (employee, time) only), the shift, then with HR Settings' Allow
Geolocation Tracking that latitude or longitude is given ("Latitude and longitude values are
required for checking in."; `validate_distance_from_shift_location`; shift locations and their
radius are not emulated). Every one is a `frappe.throw`, so HTTP 417. Names follow the naming
series `EMP-CKIN-.MM.-.YYYY.-.######` (employee_checkin.json).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Any

from punchbridge.testing.emulators.erpnext.frappe import FrappeError, json_param

__all__ = ["CHECKIN_FIELDS", "GEOLOCATION_REQUIRED", "CheckinLog", "coordinate"]

#: The Employee Checkin fields a list request may ask for.
CHECKIN_FIELDS = (
    "name", "employee", "employee_name", "log_type", "time", "device_id", "skip_auto_attendance", "shift",
    "attendance", "latitude", "longitude", "creation", "modified",
)  # fmt: skip
GEOLOCATION_REQUIRED = "Latitude and longitude values are required for checking in."


class CheckinLog:
    """The site's Employee Checkins (see the module docstring); `writes` counts inserts per (employee, day, type)."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.documents: dict[str, dict[str, Any]] = {}
        self._by_employee: dict[str, list[str]] = {}  # Employee name -> its check-ins' names
        self._held: dict[tuple[Any, ...], str] = {}  # the duplicate key -> the check-in holding it
        self._next = 1
        #: Inserts that reached the duplicate check, by (employee, date, log_type): created or repeated.
        self.writes: Counter[tuple[str, date, str]] = Counter()

    def of_employee(self, name: str) -> list[dict[str, Any]]:
        """The check-ins of Employee `name`, in the order they were made."""
        return [self.documents[n] for n in self._by_employee.get(name, [])]

    def selectable(self, query: Any) -> list[dict[str, Any]]:
        """The check-ins a list request can select: those of the employees it filters on, else all."""
        filters = json_param(query, "filters", [])
        wanted: list[Any] | None = None
        for condition in filters if isinstance(filters, list) else []:
            if isinstance(condition, list) and len(condition) in (3, 4) and condition[-3] == "employee":
                operator, value = str(condition[-2]).lower(), condition[-1]
                if operator == "in" and isinstance(value, list):
                    wanted = value
                elif operator == "=":
                    wanted = [value]
        if wanted is None:
            return list(self.documents.values())
        return [self.documents[n] for e in wanted if isinstance(e, str) for n in self._by_employee.get(e, [])]

    def insert(
        self,
        employee: dict[str, Any],
        moment: datetime,
        log_type: str,
        device: Any,
        *,
        skip: bool,
        coordinates: tuple[Any, Any],
        geolocation_tracking: bool,
        refusal: str | None,
        now: str,
    ) -> dict[str, Any]:
        """Validate and store one check-in of `employee` at `moment` (site-local); the new document."""
        if log_type not in ("", "IN", "OUT"):
            message = f'Log Type cannot be "{log_type}". It should be one of "", "IN", "OUT"'
            raise FrappeError("ValidationError", message)
        if device is not None and len(str(device)) > 140:
            raise FrappeError("CharacterLengthExceededError", "Value too big: Device ID is longer than 140 characters")
        latitude, longitude = (coordinate(c) for c in coordinates)
        if employee["status"] in ("Inactive", "Left"):
            raise FrappeError(
                "ValidationError", f"Transactions cannot be created for an Inactive Employee {employee['name']}."
            )
        if refusal is not None:
            raise FrappeError("ValidationError", refusal)
        self.writes[(employee["name"], moment.date(), log_type)] += 1
        key = (employee["name"], moment) if self.version < 14 else (employee["name"], moment, log_type)
        existing = self._held.get(key)
        if existing is not None:
            link = f'<a href="/app/employee-checkin/{existing}">Employee Checkin {existing}</a>'
            raise FrappeError("ValidationError", f"This employee already has a log with the same timestamp.<Br>{link}")
        if geolocation_tracking and not (latitude or longitude):
            raise FrappeError("ValidationError", GEOLOCATION_REQUIRED)
        name = f"EMP-CKIN-{moment:%m}-{moment:%Y}-{self._next:06d}"
        self._next += 1
        self._held[key] = name
        self._by_employee.setdefault(employee["name"], []).append(name)
        doc = {
            "name": name,
            "employee": employee["name"],
            "employee_name": employee["employee_name"],
            "log_type": log_type or None,
            "time": moment.strftime("%Y-%m-%d %H:%M:%S"),
            "device_id": device,
            "skip_auto_attendance": 1 if skip else 0,
            "shift": None,
            "attendance": None,
            "latitude": latitude,
            "longitude": longitude,
            "creation": now,
            "modified": now,
            "doctype": "Employee Checkin",
        }
        self.documents[name] = doc
        return dict(doc)


def coordinate(value: Any) -> float | None:
    """A latitude or longitude as Frappe's Float field keeps it (precision 7), None when not given."""
    if value in (None, ""):
        return None
    try:
        return round(float(json.loads(value) if isinstance(value, str) else value), 7)
    except (TypeError, ValueError):
        raise FrappeError("ValidationError", f"{value!r} is not a number") from None
