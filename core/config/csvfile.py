"""Reading CSV data files strictly: every problem is reported with its file, line and column, and counted.

A file is streamed, never held whole: a first pass reads it in blocks to check that it is text (not
empty, no NUL byte, UTF-8, each failure named with its line) and to find the header; then pyarrow
parses the body in blocks (fast, multi-threaded) with every column as text. A caller's `check` sees
each block's rows; once a problem is found the rows read are dropped and the rest of the file is
only checked, so a large file of garbage is reported without holding its rows.

When pyarrow finds a malformed row (a wrong number of fields, a quote that is never closed) the file
is read again with Python's `csv` module, line by line, to name the lines. Problems of one kind are
listed up to `MAX_REPORTED`; the entry after the last one listed counts the rest (`Problem.count`), so
"N problems" is how many there are in all. Line numbers count the header as line 1; blank lines are
skipped but still counted; a row is named by the line it starts on.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from punchbridge.errors import InputFileError, Problem

__all__ = ["MAX_REPORTED", "CsvTable", "ProblemTally", "read_csv_table"]

MAX_REPORTED = 20
#: Bytes read at a time: by the text checks, and by pyarrow for each block of rows.
BLOCK_SIZE = 1 << 22
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


@dataclass
class ProblemTally:
    """A file's problems by kind: the first `MAX_REPORTED` of each kind listed, every one counted."""

    listed: dict[str, list[Problem]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    next_omitted: dict[str, Problem] = field(default_factory=dict)  # the first problem of a kind not listed

    def __bool__(self) -> bool:
        return bool(self.counts)

    def rows(self, kind: str, rows: np.ndarray | Sequence[int], problem: Callable[[int], Problem]) -> None:
        """Count the rows `rows` as problems of `kind`; `problem(row)` is asked only for those listed."""
        count = len(rows)
        if not count:
            return
        self.counts[kind] += count
        listed = self.listed.setdefault(kind, [])
        room = max(0, MAX_REPORTED - len(listed))
        listed.extend(problem(int(row)) for row in rows[:room])
        if count > room and kind not in self.next_omitted:
            self.next_omitted[kind] = problem(int(rows[room]))

    def add(self, kind: str, problem: Problem) -> None:
        """Count one problem of `kind`."""
        self.rows(kind, [0], lambda _row: problem)

    def problems(self) -> list[Problem]:
        """The problems listed and, for each kind with more, one entry at the first one not listed that
        counts them (`Problem.count`)."""
        found: list[Problem] = []
        for kind, listed in self.listed.items():
            found.extend(listed)
            more = self.counts[kind] - len(listed)
            first = self.next_omitted.get(kind)
            if first is not None and more == 1:
                found.append(first)
            elif first is not None:
                rest = f"{first.message}; and {more - 1} more rows after this one with the same kind of problem"
                found.append(replace(first, message=rest, count=more))
        return found


#: A caller's check of a block of rows: it adds the problems it finds to the tally.
RowCheck = Callable[[CsvTable, ProblemTally], None]


def read_csv_table(
    path: str | Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    allow_empty: bool = True,
    check: RowCheck | None = None,
    keep: Sequence[str] | None = None,
) -> CsvTable:
    """Read `path`, checking its header names `required` columns; raise `InputFileError` if unusable.

    `check(block, tally)` is called for each block of rows (as a `CsvTable` of that block); any
    problem it adds makes the file unusable, and from then on the rows are only checked, not kept.
    A check may be called again from the first block when the file is read a second time (a quoted
    value over several lines): its blocks' `lines` then start again. With `keep`, only those columns
    are kept in the table returned (the others are seen by `check` block by block, then dropped), so
    a large file's other texts are never held whole.
    """
    name = str(path)
    text = _TextScan.of(name, Path(path))
    header = _header(name, text.header, required, optional)
    table = _Body(name, Path(path), text, header, check, keep).read()
    if not allow_empty and len(table) == 0:
        raise InputFileError(Problem(name, "has a header but no rows"))
    return table


@dataclass
class _TextScan:
    """What the first pass learnt: the header line, where the body starts, how many lines it has."""

    header: str
    body_start: int  # byte offset of the line after the header
    body_lines: int  # physical lines after the header
    body_has_text: bool

    @classmethod
    def of(cls, name: str, path: Path) -> _TextScan:
        """Read `path` block by block: InputFileError when it is missing, empty, binary or not UTF-8."""
        try:
            stream = path.open("rb")
        except FileNotFoundError:
            raise InputFileError(Problem(name, "file not found")) from None
        except IsADirectoryError:
            raise InputFileError(Problem(name, "is a directory, expected a CSV file")) from None
        except OSError as exc:
            raise InputFileError(Problem(name, f"cannot be read: {exc.strerror}")) from None
        with stream:
            return cls._scan(name, stream)

    @classmethod
    def _scan(cls, name: str, stream: io.BufferedReader) -> _TextScan:
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        lines = 0  # newlines before the current block
        head = b""  # the file's start, until the header's line is complete
        header_end = -1  # byte offset of the header's newline
        offset = 0
        body_newlines = 0
        any_text = body_text = False
        last = b""
        while True:
            try:
                block = stream.read(BLOCK_SIZE)
            except OSError as exc:
                raise InputFileError(Problem(name, f"cannot be read: {exc.strerror}")) from None
            block_text_start = 3 if offset == 0 and block.startswith(b"\xef\xbb\xbf") else 0
            if b"\x00" in block:
                line = lines + block[: block.index(b"\x00")].count(b"\n") + 1
                raise InputFileError(Problem(name, "contains a NUL byte: not a text CSV file", line=line))
            try:
                if not block.isascii() or decoder.getstate()[0] or not block:  # ASCII is UTF-8: no decoding
                    decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                line = lines + block[: max(exc.start, 0)].count(b"\n") + 1
                raise InputFileError(Problem(name, "is not UTF-8 text (save it as UTF-8 CSV)", line=line)) from None
            if not block:
                break
            newlines = block.count(b"\n")
            after = 0  # where the body starts in this block
            if header_end < 0:
                newline = block.find(b"\n")
                if newline < 0:
                    head += block
                else:
                    head += block[:newline]
                    header_end = offset + newline
                    after = newline + 1
                    body_newlines += block.count(b"\n", after)
            else:
                body_newlines += newlines
            if not any_text and _NON_SPACE.search(block, block_text_start):
                any_text = True
            if header_end >= 0 and not body_text:
                body_text = _NON_SPACE.search(block, after) is not None
            lines += newlines
            offset += len(block)
            last = block
        if not any_text:
            return cls("", offset, 0, False)
        header = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
        body_lines = body_newlines + (0 if not body_text or last.endswith(b"\n") else 1)
        start = offset if header_end < 0 else header_end + 1
        return cls(header.decode("utf-8"), start, body_lines, body_text)


def _header(name: str, first_line: str, required: Sequence[str], optional: Sequence[str]) -> list[str]:
    if not first_line.strip():
        raise InputFileError(Problem(name, "the file is empty; expected a header line: " + ",".join(required)))
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


class _Body:
    """The rows after the header, read block by block (see the module docstring)."""

    def __init__(
        self,
        name: str,
        path: Path,
        text: _TextScan,
        header: list[str],
        check: RowCheck | None,
        keep: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.text = text
        self.header = header
        self.check = check
        self.kept_columns = list(self.header) if keep is None else [c for c in self.header if c in keep]

    def read(self) -> CsvTable:
        if not self.text.body_has_text:  # a header and nothing else: no rows
            empty = pa.array([], type=pa.string())
            return CsvTable(
                path=self.name, columns=dict.fromkeys(self.kept_columns, empty), lines=np.zeros(0, np.int64)
            )
        try:
            return self._parse(multiline=False)
        except pa.ArrowInvalid:
            pass  # a malformed row, or a quoted value over several lines that pyarrow's fast path cannot read
        starts = self._record_starts()  # raises naming the malformed lines, if there are any
        try:
            return self._parse(multiline=True, starts=starts)  # quoted values over several lines: valid
        except pa.ArrowInvalid as exc:  # the csv module took what pyarrow does not
            raise InputFileError(Problem(self.name, f"cannot be parsed as CSV: {exc}")) from None

    def _parse(self, *, multiline: bool, starts: np.ndarray | None = None) -> CsvTable:
        tally = ProblemTally()
        kept: list[tuple[dict[str, pa.Array], np.ndarray]] = []
        seen = 0  # rows read so far, blank ones included
        for batch in self._batches(multiline):
            columns = {c: pc.utf8_trim_whitespace(batch.column(c)) for c in self.header}
            index = np.arange(seen, seen + batch.num_rows, dtype=np.int64)
            seen += batch.num_rows
            blank = np.ones(batch.num_rows, dtype=bool)
            for values in columns.values():
                blank &= np.asarray(pc.equal(values, ""), dtype=bool)
            if blank.any():
                keep = pa.array(~blank)
                columns = {c: v.filter(keep) for c, v in columns.items()}
                index = index[~blank]
            if self.check is not None:
                self.check(CsvTable(self.name, dict(columns), self._lines(index, starts)), tally)
            if not tally:
                kept.append(({c: columns[c] for c in self.kept_columns}, index))
            else:
                kept.clear()  # the file is refused: its rows are not needed any more
        if starts is None and seen != self.text.body_lines:
            starts = self._record_starts()  # a quoted value holds a line break: find where rows start
        if tally:
            raise InputFileError(self._relocated(tally.problems(), starts))
        names = self.kept_columns
        columns = {
            c: pa.concat_arrays([part[c] for part, _ in kept]) if kept else pa.array([], pa.string()) for c in names
        }
        index = np.concatenate([i for _, i in kept]) if kept else np.zeros(0, np.int64)
        return CsvTable(path=self.name, columns=columns, lines=self._lines(index, starts))

    def _batches(self, multiline: bool) -> Iterator[pa.RecordBatch]:
        # Arrow's worker threads are never given a Python object: the file is read by Arrow itself (no
        # Python buffer per block) and a malformed row stops the parse with ArrowInvalid (no Python
        # `invalid_row_handler`; `read` then names the lines with the csv module). A worker thread that
        # dropped the last reference to a Python object while the interpreter was finalizing ended the
        # process with "terminate called without an active exception" (exit 134; issue 17, item 7).
        with pa.OSFile(str(self.path)) as stream:
            stream.seek(self.text.body_start)
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=self.header, block_size=BLOCK_SIZE),
                parse_options=pacsv.ParseOptions(ignore_empty_lines=False, newlines_in_values=multiline),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(self.header, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            yield from reader

    @staticmethod
    def _lines(index: np.ndarray, starts: np.ndarray | None) -> np.ndarray:
        """The line each row (by its index among all rows read) starts on."""
        return index + 2 if starts is None else starts[index]

    def _relocated(self, problems: list[Problem], starts: np.ndarray | None) -> list[Problem]:
        """Problems located by row order (line = index + 2) moved to the line their row starts on."""
        if starts is None:
            return problems
        return [p if p.line is None else replace(p, line=int(starts[p.line - 2])) for p in problems]

    def _record_starts(self) -> np.ndarray:
        """The line each record of the body starts on, read with Python's `csv` module line by line;
        InputFileError naming the lines of records with a wrong number of fields or an unclosed quote."""
        tally = ProblemTally()
        starts = array("q")  # 8 bytes a record; dropped once the file is refused
        width = len(self.header)
        expected = f"expected {width} fields ({','.join(self.header)})"
        unclosed = 'a quoted value that starts on this line is never closed (a " missing?)'
        last: Problem | None = None  # the latest record's problem: told once it is known not to be the last
        with self.path.open("rb") as raw:
            raw.seek(self.text.body_start)
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            start = end = 1  # the header's line
            try:
                for row in reader:
                    if last is not None:
                        tally.add("fields", last)
                        last = None
                    start, end = end + 1, reader.line_num + 1
                    if not tally:
                        starts.append(start)
                    elif starts:
                        starts = array("q")
                    if len(row) == width or not row or row == [""]:
                        continue
                    message = f"{expected}, found {len(row)}"
                    if end > start:
                        message += f': a quoted value that starts on this line runs to line {end} (a " missing?)'
                    last = Problem(self.name, message, line=start)
            except csv.Error as exc:  # a value longer than the csv module takes: a quote is not closed
                tally.add("quote", Problem(self.name, f"{unclosed}: {exc}", line=end + 1))
            else:
                if end > start and self._ends_inside_quotes():
                    last = Problem(self.name, unclosed, line=start)
            if last is not None:
                tally.add("fields", last)
        if tally:
            raise InputFileError(tally.problems())
        return np.frombuffer(starts, dtype=np.int64).copy()

    def _ends_inside_quotes(self) -> bool:
        """Whether the file ends inside a quoted value (its last record runs to the end unclosed)."""
        with self.path.open("rb") as raw:
            raw.seek(self.text.body_start)
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""), strict=True)
            try:
                for _row in reader:
                    pass
            except csv.Error:
                return True
        return False
