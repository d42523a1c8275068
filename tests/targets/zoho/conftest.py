"""Fixtures for the Zoho People tests: the emulator on loopback HTTP, a shared manual clock, targets.

Every test runs on a `ManualClock` shared by the emulator and the plugin: waiting for a rate limit
moves the clock instead of sleeping, so minutes of Zoho time pass in milliseconds and every
per-minute window and lock is counted as if they had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.zoho_builders import STAFF, ZohoApi

from punchbridge.plugins.zoho_people import ZohoPeopleTarget, clear_token_cache
from punchbridge.testing.emulators.zoho import ManualClock, NoDelayHttp, ZohoEmulator, ZohoLimits
from punchbridge.testing.http import ServedApp, serve


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def clock() -> ManualClock:
    """Zoho time for the emulator and the plugin alike."""
    return ManualClock()


@pytest.fixture
def limits() -> ZohoLimits:
    """Zoho's documented limits (override in a test module to lift them)."""
    return ZohoLimits()


@pytest.fixture
def bulk_reply() -> str:
    """The shape of bulkImport's replies: Zoho's observed `{"response": "success"}` (parametrize to change)."""
    return "success"


@pytest.fixture
def emulator(clock: ManualClock, limits: ZohoLimits, bulk_reply: str) -> ZohoEmulator:
    """A Zoho People organisation with four employees (T-4 a leaver)."""
    emulator = ZohoEmulator(clock=clock, limits=limits, bulk_reply=bulk_reply)
    emulator.seed_employees(STAFF)
    return emulator


@pytest.fixture
def server(emulator: ZohoEmulator) -> Iterator[ServedApp]:
    """The emulator on loopback HTTP."""
    with serve(emulator.app, http=NoDelayHttp) as served:
        yield served


@pytest.fixture
def settings(emulator: ZohoEmulator, server: ServedApp, tmp_path: Path) -> dict[str, Any]:
    """Target settings for the emulator, the state file in the test's folder."""
    return emulator.plugin_settings(server.url, state_file=tmp_path / "zoho-state.sqlite3")


@pytest.fixture
def make_target(settings: dict[str, Any], clock: ManualClock) -> Iterator[Callable[..., ZohoPeopleTarget]]:
    """`make_target(**overrides)`: a target on the shared clock (closed at the end of the test)."""
    made: list[ZohoPeopleTarget] = []

    def make(**overrides: Any) -> ZohoPeopleTarget:
        target = ZohoPeopleTarget("zoho", {**settings, **overrides}, clock=clock, sleep=clock.sleep)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


@pytest.fixture
def target(make_target: Callable[..., ZohoPeopleTarget]) -> ZohoPeopleTarget:
    """A target with the default settings."""
    return make_target()


@pytest.fixture
def api(emulator: ZohoEmulator, server: ServedApp) -> Iterator[ZohoApi]:
    """A raw HTTP client of the emulator holding a valid access token (for the emulator's own tests)."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield ZohoApi(client, emulator)
