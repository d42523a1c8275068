"""What every command shares: the `-c/--config` option, dates, consoles, the loaded configuration,
and stopping cleanly on a signal.

    @click.command()
    @config_option()
    def sync(config_path: Path) -> None:
        context = load_context(config_path)           # every problem reported at once, exit 2
        with context.open_store() as store, stop_on_signals() as stop:
            ...                                       # pass stop.is_set on as `should_stop`

`load_context` reads the configuration, loads the plugins it names and checks each plugin's settings
and what one section says about another (jobs, adjustments, employee sync), so a command never
starts work on a configuration that `punchbridge validate` would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from punchbridge.errors import ConfigError, Problem, UserInputError

if TYPE_CHECKING:
    import threading

    from rich.console import Console

    from punchbridge.config.model import Config
    from punchbridge.config.yamlfile import YamlDocument
    from punchbridge.plugin_api.registry import PluginRegistry
    from punchbridge.store import Store

__all__ = [
    "CommandContext",
    "config_option",
    "err_console",
    "load_context",
    "out_console",
    "parse_date",
    "stop_on_signals",
    "wait_option",
    "zone_problems",
]

F = TypeVar("F", bound=Callable[..., Any])


def config_option(help: str = "The configuration file (YAML).") -> Callable[[F], F]:
    """The `-c/--config FILE` option every command that reads a configuration takes."""
    return click.option(
        "-c", "--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help=help
    )


def wait_option(then: str) -> Callable[[F], F]:
    """`--wait SECONDS` (default 0): how long a command that delivers waits for a target's delivery lock
    held by another process; `then` says what happens when the wait is over."""
    return click.option(
        "--wait",
        "wait_seconds",
        type=click.FloatRange(min=0),
        default=0,
        metavar="SECONDS",
        help=f"While another process delivers to the target, wait up to SECONDS for it to finish; {then}. "
        "0: do not wait.",
    )


def parse_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """A click callback: `YYYY-MM-DD` as a date, or a usage error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)", param=param) from None


def out_console() -> Console:
    """A console on stdout as wide as the terminal, and 160 columns when writing to a file or pipe."""
    from rich.console import Console

    out = Console(highlight=False)
    return out if out.is_terminal else Console(highlight=False, width=160)


def err_console() -> Console:
    """A console on stderr (progress bars and notes that are not the command's result)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class CommandContext:
    """A checked configuration, its YAML document (for file and line in messages) and the plugins loaded."""

    config: Config
    document: YamlDocument
    registry: PluginRegistry

    def open_store(self, *, dry_run: bool = False, migrating: Callable[[int, int], None] | None = None) -> Store:
        """The configured store, to use in a `with` block (it is closed at the end).

        A dry run against a SQLite file that does not exist yet gets an empty in-memory store, so
        that it creates nothing. `migrating(done, total)` is told the schema revisions applied, if any.
        """
        from punchbridge.store import Store

        missing = self.missing_store_file()
        if dry_run and missing is not None:
            return Store.open("sqlite://")
        return Store.open(self.config.store, migrating=migrating)

    def missing_store_file(self) -> Path | None:
        """The SQLite file of the store when it does not exist yet (opening the store creates it), else None."""
        from sqlalchemy.engine import make_url

        url = make_url(self.config.store)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        path = Path(url.database)
        return None if path.exists() else path


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first SIGTERM or Ctrl-C: the work in flight finishes and the command exits 5
    (`ExitCode.STOPPED`); a second signal stops at once. Pass `event.is_set` on as `should_stop`."""
    import threading

    from punchbridge.jobs.signals import stop_on_signals as on_signals

    stop = threading.Event()
    with on_signals(stop.set):
        yield stop


def load_context(config_path: Path, *, check_files: bool = False) -> CommandContext:
    """Read and check the configuration at `config_path`; every problem is reported at once (exit 2).

    `check_files` also reads the data files and mappings it names (as `punchbridge validate` does).
    """
    from punchbridge.config.model import TARGET_KEYS, PluginSettings, read_config
    from punchbridge.plugin_api.registry import entry_points_for, load_plugins, validate_plugin_settings

    config, doc, data, problems = read_config(config_path)
    named = _named_plugins(data)
    registry = load_plugins(entry_points_for(named.values()))
    if any(plugin not in registry.sources and plugin not in registry.targets for plugin in named.values()):
        registry = load_plugins()  # a name no entry point has: the problem lists every plugin there is
    for kind, lookup in (("sources", registry.sources), ("targets", registry.targets)):
        section = data.get(kind)
        entries: dict[str, Any] = section if isinstance(section, dict) else {}
        for name, raw in entries.items():
            if not isinstance(raw, dict) or not isinstance(raw.get("plugin"), str):
                continue  # reported by the model validation
            settings = PluginSettings.model_validate({k: v for k, v in raw.items() if k not in TARGET_KEYS})
            loc = (kind, name)
            if settings.plugin not in lookup:
                broken = [p for p in registry.plugins if p.name == settings.plugin and p.error]
                why = f" (it failed to load: {broken[0].error})" if broken else ""
                problems.append(
                    Problem(
                        str(doc.path),
                        f"unknown plugin {settings.plugin!r}{why}; available: {', '.join(sorted(lookup)) or 'none'}",
                        line=doc.line_of((*loc, "plugin")),
                        field=f"{kind}.{name}.plugin",
                    )
                )
                continue
            try:
                validate_plugin_settings(
                    lookup[settings.plugin].settings_model, settings.plugin_settings(), doc, loc, doc.path.parent
                )
            except UserInputError as exc:
                problems.extend(exc.problems)
    unusable: set[Path] = set()
    if config is not None:
        path_problems = _path_problems(config, doc)
        problems.extend(problem for _path, problem in path_problems)
        unusable = {path for path, _problem in path_problems}
        problems.extend(_cross_section_problems(config, doc, registry))
    if check_files and config is not None:
        problems.extend(_check_files(config, registry, unusable))
    ConfigError.collect(problems)
    assert config is not None  # collect() raised otherwise
    return CommandContext(config=config, document=doc, registry=registry)


def _path_problems(config: Config, doc: YamlDocument) -> list[tuple[Path, Problem]]:
    """The data files and mappings the configuration names that are missing, folders, unreadable or empty.

    Every command checks these (not only those that read the files), so a configuration that names a
    file that is not there is refused at once, whatever the command, with the line that names it.
    """
    from punchbridge.config.paths import PathRole, path_problem

    data_file = PathRole("file", text=True)
    named: list[tuple[tuple[str, ...], Path | None]] = [
        (("employees",), config.employees),
        (("assignments",), config.assignments),
        (("leaves",), config.leaves),
    ]
    named += [(("targets", name, "mapping"), target.mapping) for name, target in config.targets.items()]
    problems = []
    for loc, path in named:
        why = None if path is None else path_problem(path, data_file)
        if path is not None and why is not None:
            problems.append((path, Problem(str(doc.path), why, line=doc.line_of(loc), field=".".join(loc))))
    return problems


def _named_plugins(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    """`plugin:` of each source and target the configuration's raw data names, by (section, name)."""
    named = {}
    for kind in ("sources", "targets"):
        section = data.get(kind)
        for name, raw in (section if isinstance(section, dict) else {}).items():
            if isinstance(raw, dict) and isinstance(raw.get("plugin"), str):
                named[(kind, name)] = raw["plugin"]
    return named


def _cross_section_problems(config: Config, doc: YamlDocument, registry: PluginRegistry) -> list[Problem]:
    """What one section says about another: jobs, the adjustments target, the employee sync."""
    from punchbridge.cutoff.settings import adjustment_problems
    from punchbridge.jobs.checks import check_jobs

    problems = list(check_jobs(config, doc, registry))
    problems.extend(adjustment_problems(config, str(doc.path), doc.line_of(("adjustments", "target"))))
    problems.extend(zone_problems(config, doc, registry))
    if config.employee_sync is not None:
        from punchbridge.employees import check_employee_sync

        problems.extend(check_employee_sync(config, doc, registry))
    return problems


def zone_problems(config: Config, doc: YamlDocument, registry: PluginRegistry) -> list[Problem]:
    """Target settings that would send a day in the wrong time zone, found before anything is sent.

    A target whose system keeps each record in its own site's zone (`ZoneModel.SITE`) converts every
    day with its site's zone; a `timezone` setting overrides that for every day, so one that differs
    from the zone of a site whose days the target receives is refused (remove it). A target whose
    system has one zone for the whole organisation (`ZoneModel.ORGANISATION`) needs `timezone`: the
    zone every day is converted to.
    """
    from punchbridge.plugin_api.targets import ZoneModel, validated_settings

    problems = []
    receiving: list[str] | None = None  # read from the employees file only when a `timezone` needs it
    for name, target in config.targets.items():
        target_class = registry.targets.get(target.plugin)
        if target_class is None:
            continue  # reported where the plugin names are checked
        override = target.plugin_settings().get("timezone")
        where = {"line": doc.line_of(("targets", name, "timezone")), "field": f"targets.{name}.timezone"}
        try:
            model = target_class.zone_model_for(
                validated_settings(target_class.settings_model, target.plugin_settings())
            )
        except ValueError:
            # The settings' own problems are reported where they are checked, with their lines; the
            # class's zone model still says whether a missing `timezone` leaves days in no known zone.
            model = target_class.zone_model
        if model is ZoneModel.ORGANISATION and not override:
            problems.append(
                Problem(
                    str(doc.path),
                    f"target {name!r} ({target.plugin}) keeps times in one zone for the whole organisation: set "
                    "`timezone` to that zone (the system's own time-zone setting), so every site's days are "
                    "converted to it",
                    line=doc.line_of(("targets", name)),
                    field=where["field"],
                )
            )
        elif model is ZoneModel.SITE and isinstance(override, str) and override:
            if receiving is None:
                receiving = _sites_with_employees(config)
            for site in receiving:
                zone = config.sites[site].timezone
                if zone != override:
                    problems.append(
                        Problem(
                            str(doc.path),
                            f"target {name!r} ({target.plugin}): timezone {override} would send the days of site "
                            f"{site!r} in the wrong zone (the site is in {zone}); remove `timezone`: each day is "
                            "then sent in its own site's zone",
                            **where,
                        )
                    )
    return problems


def _sites_with_employees(config: Config) -> list[str]:
    """The sites whose days targets receive: those of the employees file, else (unreadable) every site."""
    from punchbridge.config.datafiles import read_employees

    try:
        employees = read_employees(config.employees, config.rules)
    except (UserInputError, OSError):
        return sorted(config.sites)  # the file's own problems are reported where it is checked
    return sorted(set(employees["site"].astype(str)) & set(config.sites))


def _check_files(config: Config, registry: PluginRegistry, unusable: set[Path]) -> list[Problem]:
    """What the data files and mappings the configuration names would make a sync refuse (those in
    `unusable`, already reported as missing or unreadable, are not read again)."""
    from punchbridge.config.datafiles import read_assignments, read_employees, read_leaves
    from punchbridge.mapping.files import load_mapping
    from punchbridge.plugin_api.registry import target_column_problems

    problems: list[Problem] = []
    employees = None
    try:
        if config.employees not in unusable:
            employees = read_employees(config.employees, config.rules)
    except UserInputError as exc:
        problems.extend(exc.problems)
    try:
        if config.assignments and config.assignments not in unusable:
            read_assignments(config.assignments, employees, config.rules)
        if config.leaves and config.leaves not in unusable:
            read_leaves(config.leaves, employees)
    except UserInputError as exc:
        problems.extend(exc.problems)
    mappings = {}
    for name, target in config.targets.items():
        if target.mapping in unusable:
            continue
        try:
            mappings[name] = load_mapping(target.mapping, registry.transforms)
        except UserInputError as exc:
            problems.extend(exc.problems)
    problems.extend(target_column_problems(config, registry, mappings))
    return problems
