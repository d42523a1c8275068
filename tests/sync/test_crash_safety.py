"""Crash safety: a sync killed (SIGKILL) anywhere during a push of ~20,000 records, then rerun,
delivers every record exactly once: no duplicate file, no missing row, no half-written file."""

from __future__ import annotations

import csv
import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from support.bench import generate

REPO = Path(__file__).resolve().parents[2]

EMPLOYEES, DAYS = 650, 31
KILL_POINTS = 20

MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: date, from: work_date}
  - {name: status, from: status}
  - {name: worked, from: worked_minutes}
  - {name: recomputed, from: recomputed}
"""


def _config(folder: Path) -> Path:
    rules = (folder / "rules.yaml").read_text()
    config = folder / "punchbridge.yaml"
    config.write_text(
        "store: sqlite:///" + str(folder / "store.db") + "\n"
        "sources:\n  terminals: {plugin: csv_folder, folder: inbox}\n"
        "employees: employees.csv\n"
        "sync: {from: 2025-03-01, to: 2025-03-31}\n"
        "targets:\n  payroll: {plugin: local_csv, mapping: mapping.yaml, folder: out, batch_size: 200}\n" + rules
    )
    (folder / "mapping.yaml").write_text(MAPPING)
    (folder / "out").mkdir()
    (folder / "inbox").mkdir()
    (folder / "punches.csv").rename(folder / "inbox" / "punches.csv")
    return config


def _command(config: Path) -> list[str]:
    return [sys.executable, "-m", "punchbridge", "sync", "-c", str(config)]


def _published(out: Path) -> list[Path]:
    return sorted(out.glob("*.csv"))


@pytest.mark.slow
def test_sync_killed_at_random_points_delivers_every_record_exactly_once(tmp_path: Path) -> None:
    generate(tmp_path, employees=EMPLOYEES, days=DAYS, seed=11)
    config = _config(tmp_path)
    out = tmp_path / "out"
    rng = random.Random(1234)
    killed_mid_push = 0
    for _ in range(KILL_POINTS):
        already = len(_published(out))
        kill_at = already + rng.randint(1, 4)  # after 1-4 more files of this run: always mid-push
        process = subprocess.Popen(_command(config), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if len(_published(out)) >= kill_at:
                time.sleep(rng.uniform(0, 0.05))  # land anywhere: mid-file, before the manifest, mid-commit
                break
            time.sleep(0.002)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            killed_mid_push += 1
        process.wait()
    assert killed_mid_push == KILL_POINTS, f"only {killed_mid_push} of {KILL_POINTS} runs were killed mid-push"

    final = subprocess.run(_command(config), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr + final.stdout

    files = _published(out)
    assert not list(out.glob("*.part")), "a half-written file was left behind"
    keys: Counter[tuple[str, str]] = Counter()
    contents = Counter()
    for path in files:
        data = path.read_bytes()
        contents[hashlib.sha256(data).hexdigest()] += 1
        manifest = path.with_name(path.name + ".sha256").read_text()
        assert hashlib.sha256(data).hexdigest() in manifest, f"{path.name}: manifest does not match"
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                keys[(row["employee"], row["date"])] += 1
    assert max(contents.values()) == 1, "the same payroll file was published under two names"
    with sqlite3.connect(tmp_path / "store.db") as connection:
        held = connection.execute("SELECT count(*) FROM quarantine WHERE reason = 'missing_check_out'").fetchone()[0]
    assert 0 < held < EMPLOYEES, "days without a check-out are held (open_days: hold), each once"
    assert len(keys) == EMPLOYEES * DAYS - held, "a record is missing"
    assert max(keys.values()) == 1, [key for key, count in keys.items() if count > 1][:5]

    again = subprocess.run(_command(config), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    assert _published(out) == files, "a rerun after completion published something"
