"""`punchbridge plugin new NAME`: a target plugin package whose tests already run the conformance kit.

The package it writes works as generated: a target that sends records as JSON to an HTTP API, an
emulator of that API (in the package, so the plugin's tests and its users' dry runs share it), and a
test module that points the kit at both. The author replaces the wire format with their target's
and tightens the emulator to what the real service enforces; the kit keeps them honest.

    NAME/
      pyproject.toml                     entry point `punchbridge: NAME = punchbridge_NAME.target`
      README.md
      src/punchbridge_NAME/__init__.py
      src/punchbridge_NAME/target.py     settings model, Target subclass, registration hook
      src/punchbridge_NAME/emulator.py   the API the target talks to, with its rules
      tests/test_conformance.py          the kit, pointed at the target and the emulator
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from punchbridge._version import __version__
from punchbridge.errors import Problem, UserInputError

__all__ = ["NAME_PATTERN", "write_plugin"]

#: A plugin name: lower case, starting with a letter, then letters, digits and underscores.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,39}")


def write_plugin(name: str, parent: Path) -> list[Path]:
    """Write the package `parent/name`; returns the files written. Refuses a bad name or an existing folder."""
    if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name):
        raise UserInputError(
            Problem(
                "NAME",
                f"{name!r} is not a usable plugin name: use 2 to 40 lower-case letters, digits and underscores, "
                "starting with a letter (it becomes the module punchbridge_NAME and the `plugin:` value)",
            )
        )
    root = parent / name
    if root.exists():
        raise UserInputError(Problem(str(root), "already exists; choose another name or folder (nothing was written)"))
    values = {
        "name": name,
        "name_upper": name.upper(),
        "module": f"punchbridge_{name}",
        "cls": "".join(part.capitalize() for part in name.split("_")) + "Target",
        "major": __version__.split(".")[0],
        "version": __version__,
    }
    written = []
    for relative, text in _FILES.items():
        path = root / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
        written.append(path)
    return written


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "punchbridge-${name}"
version = "0.1.0"
description = "A punchbridge target plugin: ${name}"
requires-python = ">=3.11"
dependencies = ["punchbridge>=${version}", "httpx>=0.27,<1", "starlette>=0.37,<1"]

[project.optional-dependencies]
test = ["punchbridge[test]>=${version}"]

# punchbridge finds plugins through this entry-point group; the name is the `plugin:` value in a config.
[project.entry-points.punchbridge]
${name} = "${module}.target"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

_README = """\
# punchbridge-${name}

A punchbridge target plugin. As generated it sends each batch of records as JSON to
`POST {base_url}/records` and pulls employees from `GET {base_url}/employees`; replace that with
your target's API in `src/${module}/target.py`, and make `src/${module}/emulator.py` enforce what
the real service enforces (its limits, its errors, its way of refusing one record): the
conformance kit in `tests/test_conformance.py` runs punchbridge's delivery checks against both.

    pip install -e ".[test]"
    pytest                      # the conformance kit against the emulator
    punchbridge plugins         # ${name} is listed as loaded

In a punchbridge configuration:

    targets:
      ${name}:
        plugin: ${name}
        mapping: mappings/${name}.yaml
        base_url: https://api.example.com
        token: $${${name_upper}_TOKEN}
"""

_INIT = '''\
"""punchbridge target plugin `${name}`."""

from .target import ${cls}, Settings

__all__ = ["${cls}", "Settings"]
'''

_TARGET = '''\
"""The `${name}` target: records as JSON to an HTTP API, employees pulled from it.

What punchbridge expects of a target (see `punchbridge.plugin_api`): one `Outcome` per record, the
same result when a batch is sent again after a crash (dedup on the target's natural key: here the
API upserts by record key), a `CredentialsError` for a refused login (never retried),
`RateLimitedError` with the server's Retry-After, `TransientError` for what may work later, and no
secret in any message. `HttpTarget` does the HTTP part every target shares: the client opened in
`open` and closed in `close`, the `timeout` setting, network errors and 429/5xx answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field, SecretStr, field_validator

from punchbridge.plugin_api import (
    Batch,
    Capability,
    CredentialsError,
    Employee,
    FatalTargetError,
    HttpSettings,
    HttpTarget,
    Outcome,
    Register,
    TargetReplyError,
    checked_url,
    hookimpl,
    throttling_error,
)

REQUIRED_COLUMNS = ("employee", "date")


class Settings(HttpSettings):
    """The settings beside `plugin:` and `mapping:` in the configuration (and `timeout`, in seconds)."""

    base_url: str = Field(description="The API's base URL, e.g. https://api.example.com")
    token: SecretStr = Field(description="The API token; use $${VAR} in the configuration, never the value")

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return checked_url(value, "base_url")


class ${cls}(HttpTarget[Settings]):
    """Sends batches to `POST /records` and reads employees from `GET /employees`."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.PUSH_ATTENDANCE, Capability.PULL_EMPLOYEES})
    max_batch_size = 200

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: Settings) -> list[str]:
        """The columns the API needs that the mapping lacks."""
        return [f"no column `{c}`: the ${name} API needs it" for c in REQUIRED_COLUMNS if c not in columns]

    def connection_options(self) -> dict[str, Any]:
        """The API's base URL and its token."""
        token = self.settings.token.get_secret_value()
        return {"base_url": self.settings.base_url, "headers": {"Authorization": f"Bearer {token}"}}

    def push(self, batch: Batch) -> list[Outcome]:
        """Upsert the batch's records by key; one outcome per record."""
        body = {"records": [{"key": r.key, **r.fields} for r in batch.records]}
        reply = self._call("POST", "/records", json=body)
        results = reply.get("results") if isinstance(reply, dict) else None
        if not isinstance(results, list) or len(results) != len(batch.records):
            raise TargetReplyError(f"{self.describe()}: POST /records answered without one result per record")
        outcomes = []
        for record, result in zip(batch.records, results, strict=True):
            if not isinstance(result, dict):
                raise TargetReplyError(f"{self.describe()}: POST /records answered a result that is not an object")
            ok = result.get("ok") is True
            outcomes.append(
                Outcome(record.key, ok, remote_id=result.get("id"), message=None if ok else str(result.get("error")))
            )
        return outcomes

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every employee the API holds, page by page (only those changed after `since`)."""
        page = 1
        while True:
            params: dict[str, Any] = {"page": page}
            if since is not None:
                params["since"] = since.isoformat()
            reply = self._call("GET", "/employees", params=params)
            rows = reply.get("employees") if isinstance(reply, dict) else None
            if not isinstance(rows, list):
                raise TargetReplyError(f"{self.describe()}: GET /employees answered without an `employees` list")
            for row in rows:
                yield Employee(
                    target_id=str(row["id"]),
                    name=str(row["name"]),
                    active=bool(row["active"]),
                    email=row.get("email"),
                    badge=row.get("badge"),
                )
            if not reply.get("more"):
                return
            page += 1

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        what = f"{method} {path}"
        response = self.http.request(method, path, what, **kwargs)
        if response.status_code in (401, 403):
            raise CredentialsError(f"{self.describe()}: the API refused the token ({response.status_code})")
        throttled = throttling_error(response, f"{self.describe()}: {what}")
        if throttled is not None:
            raise throttled
        if response.status_code >= 400:
            raise FatalTargetError(f"{self.describe()}: {what} answered {response.status_code}")
        return self.http.json(response, what)

    def describe(self) -> str:
        """`${name} target NAME (URL)`; never the token."""
        return f"${name} target {self.name} ({self.settings.base_url})"


@hookimpl
def register_targets(register: Register) -> None:
    """Register `${name}`."""
    register("${name}", ${cls})
'''

_EMULATOR = '''\
"""An emulator of the API the `${name}` target talks to: make it enforce what the real service does.

It holds records by key (an upsert: a resent record replaces itself) and counts every write, so a
test can tell a duplicate from an update; refuses a wrong token with 401; refuses every record of the
employees in `refuse` with a per-record error; answers 429 with Retry-After for the next
`throttle` requests; and pages employees `PAGE_SIZE` at a time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from punchbridge.plugin_api import Employee

PAGE_SIZE = 100


@dataclass
class State:
    """What the emulated service holds, and what tests can set."""

    token: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: int = 0
    refuse: dict[str, str] = field(default_factory=dict)  # employee -> message
    throttle: int = 0
    employees: list[Employee] = field(default_factory=list)


def make_app(state: State) -> Starlette:
    """The ASGI app over `state`."""

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {state.token}".encode())

    def refused(request: Request) -> JSONResponse | None:
        if not authorised(request):
            return JSONResponse({"error": "invalid token"}, status_code=401)
        if state.throttle > 0:
            state.throttle -= 1
            return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "0.01"})
        return None

    async def records(request: Request) -> JSONResponse:
        if (answer := refused(request)) is not None:
            return answer
        try:
            body = await request.json()
            rows = body["records"]
            assert isinstance(rows, list) and all(isinstance(r, dict) and "key" in r for r in rows)
        except (ValueError, KeyError, TypeError, AssertionError):
            return JSONResponse({"error": "expected {\\"records\\": [{\\"key\\": ...}, ...]}"}, status_code=400)
        results = []
        for row in rows:
            message = state.refuse.get(str(row.get("employee")))
            if message:
                results.append({"ok": False, "error": message})
                continue
            if state.records.get(row["key"]) != row:
                state.records[row["key"]] = row
                state.writes += 1
            results.append({"ok": True, "id": row["key"]})
        return JSONResponse({"results": results})

    async def employees(request: Request) -> JSONResponse:
        if (answer := refused(request)) is not None:
            return answer
        try:
            page = int(request.query_params.get("page", "1"))
            since_text = request.query_params.get("since")
            since = datetime.fromisoformat(since_text) if since_text else None
            assert page >= 1
        except (ValueError, AssertionError):
            problem = "page must be a whole number from 1; since an ISO date-time"
            return JSONResponse({"error": problem}, status_code=400)
        chosen = [e for e in state.employees if since is None or (e.modified_at and e.modified_at > since)]
        rows = chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return JSONResponse(
            {
                "employees": [
                    {"id": e.target_id, "name": e.name, "active": e.active, "email": e.email, "badge": e.badge}
                    for e in rows
                ],
                "more": page * PAGE_SIZE < len(chosen),
            }
        )

    return Starlette(routes=[Route("/records", records, methods=["POST"]), Route("/employees", employees)])
'''

_TESTS = '''\
"""punchbridge's conformance kit, run against the `${name}` target and its emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ${module}.emulator import PAGE_SIZE, State, make_app
from punchbridge.plugin_api import Employee
from punchbridge.testing.conformance import TargetConformance
from punchbridge.testing.http import ServedApp, serve

TOKEN = "test-token-not-a-secret"


@pytest.fixture
def state() -> State:
    return State(token=TOKEN)


@pytest.fixture
def server(state: State) -> Iterator[ServedApp]:
    with serve(make_app(state)) as running:
        yield running


class Test${cls}Conformance(TargetConformance):
    plugin = "${name}"
    mapping_fields = [
        {"name": "employee", "from": "target_id"},
        {"name": "date", "from": "work_date"},
        {"name": "status", "from": "status"},
        {"name": "worked", "from": "worked_minutes"},
    ]
    employee_page_size = PAGE_SIZE

    @pytest.fixture
    def target_settings(self, server: ServedApp) -> dict[str, Any]:
        return {"base_url": server.url, "token": TOKEN, "timeout": 10}

    @pytest.fixture
    def read_back(self, state: State) -> Callable[[], dict[str, Any]]:
        return lambda: dict(state.records)

    @pytest.fixture
    def deliveries(self, state: State) -> Callable[[], int]:
        return lambda: state.writes

    @pytest.fixture
    def refuse_employee(self, state: State) -> Callable[[str], str]:
        def refuse(target_id: str) -> str:
            state.refuse[target_id] = f"employee {target_id} is not active in this company"
            return "is not active"

        return refuse

    @pytest.fixture
    def seed_employees(self, state: State) -> Callable[[list[Employee]], None]:
        return state.employees.extend

    @pytest.fixture
    def bad_credentials(self) -> dict[str, Any]:
        return {"token": "wrong-token-value"}
'''

_FILES = {
    "pyproject.toml": _PYPROJECT,
    "README.md": _README,
    "src/${module}/__init__.py": _INIT,
    "src/${module}/target.py": _TARGET,
    "src/${module}/emulator.py": _EMULATOR,
    "tests/test_conformance.py": _TESTS,
}
