"""The `odoo` target the other way round: employees pulled from hr.employee, attendance read back."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
from support.odoo_days import batch, record
from support.odoo_servers import OdooRun

from punchbridge.plugin_api import Employee, HeldRecord
from punchbridge.plugins.odoo import OdooTarget
from punchbridge.plugins.odoo import readback as odoo_readback

SEEDED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
CHANGED = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def _staff(count: int) -> list[Employee]:
    return [
        Employee(
            target_id=f"B{n:03d}",
            name=f"Person {n:03d}",
            active=n % 5 != 0,
            email=f"p{n}@example.com",
            pin=str(1000 + n),
            department="Stores" if n % 2 else None,
            site="Pune Works",
            modified_at=CHANGED if n % 4 == 0 else SEEDED,
        )
        for n in range(1, count + 1)
    ]


def test_pull_pages_to_the_end_with_leavers(odoo: OdooRun) -> None:
    odoo.emulator.replace_employees(_staff(23))
    target = OdooTarget("odoo", odoo.settings(page_size=5))
    try:
        pulled = list(target.pull_employees())
    finally:
        target.close()
    assert [e.target_id for e in pulled] == [f"B{n:03d}" for n in range(1, 24)]
    assert odoo.emulator.calls[("hr.employee", "search_read")] == 5  # pages of 5, the last one short
    leaver = pulled[4]
    assert (leaver.target_id, leaver.active) == ("B005", False)
    first = pulled[0]
    assert (first.name, first.email, first.badge, first.pin, first.department, first.site) == (
        "Person 001",
        "p1@example.com",
        "B001",
        "1001",
        "Stores",
        "Pune Works",
    )
    assert pulled[1].department is None
    assert first.modified_at == SEEDED
    assert first.extra["odoo_id"] == odoo.emulator.employee_id("B001")


def test_a_full_last_page_is_followed_by_one_empty_page(odoo: OdooRun) -> None:
    odoo.emulator.replace_employees(_staff(10))
    target = OdooTarget("odoo", odoo.settings(page_size=5))
    try:
        assert len(list(target.pull_employees())) == 10
    finally:
        target.close()
    assert odoo.emulator.calls[("hr.employee", "search_read")] == 3


def test_pull_since_gives_only_the_employees_changed_after(odoo: OdooRun) -> None:
    odoo.emulator.replace_employees(_staff(23))
    target = OdooTarget("odoo", odoo.settings(page_size=5))
    try:
        changed = list(target.pull_employees(since=datetime(2025, 6, 1, 13, 30, tzinfo=UTC)))
        naive = list(target.pull_employees(since=datetime(2025, 6, 2, 8, 0)))  # naive: taken as UTC; not after
    finally:
        target.close()
    assert [e.target_id for e in changed] == [f"B{n:03d}" for n in range(4, 24, 4)]
    assert naive == []


def test_target_ids_follow_employee_by_and_keyless_employees_are_left_out(
    odoo: OdooRun, caplog: pytest.LogCaptureFixture
) -> None:
    odoo.emulator.replace_employees([*_staff(3), Employee(target_id="", name="No Badge")])
    by_id = OdooTarget("odoo", odoo.settings(employee_by="id"))
    by_barcode = OdooTarget("odoo", odoo.settings(employee_by="barcode"))
    try:
        ids = [e.target_id for e in by_id.pull_employees()]
        with caplog.at_level(logging.WARNING):
            barcodes = [e.target_id for e in by_barcode.pull_employees()]
    finally:
        by_id.close()
        by_barcode.close()
    assert ids == [str(odoo.emulator.employee_id(f"B00{n}")) for n in (1, 2, 3)] + [str(max(odoo.emulator.employees))]
    assert barcodes == ["B001", "B002", "B003"]
    assert "1 employees have no barcode and were left out" in caplog.text


def test_read_back_gives_each_day_in_the_mappings_local_form(odoo: OdooRun) -> None:
    target = OdooTarget("odoo", odoo.settings())
    sent = [record("A1"), record("A2", check_out=""), record("A1", "2025-10-07", "23:30", "")]
    try:
        target.push(batch(*sent))
        held = list(target.read_back(date(2025, 10, 6), date(2025, 10, 7)))
        only_a2 = list(target.read_back(date(2025, 10, 6), date(2025, 10, 7), employees=["A2", "NOBODY"]))
        nobody = list(target.read_back(date(2025, 10, 6), date(2025, 10, 7), employees=["NOBODY"]))
        before = list(target.read_back(date(2025, 10, 5), date(2025, 10, 5)))
    finally:
        target.close()
    by_day = {(h.employee, h.work_date): h for h in held}
    assert set(by_day) == {("A1", date(2025, 10, 6)), ("A2", date(2025, 10, 6)), ("A1", date(2025, 10, 7))}
    for day in sent:
        got = by_day[(day.fields["employee"], date.fromisoformat(day.key.split("|")[1]))]
        assert got.fields["check_in"] == day.fields["check_in"]
        assert got.fields["check_out"] == day.fields["check_out"]
    assert by_day[("A1", date(2025, 10, 6))].fields["intervals"] == (
        "2025-10-06T09:00:00+05:30/2025-10-06T18:00:00+05:30"
    )
    assert by_day[("A2", date(2025, 10, 6))].fields["intervals"] == "2025-10-06T09:00:00+05:30/"
    assert [h.employee for h in only_a2] == ["A2"]
    assert nobody == [] and before == []


def test_read_back_groups_several_intervals_by_local_day(odoo: OdooRun, monkeypatch: pytest.MonkeyPatch) -> None:
    intervals = (
        "2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30;2025-10-06T13:30:00+05:30/2025-10-06T18:00:00+05:30"
    )
    monkeypatch.setattr(odoo_readback, "READ_BACK_PAGE", 1)  # one interval a page: the pages must be joined
    target = OdooTarget("odoo", odoo.settings())
    try:
        target.push(batch(record("A1", intervals=intervals), columns=("employee", "intervals")))
        (day,) = target.read_back(date(2025, 10, 6), date(2025, 10, 6))
    finally:
        target.close()
    assert odoo.emulator.calls[("hr.attendance", "search_read")] == 1 + 3  # the push's dedup, then 3 pages
    assert day == HeldRecord(
        "A1",
        date(2025, 10, 6),
        {"check_in": "2025-10-06T09:00:00+05:30", "check_out": "2025-10-06T18:00:00+05:30", "intervals": intervals},
        day.remote_id,
    )


def test_read_back_uses_the_timezone_setting_for_days(odoo: OdooRun) -> None:
    target = OdooTarget("odoo", odoo.settings())
    utc = OdooTarget("odoo", odoo.settings(timezone="UTC"))
    try:
        target.push(batch(record("A1", "2025-10-07", "02:00", "06:00")))  # 20:30 UTC the day before
        (local,) = target.read_back(date(2025, 10, 6), date(2025, 10, 8))
        (in_utc,) = utc.read_back(date(2025, 10, 6), date(2025, 10, 8))
    finally:
        target.close()
        utc.close()
    assert local.work_date == date(2025, 10, 7)
    assert local.fields["check_in"] == "2025-10-07T02:00:00+05:30"
    assert in_utc.work_date == date(2025, 10, 6)
    assert in_utc.fields["check_in"] == "2025-10-06T20:30:00+00:00"
