"""Why the receiver refused a request: the HTTP status, a machine code, the field concerned, a message.

Every refusal is a `RejectedError` raised where the problem is found and turned into one JSON reply
(`{"error": code, "field": path or null, "message": text}`) by the app. These are replies to a sender,
not punchbridge errors for an operator, so they live here rather than in `punchbridge.errors`.
Messages never contain a token, a signature or a secret: they name the field and say what is wrong.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RejectedError", "field_name", "shown"]

_VALUE_SHOWN = 80


class RejectedError(Exception):
    """A request the receiver refuses; `reason` labels the refusal in the metrics."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.reason = reason or code
        self.headers = headers or {}

    def reply(self) -> dict[str, Any]:
        """The JSON body sent back."""
        return {"error": self.code, "field": self.field, "message": self.message}


def field_name(key: str) -> str:
    """A JSON key as part of a field path: cut short, anything unprintable escaped (a key may hold a lone
    surrogate or a newline, which must reach neither the reply's JSON encoder nor the log as such)."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in key[:80])


def shown(value: object) -> str:
    """`value` for a message: repr, cut short (hostile values can be long)."""
    text = repr(value)
    return text if len(text) <= _VALUE_SHOWN else text[: _VALUE_SHOWN - 3] + "..."
