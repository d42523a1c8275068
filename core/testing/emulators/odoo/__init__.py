"""An Odoo server for tests: `hr.employee` and `hr.attendance` over XML-RPC, JSON-RPC and JSON-2.

    emulator = OdooEmulator(version="19.0")
    emulator.seed_employees([Employee(target_id="T-1", name="Asha Rao")])
    with serve(emulator.app) as server:
        ...  # point the `odoo` target at server.url, database emulator.database

It enforces what the `odoo` target relies on, the way Odoo does (each module cites the upstream
file), so a plugin that passes against it has met Odoo's rules rather than an emulator's goodwill,
and Odoo's own clients (`odoorpc`, `odoo-client-lib`) work against it:

- versions 16.0 to 19.0 and their differences: `in_mode`/`out_mode` from 17.0, `technical` and
  `auto_check_out` from 18.0, API key expiry from 18.0, JSON-2 from 19.0, `worked_hours` without
  the lunch break in 17.0 and 18.0; `fields_get` says which fields a version has;
- authentication: `common.authenticate(db, login, key, {})` gives the uid or False; `execute_kw`
  with a wrong uid or key is AccessDenied (XML-RPC fault 3); JSON-2 wants `Authorization: bearer
  KEY` (401 "Invalid apikey" otherwise), named arguments only (422), and answers 404 for an unknown
  model or method; an unknown database is refused; an expired key (18.0 on) is refused like a wrong one;
- `hr.attendance` constraints, each a ValidationError in Odoo's words and the caller's time zone:
  check-out before check-in, an interval overlapping another of the same employee, a second open
  interval, an unknown employee; malformed datetimes are a ValueError. Each call is one
  transaction: one bad row of a `create` list fails the call and stores nothing of it;
- attendance others make (`others`): the kiosk, an HR officer, the auto check-out and absence
  detection crons; each record knows its `create_uid`;
- Odoo's error shapes: XML-RPC fault codes 1 (application), 2 (user/validation), 3 (access denied),
  4 (access error), as strings on the historical `/xmlrpc/<service>`; JSON-RPC errors inside HTTP
  200 with `error.data.name`; JSON-2 status codes with a JSON error body; a JSON-RPC body that is not
  JSON, or not a JSON object, a plain HTTP 400 before any route runs (`JsonRPCDispatcher`, odoo/http.py).

Tests configure failures on `OdooEmulator` (`refuse_employee`, `fail_next`, `reply_next`, `deny`,
`rate_limit`, `set_api_key_expiry`) and inspect what it holds (`attendances`, `deliveries`,
`requests`, `calls`).

Modules: `server` (OdooEmulator: the protocols over HTTP, injected failures), `others` (the kiosk,
the officer, the crons), `database` (the services of one database), `orm` (the ORM methods),
`index` (hr.attendance's index, constraints and search), `schema` (the models per version),
`accounts` (users and API keys), `domain` (values, search domains) and `errors` (Odoo's exceptions
and how each protocol reports them).
"""

from punchbridge.testing.emulators.odoo.accounts import INTEGRATION, KIOSK, OFFICER, SUPERUSER
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
    "INTEGRATION",
    "KIOSK",
    "OFFICER",
    "SUPERUSER",
    "AccessDeniedError",
    "AccessError",
    "MissingError",
    "OdooEmulator",
    "OdooError",
    "UserError",
    "ValidationError",
]
