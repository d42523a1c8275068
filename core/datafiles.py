"""The input files of `punchbridge process`: rules YAML and the punch, employee, assignment and leave CSVs.

A file that is unusable as a whole (missing column, malformed value, unknown site or shift) raises
`UserInputError` listing every problem with file, line and field. A punch row that is well formed
but cannot be used (unknown employee, implausible timestamp, exact re-send) goes to the quarantine
with its reason, and the other rows are processed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .csvfile import MAX_REPORTED, CsvTable, read_csv_table
from .errors import ConfigError, InputFileError, Problem
from .rules.clock import NS_PER_DAY, NS_PER_MINUTE, wall_time_ns, wall_to_instant_ns
from .rules.frames import DIRECTIONS
from .rules.settings import RuleSet, parse_weekdays
from .yamlfile import load_yaml, validate_document

__all__ = [
    "QUARANTINE_COLUMNS",
    "PunchFile",
    "load_rules",
    "read_assignments",
    "read_employees",
    "read_leaves",
    "read_punches",
]

QUARANTINE_COLUMNS = ("file", "line", "employee_id", "timestamp", "device_id", "direction", "reason", "detail")
OLDEST_DAYS = 400
FUTURE_TOLERANCE_MINUTES = 10
_WALL_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
_WITH_OFFSET = _WALL_TIME + r"(Z|[+-]\d{2}(:?\d{2})?)$"
_WITHOUT_OFFSET = _WALL_TIME + "$"
_DIRECTION_WORDS = {word: word for word in DIRECTIONS} | {str(i): word for i, word in enumerate(DIRECTIONS)}
_TRUE = {"true", "yes", "y", "1", "paid"}
_FALSE = {"false", "no", "n", "0", "unpaid"}


def load_rules(path: str | Path) -> RuleSet:
    """Read a rules file (`sites:`, `shifts:`, `pairing:`); holiday CSV paths are read relative to it."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(Problem(str(doc.path), "expected a mapping with sites:, shifts: and pairing:", line=1))
    data = dict(doc.data)
    problems: list[Problem] = []
    sites = data.get("sites")
    if isinstance(sites, dict):
        data["sites"] = {k: dict(v) if isinstance(v, dict) else v for k, v in sites.items()}
        for site_id, site in data["sites"].items():
            holidays = site.get("holidays") if isinstance(site, dict) else None
            if isinstance(holidays, str):
                try:
                    site["holidays"] = _read_holidays(doc.path.parent / holidays)
                except InputFileError as exc:
                    loc = ("sites", site_id, "holidays")
                    problems.append(
                        Problem(
                            str(doc.path),
                            f"the holiday file {holidays!r} cannot be used; its problems are listed under its name",
                            line=doc.line_of(loc),
                            field=f"sites.{site_id}.holidays",
                        )
                    )
                    problems.extend(exc.problems)
                    site["holidays"] = []
    try:
        rules = validate_document(RuleSet, doc, data)
    except ConfigError as exc:
        problems.extend(exc.problems)
    ConfigError.collect(problems)
    return rules


def _read_holidays(path: Path) -> list[date]:
    table = read_csv_table(path, ["date"], ["name"])
    days, problems = _dates(table, "date")
    InputFileError.collect(problems)
    return sorted(set(days))


def _dates(table: CsvTable, field: str) -> tuple[list[date], list[Problem]]:
    days: list[date] = []
    problems = []
    for row, text in enumerate(table.column(field).tolist()):
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            problems.append(table.problem(row, field, f"{text!r} is not a date (expected YYYY-MM-DD)"))
    return days, problems[:MAX_REPORTED]


def _require_values(table: CsvTable, fields: Iterable[str]) -> list[Problem]:
    problems = []
    for field in fields:
        for row in np.flatnonzero(table.blank(field))[:MAX_REPORTED].tolist():
            problems.append(table.problem(row, field, "value is missing"))
    return problems


def _duplicates(table: CsvTable, keys: list[str], what: str) -> list[Problem]:
    """Rows whose `keys` repeat an earlier row, each naming the line it repeats."""
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
    """Employees `employee_id,site,shift[,weekly_off]`; unknown sites or shifts are errors."""
    table = read_csv_table(path, ["employee_id", "site", "shift"], ["weekly_off"], allow_empty=False)
    problems = _require_values(table, ["employee_id", "site", "shift"])
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
        }
    )


def _known_employees(table: CsvTable, employees: pd.DataFrame | None) -> list[Problem]:
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
    table = read_csv_table(path, ["employee_id", "shift", "from", "to"])
    problems = _require_values(table, ["employee_id", "shift", "from", "to"]) + _known_employees(table, employees)
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
    table = read_csv_table(path, ["employee_id", "date", "kind", "paid"])
    problems = _require_values(table, ["employee_id", "date", "kind", "paid"]) + _known_employees(table, employees)
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


@dataclass
class PunchFile:
    """A punches CSV read for processing: the usable punches, and the rows held back with reasons."""

    table: CsvTable
    punches: pd.DataFrame  # engine columns, plus `row` (index into `table`)
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS

    def quarantine_rows(self, rows: np.ndarray, reason: str, detail: str | list[str]) -> pd.DataFrame:
        """Quarantine records for table rows `rows` (used for punches the engine could not place)."""
        return _quarantine_frame(self.table, rows, np.full(len(rows), reason, dtype=object), detail)


def _quarantine_frame(table: CsvTable, rows: np.ndarray, reasons: np.ndarray, detail: object) -> pd.DataFrame:
    picked = pa.array(np.asarray(rows, dtype=np.int64))
    return pd.DataFrame(
        {
            "file": table.path,
            "line": table.lines[rows],
            "employee_id": table.arrow("employee_id").take(picked).to_pylist(),
            "timestamp": table.arrow("timestamp").take(picked).to_pylist(),
            "device_id": table.arrow("device_id").take(picked).to_pylist(),
            "direction": table.arrow("direction").take(picked).to_pylist(),
            "reason": reasons,
            "detail": detail,
        },
        columns=list(QUARANTINE_COLUMNS),
    )


_OK, _UNKNOWN, _UNPLACEABLE, _TOO_OLD, _TOO_NEW = range(5)


def read_punches(
    path: str | Path, employees: pd.DataFrame, rules: RuleSet, date_from: date, date_to: date
) -> PunchFile:
    """Punches `employee_id,timestamp,device_id[,direction]`, and the quarantined rows with reasons.

    A timestamp with an offset is an instant; one without is local wall time in the site zone of
    the employee. Instants more than 400 days before the end of `date_to`, or later than the last
    window of the range by over 10 minutes, are implausible and quarantined.
    """
    table = read_csv_table(path, ["employee_id", "timestamp", "device_id"], ["direction"])
    problems = _require_values(table, ["employee_id", "timestamp", "device_id"])
    texts = table.arrow("timestamp")
    all_aware = _instants_if_all_aware(texts)
    if all_aware is None:
        has_offset, well_formed = _timestamp_forms(texts)
    else:
        has_offset = well_formed = np.ones(len(table), dtype=bool)
    for row in np.flatnonzero(~well_formed & ~table.blank("timestamp"))[:MAX_REPORTED].tolist():
        problems.append(
            table.problem(
                row,
                "timestamp",
                f"{texts[row].as_py()!r} is not an ISO-8601 date and time (like 2025-01-06T09:00:00+05:30)",
            )
        )
    direction_codes, direction_words = table.encoded("direction")
    canonical = [_DIRECTION_WORDS.get(word.lower()) if word else None for word in direction_words]
    unknown_words = np.array([bool(w) and c is None for w, c in zip(direction_words, canonical, strict=True)])
    for row in np.flatnonzero(unknown_words[direction_codes])[:MAX_REPORTED].tolist():
        problems.append(
            table.problem(
                row,
                "direction",
                f"{direction_words[direction_codes[row]]!r} is not a direction ({', '.join(DIRECTIONS)} or 0-5)",
            )
        )

    employee_codes, employee_names = table.encoded("employee_id")
    zone_by_employee = _employee_zones(employees, rules)
    zones = sorted(set(zone_by_employee.values()))
    name_zone = np.array([zones.index(zone_by_employee[n]) if n in zone_by_employee else -1 for n in employee_names])
    row_zone = name_zone[employee_codes]
    if all_aware is None:
        instant, unplaceable = _instants(table, texts, has_offset, well_formed, row_zone, zones, problems)
    else:
        instant, unplaceable = all_aware, np.zeros(len(table), dtype=bool)
    InputFileError.collect(problems)

    oldest, newest = _plausible_span(rules, employees, date_from, date_to)
    name_oldest = np.array([oldest.get(n, 0) for n in employee_names], dtype=np.int64)
    name_newest = np.array([newest.get(n, 0) for n in employee_names], dtype=np.int64)
    reason = np.full(len(table), _OK, dtype=np.int8)
    reason[instant > name_newest[employee_codes]] = _TOO_NEW
    reason[instant < name_oldest[employee_codes]] = _TOO_OLD
    reason[unplaceable] = _UNPLACEABLE
    reason[row_zone < 0] = _UNKNOWN

    device_codes, device_names = table.encoded("device_id")
    good = np.flatnonzero(reason == _OK)
    direction_index = np.array([DIRECTIONS.index(c) if c else -1 for c in canonical], dtype=np.int64)
    punches = pd.DataFrame(
        {
            "employee_id": pd.Categorical.from_codes(employee_codes[good], categories=pd.Index(employee_names)),
            "instant": pd.DatetimeIndex(instant[good].view("datetime64[ns]")).tz_localize("UTC"),
            "device_id": pd.Categorical.from_codes(device_codes[good], categories=pd.Index(device_names)),
            "direction": pd.Categorical.from_codes(
                direction_index[direction_codes[good]], categories=pd.Index(list(DIRECTIONS))
            ),
            "row": good,
        }
    )
    held = np.flatnonzero(reason != _OK)
    texts_by_reason = {
        _UNKNOWN: ("unknown_employee", "employee is not in the employees file"),
        _UNPLACEABLE: ("implausible_timestamp", "timestamp is outside the range a punch can have"),
        _TOO_OLD: (
            "implausible_timestamp",
            f"more than {OLDEST_DAYS} days before the end of {date_to} (device clock reset?)",
        ),
        _TOO_NEW: (
            "implausible_timestamp",
            f"more than {FUTURE_TOLERANCE_MINUTES} minutes after the last shift window of {date_to}"
            " (device clock ahead?)",
        ),
    }
    held_reasons = reason[held].tolist()
    reasons = np.array([texts_by_reason[r][0] for r in held_reasons], dtype=object)
    details = np.array(
        [texts_by_reason[r][1] for r in held_reasons],
        dtype=object,
    )
    return PunchFile(table=table, punches=punches, quarantine=_quarantine_frame(table, held, reasons, details))


def _employee_zones(employees: pd.DataFrame, rules: RuleSet) -> dict[str, str]:
    return {
        e: rules.sites[s].timezone
        for e, s in zip(employees["employee_id"].tolist(), employees["site"].tolist(), strict=True)
    }


def _instants_if_all_aware(texts: pa.Array) -> np.ndarray | None:
    """The common case in one pass: every timestamp has an offset (else None; Arrow refuses naive ones)."""
    try:
        stamps = pc.cast(texts, pa.timestamp("ns", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return np.asarray(stamps.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _timestamp_forms(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Which timestamps carry an offset, and which are well formed at all (with or without one)."""
    has_offset = np.asarray(pc.match_substring_regex(texts, _WITH_OFFSET), dtype=bool)
    well_formed = has_offset.copy()
    rest = np.flatnonzero(~has_offset)
    if rest.size:
        without = pc.match_substring_regex(texts.take(pa.array(rest)), _WITHOUT_OFFSET)
        well_formed[rest] = np.asarray(without, dtype=bool)
    return has_offset, well_formed


def _instants(
    table: CsvTable,
    texts: pa.Array,
    has_offset: np.ndarray,
    well_formed: np.ndarray,
    row_zone: np.ndarray,
    zones: list[str],
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray]:
    """UTC instants (int64 ns) of well-formed timestamps, and which could not be placed at all.

    Values that look right but are not (hour 25, 30 February) are added to `problems`.
    """
    n = len(table)
    instant = np.zeros(n, dtype=np.int64)
    unplaceable = ~well_formed
    for aware, unit in ((True, pa.timestamp("ns", "UTC")), (False, pa.timestamp("ns"))):
        rows = np.flatnonzero((has_offset == aware) & well_formed)
        if not rows.size:
            continue
        subset = texts if rows.size == n else texts.take(pa.array(rows))
        try:
            values = np.asarray(pc.cast(subset, unit).cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values, bad = _instants_one_by_one(table, rows, aware, problems)
            unplaceable[rows[bad]] = True
        instant[rows] = values
    naive = ~has_offset & ~unplaceable
    for code, zone in enumerate(zones):
        rows = np.flatnonzero(naive & (row_zone == code))
        instant[rows] = wall_to_instant_ns(instant[rows], zone)
    return instant, unplaceable


def _instants_one_by_one(
    table: CsvTable, rows: np.ndarray, aware: bool, problems: list[Problem]
) -> tuple[np.ndarray, np.ndarray]:
    """Slow path after the fast parser refused a value: find which rows are bad and say why."""
    values = np.zeros(len(rows), dtype=np.int64)
    out_of_range = np.zeros(len(rows), dtype=bool)
    texts = table.arrow("timestamp")
    for i, row in enumerate(rows.tolist()):
        text = texts[row].as_py()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            problems.append(table.problem(row, "timestamp", f"{text!r} is not a valid date and time ({exc})"))
            out_of_range[i] = True
            continue
        try:
            stamp = pd.Timestamp(moment)
            values[i] = (stamp.tz_convert("UTC") if aware else stamp).as_unit("ns").value
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            out_of_range[i] = True
    return values, out_of_range


def _plausible_span(
    rules: RuleSet, employees: pd.DataFrame, date_from: date, date_to: date
) -> tuple[dict[str, int], dict[str, int]]:
    """Per employee, the earliest and latest plausible punch instant for the range."""
    widest_after = max((s.window_after for s in rules.shifts.values()), default=0)
    per_site: dict[str, tuple[int, int]] = {}
    for site_id, site in rules.sites.items():
        end_of_range = wall_time_ns(site.timezone, date_to + timedelta(days=1), 0)
        last_window = wall_time_ns(site.timezone, date_to + timedelta(days=2), 0) + widest_after * NS_PER_MINUTE
        per_site[site_id] = (
            end_of_range - OLDEST_DAYS * NS_PER_DAY,
            last_window + FUTURE_TOLERANCE_MINUTES * NS_PER_MINUTE,
        )
    sites = employees["site"].tolist()
    ids = employees["employee_id"].tolist()
    return (
        {e: per_site[s][0] for e, s in zip(ids, sites, strict=True)},
        {e: per_site[s][1] for e, s in zip(ids, sites, strict=True)},
    )
