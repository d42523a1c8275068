"""The per-target delivery lock's rules, in one process: who is refused, who takes over, what is kept.

The lock is held here by a `StoreLock` standing in for another process (tests/sync/test_delivery_lock.py
runs real processes against each other).
"""

from __future__ import annotations

import csv
import logging
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.jobs_helpers import EMPLOYEES, write_setup

from punchbridge.cli import main
from punchbridge.errors import ExitCode
from punchbridge.records import Outcome, Record
from punchbridge.store import Store
from punchbridge.store.locks import (
    Claimant,
    LockBusyError,
    StoreLock,
    delivery_advisory_key,
    pid_namespace,
)

NS = 1_000_000_000


def _holding(store: Store, target: str, **identity: object) -> StoreLock:
    def refusal(lock: StoreLock, holder: dict[str, object] | None) -> LockBusyError:
        return LockBusyError(f"busy: {lock.describe(holder)}", holder)

    lock = StoreLock(
        store,
        "delivery",
        target,
        advisory_key=delivery_advisory_key(target),
        busy=refusal,
        what=f"the delivery lock of target {target!r}",
        **identity,  # type: ignore[arg-type]
    )
    assert lock.acquire()
    return lock


def _two_targets(folder: Path, store_url: str | None = None) -> Path:
    config = write_setup(folder, store_url=store_url, whole_range=True)
    (folder / "out-hr").mkdir()
    text = config.read_text().replace(
        "targets:\n",
        "targets:\n  hr: {plugin: local_csv, mapping: mapping.yaml, folder: out-hr, prefix: hr}\n",
    )
    config.write_text(text)
    return config


def _rows(out: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(out.glob("*.csv")):
        with path.open(newline="") as stream:
            rows.extend(csv.DictReader(stream))
    return rows


def test_a_target_being_delivered_to_is_skipped_and_the_other_targets_are_served(
    tmp_path: Path, store_url: str
) -> None:
    config = _two_targets(tmp_path, store_url)
    with Store.open(store_url) as store:
        other = _holding(store, "payroll", host="node-b", pid=4242)
        try:
            result = CliRunner().invoke(main, ["sync", "-c", str(config)])
        finally:
            other.release()

    assert result.exit_code == ExitCode.BUSY, result.output
    assert "target 'payroll': another process is delivering to it: host node-b, pid 4242" in result.output
    assert not list((tmp_path / "out").glob("*.csv")), "nothing was sent to the busy target"
    assert len(_rows(tmp_path / "out-hr")) == len(EMPLOYEES) * 5, "the other target did not wait"


def test_days_a_busy_sync_changed_are_sent_by_the_next_sync(tmp_path: Path, store_url: str) -> None:
    config = write_setup(tmp_path, store_url=store_url, whole_range=True)
    assert CliRunner().invoke(main, ["sync", "-c", str(config)]).exit_code == 0
    late = tmp_path / "inbox" / "late.csv"
    late.write_text("employee_id,timestamp,device_id,direction\nE1,2026-03-03T08:00:00+05:30,GATE,in\n")
    with Store.open(store_url) as store:
        other = _holding(store, "payroll", host="node-b", pid=4242)
        try:
            busy = CliRunner().invoke(main, ["sync", "-c", str(config)])  # ingests and recomputes E1's day
        finally:
            other.release()
    assert busy.exit_code == ExitCode.BUSY, busy.output

    after = CliRunner().invoke(main, ["sync", "-c", str(config)])  # nothing new to ingest or recompute

    assert after.exit_code == 0, after.output
    resent = [row for row in _rows(tmp_path / "out") if row["employee"] == "E1" and row["date"] == "2026-03-03"]
    assert [row["worked"] for row in resent] == ["540", "601"], "the changed day was delivered once more"


def test_dlq_retry_while_the_target_is_being_delivered_to_exits_4_and_keeps_the_dead_letters(tmp_path: Path) -> None:
    config = write_setup(tmp_path, whole_range=True)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        record = Record("E1|2026-03-02|day", {"employee": "E1", "date": "2026-03-02", "status": "present",
                                               "worked": 540}, "h1")  # fmt: skip
        batch = store.open_batch("payroll", date(2026, 3, 1), date(2026, 3, 31), list(record.fields), [record])
        store.complete_batch(batch.batch_id, [Outcome(record.key, ok=False, message="payroll was closed")])
        other = _holding(store, "payroll", host="node-b", pid=4242)
        try:
            refused = CliRunner().invoke(main, ["dlq", "retry", "-c", str(config), "--wait", "0.2"])
        finally:
            other.release()
        kept = len(store.dead_letters("payroll"))
    files = list((tmp_path / "out").glob("*.csv"))
    retried = CliRunner().invoke(main, ["dlq", "retry", "-c", str(config)])

    assert refused.exit_code == ExitCode.BUSY, refused.output
    assert "another process is delivering to it: host node-b, pid 4242" in refused.output
    assert kept == 1 and files == []
    assert retried.exit_code == 0, retried.output
    assert [row["employee"] for row in _rows(tmp_path / "out")] == ["E1"]


def test_a_lock_row_left_by_a_process_that_is_gone_is_taken_over_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_setup(tmp_path, whole_range=True)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        now = time.time_ns()
        crashed = Claimant("crashed", socket.gethostname(), dead_pid, "punchbridge sync", pid_namespace())
        assert store.take_lock("delivery", "payroll", crashed, now_ns=now, stale_after_ns=None).taken

    with caplog.at_level(logging.WARNING):
        result = CliRunner().invoke(main, ["sync", "-c", str(config)])

    assert result.exit_code == 0, result.output
    assert f"took over the delivery lock of target 'payroll' of host {socket.gethostname()}, pid {dead_pid}" in (
        caplog.text
    )
    assert "its process is no longer running" in caplog.text
    assert len(_rows(tmp_path / "out")) == len(EMPLOYEES) * 5


def test_on_sqlite_a_fresh_row_of_another_host_holds_and_a_stale_one_does_not(sqlite_store: Store) -> None:
    now = time.time_ns()
    elsewhere = Claimant("elsewhere", "node-b", 4242, "punchbridge sync", None)
    assert sqlite_store.take_lock("delivery", "payroll", elsewhere, now_ns=now, stale_after_ns=None).taken

    fresh = _lock(sqlite_store, now_ns=lambda: now + 60 * NS)
    with pytest.raises(LockBusyError, match="host node-b, pid 4242"):
        fresh.acquire()
    stale = _lock(sqlite_store, now_ns=lambda: now + 121 * NS)  # 8 heartbeats of 15 s: 120 s
    assert stale.acquire()
    assert sqlite_store.lock_holder("delivery", "payroll")["holder"] == stale.token  # type: ignore[index]
    stale.release()
    assert sqlite_store.lock_holder("delivery", "payroll") is None


def test_waiting_for_a_lock_ends_when_it_is_given_back_or_when_a_stop_is_asked(sqlite_store: Store) -> None:
    holder = _lock(sqlite_store)
    assert holder.acquire()
    waiter = _lock(sqlite_store)
    started = time.monotonic()
    with pytest.raises(LockBusyError):
        waiter.acquire(wait_seconds=0.6)
    assert time.monotonic() - started >= 0.6, "it waited before refusing"
    assert waiter.acquire(wait_seconds=5, should_stop=lambda: True) is False
    holder.release()
    assert waiter.acquire(wait_seconds=5)
    waiter.release()


def test_each_target_has_its_own_advisory_lock_key() -> None:
    keys = {delivery_advisory_key(name) for name in ("payroll", "hr", "zoho", "payroll ")}
    assert len(keys) == 4
    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert delivery_advisory_key("payroll") == delivery_advisory_key("payroll")


def _lock(store: Store, **options: object) -> StoreLock:
    def refusal(lock: StoreLock, holder: dict[str, object] | None) -> LockBusyError:
        return LockBusyError(f"busy: {lock.describe(holder)}", holder)

    return StoreLock(
        store,
        "delivery",
        "payroll",
        advisory_key=delivery_advisory_key("payroll"),
        busy=refusal,
        what="the delivery lock of target 'payroll'",
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def sqlite_store(tmp_path: Path) -> object:
    opened = Store.open(f"sqlite:///{tmp_path / 'locks.db'}")
    yield opened
    opened.close()
