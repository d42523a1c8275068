"""The `odoo` target itself: push (what Odoo holds, the plan, then unlink, write and create), pull, read-back.

See the package docstring for what it does; `days` turns records into intervals in their zones,
`plan` decides what to change (punchbridge's own attendance only, Odoo's constraints checked
first), `rpc` speaks Odoo's protocols, `replies` reads Odoo's answers, `employees`, `readback` and
`online` serve the employee pull, reconciliation and `validate --online`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

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
    RefusedError,
    TargetError,
    TargetReplyError,
    ZoneModel,
)
from punchbridge.plugins.odoo import readback, replies
from punchbridge.plugins.odoo.days import Day, Held, LocalDays, is_id, odoo_text, stored_times
from punchbridge.plugins.odoo.employees import EmployeeDirectory, pull_employees
from punchbridge.plugins.odoo.online import login_failure, online_checks
from punchbridge.plugins.odoo.plan import blocker, describe, plan
from punchbridge.plugins.odoo.rpc import OdooRpc, shown
from punchbridge.plugins.odoo.settings import OdooSettings

if TYPE_CHECKING:
    import httpx

__all__ = ["OdooTarget"]

log = logging.getLogger("punchbridge.plugins.odoo")

#: hr.attendance fields every version has; `in_mode`/`out_mode` are read where `fields_get` shows them (17.0 on).
_ATTENDANCE_FIELDS = ["employee_id", "check_in", "check_out", "create_uid"]
_MODE_FIELDS = ("in_mode", "out_mode")
_T = TypeVar("_T")


class OdooTarget(HttpTarget[OdooSettings]):
    """Delivers employee-days to hr.attendance; pulls hr.employee; reads attendance back (package docstring)."""

    max_batch_size = 1000
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.PUSH_ATTENDANCE, Capability.PULL_EMPLOYEES, Capability.READ_BACK}
    )
    #: Odoo stores naive UTC and each user sees their own zone: a day is placed in its own site's zone.
    zone_model: ClassVar[ZoneModel] = ZoneModel.SITE

    def __init__(
        self, name: str, settings: OdooSettings | Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(name, settings, transport=transport)
        self.days = LocalDays(self.settings.employee_by, self.where)
        self._rpc: OdooRpc | None = None
        #: The protocol of the last connection (`xmlrpc`, `jsonrpc` or `json2`); None before the first.
        self.protocol: str | None = None
        self.employees = EmployeeDirectory(self._call, self.settings.employee_by, self.where)
        self._attendance_fields: list[str] | None = None

    @property
    def where(self) -> str:
        """`target NAME (URL)`, for messages."""
        return f"target {self.name} ({self.settings.url})"

    def describe(self) -> str:
        """`odoo NAME -> URL (database DB)`; never the key."""
        return f"odoo {self.name} -> {self.settings.url} (database {self.settings.database})"

    # -- columns and stored form ------------------------------------------------------------------

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: OdooSettings) -> list[str]:
        """Problems of a mapping for Odoo: `employee`, `check_in` + `check_out` or `intervals`, no `worked_hours`."""
        names = set(columns)
        by = settings.employee_by
        problems = []
        if "employee" not in names:
            problems.append(
                f"no column `employee`: Odoo needs each day's employee, as the hr.employee {by} (employee_by: "
                f"{by}), in a column named `employee`; map it `from: target_id` with an id table"
            )
        pair = sorted(names & {"check_in", "check_out"})
        if "intervals" in names and pair:
            problems.append(
                f"columns `intervals` and `{'`, `'.join(pair)}` together: use `check_in` + `check_out` (one "
                "interval a day) or `intervals` (every interval of the day), not both"
            )
        elif "intervals" not in names and "check_in" not in names:
            problems.append(
                "no column `check_in`: map `check_in` from first_in and `check_out` from last_out (one interval a "
                "day), or `intervals` from intervals (every interval of the day)"
            )
        elif "intervals" not in names and "check_out" not in names:
            problems.append("no column `check_out`: map it from last_out (an empty value leaves the interval open)")
        if "worked_hours" in names:
            problems.append(
                "column `worked_hours`: Odoo computes worked hours itself from check-in and check-out (17.0 and "
                "18.0 leave out the working schedule's lunch break; hr_attendance `_compute_worked_hours`), so "
                "punchbridge cannot send it and could never match it: remove the column"
            )
        return problems

    @classmethod
    def stored_form(cls, fields: Mapping[str, Any], settings: OdooSettings) -> Mapping[str, Any]:
        """`fields` as Odoo keeps them: every check-in and check-out to the whole second (`days.stored_times`).

        Odoo computes `worked_hours` itself and the mapping may not send it (`check_columns`), so
        times are the only values that change form.
        """
        return stored_times(fields)

    # -- connection -------------------------------------------------------------------------------

    def connection_options(self) -> dict[str, Any]:
        """The server's URL and `concurrency` keep-alive connections."""
        return {"base_url": self.settings.url, "max_connections": self.settings.concurrency}

    def on_open(self) -> None:
        """Choose the protocol (`auto`: by the server's version), check the credentials, and learn which
        attendance fields this Odoo has (once per run)."""
        rpc = OdooRpc(self.http, self.settings)
        rpc.connect()
        self._rpc, self.protocol = rpc, rpc.protocol
        self.attendance_fields()

    def on_close(self) -> None:
        """Forget the session of the closed connection."""
        self._rpc = None

    def _call(self, model: str, method: str, params: dict[str, Any], ids: list[int] | None = None) -> Any:
        if self._rpc is None:
            self.open()
        assert self._rpc is not None
        return self._rpc.call(model, method, params, ids)

    @property
    def uid(self) -> int | None:
        """The id of the Odoo user punchbridge is logged in as (None before the login)."""
        return self._rpc.uid if self._rpc is not None else None

    def attendance_fields(self) -> list[str]:
        """The hr.attendance fields to read: the common ones, and the modes where this Odoo has them (a fields_get)."""
        if self._attendance_fields is None:
            found = self._call("hr.attendance", "fields_get", {"attributes": ["type"]})
            if not isinstance(found, dict) or "check_in" not in found:
                raise TargetReplyError(f"{self.where}: hr.attendance.fields_get answered {shown(found)}")
            self._attendance_fields = _ATTENDANCE_FIELDS + [name for name in _MODE_FIELDS if name in found]
        return self._attendance_fields

    def check_online(self) -> list[OnlineCheck]:
        """`validate --online`: the login, the rights on hr.employee and hr.attendance, the key's expiry (`online`)."""
        try:
            self.open()
            assert self._rpc is not None
            login = OnlineCheck("login", True, f"{self.protocol}, uid {self.uid}")
            return [login, *online_checks(self._call, self._rpc.server_major(), self.uid)]
        except TargetError as exc:
            return [login_failure(exc)]
        finally:
            self.close()

    # -- push -------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Make Odoo hold each record's intervals, touching only punchbridge's own attendance (package docstring)."""
        self.check_batch_columns(batch)
        if not batch.records:
            return []
        self.open()
        days, outcomes = self._days(batch.records)
        self._resolve(days)
        self._attach_held(days)
        changes = plan(days, self.uid)
        self._unlink(changes.unlink)
        self._write(changes.writes)
        self._create(changes.creates)
        self._explain_refusals(days)
        refused = sum(1 for d in days if d.error)
        log.info(
            "%s: batch %s: %d days, %d intervals created, %d written, %d removed, %d refused",
            self.where,
            batch.batch_id,
            len(days),
            len(changes.creates),
            len(changes.writes),
            len(changes.unlink),
            refused,
        )
        for day in days:
            if day.error is not None:
                outcomes.append(Outcome(day.key, ok=False, message=day.error))
            else:
                remote = "hr.attendance:" + ",".join(map(str, sorted(day.ids))) if day.ids else None
                outcomes.append(Outcome(day.key, ok=True, remote_id=remote))
        return outcomes

    def _days(self, records: Sequence[Record]) -> tuple[list[Day], list[Outcome]]:
        """Each record as a `Day` in its zone; refusals for records that cannot be intervals or repeat a day."""
        days: dict[str, Day] = {}
        first_fields: dict[str, Mapping[str, Any]] = {}
        outcomes: list[Outcome] = []
        conflicting: set[str] = set()
        for record in records:
            if record.key in first_fields:
                if dict(record.fields) != dict(first_fields[record.key]):
                    conflicting.add(record.key)
                continue
            first_fields[record.key] = record.fields
            try:
                days[record.key] = self.days.day(record, self.zone_of(record))
            except BadRecordError as exc:
                outcomes.append(Outcome(record.key, ok=False, message=str(exc)))
        for key in conflicting:
            days.pop(key, None)
            outcomes = [o for o in outcomes if o.key != key]
            outcomes.append(
                Outcome(key, ok=False, message=f"record {key} is in the batch twice, with different fields")
            )
        by_day: dict[tuple[str, date], list[Day]] = {}
        for day in days.values():
            by_day.setdefault((day.employee_key, day.work_date), []).append(day)
        for (employee, work_date), same in by_day.items():
            if len(same) > 1:
                keys = ", ".join(d.key for d in same)
                for day in same:
                    day.error = (
                        f"records {keys} are all for employee {employee!r} on {work_date}: Odoo holds one set of "
                        "intervals per employee and day; check the id table (two terminal ids for one employee?)"
                    )
        return list(days.values()), outcomes

    def _resolve(self, days: list[Day]) -> None:
        by = self.settings.employee_by
        found = self.employees.ids({d.employee_key for d in days if d.error is None})
        for day in days:
            if day.error is not None:
                continue
            ids = found.get(day.employee_key, [])
            if not ids:
                day.error = f"Odoo has no employee with {by} {day.employee_key!r} (active or archived)"
            elif len(ids) > 1:
                day.error = f"{len(ids)} Odoo employees have {by} {day.employee_key!r} (ids {ids}); make it unique"
            else:
                day.employee = ids[0]

    def _conflicting(self, employees: list[int], low: datetime, high: datetime) -> list[Held]:
        """The employees' attendances that could meet intervals between `low` and `high`: every open one, and
        every closed one reaching into the span (one search_read)."""
        domain = [
            ["employee_id", "in", employees],
            "|",
            ["check_out", "=", False],
            "&",
            ["check_in", "<", odoo_text(high)],
            ["check_out", ">=", odoo_text(low)],
        ]
        params = {"domain": domain, "fields": self.attendance_fields(), "order": "id"}
        return replies.attendances(self._call("hr.attendance", "search_read", params), self.where, "hr.attendance")

    def _attach_held(self, days: list[Day]) -> None:
        """What Odoo holds for the batch's employees and days: one search_read, shared out to each day."""
        live = [d for d in days if d.error is None]
        if not live:
            return
        employees = sorted({d.employee for d in live})
        pools: dict[int, list[Held]] = {}
        for attendance in self._conflicting(employees, min(d.start for d in live), max(d.end for d in live)):
            pools.setdefault(attendance.employee, []).append(attendance)
        by_employee: dict[int, list[Day]] = {}
        for day in live:
            by_employee.setdefault(day.employee, []).append(day)
        for employee, own in by_employee.items():
            pool = pools.get(employee, [])
            for day in own:  # an attendance starting where the day wants an interval belongs to that day
                starts = {start for start, _ in day.wanted}
                day.pool, day.held = pool, [h for h in pool if h.check_in in starts]
            claimed = {h.id for d in own for h in d.held}
            for day in own:  # then the rest by the local day its check-in falls in
                day.held += [h for h in pool if h.id not in claimed and day.base[0] <= h.check_in < day.base[1]]

    def _unlink(self, items: list[tuple[int, Day]]) -> None:
        def send(chunk: list[tuple[int, Day]]) -> None:
            self._call("hr.attendance", "unlink", {}, ids=[attendance for attendance, _ in chunk])
            for attendance, day in chunk:
                day.removed.append(attendance)

        self._bisect(items, send, lambda item, message: item[1].refuse(message))

    def _write(self, items: list[tuple[int, dict[str, Any], Day]]) -> None:
        def send(item: tuple[int, dict[str, Any], Day]) -> str | None:
            attendance, values, day = item
            if day.error is not None:
                return None
            try:
                self._call("hr.attendance", "write", {"vals": values}, ids=[attendance])
            except RefusedError as refused:
                return refused.message
            day.ids.append(attendance)
            return None

        for item, message in zip(items, self.pool.map(send, items), strict=True):
            if message is not None:
                item[2].refuse(message)

    def _create(self, items: list[tuple[dict[str, Any], Day]]) -> None:
        items = [item for item in items if item[1].error is None]

        def send(chunk: list[tuple[dict[str, Any], Day]]) -> None:
            ids = self._call("hr.attendance", "create", {"vals_list": [values for values, _ in chunk]})
            if not isinstance(ids, list) or len(ids) != len(chunk) or not all(is_id(i) for i in ids):
                raise TargetReplyError(
                    f"{self.where}: hr.attendance.create of {len(chunk)} records answered {shown(ids)}, not "
                    f"{len(chunk)} ids"
                )
            for (_, day), new_id in zip(chunk, ids, strict=True):
                day.ids.append(new_id)

        self._bisect(items, send, lambda item, message: item[1].refuse(message))

    def _bisect(self, items: list[_T], send: Callable[[list[_T]], None], refuse: Callable[[_T, str], None]) -> None:
        """Send `items` in one call; when Odoo refuses it, send each half, down to the refused items alone.

        Halves of one round go out side by side (up to `concurrency`); each call is one transaction in
        Odoo, so a refused call stored nothing and its items can be sent again.
        """

        def attempt(chunk: list[_T]) -> str | None:
            try:
                send(chunk)
            except RefusedError as refused:
                return refused.message
            return None

        pending = [items] if items else []
        while pending:
            following: list[list[_T]] = []
            for chunk, message in zip(pending, self.pool.map(attempt, pending), strict=True):
                if message is None:
                    continue
                if len(chunk) == 1:
                    refuse(chunk[0], message)
                else:
                    middle = len(chunk) // 2
                    following += [chunk[:middle], chunk[middle:]]
            pending = following

    def _explain_refusals(self, days: list[Day]) -> None:
        """Days Odoo refused although the plan found nothing in the way (someone wrote meanwhile, a lock):
        name what blocks each now (one search_read for them all) and what was already removed."""
        refused = [d for d in days if d.refused_by_odoo]
        if not refused:
            return
        now_held: dict[int, list[Held]] = {}
        try:
            employees = sorted({d.employee for d in refused})
            for attendance in self._conflicting(employees, min(d.start for d in refused), max(d.end for d in refused)):
                now_held.setdefault(attendance.employee, []).append(attendance)
        except TargetError as exc:
            log.warning("%s: could not read what blocks the refused days: %s", self.where, exc)
        for day in refused:
            own = set(day.ids) | set(day.ours)
            others = [h for h in now_held.get(day.employee, []) if h.id not in own]
            named = {b.id: b for b in (blocker(s, e, others) for s, e in day.wanted) if b is not None}
            notes = [f"in the way: {describe(b, day, self.uid)}" for b in named.values()]
            if day.removed:
                notes.append(
                    "punchbridge had already removed its earlier attendance of this day (hr.attendance "
                    f"{', '.join(map(str, day.removed))}): Odoo holds none of it until the day is sent again "
                    "(`punchbridge dlq retry` once the cause is fixed)"
                )
            if notes:
                day.error = f"{day.error}; " + "; ".join(notes)

    # -- employees --------------------------------------------------------------------------------

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every hr.employee, leavers too, paged by `page_size` to the end (`employees.pull_employees`)."""
        self.open()
        yield from pull_employees(self._call, self.settings, self.where, since)

    # -- read-back --------------------------------------------------------------------------------

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """What Odoo holds per employee and local day, each employee's day in their own site's zone (`readback`).

        Each day gives `check_in` (first check-in), `check_out` (last check-out of a closed interval,
        empty if none) and `intervals` (every pair, `start/end;start/`), so a mapping of either
        convention compares like with like.
        """
        self.open()
        fields = ["employee_id", "check_in", "check_out"] + [
            name for name in self.attendance_fields() if name in _MODE_FIELDS
        ]
        yield from readback.read_back(
            self._call,
            self.employees,
            lambda key: self.zone_for(key, zones),
            fields,
            (start, end),
            employees,
            self.where,
        )
