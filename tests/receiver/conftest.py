"""Receiver fixtures: a receiver served over real HTTP on loopback, with a SQLite store in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.receiver_kit import Running, running_receiver


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Running]:
    """A receiver with the default settings, its clock at 2026-01-08 12:00 UTC."""
    with running_receiver(tmp_path) as running:
        yield running
