"""Who should be on which terminal: HRMS employees in, wanted terminal users out. Pure: no I/O.

`build_roster` takes the employees a system of record returned (`punchbridge.plugin_api.targets.Employee`) and
the configuration's view of them, and decides for each employee:

1. the **terminal user id**: the key `user_id.field` names (target id, badge, e-mail or PIN), read
   backwards through the source mapping's `ids:` table, or as it is;
2. whether they are **wanted** at all: an active employee is, a leaver (`active` false, or absent
   from the reply) is not;
3. their **site** (employees file, or the HRMS's site renamed by `site.names`) and so their
   **terminals** (every enabled device of the site, plus the devices of matching terminal rules);
4. their **profile** (first and last name, user type by rule), **access window** (rule, else shift
   widened by the margins, else the default) and optional **face template**.

An employee that cannot be placed (no user id, unknown site, no access window, two active HRMS
records for one user id) gives a problem naming the HRMS id and what to do, and their user id is
**frozen**: what the terminals hold for it is left exactly as it is (never deleted because of a
configuration gap). Everyone else is placed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from punchbridge.employees.settings import AccessWindow, EmployeeSyncSettings, Match
from punchbridge.minop.devices import MAX_NAME, MAX_USER_ID, Template, UserType
from punchbridge.plugin_api.targets import Employee
from punchbridge.rules.settings import Shift, Site

__all__ = [
    "Placement",
    "Roster",
    "StaffRow",
    "WantedUser",
    "build_roster",
    "face_ref",
    "profile_hash",
    "reverse_ids",
    "shift_window",
    "split_name",
]

_WEEKDAY_NUMBERS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_USER_TYPE_CODES = {"standard": UserType.STANDARD.value, "admin": UserType.ADMIN.value, "guest": UserType.GUEST.value}
_FIELD_NAMES = {"target_id": "id", "badge": "badge", "email": "e-mail", "pin": "PIN"}


@dataclass(frozen=True, slots=True)
class StaffRow:
    """An employee's row in the configuration's employees file (by terminal user id)."""

    site: str
    shift: str | None = None
    weekly_off: tuple[str, ...] | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class WantedUser:
    """What a terminal should hold for one person: profile, access window, face (all terminals alike)."""

    user_id: str
    employee_ref: str  # the HRMS's id of the employee
    first_name: str
    last_name: str
    user_type: str  # the terminal's code: 1, 14 or 0
    access_start: str  # HH:MM:SS, terminal-local
    access_end: str
    access_days: str  # "1,2,3,4,5" (1 = Monday)
    profile_hash: str  # what the ledger keeps of the profile (`profile_hash` of names and type)
    face: Template | None = field(default=None, repr=False)
    face_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one wanted person goes: site, department and terminals."""

    user: WantedUser
    site: str
    department: str | None
    terminals: tuple[str, ...]


@dataclass
class Roster:
    """The wanted users per terminal, the frozen user ids, and what could not be placed."""

    wanted: dict[str, dict[str, WantedUser]] = field(default_factory=dict)  # stgid -> user id -> user
    placements: dict[str, Placement] = field(default_factory=dict)  # user id -> placement
    frozen: set[str] = field(default_factory=set)  # user ids whose terminals are left as they are
    problems: list[str] = field(default_factory=list)
    pulled: int = 0  # records the HRMS returned
    active: int = 0  # of them, active employees
    leavers: int = 0  # user ids whose every HRMS record is a leaver


def profile_hash(first_name: str, last_name: str, user_type: str) -> str:
    """A hash of a terminal profile: equal profiles give equal hashes."""
    text = json.dumps([first_name, last_name, user_type], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def face_ref(user_id: str, template: Template) -> str:
    """What the ledger keeps of an enrolled face: a hash of the user id and the template's digest (the
    template itself is never stored)."""
    return hashlib.sha256(f"punchbridge-face|{user_id}|{template.digest()}".encode()).hexdigest()[:32]


def _clean(text: str | None) -> str:
    """Printable text with single spaces (control characters become spaces)."""
    if not text:
        return ""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())


def split_name(name: str, user_id: str) -> tuple[str, str]:
    """(first name, last name) for a terminal: the last word is the last name; `-` when there is one
    word; the user id when there is none. Each at most the terminal's 64 characters."""
    words = _clean(name).split(" ")
    words = [w for w in words if w]
    if not words:
        return user_id[:MAX_NAME], "-"
    if len(words) == 1:
        return words[0][:MAX_NAME], "-"
    return " ".join(words[:-1])[:MAX_NAME].strip(), words[-1][:MAX_NAME]


def _matches(match: Match, department: str | None, site: str, extra: Mapping[str, Any]) -> bool:
    def one_of(value: Any, allowed: tuple[str, ...] | None) -> bool:
        if allowed is None:
            return True
        text = _clean(None if value is None else str(value)).casefold()
        return bool(text) and text in {a.casefold() for a in allowed}

    if not one_of(department, match.department) or not one_of(site, match.site):
        return False
    return all(one_of(extra.get(key), allowed) for key, allowed in match.extra.items())


def _days_text(days: Iterable[str]) -> str:
    return ",".join(str(n) for n in sorted(_WEEKDAY_NUMBERS[d] for d in days))


def _clock_text(minutes: int) -> str:
    minutes %= 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def shift_window(shift: Shift, before: int, after: int, weekly_off: Sequence[str]) -> tuple[str, str, str] | None:
    """(start, end, days) of a shift widened by `before` and `after` minutes, on every weekday not in
    `weekly_off`; a window of a day or more is the whole day. None when every day is off."""
    days = [d for d in _WEEKDAY_NUMBERS if d not in set(weekly_off)]
    if not days:
        return None
    if shift.length_minutes + before + after >= 1440:
        return "00:00:00", "23:59:59", _days_text(days)
    return _clock_text(shift.start - before), _clock_text(shift.end + after), _days_text(days)


def _window(window: AccessWindow) -> tuple[str, str, str]:
    return window.start, window.end, _days_text(window.days)


def _identifier_problem(user_id: str) -> str | None:
    if len(user_id) > MAX_USER_ID:
        return f"is longer than the terminal's {MAX_USER_ID} characters"
    if not user_id.isprintable():
        return "has control characters"
    return None


@dataclass
class _Context:
    settings: EmployeeSyncSettings
    ids: Mapping[str, str] | None
    staff: Mapping[str, StaffRow]
    sites: Mapping[str, Site]
    shifts: Mapping[str, Shift]
    by_site: dict[str, list[str]]  # site -> enabled devices
    enabled: set[str]
    roster: Roster


def build_roster(
    employees: Iterable[Employee],
    settings: EmployeeSyncSettings,
    *,
    ids: Mapping[str, str] | None,
    staff: Mapping[str, StaffRow],
    sites: Mapping[str, Site],
    shifts: Mapping[str, Shift],
    devices: Mapping[str, tuple[str, bool]],
    source_name: str = "the HRMS",
    frozen: Iterable[str] = (),
) -> Roster:
    """Place every employee (see the module docstring).

    `ids` maps the HRMS key to the terminal user id (None: the key is the user id); `staff` is the
    employees file by user id; `devices` maps each configured terminal to (site, enabled); `frozen`
    user ids are left as the terminals hold them (e.g. an ambiguous id mapping).
    """
    roster = Roster(frozen=set(frozen))
    by_site: dict[str, list[str]] = {}
    for stgid, (site, enabled) in sorted(devices.items()):
        if enabled:
            by_site.setdefault(site, []).append(stgid)
    context = _Context(
        settings, ids, staff, sites, shifts, by_site, {s for s, (_, on) in devices.items() if on}, roster
    )
    latest: dict[str, Employee] = {}
    for employee in employees:
        roster.pulled += 1
        latest[employee.target_id] = employee  # a record seen twice (paging during a change): the later wins
    by_user: dict[str, list[Employee]] = {}
    for employee in latest.values():
        roster.active += employee.active
        user_id = _user_id(employee, context, source_name)
        if user_id is not None:
            by_user.setdefault(user_id, []).append(employee)
    site_without_terminals: dict[str, int] = {}
    for user_id in sorted(by_user):
        if user_id in roster.frozen:
            continue
        records = by_user[user_id]
        active = [e for e in records if e.active]
        if not active:
            roster.leavers += 1
            continue
        if len(active) > 1:
            refs = ", ".join(sorted(e.target_id for e in active))
            _freeze(
                context,
                user_id,
                f"terminal user {user_id!r}: {len(active)} active {source_name} employees map to it "
                f"({refs}); fix the HRMS or the id mapping (the terminals are left as they are)",
            )
            continue
        placement = _place(active[0], user_id, context, source_name)
        if placement is None:
            continue
        roster.placements[user_id] = placement
        if not placement.terminals:
            site_without_terminals[placement.site] = site_without_terminals.get(placement.site, 0) + 1
        for stgid in placement.terminals:
            roster.wanted.setdefault(stgid, {})[user_id] = placement.user
    for site, count in sorted(site_without_terminals.items()):
        roster.problems.append(
            f"site {site!r} has no enabled terminal under devices: and no terminal rule matched: "
            f"{count} employee(s) there are on no terminal"
        )
    return roster


def _freeze(context: _Context, user_id: str, problem: str) -> None:
    context.roster.frozen.add(user_id)
    context.roster.problems.append(problem)


def _user_id(employee: Employee, context: _Context, source_name: str) -> str | None:
    """The terminal user id of `employee` (None, with a problem for an active one, when there is none)."""
    settings = context.settings.user_id
    raw = getattr(employee, settings.field)
    key = str(raw).strip() if raw is not None else ""  # not cleaned: a changed id would be another user
    who = f"{source_name} employee {_clean(employee.target_id)[:80]!r}"
    if not key:
        if employee.active:
            context.roster.problems.append(
                f"{who} has no {_FIELD_NAMES[settings.field]} (user_id.field: {settings.field}): not on any terminal"
            )
        return None
    user_id = key
    if context.ids is not None:
        lookup = key.casefold() if settings.field == "email" else key
        found = context.ids.get(lookup)
        if found is None:
            if employee.active:
                context.roster.problems.append(
                    f"{who}: {_FIELD_NAMES[settings.field]} {_clean(key)[:80]!r} is not a target id of the source's id "
                    "mapping (ids:); add it there to put them on the terminals"
                )
            return None
        user_id = found
    wrong = _identifier_problem(user_id)
    if wrong is not None:
        if employee.active:
            shown = _clean(user_id)[:80]
            context.roster.problems.append(f"{who}: terminal user id {shown!r} {wrong}: not on any terminal")
        return None
    return user_id


def _site_of(employee: Employee, user_id: str, context: _Context, who: str) -> str | None:
    settings = context.settings.site
    if settings.from_ == "employees_file":
        row = context.staff.get(user_id)
        if row is None:
            _freeze(
                context,
                user_id,
                f"{who}: terminal user {user_id!r} is not in the employees file, which gives "
                "the site (site.from: employees_file); add a row for them",
            )
            return None
        return row.site
    named = _clean(employee.site)
    site = settings.names.get(named)
    if site is None:
        folded = {name.casefold(): value for name, value in settings.names.items()}
        site = folded.get(named.casefold())
    if site is None and named in context.sites:
        site = named
    if site is None:
        why = f"has site {named[:80]!r}, which is neither under sites: nor in site.names" if named else "has no site"
        _freeze(context, user_id, f"{who} (terminal user {user_id!r}) {why}; the terminals are left as they are")
        return None
    return site


def _place(employee: Employee, user_id: str, context: _Context, source_name: str) -> Placement | None:
    settings = context.settings
    who = f"{source_name} employee {_clean(employee.target_id)[:80]!r}"
    site = _site_of(employee, user_id, context, who)
    if site is None:
        return None
    row = context.staff.get(user_id)
    department = _clean(employee.department) or (row.department if row is not None else None) or None
    extra = employee.extra or {}
    window = _access(employee, user_id, site, department, row, context, who)
    if window is None:
        return None
    user_type = settings.user_types.default
    for rule in settings.user_types.rules:
        if _matches(rule.match, department, site, extra):
            user_type = rule.type
            break
    terminals: list[str] = list(context.by_site.get(site, [])) if settings.terminals.by_site else []
    for terminal_rule in settings.terminals.rules:
        if _matches(terminal_rule.match, department, site, extra):
            terminals.extend(d for d in terminal_rule.devices if d in context.enabled and d not in terminals)
    first, last = split_name(employee.name, user_id)
    face, reference = _face(employee, user_id, context, who)
    code = _USER_TYPE_CODES[user_type]
    user = WantedUser(
        user_id=user_id,
        employee_ref=_clean(employee.target_id),
        first_name=first,
        last_name=last,
        user_type=code,
        profile_hash=profile_hash(first, last, code),
        access_start=window[0],
        access_end=window[1],
        access_days=window[2],
        face=face,
        face_ref=reference,
    )
    return Placement(user, site, department, tuple(sorted(terminals)))


def _access(
    employee: Employee,
    user_id: str,
    site: str,
    department: str | None,
    row: StaffRow | None,
    context: _Context,
    who: str,
) -> tuple[str, str, str] | None:
    access = context.settings.access
    for rule in access.rules:
        if _matches(rule.match, department, site, employee.extra or {}):
            return _window(rule)
    if access.from_shift and row is not None and row.shift is not None and row.shift in context.shifts:
        weekly_off = row.weekly_off if row.weekly_off is not None else context.sites[site].weekly_off
        window = shift_window(context.shifts[row.shift], access.before_minutes, access.after_minutes, weekly_off)
        if window is not None:
            return window
        _freeze(
            context,
            user_id,
            f"{who} (terminal user {user_id!r}): every weekday is a weekly off, so the shift "
            "gives no access day; fix weekly_off in the employees file or add an access rule",
        )
        return None
    if access.default is not None:
        return _window(access.default)
    _freeze(
        context,
        user_id,
        f"{who} (terminal user {user_id!r}) has no access window: give them a shift in the "
        "employees file, or add access.rules or access.default (the terminals are left as they are)",
    )
    return None


def _face(employee: Employee, user_id: str, context: _Context, who: str) -> tuple[Template | None, str | None]:
    name = context.settings.face_template_field
    if name is None:
        return None, None
    value = (employee.extra or {}).get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if not isinstance(value, str):
        context.roster.problems.append(f"{who}: the face template field {name!r} is not text: no face enrolled")
        return None, None
    try:
        template = Template(value)
    except ValueError as exc:  # its message never quotes the template
        context.roster.problems.append(
            f"{who}: the face template field {name!r} cannot be used ({exc}): no face enrolled"
        )
        return None, None
    return template, face_ref(user_id, template)


def reverse_ids(targets: Mapping[str, str], field_name: str) -> tuple[dict[str, str], list[str], set[str]]:
    """The id mapping read backwards: (target id -> terminal user id, problems, user ids to freeze).

    A target id that several terminal ids map to is left out with a problem, and those terminal
    users are frozen (nobody can tell which one is meant). E-mail target ids compare without case.
    """
    found: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for user_id, target_id in targets.items():
        key = str(target_id).strip()
        if field_name == "email":
            key = key.casefold()
        if key in found:
            repeated.setdefault(key, [found[key]]).append(user_id)
        else:
            found[key] = user_id
    problems = []
    ambiguous: set[str] = set()
    for key, users in sorted(repeated.items()):
        del found[key]
        ambiguous.update(users)
        problems.append(
            f"the id mapping gives target id {key[:80]!r} to several terminal users ({', '.join(sorted(users))}): "
            "none of them is synced until the mapping names each target id once"
        )
    return found, problems, ambiguous
