"""What Zoho People's replies mean for the `zoho_people` target (pure: a reply in, a body or an error out).

Zoho answers most errors with HTTP 200 and a code in the body; `reply_body` maps them to the target
error tree, as docs/plugins/zoho-people.md tabulates: an invalid token (7202) is a
`TokenRefusedError` (renewed once), a lock (7209) or a 429 a `RateLimitedError` with the lock time,
the daily limit (7213) and other refusals a `FatalTargetError`, missing permissions a
`CredentialsError`, a 5xx a `TransientError`, a body that is not JSON a `FatalTargetError` naming
what came back. Each error of a bulkImport call is marked with `nothing_landed`: True when Zoho
refused the whole call, False when nobody knows what it stored (then the days are read back first).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    RateLimitedError,
    TargetError,
    TokenRefusedError,
    content_kind,
    retry_after,
    throttling_error,
)
from punchbridge.plugins.zoho_people.settings import BULK_IMPORT, EMPLOYEE_RECORDS, LOCK_SECONDS, ZohoPeopleSettings

__all__ = [
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


def _error_of(body: Any) -> tuple[int | None, str] | None:
    """Zoho's (code, message) when `body` says the call failed; None when it says success."""
    if not isinstance(body, dict):
        return None
    response = body.get("response", body)
    if not isinstance(response, dict):
        return (None, "the reply's `response` is not an object")
    errors = response.get("errors", body.get("errors"))
    if isinstance(errors, list) and errors:
        errors = errors[0]
    if isinstance(errors, dict):
        code = errors.get("code")
        number = int(code) if isinstance(code, int) or (isinstance(code, str) and code.isdigit()) else None
        return (number, str(errors.get("message") or "no message"))
    status = response.get("status", 0)
    if status not in (0, "0", None, "success"):
        return (None, str(response.get("message") or f"status {status}"))
    return None


def reply_body(api: str, response: httpx.Response, where: str) -> dict[str, Any] | None:
    """The body of a successful reply; else the TargetError of what went wrong (see the module docstring)."""
    status = response.status_code
    body = json_body(response)
    lock = LOCK_SECONDS.get(api, 300.0)
    throttled = throttling_error(response, f"{where}: {api}", default_wait=lock)
    if throttled is not None:  # a 429 stored nothing; after a 5xx nobody knows what Zoho stored
        raise refused_whole(throttled) if status == 429 else unknown(throttled)
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
    if code == _NO_RECORDS_CODE and api == EMPLOYEE_RECORDS:
        return None
    if code in _PERMISSION_CODES or status in (401, 403):
        raise refused_whole(
            CredentialsError(f"{where}: {api} refused: {message} (code {code}); check the client's scopes and role")
        )
    raise refused_whole(FatalTargetError(f"{where}: {api} refused the call: {message} (code {code}, HTTP {status})"))


def bulk_results(reply: dict[str, Any] | None, rows: int, where: str) -> list[tuple[bool, str]]:
    """Per row: (taken, Zoho's message). TargetError when the reply does not answer every row."""
    result = (
        (reply or {}).get("response", {}).get("result") if isinstance((reply or {}).get("response"), dict) else None
    )
    if not isinstance(result, list) or len(result) != rows:
        count = len(result) if isinstance(result, list) else "no"
        raise unknown(
            FatalTargetError(f"{where}: {BULK_IMPORT} answered {count} results for {rows} punches; cannot tell which")
        )
    answers = []
    for item in result:
        if not isinstance(item, dict) or item.get("status") not in ("success", "failure"):
            raise unknown(FatalTargetError(f"{where}: {BULK_IMPORT} answered a result without success/failure"))
        if item["status"] == "success":
            answers.append((True, ""))
        else:
            code = item.get("code")
            answers.append((False, f"{item.get('message') or 'refused'}" + (f" (code {code})" if code else "")))
    return answers


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
