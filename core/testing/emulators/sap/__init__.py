"""A SAP SuccessFactors emulator: SAML-bearer OAuth, OData upsert and reads, and the Time Events REST API.

    emulator = SapEmulator(clock=ManualClock())
    emulator.seed_employees([Employee("T-1", "Asha Rao", email="asha@example.com")])
    with serve(emulator.app) as server:
        settings = emulator.plugin_settings(server.url, tmp_path)   # writes the test key and certificate

The emulator holds one company with one OAuth client, whose X.509 certificate it generated (an RSA
key made at start-up: nothing is read from or committed to disk; `plugin_settings` writes the key
for the plugin into a folder the test owns). It enforces what SAP documents for these APIs, so a
plugin that breaks a rule fails here first; what SAP does not document is a constructor argument
or a `SapLimits` field, named as unconfirmed:

- `POST /oauth/token` (form `client_id`, `company_id`, `grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer`,
  `assertion` = base64 of a signed SAML 2.0 assertion): the XML-DSig signature is verified against
  the *registered* certificate (never one the assertion carries), with the issuer, audience,
  `api_key` attribute, recipient (this token URL), API user (`NameID`: the API user, or
  `time_event_user`) and validity window checked on the emulator's clock; any failure is HTTP 401
  `{"error": {"code": "LGN0011", "message": {"lang": "en-US", "value": "..."}}}` naming what
  failed. A token lives `SapLimits.token_lifetime`.
- Every call needs `Authorization: Bearer {token}`: missing or unknown gives 401 `LGN0021`,
  expired 401 `LGN0022` (the LGN numbers are the emulator's; SAP's exact ones are unpublished).
- CSRF only when `csrf_required` (default False: whether SuccessFactors wants an X-CSRF-Token on a
  bearer-token write is not documented, and client code upserts ExternalTimeData without one): then
  a GET of the service root with `X-CSRF-Token: Fetch` answers a token and a `JSESSIONID` cookie,
  and a write without both (or after `end_sessions`) gets 403, `X-CSRF-Token: Required` and "CSRF
  token validation failed".
- `POST /odata/v2/upsert` (ExternalTimeData): a JSON array of at most `records_per_call` records
  (else 400 `COE_GENERAL_BAD_REQUEST`), each naming its entity in `__metadata.uri`. Each record is
  judged alone (`externalCode` required, at most 128 characters; `userId` a known user; dates
  `/Date(ms)/`; times Edm.Time `PT09H02M00S` or `PT8H5M0S`; hours a decimal 0 to 48; required
  fields; no unknown fields) and the reply is HTTP 200 `{"d": [{"key", "status": "OK"|"ERROR",
  "editStatus", "message", "index", "httpCode"}]}`. Records are upserted by `externalCode`: the same
  record again changes nothing. `hours` is kept at `SapLimits.hours_scale` decimals (Edm.Decimal,
  per SAP's generated OData model; the scale is unconfirmed): 8.3333 is held as 8.33.
- `POST /rest/timemanagement/timeeventprocessing/v1/TimeEvents`: the Clock In Clock Out Time
  Events REST API (`punchbridge.testing.emulators.sap.time_events`: at most 1,000 events a call and
  200 a user, per-event results in an HTTP 201, a duplicate employee and timestamp refused). With
  `time_event_user`, only that user's tokens may post (SAP KBA 3146142); a GET answers 405. The
  events are read back as the OData entity `event_entity` (`UUID`, `assignmentId`, `typeCode`,
  `timestamp`, `terminalId`, `timeTypeCode`): SAP names no read API, so this entity is the
  emulator's stand-in for the one the target's `time_events.read_back` settings name.
- `GET /odata/v2/{EmpJob|ExternalTimeData|<event entity>}` with `$filter` (`field op literal`
  joined by `and`; `op` eq ne gt ge lt le, or `field in lit,lit`), `$select`, `$expand` (EmpJob:
  `userNav`, `emplStatusNav`), `$orderby`, `$top`, `customPageSize` (at most `page_size`),
  `$skiptoken`; EmpJob is effective-dated (the row in force today, or every row overlapping
  `fromDate`..`toDate`). Pages end in `__next` (the same query plus `$skiptoken`) while rows remain.
- Errors are OData error objects `{"error": {"code": "COE_...", "message": {"lang", "value"}}}`.

Injection: `refuse_user` (per-record ERROR, or per-event failure, for one user), `fail_next` (a
canned reply for the next call of an API), `throttle_next` (429 with Retry-After), `expire_tokens`,
`end_sessions`. Inspection: `time_data()`, `events()`, `event_days()`, `deliveries` (writes that
created or changed something, counted per user and work day per call), `records_received`, `calls`,
`requests`, `tokens_issued()`.
"""

from __future__ import annotations

from punchbridge.testing.emulators.sap.credentials import TestCredentials, make_credentials
from punchbridge.testing.emulators.sap.server import (
    GRANT_TYPE,
    LGN_EXPIRED_TOKEN,
    LGN_INVALID_ASSERTION,
    LGN_INVALID_TOKEN,
    TIME_EVENTS_PATH,
    SapEmulator,
    SapLimits,
)
from punchbridge.testing.emulators.sap.time_events import DUPLICATE, HeldEvent
from punchbridge.testing.emulators.zoho import ManualClock

__all__ = [
    "DUPLICATE",
    "GRANT_TYPE",
    "LGN_EXPIRED_TOKEN",
    "LGN_INVALID_ASSERTION",
    "LGN_INVALID_TOKEN",
    "TIME_EVENTS_PATH",
    "HeldEvent",
    "ManualClock",
    "SapEmulator",
    "SapLimits",
    "TestCredentials",
    "make_credentials",
]
