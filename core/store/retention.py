"""Period locks, adjustments, retention purges, erasure and tombstones.

`Store` inherits `RetentionStore`; its methods use `self._transaction(write=...)` like the rest of the
store, one transaction each. docs/cutoff.md and docs/retention.md describe the behaviour; this module
is the storage of it:

- locks: `lock_period`, `unlock_period` (audited in the same transaction); `Store.period_locks()`
  lists them (the receiver's `payroll.cutoff.locked` writes the same table);
- adjustments: `add_adjustments` (idempotent by employee, work date and seq), `adjustments`,
  `repost_adjustments`;
- retention: `retention_horizon` (the first work date still kept), `purge_attendance` (moves the
  horizon and removes the attendance data before it, in one transaction), `purge_history`;
- erasure: `erase_employee` (everything stored about one person, in one transaction, with a
  tombstone and an audit event that names nobody), `erased_employees`, and `load_tombstones`, which
  the punch writers (`punches.insert_punches`, the receiver's writes) call to refuse re-sent punches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from punchbridge.store.database import chunks, dialect_insert, dumps_json
from punchbridge.store.delivery import erase_batch_records
from punchbridge.store.schema import (
    audit,
    batches,
    cloud_events,
    cursors,
    dead_letters,
    leaves,
    ledger,
    period_locks,
    processed_days,
    punches,
    quarantine,
    runs,
    webhook_events,
)
from punchbridge.store.schema.retention import adjustments, erasure_keys, tombstones

__all__ = [
    "HISTORY_KINDS",
    "HORIZON_CURSOR",
    "Adjustment",
    "RetentionStore",
    "Tombstones",
    "employee_hash",
    "load_tombstones",
]

#: The cursor holding the first work date a purge kept (`YYYY-MM-DD`): earlier days are history.
HORIZON_CURSOR = "retention:purged_before"
#: What `purge_history` can remove, each by its own time column.
HISTORY_KINDS = ("runs", "audit", "batches", "cloud_events", "webhook_events", "quarantine")
#: Punches this long before the horizon's first day are kept: a night shift or a far time zone puts
#: a punch of the day before on the horizon's local date.
_PUNCH_MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class Adjustment:
    """One correction of a day of a locked period (a row of `adjustments`; docs/cutoff.md)."""

    employee_id: str
    work_date: str
    seq: int
    site: str | None
    posting_period: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    after_hash: str
    created_at_ns: int = 0

    @property
    def key(self) -> str:
        """The record key the adjustment is delivered under: `{employee}|{work_date}|adjustment:{seq}`."""
        return f"{self.employee_id}|{self.work_date}|adjustment:{self.seq}"


def employee_hash(secret: bytes, employee_id: str) -> str:
    """The tombstone of `employee_id`: HMAC-SHA256 (hex) under the store's secret."""
    return hmac.new(secret, employee_id.encode("utf-8"), hashlib.sha256).hexdigest()


class Tombstones:
    """The erased employees, as the punch writers check them: is this punch of an erased person?"""

    def __init__(self, secret: bytes, erased: Mapping[str, int]) -> None:
        self._secret = secret
        self._erased = dict(erased)
        self._seen: dict[str, int | None] = {}

    def erased_at(self, employee_id: str) -> int | None:
        """When `employee_id` was erased (ns since the epoch), or None."""
        if employee_id not in self._seen:
            self._seen[employee_id] = self._erased.get(employee_hash(self._secret, employee_id))
        return self._seen[employee_id]

    def refuses(self, employee_id: str, instant_ns: int) -> bool:
        """True for a punch at or before the erasure of its employee: a re-sent one. Later punches
        (a re-hire under the same id) are taken."""
        erased = self.erased_at(employee_id)
        return erased is not None and int(instant_ns) <= erased


def load_tombstones(connection: Connection) -> Tombstones | None:
    """The tombstones on `connection`, or None when nobody was ever erased (the common case)."""
    rows = connection.execute(select(tombstones.c.employee_hash, tombstones.c.erased_at_ns)).all()
    if not rows:
        return None
    secret = connection.execute(select(erasure_keys.c.secret).where(erasure_keys.c.id == 1)).scalar_one()
    return Tombstones(bytes.fromhex(secret), {row[0]: int(row[1]) for row in rows})


def _secret(connection: Connection, now_ns: int) -> bytes:
    """The store's tombstone secret, made at the first erasure."""
    insert = dialect_insert(connection, erasure_keys).values(id=1, secret=secrets.token_hex(32), created_at_ns=now_ns)
    connection.execute(insert.on_conflict_do_nothing())
    stored = connection.execute(select(erasure_keys.c.secret).where(erasure_keys.c.id == 1)).scalar_one()
    return bytes.fromhex(stored)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be non-empty text, not {value!r}")
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode (a lone surrogate)") from None
    return value


def _starts_with(column: Any, prefix: str) -> Any:
    """`column` begins with `prefix`, exactly (no LIKE wildcards; the same on SQLite and PostgreSQL)."""
    return func.substr(column, 1, len(prefix)) == prefix


def _midnight_ns(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp()) * 1_000_000_000


def _keys_before(connection: Connection, kind: str, before: date) -> list[tuple[str, str]]:
    """(target, record_key) of ledger rows of `kind` (`day` or `adjustment`) whose work date is before `before`."""
    pattern = "%|day" if kind == "day" else "%|adjustment:%"
    query = select(ledger.c.target, ledger.c.record_key).where(ledger.c.record_key.like(pattern))
    limit = before.isoformat()
    found = []
    for target, key in connection.execute(query):
        parts = key.rsplit("|", 2)
        if len(parts) == 3 and parts[1] < limit:
            found.append((target, key))
    return found


def _delete_ledger(connection: Connection, rows: Sequence[tuple[str, str]]) -> None:
    by_target: dict[str, list[str]] = {}
    for target, key in rows:
        by_target.setdefault(target, []).append(key)
    for target, keys in by_target.items():
        for part in chunks(len(keys), 2000):
            connection.execute(delete(ledger).where(ledger.c.target == target, ledger.c.record_key.in_(keys[part])))


def _count_or_delete(connection: Connection, table: Any, condition: Any, dry_run: bool) -> int:
    if dry_run:
        return int(connection.execute(select(func.count()).select_from(table).where(condition)).scalar_one())
    return max(connection.execute(delete(table).where(condition)).rowcount, 0)


def _adjustment(row: Any) -> Adjustment:
    return Adjustment(
        employee_id=row.employee_id,
        work_date=row.work_date,
        seq=int(row.seq),
        site=row.site,
        posting_period=row.posting_period,
        before=json.loads(row.before),
        after=json.loads(row.after),
        after_hash=row.after_hash,
        created_at_ns=int(row.created_at_ns),
    )


def _mentions(value: Any, employee_id: str) -> bool:
    """True when a decoded webhook payload has `employee_id` as the value of an `employee_id` key."""
    if isinstance(value, dict):
        return any((k == "employee_id" and v == employee_id) or _mentions(v, employee_id) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions(item, employee_id) for item in value)
    return False


class RetentionStore:
    """Store methods for this feature (mixed into `Store`)."""

    if TYPE_CHECKING:  # provided by `Store`, which mixes this class in

        def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]: ...

    # -- period locks -------------------------------------------------------------------------------

    def lock_period(self, site: str, period: str, *, locked_at: str, source: str = "cli", by: str = "") -> bool:
        """Lock payroll period `period` (`YYYY-MM`) for `site` (`*`: every site), audited. False when it
        was locked already (the first lock stays, as for the webhook). ValueError for a bad argument."""
        from punchbridge.periods import parse_period

        _text(site, "the site")
        parse_period(period)
        _text(locked_at, "locked_at")
        _text(source, "the lock's source")
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            insert = dialect_insert(connection, period_locks).values(
                site=site, period=period, locked_at=locked_at, event_id=source, source=source, received_at_ns=now
            )
            done = connection.execute(insert.on_conflict_do_nothing().returning(period_locks.c.site)).first()
            if done is None:
                return False
            detail = {"site": site, "period": period, "locked_at": locked_at, "source": source, "by": by}
            connection.execute(audit.insert().values(at_ns=now, event="period.locked", detail=dumps_json(detail, "")))
            return True

    def unlock_period(self, site: str, period: str, *, reason: str, by: str = "") -> dict[str, Any] | None:
        """Remove the lock of (`site`, `period`), auditing the reason; returns the removed lock's
        columns, or None when there was no such lock. ValueError for a bad argument or empty reason."""
        _text(site, "the site")
        _text(period, "the period")
        _text(reason, "the reason")
        now = time.time_ns()
        with self._transaction(write=True) as connection:
            found = connection.execute(
                select(period_locks).where(period_locks.c.site == site, period_locks.c.period == period)
            ).first()
            if found is None:
                return None
            connection.execute(delete(period_locks).where(period_locks.c.site == site, period_locks.c.period == period))
            removed = {k: v for k, v in found._mapping.items() if k in ("site", "period", "locked_at", "source")}
            detail = {**removed, "reason": reason, "by": by}
            connection.execute(audit.insert().values(at_ns=now, event="period.unlocked", detail=dumps_json(detail, "")))
            return dict(found._mapping)

    # -- adjustments --------------------------------------------------------------------------------

    def add_adjustments(self, rows: Sequence[Adjustment]) -> int:
        """Record adjustments; one already recorded (same employee, work date and seq) is left as it
        is. Returns how many were new."""
        if not rows:
            return 0
        now = time.time_ns()
        values = [
            {
                "employee_id": _text(a.employee_id, "adjustment employee_id"),
                "work_date": a.work_date,
                "seq": int(a.seq),
                "site": a.site,
                "posting_period": a.posting_period,
                "before": dumps_json(dict(a.before), "the adjustment's before values"),
                "after": dumps_json(dict(a.after), "the adjustment's after values"),
                "after_hash": a.after_hash,
                "created_at_ns": a.created_at_ns or now,
            }
            for a in rows
        ]
        added = 0
        with self._transaction(write=True) as connection:
            insert = dialect_insert(connection, adjustments).on_conflict_do_nothing()
            for value in values:
                added += connection.execute(insert.values(value).returning(adjustments.c.seq)).first() is not None
        return added

    def adjustments(self, employee_ids: Collection[str] | None = None) -> list[Adjustment]:
        """Recorded adjustments (of `employee_ids`, or all), by employee, work date and seq."""
        query = select(adjustments).order_by(adjustments.c.employee_id, adjustments.c.work_date, adjustments.c.seq)
        with self._transaction(write=False) as connection:
            if employee_ids is None:
                return [_adjustment(row) for row in connection.execute(query)]
            wanted = sorted({str(e) for e in employee_ids})
            found: list[Adjustment] = []
            for part in chunks(len(wanted), 1000):
                rows = connection.execute(query.where(adjustments.c.employee_id.in_(wanted[part])))
                found += [_adjustment(row) for row in rows]
            return found

    def repost_adjustments(self, moves: Sequence[tuple[Adjustment, str]]) -> None:
        """Give adjustments a new posting period (theirs was locked before they were delivered)."""
        from punchbridge.periods import parse_period

        if not moves:
            return
        with self._transaction(write=True) as connection:
            for adjustment, period in moves:
                parse_period(period)
                connection.execute(
                    update(adjustments)
                    .where(
                        adjustments.c.employee_id == adjustment.employee_id,
                        adjustments.c.work_date == adjustment.work_date,
                        adjustments.c.seq == adjustment.seq,
                    )
                    .values(posting_period=period)
                )

    # -- retention ----------------------------------------------------------------------------------

    def retention_horizon(self) -> date | None:
        """The first work date a purge kept (days before it are gone and never recomputed), or None."""
        with self._transaction(write=False) as connection:
            value = connection.execute(select(cursors.c.value).where(cursors.c.name == HORIZON_CURSOR)).scalar()
        return None if value is None else date.fromisoformat(value)

    def earliest_work_date(self) -> date | None:
        """The first work date any stored data may belong to: the first processed day, or the day
        before the first punch's UTC date (a local date can be a day earlier); None when empty."""
        with self._transaction(write=False) as connection:
            first_day = connection.execute(select(func.min(processed_days.c.work_date))).scalar()
            first_ns = connection.execute(select(func.min(punches.c.instant_ns))).scalar()
        found = []
        if first_day is not None:
            found.append(date.fromisoformat(first_day))
        if first_ns is not None:
            found.append(datetime.fromtimestamp(first_ns // 10**9, UTC).date() - timedelta(days=1))
        return min(found) if found else None

    def purge_attendance(
        self, before: date, *, adjustments_target: str | None = None, dry_run: bool = False
    ) -> dict[str, int]:
        """Remove the attendance data of work dates before `before`, in one transaction that first
        moves the retention horizon to `before` (never back), so no sync recomputes those days.

        Removed: punches more than two days before `before` (UTC), processed days, the ledger rows of
        their records (`|day` keys), received leaves, and adjustments of those days that
        `adjustments_target` holds (undelivered ones stay). Returns rows per table (would-be, dry)."""
        now = time.time_ns()
        counts: dict[str, int] = {}
        limit = before.isoformat()
        with self._transaction(write=not dry_run) as connection:
            current = connection.execute(select(cursors.c.value).where(cursors.c.name == HORIZON_CURSOR)).scalar()
            if current is not None and current >= limit:
                before, limit = date.fromisoformat(current), current
            if not dry_run and current != limit:
                insert = dialect_insert(connection, cursors).values(name=HORIZON_CURSOR, value=limit, updated_at_ns=now)
                connection.execute(
                    insert.on_conflict_do_update(index_elements=["name"], set_={"value": limit, "updated_at_ns": now})
                )
            cut_ns = _midnight_ns(before - _PUNCH_MARGIN)
            counts["punches"] = _count_or_delete(connection, punches, punches.c.instant_ns < cut_ns, dry_run)
            counts["processed_days"] = _count_or_delete(
                connection, processed_days, processed_days.c.work_date < limit, dry_run
            )
            day_keys = _keys_before(connection, "day", before)
            done: list[Adjustment] = []
            if adjustments_target is not None:
                old = connection.execute(select(adjustments).where(adjustments.c.work_date < limit)).all()
                held = {
                    key
                    for _target, key in _keys_before(connection, "adjustment", before)
                    if _target == adjustments_target
                }
                done = [a for a in map(_adjustment, old) if a.key in held]
            adjustment_keys = [(adjustments_target or "", a.key) for a in done]
            counts["ledger"] = len(day_keys) + len(adjustment_keys)
            counts["adjustments"] = len(done)
            counts["leaves"] = _count_or_delete(connection, leaves, leaves.c.date < limit, dry_run)
            if not dry_run:
                _delete_ledger(connection, [*day_keys, *adjustment_keys])
                for a in done:
                    connection.execute(
                        delete(adjustments).where(
                            adjustments.c.employee_id == a.employee_id,
                            adjustments.c.work_date == a.work_date,
                            adjustments.c.seq == a.seq,
                        )
                    )
        return counts

    def purge_history(self, kind: str, before_ns: int, *, dry_run: bool = False) -> int:
        """Remove rows of `kind` (one of HISTORY_KINDS) older than `before_ns`; returns how many.

        runs: finished ones (by end); audit: by time; batches: done or dropped (by end), except the
        highest sequence number of each target and period, which keeps its number from being given
        out again; cloud_events and webhook_events: by arrival; quarantine: by when it was stored."""
        cut = int(before_ns)
        with self._transaction(write=not dry_run) as connection:
            if kind == "runs":
                condition = and_(runs.c.status != "running", runs.c.finished_at_ns < cut)
                return _count_or_delete(connection, runs, condition, dry_run)
            if kind == "audit":
                return _count_or_delete(connection, audit, audit.c.at_ns < cut, dry_run)
            if kind == "cloud_events":
                return _count_or_delete(connection, cloud_events, cloud_events.c.received_at_ns < cut, dry_run)
            if kind == "webhook_events":
                return _count_or_delete(connection, webhook_events, webhook_events.c.received_at_ns < cut, dry_run)
            if kind == "quarantine":
                return _count_or_delete(connection, quarantine, quarantine.c.created_at_ns < cut, dry_run)
            if kind == "batches":
                return _purge_batches(connection, cut, dry_run)
        raise ValueError(f"cannot purge {kind!r}: use one of {', '.join(HISTORY_KINDS)}")

    # -- erasure ------------------------------------------------------------------------------------

    def erased_employees(self, employee_ids: Collection[str]) -> dict[str, int]:
        """Of `employee_ids`, those erased, with the instant of their erasure (ns since the epoch)."""
        with self._transaction(write=False) as connection:
            found = load_tombstones(connection)
        if found is None:
            return {}
        erased = {str(e): found.erased_at(str(e)) for e in employee_ids}
        return {employee: at for employee, at in erased.items() if at is not None}

    def erase_employee(self, employee_id: str, *, now_ns: int | None = None, dry_run: bool = False) -> dict[str, int]:
        """Remove everything stored about `employee_id`, leave a tombstone and an audit event without
        the id, in one transaction. Returns rows removed per kind (would-be, on a dry run: nothing is
        written). See docs/retention.md for what is removed and what is kept."""
        _text(employee_id, "the employee id")
        now = time.time_ns() if now_ns is None else int(now_ns)
        prefix = f"{employee_id}|"
        counts: dict[str, int] = {}
        with self._transaction(write=not dry_run) as connection:
            for name, table, condition in (
                ("punches", punches, punches.c.employee_id == employee_id),
                ("processed_days", processed_days, processed_days.c.employee_id == employee_id),
                ("ledger", ledger, _starts_with(ledger.c.record_key, prefix)),
                ("dead_letters", dead_letters, _starts_with(dead_letters.c.record_key, prefix)),
                ("quarantine", quarantine, quarantine.c.employee_id == employee_id),
                ("leaves", leaves, leaves.c.employee_id == employee_id),
                ("adjustments", adjustments, adjustments.c.employee_id == employee_id),
            ):
                counts[name] = _count_or_delete(connection, table, condition, dry_run)
            counts["batch_records"] = erase_batch_records(connection, prefix, now, dry_run)
            counts["cloud_events"] = _erase_from_cloud_events(connection, employee_id, dry_run)
            if dry_run:
                return counts
            tombstone = employee_hash(_secret(connection, now), employee_id)
            insert = dialect_insert(connection, tombstones).values(employee_hash=tombstone, erased_at_ns=now)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=["employee_hash"],
                    set_={"erased_at_ns": func.max(insert.excluded.erased_at_ns, tombstones.c.erased_at_ns)}
                    if connection.dialect.name == "sqlite"
                    else {"erased_at_ns": func.greatest(insert.excluded.erased_at_ns, tombstones.c.erased_at_ns)},
                )
            )
            detail = {"tombstone": tombstone[:16], "removed": counts}
            connection.execute(audit.insert().values(at_ns=now, event="employee.erased", detail=dumps_json(detail, "")))
        return counts


def _purge_batches(connection: Connection, cut: int, dry_run: bool) -> int:
    highest = {
        (row.target, row.period_start, row.period_end): row.seq
        for row in connection.execute(
            select(
                batches.c.target, batches.c.period_start, batches.c.period_end, func.max(batches.c.seq).label("seq")
            ).group_by(batches.c.target, batches.c.period_start, batches.c.period_end)
        )
    }
    old = connection.execute(
        select(batches.c.id, batches.c.target, batches.c.period_start, batches.c.period_end, batches.c.seq).where(
            batches.c.status.in_(("done", "dropped")), batches.c.finished_at_ns < cut
        )
    ).all()
    ids = [row.id for row in old if highest[(row.target, row.period_start, row.period_end)] != row.seq]
    if not dry_run:
        for part in chunks(len(ids), 2000):
            connection.execute(delete(batches).where(batches.c.id.in_(ids[part])))
    return len(ids)


def _erase_from_cloud_events(connection: Connection, employee_id: str, dry_run: bool) -> int:
    """Remove kept webhook payloads about `employee_id` (an `employee_id` key with that value)."""
    spellings = {json.dumps(employee_id, ensure_ascii=False), json.dumps(employee_id)}
    found = or_(*(cloud_events.c.payload.contains(needle, autoescape=True) for needle in spellings))
    ids = [
        row.id
        for row in connection.execute(select(cloud_events.c.id, cloud_events.c.payload).where(found))
        if _mentions(json.loads(row.payload), employee_id)
    ]
    if not dry_run:
        for part in chunks(len(ids), 2000):
            connection.execute(delete(cloud_events).where(cloud_events.c.id.in_(ids[part])))
    return len(ids)
