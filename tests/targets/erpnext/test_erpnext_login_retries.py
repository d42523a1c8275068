"""A 429 or 500 on ERPNext's key check (the login, on opening) is retried as every call is; a refused key is
not (issue 15, item 4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.erpnext_builders import batch_of, day_record
from support.login_retries import RETRY_ATTEMPTS, Waits, deliver

from punchbridge.plugin_api import CredentialsError, TransientError
from punchbridge.plugins.erpnext import ErpNextTarget
from punchbridge.testing.emulators.erpnext import ErpNextEmulator

DAY = "2025-10-06"


@pytest.mark.parametrize(("status", "retry_after", "failures"), [(429, 7.0, 2), (500, None, 1)])
def test_a_busy_site_is_asked_again_and_the_sync_delivers(
    target: ErpNextTarget, emulator: ErpNextEmulator, status: int, retry_after: float | None, failures: int
) -> None:
    target.retry_sleep = waits = Waits()
    emulator.logins.fail_next(failures, status=status, retry_after=retry_after)
    assert all(outcome.ok for outcome in deliver(target, batch_of([day_record("T-1", DAY)])))
    assert emulator.logins.requests == failures + 1 and emulator.checkins()
    if retry_after is not None:
        assert waits == [retry_after] * failures, "the Retry-After is waited out"


def test_a_login_that_keeps_failing_ends_with_a_clear_error_after_the_bounded_attempts(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    emulator.logins.fail_next(50, status=502)
    with pytest.raises(TransientError, match=rf"HTTP 502.*gave up after {RETRY_ATTEMPTS} attempts"):
        deliver(target, batch_of([day_record("T-1", DAY)]))
    assert emulator.logins.requests == RETRY_ATTEMPTS, "the engine does not retry the login's retries"
    assert emulator.checkins() == []


def test_a_refused_key_is_not_retried(make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator) -> None:
    with pytest.raises(CredentialsError, match="refused the API key"):
        deliver(make_target(api_secret="wrong"), batch_of([day_record("T-1", DAY)]))
    assert emulator.logins.requests == 1
