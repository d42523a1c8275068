"""What Zoho People's replies mean for the `zoho_people` target (pure: a reply in, a body or an error out).

Zoho answers most errors with HTTP 200 and a code in the body (`{"response": {"status": 1, "errors":
{"code", "message"}}}`; clients also test for `"errors"`, `"status": 1` and code 7200), some with a
4xx; `reply_body` maps them to the target error tree, as docs/plugins/zoho-people.md tabulates: an
invalid token (7202) is a `TokenRefusedError` (renewed once), a lock (7209) or a 429 a
`RateLimitedError` with the lock time, the daily limit (7213) a `FatalTargetError`, missing
permissions a `CredentialsError`, a 5xx a `TransientError`, a body that is not JSON a
`FatalTargetError` naming what came back. Any other refusal of a bulkImport call (7200 "API
invocation failed" and kin) is a `CallRefusedError`: Zoho fails the whole call for one bad row and
stores nothing of it, naming no row, so the target splits the call to find the day.

Zoho documents no bulkImport reply (`bulk_results`): `{"response": "success"}`, as seen in
production, means every row was taken; one result per row with `status` success or failure is read
row by row; any other reply that is not an error leaves each row uncertain, and the target confirms
it by reading the day back rather than trusting or refusing it.

Each error of a bulkImport call is marked with `nothing_landed`: True when Zoho refused the whole
call, False when nobody knows what it stored (then the days are read back first).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    RateLimitedError,
    RefusedError,
    TargetError,
    TokenRefusedError,
    content_kind,
    retry_after,
    throttling_error,
)
from punchbridge.plugins.zoho_people.settings import (
    BULK_IMPORT,
    EMPLOYEE_RECORDS,
    LOCK_SECONDS,
    READ_BACK,
    ZohoPeopleSettings,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CallRefusedError",
    "NoSuchEmployeeError",
    "bulk_results",
    "employee_page",
    "epoch_ms",
    "json_body",
    "refused_whole",
    "reply_body",
    "text",
    "token_error",
    "unknown",
]

EMPLOYEE_PAGE = 200
_INVALID_TOKEN_CODES = frozenset({7202})
_THROTTLE_CODES = frozenset({7209})
_DAILY_LIMIT_CODES = frozenset({7213})  # unconfirmed: Zoho does not publish it
_PERMISSION_CODES = frozenset({7037, 7038, 7039, 7040})
_NO_RECORDS_CODE = 7024
_NO_SUCH_USER_CODE = 7048  # "Invalid user / No such user found" (https://www.zoho.com/people/api/error-codes.html)


class NoSuchEmployeeError(FatalTargetError):
    """Zoho knows no employee by the identifier a read asked for (7048): it holds nothing for them."""


class CallRefusedError(RefusedError):
    """Zoho refused a whole bulkImport call for what it holds (7200 and kin): nothing of it was stored.

    `code` is Zoho's code (None when it gave none), `message` its words.
    """

    def __init__(self, message: str, code: int | None) -> None:
        super().__init__(message, reason=str(code) if code is not None else "")
        self.code = code
        self.nothing_landed = True


def unknown(error: TargetError) -> TargetError:
    """`error`, marked as one after which nobody knows whether Zoho stored the call's punches."""
    error.nothing_landed = False  # type: ignore[attr-defined]
    return error


def refused_whole(error: TargetError) -> TargetError:
    """`error`, marked as a refusal of the whole call: nothing of it was stored."""
    error.nothing_landed = True  # type: ignore[attr-defined]
    return error


def json_body(response: httpx.Response) -> Any:
    """The reply's JSON body, or None when it has none."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def token_error(where: str, code: str, config: ZohoPeopleSettings) -> TargetError:
    """What an error of the accounts server's token request means (`code`: its `error`)."""
    if code == "invalid_client":
        return CredentialsError(
            f"{where} refused client_id {config.client_id} (invalid_client): wrong client_id or client_secret, "
            f"or the client belongs to another data centre than {config.accounts}"
        )
    if code == "invalid_code":
        return CredentialsError(
            f"{where} refused the refresh token (invalid_code): it is revoked, mistyped or from another client or "
            "data centre; generate a new one with the ZOHOPEOPLE scopes"
        )
    if code.lower() == "access denied":
        return RateLimitedError(
            f"{where}: too many access tokens minted for this refresh token (Zoho allows 10 per 10 minutes); "
            "another process may share it without caching tokens",
            retry_after=600.0,
        )
    return CredentialsError(f"{where} refused the token request ({code})")


def _code(value: Any) -> int | None:
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None


def _error_of(body: Any) -> tuple[int | None, str] | None:
    """Zoho's (code, message) when `body` says the call failed; None when it does not say so."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("error"), dict):  # the v2 APIs' envelope
        return (_code(body["error"].get("code")), str(body["error"].get("message") or "no message"))
    response = body.get("response", body)
    if isinstance(response, str):
        failed = any(word in response.lower() for word in ("fail", "error"))
        return (None, f"response {response!r}") if failed else None
    if not isinstance(response, dict):
        return None
    errors = response.get("errors", body.get("errors"))
    if isinstance(errors, list) and errors:
        errors = errors[0]
    if isinstance(errors, dict):
        return (_code(errors.get("code")), str(errors.get("message") or "no message"))
    status = response.get("status", 0)
    if status not in (0, "0", None, "success"):
        return (_code(response.get("code")), str(response.get("message") or f"status {status}"))
    code = _code(response.get("code"))
    if code not in (None, 0):
        return (code, str(response.get("message") or f"code {code}"))
    return None


def reply_body(api: str, response: httpx.Response, where: str) -> dict[str, Any] | None:
    """The body of a successful reply; else the TargetError of what went wrong (see the module docstring)."""
    status = response.status_code
    body = json_body(response)
    lock = LOCK_SECONDS.get(api, 300.0)
    throttled = throttling_error(response, f"{where}: {api}", default_wait=lock)
    if throttled is not None:  # a 429 stored nothing; after a 5xx nobody knows what Zoho stored
        raise refused_whole(throttled) if status == 429 else unknown(throttled)
    if body is not None and not isinstance(body, dict) and api == BULK_IMPORT and status < 400:
        return {"reply": body}  # JSON of a shape nobody documented: its rows are confirmed by read-back
    if not isinstance(body, dict):
        kind = content_kind(response)
        what = kind if kind == "an HTML page" else f"{kind}, not a JSON object"
        if status in (401, 403):
            raise refused_whole(CredentialsError(f"{where}: {api} answered HTTP {status} ({what})"))
        raise unknown(
            FatalTargetError(
                f"{where}: {api} answered HTTP {status} with {what}; check api_domain (or the data centre) and any "
                "proxy in between"
            )
        )
    error = _error_of(body)
    if error is None and status < 400:
        return body
    code, message = error or (None, f"HTTP {status}")
    if code in _INVALID_TOKEN_CODES:
        raise TokenRefusedError(f"{where}: {api} refused the access token ({code}: {message})")
    if code in _THROTTLE_CODES:
        wait = retry_after(response) or lock
        raise refused_whole(
            RateLimitedError(f"{where}: {api} is locked by Zoho's rate limit (7209: {message})", retry_after=wait)
        )
    if code in _DAILY_LIMIT_CODES:
        raise refused_whole(
            FatalTargetError(
                f"{where}: Zoho's daily API limit is reached ({code}: {message}); the next sync after 00:00 carries on"
            )
        )
    if code == _NO_SUCH_USER_CODE and api == READ_BACK:
        raise NoSuchEmployeeError(f"{where}: {api}: {message} (code {code})")
    if code == _NO_RECORDS_CODE and api == EMPLOYEE_RECORDS:
        return None
    if code in _PERMISSION_CODES or status in (401, 403):
        raise refused_whole(
            CredentialsError(f"{where}: {api} refused: {message} (code {code}); check the client's scopes and role")
        )
    if api == BULK_IMPORT:
        raise CallRefusedError(message, code)
    raise refused_whole(FatalTargetError(f"{where}: {api} refused the call: {message} (code {code}, HTTP {status})"))


def bulk_results(reply: Any, rows: int) -> list[tuple[bool | None, str]]:
    """Per row: (taken, Zoho's message), taken None when the reply does not say (see the module docstring)."""
    response = reply.get("response") if isinstance(reply, dict) else None
    if isinstance(response, str) and response.strip().lower() == "success":
        return [(True, "")] * rows
    result = response.get("result") if isinstance(response, dict) else None
    if (
        isinstance(result, list)
        and len(result) == rows
        and all(isinstance(item, dict) and item.get("status") in ("success", "failure") for item in result)
    ):
        answers: list[tuple[bool | None, str]] = []
        for item in result:
            if item["status"] == "success":
                answers.append((True, ""))
            else:
                code = item.get("code")
                answers.append((False, f"{item.get('message') or 'refused'}" + (f" (code {code})" if code else "")))
        return answers
    shown = json.dumps(reply, separators=(",", ":"))
    shown = shown if len(shown) <= 120 else shown[:117] + "..."
    return [(None, f"{BULK_IMPORT} answered {shown}, which does not say which punches Zoho took")] * rows


def employee_page(reply: dict[str, Any], where: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The (record id, fields) of a getRecords page."""
    result = reply.get("response", {}).get("result") if isinstance(reply.get("response"), dict) else None
    if not isinstance(result, list):
        raise FatalTargetError(f"{where}: {EMPLOYEE_RECORDS} answered without response.result")
    page: list[tuple[str, Mapping[str, Any]]] = []
    for item in result:
        if not isinstance(item, dict) or len(item) != 1:
            raise FatalTargetError(f"{where}: {EMPLOYEE_RECORDS}: a result is not {{recordId: [fields]}}")
        ((record_id, forms),) = item.items()
        if not isinstance(forms, list) or not forms or not isinstance(forms[0], dict):
            raise FatalTargetError(f"{where}: {EMPLOYEE_RECORDS}: record {record_id} has no fields")
        page.append((str(record_id), forms[0]))
    return page


def text(value: Any) -> str | None:
    """A field's text, stripped; None when empty."""
    text = str(value).strip() if value is not None else ""
    return text or None


def epoch_ms(value: Any) -> datetime | None:
    """A time in epoch milliseconds (as Zoho writes ModifiedTime), or None when unreadable."""
    with contextlib.suppress(TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(int(str(value)) / 1000, UTC)
    return None
