"""Odoo's replies read strictly (pure): records, attendances and field values, or a TargetReplyError naming them.

A reply that is not what Odoo sends (a record without an id, a time in another format, a many2one
that is not `[id, name]`) stops the run with the call and the field named: writing on guesses could
double or lose attendance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from punchbridge.plugin_api import TargetReplyError
from punchbridge.plugins.odoo.days import Held, is_id
from punchbridge.plugins.odoo.rpc import shown

__all__ = ["attendances", "reply_name", "reply_text", "reply_time", "rows"]


def rows(value: Any, where: str, what: str) -> list[dict[str, Any]]:
    """The records of a `search_read` reply, each with an id."""
    if not isinstance(value, list):
        raise TargetReplyError(f"{where}: {what} answered {shown(value)}, not a list of records")
    for index, row in enumerate(value):
        if not isinstance(row, dict) or not is_id(row.get("id")):
            raise TargetReplyError(f"{where}: {what}: record {index} is {shown(row)}, not a record with an id")
    return value


def attendances(value: Any, where: str, what: str) -> list[Held]:
    """The hr.attendance records of a `search_read` reply of `employee_id`, `check_in` and `check_out`, and
    of `create_uid`, `in_mode` and `out_mode` where asked (absent fields stay None)."""
    found = []
    for index, row in enumerate(rows(value, where, what)):
        employee: Any = row.get("employee_id")
        if isinstance(employee, list) and employee:
            employee = employee[0]
        if not is_id(employee):
            raise TargetReplyError(f"{where}: {what}: record {index} has employee_id {shown(employee)}")
        place = f"{where}: {what}: record {index}"
        check_in = reply_time(row, "check_in", place)
        if check_in is None:
            raise TargetReplyError(f"{where}: {what}: record {index} has no check_in")
        check_out = reply_time(row, "check_out", place)
        creator = row.get("create_uid", False)
        creator_id = creator[0] if isinstance(creator, list) and creator and is_id(creator[0]) else None
        in_mode, out_mode = (reply_text(row, name, place) for name in ("in_mode", "out_mode"))
        creator_name = (reply_name(row, "create_uid", place) or "") if creator_id is not None else ""
        found.append(
            Held(
                row["id"],
                employee,
                check_in,
                check_out,
                creator=creator_id,
                creator_name=creator_name,
                in_mode=in_mode,
                out_mode=out_mode,
            )
        )
    return found


def reply_text(row: dict[str, Any], name: str, where: str) -> str | None:
    """A char field of a reply: text, or None for Odoo's False."""
    value = row.get(name, False)
    if value is False or value is None:
        return None
    if not isinstance(value, str):
        raise TargetReplyError(f"{where}: {name} is {shown(value)}, not text")
    return value


def reply_name(row: dict[str, Any], name: str, where: str) -> str | None:
    """The display name of a many2one field of a reply (`[id, name]` or False)."""
    value = row.get(name, False)
    if value is False or value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and is_id(value[0]) and isinstance(value[1], str)):
        raise TargetReplyError(f"{where}: {name} is {shown(value)}, not [id, name]")
    return value[1]


def reply_time(row: dict[str, Any], name: str, where: str) -> datetime | None:
    """A datetime field of a reply as naive UTC, or None for False."""
    value = row.get(name, False)
    if value is False or value is None:
        return None
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise TargetReplyError(f"{where}: {name} is {shown(value)}, not a time such as 2025-10-06 03:32:00")
