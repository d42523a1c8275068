"""The plugin hooks of punchbridge (pluggy). Every hook is documented here; plugins implement them.

A plugin is a module registered in the `punchbridge` entry-point group::

    [project.entry-points.punchbridge]
    my_target = "my_package.my_module"

and decorates its functions with `punchbridge.hookimpl`. Built-in plugins register the same way.

Registration hooks are called once, when plugins load; lifecycle hooks are called during every run
(`RUN_KINDS`) and around every batch a target is sent (docs/hooks.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pluggy

from punchbridge.plugin_api.targets import Batch, Outcome, Target

__all__ = ["PROJECT", "RUN_KINDS", "hookimpl", "hookspec"]

PROJECT = "punchbridge"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: `register(name, cls)`: make a target or source class available under `name` in configuration.
Register = Callable[[str, type], None]
#: `register(name, function)`: make a value converter available to mappings as `transform: name`.
RegisterTransform = Callable[[str, Callable[..., Any]], None]


@hookspec
def register_targets(register: Register) -> None:
    """Register target classes (subclasses of `punchbridge.plugin_api.targets.Target`) by the name configs use.

    Example: ``register("local_csv", LocalCsvTarget)``. A name already taken is reported as a
    conflict and the second registration is ignored.
    """


@hookspec
def register_sources(register: Register) -> None:
    """Register punch source classes (subclasses of `punchbridge.plugin_api.sources.Source`) by name."""


@hookspec
def register_transforms(register: RegisterTransform) -> None:
    """Register value converters that mappings can name in `transform:`.

    A transform takes a pandas Series (one column of mapped records) and returns a Series of the same
    length; it must be pure (no I/O) so a dry run shows exactly what a sync would send.
    """


#: The kinds of run that fire `run_started` and `run_finished` (see those hooks).
RUN_KINDS = ("sync", "retry", "reconcile", "employees", "purge")


@hookspec
def run_started(kind: str, targets: Sequence[str]) -> None:
    """A run of `kind` (one of `RUN_KINDS`) is starting; `targets` are the configured target names it involves.

    - `sync`: `punchbridge sync` and `run: sync` jobs; the targets it delivers to.
    - `retry`: `punchbridge dlq retry`; the targets whose dead letters are sent again.
    - `reconcile`: `punchbridge reconcile` (with or without `--repair`) and `run: reconcile` jobs; the one
      target reconciled (a repair is part of this run, not a sync of its own).
    - `employees`: `punchbridge employees sync` and `run: employees` jobs; the target that is the system
      of record.
    - `purge`: `punchbridge purge` and `run: purge` jobs; no targets.

    Fired once per run as it starts, before anything is sent or removed; dry runs (sync, employees,
    purge) fire it too. A run refused before it starts (an unknown `--target`, a configuration
    problem) fires nothing.
    """


@hookspec
def run_finished(kind: str, summary: Mapping[str, Any]) -> None:
    """A run of `kind` ended: fired exactly once after each `run_started`, also when the run failed.

    `summary` holds plain JSON values (what the run history keeps). For a run that raised, it holds the
    counts so far plus `error` ("ExceptionType: message"), and the exception goes on after the hook.
    Per kind:

    - `sync`: dry_run, from, to (ISO dates), ingested, days_changed, delivered, dead_lettered, stopped,
      days_locked, adjustments_recorded, adjustments_waiting, and `targets`: {name: {delivered,
      rejected, locked, adjustments, batches, stopped, error}}; a target's `error` (credentials,
      fatal, retries exhausted) did not stop the run.
    - `retry`: delivered, dead_lettered (still refused), locked (not sent: locked periods), stopped,
      and `targets` as for `sync`.
    - `reconcile`: target, from, to, repair, expected, held, held_back, the finding counts (matched,
      missing, different, extra, locked, resent, refused, remaining), differing_fields, clean, stopped,
      repair_error, csv and html (the report files, or None).
    - `employees`: dry_run, source, pulled, active, leavers, placed, frozen, the command counts (adds,
      updates, deletes, enrolments, commands, sent, failed, skipped, pending, resumed, abandoned,
      awaiting_resume), stopped, refused, error, problems, problem_count, unmanaged, and `terminals`
      (per terminal id).
    - `purge`: dry_run, horizon, wanted, held_by, removed ({kind of row: count}), total, stopped.
    """


@hookspec
def before_batch(target: Target, batch: Batch) -> None:
    """A batch is about to be sent to `target` (it is already recorded in the store).

    Fired for every batch on every delivery path: a sync's days and adjustments, batches resumed after
    a crash, `punchbridge dlq retry` and `punchbridge reconcile --repair`.
    """


@hookspec
def after_batch(target: Target, batch: Batch, outcomes: Sequence[Outcome]) -> None:
    """`target` replied to `batch` with one outcome per record (already saved in the ledger).

    Fired on the same delivery paths as `before_batch`, once per batch that got a reply.
    """


@hookspec
def on_dead_letter(target: str, record_key: str, message: str) -> None:
    """A record was refused by `target` and moved to the dead letters with the target's message.

    Fired after `after_batch` of its batch, on the same delivery paths as `before_batch`.
    """
