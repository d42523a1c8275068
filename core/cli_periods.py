"""`punchbridge period lock|unlock|list`, `purge` and `erase`: payroll cut-off, retention and erasure (issue 8)."""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
