"""The `odoo` target places each day in its own site's zone, and sends what Odoo stores.

Odoo stores naive UTC: the zone only decides which local day a stored attendance belongs to. A
customer with sites in Asia/Kolkata and Europe/Berlin needs one target, each record carrying its
site's zone (`Record.timezone`); the target's `timezone` is only an override.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from support.odoo_days import batch, held
from support.odoo_servers import OdooRun

from punchbridge.plugin_api import Record
from punchbridge.plugins.odoo import OdooSettings, OdooTarget

ZONES = {"A1": "Asia/Kolkata", "A2": "Europe/Berlin"}


def _day(employee: str, work_date: str, check_in: str, check_out: str = "", **fields: Any) -> Record:
    """A record of `employee`'s site, its times with their offsets, carrying the site's zone as the engine sets it."""
    values = {"employee": employee, "check_in": check_in, "check_out": check_out, **fields}
    return Record(f"{employee}|{work_date}|day", values, f"hash-{employee}-{work_date}-{check_in}", ZONES[employee])


@pytest.fixture
def target(odoo: OdooRun) -> Iterator[OdooTarget]:
    odoo_target = OdooTarget("odoo", odoo.settings(timezone=None))  # no override: every site its own zone
    yield odoo_target
    odoo_target.close()


def test_a_multi_site_read_back_puts_each_attendance_on_its_employees_local_day(
    target: OdooTarget, odoo: OdooRun
) -> None:
    bangalore = _day("A1", "2025-10-07", "2025-10-07T02:00:00+05:30", "2025-10-07T10:00:00+05:30")  # 20:30 UTC the 6th
    berlin = _day("A2", "2025-10-06", "2025-10-06T23:30:00+02:00", "2025-10-07T06:00:00+02:00")  # 21:30 UTC the 6th
    assert all(o.ok for o in target.push(batch(bangalore, berlin)))

    days = {(h.employee, h.work_date): h for h in target.read_back(date(2025, 10, 6), date(2025, 10, 7), zones=ZONES)}

    assert set(days) == {("A1", date(2025, 10, 7)), ("A2", date(2025, 10, 6))}
    assert days[("A1", date(2025, 10, 7))].fields["check_in"] == "2025-10-07T02:00:00+05:30"
    assert days[("A2", date(2025, 10, 6))].fields["check_in"] == "2025-10-06T23:30:00+02:00"
    assert days[("A2", date(2025, 10, 6))].fields["intervals"] == "2025-10-06T23:30:00+02:00/2025-10-07T06:00:00+02:00"
    # Read in UTC (no zones given, no override) both would land on the 6th.
    in_utc = {(h.employee, h.work_date) for h in target.read_back(date(2025, 10, 6), date(2025, 10, 7))}
    assert in_utc == {("A1", date(2025, 10, 6)), ("A2", date(2025, 10, 6))}


def test_a_changed_night_in_berlin_finds_its_interval_in_the_berlin_day(target: OdooTarget, odoo: OdooRun) -> None:
    night = _day("A2", "2025-10-27", "2025-10-27T00:30:00+01:00", "2025-10-27T08:00:00+01:00")  # 23:30 UTC the 26th
    (first,) = target.push(batch(night))
    later = _day("A2", "2025-10-27", "2025-10-27T00:45:00+01:00", "2025-10-27T08:00:00+01:00")

    (moved,) = target.push(batch(later))

    assert moved.ok and moved.remote_id == first.remote_id, "the night's interval moved, not doubled"
    assert held(odoo, "A2") == [("2025-10-26 23:45:00", "2025-10-27 07:00:00")]
    assert odoo.emulator.calls[("hr.attendance", "write")] == 1


def test_days_across_berlins_spring_change_read_back_with_their_own_offsets(target: OdooTarget) -> None:
    before = _day("A2", "2026-03-28", "2026-03-28T09:00:00+01:00", "2026-03-28T17:00:00+01:00")
    after = _day("A2", "2026-03-30", "2026-03-30T09:00:00+02:00", "2026-03-30T17:00:00+02:00")
    target.push(batch(before, after))

    days = {
        h.work_date: h.fields["check_in"] for h in target.read_back(date(2026, 3, 28), date(2026, 3, 30), zones=ZONES)
    }

    assert days == {date(2026, 3, 28): "2026-03-28T09:00:00+01:00", date(2026, 3, 30): "2026-03-30T09:00:00+02:00"}


def test_the_timezone_setting_overrides_every_records_zone(odoo: OdooRun) -> None:
    target = OdooTarget("odoo", odoo.settings(timezone="UTC"))
    bangalore = _day("A1", "2025-10-07", "2025-10-07T02:00:00+05:30", "2025-10-07T10:00:00+05:30")
    try:
        target.push(batch(bangalore))
        (day,) = target.read_back(date(2025, 10, 6), date(2025, 10, 7), zones=ZONES)
    finally:
        target.close()
    assert (day.work_date, day.fields["check_in"]) == (date(2025, 10, 6), "2025-10-06T20:30:00+00:00")


def test_what_is_sent_is_what_odoo_stores_whole_seconds(target: OdooTarget, odoo: OdooRun) -> None:
    settings = OdooSettings.model_validate({"url": "https://o.example.com", "database": "d", "api_key": "k"})
    fine = {"employee": "A1", "check_in": "2025-10-06T09:00:00.750000+05:30", "check_out": "2025-10-06T18:00:00+05:30"}
    stored = OdooTarget.stored_form(fine, settings)
    assert stored["check_in"] == "2025-10-06T09:00:00+05:30"
    assert stored["check_out"] is fine["check_out"]
    intervals = {
        "employee": "A1",
        "intervals": "2025-10-06T09:00:00.2+05:30/2025-10-06T13:00:00.9+05:30;2025-10-06T14:00:00+05:30/",
    }
    assert OdooTarget.stored_form(intervals, settings)["intervals"] == (
        "2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30;2025-10-06T14:00:00+05:30/"
    )
    whole = {"employee": "A1", "check_in": "2025-10-06T09:00:00+05:30", "check_out": ""}
    assert OdooTarget.stored_form(whole, settings) is whole, "a record already whole keeps its text and its hash"

    target.push(batch(Record("A1|2025-10-06|day", dict(stored), "h", "Asia/Kolkata")))
    (day,) = target.read_back(date(2025, 10, 6), date(2025, 10, 6), zones=ZONES)
    assert (day.fields["check_in"], day.fields["check_out"]) == (stored["check_in"], stored["check_out"])


def test_a_worked_hours_column_is_refused_before_anything_is_sent() -> None:
    settings = OdooSettings.model_validate({"url": "https://o.example.com", "database": "d", "api_key": "k"})
    (problem,) = OdooTarget.check_columns(["employee", "check_in", "check_out", "worked_hours"], settings)
    assert "Odoo computes worked hours itself" in problem and "lunch" in problem
