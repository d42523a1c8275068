"""OData v2 as SuccessFactors speaks it: value formats, reply shapes, and its errors mapped to the target error tree.

Formats: `Edm.DateTime` is `/Date(<ms since 1970 UTC>)/` (a date is its midnight), `Edm.DateTimeOffset`
`/Date(<ms>+0000)/`, `Edm.Time` an xs:duration such as `PT09H02M00S` (what this target sends) or
`PT8H5M0S` (what other SuccessFactors clients send, e.g. a terminal uploader upserting
ExternalTimeData); in `$filter`, `datetime'2025-10-06T00:00:00'`, `datetimeoffset'2025-10-06T03:30:00Z'`
and `'text'` with `'` doubled.

The Clock In Clock Out Time Events REST API is not OData: it refuses a request with
`{"status": "BAD_REQUEST", "message": "Request Validation Error", "errors": [...]}` (`error_of` reads
that too).

Replies: a collection is `{"d": {"results": [...], "__next": URL}}` (the next page's URL carries
`$skiptoken`); an upsert answers `{"d": [{"key", "status": "OK"|"ERROR", "message", "index",
"httpCode"}]}`, one per record, in order. Errors are `{"error": {"code": "COE_...", "message":
{"lang", "value"}}}`; login errors carry an `LGN...` code.

What each reply means for the engine, in one table (`reply_error`):

    HTTP 429, or 503            RateLimitedError (Retry-After when given, else 60 s)
    other 5xx                   TransientError (retry the batch)
    401, or an LGN code         TokenRefusedError (renew the token once), then CredentialsError
    403 "CSRF token ..."        CsrfRefusedError (fetch a new CSRF token once)
    other 403                   CredentialsError (the API user's permissions)
    other 4xx with an error     FatalTargetError naming the code and SuccessFactors' message
    not JSON, wrong shape       TargetReplyError (a FatalTargetError) naming the API and the field
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    TargetReplyError,
    TokenRefusedError,
    clip,
    content_kind,
    throttling_error,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CsrfRefusedError",
    "UpsertResult",
    "body_of",
    "collection_page",
    "date_value",
    "datetime_literal",
    "edm_time",
    "error_of",
    "parse_date",
    "parse_edm_time",
    "quoted",
    "reply_error",
    "upsert_results",
    "utc_day_bounds",
]

_DATE = re.compile(r"/Date\((-?\d{1,15})(?:([+-])(\d{4}))?\)/")
_TIME = re.compile(r"PT(?=\d)(?:(\d{1,2})H)?(?:(\d{1,2})M)?(?:(\d{1,2})(?:\.\d+)?S)?")
#: The wait after a 429 or 503 that gives no Retry-After.
DEFAULT_RETRY_AFTER = 60.0


class CsrfRefusedError(CredentialsError):
    """SuccessFactors refused the CSRF token of a write (the session ended): fetch a new one once."""


# -- values ---------------------------------------------------------------------------------------------


def date_value(day: date) -> str:
    """`Edm.DateTime` of a date: `/Date(ms)/` of its midnight UTC."""
    return f"/Date({int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000})/"


def parse_date(value: Any) -> datetime | None:
    """`/Date(ms)/` or `/Date(ms+hhmm)/` as an aware UTC datetime; None when `value` is not one."""
    found = _DATE.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return None
    try:
        return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def edm_time(moment: datetime | time) -> str:
    """`Edm.Time` of a wall-clock time: `PT09H02M00S`."""
    return f"PT{moment.hour:02d}H{moment.minute:02d}M{moment.second:02d}S"


def parse_edm_time(value: Any) -> time | None:
    """An `Edm.Time` as a time of day: `PT09H02M00S`, `PT8H5M0S`, `PT9H` (a fraction of a second is dropped,
    as this target never sends one); None when `value` is not one."""
    found = _TIME.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return None
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return time(hours, minutes, seconds)


def datetime_literal(day: date | datetime) -> str:
    """A `$filter` literal: `datetime'2025-10-06T00:00:00'`, or `datetimeoffset'...Z'` for an aware time."""
    if isinstance(day, datetime) and day.tzinfo is not None:
        return f"datetimeoffset'{day.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    if not isinstance(day, datetime):
        day = datetime(day.year, day.month, day.day)
    return f"datetime'{day.strftime('%Y-%m-%dT%H:%M:%S')}'"


def quoted(text: str) -> str:
    """A `$filter` string literal (`'` doubled)."""
    return "'" + text.replace("'", "''") + "'"


# -- replies --------------------------------------------------------------------------------------------


def body_of(response: httpx.Response) -> Any:
    """The JSON body, or None when there is none or it does not parse."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def error_of(body: Any) -> tuple[str, str] | None:
    """SuccessFactors' (code, message) from an OData error object (or an OAuth error), else None."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, dict):
            message = message.get("value")
        return (str(error.get("code") or "no code"), clip(str(message or "no message")))
    if isinstance(error, str):  # the OAuth form: {"error": "invalid_grant", "error_description": ...}
        return (error, clip(str(body.get("error_description") or "no description")))
    if isinstance(body.get("errors"), list) and "message" in body:  # the Time Events REST API's refusal
        said = "; ".join(str(item) for item in body["errors"][:5])
        text = str(body.get("message") or "no message") + (f": {said}" if said else "")
        return (str(body.get("status") or "no status"), clip(text))
    if "errorMessage" in body:
        return (str(body.get("errorCode") or body.get("httpStatus") or "no code"), clip(str(body["errorMessage"])))
    return None


def reply_error(api: str, response: httpx.Response, where: str) -> Exception | None:
    """What a reply means when it is not a success (see the module's table); None for a success."""
    status = response.status_code
    body = body_of(response)
    error = error_of(body)
    said = f"{error[0]}: {error[1]}" if error else content_kind(response)
    throttled = throttling_error(
        response, f"{where}: {api}", detail=said, default_wait=DEFAULT_RETRY_AFTER, every_503=True
    )
    if throttled is not None:
        return throttled
    if status == 403 and (
        response.headers.get("x-csrf-token", "").lower() == "required" or "csrf" in response.text[:1000].lower()
    ):
        return CsrfRefusedError(f"{where}: {api} refused the CSRF token (HTTP 403)")
    if status == 401 or (error is not None and error[0].upper().startswith("LGN")):
        return TokenRefusedError(f"{where}: {api} refused the access token (HTTP {status}, {said})")
    if status == 403 and api.startswith("Time Events"):
        return CredentialsError(
            f"{where}: {api} answered 403 Forbidden ({said}); SAP KBA 3146142: its OAuth client is bound to the "
            "technical user TECHNICAL_USER_CICOTERMINAL_9D3F8AC1 (settings time_events.client_id, time_events.user_id)"
        )
    if status == 403:
        return CredentialsError(
            f"{where}: {api} answered 403 Forbidden ({said}); the API user needs the OData API permissions for it "
            "(role-based permissions: Employee Central API, Time Management)"
        )
    if status >= 400:
        return FatalTargetError(f"{where}: {api} refused the call: HTTP {status}, {said}")
    if not isinstance(body, dict):
        return TargetReplyError(
            f"{where}: {api} answered HTTP {status} with {content_kind(response)}, not a JSON object"
        )
    return None


def collection_page(body: dict[str, Any], api: str, where: str) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of a collection page and its `__next` URL (None on the last page)."""
    data = body.get("d")
    if isinstance(data, list):
        rows, following = data, None
    elif isinstance(data, dict) and isinstance(data.get("results"), list):
        rows, following = data["results"], data.get("__next")
    else:
        raise TargetReplyError(f"{where}: {api} answered without d.results (the rows of the collection)")
    if following is not None and not isinstance(following, str):
        raise TargetReplyError(f"{where}: {api} answered a __next that is not a URL")
    if not all(isinstance(row, dict) for row in rows):
        raise TargetReplyError(f"{where}: {api} answered a row that is not an object")
    return rows, following or None


class UpsertResult(tuple[bool, str]):
    """One record's result: (ok, SuccessFactors' message when not ok)."""

    __slots__ = ()

    def __new__(cls, ok: bool, message: str) -> UpsertResult:
        return super().__new__(cls, (ok, message))


def upsert_results(body: Any, count: int, api: str, where: str) -> list[UpsertResult]:
    """Per record sent, in order: OK or ERROR with its message; TargetReplyError when not every record is answered."""
    data = body.get("d") if isinstance(body, dict) else None
    if isinstance(data, dict):
        data = data.get("results")
    if not isinstance(data, list) or len(data) != count:
        found = len(data) if isinstance(data, list) else "no"
        raise TargetReplyError(f"{where}: {api} answered {found} results for {count} records; cannot tell which landed")
    results: list[UpsertResult | None] = [None] * count
    for position, item in enumerate(data):
        if not isinstance(item, dict) or item.get("status") not in ("OK", "ERROR"):
            raise TargetReplyError(f"{where}: {api} answered a result without status OK or ERROR")
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < count or results[index] is not None:
            raise TargetReplyError(f"{where}: {api} answered a result with index {index!r} for {count} records")
        if item["status"] == "OK":
            results[index] = UpsertResult(True, "")
        else:
            code = item.get("httpCode")
            text = clip(str(item.get("message") or "refused without a message"))
            results[index] = UpsertResult(False, text + (f" (HTTP {code})" if code else ""))
    return [result for result in results if result is not None]


def utc_day_bounds(start: date, end: date, zone: Any) -> tuple[datetime, datetime]:
    """The instants from local midnight of `start` to local midnight after `end` in `zone`."""
    first = datetime(start.year, start.month, start.day, tzinfo=zone)
    after = datetime(end.year, end.month, end.day, tzinfo=zone) + timedelta(days=1)
    return first.astimezone(UTC), after.astimezone(UTC)
