"""Serve an ASGI app (an emulator, the receiver) over real HTTP on loopback, in a background thread.

    with serve(app) as server:
        httpx.get(server.url + "/health")

The socket is bound before the thread starts (port 0: the system picks a free port), so the URL
is valid as soon as `serve` returns and the first request never races the start-up.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["ServedApp", "serve"]


@dataclass
class ServedApp:
    """A running server: its base URL (no trailing slash) and the uvicorn server object."""

    url: str
    host: str
    port: int
    server: uvicorn.Server


@contextmanager
def serve(app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> Iterator[ServedApp]:
    """Run `app` on uvicorn at `host:port` until the block ends; extra keywords go to `uvicorn.Config`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, Nagle's algorithm and delayed ACKs add about
    # 40 ms to every small reply on loopback.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    bound_port = sock.getsockname()[1]
    settings = {"log_level": "warning", "access_log": False, "lifespan": "off", **config}
    server = uvicorn.Server(uvicorn.Config(app, **settings))
    # uvicorn leaves signal handling alone outside the main thread: the caller's Ctrl-C still works.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn:{bound_port}", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the server on {host}:{bound_port} did not start")
            thread.join(0.01)
        yield ServedApp(url=f"http://{host}:{bound_port}", host=host, port=bound_port, server=server)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
