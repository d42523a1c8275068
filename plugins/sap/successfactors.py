"""The `sap_successfactors` target: processed days to SAP SuccessFactors, as ExternalTimeData or clock events.

Two ways in, chosen by `send` (with `auto`, by the mapping's columns):

- `external_time_data` (columns `check_in`/`check_out` and/or `hours`): one `ExternalTimeData`
  record per employee-day through the OData v2 upsert (`POST /odata/v2/upsert`), with `userId`,
  `startDate`/`endDate` (`/Date(ms)/`), `startTime`/`endTime` (`PT09H02M00S`, in the day's site
  zone), `hours` (at ExternalTimeData's decimal scale), `timeType` and `costCenter`. The record is
  keyed by a deterministic `externalCode` derived from the user, the work date and the record kind
  (at most 128 characters): a resent record updates the record it made, a changed day updates its
  record in place. SuccessFactors answers per record (`status` OK or ERROR with a message).
- `time_events` (column `intervals`, or `check_in`/`check_out`): the day's clock events (clock in,
  clock out, break start, break end; `punchbridge.plugins.sap.time_events`) through the Clock In
  Clock Out Time Events REST API (`punchbridge.plugins.sap.successfactors_events`), at most
  `time_events.per_call` (1,000) events per call and `time_events.per_user` (200) per user per call.

Each day is written in its own site's zone (the record's `timezone`, set by the sync engine), or in
the `timezone` setting when one is given (an override). `stored_form` gives the values as
SuccessFactors keeps them (`punchbridge.plugins.sap.stored`), which the engine hashes, sends and
reconciles. Refused records become dead letters with SuccessFactors' own words; the rest lands.

Authentication is OAuth 2.0 SAML bearer with an assertion this plugin signs with the client's key
(`punchbridge.plugins.sap.saml`, `.successfactors_client`); a CSRF token is fetched only when a write
is refused for want of one. `pull_employees` reads `EmpJob` (with `userNav` for name and e-mail and
`emplStatusNav` for the status), every effective-dated row, so each employee carries their
cost-centre history; `read_back` reads `ExternalTimeData` (or the clock events) with a `$filter` on
dates. Pages follow `__next` (`$skiptoken`). `check_online` logs in and reads, writing nothing.
Errors map as `punchbridge.plugins.sap.odata` tabulates. docs/plugins/sap.md has every setting and
why `pyodata` is not used.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import (
    BadRecordError,
    Batch,
    Capability,
    CredentialsError,
    Employee,
    FatalTargetError,
    HeldRecord,
    HttpTarget,
    OnlineCheck,
    Outcome,
    Record,
    Register,
    hookimpl,
)
from punchbridge.plugins.sap import successfactors_online as _online
from punchbridge.plugins.sap import successfactors_read as _successfactors_read
from punchbridge.plugins.sap.odata import date_value, edm_time, upsert_results
from punchbridge.plugins.sap.stored import decimal_hours, stored_fields
from punchbridge.plugins.sap.successfactors_client import SuccessFactorsClient, clear_token_cache
from punchbridge.plugins.sap.successfactors_events import DayEvents, day_payloads, send_event_calls
from punchbridge.plugins.sap.successfactors_settings import (
    EXTERNAL_TIME_DATA,
    SuccessFactorsSettings,
    TimeEventApi,
    mode_of,
)
from punchbridge.plugins.sap.time_events import day_events, employee_of, local_time, record_kind, work_date_of

if TYPE_CHECKING:
    import httpx

    from punchbridge.plugins.sap.saml import SigningKey

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


def external_code(user: str, work_date: date, kind: str, suffix: str = "") -> str:
    """The deterministic upsert key of one record: `PB-{user}-{yyyymmdd}-{kind}[-{suffix}]`.

    A user id with characters outside `A-Z a-z 0-9 . _ @ -` (or longer than 80) is replaced by the
    first 24 hex digits of its SHA-256, so the key stays at most 128 safe characters.
    """
    who = user if _SAFE.fullmatch(user) else "H" + hashlib.sha256(user.encode()).hexdigest()[:24]
    code = f"PB-{who}-{work_date:%Y%m%d}-{kind}" + (f"-{suffix}" if suffix else "")
    if len(code) > MAX_KEY:
        code = "PB-" + hashlib.sha256(code.encode()).hexdigest()
    return code


class _Entry:
    """One record as the payloads it becomes (one ExternalTimeData, or its clock events), keyed by its day."""

    __slots__ = ("day", "key", "payloads", "record", "user")

    def __init__(
        self, record: Record, user: str, key: str, payloads: list[dict[str, Any]], day: DayEvents | None = None
    ) -> None:
        self.record, self.user, self.key, self.payloads, self.day = record, user, key, payloads, day


class SuccessFactorsTarget(HttpTarget[SuccessFactorsSettings]):
    """Sends processed days to SAP SuccessFactors; pulls EmpJob; reads back what it holds; checks a login."""

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
        """OData and the Time Events API answer JSON when asked for it (KBA 3216279: else XML)."""
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
        from punchbridge.plugins.sap.saml import load_signing_key  # lxml, signxml, cryptography: on first login

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

    def check_online(self) -> list[OnlineCheck]:
        """`punchbridge validate --online`: a token (SAML bearer), one `EmpJob` row, the Time Events API
        reachable; nothing is written (`punchbridge.plugins.sap.successfactors_online`)."""
        try:
            return _online.check_online(self)
        finally:
            self.close()

    # -- mapping check and stored form -------------------------------------------------------------

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

    @classmethod
    def stored_form(cls, fields: Mapping[str, Any], settings: SuccessFactorsSettings) -> Mapping[str, Any]:
        """`fields` as SuccessFactors keeps them: `hours` rounded to `hours_decimals`, times to the second."""
        return stored_fields(fields, settings.hours_decimals)

    def _local(self, moment: datetime, record: Record) -> datetime:
        """`moment` in the zone its record is written in: the `timezone` override, else the record's site
        zone (`zone_of`); as it came (with its own offset) when neither is known."""
        if self.settings.timezone or record.timezone:
            return moment.astimezone(self.zone_of(record))
        return moment

    # -- push --------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Send the batch's days (see the module docstring); one outcome per record."""
        columns = self.check_batch_columns(batch)
        mode = mode_of(self.settings, columns)
        outcomes: dict[str, Outcome] = {}
        entries: list[_Entry] = []
        owners: dict[str, _Entry] = {}
        twins: list[tuple[Record, _Entry]] = []
        for record in batch.records:
            try:
                entry = self._entry(record, columns, mode)
            except BadRecordError as refusal:
                outcomes[record.key] = Outcome(record.key, False, message=str(refusal))
                continue
            first = owners.get(entry.key)
            if first is not None:
                if first.payloads == entry.payloads:
                    twins.append((record, first))
                else:
                    outcomes[record.key] = Outcome(
                        record.key,
                        False,
                        message=f"record {record.key} is SuccessFactors user {entry.user} on the same day as record "
                        f"{first.record.key}, with other values: two terminal ids mapped to one userId?",
                    )
                continue
            owners[entry.key] = entry
            entries.append(entry)
        calls = self._pack(entries, mode)
        if mode == "time_events":
            outcomes.update(self._send_events(entries, calls))
        else:
            outcomes.update(self._upsert(entries, calls))
        for record, entry in twins:
            like = outcomes[entry.record.key]
            outcomes[record.key] = Outcome(record.key, like.ok, like.remote_id, like.message)
        return [outcomes[record.key] for record in batch.records]

    def _upsert(self, entries: Sequence[_Entry], calls: list[list[tuple[_Entry, int]]]) -> dict[str, Outcome]:
        refused: dict[str, list[str]] = {}
        api = f"upsert {EXTERNAL_TIME_DATA['entity']}"
        for call in calls:
            payloads = [entry.payloads[index] for entry, index in call]
            reply = self.client.call(
                api, "POST", self.settings.odata_url + "/upsert", params={"$format": "json"}, json=payloads
            )
            for (entry, index), (ok, message) in zip(
                call, upsert_results(reply, len(call), api, self.where), strict=True
            ):
                if not ok:
                    code = entry.payloads[index][EXTERNAL_TIME_DATA["key"]]
                    refused.setdefault(entry.record.key, []).append(f"{code}: {message}")
        log.info("%s: %d ExternalTimeData records in %d upsert calls", self.name, len(entries), len(calls))
        outcomes = {}
        for entry in entries:
            key = entry.record.key
            if key in refused:
                outcomes[key] = Outcome(key, False, message="SuccessFactors refused " + "; ".join(refused[key]))
            else:
                outcomes[key] = Outcome(key, True, remote_id=entry.key)
        return outcomes

    def _send_events(self, entries: Sequence[_Entry], calls: list[list[tuple[_Entry, int]]]) -> dict[str, Outcome]:
        outcomes = {entry.record.key: Outcome(entry.record.key, True) for entry in entries if not entry.payloads}
        days = [[(entry.day, index) for entry, index in call if entry.day is not None] for call in calls]
        outcomes.update(send_event_calls(self.client, self.settings, days))
        return outcomes

    def _entry(self, record: Record, columns: Sequence[str], mode: str) -> _Entry:
        user = employee_of(record, "SuccessFactors userId")
        if len(user) > 100:
            raise BadRecordError(f"record {record.key}: userId {user[:20]!r}... is longer than 100 characters")
        work_date = work_date_of(record)
        code = external_code(user, work_date, record_kind(record))
        if mode == "time_events":
            events = [replace(event, moment=self._local(event.moment, record)) for event in day_events(record, columns)]
            api: TimeEventApi = self.settings.time_events
            if len(events) > api.per_user:
                raise BadRecordError(
                    f"record {record.key}: {len(events)} clock events, more than {api.per_user} a user a call"
                )
            terminal = _text(record.fields.get("terminal")) or api.terminal_id
            if terminal and len(terminal) > 30:
                raise BadRecordError(f"record {record.key}: terminal {terminal!r} is longer than 30 characters")
            payloads = day_payloads(events, user, terminal, self.settings)
            day = DayEvents(record, user, work_date, payloads, [event.moment for event in events])
            return _Entry(record, user, code, payloads, day)
        return _Entry(record, user, code, [self._time_data(record, user, work_date, code, columns)])

    def _time_data(
        self, record: Record, user: str, work_date: date, code: str, columns: Sequence[str]
    ) -> dict[str, Any]:
        names = EXTERNAL_TIME_DATA
        start = local_time(record.fields.get("check_in"), "check_in", record.key)
        end = local_time(record.fields.get("check_out"), "check_out", record.key)
        if start and end and end < start:
            raise BadRecordError(
                f"record {record.key}: check_out {end.isoformat()} is before check_in {start.isoformat()}"
            )
        start = self._local(start, record) if start else None
        end = self._local(end, record) if end else None
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
            payload[names["hours"]] = self._hours(record.fields.get("hours"), record.key)
        elif not (start and end):
            raise BadRecordError(
                f"record {record.key}: no check-in and check-out to send and no `hours` column (an absent or "
                "incomplete day); map hours from: worked_minutes with transform: minutes_to_hours"
            )
        cost_centre = _text(record.fields.get("cost_centre"))
        if cost_centre:
            payload[names["cost_centre"]] = cost_centre
        return payload

    def _hours(self, value: Any, record_key: str) -> str:
        """Worked hours as the Edm.Decimal text ExternalTimeData keeps (`hours_decimals`); BadRecordError when
        not 0..48."""
        places = self.settings.hours_decimals
        try:
            hours = decimal_hours(value, places)
        except InvalidOperation:
            raise BadRecordError(f"record {record_key}: hours {value!r} is not a number of hours") from None
        if hours is None:
            return f"{0:.{places}f}"
        if not 0 <= hours <= 48:
            raise BadRecordError(f"record {record_key}: hours {value!r} is not between 0 and 48")
        return str(hours)

    def _pack(self, entries: Sequence[_Entry], mode: str) -> list[list[tuple[_Entry, int]]]:
        """Payloads into calls: a record's payloads kept in one call, within the per-call and per-user caps.

        First fit over the users' days taken in turn: 600 events each of six users go in 4 calls, not 6.
        Each item is (entry, index of its payload).
        """
        if mode == "time_events":
            per_call, per_user = self.settings.time_events.per_call, self.settings.time_events.per_user
        else:
            per_call, per_user = self.settings.records_per_call, None
        calls: list[list[tuple[_Entry, int]]] = []
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
            call.extend((entry, index) for index in range(size))
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
        """What SuccessFactors holds for the days `start`..`end`: ExternalTimeData, or the clock events by day.

        Each user's times are shown in the zone of their site (`zones`, or the `timezone` override).
        """
        zone_of = self._read_zones(zones)
        if self.settings.send == "time_events":
            yield from _successfactors_read.read_events(
                self.client, self.settings, self.where, start, end, employees, zone_of
            )
        else:
            yield from _successfactors_read.read_time_data(
                self.client, self.settings, self.where, start, end, employees, zone_of
            )

    def _read_zones(self, zones: Mapping[str, str] | None) -> Callable[[str], ZoneInfo | None]:
        """A user's zone for read-back: the override, else their site's; None when neither is known."""
        known = dict(zones or {})

        def zone(user: str) -> ZoneInfo | None:
            return self.zone_for(user, known) if (self.settings.timezone or user in known) else None

        return zone


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool) or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


@hookimpl
def register_targets(register: Register) -> None:
    """Register `sap_successfactors`."""
    register("sap_successfactors", SuccessFactorsTarget)
