"""Odoo's three protocols as the `odoo` target speaks them: one ORM call, and what Odoo's answers mean.

XML-RPC and JSON-RPC (`/xmlrpc/2`, `/jsonrpc`: log in with `common.authenticate`, then
`object.execute_kw` with the uid and API key) and, from Odoo 19, JSON-2 (`/json/2/{model}/{method}`,
the API key as bearer token, named arguments only). `protocol: auto` asks the server its version and
uses JSON-2 from 19 on, JSON-RPC before.

What Odoo answers becomes what the engine does next:

| Odoo answers | becomes |
|---|---|
| 429, or 503 with Retry-After | `RateLimitedError` (Retry-After up to 300 s) |
| 502, 503, 504, a concurrent update (`SerializationFailure` ...) | `TransientError` |
| a redirect | `FatalTargetError` naming where the server points |
| `AccessDenied`, 401, an expired session | `CredentialsError` |
| `AccessError` | `FatalTargetError`: the user lacks the Attendances right |
| `ValidationError`, `UserError` ... to a write | `RefusedError`: the records' dead letters, with Odoo's words |
| the same to a query | `FatalTargetError` naming the query |
| not Odoo's reply (an HTML page, a broken body) | `TargetReplyError` naming the call |

The API key travels in the call (RPC) or the Authorization header (JSON-2), never in a message.
"""

from __future__ import annotations

import itertools
import logging
import re
from typing import TYPE_CHECKING, Any
from xml.parsers.expat import ExpatError

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    HttpConnection,
    RefusedError,
    TargetReplyError,
    TransientError,
    clip,
    throttling_error,
)
from punchbridge.plugins.odoo.settings import OdooSettings

if TYPE_CHECKING:
    import xmlrpc.client

    import httpx

__all__ = ["JSON2_SINCE", "OdooRpc", "shown"]

log = logging.getLogger("punchbridge.plugins.odoo")

#: The first Odoo version with the JSON-2 API.
JSON2_SINCE = 19
#: Methods whose refusal belongs to the records sent (a dead letter), not to the whole run.
_WRITES = frozenset({"create", "write", "unlink"})


def shown(value: Any) -> str:
    """A value for a message, never more than 60 characters."""
    return clip(repr(value), 60)


class OdooRpc:
    """ORM calls to one Odoo database over the target's connection, in the protocol chosen by `connect`."""

    def __init__(self, http: HttpConnection, settings: OdooSettings) -> None:
        self.http, self.settings, self.where = http, settings, http.where
        self.protocol: str | None = None
        self.uid: int | None = None
        self._major: int | None = None
        self._request_ids = itertools.count(1)

    # -- connecting -------------------------------------------------------------------------------

    def connect(self) -> None:
        """Choose the protocol (`auto`: by the server's version) and check the credentials."""
        self.protocol = self._choose_protocol()
        self._log_in()
        log.info("%s: connected with %s as uid %s", self.where, self.protocol, self.uid)

    def _choose_protocol(self) -> str:
        if self.settings.protocol != "auto":
            return self.settings.protocol
        major = self.server_major()
        chosen = "json2" if major >= JSON2_SINCE else "jsonrpc"
        log.info("%s: Odoo %s, using %s", self.where, major, chosen)
        return chosen

    def server_major(self) -> int:
        """The server's major version (asked once: `protocol: auto` asks it anyway)."""
        if self._major is None:
            self._major = self._server_version()
        return self._major

    def _server_version(self) -> int:
        """The server's major version, from `/web/webclient/version_info` (else `/web/version`)."""
        what = "the version query (/web/webclient/version_info)"
        body = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": next(self._request_ids)}
        response = self._send("/web/webclient/version_info", what, json=body, missing_ok=True)
        if response.status_code == 404:
            what = "the version query (/web/version)"
            response = self._send("/web/version", what, method="GET")
            info = self.http.json(response, what)
            info = info.get("version_info") if isinstance(info, dict) else None
        else:
            result = self._rpc_result(response, what)
            info = result.get("server_version_info") if isinstance(result, dict) else None
        found = re.search(r"\d+", str(info[0])) if isinstance(info, list) and info else None
        if found is None:
            raise TargetReplyError(f"{self.where}: the reply to {what} names no version: {shown(info)}")
        return int(found.group())

    def _log_in(self) -> None:
        settings = self.settings
        if self.protocol == "json2":
            context = self.call("res.users", "context_get", {})
            if not isinstance(context, dict):
                raise TargetReplyError(f"{self.where}: res.users.context_get answered {shown(context)}, not an object")
            self.uid = context.get("uid") if isinstance(context.get("uid"), int) else None
            return
        if settings.login is None:
            raise FatalTargetError(
                f"{self.where}: Odoo {self.protocol} needs `login` (the user the API key belongs to); set it, or "
                "use protocol: json2 on Odoo 19 and later"
            )
        key = settings.api_key.get_secret_value()
        uid = self._rpc("common", "authenticate", [settings.database, settings.login, key, {}], "login")
        if uid is False:
            raise CredentialsError(
                f"{self.where}: Odoo refused the login {settings.login!r} with this api_key on database "
                f"{settings.database!r}; check login and api_key (a key from the user's Preferences > Account "
                "Security)"
            )
        if not isinstance(uid, int) or isinstance(uid, bool):
            raise TargetReplyError(f"{self.where}: the login answered {shown(uid)}, not a user id")
        self.uid = uid

    # -- one call ---------------------------------------------------------------------------------

    def call(self, model: str, method: str, params: dict[str, Any], ids: list[int] | None = None) -> Any:
        """One ORM call with named parameters (`ids` first for record methods), in the chosen protocol.

        Odoo's refusal of a write is a `RefusedError` (the records' dead letters); of a query, a
        FatalTargetError naming it.
        """
        what = f"{model}.{method}"
        try:
            if self.protocol == "json2":
                return self._json2(model, method, params, ids, what)
            key = self.settings.api_key.get_secret_value()
            positional = [ids] if ids is not None else []
            args = [self.settings.database, self.uid, key, model, method, positional, params]
            return self._rpc("object", "execute_kw", args, what)
        except RefusedError as refused:
            if method in _WRITES:
                raise
            raise FatalTargetError(f"{self.where}: {what}: Odoo refused the query: {refused.message}") from None

    def _send(
        self, path: str, what: str, *, method: str = "POST", missing_ok: bool = False, **request: Any
    ) -> httpx.Response:
        """One HTTP request; throttling, gateway errors and (outside JSON-2) other statuses as what to do next."""
        response = self.http.request(method, path, what, **request)
        status = response.status_code
        if 300 <= status < 400:
            location = clip(response.headers.get("location", "nowhere"), 200)
            raise FatalTargetError(
                f"{self.where}: {what}: the server redirects ({status}) to {location}; set `url` to the address "
                "Odoo answers on (https, the final host)"
            )
        if status == 429 or status in (502, 503, 504):  # JSON-2 sends Odoo's own errors as 500: read below
            throttled = throttling_error(response, f"{self.where}: {what}: Odoo", detail=response.reason_phrase)
            assert throttled is not None
            raise throttled
        if status == 404 and missing_ok:
            return response
        if self.protocol != "json2" or not path.startswith("/json/2/"):
            if status == 401:
                raise CredentialsError(f"{self.where}: {what}: the server answered 401 Unauthorized")
            if status == 404:
                raise FatalTargetError(
                    f"{self.where}: {what}: no such endpoint ({path} answered 404); check `url` (the address of "
                    "the Odoo server, without /web or /odoo)"
                )
            if status >= 500:
                raise TransientError(f"{self.where}: {what}: Odoo answered {status} {response.reason_phrase}")
            if status != 200:
                raise FatalTargetError(f"{self.where}: {what}: Odoo answered {status} {response.reason_phrase}")
        return response

    def _rpc(self, service: str, method: str, args: list[Any], what: str) -> Any:
        """One XML-RPC or JSON-RPC call to `service.method`."""
        if self.protocol == "xmlrpc":
            import xmlrpc.client  # here: it brings http.client and email, which the JSON-RPC path never needs

            call = xmlrpc.client.dumps(tuple(args), methodname=method, allow_none=True)
            response = self._send(f"/xmlrpc/2/{service}", what, content=call, headers={"Content-Type": "text/xml"})
            try:
                (result,), _ = xmlrpc.client.loads(response.content, use_builtin_types=True)
            except xmlrpc.client.Fault as fault:
                raise self._fault(fault, what) from None
            except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError):
                raise TargetReplyError(
                    f"{self.where}: the reply to {what} (/xmlrpc/2/{service}) is not XML-RPC (starting "
                    f"{shown(response.text[:60])})"
                ) from None
            return result
        payload = {"service": service, "method": method, "args": args}
        body = {"jsonrpc": "2.0", "method": "call", "params": payload, "id": next(self._request_ids)}
        return self._rpc_result(self._send("/jsonrpc", what, json=body), what)

    def _rpc_result(self, response: httpx.Response, what: str) -> Any:
        reply = self.http.json(response, what)
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise TargetReplyError(f"{self.where}: the reply to {what} is not JSON-RPC: {shown(reply)}")
        if "error" in reply:
            error: dict[str, Any] = reply["error"] if isinstance(reply["error"], dict) else {}
            data: dict[str, Any] = error["data"] if isinstance(error.get("data"), dict) else {}
            if error.get("code") == 100:
                raise CredentialsError(f"{self.where}: {what}: Odoo says the session expired")
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
        message = clip(message)
        if short == "AccessDenied":
            return CredentialsError(
                f"{self.where}: {what}: Odoo refused the credentials ({message}); check login and api_key"
            )
        if short == "AccessError":
            return FatalTargetError(
                f"{self.where}: {what}: Odoo refused access: {message}. The Odoo user needs the Attendances "
                "Officer (or Administrator) right on the employees' companies"
            )
        if short in ("ValidationError", "UserError", "MissingError", "ValueError", "TypeError", "RedirectWarning"):
            return RefusedError(message, reason=name)
        if "does not exist" in message and "database" in message:
            return FatalTargetError(f"{self.where}: {message}; check `database`")
        if short in ("SerializationFailure", "ConcurrencyError", "LockNotAvailable", "TransactionRollbackError"):
            return TransientError(f"{self.where}: {what}: Odoo had a concurrent update ({message})")
        return FatalTargetError(f"{self.where}: {what}: Odoo failed: {name or 'error'}: {message}")

    def _json2(self, model: str, method: str, params: dict[str, Any], ids: list[int] | None, what: str) -> Any:
        body = dict(params) if ids is None else {"ids": ids, **params}
        headers = {
            "Authorization": f"bearer {self.settings.api_key.get_secret_value()}",
            "X-Odoo-Database": self.settings.database,
        }
        path = f"/json/2/{model}/{method}"
        response = self._send(path, what, json=body, headers=headers)
        if response.status_code == 200:
            return self.http.json(response, what)
        status = response.status_code
        try:
            error = response.json()
        except ValueError:
            error = None
        name = str(error.get("name", "")) if isinstance(error, dict) else ""
        message = str(error.get("message", "")) if isinstance(error, dict) else clip(response.text, 120)
        if status == 401:
            raise CredentialsError(f"{self.where}: {what}: Odoo refused the api_key (401 {clip(message, 120)})")
        if status == 404 and not name.startswith("odoo.exceptions."):
            raise FatalTargetError(
                f"{self.where}: {what}: {path} answered 404 ({clip(message, 120)}); JSON-2 needs Odoo 19 or "
                "later with the Attendances app, and `database` must be right (protocol: auto chooses for you)"
            )
        if name.startswith("odoo.exceptions.") or (status == 500 and name):
            raise self._odoo_error(name, message, what)
        if status == 422:
            raise FatalTargetError(f"{self.where}: {what}: Odoo did not take the arguments: {clip(message)}")
        if status >= 500:
            raise TransientError(f"{self.where}: {what}: Odoo answered {status} {response.reason_phrase}")
        raise FatalTargetError(f"{self.where}: {what}: Odoo answered {status}: {clip(message)}")
