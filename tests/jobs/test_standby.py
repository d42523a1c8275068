"""A standby scheduler, in real processes: the active one is SIGKILLed in the middle of a job, the
standby (`punchbridge schedule --standby`) takes over, closes the interrupted run, runs its fire
time once more, and every record reaches the payroll files exactly once. On SQLite and PostgreSQL.

The active scheduler is `slow_cli.py`: its third `local_csv` push waits for the test, so the kill
lands mid-job at the same point on any machine.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.jobs_helpers import DAYS, EMPLOYEES, write_setup
from test_sigterm import _delivered_rows, _start, _wait_for

from punchbridge.cli import main
from punchbridge.jobs.lock import STANDBY_PREFIX
from punchbridge.jobs.service import INTERRUPTED_RUN
from punchbridge.store import Store

TOTAL = len(EMPLOYEES) * DAYS
JOBS = 'jobs:\n  nightly: {cron: "* * * * *", timezone: UTC, run: sync}\n'


def _until(condition: object, what: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.1)


@pytest.mark.slow  # about a minute: three processes, each sync a real one
def test_the_standby_takes_over_from_a_killed_scheduler_and_every_record_is_delivered_once(
    tmp_path: Path, store_url: str
) -> None:
    config = write_setup(tmp_path, store_url=store_url, jobs=JOBS, whole_range=True)
    with Store.open(store_url) as store:
        # The last run was ten minutes ago: the active scheduler catches up at start-up, at once.
        earlier = time.time_ns() - 600 * 10**9
        store.end_job_run(store.begin_job_run("nightly", "sync", now_ns=earlier), "ok", {}, now_ns=earlier)
    holds = tmp_path / "holds"
    holds.mkdir()
    active = _start(config, holds, "schedule")
    _wait_for(holds / "started-3", active)  # mid-job: two batches written, the third in flight

    standby = subprocess.Popen(
        [sys.executable, "-m", "punchbridge", "schedule", "--standby", "-c", str(config)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        with Store.open(store_url) as store:
            _until(
                lambda: any(row["name"].startswith(STANDBY_PREFIX) for row in store.lock_holders("scheduler")),
                "the standby's registration",
                standby,
            )
            listing = CliRunner().invoke(main, ["jobs", "list", "-c", str(config)], catch_exceptions=False)
            assert "scheduler: running on" in listing.output and f"pid {active.pid}," in listing.output
            assert "standby: waiting on" in listing.output and f"pid {standby.pid}," in listing.output
            assert standby.poll() is None, "a standby waits instead of exiting 4"

            active.send_signal(signal.SIGKILL)
            active.wait(timeout=30)
            killed_at = time.time_ns()

            def healed() -> bool:
                last = store.last_job_run("nightly")
                return last is not None and last["status"] == "ok" and last["started_at_ns"] > killed_at

            _until(healed, "a run by the standby", standby)
            holder = store.scheduler_lock_holder()
            runs = sorted(store.list_runs(job="nightly", limit=100), key=lambda run: run["id"])
    finally:
        standby.send_signal(signal.SIGTERM)
        _stdout, stderr = standby.communicate(timeout=120)
    assert standby.returncode == 0, stderr
    assert holder is not None and holder["pid"] == standby.pid

    rows = _delivered_rows(tmp_path / "out")
    assert len(rows) == TOTAL and set(rows.values()) == {1}, "every record delivered exactly once"

    runs = runs[1:]  # the seeded run of ten minutes ago
    interrupted = [run for run in runs if run["status"] == "failed"]
    assert len(interrupted) == 1 and INTERRUPTED_RUN.startswith(interrupted[0]["error"].rstrip(".")[:40])
    assert interrupted[0]["started_by"] == "catch_up"
    assert interrupted[0]["finished_at_ns"] - killed_at < 30 * 10**9, "taken over within seconds of the kill"
    done = Counter(run["scheduled_at_ns"] for run in runs if run["status"] != "failed")
    assert set(done.values()) == {1}, "no fire time ran to the end twice"
    for earlier_run, later_run in itertools.pairwise(runs):
        assert later_run["started_at_ns"] >= earlier_run["finished_at_ns"], "never two runs at once"
    with Store.open(store_url) as store:
        assert store.lock_holders("scheduler") == [], "the lock and the standby row were given back"
