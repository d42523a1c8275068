"""Frappe's side of the ERPNext emulator: its errors, request parameters and list queries (pure but the reply).

Frappe (the framework under ERPNext and Frappe HR) answers an exception with the status its class
carries and a JSON body: `exc_type` names the class, `exception` holds "module.Class: message", and
`_server_messages` is a JSON list of JSON objects, each with the `message` shown to the user
(frappe/exceptions.py: ValidationError and its kin 417, DoesNotExistError 404, PermissionError 403,
AuthenticationError 401; frappe/utils/response.py). `frappe.throw` raises ValidationError unless told
otherwise, so every validation message of Frappe HR comes back as HTTP 417.

A list request (`GET /api/resource/<doctype>`, frappe/api/v1.py -> frappe.client.get_list) takes
`fields` (a JSON list), `filters` (a JSON list of `[field, op, value]` or an object of equalities),
`order_by`, `limit_start` and `limit_page_length` (20 when not given, as Frappe's docs say; 0 here:
all). `listing` selects, orders and pages rows the same way.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = ["DATETIME_FIELDS", "FrappeError", "error_reply", "json_param", "listing", "request_params"]

#: The HTTP status of each Frappe exception the emulator raises (frappe/exceptions.py `http_status_code`).
STATUS = {
    "ValidationError": 417,
    "DataError": 417,
    "LinkValidationError": 417,
    "CharacterLengthExceededError": 417,
    "DuplicateAttendanceError": 417,
    "DoesNotExistError": 404,
    "PermissionError": 403,
    "AuthenticationError": 401,
    "TooManyRequestsError": 429,
}
#: Fields compared as date-times in filters (Frappe stores them as naive site-local text).
DATETIME_FIELDS = frozenset({"time", "creation", "modified", "in_time", "out_time"})


class FrappeError(Exception):
    """A Frappe exception: its class name (`exc_type`), the user's message, extra reply headers."""

    def __init__(self, exc_type: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.exc_type, self.message, self.headers = exc_type, message, headers or {}


def error_reply(error: FrappeError) -> Response:
    """Frappe's error body: `exc_type`, `exception` and `_server_messages` (JSON of JSON strings)."""
    plain = html.unescape(re.sub(r"<[^>]+>", " ", error.message)).strip()
    message = {"message": error.message, "title": "Message", "indicator": "red", "raise_exception": 1,
               "__frappe_exc_id": secrets.token_hex(8)}  # fmt: skip
    body = {
        "exception": f"frappe.exceptions.{error.exc_type}: {plain}",
        "exc_type": error.exc_type,
        "_exc_source": "hrms (app)",
        "_server_messages": json.dumps([json.dumps(message)]),
    }
    return JSONResponse(body, STATUS.get(error.exc_type, 417), headers=error.headers)


async def request_params(request: Request) -> dict[str, str]:
    """Query parameters, then a form or JSON body over them (Frappe takes all three)."""
    params = dict(request.query_params)
    if request.method in ("POST", "PUT"):
        body = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                loaded = json.loads(body or b"{}")
            except ValueError:
                loaded = None
            if not isinstance(loaded, dict):
                return {"__invalid__": "1"}
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in loaded.items()})
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def json_param(query: Any, name: str, default: Any) -> Any:
    """Parameter `name` read as JSON (`default` when absent); a ValidationError when it is not JSON."""
    text = query.get(name)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        raise FrappeError("ValidationError", f"{name} is not valid JSON") from None


def listing(rows: list[dict[str, Any]], allowed: tuple[str, ...], query: Any) -> list[dict[str, Any]]:
    """The rows a Frappe list request selects: filters, order, page, fields (see the module docstring)."""
    fields = json_param(query, "fields", ["name"])
    if fields == ["*"]:
        fields = list(allowed)
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise FrappeError("ValidationError", "fields must be a JSON list of field names")
    for name in fields:
        _known(name, allowed)
    filters = json_param(query, "filters", [])
    if isinstance(filters, dict):
        filters = [[k, "=", v] for k, v in filters.items()]
    if not isinstance(filters, list):
        raise FrappeError("ValidationError", "filters must be a JSON list or object")
    for condition in filters:
        if not isinstance(condition, list) or len(condition) not in (3, 4):
            raise FrappeError("ValidationError", f"Filter {json.dumps(condition)} must be [field, operator, value]")
        field, operator, value = condition[-3:]
        _known(field, allowed)
        rows = [row for row in rows if _matches(row.get(field), str(operator).lower(), value, field)]
    for part in reversed(str(query.get("order_by") or "creation desc").split(",")):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise FrappeError("ValidationError", f"Invalid order_by: {part}")
        _known(words[0].strip("`"), allowed)
        name = words[0].strip("`")
        rows = sorted(rows, key=lambda r: (r.get(name) is None, str(r.get(name) or "")),
                      reverse=len(words) == 2 and words[1].lower() == "desc")  # fmt: skip
    start, length = _whole(query, "limit_start", 0), _whole(query, "limit_page_length", 20)
    rows = rows[start : start + length] if length else rows[start:]
    return [{name: row.get(name) for name in fields} for row in rows]


def _known(field: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(field, str) or field not in allowed:
        raise FrappeError("DataError", f"Field not permitted in query: {field}")


def _comparable(value: Any, field: str) -> Any:
    if field in DATETIME_FIELDS and isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise FrappeError("ValidationError", f"{value} is not a valid date-time for {field}") from None
    return value


def _matches(held: Any, operator: str, value: Any, field: str) -> bool:
    if operator in ("in", "not in"):
        options = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        return (held in options) == (operator == "in")
    if operator == "is":
        if value not in ("set", "not set"):
            raise FrappeError("ValidationError", "is takes 'set' or 'not set'")
        return (held not in (None, "")) == (value == "set")
    if operator not in ("=", "!=", "<", "<=", ">", ">="):
        raise FrappeError("ValidationError", f"Unsupported operator: {operator}")
    left, right = _comparable(held, field), _comparable(value, field)
    if operator == "=":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator])
    except TypeError:
        raise FrappeError("ValidationError", f"Cannot compare {field} with {value!r}") from None


def _whole(query: Any, name: str, default: int) -> int:
    text = query.get(name)
    try:
        number = int(text) if text not in (None, "") else default
    except ValueError:
        raise FrappeError("ValidationError", f"{name} must be a whole number") from None
    if number < 0:
        raise FrappeError("ValidationError", f"{name} must not be negative")
    return number
