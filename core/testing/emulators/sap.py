"""A SAP SuccessFactors emulator: SAML-bearer OAuth, the CSRF session, OData upsert and reads, with SAP's limits.

    emulator = SapEmulator(clock=ManualClock())
    emulator.seed_employees([Employee("T-1", "Asha Rao", email="asha@example.com")])
    with serve(emulator.app) as server:
        settings = emulator.plugin_settings(server.url, tmp_path)   # writes the test key and certificate

The emulator holds one company with one OAuth client, whose X.509 certificate it generated (an RSA
key made at start-up: nothing is read from or committed to disk; `plugin_settings` writes the key
for the plugin into a folder the test owns). It enforces what SAP documents for these APIs,
so a plugin that breaks a rule fails here first:

- `POST /oauth/token` (form `client_id`, `company_id`, `grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer`,
  `assertion` = base64 of a signed SAML 2.0 assertion): the XML-DSig signature is verified against
  the *registered* certificate (never one the assertion carries), with the issuer, audience,
  `api_key` attribute, recipient (this token URL), API user (`NameID`) and validity window checked
  on the emulator's clock; any failure is HTTP 401 `{"error": {"code": "LGN0011", "message":
  {"lang": "en-US", "value": "..."}}}` naming what failed. A token lives `SapLimits.token_lifetime`.
- Every OData call needs `Authorization: Bearer {token}`: missing or unknown gives 401 `LGN0021`,
  expired 401 `LGN0022` (the LGN numbers are the emulator's; SAP's exact ones are unpublished).
- Writes need the session: a GET with `X-CSRF-Token: Fetch` answers a token in `X-CSRF-Token` and a
  `JSESSIONID` cookie; a POST without both (or after `end_sessions`) gets 403, `X-CSRF-Token:
  Required` and "CSRF token validation failed".
- `POST /odata/v2/upsert`: a JSON array of at most `records_per_call` records (else 400
  `COE_GENERAL_BAD_REQUEST`), each naming its entity in `__metadata.uri`; clock events at most
  `events_per_user` per user per call (else the whole call is 400). Each record is judged alone
  (`externalCode` required, at most 128 characters; `userId` a known user; dates `/Date(ms)/`;
  times `PT09H02M00S`; required fields; no unknown fields) and the reply is HTTP 200
  `{"d": [{"key", "status": "OK"|"ERROR", "editStatus", "message", "index", "httpCode"}]}`. Records
  are upserted by `externalCode`: the same record sent again changes nothing.
- `GET /odata/v2/{EmpJob|ExternalTimeData|<event entity>}` with `$filter` (`field op literal`
  joined by `and`; `op` eq ne gt ge lt le, or `field in lit,lit`), `$select`, `$expand` (EmpJob:
  `userNav`, `emplStatusNav`), `$orderby`, `customPageSize` (at most `page_size`), `$skiptoken`;
  EmpJob is effective-dated (the row in force today, or every row overlapping `fromDate`..`toDate`).
  Pages end in `__next` (the same query plus `$skiptoken`) while rows remain.
- Errors are OData error objects `{"error": {"code": "COE_...", "message": {"lang", "value"}}}`.

Injection: `refuse_user` (per-record ERROR for one user), `fail_next` (a canned reply for the next
call of an API), `throttle_next` (429 with Retry-After), `expire_tokens`, `end_sessions`.
Inspection: `time_data()`, `event_days()`, `deliveries` (upserts that created or changed a record,
counted per user and work day per call), `records_received`, `calls`, `requests`, `tokens_issued()`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import operator
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.plugin_api.targets import Employee
from punchbridge.plugins.sap.saml import AssertionRefusedError, verify_assertion
from punchbridge.testing.emulators.zoho import ManualClock

__all__ = [
    "GRANT_TYPE",
    "LGN_EXPIRED_TOKEN",
    "LGN_INVALID_ASSERTION",
    "LGN_INVALID_TOKEN",
    "ManualClock",
    "SapEmulator",
    "SapLimits",
    "TestCredentials",
    "make_credentials",
]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:saml2-bearer"
LGN_INVALID_ASSERTION = "LGN0011"
LGN_INVALID_TOKEN = "LGN0021"
LGN_EXPIRED_TOKEN = "LGN0022"
ETD = "ExternalTimeData"
_ETD_FIELDS = {
    "externalCode",
    "userId",
    "startDate",
    "endDate",
    "startTime",
    "endTime",
    "hours",
    "timeType",
    "costCenter",
}
_EVENT_FIELDS = {"externalCode", "userId", "timeEventType", "timestamp", "terminalId"}
_DATE = re.compile(r"/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/")
_TIME = re.compile(r"PT([01]\d|2[0-3])H([0-5]\d)M([0-5]\d)S")
_EMPJOB = ("userId", "startDate", "endDate", "costCenter", "department", "location", "timezone", "emplStatus",
           "lastModifiedDateTime")  # fmt: skip
_USER = ("userId", "firstName", "lastName", "email", "status", "custom01")
_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<lit>(?:datetimeoffset|datetime)?'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_/]*)|(?P<comma>,)|(?P<paren>[()]))"
)
_OPS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


@dataclass(frozen=True)
class SapLimits:
    """The limits the emulator enforces; the defaults are SAP's documented ones."""

    records_per_call: int = 1000
    events_per_user: int = 200
    page_size: int = 1000
    token_lifetime: float = 86_400.0
    assertion_max_lifetime: float = 3600.0

    @classmethod
    def lifted(cls) -> SapLimits:
        """SAP's sizes, tokens that outlive a benchmark: SuccessFactors publishes no per-minute limit to lift."""
        return cls(token_lifetime=10 * 86_400.0)


@dataclass(frozen=True)
class TestCredentials:
    """A generated RSA key and self-signed certificate (PEM), as registered for an OAuth client."""

    __test__ = False  # not a pytest test class, despite its name

    key_pem: bytes
    certificate_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        """The parsed certificate."""
        return x509.load_pem_x509_certificate(self.certificate_pem)

    def write(self, folder: Path, stem: str = "sf") -> dict[str, Path]:
        """Write `stem.key.pem` (mode 0600) and `stem.cert.pem` into `folder`; their paths as plugin settings."""
        folder.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = folder / f"{stem}.key.pem", folder / f"{stem}.cert.pem"
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.key_pem)
        cert_path.write_bytes(self.certificate_pem)
        return {"private_key": key_path, "certificate": cert_path}


def make_credentials(common_name: str = "punchbridge-test", *, valid_days: int = 365) -> TestCredentials:
    """A fresh 2048-bit RSA key and a self-signed certificate for it (made at test time, never committed)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=valid_days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return TestCredentials(key_pem, certificate.public_bytes(serialization.Encoding.PEM))


class _ODataError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})

    def response(self) -> Response:
        body = {"error": {"code": self.code, "message": {"lang": "en-US", "value": self.message}}}
        return JSONResponse(body, self.status, headers=self.headers)


@dataclass
class _Canned:
    status: int
    body: str
    content_type: str
    headers: dict[str, str]


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _date_wire(day: date) -> str:
    return f"/Date({_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))})/"


def _parse_wire_date(value: Any) -> datetime | None:
    found = _DATE.fullmatch(value) if isinstance(value, str) else None
    return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC) if found else None


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
        event_types: Iterable[str] = ("CLOCK_IN", "CLOCK_OUT", "BREAK_START", "BREAK_END"),
    ) -> None:
        self.clock = clock
        self.limits = limits or SapLimits()
        self.credentials = credentials or make_credentials()
        self._certificate = self.credentials.certificate
        self.company_id, self.api_user, self.issuer, self.audience = company_id, api_user, issuer, audience
        self.client_id = base64.b64encode(secrets.token_bytes(24)).decode("ascii").rstrip("=")
        self.timezone = ZoneInfo(timezone)
        self.event_entity = event_entity
        self.event_types = frozenset(event_types)
        self.lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._issued: list[str] = []
        self._sessions: dict[str, str] = {}
        self._issued_sessions: list[tuple[str, str]] = []
        self._users: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, list[dict[str, Any]]] = {}
        self._time_data: dict[str, dict[str, Any]] = {}
        self._events: dict[str, dict[str, Any]] = {}
        self._refused: dict[str, str] = {}
        self._canned: dict[str, deque[_Canned]] = {}
        self.deliveries = 0
        self.records_received = 0
        self.requests = 0
        self.calls: Counter[str] = Counter()
        self.app = Starlette(
            routes=[
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/odata/v2/", self._service_root, methods=["GET"]),
                Route("/odata/v2/upsert", self._upsert, methods=["POST"]),
                Route("/odata/v2/{entity}", self._collection, methods=["GET"]),
            ]
        )

    # -- configuring ---------------------------------------------------------------------------

    def plugin_settings(self, url: str, folder: Path, **overrides: Any) -> dict[str, Any]:
        """Settings of a `sap_successfactors` target for this emulator at `url` (key files written to `folder`)."""
        settings: dict[str, Any] = {
            "api_server": url,
            "company_id": self.company_id,
            "client_id": self.client_id,
            "user_id": self.api_user,
            **self.credentials.write(folder),
            "time_type": "ATTENDANCE",
            "timezone": self.timezone.key,
        }
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
        """Answer the next call of `api` (`token`, `csrf`, `upsert`, or an entity name) with this reply."""
        with self.lock:
            self._canned.setdefault(api, deque()).append(_Canned(status, body, content_type, dict(headers or {})))

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
            self._tokens = dict.fromkeys(self._tokens, now)

    def end_sessions(self) -> None:
        """Forget every session (cookie and CSRF token), as a session time-out on SAP's side does."""
        with self.lock:
            self._sessions.clear()

    # -- inspecting ----------------------------------------------------------------------------

    def time_data(self) -> dict[str, dict[str, Any]]:
        """Every ExternalTimeData record held, by externalCode (wire values)."""
        with self.lock:
            return {key: dict(row) for key, row in self._time_data.items()}

    def events(self) -> dict[str, dict[str, Any]]:
        """Every clock event held, by externalCode (wire values)."""
        with self.lock:
            return {key: dict(row) for key, row in self._events.items()}

    def event_days(self) -> dict[tuple[str, date], list[tuple[datetime, str]]]:
        """Clock events by (userId, local day in the user's EmpJob time zone): (local time, type), in order."""
        with self.lock:
            days: dict[tuple[str, date], list[tuple[datetime, str]]] = {}
            for row in self._events.values():
                local = self._local(row["userId"], row["_moment"])
                days.setdefault((row["userId"], local.date()), []).append((local, row["_type"]))
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

    def _authorise(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None:
            raise _ODataError(401, LGN_INVALID_TOKEN, "[LGN0021]The OAuth token is missing or invalid")
        if expiry <= self.clock():
            raise _ODataError(401, LGN_EXPIRED_TOKEN, "[LGN0022]The OAuth token has expired")

    def _local(self, user_id: str, moment: datetime) -> datetime:
        jobs = self._jobs.get(user_id)
        zone = ZoneInfo(jobs[-1]["timezone"]) if jobs and jobs[-1].get("timezone") else self.timezone
        return moment.astimezone(zone)

    # -- token ---------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
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
                return _ODataError(401, LGN_INVALID_ASSERTION, f"[LGN0011]Invalid SAML assertion: {reason}").response()

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
            if claims.user_id != self.api_user:
                return refuse(f"user {claims.user_id!r} is not allowed to use this OAuth client")
            token = secrets.token_urlsafe(32)
            self._tokens[token] = self.clock() + self.limits.token_lifetime
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
            except _ODataError as error:
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
                session = self._sessions.get(request.cookies.get("JSESSIONID", ""))
                if session is None or request.headers.get("x-csrf-token") != session:
                    return Response(
                        "CSRF token validation failed",
                        403,
                        headers={"X-CSRF-Token": "Required"},
                        media_type="text/plain",
                    )
                canned = self._canned_reply("upsert")
                if canned is not None:
                    return canned
                return JSONResponse({"d": self._upsert_records(raw)})
            except _ODataError as error:
                return error.response()

    def _upsert_records(self, raw: bytes) -> list[dict[str, Any]]:
        try:
            records = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _ODataError(400, "COE_GENERAL_BAD_REQUEST", "The request body is not JSON") from None
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise _ODataError(400, "COE_GENERAL_BAD_REQUEST", "The upsert body must be a non-empty array of objects")
        cap = self.limits.records_per_call
        if len(records) > cap:
            raise _ODataError(400, "COE_GENERAL_BAD_REQUEST", f"Too many records in one upsert: {len(records)} > {cap}")
        per_user = Counter(r.get("userId") for r in records if _entity_of(r) == self.event_entity)
        crowded = [user for user, count in per_user.items() if count > self.limits.events_per_user]
        if crowded:
            raise _ODataError(
                400,
                "COE_GENERAL_BAD_REQUEST",
                f"Too many time events for user {crowded[0]} in one call: {per_user[crowded[0]]} > "
                f"{self.limits.events_per_user}",
            )
        self.records_received += len(records)
        results, touched = [], set()
        for index, record in enumerate(records):
            entity = _entity_of(record)
            key = record.get("externalCode")
            shown = f"{entity}/externalCode={key}"
            try:
                if entity == ETD:
                    changed, day = self._upsert_time_data(record)
                elif entity == self.event_entity:
                    changed, day = self._upsert_event(record)
                else:
                    raise _ODataError(
                        400, "COE_ENTITY_NOT_FOUND", f"Entity {entity!r} does not exist or cannot be upserted"
                    )
            except _ODataError as error:
                results.append({"key": shown, "status": "ERROR", "editStatus": None, "message": error.message,
                                "index": index, "httpCode": error.status, "inlineResults": None})  # fmt: skip
                continue
            if changed:
                touched.add((record["userId"], day))
            results.append({"key": shown, "status": "OK", "editStatus": "UPSERTED", "message": None, "index": index,
                            "httpCode": 204, "inlineResults": None})  # fmt: skip
        self.deliveries += len(touched)
        return results

    def _common(self, record: Mapping[str, Any], allowed: set[str]) -> str:
        unknown = sorted(set(record) - allowed - {"__metadata"})
        if unknown:
            raise _ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: {', '.join(unknown)}")
        key = record.get("externalCode")
        if not isinstance(key, str) or not key.strip():
            raise _ODataError(400, "COE_REQUIRED_FIELD_MISSING", "externalCode is required")
        if len(key) > 128:
            raise _ODataError(400, "COE_FIELD_TOO_LONG", f"externalCode is {len(key)} characters; at most 128")
        user = record.get("userId")
        if not isinstance(user, str) or user not in self._users:
            raise _ODataError(400, "COE_INVALID_VALUE", f"userId {user!r} is not a known user")
        if user in self._refused:
            raise _ODataError(400, "COE_BUSINESS_RULE", self._refused[user])
        return key

    def _upsert_time_data(self, record: Mapping[str, Any]) -> tuple[bool, date]:
        key = self._common(record, _ETD_FIELDS)
        start = _wire_day(record.get("startDate"), "startDate")
        end = _wire_day(record.get("endDate"), "endDate") if record.get("endDate") is not None else start
        if not start <= end <= start + timedelta(days=1):
            raise _ODataError(400, "COE_INVALID_VALUE", "endDate must be startDate or the day after")
        for name in ("startTime", "endTime"):
            if record.get(name) is not None and not (isinstance(record[name], str) and _TIME.fullmatch(record[name])):
                raise _ODataError(
                    400, "COE_INVALID_VALUE", f"{name} {record[name]!r} is not an Edm.Time like PT09H00M00S"
                )
        if not isinstance(record.get("timeType"), str) or not record["timeType"].strip():
            raise _ODataError(400, "COE_REQUIRED_FIELD_MISSING", "timeType is required")
        if record.get("hours") is None and record.get("startTime") is None:
            raise _ODataError(400, "COE_REQUIRED_FIELD_MISSING", "hours or startTime is required")
        if record.get("hours") is not None:
            try:
                hours = Decimal(str(record["hours"]))
            except InvalidOperation:
                raise _ODataError(400, "COE_INVALID_VALUE", f"hours {record['hours']!r} is not a decimal") from None
            if not hours.is_finite() or not 0 <= hours <= 48:
                raise _ODataError(400, "COE_INVALID_VALUE", f"hours {record['hours']!r} is out of range")
        if record.get("costCenter") is not None and not isinstance(record["costCenter"], str):
            raise _ODataError(400, "COE_INVALID_VALUE", "costCenter must be text")
        row = {name: record.get(name) for name in sorted(_ETD_FIELDS) if record.get(name) is not None}
        row["endDate"] = _date_wire(end)
        changed = self._time_data.get(key) != row
        self._time_data[key] = row
        return changed, start

    def _upsert_event(self, record: Mapping[str, Any]) -> tuple[bool, date]:
        allowed = _EVENT_FIELDS
        key = self._common(record, allowed)
        if record.get("timeEventType") not in self.event_types:
            raise _ODataError(400, "COE_INVALID_VALUE", f"timeEventType {record.get('timeEventType')!r} is not known")
        moment = _parse_wire_date(record.get("timestamp"))
        if moment is None:
            raise _ODataError(400, "COE_INVALID_VALUE", f"timestamp {record.get('timestamp')!r} is not /Date(ms+0000)/")
        terminal = record.get("terminalId")
        if terminal is not None and (not isinstance(terminal, str) or len(terminal) > 64):
            raise _ODataError(400, "COE_INVALID_VALUE", "terminalId must be text of at most 64 characters")
        row = {name: record[name] for name in sorted(allowed) if record.get(name) is not None}
        stored = {**row, "_moment": moment, "_type": record["timeEventType"]}
        changed = self._events.get(key) != stored
        self._events[key] = stored
        return changed, self._local(record["userId"], moment).date()

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
                return JSONResponse(self._page(request, entity))
            except _ODataError as error:
                return error.response()

    def _rows_of(self, entity: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        if entity == ETD:
            return [{**row, "__metadata": {"uri": f"{ETD}('{key}')", "type": f"SFOData.{ETD}"}}
                    for key, row in self._time_data.items()]  # fmt: skip
        if entity == self.event_entity:
            return [
                {**{k: v for k, v in row.items() if not k.startswith("_")},
                 "__metadata": {"uri": f"{entity}('{key}')", "type": f"SFOData.{entity}"}}
                for key, row in self._events.items()
            ]  # fmt: skip
        if entity != "EmpJob":
            raise _ODataError(404, "COE_RESOURCE_NOT_FOUND", f"Entity {entity!r} is not found")
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        since = _param_day(params, "fromDate") or today
        until = _param_day(params, "toDate") or (date(9999, 12, 31) if "fromDate" in params else today)
        rows = []
        for user_id, jobs in self._jobs.items():
            for job in jobs:
                if job["startDate"] <= until and job["endDate"] >= since:
                    rows.append({**job, "_user": self._users[user_id]})
        return rows

    def _page(self, request: Request, entity: str) -> dict[str, Any]:
        params = dict(request.query_params)
        known = {"$format", "$filter", "$select", "$expand", "$orderby", "$skiptoken", "customPageSize", "paging",
                 "fromDate", "toDate"}  # fmt: skip
        unknown = sorted(set(params) - known)
        if unknown:
            raise _ODataError(400, "COE_GENERAL_BAD_REQUEST", f"Unsupported query option(s): {', '.join(unknown)}")
        if params.get("$format", "json") != "json":
            raise _ODataError(400, "COE_GENERAL_BAD_REQUEST", "Only $format=json is supported")
        size = _whole(params.get("customPageSize"), self.limits.page_size, "customPageSize")
        if not 1 <= size <= self.limits.page_size:
            raise _ODataError(400, "COE_GENERAL_BAD_REQUEST", f"customPageSize must be 1 to {self.limits.page_size}")
        expand = [name for name in params.get("$expand", "").split(",") if name]
        if any(name not in ("userNav", "emplStatusNav") or entity != "EmpJob" for name in expand):
            raise _ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Cannot expand {expand} on {entity}")
        clauses = _parse_filter(params.get("$filter", ""))
        rows = [row for row in self._rows_of(entity, params) if _passes(row, clauses)]
        for field in reversed([f.strip() for f in params.get("$orderby", "").split(",") if f.strip()]):
            name, _, direction = field.partition(" ")
            rows.sort(key=functools.partial(_sort_key, name), reverse=direction.strip() == "desc")
        query = {k: v for k, v in params.items() if k != "$skiptoken"}
        fingerprint = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]
        offset = _skip(params.get("$skiptoken"), fingerprint)
        page = rows[offset : offset + size]
        results = [self._shape(entity, row, params.get("$select", ""), expand) for row in page]
        body: dict[str, Any] = {"results": results}
        if offset + size < len(rows):
            token = base64.urlsafe_b64encode(json.dumps({"o": offset + size, "q": fingerprint}).encode()).decode()
            body["__next"] = f"{request.url.scheme}://{request.url.netloc}{request.url.path}?" + urlencode(
                {**query, "$skiptoken": token}
            )
        return {"d": body}

    def _shape(self, entity: str, row: dict[str, Any], select: str, expand: list[str]) -> dict[str, Any]:
        chosen = [name.strip() for name in select.split(",") if name.strip()]
        if entity != "EmpJob":
            schema = _ETD_FIELDS if entity == ETD else _EVENT_FIELDS
            missing = [name for name in chosen if name not in schema]
            if missing:
                raise _ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: {', '.join(missing)}")
            return {k: v for k, v in row.items() if not chosen or k in chosen or k == "__metadata"}
        bad = [n for n in chosen if n not in _EMPJOB and not (n.split("/")[0] in expand and len(n.split("/")) == 2)]
        if bad:
            raise _ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: {', '.join(bad)}")
        shaped: dict[str, Any] = {"__metadata": {"uri": f"EmpJob(userId='{row['userId']}')", "type": "SFOData.EmpJob"}}
        for name in _EMPJOB:
            if not chosen or name in chosen:
                value = row[name]
                if isinstance(value, datetime):
                    value = f"/Date({_ms(value)}+0000)/"
                elif isinstance(value, date):
                    value = _date_wire(value)
                shaped[name] = value
        user = row["_user"]
        for nav, fields in (("userNav", {n: user.get(n) for n in _USER}),
                            ("emplStatusNav", {"externalCode": row["emplStatus"]})):  # fmt: skip
            if nav in expand:
                wanted = [n.split("/")[1] for n in chosen if n.startswith(nav + "/")]
                unknown = [n for n in wanted if n not in fields]
                if unknown:
                    raise _ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: {nav}/{unknown[0]}")
                shaped[nav] = {k: v for k, v in fields.items() if not wanted or k in wanted}
            elif not chosen:
                shaped[nav] = {"__deferred": {"uri": f"EmpJob(userId='{row['userId']}')/{nav}"}}
        return shaped


# -- query helpers ----------------------------------------------------------------------------------


def _entity_of(record: Mapping[str, Any]) -> str:
    metadata = record.get("__metadata")
    uri = metadata.get("uri") if isinstance(metadata, dict) else None
    return str(uri).split("(")[0].rsplit("/", 1)[-1] if uri else ""


def _wire_day(value: Any, name: str) -> date:
    moment = _parse_wire_date(value)
    if moment is None:
        raise _ODataError(400, "COE_INVALID_VALUE", f"{name} {value!r} is not a /Date(ms)/ value")
    if moment.time() != datetime.min.time():
        raise _ODataError(400, "COE_INVALID_VALUE", f"{name} {value!r} is not a midnight (a date)")
    return moment.date()


def _whole(text: str | None, default: int, name: str) -> int:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise _ODataError(400, "COE_GENERAL_BAD_REQUEST", f"{name} must be a whole number") from None


def _param_day(params: Mapping[str, str], name: str) -> date | None:
    if name not in params:
        return None
    try:
        return date.fromisoformat(params[name])
    except ValueError:
        raise _ODataError(400, "COE_GENERAL_BAD_REQUEST", f"{name} must be YYYY-MM-DD") from None


def _skip(token: str | None, fingerprint: str) -> int:
    if token is None:
        return 0
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(state["o"])
        same = state["q"] == fingerprint
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _ODataError(400, "COE_INVALID_SKIPTOKEN", "The $skiptoken is not valid") from None
    if not same or offset < 0:
        raise _ODataError(400, "COE_INVALID_SKIPTOKEN", "The $skiptoken belongs to another query")
    return offset


def _sort_key(field: str, row: Mapping[str, Any]) -> tuple[int, Any]:
    return _sortable(row.get(field))


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime | date):
        return (1, _comparable(value))
    parsed = _parse_wire_date(value)
    return (1, parsed) if parsed is not None else (2, str(value))


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    parsed = _parse_wire_date(value)
    return parsed if parsed is not None else value


def _literal(kind: str, text: str) -> Any:
    if kind == "num":
        return Decimal(text)
    if text.startswith(("datetime'", "datetimeoffset'")):
        body = text[text.index("'") + 1 : -1]
        try:
            moment = datetime.fromisoformat(body.replace("Z", "+00:00"))
        except ValueError:
            raise _ODataError(400, "COE_INVALID_FILTER", f"Invalid date literal {text}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return text[1:-1].replace("''", "'")


def _parse_filter(expression: str) -> list[tuple[str, str, list[Any]]]:
    """`$filter` as (field, op, literals) clauses joined by `and` (the subset in the module docstring)."""
    tokens, position = [], 0
    while position < len(expression):
        found = _FILTER_TOKEN.match(expression, position)
        if found is None or found.end() == position:
            if expression[position:].strip() == "":
                break
            raise _ODataError(400, "COE_INVALID_FILTER", f"Cannot read $filter at {expression[position:][:20]!r}")
        tokens.append((found.lastgroup or "", found.group(found.lastgroup or 0)))
        position = found.end()
    if not tokens:
        return []
    raw: list[list[tuple[str, str]]] = [[]]
    for kind, text in tokens:
        if kind == "word" and text == "and":
            raw.append([])
        elif kind != "paren":
            raw[-1].append((kind, text))
    clauses = []
    for clause in raw:
        if len(clause) < 3 or clause[0][0] != "word" or clause[1][0] != "word":
            raise _ODataError(400, "COE_INVALID_FILTER", f"Cannot read $filter {expression!r}")
        field, op = clause[0][1], clause[1][1]
        values = [_literal(kind, text) for kind, text in clause[2:] if kind in ("lit", "num")]
        if op == "in":
            if not values or len(values) * 2 - 1 != len(clause) - 2:
                raise _ODataError(400, "COE_INVALID_FILTER", f"Cannot read the in-list of {field}")
        elif op not in _OPS or len(clause) != 3 or len(values) != 1:
            raise _ODataError(400, "COE_INVALID_FILTER", f"Unsupported $filter clause on {field}: {expression!r}")
        clauses.append((field, op, values))
    return clauses


def _passes(row: Mapping[str, Any], clauses: list[tuple[str, str, list[Any]]]) -> bool:
    """Whether `row` passes every clause of a parsed `$filter`."""
    for field, op, values in clauses:
        held = _comparable(row.get(field))
        if isinstance(values[0], Decimal) and held is not None:
            try:
                held = Decimal(str(held))
            except InvalidOperation:
                return False
        try:
            if op == "in":
                passed = held in values
            elif op in ("eq", "ne"):
                passed = _OPS[op](held, values[0])
            else:
                passed = held is not None and _OPS[op](held, values[0])
        except TypeError:
            raise _ODataError(400, "COE_INVALID_FILTER", f"Cannot compare {field} with {values[0]!r}") from None
        if not passed:
            return False
    return True
