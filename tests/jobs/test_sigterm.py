"""SIGTERM during a sync, in a real process: the batch in flight finishes and is recorded, nothing is
half-recorded, the run says `stopped`, the lock is given back, and the next run sends the rest once.
`punchbridge sync` and `punchbridge jobs run` both exit 5 (`ExitCode.STOPPED`) when stopped so.

The local_csv push of batch 3 (of 15: 30 records, two per batch) is held by `slow_cli.py` until the
test has sent SIGTERM, so the signal lands mid-delivery at the same point on any machine.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from support.jobs_helpers import DAYS, EMPLOYEES, write_setup

from punchbridge.store import Store
from punchbridge.store.schema import batches

HERE = Path(__file__).resolve().parent
TOTAL = len(EMPLOYEES) * DAYS


def _start(config: Path, holds: Path, *args: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "PB_HOLD_DIR": str(holds), "PB_HOLD_BATCH": "3"}
    return subprocess.Popen(
        [sys.executable, str(HERE / "slow_cli.py"), *args, "-c", str(config)],
        cwd=config.parent,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


def _delivered_rows(out: Path) -> Counter[tuple[str, str]]:
    rows: Counter[tuple[str, str]] = Counter()
    for path in sorted(out.glob("*.csv")):
        with path.open(newline="") as handle:
            rows.update((row["employee"], row["date"]) for row in csv.DictReader(handle))
    return rows


def _check_consistent_after_stop(folder: Path) -> None:
    with Store.open(f"sqlite:///{folder / 'store.db'}") as store:
        with store.engine.connect() as connection:
            statuses = Counter(connection.execute(select(batches.c.status)).scalars())
        ledger = store.ledger("payroll")
        run = store.last_job_run("nightly")
        cursor = store.get_cursor("deliver:payroll")
    assert statuses == {"done": 3}, "the batch in flight finished; no batch is left open or half-recorded"
    assert len(ledger) == 6 and set(ledger["status"]) == {"delivered"}
    assert _delivered_rows(folder / "out") == Counter(
        {tuple(key.split("|")[:2]): 1 for key in ledger["record_key"]}  # type: ignore[misc]
    ), "the files hold exactly what the ledger says was delivered"
    assert run is not None and run["status"] == "stopped" and run["finished_at_ns"] is not None
    assert cursor == "dirty", "the next run knows there is a backlog"


def _check_rest_sent_once(folder: Path, config: Path) -> None:
    finish = subprocess.run(
        [sys.executable, "-m", "punchbridge", "jobs", "run", "-c", str(config), "nightly"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finish.returncode == 0, finish.stderr
    rows = _delivered_rows(folder / "out")
    assert len(rows) == TOTAL and max(rows.values()) == 1, "every record delivered exactly once"
    assert "status=ok" in finish.stderr and "delivered=24" in finish.stderr


def test_sigterm_during_jobs_run_finishes_the_batch_and_the_next_run_sends_the_rest_once(tmp_path: Path) -> None:
    config = write_setup(tmp_path, whole_range=True)
    holds = tmp_path / "holds"
    holds.mkdir()
    process = _start(config, holds, "jobs", "run", "nightly")
    _wait_for(holds / "started-3", process)
    process.send_signal(signal.SIGTERM)
    (holds / "release-3").touch()
    _stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 5, stderr
    assert "received SIGTERM: stopping after the batch in flight" in stderr
    line = next(line for line in stderr.splitlines() if line.startswith("punchbridge run="))
    assert "job=nightly kind=sync started_by=manual status=stopped" in line and "delivered=6" in line
    _check_consistent_after_stop(tmp_path)
    _check_rest_sent_once(tmp_path, config)


def test_a_second_scheduler_is_refused_and_sigterm_stops_the_first_cleanly(tmp_path: Path) -> None:
    jobs = 'jobs:\n  nightly: {cron: "* * * * *", timezone: UTC, run: sync}\n'
    config = write_setup(tmp_path, jobs=jobs, whole_range=True)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        # The last run was ten minutes ago: the scheduler catches up at start-up, without waiting for a minute.
        earlier = time.time_ns() - 600 * 10**9
        store.end_job_run(store.begin_job_run("nightly", "sync", now_ns=earlier), "ok", {}, now_ns=earlier)
    holds = tmp_path / "holds"
    holds.mkdir()
    first = _start(config, holds, "schedule")
    _wait_for(holds / "started-3", first)

    second = subprocess.run(
        [sys.executable, "-m", "punchbridge", "schedule", "-c", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 4, second.stderr
    assert f"pid {first.pid}, since" in second.stderr and "another scheduler runs the jobs" in second.stderr

    first.send_signal(signal.SIGTERM)
    (holds / "release-3").touch()
    _stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert "started_by=catch_up status=stopped" in stderr
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert store.scheduler_lock_holder() is None, "the lock was given back"
    _check_consistent_after_stop(tmp_path)
    _check_rest_sent_once(tmp_path, config)


def test_sigterm_during_sync_finishes_the_batch_exits_5_and_the_next_sync_sends_the_rest_once(
    tmp_path: Path,
) -> None:
    config = write_setup(tmp_path, whole_range=True)
    holds = tmp_path / "holds"
    holds.mkdir()
    process = _start(config, holds, "sync")
    _wait_for(holds / "started-3", process)
    process.send_signal(signal.SIGTERM)
    (holds / "release-3").touch()
    _stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 5, stderr  # the same code as `jobs run` of the same job
    assert "stopped on request" in stderr
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        with store.engine.connect() as connection:
            statuses = Counter(connection.execute(select(batches.c.status)).scalars())
        ledger = store.ledger("payroll")
    assert statuses == {"done": 3}, "the batch in flight finished; no batch is left open or half-recorded"
    assert len(ledger) == 6 and len(_delivered_rows(tmp_path / "out")) == 6

    finish = subprocess.run(
        [sys.executable, "-m", "punchbridge", "sync", "-c", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finish.returncode == 0, finish.stderr
    rows = _delivered_rows(tmp_path / "out")
    assert len(rows) == TOTAL and max(rows.values()) == 1, "every record delivered exactly once"
