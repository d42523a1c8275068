"""A new user's first hour, scripted: the README's commands on a clean copy, and what the README says they print.

The copy holds the tracked files only (`git ls-files`: nothing a developer dropped into the inbox),
in a temporary folder; every command runs from the copy's root, "the repository folder" the README
speaks of, which is not the configuration's folder (`config/`). The commands are read from the
README where it shows them as a block, so a README that changes its commands changes this walk.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
pytestmark = pytest.mark.slow  # the demo month is synced four times, once to the Odoo emulator: minutes here


def _blocks(language: str) -> list[str]:
    """The README's fenced code blocks of `language` (bash, or "" for plain output blocks), in order."""
    blocks: list[tuple[str, list[str]]] = []
    current: tuple[str, list[str]] | None = None
    for line in README.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current = (line[3:].strip(), [])
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current[1].append(line)
    return ["".join(lines) for lang, lines in blocks if lang == language]


def _command_after(text: str, start: str) -> list[str]:
    """The shell command in `text` that begins with `start` (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    for line in joined.splitlines():
        for part in line.split("&&"):
            part = part.split("#", 1)[0].strip()
            if part.startswith(start):
                return shlex.split(part)
    raise AssertionError(f"the README shows no `{start} ...` command")


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the tracked files, as a fresh clone would have them."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    root = tmp_path_factory.mktemp("clone") / "punchbridge"
    for name in filter(None, files.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


def run(copy: Path, argv: list[str], *, expect: int = 0) -> str:
    """Run a punchbridge command from the copy's root, as the console script; its stdout and stderr."""
    assert argv[0] == "punchbridge", argv
    exe = shutil.which("punchbridge")
    assert exe, "the punchbridge console script is not on PATH"
    env = {**os.environ, "COLUMNS": "220"}
    done = subprocess.run([exe, *argv[1:]], cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == expect, f"{shlex.join(argv)} exited {done.returncode}, not {expect}:\n{output}"
    assert "Traceback" not in output, output
    return output


def _payroll_files(copy: Path) -> list[str]:
    folder = copy / "demo-payroll"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _late_punches(copy: Path, name: str, rows: list[tuple[str, str, str]]) -> None:
    with (copy / "config/demo/month/inbox" / name).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["employee_id", "timestamp", "device_id"])
        writer.writerows(rows)


def test_the_readme_walkthrough(copy: Path) -> None:
    setup = _blocks("bash")[0]
    sync = _command_after(setup, "punchbridge sync")
    assert sync == ["punchbridge", "sync", "-c", "config/demo.yaml"]
    assert not (copy / "config" / "demo.yaml").parent.samefile(copy)  # the configuration is elsewhere

    # "The first command stores the month's punches ... writes demo-payroll/attendance_..._0001.csv with
    # its .sha256 manifest, then prints a summary."
    first = run(copy, sync)
    assert _payroll_files(copy) == [
        "attendance_2025-10-01_2025-10-31_0001.csv",
        "attendance_2025-10-01_2025-10-31_0001.csv.sha256",
    ]
    assert "sync 2025-10-01 to 2025-10-31: 17730 new punch(es)" in first
    assert any(p.name == "punchbridge-demo.db" for p in copy.rglob("punchbridge-demo.db"))

    # "Run it again: nothing is sent, and it says so."
    again = run(copy, sync)
    assert "payroll: nothing new to send" in again
    assert len(_payroll_files(copy)) == 2

    # "Drop late punches into config/demo/month/inbox/ ... only that employee-day is sent, in file
    # _0002, marked Recomputed: Y." The --dry-run first: "shows what would be sent and writes nothing".
    _late_punches(copy, "late.csv", [("E0002", "2025-10-06T18:40:00+05:30", "BLR-GATE-1"),
                                     ("E0002", "2025-10-06T19:45:00+05:30", "BLR-GATE-1")])  # fmt: skip
    dry = run(copy, [*sync, "--dry-run"])
    assert "dry run: nothing was written" in dry and "P-10002" in dry
    assert len(_payroll_files(copy)) == 2
    run(copy, sync)
    second = copy / "demo-payroll/attendance_2025-10-01_2025-10-31_0002.csv"
    rows = list(csv.DictReader(second.open()))
    assert [(r["EmployeeCode"], r["Date"], r["Recomputed"]) for r in rows] == [("P-10002", "06/10/2025", "Y")]
    assert (copy / "demo-payroll/attendance_2025-10-01_2025-10-31_0002.csv.sha256").exists()

    # `punchbridge validate`: "check the configuration ... Writes nothing".
    assert "config/demo.yaml: OK" in run(copy, ["punchbridge", "validate", "-c", "config/demo.yaml"])
    # "E0200 has no entry on purpose, so `mappings check` shows an unmapped id"
    check = run(copy, ["punchbridge", "mappings", "check", "-c", "config/demo.yaml"])
    assert "E0200: 31 day(s)" in check
    assert "dead letters (0)" in run(copy, ["punchbridge", "dlq", "list", "-c", "config/demo.yaml"])
    # "the run history, newest first ... of every sync" (a dry run is not a run: it writes nothing)
    history = run(copy, ["punchbridge", "runs", "-c", "config/demo.yaml"])
    assert "runs (3)" in history and history.count("│ sync │") == 3

    # "lock a payroll period ...: its days are never sent to any target again"
    assert "locked 2025-10 for every site" in run(
        copy, ["punchbridge", "period", "lock", "-c", "config/demo.yaml", "--period", "2025-10"]
    )
    assert "2025-10" in run(copy, ["punchbridge", "period", "list", "-c", "config/demo.yaml"])
    _late_punches(copy, "later.csv", [("E0003", "2025-10-07T19:00:00+05:30", "BLR-GATE-1"),
                                      ("E0003", "2025-10-07T20:00:00+05:30", "BLR-GATE-1")])  # fmt: skip
    locked = run(copy, sync)
    # "later changes become adjustments, delivered in the next open period" (the demo names no
    # adjustments target: they wait, and the sync says so)
    assert "payroll: nothing new to send" in locked and "1 adjustment(s) recorded" in locked, locked
    assert len(_payroll_files(copy)) == 4  # no third payroll file
    assert "would remove" in run(copy, ["punchbridge", "purge", "-c", "config/demo.yaml", "--dry-run"])


def test_the_process_example_prints_what_the_readme_shows(copy: Path) -> None:
    block = next(b for b in _blocks("bash") if b.startswith("punchbridge process --rules"))
    printed = run(copy, _command_after(block, "punchbridge process"))
    shown = next(b for b in _blocks("") if b.startswith("wrote "))
    assert printed.strip().splitlines() == shown.strip().splitlines()
    assert (copy / "demo-days.csv").exists() and (copy / "demo-quarantine.csv").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_try_it_offline_odoo_then_sync_then_reconcile(copy: Path) -> None:
    section = README[README.index("## Try it offline") : README.index("## Operating the sync")]
    block = _blocks("bash")[[b in section for b in _blocks("bash")].index(True)]
    emulate = _command_after(block, "punchbridge emulate odoo")
    sync = _command_after(block, "punchbridge sync")
    reconcile = _command_after(block, "punchbridge reconcile")
    # The demo's fixed port may be taken on a shared machine: the same command on a free one, and the
    # configuration's URL with it (what a user does when the README's port is busy).
    port = _free_port()
    emulate[emulate.index("--port") + 1] = str(port)
    config = copy / "config/demo-odoo.yaml"
    config.write_text(config.read_text().replace("127.0.0.1:8069", f"127.0.0.1:{port}"))
    exe = shutil.which("punchbridge")
    assert exe
    process = subprocess.Popen([exe, *emulate[1:]], cwd=copy, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:  # up to the end of the printed section
            if line.startswith("then, in another terminal"):
                break
        else:
            raise AssertionError(f"the emulator ended early: {process.stderr.read() if process.stderr else ''}")
        delivered = run(copy, sync)
        assert re.search(r"│ odoo\s+│\s+6135 │", delivered), delivered
        assert "clean: the target holds what was computed" in run(copy, reconcile)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    assert process.returncode == 0
