"""What a reconciliation expects a target to hold: the records a sync would deliver, as the target keeps them.

The processed days of the period go the way a sync sends them: through the target's mapping (days it
holds back are not expected), through its open-day gate (`open_days:`; a held open day is not
expected and nothing the target holds for it is compared; a day the gate closes is expected in its
closed form), and into the target's stored form (`Target.stored_form`: the precision it keeps).
Each expected record carries its day's site zone, and `zones` tells `read_back` the zone of every
target employee, so each day is read and compared in its own zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from punchbridge.mapping import apply_mapping
from punchbridge.mapping.model import TargetMapping
from punchbridge.plugin_api.targets import Target
from punchbridge.reconcile.compare import ExpectedRecord
from punchbridge.sync.diff import day_keys, through_gate
from punchbridge.sync.open_gate import OpenDayGate
from punchbridge.sync.stored import stored_records, zones_of_days

__all__ = ["Expectation", "expected_records"]


@dataclass(frozen=True)
class Expectation:
    """The expected records of a period, and what was left out of them."""

    records: list[ExpectedRecord]
    days: pd.DataFrame  #: the days behind `records` (closed days in their closed form), for a repair
    held_back: int = 0  #: days the mapping held back (unmapped ids, cost centres)
    held_open: int = 0  #: open days the target's gate holds (no check-out)
    #: (target employee, work date) of the held open days: what the target holds for them is not compared
    open_keys: frozenset[tuple[str, date]] = field(default_factory=frozenset)
    #: target employee id -> the IANA zone of their site (for `read_back`)
    zones: Mapping[str, str] = field(default_factory=dict)


def expected_records(
    target: Target[Any],
    mapping: TargetMapping,
    days: pd.DataFrame,
    employees: pd.DataFrame,
    id_column: str,
    site_zones: Mapping[str, str],
    gate: OpenDayGate | None = None,
) -> Expectation:
    """The records a sync would deliver to `target` for `days` (recomputed false, as the ledger hashes them)."""
    if len(days) == 0:
        return Expectation([], days)
    mapped = apply_mapping(mapping, days.assign(recomputed=False), employees)
    records, held_open, open_keys = mapped.records, 0, frozenset[tuple[str, date]]()
    held_back = len(mapped.held_back)
    if gate is not None:
        target_of = {record.key: str(record.fields.get(id_column, "")).strip() for record in records}
        gated = through_gate(mapping, days, employees, gate, records)
        days, records = gated.days, gated.records
        held_back += len(gated.held_back)
        held_open = len(gated.held_open)
        open_keys = frozenset(
            (target_of.get(f"{employee}|{day}|day", ""), date.fromisoformat(str(day)))
            for employee, day in zip(gated.held_open["employee_id"], gated.held_open["work_date"], strict=True)
        )
    zones = zones_of_days(days, site_zones)
    stored = stored_records(type(target), target.settings, records, zones)
    expected = []
    for record in stored:
        employee_id, work_date, _kind = record.key.rsplit("|", 2)
        expected.append(
            ExpectedRecord(
                key=record.key,
                employee_id=employee_id,
                target_employee=str(record.fields.get(id_column, "")).strip(),
                work_date=date.fromisoformat(work_date),
                fields=record.fields,
                content_hash=record.content_hash,
                timezone=record.timezone,
            )
        )
    employee_zones = {e.target_employee: e.timezone for e in expected if e.target_employee and e.timezone}
    kept = days[(day_keys(days) + "|day").isin({e.key for e in expected})] if len(days) else days
    return Expectation(expected, kept, held_back, held_open, open_keys, employee_zones)
