"""A 429 or 500 on SuccessFactors' token request is retried as every call is (issue 15, item 4); that a
refused assertion is tried once is `test_a_key_successfactors_does_not_know_is_a_credentials_error_tried_once`."""

from __future__ import annotations

import pytest
from support.login_retries import RETRY_ATTEMPTS, Waits, deliver
from support.sap_builders import batch_of, day_record

from punchbridge.plugin_api import TransientError
from punchbridge.plugins.sap.successfactors import SuccessFactorsTarget
from punchbridge.testing.emulators.sap import SapEmulator

DAY = "2025-10-06"


@pytest.mark.parametrize(("status", "retry_after", "failures"), [(429, 7.0, 2), (500, None, 1)])
def test_a_busy_token_endpoint_is_asked_again_and_the_sync_delivers(
    target: SuccessFactorsTarget, emulator: SapEmulator, status: int, retry_after: float | None, failures: int
) -> None:
    target.retry_sleep = waits = Waits()
    emulator.logins.fail_next(failures, status=status, retry_after=retry_after)
    assert all(outcome.ok for outcome in deliver(target, batch_of([day_record("T-1", DAY)])))
    assert emulator.logins.requests == failures + 1
    assert len(emulator.tokens_issued()) == 1
    if retry_after is not None:
        assert waits == [retry_after] * failures, "the Retry-After is waited out"


def test_a_token_endpoint_that_keeps_failing_ends_with_a_clear_error_after_the_bounded_attempts(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    emulator.logins.fail_next(50, status=500)
    with pytest.raises(TransientError, match=rf"oauth/token.*HTTP 500.*gave up after {RETRY_ATTEMPTS} attempts"):
        deliver(target, batch_of([day_record("T-1", DAY)]))
    assert emulator.logins.requests == RETRY_ATTEMPTS, "the engine's retry of the push does not multiply them"
    assert emulator.tokens_issued() == []
