"""The SuccessFactors emulator's OData collections: query options, paging through `__next`, the shape of rows."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from punchbridge.testing.emulators.sap.query import (
    ODataError,
    date_wire,
    ms,
    parse_filter,
    passes,
    skip_offset,
    sort_key,
    whole,
)

__all__ = ["EMPJOB_FIELDS", "ETD", "ETD_FIELDS", "EVENT_ROW_FIELDS", "page", "shape"]

ETD = "ExternalTimeData"
ETD_FIELDS = {
    "externalCode",
    "userId",
    "startDate",
    "endDate",
    "startTime",
    "endTime",
    "hours",
    "timeType",
    "costCenter",
}
EVENT_ROW_FIELDS = {"UUID", "assignmentId", "typeCode", "timestamp", "terminalId", "timeTypeCode"}
EMPJOB_FIELDS = ("userId", "startDate", "endDate", "costCenter", "department", "location", "timezone", "emplStatus",
                 "lastModifiedDateTime")  # fmt: skip
_USER = ("userId", "firstName", "lastName", "email", "status", "custom01")
_KNOWN = {"$format", "$filter", "$select", "$expand", "$orderby", "$skiptoken", "$top", "customPageSize", "paging",
          "fromDate", "toDate"}  # fmt: skip
RowsOf = Callable[[str, Mapping[str, str]], list[dict[str, Any]]]


def page(entity: str, params: Mapping[str, str], url: str, rows_of: RowsOf, page_size: int) -> dict[str, Any]:
    """One page of collection `entity` for the query `params` at `url` (its `{"d": {"results", "__next"}}`)."""
    params = dict(params)
    unknown = sorted(set(params) - _KNOWN)
    if unknown:
        raise ODataError(400, "COE_GENERAL_BAD_REQUEST", f"Unsupported query option(s): {', '.join(unknown)}")
    if params.get("$format", "json") != "json":
        raise ODataError(400, "COE_GENERAL_BAD_REQUEST", "Only $format=json is supported")
    size = whole(params.get("customPageSize"), page_size, "customPageSize")
    if not 1 <= size <= page_size:
        raise ODataError(400, "COE_GENERAL_BAD_REQUEST", f"customPageSize must be 1 to {page_size}")
    expand = [name for name in params.get("$expand", "").split(",") if name]
    if any(name not in ("userNav", "emplStatusNav") or entity != "EmpJob" for name in expand):
        raise ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Cannot expand {expand} on {entity}")
    clauses = parse_filter(params.get("$filter", ""))
    rows = [row for row in rows_of(entity, params) if passes(row, clauses)]
    for field in reversed([f.strip() for f in params.get("$orderby", "").split(",") if f.strip()]):
        name, _, direction = field.partition(" ")
        rows.sort(key=functools.partial(sort_key, name), reverse=direction.strip() == "desc")
    query = {k: v for k, v in params.items() if k != "$skiptoken"}
    fingerprint = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]
    offset = skip_offset(params.get("$skiptoken"), fingerprint)
    if "$top" in params:
        rows = rows[: whole(params["$top"], len(rows), "$top")]
    page = rows[offset : offset + size]
    results = [shape(entity, row, params.get("$select", ""), expand) for row in page]
    body: dict[str, Any] = {"results": results}
    if offset + size < len(rows):
        token = base64.urlsafe_b64encode(json.dumps({"o": offset + size, "q": fingerprint}).encode()).decode()
        body["__next"] = f"{url}?" + urlencode({**query, "$skiptoken": token})
    return {"d": body}


def shape(entity: str, row: dict[str, Any], select: str, expand: list[str]) -> dict[str, Any]:
    """A row as the collection answers it: `$select`ed fields, `$expand`ed navigation (EmpJob), wire values."""
    chosen = [name.strip() for name in select.split(",") if name.strip()]
    if entity != "EmpJob":
        schema = ETD_FIELDS if entity == ETD else EVENT_ROW_FIELDS
        missing = [name for name in chosen if name not in schema]
        if missing:
            raise ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: {', '.join(missing)}")
        return {k: v for k, v in row.items() if not chosen or k in chosen or k == "__metadata"}
    bad = [n for n in chosen if n not in EMPJOB_FIELDS and not (n.split("/")[0] in expand and len(n.split("/")) == 2)]
    if bad:
        raise ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: {', '.join(bad)}")
    shaped: dict[str, Any] = {"__metadata": {"uri": f"EmpJob(userId='{row['userId']}')", "type": "SFOData.EmpJob"}}
    for name in EMPJOB_FIELDS:
        if not chosen or name in chosen:
            value = row[name]
            if isinstance(value, datetime):
                value = f"/Date({ms(value)}+0000)/"
            elif isinstance(value, date):
                value = date_wire(value)
            shaped[name] = value
    user = row["_user"]
    for nav, fields in (("userNav", {n: user.get(n) for n in _USER}),
                        ("emplStatusNav", {"externalCode": row["emplStatus"]})):  # fmt: skip
        if nav in expand:
            wanted = [n.split("/")[1] for n in chosen if n.startswith(nav + "/")]
            unknown = [n for n in wanted if n not in fields]
            if unknown:
                raise ODataError(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: {nav}/{unknown[0]}")
            shaped[nav] = {k: v for k, v in fields.items() if not wanted or k in wanted}
        elif not chosen:
            shaped[nav] = {"__deferred": {"uri": f"EmpJob(userId='{row['userId']}')/{nav}"}}
    return shaped
