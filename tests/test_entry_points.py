"""Every way of starting punchbridge offers the same commands."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["punchbridge", "punchbridge.cli"])
def test_python_dash_m_lists_every_command(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    commands = done.stdout.split("Commands:", 1)[1]
    for command in ("process", "sync", "validate", "serve", "device", "dlq"):
        assert f"  {command} " in commands, f"{command} missing from `python -m {module} --help`"
