"""The Salesforce emulator's OAuth side: test keys, and why Salesforce would refuse a JWT bearer assertion.

The assertion is verified by PyJWT (never by hand) with the connected app's certificate.
"""

from __future__ import annotations

from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from punchbridge.testing.emulators.keys import self_signed_key

__all__ = ["JWT_GRANT", "assertion_refusal", "generate_jwt_key", "public_key_of"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def generate_jwt_key(common_name: str = "punchbridge-test") -> tuple[bytes, bytes]:
    """A new RSA key (PKCS#8 PEM, unencrypted) and a self-signed certificate of it (PEM), for tests.

    Keys are made when a test runs and never stored in the repository.
    """
    return self_signed_key(common_name, valid_days=2)


def public_key_of(certificate: bytes) -> rsa.RSAPublicKey:
    """The RSA public key in a PEM certificate or public key."""
    key: Any
    if b"BEGIN CERTIFICATE" in certificate:
        key = x509.load_pem_x509_certificate(certificate).public_key()
    else:
        key = serialization.load_pem_public_key(certificate)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the connected app's certificate must hold an RSA key")
    return key


def assertion_refusal(
    assertion: str,
    *,
    public_key: rsa.RSAPublicKey | None,
    client_id: str,
    audience: str,
    username: str,
    now: float,
    max_lifetime: float,
) -> tuple[str, str] | None:
    """Why Salesforce would refuse this JWT (error, description), or None; `now` is the emulator's clock."""
    try:
        # The issuer names the connected app, whose certificate then verifies the signature.
        issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError:
        return ("invalid_grant", "invalid assertion")
    if issuer != client_id:
        return ("invalid_client_id", "client identifier invalid")
    if public_key is None:
        return ("invalid_grant", "invalid assertion")
    try:
        claims = jwt.decode(
            assertion,
            public_key,
            algorithms=["RS256"],
            audience=audience,
            issuer=client_id,
            subject=username,
            # PyJWT reads the wall clock; the emulator's time is `clock`, which tests move, so
            # exp is checked below on that clock (PyJWT has no way to be given the time).
            options={"require": ["iss", "sub", "aud"], "verify_exp": False, "verify_nbf": False,
                     "verify_iat": False},
        )  # fmt: skip
    except jwt.InvalidAudienceError:
        return ("invalid_grant", "audience is invalid")
    except jwt.exceptions.InvalidSubjectError:
        return ("invalid_grant", "user hasn't approved this consumer")
    except jwt.InvalidTokenError:  # signature, algorithm, format, a missing claim
        return ("invalid_grant", "invalid assertion")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool) or expires <= now:
        return ("invalid_grant", "expired authorization code")
    # PyJWT limits how old a token may be (leeway), not how far ahead its exp lies; Salesforce does.
    if expires > now + max_lifetime:
        return ("invalid_grant", "invalid assertion: exp is too far in the future")
    return None
