"""The Salesforce emulator's sObjects: their fields, how a written value is read, describe, the errors.

Pure: no state of an org here (server.py holds the records).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

__all__ = [
    "ATTENDANCE_DAY",
    "SYSTEM_FIELDS",
    "TEXT_TYPES",
    "USER",
    "FieldSpec",
    "RecordError",
    "SObjectSchema",
    "SalesforceLimits",
    "SfError",
    "describe",
    "read_value",
    "sortable",
]

FieldType = Literal["id", "string", "textarea", "email", "picklist", "date", "datetime", "double", "int", "boolean"]
TEXT_TYPES = frozenset({"id", "string", "textarea", "email", "picklist"})
SYSTEM_FIELDS = ("Id", "CreatedDate", "LastModifiedDate")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class FieldSpec:
    """One field of an sObject as describe shows it."""

    type: FieldType
    length: int = 255
    required: bool = False  # not nillable and not defaulted on create
    external_id: bool = False
    updateable: bool = True  # createable and updateable through the API


@dataclass(frozen=True)
class SObjectSchema:
    """An sObject type: its API name and fields (Id, CreatedDate and LastModifiedDate are added)."""

    name: str
    fields: Mapping[str, FieldSpec]

    def spec(self, name: str) -> FieldSpec | None:
        """The field `name` (system fields included), or None."""
        if name == "Id":
            return FieldSpec("id", 18, updateable=False)
        if name in ("CreatedDate", "LastModifiedDate"):
            return FieldSpec("datetime", updateable=False)
        return self.fields.get(name)

    def all_fields(self) -> list[str]:
        """Every field name, system fields first."""
        return [*SYSTEM_FIELDS, *self.fields]


#: The custom object the `salesforce` target writes by default.
ATTENDANCE_DAY = SObjectSchema(
    "Attendance_Day__c",
    {
        "Punchbridge_Key__c": FieldSpec("string", 255, external_id=True),
        "Employee_Id__c": FieldSpec("string", 80, required=True),
        "Work_Date__c": FieldSpec("date", required=True),
        "Status__c": FieldSpec("string", 40),
        "Worked_Minutes__c": FieldSpec("double"),
        "First_In__c": FieldSpec("datetime"),
        "Last_Out__c": FieldSpec("datetime"),
        "Intervals__c": FieldSpec("textarea", 1000),
        "Recomputed__c": FieldSpec("boolean"),
        "Cost_Centre__c": FieldSpec("string", 40),
    },
)
#: The standard User object, as far as the employee pull reads it (`Badge_Id__c` is a custom field).
USER = SObjectSchema(
    "User",
    {
        "Username": FieldSpec("string", 80),
        "Name": FieldSpec("string", 121),
        "Email": FieldSpec("email", 128),
        "EmployeeNumber": FieldSpec("string", 20),
        "IsActive": FieldSpec("boolean"),
        "Department": FieldSpec("string", 80),
        "Badge_Id__c": FieldSpec("string", 40),
    },
)


@dataclass(frozen=True)
class SalesforceLimits:
    """The limits the emulator enforces; defaults are Salesforce's (None: no limit)."""

    daily_api_requests: int | None = 15_000  # a small org's allowance per rolling 24 hours
    records_per_collection: int = 200
    query_batch_size: int = 2000
    session_seconds: float = 7200.0
    jwt_max_lifetime: float = 300.0
    bulk_upload_bytes: int = 100_000_000
    bulk_polls_in_progress: int = 1

    @classmethod
    def lifted(cls) -> SalesforceLimits:
        """No daily request limit (for throughput benchmarks); sizes stay Salesforce's."""
        return cls(daily_api_requests=None)


class SfError(Exception):
    """A whole-request error: HTTP status, Salesforce's errorCode and message."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


class RecordError(Exception):
    """One record refused: statusCode, message and the fields concerned."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []


def read_value(spec: FieldSpec, value: Any) -> Any:
    """`value` as the Python value of a field of this type; ValueError when it cannot be one."""
    if value is None:
        return None
    if spec.type in TEXT_TYPES:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(value)
        # A text field set to "" is kept blank: it reads back null (Salesforce StackExchange 333174).
        return str(value) or None
    if spec.type in ("double", "int"):
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(value) if isinstance(value, int | float | str) else float("nan")
        if number != number:
            raise ValueError(value)
        return number
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(value)
    if not isinstance(value, str):
        raise ValueError(value)
    if spec.type == "date":
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    if not _DATETIME.fullmatch(value):
        raise ValueError(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sortable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return value.toordinal()
    if isinstance(value, str):
        return value.lower()
    return value


def describe(schema: SObjectSchema, denied: set[str]) -> dict[str, Any]:
    """The object's describe reply; `denied` names the object-level access the session's user lacks."""
    described = []
    for field_name in schema.all_fields():
        spec = schema.spec(field_name)
        assert spec is not None
        described.append(
            {
                "name": field_name,
                "type": "reference" if spec.type == "id" and field_name != "Id" else spec.type,
                "length": spec.length if spec.type in TEXT_TYPES else 0,
                "nillable": not spec.required and field_name not in SYSTEM_FIELDS,
                "createable": spec.updateable,
                "updateable": spec.updateable,
                "externalId": spec.external_id,
                "idLookup": spec.external_id or field_name == "Id",
                "unique": spec.external_id,
                "custom": field_name.endswith("__c"),
            }
        )
    # Object-level access of the session's user, as DescribeSObjectResult has it (createable,
    # updateable, queryable; Apex reference "DescribeSObjectResult Class").
    access = {flag: flag not in denied for flag in ("createable", "updateable", "queryable")}
    return {"name": schema.name, "custom": schema.name.endswith("__c"), **access, "fields": described}
