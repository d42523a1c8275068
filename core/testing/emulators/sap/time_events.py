"""The Clock In Clock Out Time Events REST API as the SuccessFactors emulator serves it (pure: data in, reply out).

What it enforces, and where each rule comes from:

- The body is a JSON array of events `{id, assignmentId, typeCode, timestamp, terminalId?,
  timeTypeCode?}`: `id` 1 to 36 letters, digits or hyphens (a number or a UUID), `assignmentId`
  1 to 100, `typeCode` 1 to 20 word characters or hyphens, `timestamp` ISO-8601 to the second with
  an offset (`+05:30` or `+0530`), `terminalId` 1 to 30, `timeTypeCode` 1 to 128 (SAP's API
  specification ClockInClockOut.json on api.sap.com, as a third party summarised it). A body that breaks the
  schema is refused whole: HTTP 400 `{"status": "BAD_REQUEST", "message": "Request Validation
  Error", "errors": [...]}` (the specification's error response; the texts of `errors` are the
  emulator's, after its one example "The id must not be blank.").
- At most 1,000 events a call and 200 of one user (SAP KBA 3216279; KBA 3364562 is titled "The
  maximum number of time events for a user in a request should not be greater than 200"): more is
  refused whole with HTTP 400.
- Each event is judged alone, and the reply is HTTP 201 with `succeededTimeEvents` (`{UUID, id}`) and
  `failedTimeEvents` (`{errorText, id}`). An event whose employee and instant SuccessFactors already
  holds fails with "A time event for this employee and timestamp already exists." (the
  specification's example); an unknown assignment or type code fails too (the emulator's words:
  SAP's are not published).
- `id` must be unique in a call: the reply correlates by it ("Unique ID of the item in API call").
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["DUPLICATE", "HeldEvent", "TimeEventStore"]

DUPLICATE = "A time event for this employee and timestamp already exists."
_ID = re.compile(r"[A-Za-z0-9-]{1,36}")
_TYPE_CODE = re.compile(r"[\w-]{1,20}")
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(Z|[+-]\d{2}:?\d{2})")
_FIELDS = {"id", "assignmentId", "typeCode", "timestamp", "terminalId", "timeTypeCode"}


@dataclass(frozen=True)
class HeldEvent:
    """One time event SuccessFactors holds."""

    uuid: str
    assignment: str
    type_code: str
    moment: datetime  # aware, UTC
    terminal: str | None = None
    time_type: str | None = None


def _moment(text: str) -> datetime | None:
    found = _TIMESTAMP.fullmatch(text)
    if found is None:
        return None
    offset = found.group(2)
    if offset != "Z" and ":" not in offset:
        offset = offset[:3] + ":" + offset[3:]
    try:
        return datetime.fromisoformat(found.group(1) + offset.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _schema_errors(position: int, event: Any) -> list[str]:
    """What is wrong with one event of the body (empty: nothing)."""
    if not isinstance(event, dict):
        return [f"Time event {position} is not an object."]
    errors = [f"Unknown property {name}." for name in sorted(set(event) - _FIELDS)]
    for name, limit, pattern in (("id", 36, _ID), ("assignmentId", 100, None), ("typeCode", 20, _TYPE_CODE)):
        value = event.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"The {name} must not be blank.")
        elif len(value) > limit or (pattern is not None and not pattern.fullmatch(value)):
            errors.append(f"The {name} {value!r} is not valid.")
    stamp = event.get("timestamp")
    if not isinstance(stamp, str) or _moment(stamp) is None:
        errors.append(f"The timestamp {stamp!r} is not a date and time with offset (yyyy-MM-dd'T'HH:mm:ssZ).")
    for name, limit in (("terminalId", 30), ("timeTypeCode", 128)):
        value = event.get(name)
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= limit):
            errors.append(f"The {name} must be 1 to {limit} characters.")
    return errors


class TimeEventStore:
    """The time events a company holds, and the Time Events API's POST (see the module docstring)."""

    def __init__(self, type_codes: frozenset[str], *, per_call: int = 1000, per_user: int = 200) -> None:
        self.type_codes, self.per_call, self.per_user = type_codes, per_call, per_user
        self.events: dict[str, HeldEvent] = {}
        self._instants: set[tuple[str, datetime]] = set()

    def post(
        self, body: Any, known_user: Callable[[str], bool], refused: Mapping[str, str]
    ) -> tuple[int, dict[str, Any], list[HeldEvent]]:
        """The reply to a POST of `body`: (status, JSON body, events created). `refused` maps a user to the
        refusal every event of theirs gets."""
        if not isinstance(body, list) or not body:
            return 400, _invalid(["The request body must be a non-empty array of time events."]), []
        if len(body) > self.per_call:
            return 400, _invalid([f"A maximum of {self.per_call} time events can be sent with one API call."]), []
        errors = [error for position, event in enumerate(body, 1) for error in _schema_errors(position, event)]
        ids = Counter(event.get("id") for event in body if isinstance(event, dict))
        errors += [f"The id {event_id!r} is used more than once." for event_id, n in ids.items() if n > 1]
        if errors:
            return 400, _invalid(errors), []
        users = Counter(event["assignmentId"] for event in body)
        crowded = sorted(user for user, n in users.items() if n > self.per_user)
        if crowded:
            text = "The maximum number of time events for a user in a request should not be greater than"
            return 400, _invalid([f"{text} {self.per_user} (user {crowded[0]}: {users[crowded[0]]})."]), []
        succeeded, failed, created = [], [], []
        for event in body:
            problem = self._refusal(event, known_user, refused)
            if problem:
                failed.append({"errorText": problem, "id": event["id"]})
                continue
            held = HeldEvent(
                uuid.uuid4().hex,
                event["assignmentId"],
                event["typeCode"],
                _moment(event["timestamp"]),  # type: ignore[arg-type]  # checked by _schema_errors
                event.get("terminalId"),
                event.get("timeTypeCode"),
            )
            self.events[held.uuid] = held
            self._instants.add((held.assignment, held.moment))
            created.append(held)
            succeeded.append({"UUID": held.uuid, "id": event["id"]})
        return 201, {"succeededTimeEvents": succeeded, "failedTimeEvents": failed}, created

    def _refusal(self, event: Mapping[str, Any], known_user: Callable[[str], bool], refused: Mapping[str, str]) -> str:
        user = event["assignmentId"]
        if not known_user(user):
            return f"The assignment ID {user} does not exist."
        if user in refused:
            return refused[user]
        if event["typeCode"] not in self.type_codes:
            return f"The time event type {event['typeCode']} does not exist."
        if (user, _moment(event["timestamp"])) in self._instants:
            return DUPLICATE
        return ""

    def rows(self, entity: str) -> list[dict[str, Any]]:
        """The events as rows of the OData entity `entity` the emulator reads them from."""
        return [
            {
                "__metadata": {"uri": f"{entity}('{held.uuid}')", "type": f"SFOData.{entity}"},
                "UUID": held.uuid,
                "assignmentId": held.assignment,
                "typeCode": held.type_code,
                "timestamp": f"/Date({round(held.moment.timestamp() * 1000)}+0000)/",
                "terminalId": held.terminal,
                "timeTypeCode": held.time_type,
            }
            for held in self.events.values()
        ]


def _invalid(errors: list[str]) -> dict[str, Any]:
    return {"status": "BAD_REQUEST", "message": "Request Validation Error", "errors": errors}
