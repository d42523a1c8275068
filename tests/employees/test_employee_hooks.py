"""Lifecycle hooks of an employee sync: one `employees` run naming the system of record, finished
once also when the run fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.employee_kit import invoke
from support.hook_recorder import Call, install, kinds, of

from punchbridge.testing.emulators.zoho import ZohoEmulator


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    return install(monkeypatch)


def test_an_employee_sync_fires_one_employees_run_with_its_source(zoho_config: Path, calls: list[Call]) -> None:
    result = invoke("employees", "sync", "-c", zoho_config)

    assert result.exit_code == 0, result.output
    assert kinds(calls) == [("run_started", "employees"), ("run_finished", "employees")]
    assert of(calls, "run_started")[0]["targets"] == ["hrms"]
    summary = of(calls, "run_finished")[0]["summary"]
    assert summary["sent"] > 0 and summary["sent"] == summary["commands"] and summary["error"] is None


def test_a_dry_run_fires_the_run_too_and_says_it_is_dry(zoho_config: Path, calls: list[Call]) -> None:
    assert invoke("employees", "sync", "-c", zoho_config, "--dry-run").exit_code == 0

    assert kinds(calls) == [("run_started", "employees"), ("run_finished", "employees")]
    summary = of(calls, "run_finished")[0]["summary"]
    assert summary["dry_run"] is True and summary["sent"] == 0 and summary["commands"] > 0


def test_a_failed_pull_finishes_the_run_once_with_the_error(
    zoho_config: Path, zoho: ZohoEmulator, calls: list[Call]
) -> None:
    for _ in range(10):
        zoho.fail_next("getRecords", status=500, body="<html>down</html>")

    result = invoke("employees", "sync", "-c", zoho_config)

    assert result.exit_code != 0
    assert kinds(calls) == [("run_started", "employees"), ("run_finished", "employees")]
    error = of(calls, "run_finished")[0]["summary"]["error"]
    assert error.startswith("EmployeePullFailedError:") and "'hrms'" in error
