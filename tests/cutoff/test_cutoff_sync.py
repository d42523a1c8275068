"""The cut-off in a sync: a locked period is never rewritten; late changes become one adjustment each."""

from __future__ import annotations

from datetime import date

from support.cutoff_world import World

from punchbridge.config import load_config
from punchbridge.plugin_api.registry import load_plugins
from punchbridge.store.receiver import EventWrite, LeaveWrite, PeriodLockWrite
from punchbridge.sync import SyncEngine

LATE = [("E1", "2025-10-13T09:02:00+05:30"), ("E1", "2025-10-13T18:05:00+05:30")]


def _lock(world: World, period: str, site: str = "*") -> None:
    result = world.cli("period lock", "--period", period, "--site", site)
    assert result.exit_code == 0, result.output


def _attendance_bytes(world: World) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in world.files("attendance")}


def test_a_late_punch_for_a_locked_day_changes_nothing_in_the_target_and_gives_one_adjustment(world: World) -> None:
    world.sync()
    before = _attendance_bytes(world)
    _lock(world, "2025-10")

    world.punch_file("late.csv", LATE)
    output = world.sync().output

    assert _attendance_bytes(world) == before, "no attendance file written or changed for the locked month"
    assert world.day("E1", "2025-10-13")["status"] == "absent", "the store keeps the day as the period closed"
    (adjustment_file,) = world.files("adjustments")
    assert adjustment_file.name == "adjustments_2025-11-01_2025-11-30_0001.csv", "posted in the next open period"
    assert world.rows("adjustments") == [
        {
            "EmployeeCode": "E1",
            "WorkDate": "13/10/2025",
            "Status": "present",
            "WorkedHoursDelta": "9.05",
            "LeaveDaysDelta": "0.0",
            "LOPDelta": "-1.0",
        }
    ]
    assert "1 adjustment(s) recorded" in output and "sent 1 adjustment(s)" in output

    world.sync()  # a rerun
    world.write_config(extra="leaves: leaves.csv\n")  # a rules input changes: every day is recomputed
    (world.root / "leaves.csv").write_text("employee_id,date,kind,paid\nE2,2025-11-03,full,true\n")
    world.sync()
    assert len(world.rows("adjustments")) == 1, "seeing the same late punch again records nothing twice"
    assert _attendance_bytes(world).keys() == {*before, "attendance_2025-11-01_2025-11-30_0002.csv"}
    with world.store() as store:
        assert len(store.adjustments()) == 1


def test_a_second_late_change_of_the_same_day_adjusts_from_the_first_adjustment(world: World) -> None:
    world.sync()
    _lock(world, "2025-10")
    world.punch_file("late.csv", LATE)
    world.sync()
    world.punch_file("later.csv", [("E1", "2025-10-13T08:30:00+05:30")])  # one more punch that day
    world.sync()
    with world.store() as store:
        first, second = store.adjustments()
    assert (first.seq, second.seq) == (1, 2)
    assert second.before == first.after, "the second correction starts where the first left the payroll"
    rows = world.rows("adjustments")
    assert len(rows) == 2 and [p.name[-8:] for p in world.files("adjustments")] == ["0001.csv", "0002.csv"]
    worked = (second.after["worked_minutes"] - first.after["worked_minutes"]) / 60
    assert float(rows[1]["WorkedHoursDelta"]) == round(worked, 2) != 0


def test_an_approved_leave_for_a_locked_day_becomes_an_adjustment_of_leave_and_lop(world: World) -> None:
    world.sync()
    _lock(world, "2025-10")
    with world.store() as store:
        store.receive(
            [
                EventWrite(
                    "evt-1",
                    "leave.approved",
                    "minop",
                    "webhook",
                    effects=(LeaveWrite("E2", date(2025, 10, 14), "full", True),),
                )
            ]
        )
    world.sync()
    (row,) = world.rows("adjustments")
    assert (row["EmployeeCode"], row["WorkDate"], row["Status"]) == ("E2", "14/10/2025", "on_leave")
    assert (row["LeaveDaysDelta"], row["LOPDelta"]) == ("1.0", "-1.0")


def test_a_lock_from_the_cloud_webhook_holds_like_one_from_the_command(world: World) -> None:
    world.sync()
    with world.store() as store:
        lock = PeriodLockWrite(site="blr", period="2025-10", locked_at="2025-11-03T10:00:00Z")
        store.receive([EventWrite("evt-lock", "payroll.cutoff.locked", "minop", "webhook", effects=(lock,))])
    world.punch_file("late.csv", [*LATE, ("E3", "2025-10-13T09:00:00+02:00"), ("E3", "2025-10-13T17:00:00+02:00")])
    world.sync()
    assert [r["EmployeeCode"] for r in world.rows("adjustments")] == ["E1"], "only the locked site's day is adjusted"
    unlocked = (world.root / "out" / "attendance_2025-10-01_2025-10-31_0002.csv").read_text()
    assert "E3,13/10/2025,present" in unlocked, "Berlin's October is open: its late day is sent as usual"


def test_an_adjustment_goes_to_the_first_open_period_after_locked_ones(world: World) -> None:
    world.sync()
    _lock(world, "2025-10")
    _lock(world, "2025-11", "blr")
    world.punch_file("late.csv", LATE)
    world.sync()
    assert [p.name for p in world.files("adjustments")] == ["adjustments_2025-12-01_2025-12-31_0001.csv"]


def test_without_an_adjustments_target_adjustments_wait_and_the_report_says_so(world: World) -> None:
    world.write_config(adjustments=False)
    world.sync()
    _lock(world, "2025-10")
    world.punch_file("late.csv", LATE)
    output = world.sync().output
    assert "1 adjustment(s) not delivered yet" in output
    assert world.files("adjustments") == []

    world.write_config(adjustments=True)
    world.sync()
    assert len(world.rows("adjustments")) == 1, "delivered once a target is configured"


def test_a_dry_run_shows_the_adjustment_it_would_record_and_writes_nothing(world: World) -> None:
    world.sync()
    _lock(world, "2025-10")
    world.punch_file("late.csv", LATE)
    output = world.sync("--dry-run").output
    assert "1 adjustment(s) would be recorded" in output
    with world.store() as store:
        assert store.adjustments() == []
    assert world.files("adjustments") == []


def test_a_locked_day_the_target_never_received_is_not_added_to_the_closed_period(world: World) -> None:
    world.write_config(targets="")  # no day target yet: the days are computed and stored only
    world.sync()
    _lock(world, "2025-10")
    world.write_config()
    output = world.sync().output
    assert [p.name for p in world.files("attendance")] == ["attendance_2025-11-01_2025-11-30_0001.csv"]
    assert "93 record(s) of locked periods not sent" in output


def test_an_adjustments_target_that_is_not_configured_is_reported_with_its_line(world: World) -> None:
    text = world.config.read_text().replace("adjustments: {target: adjustments}", "adjustments: {target: payrol}")
    world.config.write_text(text)
    result = world.cli("sync")
    assert result.exit_code == 2
    line = text.splitlines().index("adjustments: {target: payrol}") + 1
    assert f"config.yaml:{line}" in result.output and "'payrol', which is not configured" in result.output


def test_the_engine_reports_locked_and_adjustment_counts_for_other_callers(world: World) -> None:
    world.sync()
    _lock(world, "2025-10")
    world.punch_file("late.csv", LATE)
    config, document = load_config(world.config)
    with world.store() as store:
        report = SyncEngine(config, document, load_plugins(), store).run(
            ["payroll"], date(2025, 10, 1), date(2025, 10, 31)
        )
    assert (report.days_locked, report.adjustments_recorded, report.adjustments_waiting) == (1, 1, 1)
    assert [(t.name, t.locked, t.delivered) for t in report.targets] == [("payroll", 0, 0)]
