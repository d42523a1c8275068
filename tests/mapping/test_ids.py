"""ID mapping: the terminal's user id becomes the target's employee id, or the day is held back."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.mapping_fixtures import OCT_1, day, fields_of, held, mapping_from, problems_in, run

from punchbridge.errors import ConfigError

FIELDS = """
fields:
  - {name: EmployeeCode, from: target_id}
  - {name: Terminal, from: employee_id}
"""
IDS_CSV = """
employee_id,target_id
E0001,P-10001
E0002,P-10002
"""


def test_target_id_comes_from_a_csv_lookup_table_next_to_the_mapping(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "ids: {file: ids.csv}" + FIELDS, ids__csv=IDS_CSV)
    result = run(mapping, [day("E0001"), day("E0002")])
    assert fields_of(result) == [
        {"EmployeeCode": "P-10001", "Terminal": "E0001"},
        {"EmployeeCode": "P-10002", "Terminal": "E0002"},
    ]


def test_target_id_comes_from_a_yaml_lookup_file(tmp_path: Path) -> None:
    yaml_ids = 'E0001: P-10001\n"0012": P-10012\n'
    mapping = mapping_from(tmp_path, "ids: {file: ids.yaml}" + FIELDS, ids__yaml=yaml_ids)
    result = run(mapping, [day("E0001"), day("0012")])
    assert [f["EmployeeCode"] for f in fields_of(result)] == ["P-10001", "P-10012"]


def test_target_id_comes_from_an_inline_table(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "ids:\n  table: {E0001: P-10001, E0002: P-10002}" + FIELDS)
    assert [f["EmployeeCode"] for f in fields_of(run(mapping, [day("E0002")]))] == ["P-10002"]


def test_without_an_ids_section_the_target_id_is_the_terminal_id(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, FIELDS)
    assert fields_of(run(mapping, [day("E0001")])) == [{"EmployeeCode": "E0001", "Terminal": "E0001"}]


def test_a_missing_id_holds_its_days_back_with_the_reason_and_sends_the_rest(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "ids: {file: ids.csv, missing: quarantine}" + FIELDS, ids__csv=IDS_CSV)
    result = run(mapping, [day("E0001"), day("E0009"), day("E0009", "2025-10-02")])
    assert [r.key for r in result.records] == ["E0001|2025-10-01|day"]
    assert held(result) == [("E0009", "2025-10-01", "unmapped_id"), ("E0009", "2025-10-02", "unmapped_id")]
    assert "'E0009'" in result.held_back["detail"][0] and "ids.csv" in result.held_back["detail"][0]


def test_quarantine_is_the_default_for_a_missing_id(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "ids: {file: ids.csv}" + FIELDS, ids__csv=IDS_CSV)
    assert held(run(mapping, [day("E0009")])) == [("E0009", OCT_1.isoformat(), "unmapped_id")]


def test_missing_ids_in_error_mode_stop_before_any_record_and_list_every_id(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "ids: {file: ids.csv, missing: error}" + FIELDS, ids__csv=IDS_CSV)
    with pytest.raises(ConfigError) as caught:
        run(mapping, [day("E0001"), day("E0009"), day("E0009", "2025-10-02"), day("E0007")])
    message = str(caught.value)
    assert "'E0007' (1 day(s))" in message and "'E0009' (2 day(s))" in message
    assert "E0001" not in message
    *ids, advice = caught.value.problems
    assert all(p.file == str(tmp_path / "ids.csv") for p in ids)
    assert (advice.file, advice.field) == (str(tmp_path / "mapping.yaml"), "ids.missing")


def test_the_id_file_must_exist_and_the_error_points_at_the_mapping_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "# payroll\n# mapping\nids:\n  file: nowhere.csv" + FIELDS)
    (pointer,) = problems_in(caught.value, tmp_path / "mapping.yaml")
    (missing,) = problems_in(caught.value, tmp_path / "nowhere.csv")
    assert (pointer.file, pointer.line, pointer.field) == (str(tmp_path / "mapping.yaml"), 4, "ids.file")
    assert missing.message == "file not found"


def test_a_terminal_id_given_twice_in_the_csv_names_both_lines(tmp_path: Path) -> None:
    ids = IDS_CSV + "E0003,P-10003\nE0001,P-10099\n"
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "ids: {file: ids.csv}" + FIELDS, ids__csv=ids)
    (problem,) = problems_in(caught.value, tmp_path / "ids.csv")
    assert (problem.line, problem.field) == (5, "employee_id")
    assert "'E0001' is already on line 2" in problem.message


def test_one_target_id_for_two_terminal_ids_is_an_error_since_days_would_be_sent_twice(tmp_path: Path) -> None:
    ids = IDS_CSV + "E0003,P-10001\n"
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "ids: {file: ids.csv}" + FIELDS, ids__csv=ids)
    (problem,) = problems_in(caught.value, tmp_path / "ids.csv")
    assert (problem.line, problem.field) == (4, "target_id")
    assert "'P-10001' is already given to 'E0001' on line 2" in problem.message


def test_an_empty_target_id_in_the_csv_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "ids: {file: ids.csv}" + FIELDS, ids__csv=IDS_CSV + "E0003,\n")
    (problem,) = problems_in(caught.value, tmp_path / "ids.csv")
    assert (problem.line, problem.field, problem.message) == (4, "target_id", "value is missing")


def test_an_id_csv_without_the_target_id_column_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing column"):
        mapping_from(tmp_path, "ids: {file: ids.csv}" + FIELDS, ids__csv="employee_id,payroll_id\nE0001,P-1\n")


def test_a_number_as_a_yaml_id_must_be_quoted_since_leading_zeros_would_be_lost(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "ids: {file: ids.yaml}" + FIELDS, ids__yaml="E0001: P-10001\n0012: P-10012\n")
    (problem,) = problems_in(caught.value, tmp_path / "ids.yaml")
    assert problem.line == 2
    assert "is a number in YAML: write it in quotes" in problem.message


def test_a_yaml_id_given_twice_is_an_error_naming_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "ids: {file: ids.yaml}" + FIELDS, ids__yaml="E0001: P-1\nE0002: P-2\nE0001: P-3\n")
    (problem,) = problems_in(caught.value, tmp_path / "ids.yaml")
    assert problem.line == 3
    assert "appears twice" in problem.message


def test_inline_table_problems_point_into_the_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "ids:\n  table:\n    E0001: P-1\n    E0002: 7" + FIELDS)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(tmp_path / "mapping.yaml"), 4, "ids.table.E0002")


def test_ids_need_either_a_file_or_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "ids: {missing: error}" + FIELDS)
    (problem,) = caught.value.problems
    assert problem.field == "ids" and "either as `file:` or as `table:`" in problem.message


def test_an_unknown_missing_policy_is_an_error_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping_from(tmp_path, "ids:\n  file: ids.csv\n  missing: skip" + FIELDS, ids__csv=IDS_CSV)
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (3, "ids.missing")
