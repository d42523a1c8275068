"""One retry policy for every call a target makes: bounded in attempts and time, `Retry-After` honoured.

The sync engine retries a batch's push with it (`punchbridge.sync.batches`), the reconciliation its
read-back, and `HttpTarget` every login: opening the target (`on_open`: Odoo's authenticate,
ERPNext's key check, Salesforce's token) and each token a plugin mints later, on first use or when
the old one expired (`HttpConnection.retrying`: Zoho's OAuth token, SuccessFactors' SAML bearer
token). What is worth another attempt is a `TransientError` (429, 5xx, no answer), after the wait
the target asked for when it said one, else a growing backoff with jitter; a refused login
(`CredentialsError`) or any other error is never retried.

The policy leans on HTTP's own semantics only (429 in RFC 6585, `Retry-After` and 5xx in RFC 9110),
not on any vendor's promise: no target documents that a retried login is safe beyond that, and none
is retried after it said the credentials are wrong.

An error that went through the retries is marked (`TransientError.gave_up_after`, also named in its
message) so an outer retry does not multiply the attempts: a push that had to log in again does not
try the login five times five times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from punchbridge.errors import TransientError

__all__ = ["RETRY_ATTEMPTS", "RETRY_TIMEOUT_SECONDS", "retry_wait", "with_retries"]

#: Attempts of one call (the first included) before its failure is the run's.
RETRY_ATTEMPTS = 5
#: The longest time the attempts of one call may take, waits included.
RETRY_TIMEOUT_SECONDS = 300.0
#: The first backoff when the target named no wait, doubled after each attempt up to `_BACKOFF_MAX`.
_BACKOFF_FIRST = 0.1
_BACKOFF_MAX = 5.0

T = TypeVar("T")


def retry_wait(exc: BaseException) -> bool | float:
    """Whether `exc` is worth another attempt, as stamina's `on` reads it: the seconds the target asked to
    wait (its Retry-After), True for the backoff, False for an error that is not transient or that went
    through the retries already."""
    if not isinstance(exc, TransientError) or exc.gave_up_after is not None:
        return False
    return float(exc.retry_after) if exc.retry_after is not None else True


def with_retries(
    call: Callable[[], T],
    *,
    sleep: Callable[[float], None] | None = None,
    attempts: int = RETRY_ATTEMPTS,
    timeout: float = RETRY_TIMEOUT_SECONDS,
) -> T:
    """`call()`, tried again after each `TransientError` (see `retry_wait`) up to `attempts` times within
    `timeout` seconds; the last error is raised marked with the attempts made. A target that asks for a
    longer wait than `timeout` is not waited for: its error is raised at once.

    `sleep` waits instead of stamina (the Retry-After, else the backoff): a test passes its clock's
    sleep so that no time passes for real; stamina's test mode (`stamina.set_testing`) applies too.
    """
    import stamina  # here: every HTTP plugin imports this module when it loads, not only when it retries

    tries = 0

    def on(exc: BaseException) -> bool | float:
        wait = retry_wait(exc)
        if wait is not True and wait is not False and wait > timeout:
            return False  # a wait longer than the whole budget (Zoho's 10 minutes of token minting): not in this run
        if wait is False or sleep is None or tries >= attempts:  # after the last attempt nothing is waited for
            return wait
        sleep(min(_BACKOFF_FIRST * 2 ** (tries - 1), _BACKOFF_MAX) if wait is True else float(wait))
        return 0.0

    try:
        for attempt in stamina.retry_context(on=on, attempts=attempts, timeout=timeout):
            with attempt:
                tries += 1
                return call()
    except TransientError as exc:
        if exc.gave_up_after is None:
            exc.gave_up_after = tries
            exc.args = (f"{exc} (gave up after {tries} attempt{'s' if tries != 1 else ''})", *exc.args[1:])
        raise
    raise AssertionError("stamina ended its attempts without an outcome")  # pragma: no cover
