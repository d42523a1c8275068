"""The `odoo` target: attendance into Odoo's `hr.attendance`, employees out of `hr.employee`.

Odoo holds attendance as paired intervals, so a mapped record (one employee-day) is the day's
intervals: either one, from the columns `check_in` and `check_out` (mapped from `first_in` and
`last_out`), or every pair, from the column `intervals` (`start/end;start/end`, an open interval
`start/`). Times are local ISO-8601 with their offset; Odoo gets naive UTC `YYYY-MM-DD HH:MM:SS`.
The column `employee` names the hr.employee by `employee_by`: its id, barcode, pin or work email.

Odoo has no idempotency keys, so each batch is compared with what Odoo holds before anything is
written: one `search_read` over the batch's employees and days, then one `create` with every new
interval. The intervals of "a day" are the employee's attendances whose check-in falls in that
local day (in `timezone`): kept when they match, a matching check-in with another check-out is
corrected with `write` (closing an open interval), and a changed day is made to hold exactly the
new intervals (one `write` when one interval moved, else `unlink` and `create`). A `create` that
Odoo refuses (one bad row fails the whole call) is split in halves until the bad rows are alone:
they become dead letters with Odoo's message, the rest lands.

Protocols: XML-RPC and JSON-RPC (`/xmlrpc/2`, `/jsonrpc`, login and API key) and, from Odoo 19,
JSON-2 (`/json/2/{model}/{method}`, bearer API key). `protocol: auto` asks the server its version
and uses JSON-2 from 19 on, JSON-RPC before. One keep-alive HTTP connection pool per target, every
request with a timeout; the API key never reaches a message or the log.
"""

from __future__ import annotations

import itertools
import logging
import re
import xmlrpc.client
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Literal, TypeVar
from xml.parsers.expat import ExpatError
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from punchbridge._version import __version__
from punchbridge.plugin_api.hookspecs import Register, hookimpl
from punchbridge.plugin_api.targets import (
    Batch,
    CredentialsError,
    Employee,
    FatalTargetError,
    HeldRecord,
    Outcome,
    RateLimited,
    Record,
    Target,
    TransientError,
    retry_after_seconds,
)
from punchbridge.plugins.csv_drop import settings_of

__all__ = ["OdooReplyError", "OdooSettings", "OdooTarget", "register_targets"]

log = logging.getLogger(__name__)

#: Odoo's datetime format (naive UTC).
ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"
#: The first Odoo version with the JSON-2 API.
JSON2_SINCE = 19
#: The longest Retry-After punchbridge honours (seconds); a longer one is treated as this.
MAX_RETRY_AFTER = 300.0
#: Attendance records per page when reading back (a month of a large site is tens of thousands).
READ_BACK_PAGE = 2000
#: The longest text of Odoo's taken into a message or dead letter.
MAX_MESSAGE = 500
#: Methods whose refusal belongs to the records sent (a dead letter), not to the whole run.
_WRITES = frozenset({"create", "write", "unlink"})
_EMPLOYEE_FIELDS = ["id", "name", "barcode", "pin", "work_email", "department_id", "company_id", "active", "write_date"]
_KEY_FIELD = {"id": "id", "barcode": "barcode", "pin": "pin", "work_email": "work_email"}
_T = TypeVar("_T")


class OdooSettings(BaseModel):
    """Settings of an `odoo` target (see docs/plugins/odoo.md). `api_key` comes from `${VARIABLE}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    database: str = Field(min_length=1)
    login: str | None = Field(default=None, min_length=1)
    api_key: SecretStr
    protocol: Literal["auto", "xmlrpc", "jsonrpc", "json2"] = "auto"
    employee_by: Literal["id", "barcode", "pin", "work_email"] = "id"
    timezone: str = "UTC"
    timeout: float = Field(default=30.0, gt=0, le=600)
    concurrency: int = Field(default=4, ge=1, le=16)
    page_size: int = Field(default=200, ge=1, le=5000)

    @field_validator("url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _key_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("api_key is empty; set it from the environment, e.g. api_key: ${ODOO_API_KEY}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Kolkata") from None
        return value

    @model_validator(mode="after")
    def _login_for_rpc(self) -> OdooSettings:
        if self.protocol in ("xmlrpc", "jsonrpc") and self.login is None:
            raise ValueError(f"protocol {self.protocol} logs in: set `login` (the Odoo user the API key belongs to)")
        return self


class OdooReplyError(FatalTargetError):
    """The server's reply is not what Odoo sends (an HTML page, a broken body, a missing field)."""


class _Refused(Exception):
    """Odoo refused what was sent (a ValidationError or similar): the records' fault, not the run's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _BadRecord(Exception):
    """A record that cannot become attendance intervals; its text is the dead letter's message."""


@dataclass
class _Held:
    """An hr.attendance Odoo holds: its id, employee and naive-UTC times."""

    id: int
    employee: int
    check_in: datetime
    check_out: datetime | None


@dataclass
class _Day:
    """One record as the intervals of one employee-day, and what push did with it."""

    key: str
    employee_key: str
    work_date: date
    wanted: list[tuple[datetime, datetime | None]]  # naive UTC, by check-in
    start: datetime  # the local day as naive UTC, widened to hold every wanted check-in
    end: datetime
    base: tuple[datetime, datetime]  # the local day itself
    employee: int = 0
    held: list[_Held] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    error: str | None = None


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


def _show(value: Any) -> str:
    """A value for a message, never more than 60 characters."""
    return _clip(repr(value), 60)


def _odoo_text(value: datetime) -> str:
    return value.strftime(ODOO_DATETIME)


def _setting(settings: BaseModel | Mapping[str, Any], name: str, default: Any) -> Any:
    if isinstance(settings, BaseModel):
        return getattr(settings, name, default)
    return settings.get(name, default) if isinstance(settings, Mapping) else default


class OdooTarget(Target):
    """Delivers employee-days to hr.attendance; pulls hr.employee; reads attendance back (module doc)."""

    max_batch_size = 1000
    settings_model: ClassVar[type[BaseModel] | None] = OdooSettings
    capabilities: ClassVar[frozenset[str]] = frozenset({"push_attendance", "pull_employees", "read_back"})

    def __init__(self, name: str, settings: BaseModel | Mapping[str, Any]) -> None:
        super().__init__(name, settings)
        self.config: OdooSettings = settings_of(OdooSettings, settings)
        self.settings = self.config
        self.zone = ZoneInfo(self.config.timezone)
        self.protocol: str | None = None
        self._client: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._uid: int | None = None
        self._request_ids = itertools.count(1)
        self._directory: dict[str, list[int]] | None = None  # employee key -> hr.employee ids
        self._key_of: dict[int, str] = {}
        self._looked_up: set[str] = set()
        self._warned_offset = False
        self._offsets_checked: set[tuple[timedelta, date]] = set()
        self._midnights: dict[date, datetime] = {}

    def describe(self) -> str:
        """`odoo NAME -> URL (database DB)`; never the key."""
        return f"odoo {self.name} -> {self.config.url} (database {self.config.database})"

    @property
    def _where(self) -> str:
        return f"target {self.name} ({self.config.url})"

    # -- columns ----------------------------------------------------------------------------------

    @classmethod
    def check_columns(cls, columns: Sequence[str], settings: BaseModel | Mapping[str, Any]) -> list[str]:
        """Problems of a mapping for Odoo: `employee`, then `check_in` + `check_out` or `intervals`."""
        names = set(columns)
        by = _setting(settings, "employee_by", "id")
        problems = []
        if "employee" not in names:
            problems.append(
                f"no column `employee`: Odoo needs each day's employee, as the hr.employee {by} (employee_by: "
                f"{by}), in a column named `employee`; map it `from: target_id` with an id table"
            )
        pair = sorted(names & {"check_in", "check_out"})
        if "intervals" in names and pair:
            problems.append(
                f"columns `intervals` and `{'`, `'.join(pair)}` together: use `check_in` + `check_out` (one "
                "interval a day) or `intervals` (every interval of the day), not both"
            )
        elif "intervals" not in names and "check_in" not in names:
            problems.append(
                "no column `check_in`: map `check_in` from first_in and `check_out` from last_out (one interval a "
                "day), or `intervals` from intervals (every interval of the day)"
            )
        elif "intervals" not in names and "check_out" not in names:
            problems.append("no column `check_out`: map it from last_out (an empty value leaves the interval open)")
        return problems

    # -- connection -------------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, choose the protocol (`auto`: by the server's version) and check the credentials."""
        if self._client is not None:
            return
        concurrency = self.config.concurrency
        self._client = httpx.Client(
            base_url=self.config.url,
            timeout=httpx.Timeout(self.config.timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": f"punchbridge/{__version__}"},
        )
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"odoo-{self.name}")
        try:
            self.protocol = self._choose_protocol()
            self._log_in()
        except BaseException:
            self.close()
            raise
        log.info("%s: connected with %s as uid %s", self._where, self.protocol, self._uid)

    def close(self) -> None:
        """Close the connection pool (safe to call twice)."""
        client, pool = self._client, self._pool
        self._client = self._pool = None
        if pool is not None:
            pool.shutdown(wait=True)
        if client is not None:
            client.close()

    def _choose_protocol(self) -> str:
        if self.config.protocol != "auto":
            return self.config.protocol
        major = self._server_version()
        chosen = "json2" if major >= JSON2_SINCE else "jsonrpc"
        log.info("%s: Odoo %s, using %s", self._where, major, chosen)
        return chosen

    def _server_version(self) -> int:
        """The server's major version, from `/web/webclient/version_info` (else `/web/version`)."""
        what = "the version query (/web/webclient/version_info)"
        body = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": next(self._request_ids)}
        response = self._send("/web/webclient/version_info", what, json=body, missing_ok=True)
        if response.status_code == 404:
            what = "the version query (/web/version)"
            response = self._send("/web/version", what, method="GET")
            info = self._json(response, what)
            info = info.get("version_info") if isinstance(info, dict) else None
        else:
            result = self._rpc_result(response, what)
            info = result.get("server_version_info") if isinstance(result, dict) else None
        found = re.search(r"\d+", str(info[0])) if isinstance(info, list) and info else None
        if found is None:
            raise OdooReplyError(f"{self._where}: the reply to {what} names no version: {_show(info)}")
        return int(found.group())

    def _log_in(self) -> None:
        if self.protocol == "json2":
            context = self._call("res.users", "context_get", {})
            if not isinstance(context, dict):
                raise OdooReplyError(f"{self._where}: res.users.context_get answered {_show(context)}, not an object")
            self._uid = context.get("uid") if isinstance(context.get("uid"), int) else None
            return
        if self.config.login is None:
            raise FatalTargetError(
                f"{self._where}: Odoo {self.protocol} needs `login` (the user the API key belongs to); set it, or "
                "use protocol: json2 on Odoo 19 and later"
            )
        key = self.config.api_key.get_secret_value()
        uid = self._rpc("common", "authenticate", [self.config.database, self.config.login, key, {}], "login")
        if uid is False:
            raise CredentialsError(
                f"{self._where}: Odoo refused the login {self.config.login!r} with this api_key on database "
                f"{self.config.database!r}; check login and api_key (a key from the user's Preferences > Account "
                "Security)"
            )
        if not isinstance(uid, int) or isinstance(uid, bool):
            raise OdooReplyError(f"{self._where}: the login answered {_show(uid)}, not a user id")
        self._uid = uid

    # -- the wire ---------------------------------------------------------------------------------

    def _send(
        self, path: str, what: str, *, method: str = "POST", missing_ok: bool = False, **request: Any
    ) -> httpx.Response:
        """One HTTP request; network trouble, throttling and gateway errors raised as what to do next."""
        if self._client is None:
            self.open()
        assert self._client is not None
        try:
            response = self._client.request(method, path, **request)
        except httpx.TimeoutException:
            raise TransientError(f"{self._where}: {what} timed out after {self.config.timeout:g} s") from None
        except httpx.DecodingError as exc:
            raise OdooReplyError(f"{self._where}: the reply to {what} cannot be decoded: {_clip(str(exc))}") from None
        except httpx.RequestError as exc:
            raise TransientError(f"{self._where}: {what} failed: {type(exc).__name__}: {_clip(str(exc))}") from None
        status = response.status_code
        if 300 <= status < 400:
            location = _clip(response.headers.get("location", "nowhere"), 200)
            raise FatalTargetError(
                f"{self._where}: {what}: the server redirects ({status}) to {location}; set `url` to the address "
                "Odoo answers on (https, the final host)"
            )
        if status == 429 or (status == 503 and "retry-after" in response.headers):
            wait = _retry_after(response)
            raise RateLimited(f"{self._where}: {what}: Odoo answered {status} (slow down)", retry_after=wait)
        if status in (502, 503, 504):
            raise TransientError(f"{self._where}: {what}: Odoo answered {status} {response.reason_phrase}")
        if status == 404 and missing_ok:
            return response
        if self.protocol != "json2" or not path.startswith("/json/2/"):
            if status == 401:
                raise CredentialsError(f"{self._where}: {what}: the server answered 401 Unauthorized")
            if status == 404:
                raise FatalTargetError(
                    f"{self._where}: {what}: no such endpoint ({path} answered 404); check `url` (the address of "
                    "the Odoo server, without /web or /odoo)"
                )
            if status >= 500:
                raise TransientError(f"{self._where}: {what}: Odoo answered {status} {response.reason_phrase}")
            if status != 200:
                raise FatalTargetError(f"{self._where}: {what}: Odoo answered {status} {response.reason_phrase}")
        return response

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise OdooReplyError(
                f"{self._where}: the reply to {what} is not JSON ({response.headers.get('content-type', 'no type')}"
                f", starting {_show(response.text[:60])})"
            ) from None

    def _rpc(self, service: str, method: str, args: list[Any], what: str) -> Any:
        """One XML-RPC or JSON-RPC call to `service.method`."""
        if self.protocol == "xmlrpc":
            call = xmlrpc.client.dumps(tuple(args), methodname=method, allow_none=True)
            response = self._send(f"/xmlrpc/2/{service}", what, content=call, headers={"Content-Type": "text/xml"})
            try:
                (result,), _ = xmlrpc.client.loads(response.content, use_builtin_types=True)
            except xmlrpc.client.Fault as fault:
                raise self._fault(fault, what) from None
            except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError):
                raise OdooReplyError(
                    f"{self._where}: the reply to {what} (/xmlrpc/2/{service}) is not XML-RPC (starting "
                    f"{_show(response.text[:60])})"
                ) from None
            return result
        payload = {"service": service, "method": method, "args": args}
        body = {"jsonrpc": "2.0", "method": "call", "params": payload, "id": next(self._request_ids)}
        return self._rpc_result(self._send("/jsonrpc", what, json=body), what)

    def _rpc_result(self, response: httpx.Response, what: str) -> Any:
        reply = self._json(response, what)
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise OdooReplyError(f"{self._where}: the reply to {what} is not JSON-RPC: {_show(reply)}")
        if "error" in reply:
            error: dict[str, Any] = reply["error"] if isinstance(reply["error"], dict) else {}
            data: dict[str, Any] = error["data"] if isinstance(error.get("data"), dict) else {}
            if error.get("code") == 100:
                raise CredentialsError(f"{self._where}: {what}: Odoo says the session expired")
            message = data.get("message") or error.get("message") or "no message"
            raise self._odoo_error(str(data.get("name", "")), str(message), what)
        return reply["result"]

    def _fault(self, fault: xmlrpc.client.Fault, what: str) -> Exception:
        text = str(fault.faultString)
        if fault.faultCode == 3:
            return self._odoo_error("odoo.exceptions.AccessDenied", text, what)
        if fault.faultCode == 4:
            return self._odoo_error("odoo.exceptions.AccessError", text, what)
        if fault.faultCode == 2:
            return self._odoo_error("odoo.exceptions.UserError", text, what)
        # Code 1 carries a traceback: its last "Name: message" line says what went wrong.
        found = list(re.finditer(r"^([A-Za-z_][\w.]*(?:Error|Exception|Denied|Warning|Failure)): ", text, re.M))
        if not found:
            return self._odoo_error("", text, what)
        name = found[-1].group(1)
        return self._odoo_error(name if "." in name else f"builtins.{name}", text[found[-1].end() :], what)

    def _odoo_error(self, name: str, message: str, what: str) -> Exception:
        """The error an Odoo exception means for punchbridge (the record's, the run's, the login's)."""
        short = name.rsplit(".", 1)[-1]
        message = _clip(message)
        if short == "AccessDenied":
            return CredentialsError(
                f"{self._where}: {what}: Odoo refused the credentials ({message}); check login and api_key"
            )
        if short == "AccessError":
            return FatalTargetError(
                f"{self._where}: {what}: Odoo refused access: {message}. The Odoo user needs the Attendances "
                "Officer (or Administrator) right on the employees' companies"
            )
        if short in ("ValidationError", "UserError", "MissingError", "ValueError", "TypeError", "RedirectWarning"):
            return _Refused(message)
        if "does not exist" in message and "database" in message:
            return FatalTargetError(f"{self._where}: {message}; check `database`")
        if short in ("SerializationFailure", "ConcurrencyError", "LockNotAvailable", "TransactionRollbackError"):
            return TransientError(f"{self._where}: {what}: Odoo had a concurrent update ({message})")
        return FatalTargetError(f"{self._where}: {what}: Odoo failed: {name or 'error'}: {message}")

    def _json2(self, model: str, method: str, params: dict[str, Any], ids: list[int] | None, what: str) -> Any:
        body = dict(params) if ids is None else {"ids": ids, **params}
        headers = {
            "Authorization": f"bearer {self.config.api_key.get_secret_value()}",
            "X-Odoo-Database": self.config.database,
        }
        path = f"/json/2/{model}/{method}"
        response = self._send(path, what, json=body, headers=headers)
        if response.status_code == 200:
            return self._json(response, what)
        status = response.status_code
        try:
            error = response.json()
        except ValueError:
            error = None
        name = str(error.get("name", "")) if isinstance(error, dict) else ""
        message = str(error.get("message", "")) if isinstance(error, dict) else _clip(response.text, 120)
        if status == 401:
            raise CredentialsError(f"{self._where}: {what}: Odoo refused the api_key (401 {_clip(message, 120)})")
        if status == 404 and not name.startswith("odoo.exceptions."):
            raise FatalTargetError(
                f"{self._where}: {what}: {path} answered 404 ({_clip(message, 120)}); JSON-2 needs Odoo 19 or "
                "later with the Attendances app, and `database` must be right (protocol: auto chooses for you)"
            )
        if name.startswith("odoo.exceptions.") or (status == 500 and name):
            raise self._odoo_error(name, message, what)
        if status == 422:
            raise FatalTargetError(f"{self._where}: {what}: Odoo did not take the arguments: {_clip(message)}")
        if status >= 500:
            raise TransientError(f"{self._where}: {what}: Odoo answered {status} {response.reason_phrase}")
        raise FatalTargetError(f"{self._where}: {what}: Odoo answered {status}: {_clip(message)}")

    def _call(self, model: str, method: str, params: dict[str, Any], ids: list[int] | None = None) -> Any:
        """One ORM call with named parameters (`ids` first for record methods), in the chosen protocol."""
        what = f"{model}.{method}"
        try:
            if self.protocol == "json2":
                return self._json2(model, method, params, ids, what)
            key = self.config.api_key.get_secret_value()
            positional = [ids] if ids is not None else []
            args = [self.config.database, self._uid, key, model, method, positional, params]
            return self._rpc("object", "execute_kw", args, what)
        except _Refused as refused:
            if method in _WRITES:
                raise
            raise FatalTargetError(f"{self._where}: {what}: Odoo refused the query: {refused.message}") from None

    # -- push -------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> list[Outcome]:
        """Make Odoo hold each record's intervals: dedup, then unlink, write and one create (module doc)."""
        columns = list(batch.columns) or (list(batch.records[0].fields) if batch.records else [])
        problems = self.check_columns(columns, self.config)
        if problems:
            raise FatalTargetError(f"{self._where}: the mapping does not fit Odoo: " + "; ".join(problems))
        if not batch.records:
            return []
        self.open()
        days, outcomes = self._days(batch.records)
        self._resolve(days)
        self._attach_held(days)
        unlink, writes, creates = self._plan(days)
        self._unlink(unlink)
        self._write(writes)
        self._create(creates)
        refused = sum(1 for d in days if d.error)
        log.info(
            "%s: batch %s: %d days, %d intervals created, %d written, %d removed, %d refused",
            self._where,
            batch.batch_id,
            len(days),
            len(creates),
            len(writes),
            len(unlink),
            refused,
        )
        for day in days:
            if day.error is not None:
                outcomes.append(Outcome(day.key, ok=False, message=day.error))
            else:
                remote = "hr.attendance:" + ",".join(map(str, day.ids)) if day.ids else None
                outcomes.append(Outcome(day.key, ok=True, remote_id=remote))
        return outcomes

    def _days(self, records: Sequence[Record]) -> tuple[list[_Day], list[Outcome]]:
        """Each record as a `_Day`; refusals for records that cannot be intervals or repeat a day."""
        days: dict[str, _Day] = {}
        first_fields: dict[str, Mapping[str, Any]] = {}
        outcomes: list[Outcome] = []
        conflicting: set[str] = set()
        for record in records:
            if record.key in first_fields:
                if dict(record.fields) != dict(first_fields[record.key]):
                    conflicting.add(record.key)
                continue
            first_fields[record.key] = record.fields
            try:
                days[record.key] = self._day(record)
            except _BadRecord as exc:
                outcomes.append(Outcome(record.key, ok=False, message=str(exc)))
        for key in conflicting:
            days.pop(key, None)
            outcomes = [o for o in outcomes if o.key != key]
            outcomes.append(
                Outcome(key, ok=False, message=f"record {key} is in the batch twice, with different fields")
            )
        by_day: dict[tuple[str, date], list[_Day]] = {}
        for day in days.values():
            by_day.setdefault((day.employee_key, day.work_date), []).append(day)
        for (employee, work_date), same in by_day.items():
            if len(same) > 1:
                keys = ", ".join(d.key for d in same)
                for day in same:
                    day.error = (
                        f"records {keys} are all for employee {employee!r} on {work_date}: Odoo holds one set of "
                        "intervals per employee and day; check the id table (two terminal ids for one employee?)"
                    )
        return list(days.values()), outcomes

    def _day(self, record: Record) -> _Day:
        fields = record.fields
        employee = fields.get("employee")
        if isinstance(employee, bool) or not isinstance(employee, str | int) or not str(employee).strip():
            raise _BadRecord(f"record {record.key}: column `employee` holds {_show(employee)}, not an employee key")
        employee_key = str(employee).strip()
        if len(employee_key) > 200:
            raise _BadRecord(f"record {record.key}: column `employee` holds {len(employee_key)} characters")
        if self.config.employee_by == "id" and not re.fullmatch(r"[1-9]\d{0,9}", employee_key):
            raise _BadRecord(
                f"record {record.key}: employee {_show(employee_key)} is not an hr.employee id (a number); with "
                "barcodes, pins or e-mails in the id table set employee_by accordingly"
            )
        if "intervals" in fields:
            texts = _interval_texts(fields["intervals"], record.key)
        else:
            check_in = _optional_text(fields.get("check_in"), "check_in", record.key)
            check_out = _optional_text(fields.get("check_out"), "check_out", record.key)
            if check_out and not check_in:
                raise _BadRecord(
                    f"record {record.key}: check_out {_show(check_out)} without a check_in; Odoo's attendance needs "
                    "a check-in (a missing_in day: fix the punches and the next sync sends it)"
                )
            texts = [(check_in, check_out)] if check_in else []
        wanted: list[tuple[datetime, datetime | None]] = []
        for start_text, end_text in texts:
            start = self._instant(start_text, record.key)
            end = self._instant(end_text, record.key) if end_text else None
            if end is not None and end < start:
                raise _BadRecord(f"record {record.key}: check-out {end_text} is before check-in {start_text}")
            wanted.append((start, end))
        wanted.sort(key=lambda pair: pair[0])
        for (start, end), (next_start, _) in itertools.pairwise(wanted):
            if end is not None and end > next_start:
                raise _BadRecord(f"record {record.key}: intervals starting {start} and {next_start} (UTC) overlap")
        work_date = _work_date(record.key)
        if work_date is None:
            if not wanted:
                raise _BadRecord(f"record {record.key}: no work date in its key and no interval to take one from")
            work_date = wanted[0][0].replace(tzinfo=UTC).astimezone(self.zone).date()
        base = (self._midnight(work_date), self._midnight(work_date + timedelta(days=1)))
        starts = [start for start, _ in wanted]
        start = min([base[0], *starts])
        end = max([base[1], *(s + timedelta(seconds=1) for s in starts)])
        return _Day(record.key, employee_key, work_date, wanted, start, end, base)

    def _instant(self, text: str, key: str) -> datetime:
        """Local ISO-8601 with offset -> naive UTC (Odoo's form), to the second."""
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise _BadRecord(
                f"record {key}: {_show(text)} is not an ISO-8601 time such as 2025-10-06T09:02:00+05:30 (map the "
                "column from first_in, last_out or intervals without a format)"
            ) from None
        offset = value.utcoffset()
        if offset is None:
            raise _BadRecord(f"record {key}: {_show(text)} has no UTC offset, so the instant is unknown")
        seen = (offset, value.date())
        if seen not in self._offsets_checked:
            self._offsets_checked.add(seen)
            if not self._warned_offset and offset != value.astimezone(self.zone).utcoffset():
                self._warned_offset = True
                log.warning(
                    "%s: times such as %s carry another offset than the time zone %s gives; set `timezone` to the "
                    "site's zone, or days are matched and read back in the wrong zone",
                    self._where,
                    text,
                    self.config.timezone,
                )
        return (value - offset).replace(tzinfo=None, microsecond=0)

    def _midnight(self, day: date) -> datetime:
        """The start of local `day` as naive UTC."""
        found = self._midnights.get(day)
        if found is None:
            found = datetime.combine(day, time(), self.zone).astimezone(UTC).replace(tzinfo=None)
            self._midnights[day] = found
        return found

    # -- employees --------------------------------------------------------------------------------

    def _load_directory(self) -> dict[str, list[int]]:
        """Every employee's key (active or archived), fetched once per run: one search_read of two fields."""
        if self._directory is None:
            field_name = _KEY_FIELD[self.config.employee_by]
            rows = self._call(
                "hr.employee",
                "search_read",
                {"domain": [["active", "in", [True, False]]], "fields": ["id", field_name], "order": "id"},
            )
            self._directory = {}
            self._remember(self._rows(rows, "hr.employee.search_read"), field_name)
        return self._directory

    def _remember(self, rows: list[dict[str, Any]], field_name: str) -> None:
        assert self._directory is not None
        for row in rows:
            key = str(row["id"]) if field_name == "id" else _reply_text(row, field_name, self._where)
            if key:
                ids = self._directory.setdefault(key.strip(), [])
                if row["id"] not in ids:
                    ids.append(row["id"])
                self._key_of[row["id"]] = key.strip()

    def _employee_ids(self, keys: set[str]) -> dict[str, list[int]]:
        """The hr.employee ids of `keys`; keys not yet known are looked up once (one search_read)."""
        directory = self._load_directory()
        missing = sorted(k for k in keys if k not in directory and k not in self._looked_up)
        if missing:
            self._looked_up.update(missing)
            field_name = _KEY_FIELD[self.config.employee_by]
            values: list[Any] = [int(k) for k in missing if k.isdigit()] if field_name == "id" else missing
            domain = [[field_name, "in", values], ["active", "in", [True, False]]]
            rows = self._call("hr.employee", "search_read", {"domain": domain, "fields": ["id", field_name]})
            self._remember(self._rows(rows, "hr.employee.search_read"), field_name)
        return {k: directory[k] for k in keys if k in directory}

    def _resolve(self, days: list[_Day]) -> None:
        by = self.config.employee_by
        found = self._employee_ids({d.employee_key for d in days if d.error is None})
        for day in days:
            if day.error is not None:
                continue
            ids = found.get(day.employee_key, [])
            if not ids:
                day.error = f"Odoo has no employee with {by} {day.employee_key!r} (active or archived)"
            elif len(ids) > 1:
                day.error = f"{len(ids)} Odoo employees have {by} {day.employee_key!r} (ids {ids}); make it unique"
            else:
                day.employee = ids[0]

    # -- dedup and the plan -----------------------------------------------------------------------

    def _attach_held(self, days: list[_Day]) -> None:
        """What Odoo holds for the batch's employees and days: one search_read, given to each day."""
        live = [d for d in days if d.error is None]
        if not live:
            return
        domain = [
            ["employee_id", "in", sorted({d.employee for d in live})],
            ["check_in", ">=", _odoo_text(min(d.start for d in live))],
            ["check_in", "<", _odoo_text(max(d.end for d in live))],
        ]
        fields = ["employee_id", "check_in", "check_out"]
        rows = self._call("hr.attendance", "search_read", {"domain": domain, "fields": fields, "order": "id"})
        held: dict[int, list[_Held]] = {}
        for attendance in self._attendance(rows, "hr.attendance.search_read"):
            held.setdefault(attendance.employee, []).append(attendance)
        by_employee: dict[int, list[_Day]] = {}
        for day in live:
            by_employee.setdefault(day.employee, []).append(day)
        for employee, own in by_employee.items():
            pool = held.get(employee, [])
            for day in own:  # an interval that is exactly one the day wants belongs to that day
                starts = {start for start, _ in day.wanted}
                day.held = [h for h in pool if h.check_in in starts]
            claimed = {h.id for d in own for h in d.held}
            for day in own:  # then the rest by the local day its check-in falls in
                day.held += [h for h in pool if h.id not in claimed and day.base[0] <= h.check_in < day.base[1]]

    def _plan(
        self, days: list[_Day]
    ) -> tuple[list[tuple[int, _Day]], list[tuple[int, dict[str, Any], _Day]], list[tuple[dict[str, Any], _Day]]]:
        """Per day: keep matches, at most one write, else unlink what is wrong and create what is missing."""
        unlink: list[tuple[int, _Day]] = []
        writes: list[tuple[int, dict[str, Any], _Day]] = []
        creates: list[tuple[dict[str, Any], _Day]] = []
        for day in days:
            if day.error is not None:
                continue
            held = sorted(day.held, key=lambda h: (h.check_in, h.id))
            kept: list[_Held] = []
            moved: list[tuple[_Held, tuple[datetime, datetime | None]]] = []
            missing: list[tuple[datetime, datetime | None]] = []
            for start, end in day.wanted:
                same = next((h for h in held if h.check_in == start), None)
                if same is None:
                    missing.append((start, end))
                    continue
                held.remove(same)
                if same.check_out == end:
                    kept.append(same)
                else:
                    moved.append((same, (start, end)))
            if len(held) == 1 and len(missing) == 1 and not moved:
                moved.append((held.pop(), missing.pop()))
            if len(moved) > 1:  # several writes could overlap each other on the way: replace instead
                held += [h for h, _ in moved]
                missing += [pair for _, pair in moved]
                moved = []
            day.ids = [h.id for h in kept]
            unlink += [(h.id, day) for h in held]
            for attendance, (start, end) in moved:
                values: dict[str, Any] = {"check_out": _odoo_text(end) if end is not None else False}
                if attendance.check_in != start:
                    values["check_in"] = _odoo_text(start)
                writes.append((attendance.id, values, day))
            for start, end in missing:
                values = {"employee_id": day.employee, "check_in": _odoo_text(start)}
                if end is not None:
                    values["check_out"] = _odoo_text(end)
                creates.append((values, day))
        return unlink, writes, creates

    def _unlink(self, items: list[tuple[int, _Day]]) -> None:
        def send(chunk: list[tuple[int, _Day]]) -> None:
            self._call("hr.attendance", "unlink", {}, ids=[attendance for attendance, _ in chunk])

        self._bisect(items, send, lambda item, message: _refuse(item[1], message))

    def _write(self, items: list[tuple[int, dict[str, Any], _Day]]) -> None:
        def send(item: tuple[int, dict[str, Any], _Day]) -> str | None:
            attendance, values, day = item
            if day.error is not None:
                return None
            try:
                self._call("hr.attendance", "write", {"vals": values}, ids=[attendance])
            except _Refused as refused:
                return refused.message
            day.ids.append(attendance)
            return None

        assert self._pool is not None
        for item, message in zip(items, self._pool.map(send, items), strict=True):
            if message is not None:
                _refuse(item[2], message)

    def _create(self, items: list[tuple[dict[str, Any], _Day]]) -> None:
        items = [item for item in items if item[1].error is None]

        def send(chunk: list[tuple[dict[str, Any], _Day]]) -> None:
            ids = self._call("hr.attendance", "create", {"vals_list": [values for values, _ in chunk]})
            if not isinstance(ids, list) or len(ids) != len(chunk) or not all(_is_id(i) for i in ids):
                raise OdooReplyError(
                    f"{self._where}: hr.attendance.create of {len(chunk)} records answered {_show(ids)}, not "
                    f"{len(chunk)} ids"
                )
            for (_, day), new_id in zip(chunk, ids, strict=True):
                day.ids.append(new_id)

        self._bisect(items, send, lambda item, message: _refuse(item[1], message))

    def _bisect(self, items: list[_T], send: Callable[[list[_T]], None], refuse: Callable[[_T, str], None]) -> None:
        """Send `items` in one call; when Odoo refuses it, send each half, down to the refused items alone.

        Halves of one round go out side by side (up to `concurrency`); each call is one transaction in
        Odoo, so a refused call stored nothing and its items can be sent again.
        """

        def attempt(chunk: list[_T]) -> str | None:
            try:
                send(chunk)
            except _Refused as refused:
                return refused.message
            return None

        assert self._pool is not None
        pending = [items] if items else []
        while pending:
            following: list[list[_T]] = []
            for chunk, message in zip(pending, self._pool.map(attempt, pending), strict=True):
                if message is None:
                    continue
                if len(chunk) == 1:
                    refuse(chunk[0], message)
                else:
                    middle = len(chunk) // 2
                    following += [chunk[:middle], chunk[middle:]]
            pending = following

    # -- replies ----------------------------------------------------------------------------------

    def _rows(self, value: Any, what: str) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise OdooReplyError(f"{self._where}: {what} answered {_show(value)}, not a list of records")
        for index, row in enumerate(value):
            if not isinstance(row, dict) or not _is_id(row.get("id")):
                raise OdooReplyError(f"{self._where}: {what}: record {index} is {_show(row)}, not a record with an id")
        return value

    def _attendance(self, value: Any, what: str) -> list[_Held]:
        found = []
        for index, row in enumerate(self._rows(value, what)):
            employee: Any = row.get("employee_id")
            if isinstance(employee, list) and employee:
                employee = employee[0]
            if not _is_id(employee):
                raise OdooReplyError(f"{self._where}: {what}: record {index} has employee_id {_show(employee)}")
            check_in = _reply_time(row, "check_in", f"{self._where}: {what}: record {index}")
            if check_in is None:
                raise OdooReplyError(f"{self._where}: {what}: record {index} has no check_in")
            check_out = _reply_time(row, "check_out", f"{self._where}: {what}: record {index}")
            found.append(_Held(row["id"], employee, check_in, check_out))
        return found

    # -- employee pull ----------------------------------------------------------------------------

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        """Every hr.employee, leavers too, paged by `page_size` to the end; `since`: changed after it.

        `target_id` is the employee's key as `employee_by` names it (the id by default), so it matches
        the mapping's id table; employees without that key are left out (logged), since no mapping can
        address them. `extra["odoo_id"]` is always the hr.employee id.
        """
        self.open()
        domain: list[Any] = [["active", "in", [True, False]]]
        if since is not None:
            moment = since.astimezone(UTC) if since.tzinfo is not None else since
            domain.append(["write_date", ">", _odoo_text(moment.replace(tzinfo=None))])
        page = self.config.page_size
        offset = left_out = 0
        while True:
            params = {"domain": domain, "fields": _EMPLOYEE_FIELDS, "offset": offset, "limit": page, "order": "id"}
            rows = self._rows(self._call("hr.employee", "search_read", params), "hr.employee.search_read")
            for row in rows:
                employee = self._employee(row)
                if employee is None:
                    left_out += 1
                else:
                    yield employee
            if len(rows) < page:
                break
            offset += page
        if left_out:
            log.warning(
                "%s: %d employees have no %s and were left out of the pull",
                self._where,
                left_out,
                self.config.employee_by,
            )

    def _employee(self, row: dict[str, Any]) -> Employee | None:
        where = f"{self._where}: hr.employee {row['id']}"
        texts = {name: _reply_text(row, name, where) for name in ("name", "barcode", "pin", "work_email")}
        by = self.config.employee_by
        key = str(row["id"]) if by == "id" else texts[_KEY_FIELD[by]]
        if not key:
            return None
        active = row.get("active", True)
        if not isinstance(active, bool):
            raise OdooReplyError(f"{where}: active is {_show(active)}, not true or false")
        changed = _reply_time(row, "write_date", where)
        return Employee(
            target_id=key.strip(),
            name=texts["name"] or "",
            active=active,
            email=texts["work_email"],
            badge=texts["barcode"],
            pin=texts["pin"],
            department=_reply_name(row, "department_id", where),
            site=_reply_name(row, "company_id", where),
            modified_at=changed.replace(tzinfo=UTC) if changed is not None else None,
            extra={"odoo_id": row["id"]},
        )

    # -- read-back --------------------------------------------------------------------------------

    def read_back(self, start: date, end: date, employees: Sequence[str] | None = None) -> Iterator[HeldRecord]:
        """What Odoo holds per employee and local day (in `timezone`), in the mapping's local ISO form.

        Each day gives `check_in` (first check-in), `check_out` (last check-out of a closed interval,
        empty if none) and `intervals` (every pair, `start/end;start/`), so a mapping of either
        convention compares like with like.
        """
        self.open()
        domain: list[Any] = [
            ["check_in", ">=", _odoo_text(self._midnight(start))],
            ["check_in", "<", _odoo_text(self._midnight(end + timedelta(days=1)))],
        ]
        if employees is not None:
            found = self._employee_ids({str(e).strip() for e in employees})
            ids = sorted({i for matches in found.values() for i in matches})
            if not ids:
                return
            domain.append(["employee_id", "in", ids])
        self._load_directory()
        grouped: dict[tuple[str, date], list[_Held]] = {}
        page, offset, unknown = READ_BACK_PAGE, 0, set()
        fields = ["employee_id", "check_in", "check_out"]
        while True:
            params = {"domain": domain, "fields": fields, "offset": offset, "limit": page, "order": "id"}
            rows = self._call("hr.attendance", "search_read", params)
            held = self._attendance(rows, "hr.attendance.search_read")
            for attendance in held:
                key = self._key_of.get(attendance.employee)
                if key is None:
                    unknown.add(attendance.employee)
                    continue
                local_day = self._local(attendance.check_in).date()
                grouped.setdefault((key, local_day), []).append(attendance)
            if len(held) < page:
                break
            offset += page
        if unknown:
            log.warning(
                "%s: attendance of %d employees without a %s was not read back",
                self._where,
                len(unknown),
                self.config.employee_by,
            )
        for (key, day), intervals in sorted(grouped.items()):
            intervals.sort(key=lambda h: (h.check_in, h.id))
            closed = [h.check_out for h in intervals if h.check_out is not None]
            pairs = ";".join(
                f"{self._local(h.check_in).isoformat()}/{self._local(h.check_out).isoformat() if h.check_out else ''}"
                for h in intervals
            )
            fields_held = {
                "check_in": self._local(intervals[0].check_in).isoformat(),
                "check_out": self._local(max(closed)).isoformat() if closed else "",
                "intervals": pairs,
            }
            remote = "hr.attendance:" + ",".join(str(h.id) for h in intervals)
            yield HeldRecord(employee=key, work_date=day, fields=fields_held, remote_id=remote)

    def _local(self, moment: datetime) -> datetime:
        return moment.replace(tzinfo=UTC).astimezone(self.zone)


# -- helpers --------------------------------------------------------------------------------------


def _refuse(day: _Day, message: str) -> None:
    if day.error is None:
        day.error = f"Odoo: {message}"


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _work_date(key: str) -> date | None:
    """The work date in an engine record key (`EMPLOYEE|YYYY-MM-DD|day`), or None."""
    parts = key.rsplit("|", 2)
    if len(parts) != 3:
        return None
    try:
        return date.fromisoformat(parts[1])
    except ValueError:
        return None


def _optional_text(value: Any, column: str, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _BadRecord(f"record {key}: column `{column}` holds {_show(value)}, not an ISO-8601 time or empty")
    return value.strip()


def _interval_texts(value: Any, key: str) -> list[tuple[str, str]]:
    """`start/end;start/` as text pairs (an empty end: open)."""
    text = _optional_text(value, "intervals", key)
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        start, slash, end = part.partition("/")
        if not slash or not start.strip():
            raise _BadRecord(f"record {key}: interval {_show(part)} is not `start/end` (or `start/` when open)")
        pairs.append((start.strip(), end.strip()))
    return pairs


def _retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (a number or an HTTP date), capped; None if absent or unreadable."""
    return retry_after_seconds(response.headers.get("retry-after"), MAX_RETRY_AFTER)


def _reply_text(row: dict[str, Any], name: str, where: str) -> str | None:
    """A char field of a reply: text, or None for Odoo's False."""
    value = row.get(name, False)
    if value is False or value is None:
        return None
    if not isinstance(value, str):
        raise OdooReplyError(f"{where}: {name} is {_show(value)}, not text")
    return value


def _reply_name(row: dict[str, Any], name: str, where: str) -> str | None:
    """The display name of a many2one field of a reply (`[id, name]` or False)."""
    value = row.get(name, False)
    if value is False or value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and _is_id(value[0]) and isinstance(value[1], str)):
        raise OdooReplyError(f"{where}: {name} is {_show(value)}, not [id, name]")
    return value[1]


def _reply_time(row: dict[str, Any], name: str, where: str) -> datetime | None:
    """A datetime field of a reply as naive UTC, or None for False."""
    value = row.get(name, False)
    if value is False or value is None:
        return None
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise OdooReplyError(f"{where}: {name} is {_show(value)}, not a time such as 2025-10-06 03:32:00")


@hookimpl
def register_targets(register: Register) -> None:
    """Register `odoo`."""
    register("odoo", OdooTarget)
