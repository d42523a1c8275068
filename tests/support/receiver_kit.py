"""A receiver for tests: its configuration, a clock the test moves, real HTTP over loopback, signing.

with running_receiver(tmp_path) as receiver:
    receiver.client.post("/push", params={"token": TOKEN}, json=flat_push())
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from standardwebhooks.webhooks import Webhook

from punchbridge.config import Config
from punchbridge.receiver import create_app
from punchbridge.store import Store
from punchbridge.testing.http import serve

#: The receiver's "now" in these tests: 2026-01-08 12:00 UTC (17:30 in Bengaluru).
NOW = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)
TOKEN = "tok-device001-8c1f"
BERLIN_TOKEN = "tok-berlin-77a2"
DISABLED_TOKEN = "tok-disabled-0b3e"
#: Standard Webhooks style secrets (base64 after whsec_); the Minop scheme keys HMAC with the text itself.
NEW_SECRET = "whsec_" + base64.b64encode(b"new-signing-key-for-punchbridge!").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"old-signing-key-for-punchbridge!").decode()


def make_config(tmp_path: Path, store: str | None = None, **receiver: Any) -> Config:
    """Two sites (Bengaluru, Berlin) and four devices: two usable, one disabled, one without a token."""
    settings = {"webhook_secrets": [NEW_SECRET, OLD_SECRET], **receiver}
    return Config.model_validate(
        {
            "store": store or f"sqlite:///{tmp_path / 'store.db'}",
            "employees": str(tmp_path / "employees.csv"),
            "sites": {"blr": {"timezone": "Asia/Kolkata"}, "ber": {"timezone": "Europe/Berlin"}},
            "shifts": {"general": {"start": "09:00", "end": "18:00"}},
            "devices": {
                "device001": {"site": "blr", "push_token": TOKEN},
                "berlin01": {"site": "ber", "push_token": BERLIN_TOKEN},
                "retired01": {"site": "blr", "push_token": DISABLED_TOKEN, "enabled": False},
                "notoken01": {"site": "blr"},
            },
            "receiver": settings,
        }
    )


class Clock:
    """The receiver's clock: unix seconds, set by the test."""

    def __init__(self, moment: datetime = NOW) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now


@dataclass
class Running:
    """A receiver served over loopback, with its store, clock and an HTTP client."""

    url: str
    store: Store
    clock: Clock
    config: Config
    client: httpx.Client
    app: Any


@contextmanager
def library_clock(clock: Callable[[], float]) -> Iterator[None]:
    """Make the `standardwebhooks` library read `clock`: it holds timestamps to five minutes of `datetime.now`.

    In production both read the wall clock; here the receiver's clock stands still at NOW, so the
    library is given the same time, as freezegun would give it.
    """

    class _ClockDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> _ClockDatetime:
            return cls.fromtimestamp(clock(), tz)

    with mock.patch("standardwebhooks.webhooks.datetime", _ClockDatetime):
        yield


@contextmanager
def running_receiver(
    tmp_path: Path, *, store_url: str | None = None, clock: Clock | None = None, **receiver: Any
) -> Iterator[Running]:
    """A receiver on a free loopback port (lifespan on: the writer drains at the end)."""
    config = make_config(tmp_path, store=store_url, **receiver)
    store = Store.open(config.store)
    clock = clock or Clock()
    app = create_app(config, store, clock=clock)
    try:
        with (
            library_clock(clock),
            serve(app, lifespan="on") as served,
            httpx.Client(base_url=served.url, timeout=30) as client,
        ):
            yield Running(url=served.url, store=store, clock=clock, config=config, client=client, app=app)
    finally:
        store.close()


def flat_push(user: str | int = "123", log_time: str = "2026-01-08 17:30:00", **fields: Any) -> dict[str, Any]:
    """The vendor's flat push of device001 (`Type` is the input type: 1 = fingerprint)."""
    return {"stgid": "device001", "UserID": user, "LogTime": log_time, "Type": "1", "Temperature": "36.5", **fields}


def nested_push(user: str = "123", log_time: str = "2026-01-08T11:09:09Z", **punch: Any) -> dict[str, Any]:
    """The vendor's nested push (no device in it: the URL names it)."""
    record = {"UserId": user, "LogTime": log_time, "Type": "CheckIn", "InputType": "Face", "FaceMask": "1", **punch}
    return {"RealTime": {"OperationID": "op-1", "Time": "2026-01-08T11:09:10Z", "PunchLog": record}}


def event_body(event_type: str, data: dict[str, Any], event_id: str | None = "evt-1", **extra: Any) -> bytes:
    """A webhook body as the cloud sends it."""
    document: dict[str, Any] = {"type": event_type, "created_at": "2026-01-08T11:59:00Z", "data": data, **extra}
    if event_id is not None:
        document = {"id": event_id, **document}
    return json.dumps(document).encode()


def minop_signature(body: bytes, secret: str, timestamp: int) -> str:
    """`v1=<hex>` of `"{timestamp}.{body}"`, keyed with the secret's text."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def minop_headers(body: bytes, *secrets: str, timestamp: int | None = None) -> dict[str, str]:
    """X-Minop-Timestamp and X-Minop-Signature (one v1= per secret, as during a rotation)."""
    stamp = int(NOW.timestamp()) if timestamp is None else timestamp
    signatures = ",".join(minop_signature(body, secret, stamp) for secret in secrets or (NEW_SECRET,))
    return {"X-Minop-Timestamp": str(stamp), "X-Minop-Signature": signatures, "Content-Type": "application/json"}


def standard_headers(
    body: bytes, secret: str = NEW_SECRET, message_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", when: datetime = NOW
) -> dict[str, str]:
    """The Standard Webhooks headers, signed by the `standardwebhooks` library."""
    signature = Webhook(secret).sign(message_id, when, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }
