"""The receiver's HTTP replies, built once and sent either straight to the ASGI server or through FastAPI."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response
from starlette.types import Send

from punchbridge.errors import StoreError
from punchbridge.receiver.rejection import RejectedError

__all__ = ["OK", "Reply", "refused_by_store", "store_unavailable"]

log = logging.getLogger("punchbridge.receiver")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP reply, sent as two ASGI messages by the fast path or as a Starlette response by FastAPI."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    #: The two ASGI messages, built once: the same few replies answer nearly every push.
    _start: dict[str, Any] = field(init=False, repr=False, compare=False)
    _body: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        headers = [
            (b"content-type", self.content_type.encode("latin-1")),
            (b"content-length", str(len(self.body)).encode("latin-1")),
            *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers),
        ]
        object.__setattr__(self, "_start", {"type": "http.response.start", "status": self.status, "headers": headers})
        object.__setattr__(self, "_body", {"type": "http.response.body", "body": self.body})

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        """A JSON reply (ASCII-escaped: any text a request carried can be sent back safely)."""
        return cls(status, json.dumps(value, separators=(",", ":")).encode(), "application/json", headers)

    @classmethod
    def refusal(cls, exc: RejectedError) -> Reply:
        """The reply to a refused request."""
        return cls.json(exc.reply(), exc.status, tuple(exc.headers.items()))

    def response(self) -> Response:
        """As a Starlette response (for the FastAPI routes)."""
        return Response(self.body, status_code=self.status, media_type=self.content_type, headers=dict(self.headers))

    async def send(self, send: Send) -> None:
        """Straight to the ASGI server (copies of the messages: a server or middleware may change them)."""
        start = self._start
        await send({"type": start["type"], "status": start["status"], "headers": list(start["headers"])})
        await send({**self._body})


OK = Reply(200, b"ok", "text/plain; charset=utf-8")


def refused_by_store(exc: ValueError, status: int) -> Reply:
    """The reply when the store refused a write the receiver's checks let through (logged: a gap to close)."""
    log.error("the store refused a write the receiver's checks accepted: %s", exc)
    return Reply.json({"error": "invalid_field", "field": None, "message": str(exc)[:300]}, status)


def store_unavailable(exc: StoreError) -> Reply:
    """503 with Retry-After: the sender keeps what it sent and sends it again later."""
    log.error("write refused by the store: %s", exc)
    reply = {"error": "store_unavailable", "field": None, "message": "not stored: send it again later"}
    return Reply.json(reply, 503, (("Retry-After", "5"),))
