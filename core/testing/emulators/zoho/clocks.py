"""Clocks and a loopback HTTP protocol for emulator tests: time that moves when told, or runs faster."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ManualClock", "NoDelayHttp", "ScaledClock"]


class ManualClock:
    """A clock that moves only when told: `sleep(s)` advances it at once (no real waiting).

    Share one between the emulator and the plugin and minutes of rate-limited traffic run in
    milliseconds, with every limit counted as if the time had passed.
    """

    def __init__(self, start: float = 1_760_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current time, epoch seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        with self._lock:
            self._now += max(seconds, 0.0)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (advances it; returns at once)."""
        self.advance(seconds)


class ScaledClock:
    """Real time running `factor` times faster: `sleep(60)` waits 60/factor real seconds.

    Unlike `ManualClock`, network latency counts (scaled up too), so it also shows whether a
    plugin's pacing keeps a safety margin.
    """

    def __init__(self, factor: float, start: float | None = None) -> None:
        self.factor = factor
        self._start = time.time() if start is None else start
        self._origin = time.monotonic()

    def __call__(self) -> float:
        """The current scaled time, epoch seconds."""
        return self._start + (time.monotonic() - self._origin) * self.factor

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of scaled time."""
        if seconds > 0:
            time.sleep(seconds / self.factor)


class NoDelayHttp(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off: `serve(app, http=NoDelayHttp)`.

    Without it a loopback reply waits for the client's delayed ACK (about 40 ms a request), which
    would measure the kernel's timers, not the plugin.
    """

    def connection_made(self, transport: Any) -> None:
        """Set TCP_NODELAY on the accepted socket, then carry on as uvicorn does."""
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
