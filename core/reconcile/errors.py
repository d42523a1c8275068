"""What can stop a reconciliation before it compares anything, grouped by what to do next.

    PunchbridgeError
    └── ReconcileError
        ├── PeriodError                 the period text is not one punchbridge reads (exit code 2)
        ├── TargetNotConfiguredError    no target of that name in the configuration (exit code 2)
        ├── ReadBackUnsupportedError    the target's plugin cannot say what it holds (exit code 2)
        └── TargetUnreachableError      reading back failed: network, credentials, refusals (exit code 1)

Each message says what is wrong, where (the configuration file, the target) and what to do.
Differences are not errors: a reconciliation that finds some finishes, writes its report, and
`punchbridge reconcile` (or its job) exits 3, `ExitCode.ATTENTION`.
"""

from __future__ import annotations

from punchbridge.errors import ExitCode, PunchbridgeError

__all__ = [
    "PeriodError",
    "ReadBackUnsupportedError",
    "ReconcileError",
    "TargetNotConfiguredError",
    "TargetUnreachableError",
]


class ReconcileError(PunchbridgeError):
    """Base of the errors that stop a reconciliation."""


class PeriodError(ReconcileError):
    """`--period` (or a job's `period:`) is not `YYYY-MM`, `YYYY-MM-DD..YYYY-MM-DD`, `last_week` or `last_month`."""

    exit_code = ExitCode.BAD_INPUT


class TargetNotConfiguredError(ReconcileError):
    """`--target` names a target the configuration does not have."""

    exit_code = ExitCode.BAD_INPUT


class ReadBackUnsupportedError(ReconcileError):
    """The target's plugin has no `read_back` capability: punchbridge cannot see what it holds."""

    exit_code = ExitCode.BAD_INPUT


class TargetUnreachableError(ReconcileError):
    """Reading back failed (network, server errors after retries, refused credentials, a broken reply)."""
