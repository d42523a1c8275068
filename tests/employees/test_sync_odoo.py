"""Employee sync from Odoo (emulated, JSON-RPC) to Minop terminals: the barcode is the terminal user id,
the company is the site."""

from __future__ import annotations

import pytest
from support.employee_kit import person, sync, users

from punchbridge.employees import MassDeleteRefusedError

PEOPLE = [
    person("2001", "Asha Rao", site="Bengaluru", department="Ops"),
    person("2002", "Ben Okafor", site="Bengaluru", department="Ops"),
    person("2003", "Chen Li", site="Hyderabad", department="Stores"),
]
PLACED = {"blr-1": {"2001", "2002"}, "blr-2": {"2001", "2002"}, "hyd-1": {"2003"}, "gate-1": set()}


def test_joiners_are_added_to_exactly_their_sites_terminals(odoo_config, minop) -> None:
    report = sync(odoo_config)
    assert users(minop) == PLACED and report.pulled == 3 and report.problems == []
    assert minop.devices["hyd-1"].users["2003"].access == ("08:30:00", "19:00:00", "1,2,3,4,5")


def test_a_rerun_sends_no_command(odoo_config, minop) -> None:
    sync(odoo_config)
    requests = minop.stats["requests:execute"]
    assert sync(odoo_config).total("commands") == 0 and minop.stats["requests:execute"] == requests


def test_an_archived_employee_is_removed_and_a_transfer_moves(odoo_config, odoo, minop) -> None:
    emulator, _server = odoo
    sync(odoo_config)
    emulator.replace_employees(
        [PEOPLE[0], person("2002", "Ben Okafor", active=False), person("2003", "Chen Li", site="Bengaluru")]
    )
    report = sync(odoo_config, allow_mass_delete=True)  # hyd-1 loses its only user (the transfer)
    assert users(minop) == {"blr-1": {"2001", "2003"}, "blr-2": {"2001", "2003"}, "hyd-1": set(), "gate-1": set()}
    assert (report.total("adds"), report.total("deletes"), report.leavers) == (2, 3, 1)


def test_an_empty_odoo_reply_deletes_nothing(odoo_config, odoo, minop) -> None:
    emulator, _server = odoo
    sync(odoo_config)
    requests = minop.stats["requests:execute"]
    emulator.replace_employees([])
    with pytest.raises(MassDeleteRefusedError, match="none is active"):
        sync(odoo_config)
    assert users(minop) == PLACED and minop.stats["requests:execute"] == requests


def test_an_employee_without_a_barcode_is_left_out_and_the_rest_synced(odoo_config, odoo, minop) -> None:
    emulator, _server = odoo
    emulator.seed_employees([person("", "No Badge", site="Bengaluru")])
    report = sync(odoo_config)
    assert users(minop) == PLACED and not report.failed
