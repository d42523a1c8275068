"""Webhook event bodies (docs/receiver.md): `{"id", "type", "created_at", "data"}`, read into one store write.

The event id is the replay key, and it comes from signed material only: `webhook-id` for a Standard
Webhooks delivery (it is signed), the body's `id` for a Minop one (the body is signed), or, when the
body has no `id`, `sha256:` and the SHA-256 of the signed timestamp and body (a replay of the same
delivery is recognised; a new one cannot be made without the secret). An `Idempotency-Key` header is
not signed and never used: anyone could change it to make a replay look new. What each type does:

- `punch.created`: `data` is a raw record of the cloud's pull API (docs/minop.md): `employee_id`,
  `device_id`, `timestamp` (RFC 3339 with offset), optional `direction`; its other fields (`event_id`,
  `source`, `geo`, `device_hash`, `updated_at`) are accepted and not stored. Stored as a punch, or
  quarantined when its time is implausible, like a push.
- `leave.approved`: `data` is `employee_id`, `date` (YYYY-MM-DD), `kind` (full, first_half,
  second_half; default full), `paid` (default true): stored in the leaves the rules engine reads.
- `payroll.cutoff.locked`: `data` is `period` (a label such as 2026-01), `site` (default `*`: every
  site), `locked_at` (RFC 3339; default the event's time): recorded in the store's period locks.
- `attendance.processed`, and any type this version does not know: the whole body is kept in the
  store (`Store.cloud_events`) for later use, and acknowledged.

Content that cannot be used in a correctly signed delivery gets 422 naming the field; the delivery is
not recorded, so a corrected resend with the same id is applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from punchbridge.receiver.fields import direction, identifier, scalar_extras
from punchbridge.receiver.rejection import RejectedError, field_name, shown
from punchbridge.receiver.signatures import Delivery
from punchbridge.receiver.timestamps import NotAMomentError, implausible, instant_ns, parse_rfc3339
from punchbridge.store.receiver import EventWrite, LeaveWrite, PeriodLockWrite, PunchWrite, QuarantineWrite
from punchbridge.store.schema import LEAVE_KINDS

__all__ = [
    "DATE_PATTERN",
    "EVENT_TYPES",
    "KEPT_TYPES",
    "MAX_TEXT",
    "TEXT_PATTERN",
    "WEBHOOK_SOURCE",
    "read_event",
]

#: The `source` of everything webhooks stored.
WEBHOOK_SOURCE = "receiver:webhook"
EVENT_TYPES = ("punch.created", "attendance.processed", "leave.approved", "payroll.cutoff.locked")
#: Types whose whole body is kept in the store's cloud events (besides types this version does not know).
KEPT_TYPES = ("attendance.processed",)
ENVELOPE_FIELDS = ("id", "type", "created_at", "timestamp", "data")
#: Longest `created_at` / `timestamp` text of an envelope.
MAX_TEXT = 64
_YEAR = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
#: Exactly the real dates YYYY-MM-DD of years 0001-9999 (leap days included): a date the document
#: allows is a date that exists.
DATE_PATTERN = f"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)$"
_DATE_RE = re.compile(DATE_PATTERN[1:-1])
#: `created_at` / `timestamp` of an envelope: text without control characters.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
_TEXT_RE = re.compile(TEXT_PATTERN[1:-1])


def _invalid(field: str, message: str) -> RejectedError:
    return RejectedError(422, "invalid_event", message, field=field, reason="invalid_event")


def _id(value: Any, field: str) -> str:
    return identifier(value, field, status=422)


def _flat_value(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _record(value: Any, field: str) -> Mapping[str, Any]:
    """`data`: an object whose values are flat, or lists or objects of flat values (at most two levels)."""
    if not isinstance(value, dict):
        raise _invalid(field, "must be an object" if value is not None else "is missing")
    for key, item in value.items():
        inner = item.values() if isinstance(item, dict) else item if isinstance(item, list) else [item]
        if not all(_flat_value(v) for v in inner):
            raise _invalid(
                f"{field}.{field_name(key)}",
                "holds objects or lists inside objects or lists: event data is expected to be flat records",
            )
    return value


def _text(document: Mapping[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT or not _TEXT_RE.fullmatch(value):
        raise _invalid(key, f"must be a string of at most {MAX_TEXT} characters, without control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(key, "is not valid Unicode (a lone surrogate)") from None
    return value


def _event_id(document: Mapping[str, Any], delivery: Delivery) -> str:
    body_id = _id(document["id"], "id") if "id" in document else None  # given: it must be an id (not null)
    if delivery.message_id is not None:
        return delivery.message_id  # signed with the body
    if body_id is not None:
        return body_id  # signed with the body
    # What was signed: a replay carries the same timestamp and body; a new delivery needs the secret.
    return f"sha256:{delivery.signed_digest}"


def _punch(data: Mapping[str, Any], now: datetime, past_days: int, future_minutes: int) -> PunchWrite | QuarantineWrite:
    employee = _id(data.get("employee_id"), "data.employee_id")
    device = _id(data.get("device_id"), "data.device_id")
    way = direction(data.get("direction"), "data.direction", status=422)
    stamp = data.get("timestamp")
    if not isinstance(stamp, str):
        raise _invalid("data.timestamp", "is missing" if stamp is None else "must be a string")
    try:
        moment = parse_rfc3339(stamp)
        why = implausible(moment, now, past_days, future_minutes)
    except NotAMomentError as exc:
        moment, why = None, f"timestamp {shown(stamp)} is {exc}"
    except ValueError as exc:
        raise _invalid("data.timestamp", f"{shown(stamp)} {exc}") from None
    if why is not None or moment is None:
        return QuarantineWrite(
            source=WEBHOOK_SOURCE,
            employee_id=employee,
            timestamp=stamp,
            device_id=device,
            direction=way,
            reason="implausible_timestamp",
            detail=why,
        )
    return PunchWrite(employee, instant_ns(moment), device, way, WEBHOOK_SOURCE)


def _leave(data: Mapping[str, Any]) -> LeaveWrite:
    employee = _id(data.get("employee_id"), "data.employee_id")
    day_text = data.get("date")
    if not isinstance(day_text, str) or not _DATE_RE.fullmatch(day_text):
        raise _invalid("data.date", f"{shown(day_text)} is not a date like 2026-01-08")
    try:
        day = date.fromisoformat(day_text)
    except ValueError as exc:
        raise _invalid("data.date", f"{shown(day_text)} is not a real date ({exc})") from None
    kind = data.get("kind", "full")
    if kind not in LEAVE_KINDS:
        raise _invalid("data.kind", f"{shown(kind)} is not a leave kind ({', '.join(LEAVE_KINDS)})")
    paid = data.get("paid", True)
    if not isinstance(paid, bool):
        raise _invalid("data.paid", f"must be true or false, not {shown(paid)}")
    return LeaveWrite(employee_id=employee, date=day, kind=str(kind), paid=paid)


def _lock(data: Mapping[str, Any], created_at: str | None, now: datetime) -> PeriodLockWrite:
    period = _id(data.get("period"), "data.period")
    site = _id(data["site"], "data.site") if data.get("site") is not None else "*"
    locked_at = data.get("locked_at")
    if locked_at is not None:
        if not isinstance(locked_at, str):
            raise _invalid("data.locked_at", "must be a string")
        try:
            parse_rfc3339(locked_at)
        except NotAMomentError:
            pass  # the right shape: kept as the cloud wrote it
        except ValueError as exc:
            raise _invalid("data.locked_at", f"{shown(locked_at)} {exc}") from None
    else:
        locked_at = created_at or now.isoformat().replace("+00:00", "Z")
    return PeriodLockWrite(site=site, period=period, locked_at=locked_at)


def read_event(
    document: Mapping[str, Any],
    delivery: Delivery,
    now: datetime,
    past_days: int,
    future_minutes: int,
) -> EventWrite:
    """The store write of a verified delivery's event (`RejectedError` 422/400 naming the field otherwise)."""
    scalar_extras(document, ENVELOPE_FIELDS, "", status=422)
    event_id = _event_id(document, delivery)
    kind = document.get("type")
    if kind is None:
        raise _invalid("type", "is missing (punch.created, attendance.processed, leave.approved, ...)")
    event_type = _id(kind, "type")
    created_text, timestamp_text = _text(document, "created_at"), _text(document, "timestamp")
    created_at = created_text or timestamp_text or None
    data = _record(document.get("data"), "data")
    effects: tuple[PunchWrite | QuarantineWrite | LeaveWrite | PeriodLockWrite, ...] = ()
    payload: str | None = None
    if event_type == "punch.created":
        effects = (_punch(data, now, past_days, future_minutes),)
    elif event_type == "leave.approved":
        effects = (_leave(data),)
    elif event_type == "payroll.cutoff.locked":
        effects = (_lock(data, created_at, now),)
    else:
        # Escaped to ASCII: a payload may hold any character JSON can (NUL too), the database not.
        payload = json.dumps(document, ensure_ascii=True, separators=(",", ":"))
    return EventWrite(
        event_id=event_id,
        event_type=event_type,
        scheme=delivery.scheme,
        source=WEBHOOK_SOURCE,
        created_at=created_at,
        effects=effects,
        payload=payload,
    )
