"""One run of the two-site acceptance scenario, with what each step found per target (support.two_sites).

`play(folder)` serves every target's emulator, writes the customer's configuration, and then, as an
operator would: one sync to every target at once; a reconciliation of the two weeks per target; the
same sync again; late punches and a sync. What each step did is kept per target, so each target's
test reads its own results. A target whose plugin breaks (raises what no target should) is noted
against that target and the step carries on for the others.
"""

from __future__ import annotations

import traceback
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from punchbridge.cli.context import zone_problems
from punchbridge.config import Config, read_config
from punchbridge.config.model import TargetSettings
from punchbridge.config.yamlfile import YamlDocument
from punchbridge.errors import Problem
from punchbridge.plugin_api.hookspecs import hookimpl
from punchbridge.plugin_api.registry import PluginRegistry, load_plugins
from punchbridge.reconcile import ReconcileReport, run_reconcile
from punchbridge.store import Store
from punchbridge.sync import SyncEngine, TargetReport
from support.two_sites import AFTER, PERIOD, late_punches, write_punch_file, write_world
from support.two_sites_targets import TARGETS, running_targets


class BatchRecorder:
    """Records the keys of every batch sent, per target (a lifecycle-hook plugin)."""

    def __init__(self) -> None:
        self.keys: dict[str, list[str]] = defaultdict(list)

    @hookimpl
    def after_batch(self, target: Any, batch: Any, outcomes: Any) -> None:
        """Keep the batch's record keys under its target's name."""
        self.keys[target.name].extend(record.key for record in batch.records)


@dataclass
class Played:
    """What the scenario did, per target."""

    folder: Path
    first: dict[str, TargetReport] = field(default_factory=dict)
    reconciled: dict[str, ReconcileReport] = field(default_factory=dict)
    rerun: dict[str, TargetReport] = field(default_factory=dict)
    late: dict[str, TargetReport] = field(default_factory=dict)
    late_keys: dict[str, list[str]] = field(default_factory=dict)
    late_expected: set[str] = field(default_factory=set)
    dead_letters: pd.DataFrame = field(default_factory=pd.DataFrame)
    ledger: dict[str, pd.DataFrame] = field(default_factory=dict)
    broken: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # target -> what broke
    accepted: dict[str, list[Problem]] = field(default_factory=dict)  # zone problems of the settings as given
    misset: dict[str, list[Problem]] = field(default_factory=dict)  # zone problems of a wrong zone setting


def _load(config_path: Path) -> tuple[Config, YamlDocument, PluginRegistry]:
    config, document, _data, problems = read_config(config_path)
    assert config is not None and not problems, problems
    return config, document, load_plugins()


def _sync(
    played: Played, config_path: Path, step: str, recorder: BatchRecorder | None = None
) -> dict[str, TargetReport]:
    """One sync of every target at once; when it raises, each target alone (to see which one breaks)."""
    config, document, registry = _load(config_path)
    if recorder is not None:
        registry.manager.register(recorder)
    reports: dict[str, TargetReport] = {}
    with Store.open(config.store) as store:
        try:
            report = SyncEngine(config, document, registry, store, now=AFTER, today=AFTER.date()).run()
            reports = {t.name: t for t in report.targets}
        except Exception:  # a plugin raised what no target should: find which, keep the others going
            crash, blamed = traceback.format_exc(limit=3), False
            for name in TARGETS:
                try:
                    alone = SyncEngine(config, document, registry, store, now=AFTER, today=AFTER.date()).run([name])
                    reports[name] = alone.targets[0]
                except Exception:
                    played.broken[name].append(f"{step}: {traceback.format_exc(limit=3)}")
                    blamed = True
            if not blamed:
                played.broken["*"].append(f"{step}: {crash}")
    return reports


def _zone_checks(played: Played, config_path: Path) -> None:
    """Zone problems of each target's settings as written, and of each set wrongly for this customer."""
    config, document, registry = _load(config_path)
    for name in TARGETS:
        settings = config.targets[name]
        played.accepted[name] = _problems_of(name, config, document, registry)
        raw = settings.model_dump(mode="json")
        if raw.get("timezone"):  # a system with one zone: without it, days would be sent in no known zone
            raw.pop("timezone")
        else:  # a system that keeps each site's zone: Bangalore's zone for Berlin's days too
            raw["timezone"] = "Asia/Kolkata"
        wrong = TargetSettings.model_validate(raw)
        changed = config.model_copy(update={"targets": {**config.targets, name: wrong}})
        played.misset[name] = _problems_of(name, changed, document, registry)


def _problems_of(name: str, config: Config, document: YamlDocument, registry: PluginRegistry) -> list[Problem]:
    return [p for p in zone_problems(config, document, registry) if (p.field or "").startswith(f"targets.{name}.")]


def play(folder: Path) -> Played:
    """Run the scenario (see the module docstring) in `folder`."""
    played = Played(folder)
    with running_targets(folder) as run:
        config_path = write_world(folder, run.sections, run.mappings)
        _zone_checks(played, config_path)
        played.first = _sync(played, config_path, "first sync")
        config, document, registry = _load(config_path)
        with Store.open(config.store) as store:
            for name in TARGETS:
                try:
                    played.reconciled[name] = run_reconcile(
                        config, document, registry, store, target=name, period=PERIOD,
                        out_dir=folder / "reports", today=AFTER.date(), now=AFTER,
                    )  # fmt: skip
                except Exception:
                    played.broken[name].append(f"reconcile: {traceback.format_exc(limit=3)}")
            played.dead_letters = store.dead_letters()
            played.ledger = {name: store.ledger(name) for name in TARGETS}
        played.rerun = _sync(played, config_path, "rerun")
        rows, played.late_expected = late_punches()
        write_punch_file(folder / "inbox" / "late.csv", rows)
        recorder = BatchRecorder()
        played.late = _sync(played, config_path, "late punches", recorder)
        played.late_keys = dict(recorder.keys)
    return played


def letters_of(played: Played, target: str) -> dict[tuple[str, date], str]:
    """The target's dead letters: (employee id, work date) -> message."""
    letters = played.dead_letters[played.dead_letters["target"] == target] if len(played.dead_letters) else None
    if letters is None or len(letters) == 0:
        return {}
    found = {}
    for key, message in zip(letters["record_key"], letters["message"], strict=True):
        employee, day, _kind = str(key).rsplit("|", 2)
        found[(employee, date.fromisoformat(day))] = str(message or "")
    return found


def shown(findings: Sequence[Any], limit: int = 8) -> str:
    """A few findings, for an assertion's message."""
    lines = [
        f"{f.status} {f.employee_id or f.target_employee} {f.work_date} {','.join(f.differing)} "
        f"expected={dict(f.expected or {})} held={dict(f.held or {})}"
        for f in findings[:limit]
    ]
    more = f"\n... and {len(findings) - limit} more" if len(findings) > limit else ""
    return "\n".join(lines) + more
