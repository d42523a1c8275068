"""The `odoo` target itself: push (dedup, then unlink, write and create), the employee pull, the read-back.

See the package docstring for what it does; `days` turns records into intervals and plans the
changes, `rpc` speaks Odoo's protocols, `replies` reads Odoo's answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import httpx

from punchbridge.plugin_api import (
    BadRecordError,
    Batch,
    Capability,
    Employee,
    HeldRecord,
    HttpTarget,
    Outcome,
    Record,
    RefusedError,
    TargetReplyError,
    format_intervals,
)
from punchbridge.plugins.odoo import replies
from punchbridge.plugins.odoo.days import Day, Held, LocalDays, is_id, odoo_text, plan
from punchbridge.plugins.odoo.rpc import OdooRpc, shown
from punchbridge.plugins.odoo.settings import OdooSettings

__all__ = ["OdooTarget"]

log = logging.getLogger("punchbridge.plugins.odoo")

#: Attendance records per page when reading back (a month of a large site is tens of thousands).
READ_BACK_PAGE = 2000
_EMPLOYEE_FIELDS = ["id", "name", "barcode", "pin", "work_email", "department_id", "company_id", "active", "write_date"]
_KEY_FIELD = {"id": "id", "barcode": "barcode", "pin": "pin", "work_email": "work_email"}
_T = TypeVar("_T")


class OdooTarget(HttpTarget[OdooSettings]):
    """Delivers employee-days to hr.attendance; pulls hr.employee; reads attendance back (package docstring)."""

    max_batch_size = 1000
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.PUSH_ATTENDANCE, Capability.PULL_EMPLOYEES, Capability.READ_BACK}
    )

    def __init__(
        self, name: str, settings: OdooSettings | Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(name, settings, transport=transport)
        self.days = LocalDays(self.settings.timezone, self.settings.employee_by, self.where)
        self._rpc: OdooRpc | None = None
        #: The protocol of the last connection (`xmlrpc`, `jsonrpc` or `json2`); None before the first.
        self.protocol: str | None = None
        self._directory: dict[str, list[int]] | None = None  # employee key -> hr.employee ids
        self._key_of: dict[int, str] = {}
        self._looked_up: set[str] = set()

    @property
    def where(self) -> str:
        """`target NAME (URL)`, for messages."""
        return f"target {self.name} ({self.settings.url})"

    def describe(self) -> str:
        """`odoo NAME -> URL (database DB)`; never the key."""
        return f"odoo {self.name} -> {self.settings.url} (database {self.settings.database})"

    # -- columns ----------------------------------------------------------------------------------

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: OdooSettings) -> list[str]:
        """Problems of a mapping for Odoo: `employee`, then `check_in` + `check_out` or `intervals`."""
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
        return problems

    # -- connection -------------------------------------------------------------------------------

    def connection_options(self) -> dict[str, Any]:
        """The server's URL and `concurrency` keep-alive connections."""
        return {"base_url": self.settings.url, "max_connections": self.settings.concurrency}

    def on_open(self) -> None:
        """Choose the protocol (`auto`: by the server's version) and check the credentials."""
        rpc = OdooRpc(self.http, self.settings)
        rpc.connect()
        self._rpc, self.protocol = rpc, rpc.protocol

    def on_close(self) -> None:
        """Forget the session of the closed connection."""
        self._rpc = None

    def _call(self, model: str, method: str, params: dict[str, Any], ids: list[int] | None = None) -> Any:
        if self._rpc is None:
            self.open()
        assert self._rpc is not None
        return self._rpc.call(model, method, params, ids)

    # -- push -------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Make Odoo hold each record's intervals: dedup, then unlink, write and one create (package docstring)."""
        self.check_batch_columns(batch)
        if not batch.records:
            return []
        self.open()
        days, outcomes = self._days(batch.records)
        self._resolve(days)
        self._attach_held(days)
        changes = plan(days)
        self._unlink(changes.unlink)
        self._write(changes.writes)
        self._create(changes.creates)
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
                remote = "hr.attendance:" + ",".join(map(str, day.ids)) if day.ids else None
                outcomes.append(Outcome(day.key, ok=True, remote_id=remote))
        return outcomes

    def _days(self, records: Sequence[Record]) -> tuple[list[Day], list[Outcome]]:
        """Each record as a `Day`; refusals for records that cannot be intervals or repeat a day."""
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
                days[record.key] = self.days.day(record)
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

    def _attach_held(self, days: list[Day]) -> None:
        """What Odoo holds for the batch's employees and days: one search_read, given to each day."""
        live = [d for d in days if d.error is None]
        if not live:
            return
        domain = [
            ["employee_id", "in", sorted({d.employee for d in live})],
            ["check_in", ">=", odoo_text(min(d.start for d in live))],
            ["check_in", "<", odoo_text(max(d.end for d in live))],
        ]
        fields = ["employee_id", "check_in", "check_out"]
        rows = self._call("hr.attendance", "search_read", {"domain": domain, "fields": fields, "order": "id"})
        held: dict[int, list[Held]] = {}
        for attendance in replies.attendances(rows, self.where, "hr.attendance.search_read"):
            held.setdefault(attendance.employee, []).append(attendance)
        by_employee: dict[int, list[Day]] = {}
        for day in live:
            by_employee.setdefault(day.employee, []).append(day)
        for employee, own in by_employee.items():
            pool = held.get(employee, [])
            for day in own:  # an interval that is exactly one the day wants belongs to that day
                starts = {start for start, _ in day.wanted}
                day.held = [h for h in pool if h.check_in in starts]
            claimed = {h.id for d in own for h in d.held}
            for day in own:  # then the rest by the local day its check-in falls in
                day.held += [h for h in pool if h.id not in claimed and day.base[0] <= h.check_in < day.base[1]]

    def _unlink(self, items: list[tuple[int, Day]]) -> None:
        def send(chunk: list[tuple[int, Day]]) -> None:
            self._call("hr.attendance", "unlink", {}, ids=[attendance for attendance, _ in chunk])

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

    # -- employees --------------------------------------------------------------------------------

    def _load_directory(self) -> dict[str, list[int]]:
        """Every employee's key (active or archived), fetched once per run: one search_read of two fields."""
        if self._directory is None:
            field_name = _KEY_FIELD[self.settings.employee_by]
            rows = self._call(
                "hr.employee",
                "search_read",
                {"domain": [["active", "in", [True, False]]], "fields": ["id", field_name], "order": "id"},
            )
            self._directory = {}
            self._remember(replies.rows(rows, self.where, "hr.employee.search_read"), field_name)
        return self._directory

    def _remember(self, rows: list[dict[str, Any]], field_name: str) -> None:
        assert self._directory is not None
        for row in rows:
            key = str(row["id"]) if field_name == "id" else replies.reply_text(row, field_name, self.where)
            if key:
                ids = self._directory.setdefault(key.strip(), [])
                if row["id"] not in ids:
                    ids.append(row["id"])
                self._key_of[row["id"]] = key.strip()

    def _employee_ids(self, keys: set[str]) -> dict[str, list[int]]:
        """The hr.employee ids of `keys`; keys not yet known are looked up once (one search_read)."""
        directory = self._load_directory()
        missing = sorted(k for k in keys if k not in directory and k not in self._looked_up)
        if missing:
            self._looked_up.update(missing)
            field_name = _KEY_FIELD[self.settings.employee_by]
            values: list[Any] = [int(k) for k in missing if k.isdigit()] if field_name == "id" else missing
            domain = [[field_name, "in", values], ["active", "in", [True, False]]]
            rows = self._call("hr.employee", "search_read", {"domain": domain, "fields": ["id", field_name]})
            self._remember(replies.rows(rows, self.where, "hr.employee.search_read"), field_name)
        return {k: directory[k] for k in keys if k in directory}

    def _resolve(self, days: list[Day]) -> None:
        by = self.settings.employee_by
        found = self._employee_ids({d.employee_key for d in days if d.error is None})
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

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every hr.employee, leavers too, paged by `page_size` to the end; `since`: changed after it.

        `target_id` is the employee's key as `employee_by` names it (the id by default), so it matches
        the mapping's id table; employees without that key are left out (logged), since no mapping can
        address them. `extra["odoo_id"]` is always the hr.employee id.
        """
        self.open()
        domain: list[Any] = [["active", "in", [True, False]]]
        if since is not None:
            moment = since.astimezone(UTC) if since.tzinfo is not None else since
            domain.append(["write_date", ">", odoo_text(moment.replace(tzinfo=None))])
        page = self.settings.page_size
        offset = left_out = 0
        while True:
            params = {"domain": domain, "fields": _EMPLOYEE_FIELDS, "offset": offset, "limit": page, "order": "id"}
            rows = replies.rows(self._call("hr.employee", "search_read", params), self.where, "hr.employee.search_read")
            for row in rows:
                employee = self._employee(row)
                if employee is None:
                    left_out += 1
                else:
                    yield employee
            if len(rows) < page:
                break
            offset += page
        if left_out:
            log.warning(
                "%s: %d employees have no %s and were left out of the pull",
                self.where,
                left_out,
                self.settings.employee_by,
            )

    def _employee(self, row: dict[str, Any]) -> Employee | None:
        where = f"{self.where}: hr.employee {row['id']}"
        texts = {name: replies.reply_text(row, name, where) for name in ("name", "barcode", "pin", "work_email")}
        by = self.settings.employee_by
        key = str(row["id"]) if by == "id" else texts[_KEY_FIELD[by]]
        if not key:
            return None
        active = row.get("active", True)
        if not isinstance(active, bool):
            raise TargetReplyError(f"{where}: active is {shown(active)}, not true or false")
        changed = replies.reply_time(row, "write_date", where)
        return Employee(
            target_id=key.strip(),
            name=texts["name"] or "",
            active=active,
            email=texts["work_email"],
            badge=texts["barcode"],
            pin=texts["pin"],
            department=replies.reply_name(row, "department_id", where),
            site=replies.reply_name(row, "company_id", where),
            modified_at=changed.replace(tzinfo=UTC) if changed is not None else None,
            extra={"odoo_id": row["id"]},
        )

    # -- read-back --------------------------------------------------------------------------------

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """What Odoo holds per employee and local day (in `timezone`), in the mapping's local ISO form.

        Each day gives `check_in` (first check-in), `check_out` (last check-out of a closed interval,
        empty if none) and `intervals` (every pair, `start/end;start/`), so a mapping of either
        convention compares like with like.
        """
        self.open()
        domain: list[Any] = [
            ["check_in", ">=", odoo_text(self.days.midnight(start))],
            ["check_in", "<", odoo_text(self.days.midnight(end + timedelta(days=1)))],
        ]
        if employees is not None:
            found = self._employee_ids({str(e).strip() for e in employees})
            ids = sorted({i for matches in found.values() for i in matches})
            if not ids:
                return
            domain.append(["employee_id", "in", ids])
        self._load_directory()
        grouped: dict[tuple[str, date], list[Held]] = {}
        page, offset, unknown = READ_BACK_PAGE, 0, set()
        fields = ["employee_id", "check_in", "check_out"]
        while True:
            params = {"domain": domain, "fields": fields, "offset": offset, "limit": page, "order": "id"}
            rows = self._call("hr.attendance", "search_read", params)
            held = replies.attendances(rows, self.where, "hr.attendance.search_read")
            for attendance in held:
                key = self._key_of.get(attendance.employee)
                if key is None:
                    unknown.add(attendance.employee)
                    continue
                local_day = self.days.local(attendance.check_in).date()
                grouped.setdefault((key, local_day), []).append(attendance)
            if len(held) < page:
                break
            offset += page
        if unknown:
            log.warning(
                "%s: attendance of %d employees without a %s was not read back",
                self.where,
                len(unknown),
                self.settings.employee_by,
            )
        local = self.days.local
        for (key, day), intervals in sorted(grouped.items()):
            intervals.sort(key=lambda h: (h.check_in, h.id))
            closed = [h.check_out for h in intervals if h.check_out is not None]
            fields_held = {
                "check_in": local(intervals[0].check_in).isoformat(),
                "check_out": local(max(closed)).isoformat() if closed else "",
                "intervals": format_intervals(
                    (local(h.check_in), local(h.check_out) if h.check_out else None) for h in intervals
                ),
            }
            remote = "hr.attendance:" + ",".join(str(h.id) for h in intervals)
            yield HeldRecord(employee=key, work_date=day, fields=fields_held, remote_id=remote)
