"""The first sync from the Minop cloud backfills page by page: on a terminal a bar counts the punches
read so far (the cloud does not say how many there are); in a pipe nothing is drawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.minop_kit import invoke, write_config
from support.terminal import fake_terminal

from punchbridge.testing.emulators.minop import MinopEmulator

YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)


@pytest.fixture
def config(emulator: MinopEmulator, cloud, tmp_path: Path) -> Path:
    emulator.add_device("dev1", timezone="Asia/Kolkata")
    start = datetime(YESTERDAY.year, YESTERDAY.month, YESTERDAY.day, 3, 0, tzinfo=UTC)
    for n in range(6):
        emulator.scan("dev1", "1001" if n % 2 else "1002", start + timedelta(minutes=30 * n))
    settings = emulator.source_settings(cloud.url) | {"page_size": 2}  # three pages
    return write_config(tmp_path, settings, [("1001", "blr"), ("1002", "blr")], sync_range=(YESTERDAY.isoformat(),) * 2)


def test_a_backfill_on_a_terminal_counts_the_punches_read(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = fake_terminal(monkeypatch)
    result = invoke("sync", "-c", config)
    assert result.exit_code in (0, 3), result.output
    assert "6 new punch(es)" in result.output
    drawn = screen.getvalue()
    assert "reading minop" in drawn and "6/?" in drawn


def test_a_backfill_in_a_pipe_draws_nothing(config: Path) -> None:
    result = invoke("sync", "-c", config)
    assert result.exit_code in (0, 3), result.output
    assert "reading minop" not in result.output
