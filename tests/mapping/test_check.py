"""`check_mapping`: what a consultant must see before a sync writes anything."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from support.mapping_fixtures import day, days_frame, employees_frame, mapping_from, month

from punchbridge.mapping import MappingReport, check_mapping, format_report
from punchbridge.mapping.check import DaysOf, UnusedId, UnusedValue, ValueCount

IDS = "employee_id,target_id\nE0001,P-10001\nE0002,P-10002\nE0004,P-10004\n"
CENTRES = "department,cost_centre,from,to\nops,CC-OPS,2025-10-01,\nops,CC-OPS-2024,2024-01-01,2024-12-31\nhr,CC-HR,,\n"
FIELDS = """
fields:
  - {name: EmployeeCode, from: target_id}
  - name: Status
    from: status
    values: {present: P, absent: A, holiday: HO}
  - {name: CostCentre, from: cost_centre}
"""
OCTOBER = (date(2025, 10, 1), date(2025, 10, 31))


def report_for(tmp_path: Path, *, missing: str = "quarantine", default: str = "") -> MappingReport:
    """The report for October: E0001 (ops) and E0003 (no id; finance) every day; E0002 (ops) off on the 2nd."""
    default_line = f", default: {default}" if default else ""
    yaml = (
        f"ids: {{file: ids.csv, missing: {missing}}}\ncost_centres: {{by: department, file: cc.csv{default_line}}}"
        + FIELDS
    )
    mapping = mapping_from(tmp_path, yaml, ids__csv=IDS, cc__csv=CENTRES)
    rows = month("E0001", *OCTOBER) + month("E0003", *OCTOBER) + [day("E0002", "2025-10-02", status="half_day")]
    employees = employees_frame({"E0001": "ops", "E0002": "ops", "E0003": "finance"})
    return check_mapping(mapping, days_frame(rows), employees)


def test_the_report_counts_days_records_and_held_back_days_by_reason(tmp_path: Path) -> None:
    report = report_for(tmp_path)
    assert (report.days, report.first_day, report.last_day) == (63, *OCTOBER)
    assert report.records == 32
    assert report.held_back == {"unmapped_id": 31}


def test_unmapped_ids_are_listed_with_the_days_they_hold_back(tmp_path: Path) -> None:
    report = report_for(tmp_path)
    assert report.unmapped_ids == (DaysOf("E0003", 31, *OCTOBER),)
    assert not report.clean and not report.stops_sync


def test_ids_in_the_table_that_no_day_uses_are_listed_with_their_line(tmp_path: Path) -> None:
    assert report_for(tmp_path).unused_ids == (UnusedId("E0004", "P-10004", 4),)


def test_in_error_mode_the_check_reports_instead_of_raising_and_says_a_sync_would_stop(tmp_path: Path) -> None:
    report = report_for(tmp_path, missing="error")
    assert report.unmapped_ids == (DaysOf("E0003", 31, *OCTOBER),) and report.stops_sync
    assert "A sync would stop" in format_report(report)


def test_cost_centre_rules_no_day_uses_are_listed(tmp_path: Path) -> None:
    rules = report_for(tmp_path).unused_rules
    assert [(r.line, r.key, r.cost_centre) for r in rules] == [(3, "ops", "CC-OPS-2024"), (4, "hr", "CC-HR")]


def test_days_no_rule_covers_are_listed_as_held_back_without_a_default(tmp_path: Path) -> None:
    report = report_for(tmp_path)
    assert report.no_cost_centre == (DaysOf("finance", 31, *OCTOBER),) and report.defaulted == ()


def test_days_no_rule_covers_are_listed_as_defaulted_with_a_default(tmp_path: Path) -> None:
    report = report_for(tmp_path, default="CC-GENERAL")
    assert report.defaulted == (DaysOf("finance", 31, *OCTOBER),) and report.no_cost_centre == ()


def test_values_without_a_value_map_entry_are_listed_with_their_day_counts(tmp_path: Path) -> None:
    assert report_for(tmp_path).unmapped_values == (ValueCount("Status", "half_day", 1, strict=False),)


def test_value_map_entries_no_day_uses_are_listed(tmp_path: Path) -> None:
    unused = report_for(tmp_path).unused_values
    assert unused == (UnusedValue("Status", "absent", 5), UnusedValue("Status", "holiday", 5))


def test_a_clean_mapping_says_every_day_maps(tmp_path: Path) -> None:
    mapping = mapping_from(tmp_path, "ids: {table: {E0001: P-1}}\nfields:\n  - {name: E, from: target_id}\n")
    report = check_mapping(mapping, days_frame([day("E0001")]), employees_frame())
    assert report.clean and format_report(report).endswith("Every day maps.")


def test_the_text_report_lists_every_finding_under_a_heading(tmp_path: Path) -> None:
    text = format_report(report_for(tmp_path))
    cc = str(tmp_path / "cc.csv")
    for expected in [
        f"Mapping {tmp_path / 'mapping.yaml'} against 63 day(s) from 2025-10-01 to 2025-10-31",
        "  32 record(s) ready; 31 day(s) held back (unmapped_id: 31)",
        f"Terminal ids with no target id in {tmp_path / 'ids.csv'} (1): "
        "their days are held back (ids.missing: quarantine)",
        "  E0003: 31 day(s), 2025-10-01 to 2025-10-31",
        "  line 4: E0004 -> P-10004",
        "  department finance: 31 day(s), 2025-10-01 to 2025-10-31",
        f"Cost-centre rules in {cc} that no day uses (2):",
        "  line 3: ops -> CC-OPS-2024 (2024-01-01 to 2024-12-31)",
        "  Status: 'half_day' on 1 day(s): sent unchanged",
        "  line 5: Status: 'absent'",
    ]:
        assert expected in text.splitlines(), expected


@pytest.mark.parametrize("categorical", [True, False])
def test_the_check_agrees_with_what_apply_mapping_sends(tmp_path: Path, categorical: bool) -> None:
    from punchbridge.mapping import apply_mapping

    mapping = mapping_from(
        tmp_path,
        "ids: {file: ids.csv}\ncost_centres: {by: department, file: cc.csv}" + FIELDS,
        ids__csv=IDS,
        cc__csv=CENTRES,
    )
    rows = month("E0001", *OCTOBER) + month("E0002", *OCTOBER) + month("E0003", date(2025, 10, 5), date(2025, 10, 9))
    employees = employees_frame({"E0001": "ops", "E0002": "hr", "E0003": "ops"})
    days = days_frame(rows, categorical=categorical)
    report = check_mapping(mapping, days, employees)
    result = apply_mapping(mapping, days, employees)
    assert report.records == len(result.records)
    assert report.held_back == result.held_back["reason"].value_counts().to_dict()
