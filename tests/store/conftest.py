"""Store fixtures: every `store` test runs on SQLite (a file) and on a real PostgreSQL 15 server.

The server is started once per session from /usr/lib/postgresql/15/bin (as the `postgres` user when
running as root: initdb refuses root) on a free loopback port, and each test gets a new database.
Without the binaries the PostgreSQL cases are skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from punchbridge.store import Store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An opened (migrated) store on each database."""
    opened = Store.open(store_url)
    yield opened
    opened.close()
