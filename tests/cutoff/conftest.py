"""Fixtures for the payroll cut-off tests: a small world (see cutoff_world) in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import stamina
from support.cutoff_world import World


@pytest.fixture(autouse=True)
def _no_retry_waits() -> None:
    stamina.set_testing(True, attempts=3)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """Three employees, October 2025 punched, a payroll target and an adjustments target."""
    monkeypatch.chdir(tmp_path)
    return World(tmp_path)
