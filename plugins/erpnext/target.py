"""The `erpnext` target itself: push (only what ERPNext lacks, never into a marked day), read-back, pull.

See the package docstring for what it does; `punches` turns records into check-ins and back, `checks`
decides what keeps a day from being sent, `online` is `punchbridge validate --online`, `client` speaks
Frappe's REST API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import (
    BadRecordError,
    Batch,
    Capability,
    Employee,
    HeldRecord,
    HttpTarget,
    OnlineCheck,
    Outcome,
    Record,
    TargetReplyError,
    ZoneModel,
    clip,
)
from punchbridge.plugins.erpnext.checks import (
    attendance_date,
    marked_message,
    stale_checkins,
    stale_message,
)
from punchbridge.plugins.erpnext.client import FrappeClient
from punchbridge.plugins.erpnext.employees import EMPLOYEE_FIELDS, employee_of
from punchbridge.plugins.erpnext.punches import WIRE, Day, Held, Punch, day_of, days_of, held_fields, localised
from punchbridge.plugins.erpnext.sending import CheckinSender, Item, Sent
from punchbridge.plugins.erpnext.settings import ErpNextSettings

if TYPE_CHECKING:
    import httpx

__all__ = ["ErpNextTarget"]

log = logging.getLogger("punchbridge.plugins.erpnext")

#: Employees per `in` filter of a listing (keeps the URL short).
IN_LIST = 100


class ErpNextTarget(HttpTarget[ErpNextSettings]):
    """Sends processed days to ERPNext as check-ins; pulls Employee; reads check-ins back (package docstring)."""

    max_batch_size = 500
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.PUSH_ATTENDANCE, Capability.PUSH_PUNCHES, Capability.PULL_EMPLOYEES, Capability.READ_BACK}
    )
    #: ERPNext reads naive times in its one system time zone (Frappe's System Settings).
    zone_model: ClassVar[ZoneModel] = ZoneModel.ORGANISATION

    def __init__(
        self, name: str, settings: ErpNextSettings | Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(name, settings, transport=transport)
        self.zone = ZoneInfo(self.settings.timezone)
        self.user: str | None = None
        self._client: FrappeClient | None = None
        self._directory: dict[str, str] | None = None  # employee field value -> Employee name
        self._looked_up: set[str] = set()
        self._sender: CheckinSender | None = None

    @property
    def where(self) -> str:
        """`target NAME (ERPNext URL)`, for messages."""
        return f"target {self.name} (ERPNext {self.settings.url})"

    def describe(self) -> str:
        """`erpnext NAME -> URL (by employee_fieldname)`; never the key or secret."""
        return f"erpnext {self.name} -> {self.settings.url} (by {self.settings.employee_fieldname})"

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: ErpNextSettings) -> list[str]:
        """The mapping needs `employee`, then `check_in` and `check_out`, or `intervals` (not both);
        with `coordinates` for several devices, a `device_id` column to choose them."""
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
        if settings.coordinates and "device_id" not in names and settings.device_id not in settings.coordinates:
            problems.append(
                f"coordinates has no entry for the device id {settings.device_id!r} every check-in gets: add "
                "one, or map a column device_id (e.g. {name: device_id, from: site}) whose values coordinates lists"
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
        self.user = str(user.get("message")) if isinstance(user, dict) else None
        log.info("%s: connected as %s", self.where, self.user or "?")
        self._client = client

    def on_close(self) -> None:
        """Forget the client of the closed connection."""
        self._client = self._sender = None

    @property
    def client(self) -> FrappeClient:
        """The Frappe client of the open connection (opening it on first use)."""
        if self._client is None:
            self.open()
        assert self._client is not None
        return self._client

    @property
    def sender(self) -> CheckinSender:
        """The check-in sender of the open connection (`punchbridge.plugins.erpnext.sending`)."""
        if self._sender is None:
            self._sender = CheckinSender(self.settings, self.client, self.where, self.user)
        return self._sender

    def check_online(self) -> list[OnlineCheck]:
        """Log in, then read (never write) what the target needs: the user's roles, read permissions, and
        HR Settings' geolocation tracking (`punchbridge.plugins.erpnext.online`)."""
        from punchbridge.plugins.erpnext.online import online_checks

        return online_checks(self)

    # -- zones ------------------------------------------------------------------------------------

    def _site_zone(self, record: Record) -> ZoneInfo | None:
        return ZoneInfo(record.timezone) if record.timezone else None

    def _device(self, record: Record) -> str:
        value = record.fields.get("device_id")
        text = "" if value is None or isinstance(value, float) else str(value).strip()
        device = text or self.settings.device_id
        if len(device) > 140:
            raise BadRecordError(f"record {record.key}: device_id holds more than ERPNext's 140 characters")
        if self.settings.coordinates and device not in self.settings.coordinates:
            raise BadRecordError(
                f"record {record.key}: no coordinates for device id {device!r}; add it to the target's "
                "coordinates (HR Settings > Allow Geolocation Tracking refuses a check-in without them)"
            )
        return device

    # -- push -------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Send the punches ERPNext lacks for the batch's days; one outcome per record (package docstring)."""
        columns = self.check_batch_columns(batch)
        if not batch.records:
            return []
        mode = "intervals" if "intervals" in columns else "first_last"
        outcomes: dict[str, Outcome] = {}
        days: list[Day] = []
        for record in batch.records:
            try:
                zone, site, device = self.zone_of(record), self._site_zone(record), self._device(record)
                days.append(day_of(record, mode, zone, site_zone=site, device=device))
            except BadRecordError as refused:
                outcomes[record.key] = Outcome(record.key, ok=False, message=str(refused))
        days = self._refuse_twins(days, outcomes)
        names = self._names({day.employee for day in days})
        rows = self._window(days, names)
        held = {(h.employee, h.log_type, h.time): h.name for h in rows}
        sites = {names[d.employee]: d.site_zone or self.zone for d in days if d.employee in names}
        held_days = days_of(localised(rows, self.zone, lambda name: sites.get(name, self.zone)))
        waiting: list[Day] = []
        for day in days:
            name = names.get(day.employee)
            held_day = held_days.get((name, day.work_date), []) if name and day.work_date else []
            stale = stale_checkins(mode, day, held_day, self.zone) if name else []
            if stale:
                outcomes[day.key] = Outcome(day.key, ok=False, message=clip(stale_message(day, stale)))
            elif any((name, kind, moment) not in held for kind, moment in day.punches):
                waiting.append(day)
        marked = self._marked(waiting, names, held_days)
        held_back = len(marked) + sum(1 for day in days if day.key in outcomes)
        for key, message in marked.items():
            outcomes[key] = Outcome(key, ok=False, message=clip(message))
        sending = sorted(
            (day.employee, punch, day.device)
            for day in waiting
            if day.key not in marked
            for punch in day.punches
            if (names.get(day.employee), punch[0], punch[1]) not in held
        )
        sent = self.sender.send(sending, names, self.pool)
        for day in days:
            if day.key not in outcomes:
                found = {punch: held.get((names.get(day.employee), *punch)) for punch in day.punches}
                outcomes[day.key] = self._outcome(day, found, sent)
        log.info(
            "%s: batch %s: %d records, %d punches sent, %d refused, %d days held back (marked, or not removable)",
            self.where,
            batch.batch_id,
            len(batch.records),
            len(sending),
            sum(1 for r in sent.values() if r.refusal),
            held_back,
        )
        return [outcomes[record.key] for record in batch.records]

    @staticmethod
    def _outcome(day: Day, found: Mapping[Punch, str | None], sent: Mapping[Item, Sent]) -> Outcome:
        """A sent day's outcome: delivered when each punch was there or was created, else Frappe's refusals."""
        results, ids = [], []
        for punch in sorted(day.punches, key=lambda p: (p[1], p[0])):
            name = found.get(punch)
            result = Sent(name=name) if name else sent[(day.employee, punch, day.device)]
            results.append((punch, result))
            ids += [result.name] if result.name else []
        refusals = [f"{kind} {moment:{WIRE}}: {r.refusal}" for (kind, moment), r in results if r.refusal]
        if refusals:
            said = "; ".join(refusals[:3])
            message = f"ERPNext refused {len(refusals)} of {len(results)} punches of {day.employee}: {said}"
            return Outcome(day.key, ok=False, message=clip(message))
        return Outcome(day.key, ok=True, remote_id="Employee Checkin:" + ",".join(ids) if ids else None)

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

    def _marked(
        self, days: list[Day], names: Mapping[str, str], held_days: Mapping[tuple[str, date], list[Held]]
    ) -> dict[str, str]:
        """Record key -> dead letter, for the days whose Attendance ERPNext has already marked (`checks`)."""
        if self.settings.skip_auto_attendance or not days:
            return {}  # punchbridge's check-ins never feed the attendance job here
        wanted = {d.key: (names[d.employee], attendance_date(d, self.zone)) for d in days if d.employee in names}
        dates = [on for _, on in wanted.values() if on is not None]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        by_name: dict[str, dict[str, Any]] = {}
        employees = sorted({name for name, _ in wanted.values()})
        if dates:
            first, last = (min(dates) - timedelta(days=1)).isoformat(), (max(dates) + timedelta(days=1)).isoformat()
            for start in range(0, len(employees), IN_LIST):
                filters = [["employee", "in", employees[start : start + IN_LIST]], ["docstatus", "<", 2],
                           ["attendance_date", ">=", first], ["attendance_date", "<=", last]]  # fmt: skip
                fields = ["name", "employee", "attendance_date", "status", "docstatus"]
                for row in self.client.listing("Attendance", fields, filters, self.settings.page_size):
                    found[(str(row.get("employee")), str(row.get("attendance_date")))] = row
                    by_name[str(row.get("name"))] = row
        letters = {}
        for day in days:
            if day.key not in wanted:
                continue
            name, on = wanted[day.key]
            linked = next((h.attendance for h in held_days.get((name, day.work_date), []) if h.attendance), None)
            attendance = found.get((name, on.isoformat())) if on else None
            if attendance is None and linked:
                attendance = by_name.get(linked, {"name": linked})
            if attendance is not None:
                letters[day.key] = marked_message(day, attendance, name)
        return letters

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
        """ERPNext's check-ins from `start` to before `end` (system zone), of `names` (None: everyone's)."""
        client = self.client
        span = [["time", ">=", start.strftime(WIRE)], ["time", "<", end.strftime(WIRE)]]
        groups = [None] if names is None else [sorted(names)[i : i + IN_LIST] for i in range(0, len(names), IN_LIST)]
        for group in groups:
            filters = span + ([["employee", "in", group]] if group is not None else [])
            fields = ["name", "employee", "log_type", "time", "attendance"]
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
        attendance = row.get("attendance")
        return Held(name, employee, str(kind or ""), when, str(attendance) if attendance else None)

    def _window(self, days: list[Day], names: Mapping[str, str]) -> list[Held]:
        """The check-ins of the batch's employees from a day before its first day to two after its last."""
        moments = [moment for day in days for _, moment in day.punches]
        moments += [datetime.combine(day.work_date, time()) for day in days if day.work_date is not None]
        employees = sorted({names[d.employee] for d in days if d.employee in names})
        if not moments or not employees:
            return []
        start = datetime.combine(min(moments).date() - timedelta(days=1), time())
        end = datetime.combine(max(moments).date() + timedelta(days=2), time())
        return list(self._checkins(employees, start, end))

    # -- read-back and employees ------------------------------------------------------------------

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """ERPNext's check-ins of days `start`..`end` as days (`punches.days_of`), optionally of some employees.

        Each check-in is read in its employee's site zone (`zones`, else the system zone), so it falls
        on that site's work date. `employee` is the Employee's `employee_fieldname` value; fields are
        `check_in`, `check_out` and `intervals` in local ISO-8601 with the site's offset.
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

        def value(name: str) -> str | None:
            return name if value_of is None else value_of.get(name)

        def site(name: str) -> ZoneInfo:
            found = value(name)
            return self.zone_for(found, zones) if found is not None else self.zone

        # A site far from the system zone puts a check-in on the day before or after ERPNext's date.
        first = datetime.combine(start - timedelta(days=1), time())
        after = datetime.combine(end + timedelta(days=2), time())  # a night shift's OUT comes the next morning
        grouped = days_of(localised(self._checkins(wanted, first, after), self.zone, site))
        unknown = set()
        for (name, day), checkins in sorted(grouped.items()):
            if not start <= day <= end:
                continue
            found = value(name)
            if found is None:
                unknown.add(name)
                continue
            remote = "Employee Checkin:" + ",".join(c.name for c in sorted(checkins, key=lambda c: c.time))
            yield HeldRecord(employee=found, work_date=day, fields=held_fields(checkins, self.zone), remote_id=remote)
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
        fields = list(dict.fromkeys([*EMPLOYEE_FIELDS, fieldname if fieldname != "employee" else "name"]))
        filters: list[list[Any]] = []
        if since is not None:
            local = since.astimezone(self.zone).replace(tzinfo=None) if since.tzinfo else since
            filters.append(["modified", ">", local.strftime("%Y-%m-%d %H:%M:%S.%f")])
        left_out = 0
        for row in client.listing("Employee", fields, filters, self.settings.page_size):
            employee = employee_of(row, fieldname, self.zone, self.where)
            if employee is None:
                left_out += 1
            else:
                yield employee
        if left_out:
            log.warning("%s: %d employees have no %s and were left out of the pull", self.where, left_out, fieldname)
