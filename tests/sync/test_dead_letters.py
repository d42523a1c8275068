"""A target that refuses records or asks to slow down: dead letters, retries and exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel, ConfigDict

from punchbridge.cli import main
from punchbridge.plugin_api import registry as registry_module
from punchbridge.plugin_api.targets import Batch, CredentialsError, Outcome, RateLimitedError, Target


class FussySettings(BaseModel):
    """Which employees the fake payroll refuses, and how many times it says 429 first."""

    model_config = ConfigDict(extra="forbid")

    refuse: list[str] = []
    rate_limited_first: int = 0
    bad_credentials: bool = False


class FussyTarget(Target):
    """Accepts records except those of refused employees; can ask to slow down or refuse login."""

    settings_model = FussySettings
    max_batch_size = 5000
    received: ClassVar[list[str]] = []
    remote_ids: ClassVar[dict[str, str | None]] = {}  # record key -> the remote_id the delivery handed over
    calls: ClassVar[int] = 0

    def push(self, batch: Batch) -> list[Outcome]:
        """One outcome per record; 429 with Retry-After for the first calls when configured."""
        settings: Any = self.settings
        FussyTarget.calls += 1
        if settings.bad_credentials:
            raise CredentialsError("401 invalid_client")
        if FussyTarget.calls <= settings.rate_limited_first:
            raise RateLimitedError("429 Too Many Requests", retry_after=0.01)
        outcomes = []
        for record in batch.records:
            employee = record.key.split("|")[0]
            if employee in settings.refuse:
                outcomes.append(Outcome(record.key, ok=False, message=f"employee {employee} is not on the payroll"))
            else:
                FussyTarget.received.append(record.key)
                FussyTarget.remote_ids[record.key] = record.remote_id
                outcomes.append(Outcome(record.key, ok=True, remote_id=f"id-{record.key}"))
        return outcomes


@pytest.fixture
def fussy(demo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo with its target replaced by the fussy fake (registered as plugin `fussy`)."""
    real = registry_module.load_plugins

    def with_fussy(only: set[str] | None = None) -> registry_module.PluginRegistry:
        loaded = real(only)
        loaded.targets["fussy"] = FussyTarget
        return loaded

    monkeypatch.setattr(registry_module, "load_plugins", with_fussy)
    FussyTarget.received.clear()
    FussyTarget.remote_ids.clear()
    FussyTarget.calls = 0
    text = demo.read_text().replace(
        "    plugin: local_csv\n", "    plugin: fussy\n    refuse: [E0002]\n    rate_limited_first: 2\n"
    )
    text = "\n".join(
        line for line in text.splitlines() if not line.strip().startswith(("folder: ../", "create_folder", "prefix:"))
    )
    demo.write_text(text + "\n")
    yield demo


def _held_open(config: Path) -> int:
    """How many days the target held open (a check-in without a check-out), from the store's quarantine."""
    import sqlite3

    with sqlite3.connect(config.parent.parent / "punchbridge-demo.db") as connection:
        query = "SELECT count(*) FROM quarantine WHERE reason = 'missing_check_out'"
        return int(connection.execute(query).fetchone()[0])


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_refused_records_become_dead_letters_and_the_rest_is_delivered(fussy: Path) -> None:
    result = _run("sync", "-c", str(fussy))
    assert result.exit_code == 3, result.output
    assert FussyTarget.calls == 2 + 2, "two 429 answers, then the two batches (5,000 + 1,169 records)"
    held = _held_open(fussy)
    assert held, "the demo's days without a check-out are held (open_days: hold)"
    assert len(FussyTarget.received) == 199 * 31 - 31 - held
    assert not [key for key in FussyTarget.received if key.startswith("E0002|")]
    listed = _run("dlq", "list", "-c", str(fussy))
    assert "dead letters (31)" in listed.output
    assert "employee E0002 is not on the payroll" in listed.output


def test_dead_letters_are_not_resent_by_the_next_sync_but_by_dlq_retry(fussy: Path) -> None:
    assert _run("sync", "-c", str(fussy)).exit_code == 3
    FussyTarget.received.clear()
    again = _run("sync", "-c", str(fussy))
    assert again.exit_code == 0, again.output
    assert FussyTarget.received == []
    fussy.write_text(fussy.read_text().replace("refuse: [E0002]", "refuse: []"))
    retried = _run("dlq", "retry", "-c", str(fussy))
    assert retried.exit_code == 0, retried.output
    assert len(FussyTarget.received) == 31
    assert "dead letters (0)" in _run("dlq", "list", "-c", str(fussy)).output


def test_dlq_drop_removes_dead_letters_by_id(fussy: Path) -> None:
    _run("sync", "-c", str(fussy))
    listed = _run("dlq", "list", "-c", str(fussy)).output
    first_id = next(line.split()[1] for line in listed.splitlines() if "E0002|" in line)
    dropped = _run("dlq", "drop", "-c", str(fussy), first_id)
    assert "dropped 1 dead letter" in dropped.output
    assert "dead letters (30)" in _run("dlq", "list", "-c", str(fussy)).output


def test_bad_credentials_stop_the_target_without_retrying(fussy: Path) -> None:
    fussy.write_text(fussy.read_text().replace("rate_limited_first: 2", "bad_credentials: true"))
    result = _run("sync", "-c", str(fussy))
    assert result.exit_code == 1, result.output
    assert "CredentialsError" in result.output and "401 invalid_client" in result.output
    assert FussyTarget.calls == 1, "credentials errors are not retried"


def test_mappings_check_lists_the_unmapped_id(demo: Path) -> None:
    assert _run("sync", "-c", str(demo)).exit_code == 0
    report = _run("mappings", "check", "-c", str(demo))
    assert report.exit_code == 0, report.output
    assert "E0200" in report.output


def test_mappings_check_works_before_the_first_sync_and_writes_nothing(demo: Path) -> None:
    report = _run("mappings", "check", "-c", str(demo))
    assert report.exit_code == 0, report.output
    assert "E0200" in report.output
    assert not list(demo.parent.parent.glob("punchbridge-demo.db*"))


def test_a_changed_day_reaches_the_target_with_the_id_the_target_gave_it_before(fussy: Path) -> None:
    assert _run("sync", "-c", str(fussy)).exit_code == 3
    assert FussyTarget.remote_ids["E0001|2025-10-07|day"] is None  # a first delivery: the target gave no id yet
    (fussy.parent / "demo" / "month" / "inbox" / "late.csv").write_text(
        "employee_id,timestamp,device_id,direction\nE0001,2025-10-07T20:30:00+05:30,BLR-GATE-2,\n"
    )
    FussyTarget.received.clear()

    assert _run("sync", "-c", str(fussy)).exit_code == 0

    assert FussyTarget.received == ["E0001|2025-10-07|day"]
    # What the target answered for the record last time (here `id-<key>`), so a target that replaces
    # its own records (Odoo) knows which of the records it holds are ours.
    assert FussyTarget.remote_ids["E0001|2025-10-07|day"] == "id-E0001|2025-10-07|day"
