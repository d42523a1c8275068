"""The reference inputs of `punchbridge process`: the rules YAML and the employee, assignment and leave CSVs.

A file that is unusable (missing column, malformed value, unknown site or shift, overlapping
assignments) raises `UserInputError` listing every problem with file, line and field. numpy, pandas
and the CSV reader (pyarrow) are imported by the functions that read a file: reading a configuration
without holiday files needs none of them. The punches
file, whose bad rows are quarantined rather than fatal, is read by `punchfile.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punchbridge.config.identifiers import invisible_character
from punchbridge.config.paths import resolve_path
from punchbridge.config.yamlfile import YamlDocument, load_yaml, validate_document
from punchbridge.errors import ConfigError, InputFileError, Problem
from punchbridge.rules.settings import RuleSet, parse_weekdays

if TYPE_CHECKING:
    import pandas as pd

    from punchbridge.config.csvfile import CsvTable

__all__ = [
    "inline_holiday_files",
    "load_rules",
    "read_assignments",
    "read_employees",
    "read_leaves",
    "require_values",
    "visible_identifiers",
]

_TRUE = {"true", "yes", "y", "1", "paid"}
_FALSE = {"false", "no", "n", "0", "unpaid"}


#: Top-level keys that only a main configuration file has (see `punchbridge.config`).
MAIN_CONFIG_KEYS = frozenset({"store", "sources", "targets", "jobs", "employees", "assignments", "leaves", "sync"})


def load_rules(path: str | Path) -> RuleSet:
    """Read the rules (`sites:`, `shifts:`, `pairing:`) from a rules file or a main configuration file.

    Holiday CSV paths are read relative to the file.
    """
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(Problem(str(doc.path), "expected a mapping with sites:, shifts: and pairing:", line=1))
    data = dict(doc.data)
    if MAIN_CONFIG_KEYS & set(data):  # a main configuration file: its rules sections are the rules
        data = {key: value for key, value in data.items() if key in ("sites", "shifts", "pairing")}
    data, problems = inline_holiday_files(doc, data)
    try:
        rules = validate_document(RuleSet, doc, data)
    except ConfigError as exc:
        problems.extend(exc.problems)
    ConfigError.collect(problems)
    return rules


def inline_holiday_files(doc: YamlDocument, data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Replace each site's `holidays: FILE.csv` by the dates in that file (read relative to `doc`)."""
    problems: list[Problem] = []
    sites = data.get("sites")
    if not isinstance(sites, dict):
        return data, problems
    data["sites"] = {k: dict(v) if isinstance(v, dict) else v for k, v in sites.items()}
    for site_id, site in data["sites"].items():
        holidays = site.get("holidays") if isinstance(site, dict) else None
        if not isinstance(holidays, str):
            continue
        try:
            site["holidays"] = _read_holidays(resolve_path(Path(holidays), doc.path.parent))
        except InputFileError as exc:
            problems.append(
                Problem(
                    str(doc.path),
                    f"the holiday file {holidays!r} cannot be used; its problems are listed under its name",
                    line=doc.line_of(("sites", site_id, "holidays")),
                    field=f"sites.{site_id}.holidays",
                )
            )
            problems.extend(exc.problems)
            site["holidays"] = []
    return data, problems


def _read_holidays(path: Path) -> list[date]:
    from punchbridge.config.csvfile import read_csv_table

    table = read_csv_table(path, ["date"], ["name"])
    days, problems = _dates(table, "date")
    InputFileError.collect(problems)
    return sorted(set(days))


def _dates(table: CsvTable, field: str) -> tuple[list[date], list[Problem]]:
    from punchbridge.config.csvfile import MAX_REPORTED

    days: list[date] = []
    problems = []
    for row, text in enumerate(table.column(field).tolist()):
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            problems.append(table.problem(row, field, f"{text!r} is not a date (expected YYYY-MM-DD)"))
    return days, problems[:MAX_REPORTED]


def require_values(table: CsvTable, fields: Iterable[str]) -> list[Problem]:
    """A problem for every row (up to a limit) where one of `fields` is empty."""
    import numpy as np

    from punchbridge.config.csvfile import MAX_REPORTED

    problems = []
    for field in fields:
        for row in np.flatnonzero(table.blank(field))[:MAX_REPORTED].tolist():
            problems.append(table.problem(row, field, "value is missing"))
    return problems


def visible_identifiers(table: CsvTable, field: str) -> list[Problem]:
    """A problem for every row (up to a limit) whose `field` holds an invisible character (zero-width
    space, bidirectional override): such an id looks like another one and is not the same."""
    import numpy as np

    from punchbridge.config.csvfile import MAX_REPORTED

    problems: list[Problem] = []
    codes, values = table.encoded(field)
    bad = {code: found for code, value in enumerate(values) if (found := invisible_character(value))}
    if not bad:
        return problems
    for row in np.flatnonzero(np.isin(codes, list(bad)))[:MAX_REPORTED].tolist():
        problems.append(table.problem(row, field, f"contains the invisible character {bad[int(codes[row])]}"))
    return problems


def _duplicates(table: CsvTable, keys: list[str], what: str) -> list[Problem]:
    """Rows whose `keys` repeat an earlier row, each naming the line it repeats."""
    import numpy as np
    import pandas as pd

    from punchbridge.config.csvfile import MAX_REPORTED

    frame = pd.DataFrame({k: table.column(k) for k in keys})
    repeated = frame.duplicated(keep="first").to_numpy()
    if not repeated.any():
        return []
    first_line: dict[tuple[str, ...], int] = {}
    for row, key in enumerate(frame.itertuples(index=False, name=None)):
        first_line.setdefault(key, int(table.lines[row]))
    problems = []
    for row in np.flatnonzero(repeated)[:MAX_REPORTED].tolist():
        key = tuple(frame.iloc[row])
        problems.append(
            table.problem(row, keys[0], f"{what} {'/'.join(map(str, key))} already given on line {first_line[key]}")
        )
    return problems


def read_employees(path: str | Path, rules: RuleSet) -> pd.DataFrame:
    """Employees `employee_id,site,shift[,weekly_off][,department]`; unknown sites or shifts are errors."""
    import numpy as np
    import pandas as pd

    from punchbridge.config.csvfile import MAX_REPORTED, read_csv_table

    table = read_csv_table(path, ["employee_id", "site", "shift"], ["weekly_off", "department"], allow_empty=False)
    problems = require_values(table, ["employee_id", "site", "shift"])
    problems += visible_identifiers(table, "employee_id")
    problems += _duplicates(table, ["employee_id"], "employee")
    for field, known in (("site", rules.sites), ("shift", rules.shifts)):
        values = table.column(field)
        unknown = np.flatnonzero((values != "") & ~np.isin(values, list(known)))
        for row in unknown[:MAX_REPORTED].tolist():
            problems.append(
                table.problem(
                    row, field, f"unknown {field} {values[row]!r}; the rules define {', '.join(sorted(known))}"
                )
            )
    weekly_off: list[tuple[str, ...] | None] = []
    for row, text in enumerate(table.column("weekly_off").tolist()):
        try:
            weekly_off.append(parse_weekdays(text) if text else None)
        except ValueError as exc:
            problems.append(table.problem(row, "weekly_off", str(exc)))
            weekly_off.append(None)
    InputFileError.collect(problems)
    return pd.DataFrame(
        {
            "employee_id": table.column("employee_id"),
            "site": table.column("site"),
            "shift": table.column("shift"),
            "weekly_off": weekly_off,
            "department": table.column("department"),
        }
    )


def _known_employees(table: CsvTable, employees: pd.DataFrame | None) -> list[Problem]:
    import numpy as np

    from punchbridge.config.csvfile import MAX_REPORTED

    if employees is None:  # the employees file itself was unusable: its problems are reported instead
        return []
    ids = table.column("employee_id")
    unknown = np.flatnonzero((ids != "") & ~np.isin(ids, employees["employee_id"].to_numpy()))
    return [
        table.problem(row, "employee_id", f"employee {ids[row]!r} is not in the employees file")
        for row in unknown[:MAX_REPORTED].tolist()
    ]


def read_assignments(path: str | Path, employees: pd.DataFrame | None, rules: RuleSet) -> pd.DataFrame:
    """Dated shift assignments `employee_id,shift,from,to` (inclusive); overlaps are errors."""
    import numpy as np
    import pandas as pd

    from punchbridge.config.csvfile import MAX_REPORTED, read_csv_table

    table = read_csv_table(path, ["employee_id", "shift", "from", "to"])
    problems = require_values(table, ["employee_id", "shift", "from", "to"]) + _known_employees(table, employees)
    shifts = table.column("shift")
    for row in np.flatnonzero((shifts != "") & ~np.isin(shifts, list(rules.shifts)))[:MAX_REPORTED].tolist():
        problems.append(
            table.problem(
                row, "shift", f"unknown shift {shifts[row]!r}; the rules define {', '.join(sorted(rules.shifts))}"
            )
        )
    starts, bad_from = _dates(table, "from")
    ends, bad_to = _dates(table, "to")
    problems += bad_from + bad_to
    InputFileError.collect(problems)
    frame = pd.DataFrame(
        {"employee_id": table.column("employee_id"), "shift": shifts, "from": starts, "to": ends, "_line": table.lines}
    )
    for row in np.flatnonzero((frame["to"] < frame["from"]).to_numpy()).tolist():
        problems.append(table.problem(row, "to", "ends before it starts"))
    ordered = frame.sort_values(["employee_id", "from", "_line"], kind="stable")
    same_employee = ordered["employee_id"].eq(ordered["employee_id"].shift(1)).to_numpy()
    previous_to = np.roll(ordered["to"].to_numpy(), 1)
    overlaps = same_employee & (ordered["from"].to_numpy() <= previous_to)
    lines = ordered["_line"].to_numpy()
    for i in np.flatnonzero(overlaps)[:MAX_REPORTED].tolist():
        problems.append(
            Problem(
                table.path,
                f"overlaps the assignment on line {lines[i - 1]} for employee {ordered['employee_id'].iloc[i]!r}",
                line=int(lines[i]),
                field="from",
            )
        )
    InputFileError.collect(problems)
    return frame.drop(columns="_line")


def read_leaves(path: str | Path, employees: pd.DataFrame | None) -> pd.DataFrame:
    """Leaves `employee_id,date,kind,paid`: kind full/first_half/second_half, paid true/false."""
    import numpy as np
    import pandas as pd

    from punchbridge.config.csvfile import MAX_REPORTED, read_csv_table

    table = read_csv_table(path, ["employee_id", "date", "kind", "paid"])
    problems = require_values(table, ["employee_id", "date", "kind", "paid"]) + _known_employees(table, employees)
    days, bad_dates = _dates(table, "date")
    problems += bad_dates
    kinds = np.char.lower(table.column("kind").astype(str)).astype(object)
    for row in np.flatnonzero((kinds != "") & ~np.isin(kinds, ["full", "first_half", "second_half"]))[
        :MAX_REPORTED
    ].tolist():
        problems.append(
            table.problem(row, "kind", f"{kinds[row]!r} is not a leave kind (full, first_half, second_half)")
        )
    paid = []
    for row, text in enumerate(table.column("paid").tolist()):
        word = text.lower()
        if word and word not in _TRUE | _FALSE:
            problems.append(table.problem(row, "paid", f"{text!r} is not true or false"))
        paid.append(word in _TRUE)
    InputFileError.collect(problems)
    problems += _duplicates(table, ["employee_id", "date", "kind"], "leave")
    frame = pd.DataFrame({"employee_id": table.column("employee_id"), "date": days, "kind": kinds, "paid": paid})
    key = frame["employee_id"].astype(str) + "|" + frame["date"].astype(str)
    with_full = set(key[frame["kind"] == "full"])
    shared = key.duplicated(keep=False).to_numpy()
    for leave_key in sorted(set(key[shared]) & with_full):
        employee, day = leave_key.split("|", 1)
        rows = np.flatnonzero((key == leave_key).to_numpy())
        problems.append(
            table.problem(
                int(rows[-1]),
                "kind",
                f"a full-day leave for {employee!r} on {day} is given with other leaves (lines {_lines(table, rows)})",
            )
        )
    InputFileError.collect(problems)
    return frame


def _lines(table: CsvTable, rows: Iterable[int]) -> str:
    return ", ".join(str(table.lines[r]) for r in rows)
