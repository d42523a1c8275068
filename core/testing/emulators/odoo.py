"""An Odoo server for tests: `hr.employee` and `hr.attendance` over XML-RPC, JSON-RPC and JSON-2.

    emulator = OdooEmulator(version="19.0")
    emulator.seed_employees([Employee(target_id="T-1", name="Asha Rao")])
    with serve(emulator.app) as server:
        ...  # point the `odoo` target at server.url, database emulator.database

It enforces what the `odoo` target relies on, the way Odoo does, so a plugin that passes against it
has met Odoo's rules rather than an emulator's goodwill:

- authentication: `common.authenticate(db, login, key, {})` gives the uid or False; `execute_kw`
  with a wrong uid or key is AccessDenied (XML-RPC fault 3); JSON-2 wants `Authorization: bearer
  KEY` (401 otherwise), named arguments only (422), and answers 404 for an unknown model or method;
  an unknown database is refused. JSON-2 exists from version 19.0 on.
- `hr.attendance` constraints, each a ValidationError: check-out before check-in, an interval
  overlapping another of the same employee, a second open interval, an unknown employee; malformed
  datetimes are a ValueError. Each call is one transaction: one bad row of a `create` list fails the
  call and stores nothing of it.
- Odoo's error shapes: XML-RPC fault codes 1 (application), 2 (user/validation), 3 (access denied),
  4 (access error); JSON-RPC errors inside HTTP 200 with `error.data.name`; JSON-2 status codes with
  a JSON error body.

Tests configure failures on `OdooEmulator` (`refuse_employee`, `fail_next`, `reply_next`, `deny`,
`rate_limit`) and inspect what it holds (`attendances`, `deliveries`, `requests`, `calls`).
"""

from __future__ import annotations

import bisect
import inspect
import itertools
import json
import threading
import time
import xmlrpc.client
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.plugin_api.targets import Employee

__all__ = [
    "AccessDenied",
    "AccessError",
    "MissingError",
    "OdooEmulator",
    "OdooError",
    "UserError",
    "ValidationError",
]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_DEFAULT_COMPANY = "My Company"
_MANY2ONE = {"employee_id": "hr.employee", "department_id": "hr.department", "company_id": "res.company"}
_FIELDS = {
    "hr.employee": {
        "id": "integer",
        "name": "char",
        "barcode": "char",
        "pin": "char",
        "work_email": "char",
        "department_id": "many2one",
        "company_id": "many2one",
        "active": "boolean",
        "create_date": "datetime",
        "write_date": "datetime",
    },
    "hr.attendance": {
        "id": "integer",
        "employee_id": "many2one",
        "check_in": "datetime",
        "check_out": "datetime",
        "worked_hours": "float",
        "create_date": "datetime",
        "write_date": "datetime",
    },
}
_WRITABLE = {
    "hr.employee": {"name", "barcode", "pin", "work_email", "department_id", "company_id", "active"},
    "hr.attendance": {"employee_id", "check_in", "check_out"},
}
_ORDER = {"hr.employee": "name", "hr.attendance": "check_in desc"}
_OPERATORS = {"=", "!=", "in", "not in", "<", "<=", ">", ">="}


# -- Odoo's exceptions, with how each protocol reports them -----------------------------------------


class OdooError(Exception):
    """An error Odoo reports to the caller: its Python name, XML-RPC fault code and JSON-2 status."""

    name = "odoo.exceptions.UserError"
    fault_code = 2
    status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(OdooError):
    """A business rule refused the operation (fault 2, JSON-2 422)."""


class ValidationError(UserError):
    """A constraint refused the values (fault 2, JSON-2 422)."""

    name = "odoo.exceptions.ValidationError"


class MissingError(UserError):
    """The record does not exist or was deleted (fault 2, JSON-2 404)."""

    name = "odoo.exceptions.MissingError"
    status = 404


class AccessError(OdooError):
    """The user may not do this (fault 4, JSON-2 403)."""

    name = "odoo.exceptions.AccessError"
    fault_code = 4
    status = 403


class AccessDenied(OdooError):
    """Wrong login, uid or key (fault 3, JSON-2 401)."""

    name = "odoo.exceptions.AccessDenied"
    fault_code = 3
    status = 401

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class _ServerError(OdooError):
    """Any other exception: fault 1 with a traceback, JSON-2 500."""

    fault_code = 1
    status = 500

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class _NotFound(Exception):
    """JSON-2: no such model, method or database (HTTP 404, werkzeug's NotFound)."""


class _BadArguments(Exception):
    """JSON-2: the arguments do not fit the method (HTTP 422, werkzeug's UnprocessableEntity)."""


def _as_odoo_error(exc: Exception) -> OdooError:
    if isinstance(exc, OdooError):
        return exc
    return _ServerError(f"builtins.{type(exc).__name__}", str(exc))


# -- values ---------------------------------------------------------------------------------------


def _to_datetime(value: Any, field: str) -> datetime | None:
    """Odoo's reading of a datetime value: False/None, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`."""
    if value is False or value is None:
        return None
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"Invalid value {value!r} for the datetime field {field!r}")
    text = value[:19]
    if len(text) == 10:
        text += " 00:00:00"
    return datetime.strptime(text, DATETIME_FORMAT)  # ValueError with Python's words, as in Odoo


def _datetime_text(value: datetime | None) -> str | bool:
    return value.strftime(DATETIME_FORMAT) if value is not None else False


def _wire_time(value: datetime | str | None) -> str | bool:
    """A time as Odoo's wire text (naive UTC), False for none."""
    if value is None:
        return False
    if isinstance(value, datetime):
        return _naive_utc(value).strftime(DATETIME_FORMAT)
    return value


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _naive_utc(value: datetime | None) -> datetime:
    if value is None:
        return _now()
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


@dataclass
class OdooUser:
    """A user of the emulated database: the uid, login and the API key that works as its password."""

    uid: int
    login: str
    api_key: str


class _Transaction:
    """Undo steps of the current call: an error rolls the call back, as Odoo's cursor does."""

    def __init__(self) -> None:
        self.undo: list[Callable[[], object]] = []

    def rollback(self) -> None:
        for step in reversed(self.undo):
            step()
        self.undo.clear()


class OdooEmulator:
    """One Odoo database with `hr.employee` and `hr.attendance`, served by `app` (see the module doc)."""

    def __init__(
        self,
        version: str = "17.0",
        *,
        database: str = "punchbridge",
        login: str = "integration@example.com",
        api_key: str = "odoo-test-api-key",
    ) -> None:
        self.version = version
        self.major = int(version.split(".")[0].removeprefix("saas~"))
        self.database = database
        self.users = {2: OdooUser(2, login, api_key)}
        self.lock = threading.RLock()
        self.employees: dict[int, dict[str, Any]] = {}
        self.departments: dict[int, str] = {}
        self.companies: dict[int, str] = {1: _DEFAULT_COMPANY}
        self.attendance: dict[int, dict[str, Any]] = {}
        self._by_employee: dict[int, list[tuple[datetime, int]]] = {}
        self._open: dict[int, set[int]] = {}
        self._ids = {model: itertools.count(1) for model in ("hr.employee", "hr.department", "hr.attendance")}
        self._ids["res.company"] = itertools.count(2)
        #: Attendance records created or written (the records a target delivered), committed calls only.
        self.deliveries = 0
        #: HTTP requests per endpoint ("/jsonrpc", "/xmlrpc/2/object", "/json/2/hr.attendance/create", ...).
        self.requests: Counter[str] = Counter()
        #: Calls per (model, method); ("common", "authenticate") for the login.
        self.calls: Counter[tuple[str, str]] = Counter()
        self.refused: dict[int, str] = {}
        self.denied: set[tuple[str, str]] = set()
        self._canned: deque[tuple[int, bytes, dict[str, str]]] = deque()
        self._rate: tuple[int, float] | None = None
        self._transaction = _Transaction()
        self._window: deque[float] = deque()
        self.app = Starlette(
            routes=[
                Route("/xmlrpc/2/{service}", self._xmlrpc, methods=["POST"]),
                Route("/jsonrpc", self._jsonrpc, methods=["POST"]),
                Route("/web/webclient/version_info", self._version_info, methods=["POST"]),
                Route("/web/version", self._web_version, methods=["GET"]),
                Route("/json/2/{model}/{method}", self._json2, methods=["POST"]),
            ]
        )

    # -- configuring ------------------------------------------------------------------------------

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
                stamp = _naive_utc(employee.modified_at)
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

    def fail_next(self, count: int, status: int = 503, retry_after: float | None = 1.0) -> None:
        """Answer the next `count` requests with `status` (429/503...) and Retry-After, doing nothing."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        body = f"<html><body><h1>{status}</h1>The server is busy.</body></html>".encode()
        for _ in range(count):
            self._canned.append((status, body, {**headers, "Content-Type": "text/html"}))

    def reply_next(self, body: bytes, *, status: int = 200, content_type: str = "text/html", count: int = 1) -> None:
        """Answer the next `count` requests with this body (a proxy's page, a broken reply), doing nothing."""
        for _ in range(count):
            self._canned.append((status, body, {"Content-Type": content_type}))

    def rate_limit(self, requests: int, per_seconds: float) -> None:
        """Answer 429 with Retry-After to requests beyond `requests` in any `per_seconds` window."""
        self._rate = (requests, per_seconds)

    # -- editing as a user in Odoo would (tests plant what people change in Odoo itself) -------------

    def add_attendance(
        self, employee_id: int, check_in: datetime | str, check_out: datetime | str | None = None
    ) -> int:
        """Create an attendance as an Odoo user would (same constraints, one transaction); returns its id.

        Times are naive UTC (`datetime` or Odoo's `YYYY-MM-DD HH:MM:SS`); an aware `datetime` is converted.
        """
        values = {"employee_id": employee_id, "check_in": _wire_time(check_in), "check_out": _wire_time(check_out)}
        return int(self._execute(2, "hr.attendance", "create", None, {}, positional=[values]))

    def change_attendance(self, attendance_id: int, **values: Any) -> None:
        """Write fields of an attendance as an Odoo user would (e.g. `check_in=...`; times as in add_attendance)."""
        wire = {
            name: _wire_time(value) if name in ("check_in", "check_out") else value for name, value in values.items()
        }
        self._execute(2, "hr.attendance", "write", [attendance_id], {}, positional=[wire])

    def delete_attendance(self, attendance_id: int) -> None:
        """Delete an attendance as an Odoo user would (MissingError when there is none)."""
        self._execute(2, "hr.attendance", "unlink", [attendance_id], {})

    # -- inspecting -------------------------------------------------------------------------------

    def attendances(self, employee_id: int | None = None) -> list[dict[str, Any]]:
        """The attendance records (of one employee), by check-in, as `search_read` would give them."""
        with self.lock:
            rows = [a for a in self.attendance.values() if employee_id is None or a["employee_id"] == employee_id]
            rows.sort(key=lambda a: (a["check_in"], a["id"]))
            return [self._row("hr.attendance", a, list(_FIELDS["hr.attendance"])) for a in rows]

    @property
    def request_count(self) -> int:
        """Every HTTP request received."""
        return sum(self.requests.values())

    # -- HTTP -------------------------------------------------------------------------------------

    def _intercept(self, request: Request) -> Response | None:
        """Count the request; answer it from the injected failures or the rate limit, if any applies."""
        with self.lock:
            self.requests[request.url.path] += 1
            if self._canned:
                status, body, headers = self._canned.popleft()
                return Response(body, status_code=status, headers=headers)
            if self._rate is not None:
                limit, seconds = self._rate
                now = time.monotonic()
                while self._window and self._window[0] <= now - seconds:
                    self._window.popleft()
                if len(self._window) >= limit:
                    wait = max(self._window[0] + seconds - now, 0.01)
                    return Response(b"Too Many Requests", 429, {"Retry-After": f"{wait:.2f}"})
                self._window.append(now)
        return None

    async def _xmlrpc(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        service = request.path_params["service"]
        try:
            params, method = xmlrpc.client.loads(await request.body(), use_builtin_types=True)
        except Exception as exc:  # whatever the parser says, Odoo answers with a fault
            return self._xml_fault(_ServerError("xml.parsers.expat.ExpatError", f"not an XML-RPC call: {exc}"))
        try:
            result = self._service(service, method or "", list(params))
        except Exception as exc:  # every error becomes a fault, as in Odoo
            return self._xml_fault(_as_odoo_error(exc))
        body = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
        return Response(body, media_type="text/xml")

    @staticmethod
    def _xml_fault(error: OdooError) -> Response:
        text = error.message if error.fault_code != 1 else _traceback(error)
        body = xmlrpc.client.dumps(xmlrpc.client.Fault(error.fault_code, text), methodresponse=True)
        return Response(body, media_type="text/xml")

    async def _jsonrpc(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        request_id: Any = None
        try:
            call = json.loads(await request.body())
            request_id = call.get("id") if isinstance(call, dict) else None
            params = call["params"]
            result = self._service(params["service"], params["method"], list(params.get("args", [])))
        except Exception as exc:  # every error goes in the JSON-RPC error member
            error = _as_odoo_error(exc)
            data = {
                "name": error.name,
                "debug": _traceback(error),
                "message": error.message,
                "arguments": [error.message],
                "context": {},
            }
            return JSONResponse(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {"code": 200, "message": "Odoo Server Error", "data": data},
                }
            )
        return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": result})

    async def _version_info(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        return JSONResponse({"jsonrpc": "2.0", "id": None, "result": self._version()})

    async def _web_version(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        if self.major < 19:
            return Response(b"<html><body>404: Not Found</body></html>", 404, media_type="text/html")
        info = self._version()
        return JSONResponse({"version_info": info["server_version_info"], "version": info["server_version"]})

    async def _json2(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        if self.major < 19:
            return Response(b"<html><body>404: Not Found</body></html>", 404, media_type="text/html")
        model, method = request.path_params["model"], request.path_params["method"]
        try:
            uid = self._bearer(request.headers.get("authorization", ""))
            database = request.headers.get("x-odoo-database")
            if database is not None and database != self.database:
                raise _NotFound(f"database {database!r} not found")
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError as exc:
                return _json2_error(400, "werkzeug.exceptions.BadRequest", f"could not parse the body as json: {exc}")
            if not isinstance(body, dict):
                raise _BadArguments("the body must be a JSON object of named arguments; positional ones are not taken")
            self.calls[(model, method)] += 1
            arguments = dict(body)
            ids = arguments.pop("ids", None)
            result = self._execute(uid, model, method, ids, arguments, named_only=True)
        except _NotFound as exc:
            return _json2_error(404, "werkzeug.exceptions.NotFound", str(exc))
        except _BadArguments as exc:
            return _json2_error(422, "werkzeug.exceptions.UnprocessableEntity", str(exc))
        except Exception as exc:  # every error becomes a JSON error body with a status
            error = _as_odoo_error(exc)
            return _json2_error(error.status, error.name, error.message)
        return JSONResponse(result)

    def _bearer(self, header: str) -> int:
        scheme, _, key = header.partition(" ")
        if scheme.lower() == "bearer":
            for user in self.users.values():
                if key.strip() == user.api_key:
                    return user.uid
        raise AccessDenied("Invalid apikey")

    # -- the RPC services --------------------------------------------------------------------------

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
            raise _ServerError("builtins.AttributeError", f"The method {method!r} does not exist on service common")
        if service == "object" and method in ("execute_kw", "execute"):
            if len(args) < 5:
                raise _ServerError("builtins.TypeError", f"{method}() takes at least 5 arguments ({len(args)} given)")
            database, uid, key, model, name = args[:5]
            self._check_database(database)
            user = self.users.get(uid) if isinstance(uid, int) else None
            if user is None or user.api_key != key:
                raise AccessDenied()
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
        raise _ServerError("builtins.KeyError", f"unknown service or method: {service}.{method}")

    def _check_database(self, database: Any) -> None:
        if database != self.database:
            raise _ServerError("psycopg2.OperationalError", f'FATAL:  database "{database}" does not exist')

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
        if model not in _FIELDS:
            if named_only:
                raise _NotFound(f"model {model!r} does not exist")
            raise _ServerError("builtins.KeyError", repr(model))
        function = getattr(self, f"_m_{method}", None)
        if function is None or method not in _METHODS:
            if named_only:
                raise _NotFound(f"method {method!r} does not exist on model {model!r}")
            raise _ServerError("builtins.AttributeError", f"The method '{model}.{method}' does not exist")
        if method in _RECORD_METHODS:
            if ids is None:
                raise (_BadArguments if named_only else TypeError)(f"{method}() needs the record ids")
            positional = [ids, *positional]
        elif ids:
            raise (_BadArguments if named_only else TypeError)(f"{method}() is a model method: it takes no ids")
        keywords.pop("context", None)
        try:
            bound = inspect.signature(function).bind(model, *positional, **keywords)
        except TypeError as exc:
            if named_only:
                raise _BadArguments(str(exc)) from None
            raise
        if (model, method) in self.denied:
            raise AccessError(
                f"You are not allowed to {_VERBS.get(method, method)} '{model}' records. This operation is allowed "
                "for the following groups: Attendances / Officer: Manage all attendances"
            )
        with self.lock:
            self._transaction = _Transaction()
            try:
                return function(*bound.args, **bound.kwargs)
            except BaseException:
                self._transaction.rollback()
                raise

    # -- ORM methods (each takes the model first, then Odoo's parameters) --------------------------

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
        stamp = _now()
        for record in records:
            if model == "hr.attendance":
                employee = changes.get("employee_id", record["employee_id"])
                if employee in self.refused:
                    raise ValidationError(self.refused[employee])
                self._move_attendance(record, changes, stamp, transaction)
            else:
                self._check_unique_barcode(changes.get("barcode"), record["id"])
                transaction.undo.append(_restore(record))
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
            transaction.undo.append(_put_back(table, record))
        return True

    # -- records ----------------------------------------------------------------------------------

    def _table(self, model: str) -> dict[int, dict[str, Any]]:
        return self.employees if model == "hr.employee" else self.attendance

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
            return list(_FIELDS[model])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise ValueError(f"fields must be a list of field names, not {fields!r}"[:300])
        for name in fields:
            if name not in _FIELDS[model]:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
        return ["id", *(f for f in fields if f != "id")]

    def _row(self, model: str, record: dict[str, Any], names: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name in names:
            kind = _FIELDS[model][name]
            if name == "worked_hours":
                out = record["check_out"]
                row[name] = (out - record["check_in"]).total_seconds() / 3600 if out is not None else 0.0
            elif kind == "many2one":
                row[name] = self._many2one(name, record[name])
            elif kind == "datetime":
                row[name] = _datetime_text(record[name])
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
            if name not in _FIELDS[model]:
                raise ValueError(f"Invalid field {name!r} in {model!r}")
            if name not in _WRITABLE[model]:
                continue  # computed or magic fields: Odoo recomputes them
            kind = _FIELDS[model][name]
            if kind == "datetime":
                stored[name] = _to_datetime(value, name)
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

    def _create_one(self, model: str, vals: dict[str, Any], transaction: _Transaction) -> dict[str, Any]:
        stored = self._convert(model, vals, creating=True)
        stamp = _now()
        new_id = next(self._ids[model])
        if model == "hr.employee":
            if not stored.get("name"):
                raise ValidationError("The operation cannot be completed: a mandatory field is not set (Name).")
            self._check_unique_barcode(stored.get("barcode"), new_id)
            record: dict[str, Any] = {name: None for name in _FIELDS[model]}
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

    def _count_deliveries(self, count: int, transaction: _Transaction) -> None:
        self.deliveries += count

        def undo() -> None:
            self.deliveries -= count

        transaction.undo.append(undo)

    # -- attendance index and constraints ----------------------------------------------------------

    def _index_add(self, record: dict[str, Any], transaction: _Transaction) -> None:
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

    def _index_remove(self, record: dict[str, Any], transaction: _Transaction) -> None:
        self._index_drop(record)
        transaction.undo.append(lambda: self._index_add(record, _Transaction()))

    def _move_attendance(
        self, record: dict[str, Any], changes: dict[str, Any], stamp: datetime, transaction: _Transaction
    ) -> None:
        if "check_in" in changes and changes["check_in"] is None:
            raise ValidationError("The operation cannot be completed: a mandatory field is not set (Check In).")
        if "employee_id" in changes and changes["employee_id"] is None:
            raise ValidationError("The operation cannot be completed: a mandatory field is not set (Employee).")
        before = dict(record)
        self._index_drop(record)
        record.update(changes, write_date=stamp)
        self._index_add(record, _Transaction())

        def undo() -> None:
            self._index_drop(record)
            record.clear()
            record.update(before)
            self._index_add(record, _Transaction())

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
                f"{_datetime_text(before_in['check_in'])}"
            )
        if check_out is None:
            others = self._open.get(employee, set()) - {record["id"]}
            if others:
                since = min(self.attendance[i]["check_in"] for i in others)
                raise ValidationError(
                    f"Cannot create new attendance record for {name}, the employee hasn't checked out since "
                    f"{_datetime_text(since)}"
                )
            return
        before_out = self._last_before(entries, (check_out, float("-inf")), record["id"])
        if before_out is not None and before_out is not before_in:
            raise ValidationError(
                f"Cannot create new attendance record for {name}, the employee was already checked in on "
                f"{_datetime_text(before_out['check_in'])}"
            )

    def _last_before(self, entries: list[tuple[datetime, int]], bound: tuple[datetime, float], own: int) -> Any:
        """The latest attendance (by check-in, then id) before `bound`, other than `own`."""
        position = bisect.bisect_left(entries, bound) - 1  # type: ignore[arg-type]
        while position >= 0 and entries[position][1] == own:
            position -= 1
        return self.attendance[entries[position][1]] if position >= 0 else None

    # -- search -----------------------------------------------------------------------------------

    def _search(self, model: str, domain: Any, offset: Any, limit: Any, order: Any) -> list[dict[str, Any]]:
        if domain is None or domain is False:
            domain = []
        if not isinstance(domain, list):
            raise ValueError(f"Invalid domain: {domain!r}"[:300])
        for value, what in ((offset, "offset"), (limit, "limit")):
            if value is not None and value is not False and (not isinstance(value, int) or value < 0):
                raise ValueError(f"Invalid {what}: {value!r}")
        predicate, leaves = _compile(model, domain)
        if model == "hr.employee" and not any(leaf[0] == "active" for leaf in leaves):
            candidates: Iterable[dict[str, Any]] = (e for e in self.employees.values() if e["active"])
        elif model == "hr.attendance":
            candidates = self._attendance_candidates(domain, leaves)
        else:
            candidates = self._table(model).values()
        found = [record for record in candidates if predicate(record)]
        _sort(model, found, order or _ORDER[model])
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


_RECORD_METHODS = frozenset({"read", "write", "unlink"})
_METHODS = frozenset({"search_read", "search_count", "read", "create", "write", "unlink"})
_VERBS = {"create": "create", "write": "modify", "unlink": "delete", "read": "read", "search_read": "read"}


def _traceback(error: OdooError) -> str:
    """A traceback as Odoo sends it: its last line `Name: message`, built-in names without `builtins.`."""
    name = error.name.removeprefix("builtins.")
    return f'Traceback (most recent call last):\n  File "odoo/service/model.py", in retrying\n{name}: {error.message}'


def _json2_error(status: int, name: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"name": name, "message": message, "arguments": [message, status], "context": {}, "debug": ""},
        status_code=status,
    )


def _compile(model: str, domain: list[Any]) -> tuple[Callable[[dict[str, Any]], bool], list[tuple[str, str, Any]]]:
    """A predicate for `domain` (Polish notation, implicit `&`) and its leaves with converted values."""
    leaves: list[tuple[str, str, Any]] = []
    position = 0

    def parse() -> Callable[[dict[str, Any]], bool]:
        nonlocal position
        if position >= len(domain):
            raise ValueError(f"Invalid domain: an operator lacks its operands in {domain!r}"[:300])
        item = domain[position]
        position += 1
        if item in ("&", "|"):
            left, right = parse(), parse()
            if item == "&":
                return lambda r: left(r) and right(r)
            return lambda r: left(r) or right(r)
        if item == "!":
            inner = parse()
            return lambda r: not inner(r)
        leaf = _leaf(model, item)
        leaves.append(leaf)
        return _test(*leaf)

    terms = []
    while position < len(domain):
        terms.append(parse())
    return (lambda r: all(term(r) for term in terms)), leaves


def _leaf(model: str, item: Any) -> tuple[str, str, Any]:
    if not isinstance(item, list | tuple) or len(item) != 3 or not isinstance(item[0], str):
        raise ValueError(f"Invalid leaf {item!r}"[:300])
    field, operator, value = item
    kind = _FIELDS[model].get(field)
    if kind is None:
        raise ValueError(f"Invalid field {model}.{field} in leaf {tuple(item)!r}"[:300])
    if operator not in _OPERATORS:
        raise ValueError(f"Invalid leaf {tuple(item)!r}: unknown operator {operator!r}"[:300])
    if operator in ("in", "not in"):
        if not isinstance(value, list | tuple):
            raise ValueError(f"Invalid leaf {tuple(item)!r}: {operator} takes a list"[:300])
        return field, operator, [_value(kind, field, v) for v in value]
    return field, operator, _value(kind, field, value)


def _value(kind: str, field: str, value: Any) -> Any:
    if kind == "datetime":
        return _to_datetime(value, field)
    if kind == "boolean":
        return bool(value)
    if value is False:
        return None
    return value


def _test(field: str, operator: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    if operator == "in":
        chosen = set(value)
        return lambda r: r[field] in chosen
    if operator == "not in":
        chosen = set(value)
        return lambda r: r[field] not in chosen
    if operator == "=":
        return lambda r: r[field] == value
    if operator == "!=":
        return lambda r: r[field] != value
    if value is None:
        return lambda r: False
    compare = {
        "<": lambda a: a < value,
        "<=": lambda a: a <= value,
        ">": lambda a: a > value,
        ">=": lambda a: a >= value,
    }[operator]
    return lambda r: r[field] is not None and compare(r[field])


def _restore(record: dict[str, Any]) -> Callable[[], None]:
    """An undo step putting `record`'s current values back."""
    before = dict(record)

    def undo() -> None:
        record.clear()
        record.update(before)

    return undo


def _put_back(table: dict[int, dict[str, Any]], record: dict[str, Any]) -> Callable[[], None]:
    """An undo step putting a deleted `record` back in `table`."""

    def undo() -> None:
        table[record["id"]] = record

    return undo


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda r: (r[field] is not None, r[field] if r[field] is not None else 0)


def _sort(model: str, records: list[dict[str, Any]], order: Any) -> None:
    if not isinstance(order, str):
        raise ValueError(f"Invalid order: {order!r}"[:300])
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        words = part.split()
        field = words[0]
        descending = len(words) > 1 and words[1].lower() == "desc"
        if field not in _FIELDS[model] or len(words) > 2:
            raise ValueError(f"Invalid order {order!r}: unknown field {field!r}"[:300])
        records.sort(key=_sort_key(field), reverse=descending)
