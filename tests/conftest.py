"""Shared fixtures: `compute` runs each rules test against both implementations of the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
