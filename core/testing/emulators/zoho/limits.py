"""Zoho People's API as the emulator enforces it: the API names, error codes and limits, and the error reply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = [
    "BULK_IMPORT",
    "DAILY_LIMIT_CODE",
    "EMPLOYEE_RECORDS",
    "INVALID_OAUTHTOKEN_CODE",
    "NO_RECORDS_CODE",
    "READ_BACK",
    "SINGLE_PUNCH",
    "THROTTLE_CODE",
    "ZohoApiError",
    "ZohoLimits",
    "error_reply",
    "whole_number",
]

#: The API names the limits, counters and `fail_next` use.
BULK_IMPORT = "bulkImport"
SINGLE_PUNCH = "attendance"
READ_BACK = "getAttendanceEntries"
EMPLOYEE_RECORDS = "getRecords"

INVALID_OAUTHTOKEN_CODE = 7202
THROTTLE_CODE = 7209
DAILY_LIMIT_CODE = 7213  # unconfirmed: Zoho does not publish the code of its daily cap
NO_RECORDS_CODE = 7024
LIMIT_TOO_LARGE_CODE = 7021
MISSING_PARAMETER_CODE = 7019
INVALID_INPUT_CODE = 7016
INVALID_FIELD_CODE = 7020
INVALID_VALUE_CODE = 7034
NO_SUCH_USER_CODE = 7048
INVALID_DATE_FORMAT_CODE = 7055
REFUSED_CODE = 7050


@dataclass(frozen=True)
class ZohoLimits:
    """The limits the emulator enforces; the defaults are Zoho's documented ones (None: no limit)."""

    per_minute: Mapping[str, int | None] = field(
        default_factory=lambda: {BULK_IMPORT: 10, SINGLE_PUNCH: 100, READ_BACK: 100, EMPLOYEE_RECORDS: 400}
    )
    lock_seconds: Mapping[str, float] = field(
        default_factory=lambda: {BULK_IMPORT: 300.0, SINGLE_PUNCH: 300.0, READ_BACK: 600.0, EMPLOYEE_RECORDS: 300.0}
    )
    daily_calls: int | None = 5000
    token_mints: int | None = 10  # per refresh token per `token_window` seconds
    token_window: float = 600.0
    token_lifetime: float = 3600.0
    rows_per_bulk_import: int = 200
    records_per_page: int = 200

    @classmethod
    def lifted(cls) -> ZohoLimits:
        """No per-minute, daily or token limits (for throughput benchmarks); sizes stay Zoho's."""
        return cls(
            per_minute=dict.fromkeys((BULK_IMPORT, SINGLE_PUNCH, READ_BACK, EMPLOYEE_RECORDS)),
            daily_calls=None,
            token_mints=None,
        )


class ZohoApiError(Exception):
    """A refusal as Zoho answers it: its code and message in the body, with `http_status` and headers."""

    def __init__(self, code: int, message: str, http_status: int = 200, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.http_status, self.headers = code, message, http_status, headers or {}


def whole_number(params: Mapping[str, str], name: str, default: int) -> int:
    """Parameter `name` as a whole number (`default` when absent); Zoho's invalid-value error otherwise."""
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ZohoApiError(INVALID_VALUE_CODE, f"Invalid input value: {name} must be a whole number") from None


def error_reply(request: Request, error: ZohoApiError) -> Response:
    """Zoho's error body for `error`, with its status and headers."""
    body = {
        "response": {
            "status": 1,
            "message": "Error occurred",
            "uri": request.url.path.removeprefix("/people"),
            "errors": {"code": error.code, "message": error.message},
        }
    }
    return JSONResponse(body, error.http_status, headers=error.headers)
