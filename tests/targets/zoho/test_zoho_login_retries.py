"""A 429 or 500 on Zoho's token request is retried as every call is; a refused one is not (issue 15, item 4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.login_retries import RETRY_ATTEMPTS, Waits, deliver
from support.zoho_builders import batch_of, day_record

from punchbridge.plugin_api import CredentialsError, TransientError
from punchbridge.plugins.zoho_people import ZohoPeopleTarget
from punchbridge.testing.emulators.zoho import ManualClock, ZohoEmulator

DAY = "2025-10-06"


@pytest.mark.parametrize(("status", "retry_after", "failures"), [(429, 7.0, 2), (500, None, 1)])
def test_a_busy_accounts_server_is_asked_again_and_the_sync_delivers(
    make_target: Callable[..., ZohoPeopleTarget],
    emulator: ZohoEmulator,
    clock: ManualClock,
    status: int,
    retry_after: float | None,
    failures: int,
) -> None:
    target = make_target()
    target.retry_sleep = waits = Waits()
    emulator.logins.fail_next(failures, status=status, retry_after=retry_after)
    assert all(outcome.ok for outcome in deliver(target, batch_of([day_record("T-1", DAY)])))
    assert emulator.logins.requests == failures + 1 and emulator.tokens_minted == 1
    assert emulator.deliveries == 1
    if retry_after is not None:
        assert waits == [retry_after] * failures, "the Retry-After is waited out"


def test_a_token_request_that_keeps_failing_ends_with_a_clear_error_after_the_bounded_attempts(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    emulator.logins.fail_next(50, status=503, retry_after=1)
    with pytest.raises(TransientError, match=rf"token request .*HTTP 503.*gave up after {RETRY_ATTEMPTS} attempts"):
        deliver(make_target(), batch_of([day_record("T-1", DAY)]))
    assert emulator.logins.requests == RETRY_ATTEMPTS, "the engine's retry of the push does not multiply them"
    assert emulator.deliveries == 0


def test_a_refused_token_request_is_not_retried(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    with pytest.raises(CredentialsError, match="invalid_client"):
        deliver(make_target(client_secret="wrong"), batch_of([day_record("T-1", DAY)]))
    assert emulator.logins.requests == 1
