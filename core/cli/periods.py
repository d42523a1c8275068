"""`punchbridge period lock|unlock|list`: the payroll cut-off (docs/cutoff.md)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from punchbridge.cli.context import config_option, load_context, out_console
from punchbridge.cli.exits import exit_codes

if TYPE_CHECKING:
    from punchbridge.config import Config

__all__ = ["period_group"]


def _period(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from punchbridge.periods import parse_period

    if value is None:
        return None
    try:
        parse_period(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _site(config: Config, site: str) -> str:
    from punchbridge.periods import EVERY_SITE

    if site != EVERY_SITE and site not in config.sites:
        known = ", ".join(sorted(config.sites)) or "none"
        raise click.BadParameter(
            f"no site {site!r} in the configuration (sites: {known}; `*`: every site)", param_hint="--site"
        )
    return site


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


_period_option = click.option(
    "--period", required=True, callback=_period, help="The payroll period, YYYY-MM (a calendar month)."
)
_site_option = click.option(
    "--site", default="*", show_default=True, help="A site of the configuration, or `*` for every site."
)


@click.group("period")
def period_group() -> None:
    """Lock payroll periods: a locked period is never rewritten; late changes become adjustments."""


@exit_codes()
@period_group.command("lock")
@config_option()
@_period_option
@_site_option
def period_lock(config_path: Path, period: str, site: str) -> None:
    """Lock PERIOD for SITE: its days are no longer sent to any target (see docs/cutoff.md)."""
    context = load_context(config_path)
    site = _site(context.config, site)
    locked_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    with context.open_store() as store:
        done = store.lock_period(site, period, locked_at=locked_at, source="cli", by=_operator())
        current = store.period_locks()
    shown = "every site" if site == "*" else f"site {site}"
    if done:
        click.echo(f"locked {period} for {shown}")
        return
    row = current[(current["site"] == site) & (current["period"] == period)].iloc[0]
    click.echo(f"{period} was already locked for {shown} (since {row['locked_at']}, by {row['source']})")


@exit_codes()
@period_group.command("unlock")
@config_option()
@_period_option
@_site_option
@click.option("--reason", required=True, help="Why the period is opened again (recorded in the audit).")
def period_unlock(config_path: Path, period: str, site: str, reason: str) -> None:
    """Open PERIOD for SITE again; the reason is recorded in the audit. Adjustments already recorded stay."""
    if not reason.strip():
        raise click.BadParameter("give the reason in words (it is recorded in the audit)", param_hint="--reason")
    context = load_context(config_path)
    site = _site(context.config, site)
    with context.open_store() as store:
        removed = store.unlock_period(site, period, reason=reason.strip(), by=_operator())
        locks = store.period_locks()
        recorded = sum(a.work_date[:7] == period for a in store.adjustments())
    if removed is None:
        held = locks[(locks["period"] == period)]
        others = ", ".join(sorted(held["site"])) or "none"
        message = f"{period} is not locked for {site!r} (sites locked for {period}: {others}; `*`: every site)"
        raise click.BadParameter(message, param_hint="--site")
    shown = "every site" if site == "*" else f"site {site}"
    click.echo(f"unlocked {period} for {shown} (locked since {removed['locked_at']} by {removed['source']})")
    if recorded:
        click.echo(
            f"{recorded} adjustment(s) of {period} were recorded while it was locked: they stay (docs/cutoff.md)"
        )


@exit_codes()
@period_group.command("list")
@config_option()
def period_list(config_path: Path) -> None:
    """List locked periods (from this command and from the cloud's payroll.cutoff.locked webhook)."""
    from punchbridge.periods import PeriodLocks

    context = load_context(config_path)
    config = context.config
    with context.open_store() as store:
        locks = store.period_locks()
        recorded = store.adjustments()
    ignored = set(PeriodLocks.from_frame(locks).ignored)
    from rich.table import Table

    table = Table(title=f"locked periods ({len(locks)})")
    for column in ("period", "site", "locked at", "source", "adjustments", "note"):
        table.add_column(column)
    for row in locks.itertuples(index=False):
        count = sum(a.work_date[:7] == row.period and (row.site == "*" or a.site == row.site) for a in recorded)
        note = "not a YYYY-MM label: locks nothing" if (row.site, row.period) in ignored else ""
        if row.site != "*" and row.site not in config.sites:
            note = note or "not a site of this configuration"
        table.add_row(row.period, row.site, row.locked_at, row.source, str(count), note)
    out_console().print(table)
