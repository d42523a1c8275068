"""The `adjustments:` section of the configuration (a model only).

    adjustments:               # payroll cut-off (docs/cutoff.md)
      target: payroll-adjustments   # a target of `targets:` that receives adjustment records only

Imported by `punchbridge.config` and by every command that checks a configuration: only pydantic,
the standard library and the error types here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from punchbridge.errors import Problem

__all__ = ["AdjustmentSettings", "adjustment_problems"]


class AdjustmentSettings(BaseModel):
    """Where adjustments for locked periods are delivered: a configured target, with its own mapping.

    That target receives adjustment records only (never days), one file or batch per posting period.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\s\x00]+$",
        description="A target of `targets:` (its mapping reads adjustment rows; see docs/cutoff.md)",
    )


def adjustment_problems(config: Any, path: str, line: int | None = None) -> list[Problem]:
    """What is wrong with `adjustments:` against the targets (`path`/`line`: where it is written)."""
    settings = config.adjustments
    if settings is None or settings.target in config.targets:
        return []
    configured = ", ".join(config.targets) or "none"
    return [
        Problem(
            path,
            f"names target {settings.target!r}, which is not configured (targets: {configured}); add a target "
            "with a mapping for adjustment rows (docs/cutoff.md) and name it here",
            line=line,
            field="adjustments.target",
        )
    ]
