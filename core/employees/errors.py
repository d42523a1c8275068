"""The errors of employee sync, by what the operator does next.

PunchbridgeError
├── ConfigError
│   └── EmployeeSyncNotConfiguredError   add the employee_sync: section (exit code 2, BAD_INPUT)
└── EmployeeSyncError                    (exit code 1, FAILED)
    ├── EmployeePullFailedError          the system of record could not be read: nothing new was sent
    └── MassDeleteRefusedError           the run would delete too many users: check, then
                                         --allow-mass-delete (exit code 6, REFUSED); nothing was sent
"""

from __future__ import annotations

from collections.abc import Sequence

from punchbridge.errors import ConfigError, ExitCode, PunchbridgeError

__all__ = [
    "EmployeePullFailedError",
    "EmployeeSyncError",
    "EmployeeSyncNotConfiguredError",
    "MassDeleteRefusedError",
]


class EmployeeSyncNotConfiguredError(ConfigError):
    """The configuration has no `employee_sync:` section."""


class EmployeeSyncError(PunchbridgeError):
    """Employee sync could not go on (exit code 1)."""


class EmployeePullFailedError(EmployeeSyncError):
    """The system of record's employee list could not be read in full: no new command was planned."""


class MassDeleteRefusedError(EmployeeSyncError):
    """The run would delete more users than the safety rule allows; nothing was sent (exit code 6).

    `reasons` lists each terminal over the share (and the empty-reply rule), as `refusals` words them.
    """

    exit_code = ExitCode.REFUSED

    def __init__(self, reasons: Sequence[str], config_path: str = "FILE") -> None:
        self.reasons = list(reasons)
        listed = "\n".join(f"  - {reason}" for reason in self.reasons)
        super().__init__(
            "employee sync stopped before sending anything: it would delete too many terminal users\n"
            f"{listed}\n"
            "Check the HRMS reply and the id mapping (`punchbridge employees sync -c "
            f"{config_path} --dry-run` shows every change); if these deletions are right, run again with "
            "--allow-mass-delete, or raise employee_sync.max_delete_share."
        )
