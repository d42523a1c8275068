"""`Store.mark_not_held`: ledger rows a reconciliation found wrong are resent by the next sync."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from punchbridge.plugin_api.targets import Outcome, Record
from punchbridge.store import Store
from punchbridge.testing.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new store on SQLite, then on the session's PostgreSQL server (skipped where there is none)."""
    if request.param == "sqlite":
        opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
        yield opened
        opened.close()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    opened = Store.open(url)
    yield opened
    opened.close()
    server.drop_database(url)


def delivered(store: Store, *keys: str) -> None:
    records = [Record(key, {"employee": key[:2]}, f"hash-{key}") for key in keys]
    batch = store.open_batch("odoo", date(2026, 10, 1), date(2026, 10, 31), ["employee"], records)
    store.complete_batch(batch.batch_id, [Outcome(key, True, remote_id=f"r-{key}") for key in keys])


def test_marked_rows_lose_their_hash_keep_status_and_remote_id_and_say_why(store: Store) -> None:
    delivered(store, "E1|2026-10-02|day", "E2|2026-10-02|day")

    marked = store.mark_not_held("odoo", ["E1|2026-10-02|day"], "reconcile run 7: missing in the target")

    assert marked == 1
    ledger = store.ledger("odoo").set_index("record_key")
    assert ledger.loc["E1|2026-10-02|day", "content_hash"] is None
    assert ledger.loc["E1|2026-10-02|day", "status"] == "delivered"
    assert ledger.loc["E1|2026-10-02|day", "remote_id"] == "r-E1|2026-10-02|day"
    assert ledger.loc["E1|2026-10-02|day", "last_error"] == "reconcile run 7: missing in the target"
    assert ledger.loc["E2|2026-10-02|day", "content_hash"] == "hash-E2|2026-10-02|day"


def test_marking_sets_the_targets_delivery_cursor_dirty(store: Store) -> None:
    delivered(store, "E1|2026-10-02|day")
    store.set_cursor("deliver:odoo", "clean")
    store.set_cursor("deliver:salesforce", "clean")

    store.mark_not_held("odoo", ["E1|2026-10-02|day"], "missing")

    assert store.get_cursor("deliver:odoo") == "dirty"
    assert store.get_cursor("deliver:salesforce") == "clean"


def test_keys_without_a_ledger_row_and_other_targets_rows_are_left_alone(store: Store) -> None:
    delivered(store, "E1|2026-10-02|day")

    assert store.mark_not_held("salesforce", ["E1|2026-10-02|day"], "missing") == 0
    assert store.mark_not_held("odoo", ["E9|2026-10-02|day", "E9|2026-10-02|day"], "missing") == 0
    assert store.ledger("odoo")["content_hash"].tolist() == ["hash-E1|2026-10-02|day"]


def test_a_huge_note_is_cut(store: Store) -> None:
    delivered(store, "E1|2026-10-02|day")

    store.mark_not_held("odoo", ["E1|2026-10-02|day"], "x" * 100_000)

    assert len(store.ledger("odoo")["last_error"].iloc[0]) == 500


@pytest.mark.parametrize(("target", "keys"), [("", ["E1"]), ("  ", ["E1"]), ("odoo", [None]), ("odoo", [""])])
def test_malformed_arguments_write_nothing(store: Store, target: str, keys: list[object]) -> None:
    delivered(store, "E1|2026-10-02|day")

    with pytest.raises(ValueError, match="mark_not_held"):
        store.mark_not_held(target, keys, "missing")  # type: ignore[arg-type]

    assert store.ledger("odoo")["content_hash"].tolist() == ["hash-E1|2026-10-02|day"]
    assert store.get_cursor("deliver:odoo") is None


def test_many_keys_are_marked_in_one_call(store: Store) -> None:
    keys = [f"E{i:05d}|2026-10-02|day" for i in range(4500)]
    records = [Record(key, {"n": 1}, "h") for key in keys]
    batch = store.open_batch("odoo", date(2026, 10, 1), date(2026, 10, 31), ["n"], records)
    store.complete_batch(batch.batch_id, [Outcome(key, True) for key in keys])

    assert store.mark_not_held("odoo", keys, "missing") == 4500
    assert store.ledger("odoo")["content_hash"].isna().all()
