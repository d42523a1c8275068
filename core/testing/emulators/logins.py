"""The switch every HTTP emulator has for its login: fail the next N logins, and count them.

A test says `emulator.logins.fail_next(2, status=429, retry_after=7)`: the next two login requests
(Zoho's and SuccessFactors' token request, Salesforce's JWT bearer token, Odoo's authenticate,
ERPNext's key check) are answered 429 with `Retry-After: 7` before doing anything, the third one
as the system would. `emulator.logins.requests` counts every login request received, failed or not.
"""

from __future__ import annotations

import threading
from collections import deque

from starlette.responses import Response

__all__ = ["LoginFailures"]

_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class LoginFailures:
    """Failures queued for the next login requests, and how many login requests came (thread-safe)."""

    def __init__(self) -> None:
        #: Every login request received, the failed ones included.
        self.requests = 0
        self._queued: deque[tuple[int, float | None]] = deque()
        self._lock = threading.Lock()

    def fail_next(self, count: int, *, status: int = 429, retry_after: float | None = None) -> None:
        """Answer the next `count` login requests with `status` (and `Retry-After` when given), doing nothing."""
        with self._lock:
            self._queued.extend([(status, retry_after)] * count)

    def answer(self) -> Response | None:
        """Count one login request; the failure queued for it, or None to let it log in."""
        with self._lock:
            self.requests += 1
            if not self._queued:
                return None
            status, retry_after = self._queued.popleft()
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        reason = _REASONS.get(status, "Error")
        return Response(f"<html><body><h1>{status} {reason}</h1></body></html>", status, headers, "text/html")
