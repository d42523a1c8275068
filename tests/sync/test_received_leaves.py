"""Leaves approved in the cloud (`leave.approved` webhooks, kept in the store) reach the rules engine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner

from punchbridge.cli import main
from punchbridge.config import load_config
from punchbridge.store import Store
from punchbridge.store.receiver import EventWrite, LeaveWrite


def _sync(config: Path) -> None:
    result = CliRunner().invoke(main, ["sync", "-c", str(config)])
    assert result.exit_code == 0, result.output


def _store_url(config: Path) -> str:
    """The store the configuration names, its SQLite file read from the configuration's folder."""
    return load_config(config)[0].store


def _approve(config: Path, event_id: str, *leaves: LeaveWrite) -> None:
    with Store.open(_store_url(config)) as store:
        store.receive([EventWrite(event_id, "leave.approved", "minop", "webhook", effects=leaves)])


def _day(config: Path, employee: str, day: str) -> dict:
    with Store.open(_store_url(config)) as store:
        days = store.load_days(date.fromisoformat(day), date.fromisoformat(day))
    return days[days["employee_id"] == employee].iloc[0].to_dict()


def test_a_leave_approved_after_the_first_sync_changes_that_day_and_is_delivered(demo: Path) -> None:
    _sync(demo)
    before = _day(demo, "E0002", "2025-10-15")
    assert before["status"] == "present" and before["lop_days"] == 0

    _approve(demo, "evt-leave-1", LeaveWrite("E0002", date(2025, 10, 15), "full", False))
    _sync(demo)

    after = _day(demo, "E0002", "2025-10-15")
    assert after["leave_days"] == 1 and after["lop_days"] == 1
    assert "worked_on_leave" in after["anomalies"]  # E0002 punched that day: flagged, not hidden
    second = Path("demo-payroll/attendance_2025-10-01_2025-10-31_0002.csv").read_text().splitlines()
    assert len(second) == 2, "exactly the changed day is sent again"
    assert "15/10/2025" in second[1]


def test_the_leaves_file_wins_over_a_received_leave_for_the_same_day(demo: Path) -> None:
    _approve(demo, "evt-leave-2", LeaveWrite("E0003", date(2025, 10, 14), "first_half", False))
    _sync(demo)
    day = _day(demo, "E0003", "2025-10-14")
    assert day["status"] == "on_leave"  # the file's full paid day, not the received unpaid half day
    assert day["leave_days"] == 1 and day["lop_days"] == 0


def test_a_received_leave_of_an_employee_not_in_the_employees_file_is_ignored(demo: Path) -> None:
    _approve(demo, "evt-leave-3", LeaveWrite("E9999", date(2025, 10, 15), "full", True))
    _sync(demo)
    with Store.open(_store_url(demo)) as store:
        days = store.load_days(date(2025, 10, 15), date(2025, 10, 15))
    assert "E9999" not in set(days["employee_id"])
