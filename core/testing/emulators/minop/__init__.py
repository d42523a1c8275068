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
  and formats (400, see `devices.execute_command`). `OperationID` is for tracking only, as the
  vendor says: a repeated one is executed again, so a retried Add User finds the user there (updated, or
  409 `user_exists` with `existing_user="refuse"`) and a retried Delete User does not (404
  `unknown_user`). `dedupe_operations=True` models a cloud that executes an OperationID once. The
  `Content-Type` and `Idempotency-Key` of each executed command are kept in `executed`.

Processing (`processing.py`): `process_raw()` computes processed days from the raw punches (the
emulator's stand-in for the cloud's pipeline, with one shift, `cloud_shift`); with `auto_process`,
every punch the cloud receives recomputes its employee-day, and with `webhooks` an
`attendance.processed` event is sent for each day recomputed.

Test hooks: `fail_next` (inject failures or malformed replies), `fail_after_pages` / `heal` (the
cloud goes down part-way through a backfill), `slow_next` (a reply that trickles in),
`command_reply` (a 2xx whose status is not `done`), `lose_next_reply` (executed, but the caller
sees a 503), `hold_commands` / `release_commands` (commands wait, unanswered, after a number were
executed: a client can be killed mid-run), and counters in `stats`.
"""

from punchbridge.testing.emulators.minop.devices import DeviceUser, EmulatedDevice, LogEntry
from punchbridge.testing.emulators.minop.feeds import PROCESSED_FIELDS, RAW_FIELDS
from punchbridge.testing.emulators.minop.processing import CloudShift
from punchbridge.testing.emulators.minop.scenario import LiveScans, ScanLog
from punchbridge.testing.emulators.minop.server import EXECUTE, PROCESSED, RAW, MinopEmulator, RateLimits
from punchbridge.testing.emulators.minop.webhooks import WebhookSender

__all__ = [
    "EXECUTE",
    "PROCESSED",
    "PROCESSED_FIELDS",
    "RAW",
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
