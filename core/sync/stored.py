"""Records as a target will hold them: its stored form (hashed and sent), and each record's site zone.

Pure: data in, data out. Every path that makes records for a target (the days of a sync, the
adjustments, `reconcile --repair`, reconciliation's expected records) passes them through here, so
the ledger's content hash is the hash of what the target keeps, and a value the target keeps at a
lower precision is never a difference nor a resend:

    records = stored_records(type(target), target.settings, mapped.records, zones_of_days(days, site_zones))

A record's zone (`Record.timezone`) is the IANA zone of its day's site (`sites.<site>.timezone`); it
is not part of the content hash (the times carry their offsets), and a batch keeps it in the store
so that a batch a crash left open is resent with the same zones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from punchbridge.mapping import record_hash
from punchbridge.plugin_api.targets import Record, Target

__all__ = ["employee_of_key", "site_zones", "stored_records", "zones_of_days", "zones_of_employees"]


def site_zones(sites: Mapping[str, Any]) -> dict[str, str]:
    """Site id -> IANA zone, from the configuration's `sites:` (each with a `timezone`)."""
    return {name: str(site.timezone) for name, site in sites.items()}


def employee_of_key(key: str) -> str:
    """The terminal user id a record key starts with (`E1|2026-03-23|day`, an adjustment's key too)."""
    return key.split("|", 1)[0]


def zones_of_days(days: pd.DataFrame, zones_by_site: Mapping[str, str]) -> dict[str, str]:
    """Record key (`EMPLOYEE|DATE|day`) -> the zone of the day's site, for every day whose site has a zone."""
    if len(days) == 0 or "site" not in days.columns:
        return {}
    keys = days["employee_id"].astype(str) + "|" + days["work_date"].astype(str) + "|day"
    zones = days["site"].astype(str).map(dict(zones_by_site))
    return {key: zone for key, zone in zip(keys, zones, strict=True) if isinstance(zone, str)}


def zones_of_employees(employees: pd.DataFrame, zones_by_site: Mapping[str, str]) -> dict[str, str]:
    """Terminal user id -> the zone of the employee's site (employees file), for keys that are not days'."""
    if len(employees) == 0 or "site" not in employees.columns:
        return {}
    sites = employees["site"].astype(str).map(dict(zones_by_site))
    return {
        str(employee): zone
        for employee, zone in zip(employees["employee_id"].astype(str), sites, strict=True)
        if isinstance(zone, str)
    }


def stored_records(
    target_class: type[Target[Any]],
    settings: Any,
    records: Sequence[Record],
    zone_of: Mapping[str, str] | Callable[[str], str | None],
) -> list[Record]:
    """`records` in the target's stored form (`Target.stored_form`), hashed as stored, each with its zone.

    `zone_of` maps a record key to its zone (a mapping, or a function of the key). A plugin whose
    stored form changes nothing keeps each record's hash as the mapping computed it.
    """
    lookup: Callable[[str], str | None] = zone_of.get if isinstance(zone_of, Mapping) else zone_of
    stored = []
    for record in records:
        fields = target_class.stored_form(record.fields, settings)
        zone = lookup(record.key)
        if fields is record.fields:
            stored.append(record if zone == record.timezone else Record(record.key, fields, record.content_hash, zone))
        else:
            stored.append(Record(record.key, dict(fields), record_hash(fields), timezone=zone))
    return stored
