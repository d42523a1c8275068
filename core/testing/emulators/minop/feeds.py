"""The record feeds of the Minop emulator: raw punches and processed days, paged by keyset cursors.

Records are kept in `updated_at` order (ties by key). A cursor names the last record served and the
query it belongs to, so a record corrected while a client pages (its `updated_at` moves to now) is
served again at the end rather than skipped, and a cursor sent with another query is refused.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "PROCESSED_FIELDS",
    "RAW_FIELDS",
    "Feed",
    "FeedQuery",
    "QueryError",
    "format_instant",
    "parse_instant",
]

RAW_FIELDS = ("event_id", "employee_id", "device_id", "timestamp", "source", "geo", "device_hash", "updated_at")
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
    "cost_center",
    "department",
    "location",
)
RAW_SOURCES = ("device", "mobile", "web")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_COMMON = ("cursor", "limit", "fields", "updated_since")
RAW_PARAMETERS = frozenset({*_COMMON, "from", "to", "employee_id", "device_id", "source"})
PROCESSED_PARAMETERS = frozenset({*_COMMON, "from", "to", "location", "department", "cost_center"})


class QueryError(ValueError):
    """A query the cloud refuses with 400: `code` and a message naming the parameter."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_instant(text: str, name: str) -> int:
    """Nanoseconds (UTC) of an ISO-8601 instant with an offset, or of a date (its UTC midnight)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError("invalid_parameter", f"{name}: {text[:60]!r} is not an ISO-8601 date or instant") from None
    if moment.tzinfo is None:
        raise QueryError("invalid_parameter", f"{name}: {text[:60]!r} has no UTC offset (use Z)")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def format_instant(ns: int) -> str:
    """An instant as the cloud writes it: ISO-8601 UTC to the second (`2025-10-01T03:30:00Z`)."""
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_date(text: str, name: str) -> str:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise QueryError("invalid_parameter", f"{name}: {text[:60]!r} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class FeedQuery:
    """A validated query: filters, page size, field selection, and where the page starts."""

    filters: tuple[tuple[str, str], ...]
    low: int | None  # raw: timestamp >= low (ns)
    high: int | None  # raw: timestamp < high (ns)
    first_date: str | None  # processed: date >= first_date
    last_date: str | None  # processed: date <= last_date
    since: int | None  # updated_at >= since (ns)
    limit: int
    fields: tuple[str, ...] | None
    after: tuple[int, str] | None  # the key of the last record served

    def fingerprint(self) -> str:
        """What a cursor must belong to: everything but the cursor and the page size."""
        parts = [self.filters, self.low, self.high, self.first_date, self.last_date, self.since, self.fields]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


class Feed:
    """Records of one kind, by key, in `updated_at` order; `page(query)` serves one page."""

    def __init__(self, kind: str, fields: tuple[str, ...], key_of: Callable[[Mapping[str, Any]], str]) -> None:
        self.kind = kind
        self.fields = fields
        self._key_of = key_of
        self._records: dict[str, dict[str, Any]] = {}  # key -> record (+ private "_ts", "_upd" ns)
        self._order: list[tuple[int, str]] = []  # (updated_at ns, key), sorted

    def __len__(self) -> int:
        return len(self._records)

    def put(self, records: Iterable[Mapping[str, Any]], updated_at_ns: Callable[[Mapping[str, Any]], int]) -> int:
        """Add or replace records (a replaced record moves to its new `updated_at`); returns how many."""
        added = []
        for record in records:
            key = self._key_of(record)
            old = self._records.get(key)
            if old is not None:
                position = bisect.bisect_left(self._order, (old["_upd"], key))
                del self._order[position]
            stored = dict(record)
            stored["_upd"] = updated_at_ns(record) // 1_000_000_000 * 1_000_000_000  # served to the second
            stored["updated_at"] = format_instant(stored["_upd"])
            self._records[key] = stored
            added.append((stored["_upd"], key))
        if len(added) > 64:
            self._order.extend(added)
            self._order.sort()
        else:
            for item in added:
                bisect.insort(self._order, item)
        return len(added)

    def get(self, key: str) -> dict[str, Any] | None:
        """The record with `key` (without private fields), or None."""
        found = self._records.get(key)
        return None if found is None else {k: v for k, v in found.items() if not k.startswith("_")}

    def identities(self) -> list[tuple[str, int]]:
        """(employee_id, timestamp ns) of every record that has both (the raw feed's punches)."""
        return [
            (str(record["employee_id"]), int(record["_ts"]))
            for record in self._records.values()
            if "_ts" in record and record.get("employee_id") is not None
        ]

    def keys(self) -> list[str]:
        """Every key, in `updated_at` order."""
        return [key for _upd, key in self._order]

    def page(self, query: FeedQuery, match: Callable[[dict[str, Any], FeedQuery], bool]) -> tuple[list[dict], Any]:
        """(records of the page, the next cursor or None)."""
        start = 0
        if query.after is not None:
            start = bisect.bisect_right(self._order, query.after)
        elif query.since is not None:
            start = bisect.bisect_left(self._order, (query.since, ""))
        served: list[dict[str, Any]] = []
        last: tuple[int, str] | None = None
        more = False
        for position in range(start, len(self._order)):
            upd, key = self._order[position]
            record = self._records[key]
            if query.since is not None and upd < query.since:
                continue
            if not match(record, query):
                continue
            if len(served) == query.limit:
                more = True
                break
            served.append(self._visible(record, query.fields))
            last = (upd, key)
        cursor = encode_cursor(last, query) if more and last is not None else None
        return served, cursor

    def _visible(self, record: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
        names = fields or self.fields
        return {name: record.get(name) for name in names}


def encode_cursor(after: tuple[int, str], query: FeedQuery) -> str:
    """An opaque cursor: the last key served and the query's fingerprint."""
    text = json.dumps({"a": list(after), "q": query.fingerprint()}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[tuple[int, str], str]:
    """(after key, fingerprint) of a cursor; QueryError when it is not one of ours."""
    try:
        padded = text + "=" * (-len(text) % 4)
        found = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = found["a"]
        if not (isinstance(after, list) and len(after) == 2 and isinstance(after[0], int)):
            raise ValueError
        return (int(after[0]), str(after[1])), str(found["q"])
    except (ValueError, KeyError, TypeError):
        raise QueryError("invalid_cursor", "cursor: not a cursor this API gave out") from None


def parse_query(kind: str, params: Mapping[str, str], fields: tuple[str, ...]) -> FeedQuery:
    """Validate a feed query (QueryError naming the parameter for anything wrong)."""
    allowed = RAW_PARAMETERS if kind == "raw" else PROCESSED_PARAMETERS
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise QueryError("unknown_parameter", f"unknown query parameter(s): {', '.join(u[:40] for u in unknown)}")
    limit = DEFAULT_LIMIT
    if "limit" in params:
        text = params["limit"]
        if not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= MAX_LIMIT:
            raise QueryError("invalid_parameter", f"limit: expected a whole number from 1 to {MAX_LIMIT}")
        limit = int(text)
    selected: tuple[str, ...] | None = None
    if "fields" in params:
        names = tuple(name.strip() for name in params["fields"].split(",") if name.strip())
        bad = [name[:40] for name in names if name not in fields]
        if bad or not names:
            raise QueryError("invalid_parameter", f"fields: unknown field(s) {', '.join(bad) or '(none given)'}")
        selected = tuple(dict.fromkeys(names))
    since = parse_instant(params["updated_since"], "updated_since") if "updated_since" in params else None
    low = high = None
    first = last = None
    filters: list[tuple[str, str]] = []
    if kind == "raw":
        low = parse_instant(params["from"], "from") if "from" in params else None
        high = parse_instant(params["to"], "to") if "to" in params else None
        if low is not None and high is not None and high < low:
            raise QueryError("invalid_parameter", "to: before from")
        if "source" in params and params["source"] not in RAW_SOURCES:
            raise QueryError("invalid_parameter", f"source: expected one of {', '.join(RAW_SOURCES)}")
        filters = [(name, params[name]) for name in ("employee_id", "device_id", "source") if name in params]
    else:
        missing = [name for name in ("from", "to") if name not in params]
        if missing:
            raise QueryError("missing_parameter", f"missing query parameter(s): {', '.join(missing)} (YYYY-MM-DD)")
        first, last = _parse_date(params["from"], "from"), _parse_date(params["to"], "to")
        if last < first:
            raise QueryError("invalid_parameter", "to: before from")
        filters = [(name, params[name]) for name in ("location", "department", "cost_center") if name in params]
    query = FeedQuery(tuple(filters), low, high, first, last, since, limit, selected, None)
    if "cursor" in params:
        after, fingerprint = decode_cursor(params["cursor"])
        if fingerprint != query.fingerprint():
            raise QueryError("invalid_cursor", "cursor: it belongs to another query (same filters required)")
        query = FeedQuery(tuple(filters), low, high, first, last, since, limit, selected, after)
    return query


def raw_match(record: dict[str, Any], query: FeedQuery) -> bool:
    """Whether a raw record passes the query's filters."""
    if query.low is not None and record["_ts"] < query.low:
        return False
    if query.high is not None and record["_ts"] >= query.high:
        return False
    return all(record.get(name) == value for name, value in query.filters)


def processed_match(record: dict[str, Any], query: FeedQuery) -> bool:
    """Whether a processed record passes the query's filters."""
    assert query.first_date is not None and query.last_date is not None
    if not query.first_date <= record["date"] <= query.last_date:
        return False
    return all(record.get(name) == value for name, value in query.filters)
