"""The `example` target: processed days as JSON to an HTTP API, and employees and held days read from it.

What punchbridge expects of a target (its plugin author's guide, docs/plugins/writing.md): one
`Outcome` per record, with the API's own words when it refuses one; the same result when a batch
is sent again after a crash (this API upserts by record key); for a whole batch, an error that says
what to do next: `CredentialsError` for a refused token (never retried), `RateLimitedError` with the
server's Retry-After, `TransientError` for what may work later, `FatalTargetError` for the rest;
and no secret in any message. `HttpTarget` does the HTTP every target shares: one client opened
when first used and closed in `close`, the `timeout` setting, and network errors as TransientError.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from punchbridge.plugin_api import (
    Batch,
    Capability,
    CredentialsError,
    Employee,
    FatalTargetError,
    HeldRecord,
    HttpSettings,
    HttpTarget,
    OnlineCheck,
    Outcome,
    Register,
    TargetError,
    TargetReplyError,
    checked_url,
    clip,
    hookimpl,
    throttling_error,
)
from pydantic import Field, SecretStr, field_validator

#: The name a configuration gives as `plugin:` (and this package's entry point).
PLUGIN = "example"
#: The columns the API needs in every record; `check_columns` names those a mapping lacks.
REQUIRED_COLUMNS = ("employee", "date")


class Settings(HttpSettings):
    """The settings beside `plugin:` and `mapping:` in the configuration (`timeout` comes from HttpSettings)."""

    base_url: str = Field(description="The API's base URL, e.g. https://hr.acme.test")
    token: SecretStr = Field(description="The API token; write ${VARIABLE} in the configuration, never the token")

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return checked_url(value, "base_url")


class ExampleTarget(HttpTarget[Settings]):
    """Upserts days with `POST /records`, pulls employees from `GET /employees`, reads days from `GET /records`."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.PUSH_ATTENDANCE, Capability.PULL_EMPLOYEES, Capability.READ_BACK}
    )
    #: The API takes at most 200 records in one call, so the engine never sends a bigger batch.
    max_batch_size = 200

    @property
    def where(self) -> str:
        """Who this is in every message: the plugin, the target's name and the URL; never the token."""
        return f"{PLUGIN} target {self.name} ({self.settings.base_url})"

    def describe(self) -> str:
        """The target in reports: as in messages."""
        return self.where

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: Settings) -> list[str]:
        """The columns the API needs that the mapping lacks (`punchbridge validate` shows them before any sync)."""
        return [
            f"no column `{column}`: the {PLUGIN} API needs it" for column in REQUIRED_COLUMNS if column not in columns
        ]

    def connection_options(self) -> dict[str, Any]:
        """The API's base URL, and the token as a bearer token on every request."""
        token = self.settings.token.get_secret_value()
        return {"base_url": self.settings.base_url, "headers": {"Authorization": f"Bearer {token}"}}

    def push(self, batch: Batch) -> list[Outcome]:
        """Upsert the batch's records by key; one outcome per record, the same again when the batch is resent."""
        self.check_batch_columns(batch)  # a mapping without the API's columns stops here, before anything is sent
        body = {"records": [{"key": record.key, **record.fields} for record in batch.records]}
        reply = self._call("POST", "/records", json=body)
        results = reply.get("results") if isinstance(reply, dict) else None
        if not isinstance(results, list) or len(results) != len(batch.records):
            raise TargetReplyError(f"{self.where}: POST /records answered without one result per record")
        return [self._outcome(record.key, result) for record, result in zip(batch.records, results, strict=True)]

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every employee the API holds, leavers included (only those changed after `since`), page by page."""
        query = {} if since is None else {"since": since.isoformat()}
        for row in self._pages("/employees", "employees", query):
            yield self._employee(row)

    def read_back(
        self,
        start: date,
        end: date,
        employees: Sequence[str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> Iterator[HeldRecord]:
        """The days the API holds from `start` to `end` (only `employees`' when given), as the mapping names them.

        The API holds dates, not times, so no day depends on a time zone and `zones` is not needed.
        """
        wanted = None if employees is None else set(employees)
        for row in self._pages("/records", "records", {"from": start.isoformat(), "to": end.isoformat()}):
            held = self._held(row)
            if wanted is None or held.employee in wanted:
                yield held

    def check_online(self) -> list[OnlineCheck]:
        """`punchbridge validate --online`: the API accepts the token and lets it read employees; writes nothing."""
        what = "token and read access (GET /employees)"
        try:
            self._call("GET", "/employees", params={"page": 1})
        except TargetError as exc:
            return [OnlineCheck(what, False, str(exc))]
        finally:
            self.close()
        return [OnlineCheck(what, True)]

    # -- the API's replies -------------------------------------------------------------------------

    def _call(self, method: str, path: str, **request: Any) -> Any:
        """One call's JSON reply, or the target error that tells the engine what to do next."""
        what = f"{method} {path}"
        response = self.http.request(method, path, what, **request)
        if response.status_code in (401, 403):
            raise CredentialsError(f"{self.where}: the API refused the token (HTTP {response.status_code})")
        throttled = throttling_error(response, f"{self.where}: {what}")
        if throttled is not None:
            raise throttled
        if response.status_code >= 400:
            raise FatalTargetError(
                f"{self.where}: {what} answered HTTP {response.status_code}: {clip(response.text, 200)}"
            )
        return self.http.json(response, what)

    def _pages(self, path: str, key: str, query: dict[str, str]) -> Iterator[dict[str, Any]]:
        """The rows under `key` of every page of `GET path`, while the API says there are `more`."""
        page = 1
        while True:
            reply = self._call("GET", path, params={**query, "page": page})
            rows = reply.get(key) if isinstance(reply, dict) else None
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise TargetReplyError(f"{self.where}: GET {path} answered without a `{key}` list of objects")
            yield from rows
            if not reply.get("more"):
                return
            page += 1

    def _outcome(self, key: str, result: Any) -> Outcome:
        if not isinstance(result, dict) or not isinstance(result.get("ok"), bool):
            raise TargetReplyError(
                f"{self.where}: POST /records answered a result without `ok`: {clip(repr(result), 100)}"
            )
        if result["ok"]:
            return Outcome(key, True, remote_id=str(result.get("id") or key))
        return Outcome(key, False, message=clip(str(result.get("error") or "refused, without a reason")))

    def _employee(self, row: dict[str, Any]) -> Employee:
        try:
            return Employee(
                target_id=str(row["id"]),
                name=str(row["name"]),
                active=bool(row["active"]),
                email=row.get("email"),
                badge=row.get("badge"),
            )
        except KeyError as missing:
            raise TargetReplyError(f"{self.where}: GET /employees answered an employee without {missing}") from None

    def _held(self, row: dict[str, Any]) -> HeldRecord:
        try:
            employee, work_date = str(row["employee"]), date.fromisoformat(str(row["date"]))
        except (KeyError, ValueError) as problem:
            raise TargetReplyError(f"{self.where}: GET /records answered an unusable record: {problem}") from None
        fields = {column: value for column, value in row.items() if column != "key"}
        return HeldRecord(employee=employee, work_date=work_date, fields=fields, remote_id=row.get("key"))


@hookimpl
def register_targets(register: Register) -> None:
    """Make the target available as `plugin: example`."""
    register(PLUGIN, ExampleTarget)
