"""`punchbridge mappings check`: what a mapping would do to the stored days, before a sync writes anything.

`check_mapping` runs the same resolution as `apply_mapping` (so the two cannot disagree) and lists:
terminal ids with no target id (with the days they hold back), ids in the lookup table that no day
uses, days no cost-centre rule covers (held back, or on the default), cost-centre rules no day uses,
values without an entry in a field's value map, and value-map entries no day uses. Pure: the caller
loads the days and prints `format_report`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from punchbridge.mapping.model import CostCentreRule, TargetMapping
from punchbridge.mapping.resolve import REASONS, ResolvedDays, resolve_days

__all__ = ["DaysOf", "MappingReport", "UnusedId", "UnusedValue", "ValueCount", "check_mapping", "format_report"]


@dataclass(frozen=True)
class DaysOf:
    """A key (terminal id, department, site...; None when the employee has none) and the days it concerns."""

    key: str | None
    days: int
    first: date
    last: date


@dataclass(frozen=True)
class UnusedId:
    """An entry of the id table that no day uses."""

    employee_id: str
    target_id: str
    line: int | None


@dataclass(frozen=True)
class ValueCount:
    """A value of field `field` that has no entry in its value map, and on how many days it occurs."""

    field: str
    value: Any
    days: int
    strict: bool  # True: those days are held back; False: the value is sent unchanged


@dataclass(frozen=True)
class UnusedValue:
    """A value-map entry of field `field` that no day uses."""

    field: str
    value: Any
    line: int | None  # the field's line in the mapping file


@dataclass(frozen=True)
class MappingReport:
    """What a mapping does to a set of days: counts, and every id, rule and value to look at."""

    mapping: str
    days: int
    first_day: date | None
    last_day: date | None
    records: int  # days that would become records
    held_back: Mapping[str, int]  # reason -> days, for the reasons that occur
    ids_source: str | None
    missing_ids: Literal["quarantine", "error"] | None
    unmapped_ids: tuple[DaysOf, ...]
    unused_ids: tuple[UnusedId, ...]
    cost_centres_source: str | None
    cost_centres_by: str | None
    default_cost_centre: str | None
    no_cost_centre: tuple[DaysOf, ...]  # no rule and no default: held back
    defaulted: tuple[DaysOf, ...]  # no rule: the default cost centre
    unused_rules: tuple[CostCentreRule, ...]
    unmapped_values: tuple[ValueCount, ...]
    unused_values: tuple[UnusedValue, ...]

    @property
    def clean(self) -> bool:
        """True when every day maps: no unmapped id, no missing cost centre, no value without an entry."""
        return not (self.unmapped_ids or self.no_cost_centre or self.unmapped_values)

    @property
    def stops_sync(self) -> bool:
        """True when a sync would stop before sending anything (`ids.missing: error` and unmapped ids)."""
        return self.missing_ids == "error" and bool(self.unmapped_ids)


def check_mapping(mapping: TargetMapping, days: pd.DataFrame, employees: pd.DataFrame) -> MappingReport:
    """Everything `mapping` leaves unmapped or unused for `days` (never raises for unmapped ids)."""
    resolved = resolve_days(mapping, days, employees)
    reasons = resolved.reasons()
    day_numbers = np.array([d.toordinal() for d in resolved.dates], dtype=np.int64)[resolved.date_codes]
    held = {reason: int((reasons == reason).sum()) for reason in REASONS}
    ids, cc = mapping.ids, mapping.cost_centres

    unmapped_ids: list[DaysOf] = []
    unused_ids: list[UnusedId] = []
    if ids is not None:
        unmapped_ids = _group(resolved.employee_codes, day_numbers, resolved.employee_ids, resolved.unmapped_id)
        used = set(np.asarray(resolved.employee_ids, dtype=object)[np.unique(resolved.employee_codes)].tolist())
        unused_ids = [
            UnusedId(employee, target, ids.lines.get(employee))
            for employee, target in sorted(ids.targets.items())
            if employee not in used
        ]

    no_rule = resolved.rule_index < 0
    gaps = _group(resolved.cost_key_codes, day_numbers, resolved.cost_keys, no_rule) if cc else []
    used_rules = set(np.unique(resolved.rule_index).tolist())
    unused_rules = [r for i, r in enumerate(cc.rules) if i not in used_rules] if cc else []
    unmapped_values, unused_values = _value_maps(mapping, resolved)
    first = min(resolved.dates) if resolved.dates else None
    last = max(resolved.dates) if resolved.dates else None
    return MappingReport(
        mapping=mapping.source,
        days=len(days),
        first_day=first,
        last_day=last,
        records=int((reasons == "").sum()),
        held_back={reason: count for reason, count in held.items() if count},
        ids_source=ids.source if ids else None,
        missing_ids=ids.missing if ids else None,
        unmapped_ids=tuple(unmapped_ids),
        unused_ids=tuple(unused_ids),
        cost_centres_source=cc.source if cc else None,
        cost_centres_by=cc.by if cc else None,
        default_cost_centre=cc.default if cc else None,
        no_cost_centre=tuple(gaps) if cc and cc.default is None else (),
        defaulted=tuple(gaps) if cc and cc.default is not None else (),
        unused_rules=tuple(sorted(unused_rules, key=lambda r: (r.line or 0, r.key))),
        unmapped_values=tuple(unmapped_values),
        unused_values=tuple(unused_values),
    )


def _group(codes: np.ndarray, day_numbers: np.ndarray, names: list[str], chosen: np.ndarray) -> list[DaysOf]:
    """Per distinct code among the `chosen` rows: its name (None for code -1), day count, first and last day."""
    if not chosen.any():
        return []
    frame = pd.DataFrame({"code": codes[chosen], "day": day_numbers[chosen]})
    stats = frame.groupby("code")["day"].agg(["size", "min", "max"])
    found = [
        DaysOf(
            key=names[code] if code >= 0 else None,
            days=int(size),
            first=date.fromordinal(int(low)),
            last=date.fromordinal(int(high)),
        )
        for code, size, low, high in stats.itertuples(name=None)
    ]
    return sorted(found, key=lambda g: (g.key is None, g.key or ""))


def _value_maps(mapping: TargetMapping, resolved: ResolvedDays) -> tuple[list[ValueCount], list[UnusedValue]]:
    unmapped: list[ValueCount] = []
    unused: list[UnusedValue] = []
    for out, column in zip(mapping.fields, resolved.columns, strict=True):
        if out.values is None:
            continue
        counts = np.bincount(column.codes, minlength=len(column.source))
        seen = set()
        for value, count, missing in zip(column.source, counts.tolist(), column.unmapped.tolist(), strict=True):
            if count == 0:
                continue
            seen.add((type(value), value))
            if missing:
                unmapped.append(ValueCount(out.name, value, count, out.strict))
        unused += [UnusedValue(out.name, key, out.line) for key in out.values if (type(key), key) not in seen]
    return unmapped, unused


def format_report(report: MappingReport) -> str:
    """The report as text for the terminal: counts first, then each list under a heading."""
    span = f" from {report.first_day} to {report.last_day}" if report.first_day else ""
    held = sum(report.held_back.values())
    reasons = ", ".join(f"{reason}: {count:,}" for reason, count in report.held_back.items())
    lines = [
        f"Mapping {report.mapping} against {report.days:,} day(s){span}",
        f"  {report.records:,} record(s) ready; {held:,} day(s) held back" + (f" ({reasons})" if reasons else ""),
    ]

    def section(title: str, rows: list[str], note: str = "") -> None:
        if rows:
            lines.extend(
                ["", f"{title} ({len(rows):,}):" + (f" {note}" if note else ""), *(f"  {row}" for row in rows)]
            )

    if report.unmapped_ids:
        outcome = (
            "a sync stops before sending anything (ids.missing: error)"
            if report.missing_ids == "error"
            else "their days are held back (ids.missing: quarantine)"
        )
        section(f"Terminal ids with no target id in {report.ids_source}", _days_rows(report.unmapped_ids), outcome)
    section(
        f"Ids in {report.ids_source} that no day uses",
        [f"{_line(u.line)}{u.employee_id} -> {u.target_id}" for u in report.unused_ids],
    )
    by = report.cost_centres_by or ""
    section(
        f"Days no cost-centre rule covers, by {by}",
        _days_rows(report.no_cost_centre, by),
        "held back, since there is no default",
    )
    section(
        f"Days no cost-centre rule covers, by {by}",
        _days_rows(report.defaulted, by),
        f"they get the default {report.default_cost_centre}",
    )
    section(
        f"Cost-centre rules in {report.cost_centres_source} that no day uses",
        [f"{_line(r.line)}{r.describe()}" for r in report.unused_rules],
    )
    section(
        "Values with no entry in the field's `values`",
        [
            f"{v.field}: {v.value!r} on {v.days:,} day(s): " + ("held back (strict)" if v.strict else "sent unchanged")
            for v in report.unmapped_values
        ],
    )
    section(
        f"Value-map entries in {report.mapping} that no day uses",
        [f"{_line(v.line)}{v.field}: {v.value!r}" for v in report.unused_values],
    )
    lines.append("")
    if report.stops_sync:
        lines.append("A sync would stop: map the ids above, or set `ids.missing: quarantine`.")
    elif report.clean:
        lines.append("Every day maps.")
    else:
        lines.append("Fix the entries above, or accept that those days are held back or sent as listed.")
    return "\n".join(lines)


def _line(line: int | None) -> str:
    return f"line {line}: " if line is not None else ""


def _days_rows(groups: tuple[DaysOf, ...], by: str = "") -> list[str]:
    rows = []
    for group in groups:
        name = f"{by} {group.key}".strip() if group.key is not None else f"(no {by or 'key'})"
        span = f"{group.first}" if group.first == group.last else f"{group.first} to {group.last}"
        rows.append(f"{name}: {group.days:,} day(s), {span}")
    return rows
