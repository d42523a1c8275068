"""The `zoho_people` target itself: push (only what Zoho lacks), the call budget, the employee pull, the read-back.

See the package docstring for what it does; `punches` turns records into punches, `ledger` keeps
what Zoho took, `pacing` keeps under Zoho's limits, `tokens` holds the access token and `replies`
reads Zoho's answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

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
    TargetError,
    TokenRefusedError,
)
from punchbridge.plugins.zoho_people.ledger import SentDays
from punchbridge.plugins.zoho_people.pacing import BackfillPlan, WindowPacer, plan_backfill, shared_pacer
from punchbridge.plugins.zoho_people.punches import (
    Day,
    DayKey,
    Punch,
    day_of,
    held_intervals,
    iso,
    pack,
    remote_id,
    stale_punches,
    word,
    zoho_time,
)
from punchbridge.plugins.zoho_people.replies import (
    EMPLOYEE_PAGE,
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
    ZohoPeopleSettings,
)
from punchbridge.plugins.zoho_people.tokens import ZohoTokens

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
                self._save_calls()
            finally:
                self._sent.close()
                self._sent = None

    def _ready(self) -> SentDays:
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

    def _save_calls(self) -> None:
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

    def _call(self, api: str, method: str, path: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """One paced, counted API call; the reply body (None: Zoho's "no records"). Renews the token once."""
        self._ready()
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
        """Send the batch's days as punches; only what Zoho does not hold yet (see the module docstring)."""
        columns = self.check_batch_columns(batch)
        sent = self._ready()
        mode = "intervals" if "intervals" in columns else "first_last"
        outcomes: dict[str, Outcome] = {}
        days: dict[DayKey, Day] = {}
        twins: dict[DayKey, list[Day]] = {}
        for record in batch.records:
            try:
                day = day_of(record, mode, self.settings.identify_by)
            except BadRecordError as refusal:
                outcomes[record.key] = Outcome(record.key, False, message=str(refusal))
                continue
            first = days.setdefault(day.key, day)
            if first is not day:
                if first.punches != day.punches:
                    outcomes[record.key] = Outcome(
                        record.key,
                        False,
                        message=f"record {record.key} is {day.employee} on {day.work_date} like record "
                        f"{first.record.key}, with other times: two terminal ids mapped to one Zoho employee?",
                    )
                else:
                    twins.setdefault(day.key, []).append(day)
        ledger = sent.load(self.scope, list(days))
        unsure = [key for key in days if self._unsure(mode, days[key], ledger.get(key))]
        to_send = {key: days[key].punches - ledger.get(key, (set(), None))[0] for key in days if key not in unsure}
        estimate = math.ceil(sum(len(p) for p in to_send.values()) / self.settings.punches_per_call)
        estimate += math.ceil(sum(len(days[key].punches) for key in unsure) / self.settings.punches_per_call)
        self._check_budget(batch, len(unsure), estimate)
        held = {key: ledger[key][0] for key in ledger if key not in unsure}
        held.update(self._read_days([days[key] for key in unsure]))
        sending: dict[DayKey, list[Punch]] = {}
        updates: dict[DayKey, tuple[set[Punch], set[Punch] | None]] = {}
        for key, day in days.items():
            known = held.get(key, set())
            if key in unsure:
                updates[key] = (known, None)
            outdated = stale_punches(mode, day.punches, known)
            if outdated:
                outcomes[day.record.key] = Outcome(day.record.key, False, message=self._stale_message(day, outdated))
                continue
            missing = sorted(day.punches - known, key=lambda p: (p[1], p[0]))
            if missing:
                sending[key] = missing
                updates[key] = (known, set(missing))
            else:
                outcomes[day.record.key] = Outcome(day.record.key, True, remote_id=remote_id(day))
        sent.save(self.scope, updates)  # pending marks are durable before anything is sent
        calls = pack(sorted(sending.items(), key=lambda item: (item[0][1], item[0][0])), self.settings.punches_per_call)
        log.info(
            "%s: batch %d: %d records, %d punches to send in %d bulkImport calls (+%d read back); about %.1f min "
            "at %d calls/min; %d daily calls left",
            self.name,
            batch.batch_id,
            len(batch.records),
            sum(len(p) for p in sending.values()),
            len(calls),
            len(unsure),
            len(calls) / self.settings.bulk_import_per_minute,
            self.settings.bulk_import_per_minute,
            self.calls_left_today(),
        )
        taken, refused = self._send_calls(calls, held, sent)
        for key, punches in sending.items():
            day = days[key]
            if key in refused:
                outcomes[day.record.key] = Outcome(day.record.key, False, message="; ".join(refused[key]))
            elif set(punches) <= taken.get(key, set()):
                outcomes[day.record.key] = Outcome(day.record.key, True, remote_id=remote_id(day))
        for key, copies in twins.items():
            for copy in copies:
                like = outcomes[days[key].record.key]
                outcomes[copy.record.key] = Outcome(copy.record.key, like.ok, like.remote_id, like.message)
        self._save_calls()
        return [outcomes[record.key] for record in batch.records]

    def _unsure(self, mode: str, day: Day, row: tuple[set[Punch], set[Punch] | None] | None) -> bool:
        """Whether Zoho's holding for `day` must be read back before writing."""
        if self.settings.read_before_write == "always":
            return True
        if row is None:
            return False
        held, pending = row
        return pending is not None or bool(stale_punches(mode, day.punches, held))

    def _check_budget(self, batch: Batch, reads: int, bulk_calls: int) -> None:
        needed, left = reads + bulk_calls, self.calls_left_today()
        if needed > left:
            raise FatalTargetError(
                f"{self.where}: batch {batch.batch_id} needs {needed} API calls ({bulk_calls} bulkImport, {reads} "
                f"getAttendanceEntries) but only {left} of the daily {self.settings.daily_call_limit} are left today "
                "(UTC); nothing of it was sent. The next sync carries on where this one stopped; raise "
                "daily_call_limit only if your Zoho plan allows more"
            )

    def _stale_message(self, day: Day, stale: list[Punch]) -> str:
        held = ", ".join(f"{word(kind)} {moment}" for kind, moment in stale[:4])
        return (
            f"Zoho People already holds {held} for {self.settings.identify_by} {day.employee} on {day.work_date}, "
            "which the recomputed day no longer has, and its API cannot remove a punch: correct the day in Zoho "
            "People (regularise or delete the entry), then retry this dead letter"
        )

    def _send_calls(
        self, calls: list[list[tuple[DayKey, Punch]]], held: dict[DayKey, set[Punch]], sent: SentDays
    ) -> tuple[dict[DayKey, set[Punch]], dict[DayKey, list[str]]]:
        """Send the bulkImport calls; what Zoho took and refused per day, saved to the ledger at the end.

        A day stays pending only when a call of it failed in a way that leaves Zoho's side unknown
        (no answer, a 5xx, an unreadable reply); then the next push reads it back before writing.
        """
        taken: dict[DayKey, set[Punch]] = {}
        refused: dict[DayKey, list[str]] = {}
        uncertain: dict[DayKey, set[Punch]] = {}
        touched: set[DayKey] = set()
        failure: TargetError | None = None

        def settle(call: list[tuple[DayKey, Punch]], results: list[tuple[bool, str]] | None, known: bool) -> None:
            for position, (key, punch) in enumerate(call):
                touched.add(key)
                if results is None:
                    if not known:
                        uncertain.setdefault(key, set()).add(punch)
                elif results[position][0]:
                    taken.setdefault(key, set()).add(punch)
                else:
                    refused.setdefault(key, []).append(results[position][1])

        workers = min(self.settings.concurrency, max(len(calls), 1))
        pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        try:
            futures = [pool.submit(self._bulk_import, call) for call in calls] if pool is not None else []
            for index, call in enumerate(calls):
                if failure is not None and (pool is None or futures[index].cancel()):
                    settle(call, None, known=True)  # never sent
                    continue
                try:
                    results = futures[index].result() if pool is not None else self._bulk_import(call)
                except TargetError as exc:
                    failure = failure or exc
                    settle(call, None, known=getattr(exc, "nothing_landed", False))
                    continue
                settle(call, results, known=True)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        sent.save(
            self.scope,
            {key: (held.get(key, set()) | taken.get(key, set()), uncertain.get(key)) for key in touched},
        )
        if failure is not None:
            raise failure
        return taken, refused

    def _bulk_import(self, call: list[tuple[DayKey, Punch]]) -> list[tuple[bool, str]]:
        rows = []
        for (employee, _), (kind, moment) in call:
            row = {self.settings.identify_by: employee, ("checkIn" if kind == "in" else "checkOut"): moment}
            if self.settings.location:
                row["location"] = self.settings.location
            if self.settings.building:
                row["building"] = self.settings.building
            rows.append(row)
        params = {"data": json.dumps(rows, separators=(",", ":")), "dateFormat": DATE_FORMAT}
        reply = self._call(BULK_IMPORT, "POST", BULK_IMPORT_PATH, params)
        results = bulk_results(reply, len(rows), self.where)
        answers = []
        for ((employee, _), (kind, moment)), (ok, message) in zip(call, results, strict=True):
            text = "" if ok else f"Zoho People refused {word(kind)} {moment} of {employee}: {message}"
            answers.append((ok, text))
        return answers

    # -- read-back ---------------------------------------------------------------------------------

    def _read_days(self, days: Sequence[Day]) -> dict[DayKey, set[Punch]]:
        """What Zoho holds for each day (one paced getAttendanceEntries call each)."""
        if not days:
            return {}
        workers = min(self.settings.concurrency, len(days))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                found = list(pool.map(lambda d: self._entries(d.employee, d.work_date), days))
        else:
            found = [self._entries(d.employee, d.work_date) for d in days]
        return {day.key: punches for day, (punches, _, _) in zip(days, found, strict=True)}

    def _entries(self, employee: str, work_date: str) -> tuple[set[Punch], str | None, str | None]:
        """Zoho's punches for one employee-day, with its first in and last out (wire text)."""
        params = {"date": work_date, "dateFormat": DATE_FORMAT, self.settings.identify_by: employee}
        reply = self._call(READ_BACK, "GET", READ_BACK_PATH, params)
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
        return punches, first, last

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """What Zoho holds per employee and day (`check_in`, `check_out`, `intervals`), one paced call each.

        Without `employees`, every employee `pull_employees` finds, by the `identify_by` identifier.
        """
        if employees is None:
            employees = [value for value in (self._identifier(e) for e in self.pull_employees()) if value]
        zone = ZoneInfo(self.settings.timezone) if self.settings.timezone else None
        try:
            for employee in employees:
                day = start
                while day <= end:
                    punches, first, last = self._entries(employee, day.isoformat())
                    if punches:
                        fields = {
                            "check_in": iso(first, zone),
                            "check_out": iso(last, zone),
                            "intervals": held_intervals(punches, zone),
                        }
                        yield HeldRecord(employee, day, fields, remote_id=f"{employee}|{day.isoformat()}")
                    day += timedelta(days=1)
        finally:
            self._save_calls()

    def _identifier(self, employee: Employee) -> str | None:
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
                reply = self._call(EMPLOYEE_RECORDS, "GET", EMPLOYEES_PATH, params)
                if reply is None:
                    return
                page = employee_page(reply, self.where)
                for record_id, fields in page:
                    yield self._employee_of(record_id, fields)
                if len(page) < EMPLOYEE_PAGE:
                    return
                start += EMPLOYEE_PAGE
        finally:
            self._save_calls()

    def _employee_of(self, record_id: str, fields: Mapping[str, Any]) -> Employee:
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
