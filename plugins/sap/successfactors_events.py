"""Clock events to SuccessFactors through the Clock In Clock Out Time Events REST API (SAP KBA 3216279).

`POST {api_server}/rest/timemanagement/timeeventprocessing/v1/TimeEvents` takes a JSON array of
events, each `{id, assignmentId, typeCode, timestamp[, terminalId][, timeTypeCode]}`: `id` is the
event's number in the call (the schema: "Unique ID of the item in API call", 1 to 36 characters),
`timestamp` ISO-8601 to the second with the site's offset (`2025-10-06T09:02:00+05:30`). The reply,
HTTP 201, answers every event by its `id` in `succeededTimeEvents` (`{UUID, id}`) or
`failedTimeEvents` (`{errorText, id}`): a call lands in part. (Names and shapes: SAP's API
specification ClockInClockOut.json as summarised by a third party, and two client code bases that
call this API; the settings `time_events.*` hold them.)

SuccessFactors refuses an event whose employee and timestamp it already holds ("A time event for
this employee and timestamp already exists."): that is the same event sent before (a resend after a
crash or a lost reply, or an unchanged event of a recomputed day), so it counts as delivered, as the
client code that calls this API counts it. A day is delivered when each of its events was created
or was already there; its `remote_id` is the UUIDs SuccessFactors gave the events it created in
this call, comma-separated, which the mass-delete API (SAP KBA 3388522) takes.

Nothing here deletes: the API only creates, so an event a recomputed day no longer has stays in
SuccessFactors (docs/plugins/sap.md, "How it behaves in your system").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from punchbridge.plugin_api import Outcome, Record, TargetReplyError, clip
from punchbridge.plugins.sap.successfactors_client import SuccessFactorsClient
from punchbridge.plugins.sap.successfactors_settings import SuccessFactorsSettings
from punchbridge.plugins.sap.time_events import TimeEvent

__all__ = ["DayEvents", "EventResult", "day_payloads", "event_results", "send_event_calls"]

log = logging.getLogger("punchbridge.plugins.sap.successfactors")

API = "Time Events REST API"


@dataclass
class DayEvents:
    """One record as the clock events it becomes: who, which day, and one request body item per event."""

    record: Record
    user: str
    work_date: date
    payloads: list[dict[str, Any]] = field(default_factory=list)
    #: The local time of each event, for messages.
    moments: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class EventResult:
    """What SuccessFactors did with one event: created (its UUID), already there, or refused (its words)."""

    ok: bool
    uuid: str | None = None
    message: str = ""


def day_payloads(
    events: Sequence[TimeEvent], user: str, terminal: str | None, settings: SuccessFactorsSettings
) -> list[dict[str, Any]]:
    """The request body items of a day's events (without `id`, which each call numbers)."""
    api = settings.time_events
    names = api.fields
    payloads = []
    for event in events:
        payload: dict[str, Any] = {
            names.assignment: user,
            names.type_code: getattr(api.types, event.kind),
            names.timestamp: event.moment.replace(microsecond=0).isoformat(),
        }
        if terminal:
            payload[names.terminal] = terminal
        if api.time_type_code and event.kind == "clock_in":
            payload[names.time_type] = api.time_type_code
        payloads.append(payload)
    return payloads


def _answers(body: Mapping[str, Any], name: str, where: str) -> list[Mapping[str, Any]]:
    items = body.get(name, [])
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise TargetReplyError(f"{where}: the {API} answered a {name} that is not a list of objects")
    return items


def event_results(
    body: Any, ids: Sequence[str], settings: SuccessFactorsSettings, where: str
) -> dict[str, EventResult]:
    """Each sent `id`'s result; TargetReplyError when the reply does not answer every event exactly once."""
    if not isinstance(body, Mapping) or not ({"succeededTimeEvents", "failedTimeEvents"} & set(body)):
        raise TargetReplyError(
            f"{where}: the {API} answered without succeededTimeEvents or failedTimeEvents; cannot tell which "
            "events landed"
        )
    duplicate = settings.time_events.duplicate_text.lower()
    results: dict[str, EventResult] = {}
    answered = [(item, True) for item in _answers(body, "succeededTimeEvents", where)]
    answered += [(item, False) for item in _answers(body, "failedTimeEvents", where)]
    for item, succeeded in answered:
        event_id = str(item.get("id", ""))
        if event_id not in ids or event_id in results:
            raise TargetReplyError(f"{where}: the {API} answered event id {event_id!r}, which was not sent once")
        if succeeded:
            uuid = item.get("UUID")
            results[event_id] = EventResult(True, str(uuid) if uuid else None)
            continue
        text = clip(str(item.get("errorText") or "refused without a message"))
        results[event_id] = EventResult(duplicate in text.lower(), None, "" if duplicate in text.lower() else text)
    missing = [event_id for event_id in ids if event_id not in results]
    if missing:
        raise TargetReplyError(
            f"{where}: the {API} answered {len(results)} of {len(ids)} events (not id {missing[0]}); cannot tell "
            "which landed"
        )
    return results


def send_event_calls(
    client: SuccessFactorsClient,
    settings: SuccessFactorsSettings,
    calls: Sequence[Sequence[tuple[DayEvents, int]]],
) -> dict[str, Outcome]:
    """POST each call (a list of (day, index of its event)); one outcome per day sent, by record key."""
    where = client.where
    id_field = settings.time_events.fields.id
    created: dict[str, list[str]] = {}
    refused: dict[str, list[str]] = {}
    days: dict[str, DayEvents] = {}
    for call in calls:
        body = []
        for number, (day, index) in enumerate(call, start=1):
            body.append({id_field: str(number), **day.payloads[index]})
            days[day.record.key] = day
        ids = [str(number) for number in range(1, len(call) + 1)]
        reply = client.call(API, "POST", settings.time_events_url, json=body, identity=client.event_identity)
        results = event_results(reply, ids, settings, where)
        for number, (day, index) in enumerate(call, start=1):
            result = results[str(number)]
            key = day.record.key
            if not result.ok:
                kind = day.payloads[index][settings.time_events.fields.type_code]
                refused.setdefault(key, []).append(f"{kind} at {day.moments[index].isoformat()}: {result.message}")
            elif result.uuid:
                created.setdefault(key, []).append(result.uuid)
    outcomes = {}
    for key, day in days.items():
        uuids = created.get(key, [])
        if key in refused:
            landed = f" ({len(uuids)} of its events landed; they are not sent twice)" if uuids else ""
            outcomes[key] = Outcome(
                key,
                False,
                message=f"SuccessFactors refused clock events of {day.user} on {day.work_date}: "
                + "; ".join(refused[key])
                + landed,
            )
        else:
            outcomes[key] = Outcome(key, True, remote_id=",".join(uuids) or None)
    log.info("%s: %d clock events of %d days in %d calls", where, sum(map(len, calls)), len(days), len(calls))
    return outcomes
