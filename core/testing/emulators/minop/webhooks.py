"""Signed webhook deliveries from the emulated Minop cloud (docs/receiver.md, "Webhooks").

Each event `{"id", "type", "created_at", "data"}` is POSTed with `X-Minop-Timestamp`,
`X-Minop-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">` (one `v1=` per secret, comma
separated, as during a key rotation) and `Idempotency-Key`, and/or the Standard Webhooks headers
(`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over `"{id}.{timestamp}.{body}"`
with the key decoded from a `whsec_...` secret). A delivery that does not get a 2xx is retried with
exponential backoff, up to `max_attempts`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets as _secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

__all__ = ["EVENT_TYPES", "WebhookDelivery", "WebhookSender", "minop_signature", "standard_signature"]

EVENT_TYPES = ("punch.created", "attendance.processed", "leave.approved", "payroll.cutoff.locked")
SCHEMES = ("minop", "standard", "both")


def minop_signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex>`: HMAC-SHA256 of `"{timestamp}.{body}"` with the secret's UTF-8 bytes."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def standard_signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64>`: the Standard Webhooks signature, made by the scheme's reference library (the key
    is the base64 after the `whsec_` prefix), so the emulator signs as real senders do."""
    return Webhook(secret).sign(event_id, datetime.fromtimestamp(timestamp, UTC), body)


@dataclass
class WebhookDelivery:
    """One event and what became of it."""

    event: dict[str, Any]
    attempts: int = 0
    delivered: bool = False
    statuses: list[int | None] = field(default_factory=list)


class WebhookSender:
    """Signs and delivers events to `url`; `send` delivers now (with retries), `emit` in the background."""

    def __init__(
        self,
        url: str,
        secrets: Sequence[str],
        *,
        scheme: str = "minop",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        first_retry: float = 0.5,
        max_retry: float = 60.0,
        max_attempts: int = 8,
        timeout: float = 10.0,
    ) -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}")
        if not secrets:
            raise ValueError("at least one signing secret is needed")
        self.url = url
        self.secrets = list(secrets)
        self.scheme = scheme
        self.clock = clock
        self.sleep = sleep
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.max_attempts = max_attempts
        self.deliveries: list[WebhookDelivery] = []
        self._client = httpx.Client(timeout=timeout)
        self._queue: queue.Queue[WebhookDelivery | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def event(self, event_type: str, data: Mapping[str, Any], event_id: str | None = None) -> dict[str, Any]:
        """A new event body."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}; known: {', '.join(EVENT_TYPES)}")
        return {
            "id": event_id or f"evt_{_secrets.token_hex(12)}",
            "type": event_type,
            "created_at": datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": dict(data),
        }

    def headers(self, event_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The signature headers of one delivery attempt (signed at `timestamp`, default now)."""
        stamp = int(self.clock()) if timestamp is None else timestamp
        found = {"Content-Type": "application/json"}
        if self.scheme in ("minop", "both"):
            found["X-Minop-Timestamp"] = str(stamp)
            found["X-Minop-Signature"] = ",".join(minop_signature(s, stamp, body) for s in self.secrets)
            found["Idempotency-Key"] = event_id
        if self.scheme in ("standard", "both"):
            found["webhook-id"] = event_id
            found["webhook-timestamp"] = str(stamp)
            found["webhook-signature"] = " ".join(standard_signature(s, event_id, stamp, body) for s in self.secrets)
        return found

    def send(self, event_type: str, data: Mapping[str, Any], event_id: str | None = None) -> WebhookDelivery:
        """Deliver one event now, retrying with backoff; returns the delivery (check `.delivered`)."""
        delivery = WebhookDelivery(self.event(event_type, data, event_id))
        self.deliveries.append(delivery)
        self._deliver(delivery)
        return delivery

    def emit(self, event_type: str, data: Mapping[str, Any]) -> WebhookDelivery:
        """Queue one event for the background thread (started on first use)."""
        delivery = WebhookDelivery(self.event(event_type, data))
        self.deliveries.append(delivery)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="minop-webhooks", daemon=True)
            self._thread.start()
        self._queue.put(delivery)
        return delivery

    def close(self) -> None:
        """Stop the background thread (queued events not yet sent are dropped) and close connections."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
        self._client.close()

    def _run(self) -> None:
        while (delivery := self._queue.get()) is not None:
            self._deliver(delivery)

    def _deliver(self, delivery: WebhookDelivery) -> None:
        body = json.dumps(delivery.event, separators=(",", ":")).encode()
        while delivery.attempts < self.max_attempts:
            delivery.attempts += 1
            try:
                # Signed again on each attempt: a retry carries a fresh timestamp inside the tolerance.
                response = self._client.post(self.url, content=body, headers=self.headers(delivery.event["id"], body))
                delivery.statuses.append(response.status_code)
                if 200 <= response.status_code < 300:
                    delivery.delivered = True
                    return
            except httpx.HTTPError:
                delivery.statuses.append(None)
            if delivery.attempts < self.max_attempts:
                self.sleep(min(self.first_retry * 2 ** (delivery.attempts - 1), self.max_retry))
