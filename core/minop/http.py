"""The HTTP core of the Minop clients (the pull API's `MinopClient` and the device commands'
`DeviceClient`), and their errors.

One `httpx.Client` per client, with a timeout per network operation and a total deadline per call
(retries, `Retry-After` waits and a reply that trickles in all count against it). 429 and 503 are
retried after the `Retry-After` the cloud asked for (with `stamina`, bounded in attempts and time);
other 5xx and network errors with jittered backoff. Replies are read in full before being parsed, at
most `max_body_bytes` after gzip decoding, so a hostile or broken reply cannot exhaust memory.

Errors (all `PunchbridgeError`, exit code 1), by what to do next:

    MinopError
    ├── MinopAuthError                  credentials refused (HTTP 401/403, OAuth error): fix the configuration
    ├── MinopUnavailableError           network error, timeout, 5xx, 429/503 after the retries: run again later
    │   └── MinopDeadlineExceededError  the call did not finish within its deadline
    ├── MinopRefusedError               HTTP >= 400 with the cloud's `code` and `message`: the request is wrong
    └── MinopReplyError                 the reply breaks the contract (not JSON, no `data` list, bad cursor)

Secrets (API key, client secret, tokens) are sent in headers and never appear in messages or reprs.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import stamina

from punchbridge._version import __version__
from punchbridge.errors import PunchbridgeError
from punchbridge.plugin_api.http import retry_after_seconds as _retry_after_seconds

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_RETRY_AFTER_SECONDS",
    "RETRY_ATTEMPTS",
    "MinopAuthError",
    "MinopDeadlineExceededError",
    "MinopError",
    "MinopHttp",
    "MinopRefusedError",
    "MinopReplyError",
    "MinopUnavailableError",
    "Reply",
    "quote",
    "retry_after_seconds",
]

#: Largest reply body read (after gzip decoding): a page of 1,000 records is well under 2 MB.
MAX_BODY_BYTES = 32 * 1024 * 1024
#: Attempts per call (the first try included) for retryable failures.
RETRY_ATTEMPTS = 5
#: The longest `Retry-After` honoured; a longer one ends the call (it would outlive any sane deadline).
MAX_RETRY_AFTER_SECONDS = 600.0
#: Longest cloud text quoted in an error message.
_QUOTE_LIMIT = 300
_RETRY_STATUSES = frozenset({429, 503})
_BACKOFF_STATUSES = frozenset({500, 502, 504})


class MinopError(PunchbridgeError):
    """The Minop cloud could not be used for this call."""


class MinopAuthError(MinopError):
    """The cloud refused the credentials (API key, OAuth client, command token): fix the configuration."""

    def __init__(self, message: str, *, status: int | None = None, said: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.said = said  # what the cloud said: HTTP status, code and message


class MinopUnavailableError(MinopError):
    """The cloud could not be reached or kept failing: run again later (what was stored is kept)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MinopDeadlineExceededError(MinopUnavailableError):
    """The call did not finish within its total deadline (retries and waits included)."""


class MinopRefusedError(MinopError):
    """The cloud answered HTTP >= 400 with its `code` and `message`: the request itself is wrong."""

    def __init__(self, message: str, *, status: int, code: str, cloud_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.cloud_message = cloud_message


class MinopReplyError(MinopError):
    """The reply breaks the contract (not JSON, a missing `data` list, a repeated cursor, too large)."""


class _RetryableError(MinopUnavailableError):
    """A failure worth another attempt (the marker `stamina` retries on)."""


#: A run of base64 this long in a cloud's message is hidden: it may be a (partial) biometric template.
_LONG_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{64,}={0,2}")


def quote(text: str, redact: Sequence[str] = ()) -> str:
    """`text` as it may appear in a message: secrets and long base64 runs replaced, control characters
    dropped, shortened."""
    for secret in redact:
        if secret:
            text = text.replace(secret, "***")
    text = _LONG_BASE64.sub("<base64 hidden>", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= _QUOTE_LIMIT else text[:_QUOTE_LIMIT] + f"...({len(text) - _QUOTE_LIMIT} more)"


# -- authentication -----------------------------------------------------------------------------------


@dataclass
class Reply:
    """A reply read in full: status, headers and the body (decoded from gzip)."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def json(self, what: str) -> Any:
        """The body as JSON; MinopReplyError naming `what` when it is not JSON (or nested absurdly deep)."""
        try:
            return json.loads(self.body)
        except RecursionError:
            raise MinopReplyError(f"{what}: the reply is JSON nested too deeply to read") from None
        except ValueError as exc:  # also UnicodeDecodeError, and integers too long to convert
            sample = quote(self.body[:80].decode("utf-8", "replace"))
            raise MinopReplyError(f"{what}: the reply is not JSON ({exc}); it starts with {sample!r}") from None


class MinopHttp:
    """One `httpx.Client` with timeouts, a total deadline per call and retries on 429/503/5xx.

    `sleep` waits out a `Retry-After`: by default `stamina` waits it; a test passes its clock's sleep so
    an emulator's rate limit window moves without real waiting. `transport` replaces the network (an
    `httpx.MockTransport` in tests). `redact` lists texts never to quote in a message (secrets).
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        deadline: float = 120.0,
        attempts: int = RETRY_ATTEMPTS,
        max_body_bytes: int = MAX_BODY_BYTES,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        redact: Sequence[str] = (),
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.attempts = attempts
        self.max_body_bytes = max_body_bytes
        self.redact = tuple(redact)
        self._sleep = sleep
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={"User-Agent": f"punchbridge/{__version__}", "Accept": "application/json"},
        )

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __repr__(self) -> str:
        return f"MinopHttp(timeout={self.timeout}, deadline={self.deadline})"

    def call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        headers: Callable[[], Mapping[str, str]] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        """Send one request, retrying what is worth retrying, within the deadline; return a reply below 400
        (304 included). `headers` is called before each attempt (a renewed token is picked up).

        A POST or PUT carries an `Idempotency-Key`, as the cloud document asks: the caller's (`headers`
        may give one), else one made for this call; every retry of the call sends the same key.
        """
        deadline_at = time.monotonic() + self.deadline
        tries = 0
        if method in ("POST", "PUT"):
            call_key = uuid.uuid4().hex
            given = headers

            def headers() -> Mapping[str, str]:
                found = dict(given()) if given is not None else {}
                if not any(name.lower() == "idempotency-key" for name in found):
                    found["Idempotency-Key"] = call_key
                return found

        def retry_on(exc: BaseException) -> bool | float:
            if not isinstance(exc, _RetryableError):
                return False
            if exc.retry_after is None:
                return True
            if self._sleep is not None:
                self._sleep(exc.retry_after)
                return 0.0
            return exc.retry_after

        try:
            for attempt in stamina.retry_context(
                on=retry_on, attempts=self.attempts, timeout=self.deadline, wait_initial=0.5, wait_max=30.0
            ):
                with attempt:
                    tries += 1
                    reply = self._attempt(method, url, what, deadline_at, params, headers, json_body, form, auth)
        except _RetryableError as exc:
            raise MinopUnavailableError(
                f"{exc} (gave up after {tries} attempt(s))", retry_after=exc.retry_after
            ) from None
        return reply

    def _attempt(
        self,
        method: str,
        url: str,
        what: str,
        deadline_at: float,
        params: Mapping[str, str] | None,
        headers: Callable[[], Mapping[str, str]] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
    ) -> Reply:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise MinopDeadlineExceededError(f"{what}: no reply within the deadline of {self.deadline:g} s")
        extra = dict(headers()) if headers is not None else {}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            extra["Authorization"] = f"Basic {token}"
        request = self._client.build_request(
            method,
            url,
            params=params,
            headers=extra,
            json=json_body,
            data=form,
            timeout=httpx.Timeout(min(self.timeout, remaining)),
        )
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise _RetryableError(f"{what}: no reply within {min(self.timeout, remaining):g} s") from None
        except httpx.TransportError as exc:
            raise _RetryableError(
                f"{what}: cannot reach {_origin(url)}: {type(exc).__name__}: {quote(str(exc))}"
            ) from None
        try:
            body = self._read(response, what, deadline_at)
        finally:
            response.close()
        reply = Reply(response.status_code, response.headers, body, url)
        if reply.status < 400:
            return reply
        raise self._failure(reply, what, deadline_at)

    def _read(self, response: httpx.Response, what: str, deadline_at: float) -> bytes:
        """The whole body, checking the deadline between chunks (a reply that trickles in is cut off)."""
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise MinopReplyError(f"{what}: the reply is larger than {self.max_body_bytes} bytes")
                chunks.append(chunk)
                if time.monotonic() > deadline_at:
                    raise MinopDeadlineExceededError(
                        f"{what}: the reply did not arrive in full within the deadline of {self.deadline:g} s"
                    )
        except httpx.DecodingError as exc:
            raise MinopReplyError(f"{what}: the reply cannot be decoded ({quote(str(exc))})") from None
        except httpx.TimeoutException:
            raise _RetryableError(f"{what}: the reply stalled (no data for {self.timeout:g} s)") from None
        except httpx.TransportError as exc:
            raise _RetryableError(f"{what}: the connection broke while reading: {type(exc).__name__}") from None
        if time.monotonic() > deadline_at:
            raise MinopDeadlineExceededError(
                f"{what}: the reply did not arrive within the deadline of {self.deadline:g} s"
            )
        return b"".join(chunks)

    def _failure(self, reply: Reply, what: str, deadline_at: float) -> MinopError:
        code, message = self.error_of(reply)
        said = f"HTTP {reply.status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
        if reply.status in _RETRY_STATUSES:
            wait = retry_after_seconds(reply.headers.get("Retry-After"))
            if wait is not None and wait > deadline_at - time.monotonic():
                return MinopDeadlineExceededError(
                    f"{what}: {said}; the cloud asked to retry after {wait:g} s, past the deadline of "
                    f"{self.deadline:g} s: run again later"
                )
            return _RetryableError(f"{what}: {said}", retry_after=wait)
        if reply.status in _BACKOFF_STATUSES:
            return _RetryableError(f"{what}: {said}")
        if reply.status in (401, 403):
            return MinopAuthError(
                f"{what}: the cloud refused the credentials ({said}); check the configuration",
                status=reply.status,
                said=said,
            )
        return MinopRefusedError(
            f"{what}: the cloud refused the request ({said})", status=reply.status, code=code, cloud_message=message
        )

    def error_of(self, reply: Reply) -> tuple[str, str]:
        """The cloud's `code` and `message` of a failure reply (quoted safely; the body text if not JSON)."""
        try:
            parsed = json.loads(reply.body) if reply.body else None
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            code = parsed.get("code", parsed.get("error", ""))
            message = parsed.get("message", parsed.get("error_description", ""))
            return quote(str(code), self.redact), quote(str(message), self.redact)
        return "", quote(reply.body[:_QUOTE_LIMIT].decode("utf-8", "replace").strip(), self.redact)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date), capped; None if absent
    or unreadable."""
    return _retry_after_seconds(value, MAX_RETRY_AFTER_SECONDS)


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
