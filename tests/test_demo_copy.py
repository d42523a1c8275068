"""Tests copy the committed demo configuration, not what a user dropped into it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.demo_copy import copy_config


def _repository(root: Path) -> Path:
    inbox = root / "config" / "demo" / "month" / "inbox"
    inbox.mkdir(parents=True)
    (root / "config" / "demo.yaml").write_text("store: sqlite:///../punchbridge-demo.db\n")
    (inbox / "punches-2025-10.csv").write_text("employee_id,timestamp,device_id\n")
    return root


def _dropped_by_a_user(root: Path) -> None:
    (root / "config" / "demo" / "month" / "inbox" / "late.csv").write_text("employee_id,timestamp,device_id\n")
    (root / "config" / "punchbridge-demo.db").write_bytes(b"SQLite format 3\0")


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


EXPECTED = ["demo.yaml", "demo/month/inbox/punches-2025-10.csv"]


def test_the_copy_of_a_checkout_holds_only_the_committed_files(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "config"], check=True)
    _dropped_by_a_user(repo)
    copy = copy_config(tmp_path / "copy", repo=repo)
    assert _files(copy) == EXPECTED


def test_outside_a_checkout_the_copy_leaves_out_inbox_drops_and_stores(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "unpacked")
    _dropped_by_a_user(repo)
    copy = copy_config(tmp_path / "copy", repo=repo)
    assert _files(copy) == EXPECTED
