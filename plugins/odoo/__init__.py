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

Modules: `settings` (OdooSettings), `target` (OdooTarget: push, pull, read-back), `days` (records
as intervals and the plan of changes, pure), `rpc` (the protocols and Odoo's errors), `replies`
(Odoo's answers read strictly).
"""

from __future__ import annotations

from punchbridge.plugin_api import Register, hookimpl
from punchbridge.plugins.odoo.settings import OdooSettings
from punchbridge.plugins.odoo.target import OdooTarget

__all__ = ["OdooSettings", "OdooTarget", "register_targets"]


@hookimpl
def register_targets(register: Register) -> None:
    """Register `odoo`."""
    register("odoo", OdooTarget)
