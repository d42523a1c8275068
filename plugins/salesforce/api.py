"""The Salesforce REST API as the `salesforce` target uses it: one call, its errors, and SOQL paging.

Every call goes to the session's `instance_url` with the bearer token. What Salesforce answers
becomes what the sync engine does next:

| Salesforce answers | becomes |
|---|---|
| 401 (`INVALID_SESSION_ID`) | the session is renewed once and the call repeated; a second 401 is a `CredentialsError` |
| 403 `REQUEST_LIMIT_EXCEEDED` "TotalRequests Limit exceeded." | `FatalTargetError`: the 24-hour allowance is used up |
| 403 `REQUEST_LIMIT_EXCEEDED`, any other (concurrent requests) | `RateLimitedError`, after Retry-After or 60 s |
| 429, or 503 with Retry-After | `RateLimitedError` |
| 5xx, timeouts, refused connections | `TransientError`: the engine retries the batch |
| 403 otherwise, 404, 400 | `FatalTargetError` naming the API, Salesforce's errorCode and message |
| not Salesforce's reply (an HTML page, a broken body) | `TargetReplyError` (a `FatalTargetError`) |

`Sforce-Limit-Info: api-usage=USED/MAX`, which Salesforce puts on every reply, is kept so a batch
that would pass the allowance is not started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    HttpConnection,
    RateLimitedError,
    TargetReplyError,
    clip,
    retry_after,
    throttling_error,
)
from punchbridge.plugins.salesforce.auth import Session, TokenSource

if TYPE_CHECKING:
    import httpx

#: The wait after a REQUEST_LIMIT_EXCEEDED that is not the daily limit, when Salesforce gives none.
CONCURRENCY_WAIT = 60.0
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def soql_text(value: str) -> str:
    """`value` as a quoted SOQL string literal (backslashes and quotes escaped, control characters refused)."""
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"{value!r} holds a control character")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_datetime(moment: datetime) -> str:
    """An aware or UTC-naive datetime as a SOQL datetime literal (UTC, `Z`)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceApi:
    """Calls to one org's REST API (thread-safe: one connection, one token source)."""

    def __init__(self, tokens: TokenSource, http: HttpConnection, api_version: str) -> None:
        self.tokens, self.http, self.where = tokens, http, http.where
        self.base = f"/services/data/v{api_version}"
        self.used: int | None = None
        self.allowance: int | None = None

    def remaining(self) -> int | None:
        """API requests left in the org's 24-hour allowance, as the last reply said (None: not known yet)."""
        if self.used is None or self.allowance is None:
            return None
        return max(self.allowance - self.used, 0)

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        ok: tuple[int, ...] = (200,),
        headers: Mapping[str, str] | None = None,
        **request: Any,
    ) -> httpx.Response:
        """One call to `path` (under the instance URL); the reply when its status is in `ok`, else the error."""
        session = self.tokens.current()
        for attempt in (1, 2):
            response = self._send(session, method, path, what, headers, request)
            if response.status_code != 401:
                self._raise_for(response, what, ok)
                return response
            if attempt == 1:
                session = self.tokens.renew(session)
        code, message = _first_error(response)
        raise CredentialsError(
            f"{self.where}: {what}: Salesforce refused a new session ({code or 'HTTP 401'}: {clip(message, 200)}); "
            "the integration user may have lost API access, or an admin revoked the connected app's tokens"
        )

    def _send(
        self, session: Session, method: str, path: str, what: str, headers: Mapping[str, str] | None, request: Any
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {session.access_token}", **(headers or {})}
        response = self.http.request(method, session.instance_url + path, what, headers=sent, **request)
        found = _USAGE.search(response.headers.get("sforce-limit-info", ""))
        if found:
            self.used, self.allowance = int(found.group(1)), int(found.group(2))
        return response

    def _raise_for(self, response: httpx.Response, what: str, ok: tuple[int, ...]) -> None:
        status = response.status_code
        if status in ok:
            return
        code, message = _first_error(response)
        said = f"{code}: {clip(message, 300)}" if code else clip(message, 300)
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            if "totalrequests" in message.lower():
                raise FatalTargetError(
                    f"{self.where}: {what}: the org's API request allowance for the last 24 hours is used up ({said}); "
                    "nothing more is sent now, the next sync carries on once requests age out of the 24-hour window "
                    "(Setup > Company Information shows the allowance)"
                )
            wait = retry_after(response) or CONCURRENCY_WAIT
            raise RateLimitedError(f"{self.where}: {what}: Salesforce asked to slow down ({said})", retry_after=wait)
        throttled = throttling_error(response, f"{self.where}: {what}: Salesforce", detail=said)
        if throttled is not None:
            raise throttled
        if status == 403:
            raise FatalTargetError(
                f"{self.where}: {what}: Salesforce refused access ({said}); the integration user needs the API Enabled "
                "permission and create, edit and read access to the object and its fields"
            )
        if status == 404:
            raise FatalTargetError(
                f"{self.where}: {what}: not found ({said}); check `object`, the field names and `api_version`"
            )
        if 300 <= status < 400:
            raise FatalTargetError(f"{self.where}: {what}: Salesforce redirects ({status}); check login_url")
        raise FatalTargetError(f"{self.where}: {what}: Salesforce answered {status} ({said})")

    def json(self, response: httpx.Response, what: str) -> Any:
        """The reply's JSON body; TargetReplyError when it is not JSON."""
        return self.http.json(response, what)

    def query(self, soql: str, what: str, batch_size: int) -> Iterator[dict[str, Any]]:
        """Every record SOQL `soql` selects, following `nextRecordsUrl` to the last page."""
        path: str = f"{self.base}/query"
        params: dict[str, str] | None = {"q": soql}
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
        while True:
            reply = self.json(self.call("GET", path, what, params=params, headers=headers), what)
            records = reply.get("records") if isinstance(reply, dict) else None
            if not isinstance(records, list) or not isinstance(reply.get("done"), bool):
                raise TargetReplyError(f"{self.where}: {what}: the query reply has no `records` list or `done` flag")
            for index, record in enumerate(records):
                if not isinstance(record, dict):
                    raise TargetReplyError(f"{self.where}: {what}: record {index} of a page is not an object")
                yield record
            if reply["done"]:
                return
            following = reply.get("nextRecordsUrl")
            if not isinstance(following, str) or not following.startswith("/services/data/"):
                raise TargetReplyError(f"{self.where}: {what}: a page that is not the last has no nextRecordsUrl")
            path, params = following, None


def _first_error(response: httpx.Response) -> tuple[str, str]:
    """Salesforce's (errorCode, message) of an error reply; ("", some of the body) when it has none."""
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "")
        return "", "an HTML page" if "html" in kind else response.text[:200] or f"HTTP {response.status_code}"
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("error") or ""
        message = body.get("message") or body.get("error_description") or ""
        return str(code), str(message)
    return "", str(body)[:200]
