"""Cron expressions as crontab reads them, on APScheduler's `CronTrigger`.

Two differences from `CronTrigger.from_crontab` in APScheduler 3:

- Weekday numbers mean what they mean in crontab: 0 and 7 are Sunday, 1 Monday ... 6 Saturday
  (APScheduler 3 counts 0 as Monday, its "historical mistake", fixed only in 4.x). Names
  (`mon`, `sun`) and `*` mean the same in both.
- When the clocks go back, a job at a fixed hour runs once: at the first of the two moments the wall
  clock shows that time (as cron does; APScheduler alone runs it twice). A job whose hour field is
  `*` follows real time and runs in both hours. When the clocks go forward, a time in the skipped
  hour (02:30 in Europe/Berlin on the last Sunday of March) runs once, at 03:30 local time.

Fire times are returned as valid local times of the job's zone (never a wall time the zone skips).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

__all__ = ["JobTrigger", "crontab_weekdays", "job_trigger", "next_fire_after"]

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday(text: str, field: str) -> int:
    """A weekday of a crontab field: 0-7 (0 and 7 Sunday) or a three-letter name; 0 = Sunday."""
    word = text.strip().lower()
    if word in _NAMES:
        return _NAMES.index(word)
    if word.isdigit() and int(word) <= 7:
        return int(word) % 7
    raise ValueError(f"weekday field {field!r}: {text!r} is not a weekday (0-7, 0 and 7 are Sunday, or sun..sat)")


def crontab_weekdays(field: str) -> str:
    """The weekday field of a crontab expression as APScheduler 3 reads it (by names).

    `*` stays `*`; anything else is expanded with crontab's numbering (0 and 7 Sunday) to a list
    of day names in APScheduler's order, e.g. `0,6` -> `sat,sun`, `1-5` -> `mon,tue,wed,thu,fri`.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        spec, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"weekday field {field!r}: step {step_text!r} is not a positive number")
            step = int(step_text)
        if spec == "*":
            first, last = 0, 6
        elif "-" in spec:
            low, _, high = spec.partition("-")
            first, last = _weekday(low, field), _weekday(high, field)
            if high.strip() == "7":
                last = 7
            if last < first:
                raise ValueError(f"weekday field {field!r}: range {spec!r} goes backwards")
        else:
            first = _weekday(spec, field)
            last = 6 if step_text else first
        days.update(day % 7 for day in range(first, last + 1, step))
    if not days:
        raise ValueError(f"weekday field {field!r} names no day")
    order = (1, 2, 3, 4, 5, 6, 0)  # APScheduler's order: mon..sun
    return ",".join(_NAMES[day] for day in order if day in days)


class JobTrigger(CronTrigger):
    """A `CronTrigger` that runs a fixed-hour job once when the clocks go back (see the module docstring)."""

    def __init__(self, *args: Any, once_when_clocks_go_back: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.once_when_clocks_go_back = once_when_clocks_go_back

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The next fire time after `previous_fire_time` (or from `now`), as a valid local time."""
        fire = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and self.once_when_clocks_go_back and _second_of_two(fire, self.timezone):
            fire = super().get_next_fire_time(fire, fire)
        return None if fire is None else fire.astimezone(UTC).astimezone(self.timezone)

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state["once_when_clocks_go_back"] = self.once_when_clocks_go_back
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        once = state.pop("once_when_clocks_go_back", True)
        super().__setstate__(state)
        self.once_when_clocks_go_back = once


def _second_of_two(fire: datetime, zone: tzinfo) -> bool:
    """True when `fire`'s wall time occurs twice in `zone` and `fire` is the later of the two."""
    wall = fire.astimezone(zone).replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    return fire.astimezone(UTC) == second.astimezone(UTC) and first.astimezone(UTC) < second.astimezone(UTC)


def job_trigger(cron: str, zone: str) -> JobTrigger:
    """The trigger of a job: a five-field crontab expression read in the IANA time zone `zone`.

    ValueError (with APScheduler's or this module's reason) for a malformed expression.
    """
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return JobTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=ZoneInfo(zone),
        once_when_clocks_go_back=hour != "*",
    )


def next_fire_after(trigger: CronTrigger, instant: datetime) -> datetime | None:
    """The first fire time strictly after `instant` (an aware datetime).

    Arithmetic is done in UTC: adding to a local time drops its `fold`, which would move the second
    02:30 of a night the clocks go back an hour earlier.
    """
    after = instant.astimezone(UTC)
    fire: datetime | None = trigger.get_next_fire_time(after, after + timedelta(microseconds=1))
    return fire
