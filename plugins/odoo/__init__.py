"""The `odoo` target: attendance into Odoo's `hr.attendance`, employees out of `hr.employee`.

Odoo holds attendance as paired intervals, so a mapped record (one employee-day) is the day's
intervals: either one, from the columns `check_in` and `check_out` (mapped from `first_in` and
`last_out`), or every pair, from the column `intervals` (`start/end;start/end`, an open interval
`start/`). Times are local ISO-8601 with their offset; Odoo gets naive UTC `YYYY-MM-DD HH:MM:SS`,
to the second. The column `employee` names the hr.employee by `employee_by`: its id, barcode, pin
or work email. Each day is placed in its own site's zone (`Record.timezone`; the `timezone`
setting only overrides it): Odoo stores no zone, so the zone only says which local day an
attendance belongs to, for a changed day and for read-back.

Odoo has no idempotency keys, so each batch is compared with what Odoo holds before anything is
written: one `search_read` over the batch's employees (their open attendance and every attendance
reaching into the batch's days), then the plan (`plan`): punchbridge's own attendance of a day is
kept where equal, corrected with `write` (closing an open interval, or over a check-out Odoo's
auto check-out cron wrote), or removed and created anew; attendance someone else made (the kiosk,
an officer, a cron) is never written nor removed, and a day it differs from, or that Odoo's
constraints would refuse, is refused with that attendance named before anything is sent. Then
one `unlink`, the `write`s, and one `create` with every new interval. A `create` that Odoo refuses
(one bad row fails the whole call) is split in halves until the bad rows are alone: they become
dead letters with Odoo's message and what stands in the way, the rest lands.

Protocols: XML-RPC and JSON-RPC (`/xmlrpc/2`, `/jsonrpc`, login and API key) and, from Odoo 19,
JSON-2 (`/json/2/{model}/{method}`, bearer API key). `protocol: auto` asks the server its version
and uses JSON-2 from 19 on, JSON-RPC before. One keep-alive HTTP connection pool per target, every
request with a timeout; the API key never reaches a message or the log.

Modules: `settings` (OdooSettings), `target` (OdooTarget: push, stored form, `check_online`),
`days` (records as intervals in their zones, pure), `plan` (what to change and what stands in the
way, pure), `employees` (the employee directory and pull), `readback` (reconciliation's view),
`online` (`validate --online`), `rpc` (the protocols and Odoo's errors), `replies` (Odoo's answers
read strictly).
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
