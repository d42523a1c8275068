"""`punchbridge purge`: old data goes, but never what a later sync or reconciliation still needs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from support.cutoff_world import World

from punchbridge.config import load_config
from punchbridge.retention.engine import purge
from punchbridge.store.receiver import EventWrite

LATE = [("E1", "2025-10-13T09:02:00+05:30"), ("E1", "2025-10-13T18:05:00+05:30")]
#: A day more than a year after now: run data made by these tests (stamped with the real clock) is old then.
A_YEAR_ON = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
SHORT = "retention: {punches_days: 62, runs_days: 30, quarantine_days: 30}\n"


def _ns(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) * 10**9


def _purge(world: World, now: str, **options: object):
    config, _doc = load_config(world.config)
    with world.store() as store:
        return purge(config, store, now_ns=_ns(now), **options)  # type: ignore[arg-type]


def _locked_october_with_an_adjustment(world: World) -> None:
    world.write_config(extra=SHORT)
    world.sync()
    assert world.cli("period lock", "--period", "2025-10").exit_code == 0
    world.punch_file("late.csv", LATE)
    world.sync()


def test_attendance_of_locked_months_goes_and_of_open_months_stays(world: World) -> None:
    _locked_october_with_an_adjustment(world)
    report = _purge(world, "2026-06-15")
    assert report.wanted == date(2026, 4, 1)
    assert report.horizon == date(2025, 11, 1), "November is not locked: its data stays"
    assert report.held_by == "period 2025-11 is not locked for every site"
    assert report.removed["punches"] == 32 and report.removed["processed_days"] == 93
    assert report.removed["adjustments"] == 1, "the delivered adjustment of a purged day goes too"
    with world.store() as store:
        assert store.punch_count() == 0
        assert len(store.load_days(date(2025, 10, 1), date(2025, 10, 31))) == 0
        assert len(store.load_days(date(2025, 11, 1), date(2025, 11, 30))) == 90
        assert store.retention_horizon() == date(2025, 11, 1)
        assert not any(key.split("|")[1] < "2025-11" for key in store.ledger("payroll")["record_key"])
        audit = store.engine.connect().exec_driver_sql("SELECT event, detail FROM audit").all()
    assert ("retention.purged", report.summary()) in [(e, json.loads(d)) for e, d in audit]


def test_a_sync_after_a_purge_never_recomputes_or_resends_purged_days(world: World) -> None:
    _locked_october_with_an_adjustment(world)
    _purge(world, "2026-06-15")
    files = {path.name: path.read_bytes() for path in world.files("attendance")}
    world.write_config(extra=SHORT + "leaves: leaves.csv\n")  # a rules input changes: the range is recomputed
    (world.root / "leaves.csv").write_text("employee_id,date,kind,paid\n")
    output = world.sync().output
    assert "2025-11-01 to 2025-11-30" in output, "the sync starts at the horizon"
    assert {path.name: path.read_bytes() for path in world.files("attendance")} == files
    with world.store() as store:
        assert len(store.adjustments()) == 0 and len(store.load_days(date(2025, 10, 1), date(2025, 10, 31))) == 0


def test_nothing_goes_while_the_first_month_with_data_is_open(world: World) -> None:
    world.write_config(extra=SHORT)
    world.sync()
    report = _purge(world, "2026-06-15")
    assert report.horizon is None and report.held_by == "period 2025-10 is not locked for every site"
    assert "punches" not in report.removed
    with world.store() as store:
        assert store.punch_count() == 30 and store.retention_horizon() is None


def test_a_month_locked_for_one_site_only_is_not_purged(world: World) -> None:
    world.write_config(extra=SHORT)
    world.sync()
    world.cli("period lock", "--period", "2025-10", "--site", "blr")
    assert _purge(world, "2026-06-15").horizon is None
    world.cli("period lock", "--period", "2025-10", "--site", "ber")
    assert _purge(world, "2026-06-15").horizon == date(2025, 11, 1)


def test_recent_data_is_kept_even_in_locked_months(world: World) -> None:
    _locked_october_with_an_adjustment(world)
    report = _purge(world, "2025-12-20")  # 62 days back is 19 October: October is still kept whole
    assert report.wanted == date(2025, 10, 1) and report.horizon is None
    with world.store() as store:
        assert store.punch_count() == 32


def test_a_dry_run_counts_exactly_what_the_purge_then_removes(world: World) -> None:
    _locked_october_with_an_adjustment(world)
    dry = _purge(world, "2026-06-15", dry_run=True)
    with world.store() as store:
        assert store.punch_count() == 32 and store.retention_horizon() is None
    real = _purge(world, "2026-06-15")
    assert dry.removed == real.removed and dry.horizon == real.horizon


def test_run_history_goes_but_the_last_batch_of_each_period_keeps_its_number(world: World) -> None:
    _locked_october_with_an_adjustment(world)
    world.write_config(extra=SHORT + "leaves: leaves.csv\n")
    (world.root / "leaves.csv").write_text("employee_id,date,kind,paid\nE2,2025-11-03,full,true\n")
    world.sync()  # November's second file
    report = _purge(world, A_YEAR_ON)
    assert report.removed["runs"] == 3 and report.removed["batches"] == 1
    (world.root / "leaves.csv").write_text("employee_id,date,kind,paid\nE2,2025-11-04,full,true\n")
    world.sync()
    names = [path.name for path in world.files("attendance")]
    assert names[-1] == "attendance_2025-11-01_2025-11-30_0003.csv", "a purged batch's number is not given again"


def test_webhook_ids_go_after_the_replay_window_and_not_before(world: World) -> None:
    with world.store() as store:
        store.receive([EventWrite("old", "attendance.processed", "minop", "webhook")], received_at_ns=_ns("2026-06-01"))
        store.receive([EventWrite("new", "attendance.processed", "minop", "webhook")], received_at_ns=_ns("2026-06-14"))
    report = _purge(world, "2026-06-15")
    assert report.removed["webhook_events"] == 1
    with world.store() as store:
        assert not store.webhook_event_seen("old") and store.webhook_event_seen("new")


def test_a_purge_asked_to_stop_stops_between_steps_and_the_next_one_finishes(world: World) -> None:
    _locked_october_with_an_adjustment(world)
    asked = iter([False, False, True])
    stopped = _purge(world, A_YEAR_ON, should_stop=lambda: next(asked, True))
    assert stopped.stopped and set(stopped.removed) >= {"punches", "runs"} and "audit" not in stopped.removed
    finished = _purge(world, A_YEAR_ON)
    assert not finished.stopped and finished.removed["audit"] >= 1
    assert json.loads(json.dumps(finished.summary()))["total"] == finished.total


def test_the_purge_command_prints_what_went_and_what_held_it_back(world: World) -> None:
    world.write_config(extra=SHORT)
    world.sync()
    result = world.cli("purge", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "held back: period 2025-10 is not locked for every site" in result.output
    assert "would remove" in result.output
