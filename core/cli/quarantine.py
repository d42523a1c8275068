"""`punchbridge quarantine list`: every row held back with its reason, whichever part of punchbridge held it.

Rows come from the receiver (pushes and events it acknowledged but could not use, with the body the
terminal sent), from punch files and sources (`minop`, CSV folders), from the rules engine (punches no
shift window holds) and from the mapping (employee-days held back). Nothing is changed: the command
only reads the store.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from punchbridge.cli.context import config_option, load_context, out_console
from punchbridge.cli.exits import exit_codes

__all__ = ["quarantine_group", "visible"]

#: Rows shown when `--limit` is not given (the newest).
DEFAULT_LIMIT = 100
#: Characters of a kept body shown in the table (`--json` shows all of it).
BODY_SHOWN = 160
_COLUMNS = ("id", "held at", "source", "reason", "device", "employee", "time", "detail", "body")


@click.group("quarantine")
def quarantine_group() -> None:
    """What punchbridge held back and why: punches, pushes, records and days it could not use."""


def visible(text: Any) -> str:
    """`text` with control and invisible characters written as escapes (`1001\\u200b`): two ids that
    look alike on screen must look different when they are."""
    if text is None:
        return ""
    value = str(text)
    return "".join(ch if ch.isprintable() and unicodedata.category(ch) != "Cf" else ascii(ch)[1:-1] for ch in value)


def _held_at(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@exit_codes()
@quarantine_group.command("list")
@config_option()
@click.option(
    "--source",
    help="Only rows from this source: a name, or its prefix before ':' (`receiver`: pushes and webhooks; "
    "`target`: days every target's mapping held back).",
)
@click.option("--reason", help="Only rows with this reason (malformed_record, bad_timestamp, unknown_employee, ...).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Show the newest this many rows (0: every row).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row, with the whole kept body.")
def quarantine_list(config_path: Path, source: str | None, reason: str | None, limit: int, as_json: bool) -> None:
    """List quarantined rows, oldest first: source, reason, device, employee, time, detail and the body a
    quarantined push came with (its token and health data masked)."""
    import pandas as pd

    with load_context(config_path).open_store() as store:
        rows = store.quarantine_rows(reason, source=source, limit=limit or None)
        total = store.quarantine_count(reason, source=source)
    if as_json:
        for row in rows.itertuples(index=False):
            record = {
                "id": int(row.id),
                "held_at": _held_at(int(row.created_at_ns)),
                "source": row.source,
                "line": None if pd.isna(row.line) else int(row.line),
                "reason": row.reason,
                "device_id": row.device_id,
                "employee_id": row.employee_id,
                "timestamp": row.timestamp,
                "direction": row.direction,
                "detail": row.detail,
                "body": row.raw,
            }
            click.echo(json.dumps(record, ensure_ascii=True))
    else:
        _print_table(rows, total)
    if len(rows) < total:
        click.echo(f"showing the newest {len(rows)} of {total} rows (--limit 0 shows every row)", err=True)


def _print_table(rows: Any, total: int) -> None:
    import pandas as pd
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"quarantine ({total} rows)")
    for column in _COLUMNS:
        # Short codes stay whole (they are what --reason and --source filter on); long texts fold.
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "source", "reason"))
    for row in rows.itertuples(index=False):
        body = visible(row.raw)
        if len(body) > BODY_SHOWN:
            body = body[:BODY_SHOWN] + "..."
        where = row.source if pd.isna(row.line) else f"{row.source}:{int(row.line)}"
        cells = (
            str(row.id),
            _held_at(int(row.created_at_ns)),
            where,
            row.reason,
            row.device_id,
            row.employee_id,
            row.timestamp,
            row.detail,
            body,
        )
        # Text, not markup: a detail or a body may hold `[bold]` or anything else a sender wrote.
        table.add_row(*(Text(visible(cell)) for cell in cells))
    out_console().print(table)
