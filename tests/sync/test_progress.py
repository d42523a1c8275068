"""`punchbridge sync` shows how far reading the sources and sending to each target have come, on a
terminal only: never in a pipe, a log or a test's captured output."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.terminal import fake_terminal

from punchbridge.cli import main


def test_a_sync_on_a_terminal_shows_reading_and_sending_bars(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = fake_terminal(monkeypatch)
    result = CliRunner().invoke(main, ["sync", "-c", str(demo)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    drawn = screen.getvalue()
    assert "reading terminals" in drawn, "the demo's source is named terminals"
    assert "sending to payroll" in drawn


def test_a_sync_in_a_pipe_shows_no_bar(demo: Path) -> None:
    result = CliRunner().invoke(main, ["sync", "-c", str(demo)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "sending to" not in result.output and "reading " not in result.output
