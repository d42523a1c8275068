"""What a sync (or a dead-letter retry) did: one `TargetReport` per target inside a `SyncReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["SyncReport", "TargetReport"]


@dataclass
class TargetReport:
    """What happened for one target."""

    name: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    held_back: int = 0
    held_reasons: dict[str, int] = field(default_factory=dict)  # why days were held back: reason -> days
    same_as_delivered: int = 0  # days recomputed in this run whose record the target already holds as it is
    held_open: int = 0  # open days (no check-out) not sent: `open_days:` (punchbridge.sync.open_days)
    delivered: int = 0
    rejected: int = 0
    resumed_batches: int = 0
    batches: int = 0
    locations: list[str] = field(default_factory=list)
    seen_locations: set[str] = field(default_factory=set, repr=False)  # `locations` as a set: O(1) membership
    error: str | None = None
    busy: str | None = None  # another process held this target's delivery lock: nothing was sent (who held it)
    sample: pd.DataFrame | None = None
    stopped: bool = False  # a stop was requested before every pending batch was sent
    locked: int = 0  # new or changed records of days in locked periods: not sent (docs/cutoff.md)
    adjustments: int = 0  # adjustment records to send (the `adjustments:` target only)

    def summary(self) -> dict[str, Any]:
        """This target's counts as plain JSON values (for run summaries)."""
        return {
            "delivered": self.delivered,
            "rejected": self.rejected,
            "held_back": self.held_back,
            "held_reasons": dict(self.held_reasons),
            "held_open": self.held_open,
            "locked": self.locked,
            "adjustments": self.adjustments,
            "batches": self.batches,
            "stopped": self.stopped,
            "error": self.error,
            "busy": self.busy,
        }


@dataclass
class SyncReport:
    """What a sync run did (or, for a dry run, would do)."""

    dry_run: bool
    date_from: date
    date_to: date
    ingested: int = 0
    duplicates: int = 0
    quarantined: int = 0
    days_computed: int = 0
    days_new: int = 0
    days_changed: int = 0
    targets: list[TargetReport] = field(default_factory=list)
    stopped: bool = False  # a stop was requested (SIGTERM): the batch in flight finished, the rest waits
    days_locked: int = 0  # days of locked periods whose new computation differs: kept as they were
    adjustments_recorded: int = 0  # adjustments recorded in this run (would be, on a dry run)
    adjustments_waiting: int = 0  # adjustments not yet delivered after this run
    days_erased: int = 0  # computed days of erased employees, left out

    @property
    def dead_lettered(self) -> int:
        """Records refused by a target in this run."""
        return sum(t.rejected for t in self.targets)

    @property
    def busy(self) -> bool:
        """True when another process held a target's delivery lock, so this run sent nothing to it."""
        return any(t.busy for t in self.targets)

    @property
    def failed(self) -> bool:
        """True when a target could not be served (credentials, fatal error, retries exhausted)."""
        return any(t.error for t in self.targets)

    def summary(self) -> dict[str, Any]:
        """The counts of a sync as plain JSON values: what the run history keeps and `run_finished` gets."""
        return {
            "dry_run": self.dry_run,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "ingested": self.ingested,
            "days_changed": self.days_changed + self.days_new,
            "delivered": sum(t.delivered for t in self.targets),
            "dead_lettered": self.dead_lettered,
            "stopped": self.stopped,
            "days_locked": self.days_locked,
            "adjustments_recorded": self.adjustments_recorded,
            "adjustments_waiting": self.adjustments_waiting,
            "targets": {t.name: t.summary() for t in self.targets},
        }

    def retry_summary(self) -> dict[str, Any]:
        """The counts of a dead-letter retry (`punchbridge dlq retry`) as plain JSON values."""
        return {
            "delivered": sum(t.delivered for t in self.targets),
            "dead_lettered": self.dead_lettered,
            "locked": sum(t.locked for t in self.targets),
            "stopped": self.stopped,
            "targets": {t.name: t.summary() for t in self.targets},
        }
