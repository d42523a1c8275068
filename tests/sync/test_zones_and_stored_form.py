"""Each day in its own site's zone, and what is sent equals what the target keeps (support.keeping_target).

The keeper target keeps `hours` to two decimals and says so in its stored form; a customer works in
Bangalore and in Berlin across the March 2026 DST change.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from support.keeping_target import KeeperWorld, KeepingTarget, register_keeper

from punchbridge.mapping import record_hash
from punchbridge.plugin_api.targets import Record
from punchbridge.store import Store


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeeperWorld:
    register_keeper(monkeypatch)
    return KeeperWorld(tmp_path)


def test_each_record_carries_the_zone_of_its_days_site(world: KeeperWorld) -> None:
    world.sync()
    zones = {record.key.split("|")[0]: record.timezone for record in KeepingTarget.sent}
    assert zones == {"E1": "Asia/Kolkata", "B1": "Europe/Berlin"}


def test_a_batch_a_crash_left_open_is_resent_with_the_zones_it_was_recorded_with(world: KeeperWorld) -> None:
    config, _document, _registry = world.load()
    recorded = Record("B1|2026-03-30|day", {"employee": "B1", "date": "2026-03-30"}, "h-1", timezone="Europe/Berlin")
    with Store.open(config.store) as store:
        store.open_batch("keeper", date(2026, 3, 1), date(2026, 3, 31), ["employee", "date"], [recorded])
    world.sync()
    resent = [r for r in KeepingTarget.sent if r.key == recorded.key]
    assert [(r.timezone, r.content_hash) for r in resent] == [("Europe/Berlin", "h-1")]


def test_records_are_hashed_and_sent_in_the_stored_form_so_a_rerun_sends_nothing(world: KeeperWorld) -> None:
    first = world.sync().targets[0]
    assert first.delivered == 10
    assert all(round(r.fields["hours"], 2) == r.fields["hours"] for r in KeepingTarget.sent)
    assert any(r.fields["hours"] != round(r.fields["hours"], 1) for r in KeepingTarget.sent), "two decimals kept"
    config, _document, _registry = world.load()
    with Store.open(config.store) as store:
        ledger = store.ledger("keeper")
    hashes = dict(zip(ledger["record_key"], ledger["content_hash"], strict=True))
    assert all(hashes[r.key] == record_hash(r.fields) for r in KeepingTarget.sent)
    assert world.sync().targets[0].delivered == 0


def test_a_clean_target_reconciles_with_no_difference_and_a_repair_sends_nothing(world: KeeperWorld) -> None:
    world.sync()
    sent = len(KeepingTarget.sent)
    report = world.reconcile()
    assert report.clean and report.counts()["matched"] == 10, report.counts()
    repaired = world.reconcile(repair=True)
    assert repaired.clean and repaired.repair_delivery is None
    assert len(KeepingTarget.sent) == sent, "nothing was sent"
    assert repaired.headline() == "clean: the target holds what was computed"


def test_read_back_is_told_each_employees_site_zone(world: KeeperWorld) -> None:
    world.sync()
    world.reconcile()
    assert KeepingTarget.asked[-1] == {"E1": "Asia/Kolkata", "B1": "Europe/Berlin"}


def test_a_naive_time_held_back_compares_in_the_days_own_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    register_keeper(monkeypatch)
    # The target keeps check-in as a UTC instant and shows it back as a naive wall clock in the
    # employee's zone: 08:53 in Berlin is 07:53 UTC, 09:03 in Bangalore 03:33 UTC.
    world = KeeperWorld(tmp_path, settings=", naive_read_back: true, utc_check_in: true")
    world.sync()
    assert KeepingTarget.sent[0].fields["check_in"].endswith("+00:00")
    report = world.reconcile()
    assert report.clean, [(f.target_employee, f.work_date, f.expected, f.held) for f in report.findings if f.differing]


def test_a_repair_reads_back_and_never_reports_clean_what_the_target_still_keeps_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_keeper(monkeypatch)
    world = KeeperWorld(tmp_path, settings=", system_decimals: 1")  # the system keeps less than it says
    world.sync()
    found = world.reconcile()
    assert found.counts()["different"] > 0
    repaired = world.reconcile(repair=True)
    still = [f for f in repaired.findings if f.action == "still_different"]
    assert len(still) == found.counts()["different"]
    assert not repaired.clean and "repaired" not in repaired.headline()
    assert "read back after the repair" in still[0].detail and "hours" in still[0].detail
