"""The target against the emulator's rules: what the API refuses, and what each refusal becomes.

When you make the emulator enforce what your service enforces, add the rule here too: a test that
the emulator refuses it, and what the target makes of the refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from punchbridge.plugin_api import Batch, CredentialsError, RateLimitedError, Record
from punchbridge.testing.http import ServedApp

from punchbridge_example.emulator import MAX_RECORDS, State
from punchbridge_example.target import ExampleTarget


def day(employee: str, work_date: str, worked: int = 480) -> Record:
    """One processed day as the mapping of the conformance tests makes it."""
    fields = {"employee": employee, "date": work_date, "status": "present", "worked": worked}
    return Record(key=f"{employee}|{work_date}|day", fields=fields, content_hash=f"{employee}{work_date}{worked}")


def batch(*records: Record) -> Batch:
    """A batch of `records`, as the engine records it before sending."""
    return Batch(
        target="hr",
        batch_id=1,
        period_start=date(2025, 10, 1),
        period_end=date(2025, 10, 31),
        seq=1,
        records=records,
        columns=("employee", "date", "status", "worked"),
    )


@pytest.fixture
def target(settings: dict[str, Any]) -> Iterator[ExampleTarget]:
    """The target, configured for the served emulator; closed after the test."""
    target = ExampleTarget("hr", settings)
    yield target
    target.close()


def test_a_record_the_api_refuses_gets_its_message_and_the_rest_of_the_batch_lands(
    target: ExampleTarget, state: State
) -> None:
    outcomes = target.push(batch(day("T-1", "2025-10-06"), day("T-2", "06/10/2025")))
    assert [outcome.ok for outcome in outcomes] == [True, False]
    assert "`date` must be a date as YYYY-MM-DD" in str(outcomes[1].message)
    assert list(state.records) == ["T-1|2025-10-06|day"]


def test_a_resent_batch_writes_nothing_and_a_changed_day_replaces_its_record(
    target: ExampleTarget, state: State
) -> None:
    target.push(batch(day("T-1", "2025-10-06")))
    target.push(batch(day("T-1", "2025-10-06")))
    assert state.writes == 1
    target.push(batch(day("T-1", "2025-10-06", worked=500)))
    assert state.writes == 2
    assert state.records["T-1|2025-10-06|day"]["worked"] == 500


def test_the_api_refuses_a_call_over_its_size_limit_and_the_target_never_sends_one(
    server: ServedApp, state: State, settings: dict[str, Any]
) -> None:
    rows = [{"key": f"T-{n}|2025-10-06|day", "employee": f"T-{n}", "date": "2025-10-06"} for n in range(201)]
    answer = httpx.post(
        f"{server.url}/records", json={"records": rows}, headers={"Authorization": f"Bearer {settings['token']}"}
    )
    assert answer.status_code == 413
    assert state.records == {}
    assert ExampleTarget.max_batch_size <= MAX_RECORDS


def test_over_the_rate_limit_the_target_is_told_how_long_to_wait(target: ExampleTarget, state: State) -> None:
    now = [1000.0]
    state.clock, state.requests_per_minute = (lambda: now[0]), 2
    target.push(batch(day("T-1", "2025-10-06")))
    now[0] += 15
    target.push(batch(day("T-1", "2025-10-07")))
    with pytest.raises(RateLimitedError) as raised:
        target.push(batch(day("T-1", "2025-10-08")))
    assert raised.value.retry_after == 45
    now[0] += 45
    assert [outcome.ok for outcome in target.push(batch(day("T-1", "2025-10-08")))] == [True]


def test_a_refused_token_is_a_credentials_error_that_never_shows_the_token(settings: dict[str, Any]) -> None:
    target = ExampleTarget("hr", {**settings, "token": "wrong-token-value"})
    with pytest.raises(CredentialsError) as raised:
        target.push(batch(day("T-1", "2025-10-06")))
    assert "refused the token" in str(raised.value)
    (check,) = target.check_online()
    assert not check.ok and "refused the token" in check.message
    assert "wrong-token-value" not in str(raised.value) + check.message


def test_the_online_check_reads_and_writes_nothing(target: ExampleTarget, state: State) -> None:
    assert [check.ok for check in target.check_online()] == [True]
    assert state.writes == 0


def test_read_back_gives_the_days_held_in_the_period_as_they_were_sent(target: ExampleTarget) -> None:
    sent = [day("T-1", "2025-10-06"), day("T-2", "2025-10-07", worked=300), day("T-1", "2025-11-03")]
    target.push(batch(*sent))
    held = list(target.read_back(date(2025, 10, 1), date(2025, 10, 31)))
    assert [(h.employee, h.work_date, dict(h.fields)) for h in held] == [
        ("T-1", date(2025, 10, 6), dict(sent[0].fields)),
        ("T-2", date(2025, 10, 7), dict(sent[1].fields)),
    ]
    assert [h.employee for h in target.read_back(date(2025, 10, 1), date(2025, 10, 31), employees=["T-2"])] == ["T-2"]
