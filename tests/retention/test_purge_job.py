"""A scheduled `run: purge` job, run as an operator would (`punchbridge jobs run`): the locked month's
attendance goes, the run is recorded with what was removed and what held the purge back."""

from __future__ import annotations

from datetime import date

from support.cutoff_world import World

JOB = 'jobs:\n  tidy: {cron: "0 3 * * 0", timezone: UTC, run: purge}\n'
SHORT = "retention: {punches_days: 62, runs_days: 30, quarantine_days: 30}\n"


def test_a_purge_job_removes_the_locked_month_and_records_what_it_did(world: World) -> None:
    world.write_config(extra=SHORT + JOB)
    world.sync()
    assert world.cli("period lock", "--period", "2025-10").exit_code == 0
    done = world.cli("jobs run", "tidy")
    assert done.exit_code == 0, done.output
    assert "job=tidy" in done.output and "kind=purge" in done.output and "status=ok" in done.output
    with world.store() as store:
        assert store.punch_count() == 0
        assert len(store.load_days(date(2025, 10, 1), date(2025, 10, 31))) == 0
        assert len(store.load_days(date(2025, 11, 1), date(2025, 11, 30))) == 90, "November is open: it stays"
        run = store.last_run("purge", job="tidy")
    assert run is not None and run["status"] == "ok"
    assert run["summary"]["removed"]["punches"] == 30  # every punch of October
    assert "2025-11 is not locked" in run["summary"]["held_by"]
