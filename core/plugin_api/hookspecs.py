"""The plugin hooks of punchbridge (pluggy). Every hook is documented here; plugins implement them.

A plugin is a module registered in the `punchbridge` entry-point group::

    [project.entry-points.punchbridge]
    my_target = "my_package.my_module"

and decorates its functions with `punchbridge.hookimpl`. Built-in plugins register the same way.

Registration hooks are called once, when plugins load; lifecycle hooks are called during a sync.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pluggy

from punchbridge.plugin_api.targets import Batch, Outcome, Target

__all__ = ["PROJECT", "hookimpl", "hookspec"]

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


@hookspec
def run_started(kind: str, targets: Sequence[str]) -> None:
    """A run (`sync`, `reconcile`, ...) is starting for these targets."""


@hookspec
def run_finished(kind: str, summary: Mapping[str, Any]) -> None:
    """A run ended; `summary` holds the counts the report shows (sent, unchanged, dead-lettered...)."""


@hookspec
def before_batch(target: Target, batch: Batch) -> None:
    """A batch is about to be sent to `target` (it is already recorded in the store)."""


@hookspec
def after_batch(target: Target, batch: Batch, outcomes: Sequence[Outcome]) -> None:
    """`target` replied to `batch` with one outcome per record (already saved in the ledger)."""


@hookspec
def on_dead_letter(target: str, record_key: str, message: str) -> None:
    """A record was refused by `target` and moved to the dead letters with the target's message."""
