"""`punchbridge dlq list|retry|drop`: records a target refused, with the target's message."""

from __future__ import annotations

from pathlib import Path

import click

from punchbridge.cli.context import config_option, load_context, out_console, wait_option
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.cli.sync import SYNC_EXIT_CODES, print_busy, print_report, sync_exit_code
from punchbridge.errors import ExitCode

__all__ = ["dlq"]


@click.group()
def dlq() -> None:
    """Dead letters: records a target refused, with the target's message."""


@exit_codes()
@dlq.command("list")
@config_option()
@click.option("--target", help="Only this target.")
def dlq_list(config_path: Path, target: str | None) -> None:
    """List dead letters (id, target, record, attempts, the target's message)."""
    with load_context(config_path).open_store() as store:
        letters = store.dead_letters(target)
    from rich.table import Table

    table = Table(title=f"dead letters ({len(letters)})")
    for column in ("id", "target", "record", "attempts", "message"):
        table.add_column(column)
    for row in letters.itertuples(index=False):
        table.add_row(str(row.id), row.target, row.record_key, str(row.attempts), str(row.message))
    out_console().print(table)


@exit_codes(
    {
        ExitCode.FAILED: SYNC_EXIT_CODES[ExitCode.FAILED],
        ExitCode.ATTENTION: "records were refused again (see `punchbridge dlq list`)",
        ExitCode.BUSY: SYNC_EXIT_CODES[ExitCode.BUSY],
    }
)
@dlq.command("retry")
@config_option()
@click.option("--target", help="Only this target.")
@wait_option("then that target's dead letters are left as they are (exit code 4)")
def dlq_retry(config_path: Path, target: str | None, wait_seconds: float) -> None:
    """Send dead letters again as they are now (the next sync also resends any whose day changed)."""
    from punchbridge.sync import SyncEngine

    context = load_context(config_path)
    with context.open_store() as store:
        engine = SyncEngine(context.config, context.document, context.registry, store, lock_wait=wait_seconds)
        report = engine.retry_dead_letters(target)
    print_report(report, config_path)
    print_busy(report)
    exit_with(sync_exit_code(report))


@exit_codes()
@dlq.command("drop")
@config_option()
@click.argument("ids", nargs=-1, type=int, required=True)
def dlq_drop(config_path: Path, ids: tuple[int, ...]) -> None:
    """Remove dead letters by id (they will not be retried)."""
    with load_context(config_path).open_store() as store:
        dropped = store.drop_dead_letters(list(ids))
        store.audit("dlq.drop", {"ids": list(ids), "dropped": dropped})
    click.echo(f"dropped {dropped} dead letter(s)")
