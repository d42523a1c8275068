"""Paths in the configuration: where a relative one is read from, and what makes a named file unusable.

Every path a configuration names is read from the configuration file's folder, whatever the working
folder; an absolute one is taken as it is. The SQLite store's URL follows the same rule:
`sqlite:///punchbridge.db` is `punchbridge.db` beside the configuration, `sqlite:////var/lib/x.db`
is that absolute file. A plugin marks a settings field that names a file or folder with the types
here (`InputFile`, `InputFolder`, `OutputFolder`, `OutputFile`), so that every command checks it
before it starts, with the field's line. Pure apart from `path_problem`, which looks at the disk.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin
from urllib.parse import quote

from pydantic import BaseModel

__all__ = [
    "InputFile",
    "InputFolder",
    "OutputFile",
    "OutputFolder",
    "PathRole",
    "path_problem",
    "path_roles",
    "resolve_path",
    "resolve_store_url",
    "sqlite_store_file",
]

#: A SQLite URL with a file and nothing SQLAlchemy would decode or reorder (no query, no %-escapes):
#: read without importing SQLAlchemy, which costs a tenth of a second of every command's start-up.
_PLAIN_SQLITE_URL = re.compile(r"(sqlite(?:\+\w+)?)://(?:/([^?%]*))?")

#: Bytes looked at to tell a text file from a binary one.
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class PathRole:
    """What a settings field's path must be: an existing file or folder to read (`input`), or a place
    to write that, when it exists, is of the right kind (`output`: a missing one is created)."""

    kind: Literal["file", "folder"]
    direction: Literal["input", "output"] = "input"
    text: bool = False


#: A file that must exist, be readable and not be empty (a key, a certificate, a known_hosts file).
InputFile = Annotated[Path, PathRole("file")]
#: A folder that must exist (a folder of punch files).
InputFolder = Annotated[Path, PathRole("folder")]
#: A file that is created when missing, but must not be a folder (a plugin's state file).
OutputFile = Annotated[Path, PathRole("file", "output")]
#: A folder that may be created, but must not be a file (where payroll files are dropped).
OutputFolder = Annotated[Path, PathRole("folder", "output")]


def resolve_path(path: Path, base: Path) -> Path:
    """`path` read from the folder `base` (the configuration's): an absolute path is returned as it is.

    The result is absolute, so that it names the same file whatever the working folder later is.
    """
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).absolute()


def _sqlite_url(url: str) -> tuple[str, str] | None:
    """(driver name, database) of a SQLite URL (database '' when in memory); None for other databases
    and URLs SQLAlchemy cannot read."""
    if not url.startswith("sqlite"):
        return None
    plain = _PLAIN_SQLITE_URL.fullmatch(url)
    if plain is not None:
        return plain.group(1), plain.group(2) or ""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None  # the store reports a malformed URL when it opens it
    if parsed.get_backend_name() != "sqlite":
        return None
    return parsed.drivername, parsed.database or ""


def sqlite_store_file(url: str) -> Path | None:
    """The file of a SQLite store URL; None for other databases, in-memory ones and `file:` URIs."""
    found = _sqlite_url(url)
    if found is None or found[1] in ("", ":memory:") or found[1].startswith("file:"):
        return None
    return Path(found[1]).expanduser()


def resolve_store_url(url: str, base: Path) -> str:
    """A SQLite URL whose file is relative made relative to `base`; any other URL unchanged.

    `sqlite:///store.db` names `base/store.db`; `sqlite:////abs/store.db` and in-memory
    databases (`sqlite://`, `sqlite:///:memory:`) stay as they are.
    """
    found = _sqlite_url(url)
    if found is None:
        return url
    database = found[1]
    if not database or database == ":memory:" or database.startswith("file:"):
        return url  # in memory, or a SQLite URI filename (`?uri=true`): left to SQLite
    if Path(database).is_absolute():
        return url
    resolved = os.path.normpath(resolve_path(Path(database), base))
    if _PLAIN_SQLITE_URL.fullmatch(url):
        return f"{found[0]}:///{quote(resolved, safe=' +/')}"  # as SQLAlchemy renders it
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=resolved).render_as_string(hide_password=False)


def path_problem(path: Path, role: PathRole) -> str | None:
    """Why `path` cannot serve as `role` (not found, a folder for a file, unreadable, empty), or None."""
    if not path.exists():
        if role.direction == "output":
            return None if path.parent.exists() or role.kind == "folder" else f"{path}: its folder does not exist"
        return f"{path} not found"
    if role.kind == "file" and path.is_dir():
        return f"{path} is a folder, expected a file"
    if role.kind == "folder" and not path.is_dir():
        return f"{path} is a file, expected a folder"
    if role.direction == "output":
        return None
    if role.kind == "folder":
        return None if os.access(path, os.R_OK | os.X_OK) else f"{path} cannot be read (permission denied)"
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror or exc})"
    if not head:
        return f"{path} is empty"
    if role.text and not _looks_like_text(head):
        return f"{path} is not a text file (expected UTF-8 text)"
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a character cut by the end of the block is still text
    return True


def path_roles(model: type[BaseModel]) -> dict[str, PathRole]:
    """The fields of a settings model that name a file or folder, with what each must be."""
    roles = {}
    for name, field in model.model_fields.items():
        found = [item for item in field.metadata if isinstance(item, PathRole)]
        annotation = field.annotation
        if not found and get_origin(annotation) is not None:
            # `InputFile | None`: the marker sits inside the union's Annotated member.
            for member in get_args(annotation):
                if get_origin(member) is Annotated:
                    found = [item for item in get_args(member)[1:] if isinstance(item, PathRole)]
        if found:
            roles[name] = found[0]
    return roles
