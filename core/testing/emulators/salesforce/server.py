"""The Salesforce emulator's org: its records, sessions, request limits, and the REST routes.

See the package docstring for what it enforces; sObjects and values are in schema.py, SOQL in soql.py,
the JWT check in oauth.py, Bulk API 2.0 jobs in bulk.py.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.plugin_api.targets import Employee
from punchbridge.testing.emulators.logins import LoginFailures
from punchbridge.testing.emulators.salesforce.bulk import BulkJobs, external_field
from punchbridge.testing.emulators.salesforce.oauth import JWT_GRANT, assertion_refusal, public_key_of
from punchbridge.testing.emulators.salesforce.schema import (
    ATTENDANCE_DAY,
    TEXT_TYPES,
    USER,
    RecordError,
    SalesforceLimits,
    SfError,
    SObjectSchema,
    describe,
    read_value,
)
from punchbridge.testing.emulators.salesforce.soql import QueryCursors

__all__ = ["SalesforceEmulator"]


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
        self._public_key = public_key_of(certificate) if certificate is not None else None
        self.schemas = {schema.name: schema for schema in schemas}
        self._lock = threading.RLock()
        self._sessions: dict[str, float] = {}
        self._issued: list[str] = []
        self._requests: deque[float] = deque()
        self._records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schemas}
        self._by_external: dict[tuple[str, str, str], str] = {}
        self._refusals: list[tuple[str, str, Any, str]] = []
        self._denied: dict[str, set[str]] = {}  # object -> access the integration user lacks (describe flags)
        self._queries = QueryCursors()
        self._canned: dict[str, deque[_Canned]] = {}
        #: The login switch: `logins.fail_next(N, status=429, retry_after=...)`, `logins.requests`.
        self.logins = LoginFailures()
        self.bulk = BulkJobs(self.schemas, lambda: self.limits, self._write, self._new_id, self._now)
        self.jobs = self.bulk.jobs  # Bulk API 2.0 ingest jobs by id
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
            typed[name] = read_value(spec, value)
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
            raise SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        cap = self.limits.daily_api_requests
        if cap is not None:
            while self._requests and self._requests[0] <= now - 86_400:
                self._requests.popleft()
            if len(self._requests) >= cap:
                raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
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
                refusal = assertion_refusal(
                    form.get("assertion", ""),
                    public_key=self._public_key,
                    client_id=self.client_id,
                    audience=self.audience,
                    username=self.username,
                    now=self.clock(),
                    max_lifetime=self.limits.jwt_max_lifetime,
                )
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

    # -- the REST API --------------------------------------------------------------------------

    async def _data(self, request: Request) -> Response:
        rest = request.path_params["rest"]
        body = await request.body()
        with self._lock:
            try:
                found = re.fullmatch(r"v(\d+)\.0/(.+?)/?", rest)
                if found is None or not 46 <= int(found.group(1)) <= 66:
                    raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
                self._admit(request)
                api, handler = self._route(request.method, found.group(2))
                self.calls[api] += 1
                canned = self._canned_reply(api)
                if canned is not None:
                    canned.headers.update(self._usage())
                    return canned
                status, reply = handler(request, found.group(1), body)
            except SfError as error:
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
                return "describe", lambda r, v, b: (200, describe(self._schema(name), self._denied.get(name, set())))
            case "PATCH", ["composite", "sobjects", name, external]:
                return "upsert", lambda r, v, b: (200, self._upsert(name, external, b))
            case "GET", ["query"]:
                return "query", lambda r, v, b: (200, self._query(r, v))
            case "GET", ["query", locator]:
                return "query", lambda r, v, b: (200, self._queries.page(locator, v))
            case "GET", ["limits"]:
                return "limits", lambda r, v, b: (200, self._limits())
            case "POST", ["jobs", "ingest"]:
                return "bulk", lambda r, v, b: (200, self.bulk.create(v, b))
            case "PUT", ["jobs", "ingest", job, "batches"]:
                return "bulk", lambda r, v, b: self.bulk.upload(job, r.headers.get("content-type", ""), b)
            case "PATCH", ["jobs", "ingest", job]:
                return "bulk", lambda r, v, b: (200, self.bulk.set_state(job, v, b))
            case "GET", ["jobs", "ingest", job]:
                return "bulk", lambda r, v, b: (200, self.bulk.status(job, v))
            case "DELETE", ["jobs", "ingest", job]:
                return "bulk", lambda r, v, b: (204, self.bulk.delete(job))
            case "GET", ["jobs", "ingest", job, ("successfulResults" | "failedResults" | "unprocessedrecords") as kind]:
                return "bulk", lambda r, v, b: (200, self.bulk.results(job, kind))
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")

    def _schema(self, name: str) -> SObjectSchema:
        schema = self.schemas.get(name)
        if schema is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return schema

    def _query(self, request: Request, version: str) -> dict[str, Any]:
        options = request.headers.get("sforce-query-options", "")
        return self._queries.query(
            request.query_params.get("q"), options, self.limits.query_batch_size, version, self._rows, self.schemas
        )

    def _rows(self, object_name: str) -> list[dict[str, Any]]:
        return list(self._records[object_name].values())

    def _limits(self) -> dict[str, Any]:
        cap = self.limits.daily_api_requests or 5_000_000
        return {"DailyApiRequests": {"Max": cap, "Remaining": max(cap - len(self._requests), 0)}}

    # -- upsert (collections) ------------------------------------------------------------------

    def _upsert(self, name: str, external: str, body: bytes) -> list[dict[str, Any]]:
        schema = self._schema(name)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise SfError(400, "JSON_PARSER_ERROR", "Unexpected character: the body is not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
            raise SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize the request: `records` is required")
        all_or_none = payload.get("allOrNone", False)
        if not isinstance(all_or_none, bool):
            raise SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of boolean for allOrNone")
        records = payload["records"]
        if len(records) > self.limits.records_per_collection:
            raise SfError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {self.limits.records_per_collection} records into "
                "this call",
            )
        external_field(schema, external)
        rows = [self._json_values(schema, record) for record in records]
        values = [row[external] for row in rows if isinstance(row.get(external), str)]
        repeated = {value for value, count in Counter(values).items() if count > 1}
        results, undo = [], []
        for row in rows:
            try:
                if not isinstance(row.get("attributes"), dict) or row["attributes"].get("type") != name:
                    raise RecordError("INVALID_TYPE", f"Each record needs attributes with type {name}")
                if row.get(external) in repeated:
                    raise RecordError(
                        "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {row[external]}", [external]
                    )
                fields = {k: v for k, v in row.items() if k != "attributes"}
                record_id, created, before = self._write(schema, external, fields)
                undo.append((record_id, before))
                results.append({"id": record_id, "success": True, "errors": [], "created": created})
            except RecordError as error:
                entry = {"statusCode": error.code, "message": error.message, "fields": error.fields}
                results.append({"id": None, "success": False, "errors": [entry]})
        if all_or_none and any(not r["success"] for r in results):
            self._roll_back(schema, external, undo)
            rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back", "fields": []}
            results = [r if not r["success"] else {"id": None, "success": False, "errors": [rolled]} for r in results]
        return results

    def _json_values(self, schema: SObjectSchema, record: Any) -> dict[str, Any]:
        """The record with each known field read as its type; a value JSON cannot give that type fails the call."""
        if not isinstance(record, dict):
            raise SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from a non-object")
        values: dict[str, Any] = {}
        for name, value in record.items():
            spec = schema.spec(name) if name != "attributes" else None
            if spec is None:
                values[name] = value
                continue
            try:
                values[name] = read_value(spec, value)
            except ValueError:
                raise SfError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of {spec.type} from VALUE_STRING value {str(value)[:80]} or "
                    f"request may be missing a required field (field {name})",
                ) from None
        return values

    def _write(
        self, schema: SObjectSchema, external: str, values: dict[str, Any]
    ) -> tuple[str, bool, dict[str, Any] | None]:
        """Upsert one record by `external`: (Id, created, the record before); RecordError when refused."""
        unknown = [n for n in values if schema.spec(n) is None]
        if unknown:
            message = f"No such column '{unknown[0]}' on sobject of type {schema.name}"
            raise RecordError("INVALID_FIELD", message, unknown)
        fixed = [n for n in values if not schema.spec(n).updateable]  # type: ignore[union-attr]
        if fixed:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(fixed)}. Please check the security settings of this field",
                fixed,
            )
        key = values.get(external)
        if not isinstance(key, str) or not key:
            raise RecordError("MISSING_ARGUMENT", f"{external} not specified", [external])
        for name, value in values.items():
            spec = schema.spec(name)
            assert spec is not None
            if spec.type in TEXT_TYPES and isinstance(value, str) and len(value) > spec.length:
                raise RecordError(
                    "STRING_TOO_LONG", f"{name}: data value too large: {value[:40]} (max length={spec.length})", [name]
                )
        existing_id = self._by_external.get((schema.name, external, key))
        before = self._records[schema.name].get(existing_id) if existing_id else None
        needed = "createable" if before is None else "updateable"
        if needed in self._denied.get(schema.name, set()):
            message = "insufficient access rights on object id" if before else "You do not have access to create"
            raise RecordError("INSUFFICIENT_ACCESS_OR_READONLY", message, [])
        merged = {**(before or {}), **values}
        missing = [n for n, s in schema.fields.items() if s.required and merged.get(n) in (None, "")]
        if missing:
            message = f"Required fields are missing: [{', '.join(missing)}]"
            raise RecordError("REQUIRED_FIELD_MISSING", message, missing)
        for object_name, field_name, value, message in self._refusals:
            if object_name == schema.name and merged.get(field_name) == value:
                raise RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", message, [])
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
