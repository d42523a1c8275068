"""The punches file of `punchbridge process`: every row used, quarantined with a reason, or reported.

A punches file that is unusable as a whole (missing column, malformed timestamp or direction) raises
`InputFileError` listing the problems with their lines (the first of each kind, and how many there
are in all); the file is checked as it is read, block by block (`punchbridge.config.csvfile`). A row
that is well formed but cannot be used (unknown employee, implausible timestamp, an id holding an
invisible character) goes to the quarantine, and the other rows are processed.
Exact re-sends are found by the rules engine itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from punchbridge.config.csvfile import CsvTable, ProblemTally, read_csv_table
from punchbridge.config.identifiers import invisible_character
from punchbridge.errors import InputFileError, Problem
from punchbridge.rules.clock import NS_PER_DAY, NS_PER_MINUTE, wall_time_ns, wall_to_instant_ns
from punchbridge.rules.frames import DIRECTIONS
from punchbridge.rules.settings import RuleSet

__all__ = ["FUTURE_TOLERANCE_MINUTES", "OLDEST_DAYS", "QUARANTINE_COLUMNS", "PunchFile", "read_punches"]

QUARANTINE_COLUMNS = ("file", "line", "employee_id", "timestamp", "device_id", "direction", "reason", "detail")
OLDEST_DAYS = 400
FUTURE_TOLERANCE_MINUTES = 10
_WALL_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
_WITH_OFFSET = _WALL_TIME + r"(Z|[+-]\d{2}(:?\d{2})?)$"
_WITHOUT_OFFSET = _WALL_TIME + "$"
_DIRECTION_WORDS = {word: word for word in DIRECTIONS} | {str(i): word for i, word in enumerate(DIRECTIONS)}
_KNOWN_DIRECTIONS = pa.array(list(_DIRECTION_WORDS))
REQUIRED = ("employee_id", "timestamp", "device_id")


@dataclass
class PunchFile:
    """A punches CSV read for processing: the usable punches, and the rows held back with reasons.

    Of the file's text only the timestamps are kept (a quarantined punch shows its timestamp as
    written); the ids and directions of the usable rows are their codes in `punches`.
    """

    table: CsvTable  # the line of every row read, and its `timestamp` text
    punches: pd.DataFrame  # engine columns, plus `row` (index into `table`)
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS
    directions_as_written: list[str]  # the `direction` texts of the file; `direction_written` codes into it
    direction_written: np.ndarray  # per row of `punches`

    def quarantine_rows(self, rows: np.ndarray, reason: str, detail: str | list[str]) -> pd.DataFrame:
        """Quarantine records for rows `rows` of `punches` (by `row`: punches the engine could not place)."""
        at = np.searchsorted(self.punches["row"].to_numpy(), np.asarray(rows, dtype=np.int64))

        def texts(column: str) -> list[str]:
            values = self.punches[column].array
            return np.asarray(values.categories, dtype=object)[values.codes[at]].tolist()  # type: ignore[no-any-return]

        return pd.DataFrame(
            {
                "file": self.table.path,
                "line": self.table.lines[rows],
                "employee_id": texts("employee_id"),
                "timestamp": _texts_at(self.table.arrow("timestamp"), rows),
                "device_id": texts("device_id"),
                "direction": np.asarray(self.directions_as_written, dtype=object)[self.direction_written[at]].tolist(),
                "reason": np.full(len(rows), reason, dtype=object),
                "detail": detail,
            },
            columns=list(QUARANTINE_COLUMNS),
        )


def _texts_at(texts: pa.Array, rows: np.ndarray) -> list[str]:
    return texts.take(pa.array(np.asarray(rows, dtype=np.int64))).to_pylist()  # type: ignore[no-any-return]


def _quarantine_frame(
    table: CsvTable, check: _RowCheck, rows: np.ndarray, reasons: np.ndarray, detail: object
) -> pd.DataFrame:
    def texts(name: str) -> list[str]:
        codes, words = check.encoded(name)
        return np.asarray(words, dtype=object)[codes[rows]].tolist() if len(words) else []

    return pd.DataFrame(
        {
            "file": table.path,
            "line": table.lines[rows],
            "employee_id": texts("employee_id"),
            "timestamp": _texts_at(table.arrow("timestamp"), rows),
            "device_id": texts("device_id"),
            "direction": texts("direction"),
            "reason": reasons,
            "detail": detail,
        },
        columns=list(QUARANTINE_COLUMNS),
    )


_OK, _UNKNOWN, _UNPLACEABLE, _TOO_OLD, _TOO_NEW, _INVISIBLE = range(6)


def read_punches(
    path: str | Path, employees: pd.DataFrame, rules: RuleSet, date_from: date, date_to: date
) -> PunchFile:
    """Punches `employee_id,timestamp,device_id[,direction]`, and the quarantined rows with reasons.

    A timestamp with an offset is an instant; one without is local wall time in the site zone of
    the employee. Instants more than 400 days before the end of `date_to`, or later than the last
    window of the range by over 10 minutes, are implausible and quarantined.
    """
    # Every row problem (a value missing, a malformed timestamp or direction) is found block by block
    # while the file is read (`_row_problems`): a file of garbage is refused without holding its rows.
    # The ids and directions are turned into codes block by block (`_RowCheck`): of the file's text
    # only the timestamps are held whole (a quarantined punch shows its timestamp as written).
    check = _RowCheck()
    table = read_csv_table(path, REQUIRED, ["direction"], check=check, keep=["timestamp"])
    pa.default_memory_pool().release_unused()  # Arrow caches the blocks it parsed; the arrays below need room
    problems: list[Problem] = []
    texts = table.arrow("timestamp")
    all_aware = check.all_aware()
    if all_aware is None:
        has_offset, well_formed = _timestamp_forms(texts)
    else:
        has_offset = well_formed = np.ones(len(table), dtype=bool)
    direction_codes, direction_words = check.encoded("direction")
    canonical = [_DIRECTION_WORDS.get(word.lower()) if word else None for word in direction_words]

    employee_codes, employee_names = check.encoded("employee_id")
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
    device_codes, device_names = check.encoded("device_id")
    invisible = _invisible_rows(employee_codes, employee_names) | _invisible_rows(device_codes, device_names)
    reason[invisible] = _INVISIBLE

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
        _INVISIBLE: (
            "bad_identifier",
            "employee_id or device_id holds an invisible character (zero-width space, bidirectional override)",
        ),
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
    quarantine = _quarantine_frame(table, check, held, reasons, details)
    written = direction_codes[good].astype(np.min_scalar_type(max(len(direction_words) - 1, 0)))
    del texts, employee_codes, device_codes, direction_codes, check
    pa.default_memory_pool().release_unused()  # hand the freed arrays back rather than keep them cached
    return PunchFile(table, punches, quarantine, direction_words, written)


#: The columns turned into codes as they are read (`_RowCheck.encoded`).
_ENCODED = ("employee_id", "device_id", "direction")


class _RowCheck:
    """`_row_problems` for each block, keeping the instants of blocks whose timestamps all have an
    offset (the usual case), so they are not parsed twice, and the ids and directions of each
    block as dictionary codes, so their texts are not held for the whole file."""

    def __init__(self) -> None:
        self.instants: list[np.ndarray | None] = []
        self.codes: dict[str, list[pa.DictionaryArray]] = {name: [] for name in _ENCODED}
        self.last_line = 0

    def _start_again(self) -> None:
        self.instants.clear()
        for parts in self.codes.values():
            parts.clear()
        self.last_line = 0

    def __call__(self, block: CsvTable, tally: ProblemTally) -> None:
        if len(block) and int(block.lines[0]) <= self.last_line:
            self._start_again()  # the file is being read a second time (a value over several lines)
        if len(block):
            self.last_line = int(block.lines[-1])
        self.instants.append(_row_problems(block, tally))
        for name, parts in self.codes.items():
            if tally:
                parts.clear()  # the file is refused: its rows are not needed any more
            else:
                parts.append(pc.dictionary_encode(block.arrow(name)))

    def all_aware(self) -> np.ndarray | None:
        """The UTC instants (ns) of every row read, when every timestamp had an offset; else None."""
        if any(part is None for part in self.instants):
            return None
        parts = [part for part in self.instants if part is not None]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def encoded(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Column `name` of every row read as integer codes into its distinct values (in the order
        they first appear, as `CsvTable.encoded` gives them)."""
        parts = self.codes[name]
        if not parts:
            return np.zeros(0, dtype=np.int32), []
        whole = pa.chunked_array(parts, type=pa.dictionary(pa.int32(), pa.string())).unify_dictionaries()
        codes = [np.asarray(chunk.indices.to_numpy(zero_copy_only=False), dtype=np.int32) for chunk in whole.chunks]
        return np.concatenate(codes), whole.chunks[0].dictionary.to_pylist()


def _row_problems(block: CsvTable, tally: ProblemTally) -> np.ndarray | None:
    """What makes a punches file unusable, in one block of its rows: a required value missing, a
    timestamp that is not a date and time (or not a real one: hour 25, 30 February), an unknown
    direction. Each kind is counted in `tally`; only the first rows of a kind are described.
    Returns the block's instants when every timestamp has an offset (else None)."""
    for name in REQUIRED:
        tally.rows(
            f"{name} missing",
            np.flatnonzero(block.blank(name)),
            lambda row, name=name: block.problem(row, name, "value is missing"),  # type: ignore[misc]
        )
    texts = block.arrow("timestamp")
    instants = _instants_if_all_aware(texts)
    if instants is None:
        has_offset, well_formed = _timestamp_forms(texts)
        tally.rows(
            "timestamp form",
            np.flatnonzero(~well_formed & ~block.blank("timestamp")),
            lambda row: block.problem(
                row,
                "timestamp",
                f"{texts[row].as_py()!r} is not an ISO-8601 date and time (like 2025-01-06T09:00:00+05:30)",
            ),
        )
        impossible = [
            row
            for aware, unit in ((True, pa.timestamp("ns", "UTC")), (False, pa.timestamp("ns")))
            for row in _impossible_rows(texts, np.flatnonzero((has_offset == aware) & well_formed), unit)
        ]
        tally.rows(
            "timestamp value",
            sorted(impossible),
            lambda row: block.problem(
                row,
                "timestamp",
                f"{texts[row].as_py()!r} is not a valid date and time ({_why_not(texts[row].as_py())})",
            ),
        )
    directions = block.arrow("direction")
    known = np.asarray(pc.is_in(pc.utf8_lower(directions), value_set=_KNOWN_DIRECTIONS), dtype=bool)
    tally.rows(
        "direction",
        np.flatnonzero(~known & ~block.blank("direction")),
        lambda row: block.problem(
            row, "direction", f"{directions[row].as_py()!r} is not a direction ({', '.join(DIRECTIONS)} or 0-5)"
        ),
    )
    return instants


def _impossible_rows(texts: pa.Array, rows: np.ndarray, unit: pa.DataType) -> list[int]:
    """Rows among `rows` (well-formed timestamps) whose value is not a real date and time."""
    if not rows.size:
        return []
    try:
        pc.cast(texts.take(pa.array(rows)), unit)
        return []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # some value is impossible, or outside what Arrow holds (quarantined later): look one by one
    return [row for row in rows.tolist() if _why_not(texts[row].as_py()) is not None]


def _why_not(text: str) -> str | None:
    """Why `text` (a well-formed timestamp) is not a real date and time; None when it is one."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        return str(exc)
    return None


def _invisible_rows(codes: np.ndarray, names: list[str]) -> np.ndarray:
    """Rows whose value (an id, as codes into `names`) holds an invisible character."""
    bad = [code for code, name in enumerate(names) if invisible_character(name)]
    return np.isin(codes, bad) if bad else np.zeros(len(codes), dtype=bool)


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
