"""Pushing days to Zoho People: punches land once, resends send nothing, changed days, pacing, budget."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from support.zoho_builders import batch_of, day_record, intervals_record

from punchbridge.plugin_api import FatalTargetError, TransientError
from punchbridge.plugins.zoho_people import ZohoPeopleTarget
from punchbridge.plugins.zoho_people import pacing as zoho_pacing
from punchbridge.testing.emulators.zoho import ManualClock, ZohoEmulator

DAY = "2025-10-06"
MONDAY = date(2025, 10, 6)


def _times(emulator: ZohoEmulator, employee: str, day: date = MONDAY) -> tuple[datetime | None, datetime | None]:
    view = emulator.day(employee, day)
    return (view.first_in, view.last_out) if view else (None, None)


def test_each_day_lands_as_a_check_in_and_a_check_out(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    outcomes = target.push(batch_of([day_record("T-1", DAY, "09:02"), day_record("T-2", DAY, "08:55", "17:40")]))
    assert [(o.ok, o.remote_id) for o in outcomes] == [(True, "T-1|2025-10-06"), (True, "T-2|2025-10-06")]
    assert _times(emulator, "T-1") == (datetime(2025, 10, 6, 9, 2), datetime(2025, 10, 6, 18))
    assert _times(emulator, "T-2") == (datetime(2025, 10, 6, 8, 55), datetime(2025, 10, 6, 17, 40))
    assert emulator.deliveries == 2


def test_times_go_as_site_local_wall_clock_whatever_the_offset(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    record = day_record("T-1", DAY)
    fields = {**record.fields, "check_in": "2025-10-06T09:00:00-04:00", "check_out": "2025-10-06T17:00:00Z"}
    target.push(batch_of([type(record)(record.key, fields, "h")]))
    assert _times(emulator, "T-1") == (datetime(2025, 10, 6, 9), datetime(2025, 10, 6, 17))


def test_a_resent_batch_sends_nothing(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    batch = batch_of([day_record("T-1", DAY), day_record("T-2", DAY)])
    target.push(batch)
    calls = sum(emulator.calls.values())
    again = target.push(batch)
    assert all(o.ok for o in again)
    assert sum(emulator.calls.values()) == calls, "a resend must not call Zoho at all"
    assert emulator.deliveries == 2


def test_a_new_run_with_the_same_state_file_sends_nothing_again(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    batch = batch_of([day_record("T-1", DAY)])
    first = make_target()
    first.push(batch)
    first.close()
    assert all(o.ok for o in make_target().push(batch))
    assert emulator.deliveries == 1


def test_a_reply_lost_after_zoho_stored_the_punches_is_read_back_not_resent(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    batch = batch_of([day_record("T-1", DAY), day_record("T-2", DAY)])
    emulator.fail_next("bulkImport", status=502, body="<html>Bad Gateway</html>", after_apply=True)
    with pytest.raises(TransientError, match="bulkImport answered HTTP 502"):
        target.push(batch)
    assert emulator.deliveries == 2  # Zoho has them; the plugin could not know
    outcomes = target.push(batch)  # the engine retries the same batch
    assert all(o.ok for o in outcomes)
    assert emulator.calls["getAttendanceEntries"] == 2, "each uncertain day is read back once"
    assert emulator.deliveries == 2 and emulator.duplicate_punches == 0


def test_a_call_refused_whole_leaves_nothing_uncertain(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    batch = batch_of([day_record("T-1", DAY)])
    emulator.fail_next(
        "bulkImport",
        status=200,
        content_type="application/json",
        body='{"response": {"status": 1, "errors": {"code": 7209, "message": "locked"}}}',
    )
    with pytest.raises(TransientError):
        target.push(batch)
    assert all(o.ok for o in target.push(batch))
    assert emulator.calls["getAttendanceEntries"] == 0, "a refused call stored nothing: no need to read back"


def test_an_earlier_first_in_sends_only_the_new_check_in(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    target.push(batch_of([day_record("T-1", DAY, "09:02", "18:12")]))
    outcomes = target.push(batch_of([day_record("T-1", DAY, "07:30", "18:12")], batch_id=2))
    assert outcomes[0].ok
    assert _times(emulator, "T-1") == (datetime(2025, 10, 6, 7, 30), datetime(2025, 10, 6, 18, 12))
    assert emulator.deliveries == 2 and emulator.duplicate_punches == 0


def test_a_later_first_in_is_refused_until_the_day_is_corrected_in_zoho(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    target.push(batch_of([day_record("T-1", DAY, "07:30")]))
    changed = batch_of([day_record("T-1", DAY, "09:05")], batch_id=2)
    (outcome,) = target.push(changed)
    assert not outcome.ok
    assert "already holds check-in 2025-10-06 07:30:00" in (outcome.message or "")
    assert "cannot remove a punch" in (outcome.message or "")
    assert _times(emulator, "T-1")[0] == datetime(2025, 10, 6, 7, 30), "nothing half-done in Zoho"
    emulator.delete_day("T-1", MONDAY)  # the administrator corrects the day in Zoho
    (retried,) = target.push(changed)
    assert retried.ok
    assert _times(emulator, "T-1") == (datetime(2025, 10, 6, 9, 5), datetime(2025, 10, 6, 18))


def test_every_pair_mode_sends_each_interval_and_an_open_one(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    columns = ("employee", "intervals")
    record = intervals_record("T-1", DAY, "09:00/13:00;13:45/17:30;19:00/")
    assert target.push(batch_of([record], columns))[0].ok
    view = emulator.day("T-1", MONDAY)
    assert view is not None
    assert [(s.hour if s else None, e.hour if e else None) for s, e in view.entries] == [(9, 13), (13, 17), (19, None)]
    more = intervals_record("T-1", DAY, "09:00/13:00;13:45/17:30;19:00/21:00")
    assert target.push(batch_of([more], columns, batch_id=2))[0].ok
    assert emulator.deliveries == 2 and emulator.duplicate_punches == 0
    fewer = intervals_record("T-1", DAY, "09:00/13:00")
    (refused,) = target.push(batch_of([fewer], columns, batch_id=3))
    assert not refused.ok and "13:45:00" in (refused.message or "")


#: What Zoho says of an unknown employee, by the shape of bulkImport's reply: per row in `rows`; in the
#: observed `success` shape the whole call fails with 7200, naming no row, and the target splits it.
UNKNOWN_EMPLOYEE = {
    "rows": "No such employee: empId T-77",
    "success": "API invocation failed (code 7200); Zoho fails a call for one bad row and names none: check that "
    "empId T-77 is an active Zoho People employee",
}


@pytest.mark.parametrize("bulk_reply", ["rows", "success"])
def test_a_record_zoho_refuses_carries_zohos_message_and_the_rest_lands(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, bulk_reply: str
) -> None:
    emulator.refuse_employee("T-2", "Attendance period is locked")
    outcomes = target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY), day_record("T-77", DAY)]))
    assert [o.ok for o in outcomes] == [True, False, False]
    assert "Attendance period is locked" in (outcomes[1].message or "")
    assert UNKNOWN_EMPLOYEE[bulk_reply] in (outcomes[2].message or "")
    assert set(emulator.days()) == {("T-1", MONDAY)}


def test_a_refused_record_is_sent_again_when_retried(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    emulator.refuse_employee("T-2", "locked")
    batch = batch_of([day_record("T-2", DAY)])
    assert not target.push(batch)[0].ok
    emulator.allow_employee("T-2")  # the period is unlocked
    assert target.push(batch)[0].ok
    assert emulator.day("T-2", MONDAY) is not None


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"check_in": "09:00"}, "is not a local ISO-8601 time"),
        ({"check_in": "2025-10-06"}, "is not a local ISO-8601 time"),
        ({"check_in": "2025-10-06T19:00:00+05:30"}, "is before check_in"),
        ({"employee": ""}, "column `employee` is empty"),
        ({"employee": None}, "column `employee` is empty"),
        ({"check_in": 930}, "is not a local ISO-8601 time"),
    ],
)
def test_records_that_cannot_be_sent_are_refused_with_a_clear_message_and_never_sent(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, fields: dict[str, object], says: str
) -> None:
    bad = day_record("T-1", DAY)
    bad = type(bad)(bad.key, {**bad.fields, **fields}, "h")
    outcomes = target.push(batch_of([bad, day_record("T-2", DAY)]))
    assert not outcomes[0].ok and says in (outcomes[0].message or "")
    assert outcomes[1].ok
    assert {key[0] for key in emulator.days()} == {"T-2"}


@pytest.mark.parametrize("text", ["09:00/13:00/14:00", "/", "garbage"])
def test_malformed_intervals_are_refused(target: ZohoPeopleTarget, text: str) -> None:
    record = intervals_record("T-1", DAY, "09:00/13:00")
    record = type(record)(record.key, {**record.fields, "intervals": text}, "h")
    (outcome,) = target.push(batch_of([record], ("employee", "intervals")))
    assert not outcome.ok and "intervals" in (outcome.message or "")


def test_an_absent_day_is_answered_ok_without_a_call(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    (outcome,) = target.push(batch_of([day_record("T-1", DAY, "", "")]))
    assert outcome.ok
    assert emulator.calls["bulkImport"] == 0


def test_a_missing_check_out_sends_the_check_in_alone(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    assert target.push(batch_of([day_record("T-1", DAY, "09:00", "")]))[0].ok
    assert _times(emulator, "T-1") == (datetime(2025, 10, 6, 9), None)


def test_the_same_record_twice_in_a_batch_is_sent_once(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    record = day_record("T-1", DAY)
    outcomes = target.push(batch_of([record, record]))
    assert [o.ok for o in outcomes] == [True, True]
    assert emulator.deliveries == 1 and emulator.duplicate_punches == 0


def test_two_terminal_ids_on_one_zoho_day_with_other_times_refuse_the_second(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    first = day_record("T-1", DAY, "09:00")
    other = day_record("T-1", DAY, "10:00")
    other = type(other)("C-OTHER|2025-10-06|day", other.fields, "h2")
    outcomes = target.push(batch_of([first, other]))
    assert outcomes[0].ok and not outcomes[1].ok
    assert "two terminal ids mapped to one Zoho employee" in (outcomes[1].message or "")
    assert _times(emulator, "T-1")[0] == datetime(2025, 10, 6, 9)


@pytest.mark.parametrize(("identify_by", "value"), [("emailId", "ben@example.com"), ("mapId", "102")])
def test_employees_can_be_identified_by_email_or_map_id(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator, identify_by: str, value: str
) -> None:
    assert make_target(identify_by=identify_by).push(batch_of([day_record(value, DAY)]))[0].ok
    assert set(emulator.days()) == {("T-2", MONDAY)}


def test_punches_go_in_calls_of_punches_per_call_and_a_day_stays_in_one_call(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    target = make_target(punches_per_call=5, location="Bengaluru", building="Gate 2")
    records = [day_record(e, f"2025-10-{d:02d}") for e in ("T-1", "T-2", "T-3") for d in range(6, 10)]
    assert all(o.ok for o in target.push(batch_of(records)))
    assert emulator.calls["bulkImport"] == 6  # 24 punches, two days (four punches) a call
    assert emulator.punches_written == 24


def test_a_backfill_at_zohos_real_limits_is_paced_and_never_locks(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator, clock: ManualClock
) -> None:
    target = make_target(punches_per_call=200)
    started = clock()
    records = [day_record(e, f"2025-10-{d:02d}") for e in ("T-1", "T-2", "T-3") for d in range(1, 31)]
    records = records * 1
    for number, start in enumerate(range(0, len(records), 10), start=1):
        target.push(batch_of(records[start : start + 10], batch_id=number))  # 9 small batches, one call each
    more = [day_record("T-1", f"2025-11-{d:02d}") for d in range(1, 10)]
    for number, record in enumerate(more, start=100):
        target.push(batch_of([record], batch_id=number))
    assert emulator.calls["bulkImport"] == 18
    assert emulator.locks == 0
    assert clock() - started >= 60, "18 calls at 10 a minute take more than a minute of Zoho time"


def test_pacing_carries_over_to_the_next_run_through_the_state_file(
    make_target: Callable[..., ZohoPeopleTarget],
    emulator: ZohoEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = make_target()
    for number in range(10):
        first.push(batch_of([day_record("T-1", f"2025-10-{number + 1:02d}")], batch_id=number))
    first.close()
    monkeypatch.setattr(zoho_pacing, "_PACERS", {})  # a new process: no pacer in memory
    make_target().push(batch_of([day_record("T-2", DAY)], batch_id=99))
    assert emulator.locks == 0


def test_concurrent_calls_land_everything_once(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    target = make_target(punches_per_call=4, concurrency=4, bulk_import_per_minute=1000)
    emulator.limits.per_minute["bulkImport"] = None  # type: ignore[index]
    records = [day_record(e, f"2025-10-{d:02d}") for e in ("T-1", "T-2", "T-3") for d in range(1, 21)]
    assert all(o.ok for o in target.push(batch_of(records)))
    assert emulator.deliveries == 60 and emulator.duplicate_punches == 0


def test_a_batch_over_the_daily_budget_is_not_started(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator, tmp_path: Path
) -> None:
    first = make_target(daily_call_limit=3, punches_per_call=2)
    first.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY)]))  # two calls
    first.close()
    second = make_target(daily_call_limit=3, punches_per_call=2)  # a later run, the same day
    with pytest.raises(FatalTargetError) as refused:
        second.push(batch_of([day_record("T-3", DAY), day_record("T-1", "2025-10-07")], batch_id=2))
    message = str(refused.value)
    assert "needs 2 API calls" in message and "only 1 of the daily 3" in message
    assert emulator.calls["bulkImport"] == 2, "nothing of the refused batch was sent"


def test_zohos_own_daily_cap_stops_the_run(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    emulator.fail_next(
        "bulkImport",
        status=200,
        content_type="application/json",
        body='{"response": {"status": 1, "errors": {"code": 7213, "message": "API limit for the day reached"}}}',
    )
    with pytest.raises(FatalTargetError, match="daily API limit is reached"):
        make_target().push(batch_of([day_record("T-1", DAY)]))


def test_read_before_write_always_reads_every_day_first(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    emulator.fail_next("bulkImport", status=502, body="", after_apply=False)
    target = make_target(read_before_write="always")
    with pytest.raises(TransientError):
        target.push(batch_of([day_record("T-1", DAY)]))
    # Someone punched T-2 in through another integration; always-mode sees it and adds only the rest.
    assert target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY)]))[0].ok
    assert emulator.calls["getAttendanceEntries"] == 3


def test_a_process_killed_after_zoho_stored_the_punches_leaves_them_pending_not_lost(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = batch_of([day_record("T-1", DAY), day_record("T-2", DAY)])
    dying = make_target()
    real = dying.bulk_import

    def store_then_die(call: list) -> list:
        real(call)
        raise KeyboardInterrupt("killed before the ledger was saved")

    monkeypatch.setattr(dying, "bulk_import", store_then_die)
    with pytest.raises(KeyboardInterrupt):
        dying.push(batch)
    outcomes = make_target().push(batch)  # the next run, from the same state file
    assert all(o.ok for o in outcomes)
    assert emulator.deliveries == 2 and emulator.duplicate_punches == 0


def test_a_day_split_over_calls_stays_uncertain_when_one_of_its_calls_is_lost(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    target = make_target(punches_per_call=1)
    batch = batch_of([day_record("T-1", DAY)])
    emulator.fail_next("bulkImport", status=504, body="", after_apply=True)  # the check-in lands, unseen
    with pytest.raises(TransientError):
        target.push(batch)
    assert target.push(batch)[0].ok
    assert emulator.calls["getAttendanceEntries"] == 1
    assert emulator.punches_written == 2 and emulator.duplicate_punches == 0


@pytest.mark.parametrize(("bulk_reply", "says"), [("rows", "No such employee"), ("success", "API invocation failed")])
def test_hostile_employee_text_is_sent_as_data_and_refused_as_an_unknown_employee(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, bulk_reply: str, says: str
) -> None:
    hostile = 'T-1", "checkOut": "2025-10-06 23:59:59'
    outcomes = target.push(batch_of([day_record(hostile, DAY), day_record("T-2", DAY)]))
    assert not outcomes[0].ok and says in (outcomes[0].message or "")
    assert outcomes[1].ok
    assert emulator.day("T-1", MONDAY) is None, "the text must not smuggle a punch in for T-1"
