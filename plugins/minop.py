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

With `processing: cloud`, processed days keep what the cloud says: their times are written in the
site time zone the reply carries (`timezone`), and the shift as the record names it (a name, or an
object with its window). An `attendance.processed` webhook the receiver kept marks its date: the next
run pulls that date whole, whatever its `updated_at`. A pull of new dates that brings no processed day
at all is logged as a warning: the cloud computed nothing for them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from punchbridge.plugin_api import Fetched, Register, Source, SourceContext, hookimpl

if TYPE_CHECKING:
    import httpx

    from punchbridge.minop.client import ApiKey, ClientCredentials, MinopClient

# The Minop client (httpx) and its record frames (pandas) are imported by the methods that pull: the
# plugin loads for `punchbridge plugins` and every configuration's checks without them.

__all__ = ["RAW_REQUIRED_FIELDS", "MinopSource", "MinopSourceSettings"]

logger = logging.getLogger(__name__)

#: Raw-record fields punchbridge uses; always asked for.
RAW_REQUIRED_FIELDS = ("event_id", "employee_id", "device_id", "timestamp", "updated_at")
_CURSOR_VERSION = 1


class MinopSourceSettings(BaseModel):
    """Settings of a `minop` source."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

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
        import httpx

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
        from punchbridge.minop.client import ApiKey, ClientCredentials

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
        import pandas as pd

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
        from punchbridge.minop.client import MinopClient

        settings = self.settings
        self._zones_told: set[tuple[str, str]] = set()  # (site, cloud zone) differences already logged
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
        from punchbridge.minop.records import PROCESSED_FIELDS, parse_utc, utc_text

        settings = self.settings
        base: dict[str, str] = {"limit": str(settings.page_size)}
        watermark = stream.get("watermark")
        since = None
        if watermark:
            since = utc_text(parse_utc(watermark) - timedelta(minutes=settings.overlap_minutes))
        if kind == "raw":
            fields = settings.raw_fields()
            if fields:
                base["fields"] = fields
            wanted = utc_text(datetime.combine(context.date_from - timedelta(days=1), datetime.min.time(), UTC))
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

    def _refresh(self, stream: dict[str, Any], context: SourceContext) -> tuple[list[dict[str, str]], int | None]:
        """Queries for the dates `attendance.processed` events marked since the last run (whole dates, no
        `updated_since`), and the newest event time read (the stream keeps it)."""
        from punchbridge.minop.records import PROCESSED_FIELDS

        seen = stream.get("events_through")
        if context.cloud_events is None:
            return [], seen
        events = context.cloud_events("attendance.processed")
        if isinstance(seen, int):
            events = events[events["received_at_ns"] > seen]
        if events.empty:
            return [], seen
        marked = {day for day in map(_marked_date, events["payload"]) if day is not None}
        base = {"limit": str(self.settings.page_size), "fields": ",".join(PROCESSED_FIELDS)}
        queries = [base | {"from": first.isoformat(), "to": last.isoformat()} for first, last in _runs(marked)]
        if queries:
            logger.info(
                "source %s: %d date(s) marked by attendance.processed events pulled again", self.name, len(marked)
            )
        return queries, int(events["received_at_ns"].max())

    # -- one stream --------------------------------------------------------------------------------------

    def _stream(
        self, client: MinopClient, kind: str, state: dict[str, Any], context: SourceContext
    ) -> Iterator[Fetched]:
        """Run the stream's plan page by page. The plan, the page cursor and the newest `updated_at` seen
        are in the cursor of every page, so an interrupted run resumes with the same queries."""
        import pandas as pd

        from punchbridge.minop.client import PROCESSED_PATH, RAW_PATH, MinopReplyError, NotModified
        from punchbridge.minop.records import processed_frames, raw_frames

        before = json.dumps(state, sort_keys=True)
        stream: dict[str, Any] = dict(state[kind])
        if not isinstance(stream.get("plan"), list) or not stream["plan"]:
            plan, covering = self._plan(kind, stream, context)
            if kind == "processed":
                refresh, stream["events_through"] = self._refresh(stream, context)
                plan += refresh
            stream |= {"plan": plan, "next": None, "seen": stream.get("watermark"), "covering": covering, "got": 0}
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
                    covered = self.covered_employees(context)
                    days, held, newest = processed_frames(page, self.name, context, covered, self._zones_told)
                    punches = pd.DataFrame()
                ended = page.next_cursor is None
                stream["got"] = int(stream.get("got") or 0) + len(page.records)
                if ended and kind == "processed" and "updated_since" not in query and not stream["got"]:
                    self._nothing_computed(query, context)
                if ended and first_page:
                    stream |= {"etag": page.etag, "etag_query": query if page.etag else None}
            stream["seen"] = _newest(stream.get("seen"), newest)
            stream["next"] = None if ended else page.next_cursor  # type: ignore[union-attr]
            if ended:
                stream["plan"] = stream["plan"][1:]
                stream["got"] = 0
            if not stream["plan"]:
                low, high = stream.pop("covering")
                stream = {k: v for k, v in stream.items() if k not in ("plan", "next", "seen", "got")} | {
                    "watermark": stream.get("seen"),
                    "from": low,
                    "to": high,
                }
            state[kind] = stream
            cursor = json.dumps(state, sort_keys=True)
            if isinstance(page, NotModified) and not stream.get("plan") and cursor == before:
                return  # nothing new and nothing to remember: no write at all
            yield Fetched(punches, held, cursor, days)

    def _nothing_computed(self, query: dict[str, str], context: SourceContext) -> None:
        """Warn that a pull of whole dates brought no processed day (the range stays empty)."""
        covered = len(self.covered_employees(context))
        if covered:
            logger.warning(
                "source %s: the cloud sent no processed day for %s..%s, although it computes %d employee(s) "
                "(processing: cloud): nothing was computed for those dates; check that the cloud processes "
                "these sites and dates, or use processing: local",
                self.name,
                query.get("from"),
                query.get("to"),
                covered,
            )


def _marked_date(payload: Any) -> date | None:
    """The `data.date` of a kept `attendance.processed` event (None when it has none that is a date)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    day = data.get("date") if isinstance(data, dict) else None
    if not isinstance(day, str) or len(day) != 10:
        return None
    try:
        return date.fromisoformat(day)
    except ValueError:
        return None


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Consecutive dates as (first, last) ranges, in order."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


@hookimpl
def register_sources(register: Register) -> None:
    """Register the `minop` source."""
    register("minop", MinopSource)


def _day(text: str, shift: int) -> str:
    return (date.fromisoformat(text) + timedelta(days=shift)).isoformat()


def _newest(watermark: str | None, candidate: datetime | None) -> str | None:
    from punchbridge.minop.records import utc_text

    if candidate is None:
        return watermark
    if watermark is None:
        return utc_text(candidate)
    return max(watermark, utc_text(candidate))  # same fixed format: text order is time order
