"""A small customer for open-day tests: two people at one site, a day without a check-out, one target.

    E1 Asha  site blr (Asia/Kolkata), shift 09:00-18:00 (its window closes at 22:00 local)
    E2 Ben   the same

Monday 2 March 2026: E1 punches in at 09:02 and never out (an open day); E2 works 09:00-18:00.
Tuesday 3 March: E1 works 09:05-18:10. The target is a local CSV folder (`csv`) or an Odoo emulator
(`odoo`, employees by barcode); its `open_days:` is the world's `mode`. `sync(now=...)` runs the sync
engine at that instant, so a test decides whether a day's shift window is still open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.sync import SyncReport
from support.world import BENGALURU, World

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY, TUESDAY = "2026-03-02", "2026-03-03"
#: After every window of both days has closed (Wednesday 06:00 local).
LATER = datetime(2026, 3, 4, 6, 0, tzinfo=KOLKATA)
#: Tuesday 15:00 local: Tuesday's window is open, Monday's closed.
TUESDAY_AFTERNOON = datetime(2026, 3, 3, 15, 0, tzinfo=KOLKATA)

CSV_MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: date, from: work_date}
  - {name: check_in, from: first_in}
  - {name: check_out, from: last_out}
  - {name: worked, from: worked_minutes}
  - {name: anomalies, from: anomalies}
"""
ODOO_MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: check_in, from: first_in}
  - {name: check_out, from: last_out}
"""


class OpenDaysWorld(World):
    """A folder with the configuration, its inbox and store, delivering to one target (see the module).

    `odoo` holds the Odoo target's settings, for target "odoo".
    """

    def __init__(self, root: Path, mode: str, target: str = "csv", odoo: Mapping[str, Any] | None = None) -> None:
        super().__init__(root)
        self.mode = mode
        self.target = target
        self.odoo = dict(odoo or {})
        self.write_employees([("E1", "blr", "general"), ("E2", "blr", "general")])
        self.write_file("mapping.yaml", CSV_MAPPING if target == "csv" else ODOO_MAPPING)
        self.punches(
            "month.csv",
            [
                ("E1", f"{MONDAY}T09:02:00+05:30"),
                ("E2", f"{MONDAY}T09:00:00+05:30"),
                ("E2", f"{MONDAY}T18:00:00+05:30"),
                ("E1", f"{TUESDAY}T09:05:00+05:30"),
                ("E1", f"{TUESDAY}T18:10:00+05:30"),
            ],
        )
        if target == "csv":
            out = f"{{plugin: local_csv, mapping: mapping.yaml, folder: out, create_folder: true, open_days: {mode}}}"
        else:
            settings = ", ".join(f"{k}: '{v}'" for k, v in self.odoo.items())
            out = f"{{plugin: odoo, mapping: mapping.yaml, open_days: {mode}, {settings}}}"
        self.configure(
            period=(MONDAY, TUESDAY),
            targets={"out": out},
            sites={"blr": BENGALURU},
            shifts={"general": '{start: "09:00", end: "18:00"}'},
        )

    def punches(self, name: str, rows: list[tuple[str, str]]) -> None:
        """Drop a punch file into the inbox (employee, RFC 3339 time)."""
        self.punch_file(name, rows, device="GATE")

    def sync(self, now: datetime = LATER) -> SyncReport:  # type: ignore[override]
        """One sync of the target at the instant `now` (nothing refused, the target served)."""
        return super().sync(now=now, today=now.date())
