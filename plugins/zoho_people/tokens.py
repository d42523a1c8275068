"""Zoho OAuth access tokens for the `zoho_people` target: minted from the refresh token, cached per process.

Zoho mints at most 10 access tokens per refresh token per 10 minutes, so a token is kept for the
process until a minute before it expires, keyed by (accounts URL, client id, SHA-256 of the refresh
token and client secret): two targets of one organisation share it, and a wrong client secret shows
at once, not an hour later. Secrets never reach a message or the log.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from punchbridge.plugin_api import FatalTargetError, HttpConnection, TargetError, TransientError
from punchbridge.plugin_api.http import throttling_error
from punchbridge.plugins.zoho_people.replies import json_body, token_error
from punchbridge.plugins.zoho_people.settings import TOKEN_PATH, ZohoPeopleSettings, optional_url

__all__ = ["Token", "ZohoTokens", "clear_token_cache"]

log = logging.getLogger("punchbridge.plugins.zoho_people")

_TOKEN_EARLY = 60.0  # renew a cached token this many seconds before Zoho's expiry


@dataclass(frozen=True)
class Token:
    """An access token, the API domain it is valid on, and when it expires (by the target's clock)."""

    value: str
    api_domain: str
    expires_at: float


_TOKENS: dict[tuple[str, str, str], Token] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached access token (tests; or after rotating credentials in a long-lived process)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


class ZohoTokens:
    """The access tokens of one target: the process's cached one, else one minted over `http`."""

    def __init__(self, settings: ZohoPeopleSettings, http: HttpConnection, clock: Callable[[], float]) -> None:
        self.settings, self.http, self.clock = settings, http, clock
        secrets = f"{settings.refresh_token.get_secret_value()}\0{settings.client_secret.get_secret_value()}"
        self._key = (settings.accounts, settings.client_id, hashlib.sha256(secrets.encode()).hexdigest())

    def current(self, stale: str | None = None) -> Token:
        """A valid access token: the cached one, else a new one (never the `stale` one)."""
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._key)
            if cached is not None and cached.value != stale and cached.expires_at - _TOKEN_EARLY > self.clock():
                return cached
            # a 429 or 5xx of the accounts server is retried as every call is (a refusal is not)
            token = self.http.retrying(self._mint)
            _TOKENS[self._key] = token
            return token

    def _mint(self) -> Token:
        settings = self.settings
        form = {
            "grant_type": "refresh_token",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret.get_secret_value(),
            "refresh_token": settings.refresh_token.get_secret_value(),
        }
        where = f"{self.http.where}: Zoho accounts ({settings.accounts})"
        started = self.clock()
        what = f"the token request to the accounts server {settings.accounts}"
        response = self.http.request("POST", settings.accounts + TOKEN_PATH, what, data=form)
        throttled = throttling_error(response, f"{where}: the token request")
        if throttled is not None:  # before the body: a busy server's JSON error is not a refusal
            raise throttled
        body = json_body(response)
        if not isinstance(body, dict):
            kind = f"HTTP {response.status_code} {response.headers.get('content-type', 'no content type')}"
            error: TargetError = FatalTargetError(f"{where}: the token request got {kind}, not a JSON object")
            if response.status_code >= 500:
                error = TransientError(f"{where}: the token request got HTTP {response.status_code}")
            raise error
        if "error" in body:
            raise token_error(where, str(body.get("error")), settings)
        value, expires = body.get("access_token"), body.get("expires_in", 3600)
        api_domain = settings.api_domain or body.get("api_domain")
        if not isinstance(value, str) or not value or not isinstance(expires, int | float) or not api_domain:
            raise FatalTargetError(f"{where}: the token reply lacks access_token, expires_in or api_domain")
        try:
            api_domain = optional_url(str(api_domain), "api_domain")
        except ValueError as exc:
            raise FatalTargetError(f"{where}: {exc}; set api_domain in the settings") from None
        assert api_domain is not None
        log.info("%s: new access token from %s (valid %d s)", self.http.where, settings.accounts, int(expires))
        return Token(value, api_domain, started + float(expires))
