"""The Minop emulator's cloud: its feeds, terminals and webhooks, the seeding and inspecting hooks, and the
ASGI app (see the package docstring). Credentials are in access.py, device commands in commands.py, the
failure hooks in faults.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from punchbridge.testing.emulators.minop.access import AccessControl, RateLimits
from punchbridge.testing.emulators.minop.commands import EXECUTE, DeviceCommands
from punchbridge.testing.emulators.minop.devices import EmulatedDevice, LogEntry, PushSender
from punchbridge.testing.emulators.minop.faults import error_reply, trickle
from punchbridge.testing.emulators.minop.feeds import (
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
from punchbridge.testing.emulators.minop.processing import CloudShift, days_touched, process_days
from punchbridge.testing.emulators.minop.webhooks import WebhookSender

__all__ = ["EXECUTE", "PROCESSED", "RAW", "MinopEmulator", "RateLimits"]

RAW = "/v1/attendance/raw"
PROCESSED = "/v1/attendance/processed"
TOKEN = "/oauth/token"
SCOPES = ("read:raw", "read:processed", "write:leave", "admin")
GZIP_MIN_BYTES = 512


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
class MinopEmulator(AccessControl, DeviceCommands):
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
        self.stats: Counter[str] = Counter()
        self.push: PushSender | None = None
        self._init_access()
        self._init_faults()
        self._init_commands()
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

    # -- settings for clients ---------------------------------------------------------------------------

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

    # -- the app ------------------------------------------------------------------------------------------

    async def _health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok", "devices": sorted(self.devices)})

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
            return error_reply(400, exc.code, exc.message)
        with self.lock:
            records, cursor = feed.page(query, match)
            self._page_served(path)
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
            slow = self._take_slow(path)
        if slow is not None:
            return StreamingResponse(trickle(body, slow), headers=headers, media_type="application/json")
        return Response(body, headers=headers, media_type="application/json")
