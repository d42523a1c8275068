"""Local wall time and UTC instants, vectorised, with the DST rule of docs/rules.md.

Instants are int64 nanoseconds since the Unix epoch (UTC). A local wall time that does not exist
(spring forward) moves forward by the gap; an ambiguous one (fall back) is its first occurrence.
That is exactly what `zoneinfo` does with `fold=0`, which is the fallback used for the few values
pandas' vectorised conversion cannot place.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "ISO_WIDTH",
    "NS_PER_MINUTE",
    "NS_PER_SECOND",
    "IsoTexts",
    "iso_local",
    "local_wall_ns",
    "string_array",
    "wall_time_ns",
    "wall_to_instant_ns",
]

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 1440 * NS_PER_MINUTE
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_YEAR_1 = date(1, 1, 1).toordinal() - date(1970, 1, 1).toordinal()
_YEAR_9999_END = date(9999, 12, 31).toordinal() - date(1970, 1, 1).toordinal()


@lru_cache(maxsize=4096)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _naive_to_ns(moment: datetime, zone: str) -> int:
    aware = moment.replace(tzinfo=_zone(zone), fold=0)
    delta = aware.astimezone(UTC) - _EPOCH
    return (delta // timedelta(microseconds=1)) * 1000


@lru_cache(maxsize=65536)
def wall_time_ns(zone: str, day: date, minute: int) -> int:
    """The instant of local wall time `minute` (after midnight, may exceed 1440) on `day`."""
    moment = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    return _naive_to_ns(moment, zone)


def wall_to_instant_ns(wall_ns: np.ndarray, zone: str) -> np.ndarray:
    """Instants of naive local wall times (int64 ns as if UTC) read in `zone`."""
    wall_ns = np.asarray(wall_ns, dtype=np.int64)
    if wall_ns.size == 0:
        return wall_ns.copy()
    index = pd.DatetimeIndex(wall_ns.view("datetime64[ns]"))
    localized = index.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    result = np.asarray(localized.asi8, dtype=np.int64).copy()
    unplaced = np.flatnonzero(localized.isna())
    for i in unplaced:
        # Inside a DST transition: zoneinfo's fold=0 gives the reading docs/rules.md describes.
        wall = int(wall_ns[i])
        seconds, nanos = divmod(wall, NS_PER_SECOND)
        moment = datetime(1970, 1, 1) + timedelta(seconds=seconds)
        result[i] = _naive_to_ns(moment, zone) + nanos
    return result


def local_wall_ns(instant_ns: np.ndarray, zone: str) -> np.ndarray:
    """Local wall times (int64 ns as if UTC) of UTC instants in `zone`."""
    instant_ns = np.asarray(instant_ns, dtype=np.int64)
    if instant_ns.size == 0:
        return instant_ns.copy()
    index = pd.DatetimeIndex(instant_ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(zone)
    return np.asarray(index.tz_localize(None).asi8, dtype=np.int64)


def _offset_text(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return text + (f":{secs:02d}" if secs else "")


def iso_local(instant_ns: np.ndarray, zone: str, present: np.ndarray | None = None) -> pa.Array:
    """Local ISO-8601 text (to the second, offset as `+05:30`) of instants; '' where not `present`."""
    instant_ns = np.asarray(instant_ns, dtype=np.int64)
    shown = np.ones(len(instant_ns), dtype=bool) if present is None else np.asarray(present, dtype=bool)
    texts = IsoTexts.empty(len(instant_ns))
    texts.fill(np.arange(len(instant_ns)), instant_ns, zone, shown)
    return texts.strings()


ISO_WIDTH = 28  # YYYY-MM-DDTHH:MM:SS and an offset of up to 9 characters (+05:53:28 in old zones)
_ROW = np.dtype([("date", "V10"), ("t", "u1"), ("time", "V8"), ("offset", "V9")])  # ISO_WIDTH bytes


@lru_cache(maxsize=1)
def _clock_texts() -> np.ndarray:
    """The text HH:MM:SS of every second of a day, 8 bytes each: one gather formats the clock part.

    Built from digits (86,400 strings in Python would cost a tenth of a second) on first use, not at
    import: commands that read punches without formatting times (`punchbridge validate`) skip it."""
    second = np.arange(86_400)
    parts = np.stack([second // 3600, second // 60 % 60, second % 60], axis=1)
    texts = np.empty((86_400, 8), dtype=np.uint8)
    texts[:, [0, 3, 6]] = ord("0") + parts // 10
    texts[:, [1, 4, 7]] = ord("0") + parts % 10
    texts[:, [2, 5]] = ord(":")
    return texts.view("V8").ravel()


def _date_texts(first_day: int, count: int) -> np.ndarray:
    """The texts YYYY-MM-DD of `count` days from day `first_day` after 1970-01-01, 10 bytes each."""
    days = np.arange(first_day, first_day + count).astype("datetime64[D]")
    return np.datetime_as_string(days, unit="D").astype("S10").view("V10")


class IsoTexts:
    """Local ISO-8601 texts as a byte matrix (one row per value, `lengths` bytes used; 0 for '').

    The engine writes hundreds of thousands of times per run: texts gathered from tables of dates,
    clock times and offsets into one buffer cost a fraction of Arrow's timestamp-to-string cast plus
    a replace and a join, and they join into the `intervals` text without building strings between.
    """

    def __init__(self, matrix: np.ndarray, lengths: np.ndarray) -> None:
        self.matrix = matrix
        self.lengths = lengths

    @classmethod
    def empty(cls, size: int) -> IsoTexts:
        """`size` empty texts, to be filled zone by zone with `fill`."""
        return cls(np.zeros((size, ISO_WIDTH), dtype=np.uint8), np.zeros(size, dtype=np.int64))

    def fill(self, rows: np.ndarray, instant_ns: np.ndarray, zone: str, present: np.ndarray) -> None:
        """Write the local texts of `instant_ns` in `zone` at `rows` ('' where not `present`)."""
        if not len(rows):
            return
        present = np.asarray(present, dtype=bool)
        if not present.all():
            if not present.any():
                self.lengths[rows] = 0
                return
            # Values not shown are often 0 (1970): they would stretch the table of dates to decades.
            instant_ns = np.where(present, instant_ns, instant_ns[np.argmax(present)])
        wall = local_wall_ns(instant_ns, zone)
        seconds = np.floor_divide(wall, NS_PER_SECOND)
        days = np.floor_divide(seconds, 86_400)
        first_day, last_day = int(days.min()), int(days.max())
        if first_day < _YEAR_1 or last_day > _YEAR_9999_END:
            raise ValueError(f"an instant in {zone} is outside the years 1 to 9999")
        out = np.empty(len(rows), dtype=_ROW)
        if last_day - first_day < 4 * len(rows) + 366:
            out["date"] = _date_texts(first_day, last_day - first_day + 1)[days - first_day]
        else:  # a few instants far apart: format each distinct day once
            distinct, which = np.unique(days, return_inverse=True)
            out["date"] = np.datetime_as_string(distinct.astype("datetime64[D]")).astype("S10").view("V10")[which]
        out["t"] = ord("T")
        out["time"] = _clock_texts()[seconds - days * 86_400]
        offset_seconds = np.floor_divide(wall - instant_ns, NS_PER_SECOND)
        if (offset_seconds == offset_seconds[0]).all():  # no DST change in the range: skip the sort
            offsets, which = offset_seconds[:1], np.zeros(len(rows), dtype=np.int64)
        else:
            offsets, which = np.unique(offset_seconds, return_inverse=True)
        suffixes = [_offset_text(int(offset)) for offset in offsets.tolist()]
        out["offset"] = np.array(suffixes, dtype="S9").view("V9")[which.ravel()]
        suffix_lengths = np.array([len(suffix) for suffix in suffixes], dtype=np.int64)
        # `rows` covering every row (one zone) is 0..n-1 in order: a slice copies without a gather.
        where: slice | np.ndarray = slice(None) if len(rows) == len(self.lengths) else rows
        self.matrix[where] = out.view(np.uint8).reshape(len(rows), ISO_WIDTH)
        self.lengths[where] = np.where(present, 19 + suffix_lengths[which.ravel()], 0)

    def used(self) -> np.ndarray:
        """Which bytes of `matrix` belong to the texts."""
        return np.arange(ISO_WIDTH) < self.lengths[:, None]

    def strings(self) -> pa.Array:
        """The texts as an Arrow string array."""
        if len(self.lengths) and (self.lengths == self.lengths[0]).all():  # the usual case: one width
            return string_array(self.matrix[:, : int(self.lengths[0])].ravel(), self.lengths)
        return string_array(self.matrix[self.used()], self.lengths)


def string_array(data: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """An Arrow string array over the bytes `data`, cut into pieces of `lengths` bytes, in order."""
    ends = np.cumsum(lengths)
    wide = len(ends) and int(ends[-1]) >= 2**31
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64 if wide else np.int32)
    offsets[1:] = ends
    kind = pa.large_string() if wide else pa.string()
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
    return pa.Array.from_buffers(kind, len(lengths), buffers)
