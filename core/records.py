"""The records that cross every layer: what a target receives (`Record`, `Batch`), what it answers
(`Outcome`), and what it holds (`Employee` for employee sync, `HeldRecord` for reconciliation).

Plain frozen dataclasses with no behaviour: the store persists them, the mapping makes them, the
sync engine batches them and plugins convert them to their wire formats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = ["Batch", "Employee", "HeldRecord", "Outcome", "Record"]


@dataclass(frozen=True)
class Record:
    """One mapped record to deliver: its stable key, the fields in output order, and its content hash."""

    key: str  # derived from content identity, e.g. "E1001|2025-03-03|day"; never a counter
    fields: Mapping[str, Any]  # column -> value, in the order the mapping defines
    content_hash: str  # sha256 of the canonical fields; the ledger compares it to what was sent
    #: The IANA time zone of the record's site (`sites.<site>.timezone`), set by the sync engine, so a
    #: target can write the day's times in its own site's zone. Not part of the content hash: a zone
    #: is where the times are shown, and the times themselves carry their offsets.
    timezone: str | None = None
    #: The `remote_id` this target's last successful outcome gave the record (from the ledger), set by
    #: the delivery just before a push, so a target that replaces what it wrote before (Odoo's
    #: attendances) knows which of its records are ours. None on a first delivery. Not part of the
    #: content hash, and not recorded with the batch: a resend reads the ledger again.
    remote_id: str | None = None


@dataclass(frozen=True)
class Batch:
    """A batch as the engine recorded it *before* sending: resending it must give the same result.

    `seq` is allocated per target and period when the batch is first recorded, so a resend after a
    crash reuses it (a file target names its file from it: same name, same bytes).
    """

    target: str
    batch_id: int
    period_start: date
    period_end: date
    seq: int
    records: Sequence[Record]
    columns: Sequence[str] = field(default_factory=tuple)  # output columns, in order


@dataclass(frozen=True)
class Outcome:
    """What the target did with one record."""

    key: str
    ok: bool
    remote_id: str | None = None  # the target's id for the record, or the file it landed in
    message: str | None = None  # the target's own words when ok is False


@dataclass(frozen=True)
class Employee:
    """One employee as a system of record (the target) holds them, for employee sync.

    `target_id` is the target's own employee id (Zoho `EmployeeID`, Odoo `hr.employee` id);
    `badge` the terminal user id the target knows (Zoho `mapId`, Odoo `barcode`), if any.
    `active` is False for a leaver (pull them too: employee sync removes leavers from terminals).
    """

    target_id: str
    name: str
    active: bool = True
    email: str | None = None
    badge: str | None = None
    pin: str | None = None
    department: str | None = None
    site: str | None = None  # company, location or site, as the target names it
    modified_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HeldRecord:
    """What the target holds for one employee and day, for reconciliation.

    `employee` is the target's employee id (the value of the mapping's id column), `fields` uses
    the mapping's column names for the columns the target can show back (others are absent).
    """

    employee: str
    work_date: date
    fields: Mapping[str, Any]
    remote_id: str | None = None
