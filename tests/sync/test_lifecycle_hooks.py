"""Lifecycle hooks, as a plugin loaded from the entry points hears them: every run fires
`run_started` and `run_finished` once, and every delivery path fires the batch hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cutoff_world import World
from support.hook_recorder import Call, PickyTarget, install, kinds, of

LATE = [("E1", "2025-10-13T09:02:00+05:30"), ("E1", "2025-10-13T18:05:00+05:30")]
#: The payroll target replaced by the recorder's in-memory target (4 records a batch).
PICKY = "  payroll: {{plugin: picky, mapping: payroll.yaml{extra}}}\n"
E2_DAYS = 61  # 1 October to 30 November


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.chdir(tmp_path)
    return World(tmp_path)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    return install(monkeypatch)


def _picky(world: World, extra: str = "") -> None:
    world.write_config(adjustments=False, targets=PICKY.format(extra=extra))


def test_a_sync_fires_one_start_and_one_finish_and_the_batch_hooks_of_each_file(
    world: World, calls: list[Call]
) -> None:
    world.sync()

    assert kinds(calls) == [("run_started", "sync"), ("run_finished", "sync")]
    assert of(calls, "run_started")[0]["targets"] == ["payroll", "adjustments"]
    summary = of(calls, "run_finished")[0]["summary"]
    rows = world.rows("attendance")
    assert summary["delivered"] == len(rows) == 3 * E2_DAYS and summary["dead_lettered"] == 0
    assert summary["targets"]["payroll"]["error"] is None and "error" not in summary
    sent = of(calls, "before_batch", target="payroll")
    assert len(sent) == len(world.files("attendance")) == 2  # one file per payroll period
    assert [b["batch_id"] for b in of(calls, "after_batch", target="payroll")] == [b["batch_id"] for b in sent]
    assert sorted(key for batch in sent for key in batch["keys"]) == sorted(
        f"{row['EmployeeCode']}|{'-'.join(reversed(row['Date'].split('/')))}|day" for row in rows
    )


def test_adjustments_are_delivered_with_the_batch_hooks(world: World, calls: list[Call]) -> None:
    world.sync()
    assert world.cli("period lock", "--period", "2025-10").exit_code == 0
    world.punch_file("late.csv", LATE)
    calls.clear()

    world.sync()

    with world.store() as store:
        (adjustment,) = store.adjustments()
    (batch,) = of(calls, "before_batch", target="adjustments")
    assert batch["keys"] == [adjustment.key]
    assert of(calls, "after_batch", target="adjustments") == [
        {"target": "adjustments", "batch_id": batch["batch_id"], "ok": [adjustment.key]}
    ]
    assert kinds(calls) == [("run_started", "sync"), ("run_finished", "sync")]


def test_dlq_retry_is_a_retry_run_whose_batches_fire_the_hooks(world: World, calls: list[Call]) -> None:
    _picky(world, ", refuse: [E2]")
    world.sync(expect=3)
    refused = of(calls, "on_dead_letter", target="payroll")
    assert len(refused) == E2_DAYS and {r["record_key"].split("|")[0] for r in refused} == {"E2"}
    assert {r["message"] for r in refused} == {"not on this payroll"}
    _picky(world)
    calls.clear()

    result = world.cli("dlq retry")

    assert result.exit_code == 0, result.output
    assert kinds(calls) == [("run_started", "retry"), ("run_finished", "retry")]
    assert of(calls, "run_started")[0]["targets"] == ["payroll"]
    summary = of(calls, "run_finished")[0]["summary"]
    assert (summary["delivered"], summary["dead_lettered"]) == (E2_DAYS, 0)
    sent = of(calls, "before_batch", target="payroll")
    assert sorted(key for batch in sent for key in batch["keys"]) == sorted(r["record_key"] for r in refused)
    assert max(len(batch["keys"]) for batch in sent) == PickyTarget.max_batch_size
    assert len(of(calls, "after_batch", target="payroll")) == len(sent)
    assert of(calls, "on_dead_letter") == []


def test_dlq_retry_of_a_target_that_is_not_configured_is_refused_naming_the_targets(
    world: World, calls: list[Call]
) -> None:
    result = world.cli("dlq retry", "--target", "payrol")

    assert result.exit_code == 2
    assert "--target: no target named 'payrol'; configured targets: adjustments, payroll" in result.output
    assert calls == []


def test_a_sync_that_fails_fires_run_finished_once_with_the_error_and_the_resend_is_the_same_batch(
    world: World, calls: list[Call]
) -> None:
    _picky(world, ", explode: true")

    with pytest.raises(RuntimeError, match="picky target exploded"):
        world.sync()

    assert kinds(calls) == [("run_started", "sync"), ("run_finished", "sync")]
    assert of(calls, "run_finished")[0]["summary"]["error"] == "RuntimeError: picky target exploded"
    with world.store() as store:
        run = store.last_run("sync")
        (left_open,) = store.open_batches("payroll")
    assert run is not None and run["status"] == "failed" and "picky target exploded" in run["summary"]["error"]
    (tried,) = of(calls, "before_batch")
    assert (tried["batch_id"], tried["seq"]) == (left_open.batch_id, left_open.seq)

    _picky(world)
    calls.clear()
    world.sync()

    first = of(calls, "before_batch")[0]
    assert (first["batch_id"], first["seq"], first["keys"]) == (tried["batch_id"], tried["seq"], tried["keys"])
    assert {key: PickyTarget.held[key] for key in first["keys"]} == {
        record.key: dict(record.fields) for record in left_open.records
    }
    sent = [key for batch in of(calls, "before_batch") for key in batch["keys"]]
    assert len(sent) == len(set(sent)) == 3 * E2_DAYS, "every day once: the resumed batch is not cut again"
    assert kinds(calls) == [("run_started", "sync"), ("run_finished", "sync")]


def test_an_unknown_target_is_bad_input_naming_target_and_no_run_starts(world: World, calls: list[Call]) -> None:
    result = world.sync("--target", "nope", "--target", "payroll", expect=2)

    assert "--target: no target named 'nope'; configured targets: adjustments, payroll" in result.output
    assert calls == []
    with world.store() as store:
        assert store.last_run("sync") is None


def test_purge_fires_a_purge_run_without_targets(world: World, calls: list[Call]) -> None:
    world.sync()
    calls.clear()

    assert world.cli("purge", "--dry-run").exit_code == 0
    assert world.cli("purge").exit_code == 0

    assert kinds(calls) == [("run_started", "purge"), ("run_finished", "purge")] * 2
    assert [c["targets"] for c in of(calls, "run_started")] == [[], []]
    dry, real = (c["summary"] for c in of(calls, "run_finished"))
    assert dry["dry_run"] is True and real["dry_run"] is False
    assert real["total"] == sum(real["removed"].values())
