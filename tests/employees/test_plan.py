"""The diff between what terminals hold and what they should hold, its OperationIDs, and the safety rule."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from support.employee_kit import SHIFTS, SITES, TEMPLATE, devices, person, settings

from punchbridge.employees.plan import Plan, plan_changes, refusals
from punchbridge.employees.roster import Roster, StaffRow, build_roster
from punchbridge.plugin_api.targets import Employee
from punchbridge.store.terminals import TerminalUser

STAFF = {f"{n}": StaffRow("blr", "general") for n in range(1001, 1021)} | {"1003": StaffRow("hyd", "general")}
SITE_TERMINALS = ["blr-1", "blr-2", "hyd-1"]


def roster(employees: list[Employee], staff: dict[str, StaffRow] | None = None, **options: Any) -> Roster:
    return build_roster(
        employees,
        settings(**options),
        ids=None,
        staff=staff or STAFF,
        sites=SITES,
        shifts=SHIFTS,
        devices=devices(SITE_TERMINALS),
    )


def plan(wanted: Roster, held: list[TerminalUser], lineage: str = "run1") -> Plan:
    return plan_changes(wanted, held, devices(SITE_TERMINALS), lineage=lineage)


def after(current: Plan, held: list[TerminalUser] = ()) -> list[TerminalUser]:  # type: ignore[assignment]
    """The ledger once every command of `current` is done."""
    rows = {(row.stgid, row.user_id): row for row in held}
    for command in current.commands:
        rows[(command.stgid, command.user_id)] = command.effect
    return list(rows.values())


def actions(current: Plan) -> list[tuple[str, str, str]]:
    return [(c.stgid, c.user_id, c.action) for c in current.commands]


def test_a_joiner_is_added_with_their_window_on_each_site_terminal_in_order() -> None:
    first = plan(roster([person("1001")]), [])
    assert actions(first) == [
        ("blr-1", "1001", "add"),
        ("blr-1", "1001", "access"),
        ("blr-2", "1001", "add"),
        ("blr-2", "1001", "access"),
    ]
    add, access = first.terminals["blr-1"].commands
    assert add.command.data == {"UserID": "1001", "FirstName": "Asha", "LastName": "Rao", "UserType": "1"}
    assert dict(access.command.data) == {
        "UserID": "1001",
        "AccessStartTime": "08:00:00",
        "AccessEndTime": "19:00:00",
        "AccessDays": "1,2,3,4,5,6",
    }
    assert (add.revision, access.revision, access.effect.revision) == (0, 1, 2)
    assert first.terminals["blr-1"].adds == 1 and first.terminals["hyd-1"].adds == 0


def test_a_second_plan_over_the_result_has_no_command() -> None:
    wanted = roster([person("1001"), person("1003", site="Hyderabad")])
    assert plan(wanted, after(plan(wanted, []))).commands == []


def test_the_same_inputs_give_the_same_operation_ids() -> None:
    wanted = roster([person("1001"), person("1002")])
    assert [c.operation_id for c in plan(wanted, []).commands] == [c.operation_id for c in plan(wanted, []).commands]


def test_every_command_of_a_run_has_its_own_operation_id() -> None:
    ids = [c.operation_id for c in plan(roster([person(str(n)) for n in range(1001, 1021)]), []).commands]
    assert len(ids) == len(set(ids)) == 19 * 4 + 2  # two terminals each, 1003 one (Hyderabad)


def test_a_shift_change_sends_only_the_new_access_window() -> None:
    held = after(plan(roster([person("1001")]), []))
    moved = roster([person("1001")], staff={**STAFF, "1001": StaffRow("blr", "night")})
    changed = plan(moved, held)
    assert actions(changed) == [("blr-1", "1001", "access"), ("blr-2", "1001", "access")]
    assert changed.terminals["blr-1"].commands[0].command.data["AccessStartTime"] == "21:00:00"
    assert changed.terminals["blr-1"].updates == 1


def test_a_name_or_type_change_sends_the_profile_again_and_nothing_else() -> None:
    held = after(plan(roster([person("1001")]), []))
    renamed = plan(roster([person("1001", "Asha Rao-Iyer")]), held)
    assert actions(renamed) == [("blr-1", "1001", "profile"), ("blr-2", "1001", "profile")]
    assert renamed.terminals["blr-1"].commands[0].command.data["LastName"] == "Rao-Iyer"


def test_a_leaver_is_deleted_only_where_they_are_held() -> None:
    held = after(plan(roster([person("1001"), person("1002")]), []))
    gone = plan(roster([person("1001"), person("1002", active=False)]), held)
    assert actions(gone) == [("blr-1", "1002", "delete"), ("blr-2", "1002", "delete")]
    assert gone.terminals["blr-1"].deletes == 1 and gone.terminals["hyd-1"].deletes == 0


def test_an_employee_missing_from_the_reply_is_a_leaver() -> None:
    held = after(plan(roster([person("1001"), person("1002")]), []))
    assert actions(plan(roster([person("1001")]), held)) == [("blr-1", "1002", "delete"), ("blr-2", "1002", "delete")]


def test_a_transfer_deletes_on_the_old_sites_terminals_and_adds_on_the_new() -> None:
    held = after(plan(roster([person("1001")]), []))
    moved = roster([person("1001")], staff={**STAFF, "1001": StaffRow("hyd", "general")})
    assert sorted(actions(plan(moved, held))) == [
        ("blr-1", "1001", "delete"),
        ("blr-2", "1001", "delete"),
        ("hyd-1", "1001", "access"),
        ("hyd-1", "1001", "add"),
    ]


def test_a_frozen_user_is_not_deleted() -> None:
    held = after(plan(roster([person("1001")]), []))
    broken = roster([person("1001", site="Atlantis")], site={"from": "source"})
    assert broken.frozen == {"1001"} and plan(broken, held).commands == []


def test_a_re_add_after_a_delete_gets_new_operation_ids() -> None:
    wanted = roster([person("1001")])
    first = plan(wanted, [])
    deleted = plan(roster([]), after(first))
    again = plan(wanted, after(deleted, after(first)))
    assert actions(again) == actions(first)
    assert not {c.operation_id for c in again.commands} & {c.operation_id for c in first.commands}


def test_a_window_changed_back_gets_a_new_operation_id() -> None:
    wanted = roster([person("1001")])
    night = roster([person("1001")], staff={**STAFF, "1001": StaffRow("blr", "night")})
    start = after(plan(wanted, []))
    to_night = plan(night, start)
    back = plan(wanted, after(to_night, start))
    first_access = [c.operation_id for c in plan(wanted, []).commands if c.action == "access"]
    assert [c.action for c in back.commands] == ["access", "access"]
    assert not {c.operation_id for c in back.commands} & set(first_access)


def test_a_ledger_row_made_again_from_scratch_never_repeats_an_operation_id() -> None:
    first = plan(roster([person("1001")]), [], lineage="aaaa")
    remade = plan(roster([person("1001")]), [], lineage="bbbb")
    assert not {c.operation_id for c in first.commands} & {c.operation_id for c in remade.commands}


def test_a_face_is_enrolled_after_the_add_and_again_only_when_it_changes() -> None:
    with_face = roster([person("1001", extra={"Photo": TEMPLATE})], face_template_field="Photo")
    first = plan(with_face, [])
    assert [c.action for c in first.terminals["blr-1"].commands] == ["add", "access", "enrol"]
    enrol = first.terminals["blr-1"].commands[2]
    assert enrol.stored_command() is None and enrol.effect.face_ref is not None
    assert plan(with_face, after(first)).commands == []
    other = TEMPLATE[:-8] + "AAAAAAA="
    changed = plan(roster([person("1001", extra={"Photo": other})], face_template_field="Photo"), after(first))
    assert [c.action for c in changed.commands] == ["enrol", "enrol"]


def test_terminals_no_longer_configured_are_left_alone_and_counted() -> None:
    ghost = TerminalUser("old-9", "1001", present=True, revision=2, lineage="x")
    current = plan(roster([person("1001")]), [ghost])
    assert all(c.stgid != "old-9" for c in current.commands) and current.unmanaged == {"old-9": 1}


def _held(count: int, stgid: str = "blr-1") -> list[TerminalUser]:
    wanted = roster([person(str(n)) for n in range(1001, 1001 + count)], staff=STAFF | {"1003": STAFF["1001"]})
    return [row for row in after(plan(wanted, [])) if row.stgid == stgid]


def test_deleting_more_than_the_share_of_a_terminals_users_is_refused_naming_it() -> None:
    held = _held(10)
    staying = roster([person(str(n)) for n in range(1001, 1009)], staff=STAFF | {"1003": STAFF["1001"]})
    current = plan(staying, held)
    (reason,) = refusals(current, staying, 0.10)
    assert "blr-1 would lose 2 of its 10 users (20%)" in reason


def test_deleting_exactly_the_share_is_allowed() -> None:
    held = _held(10)
    staying = roster([person(str(n)) for n in range(1001, 1010)], staff=STAFF | {"1003": STAFF["1001"]})
    assert refusals(plan(staying, held), staying, 0.10) == []


def test_an_empty_reply_that_would_delete_is_refused_whatever_the_share() -> None:
    held = _held(3)
    empty = roster([])
    reasons = refusals(plan(empty, held), empty, 1.0)
    assert len(reasons) == 1 and "none is active" in reasons[0]


def test_an_empty_reply_with_nothing_held_is_no_problem() -> None:
    assert refusals(plan(roster([]), []), roster([]), 0.1) == []


def test_a_plan_without_deletes_is_never_refused() -> None:
    held = [replace(row, present=False) for row in _held(3)]
    assert refusals(plan(roster([]), held), roster([]), 0.0) == []
