"""The two shapes of a terminal's real-time push (docs/receiver.md), read into a punch or a quarantined one.

Flat (the vendor's first page), answered with the body `ok`:

    {"stgid": "device001", "UserID": "123", "LogTime": "2026-01-08 17:30:00", "Type": "1", ...}

`Type` there is the verification input (1 fingerprint, 15 face, 4 card): it is *not* the direction.
The direction, when the terminal gives one, is `Status` (ZKTeco's punch state: a digit 0-5 or a word).

Nested (the integration guide), answered with `receiver.nested_reply` (default `{"status": "1"}`):

    {"RealTime": {"AuthToken": "...", "OperationID": "...", "Time": "...",
                  "PunchLog": {"UserId": "123", "LogTime": "2026-01-08T11:09:09Z", "Type": "CheckIn",
                               "InputType": "Face", "Temperature": "36.5", "FaceMask": "1"}}}

`Type` there *is* the direction (a word or a digit 0-5) and `InputType` the verification input. The
nested shape names no device: it comes from the URL (`POST /push/{stgid}`, the listener URL configured
per terminal) or from `stgid` at the top level of the body. `RealTime.AuthToken` may carry the
device's push token.

In both shapes the user is `UserID` or `UserId` (the vendor spells it both ways); `Temperature` and
`FaceMask` are checked for type and not stored (health data punchbridge has no use for). Fields the
receiver does not know are ignored if they hold flat values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from punchbridge.receiver.fields import direction, identifier, optional_scalar, scalar_extras
from punchbridge.receiver.rejection import RejectedError, shown
from punchbridge.receiver.timestamps import NotAMomentError, implausible, instant_ns, parse_log_time
from punchbridge.store.receiver import PunchWrite, QuarantineWrite

__all__ = ["PUSH_SOURCE", "PushEnvelope", "read_envelope", "read_punch"]

#: The `source` of punches and quarantine rows that came in by push.
PUSH_SOURCE = "receiver:push"

FLAT_FIELDS = ("stgid", "UserID", "UserId", "LogTime", "Type", "Status", "Temperature", "FaceMask")
NESTED_FIELDS = ("RealTime", "stgid")
REALTIME_FIELDS = ("AuthToken", "OperationID", "PunchLog", "Time")
PUNCH_LOG_FIELDS = ("UserId", "UserID", "LogTime", "Type", "InputType", "Temperature", "FaceMask")


@dataclass(frozen=True)
class PushEnvelope:
    """What is needed to authenticate a push before reading its punch."""

    shape: Literal["flat", "nested"]
    device_id: str
    body_token: str | None
    record: Mapping[str, Any]  # the punch: the whole body (flat) or RealTime.PunchLog (nested)
    prefix: str  # field path of `record` in replies ("" or "RealTime.PunchLog.")


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        raise RejectedError(400, "missing_field", "is missing", field=field)
    if not isinstance(value, dict):
        raise RejectedError(400, "invalid_field", "must be an object", field=field)
    return value


def read_envelope(document: Mapping[str, Any], url_device: str | None) -> PushEnvelope:
    """The shape, the device (from the body, or the URL `/push/{stgid}`) and any token in the body.

    `RejectedError` 400 when they cannot be read, before the device is authenticated: nothing else of the
    body is looked at until then.
    """
    body_token: str | None = None
    if "RealTime" in document:
        shape: Literal["flat", "nested"] = "nested"
        realtime = _object(document["RealTime"], "RealTime")
        record = _object(realtime.get("PunchLog"), "RealTime.PunchLog")
        prefix = "RealTime.PunchLog."
        token = realtime.get("AuthToken")
        if token is not None and not isinstance(token, str):
            raise RejectedError(400, "invalid_field", "must be a string", field="RealTime.AuthToken")
        body_token = token or None
    else:
        shape, record, prefix = "flat", document, ""
    body_device = document.get("stgid")
    if url_device is not None:
        device = identifier(url_device, "stgid")
        if body_device is not None and identifier(body_device, "stgid") != device:
            raise RejectedError(400, "invalid_field", "differs from the device named in the URL", field="stgid")
    elif body_device is not None:
        device = identifier(body_device, "stgid")
    else:
        raise RejectedError(
            400, "missing_field", "no device: stgid is missing (in the body, or in the URL /push/{stgid})",
            field="stgid",
        )  # fmt: skip
    return PushEnvelope(shape=shape, device_id=device, body_token=body_token, record=record, prefix=prefix)


def _user(record: Mapping[str, Any], prefix: str) -> str:
    spellings = [key for key in ("UserID", "UserId") if record.get(key) is not None]
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
    optional_scalar(realtime, "OperationID", "RealTime.OperationID", "si")
    optional_scalar(realtime, "Time", "RealTime.Time", "s")


def read_punch(
    document: Mapping[str, Any],
    envelope: PushEnvelope,
    zone: str,
    now: datetime,
    past_days: int,
    future_minutes: int,
) -> PunchWrite | QuarantineWrite:
    """The punch of an authenticated push, or its quarantine row when its time cannot be trusted.

    `RejectedError` 400 names the first malformed field. Unknown employees are stored like any other:
    the employees file decides at sync time who exists (the rules engine quarantines the others).
    """
    record, prefix = envelope.record, envelope.prefix
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
        raise RejectedError(400, "invalid_field", f"must be a string, not {shown(log_time)}", field=prefix + "LogTime")
    try:
        moment = parse_log_time(log_time, zone)
    except NotAMomentError as exc:
        return _held(envelope, employee, log_time, way, f"LogTime {shown(log_time)} is {exc}")
    except ValueError as exc:
        raise RejectedError(400, "invalid_field", f"{shown(log_time)} {exc}", field=prefix + "LogTime") from None
    why = implausible(moment, now, past_days, future_minutes)
    if why is not None:
        return _held(envelope, employee, log_time, way, why)
    return PunchWrite(
        employee_id=employee,
        instant_ns=instant_ns(moment),
        device_id=envelope.device_id,
        direction=way,
        source=PUSH_SOURCE,
    )


def _held(envelope: PushEnvelope, employee: str, log_time: str, way: str | None, why: str) -> QuarantineWrite:
    return QuarantineWrite(
        source=PUSH_SOURCE,
        employee_id=employee,
        timestamp=log_time,
        device_id=envelope.device_id,
        direction=way,
        reason="implausible_timestamp",
        detail=why,
    )
