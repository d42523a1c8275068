"""`punchbridge reconcile`: what a target holds against what punchbridge computed (issue 8)."""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
