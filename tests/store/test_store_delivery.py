"""Delivery bookkeeping: batches recorded before sending, the ledger, dead letters; runs and audit."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from support.store_data import record

from punchbridge.errors import StoreError
from punchbridge.plugin_api.targets import Outcome, Record
from punchbridge.store import Store
from punchbridge.store.delivery import finished_records

MARCH = (date(2025, 3, 1), date(2025, 3, 31))
APRIL = (date(2025, 4, 1), date(2025, 4, 30))
COLUMNS = ("employee", "date", "hours")


def _open(store: Store, target: str = "erp", period: tuple[date, date] = MARCH, records: Any = None) -> Any:
    records = records if records is not None else [record("E1|2025-03-03|day", employee="E1", hours=8.5)]
    return store.open_batch(target, period[0], period[1], COLUMNS, records)


def _table(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: _table(store, f"SELECT * FROM {table} ORDER BY 1, 2") for table in ("ledger", "dead_letters", "batches")
    }


# -- batches ------------------------------------------------------------------------------------


def test_seq_is_allocated_per_target_and_period(store: Store) -> None:
    first = _open(store)
    second = _open(store)
    april = _open(store, period=APRIL)
    other_target = _open(store, target="sftp")
    store.complete_batch(first.batch_id, [])
    third = _open(store)

    assert (first.seq, second.seq, third.seq) == (1, 2, 3)
    assert (april.seq, other_target.seq) == (1, 1)
    assert (first.target, first.period_start, first.period_end, first.columns) == ("erp", *MARCH, COLUMNS)


def test_seq_survives_reopening_the_store_and_open_batches_come_back(store_url: str) -> None:
    with Store.open(store_url) as store:
        sent = _open(store)

    with Store.open(store_url) as store:
        assert store.open_batches("erp") == [sent]
        assert _open(store).seq == 2


def test_a_dropped_batch_keeps_its_seq(store: Store) -> None:
    dropped = _open(store)
    store.drop_batch(dropped.batch_id)
    store.drop_batch(dropped.batch_id)  # again: nothing to do

    assert store.open_batches("erp") == []
    assert _open(store).seq == 2
    with pytest.raises(StoreError, match="not open"):
        store.complete_batch(dropped.batch_id, [])


def _stored_records(store: Store, batch_id: int) -> list[dict[str, Any]]:
    (row,) = _table(store, f"SELECT status, records, finished_records FROM batches WHERE id = {batch_id}")
    status, records, finished = row
    if status == "open":
        return list(json.loads(records))
    assert records == ""  # migration 0010: a finished batch keeps its keys and hashes compressed
    return finished_records(finished)


def test_a_finished_batch_keeps_keys_and_hashes_and_an_open_one_its_fields(store: Store) -> None:
    records = [record(f"E{i}|2025-03-03|day", employee=f"E{i}", hours=8.5) for i in range(3)]
    done, dropped, still_open = (_open(store, records=records) for _ in range(3))
    store.complete_batch(done.batch_id, [Outcome(key=r.key, ok=True) for r in records])
    store.drop_batch(dropped.batch_id)

    keys_and_hashes = [{"key": r.key, "content_hash": r.content_hash} for r in records]
    assert _stored_records(store, done.batch_id) == keys_and_hashes
    assert _stored_records(store, dropped.batch_id) == keys_and_hashes
    assert [r["fields"] for r in _stored_records(store, still_open.batch_id)] == [dict(r.fields) for r in records]
    assert store.open_batches("erp") == [still_open]  # resumed after a crash exactly as recorded
    assert store.ledger("erp")["content_hash"].tolist() == [r.content_hash for r in records]


def test_open_batches_are_oldest_first_and_only_open_ones(store: Store) -> None:
    a, b, c = _open(store), _open(store, period=APRIL), _open(store)
    _open(store, target="sftp")
    store.complete_batch(b.batch_id, [])

    assert [batch.batch_id for batch in store.open_batches("erp")] == [a.batch_id, c.batch_id]
    assert store.open_batches("nobody") == []


def test_records_come_back_exactly_as_recorded(store: Store) -> None:
    fields: dict[str, Any] = {
        "zeta": "first field, not sorted",
        "name": 'Zoë Ünal – 東京 \u2028 "quoted" \\ back',
        "hours": 8.5,
        "tiny": 1e-7,
        "third": 0.1 + 0.2,
        "whole_float": 1.0,
        "count": 3,
        "big": 2**62 + 1,
        "none": None,
        "flag": True,
        "nested": {"b": [1, "x", None], "a": {"deep": False}},
        "": "empty key",
    }
    records = [Record(key="E1|2025-03-03|day", fields=fields, content_hash="h1"), record("E2|2025-03-03|day")]

    opened = store.open_batch("erp", *MARCH, COLUMNS, records)
    (reread,) = store.open_batches("erp")

    assert reread == opened
    assert list(reread.records) == records
    back = reread.records[0].fields
    assert list(back) == list(fields)
    assert [type(v) for v in back.values()] == [type(v) for v in fields.values()]
    assert json.dumps(back, ensure_ascii=False) == json.dumps(fields, ensure_ascii=False)
    assert back["third"] == 0.30000000000000004 and back["big"] == 2**62 + 1


@pytest.mark.parametrize(
    "fields",
    [
        {"when": date(2025, 3, 3)},
        {"pair": (1, 2)},
        {"hours": float("nan")},
        {"ids": {1: "integer keys come back as text"}},
    ],
    ids=["date", "tuple", "nan", "int-key"],
)
def test_records_json_cannot_hold_exactly_are_refused(store: Store, fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="JSON"):
        store.open_batch("erp", *MARCH, COLUMNS, [Record(key="k", fields=fields, content_hash="h")])
    assert store.open_batches("erp") == []


def test_a_record_key_twice_in_one_batch_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="twice"):
        _open(store, records=[record("k", a=1), record("k", a=2)])


# -- complete_batch: ledger and dead letters -----------------------------------------------------


def test_delivered_and_rejected_records_update_the_ledger(store: Store) -> None:
    ok, bad, silent = record("E1|d", hours=8), record("E2|d", hours=-1), record("E3|d", hours=7)
    batch = _open(store, records=[ok, bad, silent])

    store.complete_batch(
        batch.batch_id,
        [Outcome(key="E1|d", ok=True, remote_id="R-1"), Outcome(key="E2|d", ok=False, message="hours < 0")],
    )

    ledger = store.ledger("erp").set_index("record_key")
    assert ledger.columns.tolist() == ["content_hash", "remote_id", "status", "attempts", "last_error", "batch_id"]
    assert ledger.loc["E1|d"].tolist() == [ok.content_hash, "R-1", "delivered", 1, None, batch.batch_id]
    # The target holds nothing of a record it never took.
    assert ledger.loc["E2|d"].tolist() == [None, None, "rejected", 1, "hours < 0", batch.batch_id]
    assert "E3|d" not in ledger.index  # no outcome, no change
    letters = store.dead_letters("erp")
    assert letters[["record_key", "content_hash", "message", "attempts", "batch_id"]].values.tolist() == [
        ["E2|d", bad.content_hash, "hours < 0", 1, batch.batch_id]
    ]
    assert letters["fields"].tolist() == [{"hours": -1}]
    assert store.open_batches("erp") == []


def test_a_later_failure_replaces_the_dead_letter_and_a_later_success_removes_it(store: Store) -> None:
    first = _open(store, records=[record("E1|d", hours=-1)])
    store.complete_batch(first.batch_id, [Outcome("E1|d", ok=False, message="negative hours")])
    second = _open(store, records=[record("E1|d", hours=-2)])
    store.complete_batch(second.batch_id, [Outcome("E1|d", ok=False, message="still negative")])

    letters = store.dead_letters()
    assert len(letters) == 1
    assert letters.iloc[0][["message", "attempts", "batch_id"]].tolist() == ["still negative", 2, second.batch_id]
    assert letters.iloc[0]["fields"] == {"hours": -2}

    fixed = record("E1|d", hours=2)
    third = _open(store, records=[fixed])
    store.complete_batch(third.batch_id, [Outcome("E1|d", ok=True, remote_id="R-9")])

    assert store.dead_letters().empty
    ledger = store.ledger("erp").iloc[0]
    assert ledger[["content_hash", "remote_id", "status", "attempts", "last_error"]].tolist() == [
        fixed.content_hash,
        "R-9",
        "delivered",
        3,
        None,
    ]


def test_a_rejected_update_keeps_what_the_target_holds(store: Store) -> None:
    v1 = record("E1|d", hours=8)
    batch = _open(store, records=[v1])
    store.complete_batch(batch.batch_id, [Outcome("E1|d", ok=True, remote_id="R-1")])
    batch = _open(store, records=[record("E1|d", hours=99)])
    store.complete_batch(batch.batch_id, [Outcome("E1|d", ok=False, message="too many hours")])
    batch = _open(store, records=[record("E1|d", hours=99)])
    store.complete_batch(batch.batch_id, [Outcome("E1|d", ok=True)])  # no remote id this time

    ledger = store.ledger("erp").iloc[0]
    assert ledger["remote_id"] == "R-1"
    assert ledger["attempts"] == 3


def test_complete_batch_is_one_transaction(store: Store) -> None:
    # The ledger row is written first; then writing the dead letter fails: nothing may remain.
    previous = _open(store, records=[record("E1|d", hours=1)])
    store.complete_batch(previous.batch_id, [Outcome("E1|d", ok=True, remote_id="R-1")])
    batch = _open(store, records=[record("E1|d", hours=2), record("E2|d", hours=-1)])
    before = _snapshot(store)
    with store.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON dead_letters BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON dead_letters FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
    outcomes = [Outcome("E1|d", ok=True, remote_id="R-2"), Outcome("E2|d", ok=False, message="negative")]

    with pytest.raises(StoreError, match="disk on fire") as raised:
        store.complete_batch(batch.batch_id, outcomes)

    assert store.url_for_display in str(raised.value)
    assert _snapshot(store) == before
    assert [b.batch_id for b in store.open_batches("erp")] == [batch.batch_id]

    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "DROP TRIGGER refuse" + (" ON dead_letters" if connection.dialect.name != "sqlite" else "")
        )
    store.complete_batch(batch.batch_id, outcomes)
    assert store.ledger("erp")["remote_id"].tolist() == ["R-2", None]


def test_outcomes_that_do_not_fit_the_batch_are_refused_and_nothing_changes(store: Store) -> None:
    batch = _open(store, records=[record("E1|d", hours=1), record("E2|d", hours=2)])
    before = _snapshot(store)

    with pytest.raises(ValueError, match="not in batch"):
        store.complete_batch(batch.batch_id, [Outcome("E1|d", ok=True), Outcome("E404|d", ok=True)])
    with pytest.raises(ValueError, match="two outcomes"):
        store.complete_batch(batch.batch_id, [Outcome("E1|d", ok=True), Outcome("E1|d", ok=False)])

    assert _snapshot(store) == before


def test_a_batch_is_completed_once(store: Store) -> None:
    batch = _open(store)
    store.complete_batch(batch.batch_id, [Outcome(batch.records[0].key, ok=True)])

    with pytest.raises(StoreError, match="done, not open"):
        store.complete_batch(batch.batch_id, [Outcome(batch.records[0].key, ok=True)])
    with pytest.raises(StoreError, match="no batch 9999") as missing:
        store.complete_batch(9999, [])
    assert store.url_for_display in str(missing.value)
    with pytest.raises(StoreError, match="only an open batch"):
        store.drop_batch(batch.batch_id)
    assert store.ledger("erp")["attempts"].tolist() == [1]


def test_ledger_by_keys(store: Store) -> None:
    records = [record(f"E{i}|d", i=i) for i in range(5)]
    batch = _open(store, records=records)
    store.complete_batch(batch.batch_id, [Outcome(r.key, ok=True, remote_id=f"R{n}") for n, r in enumerate(records)])
    _open(store, target="other", records=records)

    assert store.ledger("erp", keys=["E3|d", "E1|d", "E404|d"])["record_key"].tolist() == ["E1|d", "E3|d"]
    assert store.ledger("erp", keys=[]).empty
    assert store.ledger("other").empty
    assert store.ledger("erp")["record_key"].tolist() == [r.key for r in records]


def test_dead_letters_by_target_and_dropping_them(store: Store) -> None:
    for target in ("erp", "sftp"):
        batch = _open(store, target=target, records=[record("a", x=1), record("b", x=2)])
        store.complete_batch(batch.batch_id, [Outcome("a", ok=False, message="no"), Outcome("b", ok=False)])

    erp = store.dead_letters("erp")
    assert erp["record_key"].tolist() == ["a", "b"] and set(erp["target"]) == {"erp"}
    assert erp["message"].tolist() == ["no", None]
    assert len(store.dead_letters()) == 4

    assert store.drop_dead_letters([int(erp["id"].iloc[0]), 123456]) == 1
    assert store.dead_letters("erp")["record_key"].tolist() == ["b"]
    assert store.drop_dead_letters([]) == 0


# -- runs and audit -------------------------------------------------------------------------------


def test_runs_are_started_finished_and_found(store: Store) -> None:
    assert store.last_run("sync") is None
    first = store.start_run("sync", target="erp")
    store.finish_run(first, "ok", {"sent": 10, "rejected": 0, "targets": ["erp"]})
    second = store.start_run("sync", target="erp")
    store.start_run("process")

    running = store.last_run("sync")
    ok = store.last_run("sync", status="ok")

    assert running is not None and running["id"] == second and running["status"] == "running"
    assert running["finished_at_ns"] is None and running["summary"] is None
    assert ok is not None and ok["id"] == first and ok["target"] == "erp"
    assert ok["summary"] == {"sent": 10, "rejected": 0, "targets": ["erp"]}
    assert ok["finished_at_ns"] >= ok["started_at_ns"]
    store.finish_run(second, "partial", {"sent": 3})
    last = store.last_run("sync")
    assert last is not None and last["status"] == "partial"
    assert store.last_run("sync", status="failed") is None


def test_finishing_a_run_wrongly(store: Store) -> None:
    run = store.start_run("sync")
    with pytest.raises(ValueError, match="status"):
        store.finish_run(run, "running", {})
    with pytest.raises(ValueError, match="JSON"):
        store.finish_run(run, "ok", {"when": date(2025, 3, 3)})
    with pytest.raises(StoreError, match="no run 9999"):
        store.finish_run(9999, "ok", {})


def test_audit_events_are_appended(store: Store) -> None:
    store.audit("dead_letters_dropped", {"ids": [1, 2], "by": "ops"})
    store.audit("period_locked", {"period": "2025-03"})

    rows = _table(store, "SELECT event, detail FROM audit ORDER BY id")
    assert [(event, json.loads(detail)) for event, detail in rows] == [
        ("dead_letters_dropped", {"ids": [1, 2], "by": "ops"}),
        ("period_locked", {"period": "2025-03"}),
    ]
