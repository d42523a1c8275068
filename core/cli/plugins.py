"""`punchbridge plugins` (what is installed) and `punchbridge plugin new` (write your own)."""

from __future__ import annotations

from pathlib import Path

import click

from punchbridge.cli.context import out_console
from punchbridge.cli.exits import exit_codes
from punchbridge.errors import ExitCode

__all__ = ["plugin_group", "plugins_command"]


@exit_codes()
@click.command("plugins")
def plugins_command() -> None:
    """List the plugins found, their versions, what they registered, and any that failed to load."""
    from punchbridge.plugin_api.registry import load_plugins

    registry = load_plugins()
    from rich.table import Table

    table = Table(title="punchbridge plugins")
    for column in ("entry point", "module", "distribution", "version", "status"):
        table.add_column(column)
    for plugin in registry.plugins:
        table.add_row(plugin.name, plugin.module, plugin.distribution, plugin.version, plugin.error or "loaded")
    out = out_console()
    out.print(table)
    out.print(f"targets: {', '.join(sorted(registry.targets)) or 'none'}")
    out.print(f"sources: {', '.join(sorted(registry.sources)) or 'none'}")
    out.print(f"transforms: {', '.join(sorted(registry.transforms)) or 'none'}")
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
