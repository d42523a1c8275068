"""Fixtures for sync tests: a private copy of the demo configuration and its month of data."""

from __future__ import annotations

from pathlib import Path

import pytest
import stamina
from support.demo_copy import copy_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_retry_waits() -> None:
    stamina.set_testing(True, attempts=3)


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo configuration copied to a temp folder; the working folder is that folder."""
    copy_config(tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "config" / "demo.yaml"
