"""hr.employee for the `odoo` target: the employees' keys (`employee_by`) and ids, and the employee pull.

`EmployeeDirectory` reads every employee's key once per run (one `search_read` of two fields,
leavers included) and looks up keys it has not seen once more; `pull_employees` pages through
hr.employee for employee sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from punchbridge.plugin_api import Employee, TargetReplyError
from punchbridge.plugins.odoo import replies
from punchbridge.plugins.odoo.days import odoo_text
from punchbridge.plugins.odoo.rpc import shown
from punchbridge.plugins.odoo.settings import OdooSettings

__all__ = ["EMPLOYEE_FIELDS", "KEY_FIELD", "EmployeeDirectory", "pull_employees"]

log = logging.getLogger("punchbridge.plugins.odoo")

EMPLOYEE_FIELDS = ["id", "name", "barcode", "pin", "work_email", "department_id", "company_id", "active", "write_date"]
#: The hr.employee field each `employee_by` names.
KEY_FIELD = {"id": "id", "barcode": "barcode", "pin": "pin", "work_email": "work_email"}

Call = Callable[..., Any]


class EmployeeDirectory:
    """Employee keys (as `employee_by` names them) and hr.employee ids, read once per run."""

    def __init__(self, call: Call, employee_by: str, where: str) -> None:
        self.call, self.employee_by, self.where = call, employee_by, where
        self.field = KEY_FIELD[employee_by]
        self._ids: dict[str, list[int]] | None = None  # employee key -> hr.employee ids
        self.key_of: dict[int, str] = {}  # hr.employee id -> employee key
        self._looked_up: set[str] = set()

    def load(self) -> dict[str, list[int]]:
        """Every employee's key (active or archived): one search_read of two fields, the first time."""
        if self._ids is None:
            rows = self.call(
                "hr.employee",
                "search_read",
                {"domain": [["active", "in", [True, False]]], "fields": ["id", self.field], "order": "id"},
            )
            self._ids = {}
            self._remember(replies.rows(rows, self.where, "hr.employee.search_read"))
        return self._ids

    def _remember(self, rows: list[dict[str, Any]]) -> None:
        assert self._ids is not None
        for row in rows:
            key = str(row["id"]) if self.field == "id" else replies.reply_text(row, self.field, self.where)
            if key:
                ids = self._ids.setdefault(key.strip(), [])
                if row["id"] not in ids:
                    ids.append(row["id"])
                self.key_of[row["id"]] = key.strip()

    def ids(self, keys: set[str]) -> dict[str, list[int]]:
        """The hr.employee ids of `keys`; keys not yet known are looked up once (one search_read)."""
        directory = self.load()
        missing = sorted(k for k in keys if k not in directory and k not in self._looked_up)
        if missing:
            self._looked_up.update(missing)
            values: list[Any] = [int(k) for k in missing if k.isdigit()] if self.field == "id" else missing
            domain = [[self.field, "in", values], ["active", "in", [True, False]]]
            rows = self.call("hr.employee", "search_read", {"domain": domain, "fields": ["id", self.field]})
            self._remember(replies.rows(rows, self.where, "hr.employee.search_read"))
        return {k: directory[k] for k in keys if k in directory}


def pull_employees(call: Call, settings: OdooSettings, where: str, since: datetime | None) -> Iterator[Employee]:
    """Every hr.employee, leavers too, paged by `page_size` to the end; `since`: changed after it.

    `target_id` is the employee's key as `employee_by` names it (the id by default), so it matches
    the mapping's id table; employees without that key are left out (logged), since no mapping can
    address them. `extra["odoo_id"]` is always the hr.employee id.
    """
    domain: list[Any] = [["active", "in", [True, False]]]
    if since is not None:
        moment = since.astimezone(UTC) if since.tzinfo is not None else since
        domain.append(["write_date", ">", odoo_text(moment.replace(tzinfo=None))])
    page = settings.page_size
    offset = left_out = 0
    while True:
        params = {"domain": domain, "fields": EMPLOYEE_FIELDS, "offset": offset, "limit": page, "order": "id"}
        rows = replies.rows(call("hr.employee", "search_read", params), where, "hr.employee.search_read")
        for row in rows:
            employee = _employee(row, settings.employee_by, where)
            if employee is None:
                left_out += 1
            else:
                yield employee
        if len(rows) < page:
            break
        offset += page
    if left_out:
        log.warning("%s: %d employees have no %s and were left out of the pull", where, left_out, settings.employee_by)


def _employee(row: dict[str, Any], employee_by: str, where: str) -> Employee | None:
    where = f"{where}: hr.employee {row['id']}"
    texts = {name: replies.reply_text(row, name, where) for name in ("name", "barcode", "pin", "work_email")}
    key = str(row["id"]) if employee_by == "id" else texts[KEY_FIELD[employee_by]]
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
