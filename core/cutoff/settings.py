"""The `adjustments:` section of the configuration (a model only).

    adjustments:               # payroll cut-off (docs/cutoff.md)
      target: payroll-adjustments   # a target of `targets:` that receives adjustment records only

Imported by `punchbridge.config`: only pydantic and the standard library here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AdjustmentSettings"]


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
