"""Operator commands: `sync`, `validate`, `config schema`, `plugins`, `mappings check`, `dlq`."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from .cli import _date, main
from .config import PluginSettings
from .errors import ConfigError, Problem, UserInputError

__all__: list[str] = []

_config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The configuration file (YAML).",
)
_err = Console(stderr=True, highlight=False)
EXIT_DEAD_LETTERS = 3


def _load(config_path: Path, *, check_files: bool = False) -> tuple[Any, Any, Any]:
    """Configuration, its document and the plugin registry; every problem reported at once."""
    from .config import read_config
    from .registry import load_plugins, validate_plugin_settings

    config, doc, data, problems = read_config(config_path)
    registry = load_plugins()
    for kind, lookup in (("sources", registry.sources), ("targets", registry.targets)):
        section = data.get(kind)
        entries: dict[str, Any] = section if isinstance(section, dict) else {}
        for name, raw in entries.items():
            if not isinstance(raw, dict) or not isinstance(raw.get("plugin"), str):
                continue  # reported by the model validation
            settings = PluginSettings.model_validate(
                {k: v for k, v in raw.items() if k not in ("mapping", "enabled", "batch_size")}
            )
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
    if config is not None:
        problems.extend(_cross_section_problems(config, doc, registry))
    if check_files and config is not None:
        problems.extend(_check_files(config, registry))
    ConfigError.collect(problems)
    return config, doc, registry


def _cross_section_problems(config: Any, doc: Any, registry: Any) -> list[Problem]:
    """What one section says about another: jobs, the adjustments target, the employee sync."""
    from punchbridge.jobs.checks import check_jobs

    from .adjustments import adjustment_problems

    problems = list(check_jobs(config, doc, registry))
    problems.extend(adjustment_problems(config, str(doc.path), doc.line_of(("adjustments", "target"))))
    if config.employee_sync is not None:
        from .employees import check_employee_sync

        problems.extend(check_employee_sync(config, doc, registry))
    return problems


def _check_files(config: Any, registry: Any) -> list[Problem]:
    from .datafiles import read_assignments, read_employees, read_leaves
    from .mapping_files import load_mapping

    problems: list[Problem] = []
    employees = None
    try:
        employees = read_employees(config.employees, config.rules)
    except UserInputError as exc:
        problems.extend(exc.problems)
    try:
        if config.assignments:
            read_assignments(config.assignments, employees, config.rules)
        if config.leaves:
            read_leaves(config.leaves, employees)
    except UserInputError as exc:
        problems.extend(exc.problems)
    from .sync import target_column_problems

    mappings = {}
    for name, target in config.targets.items():
        try:
            mappings[name] = load_mapping(target.mapping, registry.transforms)
        except UserInputError as exc:
            problems.extend(exc.problems)
    problems.extend(target_column_problems(config, registry, mappings))
    return problems


def _open_store(config: Any, *, dry_run: bool = False) -> Any:
    """The configured store; a dry run against a SQLite file that does not exist yet uses an empty
    in-memory store, so that it creates nothing."""
    from sqlalchemy.engine import make_url

    from .store import Store

    url = make_url(config.store)
    if dry_run and url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return Store.open("sqlite://")
    return Store.open(config.store)


@main.group("plugin")
def plugin_group() -> None:
    """Write your own plugin."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="Folder to create the package in.",
)  # fmt: skip
def plugin_new(name: str, parent: Path) -> None:
    """Write a target plugin package NAME whose tests already run the conformance kit."""
    from .plugin_template import write_plugin

    written = write_plugin(name, parent)
    root = parent / name
    click.echo(f"wrote {len(written)} files to {root}:")
    for path in written:
        click.echo(f"  {path.relative_to(root)}")
    click.echo(f'next: cd {root} && pip install -e ".[test]" && pytest')


@main.command()
@_config_option
def validate(config_path: Path) -> None:
    """Check a configuration file, the plugins it names, its mappings and data files; write nothing."""
    config, _doc, _registry = _load(config_path, check_files=True)
    click.echo(
        f"{config_path}: OK ({len(config.sources)} source(s), {len(config.targets)} target(s), "
        f"{len(config.sites)} site(s), {len(config.shifts)} shift(s), {len(config.jobs)} job(s))"
    )


@main.group("config")
def config_group() -> None:
    """Work with the configuration file format."""


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the configuration file (for editor completion and checks)."""
    from .config import Config

    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "punchbridge configuration"
    click.echo(json.dumps(schema, indent=2, sort_keys=True))


@main.command("plugins")
def plugins_command() -> None:
    """List the plugins found, their versions, what they registered, and any that failed to load."""
    from .registry import load_plugins

    registry = load_plugins()
    table = Table(title="punchbridge plugins")
    for column in ("entry point", "module", "distribution", "version", "status"):
        table.add_column(column)
    for plugin in registry.plugins:
        table.add_row(plugin.name, plugin.module, plugin.distribution, plugin.version, plugin.error or "loaded")
    console = _console()
    console.print(table)
    console.print(f"targets: {', '.join(sorted(registry.targets)) or 'none'}")
    console.print(f"sources: {', '.join(sorted(registry.sources)) or 'none'}")
    console.print(f"transforms: {', '.join(sorted(registry.transforms)) or 'none'}")
    for conflict in registry.conflicts:
        console.print(f"[yellow]conflict:[/] {conflict}")


@main.command()
@_config_option
@click.option(
    "--target", "targets", multiple=True, help="Only this target (repeatable). Default: every enabled target."
)
@click.option("--from", "date_from", callback=_date, help="First work date (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=_date, help="Last work date (YYYY-MM-DD), inclusive.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; write nothing anywhere.")
def sync(
    config_path: Path, targets: tuple[str, ...], date_from: date | None, date_to: date | None, dry_run: bool
) -> None:
    """Ingest new punches, recompute what changed, and deliver new or changed records to the targets.

    Exit code 0 when everything was delivered, 3 when some records were refused (see `punchbridge dlq
    list`), 1 when a target could not be served, 2 for configuration or input problems.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .sync import SyncEngine, SyncInputs, UnknownTargetError

    config, doc, registry = _load(config_path)
    inputs = SyncInputs.load(config, registry)  # every input checked before the store is touched
    store = _open_store(config, dry_run=dry_run)
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=_err, transient=True, disable=not _err.is_terminal,
    )  # fmt: skip
    tasks: dict[str, Any] = {}

    def progress(target: str, done: int, total: int) -> None:
        if target not in tasks:
            tasks[target] = bar.add_task(f"sending to {target}", total=total)
        bar.update(tasks[target], completed=done, total=total)

    try:
        engine = SyncEngine(config, doc, registry, store, dry_run=dry_run, progress=progress, inputs=inputs)
        try:
            with bar:
                report = engine.run(list(targets) or None, date_from, date_to)
        except UnknownTargetError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--target") from None
    finally:
        store.close()
    _print_report(report)
    if report.failed:
        sys.exit(1)
    if report.dead_lettered:
        sys.exit(EXIT_DEAD_LETTERS)


def _console() -> Console:
    """A console as wide as the terminal, and 160 columns when writing to a file or pipe."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=160)


def _print_report(report: Any) -> None:
    console = _console()
    mode = "dry run: nothing was written" if report.dry_run else "sync"
    console.print(
        f"{mode} {report.date_from} to {report.date_to}: {report.ingested} new punch(es), "
        f"{report.duplicates} already stored, {report.quarantined} quarantined; "
        f"{report.days_computed} day(s) computed, {report.days_new} new, {report.days_changed} changed"
    )
    table = Table(title="delivery" if not report.dry_run else "would deliver")
    for column in (
        "target",
        "new",
        "changed",
        "unchanged",
        "held back",
        "locked",
        "delivered",
        "refused",
        "batches",
        "where / error",
    ):
        table.add_column(column, justify="right" if column not in ("target", "where / error") else "left")
    for t in report.targets:
        where = t.error or ", ".join(t.locations[:3]) + (" ..." if len(t.locations) > 3 else "")
        table.add_row(
            t.name,
            str(t.new),
            str(t.changed),
            str(t.unchanged),
            str(t.held_back),
            str(t.locked),
            str(t.delivered),
            str(t.rejected),
            str(t.batches),
            where,
        )
    console.print(table)
    for t in report.targets:
        if t.sample is not None and len(t.sample):
            sample = Table(title=f"{t.name}: first {len(t.sample)} record(s) that would be sent")
            for column in t.sample.columns:
                sample.add_column(str(column))
            for row in t.sample.itertuples(index=False):
                sample.add_row(*("" if v is None else str(v) for v in row))
            console.print(sample)
        if not report.dry_run and t.new + t.changed == 0 and not t.error and not t.resumed_batches:
            console.print(f"{t.name}: nothing new to send")
        if t.locked:
            console.print(f"{t.name}: {t.locked} record(s) of locked periods not sent (docs/cutoff.md)")
        if t.adjustments:
            verb = "would send" if report.dry_run else "sent"
            console.print(f"{t.name}: {verb} {t.adjustments} adjustment(s) for locked periods")
    _print_cutoff(console, report)


def _print_cutoff(console: Console, report: Any) -> None:
    """The payroll cut-off lines of a sync report (nothing when no locked period was touched)."""
    recorded = getattr(report, "adjustments_recorded", 0)
    if getattr(report, "days_locked", 0) or recorded:
        verb = "would be recorded" if report.dry_run else "recorded"
        console.print(
            f"cut-off: {report.days_locked} day(s) of locked periods changed: kept as the period closed; "
            f"{recorded} adjustment(s) {verb}"
        )
    waiting = getattr(report, "adjustments_waiting", 0)
    if waiting:
        console.print(
            f"cut-off: {waiting} adjustment(s) not delivered yet (configure `adjustments: {{target: NAME}}`, "
            "see docs/cutoff.md, or see `punchbridge dlq list`)"
        )


@main.group()
def mappings() -> None:
    """Check mappings against the data before a sync writes anything."""


@mappings.command("check")
@_config_option
@click.option("--target", "targets", multiple=True, help="Only this target (repeatable).")
def mappings_check(config_path: Path, targets: tuple[str, ...]) -> None:
    """List unmapped ids, unused lookup rows and rules, and unmapped values, per target."""
    from .mapping import check_mapping, format_report
    from .sync import SyncEngine, SyncInputs

    config, doc, registry = _load(config_path)
    inputs = SyncInputs.load(config, registry)
    store = _open_store(config, dry_run=True)
    try:
        engine = SyncEngine(config, doc, registry, store, dry_run=True, inputs=inputs)
        first, last = engine.resolve_range(None, None)
        days = store.load_days(first, last)
        if not len(days):
            _err.print("no processed days in the store yet: checking against the days the sources would give now")
            days = engine.preview_days(first, last)
    finally:
        store.close()
    employees = inputs.employees
    for name, target in config.targets.items():
        if targets and name not in targets:
            continue
        click.echo(f"== {name} ({target.mapping})")
        click.echo(format_report(check_mapping(inputs.mappings[name], days, employees)))


@main.group()
def dlq() -> None:
    """Dead letters: records a target refused, with the target's message."""


@dlq.command("list")
@_config_option
@click.option("--target", help="Only this target.")
def dlq_list(config_path: Path, target: str | None) -> None:
    """List dead letters (id, target, record, attempts, the target's message)."""
    config, _doc, _registry = _load(config_path)
    store = _open_store(config)
    try:
        letters = store.dead_letters(target)
    finally:
        store.close()
    table = Table(title=f"dead letters ({len(letters)})")
    for column in ("id", "target", "record", "attempts", "message"):
        table.add_column(column)
    for row in letters.itertuples(index=False):
        table.add_row(str(row.id), row.target, row.record_key, str(row.attempts), str(row.message))
    _console().print(table)


@dlq.command("retry")
@_config_option
@click.option("--target", help="Only this target.")
def dlq_retry(config_path: Path, target: str | None) -> None:
    """Send dead letters again as they are now (the next sync also resends any whose day changed)."""
    from .sync import SyncEngine

    config, doc, registry = _load(config_path)
    store = _open_store(config)
    try:
        engine = SyncEngine(config, doc, registry, store)
        report = engine.retry_dead_letters(target)
    finally:
        store.close()
    _print_report(report)
    if report.dead_lettered:
        sys.exit(EXIT_DEAD_LETTERS)


@dlq.command("drop")
@_config_option
@click.argument("ids", nargs=-1, type=int, required=True)
def dlq_drop(config_path: Path, ids: tuple[int, ...]) -> None:
    """Remove dead letters by id (they will not be retried)."""
    config, _doc, _registry = _load(config_path)
    store = _open_store(config)
    try:
        dropped = store.drop_dead_letters(list(ids))
        store.audit("dlq.drop", {"ids": list(ids), "dropped": dropped})
    finally:
        store.close()
    click.echo(f"dropped {dropped} dead letter(s)")
