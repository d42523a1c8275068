"""Period labels and locks: which days a lock holds, and where an adjustment is posted."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from punchbridge.periods import PeriodLocks, parse_period, period_bounds, period_label


@pytest.mark.parametrize(
    ("label", "first", "last"),
    [("2025-10", date(2025, 10, 1), date(2025, 10, 31)), ("2024-02", date(2024, 2, 1), date(2024, 2, 29))],
)
def test_a_period_is_a_calendar_month_labelled_year_dash_month(label: str, first: date, last: date) -> None:
    assert period_bounds(label) == (first, last)
    assert period_label(first) == label and period_label(last.isoformat()) == label


@pytest.mark.parametrize("label", ["2025-13", "2025-00", "2025-1", "25-10", "2025-10-01", "", " 2025-10", "../10"])
def test_a_label_that_is_not_year_dash_month_is_refused_with_an_example(label: str) -> None:
    with pytest.raises(ValueError, match="use YYYY-MM") as caught:
        parse_period(label)
    assert repr(label) in str(caught.value)


def test_a_hostile_label_is_shown_shortened_and_not_a_period() -> None:
    with pytest.raises(ValueError) as caught:
        parse_period("2025-10" + "x" * 10_000)
    assert len(str(caught.value)) < 200
    with pytest.raises(ValueError, match="not 12"):
        parse_period(12)  # type: ignore[arg-type]


def test_a_lock_for_every_site_holds_for_each_site_and_a_site_lock_only_for_its_site() -> None:
    locks = PeriodLocks.from_pairs([("*", "2025-09"), ("blr", "2025-10")])
    assert locks.is_locked("ber", "2025-09") and locks.is_locked("blr", "2025-09")
    assert locks.is_locked("blr", "2025-10") and not locks.is_locked("ber", "2025-10")
    mask = locks.locked_mask(["blr", "ber", None, "blr"], ["2025-10-05", "2025-10-05", "2025-09-30", "2025-11-01"])
    assert mask.tolist() == [True, False, True, False]


def test_locks_with_other_labels_lock_nothing_and_are_listed_as_ignored() -> None:
    frame = pd.DataFrame({"site": ["*", "blr", "*"], "period": ["2025-W40", "2025-10", "Q4"]})
    locks = PeriodLocks.from_frame(frame)
    assert locks.ignored == (("*", "2025-W40"), ("*", "Q4"))
    assert not locks.is_locked("ber", "2025-10")
    assert not PeriodLocks.from_frame(frame.iloc[[0, 2]])  # nothing usable: no locks at all


def test_the_next_open_period_skips_locked_months_and_crosses_the_year() -> None:
    locks = PeriodLocks.from_pairs([("*", "2025-11"), ("blr", "2025-12")])
    assert locks.next_open("blr", "2025-10") == "2026-01"
    assert locks.next_open("ber", "2025-10") == "2025-12"


def test_a_month_is_closed_everywhere_by_a_star_lock_or_one_lock_per_site() -> None:
    sites = ["ber", "blr"]
    assert PeriodLocks.from_pairs([("*", "2025-10")]).closed_everywhere("2025-10", sites)
    assert PeriodLocks.from_pairs([("blr", "2025-10"), ("ber", "2025-10")]).closed_everywhere("2025-10", sites)
    assert not PeriodLocks.from_pairs([("blr", "2025-10")]).closed_everywhere("2025-10", sites)
    assert not PeriodLocks().closed_everywhere("2025-10", [])
