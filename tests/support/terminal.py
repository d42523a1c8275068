"""A fake terminal for progress bars: `punchbridge.cli.progress` draws on it as on a real one."""

from __future__ import annotations

import io

import pytest
from rich.console import Console


def fake_terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Make every progress bar of the command line draw on a terminal whose screen is returned."""
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr("punchbridge.cli.progress.bar_console", lambda: terminal)
    return screen
