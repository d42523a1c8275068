"""Reading a reconciliation report the way an operator does: the CSV rows and the HTML text."""

from __future__ import annotations

import csv
from pathlib import Path

from punchbridge.reconcile import ReconcileReport


def csv_rows(report: ReconcileReport) -> list[dict[str, str]]:
    """The report's CSV as dicts (header as written)."""
    assert report.csv_path is not None
    with open(report.csv_path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def differences(report: ReconcileReport) -> set[tuple[str, str, str, str, str]]:
    """(status, employee_id, work_date, fields_differing, action) of every CSV row that is not matched."""
    return {
        (row["status"], row["employee_id"], row["work_date"], row["fields_differing"], row["action"])
        for row in csv_rows(report)
        if row["status"] != "matched"
    }


def html_text(report: ReconcileReport) -> str:
    """The HTML page's source."""
    assert report.html_path is not None
    return Path(report.html_path).read_text(encoding="utf-8")
