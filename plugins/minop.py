"""Source `minop`: raw punches (and, with `processing: cloud`, processed days) pulled from the Minop cloud.

    sources:
      minop:
        plugin: minop
        base_url: https://minop.example.com
        api_key: ${MINOP_API_KEY}          # or client_id / client_secret (OAuth client credentials)
        processing: local                  # local: our rules engine; cloud: the cloud's processed days

The first run backfills from the day before the sync range; each page is stored before its cursor is
saved, so an interrupted backfill resumes at the last stored page. Later runs ask only for records
updated since the newest `updated_at` seen, minus `overlap_minutes` (records the cloud wrote late,
with an older `updated_at`, are caught by the overlap; one read twice is stored once). A pass that
fitted in one page remembers its ETag: the same question next time costs a 304 and nothing more.

A record that cannot be used (not an object, a missing id, a malformed or implausible timestamp, an
unknown employee) is quarantined with its reason; the rest of the page is kept. A reply that breaks
the contract as a whole (not JSON, no `data`) stops the sync with `MinopReplyError`, keeping what
earlier pages stored.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from punchbridge.config.punchfile import FUTURE_TOLERANCE_MINUTES, OLDEST_DAYS, QUARANTINE_COLUMNS
from punchbridge.minop.client import (
    PROCESSED_PATH,
    RAW_PATH,
    ApiKey,
    ClientCredentials,
    MinopClient,
    MinopReplyError,
    NotModified,
    Page,
)
from punchbridge.plugin_api import Fetched, Register, Source, SourceContext, hookimpl
from punchbridge.rules.frames import DAY_COLUMNS, DIRECTIONS

__all__ = ["RAW_REQUIRED_FIELDS", "MinopSource", "MinopSourceSettings"]

logger = logging.getLogger(__name__)

#: Raw-record fields punchbridge uses; always asked for.
RAW_REQUIRED_FIELDS = ("event_id", "employee_id", "device_id", "timestamp", "updated_at")
#: Processed-record fields punchbridge uses.
PROCESSED_FIELDS = (
    "employee_id",
    "date",
    "status",
    "first_in",
    "last_out",
    "payable_hours",
    "ot_hours",
    "late_minutes",
    "early_exit_minutes",
    "shift",
    "anomalies",
    "recomputed",
    "updated_at",
)
STATUSES = ("present", "absent", "half_day", "weekly_off", "holiday", "on_leave")
_CLOUD_DIRECTIONS = (
    {
        "checkin": "in",
        "checkout": "out",
        "breakout": "break_out",
        "breakin": "break_in",
        "overtimein": "ot_in",
        "overtimeout": "ot_out",
    }
    | {word: word for word in DIRECTIONS}
    | {str(i): word for i, word in enumerate(DIRECTIONS)}
)
_MAX_ID = 128
_CURSOR_VERSION = 1


class MinopSourceSettings(BaseModel):
    """Settings of a `minop` source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(description="The cloud's base URL, e.g. https://minop.example.com")
    api_key: SecretStr | None = Field(default=None, description="API key (or use client_id/client_secret)")
    api_key_header: str = Field(default="X-API-Key", description="The header that carries the API key")
    client_id: str | None = Field(default=None, description="OAuth 2.0 client id (client credentials)")
    client_secret: SecretStr | None = None
    token_url: str | None = Field(default=None, description="OAuth token endpoint; default {base_url}/oauth/token")
    scopes: list[str] | None = Field(default=None, description="OAuth scopes; default read:raw (+ read:processed)")
    processing: Literal["local", "cloud"] = Field(
        default="local", description="local: our rules engine on raw punches; cloud: the cloud's processed days"
    )
    sites: list[str] | None = Field(
        default=None, description="processing: cloud: the sites whose employees the cloud computes (default all)"
    )
    overlap_minutes: int = Field(default=10, ge=0, le=10080, description="Re-read window before the watermark")
    page_size: int = Field(default=1000, ge=1, le=1000)
    fields: list[str] | Literal["all"] | None = Field(
        default=None, description="Raw fields to ask for (fields=); the ones punchbridge uses are always added"
    )
    timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds per network operation")
    deadline: float = Field(default=120.0, gt=0, le=3600, description="Seconds per call, retries included")

    @field_validator("base_url", "token_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL:
            raise ValueError(f"{value[:80]!r} is not a URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"{value[:80]!r} is not an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_way_in(self) -> MinopSourceSettings:
        oauth = self.client_id is not None or self.client_secret is not None
        if self.api_key is None and not oauth:
            raise ValueError("give api_key, or client_id and client_secret (OAuth client credentials)")
        if self.api_key is not None and oauth:
            raise ValueError("give api_key or client_id/client_secret, not both")
        if oauth and (self.client_id is None or self.client_secret is None):
            raise ValueError("OAuth needs both client_id and client_secret")
        if self.sites is not None and self.processing != "cloud":
            raise ValueError("sites: only with processing: cloud")
        return self

    def credentials(self) -> ApiKey | ClientCredentials:
        """The client's authentication."""
        if self.api_key is not None:
            return ApiKey(self.api_key, self.api_key_header)
        assert self.client_id is not None and self.client_secret is not None
        scopes = self.scopes or (["read:raw", "read:processed"] if self.processing == "cloud" else ["read:raw"])
        return ClientCredentials(
            self.token_url or f"{self.base_url}/oauth/token", self.client_id, self.client_secret, tuple(scopes)
        )

    def raw_fields(self) -> str | None:
        """The `fields=` value of raw pulls (None: every field)."""
        if self.fields == "all":
            return None
        return ",".join(dict.fromkeys([*RAW_REQUIRED_FIELDS, *(self.fields or [])]))


class MinopSource(Source[MinopSourceSettings]):
    """Pulls raw punches (and processed days for `processing: cloud`) page by page."""

    #: Seams for tests: the clock of token expiry, the wait of a Retry-After, the network.
    clock: ClassVar[Callable[[], float]] = time.time
    sleep: ClassVar[Callable[[float], None] | None] = None
    transport: ClassVar[httpx.BaseTransport | None] = None

    def covered_employees(self, context: SourceContext) -> Collection[str]:
        """With `processing: cloud`, the employees (of `sites`, default all) whose days the cloud computes."""
        settings = self.settings
        if settings.processing != "cloud":
            return frozenset()
        staff = context.employees
        if settings.sites is not None:
            staff = staff[staff["site"].astype(str).isin(settings.sites)]
        return frozenset(staff["employee_id"].astype(str))

    def fetch(self, context: SourceContext, cursor: str | None) -> Fetched:
        """Every page at once (the engine uses `fetch_pages`, which stores page by page)."""
        pages = list(self.fetch_pages(context, cursor))
        if not pages:
            return Fetched(pd.DataFrame(), pd.DataFrame(), cursor)
        days = [p.days for p in pages if p.days is not None]
        return Fetched(
            punches=pd.concat([p.punches for p in pages], ignore_index=True),
            quarantine=pd.concat([p.quarantine for p in pages], ignore_index=True),
            cursor=pages[-1].cursor,
            days=pd.concat(days, ignore_index=True) if days else None,
        )

    def fetch_pages(self, context: SourceContext, cursor: str | None) -> Iterator[Fetched]:
        """One `Fetched` per page: raw punches, then (cloud processing) processed days."""
        settings = self.settings
        state = self._load_state(cursor)
        client = MinopClient(
            settings.base_url,
            settings.credentials(),
            timeout=settings.timeout,
            deadline=settings.deadline,
            clock=type(self).clock,
            sleep=type(self).sleep,
            transport=type(self).transport,
        )
        with client:
            yield from self._stream(client, "raw", state, context)
            if settings.processing == "cloud":
                yield from self._stream(client, "processed", state, context)

    # -- cursor state --------------------------------------------------------------------------------

    def _load_state(self, cursor: str | None) -> dict[str, Any]:
        fresh: dict[str, Any] = {"version": _CURSOR_VERSION, "raw": {}, "processed": {}}
        if not cursor:
            return fresh
        try:
            state = json.loads(cursor)
            if not isinstance(state, dict) or state.get("version") != _CURSOR_VERSION:
                raise ValueError("not a cursor of this version")
            for kind in ("raw", "processed"):
                stream = state.setdefault(kind, {})
                if not isinstance(stream, dict):
                    raise ValueError(f"{kind} is not an object")
                plan = stream.get("plan")
                if plan is not None and not (
                    isinstance(plan, list)
                    and all(isinstance(q, dict) and all(isinstance(v, str) for v in q.values()) for q in plan)
                    and isinstance(stream.get("covering"), list)
                    and len(stream["covering"]) == 2
                ):
                    raise ValueError(f"{kind}: the plan in progress is malformed")
        except ValueError as exc:
            # Safe to start over: the store keeps one copy of each punch and of each day.
            logger.warning("source %s: unreadable cursor (%s); pulling everything again", self.name, exc)
            return fresh
        return state

    def _plan(self, kind: str, stream: dict[str, Any], context: SourceContext) -> tuple[list[dict[str, str]], list]:
        """The queries of this run, and the range they leave covered: records updated since the watermark
        (minus the overlap) over what is covered already, then everything of dates not covered yet."""
        settings = self.settings
        base: dict[str, str] = {"limit": str(settings.page_size)}
        watermark = stream.get("watermark")
        since = None
        if watermark:
            since = _iso(_parse_utc(watermark) - timedelta(minutes=settings.overlap_minutes))
        if kind == "raw":
            fields = settings.raw_fields()
            if fields:
                base["fields"] = fields
            wanted = _iso(datetime.combine(context.date_from - timedelta(days=1), datetime.min.time(), UTC))
            low = stream.get("from")
            if since is None or low is None:
                return [base | {"from": wanted}], [wanted, None]
            plan = [base | {"from": low, "updated_since": since}]
            if wanted < low:
                plan.append(base | {"from": wanted, "to": low})
            return plan, [min(wanted, low), None]
        base["fields"] = ",".join(PROCESSED_FIELDS)
        first, last = context.date_from.isoformat(), context.date_to.isoformat()
        low, high = stream.get("from"), stream.get("to")
        if since is None or low is None or high is None:
            return [base | {"from": first, "to": last}], [first, last]
        plan = [base | {"from": low, "to": high, "updated_since": since}]
        if first < low:
            plan.append(base | {"from": first, "to": _day(low, -1)})
        if last > high:
            plan.append(base | {"from": _day(high, 1), "to": last})
        return plan, [min(first, low), max(last, high)]

    # -- one stream --------------------------------------------------------------------------------------

    def _stream(
        self, client: MinopClient, kind: str, state: dict[str, Any], context: SourceContext
    ) -> Iterator[Fetched]:
        """Run the stream's plan page by page. The plan, the page cursor and the newest `updated_at` seen
        are in the cursor of every page, so an interrupted run resumes with the same queries."""
        before = json.dumps(state, sort_keys=True)
        stream: dict[str, Any] = dict(state[kind])
        if not isinstance(stream.get("plan"), list) or not stream["plan"]:
            plan, covering = self._plan(kind, stream, context)
            stream |= {"plan": plan, "next": None, "seen": stream.get("watermark"), "covering": covering}
        read = client.raw_page if kind == "raw" else client.processed_page
        path = RAW_PATH if kind == "raw" else PROCESSED_PATH
        while stream.get("plan"):
            query = {str(k): str(v) for k, v in stream["plan"][0].items()}
            page_cursor = stream.get("next")
            first_page = page_cursor is None
            etag = stream.get("etag") if first_page and stream.get("etag_query") == query else None
            page = read(query | ({"cursor": str(page_cursor)} if page_cursor else {}), etag)
            if isinstance(page, NotModified):  # the same question as last time, and nothing changed
                punches, days, held, newest, ended = pd.DataFrame(), None, pd.DataFrame(), None, True
            else:
                if page.next_cursor is not None and page.next_cursor == page_cursor:
                    raise MinopReplyError(f"GET {path}: the cloud returned the same cursor again")
                if kind == "raw":
                    punches, held, newest = raw_frames(page, self.name, context)
                    days = None
                else:
                    days, held, newest = processed_frames(page, self.name, context, self.covered_employees(context))
                    punches = pd.DataFrame()
                ended = page.next_cursor is None
                if ended and first_page:
                    stream |= {"etag": page.etag, "etag_query": query if page.etag else None}
            stream["seen"] = _newest(stream.get("seen"), newest)
            stream["next"] = None if ended else page.next_cursor  # type: ignore[union-attr]
            if ended:
                stream["plan"] = stream["plan"][1:]
            if not stream["plan"]:
                low, high = stream.pop("covering")
                stream = {k: v for k, v in stream.items() if k not in ("plan", "next", "seen")} | {
                    "watermark": stream.get("seen"),
                    "from": low,
                    "to": high,
                }
            state[kind] = stream
            cursor = json.dumps(state, sort_keys=True)
            if isinstance(page, NotModified) and not stream.get("plan") and cursor == before:
                return  # nothing new and nothing to remember: no write at all
            yield Fetched(punches, held, cursor, days)


@hookimpl
def register_sources(register: Register) -> None:
    """Register the `minop` source."""
    register("minop", MinopSource)


# -- records to frames ------------------------------------------------------------------------------


class _UnusableRecordError(ValueError):
    """A record that cannot be used: its quarantine reason and detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _text(record: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise _UnusableRecordError("malformed_record", f"{name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _UnusableRecordError("malformed_record", f"{name} is {type(value).__name__}, not text")
    text = str(value)
    if len(text) > _MAX_ID or not text.isprintable():
        raise _UnusableRecordError("malformed_record", f"{name} is longer than {_MAX_ID} characters or not printable")
    return text


def _parse_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no UTC offset")
    return moment.astimezone(UTC)


def _instant(record: dict[str, Any], name: str) -> datetime:
    value = record.get(name)
    if not isinstance(value, str) or len(value) > 40:
        raise _UnusableRecordError("bad_timestamp", f"{name} is {_show(value)}, not an ISO-8601 instant")
    try:
        moment = _parse_utc(value)
    except (ValueError, OverflowError):
        raise _UnusableRecordError(
            "bad_timestamp", f"{name} {_show(value)} is not an ISO-8601 instant with an offset"
        ) from None
    if not 1971 <= moment.year <= 2200:
        raise _UnusableRecordError("implausible_timestamp", f"{name} {value} is outside the years a punch can have")
    return moment


def _day(text: str, shift: int) -> str:
    return (date.fromisoformat(text) + timedelta(days=shift)).isoformat()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _newest(watermark: str | None, candidate: datetime | None) -> str | None:
    if candidate is None:
        return watermark
    if watermark is None:
        return _iso(candidate)
    return max(watermark, _iso(candidate))  # same fixed format: text order is time order


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _held(source: str, record: Any, reason: str, detail: str) -> dict[str, Any]:
    record = record if isinstance(record, dict) else {}

    def cell(name: str) -> str:
        value = record.get(name)
        return "" if value is None else (value if isinstance(value, str) else _show(value))[:200]

    return {
        "file": source,
        "line": None,
        "employee_id": cell("employee_id"),
        "timestamp": cell("timestamp") or cell("date"),
        "device_id": cell("device_id"),
        "direction": cell("direction"),
        "reason": reason,
        "detail": detail,
    }


def _quarantine_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(QUARANTINE_COLUMNS))


def raw_frames(page: Page, source: str, context: SourceContext) -> tuple[pd.DataFrame, pd.DataFrame, datetime | None]:
    """(punches in engine columns, quarantined records, the newest valid `updated_at`) of a raw page."""
    known = set(context.employees["employee_id"].astype(str))
    oldest = datetime.combine(context.date_to, datetime.min.time(), UTC) - timedelta(days=OLDEST_DAYS)
    latest = datetime.now(UTC) + timedelta(minutes=FUTURE_TOLERANCE_MINUTES)
    rows: list[tuple[str, datetime, str, str | None]] = []
    held: list[dict[str, Any]] = []
    newest: datetime | None = None
    for position, record in enumerate(page.records):
        try:
            if not isinstance(record, dict):
                raise _UnusableRecordError(
                    "malformed_record", f"record {position} of the page is {type(record).__name__}"
                )
            event = _text(record, "event_id", required=False) or f"record {position}"
            try:
                employee = _text(record, "employee_id")
                device = _text(record, "device_id")
                updated = _instant(record, "updated_at")
                moment = _instant(record, "timestamp")
                direction = _direction(record.get("direction"))
            except _UnusableRecordError as exc:
                raise _UnusableRecordError(exc.reason, f"{event}: {exc.detail}") from None
            newest = updated if newest is None else max(newest, updated)
            assert employee is not None and device is not None
            if moment < oldest or moment > latest:
                raise _UnusableRecordError(
                    "implausible_timestamp", f"{event}: {_iso(moment)} is outside the plausible window"
                )
            if employee not in known:
                raise _UnusableRecordError("unknown_employee", f"{event}: employee is not in the employees file")
            rows.append((employee, moment, device, direction))
        except _UnusableRecordError as exc:
            held.append(_held(source, record, exc.reason, exc.detail))
    punches = pd.DataFrame(
        {
            "employee_id": pd.Series([r[0] for r in rows], dtype=object),
            "instant": pd.to_datetime([r[1] for r in rows], utc=True).as_unit("ns"),
            "device_id": pd.Series([r[2] for r in rows], dtype=object),
            "direction": pd.Series([r[3] for r in rows], dtype=object),
        }
    )
    return punches, _quarantine_frame(held), newest


def _direction(value: Any) -> str | None:
    if value is None or value == "":
        return None
    key = str(value).strip().lower().replace("_", "") if not isinstance(value, bool) else ""
    found = _CLOUD_DIRECTIONS.get(key) or _CLOUD_DIRECTIONS.get(str(value).strip().lower())
    if found is None:
        raise _UnusableRecordError(
            "malformed_record", f"direction {_show(value)} is not one of CheckIn, CheckOut, ... or 0-5"
        )
    return found


def _number(record: dict[str, Any], name: str, high: float) -> float:
    value = record.get(name, 0)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _UnusableRecordError("malformed_record", f"{name} is {_show(value)}, not a number")
    if not 0 <= value <= high:
        raise _UnusableRecordError("malformed_record", f"{name} {value} is outside 0 to {high:g}")
    return float(value)


def _local(record: dict[str, Any], name: str, zone: ZoneInfo) -> str:
    if record.get(name) in (None, ""):
        return ""
    return _instant(record, name).astimezone(zone).isoformat(timespec="seconds")


def processed_frames(
    page: Page, source: str, context: SourceContext, covered: Collection[str]
) -> tuple[pd.DataFrame, pd.DataFrame, datetime | None]:
    """(processed days in DAY_COLUMNS, quarantined records, the newest valid `updated_at`) of a processed page."""
    staff = context.employees.assign(employee_id=context.employees["employee_id"].astype(str))
    site_of = dict(zip(staff["employee_id"], staff["site"].astype(str), strict=True))
    shift_of = dict(zip(staff["employee_id"], staff["shift"].astype(str), strict=True))
    days: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    newest: datetime | None = None
    for position, record in enumerate(page.records):
        try:
            if not isinstance(record, dict):
                raise _UnusableRecordError(
                    "malformed_record", f"record {position} of the page is {type(record).__name__}"
                )
            day = _processed_day(record, source, site_of, shift_of, covered, context)
            newest = _instant(record, "updated_at") if newest is None else max(newest, _instant(record, "updated_at"))
            key = (day["employee_id"], day["work_date"])
            if key in seen:  # a page naming a day twice: the later record wins
                days = [d for d in days if (d["employee_id"], d["work_date"]) != key]
            seen.add(key)
            days.append(day)
        except _UnusableRecordError as exc:
            held.append(_held(source, record, exc.reason, exc.detail))
    frame = pd.DataFrame(days, columns=list(DAY_COLUMNS))
    return frame, _quarantine_frame(held), newest


def _processed_day(
    record: dict[str, Any],
    source: str,
    site_of: dict[str, str],
    shift_of: dict[str, str],
    covered: Collection[str],
    context: SourceContext,
) -> dict[str, Any]:
    employee = _text(record, "employee_id")
    assert employee is not None
    where = f"{employee} {_show(record.get('date'))}"
    try:
        work_date = record.get("date")
        if not isinstance(work_date, str) or len(work_date) != 10:
            raise _UnusableRecordError("bad_timestamp", f"date {_show(work_date)} is not YYYY-MM-DD")
        try:
            date.fromisoformat(work_date)
        except ValueError:
            raise _UnusableRecordError("bad_timestamp", f"date {_show(work_date)} is not a date") from None
        _instant(record, "updated_at")
        if employee not in site_of:
            raise _UnusableRecordError("unknown_employee", "employee is not in the employees file")
        if employee not in covered:
            raise _UnusableRecordError(
                "not_covered", f"site {site_of[employee]} is computed locally (see the source's `sites`)"
            )
        status = record.get("status")
        if status not in STATUSES:
            raise _UnusableRecordError(
                "malformed_record", f"status {_show(status)} is not one of {', '.join(STATUSES)}"
            )
        zone = ZoneInfo(context.rules.sites[site_of[employee]].timezone)
        worked = round(_number(record, "payable_hours", 24) * 60)
        overtime = min(round(_number(record, "ot_hours", 24) * 60), worked)
        anomalies = record.get("anomalies") or []
        if not isinstance(anomalies, list) or not all(isinstance(a, str) and len(a) <= 64 for a in anomalies):
            raise _UnusableRecordError("malformed_record", "anomalies must be a list of codes")
        recomputed = record.get("recomputed", False)
        if not isinstance(recomputed, bool):
            raise _UnusableRecordError("malformed_record", f"recomputed {_show(recomputed)} is not true or false")
        shift = _text(record, "shift", required=False) or shift_of[employee]
        return {
            "employee_id": employee,
            "work_date": work_date,
            "site": site_of[employee],
            "shift": shift,
            "day_type": status if status in ("weekly_off", "holiday") else "workday",
            "status": status,
            "first_in": _local(record, "first_in", zone),
            "last_out": _local(record, "last_out", zone),
            "worked_minutes": worked,
            "regular_minutes": worked - overtime,
            "ot_minutes": overtime,
            "break_minutes": 0,
            "late_minutes": round(_number(record, "late_minutes", 1440)),
            "early_exit_minutes": round(_number(record, "early_exit_minutes", 1440)),
            "leave_days": 1.0 if status == "on_leave" else 0.0,
            "lop_days": {"absent": 1.0, "half_day": 0.5}.get(str(status), 0.0),
            "punch_count": 0,
            "anomalies": ";".join(sorted(anomalies)),
            "recomputed": recomputed,
            "rules_version": f"cloud:{source}",
            "intervals": "",
        }
    except _UnusableRecordError as exc:
        raise _UnusableRecordError(exc.reason, f"{where}: {exc.detail}") from None
