"""The Frappe REST API as the `erpnext` target uses it: one call, Frappe's errors, and paged lists.

Frappe answers an error with an HTTP status and a JSON body whose `exc_type` names the exception and
whose `_server_messages` (a JSON list of JSON objects, each with a `message`) holds the words shown
to the user. What a reply becomes:

| Frappe answers | becomes |
|---|---|
| 200 with JSON | the reply |
| 417 (`ValidationError` and kin) to a write | `RefusedError`: the record's dead letter, with Frappe's message |
| 417 "Failed to get method for command ..." | `FatalTargetError`: the check-in method is not there (`checkin_api`) |
| 417 to a list query | `FatalTargetError` naming the query (a field the site does not have) |
| 401 `AuthenticationError`, 403 `PermissionError` | `CredentialsError`: fix the key, secret or the API user's roles |
| 429 `TooManyRequestsError`, or 503 with Retry-After | `RateLimitedError` with Retry-After (at most 300 s) |
| 5xx, timeouts, refused connections | `TransientError`: the engine retries the batch |
| 404, a redirect, another 4xx | `FatalTargetError` naming the URL |
| not Frappe's reply (an HTML page, a broken body) | `TargetReplyError` (a `FatalTargetError`) |

The API key and secret travel only in the `Authorization: token key:secret` header; they never
reach a message or the log.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    HttpConnection,
    RefusedError,
    TargetReplyError,
    clip,
    throttling_error,
)

if TYPE_CHECKING:
    import httpx

_TAGS = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Frappe's message without its HTML (`<Br>`, links) and entities, on one line."""
    return " ".join(html.unescape(_TAGS.sub(" ", text)).split())


def frappe_error(response: httpx.Response) -> tuple[str, str]:
    """(exc_type, message) of a Frappe error reply; ("", some of the body) when it is not one."""
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "")
        return "", "an HTML page" if "html" in kind else clip(response.text, 200) or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return "", clip(str(body), 200)
    exc_type = str(body.get("exc_type") or "")
    messages: list[str] = []
    try:
        for item in json.loads(body.get("_server_messages") or "[]"):
            found = json.loads(item) if isinstance(item, str) else item
            text = found.get("message") if isinstance(found, dict) else found
            if isinstance(text, str) and text.strip():
                messages.append(plain(text))
    except (ValueError, TypeError):
        messages = []
    if not messages:
        exception = str(body.get("exception") or body.get("message") or "")
        messages = [plain(re.sub(r"^[\w.]+(Error|Exception): ", "", exception))] if exception else []
    return exc_type, clip("; ".join(messages) or f"HTTP {response.status_code}")


class FrappeClient:
    """Calls to one Frappe site over the target's connection (thread-safe)."""

    def __init__(self, http: HttpConnection) -> None:
        self.http, self.where = http, http.where

    def call(self, method: str, path: str, what: str, **request: Any) -> Any:
        """One call; its JSON body, else the error of the table in the module docstring (`RefusedError` for a 417)."""
        response = self.http.request(method, path, what, **request)
        status = response.status_code
        if status == 200:
            return self.http.json(response, what)
        exc_type, message = frappe_error(response)
        said = f"{exc_type}: {message}" if exc_type else message
        if status == 417:
            if "Failed to get method for command" in message:
                raise FatalTargetError(
                    f"{self.where}: {what}: the site has no such method ({message}); Frappe HR (v14 and later) needs "
                    "checkin_api: hrms, ERPNext v13 and earlier checkin_api: erpnext"
                )
            raise RefusedError(message, reason=exc_type or "ValidationError")
        if status == 401:
            raise CredentialsError(
                f"{self.where}: {what}: the site refused the API key and secret ({said}); generate them again under "
                "User > Settings > API Access for the integration user"
            )
        if status == 403:
            raise CredentialsError(
                f"{self.where}: {what}: the API user is not permitted ({said}); it needs a role that can read "
                "Employee and Attendance and create and read Employee Checkin (HR User)"
            )
        throttled = throttling_error(response, f"{self.where}: {what}: the site", detail=said)
        if throttled is not None:
            raise throttled
        if 300 <= status < 400:
            location = clip(response.headers.get("location", "nowhere"), 200)
            raise FatalTargetError(
                f"{self.where}: {what}: the site redirects ({status}) to {location}; set `url` to the address it "
                "answers on"
            )
        raise FatalTargetError(f"{self.where}: {what}: the site answered {status} ({said}); check `url`")

    def listing(
        self,
        doctype: str,
        fields: Sequence[str],
        filters: Sequence[Sequence[Any]],
        page_size: int,
        order_by: str = "name asc",
    ) -> Iterator[dict[str, Any]]:
        """Every document of `doctype` the filters select, `page_size` a page, to the last (short) page."""
        what = f"listing {doctype}"
        start = 0
        while True:
            params: Mapping[str, Any] = {
                "fields": json.dumps(list(fields)),
                "filters": json.dumps([list(f) for f in filters]),
                "order_by": order_by,
                "limit_start": start,
                "limit_page_length": page_size,
            }
            try:
                reply = self.call("GET", f"/api/resource/{quote(doctype)}", what, params=params)
            except RefusedError as refused:
                raise FatalTargetError(
                    f"{self.where}: {what}: the site refused the query ({refused.reason}: {refused.message}); "
                    "check employee_fieldname"
                ) from None
            rows = reply.get("data") if isinstance(reply, dict) else None
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise TargetReplyError(f"{self.where}: {what}: the reply has no `data` list of documents")
            yield from rows
            if len(rows) < page_size:
                return
            start += page_size
