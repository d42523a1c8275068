"""`punchbridge employees ...`: HRMS employees to terminal users (issue 7)."""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
