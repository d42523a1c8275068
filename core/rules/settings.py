"""The rule set: sites, shifts and pairing settings, named as docs/rules.md names them.

These models are read from the `sites:`, `shifts:` and `pairing:` sections of a rules file (and,
later, of the main configuration). Times of day are kept as minutes after local midnight.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "WEEKDAYS",
    "AutoBreak",
    "Break",
    "Overtime",
    "Pairing",
    "Rounding",
    "RuleSet",
    "Shift",
    "Site",
    "parse_clock",
    "parse_weekdays",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_ALIASES = {name: i for i, name in enumerate(WEEKDAYS)} | {
    full: i for i, full in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
MAX_WINDOW_MINUTES = 720


def parse_clock(value: Any) -> int:
    """Minutes after midnight of a local wall time written `HH:MM` (00:00 to 23:59)."""
    if isinstance(value, str):
        parts = value.strip().split(":")
        if len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[1]) == 2:
            hours, minutes = int(parts[0]), int(parts[1])
            if hours < 24 and minutes < 60:
                return hours * 60 + minutes
    raise ValueError(f"expected a local time as HH:MM between 00:00 and 23:59, got {value!r}")


def parse_weekdays(value: Any) -> tuple[str, ...]:
    """Weekday names (`sun`, `sat;sun`, `[sat, sun]`, full names too) as sorted 3-letter codes."""
    if isinstance(value, str):
        items = [v for v in value.replace(",", ";").split(";") if v.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError(f"expected weekday names like [sat, sun], got {value!r}")
    days = set()
    for item in items:
        key = str(item).strip().lower()
        if key not in _WEEKDAY_ALIASES:
            raise ValueError(f"{item!r} is not a weekday (use mon, tue, wed, thu, fri, sat, sun)")
        days.add(_WEEKDAY_ALIASES[key])
    return tuple(WEEKDAYS[d] for d in sorted(days))


Clock = Annotated[int, BeforeValidator(parse_clock)]
Minutes = Annotated[int, Field(ge=0)]
Weekdays = Annotated[tuple[str, ...], BeforeValidator(parse_weekdays)]
RoundMode = Literal["up", "down", "nearest"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Break(_Model):
    """A fixed unpaid break window in local wall time; deducted where worked time overlaps it."""

    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _not_empty(self) -> Break:
        if self.start == self.end:
            raise ValueError("a break needs end different from start")
        return self


class AutoBreak(_Model):
    """Deduct `minutes` once when gross worked time reaches `after` and no fixed break applied."""

    after: Minutes
    minutes: Annotated[int, Field(gt=0)]

    @model_validator(mode="after")
    def _fits(self) -> AutoBreak:
        if self.minutes > self.after:
            raise ValueError("auto_break.minutes cannot exceed auto_break.after")
        return self


class Rounding(_Model):
    """Round first_in and last_out on a grid of `unit` minutes aligned to local midnight."""

    unit: Annotated[int, Field(gt=0, le=1440)]
    in_: RoundMode = Field("up", alias="in")
    out: RoundMode = "down"

    @field_validator("unit")
    @classmethod
    def _divides_day(cls, unit: int) -> int:
        if 1440 % unit:
            raise ValueError("unit must divide a day (1440 minutes) evenly, e.g. 5, 6, 10, 15, 30")
        return unit


class Overtime(_Model):
    """Overtime: counted from `min`, in steps of `unit`, at most `cap` a day."""

    min: Minutes = 30
    unit: Annotated[int, Field(gt=0)] = 15
    cap: Minutes = 240
    early: bool = False
    off_days: bool = True


class Shift(_Model):
    """A shift pattern: its times, windows and the rules applied to its occurrences."""

    start: Clock
    end: Clock
    window_before: Annotated[int, Field(ge=0, le=MAX_WINDOW_MINUTES)] = 120
    window_after: Annotated[int, Field(ge=0, le=MAX_WINDOW_MINUTES)] = 240
    grace_in: Minutes = 0
    grace_out: Minutes = 0
    hours_from: Literal["pairs", "first_last"] = "pairs"
    breaks: tuple[Break, ...] = ()
    auto_break: AutoBreak | None = None
    rounding: Rounding | None = None
    half_day_below: Minutes = 240
    absent_below: Minutes = 120
    ot: Overtime = Overtime()
    missing_out: Literal["flag", "shift_end"] = "flag"

    @model_validator(mode="after")
    def _consistent(self) -> Shift:
        if self.start == self.end:
            raise ValueError("start and end are equal: a shift needs a length (end before start crosses midnight)")
        if self.absent_below > self.half_day_below:
            raise ValueError("absent_below cannot be greater than half_day_below")
        return self

    @property
    def crosses_midnight(self) -> bool:
        """True when the shift ends on the next calendar day."""
        return self.end <= self.start

    @property
    def length_minutes(self) -> int:
        """Scheduled length in wall-clock minutes."""
        return (self.end - self.start) % 1440


class Site(_Model):
    """A location: its time zone, weekly off days and holidays."""

    timezone: str
    weekly_off: Weekdays = ("sun",)
    holidays: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone name (like Asia/Kolkata)") from None
        return name

    @field_validator("holidays")
    @classmethod
    def _sorted_unique(cls, days: tuple[date, ...]) -> tuple[date, ...]:
        return tuple(sorted(set(days)))


class Pairing(_Model):
    """Global pairing settings: the debounce interval and whether punch directions are used."""

    debounce_seconds: Minutes = 120
    direction: Literal["auto", "alternate"] = "auto"


class RuleSet(_Model):
    """Everything the rules engine needs besides the data: sites, shifts and pairing."""

    sites: dict[str, Site]
    shifts: dict[str, Shift]
    pairing: Pairing = Pairing()

    def version(self) -> str:
        """A short content hash of the rule set: the `rules_version` of every row it produces."""
        canonical = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]
