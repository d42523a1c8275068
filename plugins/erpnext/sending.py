"""Sending check-ins to ERPNext: one call each, side by side, with Frappe HR's refusals read per punch.

A punch goes through `add_log_based_on_employee_field` (the API biometric devices use). With
coordinates (a site with HR Settings > Allow Geolocation Tracking), it carries `latitude` and
`longitude`; Frappe HR's add_log takes them only since frappe/hrms#2900 (develop, March 2025), and
Frappe drops the arguments a method does not take (frappe/__init__.py `get_newargs`), so an older
site answers "Latitude and longitude values are required for checking in.": the sender then inserts
the check-in the generic way, `POST /api/resource/Employee Checkin` with the Employee's name (the
fields exist since Frappe HR 15; its own app inserts check-ins so), for the rest of the run.

Every new check-in's `time` is compared with the time sent: Employee Checkin's `time` is a
permission-level-1 field (employee_checkin.json) and Frappe replaces it, without a word, by the
moment of the call for a user without level-1 write (`reset_values_if_no_permlevel_access`), that is
without HR User, HR Manager or System Manager. Such a check-in stops the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from punchbridge.plugin_api import FatalTargetError, RefusedError, TargetError, TargetReplyError
from punchbridge.plugins.erpnext.client import FrappeClient
from punchbridge.plugins.erpnext.punches import WIRE, Punch
from punchbridge.plugins.erpnext.settings import METHODS, ErpNextSettings

__all__ = ["DUPLICATE", "NO_COORDINATES", "CheckinSender", "Item", "Sent"]

log = logging.getLogger("punchbridge.plugins.erpnext")

#: How Frappe HR words a repeat of (employee, time, log_type): the punch is already there.
DUPLICATE = "already has a log with the same timestamp"
#: How Frappe HR refuses a check-in without coordinates on a site that tracks geolocation.
NO_COORDINATES = "Latitude and longitude values are required"
_HINT = " (HR Settings > Allow Geolocation Tracking is on: give this device id coordinates in the target's settings)"

#: What to send: (the employee field value, the punch, the Device ID).
Item = tuple[str, Punch, str]


@dataclass
class Sent:
    """What became of one punch: its Employee Checkin, or Frappe's refusal."""

    name: str | None = None
    refusal: str | None = None


class CheckinSender:
    """Sends punches of one target's run (see the module docstring)."""

    def __init__(self, settings: ErpNextSettings, client: FrappeClient, where: str, user: str | None) -> None:
        self.settings, self.client, self.where, self.user = settings, client, where, user
        self.insert_directly = False  # set once add_log turned out to drop coordinates

    def send(self, items: list[Item], names: Mapping[str, str], pool: ThreadPoolExecutor) -> dict[Item, Sent]:
        """Send each item, `concurrency` at once; one `Sent` each.

        A failure of the whole batch (credentials, throttling, the network, a check-in stored at the
        wrong time) stops the punches not yet sent and is raised once the calls in flight have
        finished: sending the batch again is safe, since the next push first reads what ERPNext holds.
        """
        stop = threading.Event()
        failures: list[TargetError] = []

        def send(item: Item) -> Sent:
            if stop.is_set():
                return Sent(refusal="not sent: the batch stopped")
            try:
                return self._one(item, names)
            except TargetError as exc:
                stop.set()
                failures.append(exc)
                return Sent(refusal=str(exc))

        results = dict(zip(items, pool.map(send, items), strict=True))
        if failures:
            raise failures[0]
        return results

    def _one(self, item: Item, names: Mapping[str, str]) -> Sent:
        employee, (kind, moment), device = item
        coordinates = self.settings.coordinates.get(device)
        try:
            if coordinates and self.insert_directly and employee in names:
                doc = self._insert(names[employee], kind, moment, device, coordinates)
            else:
                doc = self._add_log(employee, kind, moment, device, coordinates)
        except RefusedError as refused:
            if DUPLICATE in refused.message:
                return Sent(name=None)
            if NO_COORDINATES not in refused.message:
                return Sent(refusal=refused.message)
            if not coordinates or employee not in names or self.insert_directly:
                return Sent(refusal=refused.message + ("" if coordinates else _HINT))
            log.info("%s: add_log drops coordinates on this site; inserting Employee Checkins directly", self.where)
            self.insert_directly = True
            try:
                doc = self._insert(names[employee], kind, moment, device, coordinates)
            except RefusedError as again:
                return Sent(name=None) if DUPLICATE in again.message else Sent(refusal=again.message)
        return Sent(name=self._created(doc, moment))

    def _add_log(
        self, employee: str, kind: str, moment: datetime, device: str, coordinates: tuple[float, float] | None
    ) -> Any:
        form = {
            "employee_field_value": employee,
            "timestamp": moment.strftime(WIRE),
            "device_id": device,
            "log_type": kind,
            "employee_fieldname": self.settings.employee_fieldname,
        }
        if self.settings.skip_auto_attendance:
            form["skip_auto_attendance"] = "1"
        if coordinates:
            form["latitude"], form["longitude"] = repr(coordinates[0]), repr(coordinates[1])
        path = f"/api/method/{METHODS[self.settings.checkin_api]}"
        reply = self.client.call("POST", path, "add_log_based_on_employee_field", data=form)
        return reply.get("message") if isinstance(reply, dict) else None

    def _insert(self, name: str, kind: str, moment: datetime, device: str, coordinates: tuple[float, float]) -> Any:
        latitude, longitude = coordinates
        doc: dict[str, Any] = {"employee": name, "time": moment.strftime(WIRE), "log_type": kind,
                               "device_id": device, "latitude": latitude, "longitude": longitude}  # fmt: skip
        if self.settings.skip_auto_attendance:
            doc["skip_auto_attendance"] = 1
        reply = self.client.call("POST", "/api/resource/Employee Checkin", "inserting an Employee Checkin", json=doc)
        return reply.get("data") if isinstance(reply, dict) else None

    def _created(self, doc: Any, moment: datetime) -> str:
        """The new check-in's name; a TargetError when the reply holds none or shows another time."""
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
            raise TargetReplyError(f"{self.where}: add_log_based_on_employee_field answered no check-in")
        stored = doc.get("time")
        try:
            same = not isinstance(stored, str) or datetime.fromisoformat(stored).replace(microsecond=0) == moment
        except ValueError:
            same = False
        if not same:
            raise FatalTargetError(
                f"{self.where}: ERPNext stored check-in {doc['name']} at {stored} instead of {moment:{WIRE}}: the API "
                f"user {self.user or ''} may not set a check-in's time (Employee Checkin's time is a "
                "permission-level-1 field: it needs the role HR User, HR Manager or System Manager). Give it HR "
                "User, delete the check-ins with this target's Device ID made at the wrong time, and sync again"
            )
        return str(doc["name"])
