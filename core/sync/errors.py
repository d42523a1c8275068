"""The sync engine's own errors, in the tree drawn in `punchbridge.errors`:

    PunchbridgeError
    └── UserInputError
        └── UnknownTargetError      `--target` names no configured target (exit code 2); nothing was written

Target failures during a run are not raised: they become the target's `error` in the report.
"""

from __future__ import annotations

from collections.abc import Iterable

from punchbridge.errors import Problem, UserInputError

__all__ = ["UnknownTargetError"]


class UnknownTargetError(UserInputError):
    """`--target` named a target the configuration does not have; the problem lists the configured ones."""

    def __init__(self, unknown: Iterable[str], configured: Iterable[str], *, file: str = "") -> None:
        self.unknown = sorted(unknown)
        self.configured = sorted(configured)
        names = ", ".join(repr(name) for name in self.unknown)
        known = ", ".join(self.configured) or "none"
        super().__init__(Problem(file, f"no target named {names}; configured targets: {known}", field="--target"))
