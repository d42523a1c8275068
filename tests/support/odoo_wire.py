"""A bare client for the emulator's three protocols, so its tests see exactly what travels on the wire.

`Wire(run).call(model, method, ids=None, **params)` gives the result or raises `OdooFailure` with
what the protocol reported: the XML-RPC fault code, the JSON-RPC `error.data.name`, or the JSON-2
status and body.
"""

from __future__ import annotations

import json
import xmlrpc.client
from dataclasses import dataclass
from typing import Any

import httpx


class OdooFailure(Exception):
    """An error answer: `code` is the fault code (XML-RPC) or HTTP status (JSON-2), `name` Odoo's class."""

    def __init__(self, code: int | None, name: str, message: str) -> None:
        super().__init__(f"{code} {name}: {message}")
        self.code, self.name, self.message = code, name, message


@dataclass
class Wire:
    """Calls one server in one protocol as the integration user (or with other credentials)."""

    url: str
    protocol: str
    database: str
    login: str
    api_key: str

    def common(self, method: str, *args: Any) -> Any:
        """A call to the `common` service (XML-RPC or JSON-RPC)."""
        return self._rpc("common", method, list(args))

    def call(self, model: str, method: str, ids: list[int] | None = None, *, uid: int = 2, **params: Any) -> Any:
        """One ORM call with named parameters."""
        if self.protocol == "json2":
            body = dict(params) if ids is None else {"ids": ids, **params}
            return self.json2(model, method, body)
        positional = [ids] if ids is not None else []
        return self._rpc("object", "execute_kw", [self.database, uid, self.api_key, model, method, positional, params])

    def execute_kw(self, *args: Any) -> Any:
        """`object.execute_kw` with exactly these arguments."""
        return self._rpc("object", "execute_kw", list(args))

    def json2(self, model: str, method: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        """A JSON-2 call with this body (any JSON) and headers (default: bearer key and database)."""
        sent = {
            "Authorization": f"bearer {self.api_key}",
            "X-Odoo-Database": self.database,
            "Content-Type": "application/json",
        }
        sent.update(headers or {})
        response = httpx.post(f"{self.url}/json/2/{model}/{method}", content=json.dumps(body), headers=sent)
        if response.status_code != 200:
            try:
                error = response.json()
            except ValueError:
                raise OdooFailure(response.status_code, "", response.text) from None
            raise OdooFailure(response.status_code, error.get("name", ""), error.get("message", ""))
        return response.json()

    def _rpc(self, service: str, method: str, args: list[Any]) -> Any:
        if self.protocol == "xmlrpc":
            body = xmlrpc.client.dumps(tuple(args), method, allow_none=True)
            response = httpx.post(f"{self.url}/xmlrpc/2/{service}", content=body)
            try:
                return xmlrpc.client.loads(response.content)[0][0]
            except xmlrpc.client.Fault as fault:
                last = fault.faultString.strip().splitlines()[-1]
                name = last.split(":", 1)[0] if fault.faultCode == 1 else ""
                raise OdooFailure(fault.faultCode, name, fault.faultString) from None
        body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args}}
        reply = httpx.post(f"{self.url}/jsonrpc", json={**body, "id": 1}).json()
        if "error" in reply:
            data = reply["error"]["data"]
            raise OdooFailure(reply["error"]["code"], data["name"], data["message"])
        return reply["result"]
