"""Cost centres by employee, department or site, with effective dates and a default."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from support.mapping_fixtures import day, employees_frame, fields_of, held, mapping_from, month, problems_in, run

from punchbridge.errors import ConfigError
from punchbridge.mapping import CostCentreRule, CostCentres, MappedRecords

FIELDS = """
fields:
  - {name: Employee, from: employee_id}
  - {name: Date, from: work_date}
  - {name: CostCentre, from: cost_centre}
"""


def centres(result: MappedRecords) -> list[tuple[str, str, str]]:
    """(employee, work date, cost centre) of every record."""
    return [(f["Employee"], f["Date"], f["CostCentre"]) for f in fields_of(result)]


def test_cost_centre_by_employee(tmp_path: Path) -> None:
    csv = "employee_id,cost_centre,from,to\nE0001,CC-A,,\nE0002,CC-B,,\n"
    mapping = mapping_from(tmp_path, "cost_centres: {by: employee, file: cc.csv}" + FIELDS, cc__csv=csv)
    result = run(mapping, [day("E0001"), day("E0002")])
    assert centres(result) == [("E0001", "2025-10-01", "CC-A"), ("E0002", "2025-10-01", "CC-B")]


def test_cost_centre_by_department_comes_from_the_employees_file(tmp_path: Path) -> None:
    csv = "department,cost_centre,from,to\nops,CC-OPS,,\nfinance,CC-FIN,,\n"
    mapping = mapping_from(tmp_path, "cost_centres: {by: department, file: cc.csv}" + FIELDS, cc__csv=csv)
    result = run(mapping, [day("E0001"), day("E0003")], employees_frame({"E0001": "ops", "E0003": "finance"}))
    assert centres(result) == [("E0001", "2025-10-01", "CC-OPS"), ("E0003", "2025-10-01", "CC-FIN")]


def test_cost_centre_by_site_uses_the_site_of_the_day(tmp_path: Path) -> None:
    csv = "site,cost_centre,from,to\nblr,CC-IN,,\nber,CC-DE,,\n"
    mapping = mapping_from(tmp_path, "cost_centres: {by: site, file: cc.csv}" + FIELDS, cc__csv=csv)
    result = run(mapping, [day("E0001", site="blr"), day("E0002", site="ber")])
    assert centres(result) == [("E0001", "2025-10-01", "CC-IN"), ("E0002", "2025-10-01", "CC-DE")]


def test_a_generic_key_column_is_accepted(tmp_path: Path) -> None:
    csv = "key,cost_centre,from,to\nops,CC-OPS,,\n"
    mapping = mapping_from(tmp_path, "cost_centres: {by: department, file: cc.csv}" + FIELDS, cc__csv=csv)
    assert centres(run(mapping, [day("E0001")])) == [("E0001", "2025-10-01", "CC-OPS")]


def test_an_employee_who_moves_mid_month_gets_each_days_cost_centre_with_inclusive_dates(tmp_path: Path) -> None:
    csv = "employee_id,cost_centre,from,to\nE0001,CC-OLD,,2025-10-15\nE0001,CC-NEW,2025-10-16,\n"
    mapping = mapping_from(tmp_path, "cost_centres: {by: employee, file: cc.csv}" + FIELDS, cc__csv=csv)
    result = run(mapping, month("E0001", date(2025, 10, 14), date(2025, 10, 17)))
    assert centres(result) == [
        ("E0001", "2025-10-14", "CC-OLD"),
        ("E0001", "2025-10-15", "CC-OLD"),
        ("E0001", "2025-10-16", "CC-NEW"),
        ("E0001", "2025-10-17", "CC-NEW"),
    ]


def test_days_outside_every_rule_get_the_default(tmp_path: Path) -> None:
    csv = "department,cost_centre,from,to\nops,CC-OPS,2025-10-02,2025-10-02\n"
    yaml = "cost_centres: {by: department, file: cc.csv, default: CC-GENERAL}" + FIELDS
    mapping = mapping_from(tmp_path, yaml, cc__csv=csv)
    result = run(mapping, [*month("E0001", date(2025, 10, 1), date(2025, 10, 3)), day("E0003")])
    assert [c for *_, c in centres(result)] == ["CC-GENERAL", "CC-OPS", "CC-GENERAL", "CC-GENERAL"]


def test_without_a_default_a_day_no_rule_covers_is_held_back(tmp_path: Path) -> None:
    csv = "department,cost_centre,from,to\nops,CC-OPS,,\n"
    mapping = mapping_from(tmp_path, "cost_centres: {by: department, file: cc.csv}" + FIELDS, cc__csv=csv)
    result = run(mapping, [day("E0001"), day("E0003")])
    assert [r.key for r in result.records] == ["E0001|2025-10-01|day"]
    assert held(result) == [("E0003", "2025-10-01", "no_cost_centre")]
    assert "department 'finance' on 2025-10-01" in result.held_back["detail"][0]


def test_an_employee_without_a_department_gets_the_default_or_is_held_back(tmp_path: Path) -> None:
    csv = "department,cost_centre,from,to\nops,CC-OPS,,\n"
    mapping = mapping_from(tmp_path, "cost_centres: {by: department, file: cc.csv}" + FIELDS, cc__csv=csv)
    result = run(mapping, [day("E0005")], employees_frame({"E0005": None}))
    assert held(result) == [("E0005", "2025-10-01", "no_cost_centre")]
    assert "has no department" in result.held_back["detail"][0]


def test_inline_rules_take_yaml_dates(tmp_path: Path) -> None:
    yaml = """
    cost_centres:
      by: employee
      rules:
        - {key: E0001, cost_centre: CC-OLD, to: 2025-10-01}
        - {key: E0001, cost_centre: CC-NEW, from: 2025-10-02}
    """
    mapping = mapping_from(tmp_path, yaml.replace("\n    ", "\n") + FIELDS)
    result = run(mapping, month("E0001", date(2025, 10, 1), date(2025, 10, 2)))
    assert [c for *_, c in centres(result)] == ["CC-OLD", "CC-NEW"]


def test_overlapping_rules_in_the_csv_are_an_error_naming_both_lines(tmp_path: Path) -> None:
    csv = "employee_id,cost_centre,from,to\nE0001,CC-OLD,,2025-10-15\nE0002,CC-X,,\nE0001,CC-NEW,2025-10-15,\n"
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "cost_centres: {by: employee, file: cc.csv}" + FIELDS, cc__csv=csv)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(tmp_path / "cc.csv"), 4, "from")
    assert "employee 'E0001'" in problem.message and "overlaps the rule on line 2" in problem.message


def test_overlapping_inline_rules_point_into_the_mapping_file(tmp_path: Path) -> None:
    yaml = """
    cost_centres:
      by: site
      rules:
        - {key: blr, cost_centre: A}
        - {key: blr, cost_centre: B, from: 2025-01-01}
    """.replace("\n    ", "\n")
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, yaml + FIELDS)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (5, "cost_centres.rules[1].from")
    assert "overlaps the rule on line 4" in problem.message


def test_a_rule_ending_before_it_starts_is_an_error(tmp_path: Path) -> None:
    csv = "site,cost_centre,from,to\nblr,CC-IN,2025-10-10,2025-10-01\n"
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "cost_centres: {by: site, file: cc.csv}" + FIELDS, cc__csv=csv)
    (problem,) = problems_in(caught.value, tmp_path / "cc.csv")
    assert (problem.line, problem.field) == (2, "to")


def test_a_date_that_is_not_iso_is_an_error_with_line_and_column(tmp_path: Path) -> None:
    csv = "site,cost_centre,from,to\nblr,CC-IN,01/10/2025,\n"
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "cost_centres: {by: site, file: cc.csv}" + FIELDS, cc__csv=csv)
    (problem,) = problems_in(caught.value, tmp_path / "cc.csv")
    assert (problem.line, problem.field) == (2, "from") and "'01/10/2025' is not a date" in problem.message


def test_a_file_keyed_by_another_column_than_by_says_is_an_error(tmp_path: Path) -> None:
    csv = "employee_id,cost_centre,from,to\nE0001,CC-A,,\n"
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "cost_centres: {by: department, file: cc.csv}" + FIELDS, cc__csv=csv)
    (problem,) = problems_in(caught.value, tmp_path / "cc.csv")
    assert problem.line == 1 and "keyed by 'employee_id' but cost_centres.by is department" in problem.message


def test_an_unknown_by_is_an_error_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "cost_centres:\n  by: location\n  default: CC" + FIELDS)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (2, "cost_centres.by")
    assert "'employee', 'department' or 'site'" in problem.message


def test_cost_centre_as_a_source_needs_a_cost_centres_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, FIELDS)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (4, "fields[2].from")
    assert "needs a `cost_centres:` section" in problem.message


def test_rules_built_in_code_are_checked_for_overlaps_too() -> None:
    rules = (CostCentreRule("ops", "A", date(2025, 1, 1), None), CostCentreRule("ops", "B", date(2025, 6, 1), None))
    with pytest.raises(ValueError, match="overlaps"):
        CostCentres(by="department", rules=rules)
