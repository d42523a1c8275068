"""Odoo's exceptions as the emulator raises them, and how each protocol reports them to the caller.

Each carries its Python name (sent as `error.data.name` in JSON-RPC and `name` in JSON-2), its
XML-RPC fault code and its JSON-2 status: ValidationError and UserError are fault 2 / 422,
MissingError fault 2 / 404, AccessError fault 4 / 403, AccessDenied fault 3 / 401, anything else
fault 1 (with a traceback) / 500 (odoo/addons/base/controllers/rpc.py `xmlrpc_handle_exception_int`;
odoo/exceptions.py `http_status`). The historical `/xmlrpc/<service>` path sends the fault code as a
string instead (`legacy_fault`, rpc.py `xmlrpc_handle_exception_string`). JSON-2 refuses a bad
bearer key before any ORM call: 401, werkzeug's Unauthorized, "Invalid apikey".
"""

from __future__ import annotations

from starlette.responses import JSONResponse

__all__ = [
    "AccessDeniedError",
    "AccessError",
    "BadArgumentsError",
    "MissingError",
    "NotFoundError",
    "OdooError",
    "ServerError",
    "UserError",
    "ValidationError",
    "as_odoo_error",
    "json2_error",
    "legacy_fault",
    "traceback_text",
]


class OdooError(Exception):
    """An error Odoo reports to the caller: its Python name, XML-RPC fault code and JSON-2 status."""

    name = "odoo.exceptions.UserError"
    fault_code = 2
    status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(OdooError):
    """A business rule refused the operation (fault 2, JSON-2 422)."""


class ValidationError(UserError):
    """A constraint refused the values (fault 2, JSON-2 422)."""

    name = "odoo.exceptions.ValidationError"


class MissingError(UserError):
    """The record does not exist or was deleted (fault 2, JSON-2 404)."""

    name = "odoo.exceptions.MissingError"
    status = 404


class AccessError(OdooError):
    """The user may not do this (fault 4, JSON-2 403)."""

    name = "odoo.exceptions.AccessError"
    fault_code = 4
    status = 403


class AccessDeniedError(OdooError):
    """Wrong login, uid or key (fault 3, JSON-2 401)."""

    name = "odoo.exceptions.AccessDenied"
    fault_code = 3
    status = 401

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class ServerError(OdooError):
    """Any other exception: fault 1 with a traceback, JSON-2 500."""

    fault_code = 1
    status = 500

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class NotFoundError(Exception):
    """JSON-2: no such model, method or database (HTTP 404, werkzeug's NotFound)."""


class BadArgumentsError(Exception):
    """JSON-2: the arguments do not fit the method (HTTP 422, werkzeug's UnprocessableEntity)."""


def as_odoo_error(exc: Exception) -> OdooError:
    """`exc` as Odoo reports an exception: itself when it is one of Odoo's, else a server error naming it."""
    if isinstance(exc, OdooError):
        return exc
    return ServerError(f"builtins.{type(exc).__name__}", str(exc))


def traceback_text(error: OdooError) -> str:
    """A traceback as Odoo sends it: its last line `Name: message`, built-in names without `builtins.`."""
    name = error.name.removeprefix("builtins.")
    return f'Traceback (most recent call last):\n  File "odoo/service/model.py", in retrying\n{name}: {error.message}'


def json2_error(status: int, name: str, message: str) -> JSONResponse:
    """A JSON-2 error reply: Odoo's exception name and message with the HTTP status."""
    return JSONResponse(
        {"name": name, "message": message, "arguments": [message, status], "context": {}, "debug": ""},
        status_code=status,
    )


def legacy_fault(error: OdooError) -> tuple[str, str]:
    """(faultCode, faultString) of `error` on `/xmlrpc/<service>`: "historical and non-compliant" string codes."""
    if isinstance(error, AccessDeniedError):
        return "AccessDenied", error.message
    if isinstance(error, MissingError):
        return "warning -- MissingError\n\n" + error.message, ""
    if isinstance(error, AccessError):
        return "warning -- AccessError\n\n" + error.message, ""
    if isinstance(error, UserError):
        return "warning -- UserError\n\n" + error.message, ""
    return error.message, traceback_text(error)
