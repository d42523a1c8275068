"""Fixtures for employee sync: the Minop, Zoho People and Odoo emulators on loopback HTTP, and a
configuration whose system of record is Zoho (`zoho_config`) or Odoo (`odoo_config`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from support.employee_kit import DEVICES, STAFF_FILE, ZOHO_STAFF, ZOHO_SYNC, person, write_config
from support.minop_kit import CLOUDS

from punchbridge.plugins.zoho_people import clear_token_cache
from punchbridge.store import Store
from punchbridge.testing.emulators.minop import MinopEmulator, RateLimits
from punchbridge.testing.emulators.odoo import OdooEmulator
from punchbridge.testing.emulators.zoho import NoDelayHttp, ZohoEmulator, ZohoLimits
from punchbridge.testing.http import ServedApp, serve
from punchbridge.testing.postgres import PostgresServer


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    stamina.set_testing(True, attempts=3)
    clear_token_cache()
    yield
    stamina.set_testing(False)
    clear_token_cache()


@pytest.fixture
def minop(request: pytest.FixtureRequest) -> Iterator[MinopEmulator]:
    """The Minop cloud with the test terminals; Security's gate is not a site terminal (see ZOHO_SYNC).

    Parametrised indirectly with a name of `minop_kit.CLOUDS` (`@pytest.mark.parametrize("minop", CLOUDS,
    indirect=True)`), it is that kind of cloud; by default one that runs a repeated OperationID again."""
    emulator = MinopEmulator(limits=RateLimits.lifted(), **CLOUDS[getattr(request, "param", "executes-twice")])
    for stgid in DEVICES:
        emulator.add_device(stgid, timezone="Asia/Kolkata")
    yield emulator
    emulator.close()


@pytest.fixture
def cloud(minop: MinopEmulator) -> Iterator[ServedApp]:
    with serve(minop.app) as server:
        yield server


@pytest.fixture
def zoho() -> ZohoEmulator:
    """Zoho People with the ZOHO_STAFF employees (limits lifted: these tests are not about pacing)."""
    emulator = ZohoEmulator(limits=ZohoLimits.lifted())
    emulator.seed_employees(
        [person(t, name, badge=badge, site=site, department=dept) for t, name, badge, site, dept in ZOHO_STAFF]
    )
    return emulator


@pytest.fixture
def zoho_server(zoho: ZohoEmulator) -> Iterator[ServedApp]:
    with serve(zoho.app, http=NoDelayHttp) as served:
        yield served


@pytest.fixture
def zoho_config(tmp_path: Path, zoho: ZohoEmulator, zoho_server: ServedApp, minop, cloud) -> Path:
    """Zoho People as system of record: user ids through ids.csv, sites from Zoho, shifts from the file."""
    target = {"plugin": "zoho_people", **zoho.plugin_settings(zoho_server.url, state_file="zoho-state.sqlite3")}
    return write_config(
        tmp_path,
        target=target,
        employee_sync=ZOHO_SYNC,
        staff=STAFF_FILE,
        ids=[(badge, t) for t, _name, badge, _site, _dept in ZOHO_STAFF],
        minop=minop,
        minop_url=cloud.url,
    )


@pytest.fixture
def odoo() -> Iterator[tuple[OdooEmulator, ServedApp]]:
    """Odoo 17 with employees whose barcodes are the terminal user ids, companies as sites."""
    emulator = OdooEmulator("17.0")
    emulator.seed_employees(
        [
            person("2001", "Asha Rao", site="Bengaluru", department="Ops"),
            person("2002", "Ben Okafor", site="Bengaluru", department="Ops"),
            person("2003", "Chen Li", site="Hyderabad", department="Stores"),
        ]
    )
    with serve(emulator.app) as server:
        yield emulator, server


@pytest.fixture
def odoo_config(tmp_path: Path, odoo: tuple[OdooEmulator, ServedApp], minop, cloud) -> Path:
    """Odoo as system of record: the barcode is the terminal user id (no id table), company = site."""
    emulator, server = odoo
    target = {
        "plugin": "odoo",
        "url": server.url,
        "database": emulator.database,
        "login": emulator.login,
        "api_key": emulator.api_key,
        "protocol": "jsonrpc",
        "employee_by": "barcode",
        "timeout": 10,
    }
    sync = {**ZOHO_SYNC, "user_id": {"field": "target_id", "through": "none"}}
    staff = [("2001", "blr", "general"), ("2002", "blr", "general"), ("2003", "hyd", "general")]
    return write_config(tmp_path, target=target, employee_sync=sync, staff=staff, minop=minop, minop_url=cloud.url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new, migrated store: a SQLite file, or a database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as opened:
            yield opened
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        with Store.open(url) as opened:
            yield opened
    finally:
        server.drop_database(url)
