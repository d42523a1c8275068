"""`punchbridge reconcile`: what the operator (or cron) sees, and the exit status it alerts on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from support.reconcile_world import World

from punchbridge.errors import ExitCode


def reconcile(world: World, *args: str) -> tuple[int, str]:
    result = world.cli("reconcile", "-c", str(world.config_path), *args)
    return result.exit_code, result.output


def test_a_clean_target_exits_0_and_writes_the_report_beside_the_configuration(world: World) -> None:
    code, output = reconcile(world, "--target", "salesforce", "--period", "2026-10")

    assert code == 0, output
    assert "reconcile salesforce 2026-10-01 to 2026-10-31: clean" in output
    assert "expected 40, held 40: missing 0, different 0, extra 0, matched 40" in output
    reports = world.config_path.parent / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "reconcile-salesforce-2026-10-01_2026-10-31.csv",
        "reconcile-salesforce-2026-10-01_2026-10-31.html",
    ]
    assert str(reports / "reconcile-salesforce-2026-10-01_2026-10-31.csv") in output


def test_differences_exit_3_and_are_listed_with_the_fields_that_differ(world: World) -> None:
    world.salesforce.edit_record("E3|2026-10-06|day", {"Cost_Centre__c": "CC-WRONG"})
    world.salesforce.delete_record("E1|2026-10-02|day")

    code, output = reconcile(world, "--target", "salesforce", "--period", "2026-10-01..2026-10-10")

    assert code == ExitCode.ATTENTION == 3, output  # finished; a person should look
    assert "2 difference(s) remain (1 missing, 1 different; 0 locked)" in output
    assert "fields differing: Cost_Centre__c (1)" in output
    assert "missing   2026-10-02 E1 (10001): resend" in output
    assert "different 2026-10-06 E3 (10003) Cost_Centre__c: resend" in output


def test_repair_then_a_second_run_exits_0(world: World) -> None:
    world.odoo.delete_attendance(world.odoo_day("E1", date(2026, 10, 2))["id"])

    code, output = reconcile(world, "--target", "odoo", "--period", "2026-10", "--repair")
    again, second = reconcile(world, "--target", "odoo", "--period", "2026-10")

    assert code == 0, output
    assert "clean: 1 difference(s) repaired" in output
    assert "missing   2026-10-02 E1 (E1): resent" in output
    assert again == 0 and "clean: the target holds what was computed" in second


def test_out_puts_the_report_in_the_folder_given(world: World, tmp_path: Path) -> None:
    code, output = reconcile(world, "--target", "odoo", "--period", "2026-10", "--out", str(tmp_path / "out" / "x"))

    assert code == 0, output
    assert (tmp_path / "out" / "x" / "reconcile-odoo-2026-10-01_2026-10-31.html").is_file()
    assert not (world.config_path.parent / "reports").exists()


def test_an_unknown_target_exits_2_naming_the_configured_ones(world: World) -> None:
    code, output = reconcile(world, "--target", "zoho", "--period", "2026-10")

    assert code == 2
    assert "error: no target named 'zoho'" in output
    assert "configured targets: odoo, payroll, salesforce" in output


def test_a_target_that_cannot_read_back_exits_2_naming_those_that_can(world: World) -> None:
    code, output = reconcile(world, "--target", "payroll", "--period", "2026-10")

    assert code == 2
    assert "target 'payroll' (local_csv) cannot read back what it holds" in output
    assert "targets here that can: odoo, salesforce" in output


def test_a_wrong_period_exits_2_before_anything_is_recorded(world: World) -> None:
    code, output = reconcile(world, "--target", "odoo", "--period", "October")

    assert code == 2
    assert "error: period 'October' is not a period" in output
    with world.store() as store:
        assert store.last_run("reconcile") is None


def test_a_target_that_cannot_be_reached_exits_1_and_the_run_is_recorded_failed(world: World) -> None:
    world.odoo.fail_next(10, status=503)

    code, output = reconcile(world, "--target", "odoo", "--period", "2026-10")

    assert code == 1
    assert "error: cannot read back what target 'odoo'" in output and "503" in output
    with world.store() as store:
        run = store.last_run("reconcile")
    assert run is not None and run["status"] == "failed"
    assert "TargetUnreachableError" in run["summary"]["error"]
    assert not (world.config_path.parent / "reports").exists()


def test_refused_credentials_exit_1_without_showing_the_key(world: World) -> None:
    key = world.odoo.api_key
    world.odoo.users[2].api_key = "another-key"

    code, output = reconcile(world, "--target", "odoo", "--period", "2026-10")

    assert code == 1
    assert "cannot read back what target 'odoo'" in output and "Credentials" in output
    assert key not in output


def test_a_period_punchbridge_computed_nothing_for_is_clean_and_reads_nothing(world: World) -> None:
    requests = world.odoo.request_count

    code, output = reconcile(world, "--target", "odoo", "--period", "2026-12")

    assert code == 0, output
    assert "expected 0, held 0" in output
    assert world.odoo.request_count - requests <= 3  # the login; no attendance is read


def test_an_out_path_that_is_a_file_exits_2(world: World, tmp_path: Path) -> None:
    taken = tmp_path / "report.txt"
    taken.write_text("not a folder", encoding="utf-8")

    code, output = reconcile(world, "--target", "odoo", "--period", "2026-10", "--out", str(taken))

    assert code == 2
    assert "--out" in output and "is a file" in output


def test_repair_while_another_process_delivers_to_the_target_exits_4_and_resends_nothing(world: World) -> None:
    from punchbridge.store.locks import LockBusyError, StoreLock, delivery_advisory_key

    world.odoo.delete_attendance(world.odoo_day("E1", date(2026, 10, 2))["id"])
    with world.store() as store:
        other = StoreLock(
            store, "delivery", "odoo", advisory_key=delivery_advisory_key("odoo"), what="odoo's delivery lock",
            busy=lambda lock, holder: LockBusyError(lock.describe(holder)), host="node-b", pid=4242,
        )  # fmt: skip
        assert other.acquire()
        try:
            code, output = reconcile(world, "--target", "odoo", "--period", "2026-10", "--repair", "--wait", "0.2")
        finally:
            other.release()
    repaired, second = reconcile(world, "--target", "odoo", "--period", "2026-10", "--repair")

    assert code == ExitCode.BUSY == 4, output
    assert "target 'odoo': another process is delivering to it: host node-b, pid 4242" in output
    assert "missing   2026-10-02 E1 (E1): not_sent" in output
    assert repaired == 0 and "missing   2026-10-02 E1 (E1): resent" in second


def test_a_reconcile_from_the_command_line_is_in_the_run_history(world: World) -> None:
    code, output = reconcile(world, "--target", "odoo", "--period", "2026-10")
    assert code == 0, output
    listed = world.cli("runs", "-c", str(world.config_path), "--kind", "reconcile")
    assert listed.exit_code == 0 and "reconcile odoo" in listed.output and " ok " in listed.output


def test_the_read_back_shows_a_bar_on_a_terminal_and_none_in_a_pipe(world: World, monkeypatch) -> None:
    from support.terminal import fake_terminal

    code, piped = reconcile(world, "--target", "odoo", "--period", "2026-10")
    assert code == 0 and "reading back" not in piped
    screen = fake_terminal(monkeypatch)
    code, output = reconcile(world, "--target", "odoo", "--period", "2026-10")
    assert code == 0, output
    assert "reading back odoo" in screen.getvalue()
