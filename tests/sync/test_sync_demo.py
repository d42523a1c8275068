"""The demo end to end: a month of punches becomes one payroll file, exactly once."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from click.testing import CliRunner, Result

from punchbridge.cli import main


def _sync(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["sync", "-c", str(config), *args], catch_exceptions=False)


def _payroll_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("attendance_*.csv"))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _held_open(config: Path) -> set[tuple[str, str]]:
    """The days the payroll target held open (a check-in without a check-out: open_days: hold)."""
    import sqlite3

    with sqlite3.connect(config.parent.parent / "punchbridge-demo.db") as connection:
        rows = connection.execute("SELECT employee_id, timestamp FROM quarantine WHERE reason = 'missing_check_out'")
        return set(rows.fetchall())


def test_first_sync_writes_the_payroll_file_and_manifest(demo: Path) -> None:
    result = _sync(demo)
    assert result.exit_code == 0, result.output
    assert "delivery" in result.output and "payroll" in result.output
    (payroll,) = _payroll_files(demo.parent.parent / "demo-payroll")
    assert payroll.name == "attendance_2025-10-01_2025-10-31_0001.csv"
    rows = _rows(payroll)
    held = _held_open(demo)
    assert len(held) == 63, "the month's days with a check-in and no check-out are held, not sent"
    assert len(rows) == 199 * 31 - len(held), "every other day of every mapped employee; E0200 has no payroll id"
    manifest = payroll.with_name(payroll.name + ".sha256").read_text()
    assert hashlib.sha256(payroll.read_bytes()).hexdigest() in manifest
    assert f"rows: {len(rows)}" in manifest
    assert not list(payroll.parent.glob("*.part"))


def test_second_sync_sends_nothing_and_says_so(demo: Path) -> None:
    assert _sync(demo).exit_code == 0
    folder = demo.parent.parent / "demo-payroll"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = _sync(demo)
    assert again.exit_code == 0, again.output
    assert "nothing new to send" in again.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_late_punch_changes_exactly_that_day_marked_recomputed(demo: Path) -> None:
    assert _sync(demo).exit_code == 0
    inbox = demo.parent / "demo" / "month" / "inbox"
    (inbox / "late.csv").write_text(
        "employee_id,timestamp,device_id,direction\nE0001,2025-10-07T20:30:00+05:30,BLR-GATE-2,\n"
    )
    result = _sync(demo)
    assert result.exit_code == 0, result.output
    files = _payroll_files(demo.parent.parent / "demo-payroll")
    assert [f.name for f in files][-1] == "attendance_2025-10-01_2025-10-31_0002.csv"
    (row,) = _rows(files[-1])
    assert (row["EmployeeCode"], row["Date"], row["Recomputed"]) == ("P-10001", "07/10/2025", "Y")


def test_dry_run_writes_nothing_anywhere(demo: Path) -> None:
    result = _sync(demo, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would deliver" in result.output
    assert "dry run" in result.output
    workdir = demo.parent.parent
    assert not (workdir / "demo-payroll").exists()
    assert not list(workdir.glob("punchbridge-demo.db*"))


def test_quarantine_records_each_problem_once_across_runs(demo: Path) -> None:
    import sqlite3

    assert _sync(demo).exit_code == 0
    store = demo.parent.parent / "punchbridge-demo.db"
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE cursors SET value = 'dirty' WHERE name = 'deliver:payroll'")
    assert _sync(demo).exit_code == 0  # re-checks the whole range against the ledger
    with sqlite3.connect(store) as connection:
        reasons = dict(connection.execute("SELECT reason, count(*) FROM quarantine GROUP BY reason").fetchall())
    assert reasons == {"unknown_employee": 1, "off_shift": 1, "unmapped_id": 31, "missing_check_out": 63}
