"""Declarative mappings: from processed days to the records a target receives. Pure: no I/O.

A mapping (read from YAML by `punchbridge.mapping.files.load_mapping`, whose docstring and
`mappings/payroll.yaml` describe the file) does three things to each processed day:

1. **ids**: the terminal's user id (`employee_id`) becomes the target's employee id (`target_id`)
   through a lookup table. A day whose id has no entry is held back with reason `unmapped_id`
   (`missing: quarantine`), or stops the sync before anything is sent with a `ConfigError` listing
   the ids (`missing: error`). Without `ids:`, `target_id` is the terminal id unchanged.
2. **cost_centres**: each day gets the cost centre of the rule for its employee, department or site
   whose dates (inclusive; open-ended when not given) hold the work date, so an employee who moves
   mid-month gets each day's right one; else the `default`; else the day is held back with reason
   `no_cost_centre`. Rules of one key may not overlap.
3. **fields**: the output columns in order. Each is taken `from` a source (a processed-day column,
   `target_id`, `cost_centre`, or the employee's `department`) or is a constant `value`; then, in
   this order, `transform` (a named function: built in or from a plugin), `values` (a value map;
   a value without an entry passes through unchanged, or with `strict: true` holds the day back with
   reason `unmapped_value`), `format` (see `punchbridge.mapping.values`).

`apply_mapping` makes one `punchbridge.plugin_api.targets.Record` per mappable day. Its key is
`{employee_id}|{work_date}|day` with the terminal id, so changing the id mapping updates a record
instead of making a second one. Its fields are plain Python values (str, int, float, bool, None) in
column order, and its `content_hash` is the SHA-256 (hex) of the canonical JSON of the fields:
`json.dumps(fields, ensure_ascii=False, separators=(",", ":"))`, keys in column order.
`check_mapping` lists what to fix before a sync writes anything, and `format_report` prints it.

This module is the public face; the pieces, all pure except the loader:
`mapping_model` (the loaded objects and their checks), `mapping_values` (transforms, formats),
`mapping_resolve` (ids, cost centres and columns over all rows at once), `mapping_check` (the
report), and `mapping_files` (reading the YAML and lookup files: `load_mapping`).
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from punchbridge.errors import ConfigError, Problem
from punchbridge.mapping.check import MappingReport, check_mapping, format_report
from punchbridge.mapping.model import (
    SOURCES,
    CostCentreRule,
    CostCentres,
    IdTable,
    OutputField,
    TargetMapping,
    field_problems,
    overlapping_rules,
)
from punchbridge.mapping.resolve import REASONS, ResolvedDays, resolve_days
from punchbridge.mapping.values import BUILTIN_TRANSFORMS, Transform
from punchbridge.records import Record

__all__ = [
    "BUILTIN_TRANSFORMS",
    "HELD_BACK_COLUMNS",
    "REASONS",
    "SOURCES",
    "CostCentreRule",
    "CostCentres",
    "IdTable",
    "MappedRecords",
    "MappingReport",
    "OutputField",
    "TargetMapping",
    "Transform",
    "apply_mapping",
    "check_mapping",
    "field_problems",
    "format_report",
    "overlapping_rules",
    "record_hash",
]

#: Columns of `MappedRecords.held_back`; `reason` is one of `REASONS`.
HELD_BACK_COLUMNS = ("employee_id", "work_date", "reason", "detail")
_KEY_KIND = "day"
_MAX_LISTED_IDS = 50


@dataclass(frozen=True)
class MappedRecords:
    """What `apply_mapping` made: records in input order, their columns, and the days held back."""

    records: list[Record]
    columns: tuple[str, ...]
    held_back: pd.DataFrame  # HELD_BACK_COLUMNS, in input order


def record_hash(fields: Mapping[str, Any]) -> str:
    """The content hash of a record's fields: SHA-256 of their canonical JSON (keys in column order)."""
    text = json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apply_mapping(mapping: TargetMapping, days: pd.DataFrame, employees: pd.DataFrame) -> MappedRecords:
    """One record per mappable day (in input order); the other days held back with their reason.

    `days` has the processed-day columns (at least `employee_id`, `work_date` and those the fields
    use); `employees` has `employee_id` and, for departments, `department`. With `ids.missing: error`,
    an id without an entry raises `ConfigError` listing every such id before any record is made.
    """
    prepared = resolve_days(mapping, days, employees)
    if mapping.ids is not None and mapping.ids.missing == "error" and prepared.unmapped_id.any():
        raise ConfigError(_unmapped_problems(mapping, mapping.ids, prepared))
    reasons = prepared.reasons()
    kept = np.flatnonzero(reasons == "")
    employee_text = np.asarray([*prepared.employee_ids, ""], dtype=object)
    date_text = np.asarray([*prepared.iso_dates, ""], dtype=object)
    keys = employee_text[prepared.employee_codes[kept]] + "|" + date_text[prepared.date_codes[kept]] + ("|" + _KEY_KIND)

    names = mapping.columns
    value_columns = []
    json_columns = []
    for position, (name, values) in enumerate(zip(names, prepared.columns, strict=True)):
        opening = ("{" if position == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        closing = "}" if position == len(names) - 1 else ""
        encoded = np.asarray(
            [opening + json.dumps(v, ensure_ascii=False) + closing for v in values.output], dtype=object
        )
        chosen = values.codes[kept]
        value_columns.append(values.take(chosen))
        json_columns.append(encoded[chosen].tolist())
    records = _records(keys.tolist(), names, value_columns, json_columns)
    return MappedRecords(records=records, columns=names, held_back=_held_back(mapping, prepared, reasons))


def _records(
    keys: list[str], names: tuple[str, ...], value_columns: list[list[Any]], json_columns: list[list[str]]
) -> list[Record]:
    """The records, hashing the JSON text already encoded per distinct value (equal to `record_hash`)."""
    sha256 = hashlib.sha256
    # Hundreds of thousands of new dicts would set off the cyclic garbage collector again and again,
    # though none of them can be part of a cycle: pausing it takes a fifth off the time.
    paused = gc.isenabled()
    gc.disable()
    try:
        return [
            Record(key, dict(zip(names, row, strict=True)), sha256("".join(text).encode()).hexdigest())
            for key, row, text in zip(
                keys, zip(*value_columns, strict=True), zip(*json_columns, strict=True), strict=True
            )
        ]
    finally:
        if paused:
            gc.enable()


def _unmapped_problems(mapping: TargetMapping, ids: IdTable, prepared: ResolvedDays) -> list[Problem]:
    """One problem per unmapped terminal id (up to a limit), then what to do about them."""
    counts = np.bincount(prepared.employee_codes[prepared.unmapped_id], minlength=len(prepared.employee_ids))
    missing = sorted((prepared.employee_ids[i], int(counts[i])) for i in np.flatnonzero(counts).tolist())
    problems = [
        Problem(ids.source, f"terminal user id {employee!r} ({days} day(s)) has no target id", field="employee_id")
        for employee, days in missing[:_MAX_LISTED_IDS]
    ]
    if len(missing) > _MAX_LISTED_IDS:
        more = len(missing) - _MAX_LISTED_IDS
        problems.append(Problem(ids.source, f"and {more} more ids (`punchbridge mappings check` lists them all)"))
    problems.append(
        Problem(
            mapping.source,
            "is `error`, so nothing is sent: add the ids above, or set `missing: quarantine` to hold their days back",
            field="ids.missing",
        )
    )
    return problems


def _held_back(mapping: TargetMapping, prepared: ResolvedDays, reasons: np.ndarray) -> pd.DataFrame:
    rows = np.flatnonzero(reasons != "")
    iso = prepared.iso_dates
    details = []
    for row in rows.tolist():
        employee = prepared.employee_ids[prepared.employee_codes[row]]
        day = iso[prepared.date_codes[row]]
        reason = reasons[row]
        if reason == "unmapped_id":
            source = mapping.ids.source if mapping.ids else ""
            details.append(f"terminal user id {employee!r} has no target id in {source}")
        elif reason == "no_cost_centre":
            cc = mapping.cost_centres
            assert cc is not None
            code = prepared.cost_key_codes[row]
            if code < 0:
                details.append(f"employee {employee!r} has no {cc.by}, and there is no default cost centre")
            else:
                details.append(
                    f"no cost-centre rule in {cc.source} for {cc.by} {prepared.cost_keys[code]!r} on {day}, "
                    "and no default"
                )
        else:
            i = int(prepared.unmapped_value[row])
            values = prepared.columns[i]
            value = values.source[values.codes[row]]
            out = mapping.fields[i]
            details.append(f"{out.name}: {out.source} value {value!r} has no entry in `values` (strict: true)")
    return pd.DataFrame(
        {
            "employee_id": [prepared.employee_ids[c] for c in prepared.employee_codes[rows].tolist()],
            "work_date": [iso[c] for c in prepared.date_codes[rows].tolist()],
            "reason": reasons[rows].tolist(),
            "detail": details,
        },
        columns=list(HELD_BACK_COLUMNS),
        dtype=object,
    )
