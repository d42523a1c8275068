"""One delivery at a time per target, between real processes on one store (SQLite and PostgreSQL).

Two `punchbridge sync` at once, and `punchbridge jobs run nightly` beside a `sync`, with a local CSV
target: every record is in the payroll files exactly once; the process that finds the target's
delivery lock held exits 4 naming the holder, or, told to wait, delivers after the first one and
sends nothing twice.

To hold the first process in the middle of its delivery (lock taken, first file being written, no
database transaction open), the first payroll file's `.part` is a named pipe: `local_csv` blocks
opening it until the test opens it and removes it (`HeldFile.release`). A pipe is not a file (it
cannot be synced to disk), so that first attempt fails as a transient error; the retry writes and
publishes the file normally.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.jobs_helpers import DAYS, EMPLOYEES, write_setup

from punchbridge.store import Store

FIRST_FILE = "attendance_2026-03-01_2026-03-31_0001.csv"
RECORDS = len(EMPLOYEES) * DAYS
NIGHTLY = 'jobs:\n  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync, delivery_wait_seconds: 1}\n'
NIGHTLY_WAITS = (
    'jobs:\n  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync, delivery_wait_seconds: 120}\n'
)


class Command:
    """A punchbridge command running in its own process; its stderr collected line by line."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "punchbridge", *args],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_for_line(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.said(text):
            assert self.process.poll() is None or self.said(text), f"ended without saying {text!r}: {self.stderr}"
            assert time.monotonic() < deadline, f"did not say {text!r} in {timeout} s: {self.stderr}"
            time.sleep(0.05)

    def finish(self, timeout: float = 180) -> int:
        code = self.process.wait(timeout)
        self._reader.join(10)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    """Every command a test starts; none is left running, whatever the test's outcome."""
    started: list[Command] = []
    yield started
    for command in started:
        command.stop()


class HeldFile:
    """The first payroll file's `.part` as a named pipe: its writer blocks until `release`."""

    def __init__(self, out: Path) -> None:
        self.path = out / (FIRST_FILE + ".part")
        os.mkfifo(self.path)

    def release(self) -> None:
        with open(self.path, "rb") as pipe:  # the writer is blocked opening it: both go on
            # Gone before the writer finds out that a pipe is no file: its retry writes a real one.
            self.path.unlink()
            pipe.read()


def _wait_for_lock_holder(store_url: str, pid: int, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    with Store.open(store_url) as store:
        while True:
            holder = store.lock_holder("delivery", "payroll")
            if holder is not None and holder["pid"] == pid:
                return holder
            assert time.monotonic() < deadline, "the first process never took the delivery lock"
            time.sleep(0.05)


def _delivered_rows(out: Path) -> Counter[tuple[str, str]]:
    """(employee, date) -> how many times it appears in the published payroll files."""
    rows: Counter[tuple[str, str]] = Counter()
    for path in sorted(out.glob("*.csv")):
        with path.open(newline="") as stream:
            for row in csv.DictReader(stream):
                rows[(row["employee"], row["date"])] += 1
    return rows


def _assert_every_record_once(out: Path) -> None:
    rows = _delivered_rows(out)
    assert len(rows) == RECORDS, f"{len(rows)} of {RECORDS} records delivered"
    assert set(rows.values()) == {1}, f"delivered twice: {[k for k, n in rows.items() if n > 1][:5]}"
    assert not list(out.glob("*.part")), "no half-written file is left"


def _sync(folder: Path, config: Path, *extra: str) -> Command:
    return Command(folder, "sync", "-c", str(config), *extra)


def test_a_second_sync_is_refused_naming_the_first_and_every_record_is_delivered_once(
    tmp_path: Path, store_url: str, commands: list[Command]
) -> None:
    config = write_setup(tmp_path, store_url=store_url, whole_range=True)
    held = HeldFile(tmp_path / "out")
    first = _sync(tmp_path, config)
    commands.append(first)
    _wait_for_lock_holder(store_url, first.pid)

    second = _sync(tmp_path, config)
    commands.append(second)
    assert second.finish() == 4, second.stderr
    held.release()
    assert first.finish() == 0, first.stderr

    assert "target 'payroll': another process is delivering to it" in second.stderr
    assert f"pid {first.pid}, since" in second.stderr and "running `punchbridge sync -c" in second.stderr
    _assert_every_record_once(tmp_path / "out")
    with Store.open(store_url) as store:
        runs = sorted(store.list_runs(kind="sync"), key=lambda run: run["id"])
        assert [run["status"] for run in runs] == ["ok", "busy"]
        assert store.lock_holder("delivery", "payroll") is None, "the lock was given back"


def test_a_second_sync_told_to_wait_delivers_after_the_first_and_sends_nothing_twice(
    tmp_path: Path, store_url: str, commands: list[Command]
) -> None:
    config = write_setup(tmp_path, store_url=store_url, whole_range=True)
    held = HeldFile(tmp_path / "out")
    first = _sync(tmp_path, config)
    commands.append(first)
    _wait_for_lock_holder(store_url, first.pid)

    second = _sync(tmp_path, config, "--wait", "120")
    commands.append(second)
    second.wait_for_line("waiting up to 120 s")
    held.release()

    assert first.finish() == 0, first.stderr
    assert second.finish() == 0, second.stderr
    _assert_every_record_once(tmp_path / "out")
    with Store.open(store_url) as store:
        runs = sorted(store.list_runs(kind="sync"), key=lambda run: run["id"])
        assert [run["summary"]["delivered"] for run in runs] == [RECORDS, 0]


def test_jobs_run_beside_a_sync_waits_its_bounded_time_then_records_a_busy_run(
    tmp_path: Path, store_url: str, commands: list[Command]
) -> None:
    config = write_setup(tmp_path, store_url=store_url, whole_range=True, jobs=NIGHTLY)
    held = HeldFile(tmp_path / "out")
    manual = _sync(tmp_path, config)
    commands.append(manual)
    _wait_for_lock_holder(store_url, manual.pid)

    job = Command(tmp_path, "jobs", "run", "-c", str(config), "nightly")
    commands.append(job)
    assert job.finish() == 4, job.stderr
    held.release()
    assert manual.finish() == 0, manual.stderr

    assert f"pid {manual.pid}" in job.stderr and "running `punchbridge sync" in job.stderr
    assert "job=nightly kind=sync started_by=manual status=busy" in job.stderr
    _assert_every_record_once(tmp_path / "out")
    with Store.open(store_url) as store:
        run = store.last_job_run("nightly")
    assert run is not None and run["status"] == "busy" and f"pid {manual.pid}" in (run["error"] or "")


def test_a_sync_beside_jobs_run_is_refused_or_waits_and_the_job_delivers_everything_once(
    tmp_path: Path, store_url: str, commands: list[Command]
) -> None:
    config = write_setup(tmp_path, store_url=store_url, whole_range=True, jobs=NIGHTLY_WAITS)
    held = HeldFile(tmp_path / "out")
    job = Command(tmp_path, "jobs", "run", "-c", str(config), "nightly")
    commands.append(job)
    _wait_for_lock_holder(store_url, job.pid)

    refused = _sync(tmp_path, config)
    commands.append(refused)
    assert refused.finish() == 4, refused.stderr
    assert f"pid {job.pid}" in refused.stderr and "running `punchbridge jobs run -c" in refused.stderr

    waiting = _sync(tmp_path, config, "--wait", "120")
    commands.append(waiting)
    waiting.wait_for_line("waiting up to 120 s")
    held.release()
    assert job.finish() == 0, job.stderr
    assert waiting.finish() == 0, waiting.stderr
    _assert_every_record_once(tmp_path / "out")
    assert "nothing new to send" in (waiting.process.stdout.read() if waiting.process.stdout else "")
