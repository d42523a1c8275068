"""An emulator of the API the `example` target talks to. Make it refuse what the real service refuses.

An emulator that accepts everything proves nothing: the conformance kit and this package's tests can
only catch what the emulator enforces. As generated it enforces, as a real service would:

- the token: a request without the right bearer token is answered 401;
- a rate limit: a request over `State.requests_per_minute` in a minute is answered 429, with
  Retry-After saying how many seconds until the next one is allowed;
- a size limit: a call with more than `MAX_RECORDS` records is answered 413 and stores nothing;
- each record on its own: a record without a text `key` and `employee`, with a `date` that is not
  ISO (YYYY-MM-DD), or of an employee in `State.refuse`, is refused in its own result with a
  message, and the rest of the call is stored;
- paging: employees and records come `PAGE_SIZE` at a time, with `more` while pages remain.

It stores records by key (a resent record replaces itself) and counts the writes that created or
changed a record, so a test can tell a duplicate from an update.
"""

from __future__ import annotations

import hmac
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from punchbridge.plugin_api import Employee
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

#: The most records the API takes in one call.
MAX_RECORDS = 200
#: Employees or records per page of a listing.
PAGE_SIZE = 100


@dataclass
class State:
    """What the emulated service holds, and the knobs a test turns."""

    token: str
    #: Requests allowed in any 60 seconds; `clock` tells the time in seconds (a test can move it).
    requests_per_minute: int = 600
    clock: Callable[[], float] = field(default=time.monotonic)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Writes that created or changed a record (a resent record that is the same is not one).
    writes: int = 0
    #: Employees whose records the API refuses, with its message (e.g. "employee is not active").
    refuse: dict[str, str] = field(default_factory=dict)
    employees: list[Employee] = field(default_factory=list)
    calls: deque[float] = field(default_factory=deque, repr=False)

    def wait_for_call(self) -> float | None:
        """Count one request; the seconds to wait instead when it is over the rate limit (it is then not counted)."""
        now = self.clock()
        while self.calls and self.calls[0] <= now - 60:
            self.calls.popleft()
        if len(self.calls) >= self.requests_per_minute:
            return self.calls[0] + 60 - now
        self.calls.append(now)
        return None

    def store(self, row: dict[str, Any]) -> dict[str, Any]:
        """Upsert one record by its key; its result: `{"ok": true, "id": ...}` or `{"ok": false, "error": ...}`."""
        problem = _record_problem(row)
        if problem is None and str(row["employee"]) in self.refuse:
            problem = self.refuse[str(row["employee"])]
        if problem is not None:
            return {"ok": False, "error": problem}
        if self.records.get(row["key"]) != row:
            self.records[row["key"]] = dict(row)
            self.writes += 1
        return {"ok": True, "id": row["key"]}


def _record_problem(row: dict[str, Any]) -> str | None:
    """Why the API refuses `row` as a record, or None."""
    for name in ("key", "employee"):
        if not isinstance(row.get(name), str) or not row[name]:
            return f"`{name}` is required and must be text"
    try:
        date.fromisoformat(str(row.get("date")))
    except ValueError:
        return f"`date` must be a date as YYYY-MM-DD, got {row.get('date')!r}"
    return None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _page(rows: list[dict[str, Any]], request: Request, key: str) -> JSONResponse:
    """One page of `rows` as the API answers a listing: the rows under `key`, and `more`."""
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        page = 0
    if page < 1:
        return _error(400, "page must be a whole number from 1")
    chosen = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return JSONResponse({key: chosen, "more": page * PAGE_SIZE < len(rows)})


def make_app(state: State) -> Starlette:
    """The ASGI app of the API over `state` (serve it with `punchbridge.testing.http.serve`)."""

    def refused(request: Request) -> JSONResponse | None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {state.token}".encode()):
            return _error(401, "invalid token")
        wait = state.wait_for_call()
        if wait is not None:
            return _error(429, "too many requests", headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return None

    async def post_records(request: Request) -> JSONResponse:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body is not JSON")
        rows = body.get("records") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            return _error(400, 'expected {"records": [{"key": ..., ...}, ...]}')
        if len(rows) > MAX_RECORDS:
            return _error(413, f"at most {MAX_RECORDS} records in one call, got {len(rows)}")
        return JSONResponse({"results": [state.store(row) for row in rows]})

    async def get_records(request: Request) -> JSONResponse:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            start = date.fromisoformat(request.query_params["from"])
            end = date.fromisoformat(request.query_params["to"])
        except (KeyError, ValueError):
            return _error(400, "from and to are required, as YYYY-MM-DD")
        held = [row for _, row in sorted(state.records.items()) if start <= date.fromisoformat(row["date"]) <= end]
        return _page(held, request, "records")

    async def get_employees(request: Request) -> JSONResponse:
        if (refusal := refused(request)) is not None:
            return refusal
        since_text = request.query_params.get("since")
        try:
            since = datetime.fromisoformat(since_text) if since_text else None
        except ValueError:
            return _error(400, "since must be an ISO date and time")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # the API reads a time without offset as UTC
        chosen = [e for e in state.employees if since is None or (e.modified_at is not None and e.modified_at > since)]
        rows = [
            {"id": e.target_id, "name": e.name, "active": e.active, "email": e.email, "badge": e.badge} for e in chosen
        ]
        return _page(rows, request, "employees")

    return Starlette(
        routes=[
            Route("/records", post_records, methods=["POST"]),
            Route("/records", get_records, methods=["GET"]),
            Route("/employees", get_employees, methods=["GET"]),
        ]
    )
