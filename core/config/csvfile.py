"""Reading CSV data files strictly: every problem is reported with its file, line and column.

The body is parsed by pyarrow (fast, multi-threaded) with every column as text; the header is
checked first (empty file, duplicate or missing columns), and when pyarrow finds a malformed row the
file is re-read with Python's `csv` module to name the exact lines. Line numbers count the header as
line 1; blank lines are skipped but still counted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from punchbridge.errors import InputFileError, Problem

__all__ = ["CsvTable", "read_csv_table"]

MAX_REPORTED = 20
_NON_SPACE = re.compile(rb"\S")


@dataclass
class CsvTable:
    """The text of a CSV file's columns, with the line number of every row."""

    path: str
    columns: dict[str, pa.Array]  # column name -> trimmed text
    lines: np.ndarray  # int64 line number of each row

    def __len__(self) -> int:
        return len(self.lines)

    def arrow(self, name: str) -> pa.Array:
        """A column as an Arrow string array (empty strings when the file does not have it)."""
        if name not in self.columns:
            self.columns[name] = pa.repeat(pa.scalar("", type=pa.string()), len(self.lines))
        return self.columns[name]

    def column(self, name: str) -> np.ndarray:
        """A column's values as an object array of `str` (for small files and error paths)."""
        return np.asarray(self.arrow(name).to_numpy(zero_copy_only=False), dtype=object)

    def blank(self, name: str) -> np.ndarray:
        """Which rows have no value in column `name`."""
        return np.asarray(pc.equal(self.arrow(name), ""), dtype=bool)

    def encoded(self, name: str) -> tuple[np.ndarray, list[str]]:
        """A column as integer codes into its list of distinct values (no per-row Python strings)."""
        if name not in self.columns:
            return np.zeros(len(self.lines), dtype=np.int64), [""]
        encoded = pc.dictionary_encode(self.arrow(name))
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        return codes, encoded.dictionary.to_pylist()

    def problem(self, row: int, field: str, message: str) -> Problem:
        """A problem located at row index `row` (0-based) and column `field`."""
        return Problem(self.path, message, line=int(self.lines[row]), field=field)


def read_csv_table(
    path: str | Path, required: Sequence[str], optional: Sequence[str] = (), *, allow_empty: bool = True
) -> CsvTable:
    """Read `path`, checking its header names `required` columns; raise `InputFileError` if unusable."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputFileError(Problem(name, "file not found")) from None
    except IsADirectoryError:
        raise InputFileError(Problem(name, "is a directory, expected a CSV file")) from None
    except OSError as exc:
        raise InputFileError(Problem(name, f"cannot be read: {exc.strerror}")) from None
    start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    if _NON_SPACE.search(raw, start) is None:
        raise InputFileError(Problem(name, "the file is empty; expected a header line: " + ",".join(required)))
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputFileError(Problem(name, "contains a NUL byte: not a text CSV file", line=line))
    newline = raw.find(b"\n", start)
    end_of_header = len(raw) if newline < 0 else newline
    try:
        header_text = raw[start:end_of_header].decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(Problem(name, "is not UTF-8 text (save it as UTF-8 CSV)", line=1)) from None
    header = _header(name, header_text, required, optional)
    table = _parse_body(name, raw, end_of_header + 1, header)
    if not allow_empty and len(table) == 0:
        raise InputFileError(Problem(name, "has a header but no rows"))
    return table


def _text_for_errors(name: str, raw: bytes) -> str:
    """The whole file as text, for naming lines on an error path; invalid UTF-8 is itself reported."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(Problem(name, "is not UTF-8 text (save it as UTF-8 CSV)", line=line)) from None


def _header(name: str, first_line: str, required: Sequence[str], optional: Sequence[str]) -> list[str]:
    header = [h.strip() for h in next(csv.reader([first_line.rstrip("\r")]))]
    problems = []
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if not column:
            problems.append(Problem(name, f"column {position} of the header has no name", line=1))
        elif column in seen:
            problems.append(Problem(name, f"column {column!r} appears twice in the header", line=1, field=column))
        seen.add(column)
    missing = [c for c in required if c not in seen]
    if missing:
        problems.append(
            Problem(
                name,
                f"missing column(s) {', '.join(missing)}; the header must name "
                + ",".join(list(required) + [f"[{c}]" for c in optional]),
                line=1,
            )
        )
    InputFileError.collect(problems)
    return header


def _parse_body(name: str, raw: bytes, body_start: int, header: list[str]) -> CsvTable:
    if _NON_SPACE.search(raw, body_start) is None:  # a header and nothing else: no rows
        empty = pa.array([], type=pa.string())
        return CsvTable(path=name, columns=dict.fromkeys(header, empty), lines=np.zeros(0, dtype=np.int64))
    body = pa.py_buffer(raw).slice(body_start)
    invalid: list[str] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row.text or "")
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        _report_malformed_rows(name, _text_for_errors(name, raw), header)
        raise InputFileError(Problem(name, f"cannot be parsed as CSV: {exc}")) from None
    if invalid:
        _report_malformed_rows(name, _text_for_errors(name, raw), header)
        raise InputFileError(Problem(name, f"{len(invalid)} row(s) do not have {len(header)} fields"))

    columns = {column: pc.utf8_trim_whitespace(table.column(column).combine_chunks()) for column in header}
    physical_lines = raw.count(b"\n", body_start) + (0 if raw.endswith(b"\n") else 1)
    if physical_lines == len(table):
        lines = np.arange(2, len(table) + 2, dtype=np.int64)
    else:  # a quoted value spans lines: count them the slow, exact way
        lines = _record_lines(_text_for_errors(name, raw), len(table))
    if len(table):
        blank = np.ones(len(table), dtype=bool)
        for values in columns.values():
            blank &= np.asarray(pc.equal(values, ""), dtype=bool)
        if blank.any():
            keep = pa.array(~blank)
            columns = {c: v.filter(keep) for c, v in columns.items()}
            lines = lines[~blank]
    return CsvTable(path=name, columns=columns, lines=lines)


def _record_lines(text: str, records: int) -> np.ndarray:
    """The line on which each record after the header starts, when quoted values hold line breaks."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts = []
    previous_end = 0
    for _ in reader:
        starts.append(previous_end + 1)
        previous_end = reader.line_num
    starts = starts[1:]
    if len(starts) != records:  # the two parsers disagree; fall back to counting records
        return np.arange(2, records + 2, dtype=np.int64)
    return np.asarray(starts, dtype=np.int64)


def _report_malformed_rows(name: str, text: str, header: list[str]) -> None:
    """Re-read with Python's csv module to name the lines whose field count is wrong."""
    problems = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        for row in reader:
            number = reader.line_num
            if number == 1 or not row or row == [""]:
                continue
            if len(row) != len(header):
                problems.append(
                    Problem(name, f"expected {len(header)} fields ({','.join(header)}), found {len(row)}", line=number)
                )
                if len(problems) >= MAX_REPORTED:
                    break
    except csv.Error as exc:
        problems.append(Problem(name, f"malformed CSV: {exc}"))
    InputFileError.collect(problems)
