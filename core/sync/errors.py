"""The sync engine's own errors, in the tree drawn in `punchbridge.errors`:

    PunchbridgeError
    └── UserInputError
        ├── UnknownTargetError      `--target` names no configured target (exit code 2); nothing was written
        └── RangePurgedError        the range lies wholly before the retention horizon (exit code 2)

Target failures during a run are not raised: they become the target's `error` in the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from punchbridge.errors import Problem, UserInputError

__all__ = ["RangePurgedError", "UnknownTargetError"]


class UnknownTargetError(UserInputError):
    """`--target` named a target the configuration does not have; the problem lists the configured ones."""

    def __init__(self, unknown: Iterable[str], configured: Iterable[str], *, file: str = "") -> None:
        self.unknown = sorted(unknown)
        self.configured = sorted(configured)
        names = ", ".join(repr(name) for name in self.unknown)
        known = ", ".join(self.configured) or "none"
        super().__init__(Problem(file, f"no target named {names}; configured targets: {known}", field="--target"))


class RangePurgedError(UserInputError):
    """Every day of the asked range lies before the retention horizon: a purge removed what those days are
    computed from, so a sync refuses the range rather than sending days it never asked for."""

    def __init__(self, first: date, last: date, horizon: date, *, file: str = "", field: str = "sync") -> None:
        self.first, self.last, self.horizon = first, last, horizon
        super().__init__(
            Problem(
                file,
                f"the range {first} to {last} lies wholly before the retention horizon {horizon}: days before it "
                f"were purged and cannot be computed or sent again; choose days from {horizon} on (--from/--to, "
                "or sync: from/to in the configuration)",
                field=field,
            )
        )
