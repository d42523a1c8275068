"""Which time events SAP HCM was sent for each day, and what a changed day adds or takes away (pure).

SAP HCM never replaces a day: `BAPI_CC1_UPLOAD_TIMEEVENT` posts events into the interface table
CC1TEV and the report SAPCDT45 moves them into TEVEN (the BAPI's business object BUS7014 and the
report's documentation); no BAPI of the CC1 family deletes one. So a day sent
again must carry only its *new* events, and the events it no longer has are corrections a person
makes in SAP (Time Events infotype 2011, e.g. PA61, or the cancellation flag STOKZ in TEVEN).

To know what was sent, each file has a companion record (`{prefix}_{start}_{end}_{seq:04d}.sent.json`
in the target's `sent_folder`): per record key, the events the day holds once that file is posted.
The state of a day before batch `seq` is its entry in the latest such record with a lower sequence
number, so a batch sent again after a crash computes exactly the same file (same name, same bytes).

An event is the same event when its personnel number, kind and local wall-clock time (at the
precision the file carries: seconds, or minutes when `time_format` has no seconds) are the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "SENT_FORMAT",
    "DayChange",
    "SentEvent",
    "change_of",
    "parse_sent",
    "sent_bytes",
    "sent_name",
    "state_before",
]

#: The version of the sent-events record's layout.
SENT_FORMAT = 1
_SENT = re.compile(r"(?P<stem>.+)_(?P<seq>\d{4,})\.sent\.json")


@dataclass(frozen=True)
class SentEvent:
    """One time event as the file gave it: personnel number, local time with offset, kind, terminal, work date."""

    pernr: str
    at: str  # local ISO-8601 with offset, e.g. 2025-10-06T09:02:00+05:30
    kind: str  # clock_in, clock_out, break_start, break_end
    terminal: str
    work_date: str  # YYYY-MM-DD

    @property
    def moment(self) -> datetime:
        """`at` as an aware datetime."""
        return datetime.fromisoformat(self.at)

    def identity(self, to_the_minute: bool) -> tuple[str, str, str]:
        """What makes two events the same: personnel number, kind, wall clock (to the minute or second)."""
        return (self.pernr, self.kind, self.at[:16] if to_the_minute else self.at[:19])


@dataclass(frozen=True)
class DayChange:
    """What one record adds to SAP (`new`) and what SAP holds that the day no longer has (`gone`)."""

    new: tuple[SentEvent, ...]
    gone: tuple[SentEvent, ...]


def change_of(before: Sequence[SentEvent] | None, now: Sequence[SentEvent], to_the_minute: bool) -> DayChange:
    """The events of `now` SAP was not sent, and those of `before` that `now` no longer has (`before` None:
    the day was never sent, every event is new)."""
    held = {event.identity(to_the_minute) for event in before or ()}
    wanted = {event.identity(to_the_minute) for event in now}
    return DayChange(
        tuple(event for event in now if event.identity(to_the_minute) not in held),
        tuple(event for event in before or () if event.identity(to_the_minute) not in wanted),
    )


def sent_name(stem: str, seq: int) -> str:
    """The name of the sent-events record of file `seq` of the period `stem` (`{prefix}_{start}_{end}`)."""
    return f"{stem}_{seq:04d}.sent.json"


def sent_bytes(days: Mapping[str, Sequence[SentEvent]]) -> bytes:
    """The sent-events record of one file: per record key, the events the day holds after it (deterministic)."""
    body = {
        "format": SENT_FORMAT,
        "days": {key: [asdict(event) for event in days[key]] for key in sorted(days)},
    }
    return (json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")


def parse_sent(data: bytes, name: str) -> dict[str, list[SentEvent]]:
    """A sent-events record read back; ValueError naming the file when it is not one."""
    try:
        body = json.loads(data)
        if body.get("format") != SENT_FORMAT:
            raise ValueError(f"format {body.get('format')!r}, expected {SENT_FORMAT}")
        return {key: [SentEvent(**event) for event in events] for key, events in body["days"].items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"{name} is not a punchbridge sent-events record ({exc})") from None


def state_before(names: Iterable[str], stem: str, seq: int, read: Any) -> dict[str, list[SentEvent]]:
    """Per record key, the events the latest record of `stem` before `seq` says the day holds.

    `names` are the files of the sent folder; `read(name) -> bytes` reads one.
    """
    earlier = []
    for name in names:
        found = _SENT.fullmatch(name)
        if found and found["stem"] == stem and int(found["seq"]) < seq:
            earlier.append((int(found["seq"]), name))
    state: dict[str, list[SentEvent]] = {}
    for _, name in sorted(earlier):
        state.update(parse_sent(read(name), name))
    return state
