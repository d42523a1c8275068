"""`punchbridge quarantine list`: every quarantined row, whoever held it back, with filters and the kept body."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from support.minop_kit import invoke, write_config
from support.receiver_kit import TOKEN, Running, flat_push, nested_push, running_receiver

from punchbridge.store import Store


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration whose store holds rows from the receiver, a source and the mapping."""
    path = write_config(tmp_path / "site")
    with running_receiver(tmp_path, store_url=f"sqlite:///{tmp_path / 'site' / 'store.db'}") as receiver:
        _push(receiver, flat_push(user="12\u200b3"))  # an invisible character: malformed_record
        _push(receiver, flat_push(log_time="2000-01-01 00:00:00"))  # a clock reset: implausible_timestamp
        nested = nested_push(log_time="someday")
        nested["RealTime"]["AuthToken"] = TOKEN
        receiver.client.post("/push/device001", json=nested)  # bad_timestamp, token in the body
    others = [
        {"source": "minop", "employee_id": "E9", "timestamp": "2026-01-07T04:00:00Z", "device_id": "device001",
         "reason": "unknown_employee", "detail": "[bold]E9[/bold] unknown"},
        {"source": "sync:payroll", "employee_id": "E1", "timestamp": "2026-01-07", "reason": "unmapped_id",
         "detail": "E1 has no payroll id"},
    ]  # fmt: skip
    with Store.open(f"sqlite:///{tmp_path / 'site' / 'store.db'}") as store:
        store.add_quarantine(pd.DataFrame(others))
    return path


def _push(receiver: Running, body: dict[str, object]) -> None:
    assert receiver.client.post("/push", params={"token": TOKEN}, json=body).text == "ok"


def test_every_quarantined_row_is_listed_whoever_held_it(config: Path) -> None:
    result = invoke("quarantine", "list", "-c", config)

    assert result.exit_code == 0, result.output
    for text in ("malformed_record", "implausible_timestamp", "bad_timestamp", "unknown_employee", "unmapped_id"):
        assert text in result.output
    assert "quarantine (5 rows)" in result.output
    assert "12\\u200b3" in result.output  # the invisible character is shown, not hidden
    assert "[bold]E9[/bold]" in result.output  # what a sender wrote is shown as text, never as markup


def test_rows_are_filtered_by_source_prefix_and_reason(config: Path) -> None:
    pushes = invoke("quarantine", "list", "-c", config, "--source", "receiver", "--json")
    exact = invoke("quarantine", "list", "-c", config, "--source", "minop", "--json")
    timing = invoke("quarantine", "list", "-c", config, "--reason", "bad_timestamp", "--json")

    rows = [json.loads(line) for line in pushes.output.splitlines()]
    assert [row["reason"] for row in rows] == ["malformed_record", "implausible_timestamp", "bad_timestamp"]
    assert {row["source"] for row in rows} == {"receiver:push"}
    assert [json.loads(line)["employee_id"] for line in exact.output.splitlines()] == ["E9"]
    assert [json.loads(line)["reason"] for line in timing.output.splitlines()] == ["bad_timestamp"]


def test_a_quarantined_push_is_listed_with_its_body_without_token_or_health_data(config: Path) -> None:
    result = invoke("quarantine", "list", "-c", config, "--reason", "bad_timestamp", "--json")

    row = json.loads(result.output)
    body = json.loads(row["body"])
    assert body["RealTime"]["PunchLog"]["LogTime"] == "someday"
    assert body["RealTime"]["AuthToken"] == "***" and body["RealTime"]["PunchLog"]["FaceMask"] == "***"
    assert TOKEN not in result.output
    assert row["detail"].startswith("RealTime.PunchLog.LogTime: 'someday'")


def test_limit_shows_the_newest_rows_and_says_how_many_there_are(config: Path) -> None:
    result = invoke("quarantine", "list", "-c", config, "--limit", "2", "--json")

    assert [json.loads(line)["reason"] for line in result.stdout.splitlines()] == ["unknown_employee", "unmapped_id"]
    assert "showing the newest 2 of 5 rows" in result.stderr
