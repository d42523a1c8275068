"""The local times the engine writes (`first_in`, `last_out`, `intervals`) read as Python writes them.

The engine formats hundreds of thousands of times at once from byte tables; every one must be the
text `datetime.isoformat(timespec="seconds")` gives in the site's zone, across DST changes, before
1970, and in zones whose offset once had seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from punchbridge.rules.clock import NS_PER_SECOND, iso_local

ZONES = ["Asia/Kolkata", "Europe/Berlin", "America/New_York", "Africa/Monrovia", "Pacific/Chatham", "UTC"]


def _python_text(instant_ns: int, zone: str) -> str:
    seconds = instant_ns // NS_PER_SECOND
    return datetime.fromtimestamp(seconds, UTC).astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


@pytest.mark.parametrize("zone", ZONES)
def test_local_times_read_as_python_writes_them(zone: str) -> None:
    rng = np.random.default_rng(7)
    # 1906 to 2096: DST changes both ways, Monrovia's -00:44:30 until 1972, times before 1970.
    instants = rng.integers(-2_000_000_000, 4_000_000_000, 3_000) * NS_PER_SECOND
    instants += rng.integers(0, NS_PER_SECOND, len(instants))  # fractions of a second are dropped
    instants[:3] = [-1, 0, NS_PER_SECOND - 1]

    texts = iso_local(instants, zone).to_pylist()

    assert texts == [_python_text(int(i), zone) for i in instants]


def test_a_time_not_present_is_empty_and_the_others_keep_their_places() -> None:
    instants = np.array([0, 1_741_000_000, 1_741_003_600], dtype=np.int64) * NS_PER_SECOND
    present = np.array([True, False, True])

    texts = iso_local(instants, "Asia/Kolkata", present).to_pylist()

    assert texts == ["1970-01-01T05:30:00+05:30", "", "2025-03-03T17:36:40+05:30"]
    assert iso_local(np.zeros(0, dtype=np.int64), "UTC").to_pylist() == []
