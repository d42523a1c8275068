"""The `intervals` text of a processed day, written and read in this one place (pure: values in, values out).

A day's worked intervals are each written `start/end` and joined by `;`, every time local ISO-8601
to the second with the site's offset:

    2025-03-03T09:02:00+05:30/2025-03-03T13:00:00+05:30;2025-03-03T13:45:00+05:30/

An open interval (a check-in whose check-out is missing) is `start/`; a day without intervals is ''.
The rules engine writes the text of every day at once (`join_intervals`, over Arrow arrays);
`format_intervals` writes one day's (a target showing back what it holds); `parse_intervals` reads
it (the targets that take pairs, and reconciliation). A text that is not such a list is an
`IntervalsError` naming the text and what is wrong with it; a target turns it into the record's
dead letter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = [
    "BOUND_SEPARATOR",
    "INTERVAL_SEPARATOR",
    "Interval",
    "IntervalsError",
    "format_intervals",
    "join_intervals",
    "parse_intervals",
]

#: Between two intervals of a day.
INTERVAL_SEPARATOR = ";"
#: Between the start and the end of one interval.
BOUND_SEPARATOR = "/"
_EXAMPLE = "2025-10-06T09:02:00+05:30"


class Interval(NamedTuple):
    """One worked interval: its start and its end (None while it is open), local times with offset."""

    start: datetime
    end: datetime | None


class IntervalsError(ValueError):
    """A text that is not a list of intervals; `text` is the text, `reason` what is wrong with it."""

    def __init__(self, text: object, reason: str) -> None:
        super().__init__(f"intervals {_shown(text)}: {reason}")
        self.text, self.reason = text, reason


def _shown(value: object, limit: int = 120) -> str:
    """`value` for a message, its middle left out when long (a hostile cell can be huge)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]}"


def format_intervals(intervals: Iterable[tuple[datetime | None, datetime | None]]) -> str:
    """The text of `intervals` in order: `start/end` joined by `;`, an open end (None) written empty.

    A start a target cannot show (a check-out it holds without the check-in) is written empty too,
    `/end`, so a reader sees it; `parse_intervals` refuses that, as the rules engine never writes it.
    """
    return INTERVAL_SEPARATOR.join(
        f"{start.isoformat() if start is not None else ''}{BOUND_SEPARATOR}{end.isoformat() if end is not None else ''}"
        for start, end in intervals
    )


def parse_intervals(value: Any, *, require_offset: bool = True) -> list[Interval]:
    """The intervals of an `intervals` value, in the order written; IntervalsError when it is not such a text.

    Empty, None or NaN (an empty cell) is a day without intervals. Each interval needs a start and
    an end no earlier than it (or none: open). With `require_offset` (the default) every time must
    carry its UTC offset, as the rules engine writes it; without, wall-clock times are taken too (a
    target that shows back local times without offset).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if not isinstance(value, str):
        raise IntervalsError(value, "is not text of start/end pairs")
    found: list[Interval] = []
    for piece in (part.strip() for part in value.split(INTERVAL_SEPARATOR)):
        if not piece:
            continue
        start_text, slash, end_text = piece.partition(BOUND_SEPARATOR)
        if not slash or BOUND_SEPARATOR in end_text or not start_text.strip():
            raise IntervalsError(value, f"{_shown(piece)} is not start/end (an open interval is start/)")
        start = _moment(value, start_text.strip(), require_offset)
        end = _moment(value, end_text.strip(), require_offset) if end_text.strip() else None
        if end is not None and _before(end, start):
            raise IntervalsError(value, f"interval {_shown(piece)} ends before it starts")
        found.append(Interval(start, end))
    return found


def _moment(whole: str, text: str, require_offset: bool) -> datetime:
    moment = None
    if "T" in text or " " in text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
    if moment is None or (require_offset and moment.tzinfo is None):
        offset = "with offset " if require_offset else ""
        raise IntervalsError(whole, f"{_shown(text)} is not a local ISO-8601 time {offset}like {_EXAMPLE}")
    return moment


def _before(end: datetime, start: datetime) -> bool:
    if (end.tzinfo is None) != (start.tzinfo is None):  # one with offset, one without: compare wall clocks
        return end.replace(tzinfo=None) < start.replace(tzinfo=None)
    return end < start


def join_intervals(starts: pa.Array, ends: pa.Array, counts: np.ndarray) -> pa.Array:
    """The text of many days at once: `starts`/`ends` are the intervals' local ISO texts (end '' while open),
    in order, day after day; `counts[i]` is how many belong to day `i` (0: '').

    The rules engine's way: one Python string per interval would cost more than pairing the punches.
    """
    # Imported here: the targets that only format or parse one day's text should not pay for Arrow.
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces = pc.binary_join_element_wise(starts, ends, BOUND_SEPARATOR)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), pieces), INTERVAL_SEPARATOR)
