"""`punchbridge dlq list|retry|drop`: records a target refused, with the target's message."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from punchbridge.cli.context import config_option, load_context, open_store, out_console
from punchbridge.cli.sync import print_report
from punchbridge.errors import ExitCode

__all__ = ["dlq"]


@click.group()
def dlq() -> None:
    """Dead letters: records a target refused, with the target's message."""


@dlq.command("list")
@config_option()
@click.option("--target", help="Only this target.")
def dlq_list(config_path: Path, target: str | None) -> None:
    """List dead letters (id, target, record, attempts, the target's message)."""
    context = load_context(config_path)
    config, _doc, _registry = context.config, context.document, context.registry
    store = open_store(config)
    try:
        letters = store.dead_letters(target)
    finally:
        store.close()
    table = Table(title=f"dead letters ({len(letters)})")
    for column in ("id", "target", "record", "attempts", "message"):
        table.add_column(column)
    for row in letters.itertuples(index=False):
        table.add_row(str(row.id), row.target, row.record_key, str(row.attempts), str(row.message))
    out_console().print(table)


@dlq.command("retry")
@config_option()
@click.option("--target", help="Only this target.")
def dlq_retry(config_path: Path, target: str | None) -> None:
    """Send dead letters again as they are now (the next sync also resends any whose day changed)."""
    from punchbridge.sync import SyncEngine

    context = load_context(config_path)

    config, doc, registry = context.config, context.document, context.registry
    store = open_store(config)
    try:
        engine = SyncEngine(config, doc, registry, store)
        report = engine.retry_dead_letters(target)
    finally:
        store.close()
    print_report(report)
    if report.dead_lettered:
        sys.exit(ExitCode.ATTENTION)


@dlq.command("drop")
@config_option()
@click.argument("ids", nargs=-1, type=int, required=True)
def dlq_drop(config_path: Path, ids: tuple[int, ...]) -> None:
    """Remove dead letters by id (they will not be retried)."""
    context = load_context(config_path)
    config, _doc, _registry = context.config, context.document, context.registry
    store = open_store(config)
    try:
        dropped = store.drop_dead_letters(list(ids))
        store.audit("dlq.drop", {"ids": list(ids), "dropped": dropped})
    finally:
        store.close()
    click.echo(f"dropped {dropped} dead letter(s)")
