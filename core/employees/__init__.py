"""Employee sync: HRMS employees to terminal users (docs/employees.md).

    from punchbridge.employees import run_employee_sync
    report = run_employee_sync(config, document, registry, store, dry_run=False)
    report.summary()   # counts per terminal, problems, errors (JSON-able)

The system of record (a target with the `pull_employees` capability) says who works where; the
ledger (`terminal_users` in the store) says what each terminal holds; the plan is the difference,
sent as `Add User`, `Update AccessTime` and `Delete User` commands with deterministic OperationIDs.
The pieces: `roster` (who goes where, pure), `plan` (the diff and the safety rule, pure), `send`
(commands to terminals), `engine` (the run), `report`, `errors`, `settings`. docs/employees.md is
the user's guide.

The configuration imports `punchbridge.employees.settings` while it is itself being imported, so
this package imports its engine only when one of the names below is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from punchbridge.lazy import lazy_names

if TYPE_CHECKING:
    from punchbridge.employees.engine import EmployeeSync, check_employee_sync, run_employee_sync
    from punchbridge.employees.errors import (
        EmployeePullFailedError,
        EmployeeSyncError,
        EmployeeSyncNotConfiguredError,
        MassDeleteRefusedError,
    )
    from punchbridge.employees.plan import Plan, PlannedCommand, TerminalPlan, plan_changes, refusals
    from punchbridge.employees.report import EmployeeSyncReport, TerminalReport
    from punchbridge.employees.roster import Roster, StaffRow, WantedUser, build_roster
    from punchbridge.employees.settings import EmployeeSyncSettings

__all__ = [
    "EmployeePullFailedError",
    "EmployeeSync",
    "EmployeeSyncError",
    "EmployeeSyncNotConfiguredError",
    "EmployeeSyncReport",
    "EmployeeSyncSettings",
    "MassDeleteRefusedError",
    "Plan",
    "PlannedCommand",
    "Roster",
    "StaffRow",
    "TerminalPlan",
    "TerminalReport",
    "WantedUser",
    "build_roster",
    "check_employee_sync",
    "plan_changes",
    "refusals",
    "run_employee_sync",
]

_HOMES = {
    "EmployeeSync": "engine",
    "check_employee_sync": "engine",
    "run_employee_sync": "engine",
    "EmployeePullFailedError": "errors",
    "EmployeeSyncError": "errors",
    "EmployeeSyncNotConfiguredError": "errors",
    "MassDeleteRefusedError": "errors",
    "Plan": "plan",
    "PlannedCommand": "plan",
    "TerminalPlan": "plan",
    "plan_changes": "plan",
    "refusals": "plan",
    "EmployeeSyncReport": "report",
    "TerminalReport": "report",
    "Roster": "roster",
    "StaffRow": "roster",
    "WantedUser": "roster",
    "build_roster": "roster",
    "EmployeeSyncSettings": "settings",
}


__getattr__ = lazy_names(__name__, {name: f"{__name__}.{home}" for name, home in _HOMES.items()})
