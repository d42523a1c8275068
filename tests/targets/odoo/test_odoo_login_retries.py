"""A 429 or 500 on Odoo's login (authenticate; on JSON-2 the key check) is retried as every call is; a refused
key is not (issue 15, item 4). Once per protocol."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.login_retries import RETRY_ATTEMPTS, Waits, deliver
from support.odoo_days import batch, held, record
from support.odoo_servers import OdooRun

from punchbridge.plugin_api import CredentialsError, TransientError
from punchbridge.plugins.odoo import OdooTarget


@pytest.fixture
def opened() -> Iterator[list[OdooTarget]]:
    """Targets made by a test, closed at its end."""
    targets: list[OdooTarget] = []
    yield targets
    for target in targets:
        target.close()


def _target(odoo: OdooRun, opened: list[OdooTarget], **changes: str) -> OdooTarget:
    target = OdooTarget("odoo", odoo.settings(**changes))
    opened.append(target)
    return target


@pytest.mark.parametrize(("status", "retry_after", "failures"), [(429, 7.0, 2), (500, None, 1)])
def test_a_busy_login_is_asked_again_and_the_sync_delivers(
    odoo: OdooRun, opened: list[OdooTarget], status: int, retry_after: float | None, failures: int
) -> None:
    target = _target(odoo, opened)
    target.retry_sleep = waits = Waits()
    odoo.emulator.logins.fail_next(failures, status=status, retry_after=retry_after)
    assert all(outcome.ok for outcome in deliver(target, batch(record("A1"))))
    assert odoo.emulator.logins.requests == failures + 1
    assert len(held(odoo, "A1")) == 1
    if retry_after is not None:
        assert waits == [retry_after] * failures, "the Retry-After is waited out"


def test_a_login_that_keeps_failing_ends_with_a_clear_error_after_the_bounded_attempts(
    odoo: OdooRun, opened: list[OdooTarget]
) -> None:
    odoo.emulator.logins.fail_next(50, status=503, retry_after=1)
    with pytest.raises(TransientError, match=rf"503.*gave up after {RETRY_ATTEMPTS} attempts"):
        deliver(_target(odoo, opened), batch(record("A1")))
    assert odoo.emulator.logins.requests == RETRY_ATTEMPTS
    assert held(odoo, "A1") == []


def test_a_refused_key_is_not_retried(odoo: OdooRun, opened: list[OdooTarget]) -> None:
    with pytest.raises(CredentialsError):
        deliver(_target(odoo, opened, api_key="wrong-key"), batch(record("A1")))
    assert odoo.emulator.logins.requests == 1
