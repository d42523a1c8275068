"""`punchbridge erase ... --yes` exits cleanly, every time (issue 17, item 7).

On a loaded machine the command sometimes ended with "terminate called without an active
exception", exit 134: a pyarrow CSV worker thread dropped the last reference to a Python object (the
callback for malformed rows) during interpreter shutdown. Only a loop of runs in separate processes,
several at a time, shows it; each run erases from its own copy of a synced demo.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from punchbridge.cli import main

REPO = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("PUNCHBRIDGE_ERASE_RUNS", "30"))
AT_A_TIME = 4
INBOX = Path("config/demo/month/inbox")


def _committed_demo(to: Path) -> None:
    """The demo configuration as committed: the inbox holds only the month's punch file."""

    def extra_inbox_files(folder: str, names: list[str]) -> list[str]:
        if Path(folder).resolve() == (REPO / INBOX).resolve():
            return [name for name in names if name != "punches-2025-10.csv"]
        return [name for name in names if name == "__pycache__"]

    shutil.copytree(REPO / "config", to / "config", ignore=extra_inbox_files)


def _erase(folder: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "punchbridge", "erase", "-c", "config/demo.yaml", "E0003", "--yes"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_erase_exits_cleanly_in_every_one_of_many_runs_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = tmp_path / "synced"
    _committed_demo(synced)
    monkeypatch.chdir(synced)  # the demo's store is relative to the working folder
    result = CliRunner().invoke(main, ["sync", "-c", "config/demo.yaml"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    copies = []
    for run in range(RUNS):
        copy = tmp_path / f"run-{run:02d}"
        shutil.copytree(synced, copy, ignore=shutil.ignore_patterns("demo-payroll"))
        copies.append(copy)
    with ThreadPoolExecutor(AT_A_TIME) as pool:
        runs = list(pool.map(_erase, copies))
    crashed = [r for r in runs if r.returncode == 134 or "terminate called" in r.stderr]
    assert not crashed, f"{len(crashed)} of {RUNS} runs crashed at exit: {crashed[0].stderr[-500:]}"
    failed = [r for r in runs if r.returncode != 0]
    assert not failed, f"{len(failed)} of {RUNS} runs failed: {failed[0].returncode} {failed[0].stderr[-500:]}"
    assert all("E0003" in r.stdout + r.stderr for r in runs), runs[0].stdout
