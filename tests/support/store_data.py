"""Small frames and records for the store tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from punchbridge.plugin_api.targets import Record
from punchbridge.rules.frames import DAY_COLUMNS


def punches(rows: Iterable[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    """(employee_id, ISO instant with zone, device_id, direction) rows as an add_punches frame."""
    rows = list(rows)
    return pd.DataFrame(
        {
            "employee_id": [r[0] for r in rows],
            "instant": pd.to_datetime([r[1] for r in rows], utc=True, format="ISO8601").as_unit("ns"),
            "device_id": [r[2] for r in rows],
            "direction": [r[3] for r in rows],
        }
    )


def ns(instant: str) -> int:
    """Nanoseconds since the epoch of an ISO instant."""
    return int(pd.Timestamp(instant).tz_convert("UTC").value)


def day(employee_id: str, work_date: str, **values: Any) -> dict[str, Any]:
    """One processed day (every DAY_COLUMNS value), a plain present day unless `values` say otherwise."""
    row: dict[str, Any] = {
        "employee_id": employee_id,
        "work_date": work_date,
        "site": "PUNE",
        "shift": "G",
        "day_type": "workday",
        "status": "present",
        "first_in": f"{work_date}T09:02:00+05:30",
        "last_out": f"{work_date}T18:01:00+05:30",
        "worked_minutes": 539,
        "regular_minutes": 480,
        "ot_minutes": 0,
        "break_minutes": 60,
        "late_minutes": 2,
        "early_exit_minutes": 0,
        "leave_days": 0.0,
        "lop_days": 0.0,
        "punch_count": 2,
        "anomalies": "",
        "recomputed": False,
        "rules_version": "r1",
        "intervals": f"{work_date}T09:02:00+05:30/{work_date}T18:01:00+05:30",
    }
    unknown = set(values) - set(row)
    assert not unknown, unknown
    row.update(values)
    return row


def days(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(DAY_COLUMNS))
    for name in ("leave_days", "lop_days"):
        frame[name] = frame[name].astype(float)
    return frame


def record(key: str, **fields: Any) -> Record:
    return Record(key=key, fields=fields, content_hash=hashlib.sha256(repr((key, fields)).encode()).hexdigest())
