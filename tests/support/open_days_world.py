"""A small customer for open-day tests: two people at one site, a day without a check-out, one target.

    E1 Asha  site blr (Asia/Kolkata), shift 09:00-18:00 (its window closes at 22:00 local)
    E2 Ben   the same

Monday 2 March 2026: E1 punches in at 09:02 and never out (an open day); E2 works 09:00-18:00.
Tuesday 3 March: E1 works 09:05-18:10. The target is a local CSV folder (`csv`) or an Odoo emulator
(`odoo`, employees by barcode); its `open_days:` is the world's `mode`. `sync(now=...)` runs the sync
engine at that instant, so a test decides whether a day's shift window is still open.
"""

from __future__ import annotations

import csv
import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.config import read_config
from punchbridge.plugin_api.registry import load_plugins
from punchbridge.store import Store
from punchbridge.sync import SyncEngine, SyncReport

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


@dataclass
class OpenDaysWorld:
    """A folder with the configuration, its inbox and store, delivering to one target (see the module)."""

    root: Path
    mode: str
    target: str = "csv"
    odoo: dict[str, Any] = field(default_factory=dict)  # the Odoo target's settings, for target "odoo"

    def __post_init__(self) -> None:
        (self.root / "inbox").mkdir(parents=True, exist_ok=True)
        (self.root / "employees.csv").write_text("employee_id,site,shift\nE1,blr,general\nE2,blr,general\n")
        (self.root / "mapping.yaml").write_text(CSV_MAPPING if self.target == "csv" else ODOO_MAPPING)
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
        if self.target == "csv":
            target = "out: {plugin: local_csv, mapping: mapping.yaml, folder: out, create_folder: true, "
            target += f"open_days: {self.mode}}}"
        else:
            settings = ", ".join(f"{k}: '{v}'" for k, v in self.odoo.items())
            target = f"out: {{plugin: odoo, mapping: mapping.yaml, open_days: {self.mode}, {settings}}}"
        (self.root / "config.yaml").write_text(
            textwrap.dedent(
                f"""\
                store: sqlite:///{self.root / "store.db"}
                sources:
                  terminals: {{plugin: csv_folder, folder: inbox}}
                employees: employees.csv
                sync: {{from: {MONDAY}, to: {TUESDAY}}}
                targets:
                  {target}
                sites:
                  blr: {{timezone: Asia/Kolkata, weekly_off: [sun]}}
                shifts:
                  general: {{start: "09:00", end: "18:00"}}
                """
            )
        )

    def punches(self, name: str, rows: list[tuple[str, str]]) -> None:
        """Drop a punch file into the inbox (employee, RFC 3339 time)."""
        lines = ["employee_id,timestamp,device_id,direction", *(f"{e},{t},GATE," for e, t in rows)]
        (self.root / "inbox" / name).write_text("\n".join(lines) + "\n")

    def sync(self, now: datetime = LATER) -> SyncReport:
        """One sync of the target at the instant `now` (nothing refused, the target served)."""
        config, document, _data, problems = read_config(self.root / "config.yaml")
        assert config is not None and not problems, problems
        with Store.open(config.store) as store:
            report = SyncEngine(config, document, load_plugins(), store, now=now, today=now.date()).run()
        assert not report.failed, report
        return report

    def rows(self) -> list[dict[str, str]]:
        """Every CSV row the target wrote, file by file (the csv target)."""
        found = []
        for path in sorted((self.root / "out").glob("attendance_*.csv")):
            with path.open(newline="") as handle:
                found.extend(csv.DictReader(handle))
        return found

    def quarantine(self, reason: str) -> list[tuple[str, str]]:
        """(employee, work date) of the quarantine rows with `reason`."""
        with Store.open(f"sqlite:///{self.root / 'store.db'}") as store:
            rows = store.quarantine_rows(reason)
        return sorted(zip(rows["employee_id"].astype(str), rows["timestamp"].astype(str), strict=True))
