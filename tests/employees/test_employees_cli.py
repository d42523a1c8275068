"""`punchbridge employees sync | check | list`: what the operator sees, and the exit codes."""

from __future__ import annotations

from pathlib import Path

from support.employee_kit import invoke, users, write_config


def row_of(output: str, stgid: str) -> list[str]:
    """The cells of the table row of terminal `stgid`."""
    line = next(row for row in output.splitlines() if row.strip("│ ").startswith(stgid))
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def test_a_dry_run_prints_adds_updates_and_deletes_per_terminal_and_sends_nothing(zoho_config, minop) -> None:
    result = invoke("employees", "sync", "-c", zoho_config, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was sent or written" in result.output and "would change" in result.output
    assert row_of(result.output, "gate-1")[:6] == ["gate-1", "hq", "0", "1", "0", "0"]
    assert row_of(result.output, "blr-1")[:8] == ["blr-1", "blr", "0", "3", "0", "0", "0", "6"]
    assert minop.stats["requests:execute"] == 0


def test_a_sync_prints_what_was_sent_and_a_rerun_nothing(zoho_config, minop) -> None:
    first = invoke("employees", "sync", "-c", zoho_config)
    assert first.exit_code == 0, first.output
    assert "employee sync: 4 employee record(s) from hrms (4 active)" in first.output
    again = invoke("employees", "sync", "-c", zoho_config)
    assert again.exit_code == 0 and users(minop)["hyd-1"] == {"1003"}


def test_a_refused_mass_delete_exits_6_and_says_how_to_go_on(zoho_config, minop, zoho) -> None:
    assert invoke("employees", "sync", "-c", zoho_config).exit_code == 0
    zoho.seed_employees([], replace=True)
    result = invoke("employees", "sync", "-c", zoho_config)
    assert result.exit_code == 6, result.output  # REFUSED: rerun with the option that allows it
    assert "--allow-mass-delete" in result.output and "none is active" in result.output
    dry = invoke("employees", "sync", "-c", zoho_config, "--dry-run")
    assert dry.exit_code == 0 and "a real run would be refused" in dry.output
    allowed = invoke("employees", "sync", "-c", zoho_config, "--allow-mass-delete")
    assert allowed.exit_code == 0 and users(minop)["blr-1"] == set()


def test_a_refused_command_exits_1(zoho_config, minop) -> None:
    minop.command_reply("busy")
    result = invoke("employees", "sync", "-c", zoho_config)
    assert result.exit_code == 1 and "busy" in result.output


def test_check_lists_differences_exits_3_and_0_once_synced(zoho_config, minop) -> None:
    before = invoke("employees", "check", "-c", zoho_config)
    assert before.exit_code == 3 and "missing" in before.output and "8 difference(s)" in before.output
    only = invoke("employees", "check", "-c", zoho_config, "--device", "hyd-1")
    assert only.exit_code == 3 and "1 difference(s)" in only.output
    assert invoke("employees", "sync", "-c", zoho_config).exit_code == 0
    after = invoke("employees", "check", "-c", zoho_config)
    assert after.exit_code == 0 and "every terminal holds what the HRMS says" in after.output
    assert minop.stats["requests:execute"] == 16  # check sent nothing


def test_check_of_an_unknown_device_is_a_usage_error(zoho_config) -> None:
    result = invoke("employees", "check", "-c", zoho_config, "--device", "nowhere")
    assert result.exit_code == 2 and "nowhere" in result.output


def test_list_shows_the_ledger_and_all_shows_deleted_users_too(zoho_config, minop, zoho) -> None:
    invoke("employees", "sync", "-c", zoho_config)
    listed = invoke("employees", "list", "-c", zoho_config, "--device", "gate-1")
    assert listed.exit_code == 0 and "1004" in listed.output and "admin" in listed.output
    assert "05:30:00-15:00:00" in listed.output and "1 user(s)" in listed.output
    zoho.seed_employees([], replace=True)
    invoke("employees", "sync", "-c", zoho_config, "--allow-mass-delete")
    assert "0 user(s)" in invoke("employees", "list", "-c", zoho_config).output
    everyone = invoke("employees", "list", "-c", zoho_config, "--all")
    assert "deleted" in everyone.output and "8 user(s)" in everyone.output


def test_a_configuration_without_employee_sync_exits_2_naming_the_file(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        target={"plugin": "odoo", "url": "http://127.0.0.1:9", "database": "d", "api_key": "k"},
        employee_sync=None,
        staff=[("1", "blr", "general")],
    )
    result = invoke("employees", "sync", "-c", path)
    assert result.exit_code == 2 and "no employee_sync: section" in result.output and str(path) in result.output


def test_a_dry_run_lists_the_users_to_add_per_terminal_up_to_the_limit(zoho_config, minop) -> None:
    result = invoke("employees", "sync", "-c", zoho_config, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "terminal blr-1 (site blr):" in result.output
    listed = next(line for line in result.output.splitlines() if line.startswith("  add 3: "))
    assert listed.count("(") == 3 and "more" not in listed, "three users, each with their employee"
    short = invoke("employees", "sync", "-c", zoho_config, "--dry-run", "--limit", "1")
    line = next(line for line in short.output.splitlines() if line.startswith("  add 3: "))
    assert line.endswith(", ... and 2 more") and line.count("(") == 1


def test_a_dry_run_lists_the_users_to_delete_and_update(zoho_config, minop, zoho) -> None:
    assert invoke("employees", "sync", "-c", zoho_config).exit_code == 0
    zoho.seed_employees([], replace=True)
    dry = invoke("employees", "sync", "-c", zoho_config, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "  delete 1: 1003" in dry.output, "hyd-1's one user"
    assert "  add " not in dry.output and "  update " not in dry.output


def test_a_sync_on_a_terminal_shows_a_bar_per_terminal_and_in_a_pipe_none(zoho_config, minop, monkeypatch) -> None:
    from support.terminal import fake_terminal

    screen = fake_terminal(monkeypatch)
    result = invoke("employees", "sync", "-c", zoho_config)
    assert result.exit_code == 0, result.output
    assert "commands to blr-1" in screen.getvalue() and "6/6" in screen.getvalue()
    assert "commands to" not in result.output, "the bar is drawn on the terminal, not in the report"


def test_a_sync_in_a_pipe_shows_no_bar(zoho_config, minop) -> None:
    result = invoke("employees", "sync", "-c", zoho_config)
    assert result.exit_code == 0, result.output
    assert "commands to" not in result.output and "6/6" not in result.output


def test_a_dry_run_lists_the_users_whose_access_window_changes_as_updates(zoho_config, minop) -> None:
    assert invoke("employees", "sync", "-c", zoho_config).exit_code == 0
    employees = zoho_config.parent / "employees.csv"
    employees.write_text(employees.read_text().replace("1001,blr,general", "1001,blr,night"))
    dry = invoke("employees", "sync", "-c", zoho_config, "--dry-run")
    assert dry.exit_code == 0, dry.output
    updates = [line for line in dry.output.splitlines() if line.startswith("  update ")]
    assert len(updates) == 2 and all(line.startswith("  update 1: 1001 (") for line in updates), "blr-1 and blr-2"
    assert "  add " not in dry.output and "  delete " not in dry.output
