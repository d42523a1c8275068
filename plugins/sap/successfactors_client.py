"""The HTTP side of the `sap_successfactors` target: SAML-bearer tokens, CSRF on demand, OData and REST calls.

Tokens: the client signs a SAML assertion (`punchbridge.plugins.sap.saml`) and trades it at
`{api_server}/oauth/token` for an access token, cached per process until a minute before it expires
(keyed by server, company, client, user and certificate, so two targets on one tenant share it). A
token SuccessFactors refuses (401 or an `LGN...` error) is renewed once; refused again, it is a
`CredentialsError`. A call names the `Identity` (OAuth client and user) it acts as: the target's
own, or the one SAP KBA 3146142 binds the Clock In Clock Out terminal client to.

CSRF, only when asked: whether SuccessFactors wants an `X-CSRF-Token` on writes made with a bearer
token is not documented (client code that upserts ExternalTimeData sends none), so writes go without
one. When a write is refused with HTTP 403 and `X-CSRF-Token: Required` (or "CSRF token validation
failed"), the client fetches a token (`X-CSRF-Token: Fetch` on a GET of the OData service root; the
reply sets the session cookie, which httpx keeps), sends the write once more with it, and keeps
sending it on this session's writes; a refused token is fetched anew once.

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
from typing import TYPE_CHECKING, Any

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    HttpConnection,
    TargetReplyError,
    TokenRefusedError,
)
from punchbridge.plugins.sap.odata import CsrfRefusedError, body_of, error_of, reply_error
from punchbridge.plugins.sap.successfactors_settings import SuccessFactorsSettings

if TYPE_CHECKING:
    import httpx

    from punchbridge.plugins.sap.saml import SigningKey

__all__ = ["Identity", "SuccessFactorsClient", "clear_token_cache"]

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
class Identity:
    """Who a call acts as: the OAuth client (its API key) and the SuccessFactors user of the assertion."""

    client_id: str
    user_id: str


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
    """One target's session with SuccessFactors over its connection: tokens per identity, session cookie (kept
    by the connection) and, once the server asked for it, the CSRF token."""

    def __init__(
        self, config: SuccessFactorsSettings, key: SigningKey, http: HttpConnection, *, clock: Callable[[], float]
    ) -> None:
        from cryptography.hazmat.primitives import serialization

        self.config, self.key, self.http, self.clock = config, key, http, clock
        self.where = http.where
        self._certificate = hashlib.sha256(key.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
        #: The target's own identity (EmpJob, ExternalTimeData), and the one clock events are sent as.
        self.identity = Identity(config.client_id, config.user_id)
        events = config.time_events
        self.event_identity = Identity(events.client_id or config.client_id, events.user_id or config.user_id)
        self._csrf: dict[Identity, str] = {}

    @property
    def requests(self) -> int:
        """Requests sent so far (tokens and CSRF fetches included)."""
        return self.http.requests

    # -- token ------------------------------------------------------------------------------------

    def token(self, stale: str | None = None, identity: Identity | None = None) -> str:
        """A valid access token of `identity` (default: the target's): the cached one, else a new one (never
        the `stale` one)."""
        identity = identity or self.identity
        cache_key = (self.config.api_server, self.config.company_id, identity.client_id, identity.user_id,
                     self._certificate)  # fmt: skip
        with _TOKENS_LOCK:
            cached = _TOKENS.get(cache_key)
            if cached is not None and cached.value != stale and cached.expires_at - _TOKEN_EARLY > self.clock():
                return cached.value
            # a 429 or 5xx of the token endpoint is retried as every call is (a refused assertion is not)
            token = self.http.retrying(lambda: self._mint(identity))
            _TOKENS[cache_key] = token
            return token.value

    def _mint(self, identity: Identity) -> _Token:
        config = self.config
        from punchbridge.plugins.sap.saml import build_assertion  # lxml and signxml: only to sign

        now = datetime.fromtimestamp(self.clock(), UTC)
        assertion = build_assertion(
            self.key,
            issuer=config.saml_issuer,
            user_id=identity.user_id,
            client_id=identity.client_id,
            audience=config.saml_audience,
            recipient=config.token_url,
            now=now,
            lifetime=timedelta(seconds=config.assertion_lifetime),
        )
        form = {
            "client_id": identity.client_id,
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
                f"{where} refused the SAML assertion for user {identity.user_id!r} of company {config.company_id!r} "
                f"({code}: {message}); check company_id, client_id (API key), user_id, that the certificate is the "
                "one registered for the OAuth client, and the clock of this machine"
            )
        value, expires = body.get("access_token"), body.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires, int | float) or expires <= 0:
            raise TargetReplyError(f"{where} answered without access_token or expires_in")
        log.info("%s: new access token for %s (valid %d s)", self.where, identity.user_id, int(expires))
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
        log.info("%s: SuccessFactors asked for a CSRF token on writes; fetched one", self.where)
        return value

    def response(
        self, api: str, method: str, url: str, *, params: Mapping[str, str] | None = None,
        identity: Identity | None = None,
    ) -> httpx.Response:  # fmt: skip
        """One authorised request and its reply as it came (no error mapping): for checks that read a status."""
        token = self.token(None, identity)
        return self.http.request(method, url, api, params=params, headers={"Authorization": f"Bearer {token}"})

    def call(
        self,
        api: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        identity: Identity | None = None,
    ) -> dict[str, Any]:
        """One OData or REST call as `identity`; the JSON body. Renews the token once and, for a write the
        server refuses for its CSRF token, fetches one (once)."""
        identity = identity or self.identity
        write = method != "GET"
        stale: str | None = None
        csrf_fetched = token_retried = False
        while True:
            token = self.token(stale, identity)
            headers = {"Authorization": f"Bearer {token}"}
            try:
                if write and identity in self._csrf:
                    headers["X-CSRF-Token"] = self._csrf[identity]
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
                token_retried, stale = True, token
                self._csrf.pop(identity, None)
                continue
            if isinstance(error, CsrfRefusedError) and write:
                if csrf_fetched:
                    raise FatalTargetError(
                        f"{self.where}: {api} refused a newly fetched CSRF token; a proxy in between may drop the "
                        "session cookie"
                    )
                csrf_fetched = True
                self._csrf[identity] = self._fetch_csrf(token)
                continue
            raise error
