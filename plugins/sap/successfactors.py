"""The `sap_successfactors` target: processed days to SAP SuccessFactors through OData v2 upserts.

Two ways in, chosen by `send` (with `auto`, by the mapping's columns):

- `external_time_data` (columns `check_in`/`check_out` and/or `hours`): one `ExternalTimeData`
  record per employee-day, with `userId`, `startDate`/`endDate` (`/Date(ms)/`), `startTime`/`endTime`
  (`PT09H02M00S`, site-local), `hours`, `timeType` and `costCenter`.
- `time_events` (column `intervals`, or `check_in`/`check_out`): the day's clock events (clock in,
  clock out, break start, break end; `punchbridge.plugins.sap.time_events`) for Clock In Clock Out, at
  most `time_events.per_call` (1,000) per call and `time_events.per_user` (200) per user per call.
  SAP does not publish this API's names: entity, fields and type codes are the `time_events` settings.

Both go through `POST /odata/v2/upsert`, keyed by a deterministic `externalCode` derived from the
SuccessFactors user, the work date and the record kind (plus event type and ordinal for events),
at most 128 characters. The upsert *is* the dedup: a resent record (after a crash, a lost reply, a
retry) updates the record it already made instead of adding one, and a changed day updates its
record in place. SuccessFactors answers per record (`status` OK or ERROR with a message): refused
records become dead letters with SuccessFactors' own words, the rest lands.

Authentication is OAuth 2.0 SAML bearer with an assertion this plugin signs with the client's key
(`punchbridge.plugins.sap.saml`, `.successfactors_client`); writes carry the session cookie and CSRF token.
`pull_employees` reads `EmpJob` (with `userNav` for name and e-mail and `emplStatusNav` for the
status), every effective-dated row, so each employee carries their cost-centre history; `read_back`
reads `ExternalTimeData` (or the time-event entity) with a `$filter` on dates. Pages follow `__next`
(`$skiptoken`). Errors map as `punchbridge.plugins.sap.odata` tabulates. docs/plugins/sap.md has every
setting and why `pyodata` is not used.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx

from punchbridge.plugin_api import (
    BadRecordError,
    Batch,
    Capability,
    CredentialsError,
    Employee,
    FatalTargetError,
    HeldRecord,
    HttpTarget,
    Outcome,
    Record,
    Register,
    hookimpl,
)
from punchbridge.plugins.sap import successfactors_read as _successfactors_read
from punchbridge.plugins.sap.odata import date_value, edm_time, offset_value, upsert_results
from punchbridge.plugins.sap.saml import SigningKey, load_signing_key
from punchbridge.plugins.sap.successfactors_client import SuccessFactorsClient, clear_token_cache
from punchbridge.plugins.sap.successfactors_settings import (
    EXTERNAL_TIME_DATA,
    SuccessFactorsSettings,
    TimeEventApi,
    mode_of,
)
from punchbridge.plugins.sap.time_events import (
    TimeEvent,
    day_events,
    employee_of,
    local_time,
    record_kind,
    work_date_of,
)

__all__ = [
    "EXTERNAL_TIME_DATA",
    "SuccessFactorsSettings",
    "SuccessFactorsTarget",
    "TimeEventApi",
    "clear_token_cache",
    "external_code",
    "register_targets",
]

log = logging.getLogger(__name__)

MAX_KEY = 128
_SAFE = re.compile(r"[A-Za-z0-9._@-]{1,80}")
_EVENT_CODES = {"clock_in": "IN", "clock_out": "OUT", "break_start": "BS", "break_end": "BE"}


def external_code(user: str, work_date: date, kind: str, suffix: str = "") -> str:
    """The deterministic upsert key of one record (or event): `PB-{user}-{yyyymmdd}-{kind}[-{suffix}]`.

    A user id with characters outside `A-Z a-z 0-9 . _ @ -` (or longer than 80) is replaced by the
    first 24 hex digits of its SHA-256, so the key stays at most 128 safe characters.
    """
    who = user if _SAFE.fullmatch(user) else "H" + hashlib.sha256(user.encode()).hexdigest()[:24]
    code = f"PB-{who}-{work_date:%Y%m%d}-{kind}" + (f"-{suffix}" if suffix else "")
    if len(code) > MAX_KEY:
        code = "PB-" + hashlib.sha256(code.encode()).hexdigest()
    return code


class _Entry:
    """One record as the upsert payloads it becomes (one ExternalTimeData, or its clock events)."""

    __slots__ = ("keys", "payloads", "record", "user")

    def __init__(self, record: Record, user: str, payloads: list[dict[str, Any]], keys: list[str]) -> None:
        self.record, self.user, self.payloads, self.keys = record, user, payloads, keys


class SuccessFactorsTarget(HttpTarget[SuccessFactorsSettings]):
    """Upserts processed days into SAP SuccessFactors; pulls EmpJob; reads back what it holds."""

    max_batch_size = 1000
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.PUSH_ATTENDANCE, Capability.PUSH_PUNCHES, Capability.PULL_EMPLOYEES, Capability.READ_BACK}
    )

    def __init__(
        self,
        name: str,
        settings: SuccessFactorsSettings | Mapping[str, Any],
        *,
        clock: Callable[[], float] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(name, settings, transport=transport)
        self.clock = clock or time.time
        self._client: SuccessFactorsClient | None = None

    @property
    def where(self) -> str:
        """`target NAME (SAP SuccessFactors COMPANY)`, for messages."""
        return f"target {self.name} (SAP SuccessFactors {self.settings.company_id})"

    def describe(self) -> str:
        """`sap_successfactors NAME -> API SERVER (company, user)`, never a secret."""
        settings = self.settings
        return (
            f"sap_successfactors {self.name} -> {settings.api_server} (company {settings.company_id}, "
            f"{settings.user_id})"
        )

    # -- life cycle --------------------------------------------------------------------------------

    def connection_options(self) -> dict[str, Any]:
        """OData answers JSON when asked for it."""
        return {"headers": {"Accept": "application/json"}}

    def on_open(self) -> None:
        """Read the signing key and certificate (the token comes with the first call)."""
        self._client = SuccessFactorsClient(self.settings, self._signing_key(), self.http, clock=self.clock)

    def on_close(self) -> None:
        """Forget the session of the closed connection (the cached token stays for the process)."""
        self._client = None

    @property
    def client(self) -> SuccessFactorsClient:
        """The session over the open connection (opening it on first use)."""
        if self._client is None:
            self.open()
        assert self._client is not None
        return self._client

    def _signing_key(self) -> SigningKey:
        config = self.settings
        files = {}
        for setting, path in (("private_key", config.private_key), ("certificate", config.certificate)):
            try:
                files[setting] = path.read_bytes()
            except OSError as exc:
                raise FatalTargetError(f"{self.where}: {setting} file {path} cannot be read ({exc.strerror})") from None
        if config.private_key.stat().st_mode & 0o077:
            log.warning("%s: private key %s is readable by other users; chmod 600 it", self.where, config.private_key)
        password = config.private_key_password.get_secret_value().encode() if config.private_key_password else None
        try:
            key = load_signing_key(files["private_key"], files["certificate"], password)
        except ValueError as exc:
            raise CredentialsError(f"{self.where}: {config.private_key} / {config.certificate}: {exc}") from None
        expiry = key.certificate.not_valid_after_utc
        if expiry.timestamp() < self.clock():
            log.warning("%s: certificate %s expired on %s", self.where, config.certificate, expiry.date())
        return key

    # -- mapping check -----------------------------------------------------------------------------

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: SuccessFactorsSettings) -> list[str]:
        """`employee`, then per `send`: check_in/check_out and/or hours (ExternalTimeData), or intervals (events)."""
        names = set(columns)
        problems = []
        if "employee" not in names:
            problems.append(
                "no column `employee`: it must hold the SuccessFactors userId (e.g. {name: employee, from: target_id})"
            )
        mode = mode_of(settings, names)
        pair = {"check_in", "check_out"} & names
        if mode == "time_events":
            if "intervals" not in names and len(pair) < 2:
                problems.append(
                    "no column `intervals` (or `check_in` and `check_out`): clock events come from every worked "
                    "interval (intervals from: intervals) or from first in and last out"
                )
        else:
            if "intervals" in names:
                problems.append(
                    "column `intervals` with send: external_time_data: ExternalTimeData takes one record a day; map "
                    "check_in from: first_in and check_out from: last_out (or set send: time_events)"
                )
            if len(pair) < 2 and "hours" not in names:
                problems.append(
                    "no columns `check_in` and `check_out` and no `hours`: ExternalTimeData needs start and end "
                    "times (from: first_in, from: last_out) or hours (from: worked_minutes, transform: "
                    "minutes_to_hours)"
                )
            if "time_type" not in names and not settings.time_type:
                problems.append("no column `time_type` and no `time_type` setting: ExternalTimeData needs a timeType")
        return problems

    # -- push --------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Upsert the batch's days (see the module docstring); one outcome per record."""
        columns = self.check_batch_columns(batch)
        mode = mode_of(self.settings, columns)
        outcomes: dict[str, Outcome] = {}
        entries: list[_Entry] = []
        owners: dict[str, tuple[_Entry, list[dict[str, Any]]]] = {}
        twins: list[tuple[Record, _Entry]] = []
        for record in batch.records:
            try:
                entry = self._entry(record, columns, mode)
            except BadRecordError as refusal:
                outcomes[record.key] = Outcome(record.key, False, message=str(refusal))
                continue
            first = owners.get(entry.keys[0]) if entry.keys else None
            if first is not None:
                if first[1] == entry.payloads:
                    twins.append((record, first[0]))
                else:
                    outcomes[record.key] = Outcome(
                        record.key,
                        False,
                        message=f"record {record.key} is SuccessFactors user {entry.user} on the same day as record "
                        f"{first[0].record.key}, with other values: two terminal ids mapped to one userId?",
                    )
                continue
            for key in entry.keys:
                owners[key] = (entry, entry.payloads)
            entries.append(entry)
        calls = self._pack(entries, mode)
        refused: dict[str, list[str]] = {}
        api = f"upsert {self._entity(mode)}"
        for call in calls:
            payloads = [payload for _, payload in call]
            reply = self.client.call(
                api, "POST", self.settings.odata_url + "/upsert", params={"$format": "json"}, json=payloads
            )
            for (entry, payload), (ok, message) in zip(
                call, upsert_results(reply, len(call), api, self.where), strict=True
            ):
                if not ok:
                    refused.setdefault(entry.record.key, []).append(f"{self._key_of(payload, mode)}: {message}")
        for entry in entries:
            key = entry.record.key
            if key in refused:
                outcomes[key] = Outcome(key, False, message="SuccessFactors refused " + "; ".join(refused[key]))
            else:
                outcomes[key] = Outcome(key, True, remote_id=entry.keys[0] if entry.keys else None)
        for record, entry in twins:
            like = outcomes[entry.record.key]
            outcomes[record.key] = Outcome(record.key, like.ok, like.remote_id, like.message)
        log.info(
            "%s: batch %d: %d records as %d %s payloads in %d upsert calls",
            self.name,
            batch.batch_id,
            len(batch.records),
            sum(len(call) for call in calls),
            self._entity(mode),
            len(calls),
        )
        return [outcomes[record.key] for record in batch.records]

    def _entity(self, mode: str) -> str:
        return self.settings.time_events.entity if mode == "time_events" else EXTERNAL_TIME_DATA["entity"]

    def _key_of(self, payload: Mapping[str, Any], mode: str) -> str:
        field = self.settings.time_events.key_field if mode == "time_events" else EXTERNAL_TIME_DATA["key"]
        return str(payload.get(field))

    def _entry(self, record: Record, columns: Sequence[str], mode: str) -> _Entry:
        user = employee_of(record, "SuccessFactors userId")
        if len(user) > 100:
            raise BadRecordError(f"record {record.key}: userId {user[:20]!r}... is longer than 100 characters")
        work_date = work_date_of(record)
        if mode == "time_events":
            return self._event_entry(record, user, work_date, columns)
        names = EXTERNAL_TIME_DATA
        start = local_time(record.fields.get("check_in"), "check_in", record.key)
        end = local_time(record.fields.get("check_out"), "check_out", record.key)
        if start and end and end < start:
            raise BadRecordError(
                f"record {record.key}: check_out {end.isoformat()} is before check_in {start.isoformat()}"
            )
        code = external_code(user, work_date, record_kind(record))
        time_type = _text(record.fields.get("time_type")) or self.settings.time_type
        if not time_type:
            raise BadRecordError(f"record {record.key}: time_type is empty and no time_type setting is given")
        payload: dict[str, Any] = {
            "__metadata": {"uri": names["entity"], "type": f"SFOData.{names['entity']}"},
            names["key"]: code,
            names["user"]: user,
            names["start_date"]: date_value(start.date() if start else work_date),
            names["end_date"]: date_value(end.date() if end else (start.date() if start else work_date)),
            names["time_type"]: time_type,
        }
        if start:
            payload[names["start_time"]] = edm_time(start)
        if end:
            payload[names["end_time"]] = edm_time(end)
        if "hours" in columns:
            payload[names["hours"]] = _hours(record.fields.get("hours"), record.key)
        elif not (start and end):
            raise BadRecordError(
                f"record {record.key}: no check-in and check-out to send and no `hours` column (an absent or "
                "incomplete day); map hours from: worked_minutes with transform: minutes_to_hours"
            )
        cost_centre = _text(record.fields.get("cost_centre"))
        if cost_centre:
            payload[names["cost_centre"]] = cost_centre
        return _Entry(record, user, [payload], [code])

    def _event_entry(self, record: Record, user: str, work_date: date, columns: Sequence[str]) -> _Entry:
        api: TimeEventApi = self.settings.time_events
        events: list[TimeEvent] = day_events(record, columns)
        if len(events) > api.per_user:
            raise BadRecordError(
                f"record {record.key}: {len(events)} clock events, more than {api.per_user} a user a call"
            )
        terminal = _text(record.fields.get("terminal")) or api.terminal_id
        kind = record_kind(record)
        payloads, keys = [], []
        for event in events:
            code = external_code(user, work_date, kind, f"{_EVENT_CODES[event.kind]}{event.ordinal}")
            payload: dict[str, Any] = {
                "__metadata": {"uri": api.entity, "type": f"SFOData.{api.entity}"},
                api.key_field: code,
                api.user_field: user,
                api.type_field: getattr(api.types, event.kind),
                api.time_field: offset_value(event.moment),
            }
            if terminal:
                payload[api.terminal_field] = terminal
            payloads.append(payload)
            keys.append(code)
        return _Entry(record, user, payloads, keys)

    def _pack(self, entries: Sequence[_Entry], mode: str) -> list[list[tuple[_Entry, dict[str, Any]]]]:
        """Payloads into upsert calls: a record's payloads kept in one call, within the per-call and per-user caps.

        First fit over the users' days taken in turn: 600 events each of six users go in 4 calls, not 6.
        """
        if mode == "time_events":
            per_call, per_user = self.settings.time_events.per_call, self.settings.time_events.per_user
        else:
            per_call, per_user = self.settings.records_per_call, None
        calls: list[list[tuple[_Entry, dict[str, Any]]]] = []
        users: list[dict[str, int]] = []
        by_user: dict[str, list[_Entry]] = {}
        for entry in entries:
            by_user.setdefault(entry.user, []).append(entry)
        # Users taken in turn, so each call holds a share of every user and no user's cap fills a call early.
        interleaved = [entry for turn in itertools.zip_longest(*by_user.values()) for entry in turn if entry]
        for entry in interleaved:
            size = len(entry.payloads)
            if not size:
                continue
            for call, counts in zip(calls, users, strict=True):  # first fit: a user's days spread over calls
                if len(call) + size <= per_call and (per_user is None or counts.get(entry.user, 0) + size <= per_user):
                    break
            else:
                call, counts = [], {}
                calls.append(call)
                users.append(counts)
            call.extend((entry, payload) for payload in entry.payloads)
            counts[entry.user] = counts.get(entry.user, 0) + size
        return calls

    # -- the other direction -----------------------------------------------------------------------

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every employee in EmpJob (leavers too), with the cost-centre history; see docs/plugins/sap.md."""
        yield from _successfactors_read.pull_employees(self.client, self.settings, self.where, since, self.clock)

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """What SuccessFactors holds for the days `start`..`end`: ExternalTimeData, or the clock events by day."""
        mode = "time_events" if self.settings.send == "time_events" else "external_time_data"
        if mode == "time_events":
            yield from _successfactors_read.read_events(self.client, self.settings, self.where, start, end, employees)
        else:
            yield from _successfactors_read.read_time_data(
                self.client, self.settings, self.where, start, end, employees
            )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool) or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _hours(value: Any, record_key: str) -> str:
    """Worked hours as the Edm.Decimal text SuccessFactors takes (two decimals); BadRecordError when not 0..48."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "0.00"
    try:
        hours = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise BadRecordError(f"record {record_key}: hours {value!r} is not a number of hours") from None
    if not hours.is_finite() or not 0 <= hours <= 48:
        raise BadRecordError(f"record {record_key}: hours {value!r} is not between 0 and 48")
    return f"{hours.quantize(Decimal('0.01'))}"


@hookimpl
def register_targets(register: Register) -> None:
    """Register `sap_successfactors`."""
    register("sap_successfactors", SuccessFactorsTarget)
