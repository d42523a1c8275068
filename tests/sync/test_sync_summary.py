"""What a sync's summary says about records it did not send: why days were held back, and a recomputed
day whose record the target already holds."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from punchbridge.cli import main


def _sync(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["sync", "-c", str(config), *args], catch_exceptions=False)


def test_held_back_days_are_explained_by_reason_with_the_command_that_lists_them(demo: Path) -> None:
    result = _sync(demo)
    assert result.exit_code == 0, result.output
    # The demo's E0200 has no payroll id on purpose: its 31 days are held back as unmapped.
    assert "payroll: 31 day(s) held back (31 unmapped employee id(s): no entry in the mapping's id table)" in (
        result.output
    )
    assert f"`punchbridge mappings check -c {demo} --target payroll` lists them" in result.output


def test_a_dry_run_explains_held_back_days_too(demo: Path) -> None:
    result = _sync(demo, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "payroll: 31 day(s) held back (31 unmapped employee id(s)" in result.output


def test_a_recomputed_day_with_the_same_record_says_so(demo: Path) -> None:
    assert _sync(demo).exit_code == 0
    inbox = demo.parent / "demo" / "month" / "inbox"
    # A second check-in a few seconds after the first: the day is recomputed (one more punch), but
    # every payroll column stays as it was delivered.
    (inbox / "late.csv").write_text(
        "employee_id,timestamp,device_id,direction\nE0001,2025-10-07T06:53:00+05:30,BLR-GATE-2,\n"
    )
    result = _sync(demo)
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output
    assert "payroll: 1 day(s) recomputed, same record as delivered: nothing new to send" in result.output
    assert "day(s) held back (" not in result.output, "only the recomputed day was a candidate"


def test_a_quiet_second_sync_still_says_nothing_new_to_send(demo: Path) -> None:
    assert _sync(demo).exit_code == 0
    again = _sync(demo)
    assert "payroll: nothing new to send" in again.output
    assert "recomputed" not in again.output
