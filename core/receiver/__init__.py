"""The receiver: the HTTP listener terminals push punches to, and the Minop cloud's webhook endpoint.

    from punchbridge.receiver import create_app
    app = create_app(config, store)          # an ASGI app; `punchbridge serve` runs it on uvicorn

Modules, each one concern: `push` (the two push shapes), `timestamps` (LogTime and RFC 3339),
`fields` (identifiers, directions), `auth` (device tokens), `signatures` and `events` (webhooks),
`body` (size and JSON limits), `writer` (group commit), `metrics`, `openapi`, `replies`, and `app`
(routing, and the fast path for pushes).
docs/receiver.md describes the endpoints, settings and replies.
"""

from punchbridge.receiver.app import Receiver, create_app
from punchbridge.receiver.rejection import RejectedError

__all__ = ["Receiver", "RejectedError", "create_app"]
