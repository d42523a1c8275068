"""Shared fixtures: `compute` runs each rules test against both implementations of the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.oracle import oracle_compute_days

from punchbridge.rules import DaysResult, compute_days
from punchbridge.testing.postgres import PostgresServer, PostgresUnavailableError, running_postgres


@pytest.fixture(params=["oracle", "vectorised"])
def compute(request: pytest.FixtureRequest) -> Callable[..., DaysResult]:
    """`compute(inputs, rules, date_from, date_to) -> DaysResult`: the oracle, then the fast engine."""
    return oracle_compute_days if request.param == "oracle" else compute_days


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (skipped, saying why, where it cannot run)."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailableError as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty store: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)
