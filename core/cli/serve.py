"""`punchbridge serve`: run the receiver (terminal pushes and cloud webhooks) on uvicorn.

With `--workers N`, N receiver processes share the port (uvicorn's supervisor restarts one that
dies); each has its own store connection and writer, so writes stay group-committed per process.
On PostgreSQL any number of such processes, on any number of hosts, can serve one store: a punch
pushed to two of them is stored once (the store's unique key on a punch's identity).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from punchbridge.cli.context import config_option, load_context
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.errors import ExitCode

if TYPE_CHECKING:
    from punchbridge.receiver.app import ReceiverApp
    from punchbridge.store import Store

__all__ = ["serve", "worker_app"]

#: How `serve --workers` tells its worker processes which configuration to load.
CONFIG_ENV = "PUNCHBRIDGE_SERVE_CONFIG"


@exit_codes(
    {
        ExitCode.OK: "stopped by Ctrl-C or SIGTERM after finishing the requests under way",
        ExitCode.FAILED: "the receiver could not start (the address is in use, say)",
    }
)
@click.command()
@config_option("The configuration file (YAML): store, sites, devices and receiver settings.")
@click.option("--host", help="Address to listen on (default: receiver.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on (default: receiver.port, 8080).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Receiver processes sharing the port (each with its own store connection and group commit).",
)
def serve(config_path: Path, host: str | None, port: int | None, workers: int) -> None:
    """Run the receiver: real-time pushes from terminals and webhooks from the Minop cloud.

    Every push is answered only after it is stored durably. Ctrl-C or SIGTERM stops taking requests,
    finishes those under way and commits what is waiting before exiting. There is no access log:
    request lines can carry a device's token (?token=), and logs never show secrets. `GET /health`
    answers 503 while the store cannot be read, so a load balancer sends pushes to another node.
    """
    import uvicorn

    from punchbridge.cli.progress import ProgressBars
    from punchbridge.receiver import create_app

    context = load_context(config_path)
    config = context.config
    _log_to_stderr()
    if workers > 1:
        _serve_workers(config_path, context.open_store, host or config.receiver.host,
                       config.receiver.port if port is None else port, workers)  # fmt: skip
        return
    with ProgressBars() as bars:  # a store of an older version is migrated first: a bar on a terminal
        store = context.open_store(migrating=lambda done, total: bars.update("migrating the store", done, total))
    with store:
        app = create_app(config, store)
        settings = uvicorn.Config(
            app,
            host=host or config.receiver.host,
            port=config.receiver.port if port is None else port,
            lifespan="on",
            access_log=False,
            log_level="info",
            timeout_graceful_shutdown=15,
            server_header=False,
            # The receiver reads neither the client's address nor the scheme: no X-Forwarded-* rewriting
            # layer on every request.
            proxy_headers=False,
        )
        server = uvicorn.Server(settings)
        logging.getLogger("punchbridge.receiver").info("store: %s", store.url_for_display)
        # uvicorn handles SIGINT and SIGTERM itself (stop accepting, finish, shut down), then raises
        # the signal again with the handlers it found: these turn that into a normal return.
        previous = signal.signal(signal.SIGTERM, _stopped)
        try:
            server.run()
        except (KeyboardInterrupt, _Stopped):
            pass
        except SystemExit:
            if server.started:
                raise
        finally:
            signal.signal(signal.SIGTERM, previous)
    if not server.started:
        click.echo("error: the receiver could not start (see the message above)", err=True)
        exit_with(ExitCode.FAILED)


def _serve_workers(config_path: Path, open_store: Callable[[], Store], host: str, port: int, workers: int) -> None:
    """Run `workers` receiver processes on one socket until SIGTERM or Ctrl-C (uvicorn's supervisor)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    with open_store() as store:  # migrated once here, before the workers open it
        logging.getLogger("punchbridge.receiver").info("store: %s; %d workers", store.url_for_display, workers)
    os.environ[CONFIG_ENV] = str(config_path.resolve())
    settings = uvicorn.Config(
        "punchbridge.cli.serve:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        lifespan="on",
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=15,
        server_header=False,
    )
    try:
        sock = settings.bind_socket()
    except SystemExit:  # uvicorn logged why (the address is in use, say)
        click.echo("error: the receiver could not start (see the message above)", err=True)
        exit_with(ExitCode.FAILED)
    Multiprocess(settings, sockets=[sock]).run()


def worker_app() -> ReceiverApp:
    """The receiver app of one `serve --workers` process: the configuration named by `CONFIG_ENV`,
    its own store connection (closed when the process ends) and its own writer."""
    from punchbridge.receiver import create_app

    context = load_context(Path(os.environ[CONFIG_ENV]))
    _log_to_stderr()
    store = context.open_store()
    atexit.register(store.close)
    return create_app(context.config, store)


class _Stopped(BaseException):
    """SIGTERM arrived after uvicorn's clean shutdown."""


def _stopped(_signal: int, _frame: FrameType | None) -> None:
    raise _Stopped


def _log_to_stderr() -> None:
    """punchbridge's receiver log lines on stderr, beside uvicorn's (which configures its own)."""
    logger = logging.getLogger("punchbridge")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
