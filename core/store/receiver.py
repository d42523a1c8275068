"""What the receiver stores: pushed punches, quarantined pushes, and webhook events with their effects.

The receiver commits many requests in one transaction (group commit), so the unit here is a list of
writes applied in order inside one transaction, each with its own outcome:

- `PunchWrite`: `stored`, or `duplicate` when the same (device, employee, instant) is already stored
  (also earlier in the same list), or the employee was erased at or after the punch (a re-sent punch
  of an erased person: see `punchbridge.retention.erasure`; acknowledged, not stored);
- `QuarantineWrite`: `quarantined`, or `already_quarantined` when the same push is already held (a
  terminal that did not get the reply sends again): the same source, device, reason and `raw_digest`
  for a write that has one (a push that could not be read), else the same source, device, employee,
  timestamp text and reason;
- `EventWrite`: `processed`, or `replayed` when the event id is already recorded: a replayed event
  has no effect at all. An event's own writes (punches, quarantine, leaves, a period lock, its kept
  payload) commit together with its id, or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, select
from sqlalchemy.dialects import sqlite

from punchbridge.store.database import dialect_insert, fetch_rows
from punchbridge.store.retention import load_tombstones
from punchbridge.store.schema import (
    LEAVE_KINDS,
    cloud_events,
    leaves,
    period_locks,
    punches,
    quarantine,
    webhook_events,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CLOUD_EVENT_COLUMNS",
    "PERIOD_LOCK_COLUMNS",
    "EventWrite",
    "LeaveWrite",
    "PeriodLockWrite",
    "PunchWrite",
    "QuarantineWrite",
    "ReceiverWrite",
    "apply_writes",
    "check_writes",
    "list_cloud_events",
    "list_leaves",
    "list_period_locks",
    "purge_webhook_events",
    "webhook_event_seen",
]

PERIOD_LOCK_COLUMNS = ("site", "period", "locked_at", "event_id", "source", "received_at_ns")
CLOUD_EVENT_COLUMNS = ("event_id", "event_type", "created_at", "payload", "received_at_ns")


@dataclass(frozen=True, slots=True)
class PunchWrite:
    """A punch to store (instant in ns since the epoch, UTC)."""

    employee_id: str
    instant_ns: int
    device_id: str
    direction: str | None
    source: str


@dataclass(frozen=True, slots=True)
class QuarantineWrite:
    """A punch held back with its reason (`timestamp` is the text as the sender wrote it).

    `raw` is the body the sender sent (secrets masked), `raw_digest` what identifies that push across
    resends when its employee and time could not be read.
    """

    source: str
    employee_id: str | None
    timestamp: str | None
    device_id: str | None
    direction: str | None
    reason: str
    detail: str | None
    raw: str | None = None
    raw_digest: str | None = None


@dataclass(frozen=True, slots=True)
class LeaveWrite:
    """An approved leave: `kind` is full, first_half or second_half."""

    employee_id: str
    date: date
    kind: str
    paid: bool


@dataclass(frozen=True, slots=True)
class PeriodLockWrite:
    """A payroll period locked in the cloud (`site` `*` means every site)."""

    site: str
    period: str
    locked_at: str


Effect = PunchWrite | QuarantineWrite | LeaveWrite | PeriodLockWrite


@dataclass(frozen=True, slots=True)
class EventWrite:
    """A verified webhook event: its id (the replay key), what it does, and the payload to keep (JSON text)."""

    event_id: str
    event_type: str
    scheme: str
    source: str
    created_at: str | None = None
    effects: tuple[Effect, ...] = ()
    payload: str | None = None


ReceiverWrite = PunchWrite | QuarantineWrite | EventWrite

_PUNCH_KEYS = ("employee_id", "instant_ns", "device_id", "direction", "source", "ingested_at_ns")
# Compiled once: one INSERT per pushed punch is the receiver's hot path, and on SQLite the driver's own
# cursor (its row count tells stored from duplicate), in the transaction SQLAlchemy began, costs less
# than half of `exec_driver_sql` (4.8 against 11 us a row), all of it while holding the GIL the
# receiver's requests wait for. Its errors are `sqlite3.Error`, which the store reports as any other.
_SQLITE_PUNCH = (
    sqlite.insert(punches).on_conflict_do_nothing().compile(dialect=sqlite.dialect(), column_keys=list(_PUNCH_KEYS))
)
_SQLITE_PUNCH_SQL = str(_SQLITE_PUNCH)
_SQLITE_PUNCH_ORDER = tuple(_SQLITE_PUNCH.positiontup or ())


def _text(value: object, what: str, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"receiver write: {what} must be {'non-empty ' if required else ''}text, not {value!r}")
    if "\x00" in value:
        raise ValueError(f"receiver write: {what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"receiver write: {what} is not valid Unicode (a lone surrogate)") from None


def _check_effect(effect: object) -> None:
    if isinstance(effect, PunchWrite):
        for name in ("employee_id", "device_id", "source"):
            _text(getattr(effect, name), f"punch {name}")
        _text(effect.direction, "punch direction", required=False)
        if not isinstance(effect.instant_ns, int) or isinstance(effect.instant_ns, bool):
            raise ValueError(f"receiver write: punch instant_ns must be an int, not {effect.instant_ns!r}")
        if not -(2**63) <= effect.instant_ns < 2**63:
            raise ValueError("receiver write: punch instant_ns is outside the 64-bit range")
    elif isinstance(effect, QuarantineWrite):
        _text(effect.source, "quarantine source")
        _text(effect.reason, "quarantine reason")
        for name in ("employee_id", "timestamp", "device_id", "direction", "detail", "raw", "raw_digest"):
            _text(getattr(effect, name), f"quarantine {name}", required=False)
    elif isinstance(effect, LeaveWrite):
        _text(effect.employee_id, "leave employee_id")
        if not isinstance(effect.date, date):
            raise ValueError(f"receiver write: leave date must be a date, not {effect.date!r}")
        if effect.kind not in LEAVE_KINDS:
            raise ValueError(f"receiver write: leave kind must be one of {', '.join(LEAVE_KINDS)}, not {effect.kind!r}")
        if not isinstance(effect.paid, bool):
            raise ValueError(f"receiver write: leave paid must be true or false, not {effect.paid!r}")
    elif isinstance(effect, PeriodLockWrite):
        for name in ("site", "period", "locked_at"):
            _text(getattr(effect, name), f"period lock {name}")
    else:
        raise ValueError(f"receiver write: {type(effect).__name__} is not something the receiver stores")


def check_writes(writes: Sequence[ReceiverWrite]) -> None:
    """ValueError naming the first malformed write (checked before any transaction starts)."""
    for write in writes:
        if isinstance(write, EventWrite):
            for name in ("event_id", "event_type", "scheme", "source"):
                _text(getattr(write, name), f"event {name}")
            _text(write.created_at, "event created_at", required=False)
            _text(write.payload, "event payload", required=False)
            for effect in write.effects:
                if isinstance(effect, EventWrite):
                    raise ValueError("receiver write: an event cannot contain another event")
                _check_effect(effect)
        else:
            _check_effect(write)


def _inserted(connection: Connection, insert: Any, key: Any) -> bool:
    """Whether an INSERT ... ON CONFLICT DO NOTHING inserted its row. Told by RETURNING, not the row count:
    on PostgreSQL SQLAlchemy adds a RETURNING of its own, and the driver then reports no row count."""
    return connection.execute(insert.returning(key)).first() is not None


class _Applier:
    """Applies writes on one connection (inside the caller's transaction)."""

    def __init__(self, connection: Connection, now_ns: int) -> None:
        self.connection = connection
        self.now_ns = now_ns
        self.sqlite = connection.dialect.name == "sqlite"
        self._cursor: Any = None  # the driver's cursor for punch inserts, on first use (SQLite)
        # Erased employees (docs/retention.md): what a sender re-sends about them is acknowledged and
        # not stored; punches after the erasure (a re-hire) are.
        self.tombstones = load_tombstones(connection)

    def _erased_before(self, employee_id: str | None, instant_ns: int | None) -> bool:
        if self.tombstones is None or employee_id is None:
            return False
        if instant_ns is None:
            return self.tombstones.erased_at(employee_id) is not None
        return self.tombstones.refuses(employee_id, instant_ns)

    def apply(self, write: ReceiverWrite) -> str:
        if isinstance(write, EventWrite):
            return self.event(write)
        return self.effect(write, event_id="", source="")

    def effect(self, effect: Effect, *, event_id: str, source: str) -> str:
        if isinstance(effect, PunchWrite):
            return self.punch(effect)
        if isinstance(effect, QuarantineWrite):
            return self.held(effect)
        if isinstance(effect, LeaveWrite):
            return self.leave(effect, event_id, source)
        return self.lock(effect, event_id, source)

    def punch(self, write: PunchWrite) -> str:
        if self._erased_before(write.employee_id, write.instant_ns):
            return "duplicate"
        values = {
            "employee_id": write.employee_id,
            "instant_ns": write.instant_ns,
            "device_id": write.device_id,
            "direction": write.direction,
            "source": write.source,
            "ingested_at_ns": self.now_ns,
        }
        if self.sqlite:
            row = tuple(values[name] for name in _SQLITE_PUNCH_ORDER)
            if self._cursor is None:
                self._cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            count = self._cursor.execute(_SQLITE_PUNCH_SQL, row).rowcount
            return "stored" if count == 1 else "duplicate"
        statement = dialect_insert(self.connection, punches).values(values).on_conflict_do_nothing()
        return "stored" if _inserted(self.connection, statement, punches.c.id) else "duplicate"

    def held(self, write: QuarantineWrite) -> str:
        if self._erased_before(write.employee_id, None):
            return "already_quarantined"
        same = select(quarantine.c.id).where(
            quarantine.c.reason == write.reason,
            quarantine.c.source == write.source,
            quarantine.c.device_id.is_not_distinct_from(write.device_id),
        )
        if write.raw_digest is not None:  # nothing of it could be read but its bytes
            same = same.where(quarantine.c.raw_digest == write.raw_digest)
        else:
            same = same.where(
                quarantine.c.employee_id.is_not_distinct_from(write.employee_id),
                quarantine.c.timestamp.is_not_distinct_from(write.timestamp),
            )
        if self.connection.execute(same.limit(1)).first() is not None:
            return "already_quarantined"
        self.connection.execute(
            quarantine.insert().values(
                source=write.source,
                line=None,
                employee_id=write.employee_id,
                timestamp=write.timestamp,
                device_id=write.device_id,
                direction=write.direction,
                reason=write.reason,
                detail=write.detail,
                created_at_ns=self.now_ns,
                raw=write.raw,
                raw_digest=write.raw_digest,
            )
        )
        return "quarantined"

    def leave(self, write: LeaveWrite, event_id: str, source: str) -> str:
        day = write.date.isoformat()
        if self.tombstones is not None:  # any date: pandas' time range would overflow for year 1
            end_of_day_ns = ((write.date - date(1970, 1, 1)).days + 1) * 86_400 * 10**9 - 1
            if self._erased_before(write.employee_id, end_of_day_ns):
                return "duplicate"
        # The newest approval for a day wins: a full-day leave replaces half days, a half day replaces a
        # full day, so the rules engine never sees a full day together with another leave that day.
        same_day = and_(leaves.c.employee_id == write.employee_id, leaves.c.date == day)
        clash = leaves.c.kind != "full" if write.kind == "full" else leaves.c.kind == "full"
        self.connection.execute(delete(leaves).where(same_day, clash))
        insert = dialect_insert(self.connection, leaves).values(
            employee_id=write.employee_id,
            date=day,
            kind=write.kind,
            paid=write.paid,
            event_id=event_id,
            source=source,
            received_at_ns=self.now_ns,
        )
        replaced = {
            "paid": insert.excluded.paid,
            "event_id": insert.excluded.event_id,
            "source": insert.excluded.source,
            "received_at_ns": insert.excluded.received_at_ns,
        }
        self.connection.execute(
            insert.on_conflict_do_update(index_elements=["employee_id", "date", "kind"], set_=replaced)
        )
        return "stored"

    def lock(self, write: PeriodLockWrite, event_id: str, source: str) -> str:
        # A period stays locked from its first lock: a second lock event changes nothing.
        insert = dialect_insert(self.connection, period_locks).values(
            site=write.site,
            period=write.period,
            locked_at=write.locked_at,
            event_id=event_id,
            source=source,
            received_at_ns=self.now_ns,
        )
        inserted = _inserted(self.connection, insert.on_conflict_do_nothing(), period_locks.c.site)
        return "stored" if inserted else "duplicate"

    def event(self, write: EventWrite) -> str:
        seen = dialect_insert(self.connection, webhook_events).values(
            event_id=write.event_id, event_type=write.event_type, scheme=write.scheme, received_at_ns=self.now_ns
        )
        if not _inserted(self.connection, seen.on_conflict_do_nothing(), webhook_events.c.event_id):
            return "replayed"
        for effect in write.effects:
            self.effect(effect, event_id=write.event_id, source=write.source)
        if write.payload is not None:
            kept = dialect_insert(self.connection, cloud_events).values(
                event_id=write.event_id,
                event_type=write.event_type,
                created_at=write.created_at,
                payload=write.payload,
                received_at_ns=self.now_ns,
            )
            self.connection.execute(kept.on_conflict_do_nothing())
        return "processed"


def _stores_punches(write: ReceiverWrite) -> bool:
    if isinstance(write, PunchWrite):
        return True
    return isinstance(write, EventWrite) and any(isinstance(e, PunchWrite) for e in write.effects)


def apply_writes(connection: Connection, writes: Sequence[ReceiverWrite], now_ns: int) -> list[str]:
    """Apply `writes` in order on `connection` (one transaction, the caller's); one outcome per write."""
    if connection.dialect.name == "postgresql" and any(_stores_punches(w) for w in writes):
        # As in `add_punches`: ingestion is serialised so ids become visible in increasing order, and a
        # sync's "punches after id N" never misses a punch that commits later with a smaller id.
        connection.exec_driver_sql("LOCK TABLE punches IN SHARE ROW EXCLUSIVE MODE")
    applier = _Applier(connection, now_ns)
    return [applier.apply(write) for write in writes]


def list_leaves(connection: Connection) -> pd.DataFrame:
    """Leaves as the rules engine takes them (LEAVE_COLUMNS), ordered by employee_id, date, kind."""
    import pandas as pd

    query = select(leaves.c.employee_id, leaves.c.date, leaves.c.kind, leaves.c.paid).order_by(
        leaves.c.employee_id, leaves.c.date, leaves.c.kind
    )
    rows = fetch_rows(connection, query)
    return pd.DataFrame(
        {
            "employee_id": pd.Series([r[0] for r in rows], dtype=object),
            "date": pd.Series([date.fromisoformat(r[1]) for r in rows], dtype=object),
            "kind": pd.Series([r[2] for r in rows], dtype=object),
            "paid": pd.Series([bool(r[3]) for r in rows], dtype=bool),
        },
        columns=["employee_id", "date", "kind", "paid"],
    )


def list_period_locks(connection: Connection) -> pd.DataFrame:
    """Locked periods (PERIOD_LOCK_COLUMNS), ordered by site and period."""
    query = select(*(period_locks.c[c] for c in PERIOD_LOCK_COLUMNS)).order_by(
        period_locks.c.site, period_locks.c.period
    )
    return _frame(fetch_rows(connection, query), PERIOD_LOCK_COLUMNS, ints=("received_at_ns",))


def list_cloud_events(connection: Connection, event_type: str | None) -> pd.DataFrame:
    """Kept event payloads (CLOUD_EVENT_COLUMNS, payload decoded), in the order they arrived."""
    query = select(*(cloud_events.c[c] for c in CLOUD_EVENT_COLUMNS)).order_by(cloud_events.c.id)
    if event_type is not None:
        query = query.where(cloud_events.c.event_type == event_type)
    rows = [(*row[:3], json.loads(row[3]), row[4]) for row in fetch_rows(connection, query)]
    return _frame(rows, CLOUD_EVENT_COLUMNS, ints=("received_at_ns",))


def _frame(rows: Sequence[Any], columns: Sequence[str], ints: Sequence[str]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    data = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    frame = pd.DataFrame({c: pd.Series(list(v), dtype=object) for c, v in zip(columns, data, strict=True)})
    for name in ints:
        frame[name] = frame[name].astype(np.int64)
    return frame


def webhook_event_seen(connection: Connection, event_id: str) -> bool:
    """True when an event with this id was applied and its id not yet purged."""
    query = select(func.count()).select_from(webhook_events).where(webhook_events.c.event_id == event_id)
    return bool(connection.execute(query).scalar_one())


def purge_webhook_events(connection: Connection, older_than_ns: int) -> int:
    """Forget event ids received before `older_than_ns`; returns how many."""
    done = connection.execute(delete(webhook_events).where(webhook_events.c.received_at_ns < int(older_than_ns)))
    return max(done.rowcount, 0)
