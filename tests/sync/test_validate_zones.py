"""`punchbridge validate`: a setting that would send a day in the wrong zone is refused before anything
is sent, and `--online` runs each target's live, read-only checks (support.keeping_target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result
from support.keeping_target import KeeperWorld, KeepingTarget, register_keeper

from punchbridge.cli import main
from punchbridge.plugin_api.targets import CredentialsError, OnlineCheck, ZoneModel


class OrganisationKeeper(KeepingTarget):
    """A keeper whose system has one zone for the whole organisation (like ERPNext's system time zone)."""

    zone_model: ClassVar[ZoneModel] = ZoneModel.ORGANISATION


class LockedOutKeeper(KeepingTarget):
    """A keeper whose login is refused."""

    def open(self) -> None:
        raise CredentialsError("401: the API key was revoked")


class ExpiringKeeper(KeepingTarget):
    """A keeper whose key expires soon."""

    def check_online(self) -> list[OnlineCheck]:
        return [OnlineCheck("login", True), OnlineCheck("API key expiry", True, "the key expires in 5 days", True)]


def _world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: str = "", plugin: str = "keeper") -> Path:
    register_keeper(
        monkeypatch, keeper_org=OrganisationKeeper, keeper_locked=LockedOutKeeper, keeper_expiring=ExpiringKeeper
    )
    world = KeeperWorld(tmp_path, settings=settings)
    config = world.root / "config.yaml"
    config.write_text(config.read_text().replace("plugin: keeper,", f"plugin: {plugin},"))
    return config


def _validate(config: Path, *options: str) -> Result:
    return CliRunner().invoke(main, ["validate", "-c", str(config), *options], catch_exceptions=False)


def test_a_timezone_override_that_differs_from_a_receiving_sites_zone_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _validate(_world(tmp_path, monkeypatch, ", timezone: Asia/Kolkata"))
    assert result.exit_code == 2, result.output
    assert "targets.keeper.timezone" in result.output
    assert "site 'ber'" in result.output and "Europe/Berlin" in result.output
    assert "site 'blr'" not in result.output, "the override is right for Bangalore"


def test_the_same_refusal_stops_a_sync_before_anything_is_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _world(tmp_path, monkeypatch, ", timezone: Asia/Kolkata")
    result = CliRunner().invoke(main, ["sync", "-c", str(config)], catch_exceptions=False)
    assert result.exit_code == 2 and KeepingTarget.sent == []


def test_without_an_override_each_site_keeps_its_own_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _validate(_world(tmp_path, monkeypatch))
    assert result.exit_code == 0, result.output


def test_a_system_with_one_organisation_zone_needs_timezone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = _validate(_world(tmp_path / "a", monkeypatch, plugin="keeper_org"))
    assert refused.exit_code == 2 and "set `timezone`" in refused.output, refused.output
    accepted = _validate(_world(tmp_path / "b", monkeypatch, ", timezone: Asia/Kolkata", plugin="keeper_org"))
    assert accepted.exit_code == 0, accepted.output


@pytest.mark.parametrize(
    ("plugin", "code", "said"),
    [
        ("keeper", 0, "targets.keeper: login: ok"),
        ("keeper_locked", 1, "targets.keeper: login: FAILED: 401: the API key was revoked"),
        ("keeper_expiring", 0, "targets.keeper: API key expiry: warning: the key expires in 5 days"),
    ],
)
def test_online_prints_each_live_check_and_fails_when_one_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugin: str, code: int, said: Any
) -> None:
    config = _world(tmp_path, monkeypatch, plugin=plugin)
    assert "login" not in _validate(config).output, "without --online nothing is reached"
    result = _validate(config, "--online")
    assert result.exit_code == code, result.output
    assert said in result.output
    assert KeepingTarget.sent == [], "a check writes nothing"
