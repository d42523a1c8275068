"""`punchbridge serve`: run the receiver (terminal pushes and cloud webhooks) on uvicorn."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType

import click

from punchbridge.cli.context import config_option, load_context
from punchbridge.cli.exits import exit_codes, exit_with
from punchbridge.errors import ExitCode

__all__ = ["serve"]


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
def serve(config_path: Path, host: str | None, port: int | None) -> None:
    """Run the receiver: real-time pushes from terminals and webhooks from the Minop cloud.

    Every push is answered only after it is stored durably. Ctrl-C or SIGTERM stops taking requests,
    finishes those under way and commits what is waiting before exiting. There is no access log:
    request lines can carry a device's token (?token=), and logs never show secrets.
    """
    import uvicorn

    from punchbridge.receiver import create_app

    context = load_context(config_path)
    config = context.config
    _log_to_stderr()
    with context.open_store() as store:
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
