"""The `erpnext` target: processed days sent to ERPNext / Frappe HR as Employee Checkin punches.

Each record is one employee-day: the column `employee` holds the value of the Employee field named
by `employee_fieldname` (the biometric `attendance_device_id` by default), and either `check_in` and
`check_out` (first in, last out) or `intervals` (every pair) give the punches, as local ISO-8601
times with their site's offset. ERPNext reads a check-in's time as naive wall-clock time in its one
system time zone, so the target has `ZoneModel.ORGANISATION`: `timezone` names that zone and every
punch is converted to it, whatever site it comes from. Each punch is one call of
`add_log_based_on_employee_field` (the API biometric devices use) with `log_type` IN or OUT and a
`device_id` (the setting, or a `device_id` column); up to `concurrency` calls run at once on one
keep-alive connection pool.

ERPNext has no idempotency key and its check-ins are append-only, so each batch reads first what
ERPNext holds: one listing of `Employee Checkin` for the batch's employees around the batch's days
(dedup on ERPNext's own natural key, (employee, time, log_type)), then per day:

- a day ERPNext already holds is delivered without a call;
- a day ERPNext would read otherwise than computed once the missing punches are added (it holds a
  check-in the day no longer has: a later first IN, an earlier last OUT) is a dead letter naming
  those check-ins, since the API cannot remove one (`checks`);
- a day whose Attendance ERPNext has already marked is a dead letter saying how to free it: Frappe
  HR's attendance job skips later check-ins of such a day (`checks`);
- otherwise only the punches ERPNext lacks are sent (`sending`: coordinates for sites that track
  geolocation, the check-in's stored time compared with the one sent).

"This employee already has a log with the same timestamp" (a punch that came another way) counts as
delivered; other 417 refusals are the record's dead letter with Frappe's message. Read-back puts each
check-in on the work date of its employee's site zone. Errors map as `client` says;
`punchbridge validate --online` runs `online`.

Modules: `settings`, `target` (ErpNextTarget), `punches` (records as check-ins and back, pure),
`checks` (what keeps a day from being sent, pure), `sending`, `employees`, `online`, `client`.
"""

from __future__ import annotations

from punchbridge.plugin_api import Register, hookimpl
from punchbridge.plugins.erpnext.settings import ErpNextSettings
from punchbridge.plugins.erpnext.target import ErpNextTarget

__all__ = ["ErpNextSettings", "ErpNextTarget", "register_targets"]


@hookimpl
def register_targets(register: Register) -> None:
    """Register `erpnext`."""
    register("erpnext", ErpNextTarget)
