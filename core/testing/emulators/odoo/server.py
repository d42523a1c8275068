"""The Odoo emulator's HTTP side: XML-RPC, JSON-RPC and JSON-2 in front of one database, and injected failures.

Routes as odoo/addons/base/controllers/rpc.py serves them: `/xmlrpc/2/<service>` (integer fault
codes), the historical `/xmlrpc/<service>` (string fault codes; what odoo-client-lib calls) and
`/jsonrpc`; `/web/webclient/version_info` (what odoorpc asks first: `exp_version()` before 19.0,
without `protocol_version` from 19.0, addons/web/controllers/webclient.py), `/web/version` (19.0)
and JSON-2 `/json/2/<model>/<method>` (19.0, addons/web/controllers/json2.py).
"""

from __future__ import annotations

import json
import time
import xmlrpc.client
from collections import Counter, deque
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from punchbridge.testing.emulators.logins import LoginFailures
from punchbridge.testing.emulators.odoo.accounts import key_works
from punchbridge.testing.emulators.odoo.domain import now
from punchbridge.testing.emulators.odoo.errors import (
    BadArgumentsError,
    NotFoundError,
    OdooError,
    ServerError,
    as_odoo_error,
    json2_error,
    legacy_fault,
    traceback_text,
)
from punchbridge.testing.emulators.odoo.others import OdooStaff

__all__ = ["OdooEmulator"]


class OdooEmulator(OdooStaff):
    """One Odoo database with `hr.employee` and `hr.attendance`, served by `app` (see the package docstring)."""

    def __init__(
        self,
        version: str = "17.0",
        *,
        database: str = "punchbridge",
        login: str = "integration@example.com",
        api_key: str = "odoo-test-api-key",
    ) -> None:
        super().__init__(version, database=database, login=login, api_key=api_key)
        #: HTTP requests per endpoint ("/jsonrpc", "/xmlrpc/2/object", "/json/2/hr.attendance/create", ...).
        self.requests: Counter[str] = Counter()
        self._canned: deque[tuple[int, bytes, dict[str, str]]] = deque()
        #: The login switch (common.authenticate; res.users/context_get on JSON-2): `logins.fail_next(N, ...)`.
        self.logins = LoginFailures()
        self._rate: tuple[int, float] | None = None
        self._window: deque[float] = deque()
        self.app = Starlette(
            routes=[
                Route("/xmlrpc/2/{service}", self._xmlrpc, methods=["POST"]),
                Route("/xmlrpc/{service}", self._xmlrpc_legacy, methods=["POST"]),
                Route("/jsonrpc", self._jsonrpc, methods=["POST"]),
                Route("/web/webclient/version_info", self._version_info, methods=["POST"]),
                Route("/web/version", self._web_version, methods=["GET"]),
                Route("/json/2/{model}/{method}", self._json2, methods=["POST"]),
            ]
        )

    # -- injected failures ------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503, retry_after: float | None = 1.0) -> None:
        """Answer the next `count` requests with `status` (429/503...) and Retry-After, doing nothing."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        body = f"<html><body><h1>{status}</h1>The server is busy.</body></html>".encode()
        for _ in range(count):
            self._canned.append((status, body, {**headers, "Content-Type": "text/html"}))

    def reply_next(self, body: bytes, *, status: int = 200, content_type: str = "text/html", count: int = 1) -> None:
        """Answer the next `count` requests with this body (a proxy's page, a broken reply), doing nothing."""
        for _ in range(count):
            self._canned.append((status, body, {"Content-Type": content_type}))

    def rate_limit(self, requests: int, per_seconds: float) -> None:
        """Answer 429 with Retry-After to requests beyond `requests` in any `per_seconds` window."""
        self._rate = (requests, per_seconds)

    @property
    def request_count(self) -> int:
        """Every HTTP request received."""
        return sum(self.requests.values())

    # -- HTTP -------------------------------------------------------------------------------------

    def _intercept(self, request: Request) -> Response | None:
        """Count the request; answer it from the injected failures or the rate limit, if any applies."""
        with self.lock:
            self.requests[request.url.path] += 1
            if self._canned:
                status, body, headers = self._canned.popleft()
                return Response(body, status_code=status, headers=headers)
            if self._rate is not None:
                limit, seconds = self._rate
                now = time.monotonic()
                while self._window and self._window[0] <= now - seconds:
                    self._window.popleft()
                if len(self._window) >= limit:
                    wait = max(self._window[0] + seconds - now, 0.01)
                    return Response(b"Too Many Requests", 429, {"Retry-After": f"{wait:.2f}"})
                self._window.append(now)
        return None

    def _login_failure(self, service: str, method: str) -> Response | None:
        """The injected failure of a login (authenticate; on JSON-2, the context_get that checks the key)."""
        if (service, method) in (("common", "authenticate"), ("json2", "res.users.context_get")):
            return self.logins.answer()
        return None

    async def _xmlrpc(self, request: Request) -> Response:
        return await self._xml_call(request, legacy=False)

    async def _xmlrpc_legacy(self, request: Request) -> Response:
        return await self._xml_call(request, legacy=True)

    async def _xml_call(self, request: Request, *, legacy: bool) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        service = request.path_params["service"]
        try:
            params, method = xmlrpc.client.loads(await request.body(), use_builtin_types=True)
        except Exception as exc:  # whatever the parser says, Odoo answers with a fault
            error = ServerError("xml.parsers.expat.ExpatError", f"not an XML-RPC call: {exc}")
            return self._xml_fault(error, legacy=legacy)
        failed = self._login_failure(service, method or "")
        if failed is not None:
            return failed
        try:
            result = self._service(service, method or "", list(params))
        except Exception as exc:  # every error becomes a fault, as in Odoo
            return self._xml_fault(as_odoo_error(exc), legacy=legacy)
        body = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
        return Response(body, media_type="text/xml")

    @staticmethod
    def _xml_fault(error: OdooError, *, legacy: bool) -> Response:
        if legacy:
            code: int | str
            code, text = legacy_fault(error)
        else:
            code, text = error.fault_code, error.message if error.fault_code != 1 else traceback_text(error)
        # The historical path's codes are strings (rpc.py `xmlrpc_handle_exception_string`); the marshaller takes them.
        body = xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True)  # type: ignore[arg-type]
        return Response(body, media_type="text/xml")

    async def _jsonrpc(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        call = _json_rpc_call(await request.body())
        if isinstance(call, Response):
            return call
        request_id: Any = call.get("id")
        try:
            params = call["params"]
            failed = self._login_failure(params["service"], params["method"])
            if failed is not None:
                return failed
            result = self._service(params["service"], params["method"], list(params.get("args", [])))
        except Exception as exc:  # every error goes in the JSON-RPC error member
            error = as_odoo_error(exc)
            data = {
                "name": error.name,
                "debug": traceback_text(error),
                "message": error.message,
                "arguments": [error.message],
                "context": {},
            }
            return JSONResponse(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {"code": 200, "message": "Odoo Server Error", "data": data},
                }
            )
        return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": result})

    async def _version_info(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        call = _json_rpc_call(await request.body())
        if isinstance(call, Response):
            return call
        request_id = call.get("id")
        info = self._version()
        if self.major >= 19:
            info.pop("protocol_version")  # 19.0's route returns the version only
        return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": info})

    async def _web_version(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        if self.major < 19:
            return Response(b"<html><body>404: Not Found</body></html>", 404, media_type="text/html")
        info = self._version()
        return JSONResponse({"version_info": info["server_version_info"], "version": info["server_version"]})

    async def _json2(self, request: Request) -> Response:
        canned = self._intercept(request)
        if canned is not None:
            return canned
        if self.major < 19:
            return Response(b"<html><body>404: Not Found</body></html>", 404, media_type="text/html")
        model, method = request.path_params["model"], request.path_params["method"]
        failed = self._login_failure("json2", f"{model}.{method}")
        if failed is not None:
            return failed
        try:
            uid = self._bearer(request.headers.get("authorization", ""))
            database = request.headers.get("x-odoo-database")
            if database is not None and database != self.database:
                raise NotFoundError(f"database {database!r} not found")
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError as exc:
                return json2_error(400, "werkzeug.exceptions.BadRequest", f"could not parse the body as json: {exc}")
            if not isinstance(body, dict):
                raise BadArgumentsError(
                    "the body must be a JSON object of named arguments; positional ones are not taken"
                )
            self.calls[(model, method)] += 1
            arguments = dict(body)
            ids = arguments.pop("ids", None)
            result = self._execute(uid, model, method, ids, arguments, named_only=True)
        except BearerRefusedError:
            return json2_error(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey")
        except NotFoundError as exc:
            return json2_error(404, "werkzeug.exceptions.NotFound", str(exc))
        except BadArgumentsError as exc:
            return json2_error(422, "werkzeug.exceptions.UnprocessableEntity", str(exc))
        except Exception as exc:  # every error becomes a JSON error body with a status
            error = as_odoo_error(exc)
            return json2_error(error.status, error.name, error.message)
        return JSONResponse(result)

    def _bearer(self, header: str) -> int:
        """The uid whose API key is the bearer token (from 18.0 a key past its expiration date is no key)."""
        scheme, _, key = header.partition(" ")
        if scheme.lower() == "bearer":
            moment = now()
            for user in self.users.values():
                if key_works(user, key.strip(), self.major, moment):
                    return user.uid
        raise BearerRefusedError


def _json_rpc_call(body: bytes) -> dict[str, Any] | Response:
    """The JSON-RPC request in `body`, or Odoo's refusal of it.

    As Odoo's `JsonRPCDispatcher.dispatch` (odoo/http.py) answers before any route runs: a body that
    is not JSON (an empty one included) gets HTTP 400 "Invalid JSON data", and JSON that is not an
    object (its `.get` fails) HTTP 400 "Invalid JSON-RPC data", both plain responses, not JSON-RPC.
    """
    try:
        call = json.loads(body)
    except ValueError:
        return Response("Invalid JSON data", 400, media_type="text/html")
    if not isinstance(call, dict):
        return Response("Invalid JSON-RPC data", 400, media_type="text/html")
    return call


class BearerRefusedError(Exception):
    """JSON-2: no valid API key in the Authorization header (`_auth_method_bearer`: 401 before any ORM call)."""
