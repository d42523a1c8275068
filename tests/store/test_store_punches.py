"""Punches: stored once however often they are sent, in ingest order, read back by instant range.
Also the receiving side's cursors and quarantine."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from sqlalchemy import event, text
from support.store_data import ns, punches

from punchbridge.store import IngestResult, Store


def test_a_resent_punch_is_stored_once(store: Store) -> None:
    first = store.add_punches(punches([("E1", "2025-03-03T09:00:00Z", "D1", "in")]), source="device:D1")
    again = store.add_punches(
        punches([("E1", "2025-03-03T09:00:00Z", "D1", "in"), ("E1", "2025-03-03T18:00:00Z", "D1", "out")]),
        source="device:D1",
    )

    assert (first.inserted, first.duplicates) == (1, 0)
    assert (again.inserted, again.duplicates) == (1, 1)
    assert store.punch_count() == 2


def test_a_punch_repeated_within_one_call_is_stored_once_and_the_first_copy_wins(store: Store) -> None:
    frame = punches(
        [
            ("E1", "2025-03-03T09:00:00Z", "D1", "in"),
            ("E1", "2025-03-03T09:00:00Z", "D1", "out"),  # same device, employee, instant: a re-send
            ("E1", "2025-03-03T09:00:00Z", "D1", "in"),
            ("E2", "2025-03-03T09:00:00Z", "D1", "in"),
        ]
    )

    result = store.add_punches(frame, source="file")

    assert (result.inserted, result.duplicates) == (2, 2)
    stored = store.punches_between(ns("2025-03-03T00:00Z"), ns("2025-03-04T00:00Z"))
    assert stored[["employee_id", "direction"]].values.tolist() == [["E1", "in"], ["E2", "in"]]


def test_the_same_instant_on_another_device_or_for_another_employee_is_another_punch(store: Store) -> None:
    frame = punches(
        [
            ("E1", "2025-03-03T09:00:00Z", "D1", "in"),
            ("E1", "2025-03-03T09:00:00Z", "D2", "in"),
            ("E2", "2025-03-03T09:00:00Z", "D1", "in"),
            ("E1", "2025-03-03T09:00:00.000000001Z", "D1", "in"),  # one nanosecond later
        ]
    )

    result = store.add_punches(frame, source="file")

    assert (result.inserted, result.duplicates) == (4, 0)
    assert store.punch_count() == 4


def test_an_instant_in_another_zone_is_the_same_punch_as_its_utc_instant(store: Store) -> None:
    store.add_punches(punches([("E1", "2025-03-03T09:00:00Z", "D1", "in")]), source="a")
    frame = punches([("E1", "2025-03-03T14:30:00+05:30", "D1", "in")])
    frame["instant"] = frame["instant"].dt.tz_convert("Asia/Kolkata")

    result = store.add_punches(frame, source="b")

    assert (result.inserted, result.duplicates) == (0, 1)


def test_ids_are_the_ingest_order(store: Store) -> None:
    # Deliberately not in time or employee order: ids follow the rows as given.
    frame = punches(
        [
            ("E9", "2025-03-03T18:00:00Z", "D1", "out"),
            ("E1", "2025-03-03T09:00:00Z", "D1", "in"),
            ("E5", "2025-03-03T12:00:00Z", "D2", None),
        ]
    )
    first = store.add_punches(frame, source="file-1")
    second = store.add_punches(
        punches([("E1", "2025-03-03T09:00:00Z", "D1", "in"), ("E0", "2025-03-01T00:00:00Z", "D1", "in")]),
        source="file-2",
    )

    after = store.punches_after(0)
    assert after["employee_id"].tolist() == ["E9", "E1", "E5", "E0"]
    assert after["id"].is_monotonic_increasing and after["id"].is_unique
    assert (first.first_id, first.last_id) == (after["id"].iloc[0], after["id"].iloc[2])
    assert second.first_id == second.last_id == after["id"].iloc[3]
    assert after["source"].tolist() == ["file-1", "file-1", "file-1", "file-2"]
    assert store.last_punch_id() == second.last_id
    assert store.punches_after(first.last_id)["employee_id"].tolist() == ["E0"]
    assert store.punches_after(store.last_punch_id()).empty


def test_an_empty_store_and_an_empty_frame(store: Store) -> None:
    assert store.last_punch_id() == 0
    assert store.punch_count() == 0
    assert store.add_punches(punches([]), source="nothing") == IngestResult(0, 0, None, None)
    empty = store.punches_after(0)
    assert list(empty.columns) == ["id", "employee_id", "instant", "device_id", "direction", "source"]
    assert str(empty["instant"].dtype) == "datetime64[ns, UTC]"


def test_punches_between_is_half_open_filters_employees_and_keeps_nanoseconds(store: Store) -> None:
    store.add_punches(
        punches(
            [
                ("E1", "2025-03-02T23:59:59.999999999Z", "D1", "in"),  # before
                ("E1", "2025-03-03T00:00:00Z", "D1", "in"),  # at start: included
                ("E1", "2025-03-03T12:00:00.000000123Z", "D1", None),
                ("E2", "2025-03-03T13:00:00Z", "D1", "out"),
                ("E3", "2025-03-03T14:00:00Z", "D1", "in"),
                ("E1", "2025-03-04T00:00:00Z", "D1", "out"),  # at end: excluded
            ]
        ),
        source="file",
    )
    start, end = ns("2025-03-03T00:00Z"), ns("2025-03-04T00:00Z")

    everyone = store.punches_between(start, end)
    some = store.punches_between(start, end, employee_ids=["E1", "E3", "E404"])

    assert everyone["employee_id"].tolist() == ["E1", "E1", "E2", "E3"]
    assert some["employee_id"].tolist() == ["E1", "E1", "E3"]
    assert str(everyone["instant"].dtype) == "datetime64[ns, UTC]"
    assert everyone["instant"].iloc[0] == pd.Timestamp("2025-03-03T00:00:00Z")
    assert everyone["instant"].iloc[1].value == ns("2025-03-03T12:00:00.000000123Z")
    assert everyone["direction"].tolist() == ["in", None, "out", "in"]
    assert store.punches_between(start, end, employee_ids=[]).empty


def test_punches_between_orders_by_employee_instant_device_bytewise_on_both_databases(store: Store) -> None:
    # Locale collations would put "e2" next to "E2"; the store compares bytes, as Python does.
    names = ["e2", "E10", "E2", "a", "Z", "É1"]
    rows = [(name, "2025-03-03T09:00:00Z", device, "in") for name in names for device in ("D2", "D1")]
    rows += [("E2", "2025-03-03T08:00:00Z", "D3", "in")]
    store.add_punches(punches(rows), source="file")

    found = store.punches_between(ns("2025-03-03T00:00Z"), ns("2025-03-04T00:00Z"))

    expected = sorted((name, ns(instant), device) for name, instant, device, _ in rows)
    instants = found["instant"].map(lambda t: t.value)
    assert list(zip(found["employee_id"], instants, found["device_id"], strict=True)) == expected


def test_punches_between_many_employees_in_order(store: Store) -> None:
    # More employees than go into one query: the pieces still come back in one global order.
    employees = [f"E{i}" for i in range(2500)]
    rows = [(e, instant, "D1", "in") for e in employees for instant in ("2025-03-03T18:00Z", "2025-03-03T09:00Z")]
    store.add_punches(punches(rows), source="file")

    wanted = employees[::2]
    found = store.punches_between(ns("2025-03-03T00:00Z"), ns("2025-03-04T00:00Z"), employee_ids=reversed(wanted))

    assert found["employee_id"].tolist() == [e for e in sorted(wanted) for _ in range(2)]
    assert found.groupby("employee_id")["instant"].is_monotonic_increasing.all()


def test_punches_between_is_an_index_range_scan_on_employee_and_instant(store: Store) -> None:
    days = pd.date_range("2025-03-01T09:00Z", periods=20, freq="D")
    store.add_punches(punches([(f"E{i}", t.isoformat(), "D1", "in") for i in range(200) for t in days]), "file")
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM punches" in statement:
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        store.punches_between(ns("2025-03-03T00:00Z"), ns("2025-03-06T00:00Z"), employee_ids=["E1", "E7"])
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    (statement, parameters), *_ = statements

    with store.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            )
            # The unique (employee_id, instant_ns, device_id) index (SQLite names it sqlite_autoindex_...).
            assert "SEARCH punches USING INDEX" in plan, plan
            assert "(employee_id=? AND instant_ns>? AND instant_ns<?)" in plan, plan
        else:
            connection.exec_driver_sql("ANALYZE punches")
            connection.exec_driver_sql("SET enable_seqscan = off")  # the table is small; the point is the index
            connection.exec_driver_sql("SET enable_bitmapscan = off")
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters))
            assert "Index Scan using uq_punches_employee_id_instant_ns_device_id" in plan, plan
            assert "Index Cond: ((employee_id = ANY" in plan and "(instant_ns >= " in plan, plan
            assert "(instant_ns < " in plan, plan


def test_malformed_punch_frames_are_refused_before_anything_is_written(store: Store) -> None:
    naive = punches([("E1", "2025-03-03T09:00:00Z", "D1", "in")])
    naive["instant"] = naive["instant"].dt.tz_localize(None)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.add_punches(naive, source="file")
    with pytest.raises(ValueError, match="device_id"):
        store.add_punches(punches([("E1", "2025-03-03T09:00:00Z", "D1", "in")]).drop(columns="device_id"), "file")
    no_employee = punches([("E1", "2025-03-03T09:00:00Z", "D1", "in")])
    no_employee["employee_id"] = None
    with pytest.raises(ValueError, match="employee_id"):
        store.add_punches(no_employee, source="file")
    assert store.punch_count() == 0


def test_direction_is_optional(store: Store) -> None:
    frame = punches([("E1", "2025-03-03T09:00:00Z", "D1", None)]).drop(columns="direction")
    store.add_punches(frame, source="file")
    assert store.punches_after(0)["direction"].tolist() == [None]


def test_concurrent_ingestion_stores_each_punch_once(store_url: str) -> None:
    # Four writers (each with its own Store, as separate processes would have) send overlapping punches.
    rows = [(f"E{i % 40}", pd.Timestamp("2025-03-03T09:00Z") + pd.Timedelta(seconds=i), "D1", "in") for i in range(800)]
    frame = punches([(e, t.isoformat(), d, x) for e, t, d, x in rows])
    results: list[IngestResult] = []
    errors: list[BaseException] = []

    def send(offset: int) -> None:
        store = Store.open(store_url)
        try:
            for start in range(0, 800, 100):
                part = frame.iloc[[(start + offset * 50 + k) % 800 for k in range(100)]]
                results.append(store.add_punches(part, source=f"writer-{offset}"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    Store.open(store_url).close()  # migrated once up front
    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with Store.open(store_url) as store:
        assert store.punch_count() == 800
        assert sum(r.inserted for r in results) == 800
        assert sum(r.inserted + r.duplicates for r in results) == len(results) * 100
        stored = store.punches_after(0)
        assert not stored.duplicated(["employee_id", "instant", "device_id"]).any()


# -- cursors and quarantine ---------------------------------------------------------------------


def test_cursors_are_set_replaced_and_read(store: Store) -> None:
    assert store.get_cursor("device:D1") is None
    store.set_cursor("device:D1", "41")
    store.set_cursor("device:D1", "42")
    store.set_cursor("device:D2", "7")
    assert (store.get_cursor("device:D1"), store.get_cursor("device:D2")) == ("42", "7")


def test_quarantine_rows_are_stored_as_given_and_read_by_reason(store: Store) -> None:
    rows = pd.DataFrame(
        {
            "source": ["punches.csv", "punches.csv", "device:D1"],
            "line": [3, 9, None],
            "employee_id": ["E1", None, "E404"],
            "timestamp": ["2025-03-03 25:00", "", "2025-03-03T09:00:00+05:30"],
            "device_id": ["D1", "D1", "D1"],
            "direction": ["in", None, "in"],
            "reason": ["bad_timestamp", "missing_employee", "unknown_employee"],
            "detail": ["hour 25", None, None],
        }
    )

    assert store.add_quarantine(rows) == 3
    assert store.add_quarantine(rows.iloc[:0]) == 0

    everything = store.quarantine_rows()
    assert everything["reason"].tolist() == ["bad_timestamp", "missing_employee", "unknown_employee"]
    assert everything["line"].tolist()[:2] == [3, 9] and pd.isna(everything["line"].iloc[2])
    assert everything["timestamp"].tolist() == ["2025-03-03 25:00", "", "2025-03-03T09:00:00+05:30"]
    assert everything["employee_id"].tolist() == ["E1", None, "E404"]
    one = store.quarantine_rows(reason="unknown_employee")
    assert one[["source", "employee_id", "detail"]].values.tolist() == [["device:D1", "E404", None]]
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM quarantine")).scalar_one() == 3
