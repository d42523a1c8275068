"""The receiver's OpenAPI description: request and reply bodies exactly as the handlers read and write them.

The handlers read raw bodies themselves (for size limits, strict JSON and replies that name the field),
so FastAPI cannot derive the bodies from type hints; they are described here instead, from the same
patterns the checks use (`fields`, `timestamps`, `events`). A request the document allows is one the
receiver accepts (given a known device and its token, or a valid signature), and the other way round:
the schemathesis test in tests/receiver holds both to that.

A push body is `FlatPush` or `NestedPush` when its punch can be used; any other JSON object within
`receiver.max_json_depth` that names the device consistently is accepted too (`UnusablePush`): the
receiver acknowledges it and keeps it in the quarantine, so a terminal never stalls behind it.
"""

from __future__ import annotations

import json
from typing import Any

from punchbridge.receiver.events import DATE_PATTERN, EVENT_TYPES, MAX_TEXT, TEXT_PATTERN
from punchbridge.receiver.fields import DIRECTION_PATTERN, ID_PATTERN, SCALAR_TYPES
from punchbridge.receiver.timestamps import LOG_TIME_PATTERN, RFC3339_PATTERN

__all__ = [
    "COMPONENTS",
    "PUSH_BODY",
    "PUSH_BODY_WITH_DEVICE",
    "PUSH_QUERY_DEVICE",
    "PUSH_SECURITY",
    "WEBHOOK_BODY",
    "WEBHOOK_SECURITY",
    "error_responses",
    "push_components",
    "push_responses",
    "webhook_responses",
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _identifier(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": ID_PATTERN, "description": description}


def _optional_device() -> dict[str, Any]:
    return {
        "anyOf": [_identifier("The device's tag"), {"type": "null"}],
        "description": "On /push/{stgid}: equal to the URL's device, or left out (null)",
    }


_SCALAR = {"type": SCALAR_TYPES}
_USER = {
    "anyOf": [
        _identifier("The employee's id on the terminal"),
        {"type": "integer", "minimum": 0, "maximum": 10**18},
    ]
}
_DIRECTION = {
    "anyOf": [
        {"type": "string", "pattern": DIRECTION_PATTERN},
        {"type": "integer", "minimum": 0, "maximum": 5},
        {"type": "null"},
    ],
    "description": "CheckIn, CheckOut, BreakOut, BreakIn, OverTimeIn, OverTimeOut (any letter case), "
    "in, out, break_out, break_in, ot_in, ot_out, or the ZKTeco digits 0-5; empty or null: none",
}
_LOG_TIME = {
    "type": "string",
    "pattern": LOG_TIME_PATTERN,
    "description": "2026-01-08 17:30:00 (the site's local time), or with Z, GMT +0300 or +03:00",
}
_INPUT_TYPE = {"type": ["string", "integer", "null"], "description": "Verification input (1, 15, 4, Face, ...)"}
_HEALTH_DATA = {"type": ["string", "number", "null"], "description": "Accepted, not stored"}

FLAT_PUSH: dict[str, Any] = {
    "type": "object",
    "title": "Flat push (answered with ok)",
    "required": ["UserID", "LogTime"],
    "properties": {
        "stgid": _optional_device(),
        "UserID": _USER,
        "LogTime": _LOG_TIME,
        "Type": _INPUT_TYPE,
        "Status": _DIRECTION,
        "Temperature": _HEALTH_DATA,
        "FaceMask": _HEALTH_DATA,
    },
    "not": {"required": ["RealTime"]},
    "additionalProperties": _SCALAR,
}
PUNCH_LOG: dict[str, Any] = {
    "type": "object",
    "required": ["UserId", "LogTime"],
    "properties": {
        "UserId": _USER,
        "LogTime": _LOG_TIME,
        "Type": _DIRECTION,
        "InputType": _INPUT_TYPE,
        "Temperature": _HEALTH_DATA,
        "FaceMask": _HEALTH_DATA,
    },
    "additionalProperties": _SCALAR,
}
NESTED_PUSH: dict[str, Any] = {
    "type": "object",
    "title": "Nested RealTime push (answered with receiver.nested_reply)",
    "required": ["RealTime"],
    "properties": {
        "stgid": _optional_device(),
        "RealTime": {
            "type": "object",
            "required": ["PunchLog"],
            "properties": {
                "AuthToken": {"type": ["string", "null"], "description": "The device's push token (optional)"},
                "OperationID": {"type": ["string", "integer", "null"]},
                "Time": {"type": ["string", "null"]},
                "PunchLog": _ref("PunchLog"),
            },
            "additionalProperties": _SCALAR,
        },
    },
    "additionalProperties": _SCALAR,
}


def _with_device(shape: dict[str, Any]) -> dict[str, Any]:
    """`shape` as sent to `POST /push`, where only the body can name the device."""
    properties = {**shape["properties"], "stgid": _identifier("The device's tag")}
    return {
        **shape,
        "required": [*shape["required"], "stgid"],
        "properties": properties,
        "title": shape["title"] + ", naming its device",
    }


#: The body of `POST /push/{stgid}` (the URL names the device) and of `POST /push` (the body must).
PUSH_BODY: dict[str, Any] = {"anyOf": [_ref("FlatPush"), _ref("NestedPush"), _ref("UnusablePush")]}
PUSH_BODY_WITH_DEVICE: dict[str, Any] = {
    "anyOf": [_ref("FlatPushNamingDevice"), _ref("NestedPushNamingDevice"), _ref("UnusablePushNamingDevice")]
}
#: The query's `stgid` (the cloud document's listener URL `/push?stgid=...`): equal to any other name of
#: the device; empty is the same as absent.
PUSH_QUERY_DEVICE: dict[str, Any] = {
    "name": "stgid",
    "in": "query",
    "required": False,
    "description": "The device's tag (equal to the URL's and the body's where they name it too)",
    "schema": {"type": "string", "pattern": "^(?:" + ID_PATTERN[1:-1] + ")?$"},
}


def _json_value(depth: int) -> dict[str, Any]:
    """Any JSON value nested at most `depth` levels (0: a flat value), as a reference to its schema."""
    return _ref(f"JsonValue{depth}") if depth > 0 else _SCALAR


def push_components(max_depth: int) -> dict[str, Any]:
    """The schemas of pushes the receiver cannot use but acknowledges (they go to the quarantine): any
    JSON object nested at most `max_depth` levels (receiver.max_json_depth) naming its device."""
    schemas: dict[str, Any] = {}
    for depth in range(1, max_depth):
        inner = _json_value(depth - 1)
        schemas[f"JsonValue{depth}"] = {
            "anyOf": [_SCALAR, {"type": "array", "items": inner}, {"type": "object", "additionalProperties": inner}]
        }
    unusable: dict[str, Any] = {
        "type": "object",
        "title": "A push whose punch cannot be used (acknowledged, kept in the quarantine with its reason)",
        "properties": {"stgid": _optional_device()},
        "additionalProperties": _json_value(max_depth - 1),
    }
    schemas["UnusablePush"] = unusable
    schemas["UnusablePushNamingDevice"] = {
        **unusable,
        "required": ["stgid"],
        "properties": {"stgid": _identifier("The device's tag")},
        "title": unusable["title"] + ", naming its device",
    }
    return schemas


_RECORD_VALUE = {
    "anyOf": [
        _SCALAR,
        {"type": "array", "items": _SCALAR},
        {"type": "object", "additionalProperties": _SCALAR},
    ]
}
_RFC3339 = {"type": "string", "pattern": RFC3339_PATTERN, "description": "RFC 3339 with offset"}


def _event(event_type: dict[str, Any], data: dict[str, Any], title: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "required": ["type", "data"],
        "properties": {
            "id": _identifier(
                "The event id: the replay key of X-Minop-Signature deliveries (without it, the SHA-256 of the "
                "signed timestamp and body is)"
            ),
            "type": event_type,
            "created_at": {"type": ["string", "null"], "maxLength": MAX_TEXT, "pattern": TEXT_PATTERN},
            "timestamp": {"type": ["string", "null"], "maxLength": MAX_TEXT, "pattern": TEXT_PATTERN},
            "data": data,
        },
        "additionalProperties": _SCALAR,
    }


PUNCH_DATA: dict[str, Any] = {
    "type": "object",
    "description": "A raw record of the Minop pull API; event_id, source, geo, device_hash, updated_at are not stored",
    "required": ["employee_id", "device_id", "timestamp"],
    "properties": {
        "employee_id": _identifier("The employee"),
        "device_id": _identifier("The device"),
        "timestamp": _RFC3339,
        "direction": _DIRECTION,
    },
    "additionalProperties": _RECORD_VALUE,
}
LEAVE_DATA: dict[str, Any] = {
    "type": "object",
    "required": ["employee_id", "date"],
    "properties": {
        "employee_id": _identifier("The employee"),
        "date": {"type": "string", "pattern": DATE_PATTERN, "description": "YYYY-MM-DD"},
        "kind": {"enum": ["full", "first_half", "second_half"], "default": "full"},
        "paid": {"type": "boolean", "default": True},
    },
    "additionalProperties": _RECORD_VALUE,
}
LOCK_DATA: dict[str, Any] = {
    "type": "object",
    "required": ["period"],
    "properties": {
        "period": _identifier("The payroll period's label, e.g. 2026-01"),
        "site": {"anyOf": [_identifier("The site (absent or null: every site)"), {"type": "null"}]},
        "locked_at": {"type": ["string", "null"], "pattern": RFC3339_PATTERN},
    },
    "additionalProperties": _RECORD_VALUE,
}
ANY_DATA: dict[str, Any] = {"type": "object", "additionalProperties": _RECORD_VALUE}

WEBHOOK_BODY: dict[str, Any] = {
    "anyOf": [
        _ref("PunchCreated"),
        _ref("LeaveApproved"),
        _ref("PayrollCutoffLocked"),
        _ref("AttendanceProcessed"),
        _ref("OtherEvent"),
    ]
}

ERROR_REPLY: dict[str, Any] = {
    "type": "object",
    "required": ["error", "field", "message"],
    "properties": {
        "error": {"type": "string", "description": "A machine code (invalid_field, unauthorized, ...)"},
        "field": {"type": ["string", "null"], "description": "The field or header concerned"},
        "message": {"type": "string"},
    },
}

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "FlatPush": FLAT_PUSH,
        "NestedPush": NESTED_PUSH,
        "FlatPushNamingDevice": _with_device(FLAT_PUSH),
        "NestedPushNamingDevice": _with_device(NESTED_PUSH),
        "PunchLog": PUNCH_LOG,
        "PunchCreated": _event({"const": "punch.created"}, PUNCH_DATA, "punch.created"),
        "LeaveApproved": _event({"const": "leave.approved"}, LEAVE_DATA, "leave.approved"),
        "PayrollCutoffLocked": _event({"const": "payroll.cutoff.locked"}, LOCK_DATA, "payroll.cutoff.locked"),
        "AttendanceProcessed": _event({"const": "attendance.processed"}, ANY_DATA, "attendance.processed"),
        "OtherEvent": _event(
            {"type": "string", "pattern": ID_PATTERN, "not": {"enum": list(EVENT_TYPES)}},
            ANY_DATA,
            "Another event type (kept, acknowledged)",
        ),
        "WebhookReply": {
            "type": "object",
            "required": ["status", "id", "type"],
            "properties": {
                "status": {"enum": ["processed", "already_processed"]},
                "id": {"type": "string"},
                "type": {"type": "string"},
            },
        },
        "Error": ERROR_REPLY,
    },
    "securitySchemes": {
        "pushBearer": {"type": "http", "scheme": "bearer", "description": "The device's push token"},
        "pushToken": {"type": "apiKey", "in": "query", "name": "token", "description": "The device's push token"},
        "minopSignature": {"type": "apiKey", "in": "header", "name": "X-Minop-Signature"},
        "minopTimestamp": {"type": "apiKey", "in": "header", "name": "X-Minop-Timestamp"},
        "webhookId": {"type": "apiKey", "in": "header", "name": "webhook-id"},
        "webhookTimestamp": {"type": "apiKey", "in": "header", "name": "webhook-timestamp"},
        "webhookSignature": {"type": "apiKey", "in": "header", "name": "webhook-signature"},
    },
}

PUSH_SECURITY: list[dict[str, list[str]]] = [{"pushBearer": []}, {"pushToken": []}]
WEBHOOK_SECURITY: list[dict[str, list[str]]] = [
    {"minopSignature": [], "minopTimestamp": []},
    {"webhookId": [], "webhookTimestamp": [], "webhookSignature": []},
]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def error_responses(*statuses: int) -> dict[str, Any]:
    """Documented error replies, all with the Error body."""
    texts = {
        400: "Malformed request: not a JSON object within the limits, or no device (or two) named",
        401: "Unknown device, wrong token, or a webhook signature that does not verify",
        413: "Body larger than receiver.max_body_bytes",
        422: "Signed event whose content cannot be used (the reply names the field)",
        503: "The store cannot take the write now: send again later (Retry-After)",
    }
    return {str(status): {"description": texts[status], "content": _json(_ref("Error"))} for status in statuses}


def push_responses(nested_reply: str) -> dict[str, Any]:
    """Replies of the push endpoints: `ok`, or the configured nested reply (JSON or text)."""
    texts = ["ok"]
    content: dict[str, Any] = {}
    try:
        content.update(_json({"enum": [json.loads(nested_reply)]}))
    except ValueError:
        texts.append(nested_reply)
    content["text/plain"] = {"schema": {"type": "string", "enum": texts}}
    ok = {
        "description": "Stored, already stored, or kept in the quarantine (a punch that cannot be used): flat "
        "shape `ok`, nested shape the nested reply",
        "content": content,
    }
    return {"200": ok, **error_responses(400, 401, 413, 503)}


def webhook_responses() -> dict[str, Any]:
    """Replies of the webhook endpoint."""
    ok = {
        "description": "Applied (processed), or its id was seen before and it changed nothing (already_processed)",
        "content": _json(_ref("WebhookReply")),
    }
    return {"200": ok, **error_responses(400, 401, 413, 422, 503)}
