"""Punches in the store: idempotent bulk ingestion and range reads."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Connection, Text, bindparam, column, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from punchbridge.store.database import bulk_execute, chunks, fetch_rows
from punchbridge.store.retention import load_tombstones
from punchbridge.store.schema import punches

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


__all__ = [
    "PUNCH_FRAME_COLUMNS",
    "IngestResult",
    "insert_punches",
    "instants_ns",
    "punch_columns",
    "punches_after",
    "punches_between",
]

#: Columns of the punch frames the store returns.
PUNCH_FRAME_COLUMNS = ("id", "employee_id", "instant", "device_id", "direction", "source")
_SELECTED = tuple(punches.c[name] for name in ("id", "employee_id", "instant_ns", "device_id", "direction", "source"))

#: Rows per executemany on SQLite, and per INSERT ... SELECT FROM unnest(...) on PostgreSQL.
SQLITE_CHUNK = 50_000
POSTGRESQL_CHUNK = 100_000


@dataclass(frozen=True)
class IngestResult:
    """What `Store.add_punches` did: rows stored, rows already there (or repeated), ids given out, and
    rows refused because their employee was erased at or after the punch (a re-sent punch)."""

    inserted: int
    duplicates: int
    first_id: int | None
    last_id: int | None
    erased: int = 0


def instants_ns(series: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (UTC) of a timezone-aware datetime column."""
    import numpy as np
    import pandas as pd

    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"punches: column 'instant' must be timezone-aware datetimes (UTC), not {series.dtype}")
    missing = series.isna().to_numpy()
    if missing.any():
        raise ValueError(f"punches: column 'instant': missing at row {int(np.flatnonzero(missing)[0])}")
    utc = series.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns")
    result: np.ndarray = utc.to_numpy().view(np.int64)
    return result


def punch_columns(frame: pd.DataFrame, source: str, now_ns: int) -> dict[str, list[Any]]:
    """The rows to insert, as Python values per column (ValueError when `frame` is malformed)."""
    from punchbridge.store.days import text_values

    missing = [c for c in ("employee_id", "instant", "device_id") if c not in frame.columns]
    if missing:
        raise ValueError(f"punches: missing columns {missing}")
    count = len(frame)
    if "direction" in frame.columns:
        direction = text_values(frame["direction"], "direction", what="punches")
    else:
        direction = [None] * count
    return {
        "employee_id": text_values(frame["employee_id"], "employee_id", required=True, what="punches"),
        "instant_ns": instants_ns(frame["instant"]).tolist(),
        "device_id": text_values(frame["device_id"], "device_id", required=True, what="punches"),
        "direction": direction,
        "source": [source] * count,
        "ingested_at_ns": [now_ns] * count,
    }


def insert_punches(connection: Connection, columns: dict[str, list[Any]]) -> IngestResult:
    """Insert the rows of `punch_columns`, skipping those already stored (or repeated)."""
    offered = len(columns["employee_id"])
    if offered == 0:
        return IngestResult(0, 0, None, None)
    columns, erased = _without_erased(connection, columns)
    if erased == offered:
        return IngestResult(0, 0, None, None, erased)
    source, now_ns = columns["source"][0], columns["ingested_at_ns"][0]
    if connection.dialect.name == "postgresql":
        inserted, first, last = _insert_postgresql(connection, columns, source, now_ns)
    else:
        inserted, first, last = _insert_sqlite(connection, columns)
    return IngestResult(inserted, offered - erased - inserted, first, last, erased)


def _without_erased(connection: Connection, columns: dict[str, list[Any]]) -> tuple[dict[str, list[Any]], int]:
    """The rows whose employee was not erased after the punch (docs/retention.md), and how many were."""
    tombstones = load_tombstones(connection)
    if tombstones is None:
        return columns, 0
    keep = [
        not tombstones.refuses(employee, instant)
        for employee, instant in zip(columns["employee_id"], columns["instant_ns"], strict=True)
    ]
    erased = keep.count(False)
    if erased == 0:
        return columns, 0
    return {name: [v for v, kept in zip(values, keep, strict=True) if kept] for name, values in columns.items()}, erased


def _insert_sqlite(connection: Connection, columns: dict[str, list[Any]]) -> tuple[int, int | None, int | None]:
    # The transaction holds SQLite's write lock (BEGIN IMMEDIATE): every id above `before` is ours.
    before = connection.execute(select(func.coalesce(func.max(punches.c.id), 0))).scalar_one()
    statement = sqlite.insert(punches).on_conflict_do_nothing()
    bulk_execute(connection, statement, columns, chunk=SQLITE_CHUNK)
    ours = select(func.count(), func.min(punches.c.id), func.max(punches.c.id)).where(punches.c.id > before)
    count, first, last = connection.execute(ours).one()
    return int(count), first, last


def _insert_postgresql(
    connection: Connection, columns: dict[str, list[Any]], source: str, now_ns: int
) -> tuple[int, int | None, int | None]:
    # Ingestion is serialised (as SQLite's is): ids then become visible in increasing order, so a
    # reader's "everything after id N" never misses a row that commits later with a smaller id.
    connection.exec_driver_sql("LOCK TABLE punches IN SHARE ROW EXCLUSIVE MODE")
    # One INSERT ... SELECT per chunk from arrays (row order kept by ORDINALITY), RETURNING the ids
    # given out: exact even while other sessions insert too. Ten times fewer round trips than
    # executemany, and psycopg's executemany does not report how many rows ON CONFLICT skipped.
    rows = (
        func.unnest(
            bindparam("employee_id", type_=postgresql.ARRAY(Text)),
            bindparam("instant_ns", type_=postgresql.ARRAY(BigInteger)),
            bindparam("device_id", type_=postgresql.ARRAY(Text)),
            bindparam("direction", type_=postgresql.ARRAY(Text)),
        )
        .table_valued(
            column("employee_id", Text),
            column("instant_ns", BigInteger),
            column("device_id", Text),
            column("direction", Text),
            with_ordinality="position",
        )
        .render_derived()
    )
    statement = (
        postgresql.insert(punches)
        .from_select(
            ["employee_id", "instant_ns", "device_id", "direction", "source", "ingested_at_ns"],
            select(
                rows.c.employee_id,
                rows.c.instant_ns,
                rows.c.device_id,
                rows.c.direction,
                literal(source, Text),
                literal(now_ns, BigInteger),
            ).order_by(rows.c.position),
        )
        .on_conflict_do_nothing()
        .returning(punches.c.id)
    )
    count, first, last = 0, None, None
    names = ("employee_id", "instant_ns", "device_id", "direction")
    for part in chunks(len(columns["employee_id"]), POSTGRESQL_CHUNK):
        ids = connection.execute(statement, {name: columns[name][part] for name in names}).scalars().all()
        if ids:
            count += len(ids)
            first = min(ids) if first is None else min(first, min(ids))
            last = max(ids) if last is None else max(last, max(ids))
    return count, first, last


def punch_frame(rows: list[Any]) -> pd.DataFrame:
    """Rows of (id, employee_id, instant_ns, device_id, direction, source) as the store's punch frame."""
    import numpy as np
    import pandas as pd

    data = list(zip(*rows, strict=True)) if rows else [() for _ in PUNCH_FRAME_COLUMNS]
    ids, employees, instants, devices, directions, sources = data
    return pd.DataFrame(
        {
            "id": np.asarray(ids, dtype=np.int64),
            "employee_id": pd.Series(employees, dtype=object),
            "instant": pd.to_datetime(np.asarray(instants, dtype=np.int64), unit="ns", utc=True),
            "device_id": pd.Series(devices, dtype=object),
            "direction": pd.Series(directions, dtype=object),
            "source": pd.Series(sources, dtype=object),
        },
        columns=list(PUNCH_FRAME_COLUMNS),
    )


def punches_between(
    connection: Connection, start_ns: int, end_ns: int, employee_ids: Collection[str] | None
) -> pd.DataFrame:
    query = (
        select(*_SELECTED)
        .where(punches.c.instant_ns >= int(start_ns), punches.c.instant_ns < int(end_ns))
        .order_by(punches.c.employee_id, punches.c.instant_ns, punches.c.device_id)
    )
    if employee_ids is None:
        return punch_frame(fetch_rows(connection, query))
    # Sorted chunks, each ordered: their concatenation is in order too (texts compare bytewise on both
    # databases, as Python compares str).
    wanted = sorted({str(e) for e in employee_ids})
    rows: list[Any] = []
    for part in chunks(len(wanted), 1000):
        rows += fetch_rows(connection, query.where(punches.c.employee_id.in_(wanted[part])))
    return punch_frame(rows)


def punches_after(connection: Connection, punch_id: int) -> pd.DataFrame:
    query = select(*_SELECTED).where(punches.c.id > int(punch_id)).order_by(punches.c.id)
    return punch_frame(fetch_rows(connection, query))
