"""The whole sync on a PostgreSQL store: first run, a rerun that sends nothing, one late punch."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from punchbridge.cli import main
from punchbridge.testing.postgres import PostgresServer


def test_demo_sync_on_postgresql_delivers_once_and_then_only_the_change(
    demo: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database()
    demo.write_text(demo.read_text().replace("store: sqlite:///../punchbridge-demo.db", f"store: {url}"))
    payroll = demo.parent.parent / "demo-payroll"

    first = CliRunner().invoke(main, ["sync", "-c", str(demo)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert [p.name for p in sorted(payroll.glob("*.csv"))] == ["attendance_2025-10-01_2025-10-31_0001.csv"]
    assert not list(demo.parent.parent.glob("*.db")), "the store is PostgreSQL, not a SQLite file"

    again = CliRunner().invoke(main, ["sync", "-c", str(demo)], catch_exceptions=False)
    assert "nothing new to send" in again.output

    inbox = demo.parent / "demo" / "month" / "inbox"
    (inbox / "late.csv").write_text(
        "employee_id,timestamp,device_id,direction\nE0001,2025-10-07T20:30:00+05:30,BLR-GATE-2,\n"
    )
    late = CliRunner().invoke(main, ["sync", "-c", str(demo)], catch_exceptions=False)
    assert late.exit_code == 0, late.output
    newest = sorted(payroll.glob("*.csv"))[-1]
    assert newest.name.endswith("_0002.csv"), late.output
    lines = newest.read_text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("P-10001,07/10/2025") and lines[1].endswith(",Y")
