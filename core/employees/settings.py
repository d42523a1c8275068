"""The `employee_sync:` section of the configuration (its model only: no imports of the engine)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["EmployeeSyncSettings"]


class EmployeeSyncSettings(BaseModel):
    """How HRMS employees become terminal users."""

    model_config = ConfigDict(extra="forbid", frozen=True)
