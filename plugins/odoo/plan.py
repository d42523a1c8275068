"""What to change in Odoo for a batch, touching only punchbridge's own attendance (pure: no connection).

Odoo's kiosk, its HR officers and its crons make attendance too (addons/hr_attendance: the kiosk's
`_attendance_action_change`, `_cron_auto_check_out`, `_cron_absence_detection`), so a changed day
may only rewrite or remove what punchbridge created:

- **Ours** are the attendances whose ids the ledger recorded for the record (`Day.owned`). When
  the ledger's ids are not known (a first delivery, or an engine that does not pass them), ours
  are those created by the integration user (`create_uid`) and not entered at the kiosk or systray
  (`in_mode`, 17.0 on): Odoo's documentation has integrations use a dedicated bot user so that
  "the log_access use the bot account" (odoo/documentation, developer/reference/external_api.rst).
  An attendance exactly equal to one the day wants and created by the integration user is ours too:
  it is what an earlier push created before its reply (and the ledger) was lost. Odoo's auto
  check-out cron only writes `check_out` and `out_mode` (`auto_check_out`): such an attendance
  stays ours, and the day's real check-out is written over the cron's.
- **Someone else's** attendance on the day is never written nor removed. One equal to an interval
  the day wants stands for it. Any other (an officer's correction, a kiosk check-in, the absence
  cron's 1-second `technical` record on a day punchbridge has work for) makes the day a refusal
  that names it: Odoo would show a day other than the one computed, and only a person can say
  which is right. A day punchbridge computed as empty ignores the absence cron's records: both say
  the employee did not work.
- **Odoo's constraints** (`_check_validity`, replicated in `blocker`) are checked before anything
  is sent, against every attendance of the employee that could conflict, and the intervals this
  batch sends for the employee's earlier days: a day that Odoo would refuse ("was already checked in
  on", "hasn't checked out since") is refused here with the attendance that blocks it, and nothing
  of it is written. So one employee's open attendance, ours or not, refuses only the days it blocks,
  each with its name; the other days go on.

Per day, ours are then kept where equal, corrected with one `write` where the check-in matches (or
exactly one interval moved), and otherwise removed and created anew.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from punchbridge.plugins.odoo.days import Day, Held, local_time, odoo_text

__all__ = ["FOREIGN_MODES", "Plan", "blocker", "describe", "is_absence_marker", "plan"]

#: `in_mode` values of attendance a person made at Odoo itself (kiosk mode, the systray button): never ours.
FOREIGN_MODES = frozenset({"kiosk", "systray"})


@dataclass
class Plan:
    """What to change in Odoo for a batch: attendances to remove, to write, to create (each with its day)."""

    unlink: list[tuple[int, Day]] = field(default_factory=list)
    writes: list[tuple[int, dict[str, Any], Day]] = field(default_factory=list)
    creates: list[tuple[dict[str, Any], Day]] = field(default_factory=list)


@dataclass
class _DayPlan:
    kept: list[Held] = field(default_factory=list)
    unlink: list[Held] = field(default_factory=list)
    writes: list[tuple[Held, tuple[datetime, datetime | None]]] = field(default_factory=list)
    creates: list[tuple[datetime, datetime | None]] = field(default_factory=list)


def is_absence_marker(held: Held) -> bool:
    """Whether `held` is the absence cron's 1-second record (`in_mode` and `out_mode` `technical`, 18.0 on)."""
    return held.in_mode == "technical" and held.out_mode == "technical"


def _ours(held: Held, day: Day, uid: int | None) -> bool:
    if day.owned is not None:
        return held.id in day.owned
    return uid is not None and held.creator == uid and held.in_mode not in FOREIGN_MODES


def _latest(candidates: Iterable[Held]) -> Held | None:
    # Odoo's searches order by check_in desc, limit 1; among equal check-ins the emulator and this take the newest.
    return max(candidates, key=lambda h: (h.check_in, h.id or 1 << 62), default=None)


def blocker(start: datetime, end: datetime | None, others: list[Held]) -> Held | None:
    """The attendance that makes Odoo refuse an attendance `start`..`end` beside `others`, or None.

    Odoo's `_check_validity` (addons/hr_attendance/models/hr_attendance.py, 16.0 to 19.0): the
    latest other attendance checked in at or before `start` must not end after it; an open one needs
    no other open attendance; a closed one must have the same latest attendance before `end` as
    before `start`.
    """
    before_in = _latest(h for h in others if h.check_in <= start)
    if before_in is not None and before_in.check_out is not None and before_in.check_out > start:
        return before_in
    if end is None:
        return _latest(h for h in others if h.check_out is None)
    before_out = _latest(h for h in others if h.check_in < end)
    if before_out is not None and before_out is not before_in:
        return before_out
    return None


def _day_plan(day: Day, uid: int | None) -> _DayPlan:
    """Ours kept, written, removed and the intervals to create; `day.error` set when someone else's is in the way."""
    found = _DayPlan()
    wanted = list(day.wanted)
    ours: list[Held] = []
    for held in sorted(day.held, key=lambda h: (h.check_in, h.id)):
        exact = (held.check_in, held.check_out) in wanted
        if _ours(held, day, uid) or (exact and uid is not None and held.creator == uid):
            ours.append(held)
        elif exact:
            wanted.remove((held.check_in, held.check_out))  # someone else's record already says it
        elif not (is_absence_marker(held) and not day.wanted):
            day.error = (
                f"Odoo holds attendance on {day.work_date} that punchbridge did not create: "
                f"{describe(held, day, uid)}. "
                "punchbridge never changes or removes it, and sends nothing for this day while it differs from "
                "the day punchbridge computed: correct or delete it in Odoo (Attendances), then run "
                "`punchbridge dlq retry`"
            )
            return found
    missing: list[tuple[datetime, datetime | None]] = []
    for start, end in wanted:
        same = next((h for h in ours if h.check_in == start), None)
        if same is None:
            missing.append((start, end))
            continue
        ours.remove(same)
        if same.check_out == end:
            found.kept.append(same)
        else:
            found.writes.append((same, (start, end)))
    if len(ours) == 1 and len(missing) == 1 and not found.writes:
        found.writes.append((ours.pop(), missing.pop()))
    if len(found.writes) > 1:  # several writes could overlap each other on the way: replace instead
        ours += [h for h, _ in found.writes]
        missing += [pair for _, pair in found.writes]
        found.writes = []
    found.unlink, found.creates = ours, sorted(missing, key=lambda pair: pair[0])
    return found


def _check_constraints(day: Day, found: _DayPlan, state: list[Held], uid: int | None) -> list[Held] | None:
    """The employee's attendances after the day's changes, or None (and `day.error`) when Odoo would refuse one."""
    replaced = {h.id for h in found.unlink} | {h.id for h, _ in found.writes}
    after = [h for h in state if h.id == 0 or h.id not in replaced]
    changes = [(h, pair) for h, pair in found.writes] + [(None, pair) for pair in found.creates]
    for held, (start, end) in changes:
        blocking = blocker(start, end, after)
        if blocking is not None:
            day.error = f"Odoo would refuse the interval {_span(start, end, day)}: {_why(blocking, day, uid)}"
            return None
        creator, name = (held.creator, held.creator_name) if held else (uid, "")
        after.append(Held(held.id if held else 0, day.employee, start, end, creator=creator, creator_name=name))
    return after


def _why(blocking: Held, day: Day, uid: int | None) -> str:
    if blocking.id == 0:
        return (
            "it would overlap an interval this batch sends for another day of the employee (or be a second open "
            "one): check that day's punches"
        )
    what = describe(blocking, day, uid)
    ours = uid is not None and blocking.creator == uid
    if blocking.check_out is None:
        fix = (
            "it is punchbridge's open attendance of another day: that day needs its check-out (fix its punches, or "
            "let the target's open_days hold or close it)"
            if ours
            else "close or delete that attendance in Odoo"
        )
        return (
            f"the employee hasn't checked out since {what}, and Odoo allows one open attendance per employee; "
            f"{fix}, then run `punchbridge dlq retry`"
        )
    fix = (
        "it is punchbridge's attendance of another day: check that day's punches"
        if ours
        else ("correct or delete that attendance in Odoo")
    )
    return f"the employee was already checked in then: {what}; {fix}, then run `punchbridge dlq retry`"


def _span(start: datetime, end: datetime | None, day: Day) -> str:
    return f"{local_time(start, day.zone).isoformat()}/{local_time(end, day.zone).isoformat() if end else ''}"


def describe(held: Held, day: Day, uid: int | None) -> str:
    """`held` for a message: its id, times in the day's zone, how it was made (where the version says) and by whom."""
    check_out = local_time(held.check_out, day.zone).isoformat() if held.check_out is not None else "none (open)"
    parts = [f"check-in {local_time(held.check_in, day.zone).isoformat()}", f"check-out {check_out}"]
    if held.in_mode is not None:
        parts.append(f"in_mode {held.in_mode}, out_mode {held.out_mode or 'none'}")
    if held.creator is not None:
        who = held.creator_name or f"user {held.creator}"
        parts.append(f"created by {who}" + (" (the user punchbridge logs in as)" if held.creator == uid else ""))
    if held.out_mode == "auto_check_out":
        parts.append("closed by Odoo's automatic check-out")
    elif is_absence_marker(held):
        parts.append("made by Odoo's absence detection for a day without attendance")
    return f"hr.attendance {held.id} ({', '.join(parts)})"


def plan(days: list[Day], uid: int | None) -> Plan:
    """The changes of every day Odoo would accept, employee by employee and day by day (module docstring)."""
    found = Plan()
    by_employee: dict[int, list[Day]] = {}
    for day in days:
        if day.error is None:
            by_employee.setdefault(day.employee, []).append(day)
    for own in by_employee.values():
        state = list({h.id: h for day in own for h in day.pool}.values())
        for day in sorted(own, key=lambda d: (d.work_date, d.key)):
            day_plan = _day_plan(day, uid)
            if day.error is not None:
                continue
            after = _check_constraints(day, day_plan, state, uid)
            if after is None:
                continue
            state = after
            day.ids = [h.id for h in day_plan.kept]
            day.ours = [h.id for h in day_plan.kept + day_plan.unlink] + [h.id for h, _ in day_plan.writes]
            found.unlink += [(h.id, day) for h in day_plan.unlink]
            for held, (start, end) in day_plan.writes:
                values: dict[str, Any] = {"check_out": odoo_text(end) if end is not None else False}
                if held.check_in != start:
                    values["check_in"] = odoo_text(start)
                if held.out_mode == "auto_check_out":
                    values["out_mode"] = "manual"  # the check-out is the terminal's now, not the cron's
                found.writes.append((held.id, values, day))
            for start, end in day_plan.creates:
                create: dict[str, Any] = {"employee_id": day.employee, "check_in": odoo_text(start)}
                if end is not None:
                    create["check_out"] = odoo_text(end)
                found.creates.append((create, day))
    return found
