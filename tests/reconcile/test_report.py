"""The report files on their own: CSV cells, the HTML page, its chart, and values a target sends back."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest

from punchbridge.errors import OutputError
from punchbridge.reconcile import CSV_COLUMNS, Finding
from punchbridge.reconcile.report import (
    MAX_HTML_ROWS,
    STATUS_COLOURS,
    ReportPage,
    render_csv,
    render_html,
    write_report,
)

START, END = date(2026, 10, 1), date(2026, 10, 31)


def page(**changes: object) -> ReportPage:
    values: dict[str, object] = {
        "target": "odoo", "describe": "odoo odoo -> https://acme.example", "start": START, "end": END,
        "counts": {"missing": 1, "different": 1, "extra": 1, "matched": 2, "locked": 0, "remaining": 3},
        "headline": "3 difference(s) remain", "repair": False,
    }  # fmt: skip
    values.update(changes)
    return ReportPage(**values)  # type: ignore[arg-type]


def findings() -> list[Finding]:
    return [
        Finding("matched", date(2026, 10, 1), "E1", "E1", "E1|2026-10-01|day"),
        Finding("matched", date(2026, 10, 2), "E1", "E1", "E1|2026-10-02|day"),
        Finding("missing", date(2026, 10, 2), "E2", "E2", "E2|2026-10-02|day", expected={"check_in": "09:00"},
                action="resend", ledger="delivered"),
        Finding("different", date(2026, 10, 3), "10003", "E3", "E3|2026-10-03|day", differing=("Cost_Centre__c",),
                expected={"Cost_Centre__c": "CC-LOG"}, held={"Cost_Centre__c": "CC-WRONG"}, action="locked"),
        Finding("extra", date(2026, 10, 20), "E4", held={"check_in": "09:00"}, remote_id="hr.attendance:7",
                action="remove_in_target", note="duplicate: the target holds this day twice"),
    ]  # fmt: skip


def test_the_csv_has_one_row_per_finding_with_the_documented_columns() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(findings()))))

    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [(r["status"], r["action"], r["work_date"]) for r in rows] == [
        ("matched", "", "2026-10-01"),
        ("matched", "", "2026-10-02"),
        ("missing", "resend", "2026-10-02"),
        ("different", "locked", "2026-10-03"),
        ("extra", "remove_in_target", "2026-10-20"),
    ]
    different = rows[3]
    assert different["fields_differing"] == "Cost_Centre__c"
    assert different["expected"] == '{"Cost_Centre__c": "CC-LOG"}'
    assert different["held"] == '{"Cost_Centre__c": "CC-WRONG"}'
    assert rows[4]["remote_id"] == "hr.attendance:7" and "duplicate" in rows[4]["detail"]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_defused_but_negative_numbers_are_kept() -> None:
    hostile = Finding("extra", START, '=HYPERLINK("http://evil")', remote_id="@SUM(A1)", note="-12")

    (row,) = list(csv.DictReader(io.StringIO(render_csv([hostile]))))

    assert row["target_employee"] == '\'=HYPERLINK("http://evil")'
    assert row["remote_id"] == "'@SUM(A1)"
    assert row["detail"] == "-12"


def test_the_html_page_loads_nothing_from_outside() -> None:
    text = render_html(page(), findings())

    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text.lower()
    assert "<svg" in text and "<style>" in text


def test_the_html_page_shows_counts_differences_and_what_the_operator_does() -> None:
    text = render_html(page(), findings())

    assert "Reconciliation of odoo, 2026-10-01 to 2026-10-31" in text
    assert "3 difference(s) remain" in text
    assert "Cost_Centre__c" in text and "CC-WRONG" in text and "CC-LOG" in text
    assert "remove_in_target" in text and "locked" in text
    assert "punchbridge cannot delete records in a target" in text
    assert "E1|2026-10-01|day" not in text  # matched records are counted, not listed


def test_the_chart_has_a_bar_per_day_with_findings_in_the_status_colours() -> None:
    text = render_html(page(), findings())

    chart = text[text.index("<svg") : text.index("</svg>")]
    assert chart.count('class="bar-matched"') == 2
    assert chart.count('class="bar-missing"') == 1
    assert chart.count('class="bar-different"') == 1
    assert chart.count('class="bar-extra"') == 1
    for status in ("matched", "missing", "different", "extra"):
        assert STATUS_COLOURS[status] in chart
    assert "2026-10-02: 1 missing" in chart


def test_a_period_without_records_draws_an_empty_chart_saying_so() -> None:
    text = render_html(page(headline="clean"), [])

    assert "no records in this period" in text
    assert "None: the target holds exactly what punchbridge computed." in text


def test_values_from_the_target_are_escaped_in_the_html() -> None:
    hostile = Finding("extra", START, "<script>alert(1)</script>", held={"note": "<img src=x onerror=alert(1)>"})

    text = render_html(page(), [hostile])

    assert "<script>alert(1)" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_a_long_list_of_differences_is_cut_in_the_html_but_not_in_the_csv() -> None:
    many = [Finding("missing", START, f"E{i}", f"E{i}", f"E{i}|2026-10-01|day") for i in range(MAX_HTML_ROWS + 5)]

    text = render_html(page(), many)

    assert f"The first {MAX_HTML_ROWS} of {MAX_HTML_ROWS + 5} differences are listed" in text
    assert len(render_csv(many).splitlines()) == MAX_HTML_ROWS + 6


def test_writing_replaces_an_earlier_report_of_the_same_period(tmp_path: Path) -> None:
    first_csv, first_html = write_report(tmp_path / "reports", page(), findings())
    second_csv, second_html = write_report(tmp_path / "reports", page(headline="clean"), [])

    assert (first_csv, first_html) == (second_csv, second_html)
    assert first_csv.name == "reconcile-odoo-2026-10-01_2026-10-31.csv"
    assert first_csv.read_text(encoding="utf-8").splitlines() == [",".join(CSV_COLUMNS)]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [first_csv.name, first_html.name]


def test_a_target_name_cannot_steer_the_report_outside_its_folder(tmp_path: Path) -> None:
    csv_path, html_path = write_report(tmp_path, page(target="../../etc/x y"), [])

    assert csv_path.parent == tmp_path and html_path.parent == tmp_path
    assert "/" not in csv_path.name and " " not in csv_path.name


def test_an_unwritable_report_folder_is_an_output_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be", encoding="utf-8")

    with pytest.raises(OutputError, match=r"cannot write the reconciliation report to .*reports.*--out"):
        write_report(blocker, page(), findings())


def test_the_reports_hold_personal_data_and_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    import os
    import stat

    previous = os.umask(0o022)  # the usual umask: new files readable by everyone
    try:
        written = write_report(tmp_path / "reports", page(), findings())
    finally:
        os.umask(previous)

    assert [stat.S_IMODE(path.stat().st_mode) for path in written] == [0o600, 0o600]
