"""The receiver's store methods, on SQLite and PostgreSQL: group-committed writes, events, leaves, locks."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from support.store_data import ns

from punchbridge.rules.frames import LEAVE_COLUMNS
from punchbridge.store import Store
from punchbridge.store.receiver import (
    EventWrite,
    LeaveWrite,
    PeriodLockWrite,
    PunchWrite,
    QuarantineWrite,
)


def punch(employee: str = "E1", instant: str = "2026-01-08T03:30:00Z", device: str = "D1") -> PunchWrite:
    return PunchWrite(employee, ns(instant), device, "in", "receiver:push")


def held(employee: str = "E1", timestamp: str = "2000-01-01 00:00:00") -> QuarantineWrite:
    return QuarantineWrite("receiver:push", employee, timestamp, "D1", None, "implausible_timestamp", "clock reset?")


def event(event_id: str, *effects: object, event_type: str = "x", payload: str | None = None) -> EventWrite:
    return EventWrite(event_id, event_type, "minop", "receiver:webhook", "2026-01-08T11:59:00Z", effects, payload)  # type: ignore[arg-type]


def test_one_call_stores_many_writes_with_an_outcome_each(store: Store) -> None:
    outcomes = store.receive([punch("E1"), punch("E2"), punch("E1"), held(), held("E2"), held()])

    assert outcomes == ["stored", "stored", "duplicate", "quarantined", "quarantined", "already_quarantined"]
    assert store.punch_count() == 2
    assert len(store.quarantine_rows()) == 2


def test_a_punch_already_stored_by_a_sync_is_a_duplicate(store: Store) -> None:
    frame = pd.DataFrame(
        {
            "employee_id": ["E1"],
            "instant": pd.to_datetime(["2026-01-08T03:30:00Z"], utc=True).as_unit("ns"),
            "device_id": ["D1"],
            "direction": ["out"],
        }
    )
    store.add_punches(frame, source="minop")

    assert store.receive([punch()]) == ["duplicate"]


def test_received_punches_are_read_like_any_other_in_ingest_order(store: Store) -> None:
    store.receive([punch("E2", "2026-01-08T04:00:00Z"), punch("E1", "2026-01-08T03:00:00Z")])

    after = store.punches_after(0)
    assert after["employee_id"].tolist() == ["E2", "E1"]
    assert after["source"].tolist() == ["receiver:push"] * 2
    assert store.punches_after(int(after["id"].iloc[0]))["employee_id"].tolist() == ["E1"]


def test_an_event_is_applied_once_with_all_its_effects(store: Store) -> None:
    leave = LeaveWrite("E1", date(2026, 1, 12), "full", True)
    first = event("evt-1", punch(), leave, PeriodLockWrite("blr", "2026-01", "2026-02-01T00:00:00Z"))
    again = event("evt-1", punch("E9"), LeaveWrite("E9", date(2026, 1, 12), "full", False))

    assert store.receive([first, again]) == ["processed", "replayed"]
    assert store.receive([again]) == ["replayed"]

    assert store.punch_count() == 1
    assert store.leaves()["employee_id"].tolist() == ["E1"]
    assert store.period_locks()[["site", "period", "event_id"]].values.tolist() == [["blr", "2026-01", "evt-1"]]
    assert store.webhook_event_seen("evt-1")
    assert not store.webhook_event_seen("evt-2")


def test_leaves_are_the_rules_engines_frame_and_the_newest_approval_for_a_day_wins(store: Store) -> None:
    store.receive(
        [
            event("a", LeaveWrite("E2", date(2026, 1, 12), "first_half", False)),
            event("b", LeaveWrite("E2", date(2026, 1, 12), "second_half", True)),
            event("c", LeaveWrite("E1", date(2026, 1, 13), "full", True)),
        ]
    )
    store.receive([event("d", LeaveWrite("E2", date(2026, 1, 12), "full", True))])  # replaces both halves
    store.receive([event("e", LeaveWrite("E1", date(2026, 1, 13), "second_half", False))])  # replaces the full day
    store.receive([event("f", LeaveWrite("E3", date(2026, 1, 14), "full", True))])
    store.receive([event("g", LeaveWrite("E3", date(2026, 1, 14), "full", False))])  # paid changes

    leaves = store.leaves()
    assert tuple(leaves.columns) == LEAVE_COLUMNS
    assert leaves.values.tolist() == [
        ["E1", date(2026, 1, 13), "second_half", False],
        ["E2", date(2026, 1, 12), "full", True],
        ["E3", date(2026, 1, 14), "full", False],
    ]
    assert leaves["paid"].dtype == bool


def test_the_leaves_frame_is_taken_by_the_rules_engine(store: Store) -> None:
    from punchbridge.rules import AttendanceInputs, compute_days
    from punchbridge.rules.settings import RuleSet

    store.receive([event("a", LeaveWrite("E1", date(2026, 1, 12), "full", True))])
    rules = RuleSet.model_validate(
        {"sites": {"blr": {"timezone": "Asia/Kolkata"}}, "shifts": {"g": {"start": "09:00", "end": "18:00"}}}
    )
    employees = pd.DataFrame({"employee_id": ["E1"], "site": ["blr"], "shift": ["g"], "weekly_off": [None]})
    punches = pd.DataFrame(
        {
            "employee_id": pd.Series([], dtype=object),
            "instant": pd.to_datetime([], utc=True).as_unit("ns"),
            "device_id": pd.Series([], dtype=object),
            "direction": pd.Series([], dtype=object),
        }
    )

    inputs = AttendanceInputs(punches=punches, employees=employees, leaves=store.leaves())
    days = compute_days(inputs, rules, date(2026, 1, 12), date(2026, 1, 12)).days

    assert days["status"].tolist() == ["on_leave"]


def test_an_empty_leaves_frame_has_the_columns(store: Store) -> None:
    assert tuple(store.leaves().columns) == LEAVE_COLUMNS
    assert store.leaves().empty


def test_a_period_stays_locked_from_its_first_lock(store: Store) -> None:
    store.receive([event("a", PeriodLockWrite("*", "2026-01", "2026-02-01T00:00:00Z"))])
    store.receive([event("b", PeriodLockWrite("*", "2026-01", "2026-02-09T00:00:00Z"))])

    assert store.period_locks()[["locked_at", "event_id"]].values.tolist() == [["2026-02-01T00:00:00Z", "a"]]


def test_kept_payloads_come_back_as_sent(store: Store) -> None:
    payload = '{"id":"p1","type":"attendance.processed","data":{"employee_id":"E1","anomalies":["late"]}}'
    store.receive([event("p1", event_type="attendance.processed", payload=payload), event("p2", payload="{}")])

    kept = store.cloud_events("attendance.processed")
    assert kept["payload"].tolist() == [
        {"id": "p1", "type": "attendance.processed", "data": {"employee_id": "E1", "anomalies": ["late"]}}
    ]
    assert store.cloud_events()["event_id"].tolist() == ["p1", "p2"]


def test_event_ids_older_than_a_time_are_purged(store: Store) -> None:
    store.receive([event("old")], received_at_ns=ns("2026-01-01T00:00:00Z"))
    store.receive([event("new")], received_at_ns=ns("2026-01-05T00:00:00Z"))

    assert store.purge_webhook_events(ns("2026-01-02T00:00:00Z")) == 1
    assert not store.webhook_event_seen("old")
    assert store.webhook_event_seen("new")
    assert store.receive([event("old")]) == ["processed"]  # forgotten: it would apply again


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (PunchWrite("", 0, "D1", None, "s"), "punch employee_id"),
        (PunchWrite("E1", 2**63, "D1", None, "s"), "64-bit"),
        (PunchWrite("E1", 0, "D\x001", None, "s"), "NUL"),
        (PunchWrite("E1", 0, "D1", "\ud800", "s"), "lone surrogate"),
        (event("e", LeaveWrite("E1", date(2026, 1, 1), "half", True)), "leave kind"),
        (event("e", LeaveWrite("E1", "2026-01-01", "full", True)), "leave date"),  # type: ignore[arg-type]
        (event("e", event("inner")), "cannot contain another event"),
        ("not a write", "not something the receiver stores"),
    ],
)
def test_a_malformed_write_raises_value_error_and_nothing_is_written(store: Store, write: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.receive([punch(), write])  # type: ignore[list-item]

    assert store.punch_count() == 0


def test_ping_reads_the_store(store: Store) -> None:
    store.ping()
    store.close()
    with pytest.raises(Exception, match="closed"):
        store.ping()
