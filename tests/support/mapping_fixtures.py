"""Builders for the mapping tests: processed days as the rules engine gives them, employees, mapping files.

Defaults follow the demo: employees `E0001`... on site `blr`, departments `ops`/`finance`, target
ids `P-10001`..., October 2025.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from punchbridge.errors import Problem, UserInputError
from punchbridge.mapping import MappedRecords, TargetMapping, apply_mapping
from punchbridge.mapping.files import load_mapping
from punchbridge.rules.frames import DAY_COLUMNS

OCT_1 = date(2025, 10, 1)

#: A present day of 8:30 worked, 30 minutes of overtime, first in 09:02 at Bangalore.
DAY_DEFAULTS: dict[str, Any] = {
    "site": "blr",
    "shift": "general",
    "day_type": "workday",
    "status": "present",
    "first_in": "2025-10-01T09:02:00+05:30",
    "last_out": "2025-10-01T18:32:00+05:30",
    "worked_minutes": 510,
    "regular_minutes": 480,
    "ot_minutes": 30,
    "break_minutes": 30,
    "late_minutes": 0,
    "early_exit_minutes": 0,
    "leave_days": 0.0,
    "lop_days": 0.0,
    "punch_count": 2,
    "anomalies": "",
    "recomputed": False,
    "rules_version": "r1",
}


def day(employee_id: str = "E0001", work_date: date | str = OCT_1, **values: Any) -> dict[str, Any]:
    """One processed day (a dict of DAY_COLUMNS), the defaults overridden by `values`."""
    text = work_date if isinstance(work_date, str) else work_date.isoformat()
    return {"employee_id": employee_id, "work_date": text, **DAY_DEFAULTS, **values}


def days_frame(rows: Iterable[Mapping[str, Any]], *, categorical: bool = True) -> pd.DataFrame:
    """The days as a DataFrame in DAY_COLUMNS order; text columns categorical, as the engine makes them."""
    frame = pd.DataFrame(list(rows), columns=list(DAY_COLUMNS))
    for name in ("leave_days", "lop_days"):
        frame[name] = frame[name].astype(float)
    for name in ("worked_minutes", "regular_minutes", "ot_minutes", "break_minutes", "punch_count"):
        frame[name] = frame[name].astype("int64")
    frame["recomputed"] = frame["recomputed"].astype(bool)
    if categorical:
        for name in ("employee_id", "work_date", "site", "shift", "day_type", "status", "anomalies"):
            frame[name] = frame[name].astype("category")
    return frame


def month(employee_id: str, first: date, last: date, **values: Any) -> list[dict[str, Any]]:
    """One day row per date from `first` to `last`, inclusive."""
    return [day(employee_id, first + timedelta(days=i), **values) for i in range((last - first).days + 1)]


def employees_frame(departments: Mapping[str, str | None] | None = None) -> pd.DataFrame:
    """Employees with a department each (default: E0001 and E0002 in ops, E0003 in finance)."""
    departments = departments if departments is not None else {"E0001": "ops", "E0002": "ops", "E0003": "finance"}
    return pd.DataFrame(
        {
            "employee_id": list(departments),
            "site": ["blr"] * len(departments),
            "shift": ["general"] * len(departments),
            "department": list(departments.values()),
        }
    )


def write(folder: Path, name: str, text: str) -> Path:
    """Write `text` (dedented) to `folder/name` and return the path."""
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def mapping_from(folder: Path, yaml_text: str, **files: str) -> TargetMapping:
    """Write `files` (`ids__csv="..."` writes `ids.csv`) and `mapping.yaml` into `folder`, and load the mapping."""
    for name, text in files.items():
        write(folder, name.replace("__", "."), text)
    return load_mapping(write(folder, "mapping.yaml", yaml_text))


def run(
    mapping: TargetMapping, rows: Iterable[Mapping[str, Any]], employees: pd.DataFrame | None = None
) -> MappedRecords:
    """`apply_mapping` over `rows` with `employees` (default `employees_frame()`)."""
    return apply_mapping(mapping, days_frame(rows), employees if employees is not None else employees_frame())


def fields_of(result: MappedRecords) -> list[dict[str, Any]]:
    """The fields of every record, as plain dicts."""
    return [dict(record.fields) for record in result.records]


def problems_in(error: UserInputError, path: Path) -> list[Problem]:
    """The problems of `error` that concern the file `path`."""
    return [p for p in error.problems if p.file == str(path)]


def held(result: MappedRecords) -> list[tuple[str, str, str]]:
    """The held-back days as (employee_id, work_date, reason)."""
    frame = result.held_back
    return list(zip(frame["employee_id"], frame["work_date"], frame["reason"], strict=True))
