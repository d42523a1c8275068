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
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from punchbridge.plugin_api import (
    BadRecordError,
    Batch,
    Capability,
    Employee,
    FatalTargetError,
    HeldRecord,
    HttpTarget,
    OnlineCheck,
    Outcome,
    Record,
    Register,
    TargetError,
    TargetReplyError,
    clip,
    hookimpl,
)
from punchbridge.plugins.salesforce.api import SalesforceApi
from punchbridge.plugins.salesforce.auth import TokenSource
from punchbridge.plugins.salesforce.bulk import RowResult, bulk_upsert
from punchbridge.plugins.salesforce.objects import FieldInfo, describe_object, online_checks, pull_people, read_records
from punchbridge.plugins.salesforce.settings import API_NAME, SalesforceSettings
from punchbridge.plugins.salesforce.values import to_salesforce

if TYPE_CHECKING:
    import httpx

__all__ = ["SalesforceSettings", "SalesforceTarget", "register_targets"]

log = logging.getLogger(__name__)

_API_NAME = re.compile(API_NAME)
#: Salesforce keeps a text field set to "" as blank (null): an unconfirmed fact (see `stored_form`),
#: kept in one place so a deployment that finds otherwise changes one line.
EMPTY_TEXT_IS_NULL = True
#: API requests a Bulk API job is budgeted at (create, upload, close, a few polls, two result reads).
BULK_REQUESTS = 10


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
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self.retry_sleep = sleep  # a test's clock waits out a login's retries too (None: stamina waits)
        self._api: SalesforceApi | None = None
        self._fields: dict[str, FieldInfo] | None = None
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

    def _describe(self) -> dict[str, FieldInfo]:
        """The object's fields (describe, once per run); FatalTargetError when external_id_field is not one."""
        if self._fields is None:
            self._fields = describe_object(self.api, self.settings, self.where)[1]
        return self._fields

    def check_online(self) -> list[OnlineCheck]:
        """`punchbridge validate --online`: log in, describe the object (access, the external id, employee and
        date fields) and read the org's API allowance; read-only."""
        try:
            self.open()
            return [
                OnlineCheck("login", True, self.settings.login_url),
                *online_checks(self.api, self.settings, self.where),
            ]
        except TargetError as exc:
            return [OnlineCheck("login", False, str(exc))]
        finally:
            self.close()

    @classmethod
    def stored_form(cls, fields: Mapping[str, Any], settings: SalesforceSettings) -> Mapping[str, Any]:
        """`fields` as Salesforce keeps them: an empty text is kept blank (null); everything else as sent.

        Sources: a text field set to an empty string reads back null (Salesforce StackExchange 333174,
        tested in an org; not stated in Salesforce's own reference: `EMPTY_TEXT_IS_NULL`). Numbers are
        kept with every decimal sent through the API, whatever the field's decimal places (Salesforce
        Help articles 000387302 and 000212661: "the full precision value is stored in the database as
        inserted"), so none is rounded here. Date/Time values are kept as UTC instants (Help 000385916),
        the same instant as the offset text the mapping gives, which reconciliation compares by instant.
        """
        if not EMPTY_TEXT_IS_NULL or not any(value == "" for value in fields.values()):
            return fields
        return {name: (None if value == "" else value) for name, value in fields.items()}

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

    def _check_fields(self, columns: Sequence[str], fields: Mapping[str, FieldInfo]) -> None:
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

    def _row(
        self, record: Record, columns: Sequence[str], fields: Mapping[str, FieldInfo]
    ) -> tuple[str, dict[str, Any]]:
        """(external id, sObject values) of a record; BadRecordError when a value does not fit its field."""
        external_field = self.settings.external_id_field
        external = record.fields.get(external_field, record.key) if external_field in columns else record.key
        if isinstance(external, bool) or not isinstance(external, str | int) or not str(external).strip():
            raise BadRecordError(f"record {record.key}: {external_field} is empty; it is the record's external id")
        values = {}
        zone = self.zone_of(record) if record.timezone or self.settings.timezone else None
        for column in columns:
            if column != external_field:
                value = record.fields.get(column)
                values[column] = to_salesforce(fields[column].type, value, column, record.key, zone)
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
        columns); date-times come back as local ISO-8601 in each employee's zone (`timezone` when set,
        else the employee's site zone from `zones`, else UTC).
        """
        fields = self._describe()
        yield from read_records(
            self.api, self.settings, fields, self.where, start, end, employees,
            lambda employee: self.zone_for(employee, zones),
        )  # fmt: skip

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every record of `people_object` with a `people_id_field` (inactive too), by SOQL, to the last page."""
        yield from pull_people(self.api, self.settings, self.where, since)


@hookimpl
def register_targets(register: Register) -> None:
    """Register `salesforce`."""
    register("salesforce", SalesforceTarget)
