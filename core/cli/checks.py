"""`punchbridge validate`, `config schema` and `mappings check`: see problems before anything is written."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from punchbridge.cli.context import CommandContext, config_option, err_console, load_context
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.errors import ExitCode, InputFileError, Problem, PunchbridgeError, UserInputError

__all__ = ["check_inbox", "config_group", "mappings", "validate"]


@exit_codes(
    {
        ExitCode.BAD_INPUT: "the configuration, a mapping, a data file or an inbox file the next sync would read "
        "is wrong (each problem named)",
        ExitCode.FAILED: "with --online: a live check failed (a login, a permission, a required setting)",
    }
)
@click.command()
@config_option()
@click.option(
    "--online",
    is_flag=True,
    help="Then log in to every target (and source that can) and check, read-only, what it needs; writes nothing.",
)
def validate(config_path: Path, online: bool) -> None:
    """Check a configuration file, the plugins it names, its mappings and data files, and the punch files
    the next sync would read from `csv_folder` sources; write nothing."""
    context = load_context(config_path, check_files=True)
    config = context.config
    checked = check_inbox(context)
    click.echo(
        f"{config_path}: OK ({len(config.sources)} source(s), {len(config.targets)} target(s), "
        f"{len(config.sites)} site(s), {len(config.shifts)} shift(s), {len(config.jobs)} job(s); "
        f"{checked} inbox file(s) checked)"
    )
    if online and not _online_checks(context):
        exit_with(ExitCode.FAILED)


def _online_checks(context: CommandContext) -> bool:
    """Run `check_online` of every target (and of each source that has one), print each result; False
    when one failed."""
    from punchbridge.plugin_api.targets import OnlineCheck

    config, registry = context.config, context.registry
    plugins: list[tuple[str, Any]] = []
    for name, target in config.targets.items():
        plugins.append((f"targets.{name}", registry.configured_target(name, target, context.document)))
    for name, source in config.sources.items():
        source_class = registry.source_class(source.plugin)
        if callable(getattr(source_class, "check_online", None)):
            plugins.append((f"sources.{name}", source_class(name, source.plugin_settings())))
    import httpx

    passed = True
    for label, plugin in plugins:
        try:
            checks: list[OnlineCheck] = list(plugin.check_online())
        except (PunchbridgeError, httpx.HTTPError, OSError) as exc:
            # A check that cannot even run (the server unreachable, a reply it cannot read) is a failure.
            checks = [OnlineCheck("check", False, f"{type(exc).__name__}: {exc}")]
        for check in checks:
            word = "FAILED" if not check.ok else ("warning" if check.warning else "ok")
            click.echo(f"{label}: {check.what}: {word}" + (f": {check.message}" if check.message else ""))
            passed = passed and check.ok
    return passed


def check_inbox(context: CommandContext) -> int:
    """Read the punch files the next sync would read from each `csv_folder` source (the files new or
    changed since the source's cursor in the store; all of them when there is no store yet) with the
    sync's own checks; raise InputFileError listing what it would refuse in all of them (garbage
    lines, an empty file, text that is not UTF-8...). Returns how many files were read."""
    from punchbridge.config.datafiles import read_employees
    from punchbridge.config.punchfile import read_punches
    from punchbridge.plugin_api.registry import validate_plugin_settings

    config, document = context.config, context.document
    employees = read_employees(config.employees, config.rules)  # readable: load_context checked it
    date_to = config.sync.to or date.today() - timedelta(days=1)
    date_from = config.sync.from_ or date_to
    problems: list[Problem] = []
    checked = 0
    for name, settings in config.sources.items():
        if settings.plugin != "csv_folder":
            continue
        source = validate_plugin_settings(
            context.registry.source_class(settings.plugin).settings_model,
            settings.plugin_settings(),
            document,
            ("sources", name),
            document.path.parent,
        )
        # The csv_folder source's cursor: file name -> [size, mtime_ns] of each file it read.
        cursor = _peek_cursor(config.store, f"source:{name}")
        try:
            read = json.loads(cursor) if cursor else {}
        except ValueError:
            read = {}
        for path in sorted(source.folder.glob(source.pattern)):
            status = path.stat()
            if isinstance(read, dict) and read.get(path.name) == [status.st_size, status.st_mtime_ns]:
                continue  # read by an earlier sync, unchanged since: the next one skips it
            checked += 1
            try:
                read_punches(path, employees, config.rules, date_from, date_to)
            except UserInputError as exc:
                problems.extend(exc.problems)
    InputFileError.collect(problems)
    return checked


def _peek_cursor(store_url: str, name: str) -> str | None:
    """The store's cursor `name`, None when the store has none; a SQLite store not created yet is not
    opened (the store, and SQLAlchemy with it, would cost more than the check)."""
    from punchbridge.config.paths import sqlite_store_file

    path = sqlite_store_file(store_url)
    if path is not None and not path.exists():
        return None
    from punchbridge.store import Store

    return Store.peek_cursor(store_url, name)


@click.group("config")
def config_group() -> None:
    """Work with the configuration file format."""


@exit_codes()
@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the configuration file (for editor completion and checks)."""
    from punchbridge.config import Config

    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "punchbridge configuration"
    click.echo(json.dumps(schema, indent=2, sort_keys=True))


@click.group()
def mappings() -> None:
    """Check mappings against the data before a sync writes anything."""


@exit_codes()
@mappings.command("check")
@config_option()
@click.option("--target", "targets", multiple=True, help="Only this target (repeatable).")
def mappings_check(config_path: Path, targets: tuple[str, ...]) -> None:
    """List unmapped ids, unused lookup rows and rules, and unmapped values, per target."""
    from punchbridge.mapping import check_mapping, format_report
    from punchbridge.sync import SyncEngine, SyncInputs

    context = load_context(config_path)
    inputs = SyncInputs.load(context.config, context.registry)
    with context.open_store(dry_run=True) as store:
        engine = SyncEngine(context.config, context.document, context.registry, store, dry_run=True, inputs=inputs)
        first, last = engine.resolve_range(None, None)
        days = store.load_days(first, last)
        if not len(days):
            err_console().print(
                "no processed days in the store yet: checking against the days the sources would give now"
            )
            days = engine.preview_days(first, last)
    employees = inputs.employees
    for name, target in context.config.targets.items():
        if targets and name not in targets:
            continue
        click.echo(f"== {name} ({target.mapping})")
        click.echo(format_report(check_mapping(inputs.mappings[name], days, employees)))
