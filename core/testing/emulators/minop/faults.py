"""Failures the Minop emulator can be told to serve: injected errors, outages part-way through a
backfill, replies that trickle in (a mixin of `MinopEmulator`; see the package docstring)."""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import anyio
from starlette.responses import JSONResponse, Response

__all__ = ["FaultHooks", "Injection", "Outage", "Slow", "error_reply", "trickle"]


@dataclass
class Injection:
    status: int
    retry_after: float | None = None
    body: bytes | None = None
    content_type: str = "application/json"


@dataclass
class Slow:
    seconds: float
    chunks: int


@dataclass
class Outage:
    after_pages: int
    status: int
    body: bytes | None = None
    served: int = 0


def error_reply(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The cloud's error body `{"code", "message"}` with `status`."""
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=dict(headers or {}))


class FaultHooks:
    """The test hooks that make the next replies fail, and what the routes ask of them."""

    lock: threading.RLock
    stats: Counter[str]

    def _init_faults(self) -> None:
        self._injections: dict[str, deque[Injection]] = {}
        self._outages: dict[str, Outage] = {}
        self._slow: dict[str, Slow] = {}

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        body: bytes | str | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Answer the next `times` calls of `path` with `status` (and `Retry-After`, or a raw `body`)."""
        raw = body.encode() if isinstance(body, str) else body
        with self.lock:
            queue = self._injections.setdefault(path, deque())
            queue.extend(Injection(status, retry_after, raw, content_type) for _ in range(times))

    def fail_after_pages(self, path: str, pages: int, status: int = 500, body: bytes | str | None = None) -> None:
        """Serve `pages` more pages of `path`, then answer every call with `status` (and a raw `body`, e.g.
        a malformed page with status 200) until `heal()`."""
        raw = body.encode() if isinstance(body, str) else body
        with self.lock:
            self._outages[path] = Outage(pages, status, raw)

    def heal(self) -> None:
        """End every outage and drop pending injected failures."""
        with self.lock:
            self._outages.clear()
            self._injections.clear()

    def slow_next(self, path: str, seconds: float, chunks: int = 20) -> None:
        """The next reply of `path` trickles in: `chunks` pieces spread over `seconds`."""
        with self.lock:
            self._slow[path] = Slow(seconds, chunks)

    def _injected(self, path: str) -> Response | None:
        """The failure to answer this call of `path` with, if one is due."""
        with self.lock:
            queue = self._injections.get(path)
            if queue:
                injection = queue.popleft()
                headers = {}
                if injection.retry_after is not None:
                    headers["Retry-After"] = f"{injection.retry_after:g}"
                self.stats[f"injected:{injection.status}"] += 1
                if injection.body is not None:
                    return Response(injection.body, injection.status, headers, media_type=injection.content_type)
                return error_reply(injection.status, "injected", f"injected HTTP {injection.status}", headers)
            outage = self._outages.get(path)
            if outage is not None and outage.served >= outage.after_pages:
                if outage.body is not None:
                    return Response(outage.body, outage.status, media_type="application/json")
                return error_reply(outage.status, "outage", "the service is failing (test outage)")
        return None

    def _page_served(self, path: str) -> None:
        """Count a page of `path` served (an outage starts after so many)."""
        outage = self._outages.get(path)
        if outage is not None:
            outage.served += 1

    def _take_slow(self, path: str) -> Slow | None:
        return self._slow.pop(path, None)


async def trickle(body: bytes, slow: Slow) -> AsyncIterator[bytes]:
    """`body` in `slow.chunks` pieces spread over `slow.seconds`."""
    size = max(1, math.ceil(len(body) / slow.chunks))
    for start in range(0, len(body), size):
        yield body[start : start + size]
        await anyio.sleep(slow.seconds / slow.chunks)
