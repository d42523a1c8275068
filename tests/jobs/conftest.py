"""Fixtures for the scheduler and run-history tests: stores on both databases, no retry waits.

Helpers (the small sync setup, recorded tasks) are in `jobs_helpers.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from punchbridge.store import Store


@pytest.fixture(autouse=True)
def _no_retry_waits() -> None:
    stamina.set_testing(True, attempts=3)


@pytest.fixture(autouse=True)
def _jobs_logger_propagates() -> Iterator[None]:
    """Let caplog see `punchbridge.jobs` lines even after a CLI command added its stderr handler."""
    logger = logging.getLogger("punchbridge.jobs")
    handlers = list(logger.handlers)
    yield
    logger.handlers = handlers


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()
