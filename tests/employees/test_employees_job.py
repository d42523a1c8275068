"""A scheduled `run: employees` job, run as an operator would (`punchbridge jobs run`): joiners reach
their terminals, the run is recorded, and a mass delete is refused unattended."""

from __future__ import annotations

from pathlib import Path

import yaml
from support.employee_kit import ZOHO_STAFF, invoke, open_store, person, users

from punchbridge.testing.emulators.minop import MinopEmulator
from punchbridge.testing.emulators.zoho import ZohoEmulator


def _add_job(config_path: Path) -> None:
    config = yaml.safe_load(config_path.read_text())
    config["jobs"] = {"users": {"cron": "*/30 * * * *", "timezone": "Asia/Kolkata", "run": "employees"}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_an_employees_job_adds_the_joiners_and_is_recorded(zoho_config: Path, minop: MinopEmulator) -> None:
    _add_job(zoho_config)
    done = invoke("jobs", "run", "-c", zoho_config, "users")
    assert done.exit_code == 0, done.output
    assert "job=users" in done.output and "status=ok" in done.output
    assert users(minop)["hyd-1"] == {"1003"}
    with open_store(zoho_config) as store:
        run = store.last_run("employees", job="users")
    assert run is not None and run["status"] == "ok" and run["summary"]["adds"] == 8


def test_an_employees_job_never_mass_deletes_and_says_why(
    zoho_config: Path, minop: MinopEmulator, zoho: ZohoEmulator
) -> None:
    _add_job(zoho_config)
    assert invoke("jobs", "run", "-c", zoho_config, "users").exit_code == 0
    zoho.seed_employees([person(t, n, badge=b, department=d, active=False) for t, n, b, _s, d in ZOHO_STAFF])
    done = invoke("jobs", "run", "-c", zoho_config, "users")
    assert done.exit_code == 6, done.output  # as `employees sync` exits for the same refusal
    assert "status=failed" in done.output and "would delete too many terminal users" in done.output
    assert "--allow-mass-delete" in done.output  # the whole reason, with what to do, beside the log line
    assert users(minop)["hyd-1"] == {"1003"}  # nothing was deleted
    with open_store(zoho_config) as store:
        run = store.last_run("employees", job="users")
    assert run is not None and run["status"] == "failed"
