"""The `zoho_people` target: processed days sent to Zoho People as check-in and check-out punches.

Each record is one employee-day. Its column `employee` holds the Zoho identifier chosen by
`identify_by` (`empId`, `emailId` or `mapId`), and then either `check_in` and `check_out` (first in,
last out: two punches at most) or `intervals` (every pair: `start/end;start/end;start/`), all local
ISO-8601 times. The plugin sends wall-clock time without offset (Zoho takes no offset) with
`dateFormat` `yyyy-MM-dd HH:mm:ss` through `bulkImport`, `punches_per_call` punches a call (default
50, at most 200), and answers one outcome per record: ok when Zoho took all its punches, else why not.

Zones and precision: which zone Zoho reads a check-in time in is not documented; `entry_zone` keeps
that choice in one setting: `site` (each record's own site zone, the default) or `organisation`
(every record converted to `timezone`). Zoho shows times to the minute, so punches go, are kept and
are compared to the minute (`stored_form`).

Zoho has no idempotency key and no way to remove a punch through this API, so the plugin keeps a
small local ledger of the punches it sent per (employee, date), its natural key, in `state_file`
(SQLite). Before sending it marks the punches pending; after Zoho's reply it records what Zoho took.
A resent record whose punches Zoho already took sends nothing; a day left pending by a crash (or a
reply lost on the way) is read back from Zoho (`getAttendanceEntries`) before anything is sent, so a
resend never doubles a punch. A changed day sends only its new punches; a change Zoho cannot show
without removing a punch (a later first in than the one Zoho holds) is refused with a message saying
what to correct in Zoho. `read_before_write: always` reads every day back before writing (slow:
one call per employee-day) for organisations where other systems punch too.

Zoho documents no bulkImport reply: `{"response": "success"}` (seen in production) is every row
taken, a result per row is read per row, a call refused whole (7200, one bad row, none named) is
split until the refused day is alone, and any other reply leaves its rows to be confirmed by reading
their days back: a punch Zoho does not show is not counted delivered (`pushing`, `replies`).

Pacing: Zoho locks an API for minutes when its per-minute limit is passed (bulkImport 10,
getAttendanceEntries 100, getRecords 400). The plugin keeps under each limit over any 60 s window
(plus `pacing_margin`), shared by every target of the process and carried across runs in
`state_file`, so a sync never sets off a lock; if Zoho still answers 7209 (or 429) the batch raises
`RateLimitedError` with the lock time. Every API call counts against `daily_call_limit` (kept per UTC day in
`state_file`): a batch that would pass it is not started; the run stops with `FatalTargetError` naming
the numbers. `plan_backfill` says beforehand how many calls and how long a backfill takes.

Errors: refused credentials are a `CredentialsError` (never retried); an expired token is renewed
once; access tokens are cached per process until they expire, keyed by (accounts URL, client id,
SHA-256 of the refresh token and client secret), because Zoho mints at most 10 per refresh token
per 10 minutes. Malformed replies (not JSON, an HTML page, missing fields) become a `TargetError`
naming the API. Secrets never reach a message, `describe()` or the log. docs/plugins/zoho-people.md
has every setting and the whole error table.

Modules: `settings` (ZohoPeopleSettings and the API's names), `target` (ZohoPeopleTarget), `pushing`
(one batch's push), `punches` (records as punches and back, pure), `ledger` (the state file),
`pacing` (the per-minute pacer and backfill planning), `tokens` (access tokens), `replies` (what
Zoho's answers mean) and `online` (`punchbridge validate --online`).
"""

from __future__ import annotations

from punchbridge.plugin_api import Register, hookimpl
from punchbridge.plugins.zoho_people.pacing import BackfillPlan, WindowPacer, plan_backfill
from punchbridge.plugins.zoho_people.settings import DATA_CENTRES, ZohoPeopleSettings
from punchbridge.plugins.zoho_people.target import ZohoPeopleTarget
from punchbridge.plugins.zoho_people.tokens import clear_token_cache

__all__ = [
    "DATA_CENTRES",
    "BackfillPlan",
    "WindowPacer",
    "ZohoPeopleSettings",
    "ZohoPeopleTarget",
    "clear_token_cache",
    "plan_backfill",
    "register_targets",
]


@hookimpl
def register_targets(register: Register) -> None:
    """Register `zoho_people`."""
    register("zoho_people", ZohoPeopleTarget)
