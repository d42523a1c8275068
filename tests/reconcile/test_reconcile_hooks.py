"""Lifecycle hooks of a reconciliation: one `reconcile` run (a repair is part of it, not a sync of its
own), and the repair's resend fires the batch hooks like any delivery."""

from __future__ import annotations

from datetime import date

import pytest
from support.hook_recorder import Call, install, kinds, of
from support.reconcile_world import World

from punchbridge.reconcile import TargetNotConfiguredError, TargetUnreachableError

MISSING = "E1|2026-10-02|day"


@pytest.fixture
def calls(world: World, monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """The recorder, installed after the world's first sync."""
    return install(monkeypatch)


def test_a_repair_is_one_reconcile_run_whose_resend_fires_the_batch_hooks(world: World, calls: list[Call]) -> None:
    world.odoo.delete_attendance(world.odoo_day("E1", date(2026, 10, 2))["id"])

    report = world.reconcile("odoo", repair=True)

    assert report.counts()["resent"] == 1
    assert kinds(calls) == [("run_started", "reconcile"), ("run_finished", "reconcile")]
    assert of(calls, "run_started")[0]["targets"] == ["odoo"]
    (batch,) = of(calls, "before_batch")
    assert (batch["target"], batch["keys"]) == ("odoo", [MISSING])
    assert of(calls, "after_batch") == [{"target": "odoo", "batch_id": batch["batch_id"], "ok": [MISSING]}]
    summary = of(calls, "run_finished")[0]["summary"]
    assert (summary["missing"], summary["resent"], summary["clean"]) == (1, 1, True)
    assert "error" not in summary


def test_a_resend_the_target_refuses_fires_on_dead_letter(world: World, calls: list[Call]) -> None:
    world.odoo.delete_attendance(world.odoo_day("E1", date(2026, 10, 2))["id"])
    world.odoo.refuse_employee(world.odoo.employee_id("E1"))

    world.reconcile("odoo", repair=True)

    (letter,) = of(calls, "on_dead_letter")
    assert (letter["target"], letter["record_key"]) == ("odoo", MISSING)
    assert of(calls, "after_batch")[0]["ok"] == []
    assert of(calls, "run_finished")[0]["summary"]["refused"] == 1


def test_a_reconcile_without_repair_sends_no_batch(world: World, calls: list[Call]) -> None:
    world.reconcile("salesforce")

    assert kinds(calls) == [("run_started", "reconcile"), ("run_finished", "reconcile")]
    assert of(calls, "run_started")[0]["targets"] == ["salesforce"]
    assert of(calls, "before_batch") == []


def test_a_reconcile_that_fails_fires_run_finished_once_with_the_error(world: World, calls: list[Call]) -> None:
    world.odoo.fail_next(10, status=503)  # more than every attempt of the read-back

    with pytest.raises(TargetUnreachableError):
        world.reconcile("odoo")

    assert kinds(calls) == [("run_started", "reconcile"), ("run_finished", "reconcile")]
    assert of(calls, "run_finished")[0]["summary"]["error"].startswith("TargetUnreachableError: cannot read back")
    with world.store() as store:
        run = store.last_run("reconcile")
    assert run is not None and run["status"] == "failed"


def test_a_reconcile_refused_before_it_starts_fires_nothing(world: World, calls: list[Call]) -> None:
    with pytest.raises(TargetNotConfiguredError, match="no target named 'zoho'"):
        world.reconcile("zoho")

    assert calls == []
