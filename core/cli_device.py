"""`punchbridge device ...` (commands to terminals through the Minop cloud) and `punchbridge emulate minop`.

Exit codes: 0 done (or shown, for `--dry-run`); 2 bad input, naming the option or the configuration
field; 1 when the cloud refuses or fails (its code and message are shown), or a purge is refused
because the device holds punches the store does not.
"""

from __future__ import annotations

import contextlib
import csv
import json
import signal
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from .cli import _date, main
from .errors import ConfigError, Problem

__all__: list[str] = []

_config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The configuration file (YAML) with minop: and devices:.",
)
_device_option = click.option("--device", "stgid", required=True, help="The terminal's tag (stgid) in devices:.")
_dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Print the exact command (secrets and templates masked); send nothing."
)
_USER_TYPES = {"standard": "1", "admin": "14", "guest": "0"}


@main.group("device")
def device_group() -> None:
    """Send commands to terminals through the Minop device cloud (OperationID makes a retry harmless)."""


def _context(config_path: Path, stgid: str) -> tuple[Any, Any]:
    """(config, DeviceClient) for `stgid`; configuration problems exit 2 naming the field or option."""
    from .config import load_config
    from .devices import DeviceClient

    config, doc = load_config(config_path)
    if config.minop is None:
        raise ConfigError(
            Problem(str(doc.path), "device commands need the minop: section (base_url, api_token)", field="minop")
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
    return config, client


def _run(client: Any, stgid: str, commands: list[Any], dry_run: bool) -> None:
    """Show (dry run) or send each command in order; stop at the first the cloud does not accept."""
    epoch = datetime.now(UTC).date().isoformat()
    client.protect([template for command in commands for template in command.templates()])
    with client:
        for command in commands:
            operation_id = command.operation_id(stgid, epoch)
            if dry_run:
                click.echo(f"would POST {client.url(stgid)}")
                click.echo("Authorization: Bearer ***")
                click.echo(json.dumps(command.body("", operation_id, masked=True), indent=2))
                continue
            sent = client.execute(stgid, command, epoch=epoch)
            click.echo(f"done: {sent.command} on {stgid} (OperationID {sent.operation_id})")
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


def _build(build: Callable[..., Any], hint: str, *args: Any) -> Any:
    """`build(*args)`; its ValueError becomes a usage error naming the option it is about (exit 2)."""
    try:
        return build(*args)
    except ValueError as exc:
        message = str(exc)
        named = next((option for start, option in _HINTS.items() if message.startswith(start)), hint)
        raise click.BadParameter(message, param_hint=named) from None


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
    from .devices import Template, UserType, add_user, enrol_face

    profile = _build(add_user, "--user-id", user_id, first_name, last_name, UserType(_USER_TYPES[user_type]))
    commands = [profile]
    if face_template is not None:
        template = _build(Template.from_file, "--face-template", face_template)
        commands.append(enrol_face(profile.data["UserID"], template))
    _config, client = _context(config_path, stgid)
    _run(client, stgid, commands, dry_run)


@device_group.command("delete-user")
@_config_option
@_device_option
@click.option("--user-id", required=True, help="The user to remove from the terminal (cannot be undone).")
@_dry_run_option
def delete_user_command(config_path: Path, stgid: str, user_id: str, dry_run: bool) -> None:
    """Remove a user from a terminal (Delete User)."""
    from .devices import delete_user

    command = _build(delete_user, "--user-id", user_id)
    _config, client = _context(config_path, stgid)
    _run(client, stgid, [command], dry_run)


def _weekdays(_ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    parts = [part.strip() for part in value.split(",")]
    if not parts or not all(part.isdigit() and len(part) == 1 for part in parts):
        raise click.BadParameter(f"{value[:40]!r}: expected weekdays 1 (Monday) to 7 like 1,2,3,4,5", param=param)
    return [int(part) for part in parts]


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
    from .devices import update_access_time

    command = _build(update_access_time, "--days", user_id, start, end, days)
    _config, client = _context(config_path, stgid)
    _run(client, stgid, [command], dry_run)


@device_group.command("purge-logs")
@_config_option
@_device_option
@click.option("--from", "date_from", required=True, callback=_date, help="First terminal-local date (YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, callback=_date, help="Last terminal-local date, inclusive.")
@click.option("--force", is_flag=True, help="Purge even if the store does not hold every punch of the range.")
@_dry_run_option
def purge_logs_command(
    config_path: Path, stgid: str, date_from: date, date_to: date, force: bool, dry_run: bool
) -> None:
    """Free a terminal's memory (Delete AttendanceLog) once every punch of the range is stored.

    Before sending, the cloud's raw punches of the device and range are compared with the store
    (read with the configured `minop` source's credentials); any punch not stored refuses the purge
    (exit 1) unless --force. --dry-run shows the command and checks nothing.
    """
    from .devices import PurgeRefused, delete_attendance_log

    command = _build(delete_attendance_log, "--to", date_from, date_to)
    config, client = _context(config_path, stgid)
    if not dry_run and not force:
        try:
            missing = _unstored(config, config_path, stgid, date_from, date_to)
        except BaseException:
            client.close()
            raise
        if missing:
            client.close()
            sample = "; ".join(missing[:5])
            raise PurgeRefused(
                f"purge of {stgid} {date_from}..{date_to} refused: {len(missing)} punch(es) the device holds are "
                f"not in the store (e.g. {sample}); run `punchbridge sync -c {config_path}` first, or pass --force"
            )
    _run(client, stgid, [command], dry_run)


def _unstored(config: Any, config_path: Path, stgid: str, first: date, last: date) -> list[str]:
    from .devices import unstored_punches
    from .minop_client import MinopClient
    from .registry import load_plugins, validate_plugin_settings
    from .store import Store
    from .yamlfile import load_yaml

    names = [name for name, source in config.sources.items() if source.plugin == "minop"]
    if not names:
        raise ConfigError(
            Problem(
                str(config_path),
                "the safe purge reads what the device holds through a `minop` source; configure one under "
                "sources: (or pass --force)",
                field="sources",
            )
        )
    doc = load_yaml(config_path)
    model = load_plugins().source_class("minop").settings_model
    settings = validate_plugin_settings(
        model, config.sources[names[0]].plugin_settings(), doc, ("sources", names[0]), doc.path.parent
    )
    zone = config.sites[config.devices[stgid].site].timezone
    store = Store.open(config.store)
    try:
        with MinopClient(
            settings.base_url, settings.credentials(), timeout=settings.timeout, deadline=settings.deadline
        ) as client:
            missing: list[str] = unstored_punches(store, client, stgid, first, last, zone)
            return missing
    finally:
        store.close()


# -- the emulator ---------------------------------------------------------------------------------------


DEMO_API_KEY = "demo-minop-api-key"
DEMO_COMMAND_TOKEN = "demo-minop-command-token"


@main.group("emulate")
def emulate_group() -> None:
    """Run emulators of the systems punchbridge talks to, on this machine (for demos and trials)."""


@emulate_group.command("minop")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1.")
@click.option("--devices", "device_count", default=2, show_default=True, type=click.IntRange(1, 100),
              help="How many terminals (device001, device002, ...).")  # fmt: skip
@click.option("--push-to", help="Listener URL the terminals push live punches to (e.g. http://127.0.0.1:8080/push).")
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Punches CSV (employee_id,timestamp,device_id) served by the raw pull API.",
)
def emulate_minop(port: int, device_count: int, push_to: str | None, seed: Path | None) -> None:
    """Run a Minop cloud emulator in the foreground until Ctrl-C: pull API, device commands, terminals.

    It listens on 127.0.0.1 only, with fixed demo credentials (printed with a configuration snippet).
    """
    from .testing.http import serve
    from .testing.minop import MinopEmulator, RateLimits

    emulator = MinopEmulator(
        api_keys={DEMO_API_KEY: frozenset({"read:raw", "read:processed"})},
        oauth_clients={"demo-client": ("demo-client-secret", frozenset({"read:raw", "read:processed"}))},
        command_token=DEMO_COMMAND_TOKEN,
        limits=RateLimits.lifted(),
        site_timezone="Asia/Kolkata",
    )
    names = [f"device{i:03d}" for i in range(1, device_count + 1)]
    for name in names:
        emulator.add_device(
            name, timezone="Asia/Kolkata", push_token=f"demo-{name}-push", auth_token=f"demo-{name}-auth"
        )
    seeded = _seed(emulator, seed) if seed else 0  # distinct records (a repeated row is one punch)
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(serve(emulator.app, port=port))
        except OSError as exc:
            raise click.BadParameter(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", param_hint="--port"
            ) from None
        stack.callback(emulator.close)
        stack.callback(stop.set)
        _announce(server.url, names, seeded, push_to)
        if push_to:
            emulator.start_push(push_to, first_retry=1.0, max_retry=60.0)
            threading.Thread(target=_live_scans, args=(emulator, names, stop), daemon=True).start()
        # Ctrl-C, or SIGTERM from a supervisor, stops it cleanly (the terminals' threads first).
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        stack.callback(signal.signal, signal.SIGTERM, previous)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        click.echo("stopped", err=True)


def _seed(emulator: Any, path: Path) -> int:
    """Load a punches CSV into the raw feed; rows without a usable timestamp are skipped and counted."""
    punches, skipped = [], 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                moment = datetime.fromisoformat((row.get("timestamp") or "").strip())
                if moment.tzinfo is None or not row.get("employee_id") or not row.get("device_id"):
                    raise ValueError
            except ValueError:
                skipped += 1
                continue
            punches.append(
                {"employee_id": row["employee_id"].strip(), "device_id": row["device_id"].strip(),
                 "timestamp": moment.astimezone(UTC), "updated_at": moment.astimezone(UTC) + timedelta(minutes=3)}
            )  # fmt: skip
    if skipped:
        click.echo(f"{path}: skipped {skipped} row(s) without an employee, device or timestamp with offset", err=True)
    emulator.add_raw_punches(punches)
    return len(emulator.raw)


def _live_scans(emulator: Any, names: list[str], stop: threading.Event) -> None:
    """Every few seconds someone scans at a terminal (so a listener sees live pushes)."""
    count = 0
    while not stop.wait(5.0):
        count += 1
        emulator.scan(names[count % len(names)], f"E{(count % 20) + 1:04d}", datetime.now(UTC))


def _announce(url: str, names: list[str], seeded: int, push_to: str | None) -> None:
    click.echo(f"Minop emulator running at {url}   (Ctrl-C to stop)")
    click.echo(f"raw punches served: {seeded}; terminals: {', '.join(names)}")
    if push_to:
        click.echo(f"terminals push live punches to {push_to} (flat shape, token in the query)")
    click.echo("\ndemo credentials (this emulator only):")
    click.echo(f"  API key:            {DEMO_API_KEY}")
    click.echo("  OAuth client:       demo-client / demo-client-secret")
    click.echo(f"  command token:      {DEMO_COMMAND_TOKEN}")
    for name in names:
        click.echo(f"  {name}:  push_token demo-{name}-push   auth_token demo-{name}-auth")
    click.echo("\nconfiguration (see config/demo-minop.yaml):\n")
    click.echo("sources:")
    click.echo(f"  minop: {{plugin: minop, base_url: {url}, api_key: ${{MINOP_API_KEY:-{DEMO_API_KEY}}}}}")
    click.echo(f"minop: {{base_url: {url}, api_token: ${{MINOP_TOKEN:-{DEMO_COMMAND_TOKEN}}}}}")
    click.echo("devices:")
    for name in names:
        click.echo(f"  {name}: {{site: blr, push_token: demo-{name}-push, auth_token: demo-{name}-auth}}")
