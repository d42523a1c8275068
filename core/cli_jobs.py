"""`punchbridge schedule`, `jobs list` and `runs`: the scheduler and the run history (issue 8)."""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
