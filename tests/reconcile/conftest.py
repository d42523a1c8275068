"""Fixtures for reconciliation: the `world` of support/reconcile_world.py, synced once to both emulators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from support.reconcile_world import World, seeded_odoo, write_config

from punchbridge.testing.emulators.salesforce import SalesforceEmulator, generate_jwt_key
from punchbridge.testing.emulators.zoho import NoDelayHttp
from punchbridge.testing.http import serve


@pytest.fixture(autouse=True)
def _no_retry_waits() -> None:
    stamina.set_testing(True, attempts=3)


@pytest.fixture(scope="session")
def jwt_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A private key file made for this session and the certificate the connected app holds."""
    key_pem, certificate = generate_jwt_key()
    path = tmp_path_factory.mktemp("salesforce-key") / "connected-app.key"
    path.write_bytes(key_pem)
    path.chmod(0o600)
    return path, certificate


@pytest.fixture
def unsynced_world(tmp_path: Path, jwt_key: tuple[Path, bytes]) -> Iterator[World]:
    """The configuration and both emulators on loopback, before any sync."""
    odoo = seeded_odoo()
    salesforce = SalesforceEmulator(certificate=jwt_key[1])
    with serve(odoo.app, http=NoDelayHttp) as odoo_server, serve(salesforce.app, http=NoDelayHttp) as sf_server:
        config = write_config(tmp_path / "customer", odoo, odoo_server.url, salesforce, sf_server.url, jwt_key[0])
        yield World(config, odoo, salesforce)


@pytest.fixture
def world(unsynced_world: World) -> World:
    """The world after one sync of 1-10 October to every target."""
    unsynced_world.sync()
    return unsynced_world
