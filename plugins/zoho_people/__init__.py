"""The `zoho_people` target: processed days sent to Zoho People as check-in and check-out punches.

Each record is one employee-day. Its column `employee` holds the Zoho identifier chosen by
`identify_by` (`empId`, `emailId` or `mapId`), and then either `check_in` and `check_out` (first in,
last out: two punches at most) or `intervals` (every pair: `start/end;start/end;start/`), all local
ISO-8601 times. The plugin sends the site-local wall-clock time (offset dropped) with `dateFormat`
`yyyy-MM-dd HH:mm:ss` through `bulkImport`, `punches_per_call` punches a call (default 50, at most 200),
and answers one outcome per record: ok when Zoho took all its punches, else Zoho's own words.

Zoho has no idempotency key and no way to remove a punch through this API, so the plugin keeps a
small local ledger of the punches it sent per (employee, date), its natural key, in `state_file`
(SQLite). Before sending it marks the punches pending; after Zoho's reply it records what Zoho took.
A resent record whose punches Zoho already took sends nothing; a day left pending by a crash (or a
reply lost on the way) is read back from Zoho (`getAttendanceEntries`) before anything is sent, so a
resend never doubles a punch. A changed day sends only its new punches; a change Zoho cannot show
without removing a punch (a later first in than the one Zoho holds) is refused with a message saying
what to correct in Zoho. `read_before_write: always` reads every day back before writing (slow:
one call per employee-day) for organisations where other systems punch too.

Pacing: Zoho locks an API for minutes when its per-minute limit is passed (bulkImport 10,
getAttendanceEntries 100, getRecords 400). The plugin keeps under each limit over any 60 s window
(plus `pacing_margin`), shared by every target of the process and carried across runs in
`state_file`, so a sync never sets off a lock; if Zoho still answers 7209 (or 429) the batch raises
`RateLimited` with the lock time. Every API call counts against `daily_call_limit` (kept per UTC day in
`state_file`): a batch that would pass it is not started; the run stops with `FatalTargetError` naming
the numbers. `plan_backfill` says beforehand how many calls and how long a backfill takes.

Errors: refused credentials are a `CredentialsError` (never retried); an expired token is renewed
once; access tokens are cached per process until they expire, keyed by (accounts URL, client id,
SHA-256 of the refresh token and client secret), because Zoho mints at most 10 per refresh token
per 10 minutes. Malformed replies (not JSON, an HTML page, missing fields) become a `TargetError`
naming the API. Secrets never reach a message, `describe()` or the log. docs/plugins/zoho-people.md
has every setting and the whole error table.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator

from punchbridge.plugin_api.hookspecs import Register, hookimpl
from punchbridge.plugin_api.http import checked_url
from punchbridge.plugin_api.targets import (
    Batch,
    CredentialsError,
    Employee,
    FatalTargetError,
    HeldRecord,
    Outcome,
    RateLimited,
    Record,
    Target,
    TargetError,
    TransientError,
    retry_after_seconds,
)
from punchbridge.plugins.csv_drop import settings_of

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

log = logging.getLogger(__name__)

#: Accounts host of each Zoho data centre (`data_centre` setting; `accounts_url` overrides it).
DATA_CENTRES = {
    "com": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "com.au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "ca": "https://accounts.zohocloud.ca",
}
TOKEN_PATH = "/oauth/v2/token"
BULK_IMPORT_PATH = "/people/api/attendance/bulkImport"
READ_BACK_PATH = "/people/api/attendance/getAttendanceEntries"
EMPLOYEES_PATH = "/people/api/forms/employee/getRecords"
BULK_IMPORT, READ_BACK, EMPLOYEE_RECORDS = "bulkImport", "getAttendanceEntries", "getRecords"
#: The Java pattern sent as `dateFormat`, and the same as strftime.
DATE_FORMAT, _WIRE = "yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"
#: Zoho's lock after a per-minute limit is passed, per API (unconfirmed for getRecords).
LOCK_SECONDS = {BULK_IMPORT: 300.0, READ_BACK: 600.0, EMPLOYEE_RECORDS: 300.0}
EMPLOYEE_PAGE = 200
_INVALID_TOKEN_CODES = frozenset({7202})
_THROTTLE_CODES = frozenset({7209})
_DAILY_LIMIT_CODES = frozenset({7213})  # unconfirmed: Zoho does not publish it
_PERMISSION_CODES = frozenset({7037, 7038, 7039, 7040})
_NO_RECORDS_CODE = 7024
_TOKEN_EARLY = 60.0  # renew a cached token this many seconds before Zoho's expiry
#: Times Zoho may write in read-back replies: ours first, then the shapes its documentation shows.
_READ_FORMATS = (_WIRE, "%d-%b-%Y - %I:%M %p", "%d-%b-%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M")

Punch = tuple[str, str]  # ("in" | "out", "YYYY-MM-DD HH:MM:SS" site-local)
DayKey = tuple[str, str]  # (Zoho identifier value, work date ISO)


def _url(value: str | None, setting: str) -> str | None:
    """An http(s) base URL without trailing slash; plain http only to a loopback host."""
    return None if value is None else checked_url(value, setting)


class ZohoPeopleSettings(BaseModel):
    """Settings of a `zoho_people` target (docs/plugins/zoho-people.md has the table).

    `client_secret` and `refresh_token` come from the environment (`${ZOHO_REFRESH_TOKEN}`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    data_centre: Literal["com", "eu", "in", "com.au", "jp", "ca"] = Field(
        default="com", validation_alias=AliasChoices("data_centre", "dc")
    )
    accounts_url: str | None = None
    api_domain: str | None = None
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    refresh_token: SecretStr
    identify_by: Literal["empId", "emailId", "mapId"] = "empId"
    punches_per_call: int = Field(default=50, ge=1, le=200)
    bulk_import_per_minute: int = Field(default=10, ge=1)
    attendance_entries_per_minute: int = Field(default=100, ge=1)
    employee_records_per_minute: int = Field(default=400, ge=1)
    daily_call_limit: int = Field(default=5000, ge=1)
    pacing_margin: float = Field(default=1.0, ge=0, le=60)
    timeout: float = Field(default=30.0, gt=0, le=600)
    concurrency: int = Field(default=1, ge=1, le=8)
    location: str | None = Field(default=None, min_length=1, max_length=100)
    building: str | None = Field(default=None, min_length=1, max_length=100)
    timezone: str | None = None
    state_file: Path = Path("zoho-people-state.sqlite3")
    read_before_write: Literal["when_unsure", "always"] = "when_unsure"
    badge_field: str = Field(default="MapperID", min_length=1)

    @field_validator("accounts_url", "api_domain")
    @classmethod
    def _base_url(cls, value: str | None, info: Any) -> str | None:
        return _url(value, info.field_name)

    @field_validator("client_secret", "refresh_token")
    @classmethod
    def _not_blank(cls, value: SecretStr, info: Any) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError(f"{info.field_name} is empty (is its environment variable set?)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (an IANA name like Asia/Kolkata)") from None
        return value

    @property
    def accounts(self) -> str:
        """The accounts base URL: `accounts_url`, else the data centre's host."""
        return self.accounts_url or DATA_CENTRES[self.data_centre]

    def per_minute(self, api: str) -> int:
        """The per-minute limit the plugin keeps to for `api`."""
        return {
            BULK_IMPORT: self.bulk_import_per_minute,
            READ_BACK: self.attendance_entries_per_minute,
            EMPLOYEE_RECORDS: self.employee_records_per_minute,
        }[api]


# -- planning ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackfillPlan:
    """What sending some records costs: calls, time at the rate limit, and whether today's budget holds it."""

    records: int
    punches: int
    calls: int
    minutes: float
    calls_left_today: int

    @property
    def fits_today(self) -> bool:
        """Whether the calls fit in what is left of today's budget."""
        return self.calls <= self.calls_left_today

    @property
    def days_needed(self) -> int:
        """Days of full budget the calls take (1 when they fit today)."""
        if self.fits_today:
            return 1
        return 1 + math.ceil((self.calls - self.calls_left_today) / max(self.calls_left_today, 1))

    def describe(self) -> str:
        """One line for the log and the operator."""
        verdict = "fits today's budget" if self.fits_today else "does NOT fit today's budget"
        return (
            f"{self.records} records -> {self.punches} punches in {self.calls} bulkImport calls, about "
            f"{self.minutes:.1f} min at the rate limit; {self.calls_left_today} calls left today: {verdict}"
        )


def plan_backfill(
    records: int,
    *,
    punches_per_record: float = 2.0,
    punches_per_call: int = 50,
    calls_per_minute: int = 10,
    calls_left_today: int = 5000,
) -> BackfillPlan:
    """The cost of sending `records` employee-days: bulkImport calls, minutes at the limit, budget check.

    Calls are spread evenly (a lock never starts), so N calls take (N - 1) / limit minutes plus the
    last call; call it N / limit. Read-backs are not counted: a backfill with a clean ledger has none.
    """
    punches = math.ceil(records * punches_per_record)
    calls = math.ceil(punches / punches_per_call)
    return BackfillPlan(records, punches, calls, calls / calls_per_minute, calls_left_today)


# -- pacing -----------------------------------------------------------------------------------------


class WindowPacer:
    """At most `limit` calls in any `window` seconds (plus `margin`), waiting with an injectable clock.

    Stricter than a token bucket, which lets a full bucket plus a minute's refill through in one
    window: Zoho counts calls per minute, and one call too many locks the API for minutes.
    """

    def __init__(
        self,
        limit: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        *,
        window: float = 60.0,
        margin: float = 1.0,
    ) -> None:
        self.limit, self.window, self.margin = limit, window, margin
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self.waited = 0.0

    def wait(self) -> None:
        """Block until one more call keeps within the limit, then count it as sent now."""
        with self._lock:
            while len(self._sent) >= self.limit:
                ready = self._sent[0] + self.window + self.margin
                now = self._clock()
                if now >= ready:
                    break
                self.waited += ready - now
                self._sleep(ready - now)
            self._sent.append(self._clock())

    def recent(self) -> list[float]:
        """The send times that still matter for the limit (to carry over to the next run)."""
        with self._lock:
            return list(self._sent)

    def remember(self, times: Iterable[float]) -> None:
        """Count calls made earlier (by a previous run) as sent; calls this pacer already counts stay once."""
        with self._lock:
            merged = sorted((Counter(self._sent) | Counter(times)).elements())[-self.limit :]
            self._sent.clear()
            self._sent.extend(merged)


_PACERS: dict[tuple[str, str, int], WindowPacer] = {}
_PACERS_LOCK = threading.Lock()


def _pacer(scope: str, api: str, limit: int, clock: Callable[[], float], sleep: Callable[[float], None]) -> WindowPacer:
    """The process-wide pacer of one API of one Zoho organisation (shared by every target instance)."""
    with _PACERS_LOCK:
        key = (scope, api, id(clock))
        pacer = _PACERS.get(key)
        if pacer is None or pacer.limit != limit:
            pacer = _PACERS[key] = WindowPacer(limit, clock, sleep)
        return pacer


# -- tokens -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    value: str
    api_domain: str
    expires_at: float


_TOKENS: dict[tuple[str, str, str], _Token] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached access token (tests; or after rotating credentials in a long-lived process)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


# -- records to punches (pure) -----------------------------------------------------------------------


class _Refusal(Exception):
    """A record the plugin cannot send as it is (its outcome says why)."""


@dataclass(frozen=True)
class _Day:
    record: Record
    employee: str
    work_date: str
    punches: frozenset[Punch]

    @property
    def key(self) -> DayKey:
        return (self.employee, self.work_date)


def _wall(value: Any, column: str, record_key: str) -> str:
    """A local ISO-8601 time as the site-local wall-clock text Zoho takes (offset dropped)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and ("T" in value or " " in value.strip()):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    else:
        moment = None
    if moment is None:
        raise _Refusal(
            f"record {record_key}: {column} {value!r} is not a local ISO-8601 time like 2025-10-06T09:02:00+05:30 "
            "(map it `from: first_in`, `from: last_out` or `from: intervals`, without a format)"
        )
    return moment.strftime(_WIRE)


def _work_date(record: Record) -> str:
    parts = record.key.rsplit("|", 2)
    candidates = [parts[1]] if len(parts) == 3 else []
    candidates += [str(record.fields.get(name) or "") for name in ("work_date", "date")]
    for text in candidates:
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text[:10]).isoformat()
    raise _Refusal(f"record {record.key}: no work date (the key is not EMPLOYEE|YYYY-MM-DD|day)")


def _employee(record: Record, identify_by: str) -> str:
    value = record.fields.get("employee")
    if isinstance(value, bool) or value is None or (isinstance(value, float) and math.isnan(value)):
        value = ""
    text = str(value).strip()
    if not text:
        raise _Refusal(f"record {record.key}: column `employee` is empty; it must hold the Zoho {identify_by}")
    return text


def _interval_punches(text: Any, record_key: str) -> set[Punch]:
    if text is None or text == "":
        return set()
    if not isinstance(text, str):
        raise _Refusal(f"record {record_key}: intervals {text!r} is not text of start/end pairs")
    punches: set[Punch] = set()
    for piece in (p.strip() for p in text.split(";")):
        if not piece:
            continue
        start, slash, end = piece.partition("/")
        if not slash or "/" in end or not (start.strip() or end.strip()):
            raise _Refusal(f"record {record_key}: intervals has {piece!r}, not start/end (an open one is start/)")
        begin = _wall(start, "intervals start", record_key) if start.strip() else None
        finish = _wall(end, "intervals end", record_key) if end.strip() else None
        if begin and finish and finish < begin:
            raise _Refusal(f"record {record_key}: interval {piece!r} ends before it starts")
        punches |= {("in", begin)} if begin else set()
        punches |= {("out", finish)} if finish else set()
    return punches


def _day_of(record: Record, mode: str, identify_by: str) -> _Day:
    """The punches one record stands for (raises _Refusal when it cannot be sent as it is)."""
    employee, work_date = _employee(record, identify_by), _work_date(record)
    if mode == "intervals":
        punches = _interval_punches(record.fields.get("intervals"), record.key)
    else:
        punches = set()
        check_in, check_out = record.fields.get("check_in"), record.fields.get("check_out")
        start = _wall(check_in, "check_in", record.key) if check_in not in (None, "") else None
        end = _wall(check_out, "check_out", record.key) if check_out not in (None, "") else None
        if start and end and end < start:
            raise _Refusal(f"record {record.key}: check_out {check_out} is before check_in {check_in}")
        punches |= {("in", start)} if start else set()
        punches |= {("out", end)} if end else set()
    return _Day(record, employee, work_date, frozenset(punches))


def _stale(mode: str, wanted: frozenset[Punch], held: set[Punch]) -> list[Punch]:
    """Punches Zoho holds that make its view of the day differ from `wanted` (the API cannot remove them).

    With first in/last out, only a held check-in before the wanted one (or any, when none is wanted)
    and a held check-out after the wanted one matter: Zoho's first in and last out are min and max.
    """
    extra = held - wanted
    if mode == "intervals":
        return sorted(extra, key=lambda p: p[1])
    first = min((t for kind, t in wanted if kind == "in"), default=None)
    last = max((t for kind, t in wanted if kind == "out"), default=None)
    matters = [
        (kind, t)
        for kind, t in extra
        if (kind == "in" and (first is None or t < first)) or (kind == "out" and (last is None or t > last))
    ]
    return sorted(matters, key=lambda p: p[1])


def _word(kind: str) -> str:
    return "check-in" if kind == "in" else "check-out"


def _pack(days: Sequence[tuple[DayKey, list[Punch]]], size: int) -> list[list[tuple[DayKey, Punch]]]:
    """Punches into calls of at most `size`, a day's punches kept in one call where they fit."""
    calls: list[list[tuple[DayKey, Punch]]] = []
    current: list[tuple[DayKey, Punch]] = []
    for key, punches in days:
        if current and len(current) + len(punches) > size:
            calls.append(current)
            current = []
        for punch in punches:
            if len(current) == size:
                calls.append(current)
                current = []
            current.append((key, punch))
    if current:
        calls.append(current)
    return calls


def _zoho_time(text: Any, api: str) -> str | None:
    """A time from a Zoho reply as wire text (None when empty); TargetError when unreadable."""
    if text in (None, "", "-", "--"):
        return None
    if isinstance(text, str):
        for pattern in _READ_FORMATS:
            with contextlib.suppress(ValueError):
                return datetime.strptime(text.strip(), pattern).strftime(_WIRE)
    raise FatalTargetError(f"Zoho People {api} answered a time punchbridge cannot read: {text!r}")


# -- the ledger of what was sent --------------------------------------------------------------------


class _SentDays:
    """The local ledger (`state_file`): punches Zoho took per natural key, pending sends, calls per day."""

    def __init__(self, path: Path) -> None:
        if not path.parent.is_dir():
            raise FatalTargetError(f"the folder of state_file {path} does not exist; create it or change state_file")
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(
                "CREATE TABLE IF NOT EXISTS sent_days (scope TEXT, employee TEXT, work_date TEXT, held TEXT NOT NULL,"
                " pending TEXT, PRIMARY KEY (scope, employee, work_date));"
                "CREATE TABLE IF NOT EXISTS calls (scope TEXT, day TEXT, calls INTEGER NOT NULL,"
                " PRIMARY KEY (scope, day));"
                "CREATE TABLE IF NOT EXISTS recent_calls (scope TEXT, api TEXT, times TEXT NOT NULL,"
                " PRIMARY KEY (scope, api));"
            )
        except sqlite3.Error as exc:
            raise FatalTargetError(f"state_file {path} cannot be used: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def load(self, scope: str, keys: Sequence[DayKey]) -> dict[DayKey, tuple[set[Punch], set[Punch] | None]]:
        found: dict[DayKey, tuple[set[Punch], set[Punch] | None]] = {}
        query = "SELECT held, pending FROM sent_days WHERE scope = ? AND employee = ? AND work_date = ?"
        with self._lock:
            for key in keys:  # one primary-key lookup each: stays fast however large the ledger grows
                row = self._db.execute(query, (scope, *key)).fetchone()
                if row is not None:
                    found[key] = (_punch_set(row[0]), _punch_set(row[1]) if row[1] is not None else None)
        return found

    def save(self, scope: str, rows: Mapping[DayKey, tuple[set[Punch], set[Punch] | None]]) -> None:
        """Record held (and pending) punches per day, durably, in one transaction."""
        if not rows:
            return
        values = [
            (scope, e, d, _punch_text(held), _punch_text(pending) if pending is not None else None)
            for (e, d), (held, pending) in rows.items()
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO sent_days VALUES (?, ?, ?, ?, ?)", values)
            self._db.execute("COMMIT")

    def calls_on(self, scope: str, day: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT calls FROM calls WHERE scope = ? AND day = ?", (scope, day)).fetchone()
        return int(row[0]) if row else 0

    def set_calls(self, scope: str, day: str, calls: int, recent: Mapping[str, list[float]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO calls VALUES (?, ?, ?)", (scope, day, calls))
            self._db.executemany(
                "INSERT OR REPLACE INTO recent_calls VALUES (?, ?, ?)",
                [(scope, api, json.dumps(times)) for api, times in recent.items()],
            )
            self._db.execute("COMMIT")

    def recent(self, scope: str) -> dict[str, list[float]]:
        with self._lock:
            rows = self._db.execute("SELECT api, times FROM recent_calls WHERE scope = ?", (scope,)).fetchall()
        return {api: [float(t) for t in json.loads(times)] for api, times in rows}


def _punch_text(punches: set[Punch]) -> str:
    """Punches as `in|2025-10-06 09:02:00;out|...` (sorted; wire times never hold `;` or `|`)."""
    return ";".join(sorted(f"{kind}|{moment}" for kind, moment in punches))


def _punch_set(text: str) -> set[Punch]:
    return {(item[: item.index("|")], item[item.index("|") + 1 :]) for item in text.split(";") if item}


# -- the target -------------------------------------------------------------------------------------


class ZohoPeopleTarget(Target):
    """Sends processed days to Zoho People as punches; pulls its employees; reads back what it holds."""

    max_batch_size = 500
    settings_model: ClassVar[type[BaseModel] | None] = ZohoPeopleSettings
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"push_punches", "push_attendance", "pull_employees", "read_back"}
    )

    def __init__(
        self,
        name: str,
        settings: BaseModel | Mapping[str, Any],
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(name, settings)
        self.config: ZohoPeopleSettings = settings_of(ZohoPeopleSettings, settings)
        self.settings = self.config
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self._transport = transport
        config = self.config
        # The secret is in the key too, so a wrong client_secret shows now, not an hour later.
        secrets = f"{config.refresh_token.get_secret_value()}\0{config.client_secret.get_secret_value()}"
        secret_hash = hashlib.sha256(secrets.encode()).hexdigest()
        self._token_key = (config.accounts, config.client_id, secret_hash)
        self.scope = hashlib.sha256(f"{config.accounts}|{config.client_id}|{config.identify_by}".encode()).hexdigest()[
            :16
        ]
        self._http: httpx.Client | None = None
        self._sent: _SentDays | None = None
        self._calls_day = ""
        self._calls_used = 0
        self._calls_lock = threading.Lock()

    # -- life cycle --------------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"target {self.name} (Zoho People)"

    def describe(self) -> str:
        """`zoho_people NAME -> ACCOUNTS HOST (identify_by)`, never a secret."""
        return f"zoho_people {self.name} -> {self.config.accounts} ({self.config.identify_by})"

    def open(self) -> None:
        """Open the HTTP client and the state file; log today's call budget."""
        if self._http is None:
            self._http = httpx.Client(
                timeout=self.config.timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=self.config.concurrency + 1),
                headers={"User-Agent": "punchbridge-zoho-people"},
            )
        if self._sent is None:
            self._sent = _SentDays(self.config.state_file)
            for api, times in self._sent.recent(self.scope).items():
                if api in LOCK_SECONDS:
                    self._pacer(api).remember(times)
        left = self.calls_left_today()
        log.info(
            "%s: %d of %d daily API calls left today; room for about %d days of two punches at %d punches a call",
            self.name,
            left,
            self.config.daily_call_limit,
            left * self.config.punches_per_call // 2,
            self.config.punches_per_call,
        )

    def close(self) -> None:
        """Save the call count, close the state file and the HTTP client (safe to call twice)."""
        if self._sent is not None:
            self._save_calls()
            self._sent.close()
            self._sent = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def _ready(self) -> tuple[httpx.Client, _SentDays]:
        if self._http is None or self._sent is None:
            self.open()
        assert self._http is not None and self._sent is not None
        return self._http, self._sent

    # -- mapping check -----------------------------------------------------------------------------

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: BaseModel | Mapping[str, Any]) -> list[str]:
        """The mapping needs `employee`, then `check_in` and `check_out`, or `intervals` (not both)."""
        if isinstance(settings, BaseModel):
            identify_by = getattr(settings, "identify_by", "empId")
        else:
            identify_by = settings.get("identify_by", "empId")
        names = set(columns)
        problems = []
        if "employee" not in names:
            problems.append(
                f"no column `employee`: it must hold the Zoho {identify_by} of the employee "
                "(e.g. {name: employee, from: target_id})"
            )
        pair = {"check_in", "check_out"} & names
        if "intervals" in names and pair:
            problems.append(
                "columns `intervals` and `check_in`/`check_out` together: send either first in and last out "
                "(check_in from: first_in, check_out from: last_out) or every pair (intervals from: intervals)"
            )
        elif "intervals" not in names and len(pair) < 2:
            missing = ", ".join(f"`{c}`" for c in ("check_in", "check_out") if c not in names)
            problems.append(
                f"no column {missing}: Zoho People takes punches; map check_in from: first_in and check_out from: "
                "last_out (or one column intervals from: intervals for every pair)"
            )
        return problems

    # -- budget ------------------------------------------------------------------------------------

    def _today(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).date().isoformat()

    def calls_left_today(self) -> int:
        """Calls of `daily_call_limit` punchbridge has not used today (UTC)."""
        with self._calls_lock:
            self._roll_day()
            return max(self.config.daily_call_limit - self._calls_used, 0)

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._calls_day:
            self._calls_day = today
            self._calls_used = self._sent.calls_on(self.scope, today) if self._sent is not None else 0

    def _count_call(self) -> None:
        with self._calls_lock:
            self._roll_day()
            self._calls_used += 1

    def _save_calls(self) -> None:
        if self._sent is None:
            return
        with self._calls_lock:
            self._roll_day()
            recent = {api: self._pacer(api).recent() for api in LOCK_SECONDS}
            self._sent.set_calls(self.scope, self._calls_day, self._calls_used, recent)

    def plan_backfill(self, records: int, punches_per_record: float = 2.0) -> BackfillPlan:
        """What sending `records` days costs with these settings and what is left of today's budget."""
        return plan_backfill(
            records,
            punches_per_record=punches_per_record,
            punches_per_call=self.config.punches_per_call,
            calls_per_minute=self.config.bulk_import_per_minute,
            calls_left_today=self.calls_left_today(),
        )

    # -- HTTP --------------------------------------------------------------------------------------

    def _pacer(self, api: str) -> WindowPacer:
        pacer = _pacer(self.scope, api, self.config.per_minute(api), self.clock, self.sleep)
        pacer.margin = self.config.pacing_margin
        return pacer

    def _token(self, stale: str | None = None) -> _Token:
        """A valid access token: the cached one, else a new one (never the `stale` one)."""
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._token_key)
            if cached is not None and cached.value != stale and cached.expires_at - _TOKEN_EARLY > self.clock():
                return cached
            token = self._mint()
            _TOKENS[self._token_key] = token
            return token

    def _mint(self) -> _Token:
        http, _ = self._ready()
        config = self.config
        form = {
            "grant_type": "refresh_token",
            "client_id": config.client_id,
            "client_secret": config.client_secret.get_secret_value(),
            "refresh_token": config.refresh_token.get_secret_value(),
        }
        where = f"{self._where}: Zoho accounts ({config.accounts})"
        started = self.clock()
        try:
            response = http.post(config.accounts + TOKEN_PATH, data=form)
        except httpx.TimeoutException:
            raise TransientError(f"{where}: no answer to the token request within {config.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise TransientError(f"{where}: cannot reach the accounts server ({type(exc).__name__})") from None
        body = _json_body(response)
        if not isinstance(body, dict):
            kind = f"HTTP {response.status_code} {response.headers.get('content-type', 'no content type')}"
            error: TargetError = FatalTargetError(f"{where}: the token request got {kind}, not a JSON object")
            if response.status_code >= 500:
                error = TransientError(f"{where}: the token request got HTTP {response.status_code}")
            raise error
        if "error" in body:
            raise _token_error(where, str(body.get("error")), config)
        value, expires = body.get("access_token"), body.get("expires_in", 3600)
        api_domain = config.api_domain or body.get("api_domain")
        if not isinstance(value, str) or not value or not isinstance(expires, int | float) or not api_domain:
            raise FatalTargetError(f"{where}: the token reply lacks access_token, expires_in or api_domain")
        try:
            api_domain = _url(str(api_domain), "api_domain")
        except ValueError as exc:
            raise FatalTargetError(f"{where}: {exc}; set api_domain in the settings") from None
        assert api_domain is not None
        log.info("%s: new access token from %s (valid %d s)", self.name, config.accounts, int(expires))
        return _Token(value, api_domain, started + float(expires))

    def _call(self, api: str, method: str, path: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """One paced, counted API call; the reply body (None: Zoho's "no records"). Renews the token once."""
        http, _ = self._ready()
        stale: str | None = None
        for attempt in (1, 2):
            token = self._token(stale)
            self._pacer(api).wait()
            self._count_call()
            headers = {"Authorization": f"Zoho-oauthtoken {token.value}"}
            url = token.api_domain + path
            try:
                if method == "GET":
                    response = http.get(url, params=dict(params), headers=headers)
                else:
                    response = http.post(url, data=dict(params), headers=headers)
            except httpx.TimeoutException:
                timeout = TransientError(f"{self._where}: {api}: no answer within {self.config.timeout:g} s")
                raise _unknown(timeout) from None
            except httpx.TransportError as exc:
                lost = TransientError(f"{self._where}: {api}: connection failed ({type(exc).__name__})")
                raise _unknown(lost) from None
            try:
                return _reply(api, response, self._where)
            except _InvalidToken:
                if attempt == 2:
                    raise CredentialsError(
                        f"{self._where}: {api} refused a newly minted access token (invalid OAuth token); check "
                        "that the client has the ZOHOPEOPLE scopes and belongs to this organisation"
                    ) from None
                stale = token.value
        raise AssertionError("unreachable")

    # -- push --------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Send the batch's days as punches; only what Zoho does not hold yet (see the module docstring)."""
        columns = list(batch.columns) or (list(batch.records[0].fields) if batch.records else [])
        problems = self.check_columns(columns, self.config)
        if problems:
            raise FatalTargetError(f"{self._where}: the mapping does not fit: " + "; ".join(problems))
        _, sent = self._ready()
        mode = "intervals" if "intervals" in columns else "first_last"
        outcomes: dict[str, Outcome] = {}
        days: dict[DayKey, _Day] = {}
        twins: dict[DayKey, list[_Day]] = {}
        for record in batch.records:
            try:
                day = _day_of(record, mode, self.config.identify_by)
            except _Refusal as refusal:
                outcomes[record.key] = Outcome(record.key, False, message=str(refusal))
                continue
            first = days.setdefault(day.key, day)
            if first is not day:
                if first.punches != day.punches:
                    outcomes[record.key] = Outcome(
                        record.key,
                        False,
                        message=f"record {record.key} is {day.employee} on {day.work_date} like record "
                        f"{first.record.key}, with other times: two terminal ids mapped to one Zoho employee?",
                    )
                else:
                    twins.setdefault(day.key, []).append(day)
        ledger = sent.load(self.scope, list(days))
        unsure = [key for key in days if self._unsure(mode, days[key], ledger.get(key))]
        to_send = {key: days[key].punches - ledger.get(key, (set(), None))[0] for key in days if key not in unsure}
        estimate = math.ceil(sum(len(p) for p in to_send.values()) / self.config.punches_per_call)
        estimate += math.ceil(sum(len(days[key].punches) for key in unsure) / self.config.punches_per_call)
        self._check_budget(batch, len(unsure), estimate)
        held = {key: ledger[key][0] for key in ledger if key not in unsure}
        held.update(self._read_days([days[key] for key in unsure]))
        sending: dict[DayKey, list[Punch]] = {}
        updates: dict[DayKey, tuple[set[Punch], set[Punch] | None]] = {}
        for key, day in days.items():
            known = held.get(key, set())
            if key in unsure:
                updates[key] = (known, None)
            stale = _stale(mode, day.punches, known)
            if stale:
                outcomes[day.record.key] = Outcome(day.record.key, False, message=self._stale_message(day, stale))
                continue
            missing = sorted(day.punches - known, key=lambda p: (p[1], p[0]))
            if missing:
                sending[key] = missing
                updates[key] = (known, set(missing))
            else:
                outcomes[day.record.key] = Outcome(day.record.key, True, remote_id=_remote_id(day))
        sent.save(self.scope, updates)  # pending marks are durable before anything is sent
        calls = _pack(sorted(sending.items(), key=lambda item: (item[0][1], item[0][0])), self.config.punches_per_call)
        log.info(
            "%s: batch %d: %d records, %d punches to send in %d bulkImport calls (+%d read back); about %.1f min "
            "at %d calls/min; %d daily calls left",
            self.name,
            batch.batch_id,
            len(batch.records),
            sum(len(p) for p in sending.values()),
            len(calls),
            len(unsure),
            len(calls) / self.config.bulk_import_per_minute,
            self.config.bulk_import_per_minute,
            self.calls_left_today(),
        )
        taken, refused = self._send_calls(calls, held, sent)
        for key, punches in sending.items():
            day = days[key]
            if key in refused:
                outcomes[day.record.key] = Outcome(day.record.key, False, message="; ".join(refused[key]))
            elif set(punches) <= taken.get(key, set()):
                outcomes[day.record.key] = Outcome(day.record.key, True, remote_id=_remote_id(day))
        for key, copies in twins.items():
            for copy in copies:
                like = outcomes[days[key].record.key]
                outcomes[copy.record.key] = Outcome(copy.record.key, like.ok, like.remote_id, like.message)
        self._save_calls()
        return [outcomes[record.key] for record in batch.records]

    def _unsure(self, mode: str, day: _Day, row: tuple[set[Punch], set[Punch] | None] | None) -> bool:
        """Whether Zoho's holding for `day` must be read back before writing."""
        if self.config.read_before_write == "always":
            return True
        if row is None:
            return False
        held, pending = row
        return pending is not None or bool(_stale(mode, day.punches, held))

    def _check_budget(self, batch: Batch, reads: int, bulk_calls: int) -> None:
        needed, left = reads + bulk_calls, self.calls_left_today()
        if needed > left:
            raise FatalTargetError(
                f"{self._where}: batch {batch.batch_id} needs {needed} API calls ({bulk_calls} bulkImport, {reads} "
                f"getAttendanceEntries) but only {left} of the daily {self.config.daily_call_limit} are left today "
                "(UTC); nothing of it was sent. The next sync carries on where this one stopped; raise "
                "daily_call_limit only if your Zoho plan allows more"
            )

    def _stale_message(self, day: _Day, stale: list[Punch]) -> str:
        held = ", ".join(f"{_word(kind)} {moment}" for kind, moment in stale[:4])
        return (
            f"Zoho People already holds {held} for {self.config.identify_by} {day.employee} on {day.work_date}, "
            "which the recomputed day no longer has, and its API cannot remove a punch: correct the day in Zoho "
            "People (regularise or delete the entry), then retry this dead letter"
        )

    def _send_calls(
        self, calls: list[list[tuple[DayKey, Punch]]], held: dict[DayKey, set[Punch]], sent: _SentDays
    ) -> tuple[dict[DayKey, set[Punch]], dict[DayKey, list[str]]]:
        """Send the bulkImport calls; what Zoho took and refused per day, saved to the ledger at the end.

        A day stays pending only when a call of it failed in a way that leaves Zoho's side unknown
        (no answer, a 5xx, an unreadable reply); then the next push reads it back before writing.
        """
        taken: dict[DayKey, set[Punch]] = {}
        refused: dict[DayKey, list[str]] = {}
        uncertain: dict[DayKey, set[Punch]] = {}
        touched: set[DayKey] = set()
        failure: TargetError | None = None

        def settle(call: list[tuple[DayKey, Punch]], results: list[tuple[bool, str]] | None, known: bool) -> None:
            for position, (key, punch) in enumerate(call):
                touched.add(key)
                if results is None:
                    if not known:
                        uncertain.setdefault(key, set()).add(punch)
                elif results[position][0]:
                    taken.setdefault(key, set()).add(punch)
                else:
                    refused.setdefault(key, []).append(results[position][1])

        workers = min(self.config.concurrency, max(len(calls), 1))
        pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        try:
            futures = [pool.submit(self._bulk_import, call) for call in calls] if pool is not None else []
            for index, call in enumerate(calls):
                if failure is not None and (pool is None or futures[index].cancel()):
                    settle(call, None, known=True)  # never sent
                    continue
                try:
                    results = futures[index].result() if pool is not None else self._bulk_import(call)
                except TargetError as exc:
                    failure = failure or exc
                    settle(call, None, known=getattr(exc, "nothing_landed", False))
                    continue
                settle(call, results, known=True)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        sent.save(
            self.scope,
            {key: (held.get(key, set()) | taken.get(key, set()), uncertain.get(key)) for key in touched},
        )
        if failure is not None:
            raise failure
        return taken, refused

    def _bulk_import(self, call: list[tuple[DayKey, Punch]]) -> list[tuple[bool, str]]:
        rows = []
        for (employee, _), (kind, moment) in call:
            row = {self.config.identify_by: employee, ("checkIn" if kind == "in" else "checkOut"): moment}
            if self.config.location:
                row["location"] = self.config.location
            if self.config.building:
                row["building"] = self.config.building
            rows.append(row)
        params = {"data": json.dumps(rows, separators=(",", ":")), "dateFormat": DATE_FORMAT}
        reply = self._call(BULK_IMPORT, "POST", BULK_IMPORT_PATH, params)
        results = _bulk_results(reply, len(rows), self._where)
        answers = []
        for ((employee, _), (kind, moment)), (ok, message) in zip(call, results, strict=True):
            text = "" if ok else f"Zoho People refused {_word(kind)} {moment} of {employee}: {message}"
            answers.append((ok, text))
        return answers

    # -- read-back ---------------------------------------------------------------------------------

    def _read_days(self, days: Sequence[_Day]) -> dict[DayKey, set[Punch]]:
        """What Zoho holds for each day (one paced getAttendanceEntries call each)."""
        if not days:
            return {}
        workers = min(self.config.concurrency, len(days))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                found = list(pool.map(lambda d: self._entries(d.employee, d.work_date), days))
        else:
            found = [self._entries(d.employee, d.work_date) for d in days]
        return {day.key: punches for day, (punches, _, _) in zip(days, found, strict=True)}

    def _entries(self, employee: str, work_date: str) -> tuple[set[Punch], str | None, str | None]:
        """Zoho's punches for one employee-day, with its first in and last out (wire text)."""
        params = {"date": work_date, "dateFormat": DATE_FORMAT, self.config.identify_by: employee}
        reply = self._call(READ_BACK, "GET", READ_BACK_PATH, params)
        if reply is None or not isinstance(reply.get("entries", []), list):
            raise FatalTargetError(f"{self._where}: {READ_BACK} answered without a list of entries")
        punches: set[Punch] = set()
        for entry in reply.get("entries", []):
            if not isinstance(entry, dict):
                raise FatalTargetError(f"{self._where}: {READ_BACK} answered an entry that is not an object")
            for name, kind in (("checkIn", "in"), ("checkOut", "out")):
                moment = _zoho_time(entry.get(name), READ_BACK)
                if moment:
                    punches.add((kind, moment))
        first, last = _zoho_time(reply.get("firstIn"), READ_BACK), _zoho_time(reply.get("lastOut"), READ_BACK)
        punches |= {("in", first)} if first and not any(k == "in" for k, _ in punches) else set()
        punches |= {("out", last)} if last and not any(k == "out" for k, _ in punches) else set()
        return punches, first, last

    def read_back(self, start: date, end: date, employees: Sequence[str] | None = None) -> Iterator[HeldRecord]:
        """What Zoho holds per employee and day (`check_in`, `check_out`, `intervals`), one paced call each.

        Without `employees`, every employee `pull_employees` finds, by the `identify_by` identifier.
        """
        if employees is None:
            employees = [value for value in (self._identifier(e) for e in self.pull_employees()) if value]
        zone = ZoneInfo(self.config.timezone) if self.config.timezone else None
        try:
            for employee in employees:
                day = start
                while day <= end:
                    punches, first, last = self._entries(employee, day.isoformat())
                    if punches:
                        fields = {
                            "check_in": _iso(first, zone),
                            "check_out": _iso(last, zone),
                            "intervals": _intervals(punches, zone),
                        }
                        yield HeldRecord(employee, day, fields, remote_id=f"{employee}|{day.isoformat()}")
                    day += timedelta(days=1)
        finally:
            self._save_calls()

    def _identifier(self, employee: Employee) -> str | None:
        return {"empId": employee.target_id, "emailId": employee.email, "mapId": employee.badge}[
            self.config.identify_by
        ]

    # -- employees ---------------------------------------------------------------------------------

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every employee record (leavers too, `active=False`), paging getRecords 200 at a time to the end."""
        start = 1
        try:
            while True:
                params: dict[str, Any] = {"sIndex": start, "limit": EMPLOYEE_PAGE}
                if since is not None:
                    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
                    params["modifiedtime"] = int(moment.timestamp() * 1000)
                reply = self._call(EMPLOYEE_RECORDS, "GET", EMPLOYEES_PATH, params)
                if reply is None:
                    return
                page = _employee_page(reply, self._where)
                for record_id, fields in page:
                    yield self._employee_of(record_id, fields)
                if len(page) < EMPLOYEE_PAGE:
                    return
                start += EMPLOYEE_PAGE
        finally:
            self._save_calls()

    def _employee_of(self, record_id: str, fields: Mapping[str, Any]) -> Employee:
        target_id = fields.get("EmployeeID")
        if not isinstance(target_id, str | int) or str(target_id).strip() == "":
            raise FatalTargetError(f"{self._where}: {EMPLOYEE_RECORDS}: record {record_id} has no EmployeeID")
        status = str(fields.get("Employeestatus") or "")
        name = " ".join(str(fields.get(part) or "").strip() for part in ("FirstName", "LastName")).strip()
        return Employee(
            target_id=str(target_id).strip(),
            name=name or str(target_id),
            active=status.strip().lower() == "active",
            email=_text(fields.get("EmailID")),
            badge=_text(fields.get(self.config.badge_field)),
            department=_text(fields.get("Department")),
            site=_text(fields.get("LocationName")),
            modified_at=_epoch_ms(fields.get("ModifiedTime")),
            extra={"zoho_record_id": record_id, "Employeestatus": status},
        )


# -- replies ----------------------------------------------------------------------------------------


class _InvalidToken(Exception):
    """Zoho said the access token is invalid or expired (renew it once)."""


def _unknown(error: TargetError) -> TargetError:
    """`error`, marked as one after which nobody knows whether Zoho stored the call's punches."""
    error.nothing_landed = False  # type: ignore[attr-defined]
    return error


def _refused_whole(error: TargetError) -> TargetError:
    """`error`, marked as a refusal of the whole call: nothing of it was stored."""
    error.nothing_landed = True  # type: ignore[attr-defined]
    return error


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _token_error(where: str, code: str, config: ZohoPeopleSettings) -> TargetError:
    if code == "invalid_client":
        return CredentialsError(
            f"{where} refused client_id {config.client_id} (invalid_client): wrong client_id or client_secret, "
            f"or the client belongs to another data centre than {config.accounts}"
        )
    if code == "invalid_code":
        return CredentialsError(
            f"{where} refused the refresh token (invalid_code): it is revoked, mistyped or from another client or "
            "data centre; generate a new one with the ZOHOPEOPLE scopes"
        )
    if code.lower() == "access denied":
        return RateLimited(
            f"{where}: too many access tokens minted for this refresh token (Zoho allows 10 per 10 minutes); "
            "another process may share it without caching tokens",
            retry_after=600.0,
        )
    return CredentialsError(f"{where} refused the token request ({code})")


def _error_of(body: Any) -> tuple[int | None, str] | None:
    """Zoho's (code, message) when `body` says the call failed; None when it says success."""
    if not isinstance(body, dict):
        return None
    response = body.get("response", body)
    if not isinstance(response, dict):
        return (None, "the reply's `response` is not an object")
    errors = response.get("errors", body.get("errors"))
    if isinstance(errors, list) and errors:
        errors = errors[0]
    if isinstance(errors, dict):
        code = errors.get("code")
        number = int(code) if isinstance(code, int) or (isinstance(code, str) and code.isdigit()) else None
        return (number, str(errors.get("message") or "no message"))
    status = response.get("status", 0)
    if status not in (0, "0", None, "success"):
        return (None, str(response.get("message") or f"status {status}"))
    return None


def _reply(api: str, response: httpx.Response, where: str) -> dict[str, Any] | None:
    """The body of a successful reply; else the TargetError of what went wrong (see the module docstring)."""
    status = response.status_code
    body = _json_body(response)
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    retry_after = _retry_after(response) or LOCK_SECONDS.get(api, 300.0)
    if status == 429:
        raise _refused_whole(RateLimited(f"{where}: {api} answered 429 Too Many Requests", retry_after=retry_after))
    if status >= 500:
        what = "an HTML page" if "html" in kind else kind
        raise _unknown(TransientError(f"{where}: {api} answered HTTP {status} ({what}); Zoho may be down"))
    if not isinstance(body, dict):
        what = "an HTML page" if "html" in kind else f"{kind}, not a JSON object"
        if status in (401, 403):
            raise _refused_whole(CredentialsError(f"{where}: {api} answered HTTP {status} ({what})"))
        raise _unknown(
            FatalTargetError(
                f"{where}: {api} answered HTTP {status} with {what}; check api_domain (or the data centre) and any "
                "proxy in between"
            )
        )
    error = _error_of(body)
    if error is None and status < 400:
        return body
    code, message = error or (None, f"HTTP {status}")
    if code in _INVALID_TOKEN_CODES:
        raise _InvalidToken()
    if code in _THROTTLE_CODES:
        raise _refused_whole(
            RateLimited(f"{where}: {api} is locked by Zoho's rate limit (7209: {message})", retry_after=retry_after)
        )
    if code in _DAILY_LIMIT_CODES:
        raise _refused_whole(
            FatalTargetError(
                f"{where}: Zoho's daily API limit is reached ({code}: {message}); the next sync after 00:00 carries on"
            )
        )
    if code == _NO_RECORDS_CODE and api == EMPLOYEE_RECORDS:
        return None
    if code in _PERMISSION_CODES or status in (401, 403):
        raise _refused_whole(
            CredentialsError(f"{where}: {api} refused: {message} (code {code}); check the client's scopes and role")
        )
    raise _refused_whole(FatalTargetError(f"{where}: {api} refused the call: {message} (code {code}, HTTP {status})"))


def _retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (a number or an HTTP date), capped; None if absent or unreadable."""
    return retry_after_seconds(response.headers.get("retry-after"))


def _bulk_results(reply: dict[str, Any] | None, rows: int, where: str) -> list[tuple[bool, str]]:
    """Per row: (taken, Zoho's message). TargetError when the reply does not answer every row."""
    result = (
        (reply or {}).get("response", {}).get("result") if isinstance((reply or {}).get("response"), dict) else None
    )
    if not isinstance(result, list) or len(result) != rows:
        count = len(result) if isinstance(result, list) else "no"
        raise _unknown(
            FatalTargetError(f"{where}: {BULK_IMPORT} answered {count} results for {rows} punches; cannot tell which")
        )
    answers = []
    for item in result:
        if not isinstance(item, dict) or item.get("status") not in ("success", "failure"):
            raise _unknown(FatalTargetError(f"{where}: {BULK_IMPORT} answered a result without success/failure"))
        if item["status"] == "success":
            answers.append((True, ""))
        else:
            code = item.get("code")
            answers.append((False, f"{item.get('message') or 'refused'}" + (f" (code {code})" if code else "")))
    return answers


def _employee_page(reply: dict[str, Any], where: str) -> list[tuple[str, Mapping[str, Any]]]:
    result = reply.get("response", {}).get("result") if isinstance(reply.get("response"), dict) else None
    if not isinstance(result, list):
        raise FatalTargetError(f"{where}: {EMPLOYEE_RECORDS} answered without response.result")
    page: list[tuple[str, Mapping[str, Any]]] = []
    for item in result:
        if not isinstance(item, dict) or len(item) != 1:
            raise FatalTargetError(f"{where}: {EMPLOYEE_RECORDS}: a result is not {{recordId: [fields]}}")
        ((record_id, forms),) = item.items()
        if not isinstance(forms, list) or not forms or not isinstance(forms[0], dict):
            raise FatalTargetError(f"{where}: {EMPLOYEE_RECORDS}: record {record_id} has no fields")
        page.append((str(record_id), forms[0]))
    return page


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _epoch_ms(value: Any) -> datetime | None:
    with contextlib.suppress(TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(int(str(value)) / 1000, UTC)
    return None


def _iso(wire: str | None, zone: ZoneInfo | None) -> str:
    """Wire text as the mapping's local ISO-8601 form (with the site offset when `timezone` is set)."""
    if not wire:
        return ""
    moment = datetime.strptime(wire, _WIRE)
    return (moment.replace(tzinfo=zone) if zone else moment).isoformat()


def _intervals(punches: set[Punch], zone: ZoneInfo | None) -> str:
    pairs: list[str] = []
    current: str | None = None
    for kind, moment in sorted(punches, key=lambda p: (p[1], p[0])):
        if kind == "in":
            if current is not None:
                pairs.append(f"{_iso(current, zone)}/")
            current = moment
        else:
            pairs.append(f"{_iso(current, zone)}/{_iso(moment, zone)}")
            current = None
    if current is not None:
        pairs.append(f"{_iso(current, zone)}/")
    return ";".join(pairs)


def _remote_id(day: _Day) -> str:
    return f"{day.employee}|{day.work_date}"


@hookimpl
def register_targets(register: Register) -> None:
    """Register `zoho_people`."""
    register("zoho_people", ZohoPeopleTarget)
