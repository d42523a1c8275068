"""Reconciling Odoo: planted differences are found, `--repair` fixes them through the sync engine's delivery."""

from __future__ import annotations

from datetime import date

from support.reconcile_world import World
from support.report_files import csv_rows, differences, html_text

from punchbridge.reconcile import CSV_COLUMNS

OCT = date(2026, 10, 1)


def plant(world: World) -> None:
    """What people did in Odoo by hand: one day deleted, one check-in moved, one day added twice."""
    odoo = world.odoo
    odoo.delete_attendance(world.odoo_day("E1", date(2026, 10, 2))["id"])
    odoo.change_attendance(world.odoo_day("E2", date(2026, 10, 5))["id"], check_in="2026-10-05 04:17:00")
    odoo.add_attendance(odoo.employee_id("E4"), "2026-10-04 03:30:00", "2026-10-04 11:30:00")  # a Sunday off
    odoo.add_attendance(odoo.employee_id("E3"), "2026-10-20 03:30:00", "2026-10-20 11:30:00")  # not computed


def test_a_target_that_holds_what_was_computed_is_clean(world: World) -> None:
    report = world.reconcile("odoo")

    assert report.clean
    summary = report.summary()
    assert (summary["expected"], summary["matched"], summary["remaining"]) == (40, 40, 0)
    assert summary["held"] == 36  # the four Sundays off hold nothing, as computed
    assert differences(report) == set()
    assert list(csv_rows(report)[0]) == list(CSV_COLUMNS)


def test_every_planted_difference_is_found_with_the_fields_that_differ(world: World) -> None:
    plant(world)

    report = world.reconcile("odoo")

    assert not report.clean
    counts = report.counts()
    assert (counts["missing"], counts["different"], counts["extra"], counts["remaining"]) == (1, 2, 1, 4)
    assert differences(report) == {
        ("missing", "E1", "2026-10-02", "", "resend"),
        ("different", "E4", "2026-10-04", "check_in;check_out", "resend"),
        ("different", "E2", "2026-10-05", "check_in", "resend"),
        ("extra", "E3", "2026-10-20", "", "remove_in_target"),
    }
    moved = next(row for row in csv_rows(report) if row["work_date"] == "2026-10-05" and row["employee_id"] == "E2")
    assert "09:02:00+05:30" in moved["expected"] and "09:47:00+05:30" in moved["held"]
    assert moved["ledger"] == "delivered"


def test_without_repair_nothing_is_written_to_the_target(world: World) -> None:
    plant(world)
    before = world.odoo.attendances()

    report = world.reconcile("odoo")

    assert world.odoo.attendances() == before
    assert "run again with --repair" in html_text(report)


def test_repair_resends_missing_and_different_days_and_a_second_reconcile_finds_only_the_extra(world: World) -> None:
    plant(world)

    repaired = world.reconcile("odoo", repair=True)

    assert repaired.counts()["resent"] == 3
    assert repaired.remaining == 1 and not repaired.clean
    assert world.odoo_day("E1", date(2026, 10, 2))["check_in"] == "2026-10-02 03:31:00"
    assert world.odoo_day("E2", date(2026, 10, 5))["check_in"] == "2026-10-05 03:32:00"
    assert differences(repaired) >= {("missing", "E1", "2026-10-02", "", "resent")}
    again = world.reconcile("odoo")
    assert differences(again) == {("extra", "E3", "2026-10-20", "", "remove_in_target")}


def test_after_the_operator_removes_the_extra_record_the_target_is_clean(world: World) -> None:
    plant(world)
    first = world.reconcile("odoo", repair=True)
    extra = next(f for f in first.findings if f.status == "extra")
    assert extra.remote_id is not None

    world.odoo.delete_attendance(int(extra.remote_id.removeprefix("hr.attendance:")))
    final = world.reconcile("odoo")

    assert final.clean
    assert final.summary()["matched"] == 40
    assert "clean" in html_text(final)


def test_repair_goes_through_the_sync_delivery_inside_the_reconcile_run(world: World) -> None:
    plant(world)
    with world.store() as store:
        syncs_before = store.last_run("sync")
    world.odoo.fail_next(1, status=503)  # the read-back's first request

    report = world.reconcile("odoo", repair=True)

    assert report.counts()["resent"] == 3
    assert report.repair_delivery is not None and report.repair_delivery.delivered == 3
    with world.store() as store:
        ledger = store.ledger("odoo", ["E1|2026-10-02|day"])
        run = store.last_run("reconcile")
        assert store.last_run("sync") == syncs_before  # the repair is part of the reconcile run, not a sync
    assert run is not None and run["summary"]["resent"] == 3
    assert ledger["status"].tolist() == ["delivered"]
    assert ledger["attempts"].tolist() == [2]  # the first sync, then the repair
    assert ledger["last_error"].tolist() == [None]


def test_a_repair_the_target_refuses_becomes_a_dead_letter_and_the_difference_remains(world: World) -> None:
    plant(world)
    message = world.odoo.refuse_employee(world.odoo.employee_id("E1"))

    report = world.reconcile("odoo", repair=True)

    refused = next(f for f in report.findings if f.employee_id == "E1" and f.status == "missing")
    assert refused.action == "refused"
    assert message in refused.detail
    assert report.counts()["refused"] == 1
    with world.store() as store:
        letters = store.dead_letters("odoo")
    assert letters["record_key"].tolist() == ["E1|2026-10-02|day"]
    assert ("missing", "E1", "2026-10-02", "", "refused") in differences(report)


def test_each_run_is_recorded_with_its_counts(world: World) -> None:
    plant(world)

    report = world.reconcile("odoo")

    with world.store() as store:
        run = store.last_run("reconcile")
    assert run is not None and run["id"] == report.run_id
    assert run["target"] == "odoo"
    assert run["status"] == "partial"  # differences remain
    assert run["summary"]["missing"] == 1 and run["summary"]["extra"] == 1
    assert run["summary"]["differing_fields"] == {"check_in": 2, "check_out": 1}
