"""`punchbridge period lock|unlock|list`: what an operator types, and what is refused and why."""

from __future__ import annotations

import json

import pytest
from support.cutoff_world import World

from punchbridge.store.receiver import EventWrite, PeriodLockWrite


def _audit(world: World) -> list[tuple[str, dict]]:
    with world.store() as store, store.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT event, detail FROM audit ORDER BY id").all()
    return [(event, json.loads(detail)) for event, detail in rows]


def test_locking_twice_keeps_the_first_lock_and_says_so(world: World) -> None:
    first = world.cli("period lock", "--period", "2025-10", "--site", "blr")
    assert first.exit_code == 0 and "locked 2025-10 for site blr" in first.output
    again = world.cli("period lock", "--period", "2025-10", "--site", "blr")
    assert again.exit_code == 0 and "already locked for site blr" in again.output
    assert [event for event, _ in _audit(world)] == ["period.locked"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--period", "2025-13"], "'2025-13' is not a period"),
        (["--period", "October"], "use YYYY-MM"),
        (["--period", "2025-10", "--site", "xyz"], "no site 'xyz' in the configuration (sites: ber, blr"),
        ([], "Missing option '--period'"),
    ],
)
def test_a_bad_period_or_site_is_refused_naming_the_option(world: World, options: list[str], message: str) -> None:
    result = world.cli("period lock", *options)
    assert result.exit_code == 2
    assert message in result.output
    with world.store() as store:
        assert len(store.period_locks()) == 0


def test_unlock_needs_a_reason_and_records_it_in_the_audit(world: World) -> None:
    world.cli("period lock", "--period", "2025-10")
    missing = world.cli("period unlock", "--period", "2025-10")
    assert missing.exit_code == 2 and "Missing option '--reason'" in missing.output
    blank = world.cli("period unlock", "--period", "2025-10", "--reason", "   ")
    assert blank.exit_code == 2 and "give the reason in words" in blank.output

    done = world.cli("period unlock", "--period", "2025-10", "--reason", "locked before the payroll run")
    assert done.exit_code == 0 and "unlocked 2025-10 for every site" in done.output
    event, detail = _audit(world)[-1]
    assert event == "period.unlocked"
    assert (detail["period"], detail["site"], detail["reason"]) == ("2025-10", "*", "locked before the payroll run")
    with world.store() as store:
        assert len(store.period_locks()) == 0


def test_a_site_cannot_be_unlocked_out_of_a_lock_for_every_site(world: World) -> None:
    world.cli("period lock", "--period", "2025-10")
    result = world.cli("period unlock", "--period", "2025-10", "--site", "blr", "--reason", "one site only")
    assert result.exit_code == 2
    assert "not locked for 'blr' (sites locked for 2025-10: *" in result.output
    with world.store() as store:
        assert len(store.period_locks()) == 1


def test_list_shows_command_and_cloud_locks_and_flags_labels_that_lock_nothing(world: World) -> None:
    world.cli("period lock", "--period", "2025-10", "--site", "ber")
    with world.store() as store:
        odd = PeriodLockWrite(site="*", period="2025-W44", locked_at="2025-11-03T10:00:00Z")
        store.receive([EventWrite("evt-odd", "payroll.cutoff.locked", "minop", "webhook", effects=(odd,))])
    result = world.cli("period list")
    assert result.exit_code == 0, result.output
    assert "locked periods (2)" in result.output
    lines = result.output.splitlines()
    assert any("2025-10" in line and "ber" in line and "cli" in line for line in lines)
    assert any("2025-W44" in line and "webhook" in line and "not a YYYY-MM label" in line for line in lines)


def test_unlock_says_that_adjustments_recorded_while_locked_stay(world: World) -> None:
    world.sync()
    world.cli("period lock", "--period", "2025-10")
    world.punch_file("late.csv", [("E1", "2025-10-13T09:02:00+05:30"), ("E1", "2025-10-13T18:05:00+05:30")])
    world.sync()
    listed = world.cli("period list").output
    assert any("2025-10" in line and " 1 " in line for line in listed.splitlines())
    result = world.cli("period unlock", "--period", "2025-10", "--reason", "reopened by payroll")
    assert "1 adjustment(s) of 2025-10 were recorded while it was locked: they stay" in result.output
