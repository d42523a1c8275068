"""The `zoho_people` target itself: its life cycle, zones, the call budget, the employee pull, the read-back.

See the package docstring for what it does; `pushing` sends a batch, `punches` turns records into
punches, `ledger` keeps what Zoho took, `pacing` keeps under Zoho's limits, `tokens` holds the access
token, `replies` reads Zoho's answers and `online` is `punchbridge validate --online`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import (
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
    TargetError,
    TokenRefusedError,
    ZoneModel,
)
from punchbridge.plugins.zoho_people.ledger import SentDays
from punchbridge.plugins.zoho_people.pacing import BackfillPlan, WindowPacer, plan_backfill, shared_pacer
from punchbridge.plugins.zoho_people.punches import (
    Day,
    DayKey,
    Punch,
    held_intervals,
    stored_fields,
    word,
    zoho_time,
)
from punchbridge.plugins.zoho_people.pushing import BatchPush
from punchbridge.plugins.zoho_people.replies import (
    EMPLOYEE_PAGE,
    NoSuchEmployeeError,
    bulk_results,
    employee_page,
    epoch_ms,
    reply_body,
    text,
    unknown,
)
from punchbridge.plugins.zoho_people.settings import (
    BULK_IMPORT,
    BULK_IMPORT_PATH,
    DATE_FORMAT,
    EMPLOYEE_RECORDS,
    EMPLOYEES_PATH,
    LOCK_SECONDS,
    READ_BACK,
    READ_BACK_PATH,
    WIRE,
    ZohoPeopleSettings,
)
from punchbridge.plugins.zoho_people.tokens import ZohoTokens

if TYPE_CHECKING:
    import httpx

__all__ = ["ZohoPeopleTarget"]

log = logging.getLogger("punchbridge.plugins.zoho_people")


class ZohoPeopleTarget(HttpTarget[ZohoPeopleSettings]):
    """Sends processed days to Zoho People as punches; pulls its employees; reads back what it holds."""

    max_batch_size = 500
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.PUSH_PUNCHES, Capability.PUSH_ATTENDANCE, Capability.PULL_EMPLOYEES, Capability.READ_BACK}
    )

    def __init__(
        self,
        name: str,
        settings: ZohoPeopleSettings | Mapping[str, Any],
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(name, settings, transport=transport)
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self.retry_sleep = sleep  # a test's clock waits out a login's retries too (None: stamina waits)
        settings = self.settings
        organisation = f"{settings.accounts}|{settings.client_id}|{settings.identify_by}"
        self.scope = hashlib.sha256(organisation.encode()).hexdigest()[:16]
        self._sent: SentDays | None = None
        self._calls_day = ""
        self._calls_used = 0
        self._calls_lock = threading.Lock()

    # -- life cycle --------------------------------------------------------------------------------

    @property
    def where(self) -> str:
        """`target NAME (Zoho People)`, for messages."""
        return f"target {self.name} (Zoho People)"

    def describe(self) -> str:
        """`zoho_people NAME -> ACCOUNTS HOST (identify_by)`, never a secret."""
        return f"zoho_people {self.name} -> {self.settings.accounts} ({self.settings.identify_by})"

    def connection_options(self) -> dict[str, Any]:
        """One connection more than `concurrency`: a token request may come while every call is out."""
        return {"max_connections": self.settings.concurrency + 1}

    def on_open(self) -> None:
        """Open the state file, carry the last run's call times over to the pacers, log today's call budget."""
        self.tokens = ZohoTokens(self.settings, self.http, self.clock)
        self._sent = SentDays(self.settings.state_file)
        for api, times in self._sent.recent(self.scope).items():
            if api in LOCK_SECONDS:
                self._pacer(api).remember(times)
        left = self.calls_left_today()
        log.info(
            "%s: %d of %d daily API calls left today; room for about %d days of two punches at %d punches a call",
            self.name,
            left,
            self.settings.daily_call_limit,
            left * self.settings.punches_per_call // 2,
            self.settings.punches_per_call,
        )

    def on_close(self) -> None:
        """Save the call count and close the state file."""
        if self._sent is not None:
            try:
                self.save_calls()
            finally:
                self._sent.close()
                self._sent = None

    def ledger(self) -> SentDays:
        """The state file of the open target (opening it on first use)."""
        if self._sent is None:
            self.open()
        assert self._sent is not None
        return self._sent

    # -- mapping check -----------------------------------------------------------------------------

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: ZohoPeopleSettings) -> list[str]:
        """The mapping needs `employee`, then `check_in` and `check_out`, or `intervals` (not both)."""
        identify_by = settings.identify_by
        names = set(columns)
        problems = []
        if "employee" not in names:
            problems.append(
                f"no column `employee`: it must hold the Zoho {identify_by} of the employee "
                "(e.g. {name: employee, from: target_id})"
            )
        pair = {"check_in", "check_out"} & names
        if "intervals" in names and pair:
            problems.append(
                "columns `intervals` and `check_in`/`check_out` together: send either first in and last out "
                "(check_in from: first_in, check_out from: last_out) or every pair (intervals from: intervals)"
            )
        elif "intervals" not in names and len(pair) < 2:
            missing = ", ".join(f"`{c}`" for c in ("check_in", "check_out") if c not in names)
            problems.append(
                f"no column {missing}: Zoho People takes punches; map check_in from: first_in and check_out from: "
                "last_out (or one column intervals from: intervals for every pair)"
            )
        return problems

    @classmethod
    def stored_form(cls, fields: Mapping[str, Any], settings: ZohoPeopleSettings) -> Mapping[str, Any]:
        """`fields` with their times truncated to the minute: Zoho shows check-in times to the minute
        ("03-Mar-2023 - 09:00 AM" in getAttendanceEntries), so that is what is sent and compared."""
        return stored_fields(fields)

    # -- zones -------------------------------------------------------------------------------------

    def entry_zone_of(self, record: Record) -> ZoneInfo | None:
        """The zone of the wall time sent to Zoho for `record`: the organisation's (`entry_zone:
        organisation`), else the record's site zone or the `timezone` override (`zone_of`); None when
        neither is known (the time's own offset is dropped, as the rules engine wrote it site-local)."""
        if self.settings.entry_zone == "organisation":
            return ZoneInfo(self.settings.timezone or "UTC")
        return self.zone_of(record) if self.settings.timezone or record.timezone else None

    @classmethod
    def zone_model_for(cls, settings: ZohoPeopleSettings) -> ZoneModel:
        """`entry_zone: organisation` makes Zoho an organisation-zone target (`timezone` names that zone)."""
        return ZoneModel.ORGANISATION if settings.entry_zone == "organisation" else ZoneModel.SITE

    def site_zone(self, employee: str, zones: Mapping[str, str] | None) -> ZoneInfo | None:
        """`zone_for`, or None when no zone is known for `employee` at all."""
        if self.settings.entry_zone == "site" and not self.settings.timezone and not (zones or {}).get(employee):
            return None
        return self.zone_for(employee, zones)

    def check_online(self) -> list[OnlineCheck]:
        """An access token from the refresh token, one employee read, one attendance day read, the daily
        budget left (`punchbridge.plugins.zoho_people.online`); nothing is written to Zoho."""
        from punchbridge.plugins.zoho_people.online import online_checks

        return online_checks(self)

    # -- budget ------------------------------------------------------------------------------------

    def _today(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).date().isoformat()

    def calls_left_today(self) -> int:
        """Calls of `daily_call_limit` punchbridge has not used today (UTC)."""
        with self._calls_lock:
            self._roll_day()
            return max(self.settings.daily_call_limit - self._calls_used, 0)

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._calls_day:
            self._calls_day = today
            self._calls_used = self._sent.calls_on(self.scope, today) if self._sent is not None else 0

    def _count_call(self) -> None:
        with self._calls_lock:
            self._roll_day()
            self._calls_used += 1

    def save_calls(self) -> None:
        """Save today's call count and each API's recent call times to the state file."""
        if self._sent is None:
            return
        with self._calls_lock:
            self._roll_day()
            recent = {api: self._pacer(api).recent() for api in LOCK_SECONDS}
            self._sent.set_calls(self.scope, self._calls_day, self._calls_used, recent)

    def plan_backfill(self, records: int, punches_per_record: float = 2.0) -> BackfillPlan:
        """What sending `records` days costs with these settings and what is left of today's budget."""
        return plan_backfill(
            records,
            punches_per_record=punches_per_record,
            punches_per_call=self.settings.punches_per_call,
            calls_per_minute=self.settings.bulk_import_per_minute,
            calls_left_today=self.calls_left_today(),
        )

    # -- HTTP --------------------------------------------------------------------------------------

    def _pacer(self, api: str) -> WindowPacer:
        pacer = shared_pacer(self.scope, api, self.settings.per_minute(api), self.clock, self.sleep)
        pacer.margin = self.settings.pacing_margin
        return pacer

    def call(self, api: str, method: str, path: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """One paced, counted API call; the reply body (None: Zoho's "no records"). Renews the token once."""
        self.ledger()
        stale: str | None = None
        for attempt in (1, 2):
            token = self.tokens.current(stale)
            self._pacer(api).wait()
            self._count_call()
            headers = {"Authorization": f"Zoho-oauthtoken {token.value}"}
            form = {"params": dict(params)} if method == "GET" else {"data": dict(params)}
            try:
                response = self.http.request(method, token.api_domain + path, api, headers=headers, **form)
            except TargetError as exc:
                raise unknown(exc) from None  # sent or not, nobody knows what Zoho stored
            try:
                return reply_body(api, response, self.where)
            except TokenRefusedError:
                if attempt == 2:
                    raise CredentialsError(
                        f"{self.where}: {api} refused a newly minted access token (invalid OAuth token); check "
                        "that the client has the ZOHOPEOPLE scopes and belongs to this organisation"
                    ) from None
                stale = token.value
        raise AssertionError("unreachable")

    # -- push --------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Send the batch's days as punches; only what Zoho does not hold yet (`pushing`)."""
        return BatchPush(self, batch).run()

    def bulk_import(self, call: list[tuple[DayKey, Punch]]) -> list[tuple[bool | None, str]]:
        """One paced bulkImport call; per punch (taken, Zoho's words), taken None when the reply does not say.

        `CallRefusedError` when Zoho refused the call whole (nothing of it stored).
        """
        rows = []
        for (employee, _), (kind, moment) in call:
            row = {self.settings.identify_by: employee, ("checkIn" if kind == "in" else "checkOut"): moment}
            if self.settings.location:
                row["location"] = self.settings.location
            if self.settings.building:
                row["building"] = self.settings.building
            rows.append(row)
        params = {"data": json.dumps(rows, separators=(",", ":")), "dateFormat": DATE_FORMAT}
        reply = self.call(BULK_IMPORT, "POST", BULK_IMPORT_PATH, params)
        answers: list[tuple[bool | None, str]] = []
        for ((employee, _), (kind, moment)), (ok, message) in zip(call, bulk_results(reply, len(rows)), strict=True):
            text = f"Zoho People refused {word(kind)} {moment} of {employee}: {message}" if ok is False else message
            answers.append((ok, text))
        return answers

    # -- read-back ---------------------------------------------------------------------------------

    def read_days(self, days: Sequence[Day]) -> dict[DayKey, set[Punch]]:
        """What Zoho holds for each day, on the date it files the day under (one paced call each)."""
        if not days:
            return {}
        workers = min(self.settings.concurrency, len(days))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                found = list(pool.map(lambda d: self.read_entries(d.employee, d.zoho_date), days))
        else:
            found = [self.read_entries(d.employee, d.zoho_date) for d in days]
        return {day.key: punches for day, punches in zip(days, found, strict=True)}

    def read_entries(self, employee: str, zoho_date: str) -> set[Punch]:
        """Zoho's punches for one employee and attendance date, to the minute (getAttendanceEntries)."""
        params = {"date": zoho_date, "dateFormat": DATE_FORMAT, self.settings.identify_by: employee}
        try:
            reply = self.call(READ_BACK, "GET", READ_BACK_PATH, params)
        except NoSuchEmployeeError:
            return set()  # Zoho knows no such employee: it holds nothing of theirs
        if reply is None or not isinstance(reply.get("entries", []), list):
            raise FatalTargetError(f"{self.where}: {READ_BACK} answered without a list of entries")
        punches: set[Punch] = set()
        for entry in reply.get("entries", []):
            if not isinstance(entry, dict):
                raise FatalTargetError(f"{self.where}: {READ_BACK} answered an entry that is not an object")
            for name, kind in (("checkIn", "in"), ("checkOut", "out")):
                moment = zoho_time(entry.get(name), READ_BACK)
                if moment:
                    punches.add((kind, moment))
        first, last = zoho_time(reply.get("firstIn"), READ_BACK), zoho_time(reply.get("lastOut"), READ_BACK)
        punches |= {("in", first)} if first and not any(k == "in" for k, _ in punches) else set()
        punches |= {("out", last)} if last and not any(k == "out" for k, _ in punches) else set()
        return punches

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """What Zoho holds per employee and day (`check_in`, `check_out`, `intervals`), one paced call each.

        Times come back in each employee's site zone (`zones`, target employee id -> IANA zone; else
        `timezone`; without either, as Zoho shows them, without an offset). With `entry_zone:
        organisation` Zoho's times are read in the organisation's zone, converted to the site's, and
        each day goes to the site's work date of its first punch. Without `employees`, every employee
        `pull_employees` finds, by the `identify_by` identifier.
        """
        if employees is None:
            employees = [value for value in (self.identifier(e) for e in self.pull_employees()) if value]
        organisation = self.settings.entry_zone == "organisation"
        margin = timedelta(days=1 if organisation else 0)
        try:
            for employee in employees:
                local = self._reader(employee, zones)
                held: dict[date, set[Punch]] = {}
                day = start - margin
                while day <= end + margin:
                    punches = self.read_entries(employee, day.isoformat())
                    if punches:
                        work_date = local(min(moment for _, moment in punches)).date() if organisation else day
                        if start <= work_date <= end:
                            held.setdefault(work_date, set()).update(punches)
                    day += timedelta(days=1)
                for work_date, punches in sorted(held.items()):
                    ins = [moment for kind, moment in punches if kind == "in"]
                    outs = [moment for kind, moment in punches if kind == "out"]
                    fields = {
                        "check_in": local(min(ins)).isoformat() if ins else "",
                        "check_out": local(max(outs)).isoformat() if outs else "",
                        "intervals": held_intervals(punches, local),
                    }
                    yield HeldRecord(employee, work_date, fields, remote_id=f"{employee}|{work_date.isoformat()}")
        finally:
            self.save_calls()

    def _reader(self, employee: str, zones: Mapping[str, str] | None) -> Callable[[str], datetime]:
        """Wire text as Zoho shows it -> the time in the employee's site zone (see `read_back`)."""
        site = self.site_zone(employee, zones)
        entry = ZoneInfo(self.settings.timezone) if self.settings.entry_zone == "organisation" else None

        def local(wire: str) -> datetime:
            moment = datetime.strptime(wire, WIRE)
            if entry is not None:
                return moment.replace(tzinfo=entry).astimezone(site or entry)
            return moment.replace(tzinfo=site) if site is not None else moment

        return local

    def identifier(self, employee: Employee) -> str | None:
        """The employee's value of the `identify_by` identifier (None when Zoho holds none)."""
        return {"empId": employee.target_id, "emailId": employee.email, "mapId": employee.badge}[
            self.settings.identify_by
        ]

    # -- employees ---------------------------------------------------------------------------------

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every employee record (leavers too, `active=False`), paging getRecords 200 at a time to the end."""
        start = 1
        try:
            while True:
                params: dict[str, Any] = {"sIndex": start, "limit": EMPLOYEE_PAGE}
                if since is not None:
                    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
                    params["modifiedtime"] = int(moment.timestamp() * 1000)
                reply = self.call(EMPLOYEE_RECORDS, "GET", EMPLOYEES_PATH, params)
                if reply is None:
                    return
                page = employee_page(reply, self.where)
                for record_id, fields in page:
                    yield self.employee_of(record_id, fields)
                if len(page) < EMPLOYEE_PAGE:
                    return
                start += EMPLOYEE_PAGE
        finally:
            self.save_calls()

    def employee_of(self, record_id: str, fields: Mapping[str, Any]) -> Employee:
        """A getRecords record as an `Employee` (see `pull_employees`)."""
        target_id = fields.get("EmployeeID")
        if not isinstance(target_id, str | int) or str(target_id).strip() == "":
            raise FatalTargetError(f"{self.where}: {EMPLOYEE_RECORDS}: record {record_id} has no EmployeeID")
        status = str(fields.get("Employeestatus") or "")
        name = " ".join(str(fields.get(part) or "").strip() for part in ("FirstName", "LastName")).strip()
        return Employee(
            target_id=str(target_id).strip(),
            name=name or str(target_id),
            active=status.strip().lower() == "active",
            email=text(fields.get("EmailID")),
            badge=text(fields.get(self.settings.badge_field)),
            department=text(fields.get("Department")),
            site=text(fields.get("LocationName")),
            modified_at=epoch_ms(fields.get("ModifiedTime")),
            extra={"zoho_record_id": record_id, "Employeestatus": status},
        )
