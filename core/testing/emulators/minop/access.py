"""Who may call the Minop emulator: API keys, OAuth client credentials and their tokens, and the
per-credential rate limit (a mixin of `MinopEmulator`; see the package docstring)."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from punchbridge.testing.emulators.minop.faults import error_reply

__all__ = ["AccessControl", "RateLimits", "Token"]


@dataclass
class RateLimits:
    """The per-credential call limit (None: no limit), counted over a sliding window of the clock."""

    per_window: int | None = 600
    window_seconds: float = 60.0

    @classmethod
    def lifted(cls) -> RateLimits:
        """No rate limit (for throughput tests)."""
        return cls(per_window=None)


@dataclass
class Token:
    client_id: str
    scopes: frozenset[str]
    expires: float


class AccessControl:
    """Credentials, tokens and rate limits; the emulator's dataclass fields configure them."""

    clock: Callable[[], float]
    api_keys: dict[str, frozenset[str]]
    oauth_clients: dict[str, tuple[str, frozenset[str]]]
    limits: RateLimits
    token_lifetime: float
    lock: threading.RLock
    stats: Counter[str]

    def _init_access(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._calls: dict[str, deque[float]] = {}

    @property
    def api_key(self) -> str:
        """The first API key (every scope by default)."""
        return next(iter(self.api_keys))

    @property
    def client_id(self) -> str:
        """The first OAuth client id."""
        return next(iter(self.oauth_clients))

    @property
    def client_secret(self) -> str:
        """The first OAuth client's secret."""
        return self.oauth_clients[self.client_id][0]

    def revoke_tokens(self) -> None:
        """Revoke every OAuth token issued so far (on the cloud's side, before their expiry)."""
        with self.lock:
            self._tokens.clear()

    def _credential(self, request: Request, scope: str) -> tuple[str | None, Response | None]:
        """(the credential's rate-limit identity, or the refusal)."""
        key = request.headers.get("X-API-Key")
        bearer = request.headers.get("Authorization", "")
        if key is None and bearer.lower().startswith("bearer "):
            key = bearer[7:].strip()
        if not key:
            return None, error_reply(401, "unauthorized", "an API key (X-API-Key) or a Bearer token is required")
        now = self.clock()
        with self.lock:
            scopes = next((s for k, s in self.api_keys.items() if hmac.compare_digest(k, key)), None)
            if scopes is None:
                token = self._tokens.get(key)
                if token is None or token.expires <= now:
                    self.stats["unauthorized"] += 1
                    return None, error_reply(401, "unauthorized", "unknown or expired credential")
                scopes = token.scopes
            if scope not in scopes:
                return None, error_reply(403, "insufficient_scope", f"this credential lacks the scope {scope}")
        return key, None

    def _rate_limited(self, identity: str) -> Response | None:
        limit = self.limits.per_window
        if limit is None:
            return None
        now = self.clock()
        window = self.limits.window_seconds
        with self.lock:
            calls = self._calls.setdefault(identity, deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) >= limit:
                wait = max(1, math.ceil(calls[0] + window - now))
                self.stats["rate_limited"] += 1
                limit_text = f"at most {limit} calls per {window:g} s"
                return error_reply(429, "rate_limited", limit_text, {"Retry-After": str(wait)})
            calls.append(now)
        return None

    async def _token(self, request: Request) -> Response:
        # Parsed here (RFC 6749 bodies are plain urlencoded forms): no multipart parser needed.
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        client_id, secret = fields.get("client_id"), fields.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
        if fields.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        with self.lock:
            client = self.oauth_clients.get(client_id or "")
            if client is None or not hmac.compare_digest(client[0], secret or ""):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            asked = frozenset(fields.get("scope", "").split()) or client[1]
            if not asked <= client[1]:
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            token = secrets.token_urlsafe(24)
            self._tokens[token] = Token(client_id or "", asked, self.clock() + self.token_lifetime)
            self.stats["tokens_issued"] += 1
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_lifetime),
             "scope": " ".join(sorted(asked))}
        )  # fmt: skip
