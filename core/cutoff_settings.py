"""The `retention:` and `adjustments:` sections of the configuration (models only)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["AdjustmentSettings", "RetentionSettings"]


class RetentionSettings(BaseModel):
    """How long punches and run data are kept (`punchbridge purge`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AdjustmentSettings(BaseModel):
    """Where adjustments for locked periods are delivered."""

    model_config = ConfigDict(extra="forbid", frozen=True)
