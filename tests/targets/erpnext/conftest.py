"""Fixtures for the ERPNext tests: the emulator (Frappe HR 15 unless a test says otherwise) on loopback, targets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from support.erpnext_builders import STAFF

from punchbridge.plugins.erpnext import ErpNextTarget
from punchbridge.testing.emulators.erpnext import ErpNextEmulator
from punchbridge.testing.emulators.zoho import NoDelayHttp
from punchbridge.testing.http import ServedApp, serve


@pytest.fixture
def emulator() -> ErpNextEmulator:
    """A Frappe HR 15 site in Asia/Kolkata with four employees (T-4 has left)."""
    emulator = ErpNextEmulator(version=15)
    emulator.seed_employees(STAFF)
    return emulator


@pytest.fixture
def server(emulator: ErpNextEmulator) -> Iterator[ServedApp]:
    """The emulator on loopback HTTP."""
    with serve(emulator.app, http=NoDelayHttp) as served:
        yield served


@pytest.fixture
def settings(emulator: ErpNextEmulator, server: ServedApp) -> dict[str, Any]:
    """Settings of a target for the emulator."""
    return emulator.plugin_settings(server.url, timeout=10, page_size=3)


@pytest.fixture
def make_target(settings: dict[str, Any]) -> Iterator[Callable[..., ErpNextTarget]]:
    """`make_target(transport=None, **overrides)`: a target (closed at the end of the test)."""
    made: list[ErpNextTarget] = []

    def make(transport: httpx.BaseTransport | None = None, **overrides: Any) -> ErpNextTarget:
        target = ErpNextTarget("erpnext", {**settings, **overrides}, transport=transport)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


@pytest.fixture
def target(make_target: Callable[..., ErpNextTarget]) -> ErpNextTarget:
    """A target with the default settings (pages of 3, so paging shows)."""
    return make_target()


@pytest.fixture
def site(emulator: ErpNextEmulator, server: ServedApp) -> Iterator[httpx.Client]:
    """A raw client of the emulator holding the API key (for the emulator's own tests)."""
    token = f"token {emulator.api_key}:{emulator.api_secret}"
    with httpx.Client(base_url=server.url, headers={"Authorization": token}, timeout=10) as client:
        yield client
