"""The SuccessFactors emulator's server: the token endpoint, OData v2 and the Time Events REST API.

See the package docstring (`punchbridge.testing.emulators.sap`) for what it enforces and why.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.plugin_api.targets import Employee
from punchbridge.plugins.sap.saml import AssertionRefusedError, verify_assertion
from punchbridge.testing.emulators.logins import LoginFailures
from punchbridge.testing.emulators.sap.collections import ETD, page
from punchbridge.testing.emulators.sap.credentials import TestCredentials, make_credentials
from punchbridge.testing.emulators.sap.query import (
    ODataError,
    entity_of,
    param_day,
)
from punchbridge.testing.emulators.sap.time_events import HeldEvent, TimeEventStore
from punchbridge.testing.emulators.sap.writes import time_data_row

__all__ = [
    "GRANT_TYPE",
    "LGN_EXPIRED_TOKEN",
    "LGN_INVALID_ASSERTION",
    "LGN_INVALID_TOKEN",
    "TIME_EVENTS_PATH",
    "SapEmulator",
    "SapLimits",
]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:saml2-bearer"
LGN_INVALID_ASSERTION = "LGN0011"
LGN_INVALID_TOKEN = "LGN0021"
LGN_EXPIRED_TOKEN = "LGN0022"
#: Where the Time Events REST API listens (SAP's API specification, and the client code that calls it).
TIME_EVENTS_PATH = "/rest/timemanagement/timeeventprocessing/v1/TimeEvents"


@dataclass(frozen=True)
class SapLimits:
    """The limits the emulator enforces; the defaults are SAP's documented ones (the scale is not documented)."""

    records_per_call: int = 1000
    events_per_user: int = 200
    page_size: int = 1000
    token_lifetime: float = 86_400.0
    assertion_max_lifetime: float = 3600.0
    #: Decimal places ExternalTimeData keeps for `hours` (Edm.Decimal; the scale is unconfirmed).
    hours_scale: int = 2

    @classmethod
    def lifted(cls) -> SapLimits:
        """SAP's sizes, tokens that outlive a benchmark: SuccessFactors publishes no per-minute limit to lift."""
        return cls(token_lifetime=10 * 86_400.0)


@dataclass
class Canned:
    """A reply to give the next call of an API as it is (`SapEmulator.fail_next`)."""

    status: int
    body: str
    content_type: str
    headers: dict[str, str]


class SapEmulator:
    """The SuccessFactors emulator (see the module docstring). `app` is the ASGI app to `serve`."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        limits: SapLimits | None = None,
        credentials: TestCredentials | None = None,
        company_id: str = "ACMECORP",
        api_user: str = "sfapi",
        issuer: str = "www.successfactors.com",
        audience: str = "www.successfactors.com",
        timezone: str = "UTC",
        event_entity: str = "TimeEvent",
        event_types: Iterable[str] = ("P10", "P20", "P15", "P25"),
        csrf_required: bool = False,
        time_event_user: str | None = None,
    ) -> None:
        self.clock = clock
        self.limits = limits or SapLimits()
        self.credentials = credentials or make_credentials()
        self._certificate = self.credentials.certificate
        self.company_id, self.api_user, self.issuer, self.audience = company_id, api_user, issuer, audience
        self.client_id = base64.b64encode(secrets.token_bytes(24)).decode("ascii").rstrip("=")
        self.timezone = ZoneInfo(timezone)
        self.event_entity = event_entity
        #: Whether writes need the session's X-CSRF-Token (SuccessFactors' rule for bearer-token writes
        #: is not documented; client code upserts without one, so the default is no).
        self.csrf_required = csrf_required
        #: The user an OAuth client for terminal time events is bound to (SAP KBA 3146142: the
        #: technical user TECHNICAL_USER_CICOTERMINAL_9D3F8AC1); None: any API user may send them.
        self.time_event_user = time_event_user
        self.lock = threading.RLock()
        self.time_events = TimeEventStore(
            frozenset(event_types), per_call=self.limits.records_per_call, per_user=self.limits.events_per_user
        )
        self._tokens: dict[str, tuple[float, str]] = {}
        self._issued: list[str] = []
        self._sessions: dict[str, str] = {}
        self._issued_sessions: list[tuple[str, str]] = []
        self._users: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, list[dict[str, Any]]] = {}
        self._time_data: dict[str, dict[str, Any]] = {}
        self._refused: dict[str, str] = {}
        self._canned: dict[str, deque[Canned]] = {}
        #: The login switch: `logins.fail_next(N, status=429, retry_after=...)`, `logins.requests`.
        self.logins = LoginFailures()
        self.deliveries = 0
        self.records_received = 0
        self.requests = 0
        self.calls: Counter[str] = Counter()
        self.app = Starlette(
            routes=[
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/odata/v2/", self._service_root, methods=["GET"]),
                Route("/odata/v2/upsert", self._upsert, methods=["POST"]),
                Route(TIME_EVENTS_PATH, self._time_events, methods=["GET", "POST"]),
                Route("/odata/v2/{entity}", self._collection, methods=["GET"]),
            ]
        )

    # -- configuring ---------------------------------------------------------------------------

    def plugin_settings(self, url: str, folder: Path, **overrides: Any) -> dict[str, Any]:
        """Settings of a `sap_successfactors` target for this emulator at `url` (key files written to `folder`).

        No `timezone`: each day is written in its own site's zone, as a multi-site customer's would be.
        """
        settings: dict[str, Any] = {
            "api_server": url,
            "company_id": self.company_id,
            "client_id": self.client_id,
            "user_id": self.api_user,
            **self.credentials.write(folder),
            "time_type": "ATTENDANCE",
        }
        if self.time_event_user:
            settings["time_events"] = {"user_id": self.time_event_user}
        return {**settings, **overrides}

    def seed_employees(self, employees: Iterable[Employee], *, replace: bool = False) -> None:
        """Add (or replace, by userId) users with one EmpJob row each; `replace`: these become the only ones.

        From `extra`: `start_date` (the row's startDate, default 2020-01-01), `cost_centre`,
        `timezone` (default the emulator's) and `custom01` (a User field, e.g. the badge).
        """
        with self.lock:
            if replace:
                self._users.clear()
                self._jobs.clear()
            for employee in employees:
                first, _, last = employee.name.strip().partition(" ")
                modified = employee.modified_at or datetime.fromtimestamp(self.clock(), UTC)
                self._users[employee.target_id] = {
                    "userId": employee.target_id,
                    "firstName": first,
                    "lastName": last.strip(),
                    "email": employee.email,
                    "status": "active" if employee.active else "inactive",
                    "custom01": employee.extra.get("custom01", employee.badge),
                }
                start = employee.extra.get("start_date") or date(2020, 1, 1)
                self._jobs[employee.target_id] = [
                    {
                        "userId": employee.target_id,
                        "startDate": start if isinstance(start, date) else date.fromisoformat(str(start)),
                        "endDate": date(9999, 12, 31),
                        "costCenter": employee.extra.get("cost_centre"),
                        "department": employee.department,
                        "location": employee.site,
                        "timezone": employee.extra.get("timezone", self.timezone.key),
                        "emplStatus": "A" if employee.active else "T",
                        "lastModifiedDateTime": modified,
                    }
                ]

    def add_job(self, user_id: str, start: date, **fields: Any) -> None:
        """A new effective-dated EmpJob row from `start` (the previous one ends the day before): a cost-centre move."""
        with self.lock:
            rows = self._jobs[user_id]
            rows[-1]["endDate"] = start - timedelta(days=1)
            moment = datetime.fromtimestamp(self.clock(), UTC)
            rows.append({**rows[-1], **fields, "startDate": start, "endDate": date(9999, 12, 31),
                         "lastModifiedDateTime": moment})  # fmt: skip

    def refuse_user(self, user_id: str, message: str) -> None:
        """Answer ERROR (with `message`) for every record of `user_id` from now on."""
        with self.lock:
            self._refused[user_id] = message

    def fail_next(
        self,
        api: str,
        *,
        status: int = 502,
        body: str = "<html><body>Bad Gateway</body></html>",
        content_type: str = "text/html",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next call of `api` (`token`, `csrf`, `upsert`, `time_events`, an entity) with this reply."""
        with self.lock:
            self._canned.setdefault(api, deque()).append(Canned(status, body, content_type, dict(headers or {})))

    def throttle_next(self, api: str, *, retry_after: int = 30, status: int = 429) -> None:
        """Answer the next call of `api` with 429 (or `status`) and `Retry-After: retry_after`."""
        message = "Too many requests; try again later" if status == 429 else "Service temporarily unavailable"
        body = json.dumps({"error": {"code": "COE_TOO_MANY_REQUESTS", "message": {"lang": "en-US", "value": message}}})
        self.fail_next(api, status=status, body=body, content_type="application/json",
                       headers={"Retry-After": str(retry_after)})  # fmt: skip

    def expire_tokens(self) -> None:
        """Let every access token issued so far expire now."""
        with self.lock:
            now = self.clock()
            self._tokens = {token: (now, user) for token, (_, user) in self._tokens.items()}

    def end_sessions(self) -> None:
        """Forget every session (cookie and CSRF token), as a session time-out on SAP's side does."""
        with self.lock:
            self._sessions.clear()

    # -- inspecting ----------------------------------------------------------------------------

    def time_data(self) -> dict[str, dict[str, Any]]:
        """Every ExternalTimeData record held, by externalCode (wire values)."""
        with self.lock:
            return {key: dict(row) for key, row in self._time_data.items()}

    def events(self) -> dict[str, HeldEvent]:
        """Every clock event held, by its UUID."""
        with self.lock:
            return dict(self.time_events.events)

    def event_days(self) -> dict[tuple[str, date], list[tuple[datetime, str]]]:
        """Clock events by (userId, local day in the user's EmpJob time zone): (local time, type), in order."""
        with self.lock:
            days: dict[tuple[str, date], list[tuple[datetime, str]]] = {}
            for held in self.time_events.events.values():
                local = self._local(held.assignment, held.moment)
                days.setdefault((held.assignment, local.date()), []).append((local, held.type_code))
            return {key: sorted(value) for key, value in days.items()}

    def tokens_issued(self) -> list[str]:
        """Every access token issued (to check that none leaks into a log)."""
        with self.lock:
            return list(self._issued)

    def session_ids(self) -> list[str]:
        """Every session cookie value issued (live or ended)."""
        with self.lock:
            return [session for session, _ in self._issued_sessions]

    def csrf_tokens(self) -> list[str]:
        """Every CSRF token issued (live or ended)."""
        with self.lock:
            return [token for _, token in self._issued_sessions]

    # -- the gate ------------------------------------------------------------------------------

    def _canned_reply(self, api: str) -> Response | None:
        queue = self._canned.get(api)
        if not queue:
            return None
        canned = queue.popleft()
        return Response(canned.body, canned.status, media_type=canned.content_type, headers=canned.headers)

    def _authorise(self, request: Request) -> str:
        """The user of the request's bearer token; ODataError (401) when it has none valid."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        held = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if held is None:
            raise ODataError(401, LGN_INVALID_TOKEN, "[LGN0021]The OAuth token is missing or invalid")
        if held[0] <= self.clock():
            raise ODataError(401, LGN_EXPIRED_TOKEN, "[LGN0022]The OAuth token has expired")
        return held[1]

    def _check_csrf(self, request: Request) -> Response | None:
        """The 403 a write without the session's CSRF token gets, when the emulator requires one."""
        if not self.csrf_required:
            return None
        session = self._sessions.get(request.cookies.get("JSESSIONID", ""))
        if session is not None and request.headers.get("x-csrf-token") == session:
            return None
        return Response("CSRF token validation failed", 403, headers={"X-CSRF-Token": "Required"},
                        media_type="text/plain")  # fmt: skip

    def _local(self, user_id: str, moment: datetime) -> datetime:
        jobs = self._jobs.get(user_id)
        zone = ZoneInfo(jobs[-1]["timezone"]) if jobs and jobs[-1].get("timezone") else self.timezone
        return moment.astimezone(zone)

    # -- token ---------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        failed = self.logins.answer()
        if failed is not None:
            return failed
        form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
        with self.lock:
            self.requests += 1
            self.calls["token"] += 1
            canned = self._canned_reply("token")
            if canned is not None:
                return canned
            if form.get("grant_type") != GRANT_TYPE:
                return JSONResponse({"error": "unsupported_grant_type"}, 400)

            def refuse(reason: str) -> Response:
                return ODataError(401, LGN_INVALID_ASSERTION, f"[LGN0011]Invalid SAML assertion: {reason}").response()

            if form.get("client_id") != self.client_id:
                return refuse("client_id is not a registered OAuth client of this company")
            if form.get("company_id") != self.company_id:
                return refuse(f"company {form.get('company_id')!r} does not match the OAuth client's company")
            try:
                xml = base64.b64decode(str(form.get("assertion") or ""), validate=True)
            except (binascii.Error, ValueError):
                return refuse("the assertion is not base64")
            now = datetime.fromtimestamp(self.clock(), UTC)
            try:
                claims = verify_assertion(
                    xml,
                    self._certificate,
                    issuer=self.issuer,
                    audience=self.audience,
                    client_id=self.client_id,
                    now=now,
                    recipient=f"{request.url.scheme}://{request.url.netloc}/oauth/token",
                )
            except AssertionRefusedError as exc:
                return refuse(str(exc))
            if (claims.not_on_or_after - now).total_seconds() > self.limits.assertion_max_lifetime + 60:
                return refuse(f"the assertion is valid for more than {self.limits.assertion_max_lifetime:g} s")
            if claims.user_id not in (self.api_user, self.time_event_user):
                return refuse(f"user {claims.user_id!r} is not allowed to use this OAuth client")
            token = secrets.token_urlsafe(32)
            self._tokens[token] = (self.clock() + self.limits.token_lifetime, claims.user_id)
            self._issued.append(token)
            return JSONResponse(
                {"access_token": token, "token_type": "Bearer", "expires_in": int(self.limits.token_lifetime)}
            )

    # -- service root (CSRF fetch) -------------------------------------------------------------

    async def _service_root(self, request: Request) -> Response:
        with self.lock:
            self.requests += 1
            self.calls["csrf"] += 1
            try:
                self._authorise(request)
            except ODataError as error:
                return error.response()
            canned = self._canned_reply("csrf")
            if canned is not None:
                return canned
            body = {"d": {"EntitySets": ["EmpJob", ETD, self.event_entity, "User"]}}
            if request.headers.get("x-csrf-token", "").lower() != "fetch":
                return JSONResponse(body)
            session, token = secrets.token_hex(16), secrets.token_urlsafe(24)
            self._sessions[session] = token
            self._issued_sessions.append((session, token))
            response = JSONResponse(body, headers={"X-CSRF-Token": token})
            response.set_cookie("JSESSIONID", session, httponly=True, path="/")
            return response

    # -- upsert --------------------------------------------------------------------------------

    async def _upsert(self, request: Request) -> Response:
        raw = await request.body()
        with self.lock:
            self.requests += 1
            self.calls["upsert"] += 1
            try:
                self._authorise(request)
                refusal = self._check_csrf(request)
                if refusal is not None:
                    return refusal
                canned = self._canned_reply("upsert")
                if canned is not None:
                    return canned
                return JSONResponse({"d": self._upsert_records(raw)})
            except ODataError as error:
                return error.response()

    def _upsert_records(self, raw: bytes) -> list[dict[str, Any]]:
        try:
            records = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ODataError(400, "COE_GENERAL_BAD_REQUEST", "The request body is not JSON") from None
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise ODataError(400, "COE_GENERAL_BAD_REQUEST", "The upsert body must be a non-empty array of objects")
        cap = self.limits.records_per_call
        if len(records) > cap:
            raise ODataError(400, "COE_GENERAL_BAD_REQUEST", f"Too many records in one upsert: {len(records)} > {cap}")
        self.records_received += len(records)
        results, touched = [], set()
        for index, record in enumerate(records):
            entity = entity_of(record)
            key = record.get("externalCode")
            shown = f"{entity}/externalCode={key}"
            try:
                if entity == ETD:
                    changed, day = self._upsert_time_data(record)
                else:
                    raise ODataError(
                        400, "COE_ENTITY_NOT_FOUND", f"Entity {entity!r} does not exist or cannot be upserted"
                    )
            except ODataError as error:
                results.append({"key": shown, "status": "ERROR", "editStatus": None, "message": error.message,
                                "index": index, "httpCode": error.status, "inlineResults": None})  # fmt: skip
                continue
            if changed:
                touched.add((record["userId"], day))
            results.append({"key": shown, "status": "OK", "editStatus": "UPSERTED", "message": None, "index": index,
                            "httpCode": 204, "inlineResults": None})  # fmt: skip
        self.deliveries += len(touched)
        return results

    def _upsert_time_data(self, record: Mapping[str, Any]) -> tuple[bool, date]:
        key, row, start = time_data_row(record, self._users.__contains__, self._refused, self.limits.hours_scale)
        changed = self._time_data.get(key) != row
        self._time_data[key] = row
        return changed, start

    # -- the Time Events REST API -------------------------------------------------------------

    async def _time_events(self, request: Request) -> Response:
        raw = await request.body()
        with self.lock:
            self.requests += 1
            self.calls["time_events"] += 1
            try:
                user = self._authorise(request)
            except ODataError as error:
                return error.response()
            if self.time_event_user is not None and user != self.time_event_user:
                return JSONResponse({"status": "FORBIDDEN", "message": f"User {user} may not send time events",
                                     "errors": []}, 403)  # fmt: skip
            if request.method == "GET":  # the API creates only (POST): a GET finds the path but no method
                return Response("Method Not Allowed", 405, headers={"Allow": "POST"}, media_type="text/plain")
            refusal = self._check_csrf(request)
            if refusal is not None:
                return refusal
            canned = self._canned_reply("time_events")
            if canned is not None:
                return canned
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                body = None
            status, reply, created = self.time_events.post(body, self._users.__contains__, self._refused)
            if status == 201:
                self.records_received += len(body)
                self.deliveries += len({(held.assignment, self._local(held.assignment, held.moment).date())
                                        for held in created})  # fmt: skip
            return JSONResponse(reply, status)

    # -- reads ---------------------------------------------------------------------------------

    async def _collection(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        with self.lock:
            self.requests += 1
            self.calls[entity] += 1
            try:
                self._authorise(request)
                canned = self._canned_reply(entity)
                if canned is not None:
                    return canned
                url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
                return JSONResponse(page(entity, request.query_params, url, self._rows_of, self.limits.page_size))
            except ODataError as error:
                return error.response()

    def _rows_of(self, entity: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        if entity == ETD:
            return [{**row, "__metadata": {"uri": f"{ETD}('{key}')", "type": f"SFOData.{ETD}"}}
                    for key, row in self._time_data.items()]  # fmt: skip
        if entity == self.event_entity:
            return self.time_events.rows(entity)
        if entity != "EmpJob":
            raise ODataError(404, "COE_RESOURCE_NOT_FOUND", f"Entity {entity!r} is not found")
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        since = param_day(params, "fromDate") or today
        until = param_day(params, "toDate") or (date(9999, 12, 31) if "fromDate" in params else today)
        rows = []
        for user_id, jobs in self._jobs.items():
            for job in jobs:
                if job["startDate"] <= until and job["endDate"] >= since:
                    rows.append({**job, "_user": self._users[user_id]})
        return rows
