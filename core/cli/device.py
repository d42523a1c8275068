"""`punchbridge device ...`: commands to terminals through the Minop cloud.

Every command exits 0 when done (or shown, for `--dry-run`), 2 for bad input naming the option or
the configuration field, 1 when the cloud refuses or fails (its code and message are shown);
`purge-logs` exits 6 when it refuses because the terminal may hold punches the store does not.
`delete-user` and `purge-logs` cannot be undone: they ask first on a terminal, and without one they
refuse (exit 6) unless `--yes` (punchbridge.cli.confirm).
A command the cloud refuses because the terminal is already as it wants (Add User of a user it holds,
Delete User of one it does not) is done: commands are made safe to run twice, since the vendor never
says a repeated OperationID is executed once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from punchbridge.cli.context import CommandContext, config_option, load_context, parse_date
from punchbridge.cli.exits import exit_codes
from punchbridge.errors import ConfigError, ExitCode, Problem

if TYPE_CHECKING:
    from punchbridge.minop.devices import DeviceClient, DeviceCommand
    from punchbridge.minop.purge import PurgeCheck

__all__ = ["device_group"]

T = TypeVar("T")
_REFUSED_BY_THE_CLOUD = {ExitCode.FAILED: "the cloud refused the command or failed (its code and message are shown)"}

_config_option = config_option("The configuration file (YAML) with minop: and devices:.")
_device_option = click.option("--device", "stgid", required=True, help="The terminal's tag (stgid) in devices:.")
_dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Print the exact command (secrets and templates masked); send nothing."
)
_yes_option = click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
_USER_TYPES = {"standard": "1", "admin": "14", "guest": "0"}
#: What `delete-user` and `purge-logs` say about a missing confirmation (beyond their other codes).
_NOT_CONFIRMED = "not confirmed and no terminal to ask on: rerun with --yes"


@click.group("device")
def device_group() -> None:
    """Send commands to terminals through the Minop device cloud (each is safe to run twice)."""


def _device_client(context: CommandContext, stgid: str) -> DeviceClient:
    """A client for `stgid` (close it after); configuration problems exit 2 naming the field or option."""
    from punchbridge.minop.devices import DeviceClient

    config = context.config
    if config.minop is None:
        raise ConfigError(
            Problem(
                str(context.document.path),
                "device commands need the minop: section (base_url, api_token)",
                field="minop",
            )
        )
    client = DeviceClient(config.minop, config.devices)
    try:
        client.auth_token(stgid)
    except KeyError as exc:
        client.close()
        raise click.BadParameter(str(exc.args[0]), param_hint="--device") from None
    except ValueError as exc:
        client.close()
        raise click.BadParameter(str(exc), param_hint="--device") from None
    return client


def _run(config_path: Path, stgid: str, commands: list[DeviceCommand], dry_run: bool) -> None:
    """Show (dry run) or send each command in order; stop at the first the cloud does not accept."""
    with _device_client(load_context(config_path), stgid) as client:
        _send(client, stgid, commands, dry_run)


def _send(client: DeviceClient, stgid: str, commands: list[DeviceCommand], dry_run: bool) -> None:
    from punchbridge.minop.devices import COMMAND_CONTENT_TYPE

    # Each run its own epoch: the OperationID tracks this run's commands (their HTTP retries repeat it),
    # and the same command given again later, a re-add after a delete say, is a new operation.
    epoch = f"cli:{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}:{secrets.token_hex(4)}"
    client.protect([template for command in commands for template in command.templates()])
    for command in commands:
        operation_id = command.operation_id(stgid, epoch)
        if dry_run:
            click.echo(f"would POST {client.url(stgid)}")
            click.echo("Authorization: Bearer ***")
            click.echo(f"Content-Type: {COMMAND_CONTENT_TYPE}")
            click.echo(f"Idempotency-Key: {operation_id}")
            click.echo(json.dumps(command.body("", operation_id, masked=True), indent=2))
            continue
        sent = client.execute(stgid, command, epoch=epoch)
        note = f": {sent.note}" if sent.note else ""
        click.echo(f"done: {sent.command} on {stgid} (OperationID {sent.operation_id}){note}")
    if dry_run:
        click.echo("dry run: nothing was sent", err=True)


_HINTS = {
    "user id": "--user-id",
    "first name": "--first-name",
    "last name": "--last-name",
    "start": "--start",
    "end": "--end",
    "days": "--days",
    "the range": "--to",
}


def _build(build: Callable[..., T], hint: str, *args: object) -> T:
    """`build(*args)`; its ValueError becomes a usage error naming the option it is about (exit 2)."""
    try:
        return build(*args)
    except ValueError as exc:
        message = str(exc)
        named = next((option for start, option in _HINTS.items() if message.startswith(start)), hint)
        raise click.BadParameter(message, param_hint=named) from None


@exit_codes(_REFUSED_BY_THE_CLOUD)
@device_group.command("add-user")
@_config_option
@_device_option
@click.option("--user-id", required=True, help="The user's id on the terminal (the badge id punches carry).")
@click.option("--first-name", required=True, help="First name shown on the terminal.")
@click.option("--last-name", required=True, help="Last name shown on the terminal.")
@click.option(
    "--user-type",
    type=click.Choice(sorted(_USER_TYPES)),
    default="standard",
    show_default=True,
    help="standard (1), admin (14: can change the terminal's settings) or guest (0).",
)
@click.option(
    "--face-template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A face template file (base64 text or raw bytes) to enrol; never logged or stored.",
)
@_dry_run_option
def add_user_command(
    config_path: Path,
    stgid: str,
    user_id: str,
    first_name: str,
    last_name: str,
    user_type: str,
    face_template: Path | None,
    dry_run: bool,
) -> None:
    """Add a user to a terminal (Add User), and enrol their face when --face-template is given."""
    from punchbridge.minop.devices import Template, UserType, add_user, enrol_face

    profile = _build(add_user, "--user-id", user_id, first_name, last_name, UserType(_USER_TYPES[user_type]))
    commands = [profile]
    if face_template is not None:
        template = _build(Template.from_file, "--face-template", face_template)
        commands.append(enrol_face(profile.data["UserID"], template))
    _run(config_path, stgid, commands, dry_run)


@exit_codes({**_REFUSED_BY_THE_CLOUD, ExitCode.REFUSED: _NOT_CONFIRMED})
@device_group.command("delete-user")
@_config_option
@_device_option
@click.option("--user-id", required=True, help="The user to remove from the terminal (cannot be undone).")
@_yes_option
@_dry_run_option
def delete_user_command(config_path: Path, stgid: str, user_id: str, yes: bool, dry_run: bool) -> None:
    """Remove a user from a terminal (Delete User). Asks first on a terminal; --yes in scripts."""
    from punchbridge.cli.confirm import confirm
    from punchbridge.minop.devices import delete_user

    command = _build(delete_user, "--user-id", user_id)
    with _device_client(load_context(config_path), stgid) as client:
        if not dry_run:
            confirm(
                f"delete user {user_id} from terminal {stgid}? Their face and access window go with them",
                yes=yes, refusal=f"deleting user {user_id} from terminal {stgid} cannot be undone",
            )  # fmt: skip
        _send(client, stgid, [command], dry_run)


def _weekdays(_ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    parts = [part.strip() for part in value.split(",")]
    if not parts or not all(part.isdigit() and len(part) == 1 for part in parts):
        raise click.BadParameter(f"{value[:40]!r}: expected weekdays 1 (Monday) to 7 like 1,2,3,4,5", param=param)
    return [int(part) for part in parts]


@exit_codes(_REFUSED_BY_THE_CLOUD)
@device_group.command("access-time")
@_config_option
@_device_option
@click.option("--user-id", required=True, help="The user whose door-unlock window is set.")
@click.option("--start", required=True, help="Start of the window, HH:MM:SS (terminal local time).")
@click.option("--end", required=True, help="End of the window, HH:MM:SS.")
@click.option("--days", required=True, callback=_weekdays, help="Weekdays, 1 = Monday: e.g. 1,2,3,4,5.")
@_dry_run_option
def access_time_command(
    config_path: Path, stgid: str, user_id: str, start: str, end: str, days: list[int], dry_run: bool
) -> None:
    """Set when a user may open the door (Update AccessTime)."""
    from punchbridge.minop.devices import update_access_time

    command = _build(update_access_time, "--days", user_id, start, end, days)
    _run(config_path, stgid, [command], dry_run)


@exit_codes(
    {
        **_REFUSED_BY_THE_CLOUD,
        ExitCode.REFUSED: "the terminal may hold punches the store does not (the message says which and what "
        "to do; --force purges anyway), or the purge was not confirmed and there is no terminal to ask on "
        "(--yes)",
    }
)
@device_group.command("purge-logs")
@_config_option
@_device_option
@click.option("--from", "date_from", required=True, callback=parse_date, help="First terminal-local date (YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, callback=parse_date, help="Last terminal-local date, inclusive.")
@click.option(
    "--margin-minutes",
    type=click.IntRange(0, 7 * 24 * 60),
    default=120,
    show_default=True,
    help="The terminal must have forwarded a punch made this long after the range's end.",
)
@click.option("--force", is_flag=True, help="Purge even if the store may not hold every punch of the range.")
@_yes_option
@_dry_run_option
def purge_logs_command(
    config_path: Path,
    stgid: str,
    date_from: date,
    date_to: date,
    margin_minutes: int,
    force: bool,
    yes: bool,
    dry_run: bool,
) -> None:
    """Free a terminal's memory (Delete AttendanceLog) once every punch of the range is stored.

    Before sending, the cloud's raw punches of the device and range are compared with the store, day by
    day (read with the configured `minop` source's credentials): a punch held in the quarantine counts as
    stored. The terminal must also have forwarded a punch made after the range's end plus
    --margin-minutes: terminals store and forward, so until then it may hold punches the cloud has not
    seen. Anything else refuses the purge, naming the punches and what to do, unless --force.
    Then it asks for confirmation on a terminal (--yes in scripts). --dry-run shows the command and
    checks nothing.
    """
    from punchbridge.cli.confirm import confirm
    from punchbridge.minop.devices import delete_attendance_log
    from punchbridge.minop.purge import PurgeRefusedError

    command = _build(delete_attendance_log, "--to", date_from, date_to)
    context = load_context(config_path)
    with _device_client(context, stgid) as client:
        if not dry_run and not force:
            check = _purge_check(context, stgid, date_from, date_to, timedelta(minutes=margin_minutes))
            if not check.safe:
                raise PurgeRefusedError(check.refusal(f"punchbridge sync -c {config_path}"))
            click.echo(f"checked {stgid} {date_from}..{date_to}: {check.per_day()}")
            if check.quarantined:
                click.echo(
                    f"{len(check.quarantined)} punch(es) of the range are kept in the quarantine, not the punches "
                    f"({'; '.join(check.quarantined[:5])}): `punchbridge quarantine list -c {config_path}`"
                )
        if not dry_run:
            confirm(
                f"delete the attendance log of terminal {stgid} from {date_from} to {date_to}?",
                yes=yes, refusal=f"deleting the attendance log of terminal {stgid} cannot be undone",
            )  # fmt: skip
        _send(client, stgid, [command], dry_run)


def _purge_check(context: CommandContext, stgid: str, first: date, last: date, margin: timedelta) -> PurgeCheck:
    """The safe purge's check of `stgid` on `first`..`last` (punchbridge.minop.purge)."""
    from punchbridge.minop.client import MinopClient
    from punchbridge.minop.purge import check_purge
    from punchbridge.plugin_api.registry import validate_plugin_settings

    config, document = context.config, context.document
    names = [name for name, source in config.sources.items() if source.plugin == "minop"]
    if not names:
        raise ConfigError(
            Problem(
                str(document.path),
                "the safe purge reads what the device holds through a `minop` source; configure one under "
                "sources: (or pass --force)",
                field="sources",
            )
        )
    model = context.registry.source_class("minop").settings_model
    settings = validate_plugin_settings(
        model, config.sources[names[0]].plugin_settings(), document, ("sources", names[0]), document.path.parent
    )
    zone = config.sites[config.devices[stgid].site].timezone
    with (
        context.open_store() as store,
        MinopClient(
            settings.base_url, settings.credentials(), timeout=settings.timeout, deadline=settings.deadline
        ) as client,
    ):
        return check_purge(store, client, stgid, first, last, zone, margin=margin)
