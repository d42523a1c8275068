"""Processed days in the store: the canonical row values, their content hash, versioned upserts."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from datetime import date
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, select

from punchbridge.rules.frames import DAY_COLUMNS
from punchbridge.store.compact import hash_from_stored, hash_to_stored, times_from_stored, times_to_stored
from punchbridge.store.database import bulk_execute, chunks, dialect_insert, fetch_rows
from punchbridge.store.schema import (
    DAY_BOOL_COLUMNS,
    DAY_FLOAT_COLUMNS,
    DAY_INT_COLUMNS,
    DAY_TEXT_COLUMNS,
    processed_days,
)

__all__ = ["HASHED_COLUMNS", "day_content_hash", "load_days", "normalise_days", "save_days", "text_values"]

#: The columns whose values make a day's content hash: every DAY_COLUMNS value except `recomputed`.
HASHED_COLUMNS = tuple(c for c in DAY_COLUMNS if c != "recomputed")
KEY_COLUMNS = ("employee_id", "work_date")
RESULT_COLUMNS = ("employee_id", "work_date", "version", "content_hash", "change")
#: Local-time texts kept in `punchbridge.store.compact`'s form (without their day's date and offset).
TIME_COLUMNS = ("first_in", "last_out", "intervals")


def _problem(column: str, message: str) -> ValueError:
    return ValueError(f"days: column {column!r}: {message}")


def text_values(series: pd.Series, column: str, *, required: bool = False, what: str = "days") -> list[Any]:
    """Python str (or None) per row; categoricals are rendered once per category."""
    missing = series.isna().to_numpy()
    if required and missing.any():
        raise ValueError(f"{what}: column {column!r}: missing at row {int(np.flatnonzero(missing)[0])}")
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = [_as_text(value) for value in series.cat.categories.tolist()]
        codes = series.cat.codes.to_numpy()
        return [categories[code] if code >= 0 else None for code in codes.tolist()]
    values: list[Any] = series.astype(object).tolist()
    for row in np.flatnonzero(missing).tolist():
        values[row] = None
    if not isinstance(series.dtype, pd.StringDtype):  # a text dtype holds only str (and missing values)
        for row in [i for i, value in enumerate(values) if type(value) is not str and value is not None]:
            values[row] = _as_text(values[row])
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp | date):
        return value.isoformat()
    return str(value)


def _date_values(series: pd.Series) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if series.isna().any():
            raise _problem("work_date", "missing dates")
        return series.dt.strftime("%Y-%m-%d").tolist()
    values = text_values(series, "work_date", required=True)
    bad = {value for value in set(values) if not _is_iso_date(value)}
    if bad:
        first = next(row for row, value in enumerate(values) if value in bad)
        raise _problem("work_date", f"expected a YYYY-MM-DD date, got {values[first]!r} at row {first}")
    return values


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_iso_date(text: str) -> bool:
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _int_values(series: pd.Series, column: str) -> list[int]:
    values = pd.to_numeric(series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series)
    array = values.to_numpy(dtype=float) if values.isna().any() else values.to_numpy()
    if array.dtype.kind == "f" and (np.isnan(array).any() or (array != np.round(array)).any()):
        raise _problem(column, "expected whole numbers")
    if array.dtype.kind == "b":
        raise _problem(column, "expected whole numbers, got booleans")
    result: list[int] = array.astype(np.int64).tolist()
    return result


def _float_values(series: pd.Series, column: str) -> list[float]:
    array = pd.to_numeric(series).to_numpy(dtype=float) + 0.0  # -0.0 becomes 0.0: one text per number
    if not np.isfinite(array).all():
        raise _problem(column, "expected finite numbers (no missing values)")
    result: list[float] = array.tolist()
    return result


def _bool_values(series: pd.Series, column: str) -> list[bool]:
    if series.isna().any():
        raise _problem(column, "missing values")
    result: list[bool] = series.astype(bool).tolist()
    return result


def normalise_days(days: pd.DataFrame) -> dict[str, list[Any]]:
    """DAY_COLUMNS as plain Python values per column, the form that is stored and hashed."""
    missing = [c for c in DAY_COLUMNS if c not in days.columns]
    if missing:
        raise ValueError(f"days: missing columns {missing}")
    values: dict[str, list[Any]] = {}
    for column in DAY_COLUMNS:
        series = days[column]
        if column == "employee_id":
            values[column] = text_values(series, column, required=True)
        elif column == "work_date":
            values[column] = _date_values(series)
        elif column in DAY_TEXT_COLUMNS:
            values[column] = text_values(series, column)
        elif column in DAY_INT_COLUMNS:
            values[column] = _int_values(series, column)
        elif column in DAY_FLOAT_COLUMNS:
            values[column] = _float_values(series, column)
        elif column in DAY_BOOL_COLUMNS:
            values[column] = _bool_values(series, column)
        else:  # pragma: no cover - DAY_COLUMNS and the schema's column kinds disagree
            raise AssertionError(f"no storage kind for day column {column!r}")
    return values


def _json_text(value: Any) -> str:
    """`value` (str, None, int, float, bool) as JSON text, as `json.dumps(value, ensure_ascii=False)` writes it."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return str(encode_basestring(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float.__repr__(value)  # json's text for a finite float
    return int.__repr__(value)


def _json_texts(values: list[Any]) -> list[str]:
    """JSON text per value; a day column has few distinct values, each is encoded once."""
    texts = {value: _json_text(value) for value in set(values)}
    return [texts[value] for value in values]


def _hashes(values: dict[str, list[Any]]) -> list[str]:
    """sha256 (hex) of each row's canonical text: the compact JSON array of its HASHED_COLUMNS values.

    Built column by column (each distinct text encoded once) rather than `json.dumps` per row: the
    same text, three times faster; a test holds it to `json.dumps`.
    """
    encoded = [_json_texts(values[c]) for c in HASHED_COLUMNS]
    sha256 = hashlib.sha256
    return [sha256(f"[{','.join(parts)}]".encode()).hexdigest() for parts in zip(*encoded, strict=True)]


def day_content_hash(days: pd.DataFrame) -> pd.Series:
    """The content hash of each day row, indexed like `days`.

    sha256 (hex) of the UTF-8 text of a compact JSON array (`json.dumps(..., ensure_ascii=False,
    separators=(",", ":"))`) of the row's DAY_COLUMNS values except `recomputed`, in DAY_COLUMNS
    order, after normalising them to what the store keeps: texts as str or null (categories rendered
    as text, `work_date` as YYYY-MM-DD), minutes and `punch_count` as integers, `leave_days` and
    `lop_days` as floats (so `1` and `1.0` hash alike). Equal rows hash alike whatever their dtypes
    or pandas version.
    """
    return pd.Series(_hashes(normalise_days(days)), index=days.index, dtype=object, name="content_hash")


#: Above this many employees, stored days are read by date range alone (one index range) instead of
#: by employee lists.
_BY_RANGE_ABOVE = 2000


def _existing(connection: Connection, employee_ids: list[str], work_dates: list[str]) -> dict[Any, tuple[int, str]]:
    """(employee_id, work_date) -> (version, content_hash) of the stored rows in the days' date range."""
    table = processed_days
    query = select(table.c.employee_id, table.c.work_date, table.c.version, table.c.content_hash).where(
        and_(table.c.work_date >= min(work_dates), table.c.work_date <= max(work_dates))
    )
    wanted = sorted(set(employee_ids))
    rows: list[Any] = []
    if len(wanted) > _BY_RANGE_ABOVE:
        rows = fetch_rows(connection, query)
    else:
        for part in chunks(len(wanted), 1000):
            rows += fetch_rows(connection, query.where(table.c.employee_id.in_(wanted[part])))
    return {
        (employee, work_date): (version, hash_from_stored(content_hash))
        for employee, work_date, version, content_hash in rows
    }


def save_days(connection: Connection, days: pd.DataFrame, now_ns: int) -> pd.DataFrame:
    values = normalise_days(days)
    hashes = _hashes(values)
    keys = list(zip(values["employee_id"], values["work_date"], strict=True))
    if len(set(keys)) != len(keys):
        seen: set[tuple[str, str]] = set()
        for key in keys:
            if key in seen:
                raise ValueError(f"days: ({key[0]}, {key[1]}) appears more than once")
            seen.add(key)
    if not keys:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})
    if connection.dialect.name == "postgresql":
        # Serialise writers of processed_days (readers go on): the versions read below stay true.
        connection.exec_driver_sql("LOCK TABLE processed_days IN SHARE ROW EXCLUSIVE MODE")
    stored = _existing(connection, values["employee_id"], values["work_date"])
    versions: list[int] = []
    changes: list[str] = []
    write: list[int] = []
    for row, (key, content_hash) in enumerate(zip(keys, hashes, strict=True)):
        old = stored.get(key)
        if old is None:
            versions.append(1)
            changes.append("new")
            write.append(row)
        elif old[1] != content_hash:
            versions.append(old[0] + 1)
            changes.append("changed")
            write.append(row)
        else:
            versions.append(old[0])
            changes.append("same")
    if write:
        columns = {c: [values[c][i] for i in write] for c in DAY_COLUMNS}
        for name in TIME_COLUMNS:
            pairs = zip(columns[name], columns["work_date"], strict=True)
            columns[name] = [times_to_stored(text, work_date) for text, work_date in pairs]
        columns["version"] = [versions[i] for i in write]
        columns["content_hash"] = [hash_to_stored(hashes[i]) for i in write]
        columns["computed_at_ns"] = [now_ns] * len(write)
        insert = dialect_insert(connection, processed_days)
        replace = {c: insert.excluded[c] for c in columns if c not in KEY_COLUMNS}
        upsert = insert.on_conflict_do_update(index_elements=list(KEY_COLUMNS), set_=replace)
        bulk_execute(connection, upsert, columns, chunk=5000)
    return pd.DataFrame(
        {
            "employee_id": pd.Series(values["employee_id"], dtype=object, index=days.index),
            "work_date": pd.Series(values["work_date"], dtype=object, index=days.index),
            "version": np.asarray(versions, dtype=np.int64),
            "content_hash": pd.Series(hashes, dtype=object, index=days.index),
            "change": pd.Series(changes, dtype=object, index=days.index),
        },
        index=days.index,
    )


def load_days(
    connection: Connection, date_from: date, date_to: date, employee_ids: Collection[str] | None
) -> pd.DataFrame:
    table = processed_days
    columns = [*DAY_COLUMNS, "version", "content_hash"]
    query = select(*(table.c[c] for c in columns)).where(
        table.c.work_date >= date_from.isoformat(), table.c.work_date <= date_to.isoformat()
    )
    rows: list[Any] = []
    if employee_ids is None:
        # By the date index, sorted here: cheaper than the database sorting whole rows.
        rows = sorted(fetch_rows(connection, query), key=itemgetter(0, 1))
    else:
        # By the primary key, in its order; sorted chunks of sorted ids stay in order.
        ordered = query.order_by(table.c.employee_id, table.c.work_date)
        wanted = sorted({str(e) for e in employee_ids})
        for part in chunks(len(wanted), 1000):
            rows += fetch_rows(connection, ordered.where(table.c.employee_id.in_(wanted[part])))
    data = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    work_dates = data[columns.index("work_date")]
    frame: dict[str, Any] = {}
    for name, column in zip(columns, data, strict=True):
        if name in TIME_COLUMNS:
            texts = [times_from_stored(text, work_date) for text, work_date in zip(column, work_dates, strict=True)]
            frame[name] = pd.Series(texts, dtype=object)
        elif name == "content_hash":
            frame[name] = pd.Series([hash_from_stored(stored) for stored in column], dtype=object)
        elif name in DAY_INT_COLUMNS or name == "version":
            frame[name] = np.asarray(column, dtype=np.int64)
        elif name in DAY_FLOAT_COLUMNS:
            frame[name] = np.asarray(column, dtype=float)
        elif name in DAY_BOOL_COLUMNS:
            frame[name] = np.asarray(column, dtype=bool)
        else:
            frame[name] = pd.Series(column, dtype=object)
    return pd.DataFrame(frame, columns=columns)
