"""An ERPNext / Frappe HR emulator: token auth, Employee Checkin, Employee and Attendance, the attendance job.

    emulator = ErpNextEmulator(version=15)
    emulator.seed_employees([Employee("T-1", "Asha Rao", email="asha@example.com")])
    with serve(emulator.app) as server:
        settings = emulator.plugin_settings(server.url)          # for the `erpnext` target

What it enforces, as Frappe HR does (frappe/hrms, develop and version-15-hotfix of October 2024, and
the later develop with frappe/hrms#2900), so a plugin that breaks a rule fails here first:

- `Authorization: token {api_key}:{api_secret}` on every call: a wrong key or secret is HTTP 401
  (`AuthenticationError`), no header at all 403 (`PermissionError`, the Guest user); `deny(...)`
  takes one of the API user's permissions away (403, "Not permitted ...").
- `POST /api/method/hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field`
  (Frappe HR, `version` 14 and later) or `erpnext.hr.doctype...` (`version` 13; the other path answers
  417 "Failed to get method for command ... with No module named ..."), form or JSON body with
  `employee_field_value`, `timestamp`, `device_id`, `log_type`, `employee_fieldname` and, from
  `version` 16 (develop after frappe/hrms#2900), `latitude` and `longitude`; an older version drops
  them, as `frappe.call` drops arguments a method does not take. `POST /api/resource/Employee Checkin`
  inserts one the generic way (`employee` is the Employee's name; `latitude`/`longitude` from 15 on).
  Success is the new Employee Checkin (`{"message": doc}`, `{"data": doc}`).
- Every validation error is HTTP 417 with Frappe's `_server_messages` (a JSON list of JSON objects),
  worded as Frappe HR words them: both values required; `employee_fieldname` one of name, employee,
  attendance_device_id (version 15); "No Employee found for the given employee field value.
  '{field}': {value}"; a timestamp not `YYYY-MM-DD HH:MM:SS` (site-local, naive); a log type other
  than IN/OUT; a device id over 140 characters; "Transactions cannot be created for an Inactive
  Employee {name}."; "This employee already has a log with the same timestamp.<Br>{link}" for a
  repeat of (employee, time, log_type) (version 13: (employee, time)); with HR Settings' Allow
  Geolocation Tracking on (`track_geolocation`), "Latitude and longitude values are required for
  checking in." for a check-in without them; and the refusals `refuse_employee` sets up.
- Employee Checkin's `time` is a permlevel-1 field that only System Manager, HR Manager and HR User
  may write: for an API user without one of those roles (`set_roles`), Frappe resets it to its
  default, now, without a word (`reset_values_if_no_permlevel_access`). `frappe.core.doctype.user.
  user.get_roles` tells the user's roles; `frappe.client.get_single_value` reads HR Settings'
  `allow_geolocation_tracking` ("No permission for HR Settings" without read permission on it).
- Attendance and the auto-attendance job (`attendance` module): `mark_attendance` submits an
  Attendance and links the day's check-ins, `run_attendance_job` marks attendance from the waiting
  check-ins and skips (`skip_auto_attendance = 1`, with a comment saying why) those of a day that
  already has one, `cancel_attendance` unlinks the check-ins again. A check-in made after the day's
  Attendance is stored and then changes nothing: the attendance job skips it.
- `GET /api/resource/Employee`, `/api/resource/Employee Checkin` and `/api/resource/Attendance` with
  `fields`, `filters`, `order_by`, `limit_start`, `limit_page_length` (`frappe` module); times are
  site-local naive text.
- `throttle(n, api=...)` answers the next n calls 429 (`TooManyRequestsError`, `Retry-After`), as
  Frappe's rate limiter does; `fail_next` cans any reply; `latency` makes each check-in take that long
  (benchmarks). Every call is counted (`requests`, `calls`).

Modules: `server` (ErpNextEmulator), `frappe` (Frappe's errors, parameters and list queries) and
`attendance` (Attendance documents and the auto-attendance job).
"""

from punchbridge.testing.emulators.erpnext.server import (
    GET_ROLES,
    HRMS_METHOD,
    LEGACY_METHOD,
    SINGLE_VALUE,
    TIME_WRITERS,
    ErpNextEmulator,
)

__all__ = ["GET_ROLES", "HRMS_METHOD", "LEGACY_METHOD", "SINGLE_VALUE", "TIME_WRITERS", "ErpNextEmulator"]
