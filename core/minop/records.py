"""Records of the Minop attendance API turned into punchbridge's frames: raw punches, processed days,
and the quarantine rows of records that cannot be used (with their reason). Pure: no I/O.

    punches, held, newest = raw_frames(page, "minop", context)
    days, held, newest = processed_frames(page, "minop", context, covered)

Quarantine reasons: `malformed_record` (not an object, a missing or non-text id, a bad direction or
value), `bad_timestamp` (not ISO-8601 with an offset), `implausible_timestamp` (outside the plausible
window), `unknown_employee`, `not_covered` (a cloud day of an employee computed locally).

A processed day keeps what the cloud says: first in and last out are written in the site time zone the
reply carries, and the shift as the record names it (see `processed_frames`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from punchbridge.config.punchfile import FUTURE_TOLERANCE_MINUTES, OLDEST_DAYS, QUARANTINE_COLUMNS
from punchbridge.minop.client import Page
from punchbridge.plugin_api import SourceContext
from punchbridge.rules.frames import DAY_COLUMNS, DIRECTIONS

__all__ = ["PROCESSED_FIELDS", "STATUSES", "parse_utc", "processed_frames", "raw_frames", "utc_text"]

logger = logging.getLogger("punchbridge.plugins.minop")

#: Processed-record fields punchbridge uses.
PROCESSED_FIELDS = (
    "employee_id",
    "date",
    "status",
    "first_in",
    "last_out",
    "payable_hours",
    "ot_hours",
    "late_minutes",
    "early_exit_minutes",
    "shift",
    "anomalies",
    "recomputed",
    "updated_at",
)
STATUSES = ("present", "absent", "half_day", "weekly_off", "holiday", "on_leave")
_CLOUD_DIRECTIONS = (
    {
        "checkin": "in",
        "checkout": "out",
        "breakout": "break_out",
        "breakin": "break_in",
        "overtimein": "ot_in",
        "overtimeout": "ot_out",
    }
    | {word: word for word in DIRECTIONS}
    | {str(i): word for i, word in enumerate(DIRECTIONS)}
)
_MAX_ID = 128
_CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?")


class _UnusableRecordError(ValueError):
    """A record that cannot be used: its quarantine reason and detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _text(record: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise _UnusableRecordError("malformed_record", f"{name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _UnusableRecordError("malformed_record", f"{name} is {type(value).__name__}, not text")
    text = str(value)
    if len(text) > _MAX_ID or not text.isprintable():
        raise _UnusableRecordError("malformed_record", f"{name} is longer than {_MAX_ID} characters or not printable")
    return text


def parse_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no UTC offset")
    return moment.astimezone(UTC)


def _instant(record: dict[str, Any], name: str) -> datetime:
    value = record.get(name)
    if not isinstance(value, str) or len(value) > 40:
        raise _UnusableRecordError("bad_timestamp", f"{name} is {_show(value)}, not an ISO-8601 instant")
    try:
        moment = parse_utc(value)
    except (ValueError, OverflowError):
        raise _UnusableRecordError(
            "bad_timestamp", f"{name} {_show(value)} is not an ISO-8601 instant with an offset"
        ) from None
    if not 1971 <= moment.year <= 2200:
        raise _UnusableRecordError("implausible_timestamp", f"{name} {value} is outside the years a punch can have")
    return moment


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _held(source: str, record: Any, reason: str, detail: str) -> dict[str, Any]:
    record = record if isinstance(record, dict) else {}

    def cell(name: str) -> str:
        value = record.get(name)
        return "" if value is None else (value if isinstance(value, str) else _show(value))[:200]

    return {
        "file": source,
        "line": None,
        "employee_id": cell("employee_id"),
        "timestamp": cell("timestamp") or cell("date"),
        "device_id": cell("device_id"),
        "direction": cell("direction"),
        "reason": reason,
        "detail": detail,
    }


def _quarantine_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(QUARANTINE_COLUMNS))


def raw_frames(page: Page, source: str, context: SourceContext) -> tuple[pd.DataFrame, pd.DataFrame, datetime | None]:
    """(punches in engine columns, quarantined records, the newest valid `updated_at`) of a raw page."""
    known = set(context.employees["employee_id"].astype(str))
    oldest = datetime.combine(context.date_to, datetime.min.time(), UTC) - timedelta(days=OLDEST_DAYS)
    latest = datetime.now(UTC) + timedelta(minutes=FUTURE_TOLERANCE_MINUTES)
    rows: list[tuple[str, datetime, str, str | None]] = []
    held: list[dict[str, Any]] = []
    newest: datetime | None = None
    for position, record in enumerate(page.records):
        try:
            if not isinstance(record, dict):
                raise _UnusableRecordError(
                    "malformed_record", f"record {position} of the page is {type(record).__name__}"
                )
            event = _text(record, "event_id", required=False) or f"record {position}"
            try:
                employee = _text(record, "employee_id")
                device = _text(record, "device_id")
                updated = _instant(record, "updated_at")
                moment = _instant(record, "timestamp")
                direction = _direction(record.get("direction"))
            except _UnusableRecordError as exc:
                raise _UnusableRecordError(exc.reason, f"{event}: {exc.detail}") from None
            newest = updated if newest is None else max(newest, updated)
            assert employee is not None and device is not None
            if moment < oldest or moment > latest:
                raise _UnusableRecordError(
                    "implausible_timestamp", f"{event}: {utc_text(moment)} is outside the plausible window"
                )
            if employee not in known:
                raise _UnusableRecordError("unknown_employee", f"{event}: employee is not in the employees file")
            rows.append((employee, moment, device, direction))
        except _UnusableRecordError as exc:
            held.append(_held(source, record, exc.reason, exc.detail))
    punches = pd.DataFrame(
        {
            "employee_id": pd.Series([r[0] for r in rows], dtype=object),
            "instant": pd.to_datetime([r[1] for r in rows], utc=True).as_unit("ns"),
            "device_id": pd.Series([r[2] for r in rows], dtype=object),
            "direction": pd.Series([r[3] for r in rows], dtype=object),
        }
    )
    return punches, _quarantine_frame(held), newest


def _direction(value: Any) -> str | None:
    if value is None or value == "":
        return None
    key = str(value).strip().lower().replace("_", "") if not isinstance(value, bool) else ""
    found = _CLOUD_DIRECTIONS.get(key) or _CLOUD_DIRECTIONS.get(str(value).strip().lower())
    if found is None:
        raise _UnusableRecordError(
            "malformed_record", f"direction {_show(value)} is not one of CheckIn, CheckOut, ... or 0-5"
        )
    return found


def _number(record: dict[str, Any], name: str, high: float) -> float:
    value = record.get(name, 0)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _UnusableRecordError("malformed_record", f"{name} is {_show(value)}, not a number")
    if not 0 <= value <= high:
        raise _UnusableRecordError("malformed_record", f"{name} {value} is outside 0 to {high:g}")
    return float(value)


def _local(record: dict[str, Any], name: str, zone: ZoneInfo) -> str:
    if record.get(name) in (None, ""):
        return ""
    return _instant(record, name).astimezone(zone).isoformat(timespec="seconds")


def _cloud_zone(page: Page, source: str) -> ZoneInfo | None:
    """The site time zone the reply carries (None when it names none, or one this machine does not know)."""
    if not page.timezone:
        return None
    try:
        return ZoneInfo(page.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning(
            "source %s: the cloud's time zone %s is unknown here; processed times are shown in the site's",
            source,
            _show(page.timezone),
        )
        return None


def processed_frames(
    page: Page,
    source: str,
    context: SourceContext,
    covered: Collection[str],
    told: set[tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, datetime | None]:
    """(processed days in DAY_COLUMNS, quarantined records, the newest valid `updated_at`) of a processed page.

    First in and last out are written in the site time zone the reply carries: a day is the cloud's, in
    the cloud's zone. A configured site zone that differs is logged once per (site, zone) in `told`.
    """
    cloud_zone = _cloud_zone(page, source)
    told = set() if told is None else told
    staff = context.employees.assign(employee_id=context.employees["employee_id"].astype(str))
    site_of = dict(zip(staff["employee_id"], staff["site"].astype(str), strict=True))
    shift_of = dict(zip(staff["employee_id"], staff["shift"].astype(str), strict=True))
    days: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    newest: datetime | None = None
    for position, record in enumerate(page.records):
        try:
            if not isinstance(record, dict):
                raise _UnusableRecordError(
                    "malformed_record", f"record {position} of the page is {type(record).__name__}"
                )
            day = _processed_day(record, source, site_of, shift_of, covered, context, cloud_zone, told)
            newest = _instant(record, "updated_at") if newest is None else max(newest, _instant(record, "updated_at"))
            key = (day["employee_id"], day["work_date"])
            if key in seen:  # a page naming a day twice: the later record wins
                days = [d for d in days if (d["employee_id"], d["work_date"]) != key]
            seen.add(key)
            days.append(day)
        except _UnusableRecordError as exc:
            held.append(_held(source, record, exc.reason, exc.detail))
    frame = pd.DataFrame(days, columns=list(DAY_COLUMNS))
    return frame, _quarantine_frame(held), newest


def _shift(record: dict[str, Any], fallback: str) -> str:
    """The shift as the cloud names it: a name, or an object `{"name", "start", "end"}` kept with its
    window (`general 09:00-18:00`); the employees file's shift when the cloud gives none."""
    value = record.get("shift")
    if isinstance(value, dict):
        name = _text(value, "name", required=False) or fallback
        start, end = _text(value, "start", required=False), _text(value, "end", required=False)
        for edge in (start, end):
            if edge is not None and not _CLOCK.fullmatch(edge):
                raise _UnusableRecordError("malformed_record", f"shift window {_show(edge)} is not HH:MM")
        return f"{name} {start}-{end}" if start and end else name
    return _text(record, "shift", required=False) or fallback


def _processed_day(
    record: dict[str, Any],
    source: str,
    site_of: dict[str, str],
    shift_of: dict[str, str],
    covered: Collection[str],
    context: SourceContext,
    cloud_zone: ZoneInfo | None,
    told: set[tuple[str, str]],
) -> dict[str, Any]:
    employee = _text(record, "employee_id")
    assert employee is not None
    where = f"{employee} {_show(record.get('date'))}"
    try:
        work_date = record.get("date")
        if not isinstance(work_date, str) or len(work_date) != 10:
            raise _UnusableRecordError("bad_timestamp", f"date {_show(work_date)} is not YYYY-MM-DD")
        try:
            date.fromisoformat(work_date)
        except ValueError:
            raise _UnusableRecordError("bad_timestamp", f"date {_show(work_date)} is not a date") from None
        _instant(record, "updated_at")
        if employee not in site_of:
            raise _UnusableRecordError("unknown_employee", "employee is not in the employees file")
        if employee not in covered:
            raise _UnusableRecordError(
                "not_covered", f"site {site_of[employee]} is computed locally (see the source's `sites`)"
            )
        status = record.get("status")
        if status not in STATUSES:
            raise _UnusableRecordError(
                "malformed_record", f"status {_show(status)} is not one of {', '.join(STATUSES)}"
            )
        site = site_of[employee]
        configured = context.rules.sites[site].timezone
        zone = cloud_zone or ZoneInfo(configured)
        if cloud_zone is not None and cloud_zone.key != configured and (site, cloud_zone.key) not in told:
            told.add((site, cloud_zone.key))
            logger.warning(
                "source %s: the cloud computes site %s in %s, the configuration says %s; its processed days "
                "keep the cloud's zone",
                source,
                site,
                cloud_zone.key,
                configured,
            )
        worked = round(_number(record, "payable_hours", 24) * 60)
        overtime = min(round(_number(record, "ot_hours", 24) * 60), worked)
        anomalies = record.get("anomalies") or []
        if not isinstance(anomalies, list) or not all(isinstance(a, str) and len(a) <= 64 for a in anomalies):
            raise _UnusableRecordError("malformed_record", "anomalies must be a list of codes")
        recomputed = record.get("recomputed", False)
        if not isinstance(recomputed, bool):
            raise _UnusableRecordError("malformed_record", f"recomputed {_show(recomputed)} is not true or false")
        shift = _shift(record, shift_of[employee])
        return {
            "employee_id": employee,
            "work_date": work_date,
            "site": site_of[employee],
            "shift": shift,
            "day_type": status if status in ("weekly_off", "holiday") else "workday",
            "status": status,
            "first_in": _local(record, "first_in", zone),
            "last_out": _local(record, "last_out", zone),
            "worked_minutes": worked,
            "regular_minutes": worked - overtime,
            "ot_minutes": overtime,
            "break_minutes": 0,
            "late_minutes": round(_number(record, "late_minutes", 1440)),
            "early_exit_minutes": round(_number(record, "early_exit_minutes", 1440)),
            "leave_days": 1.0 if status == "on_leave" else 0.0,
            "lop_days": {"absent": 1.0, "half_day": 0.5}.get(str(status), 0.0),
            "punch_count": 0,
            "anomalies": ";".join(sorted(anomalies)),
            "recomputed": recomputed,
            "rules_version": f"cloud:{source}",
            "intervals": "",
        }
    except _UnusableRecordError as exc:
        raise _UnusableRecordError(exc.reason, f"{where}: {exc.detail}") from None
