"""The Zoho People target's settings, mapping check, capabilities and backfill planning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from punchbridge.mapping.files import load_mapping
from punchbridge.plugin_api.registry import load_plugins
from punchbridge.plugins.zoho_people import WindowPacer, ZohoPeopleSettings, ZohoPeopleTarget, plan_backfill
from punchbridge.testing.emulators.zoho import ManualClock

BASE = {"client_id": "1000.ABC", "client_secret": "s3cret-value", "refresh_token": "1000.rt.value"}


def _settings(**changes: Any) -> ZohoPeopleSettings:
    return ZohoPeopleSettings.model_validate({**BASE, **changes})


def test_the_plugin_registers_as_zoho_people_with_its_capabilities() -> None:
    target_class = load_plugins({"zoho_people"}).target_class("zoho_people")
    assert target_class is ZohoPeopleTarget
    assert target_class.capabilities == {"push_punches", "push_attendance", "pull_employees", "read_back"}


def test_defaults_are_zohos_documented_limits() -> None:
    settings = _settings()
    assert (settings.bulk_import_per_minute, settings.attendance_entries_per_minute) == (10, 100)
    assert (settings.employee_records_per_minute, settings.daily_call_limit) == (400, 5000)
    assert settings.punches_per_call == 50
    assert settings.accounts == "https://accounts.zoho.com"


@pytest.mark.parametrize(
    ("centre", "host"), [("eu", "https://accounts.zoho.eu"), ("in", "https://accounts.zoho.in"),
                         ("com.au", "https://accounts.zoho.com.au"), ("ca", "https://accounts.zohocloud.ca")],
)  # fmt: skip
def test_the_data_centre_picks_the_accounts_host(centre: str, host: str) -> None:
    assert _settings(data_centre=centre).accounts == host
    assert _settings(dc=centre).accounts == host  # the short name of the design sketch


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"punches_per_call": 201}, "less than or equal to 200"),
        ({"punches_per_call": 0}, "greater than or equal to 1"),
        ({"accounts_url": "http://accounts.zoho.com"}, "must use https"),
        ({"api_domain": "people.zoho.com"}, "must be an https:// URL"),
        ({"client_secret": "  "}, "client_secret is empty"),
        ({"identify_by": "badge"}, "'empId', 'emailId' or 'mapId'"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"concurrency": 50}, "less than or equal to 8"),
        ({"batchsize": 50}, "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        _settings(**changes)


def test_plain_http_is_allowed_only_to_this_machine() -> None:
    assert _settings(accounts_url="http://127.0.0.1:8080/").accounts == "http://127.0.0.1:8080"


def test_secrets_never_show_in_the_settings_or_the_description() -> None:
    target = ZohoPeopleTarget("zoho", {**BASE, "data_centre": "in"})
    assert target.describe() == "zoho_people zoho -> https://accounts.zoho.in (empId)"
    for shown in (repr(target.settings), str(target.settings), target.describe()):
        assert "s3cret-value" not in shown and "1000.rt.value" not in shown


@pytest.mark.parametrize(
    ("columns", "says"),
    [
        (["employee", "check_in", "check_out"], None),
        (["employee", "date", "intervals"], None),
        (["check_in", "check_out"], "no column `employee`: it must hold the Zoho emailId"),
        (["employee", "check_in"], "no column `check_out`"),
        (["employee", "status"], "no column `check_in`, `check_out`"),
        (["employee", "check_in", "check_out", "intervals"], "`intervals` and `check_in`/`check_out` together"),
    ],
)
def test_the_mapping_check_names_the_missing_column(columns: list[str], says: str | None) -> None:
    problems = ZohoPeopleTarget.check_columns(columns, _settings(identify_by="emailId"))
    if says is None:
        assert problems == []
    else:
        assert len(problems) == 1 and says in problems[0]


def test_a_month_for_200_employees_fits_a_day_and_takes_24_minutes() -> None:
    plan = plan_backfill(200 * 30)
    assert (plan.punches, plan.calls) == (12_000, 240)
    assert plan.minutes == pytest.approx(24.0)
    assert plan.fits_today and plan.days_needed == 1
    assert "does NOT" not in plan.describe()


def test_a_backfill_over_the_daily_budget_says_how_many_days_it_takes() -> None:
    plan = plan_backfill(100_000, punches_per_call=50, calls_left_today=1000)
    assert plan.calls == 4000 and not plan.fits_today
    assert plan.days_needed == 4
    assert "does NOT fit today's budget" in plan.describe()


def test_a_target_plans_with_its_own_settings(tmp_path: Any) -> None:
    target = ZohoPeopleTarget("zoho", {**BASE, "punches_per_call": 200, "state_file": tmp_path / "s.sqlite3"})
    plan = target.plan_backfill(6000)
    assert plan.calls == 60 and plan.calls_left_today == 5000
    target.close()


def test_the_pacer_keeps_any_sixty_seconds_under_the_limit() -> None:
    clock = ManualClock()
    pacer = WindowPacer(10, clock, clock.sleep, margin=0.5)
    sent = []
    for _ in range(35):
        pacer.wait()
        sent.append(clock())
    for index, moment in enumerate(sent):
        assert sum(1 for other in sent[index:] if other < moment + 60) <= 10
    assert sent[10] - sent[0] == pytest.approx(60.5)


def test_every_setting_is_in_the_plugins_documentation() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "plugins" / "zoho-people.md").read_text()
    for name in ZohoPeopleSettings.model_fields:
        assert f"| `{name}`" in doc, f"setting {name} is not in the table of docs/plugins/zoho-people.md"


def test_the_example_mapping_fits_the_target() -> None:
    mapping = load_mapping(Path(__file__).resolve().parents[3] / "mappings" / "zoho-people.yaml")
    assert mapping.columns == ("employee", "check_in", "check_out")
    assert ZohoPeopleTarget.check_columns(mapping.columns, _settings()) == []
