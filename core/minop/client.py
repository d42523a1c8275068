"""Client of the Minop cloud's attendance pull API (raw punches, processed days), API key or OAuth.

    client = MinopClient("https://minop.example.com", ApiKey(SecretStr(key)), timeout=30, deadline=120)
    with client:
        page = client.raw_page({"from": "2025-10-01T00:00:00Z", "limit": "1000"})
        while page.next_cursor:
            page = client.raw_page({"from": "2025-10-01T00:00:00Z", "limit": "1000", "cursor": page.next_cursor})

Timeouts, the deadline per call, retries and the errors are the HTTP core's (`punchbridge.minop.http`,
shared with the device command client); the errors are named here too, as this is the module callers
catch them from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from punchbridge.minop.http import (
    MAX_BODY_BYTES,
    MinopAuthError,
    MinopDeadlineExceededError,
    MinopError,
    MinopHttp,
    MinopRefusedError,
    MinopReplyError,
    MinopUnavailableError,
    Reply,
    quote,
)

__all__ = [
    "MAX_BODY_BYTES",
    "PROCESSED_PATH",
    "RAW_PATH",
    "TOKEN_MARGIN_SECONDS",
    "ApiKey",
    "ClientCredentials",
    "MinopAuthError",
    "MinopClient",
    "MinopDeadlineExceededError",
    "MinopError",
    "MinopHttp",
    "MinopRefusedError",
    "MinopReplyError",
    "MinopUnavailableError",
    "NotModified",
    "Page",
    "Reply",
    "quote",
]

#: A cached OAuth token is renewed this many seconds before it expires.
TOKEN_MARGIN_SECONDS = 30.0
RAW_PATH = "/v1/attendance/raw"
PROCESSED_PATH = "/v1/attendance/processed"


@dataclass(frozen=True)
class ApiKey:
    """An API key, sent in `header` (as `Bearer KEY` when the header is `Authorization`)."""

    key: SecretStr
    header: str = "X-API-Key"

    def headers(self) -> dict[str, str]:
        """The request headers that carry the key."""
        value = self.key.get_secret_value()
        if self.header.lower() == "authorization":
            value = f"Bearer {value}"
        return {self.header: value}


@dataclass(frozen=True)
class ClientCredentials:
    """OAuth 2.0 client credentials: the token endpoint, the client and the scopes to ask for."""

    token_url: str
    client_id: str
    client_secret: SecretStr
    scopes: tuple[str, ...] = ()


# -- the attendance pull API --------------------------------------------------------------------------


@dataclass
class Page:
    """One page of records: the record objects as sent (non-objects included, for the caller to
    quarantine), the cursor of the next page (None at the end), the ETag and the site time zone."""

    records: list[Any]
    next_cursor: str | None
    etag: str | None = None
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotModified:
    """The cloud answered 304: the page asked for with `If-None-Match` has not changed."""

    etag: str


MAX_CURSOR_LENGTH = 4096


class MinopClient:
    """The attendance pull API: `raw_page` and `processed_page`, with API key or OAuth authentication.

    An OAuth token is cached until `TOKEN_MARGIN_SECONDS` before it expires (by `clock`, epoch
    seconds) and renewed then, or once when the cloud answers 401 to a cached token.
    """

    def __init__(
        self,
        base_url: str,
        auth: ApiKey | ClientCredentials,
        *,
        timeout: float = 30.0,
        deadline: float = 120.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self._clock = clock
        secrets = [auth.key.get_secret_value()] if isinstance(auth, ApiKey) else [auth.client_secret.get_secret_value()]
        self._http = MinopHttp(
            timeout=timeout,
            deadline=deadline,
            max_body_bytes=max_body_bytes,
            sleep=sleep,
            transport=transport,
            redact=secrets,
        )
        self._token: str | None = None
        self._token_expires = 0.0
        self.tokens_fetched = 0

    def __enter__(self) -> MinopClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __repr__(self) -> str:
        kind = "api key" if isinstance(self.auth, ApiKey) else f"oauth client {self.auth.client_id!r}"
        return f"MinopClient({self.base_url!r}, {kind})"

    # -- auth ------------------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        if isinstance(self.auth, ApiKey):
            return self.auth.headers()
        if self._token is None or self._clock() >= self._token_expires - TOKEN_MARGIN_SECONDS:
            self._fetch_token()
        assert self._token is not None
        return {"Authorization": f"Bearer {self._token}"}

    def _fetch_token(self) -> None:
        assert isinstance(self.auth, ClientCredentials)
        credentials = self.auth
        what = f"POST {credentials.token_url} (OAuth client credentials)"
        form = {"grant_type": "client_credentials"}
        if credentials.scopes:
            form["scope"] = " ".join(credentials.scopes)
        try:
            reply = self._http.call(
                "POST",
                credentials.token_url,
                what=what,
                form=form,
                auth=(credentials.client_id, credentials.client_secret.get_secret_value()),
            )
        except (MinopRefusedError, MinopAuthError) as exc:  # RFC 6749: 400 invalid_scope, 401 invalid_client, ...
            said = (
                f"HTTP {exc.status} {exc.code}: {exc.cloud_message}" if isinstance(exc, MinopRefusedError) else exc.said
            )
            raise MinopAuthError(
                f"{what}: the token endpoint refused client {credentials.client_id!r} ({said}); "
                "check client_id, client_secret and scopes",
                status=exc.status,
            ) from None
        granted = reply.json(what)
        token = granted.get("access_token") if isinstance(granted, dict) else None
        if not isinstance(token, str) or not token or len(token) > 8192:
            raise MinopReplyError(f"{what}: the reply has no usable access_token")
        kind = granted.get("token_type", "Bearer")
        if not isinstance(kind, str) or kind.lower() != "bearer":
            raise MinopReplyError(f"{what}: token_type {quote(str(kind))!r} is not supported (expected Bearer)")
        lifetime = granted.get("expires_in", 3600)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or not 0 < lifetime <= 10**7:
            raise MinopReplyError(f"{what}: expires_in {quote(str(lifetime))!r} is not a number of seconds")
        self._token = token
        self._http.redact = (*self._http.redact, token)
        self._token_expires = self._clock() + float(lifetime)
        self.tokens_fetched += 1

    # -- pages -----------------------------------------------------------------------------------

    def raw_page(self, params: Mapping[str, str], etag: str | None = None) -> Page | NotModified:
        """One page of `GET /v1/attendance/raw` (`from`, `to`, `employee_id`, `device_id`, `source`,
        `updated_since`, `cursor`, `limit`, `fields`)."""
        return self._page(RAW_PATH, params, etag)

    def processed_page(self, params: Mapping[str, str], etag: str | None = None) -> Page | NotModified:
        """One page of `GET /v1/attendance/processed` (`from`, `to`, `location`, `department`,
        `cost_center`, `updated_since`, `cursor`, `limit`, `fields`)."""
        return self._page(PROCESSED_PATH, params, etag)

    def pages(self, path: str, params: Mapping[str, str]) -> Iterator[Page]:
        """Every page of a query, following `next_cursor` (for one-off reads such as the purge check)."""
        query = dict(params)
        while True:
            page = self._page(path, query, None)
            assert isinstance(page, Page)
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor == query.get("cursor"):
                raise MinopReplyError(f"GET {path}: the cloud returned the same cursor again")
            query["cursor"] = page.next_cursor

    def _page(self, path: str, params: Mapping[str, str], etag: str | None) -> Page | NotModified:
        what = f"GET {path}"

        def headers() -> dict[str, str]:
            found = self._auth_headers()
            if etag:
                found["If-None-Match"] = etag
            return found

        try:
            reply = self._http.call("GET", self.base_url + path, what=what, params=params, headers=headers)
        except MinopAuthError as exc:
            if isinstance(self.auth, ApiKey) or self._token is None or exc.status != 401:
                raise
            self._token = None  # revoked or expired early: one fresh token, one more try
            reply = self._http.call("GET", self.base_url + path, what=what, params=params, headers=headers)
        if reply.status == 304:
            return NotModified(etag or "")
        return parse_page(reply.json(what), what, reply.headers.get("ETag"))


def parse_page(parsed: Any, what: str, etag: str | None = None) -> Page:
    """A page from a decoded reply: `{"data": [...], "next_cursor": "..." | null}` (MinopReplyError if not)."""
    if not isinstance(parsed, dict):
        raise MinopReplyError(f"{what}: expected a JSON object with `data`, got {type(parsed).__name__}")
    if "data" not in parsed:
        raise MinopReplyError(f"{what}: the reply has no `data` (keys: {quote(', '.join(map(str, parsed)))})")
    records = parsed["data"]
    if not isinstance(records, list):
        raise MinopReplyError(f"{what}: `data` is {type(records).__name__}, not a list")
    cursor = parsed.get("next_cursor")
    if cursor is not None and (not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH):
        raise MinopReplyError(f"{what}: `next_cursor` must be a non-empty string (at most {MAX_CURSOR_LENGTH} long)")
    zone = parsed.get("timezone")
    extra = {k: v for k, v in parsed.items() if k not in ("data", "next_cursor", "timezone")}
    return Page(records, cursor, etag, zone if isinstance(zone, str) else None, extra)
