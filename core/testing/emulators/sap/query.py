"""OData v2 as the SuccessFactors emulator reads and writes it: wire values, the `$filter` subset, paging, errors.

`ODataError` is an error reply in SuccessFactors' shape (`{"error": {"code": "COE_...", "message":
{"lang", "value"}}}`). `parse_filter` reads the `$filter` subset the emulator serves (`field op
literal` joined by `and`; `op` eq ne gt ge lt le, or `field in lit,lit`), `passes` applies it;
`skip_offset` reads a `$skiptoken` bound to its query.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.responses import JSONResponse, Response

__all__ = [
    "ODataError",
    "comparable",
    "date_wire",
    "entity_of",
    "ms",
    "param_day",
    "parse_filter",
    "parse_wire_date",
    "passes",
    "skip_offset",
    "sort_key",
    "whole",
    "wire_day",
]

_DATE = re.compile(r"/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/")
_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<lit>(?:datetimeoffset|datetime)?'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_/]*)|(?P<comma>,)|(?P<paren>[()]))"
)
_OPS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


class ODataError(Exception):
    """An error reply: HTTP `status`, SuccessFactors' `code` and `message` (and extra `headers`)."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})

    def response(self) -> Response:
        """The error as SuccessFactors answers it."""
        body = {"error": {"code": self.code, "message": {"lang": "en-US", "value": self.message}}}
        return JSONResponse(body, self.status, headers=self.headers)


def ms(moment: datetime) -> int:
    """Milliseconds since 1970 UTC."""
    return round(moment.timestamp() * 1000)


def date_wire(day: date) -> str:
    """`Edm.DateTime` of a date: `/Date(ms)/` of its midnight UTC."""
    return f"/Date({ms(datetime(day.year, day.month, day.day, tzinfo=UTC))})/"


def parse_wire_date(value: Any) -> datetime | None:
    """`/Date(ms)/` (or with `+hhmm`) as an aware UTC datetime; None when it is not one."""
    found = _DATE.fullmatch(value) if isinstance(value, str) else None
    return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC) if found else None


def entity_of(record: Mapping[str, Any]) -> str:
    """The entity a written record names in `__metadata.uri` (empty when none)."""
    metadata = record.get("__metadata")
    uri = metadata.get("uri") if isinstance(metadata, dict) else None
    return str(uri).split("(")[0].rsplit("/", 1)[-1] if uri else ""


def wire_day(value: Any, name: str) -> date:
    """A `/Date(ms)/` midnight as a date; ODataError (400) naming field `name` otherwise."""
    moment = parse_wire_date(value)
    if moment is None:
        raise ODataError(400, "COE_INVALID_VALUE", f"{name} {value!r} is not a /Date(ms)/ value")
    if moment.time() != datetime.min.time():
        raise ODataError(400, "COE_INVALID_VALUE", f"{name} {value!r} is not a midnight (a date)")
    return moment.date()


def whole(text: str | None, default: int, name: str) -> int:
    """A whole-number query option (`default` when absent); ODataError (400) otherwise."""
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ODataError(400, "COE_GENERAL_BAD_REQUEST", f"{name} must be a whole number") from None


def param_day(params: Mapping[str, str], name: str) -> date | None:
    """A `YYYY-MM-DD` query option as a date (None when absent); ODataError (400) otherwise."""
    if name not in params:
        return None
    try:
        return date.fromisoformat(params[name])
    except ValueError:
        raise ODataError(400, "COE_GENERAL_BAD_REQUEST", f"{name} must be YYYY-MM-DD") from None


def skip_offset(token: str | None, fingerprint: str) -> int:
    """The row offset a `$skiptoken` carries; ODataError (400) for a token of another query or none we made."""
    if token is None:
        return 0
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(state["o"])
        same = state["q"] == fingerprint
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ODataError(400, "COE_INVALID_SKIPTOKEN", "The $skiptoken is not valid") from None
    if not same or offset < 0:
        raise ODataError(400, "COE_INVALID_SKIPTOKEN", "The $skiptoken belongs to another query")
    return offset


def sort_key(field: str, row: Mapping[str, Any]) -> tuple[int, Any]:
    """A `$orderby` key: empty first, then dates and times by instant, then text."""
    return _sortable(row.get(field))


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime | date):
        return (1, comparable(value))
    parsed = parse_wire_date(value)
    return (1, parsed) if parsed is not None else (2, str(value))


def comparable(value: Any) -> Any:
    """A value as `$filter` compares it (dates and `/Date(ms)/` as aware datetimes)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    parsed = parse_wire_date(value)
    return parsed if parsed is not None else value


def _literal(kind: str, text: str) -> Any:
    if kind == "num":
        return Decimal(text)
    if text.startswith(("datetime'", "datetimeoffset'")):
        body = text[text.index("'") + 1 : -1]
        try:
            moment = datetime.fromisoformat(body.replace("Z", "+00:00"))
        except ValueError:
            raise ODataError(400, "COE_INVALID_FILTER", f"Invalid date literal {text}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return text[1:-1].replace("''", "'")


def parse_filter(expression: str) -> list[tuple[str, str, list[Any]]]:
    """`$filter` as (field, op, literals) clauses joined by `and` (the subset in the module docstring)."""
    tokens, position = [], 0
    while position < len(expression):
        found = _FILTER_TOKEN.match(expression, position)
        if found is None or found.end() == position:
            if expression[position:].strip() == "":
                break
            raise ODataError(400, "COE_INVALID_FILTER", f"Cannot read $filter at {expression[position:][:20]!r}")
        tokens.append((found.lastgroup or "", found.group(found.lastgroup or 0)))
        position = found.end()
    if not tokens:
        return []
    raw: list[list[tuple[str, str]]] = [[]]
    for kind, text in tokens:
        if kind == "word" and text == "and":
            raw.append([])
        elif kind != "paren":
            raw[-1].append((kind, text))
    clauses = []
    for clause in raw:
        if len(clause) < 3 or clause[0][0] != "word" or clause[1][0] != "word":
            raise ODataError(400, "COE_INVALID_FILTER", f"Cannot read $filter {expression!r}")
        field, op = clause[0][1], clause[1][1]
        values = [_literal(kind, text) for kind, text in clause[2:] if kind in ("lit", "num")]
        if op == "in":
            if not values or len(values) * 2 - 1 != len(clause) - 2:
                raise ODataError(400, "COE_INVALID_FILTER", f"Cannot read the in-list of {field}")
        elif op not in _OPS or len(clause) != 3 or len(values) != 1:
            raise ODataError(400, "COE_INVALID_FILTER", f"Unsupported $filter clause on {field}: {expression!r}")
        clauses.append((field, op, values))
    return clauses


def passes(row: Mapping[str, Any], clauses: list[tuple[str, str, list[Any]]]) -> bool:
    """Whether `row` passes every clause of a parsed `$filter`."""
    for field, op, values in clauses:
        held = comparable(row.get(field))
        if isinstance(values[0], Decimal) and held is not None:
            try:
                held = Decimal(str(held))
            except InvalidOperation:
                return False
        try:
            if op == "in":
                passed = held in values
            elif op in ("eq", "ne"):
                passed = _OPS[op](held, values[0])
            else:
                passed = held is not None and _OPS[op](held, values[0])
        except TypeError:
            raise ODataError(400, "COE_INVALID_FILTER", f"Cannot compare {field} with {values[0]!r}") from None
        if not passed:
            return False
    return True
