"""Configuration mistakes are reported with file, line and field, all at once, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.demo_copy import copy_config

from punchbridge.cli import main
from punchbridge.config import load_config

REPO = Path(__file__).resolve().parents[2]
VALID = """\
store: sqlite:///store.db
sources:
  terminals: {plugin: csv_folder, folder: inbox}
employees: employees.csv
sites:
  blr: {timezone: Asia/Kolkata}
shifts:
  general: {start: "09:00", end: "18:00"}
targets:
  payroll: {plugin: local_csv, mapping: mapping.yaml, folder: out}
jobs:
  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}
"""


def _run(tmp_path: Path, text: str, *args: str) -> tuple[int, str]:
    config = tmp_path / "punchbridge.yaml"
    config.write_text(text.replace("sqlite:///store.db", f"sqlite:///{tmp_path / 'store.db'}"))
    (tmp_path / "employees.csv").write_text("employee_id,site,shift\nE1,blr,general\n")
    (tmp_path / "inbox").mkdir(exist_ok=True)
    result = CliRunner().invoke(main, [*args, "-c", str(config)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("mistake", "replace", "expected"),
    [
        (
            "unknown plugin",
            ("plugin: local_csv", "plugin: lokal_csv"),
            ":10: targets.payroll.plugin: unknown plugin 'lokal_csv'",
        ),
        (
            "unknown field",
            ("folder: out}", "folder: out, colour: red}"),
            ":10: targets.payroll.colour: unknown setting",
        ),
        ("unknown top-level field", ("sites:", "site_list: []\nsites:"), ":5: site_list: unknown setting"),
        ("bad cron", ('"30 1 * * *"', '"30 25 * * *"'), ":12: jobs.nightly: cron '30 25 * * *'"),
        (
            "bad time zone",
            ("{timezone: Asia/Kolkata}", "{timezone: Asia/Bangalore}"),
            ":6: sites.blr.timezone: 'Asia/Bangalore' is not an IANA",
        ),
        (
            "missing variable",
            ("folder: out}", "folder: out, password: '${PB_TEST_UNSET}'}"),
            ":10: targets.payroll.password: environment variable PB_TEST_UNSET is not set",
        ),
        (
            "bad store URL",
            ("sqlite:///store.db", "mysql://x/y"),
            ":1: store: Value error" if False else ":1: store: store must be a sqlite",
        ),
        (
            "duplicate key",
            ("employees: employees.csv", "employees: employees.csv\nemployees: other.csv"),
            ":5: employees: key 'employees' appears twice",
        ),
    ],
)
def test_config_mistake_is_named_with_line_and_field_and_nothing_is_written(
    tmp_path: Path, mistake: str, replace: tuple[str, str], expected: str
) -> None:
    code, output = _run(tmp_path, VALID.replace(*replace), "sync")
    assert code == 2, output
    assert expected in output, output
    assert not (tmp_path / "store.db").exists(), f"{mistake}: the store was created before the config was checked"
    assert not (tmp_path / "out").exists()


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    text = (
        VALID.replace("plugin: local_csv", "plugin: nope")
        .replace("Asia/Kolkata}", "Mars/Olympus}")
        .replace('"30 1 * * *"', '"x"')
    )
    code, output = _run(tmp_path, text, "validate")
    assert code == 2
    assert "3 problems" in output, output
    lines = [line for line in output.splitlines() if line.strip().startswith("- ")]
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == sorted(numbers), "problems are listed in line order"


def test_secret_comes_from_the_environment_and_is_not_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_TEST_SECRET", "s3cr3t-value")
    (tmp_path / "c.yaml").write_text(VALID.replace("folder: out}", "folder: out, token: '${PB_TEST_SECRET}'}"))
    (tmp_path / "employees.csv").write_text("employee_id,site,shift\nE1,blr,general\n")
    config, _doc = load_config(tmp_path / "c.yaml")
    assert config.targets["payroll"].plugin_settings()["token"] == "s3cr3t-value"
    _code, output = _run(
        tmp_path, VALID.replace("folder: out}", "folder: out, token: '${PB_TEST_SECRET}'}"), "validate"
    )
    assert "s3cr3t-value" not in output


def test_relative_paths_are_read_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(VALID)
    config, _doc = load_config(tmp_path / "c.yaml")
    assert config.employees == tmp_path / "employees.csv"
    assert config.targets["payroll"].mapping == tmp_path / "mapping.yaml"


def test_config_schema_is_json_schema_naming_every_section() -> None:
    result = CliRunner().invoke(main, ["config", "schema"])
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    for section in ("store", "sources", "employees", "sites", "shifts", "pairing", "sync", "targets", "jobs"):
        assert section in schema["properties"], section
    assert "employees" in schema["required"]


def test_demo_config_is_valid() -> None:
    result = CliRunner().invoke(main, ["validate", "-c", str(REPO / "config" / "demo.yaml")])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_process_reads_the_rules_sections_of_a_main_config(tmp_path: Path) -> None:
    copy_config(tmp_path / "config")
    demo = tmp_path / "config" / "demo"
    result = CliRunner().invoke(
        main,
        ["process", "--rules", str(tmp_path / "config" / "demo.yaml"), "--punches", str(demo / "punches.csv"),
         "--employees", str(demo / "employees.csv"), "--from", "2025-09-29", "--to", "2025-09-29",
         "--out", str(tmp_path / "d.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_broken_mapping_stops_the_sync_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text(
        "fields:\n  - {name: a, from: status}\nfields:\n  - {name: b, from: status}\n"
    )
    code, output = _run(tmp_path, VALID, "sync")
    assert code == 2, output
    assert "mapping.yaml:3" in output and "appears twice" in output
    assert not (tmp_path / "store.db").exists()
    assert not (tmp_path / "out").exists()
