"""Field maps: output columns in order, renamed, formatted, value-mapped and transformed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.mapping_fixtures import day, days_frame, employees_frame, fields_of, held, mapping_from, run, write

from punchbridge.errors import ConfigError
from punchbridge.mapping import OutputField, TargetMapping, apply_mapping
from punchbridge.mapping.files import load_mapping


def one_field(tmp_path: Path, spec: str, **row: Any) -> Any:
    """The value of the single field `spec` (a YAML flow mapping) for one day with `row` overrides."""
    mapping = mapping_from(tmp_path, f"fields:\n  - {spec}\n")
    (fields,) = fields_of(run(mapping, [day(**row)]))
    return fields[mapping.columns[0]]


def test_output_columns_follow_the_order_of_the_fields_section(tmp_path: Path) -> None:
    yaml = "fields:\n  - {name: Z, from: status}\n  - {name: A, from: employee_id}\n  - {name: M, from: work_date}\n"
    result = run(mapping_from(tmp_path, yaml), [day()])
    assert result.columns == ("Z", "A", "M")
    assert list(result.records[0].fields) == ["Z", "A", "M"]


def test_a_field_renames_its_source(tmp_path: Path) -> None:
    assert one_field(tmp_path, "{name: Shift, from: shift}", shift="night") == "night"


def test_values_are_plain_python_types(tmp_path: Path) -> None:
    yaml = """
    fields:
      - {name: Minutes, from: worked_minutes}
      - {name: Lop, from: lop_days}
      - {name: Again, from: recomputed}
      - {name: Status, from: status}
    """
    (fields,) = fields_of(run(mapping_from(tmp_path, yaml), [day(worked_minutes=495, lop_days=0.5, recomputed=True)]))
    assert fields == {"Minutes": 495, "Lop": 0.5, "Again": True, "Status": "present"}
    assert [type(v) for v in fields.values()] == [int, float, bool, str]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("%d/%m/%Y", "01/10/2025"), ("%Y%m%d", "20251001"), ("%d %b %Y", "01 Oct 2025"), ("%d.%m.%y", "01.10.25")],
)
def test_dates_are_formatted_with_strftime_patterns(tmp_path: Path, pattern: str, expected: str) -> None:
    assert one_field(tmp_path, f'{{name: Date, from: work_date, format: "{pattern}"}}') == expected


def test_first_in_is_formatted_as_the_local_time_it_was_written_in(tmp_path: Path) -> None:
    spec = '{name: In, from: first_in, format: "%H:%M"}'
    assert one_field(tmp_path, spec, first_in="2025-10-01T22:05:00+05:30") == "22:05"


def test_a_day_without_a_first_in_keeps_the_empty_value(tmp_path: Path) -> None:
    assert one_field(tmp_path, '{name: In, from: first_in, format: "%H:%M"}', first_in="") == ""


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ('{name: H, from: worked_minutes, transform: minutes_to_hours, format: "0.00"}', 510, "8.50"),
        ('{name: H, from: worked_minutes, transform: minutes_to_hours, format: "0.00"}', 485, "8.08"),
        ('{name: H, from: worked_minutes, transform: minutes_to_hours, format: "0.0"}', 45, "0.8"),
        ('{name: H, from: worked_minutes, transform: minutes_to_hours, format: "0"}', 510, "9"),
        ('{name: H, from: worked_minutes, transform: minutes_to_hours, format: "0,00"}', 510, "8,50"),
        ('{name: M, from: worked_minutes, format: "0.00"}', 0, "0.00"),
    ],
)
def test_numbers_are_formatted_with_a_fixed_number_of_decimals(
    tmp_path: Path, spec: str, value: int, expected: str
) -> None:
    assert one_field(tmp_path, spec, worked_minutes=value) == expected


def test_number_formats_round_half_away_from_zero_as_the_number_is_written(tmp_path: Path) -> None:
    values = {"half": {"a": 2.675, "b": 0.125, "c": -0.125}}
    transforms = {"half": lambda s: s.map(lambda v: values["half"][v]).astype(float)}
    yaml = 'fields:\n  - {name: X, from: status, transform: half, format: "0.00"}\n'
    mapping = load_mapping(write(tmp_path, "mapping.yaml", yaml), transforms)
    result = run(mapping, [day("E1", status="a"), day("E2", status="b"), day("E3", status="c")])
    assert [f["X"] for f in fields_of(result)] == ["2.68", "0.13", "-0.13"]


def test_a_value_map_replaces_values_that_have_an_entry(tmp_path: Path) -> None:
    spec = "{name: S, from: status, values: {present: P, absent: A, weekly_off: WO}}"
    assert one_field(tmp_path, spec, status="weekly_off") == "WO"


def test_a_value_without_an_entry_passes_through_unchanged(tmp_path: Path) -> None:
    assert one_field(tmp_path, "{name: S, from: status, values: {present: P}}", status="half_day") == "half_day"


def test_with_strict_a_value_without_an_entry_holds_the_day_back(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "fields:\n  - {name: S, from: status, values: {present: P}, strict: true}\n")
    result = run(mapping, [day("E0001"), day("E0002", status="half_day")])
    assert [f["S"] for f in fields_of(result)] == ["P"]
    assert held(result) == [("E0002", "2025-10-01", "unmapped_value")]
    assert "S: status value 'half_day'" in result.held_back["detail"][0]


def test_a_value_map_can_map_booleans_and_numbers(tmp_path: Path) -> None:
    assert one_field(tmp_path, "{name: R, from: recomputed, values: {true: Y, false: N}}", recomputed=True) == "Y"
    assert one_field(tmp_path, "{name: L, from: lop_days, values: {1: FULL, 0.5: HALF}}", lop_days=0.5) == "HALF"


@pytest.mark.parametrize(
    ("spec", "row", "expected"),
    [
        ("{name: H, from: worked_minutes, transform: minutes_to_hours}", {"worked_minutes": 510}, 8.5),
        ("{name: H, from: worked_minutes, transform: hours_minutes}", {"worked_minutes": 510}, "8:30"),
        ("{name: H, from: ot_minutes, transform: hours_minutes}", {"ot_minutes": 5}, "0:05"),
        ("{name: S, from: site, transform: upper}", {"site": "blr"}, "BLR"),
        ("{name: S, from: shift, transform: lower}", {"shift": "General"}, "general"),
        ("{name: R, from: recomputed, transform: yes_no}", {"recomputed": True}, "Y"),
        ("{name: R, from: recomputed, transform: yes_no}", {"recomputed": False}, "N"),
    ],
)
def test_built_in_transforms(tmp_path: Path, spec: str, row: dict[str, object], expected: object) -> None:
    assert one_field(tmp_path, spec, **row) == expected


def test_a_transform_registered_by_a_plugin_is_used_by_name(tmp_path: Path) -> None:
    def badge(series: pd.Series) -> pd.Series:
        return "BADGE-" + series.astype(str)

    path = write(tmp_path, "mapping.yaml", "fields:\n  - {name: Badge, from: employee_id, transform: badge}\n")
    mapping = load_mapping(path, {"badge": badge})
    assert fields_of(run(mapping, [day("E0001")])) == [{"Badge": "BADGE-E0001"}]


def test_transform_then_value_map_then_format_apply_in_that_order(tmp_path: Path) -> None:
    spec = '{name: H, from: status, transform: upper, values: {PRESENT: 1, ABSENT: 0}, format: "0.0"}'
    assert one_field(tmp_path, spec) == "1.0"


def test_a_constant_value_fills_every_row(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "fields:\n  - {name: Company, value: ACME}\n  - {name: Blank, value: null}\n")
    assert fields_of(run(mapping, [day("E0001"), day("E0002")])) == [{"Company": "ACME", "Blank": None}] * 2


def test_department_comes_from_the_employees_frame(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "fields:\n  - {name: Dept, from: department}\n")
    result = run(mapping, [day("E0003"), day("E0009")], employees_frame({"E0003": "finance"}))
    assert [f["Dept"] for f in fields_of(result)] == ["finance", None]


def test_a_transform_that_fails_is_a_config_error_at_its_field(tmp_path: Path) -> None:
    def grade(series: pd.Series) -> pd.Series:
        raise KeyError("grade table has no entry for 510")

    path = write(
        tmp_path,
        "mapping.yaml",
        "fields:\n  - {name: A, from: status}\n  - {name: G, from: worked_minutes, transform: grade}\n",
    )
    mapping = load_mapping(path, {"grade": grade})
    with pytest.raises(ConfigError) as caught:
        run(mapping, [day()])
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 3, "fields[1].transform")
    assert "transform 'grade' failed on worked_minutes" in problem.message


def test_a_transform_must_return_one_value_per_row() -> None:
    mapping = TargetMapping(
        fields=(OutputField("X", "status", transform="first"),), transforms={"first": lambda s: s.head(1)}
    )
    with pytest.raises(ConfigError, match="did not return one value per row"):
        apply_mapping(mapping, days_frame([day("E0001"), day("E0002")]), employees_frame())
