"""The ORM methods the emulated database answers, each in one transaction with Odoo's checks and errors.

`search_read`, `search`, `search_count`, `read`, `fields_get`, `create`, `write`, `unlink`, and the
access questions a client may ask without writing (`check_access_rights` before 19.0, `has_access`
from 18.0, where 18.0 deprecates the former: "check_access_rights() is deprecated since 18.0; use
check_access() instead"; which versions keep which is inferred, not read in a release branch).

Values as Odoo stores and shows them: naive-UTC datetimes as `YYYY-MM-DD HH:MM:SS`, False for an
empty field, `[id, name]` for a many2one; `create_uid`/`write_uid` the user making the call;
`in_mode`/`out_mode` default `manual` (17.0 on). `worked_hours` as the version computes it
(addons/hr_attendance/models/hr_attendance.py `_compute_worked_hours`): check-out minus check-in in
16.0 and 19.0; minus the working schedule's lunch in 17.0 and 18.0 (`_attendance_intervals_batch(...,
lunch=True)`; 18.0 unless the employee is flexible). The emulator's schedule is Odoo's default
"Standard 40 hours/week": lunch 12:00-13:00, Monday to Friday, in the employee's time zone.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.testing.emulators.odoo.accounts import INTEGRATION, OdooUser, api_key_rows, user_rows
from punchbridge.testing.emulators.odoo.domain import Transaction, datetime_text, now, put_back, restore, to_datetime
from punchbridge.testing.emulators.odoo.errors import AccessError, MissingError, ValidationError
from punchbridge.testing.emulators.odoo.index import IndexedTables
from punchbridge.testing.emulators.odoo.schema import Schema

__all__ = ["LUNCH", "OPERATIONS", "OrmMethods", "worked_hours"]

#: The lunch break of Odoo's default working schedule (resource_calendar_std: 12:00-13:00, Monday to Friday).
LUNCH = (time(12), time(13))
#: The access operation each method needs (what `deny` refuses).
OPERATIONS = {
    "search_read": "read",
    "search": "read",
    "search_count": "read",
    "read": "read",
    "create": "create",
    "write": "write",
    "unlink": "unlink",
}
_MODEL_NAMES = {
    "hr.attendance": "Attendance",
    "hr.employee": "Employee",
    "res.users": "User",
    "res.users.apikeys": "Users API Keys",
}
_VERBS = {"create": "create", "write": "modify", "unlink": "delete", "read": "read"}


def worked_hours(check_in: datetime, check_out: datetime | None, tz: str, major: int) -> float:
    """`worked_hours` of an attendance as Odoo `major` computes it (module docstring); 0.0 while open."""
    if check_out is None:
        return 0.0
    seconds = (check_out - check_in).total_seconds()
    if major in (17, 18):
        zone = ZoneInfo(tz or "UTC")
        start, end = check_in.replace(tzinfo=UTC).astimezone(zone), check_out.replace(tzinfo=UTC).astimezone(zone)
        day: date = start.date()
        while day <= end.date():
            if day.weekday() < 5:
                lunch_start, lunch_end = (datetime.combine(day, moment, zone) for moment in LUNCH)
                seconds -= max(0.0, (min(end, lunch_end) - max(start, lunch_start)).total_seconds())
            day += timedelta(days=1)
    return seconds / 3600


class OrmMethods(IndexedTables):
    """The ORM calls of one database (a base of `OdooDatabase`, which routes the protocols' calls here)."""

    def __init__(self, schema: Schema, major: int, users: dict[int, OdooUser]) -> None:
        super().__init__(schema)
        self.major = major
        self.users = users
        #: The user making the current call.
        self.caller = INTEGRATION
        #: (model, operation) the integration user may not do (`deny`).
        self.denied: set[tuple[str, str]] = set()
        #: hr.employee id -> the message every create or write of their attendance is refused with.
        self.refused: dict[int, str] = {}
        #: Attendance records created or written (the records a target delivered), committed calls only.
        self.deliveries = 0
        self.departments: dict[int, str] = {}
        self.companies: dict[int, str] = {}
        self._sequences = {model: itertools.count(1) for model in ("hr.employee", "hr.department", "hr.attendance")}
        self._sequences["res.company"] = itertools.count(2)  # company 1 exists from the start
        self._transaction = Transaction()

    # -- access -----------------------------------------------------------------------------------

    def _allowed(self, model: str, operation: str) -> bool:
        return self.caller != INTEGRATION or (model, operation) not in self.denied

    def _check_access(self, model: str, operation: str) -> None:
        if not self._allowed(model, operation):
            raise AccessError(
                f"You are not allowed to {_VERBS.get(operation, operation)} '{_MODEL_NAMES.get(model, model)}' "
                f"({model}) records.\n\nThis operation is allowed for the following groups:\n"
                "\t- Attendances/Officer: Manage all attendances\n\nContact your administrator to request access "
                "if necessary."
            )

    def _m_check_access_rights(self, model: str, operation: str, raise_exception: bool = True) -> bool:
        if raise_exception:
            self._check_access(model, operation)
        return self._allowed(model, operation)

    def _m_has_access(self, model: str, operation: str) -> bool:
        return self._allowed(model, operation)

    # -- reading ----------------------------------------------------------------------------------

    def _table(self, model: str) -> dict[int, dict[str, Any]]:
        if model == "res.users":
            return user_rows(self.users.values(), self.major)
        if model == "res.users.apikeys":
            return api_key_rows(self.users.values(), self.caller)
        return super()._table(model)

    def _m_fields_get(self, model: str, allfields: Any = None, attributes: Any = None) -> dict[str, dict[str, Any]]:
        for value, what in ((allfields, "allfields"), (attributes, "attributes")):
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"fields_get(): {what} must be a list of names, not {value!r}"[:300])
        return self.schema.fields_get(model, allfields, attributes)

    def _m_search_read(
        self,
        model: str,
        domain: Any = None,
        fields: Any = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[dict[str, Any]]:
        names = self._field_names(model, fields)
        found = self._search(model, domain, offset, limit, order)
        return [self._row(model, record, names) for record in found]

    def _m_search(
        self, model: str, domain: Any = None, offset: int = 0, limit: int | None = None, order: str | None = None
    ) -> list[int]:
        return [record["id"] for record in self._search(model, domain, offset, limit or None, order or None)]

    def _m_search_count(self, model: str, domain: Any = None, limit: int | None = None) -> int:
        return len(self._search(model, domain, 0, limit, None))

    def _m_read(self, model: str, ids: Any, fields: Any = None, load: str = "_classic_read") -> list[dict[str, Any]]:
        names = self._field_names(model, fields)
        return [self._row(model, record, names) for record in self._browse(model, ids)]

    def _browse(self, model: str, ids: Any) -> list[dict[str, Any]]:
        if isinstance(ids, int) and not isinstance(ids, bool):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValueError(f"record ids must be a list of integers, not {ids!r}"[:300])
        table = self._table(model)
        missing = [i for i in ids if i not in table]
        if missing:
            raise MissingError(
                f"Record does not exist or has been deleted.\n(Record: {model}({', '.join(map(str, missing))},), "
                f"User: {self.caller})"
            )
        return [table[i] for i in ids]

    def _field_names(self, model: str, fields: Any) -> list[str]:
        if fields is None or fields == []:
            return self.schema.names(model)
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise ValueError(f"fields must be a list of field names, not {fields!r}"[:300])
        for name in fields:
            if self.schema.kind(model, name) is None:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
        return ["id", *(f for f in fields if f != "id")]

    def _row(self, model: str, record: dict[str, Any], names: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name in names:
            kind = self.schema.kind(model, name)
            value = record.get(name)
            if model == "hr.attendance" and name == "worked_hours":
                tz = self.employees.get(record["employee_id"], {}).get("tz") or "UTC"
                row[name] = worked_hours(record["check_in"], record["check_out"], tz, self.major)
            elif kind == "many2one":
                row[name] = self._many2one(name, value)
            elif kind == "datetime":
                row[name] = datetime_text(value)
            elif kind in ("char", "selection"):
                row[name] = value if value else False
            elif kind == "one2many":
                row[name] = list(value or [])
            else:
                row[name] = value
        return row

    def _many2one(self, field: str, value: int | None) -> list[Any] | bool:
        if value is None:
            return False
        if field == "employee_id":
            return [value, self.employees[value]["name"]] if value in self.employees else [value, f"#{value}"]
        if field in ("create_uid", "write_uid", "user_id"):
            user = self.users.get(value)
            return [value, (user.name or user.login) if user is not None else f"#{value}"]
        names = self.departments if field == "department_id" else self.companies
        return [value, names.get(value, f"#{value}")]

    # -- writing ----------------------------------------------------------------------------------

    def _m_create(self, model: str, vals_list: Any) -> Any:
        transaction = self._transaction
        single = isinstance(vals_list, dict)
        rows = [vals_list] if single else vals_list
        if not isinstance(rows, list) or not all(isinstance(v, dict) for v in rows):
            raise ValueError(f"create() takes a dict or a list of dicts, not {type(vals_list).__name__}")
        created = [self._create_one(model, vals, transaction) for vals in rows]
        if model == "hr.attendance":
            for record in created:
                self._check_attendance(record)
            self._count_deliveries(len(created), transaction)
        ids = [record["id"] for record in created]
        return ids[0] if single else ids

    def _m_write(self, model: str, ids: Any, vals: Any) -> bool:
        self._writable_model(model, "write")
        transaction = self._transaction
        if not isinstance(vals, dict):
            raise ValueError(f"write() takes a dict of values, not {type(vals).__name__}")
        records = self._browse(model, ids)
        changes = self._convert(model, vals)
        stamp = now()
        for record in records:
            if model == "hr.attendance":
                employee = changes.get("employee_id", record["employee_id"])
                if employee in self.refused:
                    raise ValidationError(self.refused[employee])
                own = dict(changes, write_uid=self.caller)
                if self.major == 18:
                    # 18.0 `write`: writing a check-out (check-in) of a 'technical' attendance makes its
                    # out_mode (in_mode) 'manual' (odoo/odoo@1f535321 hr_attendance.py).
                    for moment, mode in (("check_out", "out_mode"), ("check_in", "in_mode")):
                        if own.get(moment) and record.get(mode) == "technical" and mode not in changes:
                            own[mode] = "manual"
                self._move_attendance(record, own, stamp, transaction)
            else:
                self._check_unique_barcode(changes.get("barcode"), record["id"])
                transaction.undo.append(restore(record))
                record.update(changes, write_date=stamp, write_uid=self.caller)
        if model == "hr.attendance":
            for record in records:
                self._check_attendance(record)
            self._count_deliveries(len(records), transaction)
        return True

    def _m_unlink(self, model: str, ids: Any) -> bool:
        self._writable_model(model, "unlink")
        transaction = self._transaction
        for record in self._browse(model, ids):
            if model == "hr.attendance":
                self._index_remove(record, transaction)
            table = self._table(model)
            del table[record["id"]]
            transaction.undo.append(put_back(table, record))
        return True

    def _convert(self, model: str, vals: dict[str, Any]) -> dict[str, Any]:
        """Field values as stored, checked as Odoo checks them (unknown field, wrong type, bad datetime or choice)."""
        stored: dict[str, Any] = {}
        for name, value in vals.items():
            spec = self.schema.fields[model].get(name)
            if spec is None:
                raise ValueError(f"Invalid field {name!r} in {model!r}")
            if name not in self.schema.writable.get(model, ()):
                continue  # computed or magic fields: Odoo recomputes them
            if spec.type == "datetime":
                stored[name] = to_datetime(value, name)
            elif spec.type == "many2one":
                if value is False or value is None:
                    stored[name] = None
                elif isinstance(value, int) and not isinstance(value, bool):
                    stored[name] = value
                else:
                    raise ValueError(f"Wrong value for {model}.{name}: {value!r}"[:300])
            elif spec.type == "boolean":
                stored[name] = bool(value)
            elif value is False or value is None:
                stored[name] = None
            elif spec.type == "selection" and value not in {key for key, _ in spec.selection}:
                raise ValueError(f"Wrong value for {model}.{name}: {value!r}"[:300])
            elif isinstance(value, str):
                stored[name] = value
            else:
                raise ValueError(f"Wrong value for {model}.{name}: {value!r}"[:300])
        return stored

    def _create_one(self, model: str, vals: dict[str, Any], transaction: Transaction) -> dict[str, Any]:
        self._writable_model(model, "create")
        stored = self._convert(model, vals)
        stamp = now()
        new_id = self._next_id(model)
        log = {"create_date": stamp, "write_date": stamp, "create_uid": self.caller, "write_uid": self.caller}
        if model == "hr.employee":
            if not stored.get("name"):
                raise ValidationError("The operation cannot be completed: a mandatory field is not set (Name).")
            self._check_unique_barcode(stored.get("barcode"), new_id)
            record: dict[str, Any] = dict.fromkeys(self.schema.names(model))
            record.update(active=True, company_id=1, tz="UTC", **log)
            record.update(stored, id=new_id)
            self.employees[new_id] = record
            transaction.undo.append(lambda: self.employees.pop(new_id, None))
            return record
        employee = stored.get("employee_id")
        if employee is None:
            raise ValidationError("The operation cannot be completed: a mandatory field is not set (Employee).")
        if employee in self.refused:
            raise ValidationError(self.refused[employee])
        if stored.get("check_in") is None:
            raise ValidationError("The operation cannot be completed: a mandatory field is not set (Check In).")
        record = {"id": new_id, "employee_id": employee, "check_in": stored["check_in"]}
        record["check_out"] = stored.get("check_out")
        if self.major >= 17:
            record["in_mode"] = stored.get("in_mode") or "manual"
            record["out_mode"] = stored.get("out_mode") or "manual"
        record.update(log)
        self.attendance[new_id] = record
        transaction.undo.append(lambda: self.attendance.pop(new_id, None))
        self._index_add(record, transaction)
        return record

    def _next_id(self, model: str) -> int:
        """The next id of `model`'s sequence (ids are never reused, as PostgreSQL's sequences)."""
        return next(self._sequences[model])

    def _writable_model(self, model: str, operation: str) -> None:
        if model not in ("hr.employee", "hr.attendance"):
            raise AccessError(
                f"You are not allowed to {_VERBS[operation]} '{_MODEL_NAMES.get(model, model)}' ({model}) records."
            )

    def _check_unique_barcode(self, barcode: str | None, own_id: int) -> None:
        if barcode and any(e["barcode"] == barcode and e["id"] != own_id for e in self.employees.values()):
            raise ValidationError("The Badge ID must be unique, this one is already assigned to another employee.")

    def _count_deliveries(self, count: int, transaction: Transaction) -> None:
        self.deliveries += count

        def undo() -> None:
            self.deliveries -= count

        transaction.undo.append(undo)
