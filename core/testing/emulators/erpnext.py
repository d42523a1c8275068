"""An ERPNext / Frappe HR emulator: token auth, Employee Checkin by employee field, Employee and check-in lists.

    emulator = ErpNextEmulator(version=15)
    emulator.seed_employees([Employee("T-1", "Asha Rao", email="asha@example.com")])
    with serve(emulator.app) as server:
        settings = emulator.plugin_settings(server.url)          # for the `erpnext` target

What it enforces, as Frappe HR does, so a plugin that breaks a rule fails here first:

- `Authorization: token {api_key}:{api_secret}` on every call: a wrong key or secret is HTTP 401
  (`AuthenticationError`), no header at all 403 (`PermissionError`, the Guest user); `deny("create")`
  or `deny("read")` takes the API user's permission away (403, "Not permitted ...").
- `POST /api/method/hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field`
  (Frappe HR, `version` 14 and later) or `erpnext.hr.doctype...` (`version` 13; the other path answers
  417 "Failed to get method for command ... with No module named ..."), form or JSON body with
  `employee_field_value`, `timestamp`, `device_id`, `log_type`, `employee_fieldname`. Refusals are HTTP
  417 `ValidationError` with Frappe's `_server_messages` (a JSON list of JSON objects), worded as Frappe
  HR words them: both values required; `employee_fieldname` one of name, employee,
  attendance_device_id (version 15); "No Employee found for the given employee field value. '{field}':
  {value}"; a timestamp not `YYYY-MM-DD HH:MM:SS` (site-local, naive); a log type other than IN/OUT;
  a device id over 140 characters; "Transactions cannot be created for an Inactive Employee {name}." for
  a leaver; "This employee already has a log with the same timestamp.<Br>{link}" for a repeat of
  (employee, time, log_type) (version 13: (employee, time)); and the refusals `refuse_employee` sets up.
  Success is `{"message": {the new Employee Checkin}}`.
- `GET /api/resource/Employee` and `/api/resource/Employee Checkin` with `fields` (JSON list; an unknown
  field is 417 `DataError` "Field not permitted in query"), `filters` (JSON list of `[field, op,
  value]` with `=, !=, <, <=, >, >=, in, not in, is`; or a JSON object of equalities), `order_by`,
  `limit_start` and `limit_page_length` (default 20, as Frappe; 0: all). Replies are `{"data": [...]}`;
  times are site-local naive text.
- `throttle(n, api=...)` answers the next n calls 429 (`TooManyRequestsError`, `Retry-After`), as
  Frappe's rate limiter does; `fail_next` cans any reply; `latency` makes each check-in take that long
  (benchmarks). Every call is counted (`requests`, `calls`).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.plugin_api.targets import Employee

__all__ = ["HRMS_METHOD", "LEGACY_METHOD", "ErpNextEmulator"]

HRMS_METHOD = "hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"
LEGACY_METHOD = "erpnext.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"
LOGGED_USER = "frappe.auth.get_logged_user"
_STATUS = {
    "ValidationError": 417,
    "DataError": 417,
    "CharacterLengthExceededError": 417,
    "DoesNotExistError": 404,
    "PermissionError": 403,
    "AuthenticationError": 401,
    "TooManyRequestsError": 429,
}
_EMPLOYEE_FIELDS = (
    "name", "employee", "employee_name", "first_name", "last_name", "status", "company", "department",
    "company_email", "personal_email", "user_id", "attendance_device_id", "creation", "modified",
)  # fmt: skip
_CHECKIN_FIELDS = (
    "name", "employee", "employee_name", "log_type", "time", "device_id", "skip_auto_attendance", "shift",
    "attendance", "creation", "modified",
)  # fmt: skip
_DATETIME_FIELDS = frozenset({"time", "creation", "modified"})
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?")


class _FrappeError(Exception):
    def __init__(self, exc_type: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.exc_type, self.message, self.headers = exc_type, message, headers or {}


@dataclass
class _Canned:
    status: int
    body: str
    content_type: str


class ErpNextEmulator:
    """The ERPNext emulator (see the module docstring). `app` is the ASGI app to `serve`.

    Configure it with `seed_employees`, `refuse_employee`, `deny`, `throttle` and `fail_next`; inspect it
    with `checkins`, `calls` (per API), `requests`, `log_writes` and `day_writes`.
    """

    def __init__(
        self,
        *,
        version: int = 15,
        timezone: str = "Asia/Kolkata",
        clock: Callable[[], float] = time.time,
        latency: float = 0.0,
    ) -> None:
        self.version = version
        #: Seconds each add_log call takes, as Frappe's validation and database insert do (benchmarks; tests keep 0).
        self.latency = latency
        self.zone = ZoneInfo(timezone)
        self.clock = clock
        self.api_key = secrets.token_hex(8)
        self.api_secret = secrets.token_hex(8)
        self.user = "punchbridge@acme.example"
        self.method = HRMS_METHOD if version >= 14 else LEGACY_METHOD
        self._lock = threading.RLock()
        self._employees: dict[str, dict[str, Any]] = {}
        self._checkins: dict[str, dict[str, Any]] = {}
        self._by_employee: dict[str, list[str]] = {}  # Employee name -> its check-ins' names
        self._index: dict[str, dict[str, dict[str, Any]]] = {}  # fieldname -> value -> Employee
        self._held: dict[tuple[Any, ...], str] = {}  # the duplicate key -> the check-in holding it
        self._refused: dict[str, str] = {}
        self._denied: set[str] = set()
        self._throttled: dict[str | None, deque[int]] = {}
        self._canned: dict[str, deque[_Canned]] = {}
        self._next_employee = 1
        self._next_checkin = 1
        self.requests = 0
        self.calls: Counter[str] = Counter()
        #: add_log calls that reached the duplicate check, by (employee, date, log_type): created or repeated.
        self.log_writes: Counter[tuple[str, date, str]] = Counter()
        self.app = Starlette(
            routes=[
                Route("/api/method/{method:path}", self._method, methods=["GET", "POST"]),
                Route("/api/resource/{doctype:path}", self._resource, methods=["GET"]),
            ]
        )

    # -- configuring ---------------------------------------------------------------------------

    def plugin_settings(self, url: str, **overrides: Any) -> dict[str, Any]:
        """Settings of an `erpnext` target for this emulator at `url`."""
        settings: dict[str, Any] = {
            "url": url,
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "timezone": self.zone.key,
            "checkin_api": "hrms" if self.version >= 14 else "erpnext",
        }
        return {**settings, **overrides}

    def seed_employees(
        self, employees: Iterable[Employee], *, replace: bool = False, key_field: str = "attendance_device_id"
    ) -> None:
        """Add employees (target_id in `key_field`: attendance_device_id, or the document name); `replace`: only these.

        A leaver (`active` False) gets status Left, or `extra["status"]` when given.
        """
        with self._lock:
            if replace:
                self._employees.clear()
            self._index.clear()
            for employee in employees:
                if key_field == "name":
                    name = employee.target_id
                else:
                    name = f"HR-EMP-{self._next_employee:05d}"
                    self._next_employee += 1
                first, _, last = employee.name.partition(" ")
                modified = employee.modified_at or datetime.fromtimestamp(self.clock(), self.zone)
                stamp = modified.astimezone(self.zone).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
                self._employees[name] = {
                    "name": name,
                    "employee": name,
                    "employee_name": employee.name,
                    "first_name": first,
                    "last_name": last or None,
                    "status": str(employee.extra.get("status") or ("Active" if employee.active else "Left")),
                    "company": employee.site or "Acme Manufacturing",
                    "department": employee.department,
                    "company_email": employee.email,
                    "personal_email": None,
                    "user_id": None,
                    "attendance_device_id": employee.target_id if key_field != "name" else employee.badge,
                    "creation": stamp,
                    "modified": stamp,
                }

    def refuse_employee(self, value: str, message: str) -> None:
        """Refuse every check-in of the employee whose name or attendance_device_id is `value`, with `message`."""
        with self._lock:
            self._refused[value] = message

    def deny(self, permission: str) -> None:
        """Take the API user's `create` (Employee Checkin) or `read` (both doctypes) permission away."""
        with self._lock:
            self._denied.add(permission)

    def throttle(self, calls: int, retry_after: int = 60, *, api: str | None = None) -> None:
        """Answer the next `calls` calls (of `api` only, when given) with 429 TooManyRequestsError and Retry-After."""
        with self._lock:
            self._throttled.setdefault(api, deque()).extend([retry_after] * calls)

    def fail_next(self, api: str, *, status: int = 502, body: str = "", content_type: str = "text/html") -> None:
        """Answer the next call of `api` (`add_log`, `employees`, `checkins`, `logged_user`) with this reply."""
        with self._lock:
            self._canned.setdefault(api, deque()).append(_Canned(status, body, content_type))

    # -- inspecting ----------------------------------------------------------------------------

    def checkins(self) -> list[dict[str, Any]]:
        """Copies of every Employee Checkin, in the order they were made."""
        with self._lock:
            return [dict(c) for c in self._checkins.values()]

    def employee_name(self, value: str) -> str | None:
        """The Employee document name whose attendance_device_id (or name) is `value`."""
        with self._lock:
            found = [n for n, e in self._employees.items() if value in (n, e["attendance_device_id"])]
            return found[0] if found else None

    def day_writes(self) -> int:
        """Employee-days written, counted per day as often as its busiest log type was written.

        ERPNext check-ins are append-only punches: a day delivered once gets one IN and one OUT;
        a repeated or resent day shows as a second IN (or OUT) for that day, created or refused as a
        duplicate. So this counts a day once per delivery of it, and a resend shows even though
        ERPNext refuses the duplicate punches.
        """
        with self._lock:
            busiest: dict[tuple[str, date], int] = {}
            for (employee, day, _), count in self.log_writes.items():
                busiest[(employee, day)] = max(busiest.get((employee, day), 0), count)
            return sum(busiest.values())

    # -- plumbing ------------------------------------------------------------------------------

    def _now_text(self) -> str:
        return datetime.fromtimestamp(self.clock(), self.zone).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _admit(self, request: Request, api: str) -> _Canned | None:
        self.requests += 1
        self.calls[api] += 1
        waiting = self._throttled.get(api) or self._throttled.get(None)
        if waiting:
            wait = waiting.popleft()
            raise _FrappeError(
                "TooManyRequestsError",
                "You hit the rate limit because of too many requests. Please try after sometime.",
                {"Retry-After": str(wait), "X-RateLimit-Reset": str(wait)},
            )
        header = request.headers.get("authorization")
        if header is None:
            raise _FrappeError("PermissionError", "Not permitted")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "token" or token.strip() != f"{self.api_key}:{self.api_secret}":
            raise _FrappeError("AuthenticationError", "Invalid API key or secret")
        canned = self._canned.get(api)
        return canned.popleft() if canned else None

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        api = {LOGGED_USER: "logged_user", HRMS_METHOD: "add_log", LEGACY_METHOD: "add_log"}.get(method, method)
        params = await _params(request)
        try:
            with self._lock:
                canned = self._admit(request, api)
                if canned is not None:
                    return Response(canned.body, canned.status, media_type=canned.content_type)
                if method == LOGGED_USER:
                    return JSONResponse({"message": self.user})
                if method != self.method:
                    module = method.split(".")[0]
                    raise _FrappeError(
                        "ValidationError", f"Failed to get method for command {method} with No module named '{module}'"
                    )
                if request.method != "POST":
                    raise _FrappeError("PermissionError", "Not permitted: use POST to create a check-in")
                reply: Response = JSONResponse({"message": self._add_log(params)})
        except _FrappeError as error:
            reply = _error_reply(error)
        if self.latency:
            await asyncio.sleep(self.latency)  # other calls go on meanwhile, as on a site with several workers
        return reply

    async def _resource(self, request: Request) -> Response:
        doctype = request.path_params["doctype"]
        api = {"Employee": "employees", "Employee Checkin": "checkins"}.get(doctype, doctype)
        try:
            with self._lock:
                canned = self._admit(request, api)
                if canned is not None:
                    return Response(canned.body, canned.status, media_type=canned.content_type)
                allowed: tuple[str, ...]
                if doctype == "Employee":
                    rows, allowed = list(self._employees.values()), _EMPLOYEE_FIELDS
                elif doctype == "Employee Checkin":
                    rows, allowed = self._checkins_of(request.query_params), _CHECKIN_FIELDS
                else:
                    raise _FrappeError("DoesNotExistError", f"DocType {doctype} not found")
                if "read" in self._denied:
                    raise _FrappeError("PermissionError", f"User {self.user} does not have doctype access via role "
                                       f"permission for document {doctype}")  # fmt: skip
                return JSONResponse({"data": _listing(rows, allowed, request.query_params)})
        except _FrappeError as error:
            return _error_reply(error)

    def _checkins_of(self, query: Any) -> list[dict[str, Any]]:
        """The check-ins a list request can select: those of the employees it filters on, else all."""
        filters = _json_param(query, "filters", [])
        wanted: list[Any] | None = None
        for condition in filters if isinstance(filters, list) else []:
            if isinstance(condition, list) and len(condition) in (3, 4) and condition[-3] == "employee":
                operator, value = str(condition[-2]).lower(), condition[-1]
                if operator == "in" and isinstance(value, list):
                    wanted = value
                elif operator == "=":
                    wanted = [value]
        if wanted is None:
            return list(self._checkins.values())
        return [self._checkins[n] for e in wanted if isinstance(e, str) for n in self._by_employee.get(e, [])]

    # -- add_log_based_on_employee_field -------------------------------------------------------

    def _add_log(self, params: dict[str, str]) -> dict[str, Any]:
        if "create" in self._denied:
            raise _FrappeError("PermissionError", "Not permitted to create Employee Checkin.")
        value, timestamp = params.get("employee_field_value"), params.get("timestamp")
        if not value or not timestamp:
            raise _FrappeError("ValidationError", "'employee_field_value' and 'timestamp' are required.")
        fieldname = params.get("employee_fieldname") or "attendance_device_id"
        allowed = {"name", "employee", "attendance_device_id"} if self.version >= 15 else set(_EMPLOYEE_FIELDS)
        if fieldname not in allowed:
            raise _FrappeError("ValidationError", f"'employee_fieldname' must be one of {', '.join(sorted(allowed))}.")
        index = self._index.get(fieldname)
        if index is None:
            index = self._index[fieldname] = {}
            for held in self._employees.values():
                index.setdefault(str(held.get(fieldname)), held)
        employee = index.get(value)
        if employee is None:
            raise _FrappeError(
                "ValidationError", f"No Employee found for the given employee field value. '{fieldname}': {value}"
            )
        if not _TIMESTAMP.fullmatch(timestamp):
            raise _FrappeError("ValidationError", f"{timestamp} is not a valid date-time (YYYY-MM-DD HH:MM:SS)")
        moment = datetime.fromisoformat(timestamp).replace(microsecond=0)
        log_type = params.get("log_type") or ""
        if log_type not in ("", "IN", "OUT"):
            raise _FrappeError(
                "ValidationError", f'Log Type cannot be "{log_type}". It should be one of "", "IN", "OUT"'
            )
        device = params.get("device_id") or None
        if device is not None and len(device) > 140:
            raise _FrappeError("CharacterLengthExceededError", "Value too big: Device ID is longer than 140 characters")
        if employee["status"] in ("Inactive", "Left"):
            raise _FrappeError(
                "ValidationError", f"Transactions cannot be created for an Inactive Employee {employee['name']}."
            )
        refusal = self._refused.get(employee["name"]) or self._refused.get(str(employee["attendance_device_id"]))
        if refusal is not None:
            raise _FrappeError("ValidationError", refusal)
        self.log_writes[(employee["name"], moment.date(), log_type)] += 1
        key = (employee["name"], moment) if self.version < 14 else (employee["name"], moment, log_type)
        existing = self._held.get(key)
        if existing is not None:
            link = f'<a href="/app/employee-checkin/{existing}">Employee Checkin {existing}</a>'
            raise _FrappeError("ValidationError", f"This employee already has a log with the same timestamp.<Br>{link}")
        name = f"EMP-CKIN-{moment:%m}-{moment:%Y}-{self._next_checkin:06d}"
        self._held[key] = name
        self._by_employee.setdefault(employee["name"], []).append(name)
        self._next_checkin += 1
        now = self._now_text()
        doc = {
            "name": name,
            "employee": employee["name"],
            "employee_name": employee["employee_name"],
            "log_type": log_type or None,
            "time": moment.strftime("%Y-%m-%d %H:%M:%S"),
            "device_id": device,
            "skip_auto_attendance": 1 if params.get("skip_auto_attendance") in ("1", 1, True, "true") else 0,
            "shift": None,
            "attendance": None,
            "creation": now,
            "modified": now,
            "doctype": "Employee Checkin",
        }
        self._checkins[name] = doc
        return dict(doc)


# -- lists (pure) -------------------------------------------------------------------------------------


def _listing(rows: list[dict[str, Any]], allowed: tuple[str, ...], query: Any) -> list[dict[str, Any]]:
    """The rows a Frappe list request selects: filters, order, page, fields (see the module docstring)."""
    fields = _json_param(query, "fields", ["name"])
    if fields == ["*"]:
        fields = list(allowed)
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise _FrappeError("ValidationError", "fields must be a JSON list of field names")
    for name in fields:
        _known(name, allowed)
    filters = _json_param(query, "filters", [])
    if isinstance(filters, dict):
        filters = [[k, "=", v] for k, v in filters.items()]
    if not isinstance(filters, list):
        raise _FrappeError("ValidationError", "filters must be a JSON list or object")
    for condition in filters:
        if not isinstance(condition, list) or len(condition) not in (3, 4):
            raise _FrappeError("ValidationError", f"Filter {json.dumps(condition)} must be [field, operator, value]")
        field, operator, value = condition[-3:]
        _known(field, allowed)
        rows = [row for row in rows if _matches(row.get(field), str(operator).lower(), value, field)]
    for part in reversed(str(query.get("order_by") or "creation desc").split(",")):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise _FrappeError("ValidationError", f"Invalid order_by: {part}")
        _known(words[0].strip("`"), allowed)
        name = words[0].strip("`")
        rows = sorted(rows, key=lambda r: (r.get(name) is None, str(r.get(name) or "")),
                      reverse=len(words) == 2 and words[1].lower() == "desc")  # fmt: skip
    start, length = _whole(query, "limit_start", 0), _whole(query, "limit_page_length", 20)
    rows = rows[start : start + length] if length else rows[start:]
    return [{name: row.get(name) for name in fields} for row in rows]


def _known(field: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(field, str) or field not in allowed:
        raise _FrappeError("DataError", f"Field not permitted in query: {field}")


def _comparable(value: Any, field: str) -> Any:
    if field in _DATETIME_FIELDS and isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise _FrappeError("ValidationError", f"{value} is not a valid date-time for {field}") from None
    return value


def _matches(held: Any, operator: str, value: Any, field: str) -> bool:
    if operator in ("in", "not in"):
        options = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        return (held in options) == (operator == "in")
    if operator == "is":
        if value not in ("set", "not set"):
            raise _FrappeError("ValidationError", "is takes 'set' or 'not set'")
        return (held not in (None, "")) == (value == "set")
    if operator not in ("=", "!=", "<", "<=", ">", ">="):
        raise _FrappeError("ValidationError", f"Unsupported operator: {operator}")
    left, right = _comparable(held, field), _comparable(value, field)
    if operator == "=":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator])
    except TypeError:
        raise _FrappeError("ValidationError", f"Cannot compare {field} with {value!r}") from None


def _json_param(query: Any, name: str, default: Any) -> Any:
    text = query.get(name)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        raise _FrappeError("ValidationError", f"{name} is not valid JSON") from None


def _whole(query: Any, name: str, default: int) -> int:
    text = query.get(name)
    try:
        number = int(text) if text not in (None, "") else default
    except ValueError:
        raise _FrappeError("ValidationError", f"{name} must be a whole number") from None
    if number < 0:
        raise _FrappeError("ValidationError", f"{name} must not be negative")
    return number


async def _params(request: Request) -> dict[str, str]:
    """Query parameters, then a form or JSON body over them (Frappe takes all three)."""
    params = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                loaded = json.loads(body or b"{}")
            except ValueError:
                loaded = None
            if not isinstance(loaded, dict):
                return {"__invalid__": "1"}
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in loaded.items()})
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _error_reply(error: _FrappeError) -> Response:
    """Frappe's error body: `exc_type`, `exception` and `_server_messages` (JSON of JSON strings)."""
    plain = html.unescape(re.sub(r"<[^>]+>", " ", error.message)).strip()
    message = {"message": error.message, "title": "Message", "indicator": "red", "raise_exception": 1,
               "__frappe_exc_id": secrets.token_hex(8)}  # fmt: skip
    body = {
        "exception": f"frappe.exceptions.{error.exc_type}: {plain}",
        "exc_type": error.exc_type,
        "_exc_source": "hrms (app)",
        "_server_messages": json.dumps([json.dumps(message)]),
    }
    return JSONResponse(body, _STATUS.get(error.exc_type, 417), headers=error.headers)
