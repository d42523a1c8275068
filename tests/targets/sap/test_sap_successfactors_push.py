"""What the `sap_successfactors` target sends: ExternalTimeData or clock events, keyed so a resend is harmless."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from support.sap_builders import INTERVALS, batch_of, day_record, intervals_record

from punchbridge.plugin_api import CredentialsError, Employee
from punchbridge.plugins.sap.successfactors import SuccessFactorsSettings, SuccessFactorsTarget, external_code
from punchbridge.testing.emulators.sap import ManualClock, SapEmulator

DAY = "2025-10-06"


def test_a_day_becomes_one_external_time_data_record_in_site_time(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    record = day_record("T-1", DAY, "09:02", "18:15", hours=8.75, cost_centre="CC-9")
    (outcome,) = target.push(batch_of([record], ("employee", "check_in", "check_out", "hours", "cost_centre")))
    assert outcome.ok and outcome.remote_id == "PB-T-1-20251006-day"
    assert emulator.time_data()["PB-T-1-20251006-day"] == {
        "externalCode": "PB-T-1-20251006-day",
        "userId": "T-1",
        "startDate": "/Date(1759708800000)/",
        "endDate": "/Date(1759708800000)/",
        "startTime": "PT09H02M00S",
        "endTime": "PT18H15M00S",
        "hours": "8.75",
        "timeType": "ATTENDANCE",
        "costCenter": "CC-9",
    }


def test_a_night_shift_ends_on_the_next_date(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    record = day_record("T-1", DAY, "22:00", "", hours=8)
    record.fields["check_out"] = "2025-10-07T06:00:00+05:30"  # type: ignore[index]
    assert target.push(batch_of([record]))[0].ok
    (held,) = emulator.time_data().values()
    assert held["startDate"] == "/Date(1759708800000)/"  # 6 October
    assert (held["endDate"], held["endTime"]) == ("/Date(1759795200000)/", "PT06H00M00S")  # 7 October, 06:00


def test_a_resent_batch_writes_nothing_new_and_a_changed_day_is_updated_in_place(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    batch = batch_of([day_record("T-1", DAY), day_record("T-2", DAY)])
    target.push(batch)
    target.push(batch)
    assert emulator.deliveries == 2 and len(emulator.time_data()) == 2
    target.push(batch_of([day_record("T-1", DAY, "07:30")], batch_id=2))
    assert emulator.deliveries == 3 and len(emulator.time_data()) == 2
    assert emulator.time_data()["PB-T-1-20251006-day"]["startTime"] == "PT07H30M00S"


def test_records_go_in_calls_of_records_per_call(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    emulator.seed_employees([Employee(f"U{n:03d}", f"P {n}") for n in range(250)])
    records = [day_record(f"U{n:03d}", DAY) for n in range(250)]
    outcomes = make_target(records_per_call=100).push(batch_of(records))
    assert all(o.ok for o in outcomes)
    assert emulator.calls["upsert"] == 3


def test_a_refused_record_is_a_dead_letter_with_successfactors_words_and_the_rest_lands(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    emulator.refuse_user("T-2", "Time sheet is approved and locked")
    outcomes = target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY), day_record("T-9", DAY)]))
    assert [o.ok for o in outcomes] == [True, False, False]
    assert "Time sheet is approved and locked" in (outcomes[1].message or "")
    assert "PB-T-2-20251006-day" in (outcomes[1].message or "")
    assert "'T-9' is not a known user" in (outcomes[2].message or "")
    assert set(emulator.time_data()) == {"PB-T-1-20251006-day"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"employee": ""}, "column `employee` is empty"),
        ({"check_in": "09:00"}, "is not a local ISO-8601 time with offset"),
        ({"check_in": "2025-10-06T09:00:00"}, "is not a local ISO-8601 time with offset"),
        ({"check_out": "2025-10-06T08:00:00+05:30"}, "is before check_in"),
        ({"hours": "lots"}, "is not a number of hours"),
        ({"hours": 49}, "not between 0 and 48"),
        ({"employee": "U" * 101}, "longer than 100 characters"),
    ],
)
def test_a_record_that_cannot_be_sent_is_refused_before_sending(
    target: SuccessFactorsTarget, emulator: SapEmulator, fields: dict, message: str
) -> None:
    bad = day_record("T-1", DAY)
    bad.fields.update(fields)  # type: ignore[attr-defined]
    outcomes = target.push(batch_of([bad, day_record("T-2", DAY)]))
    assert not outcomes[0].ok and message in (outcomes[0].message or "")
    assert outcomes[1].ok


def test_an_absent_day_without_hours_is_refused_and_with_hours_is_sent_as_zero(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    absent = day_record("T-1", DAY, "", "", hours=None)
    (no_hours,) = make_target().push(batch_of([absent], ("employee", "check_in", "check_out")))
    assert not no_hours.ok and "no check-in and check-out" in (no_hours.message or "")
    assert make_target().push(batch_of([absent]))[0].ok
    assert emulator.time_data()["PB-T-1-20251006-day"]["hours"] == "0.00"


def test_two_terminal_ids_of_one_user_on_one_day_send_once_or_refuse_when_they_differ(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    first = day_record("T-1", DAY)
    same = day_record("T-1", DAY)
    same = type(same)("OTHER|2025-10-06|day", same.fields, same.content_hash)
    differs = type(same)("THIRD|2025-10-06|day", {**first.fields, "check_in": f"{DAY}T08:00:00+05:30"}, "h")
    outcomes = target.push(batch_of([first, same, differs]))
    assert [o.ok for o in outcomes] == [True, True, False]
    assert "two terminal ids mapped to one userId" in (outcomes[2].message or "")
    assert emulator.records_received == 1


def test_a_long_or_odd_user_id_still_gets_a_key_of_at_most_128_safe_characters(emulator: SapEmulator) -> None:
    odd = external_code("o'brien/ä" * 20, date(2025, 10, 6), "day")
    assert len(odd) <= 128 and odd.isascii() and "'" not in odd and "/" not in odd
    assert odd == external_code("o'brien/ä" * 20, date(2025, 10, 6), "day"), "deterministic"
    assert external_code("T-1", date(2025, 10, 6), "day") == "PB-T-1-20251006-day"


def test_time_type_and_cost_centre_come_from_the_mapping_when_it_has_them(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    record = day_record("T-1", DAY, time_type="OVERTIME")
    make_target().push(batch_of([record], ("employee", "check_in", "check_out", "hours", "time_type")))
    assert emulator.time_data()["PB-T-1-20251006-day"]["timeType"] == "OVERTIME"


# -- clock events: the Time Events REST API ---------------------------------------------------------


def test_every_interval_becomes_clock_in_break_and_clock_out_events(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    (outcome,) = target.push(batch_of([intervals_record("T-1", DAY, "09:00/13:00;13:30/18:00")], INTERVALS))
    assert outcome.ok
    (day,) = emulator.event_days().values()
    assert [(moment.strftime("%H:%M"), kind) for moment, kind in day] == [
        ("09:00", "P10"), ("13:00", "P15"), ("13:30", "P25"), ("18:00", "P20")
    ]  # fmt: skip
    assert sorted((outcome.remote_id or "").split(",")) == sorted(emulator.events()), "the UUIDs SAP gave"
    assert emulator.calls["time_events"] == 1 and emulator.calls["upsert"] == 0


def test_each_event_carries_an_iso_timestamp_with_the_sites_offset(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    sent: list[Any] = []
    target = make_target(time_events={"terminal_id": "GATE-1", "time_type_code": "WORKING_TIME"})
    original = target.client.call

    def spy(*args: Any, **kwargs: Any) -> Any:
        sent.append(kwargs.get("json"))
        return original(*args, **kwargs)

    target.client.call = spy  # type: ignore[method-assign]
    target.push(batch_of([intervals_record("T-1", DAY, "09:00/18:00")], INTERVALS))
    # The body SAP's specification and both client code bases show: an array of {id, assignmentId,
    # typeCode, timestamp, terminalId?, timeTypeCode? (START events only)}.
    assert sent == [
        [
            {"id": "1", "assignmentId": "T-1", "typeCode": "P10", "timestamp": "2025-10-06T09:00:00+05:30",
             "terminalId": "GATE-1", "timeTypeCode": "WORKING_TIME"},
            {"id": "2", "assignmentId": "T-1", "typeCode": "P20", "timestamp": "2025-10-06T18:00:00+05:30",
             "terminalId": "GATE-1"},
        ]
    ]  # fmt: skip


def test_an_open_interval_sends_no_clock_out_yet(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    target.push(batch_of([intervals_record("T-1", DAY, "09:00/")], INTERVALS))
    assert [kind for _, kind in next(iter(emulator.event_days().values()))] == ["P10"]


def test_events_keep_to_200_per_user_per_call_and_1000_per_call(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    emulator.seed_employees([Employee(f"U{n}", f"P {n}") for n in range(6)])
    first = date(2025, 1, 1)
    records = [
        intervals_record(f"U{n}", (first + timedelta(days=d)).isoformat(), "09:00/13:00;14:00/18:00")
        for n in range(6)
        for d in range(150)
    ]  # 6 users x 150 days x 4 events = 3,600 events, 600 per user
    outcomes = make_target().push(batch_of(records[:900], INTERVALS))
    assert all(o.ok for o in outcomes), [o.message for o in outcomes if not o.ok][:3]
    assert len(emulator.events()) == 3600
    assert emulator.calls["time_events"] == 4, "3,600 events fit in 4 calls of at most 1,000, 200 a user"


def test_a_resent_day_counts_as_delivered_and_adds_no_event(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    batch = batch_of([intervals_record("T-1", DAY, "09:00/18:00")], INTERVALS)
    first = target.push(batch)
    again = target.push(batch)  # a resend after a crash: SAP answers "already exists" for each event
    assert again[0].ok and again[0].remote_id is None, "no new UUID: the ledger keeps the first ones"
    assert first[0].remote_id and len(emulator.events()) == 2 and emulator.deliveries == 1


def test_a_changed_day_sends_its_new_events_and_the_old_ones_stay(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    target.push(batch_of([intervals_record("T-1", DAY, "09:00/18:00")], INTERVALS))
    (outcome,) = target.push(batch_of([intervals_record("T-1", DAY, "07:30/18:00")], INTERVALS, batch_id=2))
    assert outcome.ok and len((outcome.remote_id or "").split(",")) == 1, "only the new clock-in was created"
    (day,) = emulator.event_days().values()
    # The API only creates: the 09:00 clock-in stays until someone deletes it in SuccessFactors.
    assert [(m.strftime("%H:%M"), kind) for m, kind in day] == [("07:30", "P10"), ("09:00", "P10"), ("18:00", "P20")]


def test_a_refused_event_makes_its_day_a_dead_letter_and_the_rest_lands(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    emulator.refuse_user("T-2", "No Clock In Clock Out group assigned")
    records = [intervals_record(user, DAY, "09:00/18:00") for user in ("T-1", "T-2", "T-9")]
    outcomes = target.push(batch_of(records, INTERVALS))
    assert [o.ok for o in outcomes] == [True, False, False]
    assert "refused clock events of T-2 on 2025-10-06: P10 at 2025-10-06T09:00:00+05:30" in (outcomes[1].message or "")
    assert "No Clock In Clock Out group assigned" in (outcomes[1].message or "")
    assert "T-9 does not exist" in (outcomes[2].message or "")
    assert {held.assignment for held in emulator.events().values()} == {"T-1"}


def test_first_in_last_out_can_go_as_events(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    make_target(send="time_events").push(batch_of([day_record("T-1", DAY)]))
    assert len(emulator.events()) == 2 and emulator.time_data() == {}


def test_the_terminal_id_goes_with_each_event_when_configured(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    make_target(time_events={"terminal_id": "GATE-1"}).push(
        batch_of([intervals_record("T-1", DAY, "09:00/")], INTERVALS)
    )
    assert [held.terminal for held in emulator.events().values()] == ["GATE-1"]


def test_clock_events_go_as_the_user_the_terminal_client_is_bound_to(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    # SAP KBA 3146142: the OAuth client for terminal time events is bound to a technical user.
    emulator.time_event_user = "TECHNICAL_USER_CICOTERMINAL_9D3F8AC1"
    with pytest.raises(CredentialsError, match="KBA 3146142"):
        make_target().push(batch_of([intervals_record("T-1", DAY, "09:00/")], INTERVALS))
    target = make_target(time_events={"user_id": "TECHNICAL_USER_CICOTERMINAL_9D3F8AC1"})
    assert target.push(batch_of([intervals_record("T-1", DAY, "09:00/")], INTERVALS))[0].ok
    assert len(emulator.tokens_issued()) == 2, "one token per user"


# -- the mapping ---------------------------------------------------------------------------------------


def _settings(**overrides: Any) -> SuccessFactorsSettings:
    """Validated settings of a `sap_successfactors` target, as `check_columns` receives them."""
    required = {"api_server": "https://api.example.com", "company_id": "C", "client_id": "K", "user_id": "U"}
    files = {"private_key": "key.pem", "certificate": "cert.pem"}
    return SuccessFactorsSettings.model_validate({**required, **files, **overrides})


@pytest.mark.parametrize(
    ("columns", "settings", "problem"),
    [
        (["check_in", "check_out", "hours"], {}, "no column `employee`"),
        (["employee", "check_in"], {"time_type": "A"}, "no columns `check_in` and `check_out` and no `hours`"),
        (["employee", "hours"], {}, "no `time_type` setting"),
        (["employee", "intervals"], {"send": "external_time_data", "time_type": "A"}, "ExternalTimeData takes one"),
        (["employee", "check_in"], {"send": "time_events"}, "no column `intervals`"),
    ],
)
def test_a_mapping_that_does_not_fit_is_reported_before_sending(
    columns: list[str], settings: dict, problem: str
) -> None:
    problems = SuccessFactorsTarget.check_columns(columns, _settings(**settings))
    assert any(problem in text for text in problems), problems


def test_fitting_mappings_have_no_problems() -> None:
    assert SuccessFactorsTarget.check_columns(["employee", "check_in", "check_out"], _settings(time_type="A")) == []
    assert SuccessFactorsTarget.check_columns(["employee", "hours", "time_type"], _settings()) == []
    assert SuccessFactorsTarget.check_columns(["employee", "intervals"], _settings()) == []


def test_the_token_is_cached_for_the_process_and_renewed_before_it_expires(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator, clock: ManualClock
) -> None:
    for number in range(3):
        run = make_target()
        run.push(batch_of([day_record("T-1", f"2025-10-{number + 6:02d}")], batch_id=number))
        run.close()
    assert len(emulator.tokens_issued()) == 1
    clock.advance(86_400 - 30)
    assert make_target().push(batch_of([day_record("T-2", DAY)]))[0].ok
    assert len(emulator.tokens_issued()) == 2
    assert emulator.calls["upsert"] == 4, "no call was wasted on a token about to expire"


def test_an_expired_token_is_renewed_once_and_the_write_goes_through(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    target.push(batch_of([day_record("T-1", DAY)]))
    emulator.expire_tokens()
    assert target.push(batch_of([day_record("T-2", DAY)], batch_id=2))[0].ok
    assert len(emulator.tokens_issued()) == 2


def test_writes_fetch_no_csrf_token_unless_the_server_asks(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    target.push(batch_of([day_record("T-1", DAY)]))
    target.push(batch_of([intervals_record("T-1", "2025-10-07", "09:00/")], INTERVALS, batch_id=2))
    assert emulator.calls["csrf"] == 0 and emulator.calls["upsert"] == 1 and emulator.calls["time_events"] == 1


def test_a_csrf_token_is_fetched_when_asked_for_and_again_when_the_session_ends(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    emulator.csrf_required = True
    assert target.push(batch_of([day_record("T-1", DAY)]))[0].ok
    assert (emulator.calls["csrf"], emulator.calls["upsert"]) == (1, 2), "refused (403 Required), fetched, sent again"
    assert target.push(batch_of([day_record("T-2", DAY)], batch_id=2))[0].ok
    assert (emulator.calls["csrf"], emulator.calls["upsert"]) == (1, 3), "the token is kept for the session"
    emulator.end_sessions()
    assert target.push(batch_of([day_record("T-3", DAY)], batch_id=3))[0].ok
    assert (emulator.calls["csrf"], emulator.calls["upsert"]) == (2, 5)
