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
import pyarrow.compute as pc

__all__ = [
    "NS_PER_MINUTE",
    "NS_PER_SECOND",
    "iso_local",
    "local_wall_ns",
    "wall_time_ns",
    "wall_to_instant_ns",
]

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 1440 * NS_PER_MINUTE
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    wall = local_wall_ns(instant_ns, zone)
    offsets = (wall - instant_ns) // NS_PER_SECOND
    unique, inverse = np.unique(offsets, return_inverse=True)
    suffix = pa.array([_offset_text(int(s)) for s in unique], type=pa.string()).take(pa.array(inverse.ravel()))
    seconds = pa.array(np.floor_divide(wall, NS_PER_SECOND).astype("datetime64[s]"))
    text = pc.replace_substring(pc.cast(seconds, pa.string()), " ", "T", max_replacements=1)
    joined = pc.binary_join_element_wise(text, suffix, "")
    if present is None:
        return joined
    return pc.if_else(pa.array(np.asarray(present, dtype=bool)), joined, "")
