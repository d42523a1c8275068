"""What a declarative mapping is, once loaded: id table, dated cost-centre rules, output fields. Pure.

These are the runtime objects `punchbridge.mapping.files.load_mapping` builds from a mapping file
(lookup tables already read, transform names already resolved to functions); code and tests can also
build them directly. Their meaning is described in `punchbridge.mapping`. `field_problems` and
`overlapping_rules` are the checks a mapping must pass: the loader reports them with file, line and
field path, and building a `TargetMapping` or `CostCentres` that fails them raises `ValueError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from punchbridge.mapping.values import BUILTIN_TRANSFORMS, Transform, parse_format
from punchbridge.rules.frames import DAY_COLUMNS

__all__ = [
    "SOURCES",
    "CostCentreRule",
    "CostCentres",
    "IdTable",
    "OutputField",
    "TargetMapping",
    "field_problems",
    "overlapping_rules",
]

#: What a field can be taken `from`: every processed-day column, and three the mapping adds.
SOURCES: tuple[str, ...] = (*DAY_COLUMNS, "target_id", "cost_centre", "department")

_DATE_SOURCES = frozenset({"work_date", "first_in", "last_out"})
_NUMBER_SOURCES = frozenset({*DAY_COLUMNS[8:17]})  # worked_minutes ... punch_count
_BOOL_SOURCES = frozenset({"recomputed"})
#: What the built-in transforms take and give, for the checks made when a mapping is loaded.
_BUILTIN_KINDS = {
    "minutes_to_hours": ("number", "number"),
    "hours_minutes": ("number", "text"),
    "upper": ("text", "text"),
    "lower": ("text", "text"),
    "yes_no": ("bool", "text"),
}


@dataclass(frozen=True)
class IdTable:
    """Terminal user id -> the target's employee id, and what to do with an id not in the table."""

    targets: Mapping[str, str]
    missing: Literal["quarantine", "error"] = "quarantine"
    source: str = "ids"  # where the table was read from, for messages
    lines: Mapping[str, int] = field(default_factory=dict)  # terminal id -> its line in `source`


@dataclass(frozen=True)
class CostCentreRule:
    """`key` (an employee id, department or site) has `cost_centre` from `start` to `end`, inclusive."""

    key: str
    cost_centre: str
    start: date | None = None  # None: since always
    end: date | None = None  # None: open-ended
    line: int | None = None  # its line in `CostCentres.source`

    def describe(self) -> str:
        """`ops -> CC-OPS (2025-01-01 to open)`, for reports."""
        return f"{self.key} -> {self.cost_centre} ({self.start or 'always'} to {self.end or 'open'})"


@dataclass(frozen=True)
class CostCentres:
    """Dated cost-centre rules by `employee`, `department` or `site`, and the default."""

    by: Literal["employee", "department", "site"]
    rules: tuple[CostCentreRule, ...] = ()
    default: str | None = None  # None: a day no rule covers is held back (`no_cost_centre`)
    source: str = "cost_centres"

    def __post_init__(self) -> None:
        for rule in self.rules:
            if rule.start and rule.end and rule.end < rule.start:
                raise ValueError(f"cost-centre rule {rule.describe()} ends before it starts")
        overlaps = overlapping_rules(self.rules)
        if overlaps:
            later, earlier = overlaps[0]
            raise ValueError(f"cost-centre rule {later.describe()} overlaps {earlier.describe()}")


@dataclass(frozen=True)
class OutputField:
    """One output column: where its value comes from and how it is converted (see the module doc)."""

    name: str
    source: str | None = None  # `from:`; None for a constant `value`
    value: Any = None
    transform: str | None = None
    values: Mapping[Any, Any] | None = None
    strict: bool = False
    format: str | None = None
    line: int | None = None  # its line in the mapping file


@dataclass(frozen=True)
class TargetMapping:
    """A loaded mapping: lookup tables already read, transforms already resolved to functions."""

    fields: tuple[OutputField, ...]
    ids: IdTable | None = None
    cost_centres: CostCentres | None = None
    transforms: Mapping[str, Transform] = field(default_factory=lambda: dict(BUILTIN_TRANSFORMS))
    source: str = "mapping"  # the mapping file, for messages

    def __post_init__(self) -> None:
        problems = field_problems(self.fields, self.transforms, self.ids, self.cost_centres)
        if problems:
            loc, message = problems[0]
            raise ValueError(f"{'.'.join(map(str, loc))}: {message}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The output column names, in order."""
        return tuple(f.name for f in self.fields)


def field_problems(
    fields: tuple[OutputField, ...],
    transforms: Mapping[str, Transform],
    ids: IdTable | None,
    cost_centres: CostCentres | None,
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every problem of the `fields:` section, as (location such as ("fields", 2, "from"), message)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if not fields:
        problems.append((("fields",), "a mapping needs at least one field"))
    seen: dict[str, int] = {}
    for i, out in enumerate(fields):
        where: tuple[str | int, ...] = ("fields", i)
        if out.name in seen:
            problems.append(((*where, "name"), f"column {out.name!r} is already fields[{seen[out.name]}]"))
        seen.setdefault(out.name, i)
        if out.source is None:
            if out.transform is not None or out.values is not None:
                problems.append((where, "a constant `value` cannot have a transform or values"))
        elif out.source not in SOURCES:
            problems.append(((*where, "from"), f"unknown source {out.source!r}; use one of {', '.join(SOURCES)}"))
            continue
        elif out.source == "cost_centre" and cost_centres is None:
            problems.append(((*where, "from"), "`from: cost_centre` needs a `cost_centres:` section"))
        if out.transform is not None and out.transform not in transforms:
            known = ", ".join(sorted(transforms)) or "none"
            problems.append(((*where, "transform"), f"unknown transform {out.transform!r}; known: {known}"))
            continue
        problems += [((*where, *loc), message) for loc, message in _kind_problems(out, transforms)]
    return problems


def _kind_problems(out: OutputField, transforms: Mapping[str, Transform]) -> list[tuple[tuple[str, ...], str]]:
    """A transform or format that cannot apply to its source (when that is certain at load time)."""
    kind = _source_kind(out.source, out.value)
    problems: list[tuple[tuple[str, ...], str]] = []
    if out.transform is not None:
        builtin = transforms[out.transform] is BUILTIN_TRANSFORMS.get(out.transform)
        takes, gives = _BUILTIN_KINDS[out.transform] if builtin else (None, None)
        if takes is not None and kind is not None and not (takes == kind or (takes == "text" and kind == "date")):
            problems.append((("transform",), f"{out.transform} takes a {takes} but {out.source} is a {kind}"))
        kind = gives
    if out.values is not None:
        kind = None
    if out.format is None:
        return problems
    try:
        value_format = parse_format(out.format)
    except ValueError as exc:
        return [*problems, (("format",), str(exc))]
    if kind is not None and kind != value_format.kind:
        after = f" after {out.transform}" if out.transform else ""
        message = f"{out.format!r} is a {value_format.kind} format but the value{after} is a {kind}"
        problems.append((("format",), message))
    return problems


def _source_kind(source: str | None, value: Any) -> str | None:
    if source is None:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        return "date" if isinstance(value, date) else "text"
    if source in _DATE_SOURCES:
        return "date"
    if source in _NUMBER_SOURCES:
        return "number"
    return "bool" if source in _BOOL_SOURCES else "text"


def overlapping_rules(rules: tuple[CostCentreRule, ...]) -> list[tuple[CostCentreRule, CostCentreRule]]:
    """Pairs (rule, an earlier-starting rule of the same key whose dates it overlaps), in key and date order."""
    ordered = sorted(rules, key=lambda r: (r.key, r.start or date.min, r.line or 0))
    overlaps = []
    reaching: CostCentreRule | None = None  # of the rules of this key so far, the one that ends last
    for rule in ordered:
        if reaching is None or reaching.key != rule.key:
            reaching = rule
            continue
        if reaching.end is None or (rule.start or date.min) <= reaching.end:
            overlaps.append((rule, reaching))
        if reaching.end is not None and (rule.end is None or rule.end > reaching.end):
            reaching = rule
    return overlaps
