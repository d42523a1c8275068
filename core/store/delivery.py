"""Delivery bookkeeping: the ledger (what each target holds), batches (the outbox), dead letters."""

from __future__ import annotations

import json
import zlib
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, delete, func, select, update

from punchbridge.errors import StoreError
from punchbridge.records import Batch, Outcome, Record
from punchbridge.store.compact import hash_from_stored, hash_to_stored
from punchbridge.store.database import chunks, dialect_insert, dumps_json
from punchbridge.store.schema import batches, dead_letters, ledger

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEAD_LETTER_COLUMNS",
    "LEDGER_COLUMNS",
    "complete_batch",
    "drop_batch",
    "drop_dead_letters",
    "erase_batch_records",
    "finished_records",
    "list_dead_letters",
    "open_batch",
    "open_batches",
    "read_ledger",
]

LEDGER_COLUMNS = ("record_key", "content_hash", "remote_id", "status", "attempts", "last_error", "batch_id")
DEAD_LETTER_COLUMNS = (
    "id",
    "target",
    "record_key",
    "content_hash",
    "fields",
    "message",
    "attempts",
    "batch_id",
    "created_at_ns",
)


def _frame(rows: Sequence[Any], columns: Sequence[str], ints: Collection[str] = ()) -> pd.DataFrame:
    import pandas as pd

    data = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    frame = pd.DataFrame({c: pd.Series(list(v), dtype=object) for c, v in zip(columns, data, strict=True)})
    for column in ints:
        frame[column] = frame[column].astype("Int64") if frame[column].isna().any() else frame[column].astype("int64")
    return frame


def read_ledger(connection: Connection, target: str, keys: Collection[str] | None) -> pd.DataFrame:
    query = select(*(ledger.c[c] for c in LEDGER_COLUMNS)).where(ledger.c.target == target)
    rows: list[Any] = []
    if keys is None:
        rows = list(connection.execute(query.order_by(ledger.c.record_key)).all())
    else:
        wanted = sorted({str(k) for k in keys})
        for part in chunks(len(wanted), 2000):
            chunk_query = query.where(ledger.c.record_key.in_(wanted[part])).order_by(ledger.c.record_key)
            rows += connection.execute(chunk_query).all()
    held = LEDGER_COLUMNS.index("content_hash")
    rows = [(*row[:held], hash_from_stored(row[held]), *row[held + 1 :]) for row in rows]
    return _frame(rows, LEDGER_COLUMNS, ints=("attempts", "batch_id"))


def _records_json(records: Sequence[Record]) -> tuple[str, list[Record]]:
    """The records as stored (key, hash, fields and, when set, the site's zone), and as they read back from
    what is stored (which must equal them)."""
    plain = []
    seen: set[str] = set()
    for record in records:
        if not isinstance(record.key, str) or not isinstance(record.content_hash, str):
            raise ValueError(f"record {record.key!r}: key and content_hash must be text")
        if record.key in seen:
            raise ValueError(f"record key {record.key!r} appears twice in one batch")
        seen.add(record.key)
        entry: dict[str, Any] = {"key": record.key, "content_hash": record.content_hash, "fields": dict(record.fields)}
        if record.timezone is not None:  # the site's zone: a resumed batch is written in the same zones
            entry["timezone"] = record.timezone
        plain.append(entry)
    stored = dumps_json(plain, "the batch's records")
    rebuilt = _records_from_json(stored)
    for original, back in zip(plain, rebuilt, strict=True):
        if original["fields"] != back.fields or list(original["fields"]) != list(back.fields):
            raise ValueError(
                f"record {back.key!r}: its fields do not survive JSON unchanged (use str, int, float, bool, "
                "None, or lists and dicts with text keys of those)"
            )
    return stored, rebuilt


def _records_from_json(stored: str) -> list[Record]:
    return [
        Record(key=r["key"], fields=r["fields"], content_hash=r["content_hash"], timezone=r.get("timezone"))
        for r in json.loads(stored)
    ]


def _keys_and_hashes(records: Iterable[Record]) -> bytes:
    """What a finished batch keeps of its records: key and content hash, in batch order, compressed.

    Only an open batch is ever sent again (after a crash, byte for byte as first written), so only
    it needs the fields; the ledger holds what each target has. Dropping the fields of finished
    batches keeps `batches` a small fraction of the store instead of a second copy of the days.
    """
    kept = [{"key": r.key, "content_hash": r.content_hash} for r in records]
    return _compress(dumps_json(kept, "the batch's records"))


def _compress(records_json: str) -> bytes:
    # The keys repeat their employee and date patterns and the JSON its names: zlib keeps about 44
    # bytes of each record's 115 (migration 0010); the hashes themselves do not compress.
    return zlib.compress(records_json.encode("utf-8"))


def finished_records(stored: bytes | memoryview) -> list[dict[str, str]]:
    """The `[{key, content_hash}]` a finished batch keeps, from its `finished_records` column."""
    kept: list[dict[str, str]] = json.loads(zlib.decompress(bytes(stored)).decode("utf-8"))
    return kept


def _batch(row: Row[Any]) -> Batch:
    return Batch(
        target=row.target,
        batch_id=row.id,
        period_start=date.fromisoformat(row.period_start),
        period_end=date.fromisoformat(row.period_end),
        seq=row.seq,
        records=tuple(_records_from_json(row.records)),
        columns=tuple(json.loads(row.columns)),
    )


def open_batch(
    connection: Connection,
    target: str,
    period_start: date,
    period_end: date,
    columns: Sequence[str],
    records: Sequence[Record],
    now_ns: int,
) -> Batch:
    if period_end < period_start:
        raise ValueError(f"batch period ends ({period_end}) before it starts ({period_start})")
    stored_records, _ = _records_json(records)
    stored_columns = dumps_json([str(c) for c in columns], "the batch's columns")
    if connection.dialect.name == "postgresql":
        # Serialise sequence allocation (SQLite writers already are, by BEGIN IMMEDIATE).
        connection.exec_driver_sql("LOCK TABLE batches IN SHARE ROW EXCLUSIVE MODE")
    start, end = period_start.isoformat(), period_end.isoformat()
    highest = connection.execute(
        select(func.max(batches.c.seq)).where(
            batches.c.target == target, batches.c.period_start == start, batches.c.period_end == end
        )
    ).scalar_one()
    inserted = connection.execute(
        batches.insert()
        .values(
            target=target,
            period_start=start,
            period_end=end,
            seq=(highest or 0) + 1,
            status="open",
            columns=stored_columns,
            records=stored_records,
            created_at_ns=now_ns,
        )
        .returning(*batches.c)
    ).one()
    return _batch(inserted)


def open_batches(connection: Connection, target: str) -> list[Batch]:
    query = select(batches).where(batches.c.target == target, batches.c.status == "open").order_by(batches.c.id)
    return [_batch(row) for row in connection.execute(query)]


def _lock_batch(connection: Connection, batch_id: int) -> Row[Any]:
    row = connection.execute(select(batches).where(batches.c.id == batch_id).with_for_update()).one_or_none()
    if row is None:
        raise StoreError(f"there is no batch {batch_id}")
    return row


def complete_batch(connection: Connection, batch_id: int, outcomes: Sequence[Outcome], now_ns: int) -> None:
    row = _lock_batch(connection, batch_id)
    if row.status != "open":
        raise StoreError(f"batch {batch_id} of {row.target} is {row.status}, not open: it cannot be completed again")
    records = {record.key: record for record in _records_from_json(row.records)}
    seen: set[str] = set()
    for outcome in outcomes:
        if outcome.key not in records:
            raise ValueError(f"outcome for {outcome.key!r}, which is not in batch {batch_id}")
        if outcome.key in seen:
            raise ValueError(f"two outcomes for {outcome.key!r} in batch {batch_id}")
        seen.add(outcome.key)
    delivered = [o for o in outcomes if o.ok]
    rejected = [o for o in outcomes if not o.ok]
    target = row.target
    insert = dialect_insert(connection, ledger)
    if delivered:
        upsert = insert.on_conflict_do_update(
            index_elements=["target", "record_key"],
            set_={
                "content_hash": insert.excluded.content_hash,
                "remote_id": func.coalesce(insert.excluded.remote_id, ledger.c.remote_id),
                "status": "delivered",
                "attempts": ledger.c.attempts + 1,
                "last_error": None,
                "batch_id": batch_id,
                "updated_at_ns": now_ns,
            },
        )
        connection.execute(
            upsert,
            [
                {
                    "target": target,
                    "record_key": o.key,
                    "content_hash": hash_to_stored(records[o.key].content_hash),
                    "remote_id": o.remote_id,
                    "status": "delivered",
                    "attempts": 1,
                    "last_error": None,
                    "batch_id": batch_id,
                    "updated_at_ns": now_ns,
                }
                for o in delivered
            ],
        )
        keys = [o.key for o in delivered]
        for part in chunks(len(keys), 2000):
            connection.execute(
                delete(dead_letters).where(dead_letters.c.target == target, dead_letters.c.record_key.in_(keys[part]))
            )
    if rejected:
        upsert = insert.on_conflict_do_update(
            index_elements=["target", "record_key"],
            set_={
                "status": "rejected",
                "attempts": ledger.c.attempts + 1,
                "last_error": insert.excluded.last_error,
                "batch_id": batch_id,
                "updated_at_ns": now_ns,
            },
        )
        connection.execute(
            upsert,
            [
                {
                    "target": target,
                    "record_key": o.key,
                    "content_hash": None,
                    "remote_id": None,
                    "status": "rejected",
                    "attempts": 1,
                    "last_error": o.message,
                    "batch_id": batch_id,
                    "updated_at_ns": now_ns,
                }
                for o in rejected
            ],
        )
        letters = dialect_insert(connection, dead_letters)
        replace = letters.on_conflict_do_update(
            index_elements=["target", "record_key"],
            set_={
                "content_hash": letters.excluded.content_hash,
                "fields": letters.excluded.fields,
                "message": letters.excluded.message,
                "attempts": dead_letters.c.attempts + 1,
                "batch_id": batch_id,
                "created_at_ns": now_ns,
            },
        )
        connection.execute(
            replace,
            [
                {
                    "target": target,
                    "record_key": o.key,
                    "content_hash": records[o.key].content_hash,
                    "fields": dumps_json(records[o.key].fields, "fields"),
                    "message": o.message,
                    "attempts": 1,
                    "batch_id": batch_id,
                    "created_at_ns": now_ns,
                }
                for o in rejected
            ],
        )
    connection.execute(
        update(batches)
        .where(batches.c.id == batch_id)
        .values(status="done", finished_at_ns=now_ns, records="", finished_records=_keys_and_hashes(records.values()))
    )


def drop_batch(connection: Connection, batch_id: int, now_ns: int) -> None:
    row = _lock_batch(connection, batch_id)
    if row.status == "dropped":
        return
    if row.status != "open":
        raise StoreError(f"batch {batch_id} of {row.target} is {row.status}: only an open batch can be dropped")
    kept = _keys_and_hashes(_records_from_json(row.records))
    connection.execute(
        update(batches)
        .where(batches.c.id == batch_id)
        .values(status="dropped", finished_at_ns=now_ns, records="", finished_records=kept)
    )


def erase_batch_records(connection: Connection, prefix: str, now_ns: int, dry_run: bool) -> int:
    """Take the records keyed `prefix...` out of stored batches; an open batch left empty is dropped.

    Returns how many records were (or, on a dry run, would be) taken out. Open batches are found by
    their JSON text; finished ones keep their keys compressed, so each is read.
    """
    needle = json.dumps(prefix, ensure_ascii=False)[:-1]  # `"E1|`: how the key starts in the stored JSON
    removed = 0
    open_rows = select(batches.c.id, batches.c.records).where(
        batches.c.status == "open", batches.c.records.contains(needle, autoescape=True)
    )
    for row in connection.execute(open_rows).all():
        records = json.loads(row.records)
        kept = [r for r in records if not str(r.get("key", "")).startswith(prefix)]
        removed += len(records) - len(kept)
        if dry_run or len(kept) == len(records):
            continue
        values: dict[str, Any] = {"records": dumps_json(kept, "the batch's records")}
        if not kept:
            values.update(status="dropped", finished_at_ns=now_ns, records="", finished_records=_compress("[]"))
        connection.execute(update(batches).where(batches.c.id == row.id).values(**values))
    finished_rows = select(batches.c.id, batches.c.finished_records).where(batches.c.status != "open")
    for row in connection.execute(finished_rows).all():
        records = finished_records(row.finished_records)
        kept = [r for r in records if not str(r.get("key", "")).startswith(prefix)]
        removed += len(records) - len(kept)
        if dry_run or len(kept) == len(records):
            continue
        stored = _compress(dumps_json(kept, "the batch's records"))
        connection.execute(update(batches).where(batches.c.id == row.id).values(finished_records=stored))
    return removed


def list_dead_letters(connection: Connection, target: str | None) -> pd.DataFrame:
    query = select(*(dead_letters.c[c] for c in DEAD_LETTER_COLUMNS)).order_by(dead_letters.c.id)
    if target is not None:
        query = query.where(dead_letters.c.target == target)
    rows = [(*row[:4], json.loads(row.fields), *row[5:]) for row in connection.execute(query)]
    return _frame(rows, DEAD_LETTER_COLUMNS, ints=("id", "attempts", "batch_id", "created_at_ns"))


def drop_dead_letters(connection: Connection, ids: Collection[int]) -> int:
    wanted = sorted({int(i) for i in ids})
    removed = 0
    for part in chunks(len(wanted), 2000):
        removed += connection.execute(delete(dead_letters).where(dead_letters.c.id.in_(wanted[part]))).rowcount
    return removed
