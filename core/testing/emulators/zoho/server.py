"""The Zoho People emulator: OAuth, attendance punches, employee records and read-back, with Zoho's limits."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.plugin_api import Employee
from punchbridge.testing.emulators.logins import LoginFailures
from punchbridge.testing.emulators.zoho.book import AttendanceBook
from punchbridge.testing.emulators.zoho.formats import DayView, JavaDateFormat
from punchbridge.testing.emulators.zoho.limits import (
    BULK_IMPORT,
    DAILY_LIMIT_CODE,
    EMPLOYEE_RECORDS,
    INVALID_DATE_FORMAT_CODE,
    INVALID_FIELD_CODE,
    INVALID_INPUT_CODE,
    INVALID_OAUTHTOKEN_CODE,
    INVALID_VALUE_CODE,
    LIMIT_TOO_LARGE_CODE,
    MISSING_PARAMETER_CODE,
    NO_RECORDS_CODE,
    NO_SUCH_USER_CODE,
    READ_BACK,
    REFUSED_CODE,
    SINGLE_PUNCH,
    THROTTLE_CODE,
    ZohoApiError,
    ZohoLimits,
    error_reply,
    whole_number,
)
from punchbridge.testing.emulators.zoho.replies import (
    API_INVOCATION_FAILED,
    BULK_REPLIES,
    bulk_success,
    entries_reply,
    row_dates,
)

__all__ = ["ZohoEmulator"]

_IDENTIFIERS = ("empId", "emailId", "mapId")
_ROW_KEYS = frozenset({*_IDENTIFIERS, "checkIn", "checkOut", "location", "building"})


@dataclass
class _CannedReply:
    status: int
    body: str
    content_type: str
    after_apply: bool


class ZohoEmulator:
    """The Zoho People emulator (see the module docstring). `app` is the ASGI app to `serve`.

    Configure it with `seed_employees`, `refuse_employee`, `allow_employee`, `expire_tokens`, `delete_day` and
    `fail_next`; inspect it with `days`, `day`, `deliveries`, `duplicate_punches`, `tokens_minted`,
    `access_tokens`, `calls` (per API), `daily_calls` and `locks`.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        limits: ZohoLimits | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        throttle_http_status: int = 200,
        org_date_format: str = "dd/MM/yyyy HH:mm:ss",
        bulk_reply: str = "success",
    ) -> None:
        if bulk_reply not in BULK_REPLIES:
            raise ValueError(f"bulk_reply must be one of {', '.join(BULK_REPLIES)}, not {bulk_reply!r}")
        #: The shape of bulkImport's replies (`replies` module): `success`, `envelope` or `rows`.
        self.bulk_reply = bulk_reply
        self.clock = clock
        self.limits = limits or ZohoLimits()
        # Fresh credentials per emulator by default, so process-wide token caches never mix two emulators.
        self.client_id = client_id or f"1000.{secrets.token_hex(12).upper()}"
        self.client_secret = client_secret or secrets.token_hex(20)
        self.refresh_token = refresh_token or f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self.throttle_http_status = throttle_http_status
        self.org_format = JavaDateFormat(org_date_format)
        self._lock = threading.RLock()
        self._clients = {self.client_id: self.client_secret}
        self._refresh_tokens = {self.refresh_token: self.client_id}
        self._mints: dict[str, deque[float]] = {}
        self._tokens: dict[str, float] = {}  # access token -> expiry
        self._issued: list[str] = []
        self._window: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._daily: Counter[str] = Counter()
        self._employees: dict[str, dict[str, str]] = {}  # record id -> fields
        self._index: dict[str, dict[str, dict[str, str]]] = {"empId": {}, "emailId": {}, "mapId": {}}
        self._book = AttendanceBook()
        self._refused: dict[str, str] = {}
        self._canned: dict[str, deque[_CannedReply]] = {}
        #: The login switch: `logins.fail_next(N, status=429, retry_after=...)`, `logins.requests`.
        self.logins = LoginFailures()
        self._next_record = 412_762_000_000_100
        self.tokens_minted = 0
        self.calls: Counter[str] = Counter()
        self.locks = 0
        self.app = Starlette(
            routes=[
                Route("/oauth/v2/token", self._token, methods=["POST"]),
                Route("/people/api/attendance/bulkImport", self._bulk_import, methods=["POST"]),
                Route("/people/api/attendance", self._single_punch, methods=["POST"]),
                Route("/people/api/attendance/getAttendanceEntries", self._entries, methods=["GET"]),
                Route("/people/api/forms/employee/getRecords", self._records, methods=["GET"]),
            ]
        )

    # -- configuring ---------------------------------------------------------------------------

    def plugin_settings(self, url: str, **overrides: Any) -> dict[str, Any]:
        """Settings of a `zoho_people` target that talks to this emulator served at `url`."""
        settings: dict[str, Any] = {
            "accounts_url": url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        return {**settings, **overrides}

    def seed_employees(self, employees: Iterable[Employee], *, replace: bool = False) -> None:
        """Add (or update, by EmployeeID) employees; `replace`: these become the only employee records.

        `extra["Employeestatus"]` overrides the status ("Active", else "Resigned" for a leaver).
        """
        with self._lock:
            if replace:
                self._employees.clear()
            by_id = {fields["EmployeeID"]: record for record, fields in self._employees.items()}
            for employee in employees:
                first, _, last = employee.name.strip().partition(" ")
                modified = employee.modified_at or datetime.fromtimestamp(self.clock(), UTC)
                status = str(employee.extra.get("Employeestatus") or ("Active" if employee.active else "Resigned"))
                fields = {
                    "EmployeeID": employee.target_id,
                    "EmailID": employee.email or "",
                    "FirstName": first,
                    "LastName": last.strip(),
                    "Employeestatus": status,
                    "Department": employee.department or "",
                    "MapperID": employee.badge or "",
                    "LocationName": employee.site or "",
                    "ModifiedTime": str(int(modified.timestamp() * 1000)),
                }
                record = by_id.get(employee.target_id)
                if record is None:
                    record = str(self._next_record)
                    self._next_record += 1
                self._employees[record] = fields
            self._index = {"empId": {}, "emailId": {}, "mapId": {}}
            for fields in self._employees.values():
                self._index["empId"][fields["EmployeeID"]] = fields
                if fields["EmailID"]:
                    self._index["emailId"][fields["EmailID"].lower()] = fields
                if fields["MapperID"]:
                    self._index["mapId"][fields["MapperID"]] = fields

    def refuse_employee(self, employee_id: str, message: str) -> None:
        """Refuse every punch of EmployeeID `employee_id` from now on, with `message`."""
        with self._lock:
            self._refused[employee_id] = message

    def allow_employee(self, employee_id: str) -> None:
        """Stop refusing EmployeeID `employee_id` (see `refuse_employee`)."""
        with self._lock:
            self._refused.pop(employee_id, None)

    def expire_tokens(self) -> None:
        """Let every access token issued so far expire now (as an hour passing would)."""
        with self._lock:
            self._tokens.clear()

    def delete_day(self, employee_id: str, work_date: date) -> int:
        """Delete an employee-day's punches, as an administrator does in Zoho's web UI; how many went."""
        with self._lock:
            return self._book.delete_day(employee_id, work_date)

    def fail_next(
        self, api: str, *, status: int = 502, body: str = "", content_type: str = "text/html", after_apply: bool = False
    ) -> None:
        """Answer the next call of `api` with this reply instead of the real one.

        `after_apply`: do the call's work first (store the punches), then answer this, as when a reply
        is lost on the way back.
        """
        with self._lock:
            self._canned.setdefault(api, deque()).append(_CannedReply(status, body, content_type, after_apply))

    # -- inspecting ----------------------------------------------------------------------------

    def days(self) -> dict[tuple[str, date], DayView]:
        """Every employee-day holding at least one punch, by (EmployeeID, attendance date)."""
        with self._lock:
            return {(e, d): view for e in self._book.employees() for d, view in self._book.views_of(e).items()}

    def day(self, employee_id: str, work_date: date) -> DayView | None:
        """What is held for EmployeeID `employee_id` on `work_date` (None: nothing)."""
        with self._lock:
            return self._book.views_of(employee_id).get(work_date)

    @property
    def deliveries(self) -> int:
        """Employee-days written, once per call that wrote each (a resend shows)."""
        return self._book.deliveries

    @property
    def deliveries_by_day(self) -> Counter[tuple[str, date]]:
        """Deliveries per (EmployeeID, attendance date)."""
        return self._book.deliveries_by_day

    @property
    def punches_written(self) -> int:
        """Punches received and stored (repeats included)."""
        return self._book.punches_written

    @property
    def duplicate_punches(self) -> int:
        """Punches received that Zoho already held."""
        return self._book.duplicate_punches

    def access_tokens(self) -> list[str]:
        """Every access token issued (to check that none leaks into a log)."""
        with self._lock:
            return list(self._issued)

    def daily_calls(self) -> int:
        """API calls counted today (by the emulator's clock, UTC) against the daily cap."""
        with self._lock:
            return self._daily[self._today()]

    # -- the model -----------------------------------------------------------------------------

    def _today(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).date().isoformat()

    def _find_employee(self, identifier: str, value: Any) -> dict[str, str] | None:
        if not isinstance(value, str) or not value:
            return None
        index = self._index[identifier]
        return index.get(value.lower() if identifier == "emailId" else value)

    def _employee_of(self, params: Mapping[str, Any]) -> dict[str, str]:
        given = [name for name in _IDENTIFIERS if params.get(name) not in (None, "")]
        if not given:
            raise ZohoApiError(MISSING_PARAMETER_CODE, "Missing parameter: give empId, emailId or mapId")
        found = self._find_employee(given[0], params[given[0]])
        if found is None:
            raise ZohoApiError(NO_SUCH_USER_CODE, f"No such employee: {given[0]} {params[given[0]]}")
        return found

    # -- the gate every API call passes ----------------------------------------------------------

    def _admit(self, request: Request, api: str) -> _CannedReply | None:
        """Authenticate, count and throttle one call (raising the Zoho error); a canned reply if any."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        now = self.clock()
        expiry = self._tokens.get(token.strip()) if scheme == "Zoho-oauthtoken" else None
        if expiry is None or expiry <= now:
            raise ZohoApiError(INVALID_OAUTHTOKEN_CODE, "Invalid OAuth token (INVALID_OAUTHTOKEN)", 401)
        self.calls[api] += 1
        today = self._today()
        cap = self.limits.daily_calls
        if cap is not None and self._daily[today] >= cap:
            raise ZohoApiError(DAILY_LIMIT_CODE, f"API call limit for the day ({cap} calls) has been reached")
        self._daily[today] += 1
        locked_until = self._locked_until.get(api, 0.0)
        if now < locked_until:
            raise self._throttled(api, locked_until - now)
        limit = self.limits.per_minute.get(api)
        if limit is not None:
            window = self._window.setdefault(api, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= limit:
                lock = self.limits.lock_seconds.get(api, 300.0)
                self._locked_until[api] = now + lock
                self.locks += 1
                raise self._throttled(api, lock)
            window.append(now)
        canned = self._canned.get(api)
        return canned.popleft() if canned else None

    def _throttled(self, api: str, seconds: float) -> ZohoApiError:
        minutes = max(1, round(seconds / 60))
        headers = {"Retry-After": str(int(seconds + 0.999))} if self.throttle_http_status == 429 else {}
        message = f"You have exceeded the maximum number of allowed requests for {api}; try again in {minutes} minutes"
        return ZohoApiError(THROTTLE_CODE, message, self.throttle_http_status, headers)

    async def _handle(self, request: Request, api: str, work: Callable[[dict[str, str]], Any]) -> Response:
        try:
            params = await _params(request)
            with self._lock:
                canned = self._admit(request, api)
                if canned is not None and not canned.after_apply:
                    return Response(canned.body, canned.status, media_type=canned.content_type)
                body = work(params)
            if canned is not None:
                return Response(canned.body, canned.status, media_type=canned.content_type)
            return JSONResponse(body)
        except ZohoApiError as error:
            return error_reply(request, error)

    # -- endpoints -----------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        failed = self.logins.answer()
        if failed is not None:
            return failed
        params = await _params(request)
        with self._lock:
            if params.get("grant_type") != "refresh_token":
                return JSONResponse({"error": "unsupported_grant_type"}, 400)
            client_id = params.get("client_id", "")
            if client_id not in self._clients or self._clients[client_id] != params.get("client_secret"):
                return JSONResponse({"error": "invalid_client"})
            refresh = params.get("refresh_token", "")
            if self._refresh_tokens.get(refresh) != client_id:
                return JSONResponse({"error": "invalid_code"})
            now = self.clock()
            mints = self._mints.setdefault(refresh, deque())
            while mints and mints[0] <= now - self.limits.token_window:
                mints.popleft()
            if self.limits.token_mints is not None and len(mints) >= self.limits.token_mints:
                too_many = "You have made too many requests continuously. Please try again after some time."
                return JSONResponse({"error_description": too_many, "error": "Access Denied", "status": "failure"}, 400)
            mints.append(now)
            self.tokens_minted += 1
            token = f"1000.{self.tokens_minted:08d}.{secrets.token_hex(16)}"
            self._tokens[token] = now + self.limits.token_lifetime
            self._issued.append(token)
            api_domain = f"{request.url.scheme}://{request.url.netloc}"
            return JSONResponse(
                {
                    "access_token": token,
                    "api_domain": api_domain,
                    "token_type": "Bearer",
                    "expires_in": int(self.limits.token_lifetime),
                }
            )

    async def _bulk_import(self, request: Request) -> Response:
        return await self._handle(request, BULK_IMPORT, self._bulk_rows)

    def _bulk_rows(self, params: dict[str, str]) -> dict[str, Any]:
        text = params.get("data")
        if text is None or text == "":
            raise ZohoApiError(MISSING_PARAMETER_CODE, "Missing parameter: data")
        try:
            rows = json.loads(text)
        except ValueError:
            raise ZohoApiError(INVALID_INPUT_CODE, "Invalid input data: data is not JSON") from None
        if not isinstance(rows, list) or not rows:
            raise ZohoApiError(INVALID_INPUT_CODE, "Invalid input data: data must be a non-empty JSON array")
        cap = self.limits.rows_per_bulk_import
        if len(rows) > cap:
            raise ZohoApiError(
                INVALID_INPUT_CODE, f"Invalid input data: at most {cap} records per call, got {len(rows)}"
            )
        parser = self._format_of(params)
        results: list[dict[str, Any]] = []
        accepted: dict[str, list[tuple[datetime, str]]] = {}
        refusals: list[ZohoApiError] = []
        failed_dates: list[str] = []
        for index, row in enumerate(rows):
            try:
                employee_id, punch, location = self._bulk_row(row, parser)
            except ZohoApiError as error:
                refusals.append(error)
                results.append({"index": index, "status": "failure", "code": error.code, "message": error.message})
                failed_dates += row_dates(row, parser)
                continue
            accepted.setdefault(employee_id, []).append(punch)
            if location:
                self._book.locations.setdefault(employee_id, {})[punch[0]] = location
            results.append({"index": index, "status": "success"})
        if refusals and self.bulk_reply == "success":
            # One bad row fails the whole call, storing nothing, with a code that names no row.
            own = next((e.message for e in refusals if e.code == REFUSED_CODE), "API invocation failed")
            raise ZohoApiError(API_INVOCATION_FAILED, own, 400)
        for employee_id, punches in accepted.items():
            self._book.deliver(employee_id, punches)
        return bulk_success(self.bulk_reply, results, failed_dates)

    def _bulk_row(self, row: Any, parser: JavaDateFormat) -> tuple[str, tuple[datetime, str], str | None]:
        if not isinstance(row, dict):
            raise ZohoApiError(INVALID_INPUT_CODE, "Invalid input data: each record must be a JSON object")
        unknown = sorted(set(row) - _ROW_KEYS)
        if unknown:
            raise ZohoApiError(INVALID_FIELD_CODE, f"Invalid field: {', '.join(unknown)}")
        for name in ("location", "building"):
            if name in row and not isinstance(row[name], str):
                raise ZohoApiError(INVALID_VALUE_CODE, f"Invalid input value: {name} must be text")
        has_in, has_out = "checkIn" in row, "checkOut" in row
        if has_in and has_out:
            raise ZohoApiError(
                INVALID_VALUE_CODE, "Invalid input value: give checkIn or checkOut in a record, not both"
            )
        if not has_in and not has_out:
            raise ZohoApiError(MISSING_PARAMETER_CODE, "Missing parameter: checkIn or checkOut")
        employee = self._employee_of(row)
        kind, text = ("in", row["checkIn"]) if has_in else ("out", row["checkOut"])
        try:
            moment = parser.parse(text)
        except ValueError:
            message = f"Invalid date format: {text!r} is not {parser.pattern}"
            raise ZohoApiError(INVALID_DATE_FORMAT_CODE, message) from None
        refusal = self._refused.get(employee["EmployeeID"])
        if refusal is not None:
            raise ZohoApiError(REFUSED_CODE, refusal)
        return employee["EmployeeID"], (moment, kind), row.get("location")

    def _format_of(self, params: Mapping[str, str]) -> JavaDateFormat:
        pattern = params.get("dateFormat")
        if pattern is None:
            return self.org_format
        try:
            parser = JavaDateFormat(pattern)
        except ValueError as exc:
            raise ZohoApiError(INVALID_DATE_FORMAT_CODE, f"Invalid date format: {exc}") from None
        if not parser.has_time:
            raise ZohoApiError(INVALID_DATE_FORMAT_CODE, f"Invalid date format: {pattern!r} has no time")
        return parser

    async def _single_punch(self, request: Request) -> Response:
        return await self._handle(request, SINGLE_PUNCH, self._one_punch)

    def _one_punch(self, params: dict[str, str]) -> dict[str, Any]:
        parser = self._format_of(params)
        punches = []
        for name, kind in (("checkIn", "in"), ("checkOut", "out")):
            if params.get(name):
                try:
                    punches.append((parser.parse(params[name]), kind))
                except ValueError:
                    raise ZohoApiError(INVALID_DATE_FORMAT_CODE, f"Invalid date format: {params[name]!r}") from None
        if not punches:
            raise ZohoApiError(MISSING_PARAMETER_CODE, "Missing parameter: checkIn or checkOut")
        employee = self._employee_of(params)
        refusal = self._refused.get(employee["EmployeeID"])
        if refusal is not None:
            raise ZohoApiError(REFUSED_CODE, refusal)
        self._book.deliver(employee["EmployeeID"], punches)
        return {"response": {"status": 0, "message": "Attendance marked", "result": [{"punches": len(punches)}]}}

    async def _entries(self, request: Request) -> Response:
        return await self._handle(request, READ_BACK, self._day_entries)

    def _day_entries(self, params: dict[str, str]) -> dict[str, Any]:
        pattern = params.get("dateFormat")
        try:
            times = JavaDateFormat(pattern) if pattern else self.org_format
            days = times.date_part()
        except ValueError as exc:
            raise ZohoApiError(INVALID_DATE_FORMAT_CODE, f"Invalid date format: {exc}") from None
        if not params.get("date"):
            raise ZohoApiError(MISSING_PARAMETER_CODE, "Missing parameter: date")
        try:
            wanted = days.parse(params["date"]).date()
        except ValueError:
            message = f"Invalid date: {params['date']!r} is not {days.pattern}"
            raise ZohoApiError(INVALID_DATE_FORMAT_CODE, message) from None
        employee = self._employee_of(params)
        view = self._book.views_of(employee["EmployeeID"]).get(wanted)
        return entries_reply(view, self._book.locations.get(employee["EmployeeID"], {}))

    async def _records(self, request: Request) -> Response:
        return await self._handle(request, EMPLOYEE_RECORDS, self._employee_page)

    def _employee_page(self, params: dict[str, str]) -> dict[str, Any]:
        start = whole_number(params, "sIndex", 1)
        limit = whole_number(params, "limit", self.limits.records_per_page)
        if start < 1 or limit < 1:
            raise ZohoApiError(INVALID_VALUE_CODE, "Invalid input value: sIndex and limit start at 1")
        if limit > self.limits.records_per_page:
            raise ZohoApiError(LIMIT_TOO_LARGE_CODE, f"Limit exceeded: at most {self.limits.records_per_page} records")
        since = whole_number(params, "modifiedtime", -1) if params.get("modifiedtime") else None
        chosen = [
            (record, fields)
            for record, fields in sorted(self._employees.items())
            if since is None or int(fields["ModifiedTime"]) > since
        ]
        page = chosen[start - 1 : start - 1 + limit]
        if not page:
            raise ZohoApiError(NO_RECORDS_CODE, "No records found")
        return {
            "response": {
                "result": [{record: [dict(fields)]} for record, fields in page],
                "message": "Data fetched successfully",
                "uri": "/api/forms/employee/getRecords",
                "status": 0,
            }
        }


async def _params(request: Request) -> dict[str, str]:
    """Query parameters, then a form body over them (Zoho takes both on a POST)."""
    params = dict(request.query_params)
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", errors="replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    return params
