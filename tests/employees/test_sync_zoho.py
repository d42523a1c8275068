"""Employee sync from Zoho People (emulated) to Minop terminals (emulated): joiners, leavers, shift
changes, transfers, reruns, crashes, failures and the mass-delete safety rule."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from support.employee_kit import ZOHO_STAFF, executed_ids, open_store, person, sync, users
from support.minop_kit import CLOUDS

from punchbridge.employees import EmployeePullFailedError, MassDeleteRefusedError
from punchbridge.errors import ExitCode
from punchbridge.testing.emulators.minop import EXECUTE
from punchbridge.testing.emulators.zoho import ZohoEmulator

EVERYONE = {"blr-1": {"1001", "1002", "1004"}, "blr-2": {"1001", "1002", "1004"}, "hyd-1": {"1003"}, "gate-1": {"1004"}}


def staff(*changes: tuple[str, str, str]) -> list:
    """ZOHO_STAFF as Zoho employees, with (EmployeeID, field, value) changes."""
    people = {t: {"name": n, "badge": b, "site": s, "department": d} for t, n, b, s, d in ZOHO_STAFF}
    for target_id, name, value in changes:
        people[target_id][name] = value
    return [person(t, **fields) for t, fields in people.items()]


def test_joiners_are_added_to_exactly_the_right_terminals_with_type_and_window(zoho_config, minop) -> None:
    report = sync(zoho_config)
    assert users(minop) == EVERYONE
    guard = minop.devices["gate-1"].users["1004"]
    assert (guard.first_name, guard.last_name, guard.user_type) == ("Dana", "Cruz", "14")
    assert guard.access == ("05:30:00", "15:00:00", "1,2,3,4,5,6")  # early shift -30/+60, blr's weekly off (sun)
    assert minop.devices["hyd-1"].users["1003"].access == ("08:30:00", "19:00:00", "1,2,3,4,5")
    assert minop.devices["blr-1"].users["1002"].access == ("21:30:00", "07:00:00", "1,2,3,4,5,6")
    assert (report.total("adds"), report.total("sent"), report.failed, report.problems) == (8, 16, False, [])


def test_a_rerun_sends_no_command(zoho_config, minop) -> None:
    sync(zoho_config)
    requests = minop.stats["requests:execute"]
    report = sync(zoho_config)
    assert minop.stats["requests:execute"] == requests and report.total("commands") == 0
    assert report.status == "ok"


def test_a_leaver_is_removed_from_every_terminal_that_held_them(zoho_config, minop, zoho: ZohoEmulator) -> None:
    sync(zoho_config)
    zoho.seed_employees([person("T-4", "Dana Cruz", badge="1004", department="Security", active=False)])
    report = sync(zoho_config, allow_mass_delete=True)  # the gate holds one user: deleting them is 100% of it
    assert users(minop) == {"blr-1": {"1001", "1002"}, "blr-2": {"1001", "1002"}, "hyd-1": {"1003"}, "gate-1": set()}
    assert report.total("deletes") == 3 and report.leavers == 1


def test_a_shift_change_updates_the_access_windows_and_nothing_else(zoho_config, minop) -> None:
    sync(zoho_config)
    before = len(minop.executed)
    employees = zoho_config.parent / "employees.csv"
    employees.write_text(employees.read_text().replace("1001,blr,general", "1001,blr,night"))
    report = sync(zoho_config)
    changed = minop.executed[before:]
    assert sorted((e["stgid"], e["command"], e["entity"]) for e in changed) == [
        ("blr-1", "Update", "AccessTime"),
        ("blr-2", "Update", "AccessTime"),
    ]
    assert minop.devices["blr-2"].users["1001"].access == ("21:30:00", "07:00:00", "1,2,3,4,5,6")
    assert report.total("updates") == 2


def test_a_transfer_moves_the_user_to_the_other_sites_terminals(zoho_config, minop, zoho: ZohoEmulator) -> None:
    sync(zoho_config)
    zoho.seed_employees(staff(("T-1", "site", "Hyderabad")))
    report = sync(zoho_config)
    assert users(minop)["hyd-1"] == {"1001", "1003"}
    assert "1001" not in users(minop)["blr-1"] | users(minop)["blr-2"]
    assert minop.devices["hyd-1"].users["1001"].access[2] == "1,2,3,4,5"  # Hyderabad's weekly off now
    assert (report.total("adds"), report.total("deletes")) == (1, 2)


def test_an_empty_hrms_reply_deletes_nothing(zoho_config, minop, zoho: ZohoEmulator) -> None:
    sync(zoho_config)
    requests = minop.stats["requests:execute"]
    zoho.seed_employees([], replace=True)
    with pytest.raises(MassDeleteRefusedError) as refused:
        sync(zoho_config)
    assert "none is active" in str(refused.value) and "--allow-mass-delete" in str(refused.value)
    assert users(minop) == EVERYONE and minop.stats["requests:execute"] == requests
    with open_store(zoho_config) as store:
        run = store.last_run("employees")
        assert run is not None and run["status"] == "failed" and "none is active" in run["summary"]["error"]
        assert store.pending_terminal_commands() == []


def test_a_failed_pull_sends_nothing_and_says_which_target(zoho_config, minop, zoho: ZohoEmulator) -> None:
    sync(zoho_config)
    requests = minop.stats["requests:execute"]
    for _ in range(10):
        zoho.fail_next("getRecords", status=500, body="<html>down</html>")
    with pytest.raises(EmployeePullFailedError, match="'hrms'"):
        sync(zoho_config)
    assert users(minop) == EVERYONE and minop.stats["requests:execute"] == requests


def test_losing_more_than_the_share_stops_before_sending_until_allowed(zoho_config, minop, zoho) -> None:
    sync(zoho_config)
    requests = minop.stats["requests:execute"]
    zoho.seed_employees(staff(("T-1", "site", "Hyderabad"), ("T-2", "site", "Hyderabad")))
    with pytest.raises(MassDeleteRefusedError) as refused:
        sync(zoho_config)
    assert (
        "blr-1 would lose 2 of its 3 users (67%)" in str(refused.value) and refused.value.exit_code == ExitCode.REFUSED
    )
    assert minop.stats["requests:execute"] == requests
    report = sync(zoho_config, allow_mass_delete=True)
    assert users(minop)["blr-1"] == {"1004"} and users(minop)["hyd-1"] == {"1001", "1002", "1003"}
    assert report.status == "ok"


def test_a_dry_run_prints_the_plan_and_writes_and_sends_nothing(zoho_config, minop, zoho) -> None:
    report = sync(zoho_config, dry_run=True)
    assert (report.total("adds"), report.total("commands")) == (8, 16)
    assert report.terminals["gate-1"].adds == 1 and minop.stats["requests:execute"] == 0
    with open_store(zoho_config) as store:
        assert store.last_run("employees") is None and store.terminal_users() == []
        assert store.terminal_commands() == []


def test_a_dry_run_says_when_a_real_run_would_be_refused(zoho_config, minop, zoho) -> None:
    sync(zoho_config)
    zoho.seed_employees([], replace=True)
    report = sync(zoho_config, dry_run=True)
    assert report.refused and report.total("deletes") == 8 and users(minop) == EVERYONE


def test_the_run_is_recorded_with_counts_per_terminal(zoho_config, minop) -> None:
    report = sync(zoho_config)
    with open_store(zoho_config) as store:
        run = store.last_run("employees")
    assert run is not None and run["id"] == report.run_id and run["status"] == "ok"
    assert run["summary"]["terminals"]["hyd-1"]["sent"] == 2 and run["summary"]["adds"] == 8


def _crash_on_first_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    from punchbridge.store import Store

    def crash(self, settlements):
        raise SystemExit("killed before the outcomes were recorded")

    monkeypatch.setattr(Store, "settle_terminal_commands", crash)


def windows(minop) -> dict[tuple[str, str], tuple[str, str, str] | None]:
    """Each terminal user's door window."""
    with minop.lock:
        return {(stgid, uid): u.access for stgid, d in minop.devices.items() for uid, u in d.users.items()}


@pytest.mark.parametrize("minop", CLOUDS, indirect=True)
def test_a_crash_after_sending_and_a_rerun_leave_the_terminals_right_whatever_the_cloud(
    zoho_config, minop, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        _crash_on_first_settle(patch)
        with pytest.raises(SystemExit):
            sync(zoho_config)
    sent_first = executed_ids(minop)  # the workers stop after the crash: most or all of the 16
    assert 0 < len(sent_first) <= 16
    report = sync(zoho_config)  # sends the 16 again, with the same OperationIDs
    assert report.resumed == 16 and report.total("sent") == 16 and not report.failed
    assert minop.stats["duplicate_operations"] == len(sent_first)
    assert users(minop) == EVERYONE
    assert windows(minop)[("gate-1", "1004")] == ("05:30:00", "15:00:00", "1,2,3,4,5,6")
    assert windows(minop)[("blr-2", "1002")] == ("21:30:00", "07:00:00", "1,2,3,4,5,6")
    if minop.dedupe_operations:
        assert executed_ids(minop)[: len(sent_first)] == sent_first
        assert max(Counter(executed_ids(minop)).values()) == 1  # that cloud executed nothing again
    assert max(Counter(executed_ids(minop)).values()) <= 2
    assert sync(zoho_config).total("commands") == 0


@pytest.mark.parametrize("minop", CLOUDS, indirect=True)
def test_a_lost_reply_is_retried_with_the_same_operation_id_and_counts_once(zoho_config, minop) -> None:
    minop.lose_next_reply(times=2)
    report = sync(zoho_config)
    assert report.total("sent") == 16 and not report.failed
    assert minop.stats["duplicate_operations"] == 2 and len(set(executed_ids(minop))) == 16
    assert users(minop) == EVERYONE
    assert sync(zoho_config).total("commands") == 0


@pytest.mark.parametrize("minop", CLOUDS, indirect=True)
def test_a_leaver_rehired_the_same_day_is_added_again(zoho_config, minop, zoho: ZohoEmulator) -> None:
    sync(zoho_config)
    zoho.seed_employees([person("T-3", "Chen Li", badge="1003", site="Hyderabad", department="Stores", active=False)])
    sync(zoho_config, allow_mass_delete=True)
    assert "1003" not in users(minop)["hyd-1"]
    zoho.seed_employees(staff())
    report = sync(zoho_config)
    assert "1003" in users(minop)["hyd-1"] and not report.failed
    assert minop.devices["hyd-1"].users["1003"].access == ("08:30:00", "19:00:00", "1,2,3,4,5")
    adds = [e["operation_id"] for e in minop.executed if e["stgid"] == "hyd-1" and e["command"] == "Add"]
    assert len(adds) == 2 and adds[0] != adds[1]  # a new operation: a cloud that deduplicates runs it too


def test_a_refused_command_fails_its_user_only_and_the_next_run_sends_it_again(zoho_config, minop) -> None:
    minop.command_reply("busy")  # the first command (of some terminal) is answered without being executed
    report = sync(zoho_config)
    assert report.failed and report.total("failed") == 1 and report.total("skipped") == 1
    assert report.total("sent") == 14
    assert any('"busy"' in f for t in report.terminals.values() for f in t.failures)
    again = sync(zoho_config)
    assert again.total("commands") == 2 and users(minop) == EVERYONE and not again.failed


def test_an_unreachable_cloud_leaves_the_commands_for_the_next_run(zoho_config, minop) -> None:
    minop.fail_next(EXECUTE, 503, times=100)
    report = sync(zoho_config)
    assert report.failed and report.total("pending") == 16 and report.total("sent") == 0
    assert all(t.error and "503" in t.error for t in report.terminals.values())
    minop.heal()
    again = sync(zoho_config)
    assert again.resumed == 16 and again.total("commands") == 0 and users(minop) == EVERYONE
    assert max(Counter(executed_ids(minop)).values()) == 1


def test_a_stop_request_sends_the_rest_in_the_next_run(zoho_config, minop) -> None:
    asked = {"count": 0}

    def stop_after_a_few() -> bool:
        asked["count"] += 1
        return asked["count"] > 6

    report = sync(zoho_config, should_stop=stop_after_a_few)
    sent = len(executed_ids(minop))
    assert report.stopped and report.status == "partial" and 0 < sent < 16
    assert report.total("pending") == 16 - sent
    again = sync(zoho_config)
    assert users(minop) == EVERYONE and again.resumed == 16 - sent and again.total("commands") == 0
    assert len(executed_ids(minop)) == 16


def test_a_user_removed_by_hand_is_added_again_after_its_window_update_fails(zoho_config, minop) -> None:
    sync(zoho_config)
    with minop.lock:
        del minop.devices["blr-1"].users["1001"]
    employees = zoho_config.parent / "employees.csv"
    employees.write_text(employees.read_text().replace("1001,blr,general", "1001,blr,night"))
    report = sync(zoho_config)
    assert report.terminals["blr-1"].failed == 1 and "unknown_user" in report.terminals["blr-1"].failures[0]
    healed = sync(zoho_config)
    assert healed.terminals["blr-1"].adds == 1 and "1001" in users(minop)["blr-1"]
    assert minop.devices["blr-1"].users["1001"].access[0] == "21:30:00"


def test_deleting_a_user_the_terminal_no_longer_holds_counts_as_done(zoho_config, minop, zoho) -> None:
    sync(zoho_config)
    with minop.lock:
        del minop.devices["gate-1"].users["1004"]
    zoho.seed_employees([person("T-4", "Dana Cruz", badge="1004", department="Security", active=False)])
    report = sync(zoho_config, allow_mass_delete=True)
    assert report.terminals["gate-1"].sent == 1 and not report.failed
    with open_store(zoho_config) as store:
        assert not any(row.present for row in store.terminal_users(["gate-1"]))


def test_an_unmapped_joiner_is_reported_and_everyone_else_is_synced(zoho_config, minop, zoho) -> None:
    zoho.seed_employees([person("T-9", "New Person", badge="1009")])
    report = sync(zoho_config)
    assert users(minop) == EVERYONE and report.status == "partial"
    assert any("'T-9'" in problem and "ids:" in problem for problem in report.problems)


@pytest.mark.parametrize("minop", CLOUDS, indirect=True)
def test_a_crash_killing_the_process_mid_run_leaves_the_terminals_right(zoho_config, minop, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    minop.hold_commands(after=5)
    process = subprocess.Popen(
        [sys.executable, "-m", "punchbridge", "employees", "sync", "-c", str(zoho_config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while minop.stats["held_commands"] == 0 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert minop.stats["held_commands"] > 0, process.stderr.read() if process.stderr else ""
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
        minop.release_commands()
    first = executed_ids(minop)
    assert 5 <= len(first) < 16
    with open_store(zoho_config) as store:  # settled before the kill (a batch is written every half second)
        settled = len(store.terminal_commands(status="done"))
    report = sync(zoho_config)
    assert report.resumed == 16 - settled and users(minop) == EVERYONE and not report.failed
    assert len(set(executed_ids(minop))) == 16
    if minop.dedupe_operations:
        assert Counter(executed_ids(minop)) == Counter(set(executed_ids(minop)))  # each OperationID ran once
    assert sync(zoho_config).total("commands") == 0
