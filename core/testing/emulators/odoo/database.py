"""One emulated Odoo database: the `common` and `object` services, each ORM call in its own transaction.

Protocol-neutral: `_service` answers `common` (version, login, authenticate) and `object`
(`execute`, `execute_kw`); `_execute` runs one ORM call (`orm`) as a user, with Odoo's checks and
errors; `OdooEmulator` (`server`) puts the protocols in front of it. Tests seed employees, plant
what a person would change in Odoo itself (`add_attendance`, `change_attendance`,
`delete_attendance`; `others` adds the kiosk, the officer and the crons) and inspect what it holds.
"""

from __future__ import annotations

import inspect
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from punchbridge.plugin_api import Employee
from punchbridge.testing.emulators.odoo.accounts import (
    EXPIRY_SINCE,
    INTEGRATION,
    key_works,
    standard_users,
)
from punchbridge.testing.emulators.odoo.domain import DEFAULT_COMPANY, Transaction, naive_utc, now, wire_time
from punchbridge.testing.emulators.odoo.errors import (
    AccessDeniedError,
    BadArgumentsError,
    NotFoundError,
    ServerError,
)
from punchbridge.testing.emulators.odoo.orm import OPERATIONS, OrmMethods
from punchbridge.testing.emulators.odoo.schema import schema_for

__all__ = ["OdooDatabase"]

_RECORD_METHODS = frozenset({"read", "write", "unlink"})
#: Methods that run on records but may be called without any (an empty recordset), as JSON-2 allows.
_EMPTY_RECORDSET_METHODS = frozenset({"has_access"})
#: The first version with `has_access`, and the first without `check_access_rights` (inferred; see `orm`).
HAS_ACCESS_SINCE, CHECK_ACCESS_RIGHTS_UNTIL = 18, 18


class OdooDatabase(OrmMethods):
    """One Odoo database with `hr.employee`, `hr.attendance`, `res.users` (see the module docstring)."""

    def __init__(
        self,
        version: str = "17.0",
        *,
        database: str = "punchbridge",
        login: str = "integration@example.com",
        api_key: str = "odoo-test-api-key",
    ) -> None:
        major = int(version.split(".")[0].removeprefix("saas~"))
        super().__init__(schema_for(major), major, standard_users(login, api_key))
        self.version = version
        self.database = database
        self.lock = threading.RLock()
        self.companies[1] = DEFAULT_COMPANY
        #: Calls per (model, method); ("common", "authenticate") for the login.
        self.calls: Counter[tuple[str, str]] = Counter()

    @property
    def api_key(self) -> str:
        """The API key of the integration user."""
        key = self.users[INTEGRATION].api_key
        assert key is not None
        return key

    @property
    def login(self) -> str:
        """The login of the integration user."""
        return self.users[INTEGRATION].login

    def seed_employees(
        self, employees: Iterable[Employee], *, barcode_from: str = "target_id", tz: str = "UTC"
    ) -> list[int]:
        """Add `employees`; their barcode is `target_id` (or `badge`). Returns their hr.employee ids.

        pin, email (work_email), department, site (the company), active and modified_at (write_date)
        are taken over; departments and companies are created by name as needed. `tz` is each one's
        time zone (the working schedule's: which local day, and lunch, an attendance falls in).
        """
        ids = []
        with self.lock:
            for employee in employees:
                barcode = employee.target_id if barcode_from == "target_id" else employee.badge
                if barcode and any(e["barcode"] == barcode for e in self.employees.values()):
                    raise ValueError(f"barcode {barcode!r} is already an employee's")
                new_id = self._next_id("hr.employee")
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
                    "tz": tz,
                    "create_date": stamp,
                    "write_date": stamp,
                    "create_uid": INTEGRATION,
                    "write_uid": INTEGRATION,
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
        key = self._next_id(model)
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
        """Make `method` on `model` (and every method of the same access operation) an AccessError for the
        integration user: `deny("hr.attendance", "create")` also makes `has_access("create")` False."""
        self.denied.add((model, OPERATIONS.get(method, method)))

    def set_api_key_expiry(self, expires: datetime | None, *, uid: int = INTEGRATION) -> None:
        """Give the user's API key an expiration date (naive UTC or aware), as Odoo 18.0 and later keep one.

        ValueError before 18.0: keys did not expire then.
        """
        if self.major < EXPIRY_SINCE:
            raise ValueError(f"Odoo {self.version} has no API key expiry (it came with 18.0)")
        with self.lock:
            self.users[uid].api_key_expires = naive_utc(expires) if expires is not None else None

    def run_autovacuum(self) -> int:
        """Odoo's `_gc_user_apikeys` (18.0 on): delete the keys past their expiration date; how many."""
        removed = 0
        with self.lock:
            for user in self.users.values():
                expires = user.api_key_expires
                if self.major >= EXPIRY_SINCE and user.api_key is not None and expires is not None and expires < now():
                    user.api_key, removed = None, removed + 1
        return removed

    def add_attendance(
        self,
        employee_id: int,
        check_in: datetime | str,
        check_out: datetime | str | None = None,
        *,
        uid: int = INTEGRATION,
        **values: Any,
    ) -> int:
        """Create an attendance as user `uid` would (same constraints, one transaction); returns its id.

        Times are naive UTC (`datetime` or Odoo's `YYYY-MM-DD HH:MM:SS`); an aware `datetime` is
        converted. `values` are other fields (`in_mode="kiosk"`). By default the integration user
        creates it: to plant a record someone else made, use `others` (kiosk, officer, crons).
        """
        fields = {"employee_id": employee_id, "check_in": wire_time(check_in), "check_out": wire_time(check_out)}
        return int(self._execute(uid, "hr.attendance", "create", None, {}, positional=[{**fields, **values}]))

    def change_attendance(self, attendance_id: int, *, uid: int = INTEGRATION, **values: Any) -> None:
        """Write fields of an attendance as user `uid` would (e.g. `check_in=...`; times as in add_attendance)."""
        wire = {
            name: wire_time(value) if name in ("check_in", "check_out") else value for name, value in values.items()
        }
        self._execute(uid, "hr.attendance", "write", [attendance_id], {}, positional=[wire])

    def delete_attendance(self, attendance_id: int, *, uid: int = INTEGRATION) -> None:
        """Delete an attendance as user `uid` would (MissingError when there is none)."""
        self._execute(uid, "hr.attendance", "unlink", [attendance_id], {})

    def attendances(self, employee_id: int | None = None) -> list[dict[str, Any]]:
        """The attendance records (of one employee), by check-in, as `search_read` would give them."""
        with self.lock:
            rows = [a for a in self.attendance.values() if employee_id is None or a["employee_id"] == employee_id]
            rows.sort(key=lambda a: (a["check_in"], a["id"]))
            return [self._row("hr.attendance", a, self.schema.names("hr.attendance")) for a in rows]

    def _version(self) -> dict[str, Any]:
        """`common.version()` (odoo/service/common.py `exp_version`): the server's version and protocol."""
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
                moment = now()
                found = (u for u in self.users.values() if u.login == login and key_works(u, key, self.major, moment))
                user = next(found, None)
                return user.uid if user is not None else False
            raise ServerError("builtins.AttributeError", f"The method {method!r} does not exist on service common")
        if service == "object" and method in ("execute_kw", "execute"):
            if len(args) < 5:
                raise ServerError("builtins.TypeError", f"{method}() takes at least 5 arguments ({len(args)} given)")
            database, uid, key, model, name = args[:5]
            self._check_database(database)
            user = self.users.get(uid) if isinstance(uid, int) else None
            if user is None or not key_works(user, key, self.major, now()):
                raise AccessDeniedError()
            self.calls[(model, name)] += 1
            if method == "execute":
                positional, keywords = list(args[5:]), {}
            else:
                positional = list(args[5]) if len(args) > 5 and isinstance(args[5], list) else []
                keywords = dict(args[6]) if len(args) > 6 and isinstance(args[6], dict) else {}
            ids = None
            if (name in _RECORD_METHODS or name in _EMPTY_RECORDSET_METHODS) and positional:
                ids, positional = positional[0], positional[1:]
            return self._execute(user.uid, model, name, ids, keywords, positional=positional)
        raise ServerError("builtins.KeyError", f"unknown service or method: {service}.{method}")

    def _check_database(self, database: Any) -> None:
        if database != self.database:
            raise ServerError("psycopg2.OperationalError", f'FATAL:  database "{database}" does not exist')

    def _methods(self) -> frozenset[str]:
        """The public ORM methods this version answers."""
        found = {"search_read", "search", "search_count", "read", "create", "write", "unlink", "fields_get"}
        if self.major <= CHECK_ACCESS_RIGHTS_UNTIL:
            found.add("check_access_rights")
        if self.major >= HAS_ACCESS_SINCE:
            found.add("has_access")
        return frozenset(found)

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
        """Run one ORM call as user `uid` in its own transaction."""
        if model == "res.users" and method == "context_get":
            user = self.users[uid]
            return {"lang": "en_US", "tz": user.tz, "uid": uid}
        if model not in self.schema.fields:
            if named_only:
                raise NotFoundError(f"the model {model!r} does not exist")
            raise ServerError("builtins.KeyError", repr(model))
        function = getattr(self, f"_m_{method}", None)
        if function is None or method not in self._methods():
            if named_only:
                raise NotFoundError(f"the method {method!r} does not exist on the model {model!r}")
            raise ServerError("builtins.AttributeError", f"The method '{model}.{method}' does not exist")
        if method in _RECORD_METHODS:
            if ids is None:
                raise (BadArgumentsError if named_only else TypeError)(f"{method}() needs the record ids")
            positional = [ids, *positional]
        elif ids and method not in _EMPTY_RECORDSET_METHODS:
            raise (BadArgumentsError if named_only else TypeError)(f"cannot call {model}.{method} with ids")
        keywords.pop("context", None)
        try:
            bound = inspect.signature(function).bind(model, *positional, **keywords)
        except TypeError as exc:
            if named_only:
                raise BadArgumentsError(str(exc)) from None
            raise
        with self.lock:
            self.caller, self.caller_tz = uid, self.users[uid].tz
            if method in OPERATIONS:
                self._check_access(model, OPERATIONS[method])
            self._transaction = Transaction()
            try:
                return function(*bound.args, **bound.kwargs)
            except BaseException:
                self._transaction.rollback()
                raise
