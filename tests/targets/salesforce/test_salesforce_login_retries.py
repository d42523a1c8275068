"""A 429 or 500 on Salesforce's token request (JWT bearer) is retried as every call is; a refused one is not
(issue 15, item 4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.login_retries import RETRY_ATTEMPTS, Waits, deliver
from support.salesforce_builders import batch_of, day_record

from punchbridge.plugin_api import CredentialsError, TransientError
from punchbridge.plugins.salesforce import SalesforceTarget
from punchbridge.testing.emulators.salesforce import SalesforceEmulator

DAY = "2025-10-06"


@pytest.mark.parametrize(("status", "retry_after", "failures"), [(429, 7.0, 2), (500, None, 1)])
def test_a_busy_token_endpoint_is_asked_again_and_the_sync_delivers(
    make_target: Callable[..., SalesforceTarget],
    emulator: SalesforceEmulator,
    status: int,
    retry_after: float | None,
    failures: int,
) -> None:
    target = make_target()
    target.retry_sleep = waits = Waits()
    emulator.logins.fail_next(failures, status=status, retry_after=retry_after)
    assert all(outcome.ok for outcome in deliver(target, batch_of([day_record("T-1", DAY)])))
    assert emulator.logins.requests == failures + 1 and emulator.tokens_issued == 1
    assert len(emulator.records()) == 1
    if retry_after is not None:
        assert waits == [retry_after] * failures, "the Retry-After is waited out"


def test_a_token_endpoint_that_keeps_failing_ends_with_a_clear_error_after_the_bounded_attempts(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    emulator.logins.fail_next(50, status=500)
    with pytest.raises(TransientError, match=rf"token request .*HTTP 500.*gave up after {RETRY_ATTEMPTS} attempts"):
        deliver(make_target(), batch_of([day_record("T-1", DAY)]))
    assert emulator.logins.requests == RETRY_ATTEMPTS, "opening the target does not retry the login's retries"
    assert emulator.records() == []


def test_a_refused_login_is_not_retried(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    with pytest.raises(CredentialsError, match="refused"):
        deliver(make_target(username="nobody@example.com"), batch_of([day_record("T-1", DAY)]))
    assert emulator.logins.requests == 1
