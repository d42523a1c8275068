"""Reconciliation: what a target holds against what punchbridge computed (docs/reconcile.md).

    report = run_reconcile(config, document, registry, store, target="odoo", period="2026-10", repair=True)
    report.clean, report.summary(), report.csv_path, report.html_path

`parse_period` reads the period forms (`YYYY-MM`, `YYYY-MM-DD..YYYY-MM-DD`, `last_week`,
`last_month`); `compare` is the pure key-by-key comparison; docs/reconcile.md is the operator's guide.
"""

from punchbridge.reconcile.compare import STATUSES, ExpectedRecord, Finding, compare, same_value
from punchbridge.reconcile.errors import (
    PeriodError,
    ReadBackUnsupportedError,
    ReconcileError,
    TargetNotConfiguredError,
    TargetUnreachableError,
)
from punchbridge.reconcile.period import parse_period
from punchbridge.reconcile.report import CSV_COLUMNS
from punchbridge.reconcile.run import ACTIONS, ReconcileReport, run_reconcile

__all__ = [
    "ACTIONS",
    "CSV_COLUMNS",
    "STATUSES",
    "ExpectedRecord",
    "Finding",
    "PeriodError",
    "ReadBackUnsupportedError",
    "ReconcileError",
    "ReconcileReport",
    "TargetNotConfiguredError",
    "TargetUnreachableError",
    "compare",
    "parse_period",
    "run_reconcile",
    "same_value",
]
