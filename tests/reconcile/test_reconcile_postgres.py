"""Reconcile and repair with the store on a real PostgreSQL server (skipped where there is none)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from support.reconcile_world import World
from support.report_files import differences

from punchbridge.testing.postgres import PostgresServer


@pytest.fixture
def pg_world(unsynced_world: World, postgres_server: PostgresServer) -> Iterator[World]:
    """The world with its store on a new PostgreSQL database, after one sync."""
    url = postgres_server.create_database()
    path = unsynced_world.config_path
    path.write_text(re.sub(r"(?m)^store: .*$", f"store: {url}", path.read_text(encoding="utf-8")), encoding="utf-8")
    unsynced_world.sync()
    yield unsynced_world
    postgres_server.drop_database(url)


def test_a_repair_on_a_postgresql_store_leaves_a_clean_second_reconcile(pg_world: World) -> None:
    pg_world.odoo.delete_attendance(pg_world.odoo_day("E1", date(2026, 10, 2))["id"])
    pg_world.salesforce.edit_record("E3|2026-10-06|day", {"Cost_Centre__c": "CC-WRONG"})

    odoo = pg_world.reconcile("odoo", repair=True)
    salesforce = pg_world.reconcile("salesforce", repair=True)

    assert differences(odoo) == {("missing", "E1", "2026-10-02", "", "resent")}
    assert differences(salesforce) == {("different", "E3", "2026-10-06", "Cost_Centre__c", "resent")}
    assert pg_world.reconcile("odoo").clean and pg_world.reconcile("salesforce").clean
