"""`punchbridge validate --online` for SuccessFactors: a token, one EmpJob row, the Time Events API; no write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from punchbridge.plugins.sap.successfactors import SuccessFactorsTarget
from punchbridge.testing.emulators.sap import SapEmulator, TestCredentials

TECHNICAL_USER = "TECHNICAL_USER_CICOTERMINAL_9D3F8AC1"


def _summary(target: SuccessFactorsTarget) -> list[tuple[str, bool]]:
    return [(check.what, check.ok) for check in target.check_online()]


def test_a_working_tenant_passes_every_check_and_nothing_is_written(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    assert _summary(make_target()) == [
        ("token (SAML bearer) for user sfapi", True),
        ("read EmpJob (one row)", True),
        ("Time Events API /rest/timemanagement/timeeventprocessing/v1/TimeEvents reachable", True),
    ]
    assert emulator.calls["EmpJob"] == 1 and emulator.calls["time_events"] == 1
    assert emulator.calls["upsert"] == 0 and emulator.records_received == 0


def test_only_external_time_data_skips_the_time_events_check(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    assert [what for what, _ in _summary(make_target(send="external_time_data"))] == [
        "token (SAML bearer) for user sfapi",
        "read EmpJob (one row)",
    ]


def test_a_key_successfactors_does_not_know_fails_the_token_and_stops(
    make_target: Callable[..., SuccessFactorsTarget], stranger: TestCredentials, tmp_path: Path
) -> None:
    (check,) = make_target(**stranger.write(tmp_path / "stranger")).check_online()
    assert not check.ok and "LGN0011" in check.message and "registered certificate" in check.message


def test_no_permission_on_empjob_is_named(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    body = '{"error": {"code": "COE_NO_PERMISSION", "message": {"lang": "en-US", "value": "no access"}}}'
    emulator.fail_next("EmpJob", status=403, body=body, content_type="application/json")
    checks = make_target().check_online()
    assert not checks[1].ok and "OData API permissions" in checks[1].message


def test_a_time_events_user_that_may_not_send_is_told_about_the_technical_user(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    emulator.time_event_user = TECHNICAL_USER
    checks = make_target(send="time_events").check_online()
    assert not checks[-1].ok and "KBA 3146142" in checks[-1].message
    bound = make_target(send="time_events", time_events={"user_id": TECHNICAL_USER})
    assert _summary(bound) == [
        ("token (SAML bearer) for user sfapi", True),
        (f"token (SAML bearer) for user {TECHNICAL_USER}", True),
        ("read EmpJob (one row)", True),
        ("Time Events API /rest/timemanagement/timeeventprocessing/v1/TimeEvents reachable", True),
    ]


def test_a_wrong_time_events_path_warns_when_the_mapping_may_not_need_it(
    make_target: Callable[..., SuccessFactorsTarget],
) -> None:
    (*_, auto) = make_target(time_events={"path": "/rest/nothing/here"}).check_online()
    assert auto.ok and auto.warning and "HTTP 404" in auto.message
    (*_, needed) = make_target(send="time_events", time_events={"path": "/rest/nothing/here"}).check_online()
    assert not needed.ok and "check time_events.path" in needed.message
