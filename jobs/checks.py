"""Checks of the `jobs:` section that need the rest of the configuration or the plugins.

`JobSettings` checks each job on its own (cron, time zone, which keys fit which `run:`);
`punchbridge.config.Config` checks that a job's target is configured. `check_jobs` adds what needs
more: a reconcile job's target must be able to read back what it holds, an employees job needs an
`employee_sync:` section. Problems carry the configuration file, line and field path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from punchbridge.errors import Problem
from punchbridge.plugin_api.targets import Capability

if TYPE_CHECKING:
    from punchbridge.config import Config
    from punchbridge.config.yamlfile import YamlDocument
    from punchbridge.plugin_api.registry import PluginRegistry

__all__ = ["check_jobs"]


def check_jobs(config: Config, document: YamlDocument, registry: PluginRegistry | None = None) -> list[Problem]:
    """What is wrong with the jobs beyond their own fields (empty: nothing). Without `registry` the
    targets' capabilities are not checked."""
    problems: list[Problem] = []

    def problem(name: str, key: str, message: str) -> None:
        line = document.line_of(("jobs", name, key))
        problems.append(Problem(str(document.path), f"job {name!r}: {message}", line=line, field=f"jobs.{name}.{key}"))

    for name, job in config.jobs.items():
        if job.run == "employees" and getattr(config, "employee_sync", None) is None:
            problem(name, "run", "an employees job needs an employee_sync: section (what to pull, from where)")
        if job.run != "reconcile" or job.target is None or registry is None:
            continue
        target = config.targets.get(job.target)
        plugin = None if target is None else registry.targets.get(target.plugin)
        if plugin is not None and Capability.READ_BACK not in plugin.capabilities:
            problem(
                name,
                "target",
                f"target {job.target!r} ({target.plugin if target else '?'}) cannot read back what it holds, "
                "so it cannot be reconciled; choose a target whose plugin has the read_back capability",
            )
    return problems
