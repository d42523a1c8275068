"""The ERPNext / Frappe HR emulator: the app, its configuration and what it holds (the package docstring)."""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.plugin_api.targets import Employee
from punchbridge.testing.emulators.erpnext.attendance import ATTENDANCE_FIELDS, AttendanceBook
from punchbridge.testing.emulators.erpnext.checkins import CHECKIN_FIELDS, CheckinLog
from punchbridge.testing.emulators.erpnext.frappe import (
    FrappeError,
    error_reply,
    json_param,
    listing,
    request_params,
)
from punchbridge.testing.emulators.logins import LoginFailures

__all__ = ["GET_ROLES", "HRMS_METHOD", "LEGACY_METHOD", "SINGLE_VALUE", "TIME_WRITERS", "ErpNextEmulator"]

HRMS_METHOD = "hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"
LEGACY_METHOD = "erpnext.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"
LOGGED_USER = "frappe.auth.get_logged_user"
GET_ROLES = "frappe.core.doctype.user.user.get_roles"
SINGLE_VALUE = "frappe.client.get_single_value"
#: The roles that may write Employee Checkin's `time` (permlevel 1 in employee_checkin.json, v14 to develop).
TIME_WRITERS = frozenset({"System Manager", "HR Manager", "HR User"})
_EMPLOYEE_FIELDS = (
    "name", "employee", "employee_name", "first_name", "last_name", "status", "company", "department",
    "company_email", "personal_email", "user_id", "attendance_device_id", "creation", "modified",
)  # fmt: skip
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?")


@dataclass
class _Canned:
    status: int
    body: str
    content_type: str


class ErpNextEmulator:
    """The ERPNext emulator (see the package docstring). `app` is the ASGI app to `serve`.

    Configure it with `seed_employees`, `refuse_employee`, `deny`, `set_roles`, `track_geolocation`,
    `throttle` and `fail_next`; act as ERPNext's people and jobs with `mark_attendance`,
    `cancel_attendance` and `run_attendance_job`; inspect it with `checkins`, `attendance`, `comments`,
    `calls` (per API), `requests`, `log_writes` and `day_writes`.
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
        self.roles: set[str] = {"HR User", "Employee"}
        self.method = HRMS_METHOD if version >= 14 else LEGACY_METHOD
        #: HR Settings > Allow Geolocation Tracking (a field from Frappe HR 15 on).
        self.geolocation_tracking = False
        self._lock = threading.RLock()
        self._employees: dict[str, dict[str, Any]] = {}
        self._log = CheckinLog(version)
        self._index: dict[str, dict[str, dict[str, Any]]] = {}  # fieldname -> value -> Employee
        self._book = AttendanceBook()
        self._refused: dict[str, str] = {}
        self._denied: set[str] = set()
        self._throttled: dict[str | None, deque[int]] = {}
        self._canned: dict[str, deque[_Canned]] = {}
        #: The login switch (the key check, frappe.auth.get_logged_user): `logins.fail_next(N, ...)`, `logins.requests`.
        self.logins = LoginFailures()
        self._next_employee = 1
        self.requests = 0
        self.calls: Counter[str] = Counter()
        #: Check-in inserts that reached the duplicate check, by (employee, date, log_type): created or repeated.
        self.log_writes = self._log.writes
        self.app = Starlette(
            routes=[
                Route("/api/method/{method:path}", self._method, methods=["GET", "POST"]),
                Route("/api/resource/{doctype:path}", self._resource, methods=["GET", "POST"]),
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
        """Take a permission of the API user away: `create` (Employee Checkin), `read` (every doctype),
        `attendance` (reading Attendance), `settings` (reading HR Settings) or `roles` (reading its roles)."""
        with self._lock:
            self._denied.add(permission)

    def set_roles(self, *roles: str) -> None:
        """The API user's roles (default HR User and Employee). Without one of `TIME_WRITERS`, Frappe
        resets a new check-in's `time` to its default, now (the trap docs/plugins/erpnext.md describes)."""
        with self._lock:
            self.roles = set(roles)

    def track_geolocation(self, on: bool = True) -> None:
        """Tick HR Settings > Allow Geolocation Tracking (Frappe HR 15 and later)."""
        if on and self.version < 15:
            raise ValueError("HR Settings has Allow Geolocation Tracking from Frappe HR 15 on")
        with self._lock:
            self.geolocation_tracking = on

    def throttle(self, calls: int, retry_after: int = 60, *, api: str | None = None) -> None:
        """Answer the next `calls` calls (of `api` only, when given) with 429 TooManyRequestsError and Retry-After."""
        with self._lock:
            self._throttled.setdefault(api, deque()).extend([retry_after] * calls)

    def fail_next(self, api: str, *, status: int = 502, body: str = "", content_type: str = "text/html") -> None:
        """Answer the next call of `api` (`add_log`, `insert`, `employees`, `checkins`, `attendance`,
        `logged_user`, `roles`, `settings`) with this reply."""
        with self._lock:
            self._canned.setdefault(api, deque()).append(_Canned(status, body, content_type))

    # -- ERPNext's people and jobs ---------------------------------------------------------------

    def mark_attendance(self, value: str, day: date, status: str = "Present") -> str:
        """Submit an Attendance for the employee (name or attendance_device_id `value`) on `day`, as an HR
        user or the attendance job does, linking that day's waiting check-ins; its name."""
        with self._lock:
            employee = self._employees[self._name_of(value)]
            if self._book.existing(employee["name"], day) is not None:
                raise ValueError(f"Attendance for employee {employee['name']} is already marked for {day}")
            day_checkins = [
                c
                for c in self._log.of_employee(employee["name"])
                if datetime.fromisoformat(c["time"]).date() == day and not c.get("attendance")
            ]
            return str(self._book.mark(employee, day, status, day_checkins, self._now_text())["name"])

    def cancel_attendance(self, name: str) -> list[str]:
        """Cancel Attendance `name` as a person does in the desk; the check-ins it unlinked (Frappe HR's on_cancel)."""
        with self._lock:
            return self._book.cancel(name, self._log.documents.values())

    def run_attendance_job(self) -> int:
        """Run Frappe HR's auto-attendance job once over every waiting check-in; Attendance documents made."""
        with self._lock:
            return self._book.run_job(self._employees, self._log.documents.values(), self._now_text())

    # -- inspecting ----------------------------------------------------------------------------

    def checkins(self) -> list[dict[str, Any]]:
        """Copies of every Employee Checkin, in the order they were made."""
        with self._lock:
            return [dict(c) for c in self._log.documents.values()]

    def attendance(self) -> list[dict[str, Any]]:
        """Copies of every Attendance document (cancelled ones have docstatus 2)."""
        with self._lock:
            return [dict(a) for a in self._book.documents.values()]

    def comments(self) -> list[dict[str, str]]:
        """The comments the attendance job left on check-ins (why it skipped them)."""
        with self._lock:
            return [dict(c) for c in self._book.comments]

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

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.zone).replace(tzinfo=None)

    def _now_text(self) -> str:
        return self._now().strftime("%Y-%m-%d %H:%M:%S.%f")

    def _name_of(self, value: str) -> str:
        name = self.employee_name(value)
        if name is None:
            raise KeyError(f"no employee {value}")
        return name

    def _admit(self, request: Request, api: str) -> _Canned | None:
        self.requests += 1
        self.calls[api] += 1
        waiting = self._throttled.get(api) or self._throttled.get(None)
        if waiting:
            wait = waiting.popleft()
            raise FrappeError(
                "TooManyRequestsError",
                "You hit the rate limit because of too many requests. Please try after sometime.",
                {"Retry-After": str(wait), "X-RateLimit-Reset": str(wait)},
            )
        header = request.headers.get("authorization")
        if header is None:
            raise FrappeError("PermissionError", "Not permitted")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "token" or token.strip() != f"{self.api_key}:{self.api_secret}":
            raise FrappeError("AuthenticationError", "Invalid API key or secret")
        canned = self._canned.get(api)
        return canned.popleft() if canned else None

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        api = {
            LOGGED_USER: "logged_user", HRMS_METHOD: "add_log", LEGACY_METHOD: "add_log", GET_ROLES: "roles",
            SINGLE_VALUE: "settings",
        }.get(method, method)  # fmt: skip
        params = await request_params(request)
        if method == LOGGED_USER:
            failed = self.logins.answer()
            if failed is not None:
                return failed
        try:
            with self._lock:
                canned = self._admit(request, api)
                if canned is not None:
                    return Response(canned.body, canned.status, media_type=canned.content_type)
                reply: Response = JSONResponse({"message": self._call(method, request.method, params)})
        except FrappeError as error:
            reply = error_reply(error)
        if self.latency:
            await asyncio.sleep(self.latency)  # other calls go on meanwhile, as on a site with several workers
        return reply

    def _call(self, method: str, verb: str, params: dict[str, str]) -> Any:
        if method == LOGGED_USER:
            return self.user
        if method == GET_ROLES:
            # frappe.core.doctype.user.user.get_roles: any logged-in user may call it (@frappe.whitelist()).
            if "roles" in self._denied:
                raise FrappeError("PermissionError", "Not permitted")
            return sorted(self.roles)
        if method == SINGLE_VALUE:
            return self._single_value(params)
        if method != self.method:
            module = method.split(".")[0]
            raise FrappeError(
                "ValidationError", f"Failed to get method for command {method} with No module named '{module}'"
            )
        if verb != "POST":
            raise FrappeError("PermissionError", "Not permitted: use POST to create a check-in")
        return self._add_log(params)

    def _single_value(self, params: dict[str, str]) -> Any:
        # frappe.client.get_single_value: "No permission for {doctype}" without read permission on it.
        doctype, field = params.get("doctype"), params.get("field")
        if doctype != "HR Settings":
            raise FrappeError("DoesNotExistError", f"DocType {doctype} not found")
        if "settings" in self._denied or "read" in self._denied:
            raise FrappeError("PermissionError", "No permission for HR Settings")
        if field != "allow_geolocation_tracking":
            return None
        # The field exists from Frappe HR 15 on (hr_settings.json); an older site has no value for it.
        return (1 if self.geolocation_tracking else 0) if self.version >= 15 else None

    async def _resource(self, request: Request) -> Response:
        doctype = request.path_params["doctype"]
        lists = {"Employee": "employees", "Employee Checkin": "checkins", "Attendance": "attendance"}
        api = "insert" if request.method == "POST" else lists.get(doctype, doctype)
        try:
            params = await request_params(request)
            with self._lock:
                canned = self._admit(request, api)
                if canned is not None:
                    return Response(canned.body, canned.status, media_type=canned.content_type)
                if request.method == "POST":
                    return JSONResponse({"data": self._insert(doctype, params)})
                allowed: tuple[str, ...]
                if doctype == "Employee":
                    rows, allowed = list(self._employees.values()), _EMPLOYEE_FIELDS
                elif doctype == "Employee Checkin":
                    rows, allowed = self._log.selectable(request.query_params), CHECKIN_FIELDS
                elif doctype == "Attendance":
                    rows, allowed = list(self._book.documents.values()), ATTENDANCE_FIELDS
                else:
                    raise FrappeError("DoesNotExistError", f"DocType {doctype} not found")
                if "read" in self._denied or (doctype == "Attendance" and "attendance" in self._denied):
                    raise FrappeError("PermissionError", f"User {self.user} does not have doctype access via role "
                                      f"permission for document {doctype}")  # fmt: skip
                return JSONResponse({"data": listing(rows, allowed, request.query_params)})
        except FrappeError as error:
            return error_reply(error)

    # -- creating Employee Checkins ----------------------------------------------------------------

    def _add_log(self, params: dict[str, str]) -> dict[str, Any]:
        """add_log_based_on_employee_field: find the Employee by a field, then insert the check-in."""
        value, timestamp = params.get("employee_field_value"), params.get("timestamp")
        if not value or not timestamp:
            raise FrappeError("ValidationError", "'employee_field_value' and 'timestamp' are required.")
        fieldname = params.get("employee_fieldname") or "attendance_device_id"
        allowed = {"name", "employee", "attendance_device_id"} if self.version >= 15 else set(_EMPLOYEE_FIELDS)
        if fieldname not in allowed:
            raise FrappeError("ValidationError", f"'employee_fieldname' must be one of {', '.join(sorted(allowed))}.")
        index = self._index.get(fieldname)
        if index is None:
            index = self._index[fieldname] = {}
            for held in self._employees.values():
                index.setdefault(str(held.get(fieldname)), held)
        employee = index.get(value)
        if employee is None:
            raise FrappeError(
                "ValidationError", f"No Employee found for the given employee field value. '{fieldname}': {value}"
            )
        # Frappe HR 15 (version-15-hotfix, October 2024) has no latitude/longitude parameters, and
        # frappe.call drops arguments a method does not take (frappe/__init__.py get_newargs): only
        # the later add_log (frappe/hrms#2900, March 2025; "16" here) stores them.
        coordinates = (params.get("latitude"), params.get("longitude")) if self.version >= 16 else (None, None)
        return self._insert_checkin(
            employee, timestamp, params.get("log_type") or "", params.get("device_id") or None,
            params.get("skip_auto_attendance") in ("1", 1, True, "true"), coordinates,
        )  # fmt: skip

    def _insert(self, doctype: str, params: dict[str, str]) -> dict[str, Any]:
        """`POST /api/resource/Employee Checkin`: the generic insert (Frappe HR's own app inserts this way)."""
        if doctype != "Employee Checkin":
            raise FrappeError("PermissionError", f"Not permitted to create {doctype} here")
        body = json_param(params, "data", None) if "data" in params else params
        if not isinstance(body, dict):
            raise FrappeError("ValidationError", "data must be a JSON object")
        employee = self._employees.get(str(body.get("employee") or ""))
        if employee is None:
            raise FrappeError("LinkValidationError", f"Could not find Employee: {body.get('employee')}")
        return self._insert_checkin(
            employee, str(body.get("time") or ""), str(body.get("log_type") or ""), body.get("device_id") or None,
            str(body.get("skip_auto_attendance")) in ("1", "true", "True"),
            (body.get("latitude"), body.get("longitude")) if self.version >= 15 else (None, None),
        )  # fmt: skip

    def _insert_checkin(
        self,
        employee: dict[str, Any],
        timestamp: str,
        log_type: str,
        device: Any,
        skip: bool,
        coordinates: tuple[Any, Any],
    ) -> dict[str, Any]:
        """Insert one Employee Checkin as Frappe does: permissions, level-1 fields, then EmployeeCheckin.validate."""
        if "create" in self._denied:
            raise FrappeError("PermissionError", "Not permitted to create Employee Checkin.")
        if self.roles & TIME_WRITERS:
            if not _TIMESTAMP.fullmatch(timestamp):
                raise FrappeError("ValidationError", f"{timestamp} is not a valid date-time (YYYY-MM-DD HH:MM:SS)")
            moment = datetime.fromisoformat(timestamp).replace(microsecond=0)
        else:
            # `time` is permlevel 1; without level-1 write, Document.insert resets it to its default
            # "Now" (BaseDocument.reset_values_if_no_permlevel_access), silently.
            moment = self._now().replace(microsecond=0)
        refusal = self._refused.get(employee["name"]) or self._refused.get(str(employee["attendance_device_id"]))
        return self._log.insert(
            employee, moment, log_type, device, skip=skip, coordinates=coordinates,
            geolocation_tracking=self.geolocation_tracking, refusal=refusal, now=self._now_text(),
        )  # fmt: skip
