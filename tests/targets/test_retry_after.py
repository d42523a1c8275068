"""`retry_after_seconds`: one reading of Retry-After for every target (a number or an HTTP date)."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest

from punchbridge.plugin_api.http import MAX_RETRY_AFTER_SECONDS, retry_after_seconds


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-3", 0.0),  # a server in the past: retry now, never a negative sleep
        ("1e9", MAX_RETRY_AFTER_SECONDS),  # capped: a hostile or broken server cannot park the run
        ("inf", None),
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_numbers_are_read_and_bounded(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_an_http_date_is_the_time_until_then() -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 <= (retry_after_seconds(later) or 0) <= 120


def test_a_date_in_the_past_means_now_and_a_smaller_cap_applies() -> None:
    earlier = email.utils.format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(earlier) == 0.0
    assert retry_after_seconds("600", cap=60.0) == 60.0
