"""The emulator served on loopback for each test: `state` is what it holds, `settings` the target's settings for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from punchbridge.testing.http import ServedApp, serve

from punchbridge_example.emulator import State, make_app

TOKEN = "test-token-not-a-secret"


@pytest.fixture
def state() -> State:
    """The emulated service: what it holds and its limits."""
    return State(token=TOKEN)


@pytest.fixture
def server(state: State) -> Iterator[ServedApp]:
    """The emulator on loopback HTTP for the length of one test."""
    with serve(make_app(state)) as running:
        yield running


@pytest.fixture
def settings(server: ServedApp) -> dict[str, Any]:
    """The target's settings for the served emulator, as a configuration gives them."""
    return {"base_url": server.url, "token": TOKEN, "timeout": 10}
