"""A Zoho People emulator: OAuth, attendance punches, employee records and read-back, with Zoho's limits.

    emulator = ZohoEmulator(clock=ManualClock())
    emulator.seed_employees([Employee("T-1", "Asha Rao", email="asha@example.com", badge="77")])
    with serve(emulator.app) as server:
        settings = emulator.plugin_settings(server.url)     # for the `zoho_people` target

The emulator serves the accounts host and the People API on one base URL. It enforces what
Zoho documents for its API, so a plugin that breaks a rule fails here first:

- `POST /oauth/v2/token` (refresh-token grant): wrong client or secret gives `{"error": "invalid_client"}`,
  an unknown refresh token `{"error": "invalid_code"}`; at most `ZohoLimits.token_mints` tokens per
  refresh token per 10 minutes, then `{"error": "Access Denied", "error_description": "You have made
  too many requests continuously..."}` (HTTP 400). Tokens live 3600 s by the emulator's clock.
- Every API call needs `Authorization: Zoho-oauthtoken {token}`; a missing, unknown or expired token
  gets HTTP 401 with error code 7202 (`INVALID_OAUTHTOKEN_CODE`).
- Per-minute limits per API (bulkImport 10, attendance 100, getAttendanceEntries 100, getRecords 400),
  counted over any sliding 60 s: the call past the limit starts a lock (5 minutes; 10 for
  getAttendanceEntries, as Zoho's page says) during which every call of that API is refused with code
  7209 (`THROTTLE_CODE`); `locks` counts the locks. A daily cap over all API calls (5,000 by default)
  refuses further calls that day (UTC, by the clock) with code 7213 (`DAILY_LIMIT_CODE`, *unconfirmed*).
- Errors come in the body (`{"response": {"status": 1, "message": "Error occurred", "errors": {"code",
  "message"}}}`), with HTTP 200 unless said otherwise (`throttle_http_status` picks 200 or 429 for 7209).

`POST /people/api/attendance/bulkImport` (form fields `data`, `dateFormat`) takes at most 200 rows, each
one identifier (`empId`, `emailId` or `mapId`; the first given in that order is used) and exactly one
of `checkIn`/`checkOut`, parsed strictly with `dateFormat` (a Java pattern; default the organisation's
`dd/MM/yyyy HH:mm:ss`). Rows are judged one by one; the reply (HTTP 200, `status` 0) carries one
result per row, in order:

    {"response": {"status": 0, "message": "...", "result": [
        {"index": 0, "status": "success"},
        {"index": 1, "status": "failure", "code": 7048, "message": "No such employee: empId T-9"}]}}

and the rows that passed are stored even when others failed. Punches are a set per employee (a punch
sent twice is held once), but every employee-day a call writes counts one `delivery`, so a resent
record shows. A punch belongs to the attendance day of its check-in; a check-out within 24 hours of
an open check-in belongs to that check-in's day (a night shift stays one day).

`GET /people/api/attendance/getAttendanceEntries?date=&empId=|emailId=|mapId=[&dateFormat=]` answers
`firstIn`, `lastOut`, `totalHrs` (`HH:MM` of the complete pairs) and `entries` (`checkIn`/`checkOut`
pairs), times in `dateFormat` (default `dd/MM/yyyy HH:mm:ss`), `date` in its date part.
`GET /people/api/forms/employee/getRecords?sIndex=&limit=[&modifiedtime=]` pages the employees
(1-based, `limit` at most 200 else code 7021, past the last record code 7024), each record as
`{"<recordId>": [{"EmployeeID", "EmailID", "FirstName", "LastName", "Employeestatus", "Department",
"MapperID", "LocationName", "ModifiedTime"}]}` (`MapperID`: the biometric id attendance `mapId`
matches; `ModifiedTime`: epoch milliseconds as text); `modifiedtime` keeps those modified after it.
`POST /people/api/attendance` stores one punch (either or both of `checkIn`, `checkOut`).
"""

from __future__ import annotations

import bisect
import json
import re
import secrets
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from punchbridge.plugin_api.targets import Employee

__all__ = [
    "BULK_IMPORT",
    "DAILY_LIMIT_CODE",
    "EMPLOYEE_RECORDS",
    "INVALID_OAUTHTOKEN_CODE",
    "NO_RECORDS_CODE",
    "READ_BACK",
    "SINGLE_PUNCH",
    "THROTTLE_CODE",
    "DayView",
    "JavaDateFormat",
    "ManualClock",
    "NoDelayHttp",
    "ScaledClock",
    "ZohoEmulator",
    "ZohoLimits",
]

#: The API names the limits, counters and `fail_next` use.
BULK_IMPORT = "bulkImport"
SINGLE_PUNCH = "attendance"
READ_BACK = "getAttendanceEntries"
EMPLOYEE_RECORDS = "getRecords"

INVALID_OAUTHTOKEN_CODE = 7202
THROTTLE_CODE = 7209
DAILY_LIMIT_CODE = 7213  # unconfirmed: Zoho does not publish the code of its daily cap
NO_RECORDS_CODE = 7024
LIMIT_TOO_LARGE_CODE = 7021
MISSING_PARAMETER_CODE = 7019
INVALID_INPUT_CODE = 7016
INVALID_FIELD_CODE = 7020
INVALID_VALUE_CODE = 7034
NO_SUCH_USER_CODE = 7048
INVALID_DATE_FORMAT_CODE = 7055
REFUSED_CODE = 7050

_IDENTIFIERS = ("empId", "emailId", "mapId")
_ROW_KEYS = frozenset({*_IDENTIFIERS, "checkIn", "checkOut", "location", "building"})
_MAX_SHIFT = timedelta(hours=24)


class ManualClock:
    """A clock that moves only when told: `sleep(s)` advances it at once (no real waiting).

    Share one between the emulator and the plugin and minutes of rate-limited traffic run in
    milliseconds, with every limit counted as if the time had passed.
    """

    def __init__(self, start: float = 1_760_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current time, epoch seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        with self._lock:
            self._now += max(seconds, 0.0)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (advances it; returns at once)."""
        self.advance(seconds)


class ScaledClock:
    """Real time running `factor` times faster: `sleep(60)` waits 60/factor real seconds.

    Unlike `ManualClock`, network latency counts (scaled up too), so it also shows whether a
    plugin's pacing keeps a safety margin.
    """

    def __init__(self, factor: float, start: float | None = None) -> None:
        self.factor = factor
        self._start = time.time() if start is None else start
        self._origin = time.monotonic()

    def __call__(self) -> float:
        """The current scaled time, epoch seconds."""
        return self._start + (time.monotonic() - self._origin) * self.factor

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of scaled time."""
        if seconds > 0:
            time.sleep(seconds / self.factor)


class NoDelayHttp(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off: `serve(app, http=NoDelayHttp)`.

    Without it a loopback reply waits for the client's delayed ACK (about 40 ms a request), which
    would measure the kernel's timers, not the plugin.
    """

    def connection_made(self, transport: Any) -> None:
        """Set TCP_NODELAY on the accepted socket, then carry on as uvicorn does."""
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


@dataclass(frozen=True)
class ZohoLimits:
    """The limits the emulator enforces; the defaults are Zoho's documented ones (None: no limit)."""

    per_minute: Mapping[str, int | None] = field(
        default_factory=lambda: {BULK_IMPORT: 10, SINGLE_PUNCH: 100, READ_BACK: 100, EMPLOYEE_RECORDS: 400}
    )
    lock_seconds: Mapping[str, float] = field(
        default_factory=lambda: {BULK_IMPORT: 300.0, SINGLE_PUNCH: 300.0, READ_BACK: 600.0, EMPLOYEE_RECORDS: 300.0}
    )
    daily_calls: int | None = 5000
    token_mints: int | None = 10  # per refresh token per `token_window` seconds
    token_window: float = 600.0
    token_lifetime: float = 3600.0
    rows_per_bulk_import: int = 200
    records_per_page: int = 200

    @classmethod
    def lifted(cls) -> ZohoLimits:
        """No per-minute, daily or token limits (for throughput benchmarks); sizes stay Zoho's."""
        return cls(
            per_minute=dict.fromkeys((BULK_IMPORT, SINGLE_PUNCH, READ_BACK, EMPLOYEE_RECORDS)),
            daily_calls=None,
            token_mints=None,
        )


class JavaDateFormat:
    """A Java `SimpleDateFormat` pattern as Zoho takes them: `yyyy MM MMM dd HH hh mm ss a` and literals.

    Parsing is strict: the text must match the pattern exactly and name a real date and time.
    """

    _TOKENS: ClassVar[dict[str, tuple[str, str]]] = {
        "yyyy": (r"(?P<year>\d{4})", "%Y"),
        "MMM": (r"(?P<month_name>[A-Za-z]{3})", "%b"),
        "MM": (r"(?P<month>\d{2})", "%m"),
        "dd": (r"(?P<day>\d{2})", "%d"),
        "HH": (r"(?P<hour>\d{2})", "%H"),
        "hh": (r"(?P<hour12>\d{2})", "%I"),
        "mm": (r"(?P<minute>\d{2})", "%M"),
        "ss": (r"(?P<second>\d{2})", "%S"),
        "a": (r"(?P<ampm>AM|PM)", "%p"),
    }
    _MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        regex, strftime, seen = [], [], []
        position = 0
        while position < len(pattern):
            for token, (part, directive) in self._TOKENS.items():
                if pattern.startswith(token, position):
                    if token in seen:
                        raise ValueError(f"date format {pattern!r} has {token} twice")
                    seen.append(token)
                    regex.append(part)
                    strftime.append(directive)
                    position += len(token)
                    break
            else:
                char = pattern[position]
                if char.isalpha():
                    raise ValueError(f"date format {pattern!r}: unsupported letter {char!r}")
                regex.append(re.escape(char))
                strftime.append("%%" if char == "%" else char)
                position += 1
        if "hh" in seen and "a" not in seen:
            raise ValueError(f"date format {pattern!r}: hh needs a (AM/PM)")
        self.has_time = any(t in seen for t in ("HH", "hh"))
        if not {"yyyy", "dd"} <= set(seen) or not ({"MM", "MMM"} & set(seen)):
            raise ValueError(f"date format {pattern!r} needs yyyy, MM (or MMM) and dd")
        self._regex = re.compile("".join(regex))
        self._strftime = "".join(strftime)

    def date_part(self) -> JavaDateFormat:
        """The pattern up to its first time letter (`yyyy-MM-dd HH:mm:ss` -> `yyyy-MM-dd`)."""
        cut = min((i for i in (self.pattern.find(t) for t in ("HH", "hh")) if i >= 0), default=len(self.pattern))
        return JavaDateFormat(self.pattern[:cut].rstrip(" T-/:.,"))

    def parse(self, text: str) -> datetime:
        """`text` as a naive datetime; ValueError when it does not match the pattern exactly."""
        found = self._regex.fullmatch(text) if isinstance(text, str) else None
        if found is None:
            raise ValueError(f"{text!r} does not match {self.pattern!r}")
        parts = found.groupdict()
        month = int(parts["month"]) if parts.get("month") else None
        if parts.get("month_name"):
            name = parts["month_name"].title()
            if name not in self._MONTHS:
                raise ValueError(f"{text!r}: no month {parts['month_name']!r}")
            month = self._MONTHS.index(name) + 1
        hour = int(parts.get("hour") or 0)
        if parts.get("hour12"):
            hour12 = int(parts["hour12"])
            if not 1 <= hour12 <= 12:
                raise ValueError(f"{text!r}: hour {hour12} is not 01-12")
            hour = hour12 % 12 + (12 if parts["ampm"] == "PM" else 0)
        return datetime(
            int(parts["year"]), month or 0, int(parts["day"]), hour, int(parts.get("minute") or 0),
            int(parts.get("second") or 0),
        )  # fmt: skip

    def format(self, value: datetime | date) -> str:
        """`value` written in the pattern."""
        return value.strftime(self._strftime)


@dataclass(frozen=True)
class DayView:
    """What Zoho shows for one employee and attendance day: punches, pairs, first in, last out."""

    employee: str
    work_date: date
    punches: tuple[tuple[datetime, str], ...]  # (time, "in" | "out"), in time order
    entries: tuple[tuple[datetime | None, datetime | None], ...]

    @property
    def first_in(self) -> datetime | None:
        """The earliest check-in of the day."""
        return min((t for t, kind in self.punches if kind == "in"), default=None)

    @property
    def last_out(self) -> datetime | None:
        """The latest check-out of the day."""
        return max((t for t, kind in self.punches if kind == "out"), default=None)

    @property
    def total_minutes(self) -> int:
        """Minutes of the complete check-in/check-out pairs."""
        return sum(int((out - start).total_seconds() // 60) for start, out in self.entries if start and out)


class _ZohoError(Exception):
    def __init__(self, code: int, message: str, http_status: int = 200, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.http_status, self.headers = code, message, http_status, headers or {}


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
    ) -> None:
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
        self._punches: dict[str, set[tuple[datetime, str]]] = {}  # EmployeeID -> punches
        self._ordered: dict[str, list[tuple[datetime, str]]] = {}  # the same, in time order
        self._refused: dict[str, str] = {}
        self._canned: dict[str, deque[_CannedReply]] = {}
        self._views: dict[str, dict[date, DayView]] = {}
        self._next_record = 412_762_000_000_100
        self.tokens_minted = 0
        self.deliveries = 0
        self.deliveries_by_day: Counter[tuple[str, date]] = Counter()
        self.punches_written = 0
        self.duplicate_punches = 0
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
                self._punches.setdefault(employee.target_id, set())
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
            view = self._views_of(employee_id).get(work_date)
            gone = set(view.punches) if view is not None else set()
            self._punches[employee_id] = self._punches.get(employee_id, set()) - gone
            self._ordered[employee_id] = sorted(self._punches[employee_id])
            self._views.pop(employee_id, None)
            return len(gone)

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
            return {(e, d): view for e in self._punches for d, view in self._views_of(e).items()}

    def day(self, employee_id: str, work_date: date) -> DayView | None:
        """What is held for EmployeeID `employee_id` on `work_date` (None: nothing)."""
        with self._lock:
            return self._views_of(employee_id).get(work_date)

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

    def _views_of(self, employee_id: str) -> dict[date, DayView]:
        views = self._views.get(employee_id)
        if views is None:
            views = self._views[employee_id] = _attribute_days(employee_id, self._punches.get(employee_id, set()))
        return views

    def _find_employee(self, identifier: str, value: Any) -> dict[str, str] | None:
        if not isinstance(value, str) or not value:
            return None
        index = self._index[identifier]
        return index.get(value.lower() if identifier == "emailId" else value)

    def _employee_of(self, params: Mapping[str, Any]) -> dict[str, str]:
        given = [name for name in _IDENTIFIERS if params.get(name) not in (None, "")]
        if not given:
            raise _ZohoError(MISSING_PARAMETER_CODE, "Missing parameter: give empId, emailId or mapId")
        found = self._find_employee(given[0], params[given[0]])
        if found is None:
            raise _ZohoError(NO_SUCH_USER_CODE, f"No such employee: {given[0]} {params[given[0]]}")
        return found

    def _store(self, employee_id: str, punches: list[tuple[datetime, str]]) -> set[date]:
        """Add punches; the attendance days they landed on (a check-out joins the check-in before it)."""
        held = self._punches.setdefault(employee_id, set())
        ordered = self._ordered.setdefault(employee_id, [])
        for punch in punches:
            self.punches_written += 1
            if punch in held:
                self.duplicate_punches += 1
            else:
                held.add(punch)
                bisect.insort(ordered, punch)
        self._views.pop(employee_id, None)
        landed = set()
        for moment, kind in punches:
            day = moment.date()
            if kind == "out":
                position = bisect.bisect_left(ordered, (moment, kind))
                if position > 0:
                    before, before_kind = ordered[position - 1]
                    if before_kind == "in" and moment - before <= _MAX_SHIFT:
                        day = before.date()
            landed.add(day)
        return landed

    # -- the gate every API call passes ----------------------------------------------------------

    def _admit(self, request: Request, api: str) -> _CannedReply | None:
        """Authenticate, count and throttle one call (raising the Zoho error); a canned reply if any."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        now = self.clock()
        expiry = self._tokens.get(token.strip()) if scheme == "Zoho-oauthtoken" else None
        if expiry is None or expiry <= now:
            raise _ZohoError(INVALID_OAUTHTOKEN_CODE, "Invalid OAuth token (INVALID_OAUTHTOKEN)", 401)
        self.calls[api] += 1
        today = self._today()
        cap = self.limits.daily_calls
        if cap is not None and self._daily[today] >= cap:
            raise _ZohoError(DAILY_LIMIT_CODE, f"API call limit for the day ({cap} calls) has been reached")
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

    def _throttled(self, api: str, seconds: float) -> _ZohoError:
        minutes = max(1, round(seconds / 60))
        headers = {"Retry-After": str(int(seconds + 0.999))} if self.throttle_http_status == 429 else {}
        message = f"You have exceeded the maximum number of allowed requests for {api}; try again in {minutes} minutes"
        return _ZohoError(THROTTLE_CODE, message, self.throttle_http_status, headers)

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
        except _ZohoError as error:
            return _error_reply(request, error)

    # -- endpoints -----------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
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
            raise _ZohoError(MISSING_PARAMETER_CODE, "Missing parameter: data")
        try:
            rows = json.loads(text)
        except ValueError:
            raise _ZohoError(INVALID_INPUT_CODE, "Invalid input data: data is not JSON") from None
        if not isinstance(rows, list) or not rows:
            raise _ZohoError(INVALID_INPUT_CODE, "Invalid input data: data must be a non-empty JSON array")
        cap = self.limits.rows_per_bulk_import
        if len(rows) > cap:
            raise _ZohoError(INVALID_INPUT_CODE, f"Invalid input data: at most {cap} records per call, got {len(rows)}")
        parser = self._format_of(params)
        results: list[dict[str, Any]] = []
        accepted: dict[str, list[tuple[datetime, str]]] = {}
        for index, row in enumerate(rows):
            try:
                employee_id, punch = self._bulk_row(row, parser)
            except _ZohoError as error:
                results.append({"index": index, "status": "failure", "code": error.code, "message": error.message})
                continue
            accepted.setdefault(employee_id, []).append(punch)
            results.append({"index": index, "status": "success"})
        for employee_id, punches in accepted.items():
            for day in self._store(employee_id, punches):
                self.deliveries += 1
                self.deliveries_by_day[(employee_id, day)] += 1
        failed = sum(1 for r in results if r["status"] == "failure")
        message = f"{len(rows) - failed} of {len(rows)} records imported"
        return {"response": {"status": 0, "message": message, "uri": "/api/attendance/bulkImport", "result": results}}

    def _bulk_row(self, row: Any, parser: JavaDateFormat) -> tuple[str, tuple[datetime, str]]:
        if not isinstance(row, dict):
            raise _ZohoError(INVALID_INPUT_CODE, "Invalid input data: each record must be a JSON object")
        unknown = sorted(set(row) - _ROW_KEYS)
        if unknown:
            raise _ZohoError(INVALID_FIELD_CODE, f"Invalid field: {', '.join(unknown)}")
        for name in ("location", "building"):
            if name in row and not isinstance(row[name], str):
                raise _ZohoError(INVALID_VALUE_CODE, f"Invalid input value: {name} must be text")
        has_in, has_out = "checkIn" in row, "checkOut" in row
        if has_in and has_out:
            raise _ZohoError(INVALID_VALUE_CODE, "Invalid input value: give checkIn or checkOut in a record, not both")
        if not has_in and not has_out:
            raise _ZohoError(MISSING_PARAMETER_CODE, "Missing parameter: checkIn or checkOut")
        employee = self._employee_of(row)
        kind, text = ("in", row["checkIn"]) if has_in else ("out", row["checkOut"])
        try:
            moment = parser.parse(text)
        except ValueError:
            message = f"Invalid date format: {text!r} is not {parser.pattern}"
            raise _ZohoError(INVALID_DATE_FORMAT_CODE, message) from None
        refusal = self._refused.get(employee["EmployeeID"])
        if refusal is not None:
            raise _ZohoError(REFUSED_CODE, refusal)
        return employee["EmployeeID"], (moment, kind)

    def _format_of(self, params: Mapping[str, str]) -> JavaDateFormat:
        pattern = params.get("dateFormat")
        if pattern is None:
            return self.org_format
        try:
            parser = JavaDateFormat(pattern)
        except ValueError as exc:
            raise _ZohoError(INVALID_DATE_FORMAT_CODE, f"Invalid date format: {exc}") from None
        if not parser.has_time:
            raise _ZohoError(INVALID_DATE_FORMAT_CODE, f"Invalid date format: {pattern!r} has no time")
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
                    raise _ZohoError(INVALID_DATE_FORMAT_CODE, f"Invalid date format: {params[name]!r}") from None
        if not punches:
            raise _ZohoError(MISSING_PARAMETER_CODE, "Missing parameter: checkIn or checkOut")
        employee = self._employee_of(params)
        refusal = self._refused.get(employee["EmployeeID"])
        if refusal is not None:
            raise _ZohoError(REFUSED_CODE, refusal)
        for day in self._store(employee["EmployeeID"], punches):
            self.deliveries += 1
            self.deliveries_by_day[(employee["EmployeeID"], day)] += 1
        return {"response": {"status": 0, "message": "Attendance marked", "result": [{"punches": len(punches)}]}}

    async def _entries(self, request: Request) -> Response:
        return await self._handle(request, READ_BACK, self._day_entries)

    def _day_entries(self, params: dict[str, str]) -> dict[str, Any]:
        pattern = params.get("dateFormat")
        try:
            times = JavaDateFormat(pattern) if pattern else self.org_format
            days = times.date_part()
        except ValueError as exc:
            raise _ZohoError(INVALID_DATE_FORMAT_CODE, f"Invalid date format: {exc}") from None
        if not params.get("date"):
            raise _ZohoError(MISSING_PARAMETER_CODE, "Missing parameter: date")
        try:
            wanted = days.parse(params["date"]).date()
        except ValueError:
            message = f"Invalid date: {params['date']!r} is not {days.pattern}"
            raise _ZohoError(INVALID_DATE_FORMAT_CODE, message) from None
        employee = self._employee_of(params)
        view = self._views_of(employee["EmployeeID"]).get(wanted)
        if view is None:
            return {"firstIn": "", "lastOut": "", "totalHrs": "00:00", "entries": [], "status": 0}

        def text(moment: datetime | None) -> str:
            return times.format(moment) if moment is not None else ""

        minutes = view.total_minutes
        return {
            "firstIn": text(view.first_in),
            "lastOut": text(view.last_out),
            "totalHrs": f"{minutes // 60:02d}:{minutes % 60:02d}",
            "entries": [{"checkIn": text(start), "checkOut": text(out)} for start, out in view.entries],
            "status": 0,
        }

    async def _records(self, request: Request) -> Response:
        return await self._handle(request, EMPLOYEE_RECORDS, self._employee_page)

    def _employee_page(self, params: dict[str, str]) -> dict[str, Any]:
        start = _whole_number(params, "sIndex", 1)
        limit = _whole_number(params, "limit", self.limits.records_per_page)
        if start < 1 or limit < 1:
            raise _ZohoError(INVALID_VALUE_CODE, "Invalid input value: sIndex and limit start at 1")
        if limit > self.limits.records_per_page:
            raise _ZohoError(LIMIT_TOO_LARGE_CODE, f"Limit exceeded: at most {self.limits.records_per_page} records")
        since = _whole_number(params, "modifiedtime", -1) if params.get("modifiedtime") else None
        chosen = [
            (record, fields)
            for record, fields in sorted(self._employees.items())
            if since is None or int(fields["ModifiedTime"]) > since
        ]
        page = chosen[start - 1 : start - 1 + limit]
        if not page:
            raise _ZohoError(NO_RECORDS_CODE, "No records found")
        return {
            "response": {
                "result": [{record: [dict(fields)]} for record, fields in page],
                "message": "Data fetched successfully",
                "uri": "/api/forms/employee/getRecords",
                "status": 0,
            }
        }


def _attribute_days(employee_id: str, punches: Iterable[tuple[datetime, str]]) -> dict[date, DayView]:
    """Group an employee's punches by attendance day and pair them (see the module docstring)."""
    grouped: dict[date, list[tuple[datetime, str]]] = {}
    open_in: tuple[datetime, date] | None = None
    for moment, kind in sorted(punches):
        if kind == "in":
            day = moment.date()
            open_in = (moment, day)
        elif open_in is not None and moment - open_in[0] <= _MAX_SHIFT:
            day = open_in[1]
            open_in = None
        else:
            day = moment.date()
        grouped.setdefault(day, []).append((moment, kind))
    views = {}
    for day, held in grouped.items():
        entries: list[tuple[datetime | None, datetime | None]] = []
        current: datetime | None = None
        for moment, kind in held:
            if kind == "in":
                if current is not None:
                    entries.append((current, None))
                current = moment
            else:
                entries.append((current, moment))
                current = None
        if current is not None:
            entries.append((current, None))
        views[day] = DayView(employee_id, day, tuple(held), tuple(entries))
    return views


async def _params(request: Request) -> dict[str, str]:
    """Query parameters, then a form body over them (Zoho takes both on a POST)."""
    params = dict(request.query_params)
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", errors="replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    return params


def _whole_number(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise _ZohoError(INVALID_VALUE_CODE, f"Invalid input value: {name} must be a whole number") from None


def _error_reply(request: Request, error: _ZohoError) -> Response:
    body = {
        "response": {
            "status": 1,
            "message": "Error occurred",
            "uri": request.url.path.removeprefix("/people"),
            "errors": {"code": error.code, "message": error.message},
        }
    }
    return JSONResponse(body, error.http_status, headers=error.headers)
