"""Fixtures for the Odoo target: the emulator served over real HTTP on loopback (see odoo_servers).

`odoo` runs each test once per protocol (XML-RPC and JSON-RPC against Odoo 17, JSON-2 against Odoo
19); `odoo17` and `odoo19` are one version each, with the target's protocol left to `auto`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.odoo_servers import PROTOCOLS, OdooRun, running_odoo
from support.odoo_wire import Wire


@pytest.fixture(params=PROTOCOLS, ids=[f"{v}-{p}" for v, p in PROTOCOLS])
def odoo(request: pytest.FixtureRequest) -> Iterator[OdooRun]:
    """The emulator once per protocol (see PROTOCOLS)."""
    version, protocol = request.param
    with running_odoo(version, protocol) as run:
        yield run


@pytest.fixture
def odoo17() -> Iterator[OdooRun]:
    """Odoo 17 (XML-RPC and JSON-RPC only), target protocol `auto`."""
    with running_odoo("17.0", "auto") as run:
        yield run


@pytest.fixture
def odoo19() -> Iterator[OdooRun]:
    """Odoo 19 (JSON-2 too), target protocol `auto`."""
    with running_odoo("19.0", "auto") as run:
        yield run


@pytest.fixture
def wire(odoo: OdooRun) -> Wire:
    """A bare client of `odoo` in its protocol, as the integration user."""
    return Wire(odoo.url, odoo.protocol, odoo.emulator.database, odoo.emulator.login, odoo.emulator.api_key)
