"""Reconciling Salesforce: a wrong cost centre, changed values, a deleted day and extra records."""

from __future__ import annotations

from support.reconcile_world import World
from support.report_files import csv_rows, differences, html_text


def plant(world: World) -> None:
    """What people did in the org: a day deleted, minutes and status changed, a cost centre rewritten,
    a second record for a day punchbridge wrote, a record for a day punchbridge never computed."""
    org = world.salesforce
    org.delete_record("E1|2026-10-02|day")
    org.edit_record("E2|2026-10-05|day", {"Worked_Minutes__c": 999, "Status__c": "absent"})
    org.edit_record("E3|2026-10-06|day", {"Cost_Centre__c": "CC-WRONG"})
    org.add_record(
        {"Punchbridge_Key__c": "manual-1", "Employee_Id__c": "10004", "Work_Date__c": "2026-10-07",
         "Status__c": "present", "Worked_Minutes__c": 480, "Cost_Centre__c": "CC-OPS"}
    )  # fmt: skip
    org.add_record({"Punchbridge_Key__c": "manual-2", "Employee_Id__c": "10002", "Work_Date__c": "2026-10-20"})


def test_every_planted_difference_is_found_including_the_wrong_cost_centre(world: World) -> None:
    plant(world)

    report = world.reconcile("salesforce")

    counts = report.counts()
    assert (counts["missing"], counts["different"], counts["extra"], counts["matched"]) == (1, 2, 2, 37)
    assert differences(report) == {
        ("missing", "E1", "2026-10-02", "", "resend"),
        ("different", "E2", "2026-10-05", "Status__c;Worked_Minutes__c", "resend"),
        ("different", "E3", "2026-10-06", "Cost_Centre__c", "resend"),
        ("extra", "E4", "2026-10-07", "", "remove_in_target"),
        ("extra", "E2", "2026-10-20", "", "remove_in_target"),
    }
    assert report.differing_fields() == {"Status__c": 1, "Worked_Minutes__c": 1, "Cost_Centre__c": 1}
    wrong = next(row for row in csv_rows(report) if row["fields_differing"] == "Cost_Centre__c")
    assert '"CC-LOG"' in wrong["expected"] and '"CC-WRONG"' in wrong["held"]
    page = html_text(report)
    assert "Cost_Centre__c" in page and "CC-WRONG" in page and "CC-LOG" in page


def test_the_duplicate_is_the_record_punchbridge_did_not_write(world: World) -> None:
    plant(world)
    written = world.salesforce.record("E4|2026-10-07|day")
    assert written is not None

    report = world.reconcile("salesforce")

    duplicate = next(f for f in report.findings if f.status == "extra" and f.work_date.day == 7)
    kept = next(f for f in report.findings if f.record_key == "E4|2026-10-07|day")
    assert kept.status == "matched" and kept.remote_id == written["Id"]
    assert duplicate.remote_id != written["Id"]
    assert "duplicate" in duplicate.note
    assert any("duplicate" in row["detail"] for row in csv_rows(report) if row["status"] == "extra")


def test_repair_restores_values_and_cost_centre_flagged_as_recomputed(world: World) -> None:
    plant(world)

    report = world.reconcile("salesforce", repair=True)

    assert report.counts()["resent"] == 3 and report.remaining == 2
    org = world.salesforce
    restored = org.record("E1|2026-10-02|day")
    assert restored is not None and restored["Cost_Centre__c"] == "CC-OPS"
    corrected = org.record("E3|2026-10-06|day")
    assert corrected is not None and corrected["Cost_Centre__c"] == "CC-LOG"
    assert corrected["Recomputed__c"] is True  # Salesforce is told this replaces an earlier version
    changed = org.record("E2|2026-10-05|day")
    assert changed is not None and changed["Status__c"] == "present" and changed["Worked_Minutes__c"] != 999
    again = world.reconcile("salesforce")
    assert {row[0] for row in differences(again)} == {"extra"}


def test_after_the_extras_are_removed_in_salesforce_a_second_reconcile_is_clean(world: World) -> None:
    plant(world)
    world.reconcile("salesforce", repair=True)

    world.salesforce.delete_record("manual-1")
    world.salesforce.delete_record("manual-2")
    final = world.reconcile("salesforce")

    assert final.clean
    assert final.counts()["matched"] == 40
    assert differences(final) == set()


def test_odoo_and_salesforce_are_reconciled_independently(world: World) -> None:
    world.salesforce.edit_record("E3|2026-10-06|day", {"Cost_Centre__c": "CC-WRONG"})

    odoo = world.reconcile("odoo")
    salesforce = world.reconcile("salesforce")

    assert odoo.clean
    assert not salesforce.clean
    assert odoo.csv_path != salesforce.csv_path
    assert odoo.csv_path is not None and odoo.csv_path.name == "reconcile-odoo-2026-10-01_2026-10-31.csv"
