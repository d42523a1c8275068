"""`punchbridge emulate minop`: a Minop cloud and its terminals on this machine, for demos and trials.

With `--seed` it serves the punches of a CSV file from the raw pull API and the days its own processing
computes from them from the processed API (so `processing: cloud` can be tried). With `--push-to` its
terminals push live punches to a listener (`punchbridge serve`), and with `--trouble` they do what
real terminals do: go offline and come back, send a punch twice, stamp punches after a clock reset,
send one malformed punch. `--punches N` ends the live scans after N and says when every terminal's
queue is empty.
"""

from __future__ import annotations

import contextlib
import csv
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from punchbridge.cli.emulate_targets import TARGET_COMMANDS
from punchbridge.cli.exits import exit_codes
from punchbridge.errors import ExitCode

if TYPE_CHECKING:
    from punchbridge.testing.emulators.minop import MinopEmulator, ScanLog

__all__ = ["emulate_group"]

DEMO_API_KEY = "demo-minop-api-key"
DEMO_COMMAND_TOKEN = "demo-minop-command-token"
#: The demo configurations' sites (config/demo.yaml): every third terminal stands in Berlin.
DEMO_SITE_ZONES = {"blr": "Asia/Kolkata", "ber": "Europe/Berlin"}


def _site_of(device: str) -> str:
    """The demo site of a terminal: device003, device006, ... are Berlin's (as config/demo-employees.yaml says)."""
    return "ber" if int(device.removeprefix("device")) % 3 == 0 else "blr"


@click.group("emulate")
def emulate_group() -> None:
    """Run emulators of the systems punchbridge talks to, on this machine (for demos and trials)."""


@exit_codes(
    {
        ExitCode.OK: "stopped by Ctrl-C or SIGTERM",
        ExitCode.BAD_INPUT: "an option is wrong, or the port is taken",
    }
)
@emulate_group.command("minop")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1.")
@click.option("--devices", "device_count", default=2, show_default=True, type=click.IntRange(1, 100),
              help="How many terminals (device001, device002, ...).")  # fmt: skip
@click.option("--push-to", help="Listener URL the terminals push live punches to (e.g. http://127.0.0.1:8080/push).")
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Punches CSV (employee_id,timestamp,device_id) served by the raw pull API, and processed by the cloud.",
)
@click.option(
    "--shape",
    type=click.Choice(["flat", "nested", "mixed"]),
    default="flat",
    show_default=True,
    help="The push shape of the terminals (mixed: every other terminal nested).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=5.0,
    show_default=True,
    help="Seconds between live scans (with --push-to).",
)
@click.option(
    "--punches", type=click.IntRange(min=0), default=0, help="Stop the live scans after this many (0: never)."
)
@click.option(
    "--trouble",
    is_flag=True,
    help="Live scans with what real terminals do: offline and back, a duplicate, a clock reset, a malformed punch.",
)
def emulate_minop(
    port: int,
    device_count: int,
    push_to: str | None,
    seed: Path | None,
    shape: str,
    interval: float,
    punches: int,
    trouble: bool,
) -> None:
    """Run a Minop cloud emulator in the foreground until Ctrl-C: pull API, device commands, terminals.

    It listens on 127.0.0.1 only, with fixed demo credentials (printed with a configuration snippet).
    """
    from punchbridge.testing.emulators.minop import LiveScans, MinopEmulator, RateLimits
    from punchbridge.testing.http import serve

    emulator = MinopEmulator(
        api_keys={DEMO_API_KEY: frozenset({"read:raw", "read:processed"})},
        oauth_clients={"demo-client": ("demo-client-secret", frozenset({"read:raw", "read:processed"}))},
        command_token=DEMO_COMMAND_TOKEN,
        limits=RateLimits.lifted(),
        site_timezone="Asia/Kolkata",
    )
    names = [f"device{i:03d}" for i in range(1, device_count + 1)]
    for index, name in enumerate(names):
        emulator.add_device(
            name,
            timezone=DEMO_SITE_ZONES[_site_of(name)],
            push_token=f"demo-{name}-push",
            auth_token=f"demo-{name}-auth",
            shape="nested" if shape == "nested" or (shape == "mixed" and index % 2) else "flat",
        )
    seeded = _seed(emulator, seed) if seed else 0  # distinct records (a repeated row is one punch)
    processed = emulator.process_raw()  # the cloud's processing of what it holds: `processing: cloud` works
    emulator.auto_process = True  # and of every punch it receives from now on
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
        # Ctrl-C, or SIGTERM from a supervisor, stops it cleanly (the terminals' threads first). Both are
        # handled before anything is announced, so a signal at any moment after that ends the same way.
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.signal(signum, lambda _signum, _frame: stop.set())
            stack.callback(signal.signal, signum, previous)
        _announce(server.url, names, seeded, processed, push_to, shape)
        if push_to:
            emulator.start_push(push_to, first_retry=min(1.0, interval), max_retry=60.0)
            LiveScans(emulator, names, stop, interval=interval, punches=punches, trouble=trouble, on_done=_done).start()
        while not stop.wait(0.5):
            pass
        click.echo("stopped", err=True)


for _target_command in TARGET_COMMANDS:
    emulate_group.add_command(_target_command)


def _seed(emulator: MinopEmulator, path: Path) -> int:
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


def _done(log: ScanLog) -> None:
    """Say that the live scans are over and nothing is left to send (what a test waits for)."""
    trouble = ""
    if log.offline or log.resent or log.clock_reset or log.malformed:
        trouble = (
            f" (offline and back: {', '.join(log.offline) or 'none'}; sent twice: {len(log.resent)}; "
            f"clock reset: {len(log.clock_reset)}; malformed: {len(log.malformed)})"
        )
    click.echo(f"live scans done: {len(log.punches)} punches{trouble}; every terminal's queue is empty")


def _announce(url: str, names: list[str], seeded: int, processed: int, push_to: str | None, shape: str) -> None:
    click.echo(f"Minop emulator running at {url}   (Ctrl-C to stop)")
    click.echo(f"raw punches served: {seeded}; processed days served: {processed}; terminals: {', '.join(names)}")
    if push_to:
        click.echo(f"terminals push live punches to {push_to} ({shape} shape, stgid and token in the query)")
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
        click.echo(f"  {name}: {{site: {_site_of(name)}, push_token: demo-{name}-push, auth_token: demo-{name}-auth}}")
