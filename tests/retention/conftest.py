"""Fixtures for retention and erasure: the cut-off tests' small world, and a store on each database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from support.cutoff_world import World

from punchbridge.store import Store


@pytest.fixture(autouse=True)
def _no_retry_waits() -> None:
    stamina.set_testing(True, attempts=3)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """Three employees, October 2025 punched, a payroll target and an adjustments target."""
    monkeypatch.chdir(tmp_path)
    return World(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new, migrated store: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as opened:
            yield opened
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    with Store.open(url) as opened:
        yield opened
    server.drop_database(url)
