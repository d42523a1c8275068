"""The `employee_sync:` section of the configuration (its model only: no imports of the engine).

    employee_sync:
      source: zoho                      # a target in targets: that can pull employees
      user_id: {field: target_id, through: mapping}
      site: {from: source, names: {"Bengaluru HQ": blr}}
      user_types:
        default: standard
        rules: [{match: {department: Security}, type: admin}]
      access:
        from_shift: true                # the shift in the employees file, widened by the margins
        before_minutes: 60
        after_minutes: 60
        rules: [{match: {department: Security}, start: "00:00", end: "23:59"}]   # days: every day
        default: {start: "08:00", end: "20:00", days: [mon, tue, wed, thu, fri]}
      terminals:
        by_site: true                   # every enabled device of the employee's site
        rules: [{match: {department: Security}, devices: [gate-1]}]
      face_template_field: FaceTemplate # optional: Employee.extra key holding a base64 face template
      max_delete_share: 0.10
      concurrency: 4

docs/employees.md describes every key. The checks that need the rest of the configuration (the
source is a target, the devices and sites exist) are made by `punchbridge.employees` before a run.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AccessRule",
    "AccessSettings",
    "AccessWindow",
    "EmployeeSyncSettings",
    "Match",
    "SiteSettings",
    "TerminalRule",
    "TerminalSettings",
    "UserIdSettings",
    "UserTypeRule",
    "UserTypeSettings",
]

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {name: i for i, name in enumerate(_WEEKDAYS)} | {
    full: i for i, full in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
_USER_TYPES = {"standard": "standard", "admin": "admin", "guest": "guest", "1": "standard", "14": "admin", "0": "guest"}


def _clock(value: object) -> str:
    """`HH:MM` or `HH:MM:SS` (00:00 to 23:59:59) as `HH:MM:SS`."""
    if isinstance(value, str):
        parts = value.strip().split(":")
        if len(parts) in (2, 3) and all(len(p) == 2 and p.isdigit() for p in parts):
            hours, minutes = int(parts[0]), int(parts[1])
            seconds = int(parts[2]) if len(parts) == 3 else 0
            if hours < 24 and minutes < 60 and seconds < 60:
                return f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    raise ValueError(f"expected a time HH:MM (00:00 to 23:59), got {str(value)[:40]!r}")


def _weekdays(value: object) -> tuple[str, ...]:
    """Weekday names (`[mon, tue]`, `mon;tue`, full names too) as sorted three-letter codes."""
    if isinstance(value, str):
        items: list[object] = [v for v in value.replace(",", ";").split(";") if v.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError(f"expected weekday names like [mon, tue, wed], got {str(value)[:40]!r}")
    days = set()
    for item in items:
        key = str(item).strip().lower()
        if key not in _WEEKDAY_NAMES:
            raise ValueError(f"{str(item)[:20]!r} is not a weekday (use mon, tue, wed, thu, fri, sat, sun)")
        days.add(_WEEKDAY_NAMES[key])
    if not days:
        raise ValueError("no weekdays given")
    return tuple(_WEEKDAYS[d] for d in sorted(days))


def _texts(value: object) -> tuple[str, ...]:
    """One text or a list of texts (matched without regard to case or surrounding spaces)."""
    items = value if isinstance(value, list | tuple) else [value]
    found = []
    for item in items:
        if not isinstance(item, str | int) or isinstance(item, bool) or not str(item).strip():
            raise ValueError(f"expected a text or a list of texts, got {str(item)[:40]!r}")
        found.append(str(item).strip())
    if not found:
        raise ValueError("expected at least one value")
    return tuple(found)


def _user_type(value: object) -> str:
    key = str(value).strip().lower()
    if key not in _USER_TYPES:
        raise ValueError(f"{str(value)[:20]!r} is not a user type (standard, admin or guest; or 1, 14, 0)")
    return _USER_TYPES[key]


Clock = Annotated[str, BeforeValidator(_clock)]
Weekdays = Annotated[tuple[str, ...], BeforeValidator(_weekdays)]
Texts = Annotated[tuple[str, ...], BeforeValidator(_texts)]
UserTypeName = Annotated[Literal["standard", "admin", "guest"], BeforeValidator(_user_type)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Match(_Model):
    """Which employees a rule is for: every key given must match (texts compare without case).

    `department` and `site` are the employee's (the site after `site.names`); `extra` compares
    fields the source plugin gives in `Employee.extra`, e.g. `{Designation: Guard}`.
    """

    department: Texts | None = None
    site: Texts | None = None
    extra: dict[str, Texts] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something(self) -> Match:
        if self.department is None and self.site is None and not self.extra:
            raise ValueError("a match needs department, site or extra (an empty match would take everyone)")
        return self


class UserIdSettings(_Model):
    """How an HRMS employee becomes a terminal user id.

    `field`: which field of the pulled employee holds the key (`target_id`: the HRMS's own id as the
    plugin gives it; `badge`, `email`, `pin`). `through: mapping`: the key is a target id of the
    source target's mapping, whose `ids:` table (read backwards) gives the terminal user id (a
    mapping without `ids:` uses the key as it is); `through: none`: the key is the terminal user id.
    """

    field: Literal["target_id", "badge", "email", "pin"] = "target_id"
    through: Literal["mapping", "none"] = "mapping"


class SiteSettings(_Model):
    """Where an employee works: `from: employees_file` (the config's employees CSV, by terminal user
    id) or `from: source` (the site the HRMS gives, renamed by `names`; a name that already is a
    site of `sites:` needs no entry)."""

    from_: Literal["employees_file", "source"] = Field(default="employees_file", alias="from")
    names: dict[str, str] = Field(default_factory=dict)


class UserTypeRule(_Model):
    """Employees that `match` get user type `type` on the terminals."""

    match: Match
    type: UserTypeName


class UserTypeSettings(_Model):
    """The terminal user type: the first rule that matches, else `default`."""

    default: UserTypeName = "standard"
    rules: tuple[UserTypeRule, ...] = ()


class AccessWindow(_Model):
    """A door-unlock window in terminal-local time; `end` before `start` crosses midnight."""

    start: Clock
    end: Clock
    days: Weekdays = _WEEKDAYS

    @model_validator(mode="after")
    def _not_empty(self) -> AccessWindow:
        if self.start == self.end:
            raise ValueError("start and end are the same time: the window would be empty")
        return self


class AccessRule(AccessWindow):
    """Employees that `match` get this window (before their shift is considered)."""

    match: Match


class AccessSettings(_Model):
    """The access window: the first matching rule; else the employee's shift (employees file),
    widened by the margins, on every day but their weekly off; else `default`."""

    from_shift: bool = True
    before_minutes: int = Field(default=60, ge=0, le=720)
    after_minutes: int = Field(default=60, ge=0, le=720)
    rules: tuple[AccessRule, ...] = ()
    default: AccessWindow | None = None


class TerminalRule(_Model):
    """Employees that `match` are also put on `devices` (tags under `devices:`)."""

    match: Match
    devices: Texts


class TerminalSettings(_Model):
    """Which terminals hold an employee: with `by_site`, every enabled device of their site; and the
    devices of every rule that matches."""

    by_site: bool = True
    rules: tuple[TerminalRule, ...] = ()


class EmployeeSyncSettings(_Model):
    """How HRMS employees become terminal users (docs/employees.md)."""

    source: str = Field(min_length=1, description="The target in targets: that is the system of record")
    user_id: UserIdSettings = UserIdSettings()
    site: SiteSettings = SiteSettings()
    user_types: UserTypeSettings = UserTypeSettings()
    access: AccessSettings = AccessSettings()
    terminals: TerminalSettings = TerminalSettings()
    face_template_field: str | None = Field(
        default=None, min_length=1, description="Employee.extra key holding a base64 face template to enrol"
    )
    max_delete_share: float = Field(
        default=0.10, ge=0, le=1, description="A run deleting more than this share of a terminal's users stops"
    )
    concurrency: int = Field(default=4, ge=1, le=32, description="Terminals sent to at the same time")

    @field_validator("source")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("source is empty: name the target in targets: that is the system of record")
        return value.strip()
