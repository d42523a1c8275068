"""hr.attendance's per-employee index, the attendance constraints Odoo checks with it, and search.

Odoo refuses an attendance that overlaps another of the same employee, or a second open one; the
emulator keeps each employee's attendances sorted by check-in so those checks, and searches that
name employees and a time range, stay fast for a month of a large site.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from punchbridge.testing.emulators.odoo.domain import ORDER, Transaction, compile_domain, datetime_text, sort_records
from punchbridge.testing.emulators.odoo.errors import ValidationError

__all__ = ["IndexedTables"]


class IndexedTables:
    """The tables of the emulated database with hr.attendance's index (a base of `OdooDatabase`)."""

    def __init__(self) -> None:
        self.employees: dict[int, dict[str, Any]] = {}
        self.attendance: dict[int, dict[str, Any]] = {}
        self._by_employee: dict[int, list[tuple[datetime, int]]] = {}
        self._open: dict[int, set[int]] = {}

    def _table(self, model: str) -> dict[int, dict[str, Any]]:
        return self.employees if model == "hr.employee" else self.attendance

    def _index_add(self, record: dict[str, Any], transaction: Transaction) -> None:
        entries = self._by_employee.setdefault(record["employee_id"], [])
        bisect.insort(entries, (record["check_in"], record["id"]))
        if record["check_out"] is None:
            self._open.setdefault(record["employee_id"], set()).add(record["id"])
        transaction.undo.append(lambda: self._index_drop(record))

    def _index_drop(self, record: dict[str, Any]) -> None:
        entries = self._by_employee.get(record["employee_id"], [])
        position = bisect.bisect_left(entries, (record["check_in"], record["id"]))
        if position < len(entries) and entries[position] == (record["check_in"], record["id"]):
            del entries[position]
        self._open.get(record["employee_id"], set()).discard(record["id"])

    def _index_remove(self, record: dict[str, Any], transaction: Transaction) -> None:
        self._index_drop(record)
        transaction.undo.append(lambda: self._index_add(record, Transaction()))

    def _move_attendance(
        self, record: dict[str, Any], changes: dict[str, Any], stamp: datetime, transaction: Transaction
    ) -> None:
        if "check_in" in changes and changes["check_in"] is None:
            raise ValidationError("The operation cannot be completed: a mandatory field is not set (Check In).")
        if "employee_id" in changes and changes["employee_id"] is None:
            raise ValidationError("The operation cannot be completed: a mandatory field is not set (Employee).")
        before = dict(record)
        self._index_drop(record)
        record.update(changes, write_date=stamp)
        self._index_add(record, Transaction())

        def undo() -> None:
            self._index_drop(record)
            record.clear()
            record.update(before)
            self._index_add(record, Transaction())

        transaction.undo.append(undo)

    def _check_attendance(self, record: dict[str, Any]) -> None:
        """Odoo's `_check_validity` and check-out-after-check-in constraints, for one attendance."""
        employee = record["employee_id"]
        if employee not in self.employees:
            raise ValidationError(
                f"The operation cannot be completed: the employee (hr.employee {employee}) does not exist."
            )
        name = self.employees[employee]["name"]
        check_in, check_out = record["check_in"], record["check_out"]
        if check_out is not None and check_out < check_in:
            raise ValidationError('"Check Out" time cannot be earlier than "Check In" time.')
        entries = self._by_employee.get(employee, [])
        before_in = self._last_before(entries, (check_in, float("inf")), record["id"])
        if before_in is not None and before_in["check_out"] is not None and before_in["check_out"] > check_in:
            raise ValidationError(
                f"Cannot create new attendance record for {name}, the employee was already checked in on "
                f"{datetime_text(before_in['check_in'])}"
            )
        if check_out is None:
            others = self._open.get(employee, set()) - {record["id"]}
            if others:
                since = min(self.attendance[i]["check_in"] for i in others)
                raise ValidationError(
                    f"Cannot create new attendance record for {name}, the employee hasn't checked out since "
                    f"{datetime_text(since)}"
                )
            return
        before_out = self._last_before(entries, (check_out, float("-inf")), record["id"])
        if before_out is not None and before_out is not before_in:
            raise ValidationError(
                f"Cannot create new attendance record for {name}, the employee was already checked in on "
                f"{datetime_text(before_out['check_in'])}"
            )

    def _last_before(self, entries: list[tuple[datetime, int]], bound: tuple[datetime, float], own: int) -> Any:
        """The latest attendance (by check-in, then id) before `bound`, other than `own`."""
        position = bisect.bisect_left(entries, bound) - 1  # type: ignore[arg-type]
        while position >= 0 and entries[position][1] == own:
            position -= 1
        return self.attendance[entries[position][1]] if position >= 0 else None

    def _search(self, model: str, domain: Any, offset: Any, limit: Any, order: Any) -> list[dict[str, Any]]:
        if domain is None or domain is False:
            domain = []
        if not isinstance(domain, list):
            raise ValueError(f"Invalid domain: {domain!r}"[:300])
        for value, what in ((offset, "offset"), (limit, "limit")):
            if value is not None and value is not False and (not isinstance(value, int) or value < 0):
                raise ValueError(f"Invalid {what}: {value!r}")
        predicate, leaves = compile_domain(model, domain)
        if model == "hr.employee" and not any(leaf[0] == "active" for leaf in leaves):
            candidates: Iterable[dict[str, Any]] = (e for e in self.employees.values() if e["active"])
        elif model == "hr.attendance":
            candidates = self._attendance_candidates(domain, leaves)
        else:
            candidates = self._table(model).values()
        found = [record for record in candidates if predicate(record)]
        sort_records(model, found, order or ORDER[model])
        start = offset or 0
        return found[start : start + limit] if limit else found[start:]

    def _attendance_candidates(self, domain: list[Any], leaves: list[tuple[str, str, Any]]) -> Iterable[dict]:
        """Use the per-employee index when the domain is a plain conjunction naming employees."""
        if any(item in ("|", "!") for item in domain):
            return list(self.attendance.values())
        employees: set[int] | None = None
        low: datetime | None = None
        high: datetime | None = None
        for field, operator, value in leaves:
            if field == "employee_id" and operator in ("=", "in"):
                chosen = {v for v in (value if operator == "in" else [value]) if isinstance(v, int)}
                employees = chosen if employees is None else employees & chosen
            elif field == "check_in" and operator in (">=", ">") and value is not None:
                low = value if low is None else max(low, value)
            elif field == "check_in" and operator in ("<=", "<") and value is not None:
                high = value if high is None else min(high, value)
        if employees is None:
            return list(self.attendance.values())
        found: list[dict[str, Any]] = []
        for employee in employees:
            entries = self._by_employee.get(employee, [])
            start = bisect.bisect_left(entries, (low, 0)) if low is not None else 0
            end = bisect.bisect_right(entries, (high, float("inf"))) if high is not None else len(entries)  # type: ignore[arg-type]
            found.extend(self.attendance[i] for _, i in entries[start:end])
        return found
