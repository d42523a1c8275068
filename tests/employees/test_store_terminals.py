"""The ledger of what terminals hold and the command journal, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from punchbridge.errors import StoreError
from punchbridge.store import Store
from punchbridge.store.terminals import CommandSettlement, JournalCommand, TerminalUser

ROW = TerminalUser("blr-1", "1001", present=True, revision=1, lineage="abc", profile_hash="p", user_type="1")
ADD = {"name": "Add", "entity": "User", "data": {"UserID": "1001", "FirstName": "Asha", "LastName": "Rao"}}


def entry(user_id: str = "1001", action: str = "add", revision: int = 0, **changes: object) -> JournalCommand:
    effect = replace(ROW, user_id=user_id, revision=revision + 1)
    values = {
        "stgid": "blr-1",
        "user_id": user_id,
        "action": action,
        "revision": revision,
        "lineage": "abc",
        "operation_id": f"pb-{user_id}-{revision}",
        "command": ADD,
        "effect": effect,
        **changes,
    }
    return JournalCommand(**values)  # type: ignore[arg-type]


def test_recorded_commands_are_pending_in_order_and_come_back_as_recorded(store: Store) -> None:
    ids = store.record_terminal_commands(7, [entry("1001"), entry("1002"), entry("1001", "access", 1)])
    assert ids == sorted(ids) and len(set(ids)) == 3
    pending = store.pending_terminal_commands()
    assert [p.id for p in pending] == ids and {p.run_id for p in pending} == {7}
    assert pending[2].entry == entry("1001", "access", 1)


def test_a_face_enrolment_is_recorded_without_any_command_text(store: Store) -> None:
    store.record_terminal_commands(None, [entry(action="enrol", command=None)])
    (stored,) = store.pending_terminal_commands()
    assert stored.entry.command is None and stored.run_id is None


def test_settling_writes_the_ledger_row_and_a_later_row_for_the_same_user_wins(store: Store) -> None:
    first, second = store.record_terminal_commands(1, [entry(), entry(action="access", revision=1)])
    later = replace(ROW, revision=2, access_start="09:00:00")
    store.settle_terminal_commands(
        [CommandSettlement(first, "done", row=replace(ROW, revision=1)), CommandSettlement(second, "done", row=later)]
    )
    assert store.terminal_users() == [later]
    assert store.pending_terminal_commands() == []
    assert [c.status for c in store.terminal_commands(run_id=1)] == ["done", "done"]


def test_a_failed_command_keeps_its_error_and_writes_no_row(store: Store) -> None:
    (command,) = store.record_terminal_commands(1, [entry()])
    store.settle_terminal_commands([CommandSettlement(command, "failed", "HTTP 400 invalid_field")])
    (stored,) = store.terminal_commands(status="failed")
    assert stored.error == "HTTP 400 invalid_field" and store.terminal_users() == []


def test_a_command_cannot_be_settled_twice_and_nothing_of_that_call_is_written(store: Store) -> None:
    first, second = store.record_terminal_commands(1, [entry("1001"), entry("1002")])
    store.settle_terminal_commands([CommandSettlement(first, "done", row=ROW)])
    with pytest.raises(StoreError, match="not pending"):
        store.settle_terminal_commands(
            [
                CommandSettlement(second, "done", row=replace(ROW, user_id="1002")),
                CommandSettlement(first, "failed", "again"),
            ]
        )
    assert [u.user_id for u in store.terminal_users()] == ["1001"]
    assert [c.id for c in store.pending_terminal_commands()] == [second]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"action": "explode"}, "action must be one of"),
        ({"operation_id": ""}, "no OperationID"),
        ({"revision": -1}, "negative"),
        ({"effect": replace(ROW, user_id="9999")}, "its effect is for 9999"),
        ({"command": {"name": "Add", "data": {"when": object()}}}, "cannot be stored as JSON"),
    ],
)
def test_a_malformed_command_is_refused_before_anything_is_recorded(store: Store, bad: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        store.record_terminal_commands(1, [entry("1002"), entry(**bad)])  # type: ignore[arg-type]
    assert store.pending_terminal_commands() == []


def test_an_unknown_settlement_status_is_refused(store: Store) -> None:
    (command,) = store.record_terminal_commands(1, [entry()])
    with pytest.raises(ValueError, match="status must be one of"):
        store.settle_terminal_commands([CommandSettlement(command, "pending")])
    with pytest.raises(ValueError, match="status must be one of"):
        store.terminal_commands(status="lost")


def test_ledger_rows_can_be_read_per_terminal(store: Store) -> None:
    ids = store.record_terminal_commands(1, [entry("1001"), entry("1002")])
    other = replace(ROW, stgid="hyd-1", user_id="1002")
    store.settle_terminal_commands(
        [CommandSettlement(ids[0], "done", row=ROW), CommandSettlement(ids[1], "done", row=other)]
    )
    assert store.terminal_users(["hyd-1"]) == [other]
    assert [u.stgid for u in store.terminal_users()] == ["blr-1", "hyd-1"]
