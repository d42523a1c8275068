"""`punchbridge erase EMPLOYEE`: remove one person's data from the store and keep them out (docs/retention.md).

    report = erase_employee(store, "E0042")              # one transaction; audited without the id
    report = erase_employee(store, "E0042", dry_run=True)  # count what would go; write nothing

Removed: the person's punches, processed days, ledger rows and dead letters (records keyed
`{employee_id}|...`), quarantined rows, received leaves, adjustments, their records inside stored
batches (an open batch left empty is dropped), and kept webhook payloads about them.

Left: a *tombstone*, an HMAC-SHA256 of the id under a secret kept in the store (not the id), with
the instant of the erasure. A punch of that id at or before that instant, re-sent by a terminal, the
cloud or a punch file, is acknowledged and not stored (`Store.add_punches` counts it as `erased`;
the receiver answers as for a duplicate); a received leave or quarantined push about them is not
stored either. Punches *after* the erasure are stored: the same id may be given to a re-hired
person. The sync engine leaves the person's days up to the erasure date out even while their id is
still in the employees file. The audit event `employee.erased` holds the tombstone's first 16 hex
digits and the counts, never the id.

What targets hold (files already delivered, records in an HRMS) is theirs to erase: punchbridge
does not delete from targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from punchbridge.store import Store

__all__ = ["ErasureReport", "erase_employee"]


@dataclass
class ErasureReport:
    """What an erasure removed (or, dry, would remove), per kind of row."""

    dry_run: bool
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows (and batch records) removed in all."""
        return sum(self.removed.values())

    def summary(self) -> dict[str, Any]:
        """The report as plain JSON values (no employee id)."""
        return {"dry_run": self.dry_run, "removed": dict(self.removed), "total": self.total}


def erase_employee(
    store: Store, employee_id: str, *, now_ns: int | None = None, dry_run: bool = False
) -> ErasureReport:
    """Erase `employee_id` (see the module docstring). ValueError for an empty or malformed id."""
    removed = store.erase_employee(employee_id, now_ns=now_ns, dry_run=dry_run)
    return ErasureReport(dry_run=dry_run, removed=removed)
