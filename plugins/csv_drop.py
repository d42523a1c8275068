"""Payroll CSV files: the shared rendering and naming rules, and the local-folder target `local_csv`.

A batch becomes one file, `{prefix}_{period_start}_{period_end}_{seq:04d}.csv`, whose name and bytes
depend only on the batch as the engine recorded it. A resend after a crash therefore rewrites nothing:
the file already there is either ours (same bytes, kept) or someone else's (refused, never replaced).
Each file is published atomically (`name.part`, then a rename) and followed, last, by a manifest
`name.sha256` holding the file's SHA-256 and row count, so a payroll import that waits for the
manifest never reads a half-written file. `punchbridge.plugins.sftp_csv` publishes the same files
over SFTP.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import hashlib
import io
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from punchbridge.config.paths import OutputFolder
from punchbridge.plugin_api import (
    Batch,
    FatalTargetError,
    OnlineCheck,
    Outcome,
    Record,
    Register,
    Target,
    TransientError,
    batch_columns,
    hookimpl,
)
from punchbridge.store.files import LocalGroup, open_private

__all__ = [
    "FORMULA_PREFIXES",
    "PREFIX_PATTERN",
    "LocalCsvSettings",
    "LocalCsvTarget",
    "accepted_records",
    "file_name",
    "manifest",
    "manifest_name",
    "register_targets",
    "render_csv",
]

log = logging.getLogger(__name__)

#: A text cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@")
#: Text that is only a signed number ("-1.50") is data to a spreadsheet, not a formula: never escaped.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
#: A name prefix: letters, digits, `.`, `_`, `-`; no path separators.
PREFIX_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _defused(text: str) -> str:
    """`text` with a leading `'` when a spreadsheet would run it as a formula."""
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _cell(value: Any, escape_formulas: bool) -> str:
    """One value as its CSV text: booleans `true`/`false`, missing values empty, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    return _defused(text) if escape_formulas and isinstance(value, str) else text


def _row(fields: Mapping[str, Any], columns: Sequence[str], escape_formulas: bool) -> list[Any]:
    """A record's cells in column order. The mapping's plain types take a fast path (this runs per cell
    of files with hundreds of thousands of rows); csv itself writes int as str, float as repr, None as ''."""
    row: list[Any] = []
    for column in columns:
        value = fields[column]
        kind = type(value)
        if kind is str:
            if escape_formulas and value.startswith(FORMULA_PREFIXES):
                value = _defused(value)
        elif kind is bool:
            value = "true" if value else "false"
        elif kind is float:
            if value != value:  # NaN
                value = ""
        elif kind is date:
            value = value.isoformat()
        elif kind is not int and value is not None:
            value = _cell(value, escape_formulas)
        row.append(value)
    return row


def _columns(batch: Batch) -> Sequence[str]:
    columns = batch_columns(batch)
    if not columns:
        raise ValueError(f"batch {batch.batch_id} for {batch.target!r} has neither columns nor records")
    return columns


def accepted_records(batch: Batch) -> tuple[list[Record], list[Outcome]]:
    """Split `batch` into the records a file can hold and refusals for those missing a column."""
    columns = _columns(batch)
    accepted: list[Record] = []
    refused: list[Outcome] = []
    for record in batch.records:
        missing = [column for column in columns if column not in record.fields]
        if missing:
            message = f"record {record.key} has no value for column(s) {', '.join(missing)}: check the mapping"
            refused.append(Outcome(key=record.key, ok=False, message=message))
        else:
            accepted.append(record)
    return accepted, refused


def render_csv(batch: Batch, *, escape_formulas: bool = False) -> bytes:
    """The CSV bytes of `batch`: header from `batch.columns`, one row per record, deterministic.

    UTF-8 without BOM, `\\n` line endings, minimal quoting. Raises ValueError when a record lacks a
    column (`accepted_records` separates those first).
    """
    columns = _columns(batch)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for record in batch.records:
        try:
            writer.writerow(_row(record.fields, columns, escape_formulas))
        except KeyError as exc:
            raise ValueError(f"record {record.key} has no value for column {exc.args[0]!r}") from None
    return buffer.getvalue().encode("utf-8")


def file_name(prefix: str, batch: Batch) -> str:
    """`{prefix}_{period_start}_{period_end}_{seq:04d}.csv`, dates ISO: the same for a resent batch."""
    return f"{prefix}_{batch.period_start.isoformat()}_{batch.period_end.isoformat()}_{batch.seq:04d}.csv"


def manifest_name(name: str) -> str:
    """The manifest that goes beside file `name`: `name.sha256`."""
    return name + ".sha256"


def manifest(name: str, data: bytes, rows: int | None = None) -> bytes:
    """The manifest of file `name` holding `data`: `<sha256 hex>  <name>` then `rows: N` (data rows).

    `rows` saves parsing `data` again when the caller knows how many records it rendered.
    """
    if rows is None:
        rows = max(sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8")))) - 1, 0)
    return f"{hashlib.sha256(data).hexdigest()}  {name}\nrows: {rows}\n".encode()


class LocalCsvSettings(BaseModel):
    """Settings of a `local_csv` target: the folder files are dropped in.

    The folder must exist (so an unmounted share is noticed, not filled locally) unless
    `create_folder` is true.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    folder: OutputFolder
    prefix: str = Field(default="attendance", pattern=PREFIX_PATTERN)
    escape_formulas: bool = False
    create_folder: bool = False
    file_group: LocalGroup | None = None  # files 0640 owned by this group (else 0600): docs/operations.md


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder; the rename stands
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


class LocalCsvTarget(Target[LocalCsvSettings]):
    """Drops each batch as a CSV file plus manifest into a local (or mounted) folder."""

    max_batch_size = 50_000

    def describe(self) -> str:
        """`local_csv NAME -> FOLDER`."""
        return f"local_csv {self.name} -> {self.settings.folder}"

    def check_online(self) -> list[OnlineCheck]:
        """`validate --online`: the folder is there (or may be created) and this process can write in it."""
        folder = self.settings.folder
        if not folder.exists():
            if self.settings.create_folder:
                return [OnlineCheck("folder", True, f"{folder} does not exist yet; the first sync creates it")]
            return [OnlineCheck("folder", False, f"{folder} does not exist: create it (or mount the payroll share)")]
        if not folder.is_dir():
            return [OnlineCheck("folder", False, f"{folder} is not a folder")]
        if not os.access(folder, os.W_OK | os.X_OK):
            return [OnlineCheck("folder", False, f"{folder} is not writable by this user")]
        return [OnlineCheck("folder", True, f"{folder} is writable")]

    def push(self, batch: Batch) -> list[Outcome]:
        """Write the batch's file, then its manifest; a resend finds them in place and changes nothing."""
        accepted, refused = accepted_records(batch)
        if not accepted:
            return refused
        kept = dataclasses.replace(batch, records=accepted)
        data = render_csv(kept, escape_formulas=self.settings.escape_formulas)
        name = file_name(self.settings.prefix, batch)
        folder = self.settings.folder
        if self.settings.create_folder and not folder.exists():
            folder.mkdir(parents=True)
        if not folder.is_dir():
            raise FatalTargetError(
                f"target {self.name}: folder {folder} does not exist or is not a folder; create it (or mount the "
                "payroll share) and run again"
            )
        self._publish(folder / name, data)
        self._publish(folder / manifest_name(name), manifest(name, data, len(accepted)))
        return [Outcome(key=record.key, ok=True, remote_id=name) for record in accepted] + refused

    def _publish(self, path: Path, data: bytes) -> None:
        """Put `data` at `path` atomically, unless the same bytes are already there."""
        try:
            part = path.with_name(path.name + ".part")
            if path.exists():
                if path.read_bytes() == data:
                    part.unlink(missing_ok=True)
                    log.info("%s: %s is already in place with the same content", self.name, path.name)
                    return
                raise FatalTargetError(
                    f"target {self.name}: {path} already exists with different content; it was not replaced. "
                    "A payroll file of that name was written by someone else (or for a different batch): move it "
                    "aside after checking with payroll, then run again"
                )
            with open_private(part, self.settings.file_group) as stream:  # 0600, or 0640 for file_group
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            written = part.stat().st_size
            if written != len(data):
                part.unlink(missing_ok=True)
                raise TransientError(f"target {self.name}: {part} holds {written} bytes, expected {len(data)}")
            os.replace(part, path)
            _fsync_folder(path.parent)
            log.info("%s: wrote %s (%d bytes)", self.name, path.name, len(data))
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise FatalTargetError(f"target {self.name}: cannot write {path}: {exc.strerror}") from exc
            raise TransientError(f"target {self.name}: writing {path} failed: {exc}") from exc


@hookimpl
def register_targets(register: Register) -> None:
    """Register `local_csv`."""
    register("local_csv", LocalCsvTarget)
