"""Webhook signatures: the Minop header set and the Standard Webhooks header set, several secrets at once.

Minop: `X-Minop-Timestamp: <unix seconds>` and `X-Minop-Signature: v1=<hex>`, the hex
HMAC-SHA256 of `"{timestamp}.{raw body}"`, keyed with the secret's UTF-8 bytes as written; several
`v1=` values separated by commas while the sender rotates keys. No library covers this header set,
so it is verified here.

Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` (several
separated by spaces), verified by the reference library `standardwebhooks`, one `Webhook` per
configured secret. As the library does, a delivery passes when any one of its signatures matches:
another entry beside it, even a malformed one, does not fail it.

A delivery verifies when any of its signatures matches any configured secret (`receiver.webhook_secrets`:
old and new side by side during a rotation) and its timestamp is within the tolerance of the
receiver's clock, either way. Every failure is a 401 naming the header and what is wrong with it
(missing, malformed, stale, matching no secret): these headers are the delivery's credentials, and a
sender told 401 knows to look at its signing, not at its event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from punchbridge.receiver.fields import header_identifier
from punchbridge.receiver.rejection import RejectedError

__all__ = ["STANDARD_WEBHOOKS_TOLERANCE", "Delivery", "WebhookKeys", "verify_delivery"]

#: More signatures than this in one header is not a rotation but an attempt to make the server work.
MAX_SIGNATURES = 8
#: The window the `standardwebhooks` library holds a timestamp to, around the wall clock; fixed in it.
STANDARD_WEBHOOKS_TOLERANCE = 300
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_V1_DIGEST_BYTES = 32  # HMAC-SHA256
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")

Scheme = Literal["minop", "standard"]


@dataclass(frozen=True)
class WebhookKeys:
    """The keys of each header set from the configured secrets: HMAC keys (Minop), verifiers (Standard Webhooks)."""

    minop: tuple[bytes, ...]
    standard: tuple[Webhook, ...]

    @classmethod
    def from_secrets(cls, secrets: Sequence[str]) -> tuple[WebhookKeys, list[str]]:
        """The keys, and warnings about secrets that cannot serve Standard Webhooks (never the secret)."""
        minop: list[bytes] = []
        standard: list[Webhook] = []
        warnings: list[str] = []
        for index, secret in enumerate(secrets):
            if not secret:
                warnings.append(f"receiver.webhook_secrets[{index}] is empty: ignored")
                continue
            minop.append(secret.encode("utf-8"))
            # The library decodes the secret without validating it, so text that is not base64 would
            # silently become some other key; such a secret is kept for the Minop header set only.
            encoded = secret.removeprefix("whsec_").rstrip("=")
            try:
                base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
                standard.append(Webhook(secret))
            except (binascii.Error, ValueError, EmptyWebhookSecretError):
                warnings.append(
                    f"receiver.webhook_secrets[{index}] is not base64 (after any whsec_ prefix): it verifies "
                    "X-Minop-Signature deliveries only, not Standard Webhooks ones"
                )
        return cls(tuple(minop), tuple(standard)), warnings


@dataclass(frozen=True)
class Delivery:
    """A delivery whose signature verified: which header set, its timestamp, its id if the set has one,
    and the SHA-256 (hex) of exactly the bytes the signature covers."""

    scheme: Scheme
    timestamp: int
    message_id: str | None
    signed_digest: str = ""


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b".".join(parts)).hexdigest()


HeaderValues = Callable[[str], list[str]]


def _one(values: HeaderValues, name: str) -> str | None:
    found = values(name)
    if len(found) > 1:
        raise RejectedError(
            401, "malformed_signature", "is given more than once", field=name, reason="malformed_signature"
        )
    return found[0] if found else None


def _required(values: HeaderValues, name: str) -> str:
    value = _one(values, name)
    if value is None:
        raise RejectedError(401, "malformed_signature", "is missing", field=name, reason="malformed_signature")
    return value


def _timestamp(text: str, name: str, now: float, tolerance: int) -> int:
    text = text.strip()
    if not _UNIX_SECONDS.fullmatch(text):
        raise RejectedError(
            401, "malformed_signature", "must be a unix time in whole seconds", field=name, reason="malformed_signature"
        )
    stamp = int(text)
    drift = now - stamp
    if drift > tolerance:
        raise RejectedError(
            401,
            "stale_timestamp",
            f"is {int(drift)} s old, more than the tolerance of {tolerance} s (replayed or delayed delivery)",
            field=name,
            reason="timestamp_outside_tolerance",
        )
    if -drift > tolerance:
        raise RejectedError(
            401,
            "stale_timestamp",
            f"is {int(-drift)} s in the future, more than the tolerance of {tolerance} s (sender's clock?)",
            field=name,
            reason="timestamp_outside_tolerance",
        )
    return stamp


def _matches(expected: list[bytes], presented: list[bytes]) -> bool:
    found = False
    for candidate in presented:
        for wanted in expected:
            found |= hmac.compare_digest(candidate, wanted)  # every pair compared: no early exit
    return found


def _no_match(name: str) -> RejectedError:
    return RejectedError(
        401, "bad_signature", "matches none of the configured secrets", field=name, reason="bad_signature"
    )


def _no_keys() -> RejectedError:
    return RejectedError(
        401, "bad_signature", "no webhook secret is configured here (receiver.webhook_secrets)", reason="no_secret"
    )


def _verify_minop(values: HeaderValues, body: bytes, keys: WebhookKeys, now: float, tolerance: int) -> Delivery:
    header = _required(values, "X-Minop-Signature")
    stamp_text = _required(values, "X-Minop-Timestamp")
    presented: list[bytes] = []
    items = [item.strip() for item in header.split(",") if item.strip()]
    if len(items) > MAX_SIGNATURES:
        raise RejectedError(
            401, "malformed_signature", f"has more than {MAX_SIGNATURES} signatures", field="X-Minop-Signature",
            reason="malformed_signature",
        )  # fmt: skip
    for item in items:
        version, equals, value = item.partition("=")
        if not equals:
            raise RejectedError(
                401, "malformed_signature", "must be v1=<hex>, comma-separated", field="X-Minop-Signature",
                reason="malformed_signature",
            )  # fmt: skip
        if version.strip() != "v1":
            continue  # a scheme version this receiver does not know: another value may still be v1
        if not _HEX64.fullmatch(value.strip()):
            raise RejectedError(
                401, "malformed_signature", "a v1= value must be 64 hex digits (HMAC-SHA256)",
                field="X-Minop-Signature", reason="malformed_signature",
            )  # fmt: skip
        presented.append(value.strip().lower().encode("ascii"))
    if not presented:
        raise RejectedError(
            401, "malformed_signature", "has no v1= signature", field="X-Minop-Signature", reason="malformed_signature"
        )
    stamp = _timestamp(stamp_text, "X-Minop-Timestamp", now, tolerance)
    if not keys.minop:
        raise _no_keys()
    signed = stamp_text.strip().encode("ascii") + b"." + body
    expected = [hmac.new(key, signed, hashlib.sha256).hexdigest().encode("ascii") for key in keys.minop]
    if not _matches(expected, presented):
        raise _no_match("X-Minop-Signature")
    return Delivery(scheme="minop", timestamp=stamp, message_id=None, signed_digest=hashlib.sha256(signed).hexdigest())


def _is_v1_signature(entry: str) -> bool:
    """Whether `entry` is `v1,<base64 of an HMAC-SHA256>` (its format only; the library compares it)."""
    version, comma, value = entry.partition(",")
    if version != "v1" or not comma:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == _V1_DIGEST_BYTES
    except (binascii.Error, ValueError):
        return False


def _verify_standard(values: HeaderValues, body: bytes, keys: WebhookKeys, now: float, tolerance: int) -> Delivery:
    # The id is the replay key in the store: the library takes any text, we take an identifier.
    try:
        message_id = header_identifier(_required(values, "webhook-id"), "webhook-id")
    except RejectedError as exc:
        raise RejectedError(
            401, "malformed_signature", exc.message, field="webhook-id", reason="malformed_signature"
        ) from None
    stamp_text = _required(values, "webhook-timestamp")
    header = _required(values, "webhook-signature")
    entries = header.split()
    # The library compares every entry against every secret, however many there are.
    if len(entries) > MAX_SIGNATURES:
        raise RejectedError(
            401, "malformed_signature", f"has more than {MAX_SIGNATURES} signatures", field="webhook-signature",
            reason="malformed_signature",
        )  # fmt: skip
    # Told apart from a wrong signature so the sender knows its header is broken, not its key;
    # one well-formed entry is enough (others, e.g. v1a, are the library's to skip).
    if not any(_is_v1_signature(entry) for entry in entries):
        raise RejectedError(
            401, "malformed_signature", "has no v1,<base64> signature (the base64 of a 32-byte HMAC-SHA256)",
            field="webhook-signature", reason="malformed_signature",
        )  # fmt: skip
    # On the receiver's clock and the configured tolerance: the library's own check is fixed at
    # five minutes of the wall clock, and accepts fractional seconds.
    stamp = _timestamp(stamp_text, "webhook-timestamp", now, tolerance)
    if not keys.standard:
        raise _no_keys()
    headers = {"webhook-id": message_id, "webhook-timestamp": stamp_text.strip(), "webhook-signature": header}
    refusals = []
    for webhook in keys.standard:
        try:
            webhook.verify(body, headers, json_parse=False)
        except WebhookVerificationError as exc:
            refusals.append(str(exc))
            continue
        signed = _digest(message_id.encode("ascii"), stamp_text.strip().encode("ascii"), body)
        return Delivery(scheme="standard", timestamp=stamp, message_id=message_id, signed_digest=signed)
    if any(refusal.startswith("Message timestamp") for refusal in refusals):
        # Within our tolerance but not the library's (a tolerance over its five minutes).
        raise RejectedError(
            401, "stale_timestamp",
            f"is more than {STANDARD_WEBHOOKS_TOLERANCE} s from now, the most Standard Webhooks deliveries are given",
            field="webhook-timestamp", reason="timestamp_outside_tolerance",
        )  # fmt: skip
    raise _no_match("webhook-signature")


def verify_delivery(values: HeaderValues, body: bytes, keys: WebhookKeys, now: float, tolerance: int) -> Delivery:
    """Verify a delivery by whichever header set it carries (Standard Webhooks first, when both)."""
    if values("webhook-signature") or values("webhook-id") or values("webhook-timestamp"):
        return _verify_standard(values, body, keys, now, tolerance)
    if values("X-Minop-Signature") or values("X-Minop-Timestamp"):
        return _verify_minop(values, body, keys, now, tolerance)
    raise RejectedError(
        401,
        "unsigned",
        "the delivery is not signed: send X-Minop-Signature and X-Minop-Timestamp, or the Standard Webhooks "
        "headers webhook-id, webhook-timestamp and webhook-signature",
        field="X-Minop-Signature",
        reason="unsigned",
    )
