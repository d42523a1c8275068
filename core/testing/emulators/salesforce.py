"""A Salesforce emulator: OAuth, sObject Collections upsert, Bulk API 2.0 ingest, SOQL and describe, with limits.

    key_pem, certificate = generate_jwt_key()         # a fresh RSA key and its certificate (never committed)
    emulator = SalesforceEmulator(certificate=certificate)
    with serve(emulator.app) as server:
        settings = emulator.plugin_settings(server.url, private_key=key_path)   # a `salesforce` target

One base URL serves both the login host and the org's instance. What it enforces, so a plugin that
ignores a rule fails here first:

- `POST /services/oauth2/token`: the JWT bearer grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`,
  an RS256 assertion verified by PyJWT with the connected app's certificate; `iss` the consumer
  key, `sub` the integration user, `aud` the login audience, `exp` in the future on the emulator's
  clock and at most `jwt_max_lifetime` ahead) and the client-credentials grant. Refusals are HTTP 400 `{"error",
  "error_description"}` as Salesforce words them (`invalid_client_id`, `invalid_client`,
  `invalid_grant`). Replies carry `access_token` and `instance_url`, no `expires_in`, as Salesforce's.
- Every `/services/data/vXX.X/...` call needs `Authorization: Bearer {token}`; an unknown or expired
  session gets 401 `INVALID_SESSION_ID`. Each call counts against the org's API requests over a
  rolling 24 hours (`daily_api_requests`); past it, 403 `REQUEST_LIMIT_EXCEEDED` ("TotalRequests Limit
  exceeded."). Every reply says the usage in `Sforce-Limit-Info: api-usage=USED/MAX`.
- `PATCH .../composite/sobjects/{Object}/{ExternalIdField}` upserts at most 200 records (more: 400
  `EXCEEDED_ID_LIMIT`); the field must be an external id of the object (else 400 `INVALID_FIELD`); a
  value that cannot be read as its field's type fails the whole call (400 `JSON_PARSER_ERROR`).
  Each record is judged alone (HTTP 200, one result each, in order, `created` true or false):
  `INVALID_FIELD` (no such field), `INVALID_FIELD_FOR_INSERT_UPDATE` (a system field),
  `MISSING_ARGUMENT` (no external id), `DUPLICATE_EXTERNAL_ID` (the same external id twice in one
  call: every copy fails), `STRING_TOO_LONG`, `REQUIRED_FIELD_MISSING`, and
  `FIELD_CUSTOM_VALIDATION_EXCEPTION` for the refusals `refuse_employee` sets up.
- Bulk API 2.0 ingest (`/jobs/ingest`): a job is created `Open` (`upsert` by an external id field,
  CSV with commas), takes one CSV upload (`Content-Type: text/csv`; its line ending must
  be the job's), moves to `UploadComplete`, then shows `InProgress` for `bulk_polls_in_progress`
  status reads and ends `JobComplete` (rows judged as above; `#N/A` sets a field to null, an empty
  cell leaves it alone) or `Failed` (a header naming an unknown field, no data, a wrong line ending).
  `successfulResults/` (`sf__Id`, `sf__Created`) and `failedResults/` (`sf__Id`, `sf__Error`) give
  the rows back with their original columns once the job is done.
- `GET .../query?q=` runs a subset of SOQL (`SELECT f, ... FROM Obj [WHERE c AND c ...] [ORDER BY f]
  [LIMIT n]`; conditions `=, !=, <, <=, >, >=, IN (...), NOT IN (...)` on literals: quoted text, numbers,
  true/false/null, unquoted date and datetime literals), `batchSize` 200-2000 from
  `Sforce-Query-Options` (default 2000), and pages through `nextRecordsUrl`. A quoted value for a date
  field, an unknown field or object is a 400 (`INVALID_QUERY_FILTER_OPERATOR`, `INVALID_FIELD`,
  `INVALID_TYPE`), as in Salesforce.
- `GET .../sobjects/{Object}/describe` and `GET .../limits` answer as Salesforce does (the parts a
  client reads; describe's object-level `createable`, `updateable` and `queryable` follow `deny`).
- A text field set to `""` is kept blank and reads back null; numbers are kept with every decimal sent
  (the field's decimal places are not applied to API writes: Salesforce Help 000387302); date-times
  are kept as UTC instants to the second.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.plugin_api.targets import Employee
from punchbridge.testing.emulators.keys import self_signed_key
from punchbridge.testing.emulators.logins import LoginFailures

__all__ = [
    "ATTENDANCE_DAY",
    "JWT_GRANT",
    "USER",
    "FieldSpec",
    "SObjectSchema",
    "SalesforceEmulator",
    "SalesforceLimits",
    "generate_jwt_key",
]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FieldType = Literal["id", "string", "textarea", "email", "picklist", "date", "datetime", "double", "int", "boolean"]
_TEXT_TYPES = frozenset({"id", "string", "textarea", "email", "picklist"})
_SYSTEM_FIELDS = ("Id", "CreatedDate", "LastModifiedDate")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class FieldSpec:
    """One field of an sObject as describe shows it."""

    type: FieldType
    length: int = 255
    required: bool = False  # not nillable and not defaulted on create
    external_id: bool = False
    updateable: bool = True  # createable and updateable through the API


@dataclass(frozen=True)
class SObjectSchema:
    """An sObject type: its API name and fields (Id, CreatedDate and LastModifiedDate are added)."""

    name: str
    fields: Mapping[str, FieldSpec]

    def spec(self, name: str) -> FieldSpec | None:
        """The field `name` (system fields included), or None."""
        if name == "Id":
            return FieldSpec("id", 18, updateable=False)
        if name in ("CreatedDate", "LastModifiedDate"):
            return FieldSpec("datetime", updateable=False)
        return self.fields.get(name)

    def all_fields(self) -> list[str]:
        """Every field name, system fields first."""
        return [*_SYSTEM_FIELDS, *self.fields]


#: The custom object the `salesforce` target writes by default.
ATTENDANCE_DAY = SObjectSchema(
    "Attendance_Day__c",
    {
        "Punchbridge_Key__c": FieldSpec("string", 255, external_id=True),
        "Employee_Id__c": FieldSpec("string", 80, required=True),
        "Work_Date__c": FieldSpec("date", required=True),
        "Status__c": FieldSpec("string", 40),
        "Worked_Minutes__c": FieldSpec("double"),
        "First_In__c": FieldSpec("datetime"),
        "Last_Out__c": FieldSpec("datetime"),
        "Intervals__c": FieldSpec("textarea", 1000),
        "Recomputed__c": FieldSpec("boolean"),
        "Cost_Centre__c": FieldSpec("string", 40),
    },
)
#: The standard User object, as far as the employee pull reads it (`Badge_Id__c` is a custom field).
USER = SObjectSchema(
    "User",
    {
        "Username": FieldSpec("string", 80),
        "Name": FieldSpec("string", 121),
        "Email": FieldSpec("email", 128),
        "EmployeeNumber": FieldSpec("string", 20),
        "IsActive": FieldSpec("boolean"),
        "Department": FieldSpec("string", 80),
        "Badge_Id__c": FieldSpec("string", 40),
    },
)


@dataclass(frozen=True)
class SalesforceLimits:
    """The limits the emulator enforces; defaults are Salesforce's (None: no limit)."""

    daily_api_requests: int | None = 15_000  # a small org's allowance per rolling 24 hours
    records_per_collection: int = 200
    query_batch_size: int = 2000
    session_seconds: float = 7200.0
    jwt_max_lifetime: float = 300.0
    bulk_upload_bytes: int = 100_000_000
    bulk_polls_in_progress: int = 1

    @classmethod
    def lifted(cls) -> SalesforceLimits:
        """No daily request limit (for throughput benchmarks); sizes stay Salesforce's."""
        return cls(daily_api_requests=None)


def generate_jwt_key(common_name: str = "punchbridge-test") -> tuple[bytes, bytes]:
    """A new RSA key (PKCS#8 PEM, unencrypted) and a self-signed certificate of it (PEM), for tests.

    Keys are made when a test runs and never stored in the repository.
    """
    return self_signed_key(common_name, valid_days=2)


class _SfError(Exception):
    """A whole-request error: HTTP status, Salesforce's errorCode and message."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


class _RecordError(Exception):
    """One record refused: statusCode, message and the fields concerned."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []


@dataclass
class _Job:
    id: str
    object: str
    operation: str
    external_id: str | None
    line_ending: str
    created: str
    state: str = "Open"
    data: str | None = None
    polls: int = 0
    error: str = ""
    header: list[str] = field(default_factory=list)
    succeeded: list[tuple[str, bool, list[str]]] = field(default_factory=list)
    failed: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class _Canned:
    status: int
    body: str
    content_type: str


class SalesforceEmulator:
    """The Salesforce emulator (see the module docstring). `app` is the ASGI app to `serve`.

    Configure it with `seed_employees`, `refuse_employee`, `expire_tokens` and `fail_next`; inspect it
    with `records`, `record`, `deliveries` (writes that created a record or changed a value),
    `rows_written`, `calls` (per API), `api_requests`, `tokens_issued` and `jobs`.
    """

    def __init__(
        self,
        *,
        certificate: bytes | None = None,
        clock: Callable[[], float] = time.time,
        limits: SalesforceLimits | None = None,
        schemas: Iterable[SObjectSchema] = (ATTENDANCE_DAY, USER),
        audience: str = "https://login.salesforce.com",
    ) -> None:
        self.clock = clock
        self.limits = limits or SalesforceLimits()
        self.audience = audience
        self.client_id = "3MVG9" + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
        self.client_secret = secrets.token_hex(32).upper()
        self.username = "integration@acme.example"
        self.org_id = "00D" + secrets.token_hex(6).upper()[:12] + "AAA"
        self._public_key = _public_key(certificate) if certificate is not None else None
        self.schemas = {schema.name: schema for schema in schemas}
        self._lock = threading.RLock()
        self._sessions: dict[str, float] = {}
        self._issued: list[str] = []
        self._requests: deque[float] = deque()
        self._records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schemas}
        self._by_external: dict[tuple[str, str, str], str] = {}
        self._refusals: list[tuple[str, str, Any, str]] = []
        self._denied: dict[str, set[str]] = {}  # object -> access the integration user lacks (describe flags)
        self._cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._canned: dict[str, deque[_Canned]] = {}
        #: The login switch: `logins.fail_next(N, status=429, retry_after=...)`, `logins.requests`.
        self.logins = LoginFailures()
        self.jobs: dict[str, _Job] = {}
        self._ids = 0
        self.tokens_issued = 0
        self.deliveries = 0
        self.rows_written = 0
        self.calls: Counter[str] = Counter()
        self.api_requests = 0
        self.app = Starlette(
            routes=[
                Route("/services/oauth2/token", self._token, methods=["POST"]),
                Route("/services/data/{rest:path}", self._data, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    # -- configuring ---------------------------------------------------------------------------

    def plugin_settings(self, url: str, **overrides: Any) -> dict[str, Any]:
        """Settings of a `salesforce` target for this emulator at `url` (JWT unless told otherwise)."""
        settings: dict[str, Any] = {
            "login_url": url,
            "client_id": self.client_id,
            "username": self.username,
            "audience": self.audience,
        }
        if overrides.get("auth") == "client_credentials":
            settings.pop("username")
            settings["client_secret"] = self.client_secret
        return {**settings, **overrides}

    def seed_employees(self, employees: Iterable[Employee], *, replace: bool = False) -> None:
        """Put employees into User (`EmployeeNumber` = target_id, `Badge_Id__c` = badge); `replace`: only these."""
        with self._lock:
            if replace:
                for record in self._records["User"].values():
                    self._by_external.pop(("User", "EmployeeNumber", str(record.get("EmployeeNumber"))), None)
                self._records["User"].clear()
            for employee in employees:
                modified = employee.modified_at or datetime.fromtimestamp(self.clock(), UTC)
                key = ("User", "EmployeeNumber", employee.target_id)
                record_id = self._by_external.get(key) or self._new_id("005")
                self._by_external[key] = record_id
                self._records["User"][record_id] = {
                    "Id": record_id,
                    "Username": employee.email or f"{employee.target_id.lower()}@acme.example",
                    "Name": employee.name,
                    "Email": employee.email,
                    "EmployeeNumber": employee.target_id,
                    "IsActive": employee.active,
                    "Department": employee.department,
                    "Badge_Id__c": employee.badge,
                    "CreatedDate": modified,
                    "LastModifiedDate": modified,
                }

    def refuse_employee(self, value: str, message: str, *, field: str = "Employee_Id__c") -> None:
        """Refuse every record whose `field` is `value`, with FIELD_CUSTOM_VALIDATION_EXCEPTION and `message`."""
        with self._lock:
            self._refusals.append(("Attendance_Day__c", field, value, message))

    def deny(self, object_name: str, *flags: str) -> None:
        """Take object access from the integration user: `createable`, `updateable` and/or `queryable` (its
        describe says so; a create or update it lacks is refused per record, INSUFFICIENT_ACCESS_OR_READONLY)."""
        self._denied.setdefault(object_name, set()).update(flags)

    def expire_tokens(self) -> None:
        """End every session issued so far (as the org's session timeout would)."""
        with self._lock:
            self._sessions.clear()

    def fail_next(self, api: str, *, status: int = 503, body: str = "", content_type: str = "text/html") -> None:
        """Answer the next call of `api` (`token`, `upsert`, `query`, `describe`, `limits` or `bulk`) with this."""
        with self._lock:
            self._canned.setdefault(api, deque()).append(_Canned(status, body, content_type))

    # -- editing as a user in Salesforce would (tests plant what people change in the org) ------------

    def add_record(self, values: Mapping[str, Any], object_name: str = "Attendance_Day__c") -> str:
        """Create a record as a user would (values as the REST API takes them, the external id included); its Id."""
        with self._lock:
            schema = self.schemas[object_name]
            external = next(n for n, s in schema.fields.items() if s.external_id)
            record_id, _, _ = self._write(schema, external, self._typed(schema, values))
            return record_id

    def edit_record(self, external_id: str, values: Mapping[str, Any], object_name: str = "Attendance_Day__c") -> None:
        """Change fields of the record with `external_id` as a user would (KeyError when there is none)."""
        with self._lock:
            schema = self.schemas[object_name]
            record = self._records[object_name][self._id_of(schema, external_id)]
            record.update(self._typed(schema, values), LastModifiedDate=self._now())

    def delete_record(self, external_id: str, object_name: str = "Attendance_Day__c") -> None:
        """Delete the record with `external_id` as a user would (KeyError when there is none)."""
        with self._lock:
            schema = self.schemas[object_name]
            record_id = self._id_of(schema, external_id)
            gone = self._records[object_name].pop(record_id)
            external = next(n for n, s in schema.fields.items() if s.external_id)
            self._by_external.pop((object_name, external, gone[external]), None)

    def _id_of(self, schema: SObjectSchema, external_id: str) -> str:
        external = next(n for n, s in schema.fields.items() if s.external_id)
        found = self._by_external.get((schema.name, external, external_id))
        if found is None:
            raise KeyError(f"no {schema.name} with {external} {external_id!r}")
        return found

    def _typed(self, schema: SObjectSchema, values: Mapping[str, Any]) -> dict[str, Any]:
        typed = {}
        for name, value in values.items():
            spec = schema.spec(name)
            if spec is None:
                raise KeyError(f"{schema.name} has no field {name!r}")
            typed[name] = _read_value(spec, value)
        return typed

    # -- inspecting ----------------------------------------------------------------------------

    def records(self, object_name: str = "Attendance_Day__c") -> list[dict[str, Any]]:
        """Copies of every record of `object_name`."""
        with self._lock:
            return [dict(r) for r in self._records[object_name].values()]

    def record(self, external_id: str, object_name: str = "Attendance_Day__c") -> dict[str, Any] | None:
        """The record whose external id (the object's first external id field) is `external_id`."""
        with self._lock:
            schema = self.schemas[object_name]
            field_name = next(n for n, s in schema.fields.items() if s.external_id)
            found = self._by_external.get((object_name, field_name, external_id))
            return dict(self._records[object_name][found]) if found else None

    def access_tokens(self) -> list[str]:
        """Every access token issued (to check that none reaches a log)."""
        with self._lock:
            return list(self._issued)

    # -- plumbing ------------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:012d}AAA"

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _usage(self) -> dict[str, str]:
        cap = self.limits.daily_api_requests
        used = len(self._requests) if cap is not None else self.api_requests
        return {"Sforce-Limit-Info": f"api-usage={used}/{cap or 5_000_000}"}

    def _admit(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry = self._sessions.get(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        now = self.clock()
        if expiry is None or expiry <= now:
            raise _SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        cap = self.limits.daily_api_requests
        if cap is not None:
            while self._requests and self._requests[0] <= now - 86_400:
                self._requests.popleft()
            if len(self._requests) >= cap:
                raise _SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self._requests.append(now)
        self.api_requests += 1

    def _canned_reply(self, api: str) -> Response | None:
        waiting = self._canned.get(api)
        if not waiting:
            return None
        canned = waiting.popleft()
        return Response(canned.body, canned.status, media_type=canned.content_type)

    # -- OAuth ---------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        failed = self.logins.answer()
        if failed is not None:
            return failed
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        with self._lock:
            canned = self._canned_reply("token")
            if canned is not None:
                return canned
            grant = form.get("grant_type")
            if grant == JWT_GRANT:
                refusal = self._check_assertion(form.get("assertion", ""))
            elif grant == "client_credentials":
                refusal = None
                if form.get("client_id") != self.client_id:
                    refusal = ("invalid_client_id", "client identifier invalid")
                elif form.get("client_secret") != self.client_secret:
                    refusal = ("invalid_client", "invalid client credentials")
            else:
                refusal = ("unsupported_grant_type", "grant type not supported")
            if refusal is not None:
                return JSONResponse({"error": refusal[0], "error_description": refusal[1]}, 400)
            self.tokens_issued += 1
            token = f"{self.org_id}!AQ{secrets.token_urlsafe(60)}"
            self._sessions[token] = self.clock() + self.limits.session_seconds
            self._issued.append(token)
            base = f"{request.url.scheme}://{request.url.netloc}"
            user_id = "005" + "0" * 12 + "INT"
            return JSONResponse(
                {
                    "access_token": token,
                    "scope": "api",
                    "instance_url": base,
                    "id": f"{base}/id/{self.org_id}/{user_id}",
                    "token_type": "Bearer",
                    "issued_at": str(int(self.clock() * 1000)),
                }
            )

    def _check_assertion(self, assertion: str) -> tuple[str, str] | None:
        """Why Salesforce would refuse this JWT (error, description), or None."""
        try:
            # The issuer names the connected app, whose certificate then verifies the signature.
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.InvalidTokenError:
            return ("invalid_grant", "invalid assertion")
        if issuer != self.client_id:
            return ("invalid_client_id", "client identifier invalid")
        if self._public_key is None:
            return ("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                self._public_key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.client_id,
                subject=self.username,
                # PyJWT reads the wall clock; the emulator's time is `clock`, which tests move, so
                # exp is checked below on that clock (PyJWT has no way to be given the time).
                options={"require": ["iss", "sub", "aud"], "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False},
            )  # fmt: skip
        except jwt.InvalidAudienceError:
            return ("invalid_grant", "audience is invalid")
        except jwt.exceptions.InvalidSubjectError:
            return ("invalid_grant", "user hasn't approved this consumer")
        except jwt.InvalidTokenError:  # signature, algorithm, format, a missing claim
            return ("invalid_grant", "invalid assertion")
        expires = claims.get("exp")
        now = self.clock()
        if not isinstance(expires, int | float) or isinstance(expires, bool) or expires <= now:
            return ("invalid_grant", "expired authorization code")
        # PyJWT limits how old a token may be (leeway), not how far ahead its exp lies; Salesforce does.
        if expires > now + self.limits.jwt_max_lifetime:
            return ("invalid_grant", "invalid assertion: exp is too far in the future")
        return None

    # -- the REST API --------------------------------------------------------------------------

    async def _data(self, request: Request) -> Response:
        rest = request.path_params["rest"]
        body = await request.body()
        with self._lock:
            try:
                found = re.fullmatch(r"v(\d+)\.0/(.+?)/?", rest)
                if found is None or not 46 <= int(found.group(1)) <= 66:
                    raise _SfError(404, "NOT_FOUND", "The requested resource does not exist")
                self._admit(request)
                api, handler = self._route(request.method, found.group(2))
                self.calls[api] += 1
                canned = self._canned_reply(api)
                if canned is not None:
                    canned.headers.update(self._usage())
                    return canned
                status, reply = handler(request, found.group(1), body)
            except _SfError as error:
                entry: dict[str, Any] = {"message": error.message, "errorCode": error.code}
                if error.fields is not None:
                    entry["fields"] = error.fields
                return JSONResponse([entry], error.status, headers=self._usage())
            if isinstance(reply, Response):
                reply.headers.update(self._usage())
                return reply
            return JSONResponse(reply, status, headers=self._usage())

    def _route(self, method: str, path: str) -> tuple[str, Callable[[Request, str, bytes], tuple[int, Any]]]:
        segments = path.split("/")
        match method, segments:
            case "GET", ["sobjects", name, "describe"]:
                return "describe", lambda r, v, b: (200, self._describe(name))
            case "PATCH", ["composite", "sobjects", name, external]:
                return "upsert", lambda r, v, b: (200, self._upsert(name, external, b))
            case "GET", ["query"]:
                return "query", lambda r, v, b: (200, self._query(r, v))
            case "GET", ["query", locator]:
                return "query", lambda r, v, b: (200, self._page(locator, v))
            case "GET", ["limits"]:
                return "limits", lambda r, v, b: (200, self._limits())
            case "POST", ["jobs", "ingest"]:
                return "bulk", lambda r, v, b: (200, self._create_job(v, b))
            case "PUT", ["jobs", "ingest", job, "batches"]:
                return "bulk", lambda r, v, b: self._upload(job, r, b)
            case "PATCH", ["jobs", "ingest", job]:
                return "bulk", lambda r, v, b: (200, self._set_state(job, v, b))
            case "GET", ["jobs", "ingest", job]:
                return "bulk", lambda r, v, b: (200, self._job_status(job, v))
            case "DELETE", ["jobs", "ingest", job]:
                return "bulk", lambda r, v, b: (204, self._delete_job(job))
            case "GET", ["jobs", "ingest", job, ("successfulResults" | "failedResults" | "unprocessedrecords") as kind]:
                return "bulk", lambda r, v, b: (200, self._results(job, kind))
        raise _SfError(404, "NOT_FOUND", "The requested resource does not exist")

    def _schema(self, name: str) -> SObjectSchema:
        schema = self.schemas.get(name)
        if schema is None:
            raise _SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return schema

    def _describe(self, name: str) -> dict[str, Any]:
        schema = self._schema(name)
        described = []
        for field_name in schema.all_fields():
            spec = schema.spec(field_name)
            assert spec is not None
            described.append(
                {
                    "name": field_name,
                    "type": "reference" if spec.type == "id" and field_name != "Id" else spec.type,
                    "length": spec.length if spec.type in _TEXT_TYPES else 0,
                    "nillable": not spec.required and field_name not in _SYSTEM_FIELDS,
                    "createable": spec.updateable,
                    "updateable": spec.updateable,
                    "externalId": spec.external_id,
                    "idLookup": spec.external_id or field_name == "Id",
                    "unique": spec.external_id,
                    "custom": field_name.endswith("__c"),
                }
            )
        # Object-level access of the session's user, as DescribeSObjectResult has it (createable,
        # updateable, queryable; Apex reference "DescribeSObjectResult Class").
        access = {flag: flag not in self._denied.get(name, set()) for flag in ("createable", "updateable", "queryable")}
        return {"name": name, "custom": name.endswith("__c"), **access, "fields": described}

    def _limits(self) -> dict[str, Any]:
        cap = self.limits.daily_api_requests or 5_000_000
        return {"DailyApiRequests": {"Max": cap, "Remaining": max(cap - len(self._requests), 0)}}

    # -- upsert (collections) ------------------------------------------------------------------

    def _upsert(self, name: str, external: str, body: bytes) -> list[dict[str, Any]]:
        schema = self._schema(name)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise _SfError(400, "JSON_PARSER_ERROR", "Unexpected character: the body is not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
            raise _SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize the request: `records` is required")
        all_or_none = payload.get("allOrNone", False)
        if not isinstance(all_or_none, bool):
            raise _SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of boolean for allOrNone")
        records = payload["records"]
        if len(records) > self.limits.records_per_collection:
            raise _SfError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {self.limits.records_per_collection} records into "
                "this call",
            )
        self._external_field(schema, external)
        rows = [self._json_values(schema, record) for record in records]
        values = [row[external] for row in rows if isinstance(row.get(external), str)]
        repeated = {value for value, count in Counter(values).items() if count > 1}
        results, undo = [], []
        for row in rows:
            try:
                if not isinstance(row.get("attributes"), dict) or row["attributes"].get("type") != name:
                    raise _RecordError("INVALID_TYPE", f"Each record needs attributes with type {name}")
                if row.get(external) in repeated:
                    raise _RecordError(
                        "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {row[external]}", [external]
                    )
                fields = {k: v for k, v in row.items() if k != "attributes"}
                record_id, created, before = self._write(schema, external, fields)
                undo.append((record_id, before))
                results.append({"id": record_id, "success": True, "errors": [], "created": created})
            except _RecordError as error:
                entry = {"statusCode": error.code, "message": error.message, "fields": error.fields}
                results.append({"id": None, "success": False, "errors": [entry]})
        if all_or_none and any(not r["success"] for r in results):
            self._roll_back(schema, external, undo)
            rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back", "fields": []}
            results = [r if not r["success"] else {"id": None, "success": False, "errors": [rolled]} for r in results]
        return results

    def _external_field(self, schema: SObjectSchema, external: str) -> None:
        spec = schema.spec(external)
        if spec is None or not spec.external_id:
            raise _SfError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {external} is not an External ID or indexed field for {schema.name}",
            )

    def _json_values(self, schema: SObjectSchema, record: Any) -> dict[str, Any]:
        """The record with each known field read as its type; a value JSON cannot give that type fails the call."""
        if not isinstance(record, dict):
            raise _SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from a non-object")
        values: dict[str, Any] = {}
        for name, value in record.items():
            spec = schema.spec(name) if name != "attributes" else None
            if spec is None:
                values[name] = value
                continue
            try:
                values[name] = _read_value(spec, value)
            except ValueError:
                raise _SfError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of {spec.type} from VALUE_STRING value {str(value)[:80]} or "
                    f"request may be missing a required field (field {name})",
                ) from None
        return values

    def _write(
        self, schema: SObjectSchema, external: str, values: dict[str, Any]
    ) -> tuple[str, bool, dict[str, Any] | None]:
        """Upsert one record by `external`: (Id, created, the record before); _RecordError when refused."""
        unknown = [n for n in values if schema.spec(n) is None]
        if unknown:
            message = f"No such column '{unknown[0]}' on sobject of type {schema.name}"
            raise _RecordError("INVALID_FIELD", message, unknown)
        fixed = [n for n in values if not schema.spec(n).updateable]  # type: ignore[union-attr]
        if fixed:
            raise _RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(fixed)}. Please check the security settings of this field",
                fixed,
            )
        key = values.get(external)
        if not isinstance(key, str) or not key:
            raise _RecordError("MISSING_ARGUMENT", f"{external} not specified", [external])
        for name, value in values.items():
            spec = schema.spec(name)
            assert spec is not None
            if spec.type in _TEXT_TYPES and isinstance(value, str) and len(value) > spec.length:
                raise _RecordError(
                    "STRING_TOO_LONG", f"{name}: data value too large: {value[:40]} (max length={spec.length})", [name]
                )
        existing_id = self._by_external.get((schema.name, external, key))
        before = self._records[schema.name].get(existing_id) if existing_id else None
        needed = "createable" if before is None else "updateable"
        if needed in self._denied.get(schema.name, set()):
            message = "insufficient access rights on object id" if before else "You do not have access to create"
            raise _RecordError("INSUFFICIENT_ACCESS_OR_READONLY", message, [])
        merged = {**(before or {}), **values}
        missing = [n for n, s in schema.fields.items() if s.required and merged.get(n) in (None, "")]
        if missing:
            message = f"Required fields are missing: [{', '.join(missing)}]"
            raise _RecordError("REQUIRED_FIELD_MISSING", message, missing)
        for object_name, field_name, value, message in self._refusals:
            if object_name == schema.name and merged.get(field_name) == value:
                raise _RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", message, [])
        now = self._now()
        self.rows_written += 1
        if before is None:
            record_id = self._new_id("a0B")
            merged.update({"Id": record_id, "CreatedDate": now, "LastModifiedDate": now})
            self._records[schema.name][record_id] = merged
            self._by_external[(schema.name, external, key)] = record_id
            self.deliveries += 1
            return record_id, True, None
        if any(before.get(n) != v for n, v in values.items()):
            self.deliveries += 1
        merged["LastModifiedDate"] = now
        self._records[schema.name][before["Id"]] = merged
        return before["Id"], False, dict(before)

    def _roll_back(self, schema: SObjectSchema, external: str, undo: list[tuple[str, dict[str, Any] | None]]) -> None:
        for record_id, before in reversed(undo):
            if before is None:
                gone = self._records[schema.name].pop(record_id)
                self._by_external.pop((schema.name, external, gone[external]), None)
            else:
                self._records[schema.name][record_id] = before

    # -- SOQL ----------------------------------------------------------------------------------

    def _query(self, request: Request, version: str) -> dict[str, Any]:
        soql = request.query_params.get("q")
        if not soql:
            raise _SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
        selected, schema, conditions, order, limit = _parse_soql(soql, self.schemas)
        rows = [r for r in self._records[schema.name].values() if all(c(r) for c in conditions)]
        if order is not None:
            name, descending = order
            rows.sort(key=lambda r: (r.get(name) is None, _sortable(r.get(name))), reverse=descending)
        rows = rows[:limit] if limit is not None else rows
        options = request.headers.get("sforce-query-options", "")
        wanted = re.search(r"batchSize=(\d+)", options)
        size = min(max(int(wanted.group(1)), 200), 2000) if wanted else self.limits.query_batch_size
        shaped = [self._shape(schema, row, selected, version) for row in rows]
        locator = "01g" + secrets.token_hex(7).upper()
        self._cursors[locator] = (shaped, size)
        return self._page(f"{locator}-0", version)

    def _page(self, locator: str, version: str) -> dict[str, Any]:
        cursor, _, start_text = locator.rpartition("-")
        if cursor not in self._cursors or not start_text.isdigit():
            raise _SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, size = self._cursors[cursor]
        start = int(start_text)
        page = rows[start : start + size]
        done = start + size >= len(rows)
        reply: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
        if done:
            self._cursors.pop(cursor, None)
        else:
            reply["nextRecordsUrl"] = f"/services/data/v{version}.0/query/{cursor}-{start + size}"
        return reply

    def _shape(self, schema: SObjectSchema, row: dict[str, Any], selected: list[str], version: str) -> dict[str, Any]:
        url = f"/services/data/v{version}.0/sobjects/{schema.name}/{row['Id']}"
        shaped: dict[str, Any] = {"attributes": {"type": schema.name, "url": url}}
        for name in selected:
            value = row.get(name)
            if isinstance(value, datetime):
                value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
            elif isinstance(value, date):
                value = value.isoformat()
            shaped[name] = value
        return shaped

    # -- Bulk API 2.0 --------------------------------------------------------------------------

    def _job(self, job_id: str) -> _Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise _SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def _job_info(self, job: _Job, version: str) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdDate": job.created,
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "contentUrl": f"services/data/v{version}.0/jobs/ingest/{job.id}/batches",
            "lineEnding": job.line_ending,
            "columnDelimiter": "COMMA",
        }
        if job.external_id:
            info["externalIdFieldName"] = job.external_id
        if job.state in ("JobComplete", "Failed"):
            info["numberRecordsProcessed"] = len(job.succeeded) + len(job.failed)
            info["numberRecordsFailed"] = len(job.failed)
        if job.error:
            info["errorMessage"] = job.error
        return info

    def _create_job(self, version: str, body: bytes) -> dict[str, Any]:
        try:
            spec = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise _SfError(400, "INVALIDJOB", "The job definition is not JSON") from None
        if not isinstance(spec, dict):
            raise _SfError(400, "INVALIDJOB", "The job definition must be a JSON object")
        operation = spec.get("operation")
        if operation != "upsert":
            raise _SfError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        if spec.get("contentType", "CSV") != "CSV" or spec.get("columnDelimiter", "COMMA") != "COMMA":
            raise _SfError(400, "INVALIDJOB", "InvalidJob : only CSV with COMMA delimiters is supported here")
        schema = self.schemas.get(str(spec.get("object")))
        if schema is None:
            raise _SfError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {spec.get('object')}")
        external = spec.get("externalIdFieldName")
        if operation == "upsert":
            if not isinstance(external, str):
                raise _SfError(400, "INVALIDJOB", "InvalidJob : External ID was blank for upsert")
            try:
                self._external_field(schema, external)
            except _SfError as error:
                raise _SfError(400, "INVALIDJOB", f"InvalidJob : {error.message}") from None
        ending = spec.get("lineEnding", "LF")
        if ending not in ("LF", "CRLF"):
            raise _SfError(400, "INVALIDJOB", f"InvalidJob : Invalid line ending: {ending}")
        job = _Job(self._new_id("750"), schema.name, operation, external, ending, self._now().isoformat())
        self.jobs[job.id] = job
        return self._job_info(job, version)

    def _upload(self, job_id: str, request: Request, body: bytes) -> tuple[int, Any]:
        job = self._job(job_id)
        if job.state != "Open":
            raise _SfError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: data goes only to Open jobs")
        if job.data is not None:
            raise _SfError(409, "INVALIDJOBSTATE", "A job takes one upload of data: create another job for more")
        if not request.headers.get("content-type", "").startswith("text/csv"):
            raise _SfError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be text/csv")
        if len(body) > self.limits.bulk_upload_bytes:
            raise _SfError(413, "REQUEST_ENTITY_TOO_LARGE", "Request body exceeds the maximum upload size")
        try:
            job.data = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _SfError(400, "INVALIDCONTENT", "The data is not UTF-8") from None
        return 201, Response(status_code=201)

    def _set_state(self, job_id: str, version: str, body: bytes) -> dict[str, Any]:
        job = self._job(job_id)
        try:
            wanted = json.loads(body).get("state")
        except (ValueError, AttributeError, UnicodeDecodeError):
            raise _SfError(400, "INVALIDJOB", 'The body must be {"state": ...}') from None
        if wanted == "UploadComplete" and job.state == "Open":
            job.state = "UploadComplete"
            if not job.data:
                job.state, job.error = "Failed", "InvalidBatch : No data uploaded"
        elif wanted == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
            job.state = "Aborted"
        else:
            raise _SfError(400, "INVALIDJOBSTATE", f"Job {job.id} cannot go from {job.state} to {wanted}")
        return self._job_info(job, version)

    def _job_status(self, job_id: str, version: str) -> dict[str, Any]:
        job = self._job(job_id)
        if job.state in ("UploadComplete", "InProgress"):
            job.polls += 1
            if job.polls <= self.limits.bulk_polls_in_progress:
                job.state = "InProgress"
            else:
                self._process(job)
        return self._job_info(job, version)

    def _delete_job(self, job_id: str) -> Response:
        job = self._job(job_id)
        if job.state not in ("JobComplete", "Failed", "Aborted"):
            raise _SfError(400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: only finished jobs can be deleted")
        del self.jobs[job_id]
        return Response(status_code=204)

    def _process(self, job: _Job) -> None:
        """Run the job's rows (see the module docstring); the job ends JobComplete or Failed."""
        text = job.data or ""
        if job.line_ending == "LF" and "\r\n" in text:
            job.state = "Failed"
            job.error = "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
            return
        rows = list(csv.reader(io.StringIO(text, newline="")))
        if not rows:
            job.state, job.error = "Failed", "InvalidBatch : No data uploaded"
            return
        schema = self.schemas[job.object]
        job.header = rows[0]
        unknown = [name for name in job.header if schema.spec(name) is None]
        if unknown:
            job.state, job.error = "Failed", f"InvalidBatch : Field name not found : {unknown[0]}"
            return
        external = job.external_id or ""
        column = job.header.index(external) if external in job.header else None
        keys = Counter(row[column] for row in rows[1:] if column is not None and len(row) > column)
        for row in rows[1:]:
            if not row:
                continue
            try:
                if len(row) != len(job.header):
                    raise _RecordError("INVALID_FIELD", f"The row has {len(row)} values for {len(job.header)} columns")
                values = self._csv_values(schema, dict(zip(job.header, row, strict=True)))
                if keys.get(values.get(external, ""), 0) > 1:
                    raise _RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {values[external]}")
                record_id, created, _ = self._write(schema, external, values)
                job.succeeded.append((record_id, created, row))
            except _RecordError as error:
                fields = ",".join(error.fields)
                job.failed.append((f"{error.code}:{error.message}:{fields} --", row))
        job.state = "JobComplete"

    def _csv_values(self, schema: SObjectSchema, cells: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, text in cells.items():
            if text == "":
                continue  # an empty cell leaves the field as it is
            if text == "#N/A":
                values[name] = None
                continue
            spec = schema.spec(name)
            assert spec is not None
            try:
                values[name] = _read_value(spec, text)
            except ValueError:
                raise _RecordError(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type: {text[:80]}", [name]
                ) from None
        return values

    def _results(self, job_id: str, kind: str) -> Response:
        job = self._job(job_id)
        if job.state not in ("JobComplete", "Failed", "Aborted"):
            raise _SfError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: results come when it is done")
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        if kind == "successfulResults":
            writer.writerow(["sf__Id", "sf__Created", *job.header])
            for record_id, created, row in job.succeeded:
                writer.writerow([record_id, "true" if created else "false", *row])
        elif kind == "failedResults":
            writer.writerow(["sf__Id", "sf__Error", *job.header])
            for error, row in job.failed:
                writer.writerow(["", error, *row])
        else:
            rows = list(csv.reader(io.StringIO(job.data or "", newline=""))) if job.state != "JobComplete" else []
            for row in rows:
                writer.writerow(row)
        return Response(out.getvalue(), 200, media_type="text/csv")


# -- values and SOQL (pure) ---------------------------------------------------------------------------


def _read_value(spec: FieldSpec, value: Any) -> Any:
    """`value` as the Python value of a field of this type; ValueError when it cannot be one."""
    if value is None:
        return None
    if spec.type in _TEXT_TYPES:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(value)
        # A text field set to "" is kept blank: it reads back null (Salesforce StackExchange 333174).
        return str(value) or None
    if spec.type in ("double", "int"):
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(value) if isinstance(value, int | float | str) else float("nan")
        if number != number:
            raise ValueError(value)
        return number
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(value)
    if not isinstance(value, str):
        raise ValueError(value)
    if spec.type == "date":
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    if not _DATETIME.fullmatch(value):
        raise ValueError(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sortable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return value.toordinal()
    if isinstance(value, str):
        return value.lower()
    return value


_TOKEN = re.compile(
    r"\s*(?:(?P<text>'(?:[^'\\]|\\.)*')|(?P<op>!=|<=|>=|=|<|>|\(|\)|,)"
    r"|(?P<word>[A-Za-z0-9_.:+-]+))",
    re.S,
)


def _tokens(soql: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(soql):
        if soql[position:].strip() == "":
            break
        found = _TOKEN.match(soql, position)
        if found is None:
            raise _SfError(400, "MALFORMED_QUERY", f"unexpected token at: {soql[position : position + 20]}")
        kind = found.lastgroup or "word"
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


def _parse_soql(soql: str, schemas: Mapping[str, SObjectSchema]) -> tuple[
    list[str], SObjectSchema, list[Callable[[dict[str, Any]], bool]], tuple[str, bool] | None, int | None
]:  # fmt: skip
    """(selected fields, object, conditions, order, limit) of the SOQL subset the emulator runs."""
    tokens = _tokens(soql)
    words = [value.upper() if kind == "word" else value for kind, value in tokens]
    if not words or words[0] != "SELECT" or "FROM" not in words:
        raise _SfError(400, "MALFORMED_QUERY", "unexpected token: a query is SELECT ... FROM ...")
    cut = words.index("FROM")
    selected = [value for kind, value in tokens[1:cut] if value != ","]
    if not selected or cut + 1 >= len(tokens):
        raise _SfError(400, "MALFORMED_QUERY", "unexpected token: FROM")
    schema = schemas.get(tokens[cut + 1][1])
    if schema is None:
        raise _SfError(400, "INVALID_TYPE", f"sObject type '{tokens[cut + 1][1]}' is not supported.")
    for name in selected:
        if schema.spec(name) is None:
            raise _SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{schema.name}'.")
    position = cut + 2
    conditions: list[Callable[[dict[str, Any]], bool]] = []
    order: tuple[str, bool] | None = None
    limit: int | None = None
    if position < len(tokens) and words[position] == "WHERE":
        position += 1
        while True:
            condition, position = _condition(tokens, words, position, schema)
            conditions.append(condition)
            if position < len(tokens) and words[position] == "AND":
                position += 1
                continue
            break
    if words[position : position + 2] == ["ORDER", "BY"]:
        name = tokens[position + 2][1] if position + 2 < len(tokens) else ""
        if schema.spec(name) is None:
            raise _SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{schema.name}'.")
        position += 3
        descending = position < len(tokens) and words[position] == "DESC"
        if position < len(tokens) and words[position] in ("ASC", "DESC"):
            position += 1
        order = (name, descending)
    if position < len(tokens) and words[position] == "LIMIT":
        if position + 1 >= len(tokens) or not tokens[position + 1][1].isdigit():
            raise _SfError(400, "MALFORMED_QUERY", "unexpected token: LIMIT needs a number")
        limit = int(tokens[position + 1][1])
        position += 2
    if position != len(tokens):
        raise _SfError(400, "MALFORMED_QUERY", f"unexpected token: '{tokens[position][1]}'")
    return selected, schema, conditions, order, limit


def _condition(
    tokens: list[tuple[str, str]], words: list[str], position: int, schema: SObjectSchema
) -> tuple[Callable[[dict[str, Any]], bool], int]:
    if position >= len(tokens):
        raise _SfError(400, "MALFORMED_QUERY", "unexpected end of query in WHERE")
    name = tokens[position][1]
    spec = schema.spec(name)
    if spec is None:
        raise _SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{schema.name}'.")
    position += 1
    negate = position < len(tokens) and words[position] == "NOT"
    if negate:
        position += 1
    if position < len(tokens) and words[position] == "IN":
        if position + 1 >= len(tokens) or tokens[position + 1][1] != "(":
            raise _SfError(400, "MALFORMED_QUERY", "unexpected token: IN needs (")
        position += 2
        values = []
        while position < len(tokens) and tokens[position][1] != ")":
            if tokens[position][1] != ",":
                values.append(_literal(tokens[position], spec, name))
            position += 1
        if position >= len(tokens):
            raise _SfError(400, "MALFORMED_QUERY", "unexpected end of query: IN is not closed")
        wanted = {_sortable(v) for v in values}
        return (lambda row: (_sortable(row.get(name)) in wanted) != negate), position + 1
    if negate or position + 1 >= len(tokens) or tokens[position][0] != "op":
        raise _SfError(400, "MALFORMED_QUERY", f"unexpected token after {name}")
    operator = tokens[position][1]
    value = _literal(tokens[position + 1], spec, name)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a is not None and b is not None and a < b,
        "<=": lambda a, b: a is not None and b is not None and a <= b,
        ">": lambda a, b: a is not None and b is not None and a > b,
        ">=": lambda a, b: a is not None and b is not None and a >= b,
    }
    if operator not in compare:
        raise _SfError(400, "MALFORMED_QUERY", f"unexpected token: '{operator}'")
    test, expected = compare[operator], _sortable(value)
    return (lambda row: test(_sortable(row.get(name)), expected)), position + 2


def _literal(token: tuple[str, str], spec: FieldSpec, name: str) -> Any:
    kind, text = token
    if kind == "word" and text.lower() == "null":
        return None
    if spec.type in ("date", "datetime"):
        if kind == "text":
            raise _SfError(
                400,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{name}' must be of type {spec.type} and should not be enclosed "
                "in quotes",
            )
        try:
            value = _read_value(spec, text)
        except ValueError:
            raise _SfError(400, "MALFORMED_QUERY", f"line 1: invalid {spec.type} literal: {text}") from None
        return value
    if spec.type in _TEXT_TYPES:
        if kind != "text":
            raise _SfError(
                400, "INVALID_QUERY_FILTER_OPERATOR", f"value of filter criterion for field '{name}' must be quoted"
            )
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), text[1:-1])
    try:
        return _read_value(spec, text)
    except ValueError:
        raise _SfError(400, "MALFORMED_QUERY", f"invalid {spec.type} literal for {name}: {text}") from None


def _public_key(certificate: bytes) -> rsa.RSAPublicKey:
    """The RSA public key in a PEM certificate or public key."""
    key: Any
    if b"BEGIN CERTIFICATE" in certificate:
        key = x509.load_pem_x509_certificate(certificate).public_key()
    else:
        key = serialization.load_pem_public_key(certificate)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the connected app's certificate must hold an RSA key")
    return key
