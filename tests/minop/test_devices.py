"""`punchbridge device ...` against the emulator: each command's effect, idempotency, refusals, the safe
dry runs, and biometric templates that never show (the safe purge: test_purge.py)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.minop_kit import CLOUDS, invoke, write_config

from punchbridge.minop.devices import Template, enrol_face
from punchbridge.testing.emulators.minop import EXECUTE, EmulatedDevice, MinopEmulator

YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)
TEMPLATE = base64.b64encode(b"FACE-TEMPLATE-" + bytes(range(256)) * 8).decode()


@pytest.fixture
def terminal(emulator: MinopEmulator) -> EmulatedDevice:
    device = emulator.add_device("dev1", timezone="Asia/Kolkata")
    emulator.add_device("dev2", timezone="Asia/Kolkata")
    return device


@pytest.fixture
def config(emulator, cloud, terminal, tmp_path) -> Path:
    devices = {
        name: {"site": "blr", "push_token": device.push_token, "auth_token": device.auth_token}
        for name, device in emulator.devices.items()
    }
    return write_config(
        tmp_path,
        emulator.source_settings(cloud.url),
        [("1001", "blr"), ("1002", "blr")],
        minop={"base_url": cloud.url, "api_token": emulator.command_token},
        devices=devices,
        sync_range=(YESTERDAY.isoformat(), YESTERDAY.isoformat()),
    )


def device(config: Path, *args: str):
    return invoke("device", *args[:1], "-c", config, "--device", "dev1", *args[1:])


def add_1001(config: Path, *extra: str):
    return device(config, "add-user", "--user-id", "1001", "--first-name", "Asha", "--last-name", "Rao", *extra)


def test_add_user_creates_the_user_with_its_type(config, terminal):
    result = add_1001(config, "--user-type", "admin")
    assert result.exit_code == 0, result.output
    assert "done: Add User 1001 on dev1" in result.output
    user = terminal.users["1001"]
    assert (user.first_name, user.last_name, user.user_type, user.face_digest) == ("Asha", "Rao", "14", None)


def test_add_user_with_a_face_template_enrols_it(config, terminal, tmp_path):
    (tmp_path / "face.b64").write_text(TEMPLATE)
    result = add_1001(config, "--face-template", tmp_path / "face.b64")
    assert result.exit_code == 0, result.output
    assert terminal.users["1001"].face_digest is not None


def test_a_raw_template_file_is_sent_as_base64(config, terminal, tmp_path):
    (tmp_path / "face.dat").write_bytes(bytes(range(256)))
    assert add_1001(config, "--face-template", tmp_path / "face.dat").exit_code == 0
    assert terminal.users["1001"].face_digest is not None


def test_delete_user_removes_it_and_deleting_a_user_the_terminal_does_not_hold_is_done(config, terminal):
    add_1001(config)
    assert device(config, "delete-user", "--user-id", "1001", "--yes").exit_code == 0
    assert "1001" not in terminal.users
    again = device(config, "delete-user", "--user-id", "1001", "--yes")  # a second Delete: the cloud says not found
    assert again.exit_code == 0, again.output
    assert "the terminal does not hold user 1001: nothing to delete" in again.output


def test_a_refusal_that_is_not_about_the_user_still_fails_with_the_clouds_words(config, emulator, terminal):
    emulator.fail_next(EXECUTE, 404, body=json.dumps({"code": "unknown_device", "message": "stgid: no device"}))
    result = device(config, "delete-user", "--user-id", "1001", "--yes")
    assert result.exit_code == 1
    assert "HTTP 404 unknown_device" in result.output


def test_access_time_sets_the_door_window(config, terminal):
    add_1001(config)
    result = device(
        config, "access-time", "--user-id", "1001", "--start", "08:00:00", "--end", "19:30:00", "--days", "1,2,3,4,5"
    )
    assert result.exit_code == 0, result.output
    assert terminal.users["1001"].access == ("08:00:00", "19:30:00", "1,2,3,4,5")


@pytest.fixture(params=list(CLOUDS))
def cloud_kind(request, emulator) -> str:
    """The same tests against a cloud that runs a repeated OperationID again (the vendor promises nothing
    more), one that runs it once, and one whose Add User of a user it holds is refused "already exists"."""
    for name, value in CLOUDS[request.param].items():
        setattr(emulator, name, value)
    return request.param


def test_a_same_day_re_add_after_a_delete_adds_the_user(config, emulator, terminal, cloud_kind):
    assert add_1001(config).exit_code == 0
    assert device(config, "delete-user", "--user-id", "1001", "--yes").exit_code == 0
    again = add_1001(config)  # the same command, the same day: a new operation, whatever the cloud
    assert again.exit_code == 0, again.output
    assert "1001" in terminal.users
    adds = [e["operation_id"] for e in emulator.executed if e["command"] == "Add"]
    assert len(adds) == 2 and adds[0] != adds[1]


def test_adding_a_user_the_terminal_holds_is_done(config, emulator, terminal, cloud_kind):
    assert add_1001(config).exit_code == 0
    again = add_1001(config)
    assert again.exit_code == 0, again.output
    if cloud_kind == "refuses-existing":
        assert "the terminal already holds user 1001" in again.output
    assert set(terminal.users) == {"1001"}


def test_a_command_whose_reply_was_lost_is_retried_with_the_same_keys_and_is_right_either_way(
    config, emulator, terminal, cloud_kind
):
    emulator.lose_next_reply()
    result = add_1001(config)
    assert result.exit_code == 0, result.output
    assert emulator.stats["requests:execute"] == 2
    # Run twice, unless the cloud deduplicates, or answers the second Add "already exists".
    assert len(emulator.executed) == (2 if cloud_kind == "executes-twice" else 1)
    assert terminal.users["1001"].first_name == "Asha"
    emulator.lose_next_reply()
    deleted = device(config, "delete-user", "--user-id", "1001", "--yes")  # run twice: the second finds no user
    assert deleted.exit_code == 0, deleted.output
    assert "1001" not in terminal.users
    keys = [(e["operation_id"], e["idempotency_key"]) for e in emulator.executed]
    assert all(operation == key for operation, key in keys)  # the Idempotency-Key is the OperationID
    assert {e["content_type"] for e in emulator.executed} == {"application/json; charset=utf-8"}


def test_a_status_other_than_done_is_a_failure(config, emulator, terminal):
    emulator.command_reply("queued")
    result = add_1001(config)
    assert result.exit_code == 1
    assert 'answered "queued", not "done"' in result.output
    assert "1001" not in terminal.users


def test_a_busy_cloud_is_retried(config, emulator, terminal):
    emulator.fail_next(EXECUTE, 503, retry_after=1)
    emulator.fail_next(EXECUTE, 429, retry_after=1)
    result = add_1001(config)
    assert result.exit_code == 0, result.output
    assert "1001" in terminal.users


def test_a_wrong_auth_token_is_refused_without_showing_it(config, emulator, terminal):
    text = config.read_text().replace(terminal.auth_token, "wrong-device-token")
    config.write_text(text)
    result = add_1001(config)
    assert result.exit_code == 1
    assert "invalid_auth_token" in result.output and "wrong-device-token" not in result.output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("add-user", "--user-id", "1", "--first-name", "A", "--last-name", "B", "--user-type", "boss"), "--user-type"),
        (("add-user", "--user-id", " ", "--first-name", "A", "--last-name", "B"), "--user-id"),
        (("add-user", "--user-id", "1", "--first-name", "A" * 65, "--last-name", "B"), "--first-name"),
        (("access-time", "--user-id", "1", "--start", "25:00:00", "--end", "18:00:00", "--days", "1"), "--start"),
        (("access-time", "--user-id", "1", "--start", "08:00:00", "--end", "18:00", "--days", "1"), "--end"),
        (("access-time", "--user-id", "1", "--start", "08:00:00", "--end", "18:00:00", "--days", "1,8"), "--days"),
        (("access-time", "--user-id", "1", "--start", "08:00:00", "--end", "18:00:00", "--days", "mon"), "--days"),
        (("purge-logs", "--from", "2025-02-30", "--to", "2025-03-01"), "--from"),
        (("purge-logs", "--from", "2025-03-02", "--to", "2025-03-01"), "--to"),
    ],
)
def test_bad_input_exits_2_naming_the_option(config, emulator, args, option):
    result = device(config, *args)
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert emulator.stats["requests:execute"] == 0


def test_an_unknown_device_and_a_missing_minop_section_are_named(config, tmp_path):
    unknown = invoke("device", "delete-user", "-c", config, "--device", "dev9", "--user-id", "1")
    assert unknown.exit_code == 2 and "--device" in unknown.output and "dev1, dev2" in unknown.output
    bare = write_config(tmp_path / "bare")
    missing = invoke("device", "delete-user", "-c", bare, "--device", "dev1", "--user-id", "1")
    assert missing.exit_code == 2 and "minop" in missing.output


def test_an_empty_template_file_is_bad_input(config, tmp_path):
    (tmp_path / "empty.b64").write_text("")
    result = add_1001(config, "--face-template", tmp_path / "empty.b64")
    assert result.exit_code == 2 and "--face-template" in result.output


def test_dry_run_prints_the_body_masked_and_sends_nothing(config, emulator, terminal, tmp_path):
    (tmp_path / "face.b64").write_text(TEMPLATE)
    result = add_1001(config, "--face-template", tmp_path / "face.b64", "--dry-run")
    assert result.exit_code == 0, result.output
    assert emulator.stats["requests:execute"] == 0 and not terminal.users
    assert '"CommandName": "Add"' in result.output and '"UserType": "1"' in result.output
    assert '"AuthToken": "***"' in result.output and "<face template, " in result.output
    for secret in (TEMPLATE, terminal.auth_token, emulator.command_token):
        assert secret not in result.output
    purge = device(config, "purge-logs", "--from", "2025-10-01", "--to", "2025-10-02", "--dry-run")
    assert purge.exit_code == 0 and '"StartDate": "2025-10-01"' in purge.output
    assert emulator.stats["requests:execute"] == 0 and emulator.stats["requests:raw"] == 0


def test_a_template_never_appears_in_logs_output_errors_or_reprs(config, emulator, terminal, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "stamina", "punchbridge"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    (tmp_path / "face.b64").write_text(TEMPLATE)
    ok = add_1001(config, "--face-template", tmp_path / "face.b64")
    assert ok.exit_code == 0
    # A cloud that echoes the template back in its refusal, then one that is down: retries are logged.
    echo = json.dumps({"code": "bad_template", "message": f"cannot read {TEMPLATE}"})
    emulator.fail_next(EXECUTE, 400, body=echo)
    face = ("--face-template", tmp_path / "face.b64")
    refused = invoke("device", "add-user", "-c", config, "--device", "dev2", "--user-id", "1001",
                     "--first-name", "Asha", "--last-name", "Rao", *face)  # fmt: skip
    assert refused.exit_code == 1 and "bad_template" in refused.output
    emulator.fail_next(EXECUTE, 503, times=5)
    down = invoke("device", "add-user", "-c", config, "--device", "dev2", "--user-id", "1009",
                  "--first-name", "Ravi", "--last-name", "K", *face)  # fmt: skip
    assert down.exit_code == 1
    assert caplog.records, "nothing was logged: the check would prove nothing"
    seen = caplog.text + ok.output + refused.output + down.output + repr(refused.exception) + str(down.exception)
    assert TEMPLATE not in seen
    assert TEMPLATE[:40] not in seen  # not even a prefix
    template = Template(TEMPLATE)
    command = enrol_face("1001", template)
    assert TEMPLATE not in repr(template) + str(template) + repr(command) + str(command)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(template)


def _device_with_input(config: Path, answer: str, *args: str):
    from click.testing import CliRunner

    from punchbridge.cli import main

    words = ["device", args[0], "-c", str(config), "--device", "dev1", *args[1:]]
    return CliRunner().invoke(main, words, input=answer)


def test_delete_user_without_a_terminal_and_without_yes_is_refused_and_sends_nothing(config, emulator, terminal):
    add_1001(config)
    refused = device(config, "delete-user", "--user-id", "1001")
    assert refused.exit_code == 6, refused.output  # REFUSED: rerun with the option named
    assert "deleting user 1001 from terminal dev1 cannot be undone: confirm with --yes" in refused.output
    assert "1001" in terminal.users


def test_delete_user_on_a_terminal_asks_and_a_no_keeps_the_user(config, emulator, terminal, monkeypatch):
    monkeypatch.setattr("punchbridge.cli.confirm.on_terminal", lambda: True)
    add_1001(config)
    kept = _device_with_input(config, "n\n", "delete-user", "--user-id", "1001")
    assert kept.exit_code == 1 and "delete user 1001 from terminal dev1?" in kept.output
    assert "1001" in terminal.users
    deleted = _device_with_input(config, "y\n", "delete-user", "--user-id", "1001")
    assert deleted.exit_code == 0, deleted.output
    assert "1001" not in terminal.users


def test_purge_logs_without_a_terminal_and_without_yes_is_refused_and_sends_nothing(config, emulator, terminal):
    refused = device(config, "purge-logs", "--from", "2025-10-01", "--to", "2025-10-02", "--force")
    assert refused.exit_code == 6, refused.output
    assert "deleting the attendance log of terminal dev1 cannot be undone: confirm with --yes" in refused.output
    assert emulator.stats["requests:execute"] == 0


def test_purge_logs_on_a_terminal_asks_first(config, emulator, terminal, monkeypatch):
    monkeypatch.setattr("punchbridge.cli.confirm.on_terminal", lambda: True)
    args = ("purge-logs", "--from", "2025-10-01", "--to", "2025-10-02", "--force")
    kept = _device_with_input(config, "n\n", *args)
    assert kept.exit_code == 1 and "delete the attendance log of terminal dev1 from 2025-10-01 to 2025-10-02?" in (
        kept.output
    )
    assert emulator.stats["requests:execute"] == 0
    purged = _device_with_input(config, "y\n", *args)
    assert purged.exit_code == 0, purged.output
    assert emulator.stats["requests:execute"] == 1
