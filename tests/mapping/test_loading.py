"""A mapping file is checked when it is loaded: every problem with file, line and field path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.mapping_fixtures import day, days_frame, employees_frame, write

from punchbridge.errors import ConfigError, Problem
from punchbridge.mapping import OutputField, TargetMapping, apply_mapping
from punchbridge.mapping.files import load_mapping

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings"


def load_problems(tmp_path: Path, yaml: str) -> list[Problem]:
    """The problems `load_mapping` reports for a mapping file with `yaml`."""
    path = write(tmp_path, "mapping.yaml", yaml)
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    assert all(p.file == str(path) for p in caught.value.problems)
    return caught.value.problems


def where(problems: list[Problem]) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.field) for p in problems]


def test_an_unknown_transform_is_named_with_its_line_and_the_known_ones(tmp_path: Path) -> None:
    problems = load_problems(
        tmp_path, "fields:\n  - {name: A, from: status}\n  - {name: B, from: status, transform: titlecase}\n"
    )
    assert where(problems) == [(3, "fields[1].transform")]
    assert (
        "unknown transform 'titlecase'; known: hours_minutes, lower, minutes_to_hours, upper, yes_no"
        in problems[0].message
    )


def test_a_transform_a_plugin_registered_is_known(tmp_path: Path) -> None:
    path = write(tmp_path, "mapping.yaml", "fields:\n  - {name: B, from: status, transform: titlecase}\n")
    mapping = load_mapping(path, {"titlecase": lambda s: s.str.title()})
    assert set(mapping.transforms) == {"titlecase"}


def test_an_unknown_source_field_is_named_with_its_line(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, "fields:\n  - name: Hours\n    from: worked_hours\n")
    assert where(problems) == [(3, "fields[0].from")]
    assert "unknown source 'worked_hours'; use one of employee_id, work_date" in problems[0].message


def test_a_key_given_twice_in_the_mapping_file_is_an_error(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, "fields:\n  - name: A\n    from: status\n    from: shift\n")
    assert where(problems) == [(4, "fields[0].from")]
    assert "appears twice" in problems[0].message


def test_an_unknown_setting_is_an_error(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, "fields:\n  - {name: A, from: status, fromat: x}\n")
    assert where(problems) == [(2, "fields[0].fromat")]


def test_a_column_name_given_twice_is_an_error(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, "fields:\n  - {name: A, from: status}\n  - {name: A, from: shift}\n")
    assert where(problems) == [(3, "fields[1].name")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{name: D, from: work_date, format: dd/mm/yyyy}", "is not a format"),
        ('{name: D, from: work_date, format: "%d/%m/%Q"}', "uses %Q, which is not supported"),
        ('{name: D, from: work_date, format: "%c"}', "uses %c, which is not supported"),
        ('{name: D, from: worked_minutes, format: "%d/%m/%Y"}', "is a date format but the value is a number"),
        ('{name: D, from: work_date, format: "0.00"}', "is a number format but the value is a date"),
        ('{name: D, from: worked_minutes, transform: hours_minutes, format: "0.00"}', "value after hours_minutes"),
    ],
)
def test_a_bad_format_is_an_error_at_its_field(tmp_path: Path, spec: str, message: str) -> None:
    problems = load_problems(tmp_path, f"fields:\n  - {spec}\n")
    assert where(problems) == [(2, "fields[0].format")]
    assert message in problems[0].message


def test_a_built_in_transform_on_a_source_of_the_wrong_kind_is_an_error(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, "fields:\n  - {name: H, from: status, transform: minutes_to_hours}\n")
    assert where(problems) == [(2, "fields[0].transform")]
    assert "minutes_to_hours takes a number but status is a text" in problems[0].message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{name: A}", "either `from:` (a source) or `value:`"),
        ("{name: A, from: status, value: x}", "either `from:` (a source) or `value:`"),
        ("{name: A, from: status, strict: true}", "`strict: true` needs `values:`"),
        ("{name: A, value: x, transform: upper}", "a constant `value` cannot have a transform or values"),
    ],
)
def test_a_field_needs_one_source_and_consistent_settings(tmp_path: Path, spec: str, message: str) -> None:
    problems = load_problems(tmp_path, f"fields:\n  - {spec}\n")
    assert [p.line for p in problems] == [2] and message in problems[0].message


def test_a_mapping_needs_fields(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, "ids: {table: {E0001: P-1}}\n")
    assert [p.field for p in problems] == ["fields"]
    assert problems[0].message == "required setting is missing"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    yaml = """
    fields:
      - {name: A, from: nothing}
      - {name: B, from: status, transform: nope}
      - {name: C, from: status, format: x}
    """
    assert where(load_problems(tmp_path, yaml)) == [
        (2, "fields[0].from"),
        (3, "fields[1].transform"),
        (4, "fields[2].format"),
    ]


def test_a_mapping_built_in_code_is_checked_like_a_file() -> None:
    with pytest.raises(ValueError, match=r"fields\.0\.from: unknown source 'hours'"):
        TargetMapping(fields=(OutputField("H", "hours"),))


def test_the_example_payroll_mapping_loads_and_maps_a_demo_day(tmp_path: Path) -> None:
    mapping = load_mapping(EXAMPLES / "payroll.yaml")
    assert mapping.columns[:3] == ("EmployeeCode", "Date", "Status")
    employees = employees_frame({"E0002": "logistics"})
    rows = [day("E0002", "2025-10-15"), day("E0002", "2025-10-16", status="weekly_off", worked_minutes=0)]
    first, second = (r.fields for r in apply_mapping(mapping, days_frame(rows), employees).records)
    assert dict(first) == {
        "EmployeeCode": "P-10002",
        "Date": "15/10/2025",
        "Status": "P",
        "InTime": "09:02",
        "OutTime": "18:32",
        "WorkedHours": "8.50",
        "OvertimeHours": "0.50",
        "LOP": 0.0,
        "CostCentre": "CC-LOG-A",
        "Recomputed": "N",
    }
    assert (second["Status"], second["WorkedHours"], second["CostCentre"]) == ("WO", "0.00", "CC-LOG-B")


def test_lookup_files_are_read_from_the_mapping_files_folder(tmp_path: Path) -> None:
    copy = tmp_path / "customer"
    shutil.copytree(EXAMPLES, copy)
    mapping = load_mapping(copy / "payroll.yaml")
    assert mapping.ids is not None and mapping.ids.source == str(copy / "ids.csv")
    assert mapping.cost_centres is not None and mapping.cost_centres.source == str(copy / "cost-centres.csv")
