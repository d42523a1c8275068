"""Scheduled punchbridge jobs: nightly sync, reconciliation and payroll cut-off."""
