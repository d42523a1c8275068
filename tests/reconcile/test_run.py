"""`run_reconcile` as the scheduler calls it: stop requests, a repair that cannot send, unmapped days."""

from __future__ import annotations

import json
from datetime import date

import pytest
from support.reconcile_world import World

from punchbridge.errors import ConfigError
from punchbridge.reconcile import ReadBackUnsupportedError, TargetNotConfiguredError


def test_the_summary_is_json_with_the_counts_an_operator_reads(world: World) -> None:
    world.salesforce.edit_record("E3|2026-10-06|day", {"Cost_Centre__c": "CC-WRONG"})

    report = world.reconcile("salesforce")

    summary = json.loads(json.dumps(report.summary()))
    assert summary["from"] == "2026-10-01" and summary["to"] == "2026-10-31"
    assert (summary["different"], summary["remaining"], summary["clean"]) == (1, 1, False)
    assert summary["differing_fields"] == {"Cost_Centre__c": 1}
    assert summary["csv"].endswith("reconcile-salesforce-2026-10-01_2026-10-31.csv")


def test_last_week_is_taken_relative_to_the_day_the_scheduler_passes(world: World) -> None:
    report = world.reconcile("odoo", period="last_week", today=date(2026, 10, 14))

    assert (report.start, report.end) == (date(2026, 10, 5), date(2026, 10, 11))
    assert report.clean and report.expected == 4 * 6  # 5-10 October computed; 11 October was not


def test_a_stop_before_reading_back_records_a_partial_run_and_writes_no_report(world: World) -> None:
    report = world.reconcile("odoo", should_stop=lambda: True)

    assert report.stopped and not report.clean
    assert report.csv_path is None and report.html_path is None
    with world.store() as store:
        run = store.last_run("reconcile")
    assert run is not None and run["status"] == "partial" and run["summary"]["stopped"] is True


def test_a_stop_after_comparing_reports_the_differences_and_leaves_the_repair_to_the_next_run(world: World) -> None:
    world.odoo.delete_attendance(world.odoo_day("E1", date(2026, 10, 2))["id"])
    calls = iter([False])  # go on at the check before reading back; stop at every later one

    report = world.reconcile("odoo", repair=True, should_stop=lambda: next(calls, True))

    assert report.stopped
    assert [(f.status, f.action) for f in report.findings if f.status != "matched"] == [("missing", "resend")]
    assert "stopped" in report.headline()
    with world.store() as store:
        assert store.ledger("odoo", ["E1|2026-10-02|day"])["content_hash"].notna().all()


def test_a_repair_the_engine_cannot_deliver_leaves_the_difference_with_the_engines_error(world: World) -> None:
    world.salesforce.delete_record("E1|2026-10-02|day")
    for _ in range(3):  # every attempt of the engine (three in tests)
        world.salesforce.fail_next("upsert", status=500, body="[]", content_type="application/json")

    report = world.reconcile("salesforce", repair=True)

    (finding,) = [f for f in report.findings if f.status != "matched"]
    assert finding.action == "not_sent"
    assert report.repair_error is not None and finding.detail == report.repair_error
    assert report.remaining == 1
    second = world.reconcile("salesforce", repair=True)  # the org is back
    assert second.clean and second.counts()["resent"] == 1


def test_days_the_mapping_holds_back_are_counted_not_expected(unsynced_world: World) -> None:
    ids = unsynced_world.config_path.parent / "ids.csv"
    ids.write_text(ids.read_text(encoding="utf-8").replace("E4,10004\n", ""), encoding="utf-8")
    unsynced_world.sync()

    report = unsynced_world.reconcile("salesforce")

    assert report.clean
    assert report.held_back == 10 and report.expected == 30
    assert report.summary()["held_back"] == 10


def test_a_mapping_without_an_employee_column_is_a_config_error(world: World) -> None:
    mapping = world.config_path.parent / "salesforce.yaml"
    text = mapping.read_text(encoding="utf-8").replace("from: target_id}", "value: ACME}")
    mapping.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError, match=r"salesforce.yaml: fields: .*no column comes from target_id or employee_id"):
        world.reconcile("salesforce")


def test_wrong_targets_are_refused_before_a_run_is_recorded(world: World) -> None:
    with pytest.raises(TargetNotConfiguredError):
        world.reconcile("nope")
    with pytest.raises(ReadBackUnsupportedError):
        world.reconcile("payroll")

    with world.store() as store:
        assert store.last_run("reconcile") is None
