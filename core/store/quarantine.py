"""The quarantine: punches, records and days held back with a reason, from every part of punchbridge.

Rows come from punch files and sources (`Store.add_quarantine`), from the receiver (a push or an event
it acknowledged but could not use, with the body it carried: `store.receiver`), and from the sync (an
employee-day the mapping held back). `punchbridge quarantine list` reads them through `list_rows`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, func, or_, select

from punchbridge.store.database import fetch_rows
from punchbridge.store.schema import quarantine

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ADDED_COLUMNS", "LISTED_COLUMNS", "count_rows", "insert_rows", "list_rows"]

#: Columns `Store.add_quarantine` takes (only `source` and `reason` are required).
ADDED_COLUMNS = ("source", "line", "employee_id", "timestamp", "device_id", "direction", "reason", "detail")
#: Columns of the rows `list_rows` returns, in order.
LISTED_COLUMNS = ("id", *ADDED_COLUMNS, "created_at_ns", "raw")


def insert_rows(connection: Connection, values: Mapping[str, Sequence[Any]]) -> None:
    """Insert rows given column by column (`values` holds ADDED_COLUMNS and `created_at_ns`)."""
    names = list(values)
    rows = [dict(zip(names, row, strict=True)) for row in zip(*values.values(), strict=True)]
    connection.execute(quarantine.insert(), rows)


def _filtered(query: Select[Any], reason: str | None, source: str | None, device: str | None) -> Select[Any]:
    if reason is not None:
        query = query.where(quarantine.c.reason == reason)
    if source is not None:
        # `receiver` is every `receiver:...` source (push, webhook); any other name matches exactly.
        query = query.where(
            or_(quarantine.c.source == source, quarantine.c.source.startswith(source + ":", autoescape=True))
        )
    if device is not None:
        query = query.where(quarantine.c.device_id == device)
    return query


def list_rows(
    connection: Connection,
    *,
    reason: str | None = None,
    source: str | None = None,
    device: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Quarantined rows (LISTED_COLUMNS) matching the filters, oldest first; with `limit`, the newest
    `limit` of them (still oldest first)."""
    import numpy as np
    import pandas as pd

    query = _filtered(select(*(quarantine.c[c] for c in LISTED_COLUMNS)), reason, source, device)
    if limit is not None:
        rows = list(reversed(fetch_rows(connection, query.order_by(quarantine.c.id.desc()).limit(limit))))
    else:
        rows = fetch_rows(connection, query.order_by(quarantine.c.id))
    data = list(zip(*rows, strict=True)) if rows else [() for _ in LISTED_COLUMNS]
    frame = pd.DataFrame({c: pd.Series(list(v), dtype=object) for c, v in zip(LISTED_COLUMNS, data, strict=True)})
    for name in ("id", "created_at_ns"):
        frame[name] = frame[name].astype(np.int64)
    frame["line"] = frame["line"].astype("Int64")
    return frame


def count_rows(
    connection: Connection, *, reason: str | None = None, source: str | None = None, device: str | None = None
) -> int:
    """How many quarantined rows match the filters."""
    query = _filtered(select(func.count()).select_from(quarantine), reason, source, device)
    return int(connection.execute(query).scalar_one())
