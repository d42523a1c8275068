"""A scheduled `run: reconcile` job, run as an operator would (`punchbridge jobs run`): it finds the
difference, records the run as needing a look, and its log line names the job."""

from __future__ import annotations

from datetime import date

from support.reconcile_world import World


def _add_job(world: World) -> None:
    text = world.config_path.read_text()
    assert "\njobs:" not in text
    job = '  weekly-check: {cron: "0 6 * * mon", timezone: Asia/Kolkata, run: reconcile, target: odoo, period: 2026-10}'
    world.config_path.write_text(text + "\njobs:\n" + job + "\n")


def test_a_reconcile_job_reports_a_missing_day_and_is_recorded_partial(world: World) -> None:
    world.odoo.delete_attendance(world.odoo_day("E1", date(2026, 10, 2))["id"])
    _add_job(world)
    done = world.cli("jobs", "run", "-c", str(world.config_path), "weekly-check")
    assert done.exit_code == 3, done.output  # partial: it ran, and found something to look at
    assert "job=weekly-check" in done.output and "status=partial" in done.output
    with world.store() as store:
        run = store.last_run("reconcile", job="weekly-check")
    assert run is not None and run["status"] == "partial"
    assert run["summary"]["missing"] == 1 and run["summary"]["clean"] is False
    assert (world.config_path.parent / "reports" / "reconcile-odoo-2026-10-01_2026-10-31.html").is_file()


def test_a_reconcile_job_on_a_clean_target_is_ok(world: World) -> None:
    _add_job(world)
    done = world.cli("jobs", "run", "-c", str(world.config_path), "weekly-check")
    assert done.exit_code == 0, done.output
    listed = world.cli("runs", "-c", str(world.config_path), "--job", "weekly-check")
    assert "reconcile" in listed.output and "ok" in listed.output
