"""What the `salesforce` target reads from an org: the object's describe, its records (read-back), the
people (employee pull), and the live checks of `punchbridge validate --online`.

Read-back shows each Date/Time field (which Salesforce keeps as a UTC instant: "Salesforce stores
the DateTime field values in the database as Coordinated Universal Time", Salesforce Help article
000385916) as local ISO-8601 in its employee's zone: the target's `timezone` override, else the zone
of the employee's site that reconciliation passes in, else UTC (`Target.zone_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import (
    Employee,
    FatalTargetError,
    HeldRecord,
    OnlineCheck,
    TargetError,
    TargetReplyError,
)
from punchbridge.plugins.salesforce.api import SalesforceApi, soql_datetime, soql_text
from punchbridge.plugins.salesforce.settings import SalesforceSettings
from punchbridge.plugins.salesforce.values import reply_time

__all__ = [
    "IN_LIST",
    "LOW_ALLOWANCE_SHARE",
    "FieldInfo",
    "describe_object",
    "online_checks",
    "pull_people",
    "read_records",
]

#: Employees per SOQL `IN (...)` list in read-back (keeps the query URL well under Salesforce's 16 KB).
IN_LIST = 200
#: Below this share of the org's daily API requests left, `validate --online` warns.
LOW_ALLOWANCE_SHARE = 0.1


@dataclass(frozen=True)
class FieldInfo:
    """A field of the object as describe reports it."""

    type: str
    writable: bool
    custom: bool
    external_id: bool


def describe_object(
    api: SalesforceApi, settings: SalesforceSettings, where: str
) -> tuple[dict[str, Any], dict[str, FieldInfo]]:
    """The object's describe reply and its fields by API name; FatalTargetError when `external_id_field`
    is not an External ID field of it."""
    what = f"describe {settings.object}"
    reply = api.json(api.call("GET", f"{api.base}/sobjects/{settings.object}/describe", what), what)
    rows = reply.get("fields") if isinstance(reply, dict) else None
    if not isinstance(rows, list):
        raise TargetReplyError(f"{where}: {what}: the reply has no `fields` list")
    fields = {}
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise TargetReplyError(f"{where}: {what}: a field has no name")
        fields[row["name"]] = FieldInfo(
            str(row.get("type", "")),
            bool(row.get("createable")) and bool(row.get("updateable")),
            bool(row.get("custom")),
            bool(row.get("externalId")),
        )
    external = fields.get(settings.external_id_field)
    if external is None or not external.external_id:
        raise FatalTargetError(
            f"{where}: {settings.external_id_field} is not an External ID field of {settings.object}; create a "
            "Text field ticked External ID and Unique (Setup > Object Manager) or set external_id_field"
        )
    return reply, fields


def read_records(
    api: SalesforceApi,
    settings: SalesforceSettings,
    fields: Mapping[str, FieldInfo],
    where: str,
    start: date,
    end: date,
    employees: Sequence[str] | None,
    zone_for: Callable[[str], ZoneInfo],
) -> Iterator[HeldRecord]:
    """The object's records of days `start`..`end` (by `date_field`), optionally of some employees; each
    Date/Time field as local ISO-8601 in `zone_for(employee)`."""
    for name in (settings.employee_field, settings.date_field):
        if name not in fields:
            raise FatalTargetError(
                f"{where}: {name} is not a field of {settings.object}; set employee_field and date_field to the "
                "object's employee and date fields"
            )
    readable = {n for n, f in fields.items() if f.custom and f.writable}
    names = ["Id", *sorted(readable | {settings.employee_field, settings.date_field})]
    clause = f"{settings.date_field} >= {start.isoformat()} AND {settings.date_field} <= {end.isoformat()}"
    groups: list[list[str]] = [[]]
    if employees is not None:
        wanted = sorted({str(e).strip() for e in employees if str(e).strip()})
        groups = [wanted[i : i + IN_LIST] for i in range(0, len(wanted), IN_LIST)]
    for group in groups:
        condition = clause
        if group:
            try:
                condition += f" AND {settings.employee_field} IN ({', '.join(soql_text(e) for e in group)})"
            except ValueError as exc:
                raise FatalTargetError(f"{where}: read-back: an employee id {exc}") from None
        soql = f"SELECT {', '.join(names)} FROM {settings.object} WHERE {condition} ORDER BY Id"
        for row in api.query(soql, f"reading back {settings.object}", settings.query_batch_size):
            yield _held(row, names, fields, settings, where, zone_for)


def _held(
    row: dict[str, Any],
    names: list[str],
    fields: Mapping[str, FieldInfo],
    settings: SalesforceSettings,
    where: str,
    zone_for: Callable[[str], ZoneInfo],
) -> HeldRecord:
    where = f"{where}: read-back record {row.get('Id')!r}"
    employee, day = row.get(settings.employee_field), row.get(settings.date_field)
    if not isinstance(employee, str) or not isinstance(day, str):
        raise TargetReplyError(f"{where} has no {settings.employee_field} or {settings.date_field}")
    try:
        work_date = date.fromisoformat(day)
    except ValueError:
        raise TargetReplyError(f"{where}: {settings.date_field} {day!r} is not a date") from None
    zone = zone_for(employee)
    held = {}
    for name in names[1:]:
        value = row.get(name)
        if fields[name].type == "datetime" and isinstance(value, str):
            value = reply_time(value, where).astimezone(zone).isoformat()
        held[name] = value
    return HeldRecord(employee=employee, work_date=work_date, fields=held, remote_id=str(row.get("Id")))


def pull_people(
    api: SalesforceApi, settings: SalesforceSettings, where: str, since: datetime | None
) -> Iterator[Employee]:
    """Every record of `people_object` with a `people_id_field` (inactive too), by SOQL, to the last page."""
    wanted = [
        "Id", settings.people_id_field, settings.people_name_field, settings.people_email_field,
        settings.people_active_field, settings.people_department_field, settings.people_badge_field,
        "LastModifiedDate",
    ]  # fmt: skip
    names = list(dict.fromkeys(name for name in wanted if name))
    clause = f"{settings.people_id_field} != null"
    if since is not None:
        moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        clause += f" AND LastModifiedDate > {soql_datetime(moment)}"
    soql = f"SELECT {', '.join(names)} FROM {settings.people_object} WHERE {clause} ORDER BY Id"
    for row in api.query(soql, f"reading {settings.people_object}", settings.query_batch_size):
        yield _employee(row, settings, where)


def _employee(row: dict[str, Any], settings: SalesforceSettings, where: str) -> Employee:
    where = f"{where}: {settings.people_object} {row.get('Id')!r}"
    target_id = row.get(settings.people_id_field)
    if not isinstance(target_id, str | int) or isinstance(target_id, bool) or not str(target_id).strip():
        raise TargetReplyError(f"{where} has no {settings.people_id_field}")
    active = row.get(settings.people_active_field, True) if settings.people_active_field else True
    if not isinstance(active, bool):
        raise TargetReplyError(f"{where}: {settings.people_active_field} is {active!r}, not true or false")
    modified = row.get("LastModifiedDate")

    def text(name: str | None) -> str | None:
        value = row.get(name) if name else None
        return str(value).strip() or None if value is not None else None

    return Employee(
        target_id=str(target_id).strip(),
        name=text(settings.people_name_field) or str(target_id),
        active=active,
        email=text(settings.people_email_field),
        badge=text(settings.people_badge_field),
        department=text(settings.people_department_field),
        modified_at=reply_time(modified, where) if isinstance(modified, str) else None,
        extra={"salesforce_id": row.get("Id")},
    )


def online_checks(api: SalesforceApi, settings: SalesforceSettings, where: str) -> list[OnlineCheck]:
    """`validate --online`, read-only: describe the object (the integration user can create, edit and read
    it; the external id, employee and date fields exist as they must) and the org's API allowance."""
    checks = []
    try:
        reply, fields = describe_object(api, settings, where)
    except TargetError as exc:
        return [OnlineCheck(f"describe {settings.object}", False, str(exc))]
    missing = [
        verb for verb, flag in (("create", "createable"), ("edit", "updateable"), ("read", "queryable"))
        if reply.get(flag) is False
    ]  # fmt: skip
    checks.append(
        OnlineCheck(
            f"access to {settings.object}",
            not missing,
            f"the integration user cannot {' or '.join(missing)} {settings.object}: grant it in its permission set"
            if missing
            else "",
        )
    )
    checks.append(OnlineCheck(f"external id field {settings.external_id_field}", True))
    for setting, name, kinds in (
        ("employee_field", settings.employee_field, None),
        ("date_field", settings.date_field, ("date",)),
    ):
        info = fields.get(name)
        if info is None:
            checks.append(OnlineCheck(setting, False, f"{settings.object} has no field {name}: set {setting}"))
        elif kinds and info.type not in kinds:
            checks.append(OnlineCheck(setting, False, f"{name} is a {info.type} field; {setting} needs a Date field"))
        else:
            checks.append(OnlineCheck(setting, True, name))
    checks.append(_allowance(api, where))
    return checks


def _allowance(api: SalesforceApi, where: str) -> OnlineCheck:
    """The org's daily API requests left (GET /limits): a warning below `LOW_ALLOWANCE_SHARE`."""
    what = "read the org's limits"
    try:
        reply = api.json(api.call("GET", f"{api.base}/limits", what), what)
    except TargetError as exc:
        return OnlineCheck("API allowance", False, str(exc))
    daily = reply.get("DailyApiRequests") if isinstance(reply, dict) else None
    if (
        not isinstance(daily, dict)
        or not isinstance(daily.get("Max"), int)
        or not isinstance(daily.get("Remaining"), int)
    ):
        return OnlineCheck(
            "API allowance", False, f"{where}: {what}: the reply has no DailyApiRequests Max and Remaining"
        )
    cap, left = int(daily["Max"]), int(daily["Remaining"])
    low = cap > 0 and left < cap * LOW_ALLOWANCE_SHARE
    said = f"{left} of {cap} API requests left in the last 24 hours" + (
        ": a sync may stop until requests age out of the window" if low else ""
    )
    return OnlineCheck("API allowance", True, said, warning=low)
