"""Days of a locked payroll period are reported as `locked` and never repaired."""

from __future__ import annotations

from datetime import date

from support.reconcile_world import World
from support.report_files import differences, html_text


def plant(world: World) -> None:
    """E1 (site blr) and E4 (site pune) each lose a day in Odoo; E4's cost centre in Salesforce is rewritten."""
    world.odoo.delete_attendance(world.odoo_day("E1", date(2026, 10, 2))["id"])
    world.odoo.delete_attendance(world.odoo_day("E4", date(2026, 10, 2))["id"])
    world.salesforce.edit_record("E4|2026-10-06|day", {"Cost_Centre__c": "CC-WRONG"})


def test_a_difference_in_a_period_locked_for_the_employees_site_is_locked_not_resent(world: World) -> None:
    plant(world)
    world.lock("pune", "2026-10")

    report = world.reconcile("odoo", repair=True)

    assert differences(report) == {
        ("missing", "E1", "2026-10-02", "", "resent"),
        ("missing", "E4", "2026-10-02", "", "locked"),
    }
    assert report.counts()["locked"] == 1 and report.remaining == 1
    world.odoo_day("E1", date(2026, 10, 2))  # repaired
    assert not [
        a for a in world.odoo.attendances(world.odoo.employee_id("E4")) if a["check_in"].startswith("2026-10-02")
    ]
    with world.store() as store:
        ledger = store.ledger("odoo", ["E4|2026-10-02|day"])
    assert ledger["content_hash"].notna().all()  # not marked: nothing will resend it
    assert "1 locked" in html_text(report)


def test_a_lock_of_every_site_locks_every_difference(world: World) -> None:
    plant(world)
    world.lock("*", "2026-10")
    before = world.salesforce.record("E4|2026-10-06|day")

    report = world.reconcile("salesforce", repair=True)

    assert differences(report) == {("different", "E4", "2026-10-06", "Cost_Centre__c", "locked")}
    assert report.counts()["resent"] == 0
    assert world.salesforce.record("E4|2026-10-06|day") == before


def test_a_lock_of_another_month_changes_nothing(world: World) -> None:
    plant(world)
    world.lock("*", "2026-09")

    report = world.reconcile("salesforce", repair=True)

    assert report.clean
    assert report.counts()["resent"] == 1
    corrected = world.salesforce.record("E4|2026-10-06|day")
    assert corrected is not None and corrected["Cost_Centre__c"] == "CC-OPS"
