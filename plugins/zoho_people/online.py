"""`punchbridge validate --online` for the `zoho_people` target: a read-only look at what the target needs.

- **access token**: one from the refresh token (the process's cached one while it is valid), which
  proves the client id, secret, refresh token and data centre.
- **read an employee**: the first employee record (`getRecords`, `sIndex=1&limit=1`), which proves
  the forms scope and the People API domain.
- **read attendance**: that employee's entries for today (`getAttendanceEntries`), which the target
  needs to confirm what bulkImport took and to reconcile; skipped when the employee has no value of
  the `identify_by` identifier.
- **daily API budget**: what is left of `daily_call_limit` today (UTC) by punchbridge's own count in
  `state_file`; Zoho publishes no count of what an organisation has left. These checks use a few
  calls of it themselves.

Nothing is written to Zoho.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from punchbridge.plugin_api import OnlineCheck, TargetError
from punchbridge.plugins.zoho_people.replies import employee_page
from punchbridge.plugins.zoho_people.settings import EMPLOYEE_RECORDS, EMPLOYEES_PATH

if TYPE_CHECKING:
    from punchbridge.plugins.zoho_people.target import ZohoPeopleTarget

__all__ = ["online_checks"]


def online_checks(target: ZohoPeopleTarget) -> list[OnlineCheck]:
    """The checks of the module docstring, in order; a refused token ends them."""
    try:
        target.open()
        token = target.tokens.current()
    except TargetError as exc:
        target.close()
        return [OnlineCheck("access token", False, str(exc))]
    try:
        checks = [OnlineCheck("access token", True, f"from {target.settings.accounts}; People API {token.api_domain}")]
        identifier: str | None = None
        try:
            reply = target.call(EMPLOYEE_RECORDS, "GET", EMPLOYEES_PATH, {"sIndex": 1, "limit": 1})
            page = employee_page(reply, target.where) if reply is not None else []
        except TargetError as exc:
            checks.append(OnlineCheck("read an employee", False, str(exc)))
            page = []
        else:
            if page:
                employee = target.employee_of(*page[0])
                identifier = target.identifier(employee)
                checks.append(OnlineCheck("read an employee", True, f"EmployeeID {employee.target_id}"))
            else:
                checks.append(OnlineCheck("read an employee", True, "Zoho holds no employee records", True))
        if identifier:
            today = datetime.fromtimestamp(target.clock(), UTC).date().isoformat()
            try:
                target.read_entries(identifier, today)
            except TargetError as exc:
                checks.append(OnlineCheck("read attendance", False, str(exc)))
            else:
                checks.append(OnlineCheck("read attendance", True, f"{target.settings.identify_by} {identifier}"))
        left, limit = target.calls_left_today(), target.settings.daily_call_limit
        checks.append(
            OnlineCheck(
                "daily API budget",
                True,
                f"{left} of {limit} calls left today (UTC) by punchbridge's count in state_file; Zoho publishes "
                "no count of what the organisation has left",
                warning=left < limit // 10,
            )
        )
        return checks
    finally:
        target.close()
