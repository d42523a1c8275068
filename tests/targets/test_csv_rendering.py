"""The payroll CSV format: what the file, its name and its manifest contain, byte for byte."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from decimal import Decimal

import pytest
from support.target_fixtures import COLUMNS, attendance_batch, attendance_record

from punchbridge.plugins.csv_drop import accepted_records, file_name, manifest, manifest_name, render_csv


def test_header_is_the_batch_columns_and_each_row_follows_that_order() -> None:
    batch = attendance_batch([attendance_record("E1001", 3)], columns=("work_date", "employee_id", "present"))
    assert render_csv(batch) == b"work_date,employee_id,present\n2025-03-03,E1001,true\n"


def test_booleans_are_true_false_missing_values_empty_and_numbers_as_written() -> None:
    record = attendance_record("E1", 4, present=False, worked_hours=Decimal("7.25"), cost_centre=None)
    nan_record = attendance_record("E2", 4, worked_hours=float("nan"), note=None)
    text = render_csv(attendance_batch([record, nan_record])).decode()
    assert text.splitlines() == [
        ",".join(COLUMNS),
        "E1,2025-03-04,7.25,false,,",
        "E2,2025-03-04,,true,,",
    ]


def test_text_is_utf8_with_newline_endings_and_quoted_only_where_needed() -> None:
    record = attendance_record("E1", 3, note='late, "traffic"\nsecond line', cost_centre="Département 7")
    data = render_csv(attendance_batch([record]))
    assert data.endswith(b"\n") and b"\r" not in data
    assert data.split(b"\n", 1)[1] == 'E1,2025-03-03,8.5,true,Département 7,"late, ""traffic""\nsecond line"\n'.encode()
    (row,) = list(csv.reader(io.StringIO(data.decode())))[1:]
    assert row[-1] == 'late, "traffic"\nsecond line'


def test_the_same_batch_renders_to_the_same_bytes_whatever_the_field_insertion_order() -> None:
    record = attendance_record("E1", 3, note="x")
    reordered = attendance_record("E1", 3, note="x")
    object.__setattr__(reordered, "fields", dict(reversed(list(reordered.fields.items()))))
    assert render_csv(attendance_batch([record])) == render_csv(attendance_batch([reordered]))


def test_file_name_is_prefix_period_and_four_digit_sequence() -> None:
    assert file_name("attendance", attendance_batch(seq=7)) == "attendance_2025-03-01_2025-03-31_0007.csv"
    assert manifest_name("a.csv") == "a.csv.sha256"


def test_manifest_holds_the_sha256_the_file_name_and_the_data_row_count() -> None:
    records = [attendance_record("E1", 3, note="two\nlines"), attendance_record("E2", 3)]
    data = render_csv(attendance_batch(records))
    digest = hashlib.sha256(data).hexdigest()
    assert manifest("f.csv", data) == f"{digest}  f.csv\nrows: 2\n".encode()


@pytest.mark.parametrize("formula", ["=SUM(A1:A9)", "+A1", "-2+3", "@cmd", "=1"])
def test_escape_formulas_defuses_text_that_a_spreadsheet_would_run(formula: str) -> None:
    batch = attendance_batch([attendance_record("E1", 3, note=formula)], columns=("employee_id", "note"))
    assert render_csv(batch) == f"employee_id,note\nE1,{formula}\n".encode()
    assert render_csv(batch, escape_formulas=True) == f"employee_id,note\nE1,'{formula}\n".encode()


def test_escape_formulas_leaves_numbers_alone_even_as_text() -> None:
    record = attendance_record("E1", 3, worked_hours=-1.5, note="-0.75", cost_centre="+12")
    row = render_csv(attendance_batch([record]), escape_formulas=True).decode().splitlines()[1]
    assert row == "E1,2025-03-03,-1.5,true,+12,-0.75"


def test_a_record_without_a_value_for_a_column_is_set_apart_with_a_reason() -> None:
    incomplete = attendance_record("E2", 3)
    object.__setattr__(incomplete, "fields", {k: v for k, v in incomplete.fields.items() if k != "cost_centre"})
    accepted, refused = accepted_records(attendance_batch([attendance_record("E1", 3), incomplete]))
    assert [record.key for record in accepted] == ["E1|2025-03-03|day"]
    assert [(outcome.key, outcome.ok) for outcome in refused] == [("E2|2025-03-03|day", False)]
    assert "cost_centre" in (refused[0].message or "")


def test_without_columns_the_first_records_field_order_is_used() -> None:
    batch = attendance_batch([attendance_record("E1", 3)], columns=())
    header = render_csv(batch).decode().splitlines()[0]
    assert header == "note,present,worked_hours,work_date,employee_id,cost_centre"
    assert date(2025, 3, 3).isoformat() in render_csv(batch).decode()
