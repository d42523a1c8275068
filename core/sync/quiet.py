"""A quiet night: a sync with nothing new, found so (and run) before pandas and the rules engine load.

Most nightly syncs find nothing to do, and importing the engine's libraries was most of their time.
`QuietNight.check` decides from the store's cursors, the sources' own cheap checks and a digest of
every input file whether a full sync (`punchbridge.sync.engine`) would only record its run, take
and give back each target's delivery lock and report zeros. When it would, `QuietNight.run` does
exactly that; otherwise the full sync runs, as before. A night is quiet when all of these hold:

- it is not a dry run, and no `adjustments:` target is configured (the full sync always looks at
  the recorded adjustments then);
- every source says, without reading punches, that it holds nothing new since its cursor
  (`Source.nothing_new_since`; a source that cannot tell makes no night quiet), and none supplies
  processed days of its own;
- no punch was stored since the last recomputation (the receiver's, an import's);
- the inputs are those of the last full sync: the configuration as loaded (rules and holidays
  included), the employee, assignment, leave, mapping and lookup files byte for byte, the leaves
  received from the cloud, the installed plugins and punchbridge's own version. The full sync keeps
  their digest beside the recomputation state it leaves (the `sync:quiet` cursor);
- the range lies inside the days computed before (a new night's date is not quiet: it is computed);
- every target it serves finished its last delivery (its delivery cursor is clean) and watches no
  open day (`open_days:`).

The delivery lock, open batches a crash left (sent first, as in every delivery), the hooks, the
run record and the report are the full sync's own (`punchbridge.sync.delivery`, `.parallel`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from punchbridge.errors import PunchbridgeError
from punchbridge.plugin_api.registry import validate_plugin_settings
from punchbridge.plugin_api.sources import Source
from punchbridge.store.reconcile import DELIVERY_CURSOR
from punchbridge.sync.delivery import Delivery, Outgoing
from punchbridge.sync.parallel import deliver_each
from punchbridge.sync.report import SyncReport, TargetReport
from punchbridge.sync.scope import chosen_targets, resolve_range

if TYPE_CHECKING:
    from punchbridge.config import Config
    from punchbridge.config.yamlfile import YamlDocument
    from punchbridge.plugin_api.registry import PluginRegistry
    from punchbridge.store import Store

__all__ = ["QUIET_CURSOR", "QuietNight", "inputs_digest", "remember_inputs", "run_status"]

#: The store cursor holding the inputs' digest of the last full sync beside the state it computed.
QUIET_CURSOR = "sync:quiet"
#: The recomputation's cursors (`punchbridge.sync.recompute`): what was computed, up to which punch.
COMPUTED_CURSOR = "rules:computed"
PUNCH_CURSOR = "rules:last_punch_id"
#: A target's open-day gate cursor (`punchbridge.sync.open_gate.OPEN_DAYS_CURSOR`).
OPEN_DAYS_CURSOR = "open_days:{target}"
#: The longest error text kept in a run's summary.
MAX_ERROR = 2000


def inputs_digest(files_digest: str, store: Store) -> str:
    """`files_digest` (`input_files_digest`) with the leaves received from the cloud (kept in the store)."""
    from punchbridge.store.quiet import received_leaves_digest

    return hashlib.sha256(f"{files_digest}|{received_leaves_digest(store)}".encode()).hexdigest()


def _quiet_state(digest: str, store: Store) -> str:
    return json.dumps({"inputs": digest, "computed": store.get_cursor(COMPUTED_CURSOR)}, sort_keys=True)


def remember_inputs(store: Store, digest: str) -> None:
    """After a full sync: keep `digest` (`inputs_digest`, taken before it read them) beside the state it
    computed, so the next night knows whether its inputs are the same (written only when it changed)."""
    state = _quiet_state(digest, store)
    if store.get_cursor(QUIET_CURSOR) != state:
        store.set_cursor(QUIET_CURSOR, state)


def run_status(report: SyncReport) -> str:
    """A sync's run status in the run history: failed, busy, partial (dead letters) or ok."""
    return "failed" if report.failed else "busy" if report.busy else "partial" if report.dead_lettered else "ok"


def finish_failed(
    store: Store, registry: PluginRegistry, kind: str, run_id: int | None, summary: dict[str, Any], exc: BaseException
) -> None:
    """Record a run that raised as failed, with its error, and fire `run_finished` (once) for it."""
    error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    failed = {**summary, "error": error}
    try:
        if run_id is not None:
            store.finish_run(run_id, "failed", failed, error=error.splitlines()[0])
    finally:
        registry.hook.run_finished(kind=kind, summary=failed)


class QuietNight:
    """Decides whether a sync has nothing to do (`check`) and runs it so (`run`); see the module docstring."""

    def __init__(
        self,
        config: Config,
        document: YamlDocument,
        registry: PluginRegistry,
        store: Store,
        digest: str,
        *,
        should_stop: Callable[[], bool] | None = None,
        lock_wait: float = 0.0,
        today: date | None = None,
    ) -> None:
        self.config = config
        self.document = document
        self.registry = registry
        self.store = store
        self.digest = digest
        self.should_stop = should_stop or (lambda: False)
        self.lock_wait = lock_wait
        self.today = today or datetime.now(UTC).date()

    def check(
        self, targets: Sequence[str] | None, date_from: date | None, date_to: date | None
    ) -> tuple[date, date, list[str]] | None:
        """The range and targets of a quiet run, or None when the full sync must run (something may be
        new, or the arguments are wrong: the full sync reports that as it always has)."""
        if self.config.adjustments is not None:
            return None
        try:
            first, last = resolve_range(self.config, self.document, self.store, self.today, date_from, date_to)
            chosen = chosen_targets(self.config, self.document, targets)
        except PunchbridgeError:
            return None
        store = self.store
        if store.get_cursor(QUIET_CURSOR) != _quiet_state(self.digest, store):
            return None
        computed = json.loads(store.get_cursor(COMPUTED_CURSOR) or "{}")
        if not computed.get("from") or not computed.get("to"):
            return None
        if first < date.fromisoformat(computed["from"]) or last > date.fromisoformat(computed["to"]):
            return None
        if store.last_punch_id() != int(store.get_cursor(PUNCH_CURSOR) or 0):
            return None
        if not all(self._source_has_nothing_new(name) for name in self.config.sources):
            return None
        for name in chosen:
            if store.get_cursor(DELIVERY_CURSOR.format(target=name)) != "clean":
                return None
            if json.loads(store.get_cursor(OPEN_DAYS_CURSOR.format(target=name)) or "{}").get("watch"):
                return None
        return first, last, chosen

    def _source_has_nothing_new(self, name: str) -> bool:
        settings = self.config.sources[name]
        source_class = self.registry.sources.get(settings.plugin)
        if source_class is None:
            return False  # not loaded: the full sync says why
        if source_class.covered_employees is not Source.covered_employees:
            return False  # it may supply processed days of its own: the full sync asks it
        try:
            validated = validate_plugin_settings(
                source_class.settings_model,
                settings.plugin_settings(),
                self.document,
                ("sources", name),
                self.document.path.parent,
            )
        except PunchbridgeError:
            return False  # the full sync reports it, after the input files it checks first
        return source_class(name, validated).nothing_new_since(self.store.get_cursor(f"source:{name}"))

    def run(self, date_from: date, date_to: date, chosen: list[str]) -> SyncReport:
        """The quiet sync: the run recorded, the hooks fired, each target's delivery opened and closed
        under its lock with nothing new to send (batches a crash left open are sent first)."""
        report = SyncReport(dry_run=False, date_from=date_from, date_to=date_to)
        run_id = self.store.start_run("sync")
        self.registry.hook.run_started(kind="sync", targets=chosen)
        try:
            concurrency = self.config.sync.concurrency if self.store.shared_across_threads else 1
            done = deliver_each(chosen, self._deliver, concurrency=concurrency, should_stop=self.should_stop)
            report.targets.extend(done.reports)
            report.stopped = done.stopped or any(t.stopped for t in done.reports)
            done.raise_error()
            report.adjustments_waiting = len(self.store.adjustments())  # no `adjustments:` target: all wait
        except BaseException as exc:
            finish_failed(self.store, self.registry, "sync", run_id, report.summary(), exc)
            raise
        summary = report.summary()
        self.store.finish_run(run_id, run_status(report), summary)
        self.registry.hook.run_finished(kind="sync", summary=summary)
        return report

    def _deliver(self, name: str) -> TargetReport:
        delivery = Delivery.to(
            name, self.config, self.document, self.registry, self.store,
            should_stop=self.should_stop, lock_wait=self.lock_wait,
        )  # fmt: skip
        chosen: list[bool] = []

        def choose() -> Outgoing:
            chosen.append(True)
            return Outgoing([])

        report = delivery.deliver(choose)
        cursor = DELIVERY_CURSOR.format(target=name)
        if chosen and (report.error is not None or report.stopped):
            # as the full sync does: its delivery did not finish, so the next one looks at every day
            self.store.replace_cursor(cursor, "clean", "dirty")
        return report
