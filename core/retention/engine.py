"""`punchbridge purge`: remove punches and run data older than the configured retention (docs/retention.md).

    report = purge(config, store)                 # the scheduler's `run: purge` calls exactly this
    report = purge(config, store, dry_run=True)   # count what would go; write nothing
    report.summary()                              # a JSON-ready dict for the run history

What goes, and what stays:

- **Attendance data** (punches, processed days, the ledger rows of their records, received leaves,
  delivered adjustments) of work dates before the *horizon*: the first day of the month
  `retention.punches_days` ago, but never a month that is not locked for every site (a sync may still
  change and deliver its days, and reconciliation compares them), and never back. The horizon is
  stored first: no later sync recomputes or delivers a day before it (its punches are gone).
- **Run data**: runs, audit events, finished batches (except the last of each target and period,
  which keeps its sequence number from being reused) and kept webhook payloads older than
  `retention.runs_days`; webhook event ids older than the receiver's replay window; quarantined rows
  older than `retention.quarantine_days`.
- **Kept**: dead letters (they wait for an operator), period locks, adjustments not yet delivered,
  open batches, cursors and tombstones.

Each step is its own transaction; `should_stop` is asked between steps, and a stopped purge leaves a
consistent store (the next one does the rest).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from punchbridge.config import Config
from punchbridge.periods import PeriodLocks, period_bounds, period_label
from punchbridge.plugin_api.registry import PluginRegistry, load_plugins
from punchbridge.store import Store

__all__ = ["PurgeReport", "attendance_horizon", "purge"]

_DAY_NS = 86_400 * 10**9


@dataclass
class PurgeReport:
    """What a purge removed (or, dry, would remove), per kind of row."""

    dry_run: bool
    horizon: date | None = None  # attendance data of work dates before it is gone
    wanted: date | None = None  # the horizon the retention asked for
    held_by: str | None = None  # why the horizon stayed before `wanted` (a month not locked everywhere)
    removed: dict[str, int] = field(default_factory=dict)
    stopped: bool = False

    @property
    def total(self) -> int:
        """Rows removed in all."""
        return sum(self.removed.values())

    def summary(self) -> dict[str, Any]:
        """The report as plain JSON values (for the run history and the scheduler's log line)."""
        return {
            "dry_run": self.dry_run,
            "horizon": None if self.horizon is None else self.horizon.isoformat(),
            "wanted": None if self.wanted is None else self.wanted.isoformat(),
            "held_by": self.held_by,
            "removed": dict(self.removed),
            "total": self.total,
            "stopped": self.stopped,
        }


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def attendance_horizon(
    wanted: date, earliest: date | None, locks: PeriodLocks, sites: list[str], current: date | None
) -> tuple[date | None, str | None]:
    """Where the horizon may move: to `wanted` (a first of month), but not past the first month from
    `earliest` (the first stored work date) on that is not locked for every site, and never back
    from `current`. Returns (the horizon, or None when nothing may go; why it stopped short)."""
    if earliest is None:
        return current, None
    horizon, reason = wanted, None
    month = _first_of_month(earliest)
    while month < wanted:
        label = period_label(month)
        if not locks.closed_everywhere(label, sites):
            horizon, reason = month, f"period {label} is not locked for every site"
            break
        month = period_bounds(label)[1] + timedelta(days=1)
    if horizon <= _first_of_month(earliest) or (current is not None and current >= horizon):
        return current, reason
    return horizon, reason


def purge(
    config: Config,
    store: Store,
    *,
    now_ns: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    dry_run: bool = False,
    registry: PluginRegistry | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> PurgeReport:
    """Remove what the retention settings let go (see the module docstring); audited unless `dry_run`.

    A purge that removes (not a dry run) is recorded in the run history (kind `purge`; inside a
    scheduled job, as that job's run). Fires `run_started` and `run_finished` (kind `purge`, no
    targets) on `registry`'s plugins (default: the plugins of the entry points, as the command line
    loads them), once each, also when it fails. `progress(step, done, total)` is told before each step
    and once all are done (the command line draws a bar on a terminal).
    """
    hook = (registry if registry is not None else load_plugins()).hook
    report = PurgeReport(dry_run=dry_run)
    run_id = None if dry_run else store.start_run("purge")
    hook.run_started(kind="purge", targets=[])
    try:
        _purge(report, config, store, now_ns, should_stop or (lambda: False), progress or (lambda *_: None))
    except BaseException as exc:
        failed = {**report.summary(), "error": f"{type(exc).__name__}: {exc}"[:2000]}
        try:
            if run_id is not None:
                store.finish_run(run_id, "failed", failed, error=failed["error"].splitlines()[0])
        finally:
            hook.run_finished(kind="purge", summary=failed)
        raise
    if run_id is not None:
        store.finish_run(run_id, "stopped" if report.stopped else "ok", report.summary())
    hook.run_finished(kind="purge", summary=report.summary())
    return report


def _purge(
    report: PurgeReport,
    config: Config,
    store: Store,
    now_ns: int | None,
    stop: Callable[[], bool],
    progress: Callable[[str, int, int], None],
) -> None:
    now = time.time_ns() if now_ns is None else int(now_ns)
    settings = config.retention
    today = datetime.fromtimestamp(now / 1e9, UTC).date()
    dry_run = report.dry_run
    report.wanted = _first_of_month(today - timedelta(days=settings.punches_days))
    locks = PeriodLocks.from_frame(store.period_locks())
    current = store.retention_horizon()
    horizon, report.held_by = attendance_horizon(
        report.wanted, store.earliest_work_date(), locks, sorted(config.sites), current
    )
    report.horizon = horizon
    target = config.adjustments.target if config.adjustments else None
    if stop():
        report.stopped = True
        return
    steps = (
        ("runs", now - settings.runs_days * _DAY_NS),
        ("audit", now - settings.runs_days * _DAY_NS),
        ("batches", now - settings.runs_days * _DAY_NS),
        ("cloud_events", now - settings.runs_days * _DAY_NS),
        ("webhook_events", now - config.receiver.replay_window_hours * 3600 * 10**9),
        ("quarantine", now - settings.quarantine_days * _DAY_NS),
    )
    total = len(steps) + 1  # attendance data, then each kind of run data
    progress("attendance", 0, total)
    if horizon is not None:  # also when it did not move: old punches re-sent since then go too
        report.removed.update(store.purge_attendance(horizon, adjustments_target=target, dry_run=dry_run))
    for done, (kind, before_ns) in enumerate(steps, start=1):
        if stop():
            report.stopped = True
            break
        progress(kind, done, total)
        report.removed[kind] = store.purge_history(kind, before_ns, dry_run=dry_run)
    else:
        progress("done", total, total)
    if not dry_run:
        store.audit("retention.purged", report.summary())
