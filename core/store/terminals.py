"""What each terminal holds and the device-command journal (employee sync, docs/employees.md).

`Store` inherits `TerminalStore`; its methods use `self._transaction(write=...)` like the rest of the
store. The tables are described in `store.schema.terminals`. The journal makes a run resumable: its
commands are recorded `pending` (with their OperationIDs) before any is sent, and each command the
cloud executed is settled `done` in the same transaction that writes the ledger row it leads to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select, update

from punchbridge.errors import StoreError
from punchbridge.store.database import dialect_insert, dumps_json
from punchbridge.store.schema.terminals import (
    TERMINAL_ACTIONS,
    TERMINAL_COMMAND_STATUSES,
    terminal_commands,
    terminal_users,
)

__all__ = ["CommandSettlement", "JournalCommand", "StoredCommand", "TerminalStore", "TerminalUser"]

_SETTLED = frozenset(TERMINAL_COMMAND_STATUSES) - {"pending"}
_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class TerminalUser:
    """One row of the ledger: what punchbridge made terminal `stgid` hold for `user_id`."""

    stgid: str
    user_id: str
    present: bool
    revision: int  # commands applied to this (terminal, user) so far: part of every OperationID
    lineage: str  # fixed when the row is first made: a re-created row never repeats an OperationID
    employee_ref: str | None = None
    profile_hash: str | None = None
    user_type: str | None = None
    access_start: str | None = None
    access_end: str | None = None
    access_days: str | None = None
    face_ref: str | None = None


_USER_FIELDS = tuple(f.name for f in fields(TerminalUser))


@dataclass(frozen=True, slots=True)
class JournalCommand:
    """A command to record before it is sent: where, what, its OperationID and the row it leads to.

    `command` is `{"name", "entity", "data"}` with text values only, or None for a face enrolment
    (a template is never stored); `revision` is the row's revision before the command.
    """

    stgid: str
    user_id: str
    action: str
    revision: int
    lineage: str
    operation_id: str
    command: Mapping[str, Any] | None
    effect: TerminalUser


@dataclass(frozen=True, slots=True)
class StoredCommand:
    """A journalled command as stored, with its id, run and status."""

    id: int
    run_id: int | None
    status: str
    error: str | None
    entry: JournalCommand


@dataclass(frozen=True, slots=True)
class CommandSettlement:
    """How a journalled command ended: `status` (done, failed, skipped, abandoned), the error text, and
    the ledger row to write (`row`: the command's effect, or what the terminal was found to hold)."""

    id: int
    status: str
    error: str | None = None
    row: TerminalUser | None = None


def _row_values(row: TerminalUser, now: int) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in _USER_FIELDS}
    values["updated_at_ns"] = now
    return values


def _check_user(row: TerminalUser, what: str) -> None:
    if not isinstance(row, TerminalUser):
        raise ValueError(f"{what}: expected a TerminalUser, got {type(row).__name__}")
    if not row.stgid or not row.user_id:
        raise ValueError(f"{what}: stgid and user_id are required")
    if row.revision < 0:
        raise ValueError(f"{what}: revision {row.revision} is negative")


def _effect_json(row: TerminalUser) -> str:
    return dumps_json({name: getattr(row, name) for name in _USER_FIELDS}, "a terminal user")


def _effect_of(text: str) -> TerminalUser:
    return TerminalUser(**json.loads(text))


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class TerminalStore:
    """Store methods of employee sync (mixed into `Store`)."""

    if TYPE_CHECKING:  # provided by `Store`, which mixes this class in

        def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]: ...

    def terminal_users(self, stgids: Collection[str] | None = None) -> list[TerminalUser]:
        """The ledger rows (of `stgids`, or all), deleted users included, by terminal and user id."""
        columns = [terminal_users.c[name] for name in _USER_FIELDS]
        query = select(*columns).order_by(terminal_users.c.stgid, terminal_users.c.user_id)
        if stgids is not None:
            query = query.where(terminal_users.c.stgid.in_(sorted(set(stgids))))
        with self._transaction(write=False) as connection:
            rows = connection.execute(query).all()
        return [_user_from(row) for row in rows]

    def record_terminal_commands(self, run_id: int | None, commands: Sequence[JournalCommand]) -> list[int]:
        """Record `commands` as `pending`, in order, in one transaction; returns their ids in that order.

        ValueError (nothing written) for an unknown action, a negative revision, an effect for
        another terminal or user, or a command that cannot be stored as JSON.
        """
        now = time.time_ns()
        rows = []
        for position, entry in enumerate(commands):
            what = f"command {position} ({entry.action} {entry.user_id} on {entry.stgid})"
            if entry.action not in TERMINAL_ACTIONS:
                raise ValueError(f"{what}: action must be one of {', '.join(TERMINAL_ACTIONS)}")
            if not entry.operation_id:
                raise ValueError(f"{what}: no OperationID")
            _check_user(entry.effect, what)
            if (entry.effect.stgid, entry.effect.user_id) != (entry.stgid, entry.user_id):
                raise ValueError(f"{what}: its effect is for {entry.effect.user_id} on {entry.effect.stgid}")
            if entry.revision < 0:
                raise ValueError(f"{what}: revision {entry.revision} is negative")
            command = None if entry.command is None else dumps_json(dict(entry.command), what)
            rows.append(
                {
                    "run_id": run_id,
                    "stgid": entry.stgid,
                    "user_id": entry.user_id,
                    "action": entry.action,
                    "revision": entry.revision,
                    "lineage": entry.lineage,
                    "operation_id": entry.operation_id,
                    "command": command,
                    "effect": _effect_json(entry.effect),
                    "status": "pending",
                    "error": None,
                    "created_at_ns": now,
                    "finished_at_ns": None,
                }
            )
        if not rows:
            return []
        statement = terminal_commands.insert().returning(terminal_commands.c.id, sort_by_parameter_order=True)
        ids: list[int] = []
        with self._transaction(write=True) as connection:
            for part in _chunks(rows):
                ids.extend(int(i) for i in connection.execute(statement, list(part)).scalars().all())
        return ids

    def pending_terminal_commands(self) -> list[StoredCommand]:
        """Journalled commands not settled yet (a run that crashed or stopped), oldest first."""
        return self.terminal_commands(status="pending")

    def terminal_commands(self, *, status: str | None = None, run_id: int | None = None) -> list[StoredCommand]:
        """Journalled commands (with `status`, of `run_id`, or all), in the order they were recorded."""
        if status is not None and status not in TERMINAL_COMMAND_STATUSES:
            raise ValueError(f"status must be one of {', '.join(TERMINAL_COMMAND_STATUSES)}, not {status!r}")
        t = terminal_commands.c
        query = select(
            t.id,
            t.run_id,
            t.status,
            t.error,
            t.stgid,
            t.user_id,
            t.action,
            t.revision,
            t.lineage,
            t.operation_id,
            t.command,
            t.effect,
        ).order_by(t.id)
        if status is not None:
            query = query.where(t.status == status)
        if run_id is not None:
            query = query.where(t.run_id == run_id)
        with self._transaction(write=False) as connection:
            rows = connection.execute(query).all()
        found = []
        for row in rows:
            entry = JournalCommand(
                row.stgid,
                row.user_id,
                row.action,
                int(row.revision),
                row.lineage,
                row.operation_id,
                None if row.command is None else json.loads(row.command),
                _effect_of(row.effect),
            )
            found.append(StoredCommand(int(row.id), row.run_id, row.status, row.error, entry))
        return found

    def settle_terminal_commands(self, settlements: Sequence[CommandSettlement]) -> None:
        """Settle journalled commands and write the ledger rows they give, in one transaction.

        Rows are written in the order given (a later row for the same terminal and user wins).
        ValueError (nothing written) for an unknown status or a malformed row; StoreError when a
        command does not exist or is already settled.
        """
        now = time.time_ns()
        statuses, rows = [], []
        for settlement in settlements:
            if settlement.status not in _SETTLED:
                raise ValueError(f"command {settlement.id}: status must be one of {', '.join(sorted(_SETTLED))}")
            if settlement.row is not None:
                _check_user(settlement.row, f"command {settlement.id}")
                rows.append(settlement.row)
            statuses.append(
                {"command_id": settlement.id, "new_status": settlement.status, "new_error": settlement.error}
            )
        if not statuses:
            return
        latest = {(row.stgid, row.user_id): row for row in rows}
        t = terminal_commands.c
        mark = (
            update(terminal_commands)
            .where(t.id == bindparam("command_id"), t.status == "pending")
            .values(status=bindparam("new_status"), error=bindparam("new_error"), finished_at_ns=now)
        )
        with self._transaction(write=True) as connection:
            marked = 0
            for part in _chunks(statuses):
                marked += max(connection.execute(mark, list(part)).rowcount, 0)
            if marked != len(statuses):
                raise StoreError(f"{len(statuses) - marked} of the commands to settle are not pending journal entries")
            self._write_terminal_users(connection, list(latest.values()), now)

    @staticmethod
    def _write_terminal_users(connection: Connection, rows: Sequence[TerminalUser], now: int) -> None:
        if not rows:
            return
        insert = dialect_insert(connection, terminal_users)
        changing = [name for name in _USER_FIELDS if name not in ("stgid", "user_id")] + ["updated_at_ns"]
        upsert = insert.on_conflict_do_update(
            index_elements=["stgid", "user_id"], set_={name: insert.excluded[name] for name in changing}
        )
        for part in _chunks(rows):
            connection.execute(upsert, [_row_values(row, now) for row in part])


def _user_from(row: Any) -> TerminalUser:
    values = dict(zip(_USER_FIELDS, row, strict=True))
    values["present"] = bool(values["present"])
    values["revision"] = int(values["revision"])
    return TerminalUser(**values)
