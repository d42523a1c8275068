"""The HTTP side of the `sap_successfactors` target: SAML-bearer tokens, the CSRF session, OData calls.

Tokens: the client signs a SAML assertion (`punchbridge.plugins.sap.saml`) and trades it at
`{api_server}/oauth/token` for an access token, cached per process until a minute before it expires
(keyed by server, company, client, user and certificate, so two targets on one tenant share it). A
token SuccessFactors refuses (401 or an `LGN...` error) is renewed once; refused again, it is a
`CredentialsError`.

Writes: SuccessFactors wants the session cookie and an `X-CSRF-Token` on a POST. The client fetches
the token once with `X-CSRF-Token: Fetch` on a GET of the service root (the reply sets the session
cookie, which httpx keeps), sends both on every write, and when a write is refused with "CSRF token
validation failed" (the session ended) fetches a new token and sends the write once more.

Nothing secret reaches the log or a message: not the private key, the assertion, the access token,
the session cookie or the CSRF token. httpcore's DEBUG trace prints response headers, so a filter on
its loggers blanks those header values.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    HttpConnection,
    TargetReplyError,
    TokenRefusedError,
)
from punchbridge.plugins.sap.odata import CsrfRefusedError, body_of, error_of, reply_error
from punchbridge.plugins.sap.saml import SigningKey, build_assertion
from punchbridge.plugins.sap.successfactors_settings import SuccessFactorsSettings

__all__ = ["SuccessFactorsClient", "clear_token_cache"]

log = logging.getLogger("punchbridge.plugins.sap.successfactors")

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:saml2-bearer"
#: Header values httpcore's DEBUG trace would print: the session cookie and CSRF token are credentials.
_SESSION_HEADER = re.compile(r"\((b?)'(x-csrf-token|set-cookie|cookie|authorization)', b?'[^']*'\)", re.IGNORECASE)


class _RedactSessionHeaders(logging.Filter):
    """Blank the values of session headers in httpcore's DEBUG trace (which prints response headers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "headers" in record.msg:
            record.msg = _SESSION_HEADER.sub(r"(\1'\2', '[redacted]')", record.msg)
        return True


for _name in ("httpcore.http11", "httpcore.http2"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactSessionHeaders) for f in _logger.filters):
        _logger.addFilter(_RedactSessionHeaders())
_TOKEN_EARLY = 60.0  # renew a cached token this many seconds before it expires


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


_TOKENS: dict[tuple[str, ...], _Token] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached access token (tests; or after replacing the certificate in a long-lived process)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


class SuccessFactorsClient:
    """One target's session with SuccessFactors over its connection: token, session cookie (kept by the
    connection) and CSRF token."""

    def __init__(
        self, config: SuccessFactorsSettings, key: SigningKey, http: HttpConnection, *, clock: Callable[[], float]
    ) -> None:
        self.config, self.key, self.http, self.clock = config, key, http, clock
        self.where = http.where
        der = key.certificate.public_bytes(serialization.Encoding.DER)
        self._token_key = (
            config.api_server,
            config.company_id,
            config.client_id,
            config.user_id,
            hashlib.sha256(der).hexdigest(),
        )
        self._csrf: str | None = None

    @property
    def requests(self) -> int:
        """Requests sent so far (tokens and CSRF fetches included)."""
        return self.http.requests

    # -- token ------------------------------------------------------------------------------------

    def token(self, stale: str | None = None) -> str:
        """A valid access token: the cached one, else a new one (never the `stale` one)."""
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._token_key)
            if cached is not None and cached.value != stale and cached.expires_at - _TOKEN_EARLY > self.clock():
                return cached.value
            token = self._mint()
            _TOKENS[self._token_key] = token
            return token.value

    def _mint(self) -> _Token:
        config = self.config
        now = datetime.fromtimestamp(self.clock(), UTC)
        assertion = build_assertion(
            self.key,
            issuer=config.saml_issuer,
            user_id=config.user_id,
            client_id=config.client_id,
            audience=config.saml_audience,
            recipient=config.token_url,
            now=now,
            lifetime=timedelta(seconds=config.assertion_lifetime),
        )
        form = {
            "client_id": config.client_id,
            "company_id": config.company_id,
            "grant_type": GRANT_TYPE,
            "assertion": base64.b64encode(assertion).decode("ascii"),
        }
        where = f"{self.where}: token endpoint {config.token_url}"
        response = self.http.request("POST", config.token_url, f"token endpoint {config.token_url}", data=form)
        body = body_of(response)
        status = response.status_code
        if status == 429 or status >= 500:
            error = reply_error("oauth/token", response, self.where)
            assert error is not None
            raise error
        if not isinstance(body, dict):
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise TargetReplyError(f"{where} answered HTTP {status} with {kind}, not a JSON object")
        refusal = error_of(body)
        if refusal is not None or status >= 400:
            code, message = refusal or (f"HTTP {status}", "no reason given")
            raise CredentialsError(
                f"{where} refused the SAML assertion for user {config.user_id!r} of company {config.company_id!r} "
                f"({code}: {message}); check company_id, client_id (API key), user_id, that the certificate is the "
                "one registered for the OAuth client, and the clock of this machine"
            )
        value, expires = body.get("access_token"), body.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires, int | float) or expires <= 0:
            raise TargetReplyError(f"{where} answered without access_token or expires_in")
        log.info("%s: new access token (valid %d s)", self.where, int(expires))
        return _Token(value, now.timestamp() + float(expires))

    # -- calls ------------------------------------------------------------------------------------

    def _fetch_csrf(self, token: str) -> str:
        where = f"{self.where}: CSRF token fetch"
        response = self.http.request(
            "GET",
            self.config.odata_url + "/",
            "CSRF token fetch",
            params={"$format": "json"},
            headers={"Authorization": f"Bearer {token}", "X-CSRF-Token": "Fetch"},
        )
        error = reply_error("CSRF token fetch", response, self.where)
        if error is not None:
            raise error
        value = response.headers.get("x-csrf-token", "")
        if not value or value.lower() in ("required", "fetch"):
            raise TargetReplyError(f"{where}: SuccessFactors answered without an X-CSRF-Token header")
        log.debug("%s: fetched a CSRF token", self.where)
        return value

    def call(
        self,
        api: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """One OData call; the JSON body. Renews the token once and (for writes) the CSRF token once."""
        write = method != "GET"
        stale: str | None = None
        csrf_retried = token_retried = False
        while True:
            token = self.token(stale)
            headers = {"Authorization": f"Bearer {token}"}
            try:
                if write:
                    if self._csrf is None:
                        self._csrf = self._fetch_csrf(token)
                    headers["X-CSRF-Token"] = self._csrf
                response = self.http.request(method, url, api, params=params, json=json, headers=headers)
                error = reply_error(api, response, self.where)
            except (TokenRefusedError, CsrfRefusedError) as refused:
                error = refused
            if error is None:
                body = body_of(response)
                assert isinstance(body, dict)
                return body
            if isinstance(error, TokenRefusedError):
                if token_retried:
                    raise CredentialsError(
                        f"{error.message}, even a new one; check the API user's permissions and that the OAuth "
                        "client is enabled"
                    )
                token_retried, stale, self._csrf = True, token, None
                continue
            if isinstance(error, CsrfRefusedError):
                if csrf_retried:
                    raise FatalTargetError(
                        f"{self.where}: {api} refused a newly fetched CSRF token; a proxy in between may drop the "
                        "session cookie"
                    )
                csrf_retried, self._csrf = True, None
                log.info("%s: %s: the CSRF token was refused (session ended); fetching a new one", self.where, api)
                continue
            raise error
