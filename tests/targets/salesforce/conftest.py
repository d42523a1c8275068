"""Fixtures for the Salesforce tests: a key pair made for the session, the emulator on loopback, targets.

The emulator and the targets share a `ManualClock`: waiting for a Bulk API job moves the clock
instead of sleeping, and sessions expire when the test says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.salesforce_builders import STAFF, SalesforceApiClient

from punchbridge.plugins.salesforce import SalesforceTarget
from punchbridge.testing.emulators.salesforce import SalesforceEmulator, SalesforceLimits, generate_jwt_key
from punchbridge.testing.emulators.zoho import ManualClock, NoDelayHttp
from punchbridge.testing.http import ServedApp, serve


@pytest.fixture(scope="session")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A private key file (made now, never committed) and the certificate the connected app holds."""
    key_pem, certificate = generate_jwt_key()
    path = tmp_path_factory.mktemp("salesforce-key") / "connected-app.key"
    path.write_bytes(key_pem)
    path.chmod(0o600)
    return path, certificate


@pytest.fixture
def clock() -> ManualClock:
    """Time for the emulator and the targets alike."""
    return ManualClock()


@pytest.fixture
def limits() -> SalesforceLimits:
    """Salesforce's limits (override in a module to change them)."""
    return SalesforceLimits()


@pytest.fixture
def emulator(clock: ManualClock, limits: SalesforceLimits, key_pair: tuple[Path, bytes]) -> SalesforceEmulator:
    """An org with the Attendance_Day__c object and four users (T-4 inactive)."""
    emulator = SalesforceEmulator(certificate=key_pair[1], clock=clock, limits=limits)
    emulator.seed_employees(STAFF)
    return emulator


@pytest.fixture
def server(emulator: SalesforceEmulator) -> Iterator[ServedApp]:
    """The emulator on loopback HTTP."""
    with serve(emulator.app, http=NoDelayHttp) as served:
        yield served


@pytest.fixture
def settings(emulator: SalesforceEmulator, server: ServedApp, key_pair: tuple[Path, bytes]) -> dict[str, Any]:
    """Settings of a JWT-flow target for the emulator."""
    return emulator.plugin_settings(server.url, private_key=key_pair[0], timezone="Asia/Kolkata", timeout=10)


@pytest.fixture
def make_target(settings: dict[str, Any], clock: ManualClock) -> Iterator[Callable[..., SalesforceTarget]]:
    """`make_target(transport=None, **overrides)`: a target on the shared clock (closed at the end of the test)."""
    made: list[SalesforceTarget] = []

    def make(transport: httpx.BaseTransport | None = None, **overrides: Any) -> SalesforceTarget:
        merged = {**settings, **overrides}
        target = SalesforceTarget("salesforce", merged, clock=clock, sleep=clock.sleep, transport=transport)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


@pytest.fixture
def target(make_target: Callable[..., SalesforceTarget]) -> SalesforceTarget:
    """A target with the default settings (JWT flow, sObject Collections below 2,000 records)."""
    return make_target()


@pytest.fixture
def api(emulator: SalesforceEmulator, server: ServedApp) -> Iterator[SalesforceApiClient]:
    """A bare client of the emulator holding a session (client-credentials flow), for the emulator's own tests."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield SalesforceApiClient(client, emulator)
