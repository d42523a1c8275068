"""What every HTTP target shares, written once: the client's life cycle, errors by what to do next, replies.

`HttpTarget` is the base of a target that speaks HTTP(S). It opens one keep-alive httpx client in
`open` (the timeout from the `timeout` setting, every request under it) and closes it in `close`, also
when opening failed half-way; a worker pool of `concurrency` threads comes with it for targets that
send calls side by side. `HttpTarget.http` is its `HttpConnection`, through which every request goes:

| what happens | becomes |
|---|---|
| no answer within the timeout, a refused or dropped connection | `TransientError` (the engine retries) |
| 429, or 503 with Retry-After (`throttling_error`) | `RateLimitedError`, Retry-After honoured up to 300 s |
| another 5xx (`throttling_error`) | `TransientError` |
| not JSON where JSON is due (`HttpConnection.json`) | `TargetReplyError` naming the target, call and status |

The rest of a reply's meaning (a refused login, a record the target refuses) is each target's own.

Logins are retried as the engine retries a push (`punchbridge.plugin_api.retries`: bounded, the
Retry-After honoured, a refused login never): `HttpTarget.open` retries `on_open`, and a plugin
that logs in or mints a token later wraps that call in `HttpConnection.retrying`.

Also here: `retry_after_seconds` (the Retry-After header), `clip` (a remote message cut to a size a
dead letter can hold), `checked_url` (base URLs in settings: https, plain http only to this machine),
`TimeZoneName` (a time-zone setting, checked with zoneinfo) and `HttpSettings` (the `timeout` every
HTTP target takes). Secrets never reach a message: the connection names the target and the call only.
"""

from __future__ import annotations

import email.utils
import ipaddress
import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from punchbridge._version import __version__
from punchbridge.errors import CredentialsError, RateLimitedError, TargetReplyError, TransientError
from punchbridge.plugin_api.retries import with_retries
from punchbridge.plugin_api.targets import Target

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_MESSAGE",
    "MAX_RETRY_AFTER_SECONDS",
    "USER_AGENT",
    "HttpConnection",
    "HttpSettings",
    "HttpTarget",
    "TimeZoneName",
    "TokenRefusedError",
    "checked_url",
    "clip",
    "content_kind",
    "retry_after",
    "retry_after_seconds",
    "throttling_error",
]

#: The longest wait a Retry-After may ask for before a retry (the engine's own retry budget is 300 s).
MAX_RETRY_AFTER_SECONDS = 300.0
#: The longest text of a remote system's taken into a message or dead letter.
MAX_MESSAGE = 500
#: How punchbridge introduces itself to the systems it calls.
USER_AGENT = f"punchbridge/{__version__}"

T = TypeVar("T")


# -- values in settings ----------------------------------------------------------------------------


def checked_url(value: str, setting: str) -> str:
    """An http(s) base URL without trailing slash; plain http only to a loopback host. ValueError otherwise."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{setting} must be an https:// URL, got {value!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{setting} must use https (plain http only to this machine): {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{setting} takes no query or fragment: {value!r}")
    return value.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Kolkata") from None
    return value


#: A time-zone setting: an IANA name zoneinfo knows (`Asia/Kolkata`), refused with a clear message otherwise.
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


class HttpSettings(BaseModel):
    """What every HTTP target's settings hold: `timeout`, the seconds one request may take. Extend it."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    timeout: float = Field(default=30.0, gt=0, le=600)


# -- replies ---------------------------------------------------------------------------------------


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` stripped and cut to `limit` characters, saying how much was cut (remote messages can be huge)."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


def retry_after_seconds(value: str | None, cap: float = MAX_RETRY_AFTER_SECONDS) -> float | None:
    """Seconds to wait from a `Retry-After` header value (delta seconds or an HTTP date), within 0..`cap`.

    None when the header is absent or unreadable (including `inf` and `nan`), so a target can raise
    `RateLimitedError(retry_after=retry_after_seconds(response.headers.get("retry-after")))` as it is.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), cap)


def retry_after(response: httpx.Response, cap: float = MAX_RETRY_AFTER_SECONDS) -> float | None:
    """The reply's Retry-After in seconds, within 0..`cap`; None when absent or unreadable."""
    return retry_after_seconds(response.headers.get("retry-after"), cap)


def content_kind(response: httpx.Response) -> str:
    """What a reply's body is, for a message: "an HTML page" (a proxy's, a login form), else its content type."""
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    return "an HTML page" if "html" in kind else kind or "no content type"


def throttling_error(
    response: httpx.Response,
    where: str,
    *,
    detail: str | None = None,
    default_wait: float | None = None,
    every_503: bool = False,
) -> TransientError | None:
    """What a throttled or failing server means: RateLimitedError for 429 (or 503 with Retry-After; any 503
    with `every_503`), TransientError for another 5xx, None for any other status.

    `where` says who answered what ("target odoo (https://...): hr.attendance.create"), `detail` what
    the body said (default: its kind); `default_wait` is the wait when the reply gives no Retry-After.
    """
    status = response.status_code
    said = detail if detail is not None else content_kind(response)
    if status == 429 or (status == 503 and (every_503 or "retry-after" in response.headers)):
        wait = retry_after(response)
        return RateLimitedError(
            f"{where} answered HTTP {status} ({said}); slow down",
            retry_after=wait if wait is not None else default_wait,
        )
    if status >= 500:
        return TransientError(f"{where} answered HTTP {status} ({said}); the target may be busy or down")
    return None


class TokenRefusedError(CredentialsError):
    """The target refused the access token (expired or revoked): renew it once; refused again, it is a
    `CredentialsError` (which this is, should it escape)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HttpConnection:
    """One target's HTTP client: keep-alive connections, the settings' timeout, transport errors as TransientError.

    Thread-safe (httpx's client is); `where` names the target in every message ("target odoo (URL)").
    `sleep` waits out a retry of `retrying` (default: stamina waits); tests pass their clock's sleep.
    """

    def __init__(
        self,
        where: str,
        *,
        timeout: float,
        base_url: str = "",
        headers: dict[str, str] | None = None,
        max_connections: int = 10,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        import httpx  # here: a plugin that loads (`punchbridge plugins`, validate) need not import httpx

        self.where, self.timeout, self.sleep = where, timeout, sleep
        #: Requests sent (retries and renewals included).
        self.requests = 0
        self.client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        )

    def request(self, method: str, url: str, what: str, **request: Any) -> httpx.Response:
        """One request (`what` names it in messages); no answer in time or a failed connection is a TransientError."""
        import httpx

        self.requests += 1
        try:
            return self.client.request(method, url, **request)
        except httpx.TimeoutException:
            raise TransientError(f"{self.where}: {what}: no answer, timed out after {self.timeout:g} s") from None
        except httpx.DecodingError as exc:
            raise TargetReplyError(
                f"{self.where}: {what}: the reply cannot be decoded: {clip(str(exc), 200)}"
            ) from None
        except httpx.RequestError as exc:
            raise TransientError(
                f"{self.where}: {what}: the connection failed ({type(exc).__name__}: {clip(str(exc), 200)})"
            ) from None

    def retrying(self, call: Callable[[], T]) -> T:
        """`call()` (a login, a token request) tried again after a 429, 5xx or lost connection it raised as
        a `TransientError`, as the engine retries a push: bounded, Retry-After honoured (`with_retries`).
        A refused login (`CredentialsError`) is raised at once."""
        return with_retries(call, sleep=self.sleep)

    def json(self, response: httpx.Response, what: str) -> Any:
        """The reply's JSON body; TargetReplyError naming the target, the call and the status when it is not JSON."""
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            kind = content_kind(response)
            shown = kind if kind == "an HTML page" else f"{kind} starting {clip(response.text, 40)!r}"
            raise TargetReplyError(
                f"{self.where}: {what}: the reply (HTTP {response.status_code}) is {shown}, not JSON; check the URL "
                "setting and any proxy in between"
            ) from None

    def close(self) -> None:
        """Close the connections (safe to call twice)."""
        self.client.close()


HttpSettingsT = TypeVar("HttpSettingsT", bound=HttpSettings)


class HttpTarget(Target[HttpSettingsT]):
    """Base of targets that speak HTTP(S): the connection's life cycle and a worker pool (module docstring).

    A subclass says how to connect in `connection_options` (base URL, headers, how many connections)
    and what opening means beyond the connection in `on_open` (log in, check the credentials: a
    refusal there is a CredentialsError before anything is sent). `open` is called by the engine;
    `http` and `pool` open the target on first use too, so a target used on its own works as well.
    `transport` replaces the network (tests: `httpx.MockTransport`). `on_open` is retried as a login
    (`HttpConnection.retrying`): it must be safe to run again after a `TransientError`.
    """

    #: Waits out a retry instead of stamina (tests set their clock's sleep); None: stamina waits.
    retry_sleep: Callable[[float], None] | None = None

    def __init__(
        self, name: str, settings: HttpSettingsT | Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(name, settings)
        self.transport = transport
        self._http: HttpConnection | None = None
        self._pool: ThreadPoolExecutor | None = None

    @property
    def where(self) -> str:
        """Who this is in messages: `target NAME` (targets add their system and address)."""
        return f"target {self.name}"

    @property
    def concurrency(self) -> int:
        """Calls a target sends side by side: its `concurrency` setting, else 1."""
        return int(getattr(self.settings, "concurrency", 1))

    def connection_options(self) -> dict[str, Any]:
        """Keywords for `HttpConnection` besides `where`, `timeout` and `transport` (base_url, headers,
        max_connections); default: `concurrency` connections."""
        return {"max_connections": self.concurrency}

    def on_open(self) -> None:
        """After the connection is made: log in, check credentials, learn the server (default: nothing)."""

    def on_close(self) -> None:
        """Before the connection is closed: save state, forget sessions (default: nothing)."""

    def open(self) -> None:
        """Open the connection, then `on_open` (retried as a login is: a 429 or 5xx, not a refusal); all is
        closed again if that fails (the pool comes on first use)."""
        if self._http is not None:
            return
        self._http = HttpConnection(
            self.where,
            timeout=self.settings.timeout,
            transport=self.transport,
            sleep=self.retry_sleep,
            **self.connection_options(),
        )
        try:
            self._http.retrying(self.on_open)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """`on_close`, then close the worker pool and the connection (safe to call twice, also after errors)."""
        http, pool = self._http, self._pool
        if http is None and pool is None:
            return
        try:
            self.on_close()
        finally:
            self._http = self._pool = None
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if http is not None:
                http.close()

    @property
    def is_open(self) -> bool:
        """Whether the connection is open."""
        return self._http is not None

    @property
    def http(self) -> HttpConnection:
        """The open connection (opening the target on first use)."""
        if self._http is None:
            self.open()
        assert self._http is not None
        return self._http

    @property
    def pool(self) -> ThreadPoolExecutor:
        """`concurrency` worker threads for calls sent side by side (made on first use, shut down in `close`)."""
        if self._pool is None:
            self.http  # noqa: B018 - the pool lives as long as the connection
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"target-{self.name}")
        return self._pool
