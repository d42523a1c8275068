"""The `salesforce` target: processed days upserted into a Salesforce object by external id.

Each record becomes one record of `object` (a custom `Attendance_Day__c` by default). The mapping's
column names are the object's field API names (`Employee_Id__c`, `Work_Date__c`, `Worked_Minutes__c`,
...), and each value is converted to its field's type as describe reports it (dates `YYYY-MM-DD`,
date-times to UTC, numbers, booleans); a value that cannot be is the record's dead letter.

The external id field (`external_id_field`) holds punchbridge's record key (`EMPLOYEE|DATE|day`),
unless the mapping has a column of that name, whose value is used instead. Upsert by external id is
Salesforce's own dedup on that natural key: a resent batch (after a crash or a lost reply) and a
recomputed day update the record they wrote before, never add one.

Batches below `bulk_threshold` records go through sObject Collections (`PATCH
.../composite/sobjects/{object}/{external_id_field}`, `records_per_call` at most 200, up to
`concurrency` calls at once): per-record success or errors in an HTTP 200 reply become outcomes.
Larger batches go through one Bulk API 2.0 ingest job (see `.bulk`). OAuth is the JWT bearer or
client-credentials flow (`.auth`); errors map as `.api` says.
docs/plugins/salesforce.md has every setting.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from punchbridge.plugin_api import (
    BadRecordError,
    Batch,
    Capability,
    Employee,
    FatalTargetError,
    HeldRecord,
    HttpSettings,
    HttpTarget,
    Outcome,
    Record,
    Register,
    TargetError,
    TargetReplyError,
    TimeZoneName,
    checked_url,
    clip,
    hookimpl,
)
from punchbridge.plugins.salesforce.api import SalesforceApi, soql_datetime, soql_text
from punchbridge.plugins.salesforce.auth import TokenSource
from punchbridge.plugins.salesforce.bulk import RowResult, bulk_upsert
from punchbridge.plugins.salesforce.values import reply_time, to_salesforce

__all__ = ["SalesforceSettings", "SalesforceTarget", "register_targets"]

log = logging.getLogger(__name__)

API_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
_API_NAME = re.compile(API_NAME)
#: Employees per SOQL `IN (...)` list in read-back (keeps the query URL well under Salesforce's 16 KB).
IN_LIST = 200
#: API requests a Bulk API job is budgeted at (create, upload, close, a few polls, two result reads).
BULK_REQUESTS = 10


class SalesforceSettings(HttpSettings):
    """Settings of a `salesforce` target (docs/plugins/salesforce.md has the table)."""

    login_url: str = "https://login.salesforce.com"
    auth: Literal["jwt", "client_credentials"] = "jwt"
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    username: str | None = Field(default=None, min_length=1)
    private_key: Path | None = None
    private_key_passphrase: SecretStr | None = None
    audience: str | None = None
    api_version: str = Field(default="62.0", pattern=r"^\d{2}\.0$")
    object: str = Field(default="Attendance_Day__c", pattern=API_NAME)
    external_id_field: str = Field(default="Punchbridge_Key__c", pattern=API_NAME)
    employee_field: str = Field(default="Employee_Id__c", pattern=API_NAME)
    date_field: str = Field(default="Work_Date__c", pattern=API_NAME)
    bulk_threshold: int = Field(default=2000, ge=1)
    records_per_call: int = Field(default=200, ge=1, le=200)
    concurrency: int = Field(default=4, ge=1, le=10)
    bulk_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    bulk_timeout: float = Field(default=900.0, gt=0, le=86_400)
    query_batch_size: int = Field(default=2000, ge=200, le=2000)
    timezone: TimeZoneName = "UTC"
    people_object: str = Field(default="User", pattern=API_NAME)
    people_id_field: str = Field(default="EmployeeNumber", pattern=API_NAME)
    people_name_field: str = Field(default="Name", pattern=API_NAME)
    people_email_field: str | None = Field(default="Email", pattern=API_NAME)
    people_active_field: str | None = Field(default="IsActive", pattern=API_NAME)
    people_department_field: str | None = Field(default="Department", pattern=API_NAME)
    people_badge_field: str | None = Field(default=None, pattern=API_NAME)

    @field_validator("login_url", "audience")
    @classmethod
    def _url(cls, value: str | None, info: Any) -> str | None:
        return checked_url(value, info.field_name) if value is not None else None

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if int(value.split(".")[0]) < 47:
            raise ValueError("api_version must be 47.0 or later (sObject Collections upsert)")
        return value

    @model_validator(mode="after")
    def _flow(self) -> SalesforceSettings:
        if self.auth == "jwt":
            if self.username is None or self.private_key is None:
                raise ValueError("auth: jwt needs `username` (the integration user) and `private_key` (a PEM file)")
        elif self.client_secret is None or not self.client_secret.get_secret_value().strip():
            raise ValueError("auth: client_credentials needs `client_secret` (from the environment)")
        return self

    @property
    def resolved_audience(self) -> str:
        """The JWT `aud`: `audience`, else the login host for login/test, else https://login.salesforce.com."""
        if self.audience:
            return self.audience
        host = urlsplit(self.login_url).hostname or ""
        return (
            self.login_url
            if host in ("login.salesforce.com", "test.salesforce.com")
            else "https://login.salesforce.com"
        )


@dataclass(frozen=True)
class _Field:
    """A field of the object as describe reports it."""

    type: str
    writable: bool
    custom: bool
    external_id: bool


class SalesforceTarget(HttpTarget[SalesforceSettings]):
    """Upserts employee-days into a Salesforce object; pulls employees; reads days back (module docstring)."""

    max_batch_size = 10_000
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.PUSH_ATTENDANCE, Capability.PULL_EMPLOYEES, Capability.READ_BACK}
    )

    def __init__(
        self,
        name: str,
        settings: SalesforceSettings | Mapping[str, Any],
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(name, settings, transport=transport)
        self.zone = ZoneInfo(self.settings.timezone)
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self._api: SalesforceApi | None = None
        self._fields: dict[str, _Field] | None = None
        self._warned_budget = False

    @property
    def where(self) -> str:
        """`target NAME (Salesforce OBJECT)`, for messages."""
        return f"target {self.name} (Salesforce {self.settings.object})"

    def describe(self) -> str:
        """`salesforce NAME -> LOGIN URL (object, flow)`; never a secret."""
        settings = self.settings
        who = f" as {settings.username}" if settings.auth == "jwt" else ""
        return f"salesforce {self.name} -> {settings.login_url} ({settings.object}, {settings.auth}{who})"

    # -- columns and connection -------------------------------------------------------------------

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: SalesforceSettings) -> list[str]:
        """Columns must be field API names, with the employee and date fields among them."""
        problems = []
        for needed, setting, name in (
            ("employee", "employee_field", settings.employee_field),
            ("work date", "date_field", settings.date_field),
        ):
            if name not in columns:
                problems.append(
                    f"no column `{name}`: the salesforce target reads each day's {needed} from the field named by "
                    f"`{setting}` (now {name}); map it, e.g. {{name: {name}, from: "
                    f"{'target_id' if needed == 'employee' else 'work_date'}}}, or change `{setting}`"
                )
        for column in columns:
            if not _API_NAME.match(column):
                problems.append(
                    f"column `{column}` is not a Salesforce field API name: the mapping's column names are the "
                    "object's field API names, such as Worked_Minutes__c"
                )
        return problems

    def connection_options(self) -> dict[str, Any]:
        """One connection more than `concurrency`: the token request may come while every call is out."""
        return {"max_connections": self.settings.concurrency + 1}

    def on_open(self) -> None:
        """Log in (a refused login is a CredentialsError here, before anything is sent)."""
        tokens = TokenSource(self.settings, self.http, self.clock)
        api = SalesforceApi(tokens, self.http, self.settings.api_version)
        tokens.current()
        self._api = api

    def on_close(self) -> None:
        """Forget the session of the closed connection."""
        self._api = None

    @property
    def api(self) -> SalesforceApi:
        """The org's REST API over the open connection (opening it on first use)."""
        if self._api is None:
            self.open()
        assert self._api is not None
        return self._api

    def _describe(self) -> dict[str, _Field]:
        """The object's fields (describe, once per run); FatalTargetError when external_id_field is not one."""
        if self._fields is None:
            api = self.api
            what = f"describe {self.settings.object}"
            reply = api.json(api.call("GET", f"{api.base}/sobjects/{self.settings.object}/describe", what), what)
            rows = reply.get("fields") if isinstance(reply, dict) else None
            if not isinstance(rows, list):
                raise TargetReplyError(f"{self.where}: {what}: the reply has no `fields` list")
            fields = {}
            for row in rows:
                if not isinstance(row, dict) or not isinstance(row.get("name"), str):
                    raise TargetReplyError(f"{self.where}: {what}: a field has no name")
                fields[row["name"]] = _Field(
                    str(row.get("type", "")),
                    bool(row.get("createable")) and bool(row.get("updateable")),
                    bool(row.get("custom")),
                    bool(row.get("externalId")),
                )
            external = fields.get(self.settings.external_id_field)
            if external is None or not external.external_id:
                raise FatalTargetError(
                    f"{self.where}: {self.settings.external_id_field} is not an External ID field of "
                    f"{self.settings.object}; create a Text field ticked External ID and Unique (Setup > Object "
                    "Manager) or set external_id_field"
                )
            self._fields = fields
        return self._fields

    # -- push -------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Upsert the batch's records by external id; one outcome each (see the module docstring)."""
        columns = self.check_batch_columns(batch)
        if not batch.records:
            return []
        api = self.api
        fields = self._describe()
        self._check_fields(columns, fields)
        outcomes: dict[str, Outcome] = {}
        rows: dict[str, dict[str, Any]] = {}  # external id -> sObject values
        keys_of: dict[str, list[str]] = {}  # external id -> record keys
        clashing: set[str] = set()  # external ids given twice with other values: Salesforce would fail both
        for record in batch.records:
            try:
                external, values = self._row(record, columns, fields)
            except BadRecordError as refused:
                outcomes[record.key] = Outcome(record.key, ok=False, message=str(refused))
                continue
            if rows.setdefault(external, values) != values:
                clashing.add(external)
            keys_of.setdefault(external, []).append(record.key)
        for external in clashing:
            keys = keys_of[external]
            message = (
                f"records {', '.join(keys)} have the same {self.settings.external_id_field} {external!r} with other "
                "values; check the mapping's id table (two terminal ids for one employee?)"
            )
            outcomes.update((key, Outcome(key, ok=False, message=message)) for key in keys)
        sending = {external: values for external, values in rows.items() if external not in clashing}
        bulk = len(sending) >= self.settings.bulk_threshold
        self._check_budget(batch, len(sending), bulk)
        if bulk:
            results = bulk_upsert(
                api,
                self.settings.object,
                self.settings.external_id_field,
                [c for c in columns if c in fields],
                [{self.settings.external_id_field: e, **v} for e, v in sending.items()],
                poll_seconds=self.settings.bulk_poll_seconds,
                timeout=self.settings.bulk_timeout,
                clock=self.clock,
                sleep=self.sleep,
            )
        else:
            results = self._collections(sending)
        for external, result in ((e, results.get(e)) for e in sending):
            if result is None:
                raise TargetReplyError(f"{self.where}: Salesforce gave no result for {external!r}")
            for key in keys_of[external]:
                outcomes[key] = Outcome(key, ok=result.ok, remote_id=result.record_id, message=result.message)
        refusals = sum(1 for o in outcomes.values() if not o.ok)
        log.info(
            "%s: batch %s: %d records through %s, %d refused; %s API requests left today",
            self.where,
            batch.batch_id,
            len(batch.records),
            "Bulk API 2.0" if bulk else "sObject Collections",
            refusals,
            api.remaining() if api.remaining() is not None else "unknown",
        )
        return [outcomes[record.key] for record in batch.records]

    def _check_fields(self, columns: Sequence[str], fields: Mapping[str, _Field]) -> None:
        unknown = [c for c in columns if c not in fields]
        fixed = [c for c in columns if c in fields and not fields[c].writable]
        if unknown or fixed:
            said = []
            if unknown:
                said.append(f"{', '.join(unknown)} {'is not a field' if len(unknown) == 1 else 'are not fields'}")
            if fixed:
                said.append(f"{', '.join(fixed)} cannot be written through the API (formula or system fields)")
            raise FatalTargetError(
                f"{self.where}: the mapping's columns do not fit {self.settings.object}: {'; '.join(said)}; the "
                "column names must be field API names the integration user can create and edit"
            )

    def _row(self, record: Record, columns: Sequence[str], fields: Mapping[str, _Field]) -> tuple[str, dict[str, Any]]:
        """(external id, sObject values) of a record; BadRecordError when a value does not fit its field."""
        external_field = self.settings.external_id_field
        external = record.fields.get(external_field, record.key) if external_field in columns else record.key
        if isinstance(external, bool) or not isinstance(external, str | int) or not str(external).strip():
            raise BadRecordError(f"record {record.key}: {external_field} is empty; it is the record's external id")
        values = {}
        for column in columns:
            if column != external_field:
                values[column] = to_salesforce(fields[column].type, record.fields.get(column), column, record.key)
        return str(external).strip(), values

    def _check_budget(self, batch: Batch, rows: int, bulk: bool) -> None:
        api = self.api
        needed = BULK_REQUESTS if bulk else math.ceil(rows / self.settings.records_per_call)
        left = api.remaining()
        if left is None or api.allowance is None:
            return
        if needed > left:
            raise FatalTargetError(
                f"{self.where}: batch {batch.batch_id} needs about {needed} API requests but the org has {left} of "
                f"its {api.allowance} left in the last 24 hours; nothing of it was sent. The next sync carries on "
                "once requests age out of the window"
            )
        if left - needed < api.allowance // 10 and not self._warned_budget:
            self._warned_budget = True
            log.warning("%s: only %d of the org's %d daily API requests are left", self.where, left, api.allowance)

    def _collections(self, rows: Mapping[str, Mapping[str, Any]]) -> dict[str, RowResult]:
        """Upsert through sObject Collections, `records_per_call` a call, `concurrency` calls at once."""
        api = self.api
        path = f"{api.base}/composite/sobjects/{self.settings.object}/{self.settings.external_id_field}"
        items = list(rows.items())
        size = self.settings.records_per_call
        chunks = [items[start : start + size] for start in range(0, len(items), size)]
        attributes = {"type": self.settings.object}

        def send(chunk: list[tuple[str, Mapping[str, Any]]]) -> list[RowResult]:
            body = {
                "allOrNone": False,
                "records": [
                    {"attributes": attributes, self.settings.external_id_field: e, **values} for e, values in chunk
                ],
            }
            what = f"upserting {len(chunk)} records (sObject Collections)"
            reply = api.json(api.call("PATCH", path, what, json=body), what)
            return self._results(reply, len(chunk), what)

        results: dict[str, RowResult] = {}
        failure: TargetError | None = None
        for chunk, future in [(chunk, self.pool.submit(send, chunk)) for chunk in chunks]:
            try:
                answers = future.result()
            except TargetError as exc:
                failure = failure or exc  # the other calls still finish; an upsert sent again does no harm
                continue
            results.update((external, answer) for (external, _), answer in zip(chunk, answers, strict=True))
        if failure is not None:
            raise failure
        return results

    def _results(self, reply: Any, count: int, what: str) -> list[RowResult]:
        if not isinstance(reply, list) or len(reply) != count:
            shown = f"{len(reply)} results" if isinstance(reply, list) else type(reply).__name__
            raise TargetReplyError(f"{self.where}: {what}: the reply has {shown} for {count} records")
        answers = []
        for index, item in enumerate(reply):
            if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
                raise TargetReplyError(f"{self.where}: {what}: result {index} has no `success` flag")
            if item["success"]:
                if not isinstance(item.get("id"), str):
                    raise TargetReplyError(f"{self.where}: {what}: result {index} succeeded without an id")
                answers.append(RowResult(True, item["id"]))
                continue
            errors = item.get("errors")
            said = []
            for error in errors if isinstance(errors, list) else []:
                if isinstance(error, dict):
                    fields = error.get("fields")
                    named = f" (fields: {', '.join(map(str, fields))})" if isinstance(fields, list) and fields else ""
                    said.append(f"{error.get('statusCode', 'ERROR')}: {error.get('message', 'no message')}{named}")
            answers.append(
                RowResult(False, None, clip("Salesforce: " + ("; ".join(said) or "refused, no reason given")))
            )
        return answers

    # -- read-back and employees ------------------------------------------------------------------

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """The object's records of days `start`..`end` (by `date_field`), optionally for some employees.

        Fields are every custom field the integration user can write, by API name (the mapping's
        columns); date-times come back as local ISO-8601 in `timezone`.
        """
        api = self.api
        fields = self._describe()
        config = self.settings
        for name in (config.employee_field, config.date_field):
            if name not in fields:
                raise FatalTargetError(
                    f"{self.where}: {name} is not a field of {config.object}; set employee_field "
                    "and date_field to the object's employee and date fields"
                )
        readable = {n for n, f in fields.items() if f.custom and f.writable}
        names = ["Id", *sorted(readable | {config.employee_field, config.date_field})]
        where = f"{config.date_field} >= {start.isoformat()} AND {config.date_field} <= {end.isoformat()}"
        groups: list[list[str]] = [[]]
        if employees is not None:
            wanted = sorted({str(e).strip() for e in employees if str(e).strip()})
            groups = [wanted[i : i + IN_LIST] for i in range(0, len(wanted), IN_LIST)]
        for group in groups:
            clause = where
            if group:
                try:
                    clause += f" AND {config.employee_field} IN ({', '.join(soql_text(e) for e in group)})"
                except ValueError as exc:
                    raise FatalTargetError(f"{self.where}: read-back: an employee id {exc}") from None
            soql = f"SELECT {', '.join(names)} FROM {config.object} WHERE {clause} ORDER BY Id"
            for row in api.query(soql, f"reading back {config.object}", config.query_batch_size):
                yield self._held(row, names, fields)

    def _held(self, row: dict[str, Any], names: list[str], fields: Mapping[str, _Field]) -> HeldRecord:
        where = f"{self.where}: read-back record {row.get('Id')!r}"
        employee, day = row.get(self.settings.employee_field), row.get(self.settings.date_field)
        if not isinstance(employee, str) or not isinstance(day, str):
            raise TargetReplyError(f"{where} has no {self.settings.employee_field} or {self.settings.date_field}")
        try:
            work_date = date.fromisoformat(day)
        except ValueError:
            raise TargetReplyError(f"{where}: {self.settings.date_field} {day!r} is not a date") from None
        held = {}
        for name in names[1:]:
            value = row.get(name)
            if fields[name].type == "datetime" and isinstance(value, str):
                value = reply_time(value, where).astimezone(self.zone).isoformat()
            held[name] = value
        return HeldRecord(employee=employee, work_date=work_date, fields=held, remote_id=str(row.get("Id")))

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every record of `people_object` with a `people_id_field` (inactive too), by SOQL, to the last page."""
        api = self.api
        config = self.settings
        wanted = [
            "Id", config.people_id_field, config.people_name_field, config.people_email_field,
            config.people_active_field, config.people_department_field, config.people_badge_field, "LastModifiedDate",
        ]  # fmt: skip
        names = list(dict.fromkeys(name for name in wanted if name))
        clause = f"{config.people_id_field} != null"
        if since is not None:
            moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
            clause += f" AND LastModifiedDate > {soql_datetime(moment)}"
        soql = f"SELECT {', '.join(names)} FROM {config.people_object} WHERE {clause} ORDER BY Id"
        for row in api.query(soql, f"reading {config.people_object}", config.query_batch_size):
            yield self._employee(row)

    def _employee(self, row: dict[str, Any]) -> Employee:
        config = self.settings
        where = f"{self.where}: {config.people_object} {row.get('Id')!r}"
        target_id = row.get(config.people_id_field)
        if not isinstance(target_id, str | int) or isinstance(target_id, bool) or not str(target_id).strip():
            raise TargetReplyError(f"{where} has no {config.people_id_field}")
        active = row.get(config.people_active_field, True) if config.people_active_field else True
        if not isinstance(active, bool):
            raise TargetReplyError(f"{where}: {config.people_active_field} is {active!r}, not true or false")
        modified = row.get("LastModifiedDate")

        def text(name: str | None) -> str | None:
            value = row.get(name) if name else None
            return str(value).strip() or None if value is not None else None

        return Employee(
            target_id=str(target_id).strip(),
            name=text(config.people_name_field) or str(target_id),
            active=active,
            email=text(config.people_email_field),
            badge=text(config.people_badge_field),
            department=text(config.people_department_field),
            modified_at=reply_time(modified, where) if isinstance(modified, str) else None,
            extra={"salesforce_id": row.get("Id")},
        )


@hookimpl
def register_targets(register: Register) -> None:
    """Register `salesforce`."""
    register("salesforce", SalesforceTarget)
