"""Who goes on which terminal, with which profile and access window: the pure roster."""

from __future__ import annotations

from typing import Any

import pytest
from support.employee_kit import SHIFTS, SITES, TEMPLATE, devices, person, settings

from punchbridge.employees.roster import Roster, StaffRow, build_roster, reverse_ids, shift_window, split_name
from punchbridge.plugin_api.targets import Employee

STAFF = {
    "1001": StaffRow("blr", "general"),
    "1002": StaffRow("blr", "night"),
    "1003": StaffRow("hyd", "general"),
    "1004": StaffRow("blr", "early", weekly_off=("sat", "sun")),
}
FROM_SOURCE = {"site": {"from": "source", "names": {"Bengaluru": "blr", "Hyderabad": "hyd"}}}


def roster(employees: list[Employee], *, ids: dict[str, str] | None = None, enabled=None, **options: Any) -> Roster:
    return build_roster(
        employees,
        settings(**options),
        ids=ids,
        staff=STAFF,
        sites=SITES,
        shifts=SHIFTS,
        devices=devices(enabled),
    )


def test_an_active_employee_is_on_every_enabled_terminal_of_their_site_and_nowhere_else() -> None:
    placed = roster([person("1001")], enabled=["blr-1", "hyd-1", "gate-1"])
    assert {stgid: set(users) for stgid, users in placed.wanted.items()} == {"blr-1": {"1001"}}
    assert placed.placements["1001"].terminals == ("blr-1",)


def test_a_leaver_is_wanted_on_no_terminal_and_counted() -> None:
    placed = roster([person("1001", active=False), person("1003")])
    assert set(placed.placements) == {"1003"}
    assert placed.leavers == 1 and placed.active == 1 and placed.problems == []


def test_the_user_id_is_read_backwards_through_the_id_mapping() -> None:
    placed = roster([person("T-1"), person("T-3")], ids={"T-1": "1001", "T-3": "1003"})
    assert set(placed.placements) == {"1001", "1003"}
    assert placed.placements["1001"].user.employee_ref == "T-1"


def test_an_active_employee_missing_from_the_id_mapping_is_reported_by_their_hrms_id() -> None:
    placed = roster([person("T-1"), person("T-9")], ids={"T-1": "1001"})
    assert set(placed.placements) == {"1001"}
    (problem,) = placed.problems
    assert "'T-9'" in problem and "ids:" in problem


def test_a_leaver_missing_from_the_id_mapping_is_no_problem() -> None:
    assert roster([person("T-9", active=False)], ids={"T-1": "1001"}).problems == []


def test_the_badge_can_be_the_user_id_as_it_is() -> None:
    placed = roster([person("T-1", badge="1001")], user_id={"field": "badge", "through": "none"})
    assert set(placed.placements) == {"1001"}


def test_an_employee_without_the_key_field_is_reported() -> None:
    placed = roster([person("T-1")], user_id={"field": "badge", "through": "none"})
    assert placed.placements == {} and "has no badge" in placed.problems[0]


def test_an_email_key_matches_the_mapping_without_regard_to_case() -> None:
    ids, problems, frozen = reverse_ids({"1001": "Asha@Example.com"}, "email")
    placed = roster([person("T-1", email="asha@example.COM")], ids=ids, user_id={"field": "email"})
    assert set(placed.placements) == {"1001"} and problems == [] and frozen == set()


def test_two_active_records_for_one_user_freeze_it_and_name_both() -> None:
    placed = roster([person("T-1"), person("T-1b")], ids={"T-1": "1001", "T-1b": "1001"})
    assert placed.placements == {} and placed.frozen == {"1001"}
    assert "T-1, T-1b" in placed.problems[0]


def test_a_rehired_employee_with_an_old_leaver_record_is_placed_from_the_active_one() -> None:
    placed = roster(
        [person("T-1", "Old Name", active=False), person("T-1b", "Asha Rao")], ids={"T-1": "1001", "T-1b": "1001"}
    )
    assert placed.placements["1001"].user.employee_ref == "T-1b" and placed.problems == []


def test_a_record_returned_twice_counts_once_and_the_later_copy_wins() -> None:
    placed = roster([person("1001", "Asha Rao"), person("1001", "Asha Rao-Iyer")])
    assert placed.placements["1001"].user.last_name == "Rao-Iyer" and placed.problems == []


def test_a_mapping_giving_one_target_id_to_two_users_freezes_both() -> None:
    ids, problems, frozen = reverse_ids({"1001": "T-1", "1002": "T-1", "1003": "T-3"}, "target_id")
    assert ids == {"T-3": "1003"} and frozen == {"1001", "1002"}
    assert "1001, 1002" in problems[0]


def test_the_hrms_site_is_renamed_by_site_names() -> None:
    placed = roster([person("1003", site="Hyderabad")], **FROM_SOURCE)
    assert placed.placements["1003"].site == "hyd" and set(placed.wanted) == {"hyd-1"}


def test_an_hrms_site_that_is_already_a_site_needs_no_name_entry() -> None:
    placed = roster([person("1003", site="hyd")], site={"from": "source"})
    assert placed.placements["1003"].site == "hyd"


def test_an_unknown_hrms_site_freezes_the_user_and_says_which_site() -> None:
    placed = roster([person("1001", site="Pune")], **FROM_SOURCE)
    assert placed.frozen == {"1001"} and "'Pune'" in placed.problems[0]


def test_a_user_missing_from_the_employees_file_is_frozen_when_the_file_gives_sites() -> None:
    placed = roster([person("1009")])
    assert placed.frozen == {"1009"} and "employees file" in placed.problems[0]


def test_the_user_type_comes_from_the_first_matching_rule() -> None:
    rules = {
        "rules": [
            {"match": {"department": "security"}, "type": "admin"},
            {"match": {"department": ["Security", "Ops"]}, "type": "guest"},
        ]
    }
    placed = roster(
        [person("1001", department="Security"), person("1002", department="Ops"), person("1003", department="Stores")],
        user_types=rules,
    )
    types = {u: p.user.user_type for u, p in placed.placements.items()}
    assert types == {"1001": "14", "1002": "0", "1003": "1"}


def test_an_extra_field_can_decide_a_rule() -> None:
    rules = {"rules": [{"match": {"extra": {"Designation": "Guard"}}, "type": "admin"}]}
    placed = roster([person("1001", extra={"Designation": " guard "}), person("1002")], user_types=rules)
    assert placed.placements["1001"].user.user_type == "14" and placed.placements["1002"].user.user_type == "1"


def test_the_access_window_is_the_shift_widened_by_the_margins_on_working_days() -> None:
    placed = roster([person("1001"), person("1004")], access={"before_minutes": 30, "after_minutes": 90})
    first = placed.placements["1001"].user
    assert (first.access_start, first.access_end, first.access_days) == ("08:30:00", "19:30:00", "1,2,3,4,5,6")
    early = placed.placements["1004"].user  # its own weekly off (sat, sun) wins over the site's
    assert (early.access_start, early.access_end, early.access_days) == ("05:30:00", "15:30:00", "1,2,3,4,5")


def test_a_night_shift_window_crosses_midnight() -> None:
    user = roster([person("1002")]).placements["1002"].user
    assert (user.access_start, user.access_end) == ("21:00:00", "07:00:00")


def test_a_window_of_a_day_or_more_is_the_whole_day() -> None:
    assert shift_window(SHIFTS["general"], 720, 720, ()) == ("00:00:00", "23:59:59", "1,2,3,4,5,6,7")


def test_an_access_rule_wins_over_the_shift() -> None:
    access = {"rules": [{"match": {"department": "Security"}, "start": "00:00", "end": "23:59"}]}
    user = roster([person("1001", department="Security")], access=access).placements["1001"].user
    assert (user.access_start, user.access_end, user.access_days) == ("00:00:00", "23:59:00", "1,2,3,4,5,6,7")


def test_the_default_window_serves_employees_without_a_shift() -> None:
    access = {"from_shift": False, "default": {"start": "08:00", "end": "20:00", "days": "mon;tue"}}
    user = roster([person("1001")], access=access).placements["1001"].user
    assert (user.access_start, user.access_end, user.access_days) == ("08:00:00", "20:00:00", "1,2")


def test_no_way_to_an_access_window_freezes_the_user() -> None:
    placed = roster([person("1001")], access={"from_shift": False})
    assert placed.frozen == {"1001"} and "no access window" in placed.problems[0]


def test_every_day_off_gives_no_window_and_says_so() -> None:
    staff_row = StaffRow("blr", "general", weekly_off=("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    placed = build_roster(
        [person("1001")], settings(), ids=None, staff={"1001": staff_row}, sites=SITES, shifts=SHIFTS, devices=devices()
    )
    assert placed.frozen == {"1001"} and "weekly off" in placed.problems[0]


def test_terminal_rules_add_devices_and_a_disabled_device_is_never_used() -> None:
    rules = {"rules": [{"match": {"department": "Security"}, "devices": ["gate-1", "hyd-1"]}]}
    placed = roster([person("1001", department="Security")], terminals=rules, enabled=["blr-1", "blr-2", "gate-1"])
    assert placed.placements["1001"].terminals == ("blr-1", "blr-2", "gate-1")


def test_without_by_site_only_the_rules_place_anyone() -> None:
    rules = {"by_site": False, "rules": [{"match": {"site": "blr"}, "devices": ["gate-1"]}]}
    placed = roster([person("1001"), person("1003")], terminals=rules)
    assert set(placed.wanted) == {"gate-1"} and placed.placements["1003"].terminals == ()
    assert "site 'hyd' has no enabled terminal" in placed.problems[0]


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Asha Rao", "Asha", "Rao"),
        ("  Mary  Ann\tLee ", "Mary Ann", "Lee"),
        ("Madonna", "Madonna", "-"),
        ("", "1001", "-"),
        ("Evil\x1b[31m\nName", "Evil [31m", "Name"),
        ("A" * 100 + " " + "B" * 100, "A" * 64, "B" * 64),
    ],
)
def test_names_are_cleaned_and_cut_to_what_a_terminal_takes(name: str, first: str, last: str) -> None:
    assert split_name(name, "1001") == (first, last)


@pytest.mark.parametrize("user_id", ["10\x0001", "9" * 65])
def test_a_user_id_a_terminal_cannot_take_is_reported_and_the_rest_are_placed(user_id: str) -> None:
    placed = build_roster(
        [person(user_id), person("1001")],
        settings(),
        ids=None,
        staff={**STAFF, user_id: StaffRow("blr", "general")},
        sites=SITES,
        shifts=SHIFTS,
        devices=devices(),
    )
    assert set(placed.placements) == {"1001"} and "terminal user id" in placed.problems[0]


def test_a_face_template_is_kept_as_a_reference_and_a_bad_one_is_reported_without_its_text() -> None:
    good = person("1001", extra={"Photo": TEMPLATE})
    bad = person("1002", extra={"Photo": "not base64 !!" * 20})
    placed = roster([good, bad, person("1003", extra={"Photo": 42})], face_template_field="Photo")
    user = placed.placements["1001"].user
    assert user.face is not None and user.face_ref is not None and TEMPLATE not in repr(user)
    assert placed.placements["1002"].user.face is None  # still placed, without a face
    assert len(placed.problems) == 2 and all("not base64 !!" not in problem for problem in placed.problems)


def test_the_same_template_gives_the_same_reference_and_another_user_another() -> None:
    first = roster([person("1001", extra={"Photo": TEMPLATE})], face_template_field="Photo")
    again = roster([person("1001", extra={"Photo": TEMPLATE})], face_template_field="Photo")
    other = roster([person("1002", extra={"Photo": TEMPLATE})], face_template_field="Photo")
    assert first.placements["1001"].user.face_ref == again.placements["1001"].user.face_ref
    assert first.placements["1001"].user.face_ref != other.placements["1002"].user.face_ref
