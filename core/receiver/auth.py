"""Per-device push tokens, compared in constant time.

A push names its device (`stgid`); the token comes from `Authorization: Bearer`, the query
(`?token=`), or the nested shape's `RealTime.AuthToken`, first found in that order, and must equal
`devices[stgid].push_token`. Unknown device, disabled device, device without a push token and wrong
token all get the same 401 reply (so the reply does not tell which devices exist); the log and the
metrics say which it was, without the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from punchbridge.config import DeviceSettings
from punchbridge.receiver.rejection import RejectedError

__all__ = ["authenticate_device", "bearer_token"]

_UNKNOWN = b"\x00punchbridge: no such device\x00"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header (None for another scheme or no header)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _same(presented: str, expected: bytes) -> bool:
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected)


def authenticate_device(devices: Mapping[str, DeviceSettings], device_id: str, token: str | None) -> DeviceSettings:
    """The device's settings when `token` is its push token; `RejectedError` 401 otherwise."""
    if not token:
        raise RejectedError(
            401,
            "unauthorized",
            "no token: send the device's push token as ?token= or Authorization: Bearer",
            field="token",
            reason="no_token",
        )
    device = devices.get(device_id)
    secret = device.push_token if device is not None else None
    expected = secret.get_secret_value().encode("utf-8") if secret is not None else _UNKNOWN
    matches = _same(token, expected)  # compared even for an unknown device: the time tells nothing
    if device is None or secret is None or not matches or not device.enabled:
        if device is None:
            reason = "unknown_device"
        elif secret is None:
            reason = "no_push_token"
        elif not matches:
            reason = "bad_token"
        else:
            reason = "disabled_device"
        raise RejectedError(
            401, "unauthorized", "unknown device, disabled device or wrong token", field="token", reason=reason
        )
    return device
