"""Loading plugins from the `punchbridge` entry-point group, and what they register.

Built-in plugins (local CSV drop, SFTP CSV, the CSV folder source) are registered through the same
entry points as third-party ones. A plugin that fails to import, or whose registration fails, is
reported and skipped; it never stops the others. `PUNCHBRIDGE_PLUGINS=a,b` loads only those.

A command loads only the plugins its configuration names (`entry_points_for`): importing every target's
client libraries would cost more than the command itself. The built-in plugins register one target or
source each, under their entry point's name, and no transforms or hooks, so they can be left out when
unnamed; a plugin of another distribution may register transforms or lifecycle hooks that no
configuration names, so those always load.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pluggy
from pydantic import BaseModel, ValidationError

from punchbridge.config.paths import path_problem, path_roles, resolve_path
from punchbridge.errors import ConfigError, Problem
from punchbridge.plugin_api import hookspecs
from punchbridge.plugin_api.sources import Source
from punchbridge.plugin_api.targets import Target

if TYPE_CHECKING:
    from punchbridge.config.model import Config
    from punchbridge.config.yamlfile import YamlDocument

__all__ = [
    "LoadedPlugin",
    "PluginRegistry",
    "Register",
    "RegisterTransform",
    "entry_points_for",
    "load_plugins",
    "target_column_problems",
    "validate_plugin_settings",
]

ENTRY_POINT_GROUP = "punchbridge"
#: The distribution whose entry points are the built-in plugins.
BUILT_IN = "punchbridge"


class Register(Protocol):
    """What `register_targets` and `register_sources` receive: `register(name, cls)` makes a target or source
    class available under `name` in configuration (`plugin: name`)."""

    def __call__(self, name: str, value: type, /) -> None: ...


class RegisterTransform(Protocol):
    """What `register_transforms` receives: `register(name, function)` makes a value converter available to
    mappings as `transform: name`."""

    def __call__(self, name: str, function: Callable[..., Any], /) -> None: ...


@dataclass
class LoadedPlugin:
    """One entry point: where it came from, and whether it loaded."""

    name: str
    module: str
    distribution: str
    version: str
    error: str | None = None


@dataclass
class PluginRegistry:
    """Everything the loaded plugins registered, and the hook relay for lifecycle hooks."""

    manager: pluggy.PluginManager
    plugins: list[LoadedPlugin] = field(default_factory=list)
    targets: dict[str, type[Target]] = field(default_factory=dict)
    sources: dict[str, type[Source]] = field(default_factory=dict)
    transforms: dict[str, Callable[..., Any]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)

    @property
    def hook(self) -> Any:
        """The pluggy hook relay (`registry.hook.before_batch(target=..., batch=...)`)."""
        return self.manager.hook

    def target_class(self, plugin: str) -> type[Target]:
        """The target class registered as `plugin` (KeyError with the known names otherwise)."""
        if plugin not in self.targets:
            raise KeyError(f"no target plugin {plugin!r}; loaded: {', '.join(sorted(self.targets)) or 'none'}")
        return self.targets[plugin]

    def configured_target(self, name: str, settings: Any, document: YamlDocument) -> Target:
        """The target `name` of a configuration (`settings`: its `targets.NAME` entry), built with its
        plugin's validated settings; problems name the configuration file, line and field."""
        target_class = self.target_class(settings.plugin)
        validated = validate_plugin_settings(
            target_class.settings_model,
            settings.plugin_settings(),
            document,
            ("targets", name),
            document.path.parent,
        )
        return target_class(name, validated)

    def source_class(self, plugin: str) -> type[Source]:
        """The source class registered as `plugin` (KeyError with the known names otherwise)."""
        if plugin not in self.sources:
            raise KeyError(f"no source plugin {plugin!r}; loaded: {', '.join(sorted(self.sources)) or 'none'}")
        return self.sources[plugin]


def _restricted_by_environment() -> set[str] | None:
    """The entry points $PUNCHBRIDGE_PLUGINS allows (None: every one)."""
    if not os.environ.get("PUNCHBRIDGE_PLUGINS"):
        return None
    return {name.strip() for name in os.environ["PUNCHBRIDGE_PLUGINS"].split(",") if name.strip()}


def entry_points_for(plugins: Iterable[str]) -> set[str]:
    """The entry points to load for a configuration naming `plugins` (`plugin:` of its sources and
    targets), for `load_plugins(only)`: the built-in ones named, and every other distribution's.

    A name no built-in entry point has may be registered by another distribution's plugin, which loads
    anyway. $PUNCHBRIDGE_PLUGINS still restricts the result.
    """
    named = set(plugins)
    wanted = {
        entry.name
        for entry, distribution, _version in _described(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
        if entry.name in named or distribution != BUILT_IN
    }
    allowed = _restricted_by_environment()
    return wanted if allowed is None else wanted & allowed


def _described(
    entries: Iterable[importlib.metadata.EntryPoint],
) -> list[tuple[importlib.metadata.EntryPoint, str, str]]:
    """Each entry point with its distribution's name and version ('?' without one). Each `dist.name` or
    `dist.version` parses the distribution's metadata file: here it is parsed once per distribution."""
    described: dict[int, tuple[str, str]] = {}
    rows = []
    for entry in entries:
        dist = entry.dist
        if dist is None:
            rows.append((entry, "?", "?"))
            continue
        if id(dist) not in described:
            metadata = dist.metadata
            described[id(dist)] = (metadata["Name"], metadata["Version"])
        rows.append((entry, *described[id(dist)]))
    return rows


def load_plugins(only: set[str] | None = None) -> PluginRegistry:
    """Load every plugin of the entry-point group (or only the names in `only` / $PUNCHBRIDGE_PLUGINS)."""
    if only is None:
        only = _restricted_by_environment()
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    registry = PluginRegistry(manager=manager)
    entries = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    for entry, distribution, version in _described(entries):
        if only is not None and entry.name not in only:
            continue
        loaded = LoadedPlugin(entry.name, entry.value, distribution, version)
        registry.plugins.append(loaded)
        try:
            manager.register(entry.load(), name=entry.name)
        except Exception as exc:  # a broken plugin is reported and skipped, whatever it raised
            loaded.error = f"{type(exc).__name__}: {exc}"
    _collect(registry)
    return registry


def _collect(registry: PluginRegistry) -> None:
    def adder(kind: str, table: dict[str, Any], base: type | None) -> Callable[[str, Any], None]:
        def register(name: str, value: Any) -> None:
            if base is not None and not (isinstance(value, type) and issubclass(value, base)):
                registry.conflicts.append(f"{kind} {name!r} is not a subclass of {base.__name__}; ignored")
            elif name in table and table[name] is not value:
                registry.conflicts.append(f"{kind} {name!r} registered twice; the first one is kept")
            else:
                table[name] = value

        return register

    for hook_name, register in (
        ("register_targets", adder("target", registry.targets, Target)),
        ("register_sources", adder("source", registry.sources, Source)),
        ("register_transforms", adder("transform", registry.transforms, None)),
    ):
        hook = getattr(registry.manager.hook, hook_name)
        for implementation in hook.get_hookimpls():
            try:
                implementation.function(register)
            except Exception as exc:  # one plugin's failing registration must not stop the rest
                for loaded in registry.plugins:
                    if loaded.name == implementation.plugin_name:
                        loaded.error = f"{hook_name} failed: {type(exc).__name__}: {exc}"


def validate_plugin_settings(
    model: type[BaseModel] | None, settings: dict[str, Any], doc: YamlDocument, loc: tuple[str, ...], base: Path
) -> Any:
    """Validate a plugin's settings with its model; problems name the config file, line and field."""
    from punchbridge.config.yamlfile import problems_from_validation

    if model is None:
        if settings:
            raise ConfigError(
                Problem(
                    str(doc.path),
                    f"this plugin takes no settings (got {', '.join(settings)})",
                    line=doc.line_of(loc),
                    field=".".join(loc),
                )
            )
        return settings
    try:
        validated = model.model_validate(settings)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, doc, prefix=loc)) from None
    updates = {name: resolve_path(value, base) for name, value in validated if isinstance(value, Path)}
    validated = validated.model_copy(update=updates) if updates else validated
    problems = []
    for name, role in path_roles(model).items():
        value = getattr(validated, name, None)
        why = path_problem(value, role) if isinstance(value, Path) else None
        if why is not None:
            problems.append(Problem(str(doc.path), why, line=doc.line_of((*loc, name)), field=".".join((*loc, name))))
    ConfigError.collect(problems)
    return validated


def target_column_problems(config: Config, registry: PluginRegistry, mappings: dict[str, Any]) -> list[Problem]:
    """What each target's `check_columns` says about its mapping's output columns (before anything is sent).

    `mappings` are the loaded mappings by target name; targets whose plugin or settings are wrong are
    left out (those problems are reported, with their lines, where the settings are checked)."""
    problems = []
    for name, mapping in mappings.items():
        settings = config.targets[name]
        target_class = registry.targets.get(settings.plugin)
        if target_class is None:
            continue
        raw = settings.plugin_settings()
        model = target_class.settings_model
        try:
            plugin_settings: Any = model.model_validate(raw) if model is not None else raw
        except ValueError:
            continue
        columns = [f.name for f in mapping.fields]
        for text in target_class.check_columns(columns, plugin_settings):
            problems.append(
                Problem(str(settings.mapping), f"target {name!r} ({settings.plugin}): {text}", field="fields")
            )
    return problems
