"""Fixtures for the SAP tests: the SuccessFactors emulator on loopback HTTP, a shared manual clock, targets.

The emulator and the plugin share a `ManualClock`, so token and assertion lifetimes are tested by
moving the clock, never by sleeping. One RSA key and certificate are generated per test session
(generating a 2048-bit key takes a noticeable fraction of a second) and written into each test's
own folder; no key is ever read from the repository.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.sap_builders import STAFF, SapApi

from punchbridge.plugins.sap.successfactors import SuccessFactorsTarget, clear_token_cache
from punchbridge.testing.emulators.sap import ManualClock, SapEmulator, TestCredentials, make_credentials
from punchbridge.testing.emulators.zoho import NoDelayHttp
from punchbridge.testing.http import ServedApp, serve


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture(scope="session")
def credentials() -> TestCredentials:
    """The key and certificate registered for the emulator's OAuth client."""
    return make_credentials("punchbridge-sap-tests")


@pytest.fixture(scope="session")
def stranger() -> TestCredentials:
    """A key and certificate that SuccessFactors does not know."""
    return make_credentials("someone-else")


@pytest.fixture
def clock() -> ManualClock:
    """SuccessFactors time for the emulator and the plugin alike."""
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock, credentials: TestCredentials) -> SapEmulator:
    """A SuccessFactors company with four employees (T-4 a leaver), site time Asia/Kolkata."""
    emulator = SapEmulator(clock=clock, credentials=credentials, timezone="Asia/Kolkata")
    emulator.seed_employees(STAFF)
    return emulator


@pytest.fixture
def server(emulator: SapEmulator) -> Iterator[ServedApp]:
    """The emulator on loopback HTTP."""
    with serve(emulator.app, http=NoDelayHttp) as served:
        yield served


@pytest.fixture
def settings(emulator: SapEmulator, server: ServedApp, tmp_path: Path) -> dict[str, Any]:
    """Target settings for the emulator, the key files in the test's folder."""
    return emulator.plugin_settings(server.url, tmp_path / "keys")


@pytest.fixture
def make_target(settings: dict[str, Any], clock: ManualClock) -> Iterator[Callable[..., SuccessFactorsTarget]]:
    """`make_target(**overrides)`: a target on the shared clock (closed at the end of the test)."""
    made: list[SuccessFactorsTarget] = []

    def make(**overrides: Any) -> SuccessFactorsTarget:
        target = SuccessFactorsTarget("sf", {**settings, **overrides}, clock=clock)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


@pytest.fixture
def target(make_target: Callable[..., SuccessFactorsTarget]) -> SuccessFactorsTarget:
    """A target with the default settings (ExternalTimeData, or events for an intervals mapping)."""
    return make_target()


@pytest.fixture
def api(emulator: SapEmulator, server: ServedApp, credentials: TestCredentials, clock: ManualClock) -> Iterator[SapApi]:
    """A raw HTTP client of the emulator that signs its own assertions (for the emulator's own tests)."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield SapApi(client, emulator, credentials, clock)
