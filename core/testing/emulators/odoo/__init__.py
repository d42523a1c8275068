"""An Odoo server for tests: `hr.employee` and `hr.attendance` over XML-RPC, JSON-RPC and JSON-2.

    emulator = OdooEmulator(version="19.0")
    emulator.seed_employees([Employee(target_id="T-1", name="Asha Rao")])
    with serve(emulator.app) as server:
        ...  # point the `odoo` target at server.url, database emulator.database

It enforces what the `odoo` target relies on, the way Odoo does, so a plugin that passes against it
has met Odoo's rules rather than an emulator's goodwill:

- authentication: `common.authenticate(db, login, key, {})` gives the uid or False; `execute_kw`
  with a wrong uid or key is AccessDenied (XML-RPC fault 3); JSON-2 wants `Authorization: bearer
  KEY` (401 otherwise), named arguments only (422), and answers 404 for an unknown model or method;
  an unknown database is refused. JSON-2 exists from version 19.0 on.
- `hr.attendance` constraints, each a ValidationError: check-out before check-in, an interval
  overlapping another of the same employee, a second open interval, an unknown employee; malformed
  datetimes are a ValueError. Each call is one transaction: one bad row of a `create` list fails the
  call and stores nothing of it.
- Odoo's error shapes: XML-RPC fault codes 1 (application), 2 (user/validation), 3 (access denied),
  4 (access error); JSON-RPC errors inside HTTP 200 with `error.data.name`; JSON-2 status codes with
  a JSON error body.

Tests configure failures on `OdooEmulator` (`refuse_employee`, `fail_next`, `reply_next`, `deny`,
`rate_limit`) and inspect what it holds (`attendances`, `deliveries`, `requests`, `calls`).

Modules: `server` (OdooEmulator: the three protocols over HTTP, injected failures), `database` (the
ORM of one database), `index` (hr.attendance's index, constraints and search), `domain` (fields,
values, search domains) and `errors` (Odoo's exceptions and how each protocol reports them).
"""

from punchbridge.testing.emulators.odoo.errors import (
    AccessDeniedError,
    AccessError,
    MissingError,
    OdooError,
    UserError,
    ValidationError,
)
from punchbridge.testing.emulators.odoo.server import OdooEmulator

__all__ = [
    "AccessDeniedError",
    "AccessError",
    "MissingError",
    "OdooEmulator",
    "OdooError",
    "UserError",
    "ValidationError",
]
