"""Each day in its own site's zone, and values as SuccessFactors keeps them, so read-back matches what was sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from support.sap_builders import INTERVALS, batch_of, day_record, intervals_record

from punchbridge.plugin_api import Employee, Record
from punchbridge.plugins.sap.successfactors import SuccessFactorsSettings, SuccessFactorsTarget
from punchbridge.testing.emulators.sap import SapEmulator

DAY = "2025-10-06"


def _settings(**overrides: Any) -> SuccessFactorsSettings:
    required = {"api_server": "https://api.example.com", "company_id": "C", "client_id": "K", "user_id": "U"}
    return SuccessFactorsSettings.model_validate(
        {**required, "private_key": "k.pem", "certificate": "c.pem", **overrides}
    )


# -- zones ----------------------------------------------------------------------------------------------


def test_each_day_is_written_in_its_own_sites_zone(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    emulator.seed_employees([Employee("B-1", "Berlin Day")])
    # The same instants as UTC texts; the records' sites say where the wall clock is.
    blr = day_record("T-1", DAY, "03:32", "12:45", offset="+00:00", timezone="Asia/Kolkata")
    ber = day_record("B-1", DAY, "07:00", "15:30", offset="+00:00", timezone="Europe/Berlin")
    assert all(o.ok for o in target.push(batch_of([blr, ber])))
    held = emulator.time_data()
    assert (held["PB-T-1-20251006-day"]["startTime"], held["PB-T-1-20251006-day"]["endTime"]) == (
        "PT09H02M00S",
        "PT18H15M00S",
    )
    assert (held["PB-B-1-20251006-day"]["startTime"], held["PB-B-1-20251006-day"]["endTime"]) == (
        "PT09H00M00S",
        "PT17H30M00S",
    )


def test_a_night_shift_over_the_dst_change_keeps_both_wall_clocks(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    emulator.seed_employees([Employee("B-1", "Berlin Night")])
    record = day_record("B-1", "2025-03-29", "21:00", "", offset="+00:00", timezone="Europe/Berlin", hours=8)
    record.fields["check_out"] = "2025-03-30T04:00:00+00:00"  # type: ignore[index]
    assert target.push(batch_of([record]))[0].ok
    (held,) = emulator.time_data().values()
    assert (held["startTime"], held["endTime"]) == ("PT22H00M00S", "PT06H00M00S")  # +01:00 then +02:00
    assert held["endDate"] == "/Date(1743292800000)/"  # 30 March


def test_the_timezone_setting_overrides_every_site(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    record = day_record("T-1", DAY, "09:02", "18:15", timezone="Asia/Kolkata")
    make_target(timezone="UTC").push(batch_of([record]))
    assert emulator.time_data()["PB-T-1-20251006-day"]["startTime"] == "PT03H32M00S"


def test_without_a_zone_the_times_keep_their_own_offset(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    target.push(batch_of([day_record("T-1", DAY, "09:02", "18:15")]))  # no site zone known (timezone None)
    assert emulator.time_data()["PB-T-1-20251006-day"]["startTime"] == "PT09H02M00S"


def test_clock_events_carry_the_sites_offset(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    record = intervals_record("T-1", DAY, "03:30/12:30", offset="+00:00", timezone="Asia/Kolkata")
    (outcome,) = target.push(batch_of([record], INTERVALS))
    assert outcome.ok
    (day,) = emulator.event_days().values()
    assert [moment.isoformat() for moment, _ in day] == ["2025-10-06T09:00:00+05:30", "2025-10-06T18:00:00+05:30"]


# -- precision ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "stored"),
    [
        (505 / 60, 8.42),
        (500 / 60, 8.33),
        (8.125, 8.13),
        (8, 8.0),
        ("8.416", "8.42"),
        ("7,5", "7.50"),
        (None, None),
        ("lots", "lots"),
    ],
)
def test_the_stored_form_has_hours_at_two_decimals(hours: Any, stored: Any) -> None:
    assert SuccessFactorsTarget.stored_form({"hours": hours}, _settings())["hours"] == stored


def test_the_decimal_scale_is_a_setting() -> None:
    assert SuccessFactorsTarget.stored_form({"hours": 505 / 60}, _settings(hours_decimals=1))["hours"] == 8.4


def test_the_stored_form_keeps_times_to_the_second() -> None:
    fields = {
        "check_in": "2025-10-06T09:02:07.431000+05:30",
        "check_out": "2025-10-06T18:15:00+05:30",
        "intervals": "2025-10-06T09:02:07.431000+05:30/2025-10-06T13:00:00.999000+05:30;2025-10-06T13:45:00+05:30/",
        "time_type": "ATTENDANCE",
    }
    stored = SuccessFactorsTarget.stored_form(fields, _settings())
    assert stored == {
        "check_in": "2025-10-06T09:02:07+05:30",
        "check_out": "2025-10-06T18:15:00+05:30",
        "intervals": "2025-10-06T09:02:07+05:30/2025-10-06T13:00:00+05:30;2025-10-06T13:45:00+05:30/",
        "time_type": "ATTENDANCE",
    }


@pytest.mark.parametrize("minutes", [455, 500, 505, 517, 533, 541])
def test_what_is_sent_is_what_successfactors_reads_back(
    target: SuccessFactorsTarget, emulator: SapEmulator, minutes: int
) -> None:
    # The trial found 414 days different: every day whose hours have more than 2 decimals.
    record = day_record("T-1", DAY, "09:02", "18:15", hours=minutes / 60, timezone="Asia/Kolkata")
    stored = Record(record.key, target.stored_form(record.fields, target.settings), "h", timezone="Asia/Kolkata")
    assert target.push(batch_of([stored]))[0].ok
    (held,) = target.read_back(date(2025, 10, 6), date(2025, 10, 6), zones={"T-1": "Asia/Kolkata"})
    assert {name: held.fields[name] for name in ("check_in", "check_out", "hours")} == {
        name: stored.fields[name] for name in ("check_in", "check_out", "hours")
    }


def test_unrounded_hours_go_at_the_scale_successfactors_keeps(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    target.push(batch_of([day_record("T-1", DAY, hours=505 / 60)]))
    assert emulator.time_data()["PB-T-1-20251006-day"]["hours"] == "8.42"
