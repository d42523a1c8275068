"""`punchbridge validate --online` for the `erpnext` target: a read-only look at what the target needs.

Each check reads, never writes:

- **login**: `frappe.auth.get_logged_user` with the key and secret.
- **roles**: `frappe.core.doctype.user.user.get_roles` for that user. Employee Checkin's `time` is a
  permission-level-1 field that only System Manager, HR Manager and HR User may write
  (hrms/hr/doctype/employee_checkin/employee_checkin.json); for anyone else Frappe replaces the time
  sent by the moment of the call, without an error (`reset_values_if_no_permlevel_access`). A user
  without one of those roles fails the check (a custom role given level-1 write would pass in
  ERPNext: the message says so).
- **read Employee / Employee Checkin / Attendance**: one document of each, as the push reads them.
- **geolocation**: HR Settings' `allow_geolocation_tracking` through `frappe.client.get_single_value`
  (which needs read permission on HR Settings: HR User has it). On, without `coordinates`, every
  check-in would be refused ("Latitude and longitude values are required for checking in.",
  `validate_distance_from_shift_location`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from punchbridge.plugin_api import CredentialsError, OnlineCheck, TargetError

if TYPE_CHECKING:
    from punchbridge.plugins.erpnext.client import FrappeClient
    from punchbridge.plugins.erpnext.target import ErpNextTarget

__all__ = ["TIME_WRITERS", "online_checks"]

#: The roles that may set an Employee Checkin's time (permlevel 1 write in employee_checkin.json).
TIME_WRITERS = ("HR User", "HR Manager", "System Manager")
ROLES = "/api/method/frappe.core.doctype.user.user.get_roles"
SINGLE_VALUE = "/api/method/frappe.client.get_single_value"


def online_checks(target: ErpNextTarget) -> list[OnlineCheck]:
    """The checks of the module docstring, in order; a failed login ends them."""
    try:
        target.open()
        client = target.client
    except TargetError as exc:
        target.close()
        return [OnlineCheck("login", False, str(exc))]
    try:
        checks = [OnlineCheck("login", True, f"connected to {target.settings.url} as {target.user}")]
        checks.append(_roles(client, target.user or ""))
        for doctype in ("Employee", "Employee Checkin", "Attendance"):
            checks.append(_readable(client, doctype))
        checks.append(_geolocation(client, target))
        return checks
    finally:
        target.close()


def _roles(client: FrappeClient, user: str) -> OnlineCheck:
    what = "roles: may set a check-in's time"
    try:
        reply = client.call("GET", ROLES, "reading the API user's roles", params={"uid": user})
    except TargetError as exc:
        return OnlineCheck(what, True, f"could not read the API user's roles ({exc}); make sure it has HR User", True)
    roles = reply.get("message") if isinstance(reply, dict) else None
    if not isinstance(roles, list):
        return OnlineCheck(what, True, "the roles reply holds no list; make sure the API user has HR User", True)
    held = sorted(str(r) for r in roles if r not in ("All", "Guest"))
    if any(role in held for role in TIME_WRITERS):
        return OnlineCheck(what, True, f"{user} has {', '.join(held)}")
    return OnlineCheck(
        what,
        False,
        f"{user} has {', '.join(held) or 'no roles'}, none of which may set an Employee Checkin's time (HR User, "
        "HR Manager or System Manager: the time is a permission-level-1 field). Frappe would store every check-in "
        "at the moment of the call instead of the punch's time, without an error. Give the user HR User (or give "
        "one of its roles level-1 write on Employee Checkin in Role Permissions Manager, then ignore this)",
    )


def _readable(client: FrappeClient, doctype: str) -> OnlineCheck:
    what = f"read {doctype}"
    params = {"fields": json.dumps(["name"]), "limit_page_length": 1}
    try:
        client.call("GET", f"/api/resource/{doctype}", f"reading {doctype}", params=params)
    except CredentialsError as exc:
        return OnlineCheck(what, False, str(exc))
    except TargetError as exc:
        return OnlineCheck(what, False, str(exc))
    return OnlineCheck(what, True)


def _geolocation(client: FrappeClient, target: ErpNextTarget) -> OnlineCheck:
    what = "geolocation (HR Settings > Allow Geolocation Tracking)"
    params = {"doctype": "HR Settings", "field": "allow_geolocation_tracking"}
    configured = target.settings.coordinates
    try:
        reply = client.call("GET", SINGLE_VALUE, "reading HR Settings", params=params)
    except CredentialsError as exc:
        if configured:
            return OnlineCheck(what, True, f"could not read HR Settings ({exc}); coordinates are set", True)
        return OnlineCheck(
            what, True, f"could not read HR Settings ({exc}): if Allow Geolocation Tracking is on there, every "
            "check-in will be refused until the target's coordinates are set", True,
        )  # fmt: skip
    except TargetError:
        return OnlineCheck(what, True, "HR Settings has no such setting here (Frappe HR 14 and earlier): off")
    value = reply.get("message") if isinstance(reply, dict) else None
    if str(value) not in ("1", "True", "true"):
        return OnlineCheck(what, True, "off")
    if configured:
        return OnlineCheck(what, True, f"on; coordinates set for device ids {', '.join(sorted(configured))}")
    return OnlineCheck(
        what,
        False,
        "on: Frappe HR refuses every check-in without latitude and longitude ('Latitude and longitude values are "
        "required for checking in.'). Set the target's coordinates (device id -> [latitude, longitude]; "
        "docs/plugins/erpnext.md, Geolocation)",
    )
