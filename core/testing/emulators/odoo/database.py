"""One emulated Odoo database: `hr.employee` and `hr.attendance` with the ORM calls the `odoo` target makes.

Protocol-neutral: `execute` runs one ORM call (`search_read`, `search_count`, `read`, `create`,
`write`, `unlink`) in its own transaction, with Odoo's checks and errors; `OdooEmulator` (`server`)
puts the three protocols in front of it. Tests seed employees, plant what a person would change in
Odoo itself (`add_attendance`, `change_attendance`, `delete_attendance`) and inspect what it holds.
"""

from __future__ import annotations

import inspect
import itertools
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from punchbridge.plugin_api import Employee
from punchbridge.testing.emulators.odoo.domain import (
    DEFAULT_COMPANY,
    FIELDS,
    WRITABLE,
    OdooUser,
    Transaction,
    datetime_text,
    naive_utc,
    now,
    put_back,
    restore,
    to_datetime,
    wire_time,
)
from punchbridge.testing.emulators.odoo.errors import (
    AccessDeniedError,
    AccessError,
    BadArgumentsError,
    MissingError,
    NotFoundError,
    ServerError,
    ValidationError,
)
from punchbridge.testing.emulators.odoo.index import IndexedTables

__all__ = ["OdooDatabase"]

_RECORD_METHODS = frozenset({"read", "write", "unlink"})
_METHODS = frozenset({"search_read", "search_count", "read", "create", "write", "unlink"})
_VERBS = {"create": "create", "write": "modify", "unlink": "delete", "read": "read", "search_read": "read"}


class OdooDatabase(IndexedTables):
    """One Odoo database with `hr.employee` and `hr.attendance` (see the module docstring)."""

    def __init__(
        self,
        version: str = "17.0",
        *,
        database: str = "punchbridge",
        login: str = "integration@example.com",
        api_key: str = "odoo-test-api-key",
    ) -> None:
        super().__init__()
        self.version = version
        self.major = int(version.split(".")[0].removeprefix("saas~"))
        self.database = database
        self.users = {2: OdooUser(2, login, api_key)}
        self.lock = threading.RLock()
        self.departments: dict[int, str] = {}
        self.companies: dict[int, str] = {1: DEFAULT_COMPANY}
        self._ids = {model: itertools.count(1) for model in ("hr.employee", "hr.department", "hr.attendance")}
        self._ids["res.company"] = itertools.count(2)
        #: Attendance records created or written (the records a target delivered), committed calls only.
        self.deliveries = 0
        #: Calls per (model, method); ("common", "authenticate") for the login.
        self.calls: Counter[tuple[str, str]] = Counter()
        self.refused: dict[int, str] = {}
        self.denied: set[tuple[str, str]] = set()
        self._transaction = Transaction()

    @property
    def api_key(self) -> str:
        """The API key of the integration user."""
        return self.users[2].api_key

    @property
    def login(self) -> str:
        """The login of the integration user."""
        return self.users[2].login

    def seed_employees(self, employees: Iterable[Employee], *, barcode_from: str = "target_id") -> list[int]:
        """Add `employees`; their barcode is `target_id` (or `badge`). Returns their hr.employee ids.

        pin, email (work_email), department, site (the company), active and modified_at (write_date)
        are taken over; departments and companies are created by name as needed.
        """
        ids = []
        with self.lock:
            for employee in employees:
                barcode = employee.target_id if barcode_from == "target_id" else employee.badge
                if barcode and any(e["barcode"] == barcode for e in self.employees.values()):
                    raise ValueError(f"barcode {barcode!r} is already an employee's")
                new_id = next(self._ids["hr.employee"])
                stamp = naive_utc(employee.modified_at)
                self.employees[new_id] = {
                    "id": new_id,
                    "name": employee.name,
                    "barcode": barcode or None,
                    "pin": employee.pin,
                    "work_email": employee.email,
                    "department_id": self._named("hr.department", self.departments, employee.department),
                    "company_id": self._named("res.company", self.companies, employee.site) or 1,
                    "active": employee.active,
                    "create_date": stamp,
                    "write_date": stamp,
                }
                ids.append(new_id)
        return ids

    def replace_employees(self, employees: Iterable[Employee], *, barcode_from: str = "target_id") -> list[int]:
        """Remove every employee and attendance, then seed `employees`."""
        with self.lock:
            self.employees.clear()
            self.attendance.clear()
            self._by_employee.clear()
            self._open.clear()
            return self.seed_employees(employees, barcode_from=barcode_from)

    def _named(self, model: str, table: dict[int, str], name: str | None) -> int | None:
        if not name:
            return None
        for key, value in table.items():
            if value == name:
                return key
        key = next(self._ids[model])
        table[key] = name
        return key

    def employee_id(self, barcode: str) -> int:
        """The hr.employee id of the employee with `barcode` (KeyError when none)."""
        for employee in self.employees.values():
            if employee["barcode"] == barcode:
                return int(employee["id"])
        raise KeyError(barcode)

    def refuse_employee(self, employee_id: int, message: str | None = None) -> str:
        """Make every create or write of `employee_id`'s attendance a ValidationError; returns its message."""
        name = self.employees[employee_id]["name"]
        text = message or f"Attendance of {name} is locked: the employee's timesheet period is closed."
        self.refused[employee_id] = text
        return text

    def deny(self, model: str, method: str) -> None:
        """Make `method` on `model` an AccessError for the integration user."""
        self.denied.add((model, method))

    def add_attendance(
        self, employee_id: int, check_in: datetime | str, check_out: datetime | str | None = None
    ) -> int:
        """Create an attendance as an Odoo user would (same constraints, one transaction); returns its id.

        Times are naive UTC (`datetime` or Odoo's `YYYY-MM-DD HH:MM:SS`); an aware `datetime` is converted.
        """
        values = {"employee_id": employee_id, "check_in": wire_time(check_in), "check_out": wire_time(check_out)}
        return int(self._execute(2, "hr.attendance", "create", None, {}, positional=[values]))

    def change_attendance(self, attendance_id: int, **values: Any) -> None:
        """Write fields of an attendance as an Odoo user would (e.g. `check_in=...`; times as in add_attendance)."""
        wire = {
            name: wire_time(value) if name in ("check_in", "check_out") else value for name, value in values.items()
        }
        self._execute(2, "hr.attendance", "write", [attendance_id], {}, positional=[wire])

    def delete_attendance(self, attendance_id: int) -> None:
        """Delete an attendance as an Odoo user would (MissingError when there is none)."""
        self._execute(2, "hr.attendance", "unlink", [attendance_id], {})

    def attendances(self, employee_id: int | None = None) -> list[dict[str, Any]]:
        """The attendance records (of one employee), by check-in, as `search_read` would give them."""
        with self.lock:
            rows = [a for a in self.attendance.values() if employee_id is None or a["employee_id"] == employee_id]
            rows.sort(key=lambda a: (a["check_in"], a["id"]))
            return [self._row("hr.attendance", a, list(FIELDS["hr.attendance"])) for a in rows]

    def _version(self) -> dict[str, Any]:
        major, _, minor = self.version.partition(".")
        info = [int(major.removeprefix("saas~")), int(minor or 0), 0, "final", 0, ""]
        return {
            "server_version": self.version,
            "server_version_info": info,
            "server_serie": self.version,
            "protocol_version": 1,
        }

    def _service(self, service: str, method: str, args: list[Any]) -> Any:
        if service == "common":
            self.calls[("common", method)] += 1
            if method == "version":
                return self._version()
            if method in ("authenticate", "login"):
                database, login, key = [*args, None, None, None][:3]
                self._check_database(database)
                user = next((u for u in self.users.values() if u.login == login and u.api_key == key), None)
                return user.uid if user is not None else False
            raise ServerError("builtins.AttributeError", f"The method {method!r} does not exist on service common")
        if service == "object" and method in ("execute_kw", "execute"):
            if len(args) < 5:
                raise ServerError("builtins.TypeError", f"{method}() takes at least 5 arguments ({len(args)} given)")
            database, uid, key, model, name = args[:5]
            self._check_database(database)
            user = self.users.get(uid) if isinstance(uid, int) else None
            if user is None or user.api_key != key:
                raise AccessDeniedError()
            self.calls[(model, name)] += 1
            if method == "execute":
                positional, keywords = list(args[5:]), {}
            else:
                positional = list(args[5]) if len(args) > 5 and isinstance(args[5], list) else []
                keywords = dict(args[6]) if len(args) > 6 and isinstance(args[6], dict) else {}
            ids = None
            if name in _RECORD_METHODS and positional:
                ids, positional = positional[0], positional[1:]
            return self._execute(user.uid, model, name, ids, keywords, positional=positional)
        raise ServerError("builtins.KeyError", f"unknown service or method: {service}.{method}")

    def _check_database(self, database: Any) -> None:
        if database != self.database:
            raise ServerError("psycopg2.OperationalError", f'FATAL:  database "{database}" does not exist')

    def _execute(
        self,
        uid: int,
        model: str,
        method: str,
        ids: Any,
        keywords: dict[str, Any],
        *,
        positional: Sequence[Any] = (),
        named_only: bool = False,
    ) -> Any:
        """Run one ORM call in its own transaction."""
        if model == "res.users" and method == "context_get":
            return {"lang": "en_US", "tz": "UTC", "uid": uid}
        if model not in FIELDS:
            if named_only:
                raise NotFoundError(f"model {model!r} does not exist")
            raise ServerError("builtins.KeyError", repr(model))
        function = getattr(self, f"_m_{method}", None)
        if function is None or method not in _METHODS:
            if named_only:
                raise NotFoundError(f"method {method!r} does not exist on model {model!r}")
            raise ServerError("builtins.AttributeError", f"The method '{model}.{method}' does not exist")
        if method in _RECORD_METHODS:
            if ids is None:
                raise (BadArgumentsError if named_only else TypeError)(f"{method}() needs the record ids")
            positional = [ids, *positional]
        elif ids:
            raise (BadArgumentsError if named_only else TypeError)(f"{method}() is a model method: it takes no ids")
        keywords.pop("context", None)
        try:
            bound = inspect.signature(function).bind(model, *positional, **keywords)
        except TypeError as exc:
            if named_only:
                raise BadArgumentsError(str(exc)) from None
            raise
        if (model, method) in self.denied:
            raise AccessError(
                f"You are not allowed to {_VERBS.get(method, method)} '{model}' records. This operation is allowed "
                "for the following groups: Attendances / Officer: Manage all attendances"
            )
        with self.lock:
            self._transaction = Transaction()
            try:
                return function(*bound.args, **bound.kwargs)
            except BaseException:
                self._transaction.rollback()
                raise

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

    def _m_search_count(self, model: str, domain: Any = None, limit: int | None = None) -> int:
        return len(self._search(model, domain, 0, limit, None))

    def _m_read(self, model: str, ids: Any, fields: Any = None, load: str = "_classic_read") -> list[dict[str, Any]]:
        names = self._field_names(model, fields)
        return [self._row(model, record, names) for record in self._browse(model, ids)]

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
        transaction = self._transaction
        if not isinstance(vals, dict):
            raise ValueError(f"write() takes a dict of values, not {type(vals).__name__}")
        records = self._browse(model, ids)
        changes = self._convert(model, vals, creating=False)
        stamp = now()
        for record in records:
            if model == "hr.attendance":
                employee = changes.get("employee_id", record["employee_id"])
                if employee in self.refused:
                    raise ValidationError(self.refused[employee])
                self._move_attendance(record, changes, stamp, transaction)
            else:
                self._check_unique_barcode(changes.get("barcode"), record["id"])
                transaction.undo.append(restore(record))
                record.update(changes, write_date=stamp)
        if model == "hr.attendance":
            for record in records:
                self._check_attendance(record)
            self._count_deliveries(len(records), transaction)
        return True

    def _m_unlink(self, model: str, ids: Any) -> bool:
        transaction = self._transaction
        for record in self._browse(model, ids):
            if model == "hr.attendance":
                self._index_remove(record, transaction)
            table = self._table(model)
            del table[record["id"]]
            transaction.undo.append(put_back(table, record))
        return True

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
                "User: 2)"
            )
        return [table[i] for i in ids]

    def _field_names(self, model: str, fields: Any) -> list[str]:
        if fields is None or fields == []:
            return list(FIELDS[model])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise ValueError(f"fields must be a list of field names, not {fields!r}"[:300])
        for name in fields:
            if name not in FIELDS[model]:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
        return ["id", *(f for f in fields if f != "id")]

    def _row(self, model: str, record: dict[str, Any], names: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name in names:
            kind = FIELDS[model][name]
            if name == "worked_hours":
                out = record["check_out"]
                row[name] = (out - record["check_in"]).total_seconds() / 3600 if out is not None else 0.0
            elif kind == "many2one":
                row[name] = self._many2one(name, record[name])
            elif kind == "datetime":
                row[name] = datetime_text(record[name])
            elif kind == "char":
                row[name] = record[name] if record[name] else False
            else:
                row[name] = record[name]
        return row

    def _many2one(self, field: str, value: int | None) -> list[Any] | bool:
        if value is None:
            return False
        if field == "employee_id":
            return [value, self.employees[value]["name"]] if value in self.employees else [value, f"#{value}"]
        names = self.departments if field == "department_id" else self.companies
        return [value, names.get(value, f"#{value}")]

    def _convert(self, model: str, vals: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """Field values as stored, checked as Odoo checks them (unknown field, wrong type, bad datetime)."""
        stored: dict[str, Any] = {}
        for name, value in vals.items():
            if name not in FIELDS[model]:
                raise ValueError(f"Invalid field {name!r} in {model!r}")
            if name not in WRITABLE[model]:
                continue  # computed or magic fields: Odoo recomputes them
            kind = FIELDS[model][name]
            if kind == "datetime":
                stored[name] = to_datetime(value, name)
            elif kind == "many2one":
                if value is False or value is None:
                    stored[name] = None
                elif isinstance(value, int) and not isinstance(value, bool):
                    stored[name] = value
                else:
                    raise ValueError(f"Wrong value for {model}.{name}: {value!r}"[:300])
            elif kind == "boolean":
                stored[name] = bool(value)
            elif value is False or value is None:
                stored[name] = None
            elif isinstance(value, str):
                stored[name] = value
            else:
                raise ValueError(f"Wrong value for {model}.{name}: {value!r}"[:300])
        return stored

    def _create_one(self, model: str, vals: dict[str, Any], transaction: Transaction) -> dict[str, Any]:
        stored = self._convert(model, vals, creating=True)
        stamp = now()
        new_id = next(self._ids[model])
        if model == "hr.employee":
            if not stored.get("name"):
                raise ValidationError("The operation cannot be completed: a mandatory field is not set (Name).")
            self._check_unique_barcode(stored.get("barcode"), new_id)
            record: dict[str, Any] = {name: None for name in FIELDS[model]}
            record.update(active=True, company_id=1, create_date=stamp, write_date=stamp)
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
        record = {
            "id": new_id,
            "employee_id": employee,
            "check_in": stored["check_in"],
            "check_out": stored.get("check_out"),
            "create_date": stamp,
            "write_date": stamp,
        }
        self.attendance[new_id] = record
        transaction.undo.append(lambda: self.attendance.pop(new_id, None))
        self._index_add(record, transaction)
        return record

    def _check_unique_barcode(self, barcode: str | None, own_id: int) -> None:
        if barcode and any(e["barcode"] == barcode and e["id"] != own_id for e in self.employees.values()):
            raise ValidationError("The Badge ID must be unique, this one is already assigned to another employee.")

    def _count_deliveries(self, count: int, transaction: Transaction) -> None:
        self.deliveries += count

        def undo() -> None:
            self.deliveries -= count

        transaction.undo.append(undo)
