"""The `odoo` target changes only the attendance punchbridge created, and names whatever else stands in the way.

Odoo's kiosk, its HR officers and its crons make attendance too. A changed day rewrites or removes
only punchbridge's own attendance; one that someone else made is never touched, and a day it
differs from or blocks is a dead letter naming it. Each test runs once per protocol (`odoo`) or
on the version that has the behaviour (18.0 for the crons).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from support.odoo_days import batch, by_key, held, record
from support.odoo_servers import OdooRun, running_odoo

from punchbridge.plugin_api import Record
from punchbridge.plugins.odoo import OdooTarget
from punchbridge.testing.emulators.odoo import INTEGRATION


@dataclass(frozen=True)
class LedgerRecord(Record):
    """A record as the engine hands it with the ledger's remote id of its last delivery."""

    remote_id: str | None = None


def _with_ledger(day: Record, remote_id: str | None) -> LedgerRecord:
    return LedgerRecord(day.key, day.fields, day.content_hash, day.timezone, remote_id)


@pytest.fixture
def target(odoo: OdooRun) -> Iterator[OdooTarget]:
    odoo_target = OdooTarget("odoo", odoo.settings())
    yield odoo_target
    odoo_target.close()


@pytest.fixture
def odoo18() -> Iterator[OdooRun]:
    with running_odoo("18.0", "jsonrpc") as run:
        yield run


def _rows(run: OdooRun, barcode: str) -> list[dict[str, object]]:
    return run.emulator.attendances(run.emulator.employee_id(barcode))


def test_a_foreign_attendance_on_a_changed_day_is_left_untouched_and_the_day_is_a_dead_letter_naming_it(
    target: OdooTarget, odoo: OdooRun
) -> None:
    (first,) = target.push(batch(record("A1")))  # 09:00-18:00 +05:30
    emulator = odoo.emulator
    officer = emulator.officer_enters(emulator.employee_id("A1"), "2025-10-06 13:30:00", "2025-10-06 14:30:00")
    before = _rows(odoo, "A1")

    (changed,) = target.push(batch(record("A1", check_in="08:30")))

    assert not changed.ok
    assert f"hr.attendance {officer} (check-in 2025-10-06T19:00:00+05:30" in changed.message
    assert "created by HR Officer" in changed.message and "did not create" in changed.message
    assert "punchbridge dlq retry" in changed.message
    assert _rows(odoo, "A1") == before, "neither the officer's attendance nor punchbridge's own was changed"
    assert first.remote_id == f"hr.attendance:{before[0]['id']}"


def test_someone_elses_attendance_equal_to_the_day_stands_for_it(target: OdooTarget, odoo: OdooRun) -> None:
    emulator = odoo.emulator
    emulator.officer_enters(emulator.employee_id("A1"), "2025-10-06 03:30:00", "2025-10-06 12:30:00")

    (outcome,) = target.push(batch(record("A1")))

    assert outcome.ok and outcome.remote_id is None  # nothing of punchbridge's: the officer's record says it
    assert held(odoo, "A1") == [("2025-10-06 03:30:00", "2025-10-06 12:30:00")]
    assert emulator.calls[("hr.attendance", "create")] == 0


def test_an_open_kiosk_attendance_refuses_only_the_days_it_blocks_each_naming_it(
    target: OdooTarget, odoo: OdooRun
) -> None:
    emulator = odoo.emulator
    kiosk = emulator.kiosk_punch(emulator.employee_id("A1"), datetime(2025, 10, 5, 3, 0, tzinfo=UTC))

    outcomes = by_key(target.push(batch(record("A1"), record("A1", "2025-10-07", check_out=""), record("A2"))))

    assert outcomes["A1|2025-10-06|day"].ok, "a closed day after the open attendance is what Odoo accepts"
    assert outcomes["A2|2025-10-06|day"].ok
    refused = outcomes["A1|2025-10-07|day"]
    assert not refused.ok
    assert "hasn't checked out since" in refused.message
    assert f"hr.attendance {kiosk} (check-in 2025-10-05T08:30:00+05:30, check-out none (open)" in refused.message
    assert emulator.attendances()[0]["check_out"] is False, "the kiosk's attendance stays open"


def test_an_open_day_of_ours_refuses_a_later_open_day_by_name_and_not_the_closed_ones(
    target: OdooTarget, odoo: OdooRun
) -> None:
    (opened,) = target.push(batch(record("A1", check_out="")))
    outcomes = by_key(target.push(batch(record("A1", "2025-10-07", check_out=""), record("A1", "2025-10-08"))))

    later = outcomes["A1|2025-10-07|day"]
    assert not later.ok
    assert f"{opened.remote_id.replace(':', ' ')} (check-in 2025-10-06T09:00:00+05:30" in later.message
    assert "(the user punchbridge logs in as)" in later.message
    assert outcomes["A1|2025-10-08|day"].ok


def test_an_attendance_odoos_auto_check_out_closed_is_updated_not_duplicated(odoo18: OdooRun) -> None:
    target = OdooTarget("odoo", odoo18.settings())
    try:
        (opened,) = target.push(batch(record("A1", check_out="")))
        closed = odoo18.emulator.run_auto_check_out(datetime(2025, 10, 6, 18, 0, tzinfo=UTC))
        (row,) = _rows(odoo18, "A1")
        assert closed == [row["id"]] and row["out_mode"] == "auto_check_out"

        (finished,) = target.push(batch(record("A1")))
    finally:
        target.close()
    assert finished.ok and finished.remote_id == opened.remote_id
    (row,) = _rows(odoo18, "A1")
    assert (row["check_in"], row["check_out"], row["out_mode"]) == (
        "2025-10-06 03:30:00",
        "2025-10-06 12:30:00",
        "manual",
    )


def test_the_absence_crons_record_refuses_a_worked_day_but_not_an_empty_one(odoo18: OdooRun) -> None:
    emulator = odoo18.emulator
    emulator.run_absence_detection(date(2025, 10, 7))  # A1 and A2 (UTC) get 2025-10-06 00:00:00-00:00:01
    target = OdooTarget("odoo", odoo18.settings(timezone="UTC"))
    empty = Record("A2|2025-10-06|day", {"employee": "A2", "check_in": "", "check_out": ""}, "h")
    worked = Record(
        "A1|2025-10-06|day",
        {"employee": "A1", "check_in": "2025-10-06T00:00:00+00:00", "check_out": "2025-10-06T08:00:00+00:00"},
        "h",
    )
    try:
        outcomes = by_key(target.push(batch(empty, worked)))
    finally:
        target.close()
    assert outcomes[empty.key].ok
    assert not outcomes[worked.key].ok
    assert "made by Odoo's absence detection" in outcomes[worked.key].message
    assert "in_mode technical, out_mode technical" in outcomes[worked.key].message
    assert len(emulator.attendances()) == 2


def test_with_the_ledgers_ids_only_those_attendances_are_punchbridges(target: OdooTarget, odoo: OdooRun) -> None:
    day = record("A1", check_out="13:00")
    (first,) = target.push(batch(day))
    emulator = odoo.emulator
    # Someone working with the integration user's login adds an afternoon to the same day.
    afternoon = emulator.add_attendance(emulator.employee_id("A1"), "2025-10-06 08:30:00", "2025-10-06 09:30:00")

    (refused,) = target.push(batch(_with_ledger(record("A1", check_out="12:30"), first.remote_id)))

    assert not refused.ok
    assert f"hr.attendance {afternoon} " in refused.message
    assert held(odoo, "A1") == [
        ("2025-10-06 03:30:00", "2025-10-06 07:30:00"),
        ("2025-10-06 08:30:00", "2025-10-06 09:30:00"),
    ]
    # Without the ledger's ids, the integration user's attendance of the day is taken as punchbridge's.
    (replaced,) = target.push(batch(record("A1", check_out="12:30")))
    assert replaced.ok
    assert held(odoo, "A1") == [("2025-10-06 03:30:00", "2025-10-06 07:00:00")]


def test_a_resend_after_a_lost_reply_adopts_what_the_first_send_created(target: OdooTarget, odoo: OdooRun) -> None:
    columns = ("employee", "intervals")
    morning = "2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30"
    (first,) = target.push(batch(record("A1", intervals=morning), columns=columns))
    emulator = odoo.emulator
    # A push of the whole day created the afternoon, but its reply (and so the ledger's update) was lost.
    afternoon = emulator.add_attendance(
        emulator.employee_id("A1"), "2025-10-06 08:30:00", "2025-10-06 12:30:00", uid=INTEGRATION
    )
    whole = record("A1", intervals=morning + ";2025-10-06T14:00:00+05:30/2025-10-06T18:00:00+05:30")
    deliveries = emulator.deliveries

    (again,) = target.push(batch(_with_ledger(whole, first.remote_id), columns=columns))

    assert again.ok and again.remote_id == f"{first.remote_id},{afternoon}"
    assert emulator.deliveries == deliveries, "nothing is written twice"


def test_a_refusal_after_punchbridge_removed_its_old_intervals_says_so(target: OdooTarget, odoo: OdooRun) -> None:
    columns = ("employee", "intervals")
    two = "2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30;2025-10-06T14:00:00+05:30/2025-10-06T18:00:00+05:30"
    (first,) = target.push(batch(record("A1", intervals=two), columns=columns))
    lock = odoo.emulator.refuse_employee(odoo.emulator.employee_id("A1"))

    three = two + ";2025-10-06T19:00:00+05:30/2025-10-06T20:00:00+05:30"
    moved = three.replace("14:00:00", "14:30:00")
    (refused,) = target.push(batch(record("A1", intervals=moved), columns=columns))

    assert not refused.ok
    assert refused.message.startswith(f"Odoo: {lock}")
    old = first.remote_id.removeprefix("hr.attendance:").split(",")[1]
    assert f"punchbridge had already removed its earlier attendance of this day (hr.attendance {old})" in (
        refused.message
    )
