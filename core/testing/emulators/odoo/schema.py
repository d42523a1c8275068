"""The models of the emulated database, per Odoo version: their fields, what `fields_get` says of them, order.

Pure data. Only the fields the `odoo` target and the standard clients touch are here, each as the
upstream model file declares it (paths below, read 2026-12); a field a version lacks is refused
there as in Odoo ("Invalid field"). Where the versions differ:

- `hr.attendance.in_mode` / `out_mode` (kiosk, systray, manual) from 17.0; `technical` in both and
  `auto_check_out` ("Automatic Check-Out") in `out_mode` from 18.0
  (addons/hr_attendance/models/hr_attendance.py, 17.0-series and odoo/odoo@1f535321 18.0-series);
- `res.users.api_key_ids` and the model `res.users.apikeys` with `expiration_date` from 18.0
  (odoo/addons/base/models/res_users.py, 18.0-series: "add expiration date on API keys", odoo#178558);
- `create_uid` / `write_uid` / `create_date` / `write_date` are the ORM's log-access fields on
  every model and in every version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_ORDER", "FieldSpec", "Schema", "schema_for"]

#: Each model's `_order` (hr.attendance: "check_in desc"; res.users: "name, login"; hr.employee: "name").
DEFAULT_ORDER = {
    "hr.employee": "name",
    "hr.attendance": "check_in desc",
    "res.users": "name, login",
    "res.users.apikeys": "id",
}


@dataclass(frozen=True)
class FieldSpec:
    """One field: its type and what `fields_get` tells a client about it."""

    type: str  # integer, char, boolean, float, datetime, many2one, one2many, selection
    string: str
    relation: str | None = None
    selection: tuple[tuple[str, str], ...] = ()
    readonly: bool = False
    required: bool = False
    store: bool = True

    def description(self, attributes: Sequence[str] | None) -> dict[str, Any]:
        """The field as `fields_get` gives it, limited to `attributes` when given."""
        described: dict[str, Any] = {
            "type": self.type,
            "string": self.string,
            "readonly": self.readonly,
            "required": self.required,
            "store": self.store,
            "searchable": True,
            "sortable": self.store,
        }
        if self.relation is not None:
            described["relation"] = self.relation
        if self.type == "selection":
            described["selection"] = [list(pair) for pair in self.selection]
        if attributes:
            described = {name: value for name, value in described.items() if name in attributes}
        return described


@dataclass(frozen=True)
class Schema:
    """The fields of each model in one version, and which of them a `create` or `write` may set."""

    fields: Mapping[str, Mapping[str, FieldSpec]]
    writable: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def kind(self, model: str, name: str) -> str | None:
        """The type of `model.name`, or None when the version has no such field."""
        spec = self.fields.get(model, {}).get(name)
        return spec.type if spec is not None else None

    def names(self, model: str) -> list[str]:
        """Every field of `model`, in declaration order."""
        return list(self.fields[model])

    def fields_get(self, model: str, allfields: Sequence[str] | None, attributes: Sequence[str] | None) -> dict:
        """`model.fields_get(allfields, attributes)`: every field (or those named) with its attributes."""
        chosen = [name for name in self.fields[model] if not allfields or name in allfields]
        return {name: self.fields[model][name].description(attributes) for name in chosen}


def _log_access() -> dict[str, FieldSpec]:
    return {
        "create_uid": FieldSpec("many2one", "Created by", relation="res.users", readonly=True),
        "create_date": FieldSpec("datetime", "Created on", readonly=True),
        "write_uid": FieldSpec("many2one", "Last Updated by", relation="res.users", readonly=True),
        "write_date": FieldSpec("datetime", "Last Updated on", readonly=True),
    }


_MODES_17 = (("kiosk", "Kiosk"), ("systray", "Systray"), ("manual", "Manual"))
_TECHNICAL = (("technical", "Technical"),)
_AUTO_CHECK_OUT = (("auto_check_out", "Automatic Check-Out"),)


def _attendance(major: int) -> dict[str, FieldSpec]:
    fields = {
        "id": FieldSpec("integer", "ID", readonly=True),
        "employee_id": FieldSpec("many2one", "Employee", relation="hr.employee", required=True),
        "check_in": FieldSpec("datetime", "Check In", required=True),
        "check_out": FieldSpec("datetime", "Check Out"),
        "worked_hours": FieldSpec("float", "Worked Hours", readonly=True),
    }
    if major >= 17:
        in_modes = _MODES_17 + (_TECHNICAL if major >= 18 else ())
        out_modes = in_modes + (_AUTO_CHECK_OUT if major >= 18 else ())
        # readonly=True "only has an impact on the UI" (odoo/fields.py): an API caller may set them.
        fields["in_mode"] = FieldSpec("selection", "Mode", selection=in_modes, readonly=True)
        fields["out_mode"] = FieldSpec("selection", "Out Mode", selection=out_modes, readonly=True)
    return fields | _log_access()


def _employee() -> dict[str, FieldSpec]:
    return {
        "id": FieldSpec("integer", "ID", readonly=True),
        "name": FieldSpec("char", "Employee Name", required=True),
        "barcode": FieldSpec("char", "Badge ID"),
        "pin": FieldSpec("char", "PIN"),
        "work_email": FieldSpec("char", "Work Email"),
        "department_id": FieldSpec("many2one", "Department", relation="hr.department"),
        "company_id": FieldSpec("many2one", "Company", relation="res.company", required=True),
        "active": FieldSpec("boolean", "Active"),
        "tz": FieldSpec("char", "Timezone"),
    } | _log_access()


def _users(major: int) -> dict[str, FieldSpec]:
    fields = {
        "id": FieldSpec("integer", "ID", readonly=True),
        "name": FieldSpec("char", "Name", required=True),
        "login": FieldSpec("char", "Login", required=True),
        "tz": FieldSpec("char", "Timezone"),
        "active": FieldSpec("boolean", "Active"),
    }
    if major >= 18:
        fields["api_key_ids"] = FieldSpec("one2many", "API Keys", relation="res.users.apikeys")
    return fields | _log_access()


def _api_keys() -> dict[str, FieldSpec]:
    return {
        "id": FieldSpec("integer", "ID", readonly=True),
        "name": FieldSpec("char", "Description", readonly=True, required=True),
        "user_id": FieldSpec("many2one", "User", relation="res.users", readonly=True, required=True),
        "scope": FieldSpec("char", "Scope", readonly=True),
        "create_date": FieldSpec("datetime", "Creation Date", readonly=True),
        "expiration_date": FieldSpec("datetime", "Expiration Date", readonly=True),
    }


def schema_for(major: int) -> Schema:
    """The models of Odoo `major` (16 to 19 and later)."""
    fields: dict[str, Mapping[str, FieldSpec]] = {
        "hr.employee": _employee(),
        "hr.attendance": _attendance(major),
        "res.users": _users(major),
    }
    if major >= 18:
        fields["res.users.apikeys"] = _api_keys()
    attendance_writable = {"employee_id", "check_in", "check_out"}
    if major >= 17:
        attendance_writable |= {"in_mode", "out_mode"}
    writable = {
        "hr.employee": frozenset(
            {"name", "barcode", "pin", "work_email", "department_id", "company_id", "active", "tz"}
        ),
        "hr.attendance": frozenset(attendance_writable),
        "res.users": frozenset(),
        "res.users.apikeys": frozenset(),
    }
    return Schema(fields, writable)
