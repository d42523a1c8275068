"""The run history: every job run recorded with its start, end, counts and error; `runs` lists them;
a failing run exits non-zero and logs one `key=value` line an alerting system can match."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.jobs_helpers import Recorder, environment_for, write_setup

from punchbridge.cli import main
from punchbridge.errors import ConfigError
from punchbridge.jobs import runner as runner_module
from punchbridge.jobs.runlog import logfmt
from punchbridge.jobs.service import run_one
from punchbridge.jobs.tasks import JobOutcome
from punchbridge.store import Store


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _run_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("punchbridge run=")]
    assert len(lines) == 1, output
    return lines[0]


def test_a_failing_sync_job_exits_1_and_logs_one_alertable_line(tmp_path: Path) -> None:
    config = write_setup(tmp_path, whole_range=True)
    (tmp_path / "out").rmdir()  # the payroll share is not mounted
    result = _cli("jobs", "run", "-c", str(config), "nightly")
    assert result.exit_code == 1, result.output
    line = _run_line(result.output)
    assert line.startswith("punchbridge run=1 job=nightly kind=sync started_by=manual status=failed")
    assert 'error="payroll: FatalTargetError: target payroll: folder' in line
    listed = _cli("runs", "-c", str(config), "--failed")
    assert "runs (1)" in listed.output and "FatalTargetError" in listed.output


def test_a_good_sync_job_is_one_recorded_run_with_its_counts(tmp_path: Path) -> None:
    config = write_setup(tmp_path, whole_range=True)
    result = _cli("jobs", "run", "-c", str(config), "nightly")
    assert result.exit_code == 0, result.output
    assert "status=ok" in _run_line(result.output) and "delivered=30" in result.output
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        runs = store.list_runs()
    assert len(runs) == 1, "the engine's run record is the job's, not a second row"
    run = runs[0]
    assert (run["job"], run["kind"], run["started_by"], run["status"], run["error"]) == (
        "nightly",
        "sync",
        "manual",
        "ok",
        None,
    )
    assert run["finished_at_ns"] >= run["started_at_ns"]
    assert run["summary"]["delivered"] == 30 and run["summary"]["targets"]["payroll"]["delivered"] == 30


@pytest.mark.parametrize(("status", "exit_code"), [("ok", 0), ("partial", 3), ("failed", 1), ("stopped", 5)])
def test_jobs_run_exit_code_says_how_the_run_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: str, exit_code: int
) -> None:
    recorder = Recorder(
        outcome=lambda name, context: JobOutcome(status, {"checked": 4}, "why" if status == "failed" else None)
    )
    monkeypatch.setattr(runner_module, "TASKS", recorder.table())
    config = write_setup(tmp_path)
    result = _cli("jobs", "run", "-c", str(config), "nightly")
    assert result.exit_code == exit_code, result.output
    assert f"status={status}" in _run_line(result.output) and "checked=4" in result.output


def test_an_unexpected_exception_in_a_job_is_recorded_as_failed(tmp_path: Path, sqlite_store: Store) -> None:
    def crash(name: str, context: object) -> JobOutcome:
        raise KeyError("missing column 'worked'")

    environment = environment_for(write_setup(tmp_path), sqlite_store, Recorder(outcome=crash))
    run = run_one(environment, "nightly")
    assert run.status == "failed" and run.exit_code == 1
    assert run.error == "KeyError: \"missing column 'worked'\""
    assert sqlite_store.last_job_run("nightly")["error"] == run.error


def test_a_hostile_error_message_stays_on_one_quoted_line() -> None:
    line = logfmt({"run": 3, "status": "failed", "error": 'bad "quote"\npunchbridge run=99 status=ok\x07'})
    assert "\n" not in line and line.count("punchbridge run=") == 1
    assert line == 'run=3 status=failed error="bad \\"quote\\"\\npunchbridge run=99 status=ok\\x07"'
    assert logfmt({"a b": "", "n": None, "ok": True, "s": 1.5}) == 'a_b="" ok=true s=1.5'
    assert len(logfmt({"error": "x" * 10_000})) < 600


def test_runs_filters_by_kind_job_and_status_newest_first(tmp_path: Path) -> None:
    config = write_setup(tmp_path)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        for job, kind, status in [
            ("nightly", "sync", "ok"),
            ("tidy", "purge", "failed"),
            ("nightly", "sync", "partial"),
        ]:
            store.end_job_run(
                store.begin_job_run(job, kind), status, {"n": 1}, "no space" if status == "failed" else None
            )
        store.finish_run(store.start_run("sync"), "ok", {"delivered": 2})  # a `punchbridge sync` run: no job
        assert [run["status"] for run in store.list_runs(limit=2)] == ["ok", "partial"]
        assert [run["job"] for run in store.list_runs(kind="sync")] == [None, "nightly", "nightly"]
        assert [run["kind"] for run in store.list_runs(failed=True)] == ["purge"]
        assert [run["status"] for run in store.list_runs(job="nightly")] == ["partial", "ok"]
        with pytest.raises(ValueError, match="limit"):
            store.list_runs(limit=0)
    listed = _cli("runs", "-c", str(config), "--kind", "purge")
    assert "runs (1)" in listed.output and "no space" in listed.output
    assert "runs (2)" in _cli("runs", "-c", str(config), "--limit", "2").output
    assert "command" in _cli("runs", "-c", str(config), "--limit", "1").output
    assert "runs (0)" in _cli("runs", "-c", str(config), "--kind", "no-such-kind").output
    bad = _cli("runs", "-c", str(config), "--limit", "0")
    assert bad.exit_code == 2 and "--limit" in bad.output


def test_jobs_list_shows_next_run_in_the_jobs_time_zone_and_last_result(tmp_path: Path) -> None:
    jobs = (
        "jobs:\n"
        '  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}\n'
        '  tidy: {cron: "0 3 * * 0", timezone: Europe/Berlin, run: purge, enabled: false}\n'
    )
    config = write_setup(tmp_path, jobs=jobs)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        store.end_job_run(store.begin_job_run("nightly", "sync"), "failed", {}, "payroll: 401 invalid_client")
    result = _cli("jobs", "list", "-c", str(config))
    assert result.exit_code == 0, result.output
    nightly = next(line for line in result.output.splitlines() if "nightly" in line)
    assert "01:30 +0530" in nightly and "failed: payroll: 401 invalid_client" in nightly
    tidy = next(line for line in result.output.splitlines() if "tidy" in line)
    assert "disabled" in tidy and "never" in tidy
    assert "scheduler: none running" in result.output


def test_jobs_run_names_an_unknown_job_and_the_known_ones(tmp_path: Path, sqlite_store: Store) -> None:
    config = write_setup(tmp_path)
    result = _cli("jobs", "run", "-c", str(config), "nighty")
    assert result.exit_code == 2 and "no job named 'nighty'; configured: nightly" in result.output
    with pytest.raises(ConfigError, match="no job named 'nighty'"):
        run_one(environment_for(config, sqlite_store, Recorder()), "nighty")
