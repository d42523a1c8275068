"""The two shapes of a terminal's real-time push (docs/receiver.md), read into a punch or a quarantined one.

Flat (the vendor's first page), answered with the body `ok`:

    {"stgid": "device001", "UserID": "123", "LogTime": "2026-01-08 17:30:00", "Type": "1", ...}

`Type` there is the verification input (1 fingerprint, 15 face, 4 card): it is *not* the direction.
The direction, when the terminal gives one, is `Status` (ZKTeco's punch state: a digit 0-5 or a word).

Nested (the integration guide), answered with `receiver.nested_reply` (default `{"status": "1"}`):

    {"RealTime": {"AuthToken": "...", "OperationID": "...", "Time": "...",
                  "PunchLog": {"UserId": "123", "LogTime": "2026-01-08T11:09:09Z", "Type": "CheckIn",
                               "InputType": "Face", "Temperature": "36.5", "FaceMask": "1"}}}

`Type` there *is* the direction (a word or a digit 0-5) and `InputType` the verification input.

The device (`stgid`) may be named in the query (`?stgid=`, as the cloud document says), in the body
(the first page), or in the URL (`POST /push/{stgid}`); where it is named more than once, the names
must be equal. `RealTime.AuthToken` may carry the device's push token.

In both shapes the user is `UserID` or `UserId` (the vendor spells it both ways); `Temperature` and
`FaceMask` are checked for type and not stored (health data punchbridge has no use for). Fields the
receiver does not know are ignored if they hold flat values.

A terminal keeps a punch until it gets the reply its shape expects and sends it again, oldest first:
refusing one authentic punch would stall the terminal's queue behind it for good. So once the device
is authenticated, a punch that cannot be used (a malformed user id, direction or time, a field of the
wrong type) is quarantined with the body it came in (`QuarantineWrite.raw`, token and health data
masked) and the reason, and acknowledged like a stored punch. Only what comes before authentication
can be refused: a body that is not a JSON object, and a push that names no device, or two.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from punchbridge.receiver.fields import direction, identifier, optional_scalar, scalar_extras
from punchbridge.receiver.rejection import RejectedError, shown
from punchbridge.receiver.timestamps import NotAMomentError, implausible, instant_ns, parse_log_time
from punchbridge.store.receiver import PunchWrite, QuarantineWrite

__all__ = ["MASKED_FIELDS", "PUSH_SOURCE", "PushEnvelope", "kept_body", "read_envelope", "read_punch"]

#: The `source` of punches and quarantine rows that came in by push.
PUSH_SOURCE = "receiver:push"
#: Fields whose values a quarantined push's kept body never holds: the token, and health data.
MASKED_FIELDS = frozenset({"AuthToken", "Temperature", "FaceMask"})
_MASK = "***"

FLAT_FIELDS = ("stgid", "UserID", "UserId", "LogTime", "Type", "Status", "Temperature", "FaceMask")
NESTED_FIELDS = ("RealTime", "stgid")
REALTIME_FIELDS = ("AuthToken", "OperationID", "PunchLog", "Time")
PUNCH_LOG_FIELDS = ("UserId", "UserID", "LogTime", "Type", "InputType", "Temperature", "FaceMask")
_SHOWN_TEXT = 200


@dataclass(frozen=True)
class PushEnvelope:
    """What is needed to authenticate a push before reading its punch."""

    shape: Literal["flat", "nested"]
    device_id: str
    body_token: str | None


def _device_names(
    document: Mapping[str, Any], url_device: str | None, query_device: str | None
) -> list[tuple[str, str]]:
    """(where, device) for each place that names the device: the URL, the query, the body."""
    named: list[tuple[str, str]] = []
    if url_device is not None:
        named.append(("the URL", identifier(url_device, "stgid")))
    if query_device:  # `?stgid=` with nothing after it names nothing
        named.append(("the query (?stgid=)", identifier(query_device, "stgid")))
    if document.get("stgid") is not None:
        named.append(("the body", identifier(document["stgid"], "stgid")))
    return named


def read_envelope(document: Mapping[str, Any], url_device: str | None, query_device: str | None = None) -> PushEnvelope:
    """The shape, the device (query `?stgid=`, body `stgid` or URL `/push/{stgid}`) and any token in the body.

    `RejectedError` 400 when no device is named, or two different ones: the push cannot be authenticated,
    and nothing else of the body is looked at until it is.
    """
    named = _device_names(document, url_device, query_device)
    if not named:
        raise RejectedError(
            400, "missing_field",
            "no device: stgid is missing (in the query ?stgid=, in the body, or in the URL /push/{stgid})",
            field="stgid",
        )  # fmt: skip
    where, device = named[0]
    for elsewhere, other in named[1:]:
        if other != device:
            message = f"differs from the device named in {where}" if elsewhere == "the body" else (
                f"the device named in {elsewhere} differs from the one named in {where}"
            )  # fmt: skip
            raise RejectedError(400, "invalid_field", message, field="stgid")
    shape: Literal["flat", "nested"] = "nested" if "RealTime" in document else "flat"
    body_token: str | None = None
    realtime = document.get("RealTime")
    if isinstance(realtime, dict) and isinstance(realtime.get("AuthToken"), str):
        body_token = realtime["AuthToken"] or None
    return PushEnvelope(shape=shape, device_id=device, body_token=body_token)


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        raise RejectedError(400, "missing_field", "is missing", field=field)
    if not isinstance(value, dict):
        raise RejectedError(400, "invalid_field", "must be an object", field=field)
    return value


def _record(document: Mapping[str, Any], shape: str) -> tuple[Mapping[str, Any], str]:
    """The punch record of the body and its field path prefix ("" or "RealTime.PunchLog.")."""
    if shape == "flat":
        return document, ""
    realtime = _object(document["RealTime"], "RealTime")
    return _object(realtime.get("PunchLog"), "RealTime.PunchLog"), "RealTime.PunchLog."


def _user(record: Mapping[str, Any], prefix: str) -> str:
    spellings = [key for key in ("UserID", "UserId") if record.get(key) is not None]
    if len(spellings) == 1:  # as nearly every terminal sends it
        return identifier(record[spellings[0]], prefix + spellings[0], integers=True)
    if not spellings:
        key = "UserId" if prefix else "UserID"
        raise RejectedError(400, "missing_field", "is missing (the employee's id on the terminal)", field=prefix + key)
    users = {key: identifier(record[key], prefix + key, integers=True) for key in spellings}
    if len(set(users.values())) > 1:
        raise RejectedError(
            400, "invalid_field", "UserID and UserId are both given and differ", field=prefix + "UserID"
        )
    return users[spellings[0]]


def _check_nested_extras(document: Mapping[str, Any]) -> None:
    scalar_extras(document, NESTED_FIELDS, "")
    realtime = document["RealTime"]
    scalar_extras(realtime, REALTIME_FIELDS, "RealTime.")
    optional_scalar(realtime, "AuthToken", "RealTime.AuthToken", "s")
    optional_scalar(realtime, "OperationID", "RealTime.OperationID", "si")
    optional_scalar(realtime, "Time", "RealTime.Time", "s")


class _TimeError(RejectedError):
    """LogTime is there but not a time: quarantined as `bad_timestamp`."""


def read_punch(
    document: Mapping[str, Any],
    envelope: PushEnvelope,
    zone: str,
    now: datetime,
    past_days: int,
    future_minutes: int,
    body: bytes,
) -> PunchWrite | QuarantineWrite:
    """The punch of an authenticated push, or its quarantine row when it cannot be used or its time
    cannot be trusted (`body` is kept with the row, masked: see `kept_body`).

    Unknown employees are stored like any other: the employees file decides at sync time who exists
    (the rules engine quarantines the others).
    """
    try:
        return _punch(document, envelope, zone, now, past_days, future_minutes, body)
    except RejectedError as exc:
        reason = "bad_timestamp" if isinstance(exc, _TimeError) else "malformed_record"
        detail = f"{exc.field}: {exc.message}" if exc.field else exc.message
        return _unusable(document, envelope, body, reason, detail)


def _punch(
    document: Mapping[str, Any],
    envelope: PushEnvelope,
    zone: str,
    now: datetime,
    past_days: int,
    future_minutes: int,
    body: bytes,
) -> PunchWrite | QuarantineWrite:
    record, prefix = _record(document, envelope.shape)
    if envelope.shape == "nested":
        _check_nested_extras(document)
        scalar_extras(record, PUNCH_LOG_FIELDS, prefix)
        way = direction(record.get("Type"), prefix + "Type")
        optional_scalar(record, "InputType", prefix + "InputType", "si")
    else:
        scalar_extras(record, FLAT_FIELDS, prefix)
        way = direction(record.get("Status"), "Status")
        optional_scalar(record, "Type", "Type", "si")
    for name in ("Temperature", "FaceMask"):
        optional_scalar(record, name, prefix + name)
    employee = _user(record, prefix)
    log_time = record.get("LogTime")
    if log_time is None:
        raise RejectedError(400, "missing_field", "is missing (the time of the punch)", field=prefix + "LogTime")
    if not isinstance(log_time, str):
        raise _TimeError(400, "invalid_field", f"must be a string, not {shown(log_time)}", field=prefix + "LogTime")
    try:
        moment = parse_log_time(log_time, zone)
    except NotAMomentError as exc:
        return _implausible(envelope, employee, log_time, way, f"LogTime {shown(log_time)} is {exc}", body, document)
    except ValueError as exc:
        raise _TimeError(400, "invalid_field", f"{shown(log_time)} {exc}", field=prefix + "LogTime") from None
    why = implausible(moment, now, past_days, future_minutes)
    if why is not None:
        return _implausible(envelope, employee, log_time, way, why, body, document)
    return PunchWrite(
        employee_id=employee,
        instant_ns=instant_ns(moment),
        device_id=envelope.device_id,
        direction=way,
        source=PUSH_SOURCE,
    )


def _implausible(
    envelope: PushEnvelope,
    employee: str,
    log_time: str,
    way: str | None,
    why: str,
    body: bytes,
    document: Mapping[str, Any],
) -> QuarantineWrite:
    return QuarantineWrite(
        source=PUSH_SOURCE,
        employee_id=employee,
        timestamp=log_time,
        device_id=envelope.device_id,
        direction=way,
        reason="implausible_timestamp",
        detail=why,
        raw=kept_body(body, document),
    )


def _unusable(
    document: Mapping[str, Any], envelope: PushEnvelope, body: bytes, reason: str, detail: str
) -> QuarantineWrite:
    """The quarantine row of a push that could not be read: whatever of it can be shown, and its body."""
    record: Mapping[str, Any] = {}
    try:
        record, prefix = _record(document, envelope.shape)
    except RejectedError:
        prefix = ""
    user = next((record[key] for key in ("UserID", "UserId") if record.get(key) is not None), None)
    log_time = record.get("LogTime")
    try:
        way = direction(record.get("Status" if envelope.shape == "flat" else "Type"), prefix + "Type")
    except RejectedError:
        way = None
    return QuarantineWrite(
        source=PUSH_SOURCE,
        employee_id=_as_text(user),
        timestamp=_as_text(log_time),
        device_id=envelope.device_id,
        direction=way,
        reason=reason,
        detail=detail,
        raw=kept_body(body, document),
        raw_digest=_push_digest(document),
    )


def _as_text(value: Any) -> str | None:
    """A value of the push as the quarantine shows it (JSON for anything but text), cut short."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=True)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate, escaped
    return text[:_SHOWN_TEXT].replace("\x00", "\\u0000")


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (_MASK if k in MASKED_FIELDS and v is not None else _masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _holds_masked(value: Any) -> bool:
    if isinstance(value, dict):
        return any((k in MASKED_FIELDS and v is not None) or _holds_masked(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_masked(item) for item in value)
    return False


def kept_body(body: bytes, document: Mapping[str, Any]) -> str:
    """The body a quarantined push is kept with: as received, unless it holds the token or health data
    (`MASKED_FIELDS`); then the JSON again, compact and ASCII-escaped, with those values as "***"."""
    if not _holds_masked(document):
        return body.decode("utf-8")  # the parser read it as UTF-8 JSON: text a column can hold
    return json.dumps(_masked(document), ensure_ascii=True, separators=(",", ":"))


def _push_digest(document: Mapping[str, Any]) -> str:
    """What identifies a push across the terminal's resends: its content, without the nested shape's
    send time (`RealTime.Time`, new on each attempt) and without masked values."""
    content = _masked(document)
    realtime = content.get("RealTime")
    if isinstance(realtime, dict):
        content = {**content, "RealTime": {k: v for k, v in realtime.items() if k != "Time"}}
    canonical = json.dumps(content, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
