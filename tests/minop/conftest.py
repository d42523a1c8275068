"""Fixtures for the Minop tests: the emulator on loopback with a manual clock, no real retry waits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina
from support.minop_kit import ManualClock

from punchbridge.plugins.minop import MinopSource
from punchbridge.testing.emulators.minop import MinopEmulator, RateLimits
from punchbridge.testing.http import ServedApp, serve


@pytest.fixture(autouse=True)
def _no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """One clock for the emulator and the `minop` source: token expiry and Retry-After waits move it."""
    manual = ManualClock()
    monkeypatch.setattr(MinopSource, "clock", manual)
    monkeypatch.setattr(MinopSource, "sleep", manual.sleep)
    return manual


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[MinopEmulator]:
    # The cloud computes the tests' sites in Bengaluru's zone, as their configuration does (site blr).
    emulated = MinopEmulator(clock=clock, limits=RateLimits.lifted(), site_timezone="Asia/Kolkata")
    yield emulated
    emulated.close()


@pytest.fixture
def cloud(emulator: MinopEmulator) -> Iterator[ServedApp]:
    with serve(emulator.app) as server:
        yield server
