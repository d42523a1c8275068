"""Reading a mapping file and its lookup files; every problem names its file, line and field path.

A mapping file is YAML (a key given twice is an error); relative paths in it are read from its folder.
`mappings/payroll.yaml` is a commented example. All sections but `fields` are optional::

    ids:                       # terminal user id -> the target's employee id (without it: the same id)
      file: ids.csv            # CSV `employee_id,target_id`, or a YAML file of `E0001: P-10001` lines
      # table: {E0001: P-10001}  ...or the table inline: exactly one of `file` and `table`
      missing: quarantine      # quarantine: hold the day back (reason unmapped_id) | error: stop the sync
    cost_centres:
      by: department           # employee | department | site (the day's site)
      file: cost-centres.csv   # CSV `department,cost_centre,from,to` (first column named as `by`:
                               # employee_id, department or site; `key` is also accepted)
      # rules: [{key: ops, cost_centre: CC-OPS, from: 2025-01-01, to: 2025-06-30}]  ...or inline
      default: CC-GENERAL      # when no rule covers a day; omit to hold such days back (no_cost_centre)
    fields:                    # the output columns, in order
      - {name: EmployeeCode, from: target_id}
      - {name: Date, from: work_date, format: "%d/%m/%Y"}
      - {name: Status, from: status, values: {present: P, absent: A}, strict: false}
      - {name: WorkedHours, from: worked_minutes, transform: minutes_to_hours, format: "0.00"}
      - {name: Company, value: ACME}

In lookup files, ids are text exactly as the terminal and the target show them; in YAML, write an
id that looks like a number in quotes (`"0012": P-10012`), since YAML would read `0012` as the number
10. A terminal id may appear once, and a target id once (two terminal ids for one target employee
would send their days twice). Cost-centre dates are `YYYY-MM-DD`, inclusive; an empty `from` or `to`
is open-ended; two rules of one key may not overlap. Everything wrong is reported at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from punchbridge.config.csvfile import MAX_REPORTED, read_csv_table
from punchbridge.config.yamlfile import YamlDocument, load_yaml, validate_document
from punchbridge.errors import ConfigError, InputFileError, Problem, UserInputError
from punchbridge.mapping.model import (
    CostCentreRule,
    CostCentres,
    IdTable,
    OutputField,
    TargetMapping,
    field_problems,
    overlapping_rules,
)
from punchbridge.mapping.values import BUILTIN_TRANSFORMS, Transform

__all__ = ["CostCentresSection", "FieldEntry", "IdsSection", "MappingFile", "RuleEntry", "load_mapping"]

Scalar = str | bool | int | float
Loc = tuple[str | int, ...]
_KEY_COLUMNS = {"employee": "employee_id", "department": "department", "site": "site"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IdsSection(_Section):
    """`ids:` the lookup table of target employee ids, and what a missing id does."""

    file: str | None = Field(default=None, min_length=1)
    table: dict[Any, Any] | None = None
    missing: Literal["quarantine", "error"] = "quarantine"

    @model_validator(mode="after")
    def _one_source(self) -> IdsSection:
        if (self.file is None) == (self.table is None):
            raise ValueError("give the ids either as `file:` or as `table:` (one of them)")
        return self


class RuleEntry(_Section):
    """One inline cost-centre rule."""

    key: str = Field(min_length=1)
    cost_centre: str = Field(min_length=1)
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class CostCentresSection(_Section):
    """`cost_centres:` dated rules by employee, department or site, and a default."""

    by: Literal["employee", "department", "site"]
    file: str | None = Field(default=None, min_length=1)
    rules: list[RuleEntry] | None = None
    default: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> CostCentresSection:
        if self.file is not None and self.rules is not None:
            raise ValueError("give the rules either as `file:` or as `rules:`, not both")
        if self.file is None and self.rules is None and self.default is None:
            raise ValueError("give `file:`, `rules:` or at least a `default:`")
        return self


class FieldEntry(_Section):
    """One output column (see `punchbridge.mapping` for the order of transform, values and format)."""

    name: str = Field(min_length=1)
    from_: str | None = Field(default=None, alias="from")
    value: Scalar | None = None
    transform: str | None = Field(default=None, min_length=1)
    values: dict[Scalar, Scalar | None] | None = None
    strict: bool = False
    format: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> FieldEntry:
        if (self.from_ is None) == ("value" not in self.model_fields_set):
            raise ValueError("give the column either `from:` (a source) or `value:` (a constant)")
        if self.strict and self.values is None:
            raise ValueError("`strict: true` needs `values:`")
        return self


class MappingFile(_Section):
    """The mapping file as written (its JSON Schema serves editor completion)."""

    description: str | None = None
    ids: IdsSection | None = None
    cost_centres: CostCentresSection | None = None
    fields: list[FieldEntry] = Field(min_length=1)


def load_mapping(path: str | Path, transforms: Mapping[str, Transform] | None = None) -> TargetMapping:
    """Read and check a mapping file and its lookup files; `ConfigError` lists every problem.

    `transforms` are the ones plugins registered (added to `BUILTIN_TRANSFORMS`; a plugin's wins).
    """
    doc = load_yaml(path)
    name = str(doc.path)
    if not isinstance(doc.data, dict):
        raise ConfigError(Problem(name, "expected a mapping with `fields:` (and optionally ids:, cost_centres:)", 1))
    spec = validate_document(MappingFile, doc)
    available = {**BUILTIN_TRANSFORMS, **(transforms or {})}
    problems: list[Problem] = []
    ids = _id_table(doc, spec.ids, problems) if spec.ids else None
    cost_centres = _cost_centres(doc, spec.cost_centres, problems) if spec.cost_centres else None
    fields = tuple(_output_field(doc, i, entry) for i, entry in enumerate(spec.fields))
    stand_in = cost_centres or (CostCentres(by=spec.cost_centres.by) if spec.cost_centres else None)
    for loc, message in field_problems(fields, available, ids, stand_in):
        problems.append(Problem(name, message, line=doc.line_of(loc), field=_path(loc)))
    ConfigError.collect(problems)
    used = {f.transform for f in fields if f.transform}
    return TargetMapping(
        fields=fields,
        ids=ids,
        cost_centres=cost_centres,
        transforms={t: available[t] for t in sorted(used)},
        source=name,
    )


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _output_field(doc: YamlDocument, i: int, entry: FieldEntry) -> OutputField:
    return OutputField(
        name=entry.name,
        source=entry.from_,
        value=entry.value,
        transform=entry.transform,
        values=entry.values,
        strict=entry.strict,
        format=entry.format,
        line=doc.line_of(("fields", i)),
    )


def _lookup_file(doc: YamlDocument, loc: Loc, what: str, read: Callable[[Path], Any], problems: list[Problem]) -> Any:
    """`read` the file named at `loc`; its problems are listed after one that points at `loc`."""
    relative = doc.data
    for part in loc:
        relative = relative[part]
    try:
        return read(doc.path.parent / relative)
    except UserInputError as exc:
        problems.append(
            Problem(
                str(doc.path),
                f"the {what} file {relative!r} cannot be used; its problems are listed under its name",
                line=doc.line_of(loc),
                field=_path(loc),
            )
        )
        problems.extend(exc.problems)
        return None


# -- ids -----------------------------------------------------------------------------------------


def _id_table(doc: YamlDocument, section: IdsSection, problems: list[Problem]) -> IdTable | None:
    if section.table is not None:
        entries = _yaml_ids(doc, section.table, ("ids", "table"))
        if isinstance(entries, list):
            problems.extend(entries)
            return None
        targets, lines = entries
        return IdTable(targets=targets, missing=section.missing, source=str(doc.path), lines=lines)
    read = _lookup_file(doc, ("ids", "file"), "id", _read_ids, problems)
    if read is None:
        return None
    source, targets, lines = read
    return IdTable(targets=targets, missing=section.missing, source=source, lines=lines)


def _read_ids(path: Path) -> tuple[str, dict[str, str], dict[str, int]]:
    if path.suffix.lower() in {".yaml", ".yml"}:
        lookup = load_yaml(path)
        if not isinstance(lookup.data, dict):
            raise ConfigError(Problem(str(path), "expected one `terminal id: target id` pair a line", line=1))
        entries = _yaml_ids(lookup, lookup.data, ())
        if isinstance(entries, list):
            raise ConfigError(entries)
        return (str(path), *entries)
    if path.suffix.lower() != ".csv":
        raise ConfigError(Problem(str(path), "an id file is a .csv (employee_id,target_id) or a .yaml file"))
    table = read_csv_table(path, ["employee_id", "target_id"])
    employees, targets, lines = table.column("employee_id").tolist(), table.column("target_id").tolist(), table.lines
    problems = []
    for row, (employee, target) in enumerate(zip(employees, targets, strict=True)):
        for column, text in (("employee_id", employee), ("target_id", target)):
            if not text:
                problems.append(table.problem(row, column, "value is missing"))
    problems += _repeats(str(path), employees, targets, [int(n) for n in lines.tolist()])
    InputFileError.collect(problems[:MAX_REPORTED])
    return str(path), dict(zip(employees, targets, strict=True)), dict(zip(employees, map(int, lines), strict=True))


def _yaml_ids(
    doc: YamlDocument, data: dict[Any, Any], prefix: Loc
) -> tuple[dict[str, str], dict[str, int]] | list[Problem]:
    """The pairs of a YAML id table, or the problems with it."""
    problems = []
    employees, targets, lines = [], [], []
    for key, value in data.items():
        line = doc.line_of((*prefix, key))
        where = _path((*prefix, str(key)))
        if not isinstance(key, str) or not key.strip():
            problems.append(Problem(str(doc.path), _not_text("terminal id", key), line=line, field=where))
        elif not isinstance(value, str) or not value.strip():
            problems.append(Problem(str(doc.path), _not_text("target id", value), line=line, field=where))
        else:
            employees.append(key.strip())
            targets.append(value.strip())
            lines.append(line or 0)
    problems += _repeats(str(doc.path), employees, targets, lines)
    if problems:
        return problems[:MAX_REPORTED]
    return dict(zip(employees, targets, strict=True)), dict(zip(employees, lines, strict=True))


def _not_text(what: str, value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{what} {value!r} is a number in YAML: write it in quotes exactly as shown (leading zeros are lost)"
    return f"{what} {value!r} must be text (write it in quotes)"


def _repeats(file: str, employees: list[str], targets: list[str], lines: list[int]) -> list[Problem]:
    """A problem for each terminal id or target id given a second time, naming the first line."""
    problems = []
    first_employee: dict[str, int] = {}
    first_target: dict[str, tuple[str, int]] = {}
    for employee, target, line in zip(employees, targets, lines, strict=True):
        if employee and employee in first_employee:
            problems.append(
                Problem(
                    file, f"terminal id {employee!r} is already on line {first_employee[employee]}", line, "employee_id"
                )
            )
            continue
        first_employee[employee] = line
        if target and target in first_target:
            other, other_line = first_target[target]
            problems.append(
                Problem(
                    file,
                    f"target id {target!r} is already given to {other!r} on line {other_line} "
                    "(their days would be sent twice under one employee)",
                    line,
                    "target_id",
                )
            )
        first_target.setdefault(target, (employee, line))
    return problems


# -- cost centres --------------------------------------------------------------------------------


def _cost_centres(doc: YamlDocument, section: CostCentresSection, problems: list[Problem]) -> CostCentres | None:
    by = section.by
    if section.file is not None:
        read = _lookup_file(doc, ("cost_centres", "file"), "cost-centre", lambda p: _read_rules(p, by), problems)
        if read is None:
            return None
        source, rules = read
        where: Callable[[CostCentreRule], tuple[str, str]] = lambda rule: (source, "from")  # noqa: E731
    else:
        source = str(doc.path)
        entries = section.rules or []
        rules = [
            CostCentreRule(e.key, e.cost_centre, e.from_, e.to, doc.line_of(("cost_centres", "rules", i)))
            for i, e in enumerate(entries)
        ]
        index = {id(rule): i for i, rule in enumerate(rules)}
        where = lambda rule: (source, f"cost_centres.rules[{index[id(rule)]}].from")  # noqa: E731
        for i, rule in enumerate(rules):
            if rule.start and rule.end and rule.end < rule.start:
                problems.append(Problem(source, "`to` is before `from`", rule.line, f"cost_centres.rules[{i}].to"))
    found = []
    for later, earlier in overlapping_rules(tuple(rules)):
        file, field = where(later)
        found.append(
            Problem(
                file,
                f"{by} {later.key!r}: this rule ({later.describe()}) overlaps the rule on line {earlier.line} "
                f"({earlier.describe()}); a day must have one cost centre",
                later.line,
                field,
            )
        )
    problems.extend(found[:MAX_REPORTED])
    if found or any(r.start and r.end and r.end < r.start for r in rules):
        return None
    return CostCentres(by=by, rules=tuple(rules), default=section.default, source=source)


def _read_rules(path: Path, by: str) -> tuple[str, list[CostCentreRule]]:
    key_column = _KEY_COLUMNS[by]
    table = read_csv_table(path, ["cost_centre"], [key_column, "from", "to"])
    if key_column not in table.columns and "key" not in table.columns:
        others = [c for c in _KEY_COLUMNS.values() if c in table.columns]
        message = (
            f"this file is keyed by {others[0]!r} but cost_centres.by is {by}: name the key column {key_column!r}"
            if others
            else f"missing column {key_column} (cost_centres.by is {by}); the header must name "
            f"{key_column},cost_centre,from,to"
        )
        raise InputFileError(Problem(str(path), message, line=1))
    column = key_column if key_column in table.columns else "key"
    problems = []
    rules = []
    keys, centres = table.column(column).tolist(), table.column("cost_centre").tolist()
    starts, ends = table.column("from").tolist(), table.column("to").tolist()
    for row, (key, centre, start_text, end_text) in enumerate(zip(keys, centres, starts, ends, strict=True)):
        for field, text in ((column, key), ("cost_centre", centre)):
            if not text:
                problems.append(table.problem(row, field, "value is missing"))
        start, end = None, None
        try:
            start = date.fromisoformat(start_text) if start_text else None
        except ValueError:
            problems.append(table.problem(row, "from", f"{start_text!r} is not a date (YYYY-MM-DD, or empty)"))
        try:
            end = date.fromisoformat(end_text) if end_text else None
        except ValueError:
            problems.append(table.problem(row, "to", f"{end_text!r} is not a date (YYYY-MM-DD, or empty)"))
        if start and end and end < start:
            problems.append(table.problem(row, "to", f"{end} is before `from` {start}"))
        rules.append(CostCentreRule(key, centre, start, end, int(table.lines[row])))
    InputFileError.collect(problems[:MAX_REPORTED])
    return str(path), rules
