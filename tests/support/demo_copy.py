"""A private copy of the repository's `config/` folder: the committed files only.

A user trying the demo drops punch files into `config/demo/month/inbox/` and runs syncs that leave
stores and payroll files beside it; a test that copied the folder as it stands would read those too
and fail (or pass) for reasons that are not in the repository. So the copy takes what git tracks
(`git ls-files config`); outside a git checkout (an unpacked source archive) it takes the folder
without what a run or a user leaves there: extra inbox files, stores, caches.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["REPO", "copy_config", "tracked_config_files"]

REPO = Path(__file__).resolve().parents[2]
#: The files the demo's inbox holds in the repository (the fallback keeps only these there).
_DEMO_INBOX = {"punches-2025-10.csv"}
_RUN_LEFTOVERS = ("__pycache__", "*.pyc", "*.db", "*.db-*", "*.sqlite3", "*.part", "reports")


def tracked_config_files(repo: Path = REPO) -> list[Path] | None:
    """The files of `config/` that git tracks, relative to `repo`, or None when `repo` is not a checkout."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(repo), "ls-files", "-z", "--", "config"],
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names = [name for name in listed.stdout.decode().split("\0") if name]
    return [Path(name) for name in names] or None


def copy_config(destination: Path, repo: Path = REPO) -> Path:
    """Copy the committed `config/` of `repo` to `destination` (created); return `destination`."""
    tracked = tracked_config_files(repo)
    if tracked is None:
        shutil.copytree(repo / "config", destination, ignore=_untracked_leftovers)
        return destination
    for relative in tracked:
        source = repo / relative
        if not source.is_file():  # deleted in the work tree but not yet in git: the work tree wins
            continue
        target = destination / relative.relative_to("config")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination


def _untracked_leftovers(folder: str, names: list[str]) -> set[str]:
    ignored = set(shutil.ignore_patterns(*_RUN_LEFTOVERS)(folder, names))
    if Path(folder).parts[-3:] == ("demo", "month", "inbox"):
        ignored |= {name for name in names if name not in _DEMO_INBOX}
    return ignored
