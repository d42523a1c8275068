"""How the SuccessFactors emulator judges an ExternalTimeData upsert record (pure: the record in, the row out).

Per SAP's generated OData model of the entity (SAP Cloud SDK, service SFOData): `externalCode` key up
to 128 characters, `userId` a known user, `startDate`/`endDate` Edm.DateTime midnights, `startTime`/
`endTime` Edm.Time (an xs:duration: `PT09H02M00S`, or `PT8H5M0S` as a terminal uploader that upserts
ExternalTimeData sends it), `hours` Edm.Decimal, `timeType` required, `costCenter` text. The scale
`hours` keeps is not published: it is `hours_scale` (the emulator rounds half up to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from punchbridge.testing.emulators.sap.collections import ETD_FIELDS
from punchbridge.testing.emulators.sap.query import ODataError, date_wire, wire_day

__all__ = ["time_data_row"]

_TIME = re.compile(r"PT(?=\d)(?:(\d{1,2})H)?(?:(\d{1,2})M)?(?:(\d{1,2})S)?")


def _edm_time(value: Any) -> tuple[int, int, int] | None:
    found = _TIME.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return None
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return (hours, minutes, seconds) if hours < 24 and minutes < 60 and seconds < 60 else None


def _common(
    record: Mapping[str, Any], allowed: set[str], known_user: Callable[[str], bool], refused: Mapping[str, str]
) -> str:
    unknown = sorted(set(record) - allowed - {"__metadata"})
    if unknown:
        raise ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: {', '.join(unknown)}")
    key = record.get("externalCode")
    if not isinstance(key, str) or not key.strip():
        raise ODataError(400, "COE_REQUIRED_FIELD_MISSING", "externalCode is required")
    if len(key) > 128:
        raise ODataError(400, "COE_FIELD_TOO_LONG", f"externalCode is {len(key)} characters; at most 128")
    user = record.get("userId")
    if not isinstance(user, str) or not known_user(user):
        raise ODataError(400, "COE_INVALID_VALUE", f"userId {user!r} is not a known user")
    if user in refused:
        raise ODataError(400, "COE_BUSINESS_RULE", refused[user])
    return key


def time_data_row(
    record: Mapping[str, Any], known_user: Callable[[str], bool], refused: Mapping[str, str], hours_scale: int
) -> tuple[str, dict[str, Any], date]:
    """An ExternalTimeData upsert record checked as SuccessFactors checks it: (externalCode, the row held, its
    start date); ODataError with SuccessFactors' code for the record's ERROR result otherwise."""
    key = _common(record, ETD_FIELDS, known_user, refused)
    start = wire_day(record.get("startDate"), "startDate")
    end = wire_day(record.get("endDate"), "endDate") if record.get("endDate") is not None else start
    if not start <= end <= start + timedelta(days=1):
        raise ODataError(400, "COE_INVALID_VALUE", "endDate must be startDate or the day after")
    for name in ("startTime", "endTime"):
        if record.get(name) is not None and _edm_time(record[name]) is None:
            raise ODataError(400, "COE_INVALID_VALUE", f"{name} {record[name]!r} is not an Edm.Time like PT09H00M00S")
    if not isinstance(record.get("timeType"), str) or not record["timeType"].strip():
        raise ODataError(400, "COE_REQUIRED_FIELD_MISSING", "timeType is required")
    if record.get("hours") is None and record.get("startTime") is None:
        raise ODataError(400, "COE_REQUIRED_FIELD_MISSING", "hours or startTime is required")
    if record.get("hours") is not None:
        try:
            hours = Decimal(str(record["hours"]))
        except InvalidOperation:
            raise ODataError(400, "COE_INVALID_VALUE", f"hours {record['hours']!r} is not a decimal") from None
        if not hours.is_finite() or not 0 <= hours <= 48:
            raise ODataError(400, "COE_INVALID_VALUE", f"hours {record['hours']!r} is out of range")
    if record.get("costCenter") is not None and not isinstance(record["costCenter"], str):
        raise ODataError(400, "COE_INVALID_VALUE", "costCenter must be text")
    row = {name: record.get(name) for name in sorted(ETD_FIELDS) if record.get(name) is not None}
    if "hours" in row:
        # An Edm.Decimal column keeps its scale: more decimals are not kept (the scale, and whether
        # SuccessFactors rounds or truncates, are unconfirmed: `SapLimits.hours_scale`, half up).
        scale = Decimal(1).scaleb(-hours_scale)
        row["hours"] = str(Decimal(str(row["hours"])).quantize(scale, rounding=ROUND_HALF_UP))
    row["endDate"] = date_wire(end)
    return key, row, start
