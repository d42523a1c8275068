"""The diff: what each terminal holds (the ledger) against what it should hold (the roster). Pure.

Per enabled terminal, in this order:

- **delete** every user the ledger says it holds that the roster does not want there (a leaver, a
  user moved to another site's terminals), unless their user id is frozen;
- **add** each wanted user it does not hold: `Add User` (profile), `Update AccessTime`, and the face
  enrolment when the HRMS gives a template;
- **update** each wanted user it holds whose profile (`Add User` again), access window (`Update
  AccessTime`) or face (`Add User` with the template) changed.

Each command carries an OperationID derived from the terminal, the command, its data and an epoch
`employees:{lineage}:{revision}`: `revision` counts the commands applied to that (terminal, user) so
far, so a run retried after a crash repeats the same ids while a genuinely new command (a re-add
after a delete, a window changed back) gets a new one. `lineage` is fixed when the ledger row is
first made (new rows take the run's token). `refusals` is the mass-delete safety rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from punchbridge.employees.roster import Roster, WantedUser
from punchbridge.minop.devices import DeviceCommand, add_user, delete_user, enrol_face, update_access_time
from punchbridge.store.terminals import TerminalUser

__all__ = ["Plan", "PlannedCommand", "TerminalPlan", "epoch_of", "plan_changes", "refusals"]

#: `_evolve` names every field: a field added to TerminalUser must be added there too.
assert tuple(f.name for f in fields(TerminalUser)) == (
    "stgid",
    "user_id",
    "present",
    "revision",
    "lineage",
    "employee_ref",
    "profile_hash",
    "user_type",
    "access_start",
    "access_end",
    "access_days",
    "face_ref",
)


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    """One command for one terminal, with its OperationID and the ledger row it leads to."""

    stgid: str
    user_id: str
    action: str  # add, profile, access, enrol, delete
    command: DeviceCommand
    revision: int  # the row's revision before this command
    lineage: str
    operation_id: str
    effect: TerminalUser

    def stored_command(self) -> dict[str, object] | None:
        """The command as the journal keeps it (None for a face enrolment: a template is never stored)."""
        if self.action == "enrol":
            return None
        return {"name": self.command.name, "entity": self.command.entity, "data": dict(self.command.data)}


@dataclass
class TerminalPlan:
    """The commands for one terminal and what they amount to."""

    stgid: str
    site: str
    held: int = 0  # users the ledger says the terminal holds
    adds: int = 0
    updates: int = 0
    deletes: int = 0
    enrolments: int = 0
    commands: list[PlannedCommand] = field(default_factory=list)

    @property
    def delete_share(self) -> float:
        """Deleted users as a share of those it holds (0 when it holds none)."""
        return self.deletes / self.held if self.held else 0.0


@dataclass
class Plan:
    """Every terminal's commands, in sending order, and the ledger rows of terminals not managed."""

    terminals: dict[str, TerminalPlan] = field(default_factory=dict)
    unmanaged: dict[str, int] = field(default_factory=dict)  # stgid (removed or disabled) -> users held

    @property
    def commands(self) -> list[PlannedCommand]:
        """All commands, terminal by terminal."""
        return [command for terminal in self.terminals.values() for command in terminal.commands]

    def count(self, what: str) -> int:
        """The total of `adds`, `updates`, `deletes` or `enrolments` over the terminals."""
        return sum(getattr(terminal, what) for terminal in self.terminals.values())


def epoch_of(lineage: str, revision: int) -> str:
    """The epoch of a command's OperationID: the row's lineage and its revision before the command."""
    return f"employees:{lineage}:{revision}"


def _evolve(row: TerminalUser, changes: Mapping[str, Any]) -> TerminalUser:
    """`row` after one more command with `changes` (`dataclasses.replace`, without its per-call cost)."""
    get = changes.get
    return TerminalUser(
        row.stgid,
        row.user_id,
        get("present", row.present),
        row.revision + 1,
        row.lineage,
        get("employee_ref", row.employee_ref),
        get("profile_hash", row.profile_hash),
        get("user_type", row.user_type),
        get("access_start", row.access_start),
        get("access_end", row.access_end),
        get("access_days", row.access_days),
        get("face_ref", row.face_ref),
    )


class _Chain:
    """The commands of one (terminal, user), each starting from the row the previous one left."""

    def __init__(self, stgid: str, user_id: str, row: TerminalUser, out: list[PlannedCommand]) -> None:
        self.stgid, self.user_id, self.row, self.out = stgid, user_id, row, out

    def add(self, action: str, command: DeviceCommand, **changes: object) -> None:
        row = self.row
        effect = _evolve(row, changes)
        operation_id = command.operation_id(self.stgid, epoch_of(row.lineage, row.revision))
        self.out.append(
            PlannedCommand(self.stgid, self.user_id, action, command, row.revision, row.lineage, operation_id, effect)
        )
        self.row = effect


class _Commands:
    """Each wanted user's commands, built once and shared by their terminals (the same data, so the
    same command: only the terminal and epoch of its OperationID differ)."""

    def __init__(self) -> None:
        self._built: dict[tuple[str, int], DeviceCommand] = {}

    def _get(self, kind: str, user: WantedUser) -> DeviceCommand:
        key = (kind, id(user))
        command = self._built.get(key)
        if command is None:
            if kind == "profile":
                command = add_user(user.user_id, user.first_name, user.last_name, user.user_type)  # type: ignore[arg-type]
            elif kind == "access":
                days = [int(day) for day in user.access_days.split(",")]
                command = update_access_time(user.user_id, user.access_start, user.access_end, days)
            else:
                assert user.face is not None
                command = enrol_face(user.user_id, user.face)
            self._built[key] = command
        return command

    def profile(self, user: WantedUser) -> DeviceCommand:
        """Add User (profile)."""
        return self._get("profile", user)

    def access(self, user: WantedUser) -> DeviceCommand:
        """Update AccessTime."""
        return self._get("access", user)

    def enrol(self, user: WantedUser) -> DeviceCommand:
        """Add User (enrol)."""
        return self._get("enrol", user)


def _access_fields(user: WantedUser) -> dict[str, object]:
    return {"access_start": user.access_start, "access_end": user.access_end, "access_days": user.access_days}


def plan_changes(
    roster: Roster,
    held: Iterable[TerminalUser],
    devices: Mapping[str, tuple[str, bool]],
    *,
    lineage: str,
    skip: Iterable[str] = (),
) -> Plan:
    """The commands that make every enabled terminal of `devices` (stgid -> (site, enabled)) hold what
    `roster` wants, given the ledger rows `held`; terminals in `skip` get none (see the module doc)."""
    skipped = set(skip)
    rows: dict[str, dict[str, TerminalUser]] = {}
    for row in held:
        rows.setdefault(row.stgid, {})[row.user_id] = row
    plan = Plan()
    built = _Commands()
    for stgid, terminal_rows in sorted(rows.items()):
        if stgid not in devices or not devices[stgid][1]:
            count = sum(1 for row in terminal_rows.values() if row.present)
            if count:
                plan.unmanaged[stgid] = count
    for stgid, (site, enabled) in sorted(devices.items()):
        if not enabled or stgid in skipped:
            continue
        terminal = TerminalPlan(stgid, site)
        held_here = rows.get(stgid, {})
        wanted = roster.wanted.get(stgid, {})
        terminal.held = sum(1 for row in held_here.values() if row.present)
        for user_id, row in sorted(held_here.items()):
            if row.present and user_id not in wanted and user_id not in roster.frozen:
                _delete(terminal, row)
        for user_id, user in sorted(wanted.items()):
            _bring(terminal, held_here.get(user_id), user, lineage, built)
        plan.terminals[stgid] = terminal
    return plan


def _delete(terminal: TerminalPlan, row: TerminalUser) -> None:
    chain = _Chain(terminal.stgid, row.user_id, row, terminal.commands)
    chain.add(
        "delete",
        delete_user(row.user_id),
        present=False,
        profile_hash=None,
        user_type=None,
        access_start=None,
        access_end=None,
        access_days=None,
        face_ref=None,
    )
    terminal.deletes += 1


def _bring(terminal: TerminalPlan, row: TerminalUser | None, user: WantedUser, lineage: str, built: _Commands) -> None:
    """Add `user` to the terminal, or update what it holds of them."""
    if row is None:
        row = TerminalUser(terminal.stgid, user.user_id, present=False, revision=0, lineage=lineage)
    chain = _Chain(terminal.stgid, user.user_id, row, terminal.commands)
    profile = {"profile_hash": user.profile_hash, "user_type": user.user_type, "employee_ref": user.employee_ref}
    if not row.present:
        # A (re-)added user holds no window and no face yet: the commands below set them.
        chain.add(
            "add",
            built.profile(user),
            present=True,
            access_start=None,
            access_end=None,
            access_days=None,
            face_ref=None,
            **profile,
        )
        chain.add("access", built.access(user), **_access_fields(user))
        if user.face is not None:
            chain.add("enrol", built.enrol(user), face_ref=user.face_ref)
            terminal.enrolments += 1
        terminal.adds += 1
        return
    changed = False
    if (row.profile_hash, row.user_type) != (user.profile_hash, user.user_type):
        chain.add("profile", built.profile(user), **profile)
        changed = True
    if (row.access_start, row.access_end, row.access_days) != (user.access_start, user.access_end, user.access_days):
        chain.add("access", built.access(user), **_access_fields(user))
        changed = True
    if user.face is not None and row.face_ref != user.face_ref:
        chain.add("enrol", built.enrol(user), face_ref=user.face_ref)
        terminal.enrolments += 1
        changed = True
    terminal.updates += changed


def refusals(plan: Plan, roster: Roster, max_share: float) -> list[str]:
    """Why this plan must not be sent without `--allow-mass-delete` (empty: it may be sent).

    An HRMS reply without any active employee may not delete anything; no terminal may lose more
    than `max_share` of the users it holds.
    """
    deleting = [t for t in plan.terminals.values() if t.deletes]
    if not deleting:
        return []
    reasons: list[str] = []
    if roster.active == 0:
        total = sum(t.deletes for t in deleting)
        reasons.append(
            f"the HRMS returned {roster.pulled} employee record(s) and none is active: the run would delete "
            f"{total} user(s) from {len(deleting)} terminal(s) because of an empty reply"
        )
    for terminal in deleting:
        if terminal.delete_share > max_share:
            reasons.append(
                f"terminal {terminal.stgid} would lose {terminal.deletes} of its {terminal.held} users "
                f"({terminal.delete_share:.0%}), more than max_delete_share {max_share:.0%}"
            )
    return reasons
