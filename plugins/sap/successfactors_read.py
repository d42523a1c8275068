"""What the `sap_successfactors` target reads: EmpJob for employees, ExternalTimeData and clock events back.

Read-back shows each user's times in the zone of their site (or the `timezone` override): an
ExternalTimeData record's `startDate` + `startTime` is a wall-clock time there (without a known zone,
it is shown without offset and compared by wall clock). `hours` is read as the Edm.Decimal it is
(text or number), times as `Edm.Time` in any of its spellings (`PT09H02M00S`, `PT8H5M0S`).

Clock events are instants; a user's events are grouped into shifts in time order (a clock-in opens a
shift, the events up to its clock-out belong to it), and a shift belongs to the local date of its
clock-in, so a night shift's clock-out after midnight stays on its work date. They are read from
the OData entity of `time_events.read_back` (*unconfirmed*: SAP names no read API for these events).

Every read is an OData GET followed page by page through `__next` (which carries `$skiptoken`), at
most `page_size` rows a page (`customPageSize`). A `__next` that points anywhere but the configured
OData service is refused: following it would send the access token to another host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import Employee, HeldRecord, TargetReplyError, format_intervals
from punchbridge.plugins.sap.odata import (
    collection_page,
    datetime_literal,
    parse_date,
    parse_edm_time,
    quoted,
    utc_day_bounds,
)
from punchbridge.plugins.sap.successfactors_client import SuccessFactorsClient
from punchbridge.plugins.sap.successfactors_settings import EXTERNAL_TIME_DATA, SuccessFactorsSettings

__all__ = ["pull_employees", "read_events", "read_time_data"]

EMPJOB_FIELDS = (
    "userId",
    "startDate",
    "endDate",
    "costCenter",
    "department",
    "location",
    "timezone",
    "emplStatus",
    "lastModifiedDateTime",
)
#: Users per `userId in (...)` clause, so a read-back URL stays short.
USERS_PER_QUERY = 50
_EVENT_KINDS = ("clock_in", "clock_out", "break_start", "break_end")
ZoneOf = Callable[[str], ZoneInfo | None]


def _rows(
    client: SuccessFactorsClient, where: str, api: str, entity: str, params: Mapping[str, str]
) -> Iterator[dict[str, Any]]:
    """Every row of a collection, page by page through `__next`."""
    root = client.config.odata_url + "/"
    url: str | None = root + entity
    query: Mapping[str, str] | None = {"$format": "json", **params}
    seen: set[str] = set()
    while url is not None:
        body = client.call(api, "GET", url, params=query)
        rows, following = collection_page(body, api, where)
        yield from rows
        if following is not None and following in seen:
            raise TargetReplyError(f"{where}: {api} answered the same __next link twice; stopping")
        if following is not None and not following.startswith(root):
            raise TargetReplyError(f"{where}: {api} answered a __next link outside {root}; not following it")
        if following is not None and "$skiptoken" not in following and "%24skiptoken" not in following:
            raise TargetReplyError(f"{where}: {api} answered a __next link without $skiptoken")
        if following is not None:
            seen.add(following)
        url, query = following, None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _nav(row: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = row.get(name)
    return value if isinstance(value, Mapping) else {}


def _day(value: Any, field: str, api: str, where: str) -> date:
    moment = parse_date(value)
    if moment is None:
        raise TargetReplyError(f"{where}: {api} answered {field} {value!r}, not /Date(ms)/")
    return moment.date()


def pull_employees(
    client: SuccessFactorsClient,
    config: SuccessFactorsSettings,
    where: str,
    since: datetime | None,
    clock: Callable[[], float],
) -> Iterator[Employee]:
    """EmpJob's employees (see the module docstring), one per userId, each with their cost-centre history."""
    user_fields = ["firstName", "lastName", "email"] + ([config.badge_field] if config.badge_field else [])
    select = [*EMPJOB_FIELDS, *(f"userNav/{name}" for name in user_fields), "emplStatusNav/externalCode"]
    params = {
        "$select": ",".join(select),
        "$expand": "userNav,emplStatusNav",
        "$orderby": "userId,startDate",
        "fromDate": "1900-01-01",
        "customPageSize": str(config.page_size),
        "paging": "snapshot",
    }
    if since is not None:
        moment = since if since.tzinfo else since.replace(tzinfo=UTC)
        params["$filter"] = f"lastModifiedDateTime gt {datetime_literal(moment)}"
    today = datetime.fromtimestamp(clock(), UTC).date()
    current: list[dict[str, Any]] = []
    for row in _rows(client, where, "EmpJob", "EmpJob", params):
        user = _text(row.get("userId"))
        if user is None:
            raise TargetReplyError(f"{where}: EmpJob answered a row without userId")
        if current and current[0]["userId"] != user:
            yield _employee(current, config, where, today)
            current = []
        current.append({**row, "userId": user})
    if current:
        yield _employee(current, config, where, today)


def _employee(rows: list[dict[str, Any]], config: SuccessFactorsSettings, where: str, today: date) -> Employee:
    history = []
    for row in rows:
        start = _day(row.get("startDate"), "startDate", "EmpJob", where)
        end = _day(row["endDate"], "endDate", "EmpJob", where) if row.get("endDate") else date(9999, 12, 31)
        history.append((start, end, row))
    history.sort(key=lambda item: item[0])
    effective = [row for start, end, row in history if start <= today <= end]
    row = effective[-1] if effective else history[-1][2]
    user = _nav(row, "userNav")
    status = _text(_nav(row, "emplStatusNav").get("externalCode"))
    name = " ".join(part for part in (_text(user.get("firstName")), _text(user.get("lastName"))) if part)
    changed = [parse_date(r.get("lastModifiedDateTime")) for _, _, r in history]
    known = [moment for moment in changed if moment is not None]
    return Employee(
        target_id=row["userId"],
        name=name or row["userId"],
        active=status not in config.inactive_statuses,
        email=_text(user.get("email")),
        badge=_text(user.get(config.badge_field)) if config.badge_field else None,
        department=_text(row.get("department")),
        site=_text(row.get("location")),
        modified_at=max(known) if known else None,
        extra={
            "cost_centre": _text(row.get("costCenter")),
            "cost_centres": [
                {"cost_centre": _text(r.get("costCenter")), "from": start.isoformat(), "to": end.isoformat()}
                for start, end, r in history
            ],
            "timezone": _text(row.get("timezone")),
            "emplStatus": status,
        },
    )


def _user_groups(employees: Sequence[str] | None) -> list[list[str] | None]:
    if employees is None:
        return [None]
    unique = sorted(set(employees))
    return [unique[i : i + USERS_PER_QUERY] for i in range(0, len(unique), USERS_PER_QUERY)]


def _user_clause(field: str, users: list[str] | None) -> str:
    return f" and {field} in {','.join(quoted(user) for user in users)}" if users else ""


def _local(day: date, clock: time | None, zone: ZoneInfo | None) -> str:
    if clock is None:
        return ""
    moment = datetime.combine(day, clock)
    return (moment.replace(tzinfo=zone) if zone else moment).isoformat()


def _hours(value: Any, api: str, where: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(str(value))
    except (TypeError, ValueError):
        raise TargetReplyError(f"{where}: {api} answered hours {value!r}, not a number") from None


def read_time_data(
    client: SuccessFactorsClient,
    config: SuccessFactorsSettings,
    where: str,
    start: date,
    end: date,
    employees: Sequence[str] | None,
    zone_of: ZoneOf,
) -> Iterator[HeldRecord]:
    """One HeldRecord per ExternalTimeData whose startDate is in `start`..`end` (`check_in`, `check_out`, ...)."""
    names = EXTERNAL_TIME_DATA
    api = f"read {names['entity']}"
    select = ",".join(names[k] for k in ("key", "user", "start_date", "end_date", "start_time", "end_time", "hours",
                                          "time_type", "cost_centre"))  # fmt: skip
    for users in _user_groups(employees):
        window = (
            f"{names['start_date']} ge {datetime_literal(start)} and {names['start_date']} le {datetime_literal(end)}"
        )
        params = {
            "$filter": window + _user_clause(names["user"], users),
            "$select": select,
            "$orderby": f"{names['user']},{names['start_date']}",
            "customPageSize": str(config.page_size),
        }
        for row in _rows(client, where, api, names["entity"], params):
            user = _text(row.get(names["user"]))
            if user is None:
                raise TargetReplyError(f"{where}: {api} answered a record without {names['user']}")
            first = _day(row.get(names["start_date"]), names["start_date"], api, where)
            last = _day(row[names["end_date"]], names["end_date"], api, where) if row.get(names["end_date"]) else first
            zone = zone_of(user)
            fields = {
                "check_in": _local(first, parse_edm_time(row.get(names["start_time"])), zone),
                "check_out": _local(last, parse_edm_time(row.get(names["end_time"])), zone),
                "hours": _hours(row.get(names["hours"]), api, where),
                "time_type": _text(row.get(names["time_type"])),
                "cost_centre": _text(row.get(names["cost_centre"])),
            }
            yield HeldRecord(user, first, fields, remote_id=_text(row.get(names["key"])))


def _shifts(events: list[tuple[datetime, str, str]]) -> list[list[tuple[datetime, str, str]]]:
    """A user's events (time order) as shifts: a clock-in opens one; an event before any clock-in is its own."""
    shifts: list[list[tuple[datetime, str, str]]] = []
    for event in events:
        if event[1] == "clock_in" or not shifts or shifts[-1][-1][1] == "clock_out":
            shifts.append([event])
        else:
            shifts[-1].append(event)
    return shifts


def _held_day(user: str, day: date, events: list[tuple[datetime, str, str]]) -> HeldRecord:
    pairs: list[tuple[datetime | None, datetime | None]] = []
    opened: datetime | None = None
    for moment, kind, _ in events:
        if kind in ("clock_in", "break_end"):
            if opened is not None:
                pairs.append((opened, None))
            opened = moment
        else:
            pairs.append((opened, moment))
            opened = None
    if opened is not None:
        pairs.append((opened, None))
    ins = [m for m, k, _ in events if k == "clock_in"]
    outs = [m for m, k, _ in events if k == "clock_out"]
    fields = {
        "intervals": format_intervals(pairs),
        "check_in": min(ins).isoformat() if ins else "",
        "check_out": max(outs).isoformat() if outs else "",
    }
    return HeldRecord(user, day, fields, remote_id=",".join(uuid for _, _, uuid in events if uuid))


def read_events(
    client: SuccessFactorsClient,
    config: SuccessFactorsSettings,
    where: str,
    start: date,
    end: date,
    employees: Sequence[str] | None,
    zone_of: ZoneOf,
) -> Iterator[HeldRecord]:
    """The clock events of the work days `start`..`end`, one HeldRecord per user and day (`intervals`, ...).

    `remote_id` is the UUIDs of the day's events (what the mass-delete API takes). A user without a
    known zone has their days in UTC.
    """
    read = config.time_events.read_back
    api = f"read {read.entity}"
    # A day either side, so a shift crossing midnight (or a zone far from UTC) is read whole.
    first, after = utc_day_bounds(start - timedelta(days=1), end + timedelta(days=2), UTC)
    codes = {getattr(config.time_events.types, kind): kind for kind in _EVENT_KINDS}
    by_user: dict[str, list[tuple[datetime, str, str]]] = {}
    for users in _user_groups(employees):
        window = f"{read.time_field} ge {datetime_literal(first)} and {read.time_field} lt {datetime_literal(after)}"
        params = {
            "$filter": window + _user_clause(read.assignment_field, users),
            "$orderby": f"{read.assignment_field},{read.time_field}",
            "customPageSize": str(config.page_size),
        }
        for row in _rows(client, where, api, read.entity, params):
            user = _text(row.get(read.assignment_field))
            moment = parse_date(row.get(read.time_field))
            kind = codes.get(str(row.get(read.type_field)))
            if user is None or moment is None or kind is None:
                raise TargetReplyError(
                    f"{where}: {api} answered an event without {read.assignment_field}, a /Date(ms)/ "
                    f"{read.time_field} or a type code of the time_events.types settings "
                    f"({row.get(read.type_field)!r})"
                )
            local = moment.astimezone(zone_of(user) or UTC)
            by_user.setdefault(user, []).append((local, kind, _text(row.get(read.uuid_field)) or ""))
    for user in sorted(by_user):
        days: dict[date, list[tuple[datetime, str, str]]] = {}
        for shift in _shifts(sorted(by_user[user])):
            days.setdefault(shift[0][0].date(), []).extend(shift)
        for day in sorted(days):
            if start <= day <= end:
                yield _held_day(user, day, days[day])
