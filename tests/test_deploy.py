"""The files in deploy/ do what the README's operations section says: systemd units that systemd
accepts, a compose file with PostgreSQL, two receivers, a scheduler and a standby, and a container
image definition; every punchbridge command in them is one the command line takes."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from punchbridge.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
INSTALLED = "/opt/punchbridge/bin/punchbridge"


def parsed(args: list[str]) -> tuple[str, dict[str, Any]]:
    """The punchbridge command `args` names and its parsed options (click.UsageError when it is wrong)."""
    command: click.Command = main
    context = main.make_context("punchbridge", list(args))
    while isinstance(command, click.Group):
        rest = [*getattr(context, "_protected_args", []), *context.args]
        name, found, rest = command.resolve_command(context, rest)
        assert name is not None and found is not None
        command, context = found, found.make_context(name, rest, parent=context)
    return str(context.command_path).removeprefix("punchbridge "), context.params


def _unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(path.read_text())
    return unit


def _exec_start(path: Path) -> list[str]:
    words = shlex.split(_unit(path)["Service"]["ExecStart"])
    assert words[0] == INSTALLED
    return words[1:]


def test_the_units_run_a_receiver_with_workers_an_active_scheduler_and_a_standby() -> None:
    commands = {path.name: parsed(_exec_start(path)) for path in UNITS}

    assert commands["punchbridge-serve.service"][0] == "serve"
    assert commands["punchbridge-serve.service"][1]["workers"] > 1
    assert commands["punchbridge-schedule.service"] == (
        "schedule",
        {"config_path": Path("/etc/punchbridge/punchbridge.yaml"), "standby": False},
    )
    assert commands["punchbridge-schedule-standby.service"][1]["standby"] is True
    # The active scheduler exits 4 when another one holds the store: systemd must not loop on it.
    assert _unit(DEPLOY / "systemd" / "punchbridge-schedule.service")["Service"]["RestartPreventExitStatus"] == "4"
    for path in UNITS:
        service = _unit(path)["Service"]
        assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) >= 30, path.name


def test_a_wrong_option_in_a_unit_would_be_caught() -> None:
    with pytest.raises(click.UsageError, match="--wrokers"):
        parsed(["serve", "-c", "x.yaml", "--wrokers", "2"])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    punchbridge = shutil.which("punchbridge")
    assert punchbridge is not None, "the punchbridge console script is installed with the package"
    for path in UNITS:
        # As installed: the console script where the unit expects it, a user this machine has.
        text = path.read_text().replace(INSTALLED, punchbridge)
        text = text.replace("User=punchbridge", "User=root").replace("Group=punchbridge", "Group=root")
        (tmp_path / path.name).write_text(text)
    checked = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / path.name) for path in UNITS)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    complaints = [
        line for line in (checked.stdout + checked.stderr).splitlines() if str(tmp_path) in line or ".service" in line
    ]
    assert checked.returncode == 0 and complaints == [], checked.stdout + checked.stderr


def test_the_compose_file_runs_postgresql_two_receivers_a_scheduler_and_a_standby_on_one_store() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]

    assert set(services) == {"postgres", "receiver-a", "receiver-b", "scheduler", "scheduler-standby"}
    commands = {name: parsed(service["command"]) for name, service in services.items() if name != "postgres"}
    assert [name for name, (command, _) in commands.items() if command == "serve"] == ["receiver-a", "receiver-b"]
    assert all(options["workers"] > 1 for command, options in commands.values() if command == "serve")
    assert commands["scheduler"][0] == commands["scheduler-standby"][0] == "schedule"
    assert commands["scheduler-standby"][1]["standby"] is True
    for name in commands:
        service = services[name]
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
        mounted = {
            Path(DEPLOY, volume.split(":")[0]): volume.split(":")[1]
            for volume in service["volumes"]
            if volume.startswith("./")
        }
        config_dir = next(folder for folder, inside in mounted.items() if inside == "/etc/punchbridge")
        assert commands[name][1]["config_path"] == Path("/etc/punchbridge/punchbridge.yaml")
        assert (config_dir / "punchbridge.yaml").is_file()
    assert services["postgres"]["image"].startswith("postgres:")


def test_the_compose_configuration_is_valid_and_stores_in_the_compose_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POSTGRES_PASSWORD", "compose-secret")
    monkeypatch.setenv("GATE_1_TOKEN", "gate-token")
    config = DEPLOY / "compose" / "punchbridge.yaml"

    result = CliRunner().invoke(main, ["validate", "-c", str(config)], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert yaml.safe_load(config.read_text())["store"].startswith(
        "postgresql+psycopg://punchbridge:${POSTGRES_PASSWORD}@postgres:"
    )


def test_the_image_installs_the_postgresql_extra_and_runs_punchbridge() -> None:
    lines = [line.strip() for line in (DEPLOY / "Containerfile").read_text().splitlines()]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    assert any("pip install" in line and '".[postgres]"' in line for line in lines) and "postgres" in extras
    for line in lines:
        if line.startswith("COPY ") and "--from" not in line:
            assert all((ROOT / source).exists() for source in line.split()[1:-1]), line
    entrypoint = next(line for line in lines if line.startswith("ENTRYPOINT"))
    command = next(line for line in lines if line.startswith("CMD ["))
    assert yaml.safe_load(entrypoint.removeprefix("ENTRYPOINT ")) == ["punchbridge"]
    assert parsed(yaml.safe_load(command.removeprefix("CMD ")))[0] == "serve"
