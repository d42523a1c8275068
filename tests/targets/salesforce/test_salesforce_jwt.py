"""The JWT bearer assertion against PyJWT: what the plugin signs, PyJWT verifies; what PyJWT signs, the emulator takes.

Both sides use PyJWT now, so these tests pin the wire format from the outside: registered claims
with their RFC 7519 meaning (`exp` in seconds, `aud` a string), RS256 with the connected app's key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from punchbridge.plugins.salesforce.auth import ASSERTION_SECONDS, jwt_assertion
from punchbridge.testing.emulators.salesforce import JWT_GRANT, SalesforceEmulator, generate_jwt_key
from punchbridge.testing.emulators.zoho import ManualClock
from punchbridge.testing.http import serve

CONSUMER_KEY = "3MVG9x-consumer-key"
USER = "int@acme.example"
LOGIN = "https://login.salesforce.com"


@pytest.fixture(scope="module")
def app_key() -> tuple[bytes, bytes]:
    """The connected app's private key (PEM) and its certificate (PEM)."""
    return generate_jwt_key()


def _plugin_jwt(key_pem: bytes, now: float) -> str:
    key = serialization.load_pem_private_key(key_pem, password=None)
    return jwt_assertion(key, CONSUMER_KEY, USER, LOGIN, now)  # type: ignore[arg-type]


def _decode(token: str, certificate: bytes, audience: str = LOGIN, issuer: str = CONSUMER_KEY) -> dict[str, Any]:
    public_key = x509.load_pem_x509_certificate(certificate).public_key()
    return jwt.decode(
        token,
        public_key,  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["iss", "sub", "aud", "exp"]},
    )


def test_the_plugins_jwt_verifies_with_pyjwt_checking_audience_issuer_and_expiry(app_key: tuple[bytes, bytes]) -> None:
    now = time.time()
    token = _plugin_jwt(app_key[0], now)

    claims = _decode(token, app_key[1])

    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims == {"iss": CONSUMER_KEY, "sub": USER, "aud": LOGIN, "exp": int(now) + ASSERTION_SECONDS}


def test_pyjwt_refuses_the_plugins_jwt_for_another_audience_issuer_or_key_and_once_expired(
    app_key: tuple[bytes, bytes],
) -> None:
    token = _plugin_jwt(app_key[0], time.time())
    with pytest.raises(jwt.InvalidAudienceError):
        _decode(token, app_key[1], audience="https://test.salesforce.com")
    with pytest.raises(jwt.InvalidIssuerError):
        _decode(token, app_key[1], issuer="3MVG9-another-app")
    with pytest.raises(jwt.InvalidSignatureError):
        _decode(token, generate_jwt_key()[1])
    with pytest.raises(jwt.ExpiredSignatureError):
        _decode(_plugin_jwt(app_key[0], time.time() - ASSERTION_SECONDS - 1), app_key[1])


# -- a JWT made by someone else's PyJWT code, sent to the emulator ------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def org(app_key: tuple[bytes, bytes], clock: ManualClock) -> SalesforceEmulator:
    return SalesforceEmulator(certificate=app_key[1], clock=clock)


def _third_party_jwt(org: SalesforceEmulator, clock: ManualClock, key_pem: bytes, **changes: Any) -> str:
    """What another client library sends: extra claims (iat, jti) and a `typ` header, signed by PyJWT."""
    claims = {
        "iss": org.client_id,
        "sub": org.username,
        "aud": org.audience,
        "exp": int(clock()) + 120,
        "iat": int(clock()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims | changes, key_pem, algorithm="RS256", headers={"typ": "JWT", "kid": "app-cert-1"})


def _grant(org: SalesforceEmulator, assertion: str) -> httpx.Response:
    with serve(org.app) as server, httpx.Client(base_url=server.url) as http:
        return http.post("/services/oauth2/token", data={"grant_type": JWT_GRANT, "assertion": assertion})


def test_a_third_party_jwt_signed_with_the_registered_key_gets_a_session(
    org: SalesforceEmulator, clock: ManualClock, app_key: tuple[bytes, bytes]
) -> None:
    reply = _grant(org, _third_party_jwt(org, clock, app_key[0]))

    assert reply.status_code == 200, reply.text
    assert reply.json()["access_token"].startswith(org.org_id)


@pytest.mark.parametrize(
    ("case", "error", "description"),
    [
        ("another key", "invalid_grant", "invalid assertion"),
        ("expired", "invalid_grant", "expired authorization code"),
        ("sandbox audience", "invalid_grant", "audience is invalid"),
        ("HS256 with the certificate as secret", "invalid_grant", "invalid assertion"),
    ],
)
def test_a_third_party_jwt_is_refused_when_wrong(
    org: SalesforceEmulator, clock: ManualClock, app_key: tuple[bytes, bytes], case: str, error: str, description: str
) -> None:
    token = {
        "another key": lambda: _third_party_jwt(org, clock, generate_jwt_key()[0]),
        "expired": lambda: _third_party_jwt(org, clock, app_key[0], exp=int(clock()) - 1),
        "sandbox audience": lambda: _third_party_jwt(org, clock, app_key[0], aud="https://test.salesforce.com"),
        # The classic algorithm confusion: a MAC keyed with the public certificate.
        "HS256 with the certificate as secret": lambda: _hs256_with_certificate(org, clock, app_key[1]),
    }[case]()

    reply = _grant(org, token)

    assert reply.status_code == 400
    assert reply.json() == {"error": error, "error_description": description}


def _hs256_with_certificate(org: SalesforceEmulator, clock: ManualClock, certificate: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    # Built by hand: PyJWT refuses to use a PEM key as an HMAC secret, which is the point.
    claims = {"iss": org.client_id, "sub": org.username, "aud": org.audience, "exp": int(clock()) + 120}
    signing_input = f"{b64(json.dumps({'alg': 'HS256'}).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(certificate, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"
