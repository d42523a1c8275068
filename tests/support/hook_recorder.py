"""A plugin that records every lifecycle hook call, loaded through the real entry-point registry.

`install(monkeypatch)` adds it to the `punchbridge` entry-point group (as a third-party plugin
would be), so every `load_plugins()` after it (the command line's, the tests') loads it; it returns
the list the calls are recorded in. The plugin also registers the `picky` target: it holds what it
is sent in memory, refuses the records of the employees in its `refuse` setting, and with
`explode: true` fails with an error no target should raise (to see a run fail).
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from punchbridge.plugin_api.hookspecs import Register, hookimpl
from punchbridge.plugin_api.targets import Batch, Outcome, Target

ENTRY_POINT = "zz_hook_recorder"


@dataclass
class Call:
    """One hook call: the hook's name and its arguments (targets by name, batches by id and keys)."""

    hook: str
    args: dict[str, Any] = field(default_factory=dict)


CALLS: list[Call] = []


class PickySettings(BaseModel):
    """Which employees the picky target refuses; whether it breaks."""

    model_config = ConfigDict(extra="forbid")

    refuse: list[str] = []
    explode: bool = False


class PickyTarget(Target):
    """Accepts every record but those of refused employees; keeps what it accepted in `held`."""

    settings_model = PickySettings
    max_batch_size = 4
    held: ClassVar[dict[str, dict[str, Any]]] = {}

    def push(self, batch: Batch) -> list[Outcome]:
        """One outcome per record."""
        settings: Any = self.settings
        if settings.explode:
            raise RuntimeError("picky target exploded")
        outcomes = []
        for record in batch.records:
            if record.key.split("|")[0] in settings.refuse:
                outcomes.append(Outcome(record.key, ok=False, message="not on this payroll"))
            else:
                PickyTarget.held[record.key] = dict(record.fields)
                outcomes.append(Outcome(record.key, ok=True, remote_id=f"picky:{batch.seq}"))
        return outcomes


@hookimpl
def register_targets(register: Register) -> None:
    register("picky", PickyTarget)


@hookimpl
def run_started(kind: str, targets: Sequence[str]) -> None:
    CALLS.append(Call("run_started", {"kind": kind, "targets": list(targets)}))


@hookimpl
def run_finished(kind: str, summary: Any) -> None:
    CALLS.append(Call("run_finished", {"kind": kind, "summary": dict(summary)}))


@hookimpl
def before_batch(target: Target, batch: Batch) -> None:
    keys = [record.key for record in batch.records]
    CALLS.append(
        Call("before_batch", {"target": target.name, "batch_id": batch.batch_id, "seq": batch.seq, "keys": keys})
    )


@hookimpl
def after_batch(target: Target, batch: Batch, outcomes: Sequence[Outcome]) -> None:
    ok = [outcome.key for outcome in outcomes if outcome.ok]
    CALLS.append(Call("after_batch", {"target": target.name, "batch_id": batch.batch_id, "ok": ok}))


@hookimpl
def on_dead_letter(target: str, record_key: str, message: str) -> None:
    CALLS.append(Call("on_dead_letter", {"target": target, "record_key": record_key, "message": message}))


def install(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Make this module a plugin of the `punchbridge` entry-point group; the (emptied) call list."""
    real = importlib.metadata.entry_points

    def with_recorder(**selection: Any) -> Any:
        found = real(**selection)
        if selection.get("group") != "punchbridge":
            return found
        me = importlib.metadata.EntryPoint(name=ENTRY_POINT, value=__name__, group="punchbridge")
        return [*found, me]

    monkeypatch.setattr(importlib.metadata, "entry_points", with_recorder)
    assert sys.modules[__name__]  # the entry point loads this very module, with its CALLS
    CALLS.clear()
    PickyTarget.held.clear()
    return CALLS


def of(calls: list[Call], hook: str, **matching: Any) -> list[dict[str, Any]]:
    """The arguments of the calls of `hook` whose arguments include `matching`."""
    return [c.args for c in calls if c.hook == hook and all(c.args.get(k) == v for k, v in matching.items())]


def kinds(calls: list[Call]) -> list[tuple[str, str]]:
    """(hook, kind) of every run_started and run_finished call, in order."""
    return [(c.hook, c.args["kind"]) for c in calls if c.hook in ("run_started", "run_finished")]
