"""Records: stable keys from content identity, and content hashes that change exactly when a value does."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from support.mapping_fixtures import day, days_frame, employees_frame, mapping_from, month, run

from punchbridge.mapping import HELD_BACK_COLUMNS, TargetMapping, apply_mapping, record_hash

YAML = """
ids: {table: {E0001: P-10001, E0002: P-10002}}
cost_centres: {by: department, rules: [{key: ops, cost_centre: CC-OPS}], default: CC-GENERAL}
fields:
  - {name: EmployeeCode, from: target_id}
  - {name: Date, from: work_date, format: "%d/%m/%Y"}
  - {name: Status, from: status, values: {present: P, absent: A}}
  - {name: Hours, from: worked_minutes, transform: minutes_to_hours, format: "0.00"}
  - {name: Lop, from: lop_days}
  - {name: Note, from: anomalies}
  - {name: CostCentre, from: cost_centre}
"""


@pytest.fixture
def mapping(tmp_path: Path) -> TargetMapping:
    return mapping_from(tmp_path, YAML)


def test_the_key_is_terminal_id_work_date_and_kind(mapping: TargetMapping) -> None:
    result = run(mapping, [day("E0001", "2025-10-01"), day("E0002", "2025-10-02")])
    assert [r.key for r in result.records] == ["E0001|2025-10-01|day", "E0002|2025-10-02|day"]


def test_records_keep_the_input_order(mapping: TargetMapping) -> None:
    rows = [day("E0002", "2025-10-02"), day("E0001", "2025-10-03"), day("E0002", "2025-10-01")]
    assert [r.key for r in run(mapping, rows).records] == [
        "E0002|2025-10-02|day",
        "E0001|2025-10-03|day",
        "E0002|2025-10-01|day",
    ]


def test_the_hash_is_sha256_of_the_canonical_json_of_the_fields_in_column_order(mapping: TargetMapping) -> None:
    (record,) = run(mapping, [day("E0001", anomalies="missing_out;späť")]).records
    text = json.dumps(dict(record.fields), ensure_ascii=False, separators=(",", ":"))
    assert text.startswith('{"EmployeeCode":"P-10001","Date":"01/10/2025",')
    assert record.content_hash == hashlib.sha256(text.encode()).hexdigest() == record_hash(record.fields)


def test_the_same_days_give_the_same_keys_and_hashes(mapping: TargetMapping) -> None:
    rows = month("E0001", date(2025, 10, 1), date(2025, 10, 31)) + month("E0002", date(2025, 10, 1), date(2025, 10, 5))
    first, second = run(mapping, rows), run(mapping, list(rows))
    assert [(r.key, r.content_hash) for r in first.records] == [(r.key, r.content_hash) for r in second.records]


def test_a_day_gives_the_same_record_whatever_else_is_in_the_batch(mapping: TargetMapping) -> None:
    alone = run(mapping, [day("E0001", "2025-10-03", worked_minutes=495)]).records[0]
    among = run(mapping, [day("E0002", "2025-10-03"), day("E0001", "2025-10-03", worked_minutes=495)]).records[1]
    assert (alone.key, alone.fields, alone.content_hash) == (among.key, among.fields, among.content_hash)


def test_a_changed_value_changes_the_hash_and_keeps_the_key(mapping: TargetMapping) -> None:
    before = run(mapping, [day("E0001", worked_minutes=510)]).records[0]
    after = run(mapping, [day("E0001", worked_minutes=511)]).records[0]
    assert after.key == before.key and after.content_hash != before.content_hash


def test_a_change_the_mapping_does_not_send_leaves_the_hash_alone(mapping: TargetMapping) -> None:
    before = run(mapping, [day("E0001", punch_count=2, rules_version="r1")]).records[0]
    after = run(mapping, [day("E0001", punch_count=4, rules_version="r2")]).records[0]
    assert after.content_hash == before.content_hash


def test_categorical_and_plain_text_columns_give_identical_records(mapping: TargetMapping) -> None:
    rows = [day("E0001"), day("E0002", status="absent", lop_days=1.0)]
    engine = apply_mapping(mapping, days_frame(rows, categorical=True), employees_frame()).records
    store = apply_mapping(mapping, days_frame(rows, categorical=False), employees_frame()).records
    assert engine == store


def test_work_dates_may_be_date_objects(mapping: TargetMapping) -> None:
    frame = days_frame([day("E0001")], categorical=False)
    frame["work_date"] = [date(2025, 10, 1)]
    (record,) = apply_mapping(mapping, frame, employees_frame()).records
    assert record.key == "E0001|2025-10-01|day" and record.fields["Date"] == "01/10/2025"


def test_no_days_give_no_records_and_an_empty_held_back_frame(mapping: TargetMapping) -> None:
    result = run(mapping, [])
    assert result.records == [] and list(result.held_back.columns) == list(HELD_BACK_COLUMNS)
    assert result.columns == mapping.columns


def test_two_rows_for_the_same_employee_and_date_are_refused(mapping: TargetMapping) -> None:
    with pytest.raises(ValueError, match="more than one row for the same employee_id and work_date"):
        run(mapping, [day("E0001"), day("E0001", status="absent")])
