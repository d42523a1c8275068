"""ERPNext's Employee documents as punchbridge's `Employee` (pure: a listed row in, an Employee out)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import Employee, TargetReplyError

__all__ = ["EMPLOYEE_FIELDS", "employee_of"]

#: The Employee fields the pull lists (besides `employee_fieldname`).
EMPLOYEE_FIELDS = ["name", "employee_name", "status", "company_email", "personal_email", "user_id",
                   "attendance_device_id", "department", "company", "modified"]  # fmt: skip


def employee_of(row: Mapping[str, Any], fieldname: str, zone: ZoneInfo, where: str) -> Employee | None:
    """The Employee of a listed row (None when it has no `fieldname` value); `target_id` is that value,
    `active` status Active, `email` the company's else the personal one else the user, `site` the company."""
    name = row.get("name")
    if not isinstance(name, str):
        raise TargetReplyError(f"{where}: listing Employee: a document has no name")
    key = row.get("name" if fieldname == "employee" else fieldname)
    if key in (None, ""):
        return None
    status = str(row.get("status") or "")
    modified = row.get("modified")
    changed = None
    if isinstance(modified, str):
        try:
            changed = datetime.fromisoformat(modified).replace(tzinfo=zone)
        except ValueError:
            raise TargetReplyError(f"{where}: Employee {name} has modified {modified!r}") from None

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
