"""What an employee sync did (or, for a dry run, would do): per terminal and overall."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from punchbridge.employees.plan import Plan, PlannedCommand

__all__ = ["MAX_FAILURES", "MAX_LISTED_PROBLEMS", "EmployeeSyncReport", "TerminalReport"]

#: Problems kept in a run's summary (all of them stay in the report object).
MAX_LISTED_PROBLEMS = 100
#: Refusals kept per terminal.
MAX_FAILURES = 20


@dataclass
class TerminalReport:
    """One terminal: what the plan changes, and how its commands ended."""

    stgid: str
    site: str
    held: int = 0  # users the ledger said it held before the run
    adds: int = 0
    updates: int = 0
    deletes: int = 0
    enrolments: int = 0
    commands: int = 0  # planned in this run
    sent: int = 0  # executed by the cloud (resumed commands included)
    failed: int = 0  # refused by the cloud
    skipped: int = 0  # not sent because an earlier command for the same user failed
    pending: int = 0  # left for the next run (terminal unreachable, or a stop was requested)
    error: str | None = None  # why sending to this terminal stopped
    failures: list[str] = field(default_factory=list)  # the cloud's refusals (the first MAX_FAILURES)
    # Who the plan adds, updates and deletes, in plan order: "user id (employee)" (what a dry run lists).
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The counts and error, JSON-able."""
        return {
            "site": self.site,
            "held": self.held,
            "adds": self.adds,
            "updates": self.updates,
            "deletes": self.deletes,
            "enrolments": self.enrolments,
            "commands": self.commands,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "pending": self.pending,
            "error": self.error,
            "failures": list(self.failures),
        }


def _users_by_change(commands: list[PlannedCommand]) -> tuple[list[str], list[str], list[str]]:
    """The users `commands` add, update and delete, each once, as "user id (employee)"."""
    lists: dict[str, list[str]] = {"add": [], "update": [], "delete": []}
    seen: set[str] = set()
    for command in commands:  # a user's commands are in a row: add (access, enrol) or updates, or delete
        if command.user_id in seen:
            continue
        seen.add(command.user_id)
        change = command.action if command.action in ("add", "delete") else "update"
        employee = command.effect.employee_ref
        lists[change].append(f"{command.user_id} ({employee})" if employee else command.user_id)
    return lists["add"], lists["update"], lists["delete"]


@dataclass
class EmployeeSyncReport:
    """The outcome of `run_employee_sync`."""

    dry_run: bool
    source: str
    run_id: int | None = None
    pulled: int = 0  # employee records the system of record returned
    active: int = 0
    leavers: int = 0
    placed: int = 0  # people placed on terminals (their terminals may be none)
    frozen: int = 0  # user ids left as the terminals hold them, because of a problem
    problems: list[str] = field(default_factory=list)
    terminals: dict[str, TerminalReport] = field(default_factory=dict)
    unmanaged: dict[str, int] = field(default_factory=dict)  # removed or disabled terminals -> users held
    resumed: int = 0  # commands of an interrupted run sent again first
    abandoned: int = 0  # interrupted commands that could not be sent again (see docs/employees.md)
    awaiting_resume: int = 0  # dry run: commands of an interrupted run that a real run would send first
    refused: list[str] = field(default_factory=list)  # dry run: why a real run would be refused
    stopped: bool = False  # a stop was requested: what was not sent waits for the next run
    error: str | None = None  # a run-wide failure (nothing more could be done)

    @classmethod
    def with_plan(cls, report: EmployeeSyncReport, plan: Plan) -> EmployeeSyncReport:
        """`report` with a terminal report per terminal of `plan` (its counts taken over)."""
        for stgid, terminal in plan.terminals.items():
            entry = report.terminal(stgid, terminal.site)
            entry.held = terminal.held
            entry.adds, entry.updates, entry.deletes = terminal.adds, terminal.updates, terminal.deletes
            entry.enrolments = terminal.enrolments
            entry.commands = len(terminal.commands)
            entry.added, entry.updated, entry.deleted = _users_by_change(terminal.commands)
        report.unmanaged = dict(plan.unmanaged)
        return report

    def terminal(self, stgid: str, site: str = "") -> TerminalReport:
        """The report of `stgid` (made when first asked for)."""
        if stgid not in self.terminals:
            self.terminals[stgid] = TerminalReport(stgid, site)
        return self.terminals[stgid]

    def total(self, what: str) -> int:
        """A count summed over the terminals (`adds`, `sent`, `failed`...)."""
        return sum(getattr(terminal, what) for terminal in self.terminals.values())

    @property
    def failed(self) -> bool:
        """True when something could not be done: a terminal unreachable, a command refused, a run-wide error."""
        return self.error is not None or any(t.error or t.failed for t in self.terminals.values())

    @property
    def status(self) -> str:
        """How the run is recorded: `failed`, `partial` (problems, skipped or pending work) or `ok`."""
        if self.failed:
            return "failed"
        if self.problems or self.stopped or self.total("skipped") or self.total("pending") or self.abandoned:
            return "partial"
        return "ok"

    def summary(self) -> dict[str, Any]:
        """Counts per terminal, totals, problems (the first `MAX_LISTED_PROBLEMS`) and errors; JSON-able."""
        return {
            "dry_run": self.dry_run,
            "source": self.source,
            "pulled": self.pulled,
            "active": self.active,
            "leavers": self.leavers,
            "placed": self.placed,
            "frozen": self.frozen,
            "adds": self.total("adds"),
            "updates": self.total("updates"),
            "deletes": self.total("deletes"),
            "enrolments": self.total("enrolments"),
            "commands": self.total("commands"),
            "sent": self.total("sent"),
            "failed": self.total("failed"),
            "skipped": self.total("skipped"),
            "pending": self.total("pending"),
            "resumed": self.resumed,
            "abandoned": self.abandoned,
            "awaiting_resume": self.awaiting_resume,
            "stopped": self.stopped,
            "refused": list(self.refused),
            "error": self.error,
            "problems": self.problems[:MAX_LISTED_PROBLEMS],
            "problem_count": len(self.problems),
            "unmanaged": dict(self.unmanaged),
            "terminals": {stgid: t.summary() for stgid, t in sorted(self.terminals.items())},
        }
