"""The `jobs:` section of the configuration (its model only: imported by `punchbridge.config`).

    jobs:
      nightly:   {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}
      payroll:   {cron: "0 6 2 * *", timezone: Asia/Kolkata, run: reconcile, target: zoho, period: last_month}
      users:     {cron: "*/30 * * * *", timezone: Asia/Kolkata, run: employees}
      tidy:      {cron: "0 3 * * sun", timezone: UTC, run: purge, misfire_grace_seconds: 3600}

Checks that need the rest of the configuration or the plugins (a reconcile job's target can read
back, an employees job has `employee_sync:`) are in `punchbridge.jobs.checks`.
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DEFAULT_DELIVERY_WAIT_SECONDS", "DEFAULT_MISFIRE_GRACE_SECONDS", "PERIOD_NAMES", "JobSettings"]

#: How late a fire time may still run (a missed night runs at start-up within this): 12 hours.
DEFAULT_MISFIRE_GRACE_SECONDS = 12 * 3600
#: How long a job waits for a target's delivery lock held by another process (a manual sync): 10 minutes.
DEFAULT_DELIVERY_WAIT_SECONDS = 600
#: The relative periods a reconcile job may name (resolved in the job's time zone when it runs).
PERIOD_NAMES = ("last_week", "last_month", "this_month")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class JobSettings(BaseModel):
    """A scheduled job (run by `punchbridge schedule`, one scheduler process per store)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str = Field(description='Five crontab fields: minute hour day month weekday, e.g. "30 1 * * *"')
    timezone: str = Field(description="The IANA time zone the cron fields are read in, e.g. Asia/Kolkata")
    run: Literal["sync", "reconcile", "employees", "purge"]
    target: str | None = Field(
        default=None, description="sync: only this target (default every enabled one); reconcile: required"
    )
    period: str | None = Field(
        default=None,
        description="reconcile only: YYYY-MM, last_week, last_month or this_month (in the job's time zone)",
    )
    enabled: bool = Field(default=True, description="false: `schedule` leaves it out (`jobs run` still runs it)")
    misfire_grace_seconds: int = Field(
        default=DEFAULT_MISFIRE_GRACE_SECONDS,
        ge=1,
        le=7 * 86400,
        description="A fire time missed by more than this (scheduler down, previous run too long) is skipped",
    )
    delivery_wait_seconds: int = Field(
        default=DEFAULT_DELIVERY_WAIT_SECONDS,
        ge=0,
        le=86400,
        description="sync: how long to wait while another process delivers to a target; then the run is "
        "recorded as busy and that target waits for the next run",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r} (use an IANA name such as Asia/Kolkata or UTC)") from None
        return zone

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, cron: str) -> str:
        fields = cron.split()
        if len(fields) != 5:
            raise ValueError(
                f"cron {cron!r} has {len(fields)} field(s); "
                "expected 5: minute hour day month weekday (e.g. '30 1 * * *')"
            )
        return " ".join(fields)

    @field_validator("period")
    @classmethod
    def _known_period(cls, period: str | None) -> str | None:
        if period is not None and period not in PERIOD_NAMES and not _MONTH.fullmatch(period):
            raise ValueError(f"period {period!r}: expected YYYY-MM, {' or '.join(PERIOD_NAMES)}")
        return period

    @model_validator(mode="after")
    def _valid_schedule(self) -> JobSettings:
        from punchbridge.jobs.cron import job_trigger  # APScheduler, imported only when there are jobs

        try:
            job_trigger(self.cron, self.timezone)
        except (ValueError, LookupError) as exc:
            raise ValueError(f"cron {self.cron!r}: {exc}") from None
        if self.period is not None and self.run != "reconcile":
            raise ValueError(f"period is for reconcile jobs; a {self.run} job has none")
        if self.target is not None and self.run in ("employees", "purge"):
            raise ValueError(f"target is for sync and reconcile jobs; a {self.run} job has none")
        if self.run == "reconcile" and (self.target is None or self.period is None):
            raise ValueError("a reconcile job needs target: (a target that can read back) and period:")
        return self
