"""The safe purge: whether `Delete AttendanceLog` may free a terminal's memory for a range of its dates.

    check = check_purge(store, client, "device001", date(2025, 10, 1), date(2025, 10, 2), "Asia/Kolkata")
    if not check.safe:
        raise PurgeRefusedError(check.refusal("punchbridge sync -c config.yaml"))

Purging deletes the terminal's own copy of its punches, so it must not run while the terminal may hold
a punch of the range that punchbridge does not. Two things are checked (docs/minop.md):

1. **What the cloud holds.** Every punch the cloud lists for the device and range must be in the store:
   in the punches, or in the quarantine (a punch held back with its reason, e.g. of an employee the
   employees file does not know, is stored durably too and does not block). Counted per terminal-local
   day; a punch the store does not hold is named, with what to do.
2. **What the cloud may not hold yet.** Terminals store and forward (vendor): an offline terminal keeps
   its punches and sends them when it reconnects, oldest first. So the terminal must have forwarded a
   punch made after the range's end plus `margin`: once it has, everything older has been forwarded
   too. Without one (the terminal is offline, or nobody punched since), the purge waits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from punchbridge.errors import ExitCode, PunchbridgeError
from punchbridge.minop.client import RAW_PATH, MinopClient, quote
from punchbridge.store import Store

__all__ = ["DEFAULT_MARGIN", "DayCount", "PurgeCheck", "PurgeRefusedError", "check_purge", "local_range_ns"]

#: How long after the range's end a forwarded punch must have been made (clock drift, late scans).
DEFAULT_MARGIN = timedelta(hours=2)
#: Punches named in a refusal, at most (the count says how many there are).
SHOWN = 5
#: Days listed with their counts, at most.
SHOWN_DAYS = 31
_NS = 1_000_000_000


class PurgeRefusedError(PunchbridgeError):
    """Delete AttendanceLog refused: the terminal may hold punches the store does not (what to do is said).

    Exit code 6 (`ExitCode.REFUSED`): a safety check, lifted by `--force`.
    """

    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class DayCount:
    """One terminal-local day of the range: punches the cloud lists, and those the store holds."""

    day: date
    cloud: int
    stored: int
    quarantined: int

    @property
    def short(self) -> int:
        """Punches the cloud lists that the store holds neither in the punches nor the quarantine."""
        return max(0, self.cloud - self.stored - self.quarantined)


@dataclass
class PurgeCheck:
    """The result of `check_purge` (see the module docstring); `safe` says whether to purge."""

    stgid: str
    first: date
    last: date
    zone: str
    days: list[DayCount]
    not_stored: list[str] = field(default_factory=list)  # "E1 at 2025-10-01 09:02:11+05:30"
    quarantined: list[str] = field(default_factory=list)  # "E9 at ... (unknown_employee)"
    unreadable: list[str] = field(default_factory=list)  # cloud records that cannot be checked
    newest_forwarded: datetime | None = None  # the newest punch the terminal is known to have forwarded
    required_after: datetime = field(default_factory=lambda: datetime.now(UTC))
    margin: timedelta = DEFAULT_MARGIN

    @property
    def forwarded_past_the_range(self) -> bool:
        """Whether the terminal forwarded a punch made after the range's end plus the margin."""
        return self.newest_forwarded is not None and self.newest_forwarded >= self.required_after

    @property
    def safe(self) -> bool:
        """True when every punch of the range is in the store and none can still be on its way."""
        return not self.not_stored and not self.unreadable and self.forwarded_past_the_range

    def local_time(self, moment: datetime) -> str:
        """`moment` as the terminal's wall clock shows it, with its offset."""
        return moment.astimezone(ZoneInfo(self.zone)).isoformat(sep=" ", timespec="seconds")

    def per_day(self) -> str:
        """`2025-10-01: cloud 4, stored 4, quarantined 0; ...`, for the days with any punch (the first
        `SHOWN_DAYS` of them), or `no punch on any day`."""
        busy = [d for d in self.days if d.cloud or d.stored or d.quarantined]
        if not busy:
            return "no punch on any day"
        text = "; ".join(
            f"{d.day}: cloud {d.cloud}, stored {d.stored}, quarantined {d.quarantined}"
            + (f" ({d.short} missing)" if d.short else "")
            for d in busy[:SHOWN_DAYS]
        )
        return text + (f"; and {len(busy) - SHOWN_DAYS} more days" if len(busy) > SHOWN_DAYS else "")

    def reasons(self, sync_command: str) -> list[str]:
        """What blocks the purge, each with what to do (empty when it is safe)."""
        found: list[str] = []
        if self.not_stored:
            found.append(
                f"{len(self.not_stored)} punch(es) the cloud lists for {self.stgid} are not in the store "
                f"({_some(self.not_stored)}): run `{sync_command}` to pull them, then purge again"
            )
        if self.unreadable:
            found.append(
                f"{len(self.unreadable)} record(s) the cloud lists cannot be checked ({_some(self.unreadable)}): "
                "look at them in the cloud before purging"
            )
        if not self.forwarded_past_the_range:
            seen = (
                f"the newest punch it has forwarded was made at {self.local_time(self.newest_forwarded)}"
                if self.newest_forwarded is not None
                else "it has forwarded no punch made in or after the range"
            )
            minutes = int(self.margin.total_seconds() // 60)
            found.append(
                f"{self.stgid} may still hold punches of the range that it has not forwarded (terminals store "
                f"and forward, oldest first): {seen}, not after {self.local_time(self.required_after)} (the range's "
                f"end plus {minutes} minutes); purge once it has forwarded a later punch (it is offline, or "
                "nobody has punched on it since)"
            )
        return found

    def refusal(self, sync_command: str) -> str:
        """The message of the `PurgeRefusedError`: every reason, the per-day counts, and `--force`."""
        lines = [f"purge of {self.stgid} {self.first}..{self.last} refused:"]
        lines += [f"  - {reason}" for reason in self.reasons(sync_command)]
        lines.append(f"  per day: {self.per_day()}")
        lines.append("  (--force purges anyway)")
        return "\n".join(lines)


def _some(items: list[str]) -> str:
    shown = "; ".join(items[:SHOWN])
    return shown + (f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def local_range_ns(first: date, last: date, zone: str) -> tuple[int, int]:
    """[start, end) in ns (UTC) of the terminal-local dates `first`..`last`."""
    tz = ZoneInfo(zone)
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
    return int(start.timestamp()) * _NS, int(end.timestamp()) * _NS


def _utc_text(ns: int) -> str:
    return datetime.fromtimestamp(ns // _NS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment_ns(text: str, zone: str) -> int | None:
    """ns of a timestamp as a source or terminal wrote it (with an offset, or local wall time); None if
    it is in no form this check reads."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return int(moment.timestamp()) * _NS + moment.microsecond * 1000


def _cloud_records(client: MinopClient, params: dict[str, str]) -> Iterable[Any]:
    for page in client.pages(RAW_PATH, params):
        yield from page.records


def _record_ns(record: Any) -> tuple[str, int] | str:
    """(employee, ns) of a cloud record, or why it cannot be checked."""
    if not isinstance(record, dict):
        return f"a record that is not an object ({type(record).__name__})"
    employee, stamp = record.get("employee_id"), record.get("timestamp")
    if not isinstance(employee, str | int) or isinstance(employee, bool) or not isinstance(stamp, str):
        return f"record {quote(str(record.get('event_id')))}: no employee_id or timestamp to check"
    try:
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None:
            raise ValueError
    except ValueError:
        return f"record {quote(str(record.get('event_id')))}: timestamp {quote(stamp)!r} cannot be checked"
    return str(employee), int(moment.timestamp()) * _NS + moment.microsecond * 1000


def check_purge(
    store: Store,
    client: MinopClient,
    stgid: str,
    first: date,
    last: date,
    zone: str,
    *,
    margin: timedelta = DEFAULT_MARGIN,
) -> PurgeCheck:
    """Compare what the cloud lists for `stgid` on its local dates `first`..`last` with the store, and
    whether the terminal has forwarded a punch made after the range (see the module docstring)."""
    start_ns, end_ns = local_range_ns(first, last, zone)
    tz = ZoneInfo(zone)
    required_after = datetime.fromtimestamp(end_ns / _NS, UTC) + margin

    def day_of(ns: int) -> date:
        return datetime.fromtimestamp(ns / _NS, UTC).astimezone(tz).date()

    stored = store.punches_between(start_ns, end_ns)
    stored = stored[stored["device_id"] == stgid]
    instants = pd.DatetimeIndex(stored["instant"]).as_unit("ns").asi8.tolist()
    in_store = set(zip(stored["employee_id"].astype(str), instants, strict=True))
    held: dict[tuple[str, int], str] = {}
    for row in store.quarantine_rows(device=stgid).itertuples(index=False):
        ns = _moment_ns(row.timestamp, zone) if isinstance(row.timestamp, str) else None
        if row.employee_id is not None and ns is not None and start_ns <= ns < end_ns:
            held.setdefault((str(row.employee_id), ns), str(row.reason))

    check = PurgeCheck(stgid, first, last, zone, days=[], required_after=required_after, margin=margin)
    cloud: Counter[date] = Counter()
    newest: int | None = max(instants) if instants else None
    fields = "event_id,employee_id,device_id,timestamp"
    query = {"device_id": stgid, "from": _utc_text(start_ns), "to": _utc_text(end_ns), "limit": "1000"}
    for record in _cloud_records(client, query | {"fields": fields}):
        found = _record_ns(record)
        if isinstance(found, str):
            check.unreadable.append(found)
            continue
        employee, ns = found
        cloud[day_of(ns)] += 1
        newest = ns if newest is None else max(newest, ns)
        moment = datetime.fromtimestamp(ns / _NS, UTC)
        if (employee, ns) in in_store:
            continue
        if (employee, ns) in held:
            check.quarantined.append(f"{quote(employee)} at {check.local_time(moment)} ({held[(employee, ns)]})")
        else:
            check.not_stored.append(f"{quote(employee)} at {check.local_time(moment)}")
    # One record made after the range proves the terminal forwarded everything older (it sends in order).
    later = {"device_id": stgid, "from": _utc_text(int(required_after.timestamp()) * _NS), "limit": "1"}
    page = client.raw_page(later | {"fields": fields})
    for record in getattr(page, "records", []):
        found = _record_ns(record)
        if not isinstance(found, str):
            newest = found[1] if newest is None else max(newest, found[1])
    check.newest_forwarded = None if newest is None else datetime.fromtimestamp(newest / _NS, UTC)
    stored_days = Counter(day_of(ns) for ns in instants)
    held_days = Counter(day_of(ns) for (_employee, ns) in held if (_employee, ns) not in in_store)
    day = first
    while day <= last:
        check.days.append(DayCount(day, cloud[day], stored_days[day], held_days[day]))
        day += timedelta(days=1)
    return check
