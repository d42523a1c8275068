"""The `erpnext` target: processed days sent to ERPNext / Frappe HR as Employee Checkin punches.

Each record is one employee-day: the column `employee` holds the value of the Employee field named
by `employee_fieldname` (the biometric `attendance_device_id` by default), and either `check_in` and
`check_out` (first in, last out) or `intervals` (every pair) give the punches, as local ISO-8601
times. Each punch is one call of `add_log_based_on_employee_field` (the API biometric devices use),
with the site-local naive timestamp, `log_type` IN or OUT and `device_id`; up to `concurrency` calls
run at once on one keep-alive connection pool, so a month's backfill is not one request at a time.

ERPNext has no idempotency key and its check-ins are append-only, so each batch is compared with what
ERPNext holds first: one listing of `Employee Checkin` for the batch's employees over the batch's
time span (dedup on ERPNext's own natural key, (employee, time, log_type)), then only the punches
ERPNext lacks are sent. A resent batch sends nothing; a changed day sends only its new punches (the
old ones stay: ERPNext's "first check-in and last check-out" reads the day right; see
docs/plugins/erpnext.md). If ERPNext still answers "This employee already has a log with the same
timestamp" (a punch that came another way), the punch counts as delivered. Other 417 refusals are
the record's dead letter with Frappe's message. Errors map as `punchbridge.plugins.erpnext.client` says.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, SecretStr, field_validator

from punchbridge.plugin_api import (
    BadRecordError,
    Batch,
    Capability,
    Employee,
    HeldRecord,
    HttpSettings,
    HttpTarget,
    Outcome,
    RefusedError,
    Register,
    TargetError,
    TargetReplyError,
    TimeZoneName,
    checked_url,
    clip,
    hookimpl,
)
from punchbridge.plugins.erpnext.client import FrappeClient
from punchbridge.plugins.erpnext.punches import WIRE, Day, Held, Punch, day_of, days_of, held_fields

__all__ = ["ErpNextSettings", "ErpNextTarget", "register_targets"]

log = logging.getLogger(__name__)

#: The check-in method of each Frappe HR / ERPNext line (`checkin_api`).
METHODS = {
    "hrms": "hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field",
    "erpnext": "erpnext.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field",
}
#: How Frappe HR words a repeat of (employee, time, log_type): the punch is already there.
DUPLICATE = "already has a log with the same timestamp"
#: Employees per `in` filter of a listing (keeps the URL short).
IN_LIST = 100
_EMPLOYEE_FIELDS = ["name", "employee_name", "status", "company_email", "personal_email", "user_id",
                    "attendance_device_id", "department", "company", "modified"]  # fmt: skip


class ErpNextSettings(HttpSettings):
    """Settings of an `erpnext` target (docs/plugins/erpnext.md has the table)."""

    url: str
    api_key: SecretStr
    api_secret: SecretStr
    timezone: TimeZoneName
    checkin_api: Literal["hrms", "erpnext"] = "hrms"
    employee_fieldname: str = Field(default="attendance_device_id", pattern=r"^[a-z][a-z0-9_]*$")
    device_id: str = Field(default="punchbridge", min_length=1, max_length=140)
    skip_auto_attendance: bool = False
    concurrency: int = Field(default=6, ge=1, le=16)
    page_size: int = Field(default=500, ge=1, le=5000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return checked_url(value, "url")

    @field_validator("api_key", "api_secret")
    @classmethod
    def _given(cls, value: SecretStr, info: Any) -> SecretStr:
        if not value.get_secret_value().strip() or ":" in value.get_secret_value():
            raise ValueError(f"{info.field_name} is empty or holds ':' (is its environment variable set?)")
        return value


@dataclass
class _Sent:
    """What became of one punch: its Employee Checkin, or Frappe's refusal."""

    name: str | None = None
    refusal: str | None = None


class ErpNextTarget(HttpTarget[ErpNextSettings]):
    """Sends processed days to ERPNext as check-ins; pulls Employee; reads check-ins back (module docstring)."""

    max_batch_size = 500
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.PUSH_ATTENDANCE, Capability.PUSH_PUNCHES, Capability.PULL_EMPLOYEES, Capability.READ_BACK}
    )

    def __init__(
        self, name: str, settings: ErpNextSettings | Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(name, settings, transport=transport)
        self.zone = ZoneInfo(self.settings.timezone)
        self._client: FrappeClient | None = None
        self._directory: dict[str, str] | None = None  # employee field value -> Employee name
        self._looked_up: set[str] = set()

    @property
    def where(self) -> str:
        """`target NAME (ERPNext URL)`, for messages."""
        return f"target {self.name} (ERPNext {self.settings.url})"

    def describe(self) -> str:
        """`erpnext NAME -> URL (by employee_fieldname)`; never the key or secret."""
        return f"erpnext {self.name} -> {self.settings.url} (by {self.settings.employee_fieldname})"

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: ErpNextSettings) -> list[str]:
        """The mapping needs `employee`, then `check_in` and `check_out`, or `intervals` (not both)."""
        names = set(columns)
        fieldname = settings.employee_fieldname
        problems = []
        if "employee" not in names:
            problems.append(
                f"no column `employee`: it must hold the Employee's {fieldname} (employee_fieldname), e.g. "
                "{name: employee, from: employee_id} when the terminal user id is the attendance device id"
            )
        pair = sorted(names & {"check_in", "check_out"})
        if "intervals" in names and pair:
            problems.append(
                f"columns `intervals` and `{'`, `'.join(pair)}` together: send either first in and last out "
                "(check_in from: first_in, check_out from: last_out) or every pair (intervals from: intervals)"
            )
        elif "intervals" not in names and len(pair) < 2:
            missing = ", ".join(f"`{c}`" for c in ("check_in", "check_out") if c not in names)
            problems.append(
                f"no column {missing}: ERPNext takes check-ins; map check_in from: first_in and check_out from: "
                "last_out (or one column intervals from: intervals for every pair)"
            )
        return problems

    # -- connection -------------------------------------------------------------------------------

    def connection_options(self) -> dict[str, Any]:
        """The site's URL, the API key and secret as Frappe's token header, `concurrency` connections."""
        settings = self.settings
        token = f"token {settings.api_key.get_secret_value()}:{settings.api_secret.get_secret_value()}"
        return {
            "base_url": settings.url,
            "headers": {"Authorization": token, "Accept": "application/json"},
            "max_connections": settings.concurrency,
        }

    def on_open(self) -> None:
        """Check the key and secret (a refusal is a CredentialsError here, before anything is sent)."""
        client = FrappeClient(self.http)
        user = client.call("GET", "/api/method/frappe.auth.get_logged_user", "checking the API key")
        log.info("%s: connected as %s", self.where, user.get("message") if isinstance(user, dict) else "?")
        self._client = client

    def on_close(self) -> None:
        """Forget the client of the closed connection."""
        self._client = None

    @property
    def client(self) -> FrappeClient:
        """The Frappe client of the open connection (opening it on first use)."""
        if self._client is None:
            self.open()
        assert self._client is not None
        return self._client

    # -- push -------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Send the punches ERPNext lacks for the batch's days; one outcome per record (module docstring)."""
        columns = self.check_batch_columns(batch)
        if not batch.records:
            return []
        mode = "intervals" if "intervals" in columns else "first_last"
        outcomes: dict[str, Outcome] = {}
        days: list[Day] = []
        for record in batch.records:
            try:
                days.append(day_of(record, mode, self.zone))
            except BadRecordError as refused:
                outcomes[record.key] = Outcome(record.key, ok=False, message=str(refused))
        days = self._refuse_twins(days, outcomes)
        names = self._names({day.employee for day in days})
        held = self._held_for(days, names)
        wanted = {(day.employee, punch) for day in days for punch in day.punches}
        sending = sorted((e, p) for e, p in wanted if (names.get(e), p[0], p[1]) not in held)
        sent = self._send(sending)
        for day in days:
            results, ids = [], []
            for punch in sorted(day.punches, key=lambda p: (p[1], p[0])):
                found = held.get((names.get(day.employee), punch[0], punch[1]))
                result = _Sent(name=found) if found else sent[(day.employee, punch)]
                results.append((punch, result))
                ids += [result.name] if result.name else []
            refusals = [f"{kind} {moment:{WIRE}}: {r.refusal}" for (kind, moment), r in results if r.refusal]
            if refusals:
                said = "; ".join(refusals[:3])
                message = f"ERPNext refused {len(refusals)} of {len(results)} punches of {day.employee}: {said}"
                outcomes[day.key] = Outcome(day.key, ok=False, message=clip(message))
            else:
                remote = "Employee Checkin:" + ",".join(ids) if ids else None
                outcomes[day.key] = Outcome(day.key, ok=True, remote_id=remote)
        log.info(
            "%s: batch %s: %d records, %d punches held already, %d sent, %d refused",
            self.where,
            batch.batch_id,
            len(batch.records),
            len(wanted) - len(sending),
            len(sending),
            sum(1 for r in sent.values() if r.refusal),
        )
        return [outcomes[record.key] for record in batch.records]

    def _refuse_twins(self, days: list[Day], outcomes: dict[str, Outcome]) -> list[Day]:
        """Days of one employee and date twice with other punches are refused (two terminal ids for one employee?)."""
        by_day: dict[tuple[str, date | None], list[Day]] = {}
        for day in days:
            by_day.setdefault((day.employee, day.work_date), []).append(day)
        kept = []
        for (employee, work_date), same in by_day.items():
            if len({d.punches for d in same}) > 1:
                keys = ", ".join(d.key for d in same)
                for day in same:
                    outcomes[day.key] = Outcome(
                        day.key,
                        ok=False,
                        message=f"records {keys} are all {employee} on {work_date} with other punches; "
                        "check the id table (two terminal ids for one employee?)",
                    )
            else:
                kept += same
        return kept

    def _send(self, punches: list[tuple[str, Punch]]) -> dict[tuple[str, Punch], _Sent]:
        """Send each punch with add_log_based_on_employee_field, `concurrency` at once.

        A failure of the whole batch (credentials, throttling, the network) stops the punches not yet
        sent and is raised once the calls in flight have finished: sending the batch again is safe,
        since the next push first reads what ERPNext holds.
        """
        client, pool = self.client, self.pool
        path = f"/api/method/{METHODS[self.settings.checkin_api]}"
        stop = threading.Event()
        failures: list[TargetError] = []

        def send(item: tuple[str, Punch]) -> _Sent:
            employee, (kind, moment) = item
            if stop.is_set():
                return _Sent(refusal="not sent: the batch stopped")
            form = {
                "employee_field_value": employee,
                "timestamp": moment.strftime(WIRE),
                "device_id": self.settings.device_id,
                "log_type": kind,
                "employee_fieldname": self.settings.employee_fieldname,
            }
            if self.settings.skip_auto_attendance:
                form["skip_auto_attendance"] = "1"
            try:
                reply = client.call("POST", path, "add_log_based_on_employee_field", data=form)
            except RefusedError as refused:
                if DUPLICATE in refused.message:
                    return _Sent(name=None)
                return _Sent(refusal=refused.message)
            except TargetError as exc:
                stop.set()
                failures.append(exc)
                return _Sent(refusal=str(exc))
            doc = reply.get("message") if isinstance(reply, dict) else None
            if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
                stop.set()
                failures.append(TargetReplyError(f"{self.where}: add_log_based_on_employee_field answered no check-in"))
                return _Sent(refusal="no check-in in the reply")
            return _Sent(name=doc["name"])

        results = dict(zip(punches, pool.map(send, punches), strict=True))
        if failures:
            raise failures[0]
        return results

    # -- what ERPNext holds -----------------------------------------------------------------------

    def _names(self, values: set[str]) -> dict[str, str]:
        """The Employee names of employee field values (the directory is read once a run; misses once more)."""
        client = self.client
        fieldname = self.settings.employee_fieldname
        if fieldname in ("name", "employee"):
            return {value: value for value in values}
        if self._directory is None:
            self._directory = {}
            for row in client.listing("Employee", ["name", fieldname], [], self.settings.page_size):
                self._remember(row)
        missing = sorted(v for v in values if v not in self._directory and v not in self._looked_up)
        for start in range(0, len(missing), IN_LIST):
            chunk = missing[start : start + IN_LIST]
            self._looked_up.update(chunk)
            for row in client.listing(
                "Employee", ["name", fieldname], [[fieldname, "in", chunk]], self.settings.page_size
            ):
                self._remember(row)
        return {value: self._directory[value] for value in values if value in self._directory}

    def _remember(self, row: Mapping[str, Any]) -> None:
        assert self._directory is not None
        name, value = row.get("name"), row.get(self.settings.employee_fieldname)
        if not isinstance(name, str):
            raise TargetReplyError(f"{self.where}: listing Employee: a document has no name")
        if value not in (None, ""):
            self._directory[str(value)] = name

    def _checkins(self, names: Sequence[str] | None, start: datetime, end: datetime) -> Iterator[Held]:
        """ERPNext's check-ins from `start` to before `end` (site-local), of `names` (None: everyone's)."""
        client = self.client
        span = [["time", ">=", start.strftime(WIRE)], ["time", "<", end.strftime(WIRE)]]
        groups = [None] if names is None else [sorted(names)[i : i + IN_LIST] for i in range(0, len(names), IN_LIST)]
        for group in groups:
            filters = span + ([["employee", "in", group]] if group is not None else [])
            fields = ["name", "employee", "log_type", "time"]
            for row in client.listing("Employee Checkin", fields, filters, self.settings.page_size):
                yield self._held(row)

    def _held(self, row: Mapping[str, Any]) -> Held:
        name, employee, kind, moment = row.get("name"), row.get("employee"), row.get("log_type"), row.get("time")
        if not isinstance(name, str) or not isinstance(employee, str) or not isinstance(moment, str):
            raise TargetReplyError(f"{self.where}: listing Employee Checkin: a check-in lacks name, employee or time")
        try:
            when = datetime.fromisoformat(moment).replace(microsecond=0)
        except ValueError:
            raise TargetReplyError(f"{self.where}: check-in {name} has the time {moment!r}") from None
        return Held(name, employee, str(kind or ""), when)

    def _held_for(self, days: list[Day], names: Mapping[str, str]) -> dict[tuple[str | None, str, datetime], str]:
        """(Employee name, log type, time) -> check-in name, for the batch's employees over its time span."""
        times = [moment for day in days for _, moment in day.punches]
        employees = sorted({names[d.employee] for d in days if d.employee in names})
        if not times or not employees:
            return {}
        held = self._checkins(employees, min(times), max(times) + timedelta(seconds=1))
        return {(h.employee, h.log_type, h.time): h.name for h in held}

    # -- read-back and employees ------------------------------------------------------------------

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """ERPNext's check-ins of days `start`..`end` as days (`punches.days_of`), optionally of some employees.

        `employee` is the Employee's `employee_fieldname` value; fields are `check_in`, `check_out` and
        `intervals` in local ISO-8601 with the site's offset.
        """
        wanted: list[str] | None = None
        if employees is not None:
            wanted = sorted(set(self._names({str(e).strip() for e in employees}).values()))
            if not wanted:
                return
        if self.settings.employee_fieldname in ("name", "employee"):
            value_of: dict[str, str] | None = None  # the document name is the value
        else:
            self._names(set())  # the directory, read once a run
            assert self._directory is not None
            value_of = {name: value for value, name in self._directory.items()}
        first = datetime.combine(start, time())
        after = datetime.combine(end + timedelta(days=2), time())  # a night shift's OUT comes the next morning
        grouped = days_of(self._checkins(wanted, first, after))
        unknown = set()
        for (name, day), checkins in sorted(grouped.items()):
            if not start <= day <= end:
                continue
            value = name if value_of is None else value_of.get(name)
            if value is None:
                unknown.add(name)
                continue
            remote = "Employee Checkin:" + ",".join(c.name for c in sorted(checkins, key=lambda c: c.time))
            yield HeldRecord(employee=value, work_date=day, fields=held_fields(checkins, self.zone), remote_id=remote)
        if unknown:
            log.warning(
                "%s: check-ins of %d employees without a %s were not read back",
                self.where,
                len(unknown),
                self.settings.employee_fieldname,
            )

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every Employee (Left ones too, `active` False), `page_size` a page; `since`: modified after it."""
        client = self.client
        fieldname = self.settings.employee_fieldname
        fields = list(dict.fromkeys([*_EMPLOYEE_FIELDS, fieldname if fieldname != "employee" else "name"]))
        filters: list[list[Any]] = []
        if since is not None:
            local = since.astimezone(self.zone).replace(tzinfo=None) if since.tzinfo else since
            filters.append(["modified", ">", local.strftime("%Y-%m-%d %H:%M:%S.%f")])
        left_out = 0
        for row in client.listing("Employee", fields, filters, self.settings.page_size):
            employee = self._employee(row)
            if employee is None:
                left_out += 1
            else:
                yield employee
        if left_out:
            log.warning("%s: %d employees have no %s and were left out of the pull", self.where, left_out, fieldname)

    def _employee(self, row: Mapping[str, Any]) -> Employee | None:
        name = row.get("name")
        if not isinstance(name, str):
            raise TargetReplyError(f"{self.where}: listing Employee: a document has no name")
        fieldname = self.settings.employee_fieldname
        key = row.get("name" if fieldname == "employee" else fieldname)
        if key in (None, ""):
            return None
        status = str(row.get("status") or "")
        modified = row.get("modified")
        changed = None
        if isinstance(modified, str):
            try:
                changed = datetime.fromisoformat(modified).replace(tzinfo=self.zone)
            except ValueError:
                raise TargetReplyError(f"{self.where}: Employee {name} has modified {modified!r}") from None

        def text(field: str) -> str | None:
            value = row.get(field)
            return str(value).strip() or None if value not in (None, "") else None

        return Employee(
            target_id=str(key).strip(),
            name=text("employee_name") or name,
            active=status == "Active",
            email=text("company_email") or text("personal_email") or text("user_id"),
            badge=text("attendance_device_id"),
            department=text("department"),
            site=text("company"),
            modified_at=changed,
            extra={"erpnext_name": name, "status": status},
        )


@hookimpl
def register_targets(register: Register) -> None:
    """Register `erpnext`."""
    register("erpnext", ErpNextTarget)
