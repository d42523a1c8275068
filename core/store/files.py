"""Files that hold personal data are private: the SQLite store, payroll CSV files and their manifests.

- `private_sqlite_file(url)`: a SQLite store file that does not exist yet is created empty with mode
  0600 before SQLite opens it; SQLite gives its `-wal` and `-shm` files the same mode. An existing
  store file (or its `-wal` / `-shm`) that other users may read is reported once per process, on
  stderr (logger `punchbridge.store`), with the command that fixes it; its mode is left alone.
- `open_private(path, group)`: a new local file (a payroll CSV, a manifest) opened for writing with
  mode 0600, or 0640 owned by `group` (a `file_group:` setting) so that a payroll import running
  as another user of that group can read it.
- `make_private(handle, gid)`: the same for a file just opened on an SFTP server, before a byte is
  written (paramiko's `SFTPFile`: `chmod`, `chown`, `stat`).

The modes are set explicitly (not left to the umask). docs/operations.md describes them.
"""

from __future__ import annotations

import grp
import logging
import os
import stat
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Protocol

from pydantic import AfterValidator

from punchbridge.config.paths import sqlite_store_file

__all__ = [
    "GROUP_MODE",
    "PRIVATE_MODE",
    "LocalGroup",
    "file_mode",
    "group_id",
    "make_private",
    "open_private",
    "private_sqlite_file",
]

#: A file only its owner may read and write.
PRIVATE_MODE = 0o600
#: ...and that the members of its group may read.
GROUP_MODE = 0o640
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")
log = logging.getLogger("punchbridge.store")
_warned: set[str] = set()


def file_mode(group: object | None) -> int:
    """The mode of a new private file: 0600, or 0640 when a group may read it."""
    return PRIVATE_MODE if group is None else GROUP_MODE


def group_id(group: str | int) -> int:
    """The numeric id of local group `group` (a name or a number); ValueError when there is none."""
    if isinstance(group, int) or (isinstance(group, str) and group.isdigit()):
        number = int(group)
        try:
            grp.getgrgid(number)
        except KeyError:
            raise ValueError(f"there is no group with id {number} on this machine") from None
        return number
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ValueError(f"there is no group named {group!r} on this machine") from None


def _known_group(group: str | int) -> str | int:
    group_id(group)
    return group


#: A `file_group:` setting for local files: the name (or id) of a group of this machine.
LocalGroup = Annotated[str | int, AfterValidator(_known_group)]


def open_private(path: Path, group: str | int | None = None) -> BinaryIO:
    """`path` opened for writing (created or truncated) with mode 0600, or 0640 and owned by `group`.

    The mode and group are set on the open file before anything is written to it, also when `path`
    was already there (a `.part` left by a crash).
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        if group is not None:
            os.fchown(descriptor, -1, group_id(group))
        os.fchmod(descriptor, file_mode(group))
    except BaseException:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "wb")


class RemoteFile(Protocol):
    """The part of paramiko's `SFTPFile` that `make_private` uses."""

    def chmod(self, mode: int) -> None: ...

    def chown(self, uid: int, gid: int) -> None: ...

    def stat(self) -> Any: ...


def make_private(handle: RemoteFile, gid: int | None = None, *, where: str = "the SFTP server") -> None:
    """Give a file just opened on an SFTP server mode 0600, or 0640 and group `gid` (a number on the
    server), before anything is written to it.

    A server that cannot set modes at all (object stores behind SFTP) refuses `chmod`: without a
    group that is reported once per process for `where` and the upload goes on (the server decides
    who reads its files); with a group, the server's OSError is raised (a setting it cannot honour).
    """
    try:
        if gid is not None:
            handle.chown(int(handle.stat().st_uid), gid)
        handle.chmod(file_mode(gid))
    except OSError as exc:
        if gid is not None:
            raise
        if where not in _warned:
            _warned.add(where)
            log.warning("%s did not let punchbridge make its payroll files private (mode 0600): %s", where, exc)


def private_sqlite_file(url: str) -> None:
    """Create the SQLite store file of `url` with mode 0600 if it does not exist yet; if it does, warn
    (once per process) when other users may read it or its side files. Nothing for other URLs."""
    path = sqlite_store_file(url)
    if path is None:
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        _warn_if_readable_by_others(path)
        return
    except OSError:
        return  # a missing folder, a read-only place: SQLite reports it when it opens the store
    try:
        os.fchmod(descriptor, PRIVATE_MODE)
    finally:
        os.close(descriptor)


def _warn_if_readable_by_others(path: Path) -> None:
    readable = []
    for suffix in _SQLITE_SIDE_FILES:
        candidate = path.with_name(path.name + suffix)
        try:
            mode = candidate.stat().st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) and mode & stat.S_IROTH:
            readable.append((candidate, stat.S_IMODE(mode)))
    key = str(path.resolve())
    if not readable or key in _warned:
        return
    _warned.add(key)
    shown = ", ".join(f"{file} (mode {mode:04o})" for file, mode in readable)
    log.warning(
        "the store holds personal data but other users of this machine may read it: %s. Make it private: chmod 600 %s",
        shown,
        " ".join(str(file) for file, _ in readable),
    )
