"""The `jobs:` section of the configuration (its model only: imported by `punchbridge.config`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["JobSettings"]


class JobSettings(BaseModel):
    """A scheduled job (run by `punchbridge schedule`, one scheduler process per store)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str
    timezone: str
    run: Literal["sync", "reconcile", "employees", "purge"]
    target: str | None = None
    period: str | None = None

    @model_validator(mode="after")
    def _valid_schedule(self) -> JobSettings:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.cron, timezone=self.timezone)
        except (ValueError, LookupError) as exc:
            raise ValueError(f"cron {self.cron!r} with timezone {self.timezone!r}: {exc}") from None
        return self
