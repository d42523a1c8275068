"""What a target holds against what punchbridge computed, key by key (pure: data in, findings out).

A key is (the target's employee id, work date): the value of the mapping's id column and the day.
Each expected record and each held record ends in exactly one finding:

- `matched`: the target holds the record and every column it shows back has the computed value (a
  day with nothing to hold, e.g. an absent day for a target of check-in times, matches when the
  target holds nothing for it);
- `missing`: punchbridge computed the record, the target holds nothing for that employee and day;
- `different`: the target holds the record with other values; `differing` names the columns;
- `extra`: the target holds a record for an employee and day punchbridge has no record for, or a
  second record for one it has (a duplicate).

Values compare by meaning, not by spelling: empty and absent are equal, numbers by value (480 and
480.0), times by instant (an offset against UTC), a naive time against one with an offset in the
day's own zone (its site's, `ExpectedRecord.timezone`; by wall clock when it has none), booleans by
truth, interval lists (`start/end;start/end`) item by item. The expected values are in the target's
stored form (`punchbridge.sync.stored`), so a value the target keeps at a lower precision compares
at that precision.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from punchbridge.plugin_api.targets import HeldRecord
from punchbridge.rules.intervals import BOUND_SEPARATOR, IntervalsError, parse_intervals

__all__ = [
    "STATUSES",
    "ExpectedRecord",
    "Finding",
    "compare",
    "daily_counts",
    "has_content",
    "is_locked",
    "same_value",
]

#: The classes of finding, in the order reports show them.
STATUSES = ("missing", "different", "extra", "matched")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class ExpectedRecord:
    """A record punchbridge computed for the target: its key, who and which day, and its fields."""

    key: str  # punchbridge's record key (EMPLOYEE|DATE|day)
    employee_id: str  # punchbridge's employee id
    target_employee: str  # the value of the mapping's id column: what the target calls the employee
    work_date: date
    fields: Mapping[str, Any]
    content_hash: str = ""
    timezone: str | None = None  # the IANA zone of the day's site: a naive held time is read in it


@dataclass(frozen=True)
class Finding:
    """One key's outcome. `action` and `detail` are filled in by the run (locks, repair); see `run`."""

    status: str  # one of STATUSES
    work_date: date
    target_employee: str
    employee_id: str | None = None  # punchbridge's id, when known
    record_key: str | None = None  # punchbridge's record key, when punchbridge has a record
    differing: tuple[str, ...] = ()
    expected: Mapping[str, Any] | None = None
    held: Mapping[str, Any] | None = None
    remote_id: str | None = None
    note: str = ""
    ledger: str = ""  # what the ledger says: delivered, rejected, or empty when never sent
    locked: bool = False
    action: str = ""
    detail: str = ""
    content_hash: str = field(default="", repr=False)


def _normal(value: Any) -> Any:
    """`value` in a form where equal meanings compare equal (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, sort_keys=True, default=str)
    text = str(value).strip()
    if not text:
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _NUMBER.fullmatch(text):
        return float(text)
    moment = _moment(text)
    if moment is not None:
        return moment
    if BOUND_SEPARATOR in text and _DATETIME.match(text):
        try:  # a target may show its intervals back in wall-clock time: those compare by wall clock
            return tuple(tuple(interval) for interval in parse_intervals(text, require_offset=False))
        except IntervalsError:
            return text  # not intervals after all: compared as it is written
    return text


def _moment(text: str) -> datetime | None:
    if not _DATETIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None


def _same_moment(left: Any, right: Any, zone: ZoneInfo | None = None) -> bool:
    if isinstance(left, datetime) and isinstance(right, datetime):
        if (left.tzinfo is None) != (right.tzinfo is None):
            if zone is not None:  # the naive one is a wall clock in the day's own zone
                left, right = (moment if moment.tzinfo else moment.replace(tzinfo=zone) for moment in (left, right))
                return left == right
            return left.replace(tzinfo=None) == right.replace(tzinfo=None)
        return left == right
    if isinstance(left, tuple) and isinstance(right, tuple):
        return len(left) == len(right) and all(_same_moment(a, b, zone) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-6)
    return bool(left == right)


def same_value(expected: Any, held: Any, timezone: str | None = None) -> bool:
    """True when a computed value and the value a target shows back mean the same thing (a naive time
    against one with an offset: as a wall clock in `timezone`, the day's site zone, when given)."""
    left, right = _normal(expected), _normal(held)
    if isinstance(left, bool) and isinstance(right, float):
        left = float(left)
    if isinstance(right, bool) and isinstance(left, float):
        right = float(right)
    if type(left) is not type(right):
        return False
    return _same_moment(left, right, _zone(timezone))


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def has_content(fields: Mapping[str, Any], skip: Collection[str]) -> bool:
    """True when some column outside `skip` holds a value (a record a target would hold something for)."""
    return any(_normal(value) is not None for name, value in fields.items() if name not in skip)


def is_locked(site: str | None, work_date: date, locks: Collection[tuple[str, str]]) -> bool:
    """True when `work_date` falls in a locked payroll period of `site` (or of every site, `*`)."""
    period = work_date.strftime("%Y-%m")
    return ("*", period) in locks or (site is not None and (site, period) in locks)


def _key(employee: Any, work_date: date) -> tuple[str, date]:
    return str(employee).strip(), work_date


def compare(
    expected: Iterable[ExpectedRecord],
    held: Iterable[HeldRecord],
    *,
    skip: Collection[str] = (),
    remote_ids: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Every finding, ordered by day, employee and status.

    `skip` are the columns never compared (the id and date columns, a `recomputed` flag).
    `remote_ids` (record key -> the id the ledger recorded) picks, among several records the target
    holds for one key, the one punchbridge wrote; the others are `extra` duplicates.
    """
    remote_ids = remote_ids or {}
    by_key: dict[tuple[str, date], list[HeldRecord]] = {}
    for one in held:
        by_key.setdefault(_key(one.employee, one.work_date), []).append(one)
    findings: list[Finding] = []
    seen: set[tuple[str, date]] = set()
    for record in expected:
        key = _key(record.target_employee, record.work_date)
        base = Finding(
            "matched", record.work_date, key[0], employee_id=record.employee_id, record_key=record.key,
            content_hash=record.content_hash,
        )  # fmt: skip
        if key in seen:
            note = "another record of punchbridge maps to the same target employee and day: check the ids"
            findings.append(replace(base, status="missing", expected=dict(record.fields), note=note))
            continue
        seen.add(key)
        candidates = by_key.pop(key, [])
        if not candidates:
            if has_content(record.fields, skip):
                findings.append(replace(base, status="missing", expected=dict(record.fields)))
            else:
                findings.append(replace(base, note="nothing to hold"))
            continue
        wanted = remote_ids.get(record.key)
        chosen = next((c for c in candidates if wanted and c.remote_id == wanted), candidates[0])
        for other in candidates:
            if other is not chosen:
                findings.append(_extra(other, record.employee_id, "duplicate: the target holds this day twice"))
        differing = tuple(
            name
            for name in record.fields
            if name in chosen.fields
            and name not in skip
            and not same_value(record.fields[name], chosen.fields[name], record.timezone)
        )
        if differing:
            findings.append(
                replace(
                    base, status="different", differing=differing, remote_id=chosen.remote_id,
                    expected={n: record.fields[n] for n in differing}, held={n: chosen.fields[n] for n in differing},
                )
            )  # fmt: skip
        else:
            findings.append(replace(base, remote_id=chosen.remote_id))
    for left_over in by_key.values():
        findings.extend(_extra(one, None, "") for one in left_over)
    order = {status: position for position, status in enumerate(STATUSES)}
    findings.sort(key=lambda f: (f.work_date, f.target_employee, order[f.status], f.remote_id or ""))
    return findings


def _extra(record: HeldRecord, employee_id: str | None, note: str) -> Finding:
    return Finding(
        "extra",
        work_date=record.work_date,
        target_employee=str(record.employee).strip(),
        employee_id=employee_id,
        held=dict(record.fields),
        remote_id=record.remote_id,
        note=note,
    )


def daily_counts(findings: Sequence[Finding], start: date, end: date) -> list[tuple[date, Counter[str]]]:
    """Findings per day of `start`..`end` and status (every day listed, empty days too)."""
    per_day: dict[date, Counter[str]] = {}
    day = start
    while day <= end:
        per_day[day] = Counter()
        day += timedelta(days=1)
    for finding in findings:
        if finding.work_date in per_day:
            per_day[finding.work_date][finding.status] += 1
    return list(per_day.items())
