"""The store's compact forms give back exactly the text they were given, whatever it is."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from punchbridge.store.compact import hash_from_stored, hash_to_stored, times_from_stored, times_to_stored

WORK_DATE = "2024-03-30"
_PIECES = st.sampled_from(
    ["2024-03-30T", "2024-03-31T", "2024-03-29T", "+05:30", "+01:00", "-03:30", "Z", "/", ";", "09:01:15", "\x01",
     "\x02", "\x03", "\x05", "T", ":", "2024-03-30"]
)  # fmt: skip


@given(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map("".join))
def test_any_time_text_comes_back_unchanged(value: str) -> None:
    assert times_from_stored(times_to_stored(value, WORK_DATE), WORK_DATE) == value


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 30)), st.integers(0, 86_399 * 2))
def test_a_days_intervals_keep_about_half_their_length(day: date, seconds: int) -> None:
    work_date = day.isoformat()
    start = f"{work_date}T{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+05:30"
    next_day = f"{(day + timedelta(days=1)).isoformat()}T06:09:06+05:30"
    intervals = f"{start}/{start};{start}/{next_day}"
    stored = times_to_stored(intervals, work_date)
    assert stored is not None and len(stored) < len(intervals) * 0.6
    assert times_from_stored(stored, work_date) == intervals


def test_missing_and_empty_times_stay_as_they_are() -> None:
    assert times_to_stored(None, WORK_DATE) is None
    assert times_from_stored(times_to_stored("", WORK_DATE), WORK_DATE) == ""


@given(st.one_of(st.binary(max_size=40).map(bytes.hex), st.text(max_size=70)))
def test_any_content_hash_comes_back_unchanged(value: str) -> None:
    assert hash_from_stored(hash_to_stored(value)) == value


def test_a_sha256_is_kept_in_33_bytes_and_missing_stays_missing() -> None:
    sha = "282c35f0b60769ca317c1a8d84de7ee0119bc559e73e821f6a7bf290afba477d"
    stored = hash_to_stored(sha)
    assert stored is not None and len(stored) == 33
    assert hash_from_stored(memoryview(stored)) == sha
    assert hash_to_stored(None) is None and hash_from_stored(None) is None
