"""Salesforce OAuth for the `salesforce` target: the JWT bearer flow and the client-credentials flow.

Salesforce answers both flows with `access_token` and `instance_url` but, unlike most OAuth servers,
no lifetime: a session lasts until the org's session timeout. So a session is kept until Salesforce
answers 401 INVALID_SESSION_ID (or until `expires_in`, when a reply has one), then renewed once.

The JWT is made and signed RS256 by PyJWT with the connected app's private key (read from
`private_key` when a session is needed) and lives three minutes, as Salesforce asks. The private
key, its passphrase, the client secret and access tokens never reach a message, `describe()` or the
log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import SecretStr

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    HttpConnection,
    RateLimitedError,
    TargetReplyError,
    TransientError,
    checked_url,
    clip,
)
from punchbridge.plugin_api.http import retry_after

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# PyJWT and cryptography are imported where a key is read or an assertion signed: the plugin loads
# (`punchbridge plugins`, every configuration that names it) without them.

log = logging.getLogger("punchbridge.plugins.salesforce")

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/services/oauth2/token"
#: Seconds a JWT assertion is valid; Salesforce takes at most about three minutes.
ASSERTION_SECONDS = 180


class OAuthSettings(Protocol):
    """What the token source reads of the target's settings."""

    login_url: str
    auth: str
    client_id: str
    client_secret: SecretStr | None
    username: str | None
    private_key: Path | None
    private_key_passphrase: SecretStr | None
    resolved_audience: str
    timeout: float


@dataclass(frozen=True)
class Session:
    """An access token and the instance it is valid on."""

    access_token: str
    instance_url: str
    expires_at: float | None  # None: until Salesforce says the session ended

    def __repr__(self) -> str:
        return f"Session(instance_url={self.instance_url!r}, expires_at={self.expires_at!r})"


def load_private_key(path: Path, passphrase: SecretStr | None) -> rsa.RSAPrivateKey:
    """The RSA key in the PEM file `path`; FatalTargetError naming the file (never its content) otherwise."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FatalTargetError(
            f"private_key {path} cannot be read ({exc.strerror or type(exc).__name__}); give the PEM file of the key "
            "whose certificate is uploaded to the connected app"
        ) from None
    secret = passphrase.get_secret_value().encode() if passphrase is not None else None
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except TypeError:
        raise FatalTargetError(
            f"private_key {path} is encrypted: set private_key_passphrase (from the environment)"
            if secret is None
            else f"private_key {path} is not encrypted: remove private_key_passphrase"
        ) from None
    except ValueError:
        raise FatalTargetError(
            f"private_key {path} is not a PEM private key (or the passphrase is wrong); export the key as PEM "
            "(BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise FatalTargetError(f"private_key {path} is a {type(key).__name__}; Salesforce's JWT flow signs with RSA")
    return key


def jwt_assertion(key: rsa.RSAPrivateKey, issuer: str, subject: str, audience: str, now: float) -> str:
    """The RS256 JWT of Salesforce's JWT bearer flow: iss the consumer key, sub the user, aud the login host."""
    import jwt

    claims = {"iss": issuer, "sub": subject, "aud": audience, "exp": int(now) + ASSERTION_SECONDS}
    return jwt.encode(claims, key, algorithm="RS256")


_HINTS = {
    "invalid_client_id": "the consumer key (client_id) is not a connected app of this org or login_url",
    "invalid_client": "client_id and client_secret do not match (or the app does not allow this flow)",
    "invalid_grant": "check username, the certificate uploaded to the connected app, audience and the "
    "app's pre-authorised profiles (JWT), or the client-credentials Run As user",
    "unsupported_grant_type": "the connected app does not allow this OAuth flow",
    "inactive_user": "the integration user is deactivated",
    "inactive_org": "the org is locked or closed",
}


class TokenSource:
    """Mints Salesforce sessions and keeps the current one (thread-safe)."""

    def __init__(self, config: OAuthSettings, http: HttpConnection, clock: Callable[[], float]) -> None:
        self.config, self.http, self.clock, self.where = config, http, clock, http.where
        self._session: Session | None = None
        self._lock = threading.Lock()
        self._key: rsa.RSAPrivateKey | None = None
        self.minted = 0

    def current(self) -> Session:
        """The session in use, minting one when there is none or it has expired."""
        with self._lock:
            session = self._session
            if session is None or (session.expires_at is not None and session.expires_at <= self.clock()):
                self._session = session = self.http.retrying(self._mint)
            return session

    def renew(self, stale: Session) -> Session:
        """A new session in place of `stale` (unless another thread has renewed it already)."""
        with self._lock:
            if self._session is None or self._session.access_token == stale.access_token:
                self._session = self.http.retrying(self._mint)
            return self._session

    def _form(self) -> dict[str, str]:
        config = self.config
        if config.auth == "client_credentials":
            assert config.client_secret is not None
            return {
                "grant_type": "client_credentials",
                "client_id": config.client_id,
                "client_secret": config.client_secret.get_secret_value(),
            }
        assert config.private_key is not None and config.username is not None
        if self._key is None:
            self._key = load_private_key(config.private_key, config.private_key_passphrase)
        assertion = jwt_assertion(self._key, config.client_id, config.username, config.resolved_audience, self.clock())
        return {"grant_type": JWT_GRANT, "assertion": assertion}

    def _mint(self) -> Session:
        where = f"{self.where}: the token request to {self.config.login_url}"
        started = self.clock()
        response = self.http.request(
            "POST",
            self.config.login_url + TOKEN_PATH,
            f"the token request to {self.config.login_url}",
            data=self._form(),
        )
        status = response.status_code
        if status == 429 or status >= 500:  # retried by `current`/`renew`, after the Retry-After if it gave one
            message = f"{where} got HTTP {status}; Salesforce may be busy or in maintenance"
            if status in (429, 503):
                raise RateLimitedError(message, retry_after=retry_after(response))
            raise TransientError(message)
        try:
            body: Any = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise TargetReplyError(
                f"{where} got HTTP {status} with {'an HTML page' if 'html' in kind else kind}, not JSON; login_url "
                "must be https://login.salesforce.com, https://test.salesforce.com or the org's My Domain URL"
            )
        if "error" in body or status >= 400:
            code = str(body.get("error") or f"HTTP {status}")
            said = clip(str(body.get("error_description") or "no description"), 200)
            hint = _HINTS.get(code, "check the connected app and the integration user")
            raise CredentialsError(
                f"{where} was refused ({code}: {said}) for client_id {self.config.client_id}: {hint}"
            )
        token, instance = body.get("access_token"), body.get("instance_url")
        if not isinstance(token, str) or not token or not isinstance(instance, str):
            raise TargetReplyError(f"{where}: the reply lacks access_token or instance_url")
        try:
            instance = checked_url(instance, "instance_url")
        except ValueError as exc:
            raise TargetReplyError(f"{where}: the reply's {exc}") from None
        lifetime = body.get("expires_in")
        expires = started + float(lifetime) - 60 if isinstance(lifetime, int | float) and lifetime > 60 else None
        self.minted += 1
        log.info("%s: new Salesforce session on %s (%s flow)", self.where, instance, self.config.auth)
        return Session(token, instance, expires)
