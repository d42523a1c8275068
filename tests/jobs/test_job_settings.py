"""The `jobs:` section: every mistake reported with file, line and field; valid jobs beside it kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.jobs_helpers import write_setup

from punchbridge.config import load_config, read_config
from punchbridge.errors import ConfigError
from punchbridge.jobs.checks import check_jobs
from punchbridge.jobs.cron import crontab_weekdays, job_trigger
from punchbridge.jobs.settings import JobSettings
from punchbridge.jobs.tasks import resolve_period
from punchbridge.plugin_api.registry import load_plugins


def _problems(tmp_path: Path, jobs: str) -> str:
    config = write_setup(tmp_path, jobs="jobs:\n" + jobs)
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    return str(raised.value)


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ('{cron: "30 1 * *", timezone: UTC, run: sync}', "has 4 field(s); expected 5: minute hour day month weekday"),
        ('{cron: "61 1 * * *", timezone: UTC, run: sync}', "the last value (61) is higher than the maximum value (59)"),
        ('{cron: "0 1 * * 9", timezone: UTC, run: sync}', "'9' is not a weekday (0-7, 0 and 7 are Sunday"),
        ('{cron: "0 1 * * 5-2", timezone: UTC, run: sync}', "range '5-2' goes backwards"),
        ('{cron: "30 1 * * *", timezone: Mars/Olympus, run: sync}', "unknown time zone 'Mars/Olympus'"),
        ('{cron: "30 1 * * *", run: sync}', "timezone: required setting is missing"),
        ('{cron: "30 1 * * *", timezone: UTC, run: backup}', "Input should be 'sync', 'reconcile', 'employees'"),
        ('{cron: "30 1 * * *", timezone: UTC, run: sync, period: 2026-13}', "period '2026-13': expected YYYY-MM"),
        ('{cron: "30 1 * * *", timezone: UTC, run: sync, period: last_month}', "period is for reconcile jobs"),
        ('{cron: "30 1 * * *", timezone: UTC, run: purge, target: payroll}', "target is for sync and reconcile"),
        ('{cron: "30 1 * * *", timezone: UTC, run: reconcile, target: payroll}', "needs target: (a target that"),
        ('{cron: "30 1 * * *", timezone: UTC, run: sync, misfire_grace_seconds: 0}', "greater than or equal to 1"),
        ('{cron: "30 1 * * *", timezone: UTC, run: sync, every: 5}', "every: unknown setting"),
        ("[30, 1]", "Input should be a valid dictionary"),
    ],
)
def test_a_malformed_job_is_reported_with_its_line(tmp_path: Path, job: str, message: str) -> None:
    text = _problems(tmp_path, f"  good: {{cron: '0 2 * * *', timezone: UTC, run: sync}}\n  broken: {job}\n")
    assert message in text
    assert "punchbridge.yaml:" in text and "jobs.broken" in text and "jobs.good" not in text


def test_a_job_named_twice_is_reported(tmp_path: Path) -> None:
    text = _problems(
        tmp_path,
        '  nightly: {cron: "30 1 * * *", timezone: UTC, run: sync}\n'
        '  nightly: {cron: "30 2 * * *", timezone: UTC, run: sync}\n',
    )
    assert "key 'nightly' appears twice" in text


def test_a_huge_hostile_cron_is_refused_with_a_shortened_message(tmp_path: Path) -> None:
    text = _problems(tmp_path, f'  evil: {{cron: "{"7-" * 50_000}1 * * * *", timezone: UTC, run: sync}}\n')
    assert "characters omitted" in text and len(text) < 2000


def test_a_job_naming_a_target_that_is_not_configured_is_reported(tmp_path: Path) -> None:
    text = _problems(tmp_path, '  broken: {cron: "30 1 * * *", timezone: UTC, run: sync, target: zoho}\n')
    assert "job 'broken' names target 'zoho', which is not configured" in text


def test_checks_beyond_the_model_name_the_job_and_line(tmp_path: Path) -> None:
    jobs = (
        "jobs:\n"
        '  users: {cron: "*/30 * * * *", timezone: UTC, run: employees}\n'
        '  check: {cron: "0 6 2 * *", timezone: UTC, run: reconcile, target: payroll, period: last_month}\n'
        '  nightly: {cron: "30 1 * * *", timezone: UTC, run: sync}\n'
    )
    config, document, _data, problems = read_config(write_setup(tmp_path, jobs=jobs))
    assert problems == [] and config is not None
    found = check_jobs(config, document, load_plugins())
    assert [(p.field, p.line) for p in found] == [("jobs.users.run", 12), ("jobs.check.target", 13)]
    assert "needs an employee_sync: section" in found[0].message
    assert "cannot read back what it holds" in found[1].message and "local_csv" in found[1].message
    assert [p.field for p in check_jobs(config, document)] == ["jobs.users.run"], "without plugins: no capability check"


def test_defaults_and_relative_periods() -> None:
    job = JobSettings(cron="30  1 * * *", timezone="Asia/Kolkata", run="sync")
    assert (job.cron, job.enabled, job.misfire_grace_seconds) == ("30 1 * * *", True, 12 * 3600)
    from datetime import date

    assert resolve_period("last_month", date(2026, 1, 15)) == "2025-12-01..2025-12-31"
    assert resolve_period("this_month", date(2026, 1, 15)) == "2026-01-01..2026-01-31"
    assert resolve_period("last_week", date(2026, 1, 15)) == "2026-01-05..2026-01-11"  # a Thursday
    assert resolve_period("2026-10", date(2026, 1, 15)) == "2026-10-01..2026-10-31"


def test_crontab_weekday_numbers_become_apschedulers_names() -> None:
    assert crontab_weekdays("0") == "sun" and crontab_weekdays("7") == "sun"
    assert crontab_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_weekdays("5-7") == "fri,sat,sun"
    assert crontab_weekdays("*/2") == "tue,thu,sat,sun"
    assert crontab_weekdays("MON,sun") == "mon,sun"
    assert crontab_weekdays("*") == "*"
    for bad in ("8", "x", "1/0", "2-", ""):
        with pytest.raises(ValueError, match="weekday field"):
            crontab_weekdays(bad)
    with pytest.raises(ValueError, match="expected 5 fields"):
        job_trigger("* * *", "UTC")
