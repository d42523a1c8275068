"""A Minop cloud emulator: terminals that push punches, the device command API, the attendance pull API,
OAuth and API keys, rate limits and signed webhooks, as docs/minop.md describes them.

    emulator = MinopEmulator(clock=clock)
    emulator.add_raw_punches([{"employee_id": "E1", "device_id": "dev1", "timestamp": "2025-10-01T03:30:00Z"}])
    device = emulator.add_device("dev1", timezone="Asia/Kolkata")
    with serve(emulator.app) as server:
        settings = emulator.source_settings(server.url)        # for a `minop` source
        emulator.start_push(listener_url)                       # terminals push to a listener

It refuses what the real service refuses, so a client that breaks a rule fails here first:

- Pull API (`GET /v1/attendance/raw`, `GET /v1/attendance/processed`): an API key (`X-API-Key` or
  `Authorization: Bearer`) or an OAuth token with scope `read:raw` / `read:processed`, else 401
  (unknown or expired credential) or 403 (`insufficient_scope`). Unknown parameters, bad dates and
  instants, a `limit` outside 1..1000, unknown `fields` and a cursor from another query give 400 with
  `{"code", "message"}` naming the parameter; the processed feed needs `from` and `to`. Pages are
  `{"data", "next_cursor", "timezone"}`; `updated_since` serves records whose `updated_at` is at or
  after it; every page has an ETag, and `If-None-Match` with the same one gets 304; bodies of 512
  bytes or more are gzipped for clients that accept it.
- Per-credential rate limit (`RateLimits`, default 600 calls per 60 s by the emulator's clock): the
  call past it gets 429 with `Retry-After` (seconds until a call is free again). `RateLimits.lifted()`
  removes it.
- `POST /oauth/token` (client credentials, HTTP Basic or form fields): RFC 6749 errors
  (`invalid_client` 401, `unsupported_grant_type` / `invalid_scope` 400); tokens live
  `token_lifetime` seconds by the clock.
- `POST /api/v1/execute?stgid=` (device commands): Bearer command token (401), a JSON media type
  (415), known device (404), JSON object with `CommandName`, `CommandEntity`, `AuthToken` (400 naming
  what is missing), the device's AuthToken (401), known command and entity (400), each command's fields
  and formats (400, see `_minop_devices.execute_command`). `OperationID` is for tracking only, as the
  vendor says: a repeated one is executed again, so a retried Add User finds the user there (updated, or
  409 `user_exists` with `existing_user="refuse"`) and a retried Delete User does not (404
  `unknown_user`). `dedupe_operations=True` models a cloud that executes an OperationID once. The
  `Content-Type` and `Idempotency-Key` of each executed command are kept in `executed`.

Processing (`_minop_processing`): `process_raw()` computes processed days from the raw punches (the
emulator's stand-in for the cloud's pipeline, with one shift, `cloud_shift`); with `auto_process`,
every punch the cloud receives recomputes its employee-day, and with `webhooks` an
`attendance.processed` event is sent for each day recomputed.

Test hooks: `fail_next` (inject failures or malformed replies), `fail_after_pages` / `heal` (the
cloud goes down part-way through a backfill), `slow_next` (a reply that trickles in),
`command_reply` (a 2xx whose status is not `done`), `lose_next_reply` (executed, but the caller
sees a 503), `hold_commands` / `release_commands` (commands wait, unanswered, after a number were
executed: a client can be killed mid-run), and counters in `stats`.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from punchbridge.testing.emulators._minop_devices import (
    CommandRefusedError,
    DeviceUser,
    EmulatedDevice,
    LogEntry,
    PushSender,
    execute_command,
)
from punchbridge.testing.emulators._minop_devices import parse_command as _parse_command
from punchbridge.testing.emulators._minop_feeds import (
    PROCESSED_FIELDS,
    RAW_FIELDS,
    Feed,
    QueryError,
    format_instant,
    parse_instant,
    parse_query,
    processed_match,
    raw_match,
)
from punchbridge.testing.emulators._minop_processing import CloudShift, days_touched, process_days
from punchbridge.testing.emulators._minop_scenario import LiveScans, ScanLog
from punchbridge.testing.emulators._minop_webhooks import WebhookSender

__all__ = [
    "PROCESSED_FIELDS",
    "RAW_FIELDS",
    "CloudShift",
    "DeviceUser",
    "EmulatedDevice",
    "LiveScans",
    "LogEntry",
    "MinopEmulator",
    "RateLimits",
    "ScanLog",
    "WebhookSender",
]

RAW = "/v1/attendance/raw"
PROCESSED = "/v1/attendance/processed"
EXECUTE = "/api/v1/execute"
TOKEN = "/oauth/token"
SCOPES = ("read:raw", "read:processed", "write:leave", "admin")
MAX_COMMAND_BYTES = 1024 * 1024
GZIP_MIN_BYTES = 512


@dataclass
class RateLimits:
    """The per-credential call limit (None: no limit), counted over a sliding window of the clock."""

    per_window: int | None = 600
    window_seconds: float = 60.0

    @classmethod
    def lifted(cls) -> RateLimits:
        """No rate limit (for throughput tests)."""
        return cls(per_window=None)


@dataclass
class _Injection:
    status: int
    retry_after: float | None = None
    body: bytes | None = None
    content_type: str = "application/json"


@dataclass
class _Token:
    client_id: str
    scopes: frozenset[str]
    expires: float


@dataclass
class _Slow:
    seconds: float
    chunks: int


@dataclass
class _Outage:
    after_pages: int
    status: int
    body: bytes | None = None
    served: int = 0


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=dict(headers or {}))


def _ns(value: Any, name: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name}: a datetime needs a time zone")
        return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1000
    if isinstance(value, int):
        return value
    try:
        return parse_instant(str(value), name)
    except QueryError as exc:
        raise ValueError(exc.message) from None


@dataclass
class MinopEmulator:
    """The emulated cloud: state, test hooks and the ASGI `app`. Thread-safe (one lock)."""

    clock: Callable[[], float] = time.time
    api_keys: dict[str, frozenset[str]] = field(default_factory=dict)
    oauth_clients: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    command_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    limits: RateLimits = field(default_factory=RateLimits)
    token_lifetime: float = 3600.0
    site_timezone: str = "UTC"
    webhooks: WebhookSender | None = None
    #: A repeated OperationID is answered `done` without being executed (never promised by the vendor).
    dedupe_operations: bool = False
    #: Add User (profile) of a user the terminal holds: `update` its profile, or `refuse` (409 user_exists).
    existing_user: str = "update"
    #: The shift the cloud's processing applies, and whether each punch received recomputes its day.
    cloud_shift: CloudShift = field(default_factory=CloudShift)
    auto_process: bool = False

    def __post_init__(self) -> None:
        if not self.api_keys and not self.oauth_clients:
            self.api_keys = {secrets.token_urlsafe(18): frozenset(SCOPES)}
            self.oauth_clients = {"punchbridge": (secrets.token_urlsafe(18), frozenset(SCOPES))}
        if self.existing_user not in ("update", "refuse"):
            raise ValueError(f"existing_user must be update or refuse, not {self.existing_user!r}")
        self.lock = threading.RLock()
        self.raw = Feed("raw", RAW_FIELDS, lambda record: str(record["event_id"]))
        self.processed = Feed("processed", PROCESSED_FIELDS, lambda r: f"{r['employee_id']}|{r['date']}")
        self.devices: dict[str, EmulatedDevice] = {}
        self.operations: dict[str, str] = {}
        self.executed: list[dict[str, Any]] = []
        self.stats: Counter[str] = Counter()
        self.push: PushSender | None = None
        self._tokens: dict[str, _Token] = {}
        self._calls: dict[str, deque[float]] = {}
        self._injections: dict[str, deque[_Injection]] = {}
        self._outages: dict[str, _Outage] = {}
        self._slow: dict[str, _Slow] = {}
        self._command_replies: deque[str] = deque()
        self._lost_replies = 0
        self._hold_after: int | None = None
        self._released = threading.Event()
        self._event_seq = 0
        self.app = Starlette(
            routes=[
                Route("/health", self._health, methods=["GET"]),
                Route(TOKEN, self._token, methods=["POST"]),
                Route(RAW, self._raw, methods=["GET"]),
                Route(PROCESSED, self._processed, methods=["GET"]),
                Route(EXECUTE, self._execute, methods=["POST"]),
            ]
        )

    # -- credentials for clients ---------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        """The first API key (every scope by default)."""
        return next(iter(self.api_keys))

    @property
    def client_id(self) -> str:
        """The first OAuth client id."""
        return next(iter(self.oauth_clients))

    @property
    def client_secret(self) -> str:
        """The first OAuth client's secret."""
        return self.oauth_clients[self.client_id][0]

    def source_settings(self, base_url: str, *, oauth: bool = False, **extra: Any) -> dict[str, Any]:
        """Settings of a `minop` source reading from this emulator at `base_url`."""
        settings: dict[str, Any] = {"plugin": "minop", "base_url": base_url}
        if oauth:
            settings |= {"client_id": self.client_id, "client_secret": self.client_secret}
        else:
            settings["api_key"] = self.api_key
        return settings | extra

    # -- seeding and inspecting ------------------------------------------------------------------------

    def add_raw_punches(self, punches: Iterable[Mapping[str, Any]]) -> int:
        """Add raw records: `employee_id`, `device_id`, `timestamp` (ISO-8601 with offset, an aware
        datetime or ns), optional `event_id` (default: a digest of the identity), `source`, `geo`,
        `device_hash`, `updated_at` (default: the clock). Returns how many."""
        now_ns = int(self.clock() * 1e9)
        prepared = []
        for punch in punches:
            stamp = _ns(punch["timestamp"], "timestamp")
            identity = f"{punch['device_id']}|{punch['employee_id']}|{stamp}"
            record = {
                "event_id": punch.get("event_id") or "ev_" + hashlib.sha256(identity.encode()).hexdigest()[:20],
                "employee_id": punch["employee_id"],
                "device_id": punch["device_id"],
                "timestamp": punch["timestamp"] if isinstance(punch["timestamp"], str) else format_instant(stamp),
                "source": punch.get("source", "device"),
                "geo": punch.get("geo"),
                "device_hash": punch.get("device_hash")
                or hashlib.sha256(str(punch["device_id"]).encode()).hexdigest()[:16],
                "_ts": stamp,
                "_upd_in": _ns(punch["updated_at"], "updated_at") if punch.get("updated_at") else now_ns,
            }
            prepared.append(record)
        with self.lock:
            added = self.raw.put(prepared, lambda record: int(record["_upd_in"]))
            if self.auto_process:
                touched = days_touched(((str(r["employee_id"]), int(r["_ts"])) for r in prepared), self.site_timezone)
                self.process_raw(touched)
            return added

    def process_raw(self, days: set[tuple[str, str]] | None = None) -> int:
        """Compute processed days from the raw punches, as the cloud's pipeline would (all days, or the
        given (employee, YYYY-MM-DD) ones), and serve them from the processed feed; with `webhooks`, each
        is announced by an `attendance.processed` event. Returns how many days."""
        with self.lock:
            records = process_days(self.raw.identities(), self.site_timezone, self.cloud_shift, days)
            self.add_processed(records)
        if self.webhooks is not None:
            for record in records:
                self.webhooks.emit("attendance.processed", record)
        return len(records)

    def correct_raw(self, event_ids: Iterable[str], **changes: Any) -> int:
        """Change raw records (a correction in the cloud): apply `changes`, `updated_at` becomes now."""
        now_ns = int(self.clock() * 1e9)
        with self.lock:
            changed = []
            for event_id in event_ids:
                record = self.raw.get(event_id)
                if record is None:
                    raise KeyError(f"no raw record {event_id!r}")
                record.update(changes)
                record["_ts"] = _ns(record["timestamp"], "timestamp")
                changed.append(record)
            return self.raw.put(changed, lambda _record: now_ns)

    def add_processed(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Add or replace processed records (PROCESSED_FIELDS; `updated_at` default: the clock)."""
        now_ns = int(self.clock() * 1e9)
        prepared = []
        for record in records:
            row = {name: record.get(name) for name in PROCESSED_FIELDS}
            row["_upd_in"] = _ns(record["updated_at"], "updated_at") if record.get("updated_at") else now_ns
            prepared.append(row)
        with self.lock:
            return self.processed.put(prepared, lambda row: int(row["_upd_in"]))

    def add_device(
        self,
        stgid: str,
        *,
        timezone: str = "UTC",
        shape: str = "flat",
        push_token: str | None = None,
        auth_token: str | None = None,
        accepted_reply: str | dict[str, Any] | None = None,
        token_in: str = "query",
    ) -> EmulatedDevice:
        """Add a terminal (tokens generated unless given)."""
        device = EmulatedDevice(
            stgid,
            push_token or secrets.token_urlsafe(12),
            auth_token or secrets.token_urlsafe(12),
            timezone=timezone,
            shape=shape,
            accepted_reply=accepted_reply,
            token_in=token_in,
        )
        with self.lock:
            self.devices[stgid] = device
        return device

    def scan(
        self,
        stgid: str,
        user_id: str,
        at: datetime,
        *,
        input_type: str = "15",
        direction: str | None = None,
        temperature: str | None = None,
        face_mask: str | None = None,
        resends: int = 0,
    ) -> LogEntry:
        """A user scans at a terminal: the punch joins its log and its outbox, and the cloud's raw feed (at
        once when the terminal is online, when it is back otherwise: `set_online`). `resends`: how many
        times the listener's reply to it gets lost, so the terminal sends it again (a duplicate)."""
        with self.lock:
            device = self.devices[stgid]
            device.sequence += 1
            entry = LogEntry(
                device.sequence, user_id, _ns(at, "at"), input_type, direction, temperature, face_mask, resends
            )
            device.log.append(entry)
            device.outbox.append(entry)
            if not device.online:
                device.unforwarded.append(entry)
                return entry
            self._forward(device, [entry])
        return entry

    def set_online(self, stgid: str, online: bool) -> int:
        """Take a terminal offline (it keeps its punches) or bring it back: it then forwards what it kept to
        the cloud, oldest first, and resumes pushing to the listener. Returns the punches forwarded."""
        with self.lock:
            device = self.devices[stgid]
            device.online = online
            if not online:
                return 0
            waiting, device.unforwarded = device.unforwarded, []
            self._forward(device, waiting)
            return len(waiting)

    def queues_empty(self) -> bool:
        """True when every terminal is online and has nothing left to send to the cloud or the listener."""
        with self.lock:
            return all(d.online and not d.outbox and not d.unforwarded for d in self.devices.values())

    def _forward(self, device: EmulatedDevice, entries: list[LogEntry]) -> None:
        """The cloud receives `entries` from `device` now (their `updated_at` is now)."""
        if not entries:
            return
        self.add_raw_punches(
            {"employee_id": e.user_id, "device_id": device.stgid, "timestamp": e.instant_ns,
             "event_id": f"{device.stgid}-{e.seq}"} for e in entries
        )  # fmt: skip
        if self.webhooks is not None:
            for entry in entries:
                self.webhooks.emit(
                    "punch.created",
                    {"event_id": f"{device.stgid}-{entry.seq}", "employee_id": entry.user_id,
                     "device_id": device.stgid, "timestamp": format_instant(entry.instant_ns)},
                )  # fmt: skip

    def served(self, feed: str) -> int:
        """Records served so far by `raw` or `processed` (304s and failures serve none)."""
        return self.stats[f"records:{feed}"]

    # -- terminals pushing ------------------------------------------------------------------------------

    def start_push(self, url: str, **options: Any) -> PushSender:
        """Start the terminals pushing their outboxes to `url` (options: first_retry, max_retry, tick)."""
        self.stop_push()
        self.push = PushSender(self.devices, url, self.lock, **options)
        self.push.start()
        return self.push

    def stop_push(self) -> None:
        """Stop pushing (what was not accepted stays in the outboxes)."""
        if self.push is not None:
            self.push.stop()
            self.push = None

    def close(self) -> None:
        """Stop the background threads."""
        self.stop_push()
        if self.webhooks is not None:
            self.webhooks.close()

    # -- test hooks -------------------------------------------------------------------------------------

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        body: bytes | str | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Answer the next `times` calls of `path` with `status` (and `Retry-After`, or a raw `body`)."""
        raw = body.encode() if isinstance(body, str) else body
        with self.lock:
            queue = self._injections.setdefault(path, deque())
            queue.extend(_Injection(status, retry_after, raw, content_type) for _ in range(times))

    def fail_after_pages(self, path: str, pages: int, status: int = 500, body: bytes | str | None = None) -> None:
        """Serve `pages` more pages of `path`, then answer every call with `status` (and a raw `body`, e.g.
        a malformed page with status 200) until `heal()`."""
        raw = body.encode() if isinstance(body, str) else body
        with self.lock:
            self._outages[path] = _Outage(pages, status, raw)

    def heal(self) -> None:
        """End every outage and drop pending injected failures."""
        with self.lock:
            self._outages.clear()
            self._injections.clear()

    def slow_next(self, path: str, seconds: float, chunks: int = 20) -> None:
        """The next reply of `path` trickles in: `chunks` pieces spread over `seconds`."""
        with self.lock:
            self._slow[path] = _Slow(seconds, chunks)

    def lose_next_reply(self, times: int = 1) -> None:
        """The next `times` commands are executed, but answered 503 (the reply was lost on the way back)."""
        with self.lock:
            self._lost_replies += times

    def command_reply(self, status: str, times: int = 1) -> None:
        """The next `times` commands are answered `{"status": status}` (HTTP 200) without being executed."""
        with self.lock:
            self._command_replies.extend([status] * times)

    def hold_commands(self, after: int) -> None:
        """Execute `after` more commands, then keep every later one waiting (not executed, not answered)
        until `release_commands()`; `stats["held_commands"]` counts the commands waiting."""
        with self.lock:
            self._hold_after = len(self.executed) + after
            self._released.clear()

    def release_commands(self) -> None:
        """Let held commands go on (and hold no more)."""
        with self.lock:
            self._hold_after = None
            self._released.set()

    async def _wait_if_held(self) -> None:
        with self.lock:
            held = self._hold_after is not None and len(self.executed) >= self._hold_after
            if held:
                self.stats["held_commands"] += 1
        while held and not self._released.is_set():
            await anyio.sleep(0.01)

    # -- the app ------------------------------------------------------------------------------------------

    async def _health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok", "devices": sorted(self.devices)})

    def _injected(self, path: str) -> Response | None:
        with self.lock:
            queue = self._injections.get(path)
            if queue:
                injection = queue.popleft()
                headers = {}
                if injection.retry_after is not None:
                    headers["Retry-After"] = f"{injection.retry_after:g}"
                self.stats[f"injected:{injection.status}"] += 1
                if injection.body is not None:
                    return Response(injection.body, injection.status, headers, media_type=injection.content_type)
                return _error(injection.status, "injected", f"injected HTTP {injection.status}", headers)
            outage = self._outages.get(path)
            if outage is not None and outage.served >= outage.after_pages:
                if outage.body is not None:
                    return Response(outage.body, outage.status, media_type="application/json")
                return _error(outage.status, "outage", "the service is failing (test outage)")
        return None

    def _credential(self, request: Request, scope: str) -> tuple[str | None, Response | None]:
        """(the credential's rate-limit identity, or the refusal)."""
        key = request.headers.get("X-API-Key")
        bearer = request.headers.get("Authorization", "")
        if key is None and bearer.lower().startswith("bearer "):
            key = bearer[7:].strip()
        if not key:
            return None, _error(401, "unauthorized", "an API key (X-API-Key) or a Bearer token is required")
        now = self.clock()
        with self.lock:
            scopes = next((s for k, s in self.api_keys.items() if hmac.compare_digest(k, key)), None)
            if scopes is None:
                token = self._tokens.get(key)
                if token is None or token.expires <= now:
                    self.stats["unauthorized"] += 1
                    return None, _error(401, "unauthorized", "unknown or expired credential")
                scopes = token.scopes
            if scope not in scopes:
                return None, _error(403, "insufficient_scope", f"this credential lacks the scope {scope}")
        return key, None

    def _rate_limited(self, identity: str) -> Response | None:
        limit = self.limits.per_window
        if limit is None:
            return None
        now = self.clock()
        window = self.limits.window_seconds
        with self.lock:
            calls = self._calls.setdefault(identity, deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) >= limit:
                wait = max(1, math.ceil(calls[0] + window - now))
                self.stats["rate_limited"] += 1
                limit_text = f"at most {limit} calls per {window:g} s"
                return _error(429, "rate_limited", limit_text, {"Retry-After": str(wait)})
            calls.append(now)
        return None

    async def _token(self, request: Request) -> Response:
        # Parsed here (RFC 6749 bodies are plain urlencoded forms): no multipart parser needed.
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        client_id, secret = fields.get("client_id"), fields.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
        if fields.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        with self.lock:
            client = self.oauth_clients.get(client_id or "")
            if client is None or not hmac.compare_digest(client[0], secret or ""):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            asked = frozenset(fields.get("scope", "").split()) or client[1]
            if not asked <= client[1]:
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            token = secrets.token_urlsafe(24)
            self._tokens[token] = _Token(client_id or "", asked, self.clock() + self.token_lifetime)
            self.stats["tokens_issued"] += 1
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_lifetime),
             "scope": " ".join(sorted(asked))}
        )  # fmt: skip

    async def _raw(self, request: Request) -> Response:
        return self._feed_page(request, RAW, "raw", "read:raw", self.raw, raw_match)

    async def _processed(self, request: Request) -> Response:
        return self._feed_page(request, PROCESSED, "processed", "read:processed", self.processed, processed_match)

    def _feed_page(
        self, request: Request, path: str, kind: str, scope: str, feed: Feed, match: Callable[..., bool]
    ) -> Response:
        self.stats[f"requests:{kind}"] += 1
        identity, refusal = self._credential(request, scope)
        if refusal is not None:
            return refusal
        assert identity is not None
        limited = self._rate_limited(identity)
        if limited is not None:
            return limited
        injected = self._injected(path)
        if injected is not None:
            return injected
        params = dict(request.query_params)
        try:
            query = parse_query(kind, params, feed.fields)
        except QueryError as exc:
            return _error(400, exc.code, exc.message)
        with self.lock:
            records, cursor = feed.page(query, match)
            outage = self._outages.get(path)
            if outage is not None:
                outage.served += 1
        body = json.dumps({"data": records, "next_cursor": cursor, "timezone": self.site_timezone}).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        asked = [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]
        if etag in asked or "*" in asked:
            self.stats["not_modified"] += 1
            return Response(status_code=304, headers={"ETag": etag})
        self.stats[f"records:{kind}"] += len(records)
        self.stats[f"pages:{kind}"] += 1
        headers = {"ETag": etag, "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("Accept-Encoding", "") and len(body) >= GZIP_MIN_BYTES:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
            self.stats["gzipped"] += 1
        with self.lock:
            slow = self._slow.pop(path, None)
        if slow is not None:
            return StreamingResponse(_trickle(body, slow), headers=headers, media_type="application/json")
        return Response(body, headers=headers, media_type="application/json")

    async def _execute(self, request: Request) -> Response:
        self.stats["requests:execute"] += 1
        bearer = request.headers.get("Authorization", "")
        if not bearer.lower().startswith("bearer ") or not hmac.compare_digest(
            bearer[7:].strip().encode(), self.command_token.encode()
        ):
            return _error(401, "unauthorized", "missing or invalid Bearer token")
        stgid = request.query_params.get("stgid")
        if not stgid:
            return _error(400, "missing_parameter", "missing query parameter: stgid")
        device = self.devices.get(stgid)
        if device is None:
            return _error(404, "unknown_device", f"stgid: no device {stgid[:40]!r}")
        content_type = request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return _error(415, "unsupported_media_type", "Content-Type: send application/json; charset=utf-8")
        raw = await request.body()
        if len(raw) > MAX_COMMAND_BYTES:
            return _error(413, "too_large", f"the body exceeds {MAX_COMMAND_BYTES} bytes")
        injected = self._injected(EXECUTE)
        if injected is not None:
            return injected
        await self._wait_if_held()
        try:
            body = _parse_command(raw)
            if not hmac.compare_digest(body["AuthToken"].encode(), device.auth_token.encode()):
                return _error(401, "invalid_auth_token", f"AuthToken: not the token of device {stgid}")
            operation = body.get("OperationID")
            with self.lock:
                if operation is not None and operation in self.operations:
                    self.stats["duplicate_operations"] += 1
                    if self.dedupe_operations:
                        return JSONResponse({"status": "done"})
                if self._command_replies:
                    return JSONResponse({"status": self._command_replies.popleft()})
                did = execute_command(
                    device,
                    body["CommandName"],
                    body["CommandEntity"],
                    body.get("OperationData", {}),
                    existing_user=self.existing_user,
                )
                if operation is not None:
                    self.operations[operation] = did
                self.executed.append(
                    {"stgid": stgid, "command": body["CommandName"], "entity": body["CommandEntity"],
                     "operation_id": operation, "result": did, "content_type": content_type,
                     "idempotency_key": request.headers.get("Idempotency-Key")}
                )  # fmt: skip
                if self._lost_replies:
                    self._lost_replies -= 1
                    return _error(503, "unavailable", "the reply was lost", {"Retry-After": "1"})
        except CommandRefusedError as exc:
            return _error(exc.status, exc.code, exc.message)
        return JSONResponse({"status": "done"})


async def _trickle(body: bytes, slow: _Slow) -> AsyncIterator[bytes]:
    size = max(1, math.ceil(len(body) / slow.chunks))
    for start in range(0, len(body), size):
        yield body[start : start + size]
        await anyio.sleep(slow.seconds / slow.chunks)
