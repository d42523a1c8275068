"""hr.attendance's per-employee index, the attendance constraints Odoo checks with it, and search.

Odoo refuses an attendance that overlaps another of the same employee, or a second open one; the
emulator keeps each employee's attendances sorted by check-in so those checks, and searches that
name employees and a time range, stay fast for a month of a large site.

The constraints follow `_check_validity` and `_check_validity_check_in_check_out` of
addons/hr_attendance/models/hr_attendance.py, the same logic and English words from 16.0 to 19.0
(17.0-series and odoo/odoo@1f535321 18.0-series read): the latest other attendance with a check-in
at or before the new one's must not end after it ("was already checked in on" the NEW record's
check-in); an open one must be the only open one ("hasn't checked out since" the other's check-in);
a closed one must have the same latest attendance before its check-out as before its check-in
("was already checked in on" that other record's check-in). Each datetime is
`format_datetime(env, value, dt_format=False)` (odoo/tools/misc.py): in the calling user's time zone,
in the language's date and time formats, `%m/%d/%Y %H:%M:%S` for en_US.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.testing.emulators.odoo.domain import (
    Either,
    Transaction,
    compile_domain,
    conjunction,
    sort_records,
    to_datetime,
)
from punchbridge.testing.emulators.odoo.errors import ValidationError
from punchbridge.testing.emulators.odoo.schema import DEFAULT_ORDER, Schema

__all__ = ["USER_DATETIME", "IndexedTables", "user_datetime"]

#: en_US `date_format` and `time_format` (odoo/addons/base/data/res_lang_data.xml): how a message shows a time.
USER_DATETIME = "%m/%d/%Y %H:%M:%S"


def user_datetime(value: datetime, tz: str) -> str:
    """A naive-UTC time as `format_datetime(env, value, dt_format=False)` shows it to a user of zone `tz` (en_US)."""
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz or "UTC")).strftime(USER_DATETIME)


class IndexedTables:
    """The tables of the emulated database with hr.attendance's index (a base of `OdooDatabase`)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.employees: dict[int, dict[str, Any]] = {}
        self.attendance: dict[int, dict[str, Any]] = {}
        self._by_employee: dict[int, list[tuple[datetime, int]]] = {}
        self._open: dict[int, set[int]] = {}
        #: The time zone of the user making the current call: Odoo's messages show times in it.
        self.caller_tz = "UTC"

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
                f"{user_datetime(check_in, self.caller_tz)}"
            )
        if check_out is None:
            others = self._open.get(employee, set()) - {record["id"]}
            if others:
                latest = max((self.attendance[i]["check_in"], i) for i in others)[1]  # order='check_in desc'
                raise ValidationError(
                    f"Cannot create new attendance record for {name}, the employee hasn't checked out since "
                    f"{user_datetime(self.attendance[latest]['check_in'], self.caller_tz)}"
                )
            return
        before_out = self._last_before(entries, (check_out, float("-inf")), record["id"])
        if before_out is not None and before_out is not before_in:
            raise ValidationError(
                f"Cannot create new attendance record for {name}, the employee was already checked in on "
                f"{user_datetime(before_out['check_in'], self.caller_tz)}"
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
        predicate, leaves = compile_domain(self.schema, model, domain)
        if model == "hr.employee" and not any(leaf[0] == "active" for leaf in leaves):
            candidates: Iterable[dict[str, Any]] = (e for e in self.employees.values() if e["active"])
        elif model == "hr.attendance":
            candidates = self._attendance_candidates(domain)
        else:
            candidates = self._table(model).values()
        found = [record for record in candidates if predicate(record)]
        sort_records(self.schema, model, found, order or DEFAULT_ORDER[model])
        start = offset or 0
        return found[start : start + limit] if limit else found[start:]

    def _attendance_candidates(self, domain: list[Any]) -> Iterable[dict]:
        """Use the per-employee index when every record must be of some employees (a top-level leaf names them).

        Check-in bounds at the top level narrow each employee's range; so does a top-level
        `'|', ('check_out', '=', False), (... 'check_in', '<', X ...)`: "open, or checked in before
        X" (how the odoo target asks for what could conflict). The predicate decides exactly.
        """
        employees: set[int] | None = None
        low: datetime | None = None
        high: datetime | None = None
        leaves, alternatives = conjunction(domain)
        for field, operator, value in leaves:
            if field == "employee_id" and operator in ("=", "in"):
                chosen = {v for v in (value if operator == "in" else [value]) if isinstance(v, int)}
                employees = chosen if employees is None else employees & chosen
            elif field == "check_in" and operator in (">=", ">") and isinstance(value, str):
                low = _bound(value, low, max)
            elif field == "check_in" and operator in ("<=", "<") and isinstance(value, str):
                high = _bound(value, high, min)
        if employees is None:
            return list(self.attendance.values())
        open_or_before = [bound for bound in map(_open_or_before, alternatives) if bound is not None]
        closed_high = min([v for v in (high, *open_or_before) if v is not None], default=None)
        found: list[dict[str, Any]] = []
        for employee in employees:
            entries = self._by_employee.get(employee, [])
            start = bisect.bisect_left(entries, (low, 0)) if low is not None else 0
            end = bisect.bisect_right(entries, (closed_high, float("inf"))) if closed_high is not None else len(entries)  # type: ignore[arg-type]
            ids = {i for _, i in entries[start:end]}
            if open_or_before:
                ids |= self._open.get(employee, set())
            found.extend(self.attendance[i] for i in sorted(ids))
        return found


def _open_or_before(either: Either) -> datetime | None:
    """X when `either` is "check_out = False, or check_in < X (and more)", else None."""
    for one, other in ((either.left, either.right), (either.right, either.left)):
        if one == ("check_out", "=", False):
            leaves = [other] if isinstance(other, tuple) else other if isinstance(other, list) else []
            bounds = [
                leaf[2]
                for leaf in leaves
                if isinstance(leaf, tuple) and leaf[0] == "check_in" and leaf[1] in ("<", "<=")
            ]
            high = None
            for value in bounds:
                high = _bound(value, high, min) if isinstance(value, str) else high
            return high
    return None


def _bound(text: str, current: datetime | None, pick: Any) -> datetime | None:
    """`current` narrowed by the time `text` (a bound the predicate checks exactly); unchanged when unreadable."""
    try:
        value = to_datetime(text, "check_in")
    except ValueError:
        return current  # the predicate will refuse it with Odoo's words
    if value is None:
        return current
    return value if current is None else pick(current, value)
