"""`punchbridge plugins` (what is installed) and `punchbridge plugin new` (write your own)."""

from __future__ import annotations

from pathlib import Path

import click

from punchbridge.cli.context import out_console
from punchbridge.cli.exits import exit_codes
from punchbridge.cli.plain import plain_table, stdout_is_terminal
from punchbridge.errors import ExitCode

__all__ = ["plugin_group", "plugins_command"]

#: The columns of the plugins table.
_PLUGIN_COLUMNS = ("entry point", "module", "distribution", "version", "status")


@exit_codes()
@click.command("plugins")
def plugins_command() -> None:
    """List the plugins found, their versions, what they registered, and any that failed to load."""
    from punchbridge.plugin_api.registry import load_plugins

    registry = load_plugins()
    rows = [
        [plugin.name, plugin.module, plugin.distribution, plugin.version, plugin.error or "loaded"]
        for plugin in registry.plugins
    ]
    lines = [
        f"targets: {', '.join(sorted(registry.targets)) or 'none'}",
        f"sources: {', '.join(sorted(registry.sources)) or 'none'}",
        f"transforms: {', '.join(sorted(registry.transforms)) or 'none'}",
    ]
    if not stdout_is_terminal():  # a pipe or a file: the same table as plain text, without importing rich
        click.echo(plain_table("punchbridge plugins", _PLUGIN_COLUMNS, rows))
        for text in [*lines, *(f"conflict: {conflict}" for conflict in registry.conflicts)]:
            click.echo(text)
        return
    from rich.table import Table

    table = Table(title="punchbridge plugins")
    for column in _PLUGIN_COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    out = out_console()
    out.print(table)
    for text in lines:
        out.print(text)
    for conflict in registry.conflicts:
        out.print(f"[yellow]conflict:[/] {conflict}")


@click.group("plugin")
def plugin_group() -> None:
    """Write your own plugin."""


@exit_codes({ExitCode.BAD_INPUT: "NAME is not a usable package name, or its folder exists already"})
@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="Folder to create the package in.",
)  # fmt: skip
def plugin_new(name: str, parent: Path) -> None:
    """Write a target plugin package NAME whose tests already run the conformance kit."""
    from punchbridge.scaffold import write_plugin

    written = write_plugin(name, parent)
    root = parent / name
    click.echo(f"wrote {len(written)} files to {root}:")
    for path in written:
        click.echo(f"  {path.relative_to(root)}")
    click.echo(f'next: cd {root} && pip install -e ".[test]" && pytest')
