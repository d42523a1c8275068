"""The `retention:` section of the configuration (a model only).

    retention:                 # `punchbridge purge` (docs/retention.md); every key optional
      punches_days: 1095       # attendance data: punches, processed days, their ledger rows, leaves
      runs_days: 400           # run history, audit events, finished batches, kept webhook payloads
      quarantine_days: 180     # quarantined rows

Imported by `punchbridge.config`: only pydantic and the standard library here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MIN_PUNCHES_DAYS", "RetentionSettings"]

#: Attendance data is kept at least this long: two payroll months and the late corrections after them.
MIN_PUNCHES_DAYS = 62


class RetentionSettings(BaseModel):
    """How long punches and run data are kept (`punchbridge purge`; nothing is removed without it).

    A purge never removes what a later sync or reconciliation still needs: attendance data only of
    whole calendar months that are locked for every site (see docs/retention.md).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    punches_days: int = Field(
        default=1095,
        ge=MIN_PUNCHES_DAYS,
        le=36500,
        strict=True,
        description="Days of attendance data kept (punches, processed days, their ledger rows, received leaves)",
    )
    runs_days: int = Field(
        default=400,
        ge=7,
        le=36500,
        strict=True,
        description="Days of run history, audit events, finished batches and kept webhook payloads",
    )
    quarantine_days: int = Field(default=180, ge=7, le=36500, strict=True, description="Days quarantined rows are kept")
