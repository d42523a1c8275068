"""Writing result tables (CSV, JSON or Parquet by file extension) without leaving half a file.

Every table is first written to a temporary file beside its destination; destinations are replaced
only when all tables of a run have been written, so a failure leaves the old files as they were.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from punchbridge.errors import OutputError, Problem, UserInputError

__all__ = ["FORMATS", "check_destination", "write_tables"]

FORMATS = (".csv", ".json", ".parquet")


def check_destination(path: str | Path) -> Path:
    """Fail early (before any work, exit code 2) when `path` has an unknown extension or unusable folder."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise UserInputError(
            Problem(str(path), f"unknown output format {path.suffix or '(none)'!r}; use {', '.join(FORMATS)}")
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserInputError(Problem(str(path), f"folder {folder} does not exist"))
    if not os.access(folder, os.W_OK):
        raise UserInputError(Problem(str(path), f"folder {folder} is not writable"))
    return path


def _write_one(frame: pd.DataFrame, path: Path, temporary: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _write_csv(frame, temporary)
    elif suffix == ".json":
        records = frame.to_dict(orient="records")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(records, handle, ensure_ascii=False, default=str)
            handle.write("\n")
    else:
        frame.to_parquet(temporary, index=False)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV through pyarrow (fast); values are quoted only when some value needs it."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(frame.columns)
    for style in ("none", "needed"):
        with open(path, "wb") as handle:
            handle.write(header.getvalue().encode("utf-8"))
            try:
                pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False, quoting_style=style))
                return
            except pa.ArrowInvalid:
                continue  # a value holds a comma, quote or line break: quote text values


def _mode_for(path: Path) -> int:
    """Keep the mode of the file being replaced; a new file gets the usual 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_tables(tables: Mapping[Path, pd.DataFrame]) -> None:
    """Write every table to its path, all or nothing."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, frame in tables.items():
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
            os.close(handle)
            staged.append((Path(name), path))
            _write_one(frame, path, Path(name))
            os.chmod(name, _mode_for(path))
        for temporary, path in staged:
            os.replace(temporary, path)
    except OSError as exc:
        raise OutputError(f"cannot write {exc.filename or 'output'}: {exc.strerror}") from None
    finally:
        for temporary, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
