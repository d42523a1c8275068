"""Reconciliation: what a target holds against what punchbridge computed (issue 8)."""
